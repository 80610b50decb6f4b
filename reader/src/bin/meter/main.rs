//! `meter`: the certmeter command line (Figure 2, PC 204).
//!
//! Errors print one line (and a hint where there is one) and exit 2;
//! `verify` exits 1 for an invalid postmark. Nothing here panics on bad input.

mod demo;
mod output;
mod sink;

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use apdu::meter::RegisterId;
use authority::Authority;
use clap::{Parser, Subcommand, ValueEnum};
use reader::card::{self, CardSpec};
use reader::sim::SimTransport;
use reader::{Meter, Transport, money, postmark};

#[derive(Parser)]
#[command(
    name = "meter",
    version,
    about = "certmeter: a postage and certificate meter on a smart card",
    after_help = "The default card is the simulated card in the data directory \
                  ($METER_HOME, else the per-user data directory); the default \
                  authority is its `authority` folder."
)]
struct Cli {
    /// The card: `sim:PATH` (a simulated card in a state file) or
    /// `pcsc[:READER]` (a card in a PC/SC reader).
    #[arg(long, global = true, env = "METER_CARD", value_name = "CARD")]
    card: Option<String>,
    /// The authority's directory.
    #[arg(long, global = true, env = "METER_AUTHORITY", value_name = "DIR")]
    authority: Option<PathBuf>,
    /// The owner PIN, for commands that spend funds or change keys.
    #[arg(long, global = true, env = "METER_PIN", hide_env_values = true)]
    pin: Option<String>,
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
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
        command: CardCommand,
    },
    /// Manage the local authority (the trusted third party).
    Authority {
        #[command(subcommand)]
        command: AuthorityCommand,
    },
    /// Personalize a blank card with the authority and load its first funds.
    Personalize {
        /// The meter serial to give the card (at most 16 characters).
        #[arg(long)]
        serial: String,
        /// Initial funds for the certificate register, e.g. 10.00.
        #[arg(long, default_value = "0")]
        funds: String,
    },
    /// Load funds from the authority into a register.
    Load {
        /// The amount, e.g. 25.00.
        amount: String,
        /// Which register.
        #[arg(long, value_enum, default_value_t = RegisterArg::Certificate)]
        register: RegisterArg,
    },
    /// Show what the card holds: life cycle, registers, counters, clock, certificates.
    Status,
    /// Postmark a file (Figure 3): the card hashes it, charges the fee and signs.
    Postmark {
        /// The file to postmark.
        file: PathBuf,
        /// Where to write the postmark (default FILE.postmark; `-`: standard
        /// output, and the report goes to standard error).
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Verify a postmark (Figure 4): exit 0 when valid, 1 when invalid, 2 on error.
    Verify {
        /// The message.
        file: PathBuf,
        /// The postmark file.
        postmark: PathBuf,
        /// Verify on the card, for its fee, instead of on the PC.
        #[arg(long)]
        on_card: bool,
        /// The authority's public key (hex, as printed by `meter authority key`),
        /// for verifying without the authority's directory.
        #[arg(long, value_name = "HEX")]
        authority_key: Option<String>,
    },
    /// Certificates on the card.
    Cert {
        #[command(subcommand)]
        command: CertCommand,
    },
    /// List the PC/SC readers: whether a card is present and whether it is a meter.
    Readers,
    /// Send raw command APDUs (hex) in one session and print each response.
    Apdu {
        /// Command APDUs in hex, one per argument (spaces and colons allowed).
        #[arg(required = true, value_name = "HEX")]
        apdus: Vec<String>,
    },
}

#[derive(Subcommand)]
enum CardCommand {
    /// Manufacture a blank simulated card.
    New {
        /// Replace an existing card at that path.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Subcommand)]
enum AuthorityCommand {
    /// Create the authority: its key pair and its database.
    Init {
        /// The authority's name, written as issuer in its certificates.
        #[arg(long, default_value = "CERTMETER-CA")]
        name: String,
    },
    /// Print the authority's public key (hex), for verifiers.
    Key {
        /// Write the key as a PEM SubjectPublicKeyInfo, as openssl reads it.
        #[arg(long)]
        pem: bool,
        /// Where to write the PEM (default: standard output).
        #[arg(short, long, requires = "pem")]
        output: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum CertCommand {
    /// Export the certificate in a slot (slot 0: the meter certificate).
    Export {
        /// The certificate slot, 0 to 3.
        slot: u8,
        /// Write the certificate's public key as a PEM SubjectPublicKeyInfo
        /// (for openssl) instead of the certificate itself (7F21 bytes).
        #[arg(long)]
        pem: bool,
        /// Where to write it (default: standard output).
        #[arg(short, long, default_value = "-")]
        output: PathBuf,
    },
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

fn main() -> ExitCode {
    // `meter status | head` ends quietly instead of panicking on EPIPE.
    sigpipe::reset();
    let cli = Cli::parse();
    match run(&cli) {
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

fn card_spec(cli: &Cli) -> Result<CardSpec> {
    match &cli.card {
        Some(s) => CardSpec::parse(s).map_err(anyhow::Error::msg),
        None => Ok(CardSpec::default_sim(&card::home()?)),
    }
}

fn authority_dir(cli: &Cli) -> Result<PathBuf> {
    match &cli.authority {
        Some(d) => Ok(d.clone()),
        None => Ok(card::home()?.join("authority")),
    }
}

fn open_authority(cli: &Cli) -> Result<Authority> {
    Ok(Authority::open(&authority_dir(cli)?)?)
}

fn open_meter(cli: &Cli) -> Result<Meter<Box<dyn Transport>>> {
    let spec = card_spec(cli)?;
    let transport = spec.open()?;
    let mut meter = Meter::new(transport);
    meter.select().context("selecting the meter application")?;
    Ok(meter)
}

/// Verifies the owner PIN given with --pin / METER_PIN.
fn verify_pin(cli: &Cli, meter: &mut Meter<Box<dyn Transport>>) -> Result<()> {
    let Some(pin) = &cli.pin else {
        bail!(
            "this command needs the owner PIN: pass --pin or set METER_PIN (a new card's PIN is {})",
            String::from_utf8_lossy(apdu::meter::DEFAULT_PIN)
        );
    };
    meter
        .verify_pin(pin.as_bytes())
        .context("verifying the owner PIN")
}

/// The directory a file is written into.
fn open_file(path: &Path) -> Result<BufReader<File>> {
    Ok(BufReader::new(File::open(path).with_context(|| {
        format!("cannot read {}", path.display())
    })?))
}

fn run(cli: &Cli) -> Result<ExitCode> {
    match &cli.command {
        Command::Demo => return demo::run(cli.json),
        Command::Card {
            command: CardCommand::New { force },
        } => {
            let CardSpec::Sim(path) = card_spec(cli)? else {
                bail!("only simulated cards can be manufactured; use --card sim:PATH");
            };
            SimTransport::create(&path, *force)?;
            output::card_new(cli.json, &path);
        }
        Command::Authority { command } => {
            let dir = authority_dir(cli)?;
            let a = match command {
                AuthorityCommand::Init { name } => Authority::init(&dir, name)?,
                AuthorityCommand::Key { pem: true, output } => {
                    let pem = reader::export::public_key_pem(&Authority::open(&dir)?.public_key())?;
                    let out = output.clone().unwrap_or_else(|| "-".into());
                    write_output(&out, pem.as_bytes())?;
                    return Ok(ExitCode::SUCCESS);
                }
                AuthorityCommand::Key { pem: false, .. } => Authority::open(&dir)?,
            };
            output::authority(cli.json, &dir, a.name(), &a.public_key());
        }
        Command::Cert {
            command: CertCommand::Export { slot, pem, output },
        } => {
            let sink = sink::Sink::open(output)
                .with_context(|| format!("cannot write {}", output.display()))?;
            let certificate = open_meter(cli)?
                .read_certificate(*slot)
                .with_context(|| format!("reading the certificate in slot {slot}"))?;
            let bytes = if *pem {
                reader::export::certificate_key_pem(&certificate)?.into_bytes()
            } else {
                certificate
            };
            sink.finish(&bytes)
                .with_context(|| format!("cannot write {}", output.display()))?;
        }
        Command::Personalize { serial, funds } => {
            let funds = money::parse(funds)?;
            let mut authority = open_authority(cli)?;
            let mut meter = open_meter(cli)?;
            verify_pin(cli, &mut meter)?;
            let done = reader::personalize::personalize(&mut meter, &mut authority, serial, funds)?;
            output::personalized(cli.json, &done)?;
        }
        Command::Load { amount, register } => {
            let amount = money::parse(amount)?;
            let mut authority = open_authority(cli)?;
            let mut meter = open_meter(cli)?;
            let record =
                reader::value::load(&mut meter, &mut authority, (*register).into(), amount)?;
            output::loaded(cli.json, &record)?;
        }
        Command::Status => {
            let status = open_meter(cli)?.status()?;
            output::status(cli.json, &status)?;
        }
        Command::Postmark { file, output } => {
            let out = output.clone().unwrap_or_else(|| {
                let mut p = file.clone().into_os_string();
                p.push(".postmark");
                p.into()
            });
            let mut message = open_file(file)?;
            let sink = sink::Sink::open(&out)
                .with_context(|| format!("cannot write {}", out.display()))?;
            let mut meter = open_meter(cli)?;
            verify_pin(cli, &mut meter)?;
            let pm = postmark::postmark(&mut meter, &mut message)?;
            let to_stdout = sink.is_stdout();
            if let Err(e) = sink.finish(&pm) {
                // Last resort: the postmark was paid for; hand it over.
                eprintln!("postmark (hex): {}", hex::encode_upper(&pm));
                return Err(
                    anyhow::Error::from(e).context(format!("cannot write {}", out.display()))
                );
            }
            let info = postmark::PostmarkInfo::parse(&pm)?;
            output::postmarked(cli.json, &out, &info, to_stdout)?;
        }
        Command::Verify {
            file,
            postmark: pm_path,
            on_card,
            authority_key,
        } => {
            let pm = std::fs::read(pm_path)
                .with_context(|| format!("cannot read {}", pm_path.display()))?;
            let mut message = open_file(file)?;
            if let Err(e) = apdu::postmark::PostmarkFile::parse(&pm) {
                output::malformed(cli.json, &e.to_string())?;
                return Ok(ExitCode::from(1));
            }
            let result = if *on_card {
                let mut meter = open_meter(cli)?;
                verify_pin(cli, &mut meter)?;
                let (verdict, info) = postmark::verify_on_card(&mut meter, &mut message, &pm)?;
                output::card_verdict(cli.json, &verdict, info.as_ref(), &pm)?;
                verdict.result.is_ok()
            } else {
                let key = match authority_key {
                    Some(k) => hex::decode(k.trim()).context("--authority-key is not hex")?,
                    None => open_authority(cli)?.public_key().to_vec(),
                };
                match postmark::verify_offline(&mut message, &pm, &key) {
                    Ok(info) => {
                        output::valid(cli.json, &info)?;
                        true
                    }
                    Err(postmark::VerifyError::Invalid(why)) => {
                        output::invalid(cli.json, why, &pm)?;
                        false
                    }
                    Err(e) => return Err(e.into()),
                }
            };
            return Ok(if result {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            });
        }
        Command::Readers => {
            let mut rows = Vec::new();
            for r in reader::pcsc::list_readers()? {
                let meter = if r.card_present {
                    meter_in(&r.name)
                } else {
                    None
                };
                rows.push((r, meter));
            }
            output::readers(cli.json, &rows)?;
        }
        Command::Apdu { apdus } => {
            let commands = apdus
                .iter()
                .map(|a| parse_hex(a))
                .collect::<Result<Vec<_>>>()?;
            let mut t = card_spec(cli)?.open()?;
            let mut results = Vec::new();
            for c in &commands {
                let r = reader::exchange_raw(&mut t, c)?;
                results.push((c.clone(), r));
            }
            output::apdus(cli.json, &results)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes `bytes` to `path` (`-`: standard output) as the postmark is
/// written: a temporary file renamed into place.
fn write_output(path: &Path, bytes: &[u8]) -> Result<()> {
    let sink =
        sink::Sink::open(path).with_context(|| format!("cannot write {}", path.display()))?;
    sink.finish(bytes)
        .with_context(|| format!("cannot write {}", path.display()))
}

/// The meter serial of the card in `reader` ("-" when blank), or `None`
/// when the card is not a meter.
fn meter_in(reader_name: &str) -> Option<String> {
    let t =
        reader::pcsc::PcscTransport::connect(Some(reader_name), std::time::Duration::ZERO).ok()?;
    let mut m = Meter::new(t);
    m.select().ok()?;
    Some(m.status().ok()?.serial.unwrap_or_else(|| "-".into()))
}

fn parse_hex(s: &str) -> Result<Vec<u8>> {
    let clean: String = s.chars().filter(|c| !matches!(c, ' ' | ':')).collect();
    hex::decode(&clean).with_context(|| format!("`{s}` is not hex (e.g. 00A4040000)"))
}
