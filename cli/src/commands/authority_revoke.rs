//! `meter authority revoke --meter SERIAL --cert SERIAL --reason REASON`:
//! a forced revocation, recorded now and applied at the card's next
//! contact (`meter cert apply-revocations`) with payment disabled.
//! `--agent-cert SERIAL` instead: a certificate the meter issued as an
//! agent (Figure 3A), listed in the next revocation list.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Result, anyhow};
use authority::Authority;
use serde_json::json;

fn reason_code(reason: &str) -> Result<u8> {
    reader::revoke::reason_code(reason)
        .ok_or_else(|| anyhow!("{reason:?} is not an RFC 5280 reason (name or code 0-10 but 7)"))
}

/// `--agent-cert`: the agent certificate `serial` of `meter` revoked now.
pub fn agent(
    json_out: bool,
    dir: &Path,
    meter: &str,
    serial: u64,
    reason: &str,
) -> Result<ExitCode> {
    let code = reason_code(reason)?;
    Authority::open(dir)?.revoke_agent_certificate(meter, serial, code)?;
    if json_out {
        println!(
            "{}",
            json!({ "agent_certificate": serial, "meter": meter, "reason": code })
        );
    } else {
        println!(
            "agent certificate {serial} of meter {meter} revoked (reason {code}); the next revocation list (meter authority crl) names it"
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub fn run(json_out: bool, dir: &Path, meter: &str, cert: u64, reason: &str) -> Result<ExitCode> {
    let code = reason_code(reason)?;
    Authority::open(dir)?.force_revocation(meter, cert, code)?;
    if json_out {
        println!(
            "{}",
            json!({ "forced": cert, "meter": meter, "reason": code })
        );
    } else {
        println!(
            "revocation of certificate {cert} of meter {meter} recorded (reason {code}); applied at the card's next contact, payment disabled"
        );
    }
    Ok(ExitCode::SUCCESS)
}
