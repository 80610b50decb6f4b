//! `meter audit` ([value] point 4, inspection): the card signs a chained
//! report of its state; the authority verifies the chain, reconciles it
//! with every load it made, records the inspection and, when it agrees,
//! answers a contact (like `meter sync`). A mismatch is flagged as possible
//! tampering: exit 1.

use std::process::ExitCode;

use anyhow::Result;
use serde_json::json;

use crate::global::Global;

pub fn run(g: &Global) -> Result<ExitCode> {
    let mut authority = g.open_authority()?;
    let mut meter = g.open_meter()?;
    super::key_update::before_contact(g, &mut meter, &mut authority)?;
    let a = reader::audit::audit(&mut meter, &mut authority)?;
    let i = &a.inspection;
    if g.json {
        println!(
            "{}",
            json!({
                "serial": i.serial,
                "report": i.number,
                "flagged": i.flag.is_some(),
                "flag_reason": i.flag,
                "note": i.note,
                "contact": a.contact,
                "rates_installed": a.rates_installed,
            })
        );
    } else {
        match &i.flag {
            None => println!(
                "inspection {} of meter {}: the report agrees with the authority's records; \
                 contact made (service period and charged operations restarted)",
                i.number, i.serial
            ),
            Some(reason) => println!(
                "inspection {} of meter {}: FLAGGED as possible tampering: {reason}",
                i.number, i.serial
            ),
        }
        if let Some(note) = &i.note {
            println!("note: {note}");
        }
        if let Some(v) = a.rates_installed {
            println!("rate table version {v} installed");
        }
    }
    Ok(if i.flag.is_some() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
