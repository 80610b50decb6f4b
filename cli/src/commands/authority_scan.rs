//! `meter authority scan FILE|IMAGE`: the postal operator's check of an
//! indicium: verified against the meter certificate in the authority's
//! records, recorded, and a second indicium with the same device and
//! ascending register flagged as a copied stamp (exit 1).

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use authority::indicium::ScanOutcome;
use authority::{Authority, AuthorityError};
use reader::money;
use reader::postage::date_text;
use serde_json::json;

use crate::output::time;

pub fn run(json: bool, dir: &Path, file: &Path) -> Result<ExitCode> {
    let bytes = super::postage::read_indicium(file)?;
    let mut a = Authority::open(dir)?;
    let scan = match a.scan_indicium(&bytes) {
        Ok(s) => s,
        Err(AuthorityError::InvalidRequest(why)) => {
            if json {
                println!("{}", json!({ "valid": false, "reason": why }));
            } else {
                println!("invalid: {why}");
            }
            return Ok(ExitCode::from(1));
        }
        Err(e) => return Err(e.into()),
    };
    let what = format!(
        "indicium of meter {} (ascending register {}, piece {}, postage {} for {})",
        scan.meter,
        money::format(scan.ascending),
        scan.pieces,
        money::format(scan.postage),
        date_text(scan.date)
    );
    match scan.outcome {
        ScanOutcome::Recorded => {
            if json {
                println!(
                    "{}",
                    json!({ "valid": true, "copy": false, "meter": scan.meter, "ascending": scan.ascending, "postage": scan.postage })
                );
            } else {
                println!("valid: {what}: recorded");
            }
            Ok(ExitCode::SUCCESS)
        }
        ScanOutcome::Copy {
            first_scanned_at,
            identical,
            copies,
        } => {
            if json {
                println!(
                    "{}",
                    json!({ "valid": true, "copy": true, "meter": scan.meter, "ascending": scan.ascending,
                            "first_scanned_at": first_scanned_at, "identical": identical, "copies": copies })
                );
            } else {
                println!(
                    "COPIED INDICIUM: {what} was already scanned at {}; {} ({} seen)",
                    time(first_scanned_at),
                    if identical {
                        "this is a copy of that stamp"
                    } else {
                        "this one differs: the meter signed the same register twice (state rolled back?)"
                    },
                    if copies == 1 {
                        "1 copy".to_string()
                    } else {
                        format!("{copies} copies")
                    }
                );
            }
            Ok(ExitCode::from(1))
        }
    }
}
