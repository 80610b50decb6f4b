//! `meter card`: manufacture simulated cards.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use authority::Authority;
use clap::Subcommand;
use reader::card::CardSpec;
use reader::sim::SimTransport;
use serde_json::json;

use crate::global::Global;

#[derive(Subcommand)]
pub enum CardCommand {
    /// Manufacture a blank simulated card.
    New {
        /// Replace an existing card at that path.
        #[arg(long)]
        force: bool,
        /// The issuer root public key to pin into the card: a PEM file
        /// (`meter authority key --root --pem`) or a file holding it in hex.
        /// Default: the root of the authority named by --authority.
        #[arg(long, value_name = "FILE")]
        issuer_root: Option<PathBuf>,
    },
}

pub fn run(g: &Global, command: &CardCommand) -> Result<ExitCode> {
    let CardCommand::New { force, issuer_root } = command;
    let CardSpec::Sim(path) = g.card_spec()? else {
        bail!("only simulated cards can be manufactured; use --card sim:PATH");
    };
    let dir = g.authority_dir()?;
    let (root, mut issuer) = match issuer_root {
        // The root from a file; the local authority certifies the card's
        // attestation key only if that root is its own.
        Some(file) => {
            let root = root_from_file(file)?;
            let issuer = Authority::open(&dir)
                .ok()
                .filter(|a| a.issuer_root() == root);
            (root, issuer)
        }
        None => {
            let a = Authority::open(&dir).with_context(
                || "the card's issuer root comes from the authority (or give --issuer-root FILE)",
            )?;
            (a.issuer_root(), Some(a))
        }
    };
    let transport = SimTransport::create(&path, *force, Some(root))?;
    let attested = match issuer.as_mut() {
        Some(issuer) => {
            let mut meter = reader::Meter::new(transport);
            reader::manufacture::certify_attestation(&mut meter, issuer)
                .context("certifying the card's attestation key")?;
            true
        }
        None => false,
    };
    card_new(g.json, &path, &root, attested);
    Ok(ExitCode::SUCCESS)
}

/// An issuer root public key from a PEM file or a file holding it in hex.
fn root_from_file(file: &Path) -> Result<[u8; 65]> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let key = if text.contains("-----BEGIN") {
        reader::export::public_key_from_pem(&text)
            .with_context(|| format!("--issuer-root {}", file.display()))?
            .to_vec()
    } else {
        hex::decode(text.trim())
            .with_context(|| format!("--issuer-root {}: not PEM nor hex", file.display()))?
    };
    let key = <[u8; 65]>::try_from(key)
        .ok()
        .filter(|k| apdu::crypto::public_key(k).is_some())
        .with_context(|| {
            format!(
                "--issuer-root {}: not an uncompressed P-256 public key",
                file.display()
            )
        })?;
    Ok(key)
}

fn card_new(json: bool, path: &Path, root: &[u8; 65], attested: bool) {
    let root = hex::encode_upper(root);
    if json {
        println!(
            "{}",
            json!({ "card": path, "lifecycle": "blank", "issuer_root": root, "attested": attested })
        );
    } else {
        println!("manufactured a blank simulated card at {}", path.display());
        println!("issuer root {root}");
        if attested {
            println!("attestation key certified by the issuer");
        } else {
            println!(
                "no attestation certificate (the issuer root's authority is not at --authority): no authority will certify this card's meter key"
            );
        }
    }
}
