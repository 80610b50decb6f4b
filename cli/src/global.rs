//! The options every command takes, and opening the card and the authority
//! they name.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use authority::Authority;
use reader::card::{self, CardSpec};
use reader::{Meter, Transport};

use crate::sink::Guard;

/// The card, the authority, the PIN and the output format.
#[derive(clap::Args)]
pub struct Global {
    /// The card: `sim:PATH` (a simulated card in a state file) or
    /// `pcsc[:READER]` (a card in a PC/SC reader).
    #[arg(long, global = true, env = "METER_CARD", value_name = "CARD")]
    pub card: Option<String>,
    /// The authority's directory.
    #[arg(long, global = true, env = "METER_AUTHORITY", value_name = "DIR")]
    pub authority: Option<PathBuf>,
    /// The owner PIN, for commands that spend funds or change keys.
    #[arg(long, global = true, env = "METER_PIN", hide_env_values = true)]
    pub pin: Option<String>,
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,
}

/// The card as the commands hold it.
pub type Card = Meter<Box<dyn Transport>>;

impl Global {
    /// The card named by `--card`, else the default simulated card.
    pub fn card_spec(&self) -> Result<CardSpec> {
        match &self.card {
            Some(s) => CardSpec::parse(s).map_err(anyhow::Error::msg),
            None => Ok(CardSpec::default_sim(&card::home()?)),
        }
    }

    /// The authority directory named by `--authority`, else the data
    /// directory's `authority` folder.
    pub fn authority_dir(&self) -> Result<PathBuf> {
        match &self.authority {
            Some(d) => Ok(d.clone()),
            None => Ok(card::home()?.join("authority")),
        }
    }

    /// What no output may overwrite: the simulated card named by `--card`
    /// and the default one, their lock and temporary files, and the
    /// authority's directory.
    pub fn guard(&self) -> Guard {
        let mut guard = Guard::default();
        if let Ok(CardSpec::Sim(path)) = self.card_spec() {
            guard = guard.card(&path);
        }
        if let Ok(home) = card::home() {
            if let CardSpec::Sim(path) = CardSpec::default_sim(&home) {
                guard = guard.card(&path);
            }
            guard = guard.authority(&home.join("authority"));
        }
        if let Ok(dir) = self.authority_dir() {
            guard = guard.authority(&dir);
        }
        guard
    }

    /// Opens the authority (its database, read-write, and its signing key).
    pub fn open_authority(&self) -> Result<Authority> {
        Ok(Authority::open(&self.authority_dir()?)?)
    }

    /// Opens the card and selects the meter application.
    pub fn open_meter(&self) -> Result<Card> {
        let spec = self.card_spec()?;
        let transport = spec.open()?;
        let mut meter = Meter::new(transport);
        meter.select().context("selecting the meter application")?;
        Ok(meter)
    }

    /// The owner PIN given with --pin / METER_PIN.
    fn pin(&self) -> Result<&str> {
        let Some(pin) = &self.pin else {
            bail!(
                "this command needs the owner PIN: pass --pin or set METER_PIN (a new card's PIN is {})",
                String::from_utf8_lossy(apdu::meter::DEFAULT_PIN)
            );
        };
        Ok(pin)
    }

    /// Runs a flow that needs the owner PIN (given with --pin /
    /// METER_PIN): VERIFY and the flow in one exclusive section that ends
    /// by resetting the card ([`Meter::with_pin`]), so the PIN is in force
    /// for this flow only.
    pub fn with_pin<R>(
        &self,
        meter: &mut Card,
        f: impl FnOnce(&mut Meter<&mut dyn Transport>) -> std::result::Result<R, reader::Error>,
    ) -> Result<R> {
        let pin = self.pin()?;
        let mut verified = false;
        match meter.with_pin(pin.as_bytes(), &mut verified, f) {
            Ok(r) => Ok(r),
            Err(e) if !verified => Err(anyhow::Error::from(e).context("verifying the owner PIN")),
            Err(e) => Err(e.into()),
        }
    }
}
