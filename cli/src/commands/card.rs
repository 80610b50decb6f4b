//! `meter card`: manufacture simulated cards.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Result, bail};
use clap::Subcommand;
use reader::card::CardSpec;
use reader::sim::SimTransport;
use serde_json::json;

use crate::global::Global;

#[derive(Subcommand)]
pub enum CardCommand {
    /// Manufacture a blank simulated card.
    New {
        /// Replace an existing card at that path.
        #[arg(long)]
        force: bool,
    },
}

pub fn run(g: &Global, command: &CardCommand) -> Result<ExitCode> {
    let CardCommand::New { force } = command;
    let CardSpec::Sim(path) = g.card_spec()? else {
        bail!("only simulated cards can be manufactured; use --card sim:PATH");
    };
    SimTransport::create(&path, *force)?;
    card_new(g.json, &path);
    Ok(ExitCode::SUCCESS)
}

fn card_new(json: bool, path: &Path) {
    if json {
        println!("{}", json!({ "card": path, "lifecycle": "blank" }));
    } else {
        println!("manufactured a blank simulated card at {}", path.display());
    }
}
