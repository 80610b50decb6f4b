//! `meter cert issue`: the card as a certificate agent (Figure 3A). The card
//! generates a key pair for the holder, charges the certificate fee, signs
//! the certificate with the meter key and seals the private key to the
//! receiver's public key; the file written is the agent certificate file
//! (certificate, sealed key, meter certificate), openable only with the
//! receiver's private key (`meter cert open`).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use apdu::cert::usage;
use reader::agent::{self, Issue};
use serde_json::json;

use crate::global::Global;
use crate::output::{read_limited, time};
use crate::sink::Sink;

/// The largest PEM public key file `--receiver-key` reads.
const MAX_PEM_FILE: usize = 16 * 1024;

#[derive(clap::Args)]
pub struct Args {
    /// The holder's name in the certificate (1 to 32 printable ASCII characters).
    #[arg(long = "for", value_name = "NAME")]
    holder: String,
    /// The receiver's public key (PEM SubjectPublicKeyInfo, P-256): only its
    /// private key opens the generated private key.
    #[arg(long, value_name = "PUB.pem")]
    receiver_key: PathBuf,
    /// What the key may do: signing, postmark, metering (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "signing")]
    usage: Vec<String>,
    /// Validity in days (at most the meter certificate's remaining validity).
    #[arg(long, default_value_t = 365)]
    valid_days: u16,
    /// Where to write the agent certificate file (`-`: standard output).
    #[arg(short, long)]
    output: PathBuf,
}

fn usage_bits(names: &[String]) -> Result<u8> {
    let mut bits = 0;
    for n in names {
        bits |= match n.trim() {
            "signing" => usage::SIGNING,
            "postmark" => usage::POSTMARK,
            "metering" => usage::METERING,
            other => bail!("unknown usage {other:?}: one of signing, postmark, metering"),
        };
    }
    Ok(bits)
}

pub fn run(g: &Global, args: &Args) -> Result<ExitCode> {
    let pem = read_limited(&args.receiver_key, MAX_PEM_FILE, "a PEM public key")?;
    let pem = String::from_utf8(pem)
        .map_err(|_| anyhow::anyhow!("{} is not a PEM file", args.receiver_key.display()))?;
    let receiver = reader::export::public_key_from_pem(&pem)
        .with_context(|| format!("--receiver-key {}", args.receiver_key.display()))?;
    let req = Issue {
        holder: args.holder.clone(),
        receiver,
        usage: usage_bits(&args.usage)?,
        days: args.valid_days,
    };
    // Checked before the card is asked for anything.
    req.request()?;
    let out = &args.output;
    let sink =
        Sink::open(out, &g.guard()).with_context(|| format!("cannot write {}", out.display()))?;
    let mut meter = g.open_meter()?;
    let file = g.with_pin(&mut meter, |m| agent::issue(m, &req))?;
    let to_stdout = sink.is_stdout();
    if let Err(e) = sink.finish(&file) {
        // Paid for: hand it over (the private key in it is sealed).
        eprintln!("agent certificate file (hex): {}", hex::encode_upper(&file));
        return Err(anyhow::Error::from(e).context(format!("cannot write {}", out.display())));
    }
    let f = apdu::cmd::issue_certificate::AgentFile::parse(&file)
        .map_err(|e| anyhow::anyhow!("not an agent certificate file: {e}"))?;
    let c = &f.certificate;
    let line = if g.json {
        json!({
            "holder": String::from_utf8_lossy(c.holder),
            "issuer": String::from_utf8_lossy(c.issuer),
            "serial": c.serial,
            "usage": c.usage,
            "effective": c.effective,
            "expiry": c.expiry,
            "file": out,
        })
        .to_string()
    } else {
        format!(
            "certificate {} for {} by meter {}, valid until {}, written to {}",
            c.serial,
            String::from_utf8_lossy(c.holder),
            String::from_utf8_lossy(c.issuer),
            time(c.expiry),
            if to_stdout {
                "standard output".into()
            } else {
                out.display().to_string()
            }
        )
    };
    if to_stdout {
        eprintln!("{line}");
    } else {
        println!("{line}");
    }
    Ok(ExitCode::SUCCESS)
}
