//! The in-process simulator transport: a simulated card in a state file,
//! reached by function call instead of a reader.

use std::path::Path;

use applet_sim::sim::{ATR, SimConfig, SimError, StateFile};

use crate::error::TransportError;
use crate::transport::{Exclusive, Transport};

/// A simulated card in a state file, held (and locked) while this lives.
pub struct SimTransport {
    file: StateFile,
}

impl SimTransport {
    /// Opens the simulated card at `path`.
    pub fn open(path: &Path) -> Result<Self, TransportError> {
        let file = StateFile::open(path, SimConfig::default()).map_err(map)?;
        Ok(SimTransport { file })
    }

    /// Manufactures a blank simulated card at `path` (replacing one only if
    /// `force`), with `issuer_root` (uncompressed SEC1) pinned as the root
    /// of the authority keys it will accept.
    pub fn create(
        path: &Path,
        force: bool,
        issuer_root: Option<[u8; 65]>,
    ) -> Result<Self, TransportError> {
        let config = SimConfig {
            issuer_root,
            ..SimConfig::default()
        };
        let file = StateFile::create(path, force, config).map_err(map)?;
        Ok(SimTransport { file })
    }

    /// The state file (for tests: tearing, inspection).
    pub fn state_file(&mut self) -> &mut StateFile {
        &mut self.file
    }
}

fn map(e: SimError) -> TransportError {
    match e {
        SimError::Mute => TransportError::NoResponse,
        SimError::Locked(_) => TransportError::Busy(e.to_string()),
        other => TransportError::Unavailable(other.to_string()),
    }
}

impl Transport for SimTransport {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        self.file.transmit(command).map_err(map)
    }

    fn supports_extended(&self) -> bool {
        true
    }

    fn atr(&self) -> &[u8] {
        ATR
    }

    fn reset(&mut self) -> Result<(), TransportError> {
        self.file.card().reset();
        self.file.save_if_dirty().map_err(map)
    }

    fn exclusive(&mut self, f: &mut Exclusive<'_>) -> Result<(), crate::error::Error> {
        // The state file's lock already keeps every other process away.
        f(self)
    }
}

/// A simulated card held in memory only (tests, vectors, the demo): no
/// state file, no lock.
pub struct MemoryTransport {
    card: applet_sim::sim::Card,
    extended: bool,
}

impl MemoryTransport {
    /// Wraps a card; `extended` says whether to offer extended APDUs (else
    /// the exchange layer chains).
    pub fn new(card: applet_sim::sim::Card, extended: bool) -> Self {
        MemoryTransport { card, extended }
    }

    /// The card.
    pub fn card(&self) -> &applet_sim::sim::Card {
        &self.card
    }

    /// The card, mutably (power, tearing).
    pub fn card_mut(&mut self) -> &mut applet_sim::sim::Card {
        &mut self.card
    }

    /// Takes the card out of the reader.
    pub fn into_card(self) -> applet_sim::sim::Card {
        self.card
    }
}

impl Transport for MemoryTransport {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        self.card.transmit(command).map_err(map)
    }

    fn supports_extended(&self) -> bool {
        self.extended
    }

    fn atr(&self) -> &[u8] {
        ATR
    }

    fn reset(&mut self) -> Result<(), TransportError> {
        self.card.reset();
        Ok(())
    }

    fn exclusive(&mut self, f: &mut Exclusive<'_>) -> Result<(), crate::error::Error> {
        f(self)
    }
}
