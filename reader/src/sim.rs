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
    /// Opens the simulated card at `path`, which must be a regular file
    /// (a FIFO or a device would hang or never end).
    pub fn open(path: &Path) -> Result<Self, TransportError> {
        check_regular(path, false)?;
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
        check_regular(path, true)?;
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

/// Refuses a state file path that is not a regular file (a FIFO, a
/// directory, a device, a socket), following links; a missing file is
/// left to the simulator (`missing_ok`, or its own "not found").
fn check_regular(path: &Path, missing_ok: bool) -> Result<(), TransportError> {
    let kind = match std::fs::metadata(path) {
        Ok(m) if m.is_file() => return Ok(()),
        Ok(m) => file_kind(&m),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && missing_ok => return Ok(()),
        Err(_) => return Ok(()),
    };
    Err(TransportError::Unavailable(format!(
        "--card sim:{}: not a regular file ({kind}); a simulated card is a state file made by `meter card new`",
        path.display()
    )))
}

fn file_kind(m: &std::fs::Metadata) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let t = m.file_type();
        if t.is_fifo() {
            return "a FIFO";
        }
        if t.is_char_device() || t.is_block_device() {
            return "a device";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    if m.is_dir() {
        "a directory"
    } else {
        "not a file"
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
