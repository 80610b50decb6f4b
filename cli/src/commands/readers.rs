//! `meter readers`: the PC/SC readers and the meter cards in them.

use std::process::ExitCode;

use anyhow::Result;
use reader::{Meter, Session};
use serde_json::json;

use crate::global::Global;

pub fn run(g: &Global) -> Result<ExitCode> {
    let mut rows = Vec::new();
    for r in reader::pcsc::list_readers()? {
        let meter = if r.card_present {
            meter_in(&r.name)
        } else {
            None
        };
        rows.push((r, meter));
    }
    readers(g.json, &rows)?;
    Ok(ExitCode::SUCCESS)
}

/// The meter serial of the card in `reader` ("-" when blank), or `None`
/// when the card is not a meter.
fn meter_in(reader_name: &str) -> Option<String> {
    let t =
        reader::pcsc::PcscTransport::connect(Some(reader_name), std::time::Duration::ZERO).ok()?;
    let mut m = Meter::new(Session::new(t));
    m.select().ok()?;
    Some(m.status().ok()?.serial.unwrap_or_else(|| "-".into()))
}

fn readers(json: bool, rows: &[(reader::pcsc::ReaderInfo, Option<String>)]) -> Result<()> {
    if json {
        let v: Vec<_> = rows
            .iter()
            .map(|(r, serial)| {
                json!({
                    "reader": r.name,
                    "card_present": r.card_present,
                    "atr": r.atr,
                    "meter": serial.is_some(),
                    "serial": serial.as_deref().filter(|s| *s != "-"),
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    for (r, serial) in rows {
        let what = match (r.card_present, serial.as_deref()) {
            (false, _) => "no card".to_owned(),
            (true, None) => "a card that is not a meter".to_owned(),
            (true, Some("-")) => "a blank meter card (not personalized)".to_owned(),
            (true, Some(s)) => format!("meter {s}"),
        };
        println!("{}: {what}", r.name);
    }
    Ok(())
}
