//! `meter authority enroll NAME [--valid-days N]`: enrolls a certificate
//! holder (Figure 5, identity check 514) and prints the one-time
//! enrollment code the holder presents with `meter cert install`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use authority::Authority;
use serde_json::json;

pub fn run(json_out: bool, dir: &Path, holder: &str, valid_days: u32) -> Result<ExitCode> {
    let mut a = Authority::open(dir)?;
    let validity = u64::from(valid_days) * 86_400;
    let code = a.enroll(holder, validity)?;
    let expires = a.now().saturating_add(validity);
    if json_out {
        println!(
            "{}",
            json!({ "holder": holder, "code": code, "expires": expires })
        );
    } else {
        println!(
            "holder {holder} enrolled; one-time enrollment code (give it to the holder only):"
        );
        println!("{code}");
        println!(
            "valid until {}; used once by `meter cert install --name {holder}`",
            crate::output::time(expires)
        );
    }
    Ok(ExitCode::SUCCESS)
}
