//! `meter status`: what the card holds.

use std::process::ExitCode;

use anyhow::Result;
use reader::meter::{RegisterState, Status};
use reader::money;

use crate::global::Global;
use crate::output::time;

pub fn run(g: &Global) -> Result<ExitCode> {
    let status = g.open_meter()?.status()?;
    self::status(g.json, &status)?;
    Ok(ExitCode::SUCCESS)
}

fn register(name: &str, r: &RegisterState, pieces: u32) {
    println!(
        "{name:<12} ascending {:>10}  descending {:>10}  control total {:>10}  pieces {pieces}",
        money::format(r.ascending),
        money::format(r.descending),
        money::format(r.control_total),
    );
}

fn status(json: bool, s: &Status) -> Result<()> {
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
        println!("{:<12} {}", "deadline", time(s.deadline));
    }
    if let Some(v) = &s.service {
        println!(
            "{:<12} {} (last authority contact {}; {} charged operations since, of {}; service {} days + {} days of grace)",
            "service",
            v.state,
            time(v.last_contact),
            v.debits_since_contact,
            v.max_debits,
            v.service_days,
            v.grace_days
        );
        if v.state != "in service" {
            println!("{:<12} contact the authority: `meter sync` (or a load)", "");
        }
    }
    println!(
        "{:<12} {} tries left{}",
        "PIN",
        s.pin_tries,
        if s.transport_pin {
            " (transport PIN: change it with `meter pin change`)"
        } else {
            ""
        }
    );
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
