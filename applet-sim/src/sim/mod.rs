//! The card simulator: the "card OS" around the applet.
//!
//! [`Card`] gives power on/off/reset with an ATR that announces extended
//! length and command chaining, reassembles chained commands (CLA bit 0x10)
//! in the APDU buffer, splits long answers with 61xx / GET RESPONSE, and can
//! cut the power at the N-th persistent write. [`StateFile`] keeps a card in
//! a file across processes, saved atomically after every command that
//! wrote, and locked so that two processes never share one card.

mod platform;
mod state_file;

pub use platform::{SimConfig, SimPlatform};
pub use state_file::{StateFile, reseal};

use apdu::meter::ins;
use apdu::{Command, StatusWord};

use crate::applet::{Applet, Outcome};
use crate::budget::{APDU_BUFFER_SIZE, RESPONSE_BUFFER_SIZE};
use crate::layout::{self, Stored};
use crate::store::{Store, StoreStats};

/// The answer to reset: T=0 and T=1 offered (`80 01`, as PC/SC part 3
/// ATRs do); historical bytes in compact-TLV: card
/// capabilities (selection by full DF name; command chaining and extended
/// Lc/Le supported).
pub const ATR: &[u8] = &[0x3B, 0x85, 0x80, 0x01, 0x80, 0x73, 0x80, 0x01, 0xC0, 0xB6];

/// Errors of the simulator and its state file.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The card is not powered, or lost power during the last command.
    #[error("the card does not answer: it has no power (power it on again)")]
    Mute,
    /// Reading or writing the state file failed.
    #[error("simulated card {path}: {source}")]
    Io {
        /// The state file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// Another process holds the card.
    #[error("simulated card {0} is in use by another process; wait for it to finish")]
    Locked(String),
    /// No card at that path.
    #[error("no simulated card at {0}; create one with `meter --card sim:{0} card new`")]
    NotFound(String),
    /// A card already exists there.
    #[error("a simulated card already exists at {0}; use --force to replace it")]
    Exists(String),
    /// The operating system has no random number source.
    #[error("no random number source: {0}")]
    Entropy(getrandom::Error),
    /// The file is not a simulated card.
    #[error("{0} is not a certmeter simulated card ({1})")]
    BadStateFile(String, &'static str),
    /// The state file was changed outside certmeter or damaged (a byte
    /// flipped, cut short, extended): it is refused, never read as funds,
    /// and left as it is.
    #[error(
        "simulated card {0} was altered or damaged ({1}); it is not read and nothing was changed: restore a backup or make a new card"
    )]
    Damaged(String, &'static str),
    /// The state file can be read or changed by other users: it holds the
    /// meter's private key and PIN.
    #[error(
        "simulated card {path} is accessible by other users (mode {mode:04o}) and holds the meter's private key and PIN; refused: run `chmod 600 {path}`"
    )]
    TooOpen {
        /// The state file.
        path: String,
        /// Its permission bits.
        mode: u32,
    },
    /// The state file (or its lock file) is a symbolic link, which is
    /// never followed.
    #[error(
        "simulated card {0} is a symbolic link; refused (a state file is never reached through a link): use the file it points to as the card's path"
    )]
    Symlink(String),
    /// The card's persistent layout (or its state file format) is newer
    /// than this software: it is refused, never misread, and left as it is.
    #[error(
        "{what} holds a card of persistent layout version {version}; this software knows versions 1 to {known} and does not open it (nothing was changed): use the certmeter release that made it, or a newer one"
    )]
    UnknownLayout {
        /// The state file (or "the image").
        what: String,
        /// The version found.
        version: u8,
        /// The newest version this software knows.
        known: u8,
    },
}

#[derive(Clone)]
struct Chain {
    cla: u8,
    ins: u8,
    p1: u8,
    p2: u8,
    len: usize,
}

/// A simulated card in memory. A clone is the same card, RAM and random
/// generator included (the fuzz targets restart from a cloned card).
#[derive(Clone)]
pub struct Card {
    applet: Box<Applet>,
    platform: SimPlatform,
    powered: bool,
    /// The APDU buffer, reused for chained data.
    buffer: Box<[u8]>,
    response: Box<[u8]>,
    chain: Option<Chain>,
    /// Response bytes not yet fetched with GET RESPONSE.
    pending: Option<Vec<u8>>,
}

impl Card {
    /// A newly manufactured, blank card, powered on.
    pub fn manufacture(config: SimConfig) -> Result<Self, SimError> {
        let mut platform = SimPlatform::new(config).map_err(SimError::Entropy)?;
        let applet = Applet::manufacture(&mut platform, config.issuer_root.as_ref())
            .map_err(|_| SimError::Mute)?;
        Ok(Self::with(Box::new(applet), platform))
    }

    /// A card from a saved persistent image, powered on (which completes or
    /// undoes an interrupted transaction).
    ///
    /// An image of an older persistent layout is migrated to the current one
    /// at that power-up ([`crate::migrate`]); one of an unknown (newer)
    /// layout is refused with [`SimError::UnknownLayout`].
    pub fn from_image(
        image: &[u8; crate::budget::PERSISTENT_CAPACITY],
        config: SimConfig,
    ) -> Result<Self, SimError> {
        let store = Store::from_image(image);
        if let Stored::Unknown(version) = layout::stored(&store) {
            return Err(SimError::UnknownLayout {
                what: "the image".into(),
                version,
                known: layout::VERSION,
            });
        }
        let applet = Box::new(Applet {
            store,
            ram: Default::default(),
        });
        let platform = SimPlatform::new(config).map_err(SimError::Entropy)?;
        Ok(Self::with(applet, platform))
    }

    fn with(applet: Box<Applet>, platform: SimPlatform) -> Self {
        let mut c = Card {
            applet,
            platform,
            powered: false,
            buffer: vec![0; APDU_BUFFER_SIZE].into_boxed_slice(),
            response: vec![0; RESPONSE_BUFFER_SIZE].into_boxed_slice(),
            chain: None,
            pending: None,
        };
        c.power_on();
        c
    }

    /// Powers the card on (cold reset) and returns the ATR. Power-up
    /// completes recovery of an interrupted transaction.
    pub fn power_on(&mut self) -> &'static [u8] {
        self.chain = None;
        self.pending = None;
        // A cut during recovery is recovered at the next power-up.
        self.powered = self.applet.power_up() != Outcome::PowerLost;
        ATR
    }

    /// Removes power: volatile state is lost.
    pub fn power_off(&mut self) {
        self.powered = false;
        self.applet.ram = Default::default();
        self.chain = None;
        self.pending = None;
    }

    /// Warm reset: as power off then on.
    pub fn reset(&mut self) -> &'static [u8] {
        self.power_off();
        self.power_on()
    }

    /// Whether the card is powered.
    pub fn is_powered(&self) -> bool {
        self.powered
    }

    /// The applet (for inspection in tests).
    pub fn applet(&self) -> &Applet {
        &self.applet
    }

    /// The persistent store.
    pub fn store(&self) -> &Store {
        &self.applet.store
    }

    /// Mutable access to the persistent store (tearing control).
    pub fn store_mut(&mut self) -> &mut Store {
        &mut self.applet.store
    }

    /// What the store did during the last [`Card::transmit`]: logical and
    /// physical writes and journal bytes (see [`StoreStats`]).
    pub fn last_command_stats(&self) -> StoreStats {
        self.applet.store.stats()
    }

    /// Cuts the power during the `n`-th persistent write from now.
    pub fn tear_at_write(&mut self, n: u64) {
        self.applet.store.tear_at(n);
    }

    /// Sends one command APDU; returns the response (data, SW1, SW2), or
    /// [`SimError::Mute`] when the card has no power or loses it.
    pub fn transmit(&mut self, bytes: &[u8]) -> Result<Vec<u8>, SimError> {
        self.applet.store.reset_stats();
        if !self.powered {
            return Err(SimError::Mute);
        }
        let reply = self.handle(bytes);
        if self.applet.store.is_torn() {
            self.power_off();
            return Err(SimError::Mute);
        }
        Ok(reply)
    }

    fn handle(&mut self, bytes: &[u8]) -> Vec<u8> {
        let cmd = match Command::parse(bytes) {
            Ok(c) => c,
            Err(e) => {
                self.chain = None;
                self.pending = None;
                return sw_only(e.status());
            }
        };
        if !apdu::meter::class_supported(cmd.cla) {
            // Refused before chaining or GET RESPONSE look at it (CLA FF has
            // the chaining bit set): an unfinished chain or answer is kept.
            return sw_only(StatusWord::CLA_NOT_SUPPORTED);
        }
        if cmd.cla == apdu::meter::CLA_ISO && cmd.ins == ins::GET_RESPONSE {
            return self.get_response(&cmd);
        }
        self.pending = None;
        if cmd.is_chained() {
            return sw_only(self.chain_part(&cmd));
        }
        let data: &[u8];
        let owned_len;
        let continues_chain = self.chain.as_ref().is_some_and(|c| {
            (c.cla, c.ins, c.p1, c.p2)
                == (
                    cmd.cla & !apdu::command::CLA_CHAINING,
                    cmd.ins,
                    cmd.p1,
                    cmd.p2,
                )
        });
        if cmd.cla == apdu::meter::CLA_ISO && cmd.ins == ins::SELECT && !continues_chain {
            // SELECT always goes through: it abandons an unfinished chain.
            self.chain = None;
        }
        if let Some(chain) = self.chain.take() {
            let same = (chain.cla, chain.ins, chain.p1, chain.p2)
                == (
                    cmd.cla & !apdu::command::CLA_CHAINING,
                    cmd.ins,
                    cmd.p1,
                    cmd.p2,
                );
            if !same {
                return sw_only(StatusWord::LAST_COMMAND_EXPECTED);
            }
            if self.append(chain.len, cmd.data).is_err() {
                return sw_only(StatusWord::NOT_ENOUGH_MEMORY);
            }
            owned_len = chain.len + cmd.data.len();
            data = self.buffer.get(..owned_len).unwrap_or_default();
        } else {
            data = cmd.data;
        }
        let whole = Command { data, ..cmd };
        let outcome = self
            .applet
            .process_command(&mut self.platform, &whole, &mut self.response);
        match outcome {
            Outcome::PowerLost => Vec::new(),
            Outcome::Reply { len, sw } => {
                let data = self.response.get(..len).unwrap_or_default().to_vec();
                self.deliver(data, whole.le, sw)
            }
        }
    }

    fn chain_part(&mut self, cmd: &Command<'_>) -> StatusWord {
        let header = (
            cmd.cla & !apdu::command::CLA_CHAINING,
            cmd.ins,
            cmd.p1,
            cmd.p2,
        );
        let len = match self.chain.take() {
            None => 0,
            Some(c) if (c.cla, c.ins, c.p1, c.p2) == header => c.len,
            Some(_) => return StatusWord::LAST_COMMAND_EXPECTED,
        };
        if self.append(len, cmd.data).is_err() {
            return StatusWord::NOT_ENOUGH_MEMORY;
        }
        let (cla, ins, p1, p2) = header;
        self.chain = Some(Chain {
            cla,
            ins,
            p1,
            p2,
            len: len + cmd.data.len(),
        });
        StatusWord::OK
    }

    /// Appends chained data to the APDU buffer, within its budget.
    fn append(&mut self, at: usize, data: &[u8]) -> Result<(), ()> {
        let end = at + data.len();
        if end > apdu::command::EXTENDED_MAX_NC {
            return Err(());
        }
        self.buffer
            .get_mut(at..end)
            .ok_or(())?
            .copy_from_slice(data);
        Ok(())
    }

    /// Sends at most `le` bytes now and keeps the rest for GET RESPONSE.
    fn deliver(&mut self, mut data: Vec<u8>, le: Option<usize>, sw: StatusWord) -> Vec<u8> {
        let ne = le.unwrap_or(apdu::command::SHORT_MAX_NE);
        if data.len() <= ne {
            data.extend_from_slice(&sw.to_bytes());
            return data;
        }
        let rest = data.split_off(ne);
        data.extend_from_slice(&StatusWord::bytes_remaining(rest.len()).to_bytes());
        self.pending = Some(rest);
        data
    }

    fn get_response(&mut self, cmd: &Command<'_>) -> Vec<u8> {
        if (cmd.p1, cmd.p2) != (0, 0) {
            return sw_only(StatusWord::INCORRECT_P1P2);
        }
        let Some(rest) = self.pending.take() else {
            return sw_only(StatusWord::CONDITIONS_NOT_SATISFIED);
        };
        self.deliver(rest, cmd.le, StatusWord::OK)
    }
}

fn sw_only(sw: StatusWord) -> Vec<u8> {
    sw.to_bytes().to_vec()
}

#[cfg(test)]
mod tests;
