//! `meter authority rates [set SERVICE AMOUNT]` ([value] point 2): the
//! authority's rate table, versioned in its database; a change is a new
//! version, which meters take at their next contact.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Result, bail};
use apdu::meter::Service;
use authority::Authority;
use reader::money;
use serde_json::json;

#[derive(clap::Subcommand)]
pub enum RatesCommand {
    /// Set the fee of SERVICE (a new version of the table).
    Set {
        /// The service: postmark, verify, issue-certificate,
        /// install-certificate, revoke, indicium.
        service: String,
        /// The fee, e.g. 0.25.
        amount: String,
    },
}

fn service(name: &str) -> Result<Service> {
    match Service::ALL.iter().find(|s| s.name() == name) {
        Some(s) => Ok(*s),
        None => bail!(
            "unknown service {name:?}: one of {}",
            Service::ALL.map(|s| s.name()).join(", ")
        ),
    }
}

pub fn run(json_out: bool, dir: &Path, command: Option<&RatesCommand>) -> Result<ExitCode> {
    let mut a = Authority::open(dir)?;
    if let Some(RatesCommand::Set {
        service: name,
        amount,
    }) = command
    {
        let s = service(name)?;
        let fee = money::parse(amount)?;
        let version = a.set_rate(s, fee)?;
        if !json_out {
            println!(
                "{} now costs {}: rate table version {version}, sent to meters at their next contact",
                s.name(),
                money::format(fee)
            );
            return Ok(ExitCode::SUCCESS);
        }
    }
    let version = a.rate_version()?;
    if json_out {
        let fees: serde_json::Map<_, _> = a
            .rates()
            .iter()
            .map(|(s, fee)| (s.name().to_owned(), json!(fee)))
            .collect();
        println!("{}", json!({ "version": version, "rates": fees }));
    } else {
        println!("authority rate table version {version}");
        for (s, fee) in a.rates() {
            println!("  {:<20} {}", s.name(), money::format(fee));
        }
    }
    Ok(ExitCode::SUCCESS)
}
