//! `meter credit`: Figure 8, a line of credit. `request --amount AMOUNT`
//! has the card postmark a credit request (802, the postmark fee), sends
//! it to the creditor beside the local authority (804/806), and stores the
//! line-of-credit certificate (Figure 7A) it issues (808-812); `show`
//! prints the line and the credit remaining.

use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;
use reader::credit::CreditLine;
use reader::money;
use serde_json::json;

use crate::global::Global;
use crate::output::time;

#[derive(Subcommand)]
pub enum CreditCommand {
    /// Ask the creditor for a line of credit (Figure 8): the card postmarks
    /// the request (the postmark fee), the creditor decides, the card
    /// stores the line and sets the credit remaining to it.
    Request {
        /// The line asked for, e.g. 500.00.
        #[arg(long)]
        amount: String,
    },
    /// Show the line of credit on the card and the credit remaining.
    Show,
}

pub fn run(g: &Global, command: &CreditCommand) -> Result<ExitCode> {
    match command {
        CreditCommand::Request { amount } => {
            let amount = money::parse(amount)?;
            let mut authority = g.open_authority()?;
            let mut meter = g.open_meter()?;
            let line = g.with_pin(&mut meter, |m| {
                reader::credit::request(m, &mut authority, amount)
            })?;
            if g.json {
                println!("{}", serde_json::to_string(&line)?);
            } else {
                println!(
                    "line of credit {} of {} from {} stored: {} remaining, valid until {}",
                    line.number,
                    money::format(line.line),
                    line.creditor,
                    money::format(line.remaining),
                    time(line.expiry)
                );
            }
        }
        CreditCommand::Show => {
            let mut meter = g.open_meter()?;
            let line = reader::credit::show(&mut meter)?;
            show(g.json, line.as_ref())?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn show(json: bool, line: Option<&CreditLine>) -> Result<()> {
    match (json, line) {
        (true, Some(l)) => println!("{}", serde_json::to_string(l)?),
        (true, None) => println!("{}", json!({ "line": null })),
        (false, None) => println!("no line of credit on the card"),
        (false, Some(l)) => println!(
            "line of credit {} from {} (certificate {}): line {}, remaining {}, payments made {}, valid {} to {}",
            l.number,
            l.creditor,
            l.certificate_serial,
            money::format(l.line),
            money::format(l.remaining),
            l.payments,
            time(l.effective),
            time(l.expiry)
        ),
    }
    Ok(())
}
