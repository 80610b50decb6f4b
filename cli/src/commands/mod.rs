//! The command line: global options, one subcommand per module. Each
//! module holds its command's arguments, runs it and prints its output.

pub mod apdu;
pub mod audit;
pub mod authority;
pub mod authority_credit;
pub mod authority_crl;
pub mod authority_enroll;
pub mod authority_inspections;
pub mod authority_rates;
pub mod authority_revoke;
pub mod authority_rollover;
pub mod authority_scan;
pub mod card;
pub mod cert;
pub mod cert_install;
pub mod cert_issue;
pub mod cert_list;
pub mod cert_open;
pub mod cert_revoke;
pub mod cert_sign;
pub mod credit;
pub mod demo;
pub mod key_update;
pub mod load;
pub mod pay;
pub mod personalize;
pub mod pin;
pub mod postage;
pub mod postmark;
pub mod rates;
pub mod readers;
pub mod recharge;
pub mod status;
pub mod sync;
pub mod verify;
pub mod verify_cert;

use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};

use crate::global::Global;

/// The `meter` command line.
#[derive(Parser)]
#[command(
    name = "meter",
    version,
    about = "certmeter: a postage and certificate meter on a smart card",
    after_help = "The default card is the simulated card in the data directory \
                  ($METER_HOME, else the per-user data directory); the default \
                  authority is its `authority` folder."
)]
pub struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run every flow on a fresh simulated card and local authority, narrated.
    Demo,
    /// Manage simulated cards.
    Card {
        #[command(subcommand)]
        command: card::CardCommand,
    },
    /// Manage the local authority (the trusted third party).
    Authority {
        #[command(subcommand)]
        command: authority::AuthorityCommand,
    },
    /// The owner PIN: change it (a new card's transport PIN first), unblock it.
    Pin {
        #[command(subcommand)]
        command: pin::PinCommand,
    },
    /// Personalize a blank card with the authority and load its first funds.
    Personalize(personalize::Args),
    /// Load funds from the authority into a register.
    Load(load::Args),
    /// Recharge: the card signs a request over its state, the authority
    /// reconciles it and answers a value load bound to that request.
    Recharge(recharge::Args),
    /// Show the card's rate table (Figure 2, 257) and its version.
    Rates,
    /// Inspection: the card signs a chained report of its state; the
    /// authority reconciles it with its records (exit 1 when flagged).
    Audit,
    /// Show what the card holds: life cycle, registers, counters, clock, certificates.
    Status,
    /// Contact the authority and nothing else: its signed time and service
    /// policy; lifts a lock by time or by charged operations.
    Sync,
    /// Give the card the authority's new key after `meter authority
    /// rollover` (sync and load do it first too).
    KeyUpdate,
    /// Postmark a file (Figure 3): the card hashes it, charges the fee and signs.
    Postmark(postmark::Args),
    /// Print a postage indicium: the card debits the postage register and
    /// signs; writes OUT, OUT.png and OUT.svg. `meter postage verify FILE`
    /// checks one.
    Postage(postage::Args),
    /// Verify a postmark (Figure 4): exit 0 when valid, 1 when invalid, 2 on error.
    Verify(verify::Args),
    /// Verify an agent certificate file (Figure 3A): authority -> meter ->
    /// agent certificate; exit 0 when valid, 1 when invalid, 2 on error.
    VerifyCert(verify_cert::Args),
    /// A line of credit (Figure 8): request one, show it.
    Credit {
        #[command(subcommand)]
        command: credit::CreditCommand,
    },
    /// Pay a merchant from the line of credit (Figure 9), or verify a
    /// payment file as a merchant (`pay verify FILE`).
    Pay(pay::Args),
    /// Certificates on the card.
    Cert {
        #[command(subcommand)]
        command: cert::CertCommand,
    },
    /// List the PC/SC readers: whether a card is present and whether it is a meter.
    Readers,
    /// Send raw command APDUs (hex) in one session and print each response.
    Apdu(apdu::Args),
}

/// Runs the command; the exit code is 0, or 1 for an invalid postmark.
pub fn run(cli: &Cli) -> Result<ExitCode> {
    let g = &cli.global;
    match &cli.command {
        Command::Demo => demo::run(g.json),
        Command::Card { command } => card::run(g, command),
        Command::Authority { command } => authority::run(g, command),
        Command::Pin { command } => pin::run(g, command),
        Command::Personalize(args) => personalize::run(g, args),
        Command::Load(args) => load::run(g, args),
        Command::Recharge(args) => recharge::run(g, args),
        Command::Rates => rates::run(g),
        Command::Audit => audit::run(g),
        Command::Status => status::run(g),
        Command::Sync => sync::run(g),
        Command::KeyUpdate => key_update::run(g),
        Command::Postmark(args) => postmark::run(g, args),
        Command::Postage(args) => postage::run(g, args),
        Command::Verify(args) => verify::run(g, args),
        Command::VerifyCert(args) => verify_cert::run(g, args),
        Command::Credit { command } => credit::run(g, command),
        Command::Pay(args) => pay::run(g, args),
        Command::Cert { command } => cert::run(g, command),
        Command::Readers => readers::run(g),
        Command::Apdu(args) => apdu::run(g, args),
    }
}
