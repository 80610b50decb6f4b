//! `meter cert open`: the receiver opens the private key sealed in an agent
//! certificate file (Figure 3A, 354) with its own private key, and gets it
//! as a PKCS#8 PEM file (mode 0600).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use p256::SecretKey;
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};

use crate::global::Global;
use crate::output::read_limited;
use crate::sink::Sink;

/// The largest PEM private key file `--key` reads.
const MAX_PEM_FILE: usize = 16 * 1024;

#[derive(clap::Args)]
pub struct Args {
    /// The receiver's private key (PEM: PKCS#8 `PRIVATE KEY` or SEC1 `EC
    /// PRIVATE KEY`, P-256).
    #[arg(long, value_name = "RECEIVER.pem")]
    key: PathBuf,
    /// The agent certificate file (`meter cert issue`).
    #[arg(short, long, value_name = "FILE")]
    input: PathBuf,
    /// Where to write the opened private key (PKCS#8 PEM, mode 0600).
    #[arg(short, long, value_name = "KEY.pem")]
    output: PathBuf,
}

pub fn run(g: &Global, args: &Args) -> Result<ExitCode> {
    let pem = read_limited(&args.key, MAX_PEM_FILE, "a PEM private key")?;
    let pem = zeroize::Zeroizing::new(
        String::from_utf8(pem)
            .map_err(|_| anyhow::anyhow!("{} is not a PEM file", args.key.display()))?,
    );
    let receiver = SecretKey::from_pkcs8_pem(pem.trim())
        .or_else(|_| SecretKey::from_sec1_pem(pem.trim()))
        .map_err(|_| {
            anyhow::anyhow!(
                "{} is not a P-256 private key in PEM (PKCS#8 or SEC1)",
                args.key.display()
            )
        })?;
    let file = read_limited(
        &args.input,
        reader::agent::MAX_AGENT_FILE,
        "an agent certificate file",
    )?;
    let key = reader::agent::open(&file, &receiver)?;
    let out = key
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| anyhow::anyhow!("cannot encode the key: {e}"))?;
    let sink = Sink::open_private(&args.output, &g.guard())
        .with_context(|| format!("cannot write {}", args.output.display()))?;
    let to_stdout = sink.is_stdout();
    sink.finish(out.as_bytes())
        .with_context(|| format!("cannot write {}", args.output.display()))?;
    let line = format!(
        "private key opened, written to {}",
        if to_stdout {
            "standard output".into()
        } else {
            args.output.display().to_string()
        }
    );
    if to_stdout {
        eprintln!("{line}");
    } else if g.json {
        println!(
            "{}",
            serde_json::json!({ "opened": true, "key": args.output })
        );
    } else {
        println!("{line}");
    }
    Ok(ExitCode::SUCCESS)
}
