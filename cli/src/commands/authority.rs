//! `meter authority`: create the local authority, print its public key.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use authority::{Authority, MeterSummary};
use clap::Subcommand;
use serde_json::json;

use crate::global::Global;
use crate::output::{time, write_output};

#[derive(Subcommand)]
pub enum AuthorityCommand {
    /// Create the authority: its key pair and its database.
    Init {
        /// The authority's name, written as issuer in its certificates.
        #[arg(long, default_value = "CERTMETER-CA")]
        name: String,
    },
    /// Print the authority's public key (hex), for verifiers.
    Key {
        /// Write the key as a PEM SubjectPublicKeyInfo, as openssl reads it.
        #[arg(long)]
        pem: bool,
        /// Where to write the PEM (default: standard output).
        #[arg(short, long, requires = "pem")]
        output: Option<PathBuf>,
    },
    /// List the personalized meters with their state: `ok`, or `flagged`
    /// (a receipt did not reconcile with the records; no further loads) and why.
    Meters,
}

pub fn run(g: &Global, command: &AuthorityCommand) -> Result<ExitCode> {
    let dir = g.authority_dir()?;
    let a = match command {
        AuthorityCommand::Init { name } => Authority::init(&dir, name)?,
        AuthorityCommand::Key { pem: true, output } => {
            let pem = reader::export::public_key_pem(&Authority::open(&dir)?.public_key())?;
            let out = output.clone().unwrap_or_else(|| "-".into());
            write_output(&out, pem.as_bytes(), &g.guard())?;
            return Ok(ExitCode::SUCCESS);
        }
        AuthorityCommand::Key { pem: false, .. } => Authority::open(&dir)?,
        AuthorityCommand::Meters => {
            meters(g.json, &Authority::open(&dir)?.meters()?)?;
            return Ok(ExitCode::SUCCESS);
        }
    };
    authority(g.json, &dir, a.name(), &a.public_key());
    Ok(ExitCode::SUCCESS)
}

fn authority(json: bool, dir: &Path, name: &str, key: &[u8]) {
    if json {
        println!(
            "{}",
            json!({ "authority": dir, "name": name, "public_key": hex::encode_upper(key) })
        );
    } else {
        println!("authority {name} at {}", dir.display());
        println!("public key {}", hex::encode_upper(key));
    }
}

fn meters(json: bool, meters: &[MeterSummary]) -> Result<()> {
    if json {
        let v: Vec<_> = meters
            .iter()
            .map(|m| {
                json!({
                    "serial": m.serial,
                    "chip_id": m.chip_id,
                    "certificate_serial": m.certificate_serial,
                    "personalized_at": m.personalized_at,
                    "loads": m.loads,
                    "confirmed": m.confirmed,
                    "state": if m.flagged_at.is_some() { "flagged" } else { "ok" },
                    "flagged_at": m.flagged_at,
                    "flag_reason": m.flag_reason,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    if meters.is_empty() {
        println!("no meters personalized yet");
    }
    for m in meters {
        let state = match (m.flagged_at, &m.flag_reason) {
            (Some(at), reason) => format!(
                "FLAGGED at {}: {}",
                time(at),
                reason.as_deref().unwrap_or("no reason recorded")
            ),
            (None, _) => "ok".into(),
        };
        println!(
            "{} chip {} certificate {} personalized {} loads {} ({} confirmed) {state}",
            m.serial,
            m.chip_id,
            m.certificate_serial,
            time(m.personalized_at),
            m.loads,
            m.confirmed
        );
    }
    Ok(())
}
