//! Where the CLI writes a paid-for object (a postmark, later indicia and
//! certificates).
//!
//! `-` (and `/dev/stdout`) is standard output. A regular file is written atomically: a temporary
//! file beside it, then a rename, so a reader never sees half a postmark.
//! Anything else that already exists (`/dev/null`, a FIFO, a terminal), and
//! any path under `/dev` or `/proc` (`/dev/stdout` may lead to a regular
//! file through `/proc/self/fd`), is opened and written in place: renaming
//! over it would replace a device, a pipe or the caller's redirection.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// An output opened before the card charges anything, so a paid object is
/// never lost to an unwritable path.
pub enum Sink {
    /// A new or regular file: written to a temporary file, renamed on finish.
    Atomic {
        temp: tempfile::NamedTempFile,
        target: PathBuf,
    },
    /// An existing special file, written in place.
    InPlace(File),
    /// Standard output (`-`).
    Stdout,
}

impl Sink {
    /// Opens `path` for writing without touching what is there yet.
    pub fn open(path: &Path) -> io::Result<Self> {
        // Opened again, /dev/stdout would write at its own offset, over what
        // the process prints on its standard output.
        if path == Path::new("-") || path == Path::new("/dev/stdout") {
            return Ok(Sink::Stdout);
        }
        let system = path.starts_with("/dev") || path.starts_with("/proc");
        match std::fs::metadata(path) {
            Ok(m) if (system || !m.is_file()) && !m.is_dir() => {
                OpenOptions::new().write(true).open(path).map(Sink::InPlace)
            }
            Ok(m) if m.is_dir() => Err(io::Error::new(
                io::ErrorKind::IsADirectory,
                "is a directory",
            )),
            Ok(_) => {
                // Replace what a symlink points to, not the link itself.
                let target = std::fs::canonicalize(path)?;
                Self::atomic(target)
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Self::atomic(path.to_path_buf()),
            Err(e) => Err(e),
        }
    }

    /// Whether the object goes to standard output, so reports must not.
    pub fn is_stdout(&self) -> bool {
        matches!(self, Sink::Stdout)
    }

    fn atomic(target: PathBuf) -> io::Result<Self> {
        let dir = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let mut builder = tempfile::Builder::new();
        // A postmark is meant to be handed on: the mode a new file gets
        // (0666 less the umask), or the mode of the file it replaces.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&target).map_or(0o666, |m| m.permissions().mode());
            builder.permissions(std::fs::Permissions::from_mode(mode & 0o7777));
        }
        let temp = builder.tempfile_in(dir)?;
        Ok(Sink::Atomic { temp, target })
    }

    /// Writes `bytes` and makes them visible at the path.
    pub fn finish(self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Sink::Atomic { mut temp, target } => {
                temp.write_all(bytes)?;
                temp.as_file().sync_all()?;
                temp.persist(&target).map_err(|e| e.error)?;
                Ok(())
            }
            Sink::InPlace(mut file) => {
                file.write_all(bytes)?;
                file.flush()
            }
            Sink::Stdout => {
                let mut out = io::stdout().lock();
                out.write_all(bytes)?;
                out.flush()
            }
        }
    }
}
