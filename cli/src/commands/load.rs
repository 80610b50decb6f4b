//! `meter load`: load funds from the authority into a register.

use std::process::ExitCode;

use anyhow::Result;
use apdu::meter::RegisterId;
use clap::ValueEnum;
use reader::money;
use serde_json::json;

use crate::global::Global;

#[derive(clap::Args)]
pub struct Args {
    /// The amount, e.g. 25.00.
    amount: String,
    /// Which register.
    #[arg(long, value_enum, default_value_t = RegisterArg::Certificate)]
    register: RegisterArg,
}

#[derive(Clone, Copy, ValueEnum)]
enum RegisterArg {
    Postage,
    Certificate,
}

impl From<RegisterArg> for RegisterId {
    fn from(r: RegisterArg) -> Self {
        match r {
            RegisterArg::Postage => RegisterId::Postage,
            RegisterArg::Certificate => RegisterId::Certificate,
        }
    }
}

pub fn run(g: &Global, args: &Args) -> Result<ExitCode> {
    let amount = money::parse(&args.amount)?;
    let mut authority = g.open_authority()?;
    let mut meter = g.open_meter()?;
    let record = reader::value::load(&mut meter, &mut authority, args.register.into(), amount)?;
    loaded(g.json, &record)?;
    Ok(ExitCode::SUCCESS)
}

fn loaded(json: bool, r: &authority::LoadRecord) -> Result<()> {
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
