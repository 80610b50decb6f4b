//! Regenerates the committed test vectors: runs every flow on a fresh
//! deterministic card and writes `vectors/data/NAME.json`, removing vector
//! files that are no longer generated.
//!
//! ```sh
//! cargo run -p vectors --bin gen-vectors
//! ```

use std::process::ExitCode;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gen-vectors: {e}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let vectors = vectors::try_generate()?;
    let dir = vectors::data_dir();
    let written = vectors::write_all(&dir, &vectors)?;
    for (v, path) in vectors.iter().zip(&written) {
        println!("wrote {} ({} steps)", path.display(), v.steps.len());
    }
    for entry in std::fs::read_dir(&dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|x| x == "json") && !written.contains(&path) {
            std::fs::remove_file(&path)?;
            println!("removed {} (no longer generated)", path.display());
        }
    }
    Ok(())
}
