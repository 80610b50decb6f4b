//! `meter rates` ([value] point 2, Figure 2, 257): the card's rate table
//! and its version.

use std::process::ExitCode;

use anyhow::Result;
use reader::money;
use serde_json::json;

use crate::global::Global;

pub fn run(g: &Global) -> Result<ExitCode> {
    let mut meter = g.open_meter()?;
    let (version, rates) = meter.rate_table()?;
    if g.json {
        let fees: serde_json::Map<_, _> = rates
            .iter()
            .map(|(s, fee)| (s.name().to_owned(), json!(fee)))
            .collect();
        println!("{}", json!({ "version": version, "rates": fees }));
    } else {
        println!("rate table version {version}");
        for (s, fee) in rates {
            println!("  {:<20} {}", s.name(), money::format(fee));
        }
    }
    Ok(ExitCode::SUCCESS)
}
