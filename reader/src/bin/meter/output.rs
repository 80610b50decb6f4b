//! How the CLI prints results: text for people, JSON with `--json`.

use std::path::Path;

use anyhow::Result;
use apdu::ResponseBuf;
use apdu::crypto::Invalid;
use reader::meter::{CardVerdict, RegisterState, Status};
use reader::money;
use reader::postmark::PostmarkInfo;
use serde_json::json;

/// A Unix time for people: RFC 3339, or the raw seconds when it lies past
/// what RFC 3339 can write (year 9999).
pub fn time(secs: u64) -> String {
    const YEAR_10000: u64 = 253_402_300_800;
    match std::time::UNIX_EPOCH.checked_add(std::time::Duration::from_secs(secs)) {
        Some(t) if secs < YEAR_10000 => humantime::format_rfc3339_seconds(t).to_string(),
        _ => format!("{secs} (Unix seconds)"),
    }
}

pub fn card_new(json: bool, path: &Path) {
    if json {
        println!("{}", json!({ "card": path, "lifecycle": "blank" }));
    } else {
        println!("manufactured a blank simulated card at {}", path.display());
    }
}

fn register(name: &str, r: &RegisterState, pieces: u32) {
    println!(
        "{name:<12} ascending {:>10}  descending {:>10}  control total {:>10}  pieces {pieces}",
        money::format(r.ascending),
        money::format(r.descending),
        money::format(r.control_total),
    );
}

pub fn status(json: bool, s: &Status) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(s)?);
        return Ok(());
    }
    let lifecycle = if s.lifecycle == "blank" {
        "blank (not personalized by an authority yet)".to_owned()
    } else {
        s.lifecycle.clone()
    };
    println!("{:<12} {lifecycle}", "life cycle");
    println!("{:<12} {}", "serial", s.serial.as_deref().unwrap_or("-"));
    println!("{:<12} {}", "chip id", s.chip_id);
    println!("{:<12} {}", "clock", time(s.clock));
    register("postage", &s.registers.postage, s.piece_counts.postage);
    register(
        "certificate",
        &s.registers.certificate,
        s.piece_counts.certificate,
    );
    println!("{:<12} {}", "sequence", s.sequence);
    println!(
        "{:<12} {} (loads {})",
        "postmarks", s.postmarks, s.load_count
    );
    if s.deadline > 0 {
        println!("{:<12} {}", "service due", time(s.deadline));
    }
    println!("{:<12} {} tries left", "PIN", s.pin_tries);
    println!(
        "{:<12} {}",
        "meter key",
        if s.meter_key {
            "generated on the card"
        } else {
            "none"
        }
    );
    println!("{:<12} {}", "authority", s.authority_keys);
    println!(
        "{:<12} {} of {} slots used",
        "certificates", s.certificate_slots.used, s.certificate_slots.capacity
    );
    for c in &s.certificates {
        println!(
            "  slot {}: certificate {} for {} by {}, expires {}",
            c.slot,
            c.serial,
            c.holder,
            c.issuer,
            time(c.expiry)
        );
    }
    println!(
        "{:<12} {} of {} bytes used",
        "memory", s.memory.used, s.memory.capacity
    );
    Ok(())
}

pub fn apdus(json: bool, results: &[(Vec<u8>, ResponseBuf)]) -> Result<()> {
    if json {
        let v: Vec<_> = results
            .iter()
            .map(|(c, r)| {
                json!({
                    "command": hex::encode_upper(c),
                    "data": hex::encode_upper(&r.data),
                    "sw": format!("{:04X}", r.sw.0),
                    "meaning": r.sw.description(),
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    for (c, r) in results {
        println!("> {}", hex::encode_upper(c));
        if r.data.is_empty() {
            println!("< {}", r.sw);
        } else {
            println!("< {} {}", hex::encode_upper(&r.data), r.sw);
        }
    }
    Ok(())
}

pub fn authority(json: bool, dir: &Path, name: &str, key: &[u8]) {
    if json {
        println!(
            "{}",
            json!({ "authority": dir, "name": name, "public_key": hex::encode_upper(key) })
        );
    } else {
        println!("authority {name} at {}", dir.display());
        println!("public key {}", hex::encode_upper(key));
    }
}

pub fn personalized(json: bool, p: &reader::personalize::Personalized) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(p)?);
    } else {
        println!(
            "personalized meter {} (certificate {}), loaded {}",
            p.serial,
            p.certificate_serial,
            money::format(p.funds)
        );
    }
    Ok(())
}

pub fn loaded(json: bool, r: &authority::LoadRecord) -> Result<()> {
    if json {
        println!(
            "{}",
            json!({
                "number": r.number,
                "register": r.register.name(),
                "amount": r.amount,
                "confirmed": r.confirmed_at.is_some(),
            })
        );
    } else {
        println!(
            "loaded {} into the {} register (load {}, confirmed by the card's receipt)",
            money::format(r.amount),
            r.register.name(),
            r.number
        );
    }
    Ok(())
}

/// Reports a postmark written to `out`; on standard error when the
/// postmark itself went to standard output (`-o -`).
pub fn postmarked(json: bool, out: &Path, info: &PostmarkInfo, to_stderr: bool) -> Result<()> {
    let line = if json {
        let mut v = serde_json::to_value(info)?;
        v["postmark"] = json!(out);
        v.to_string()
    } else {
        format!(
            "postmark {} of meter {} written to {} (fee {})",
            info.sequence,
            info.meter,
            if to_stderr {
                "standard output".into()
            } else {
                out.display().to_string()
            },
            money::format(info.fee)
        )
    };
    if to_stderr {
        eprintln!("{line}");
    } else {
        println!("{line}");
    }
    Ok(())
}

pub fn valid(json: bool, info: &PostmarkInfo) -> Result<()> {
    if json {
        let mut v = serde_json::to_value(info)?;
        v["valid"] = json!(true);
        println!("{v}");
    } else {
        println!(
            "valid: postmark {} of meter {} at {}",
            info.sequence,
            info.meter,
            time(info.time)
        );
    }
    Ok(())
}

/// An invalid postmark: `why` is the failed check, `file` the postmark file
/// (to name a signature's defect when its bytes show one).
pub fn invalid(json: bool, why: Invalid, file: &[u8]) -> Result<()> {
    let reason = reader::postmark::explain(file, why);
    if json {
        println!(
            "{}",
            json!({ "valid": false, "check": why as u8, "reason": reason })
        );
    } else {
        println!("invalid: {reason}");
    }
    Ok(())
}

pub fn malformed(json: bool, why: &str) -> Result<()> {
    if json {
        println!(
            "{}",
            json!({ "valid": false, "reason": format!("not a postmark file: {why}") })
        );
    } else {
        println!("invalid: not a postmark file ({why})");
    }
    Ok(())
}

pub fn card_verdict(
    json: bool,
    v: &CardVerdict,
    info: Option<&PostmarkInfo>,
    file: &[u8],
) -> Result<()> {
    match (v.result, info) {
        (Err(why), _) => invalid(json, why, file)?,
        (Ok(()), info) => {
            if let Some(info) = info {
                valid(json, info)?;
            }
            if !json {
                println!("verified on the card for {}", money::format(v.fee));
            }
        }
    }
    Ok(())
}

pub fn readers(json: bool, rows: &[(reader::pcsc::ReaderInfo, Option<String>)]) -> Result<()> {
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
