//! `meter authority revoke --meter SERIAL --cert SERIAL --reason REASON`:
//! a forced revocation, recorded now and applied at the card's next
//! contact (`meter cert apply-revocations`) with payment disabled.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Result, anyhow};
use authority::Authority;
use serde_json::json;

pub fn run(json_out: bool, dir: &Path, meter: &str, cert: u64, reason: &str) -> Result<ExitCode> {
    let code = reader::revoke::reason_code(reason)
        .ok_or_else(|| anyhow!("{reason:?} is not an RFC 5280 reason (name or code 0-10 but 7)"))?;
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
