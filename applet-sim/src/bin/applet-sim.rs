//! `applet-sim`: the simulated meter card in a PC/SC reader.
//!
//! Connects a simulated card kept in a state file to vsmartcard's vpcd
//! driver inside pcscd, so that any PC/SC application (`opensc-tool`,
//! `pcsc_scan`, `meter --card pcsc`) sees it in the reader
//! "Virtual PCD 00 00". Reconnects while pcscd is down. SIGINT or SIGTERM
//! stops it cleanly with the state file saved (exit status 0); any other
//! failure prints one line and exits with status 2.
//!
//! ```sh
//! pcscd -f &
//! applet-sim --state /tmp/vc.sim --create &
//! opensc-tool -r 0 -s 00A404000BF0434552544D4554455201
//! ```

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use anyhow::Context;
use applet_sim::sim::{SimConfig, SimError, StateFile};
use applet_sim::vpcd::{DEFAULT_ADDR, DEFAULT_SPIN, VpcdClient};
use clap::Parser;
use signal_hook::consts::{SIGINT, SIGTERM};

/// The simulated certmeter card in a PC/SC reader (vsmartcard vpcd).
#[derive(Parser, Debug)]
#[command(name = "applet-sim", version)]
struct Args {
    /// The card's state file (held locked while running).
    #[arg(long, value_name = "FILE")]
    state: PathBuf,
    /// Where vpcd (inside pcscd) listens: 35963 is the reader
    /// "Virtual PCD 00 00", 35964 "Virtual PCD 00 01".
    #[arg(long, value_name = "HOST:PORT", default_value = DEFAULT_ADDR)]
    vpcd: String,
    /// Manufacture a new blank card if FILE does not exist.
    #[arg(long)]
    create: bool,
    /// With --create: the issuer root public key to pin into the new card,
    /// 65 bytes in hex (`meter authority key --root`). Without it the card
    /// cannot be personalized.
    #[arg(long, value_name = "HEX", requires = "create")]
    issuer_root: Option<String>,
    /// Deterministic mode (test vectors): seed the card's random number
    /// generator with this value...
    #[arg(long, requires = "time")]
    seed: Option<u64>,
    /// ...and fix its clock at this Unix time.
    #[arg(long, requires = "seed")]
    time: Option<u64>,
    /// How long the card polls for the next APDU before it sleeps, in
    /// microseconds (0: sleep at once). Polling saves the wake-up of a
    /// sleeping CPU on each APDU of a flow.
    #[arg(long, value_name = "US", default_value_t = DEFAULT_SPIN.as_micros() as u64)]
    spin_us: u64,
}

impl Args {
    fn config(&self) -> SimConfig {
        SimConfig {
            seed: self.seed,
            fixed_time: self.time,
            issuer_root: self
                .issuer_root
                .as_deref()
                .and_then(|h| decode_key(h.trim())),
        }
    }
}

/// 65 bytes from 130 hex digits.
fn decode_key(hex: &str) -> Option<[u8; 65]> {
    let mut key = [0u8; 65];
    if hex.len() != 130 || !hex.is_ascii() {
        return None;
    }
    for (i, b) in key.iter_mut().enumerate() {
        *b = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(key)
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("applet-sim: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(args: Args) -> anyhow::Result<()> {
    let shutdown = Arc::new(AtomicBool::new(false));
    for signal in [SIGINT, SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&shutdown))
            .context("cannot install the signal handlers")?;
    }
    let mut card = open(&args)?;
    let mut client = VpcdClient::new(args.vpcd);
    client.spin = std::time::Duration::from_micros(args.spin_us);
    client.run(&mut card, &shutdown, |event| {
        eprintln!("applet-sim: {event}");
    })?;
    eprintln!(
        "applet-sim: stopped; card saved in {}",
        card.path().display()
    );
    Ok(())
}

fn open(args: &Args) -> anyhow::Result<StateFile> {
    match StateFile::open(&args.state, args.config()) {
        Err(SimError::NotFound(_)) if args.create => {
            let card = StateFile::create(&args.state, false, args.config())?;
            eprintln!(
                "applet-sim: manufactured a new blank card in {}",
                args.state.display()
            );
            Ok(card)
        }
        Err(SimError::NotFound(path)) => Err(anyhow::anyhow!(
            "no simulated card at {path}; pass --create to manufacture one"
        )),
        r => Ok(r?),
    }
}
