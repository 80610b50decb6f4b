//! `meter pin`: change the owner PIN (a new card's transport PIN must be
//! changed before anything is spent or personalized), and unblock a
//! forgotten or blocked one through the authority.

use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Subcommand;
use serde_json::json;

use crate::global::Global;

#[derive(Subcommand)]
pub enum PinCommand {
    /// Change the owner PIN: the current one from --pin / METER_PIN, the
    /// new one here. A new card's transport PIN must be changed before the
    /// card personalizes or spends.
    Change {
        /// The new PIN, 4 to 8 characters.
        #[arg(long, value_name = "PIN")]
        new: String,
    },
    /// Unblock the owner PIN with a message signed by the authority, which
    /// checks the holder first (locally: `meter authority approve-unblock
    /// SERIAL`); the card then takes the new PIN with full tries.
    Unblock {
        /// The new PIN, 4 to 8 characters.
        #[arg(long, value_name = "PIN")]
        new: String,
    },
}

pub fn run(g: &Global, command: &PinCommand) -> Result<ExitCode> {
    let mut meter = g.open_meter()?;
    let what = match command {
        PinCommand::Change { new } => {
            let old = g
                .pin
                .as_deref()
                .context("the current PIN is needed: pass --pin or set METER_PIN")?;
            meter
                .change_pin(old.as_bytes(), new.as_bytes())
                .context("changing the owner PIN")?;
            "changed"
        }
        PinCommand::Unblock { new } => {
            let mut authority = g.open_authority()?;
            reader::pin::unblock(&mut meter, &mut authority, new.as_bytes())?;
            "unblocked"
        }
    };
    if g.json {
        println!("{}", json!({ "pin": what }));
    } else {
        println!("owner PIN {what}");
    }
    Ok(ExitCode::SUCCESS)
}
