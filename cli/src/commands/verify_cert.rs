//! `meter verify-cert`: verify an agent certificate file (Figure 3A): the
//! chain authority -> meter certificate -> agent certificate, on the PC
//! with the authority's public key, and with `--crl` against the
//! authority's revocation list (the agent certificate itself, and its
//! meter's certificate). Exit 0 when valid, 1 when invalid.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
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
    /// The authority's signed revocation list (`meter authority crl`): an
    /// agent certificate listed (`meter authority revoke --agent-cert`), or
    /// one whose meter certificate is listed against it, is invalid.
    #[arg(long, value_name = "FILE")]
    crl: Option<PathBuf>,
}

pub fn run(g: &Global, args: &Args) -> Result<ExitCode> {
    let file = read_limited(
        &args.file,
        reader::agent::MAX_AGENT_FILE,
        "an agent certificate file",
    )?;
    // The key that signed the meter certificate in the file: the one given,
    // or the authority's current or previous (after a rollover).
    let keys = super::verify::authority_keys(g, args.authority_key.as_deref())?;
    let key = super::verify::signer(&keys, |k| {
        apdu::cmd::issue_certificate::AgentFile::parse(&file)
            .is_ok_and(|f| apdu::crypto::verify_certificate(&f.meter, k))
    });
    let key = apdu::crypto::public_key(&key)
        .ok_or_else(|| anyhow::anyhow!("the authority key is not a P-256 public key"))?;
    let result = reader::agent::verify(&file, &key);
    let crl = args
        .crl
        .as_ref()
        .map(|p| read_limited(p, 0xFFFF + 5, "a revocation list"))
        .transpose()?;
    match result {
        Ok(info) if crl.is_some() && !not_revoked(g.json, crl.as_deref(), &keys, &info)? => {
            Ok(ExitCode::from(1))
        }
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

/// Checks `info` against the list under the first of `keys` that signed
/// it; `false` (and the report printed) when revoked.
fn not_revoked(
    json_out: bool,
    crl: Option<&[u8]>,
    keys: &[Vec<u8>],
    info: &reader::agent::AgentInfo,
) -> Result<bool> {
    use reader::revoke::{AgentCrlStatus, agent_crl_status};
    let Some(list) = crl else { return Ok(true) };
    let key = super::verify::signer(keys, |k| {
        apdu::cmd::revoke::Crl::parse(list).is_ok_and(|l| apdu::crypto::verify_signed(&l.signed, k))
    });
    let (number, status) = agent_crl_status(list, &key, info)?;
    let (what, revoked_at, reason) = match status {
        AgentCrlStatus::Good => return Ok(true),
        AgentCrlStatus::Revoked { revoked_at, reason } => (
            format!(
                "certificate {} of meter {} was revoked",
                info.serial, info.issuer
            ),
            revoked_at,
            reason,
        ),
        AgentCrlStatus::MeterRevoked { revoked_at, reason } => (
            format!(
                "the certificate of meter {} that issued it ({}) was revoked",
                info.issuer, info.meter_certificate_serial
            ),
            revoked_at,
            reason,
        ),
    };
    if json_out {
        println!(
            "{}",
            json!({ "valid": false, "revoked": true, "serial": info.serial, "issuer": info.issuer,
                    "revoked_at": revoked_at, "reason": reason, "crl_number": number })
        );
    } else {
        println!(
            "invalid: {what} at {} (reason {reason}, revocation list {number})",
            time(revoked_at)
        );
    }
    Ok(false)
}
