//! `meter recharge AMOUNT [--register postage|certificate]` ([value] point
//! 1): the card signs a request over its state and a fresh nonce, the
//! authority reconciles it and answers a value load bound to that request,
//! the card applies it once and signs a receipt. A contact: a newer rate
//! table comes with it. `meter load` stays the load-number-bound load.

use std::process::ExitCode;

use anyhow::Result;
use reader::money;
use serde_json::json;

use super::load::RegisterArg;
use crate::global::Global;

#[derive(clap::Args)]
pub struct Args {
    /// The amount, e.g. 25.00.
    amount: String,
    /// Which register.
    #[arg(long, value_enum, default_value_t = RegisterArg::Certificate)]
    register: RegisterArg,
}

pub fn run(g: &Global, args: &Args) -> Result<ExitCode> {
    let amount = money::parse(&args.amount)?;
    let mut authority = g.open_authority()?;
    let mut meter = g.open_meter()?;
    super::key_update::before_contact(g, &mut meter, &mut authority)?;
    let r = reader::recharge::recharge(&mut meter, &mut authority, args.register.into(), amount)?;
    if g.json {
        println!(
            "{}",
            json!({
                "number": r.load.number,
                "register": r.load.register.name(),
                "amount": r.load.amount,
                "confirmed": r.load.confirmed_at.is_some(),
                "control_before": r.control_before,
                "control_after": r.control_after,
                "rates_installed": r.rates_installed,
            })
        );
    } else {
        println!(
            "recharged {} into the {} register (load {}, bound to the card's request, confirmed \
             by its receipt); control total {} -> {}",
            money::format(r.load.amount),
            r.load.register.name(),
            r.load.number,
            money::format(r.control_before),
            money::format(r.control_after)
        );
        if let Some(v) = r.rates_installed {
            println!("rate table version {v} installed");
        }
    }
    Ok(ExitCode::SUCCESS)
}
