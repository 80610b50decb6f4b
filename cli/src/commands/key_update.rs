//! `meter key-update`: brings the card to the authority's current key
//! after a rollover ([certs] point 6); every contact (`meter sync`, `meter
//! load`, `meter recharge`, `meter audit`) does it first too.

use std::process::ExitCode;

use anyhow::Result;
use serde_json::json;

use crate::global::{Card, Global};

pub fn run(g: &Global) -> Result<ExitCode> {
    let mut authority = g.open_authority()?;
    let mut meter = g.open_meter()?;
    let updated = reader::key_update::update(&mut meter, &mut authority)?;
    if g.json {
        println!("{}", json!({ "updated": updated }));
    } else if updated {
        println!("the card took the authority's new key");
    } else {
        println!("the card already holds the authority's current key");
    }
    Ok(ExitCode::SUCCESS)
}

/// Before a contact: the authority's new key, when the card lacks it (a
/// line says so, except in JSON).
pub fn before_contact(
    g: &Global,
    meter: &mut Card,
    authority: &mut authority::Authority,
) -> Result<()> {
    if reader::key_update::update(meter, authority)? && !g.json {
        println!("the card took the authority's new key");
    }
    Ok(())
}
