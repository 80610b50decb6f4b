//! `meter sync`: an authority contact that does nothing else. The card
//! takes the authority's signed time and service policy; a lock by time or
//! by charged operations lifts.

use std::process::ExitCode;

use anyhow::Result;
use serde_json::json;

use crate::global::Global;

pub fn run(g: &Global) -> Result<ExitCode> {
    let mut authority = g.open_authority()?;
    let mut meter = g.open_meter()?;
    super::key_update::before_contact(g, &mut meter, &mut authority)?;
    let s = reader::sync::sync(&mut meter, &mut authority)?;
    if g.json {
        println!(
            "{}",
            json!({ "synced": true, "clock": s.clock, "service": s.service })
        );
    } else {
        let state = s
            .service
            .as_ref()
            .map_or("no policy".to_owned(), |v| v.state.clone());
        println!("synced with the authority: card clock {}, {state}", s.clock);
    }
    Ok(ExitCode::SUCCESS)
}
