//! `meter personalize`: personalize a blank card with the authority and
//! load its first funds.

use std::process::ExitCode;

use anyhow::Result;
use reader::money;

use crate::global::Global;

#[derive(clap::Args)]
pub struct Args {
    /// The meter serial to give the card (at most 16 characters).
    #[arg(long)]
    serial: String,
    /// Initial funds for the certificate register, e.g. 10.00.
    #[arg(long, default_value = "0")]
    funds: String,
}

pub fn run(g: &Global, args: &Args) -> Result<ExitCode> {
    let funds = money::parse(&args.funds)?;
    let mut authority = g.open_authority()?;
    let mut meter = g.open_meter()?;
    let done = g.with_pin(&mut meter, |m| {
        reader::personalize::personalize(m, &mut authority, &args.serial, funds)
    })?;
    personalized(g.json, &done)?;
    Ok(ExitCode::SUCCESS)
}

fn personalized(json: bool, p: &reader::personalize::Personalized) -> Result<()> {
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
