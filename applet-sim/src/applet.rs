//! Command dispatch: every APDU is parsed into a typed [`Request`] and fully
//! validated before any state is touched; then one module per concern
//! executes it. A failed command rolls back its open transaction.

use apdu::meter::{AID, CHALLENGE_LEN, DEFAULT_PIN, Lifecycle, Request};
use apdu::tlv::Writer;
use apdu::{Command, StatusWord};
use subtle::ConstantTimeEq;

use crate::error::{Error, Result};
use crate::layout::{CHIP_ID, LIFECYCLE};
use crate::platform::Platform;
use crate::store::Store;
use crate::{certificates, hash, keys, personalization, pin, postmark, status, validation, value};

/// The applet's volatile state (transient RAM), cleared on reset,
/// power-off and deselect. Its size is checked against
/// [`crate::budget::TRANSIENT_CAPACITY`].
#[derive(Clone, Debug, Default)]
pub struct Transient {
    /// The meter application is selected.
    pub selected: bool,
    /// The owner PIN was verified since the last reset.
    pub pin_verified: bool,
    /// The last GET CHALLENGE nonce, usable once.
    pub challenge: Option<[u8; CHALLENGE_LEN]>,
    /// The message being hashed (Figure 2, 230).
    pub hash: Option<sha2::Sha256>,
    /// The meter key, loaded from persistent memory at its first use.
    pub meter_key: Option<p256::ecdsa::SigningKey>,
}

const _: () = assert!(
    core::mem::size_of::<Transient>() <= crate::budget::TRANSIENT_CAPACITY,
    "transient state exceeds the RAM budget"
);

/// How a command ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// `len` response bytes were written, then this status word.
    Reply {
        /// Response data length.
        len: usize,
        /// Status word.
        sw: StatusWord,
    },
    /// The power was cut: no answer; the card needs a power-up.
    PowerLost,
}

/// The meter applet: its persistent store and transient RAM.
#[derive(Clone, Default)]
pub struct Applet {
    /// Persistent memory.
    pub store: Store,
    /// Volatile memory.
    pub ram: Transient,
}

impl Applet {
    /// Manufactures a blank card into erased memory: life cycle `Blank`, a
    /// random chip id, the default PIN with full tries.
    pub fn manufacture(p: &mut impl Platform) -> core::result::Result<Self, Error> {
        let mut a = Applet::default();
        let mut chip = [0u8; 8];
        p.fill_random(&mut chip);
        a.store.begin()?;
        CHIP_ID.write(&mut a.store, &chip)?;
        pin::set(&mut a.store, DEFAULT_PIN)?;
        LIFECYCLE.set(&mut a.store, Lifecycle::Blank as u64)?;
        a.store.commit()?;
        Ok(a)
    }

    /// Power-up or reset: volatile state cleared, an interrupted transaction undone.
    pub fn power_up(&mut self) -> Outcome {
        self.ram = Transient::default();
        match self.store.recover() {
            Ok(()) => Outcome::Reply {
                len: 0,
                sw: StatusWord::OK,
            },
            Err(_) => Outcome::PowerLost,
        }
    }

    /// The life-cycle state, if the memory holds a manufactured card.
    pub fn lifecycle(&self) -> Option<Lifecycle> {
        LIFECYCLE
            .get(&self.store)
            .ok()
            .and_then(|b| Lifecycle::from_byte(b as u8))
    }

    /// Processes one complete command APDU, writing response data into `out`.
    pub fn process(&mut self, p: &mut impl Platform, command: &[u8], out: &mut [u8]) -> Outcome {
        match Command::parse(command) {
            Ok(cmd) => self.process_command(p, &cmd, out),
            Err(e) => Outcome::Reply {
                len: 0,
                sw: e.status(),
            },
        }
    }

    /// Processes one parsed command (chained parts already reassembled).
    pub fn process_command(
        &mut self,
        p: &mut impl Platform,
        cmd: &Command<'_>,
        out: &mut [u8],
    ) -> Outcome {
        let result = Request::parse(cmd)
            .map_err(Error::Status)
            .and_then(|req| self.execute(p, req, out));
        match result {
            Ok(len) => Outcome::Reply {
                len,
                sw: StatusWord::OK,
            },
            Err(Error::PowerLost) => Outcome::PowerLost,
            Err(Error::Status(sw)) => {
                if self.store.in_transaction() && self.store.abort().is_err() {
                    return Outcome::PowerLost;
                }
                Outcome::Reply { len: 0, sw }
            }
        }
    }

    fn execute(
        &mut self,
        p: &mut impl Platform,
        req: Request<'_>,
        out: &mut [u8],
    ) -> Result<usize> {
        if let Request::Select { aid } = req {
            return self.select(aid, out);
        }
        if !self.ram.selected {
            return Err(StatusWord::COMMAND_NOT_ALLOWED.into());
        }
        let lifecycle = self.lifecycle().ok_or(StatusWord::MEMORY_FAILURE)?;
        let (s, ram) = (&mut self.store, &mut self.ram);
        match req {
            Request::Select { .. } => Ok(0),
            Request::GetData(obj) => status::get_data(s, p, obj, out),
            _ if lifecycle == Lifecycle::Terminated => {
                Err(StatusWord::CONDITIONS_NOT_SATISFIED.into())
            }
            Request::Verify { pin } => pin::verify(s, ram, pin).map(|()| 0),
            Request::ChangePin { old_then_new } => pin::change(s, ram, old_then_new).map(|()| 0),
            Request::GetChallenge => {
                let mut nonce = [0u8; CHALLENGE_LEN];
                p.fill_random(&mut nonce);
                ram.challenge = Some(nonce);
                write(out, &nonce)
            }
            Request::GenerateKey { generate: false } => {
                let key = keys::meter_public(s)?.ok_or(StatusWord::REFERENCED_DATA_NOT_FOUND)?;
                public_key_answer(key, out)
            }
            Request::GenerateKey { generate: true } => {
                if lifecycle != Lifecycle::Blank {
                    return Err(StatusWord::CONDITIONS_NOT_SATISFIED.into());
                }
                pin::require(ram)?;
                ram.meter_key = None;
                s.begin()?;
                let key = keys::generate_meter_key(s, p)?;
                s.commit()?;
                public_key_answer(&key, out)
            }
            Request::Personalize { message } => {
                personalization::personalize(s, ram, message).map(|()| 0)
            }
            Request::LoadValue { message } => value::load(s, ram, p, message, out),
            Request::HashInit => {
                hash::init(ram);
                Ok(0)
            }
            Request::HashUpdate { data } => hash::update(ram, data).map(|()| 0),
            Request::Postmark => postmark::postmark(s, ram, p, out),
            Request::VerifyPostmark { file } => validation::verify(s, ram, p, file, out),
            Request::ReadCertificate { slot } => {
                write(out, certificates::read(s, usize::from(slot))?)
            }
        }
    }

    fn select(&mut self, aid: &[u8], out: &mut [u8]) -> Result<usize> {
        // Any SELECT deselects first: security state does not survive it.
        self.ram = Transient::default();
        if !bool::from(aid.ct_eq(AID)) {
            return Err(StatusWord::NOT_FOUND.into());
        }
        let lifecycle = self.lifecycle().ok_or(StatusWord::NOT_FOUND)?;
        self.ram.selected = true;
        let mut w = Writer::new(out);
        // FCI: the AID and the life-cycle state.
        w.nested(0x6F, |w| {
            w.put(0x84, AID)?;
            w.nested(0xA5, |w| {
                w.put(apdu::meter::tag::LIFECYCLE, &[lifecycle as u8])
            })
        })?;
        if lifecycle == Lifecycle::Terminated {
            return Err(StatusWord::SELECTED_FILE_DEACTIVATED.into());
        }
        Ok(w.len())
    }
}

fn public_key_answer(key: &[u8], out: &mut [u8]) -> Result<usize> {
    let mut w = Writer::new(out);
    w.nested(apdu::meter::tag::PUBLIC_KEY, |w| {
        w.put(apdu::meter::tag::EC_POINT, key)
    })?;
    Ok(w.len())
}

fn write(out: &mut [u8], bytes: &[u8]) -> Result<usize> {
    out.get_mut(..bytes.len())
        .ok_or(StatusWord::NOT_ENOUGH_MEMORY)?
        .copy_from_slice(bytes);
    Ok(bytes.len())
}
