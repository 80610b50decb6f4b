//! `meter authority settle FILE`, `meter authority payments [--merchant
//! ID]`, `meter authority credit [--max-line AMOUNT]`: the creditor's side
//! of Figures 8 and 9: settling a payment certificate once (a second
//! presentation is refused), what each merchant was paid, the lines issued
//! and the maximum line per holder.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use authority::Authority;
use reader::money;
use serde_json::json;

use crate::output::{read_limited, time};

/// `meter authority settle FILE`.
pub fn settle(json: bool, dir: &Path, file: &Path) -> Result<ExitCode> {
    let bytes = read_limited(file, super::pay::MAX_PAYMENT_FILE, "a payment file")?;
    let mut a = Authority::open(dir)?;
    let p = a.settle(&bytes)?;
    if json {
        println!(
            "{}",
            json!({ "settled": true, "holder": p.holder, "serial": p.serial, "line": p.line,
                    "merchant": p.merchant, "amount": p.amount, "settled_at": p.settled_at })
        );
    } else {
        println!(
            "settled: payment {} of meter {} pays {} to {}",
            p.serial,
            p.holder,
            money::format(p.amount),
            p.merchant
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `meter authority payments [--merchant ID]`.
pub fn payments(json: bool, dir: &Path, merchant: Option<&str>) -> Result<ExitCode> {
    let a = Authority::open(dir)?;
    let list = a.payments(merchant)?;
    let mut totals: BTreeMap<&str, u64> = BTreeMap::new();
    for p in &list {
        let t = totals.entry(p.merchant.as_str()).or_default();
        *t = t.saturating_add(p.amount);
    }
    if json {
        let v: Vec<_> = list
            .iter()
            .map(|p| {
                json!({ "holder": p.holder, "serial": p.serial, "line": p.line,
                        "merchant": p.merchant, "amount": p.amount, "settled_at": p.settled_at })
            })
            .collect();
        println!("{}", json!({ "payments": v, "totals": totals }));
        return Ok(ExitCode::SUCCESS);
    }
    if list.is_empty() {
        println!("no payment settled");
    }
    for p in &list {
        println!(
            "{} payment {} of meter {} (line {}): {} to {}",
            time(p.settled_at),
            p.serial,
            p.holder,
            p.line,
            money::format(p.amount),
            p.merchant
        );
    }
    for (m, t) in totals {
        println!("merchant {m}: paid {}", money::format(t));
    }
    Ok(ExitCode::SUCCESS)
}

/// `meter authority credit [--max-line AMOUNT]`.
pub fn credit(json: bool, dir: &Path, max_line: Option<&str>) -> Result<ExitCode> {
    let mut a = Authority::open(dir)?;
    if let Some(m) = max_line {
        a.set_max_line(money::parse(m)?)?;
    }
    let max = a.max_line()?;
    let lines = a.credit_lines()?;
    if json {
        let v: Vec<_> = lines
            .iter()
            .map(|l| {
                json!({ "serial": l.serial, "holder": l.holder, "number": l.number,
                        "amount": l.amount, "settled": l.settled, "expiry": l.expiry })
            })
            .collect();
        println!("{}", json!({ "max_line": max, "lines": v }));
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "creditor {}: maximum line per holder {}",
        authority::credit::DEFAULT_CREDITOR_NAME,
        money::format(max)
    );
    for l in &lines {
        println!(
            "line {} to meter {} (its line {}): {}, settled {}, valid until {}",
            l.serial,
            l.holder,
            l.number,
            money::format(l.amount),
            money::format(l.settled),
            time(l.expiry)
        );
    }
    Ok(ExitCode::SUCCESS)
}
