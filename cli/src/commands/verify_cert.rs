//! `meter verify-cert`: verify an agent certificate file (Figure 3A): the
//! chain authority -> meter certificate -> agent certificate, on the PC
//! with the authority's public key. Exit 0 when valid, 1 when invalid.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use authority::Authority;
use serde_json::json;

use crate::global::Global;
use crate::output::{read_limited, time};

#[derive(clap::Args)]
pub struct Args {
    /// The agent certificate file (`meter cert issue`).
    file: PathBuf,
    /// The authority's public key: hex (as printed by `meter authority key`)
    /// or a PEM file (as written by `meter authority key --pem`).
    #[arg(long, value_name = "HEX|FILE")]
    authority_key: Option<String>,
}

pub fn run(g: &Global, args: &Args) -> Result<ExitCode> {
    let file = read_limited(
        &args.file,
        reader::agent::MAX_AGENT_FILE,
        "an agent certificate file",
    )?;
    // The key given, or the authority's current and previous (after a
    // rollover): valid under either.
    let keys = match &args.authority_key {
        Some(k) => vec![super::verify::key_from_arg(k)?],
        None => Authority::read_public_keys(&g.authority_dir()?)?
            .iter()
            .map(|k| k.to_vec())
            .collect(),
    };
    let mut result = None;
    for key in &keys {
        let key = apdu::crypto::public_key(key)
            .ok_or_else(|| anyhow::anyhow!("the authority key is not a P-256 public key"))?;
        let r = reader::agent::verify(&file, &key);
        let ok = r.is_ok();
        if result.is_none() || ok {
            result = Some(r);
        }
        if ok {
            break;
        }
    }
    let result = result.ok_or_else(|| anyhow::anyhow!("no authority key"))?;
    match result {
        Ok(info) => {
            if g.json {
                let mut v = serde_json::to_value(&info)?;
                v["valid"] = json!(true);
                println!("{v}");
            } else {
                println!(
                    "valid: certificate {} for {} issued by meter {}, valid until {}",
                    info.serial,
                    info.holder,
                    info.issuer,
                    time(info.expiry)
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(why) => {
            if g.json {
                println!("{}", json!({ "valid": false, "reason": why.to_string() }));
            } else {
                println!("invalid: {why}");
            }
            Ok(ExitCode::from(1))
        }
    }
}
