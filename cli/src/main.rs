//! `meter`: the certmeter command line (Figure 2, PC 204).
//!
//! Errors print one line (and a hint where there is one) and exit 2;
//! `verify` exits 1 for an invalid postmark. Nothing here panics on bad input.
//!
//! * [`commands`]: the command line (clap) and one module per command,
//!   each running its command and printing its output.
//! * [`global`]: the options every command takes, and opening the card and
//!   the authority from them.
//! * [`output`]: what several commands print alike; [`sink`]: where a
//!   paid-for object is written.

mod commands;
mod global;
mod output;
mod sink;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // `meter status | head` ends quietly instead of panicking on EPIPE.
    sigpipe::reset();
    let cli = commands::Cli::parse();
    match commands::run(&cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("meter: {e:#}");
            if let Some(hint) = e
                .downcast_ref::<reader::Error>()
                .and_then(reader::Error::hint)
            {
                eprintln!("hint: {hint}");
            }
            ExitCode::from(2)
        }
    }
}
