//! `meter authority rollover`: the authority's key rollover ([certs] point
//! 6). A new operational key, certified by the issuer root, replaces the
//! current one; each card gets it at its next contact (`meter sync`,
//! `meter load`, or `meter key-update`), in a KEY UPDATE signed by the key
//! it holds. Certificates and postmarks under the old key verify until
//! they expire.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use authority::Authority;
use serde_json::json;

pub fn run(json: bool, dir: &Path) -> Result<ExitCode> {
    let mut a = Authority::open(dir)?;
    let generation = a.rollover(dir)?;
    let key = hex::encode(a.public_key());
    if json {
        println!("{}", json!({ "generation": generation, "public_key": key }));
    } else {
        println!(
            "authority key rolled over to generation {generation}: {key}\n\
             cards take it at their next contact (meter sync, meter load or meter key-update); \
             the replaced key is kept in {} to sign those updates",
            authority::key_update::PREVIOUS_KEY_FILE
        );
    }
    Ok(ExitCode::SUCCESS)
}
