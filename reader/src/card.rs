//! Which card to talk to: `sim:PATH`, `pcsc[:READER]`, or the default
//! simulated card in the data directory.

use std::path::{Path, PathBuf};

use crate::error::TransportError;
use crate::pcsc::{CARD_WAIT, PcscTransport};
use crate::session::Session;
use crate::sim::SimTransport;
use crate::transport::Transport;

/// The environment variable that moves the data directory.
pub const HOME_ENV: &str = "METER_HOME";

/// A card selector as given to `--card`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CardSpec {
    /// A simulated card in this state file.
    Sim(PathBuf),
    /// A card in a PC/SC reader: the named one, or the first holding a meter.
    Pcsc(Option<String>),
}

impl CardSpec {
    /// Parses `sim:PATH`, `pcsc` or `pcsc:READER`.
    pub fn parse(s: &str) -> Result<Self, String> {
        if let Some(path) = s.strip_prefix("sim:") {
            if path.is_empty() {
                return Err("`sim:` needs a path, e.g. --card sim:/tmp/card".into());
            }
            return Ok(CardSpec::Sim(path.into()));
        }
        if s == "pcsc" {
            return Ok(CardSpec::Pcsc(None));
        }
        if let Some(reader) = s.strip_prefix("pcsc:") {
            return Ok(CardSpec::Pcsc(
                Some(reader.to_owned()).filter(|r| !r.is_empty()),
            ));
        }
        Err(format!(
            "unknown card `{s}`: use sim:PATH for a simulated card or pcsc[:READER] for a reader"
        ))
    }

    /// The default card: the simulated card in the data directory.
    pub fn default_sim(home: &Path) -> Self {
        CardSpec::Sim(home.join("card.sim"))
    }

    /// Connects to the card, in a [`Session`] that replays the selection
    /// and the PIN after a reset.
    pub fn open(&self) -> Result<Box<dyn Transport>, TransportError> {
        match self {
            CardSpec::Sim(path) => Ok(Box::new(Session::new(SimTransport::open(path)?))),
            CardSpec::Pcsc(reader) => Ok(Box::new(Session::new(PcscTransport::connect(
                reader.as_deref(),
                CARD_WAIT,
            )?))),
        }
    }
}

/// The data directory: `$METER_HOME`, else the per-user data directory.
pub fn home() -> Result<PathBuf, TransportError> {
    if let Some(h) = std::env::var_os(HOME_ENV).filter(|h| !h.is_empty()) {
        return Ok(PathBuf::from(h));
    }
    directories::ProjectDirs::from("org", "certmeter", "certmeter")
        .map(|d| d.data_dir().to_path_buf())
        .ok_or_else(|| {
            TransportError::Unavailable(format!(
                "no home directory found; set {HOME_ENV} to a directory for certmeter's data"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_card_specs() {
        assert_eq!(
            CardSpec::parse("sim:/tmp/x"),
            Ok(CardSpec::Sim("/tmp/x".into()))
        );
        assert_eq!(CardSpec::parse("pcsc"), Ok(CardSpec::Pcsc(None)));
        assert_eq!(
            CardSpec::parse("pcsc:Virtual PCD 00 00"),
            Ok(CardSpec::Pcsc(Some("Virtual PCD 00 00".into())))
        );
        assert!(CardSpec::parse("sim:").is_err());
        assert!(CardSpec::parse("usb").unwrap_err().contains("sim:PATH"));
    }
}
