//! `meter authority inspections SERIAL` ([value] point 4): the recorded
//! inspections of a meter, oldest first, with their verdicts.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use authority::Authority;
use reader::money;
use serde_json::json;

pub fn run(json_out: bool, dir: &Path, serial: &str) -> Result<ExitCode> {
    let list = Authority::open(dir)?.inspections(serial)?;
    if json_out {
        let v: Vec<_> = list
            .iter()
            .map(|i| {
                json!({
                    "report": i.number,
                    "inspected_at": i.inspected_at,
                    "card_time": i.card_time,
                    "postage": { "ascending": i.postage.0, "descending": i.postage.1 },
                    "certificate": { "ascending": i.certificate.0, "descending": i.certificate.1 },
                    "pieces": { "postage": i.pieces.0, "certificate": i.pieces.1 },
                    "load_count": i.load_count,
                    "sequence": i.sequence,
                    "state": if i.flag.is_some() { "flagged" } else { "ok" },
                    "flag_reason": i.flag,
                    "note": i.note,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(ExitCode::SUCCESS);
    }
    if list.is_empty() {
        println!("meter {serial}: no inspection yet");
    }
    for i in &list {
        let state = i
            .flag
            .as_deref()
            .map_or("ok".to_owned(), |r| format!("FLAGGED: {r}"));
        println!(
            "report {} at {}: postage {} + {}, certificate {} + {}, {} loads: {state}",
            i.number,
            crate::output::time(i.inspected_at),
            money::format(i.postage.0),
            money::format(i.postage.1),
            money::format(i.certificate.0),
            money::format(i.certificate.1),
            i.load_count
        );
    }
    Ok(ExitCode::SUCCESS)
}
