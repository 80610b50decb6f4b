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
pub(crate) enum RegisterArg {
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
    super::key_update::before_contact(g, &mut meter, &mut authority)?;
    match reader::value::load(&mut meter, &mut authority, args.register.into(), amount) {
        Ok(record) => loaded(g.json, &record)?,
        // The card was credited: not a failed load. The authority records
        // it with the next receipt.
        Err(e @ reader::Error::Unconfirmed { .. }) => unconfirmed(g.json, &e),
        Err(e) => return Err(e.into()),
    }
    Ok(ExitCode::SUCCESS)
}

fn unconfirmed(json: bool, e: &reader::Error) {
    let reader::Error::Unconfirmed {
        number,
        register,
        amount,
        reason,
        ..
    } = e
    else {
        return;
    };
    if json {
        println!(
            "{}",
            json!({
                "number": number,
                "register": register,
                "amount": amount,
                "confirmed": false,
                "reason": reason.to_string(),
            })
        );
    } else {
        println!(
            "loaded {} into the {register} register (load {number}); the authority could not \
             record the card's receipt yet ({reason}): the next load confirms it",
            money::format(*amount)
        );
    }
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
