//! What several commands print or read alike: times for people, files in
//! and out.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use anyhow::{Context, Result, bail};

use crate::sink::{Guard, Sink};

/// A Unix time for people: RFC 3339, or the raw seconds when it lies past
/// what RFC 3339 can write (year 9999).
pub fn time(secs: u64) -> String {
    const YEAR_10000: u64 = 253_402_300_800;
    match std::time::UNIX_EPOCH.checked_add(std::time::Duration::from_secs(secs)) {
        Some(t) if secs < YEAR_10000 => humantime::format_rfc3339_seconds(t).to_string(),
        _ => format!("{secs} (Unix seconds)"),
    }
}

/// Opens a file to read, naming it when it cannot be read.
pub fn open_file(path: &Path) -> Result<BufReader<File>> {
    Ok(BufReader::new(File::open(path).with_context(|| {
        format!("cannot read {}", path.display())
    })?))
}

/// Reads a whole input of a bounded format (a postmark file, a PEM key):
/// at most `limit` bytes, so `/dev/zero` or a huge file is refused instead
/// of filling the memory.
pub fn read_limited(path: &Path, limit: usize, what: &str) -> Result<Vec<u8>> {
    let file = File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut bytes = Vec::new();
    file.take(limit as u64 + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {}", path.display()))?;
    if bytes.len() > limit {
        bail!(
            "{} is too large for {what}: at most {limit} bytes",
            path.display()
        );
    }
    Ok(bytes)
}

/// Writes `bytes` to `path` (`-`: standard output) as the postmark is
/// written: a temporary file renamed into place; refuses what `guard`
/// protects.
pub fn write_output(path: &Path, bytes: &[u8], guard: &Guard) -> Result<()> {
    let sink =
        Sink::open(path, guard).with_context(|| format!("cannot write {}", path.display()))?;
    sink.finish(bytes)
        .with_context(|| format!("cannot write {}", path.display()))
}
