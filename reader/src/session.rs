//! The session layer, between a [`Transport`] and the [`Meter`](crate::Meter):
//! it keeps what a card reset undoes and puts it back.
//!
//! A [`Session`] records the last SELECT and the PIN verification in force
//! as they pass through it. When the transport reports
//! [`TransportError::Reset`] (the card was reset by another program, or
//! pcscd restarted, and the transport has reconnected without sending the
//! command), the session replays the SELECT, then the VERIFY, and sends the
//! command once more. A failed VERIFY forgets the PIN and a PIN change
//! replaces it with the new one, so a replay never spends a try on a stale
//! PIN; a VERIFY the card refuses on replay is forgotten too. The kept
//! VERIFY command holds the PIN: its bytes are wiped (`zeroize`) when it is
//! replaced, forgotten or dropped.

use apdu::meter::{PIN_MAX_LEN, Request};
use zeroize::Zeroizing;

use crate::error::{Error, TransportError};
use crate::transport::{Exclusive, Transport};

/// A transport that replays the card's SELECT and VERIFY after a reset.
pub struct Session<T> {
    inner: T,
    memory: Memory,
}

/// What a reset undoes: the last SELECT and the VERIFY in force.
#[derive(Default)]
struct Memory {
    select: Option<Vec<u8>>,
    /// The whole VERIFY command, PIN included: wiped when dropped.
    verify: Option<Zeroizing<Vec<u8>>>,
}

impl<T: Transport> Session<T> {
    /// Wraps `inner`; nothing is remembered yet.
    pub fn new(inner: T) -> Self {
        Session {
            inner,
            memory: Memory::default(),
        }
    }

    /// The transport underneath.
    pub fn get_ref(&self) -> &T {
        &self.inner
    }

    /// The transport underneath, mutably (commands sent on it directly are
    /// not remembered).
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.inner
    }

    /// Forgets the PIN and the selection, and returns the transport.
    pub fn into_inner(self) -> T {
        self.inner
    }

    /// Whether a SELECT is remembered for replay.
    pub fn has_selection(&self) -> bool {
        self.memory.select.is_some()
    }

    /// Whether a PIN verification is remembered for replay.
    pub fn has_pin(&self) -> bool {
        self.memory.verify.is_some()
    }

    /// Forgets the remembered SELECT and VERIFY (the PIN is wiped).
    pub fn forget(&mut self) {
        self.memory.forget();
    }

    /// Runs `f` inside the inner transport's `exclusive`, on a view that
    /// remembers and replays with this session's memory; `began` tells
    /// whether `f` ran.
    fn exclusive_once(&mut self, f: &mut Exclusive<'_>, began: &mut bool) -> Result<(), Error> {
        let Session { inner, memory } = self;
        inner.exclusive(&mut |t: &mut dyn Transport| {
            *began = true;
            f(&mut Held {
                inner: t,
                memory: &mut *memory,
            })
        })
    }
}

impl Memory {
    /// Notes what `command` answered with `answer` changes.
    fn remember(&mut self, command: &[u8], answer: &[u8]) {
        let ok = answer.ends_with(&[0x90, 0x00]);
        let Ok(cmd) = apdu::Command::parse(command) else {
            return;
        };
        match Request::parse(&cmd) {
            Ok(Request::Select { .. }) => {
                self.select = ok.then(|| command.to_vec());
                self.verify = None;
            }
            Ok(Request::Verify { pin: Some(_) }) => {
                self.verify = ok.then(|| Zeroizing::new(command.to_vec()));
            }
            Ok(Request::ChangePin { old_then_new }) if ok => {
                let new = old_then_new.get(PIN_MAX_LEN..).unwrap_or_default();
                self.verify = Request::Verify { pin: Some(new) }
                    .to_command()
                    .to_vec()
                    .ok()
                    .map(Zeroizing::new);
            }
            _ => {}
        }
    }

    fn forget(&mut self) {
        self.select = None;
        self.verify = None;
    }

    /// Puts the SELECT and the VERIFY back after a reset.
    fn replay(&mut self, t: &mut dyn Transport) -> Result<(), TransportError> {
        if let Some(select) = &self.select {
            t.transmit(select)?;
        }
        if let Some(verify) = &self.verify {
            // Replayed once: if the card refuses it, it is forgotten.
            let answer = Zeroizing::new(t.transmit(verify)?);
            if !answer.ends_with(&[0x90, 0x00]) {
                self.verify = None;
            }
        }
        Ok(())
    }

    /// Sends `command` on `t`; after a reset, replays and sends it again.
    fn transmit(
        &mut self,
        t: &mut dyn Transport,
        command: &[u8],
    ) -> Result<Vec<u8>, TransportError> {
        let answer = match t.transmit(command) {
            Err(TransportError::Reset) => {
                self.replay(t)?;
                t.transmit(command)?
            }
            other => other?,
        };
        self.remember(command, &answer);
        Ok(answer)
    }
}

impl<T: Transport> Transport for Session<T> {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        self.memory.transmit(&mut self.inner, command)
    }

    fn supports_extended(&self) -> bool {
        self.inner.supports_extended()
    }

    fn atr(&self) -> &[u8] {
        self.inner.atr()
    }

    fn reset(&mut self) -> Result<(), TransportError> {
        self.inner.reset()?;
        self.memory.forget();
        Ok(())
    }

    /// The inner transport's `exclusive` (one PC/SC transaction for the
    /// whole of `f`). If the card was reset before the transaction began,
    /// the SELECT and VERIFY are replayed and the transaction begun once
    /// more; `f` runs at most once.
    fn exclusive(&mut self, f: &mut Exclusive<'_>) -> Result<(), Error> {
        let mut began = false;
        match self.exclusive_once(f, &mut began) {
            Err(Error::Transport(TransportError::Reset)) if !began => {
                self.memory.replay(&mut self.inner)?;
                self.exclusive_once(f, &mut began)
            }
            other => other,
        }
    }
}

/// The session while its transport is held exclusively.
struct Held<'a> {
    inner: &'a mut dyn Transport,
    memory: &'a mut Memory,
}

impl Transport for Held<'_> {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        self.memory.transmit(self.inner, command)
    }

    fn supports_extended(&self) -> bool {
        self.inner.supports_extended()
    }

    fn atr(&self) -> &[u8] {
        self.inner.atr()
    }

    fn reset(&mut self) -> Result<(), TransportError> {
        self.inner.reset()?;
        self.memory.forget();
        Ok(())
    }

    fn exclusive(&mut self, f: &mut Exclusive<'_>) -> Result<(), Error> {
        // Already held.
        f(self)
    }
}
