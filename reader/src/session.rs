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
    /// The card was reset by a section of ours: SELECT again before the
    /// next command.
    reselect: bool,
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

    /// Runs `f` inside the inner transport's `exclusive` (or
    /// `exclusive_reset` when `reset`), on a view that remembers and
    /// replays with this session's memory; `began` tells whether `f` ran.
    fn exclusive_once(
        &mut self,
        f: &mut Exclusive<'_>,
        began: &mut bool,
        reset: bool,
    ) -> Result<(), Error> {
        let Session { inner, memory } = self;
        let mut run = |t: &mut dyn Transport| {
            *began = true;
            f(&mut Held {
                inner: t,
                memory: &mut *memory,
            })
        };
        if reset {
            inner.exclusive_reset(&mut run)
        } else {
            inner.exclusive(&mut run)
        }
    }

    /// `exclusive` or `exclusive_reset`: if the card was reset before the
    /// transaction began, the SELECT and VERIFY are replayed and the
    /// transaction begun once more; `f` runs at most once.
    fn section(&mut self, f: &mut Exclusive<'_>, reset: bool) -> Result<(), Error> {
        let mut began = false;
        match self.exclusive_once(f, &mut began, reset) {
            Err(Error::Transport(TransportError::Reset)) if !began => {
                self.memory.replay(&mut self.inner)?;
                self.exclusive_once(f, &mut began, reset)
            }
            other => other,
        }
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
            // An unblock replaces the PIN and clears its verification: the
            // PIN in memory is stale, and a replay would spend a try.
            Ok(Request::Unblock { .. }) => self.verify = None,
            _ => {}
        }
    }

    fn forget(&mut self) {
        self.select = None;
        self.verify = None;
        self.reselect = false;
    }

    /// After a section that ended by resetting the card: the PIN is
    /// forgotten (wiped), never replayed into another flow; the selection
    /// is sent again before the next command.
    fn after_reset(&mut self) {
        self.verify = None;
        self.reselect = self.select.is_some();
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
        if std::mem::take(&mut self.reselect)
            && let Some(select) = self.select.clone()
            && !is_select(command)
        {
            match t.transmit(&select) {
                Err(TransportError::Reset) => self.replay(t)?,
                other => self.remember(&select, &other?),
            }
        }
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

fn is_select(command: &[u8]) -> bool {
    apdu::Command::parse(command)
        .ok()
        .is_some_and(|c| matches!(Request::parse(&c), Ok(Request::Select { .. })))
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
        self.section(f, false)
    }

    /// As [`exclusive`](Self::exclusive), ending with a card reset: the
    /// PIN verified in `f` is forgotten here too (wiped, never replayed),
    /// whether `f` succeeded or not.
    fn exclusive_reset(&mut self, f: &mut Exclusive<'_>) -> Result<(), Error> {
        let result = self.section(f, true);
        self.memory.after_reset();
        result
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

    fn exclusive_reset(&mut self, f: &mut Exclusive<'_>) -> Result<(), Error> {
        // Already held: the outermost section decides how it ends.
        f(self)
    }
}

#[cfg(test)]
mod tests {
    use apdu::meter::AID;

    use super::*;
    use crate::mock::ScriptedTransport;

    const OK: &[u8] = &[0x90, 0x00];

    fn cmd(r: Request<'_>) -> Vec<u8> {
        r.to_command().to_vec().unwrap()
    }

    fn select() -> Vec<u8> {
        cmd(Request::Select { aid: AID })
    }

    fn verify(pin: &[u8]) -> Vec<u8> {
        cmd(Request::Verify { pin: Some(pin) })
    }

    /// Two commands of a flow that the card answers with data.
    const FIRST: &[u8] = &[0x80, 0x50, 0x00, 0x00, 0x00];
    const SECOND: &[u8] = &[0x80, 0x52, 0x00, 0x00, 0x00];

    #[test]
    fn passes_commands_through_and_remembers_select_and_verify() {
        let mut s = Session::new(
            ScriptedTransport::new()
                .with_extended(true)
                .with_atr(&[0x3B, 0x00])
                .expect(&select(), OK)
                .expect(&verify(b"123456"), OK)
                .expect(FIRST, &[1, 2, 0x90, 0x00]),
        );
        assert!(s.supports_extended());
        assert_eq!(s.atr(), &[0x3B, 0x00]);
        assert!(!s.has_selection() && !s.has_pin());
        assert_eq!(s.transmit(&select()).unwrap(), OK);
        assert_eq!(s.transmit(&verify(b"123456")).unwrap(), OK);
        assert!(s.has_selection() && s.has_pin());
        assert_eq!(s.transmit(FIRST).unwrap(), [1, 2, 0x90, 0x00]);
        s.get_ref().assert_done();
    }

    #[test]
    fn replays_select_and_verify_after_a_reset_mid_flow() {
        let mut s = Session::new(
            ScriptedTransport::new()
                .expect(&select(), OK)
                .expect(&verify(b"123456"), OK)
                .expect(FIRST, &[1, 0x90, 0x00])
                // Another program resets the card between two commands of
                // the flow: the transport reconnects and says so.
                .expect_error(SECOND, TransportError::Reset)
                .expect(&select(), OK)
                .expect(&verify(b"123456"), OK)
                .expect(SECOND, &[2, 0x90, 0x00]),
        );
        s.transmit(&select()).unwrap();
        s.transmit(&verify(b"123456")).unwrap();
        let mut answers = Vec::new();
        s.exclusive(&mut |t| {
            answers.push(t.transmit(FIRST)?);
            answers.push(t.transmit(SECOND)?);
            Ok(())
        })
        .unwrap();
        assert_eq!(answers, [vec![1, 0x90, 0x00], vec![2, 0x90, 0x00]]);
        s.get_ref().assert_done();
        assert!(s.has_pin(), "the replayed PIN is still in force");
    }

    #[test]
    fn a_pin_refused_on_replay_is_forgotten() {
        let mut s = Session::new(
            ScriptedTransport::new()
                .expect(&select(), OK)
                .expect(&verify(b"123456"), OK)
                .expect_error(FIRST, TransportError::Reset)
                .expect(&select(), OK)
                // The PIN was changed elsewhere meanwhile: refused once,
                // never again.
                .expect(&verify(b"123456"), &[0x63, 0xC2])
                .expect(FIRST, &[0x69, 0x82])
                .expect_error(SECOND, TransportError::Reset)
                .expect(&select(), OK)
                .expect(SECOND, OK),
        );
        s.transmit(&select()).unwrap();
        s.transmit(&verify(b"123456")).unwrap();
        assert_eq!(s.transmit(FIRST).unwrap(), [0x69, 0x82]);
        assert!(!s.has_pin());
        assert_eq!(s.transmit(SECOND).unwrap(), OK);
        s.get_ref().assert_done();
    }

    #[test]
    fn keeps_only_the_pin_in_force() {
        let change = cmd(Request::ChangePin {
            old_then_new: b"123456\xFF\xFF4321",
        });
        let mut s = Session::new(
            ScriptedTransport::new()
                .expect(&select(), OK)
                .expect(&verify(b"123456"), OK)
                .expect(&change, OK)
                .expect_error(FIRST, TransportError::Reset)
                .expect(&select(), OK)
                // The new PIN, not the one verified before the change.
                .expect(&verify(b"4321"), OK)
                .expect(FIRST, OK)
                .expect(&verify(b"0000"), &[0x63, 0xC1])
                .expect_error(SECOND, TransportError::Reset)
                .expect(&select(), OK)
                .expect(SECOND, OK)
                .expect(&cmd(Request::Select { aid: b"\xA0\x00" }), &[0x6A, 0x82])
                .expect_error(FIRST, TransportError::Reset)
                .expect(FIRST, OK),
        );
        for c in [select(), verify(b"123456"), change] {
            assert_eq!(s.transmit(&c).unwrap(), OK);
        }
        s.transmit(FIRST).unwrap();
        // A failed VERIFY forgets the PIN: no try is spent on a replay.
        assert_eq!(s.transmit(&verify(b"0000")).unwrap(), [0x63, 0xC1]);
        assert!(!s.has_pin());
        s.transmit(SECOND).unwrap();
        // A failed SELECT forgets the selection: nothing is replayed.
        s.transmit(&cmd(Request::Select { aid: b"\xA0\x00" }))
            .unwrap();
        assert!(!s.has_selection());
        s.transmit(FIRST).unwrap();
        s.get_ref().assert_done();
    }

    #[test]
    fn a_reset_of_our_own_forgets_everything() {
        let mut s = Session::new(
            ScriptedTransport::new()
                .expect(&select(), OK)
                .expect(&verify(b"123456"), OK)
                .expect_error(FIRST, TransportError::Reset)
                .expect(FIRST, OK),
        );
        s.transmit(&select()).unwrap();
        s.transmit(&verify(b"123456")).unwrap();
        s.reset().unwrap();
        assert_eq!(s.get_ref().resets(), 1);
        assert!(!s.has_selection() && !s.has_pin());
        s.transmit(FIRST).unwrap();
        s.get_ref().assert_done();
    }

    #[test]
    fn a_reset_during_the_replay_is_an_error() {
        let mut s = Session::new(
            ScriptedTransport::new()
                .expect(&select(), OK)
                .expect_error(FIRST, TransportError::Reset)
                .expect_error(&select(), TransportError::Reset),
        );
        s.transmit(&select()).unwrap();
        assert_eq!(s.transmit(FIRST), Err(TransportError::Reset));
        s.get_ref().assert_done();
    }

    /// A transport whose first transaction cannot begin because the card
    /// was reset (as [`crate::pcsc::PcscTransport`] reports it).
    struct ResetBeforeTransaction {
        inner: ScriptedTransport,
        reset_pending: bool,
        transactions: usize,
    }

    impl Transport for ResetBeforeTransaction {
        fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
            self.inner.transmit(command)
        }

        fn supports_extended(&self) -> bool {
            false
        }

        fn atr(&self) -> &[u8] {
            &[]
        }

        fn reset(&mut self) -> Result<(), TransportError> {
            self.inner.reset()
        }

        fn exclusive(&mut self, f: &mut Exclusive<'_>) -> Result<(), Error> {
            if std::mem::take(&mut self.reset_pending) {
                return Err(TransportError::Reset.into());
            }
            self.transactions += 1;
            f(self)
        }
    }

    #[test]
    fn a_reset_before_the_transaction_replays_then_runs_the_flow_once() {
        let mut s = Session::new(ResetBeforeTransaction {
            inner: ScriptedTransport::new()
                .expect(&select(), OK)
                .expect(&verify(b"123456"), OK)
                .expect(&select(), OK)
                .expect(&verify(b"123456"), OK)
                .expect(FIRST, OK)
                .expect(SECOND, OK),
            reset_pending: false,
            transactions: 0,
        });
        s.transmit(&select()).unwrap();
        s.transmit(&verify(b"123456")).unwrap();
        s.get_mut().reset_pending = true;
        let mut runs = 0;
        s.exclusive(&mut |t| {
            runs += 1;
            t.transmit(FIRST)?;
            t.transmit(SECOND)?;
            Ok(())
        })
        .unwrap();
        assert_eq!(runs, 1);
        assert_eq!(s.get_ref().transactions, 1);
        s.get_ref().inner.assert_done();
    }

    #[test]
    fn a_reset_inside_a_flow_is_not_a_reason_to_run_it_again() {
        // The flow already ran when the reset came back a second time: the
        // error goes to the caller; the flow is not run again.
        let mut s = Session::new(
            ScriptedTransport::new()
                .expect_error(FIRST, TransportError::Reset)
                .expect_error(FIRST, TransportError::Reset),
        );
        let mut runs = 0;
        let e = s
            .exclusive(&mut |t| {
                runs += 1;
                t.transmit(FIRST)?;
                Ok(())
            })
            .unwrap_err();
        assert_eq!(e, Error::Transport(TransportError::Reset));
        assert_eq!(runs, 1);
        s.get_ref().assert_done();
    }

    #[test]
    fn a_section_ending_with_a_reset_forgets_the_pin_and_never_replays_it() {
        let mut s = Session::new(
            ScriptedTransport::new()
                .expect(&select(), OK)
                .expect(&verify(b"123456"), OK)
                .expect(FIRST, OK)
                // After the section's reset: the selection comes back
                // before the next command, the PIN does not.
                .expect(&select(), OK)
                .expect(SECOND, OK)
                // A reset by another program later: SELECT is replayed,
                // not the PIN of the finished flow.
                .expect_error(FIRST, TransportError::Reset)
                .expect(&select(), OK)
                .expect(FIRST, &[0x69, 0x82]),
        );
        s.transmit(&select()).unwrap();
        s.exclusive_reset(&mut |t| {
            t.transmit(&verify(b"123456"))?;
            t.transmit(FIRST)?;
            Ok(())
        })
        .unwrap();
        assert_eq!(s.get_ref().resets(), 1, "the section ends with a reset");
        assert!(!s.has_pin() && s.has_selection());
        s.transmit(SECOND).unwrap();
        assert_eq!(s.transmit(FIRST).unwrap(), [0x69, 0x82]);
        assert!(!s.has_pin());
        s.get_ref().assert_done();
    }

    #[test]
    fn a_failed_section_ending_with_a_reset_forgets_the_pin_too() {
        let mut s = Session::new(
            ScriptedTransport::new()
                .expect(&select(), OK)
                .expect(&verify(b"123456"), OK)
                .expect(FIRST, &[0x6A, 0x80]),
        );
        s.transmit(&select()).unwrap();
        let e = s
            .exclusive_reset(&mut |t| {
                t.transmit(&verify(b"123456"))?;
                t.transmit(FIRST)?;
                Err(Error::Input("the flow failed".into()))
            })
            .unwrap_err();
        assert_eq!(e, Error::Input("the flow failed".into()));
        assert_eq!(s.get_ref().resets(), 1);
        assert!(!s.has_pin());
        s.get_ref().assert_done();
    }

    #[test]
    fn works_under_a_meter() {
        let mut m = crate::Meter::new(Session::new(
            ScriptedTransport::new()
                .expect(&select(), OK)
                .expect(&verify(b"123456"), OK),
        ));
        m.select().unwrap();
        m.verify_pin(b"123456").unwrap();
        assert!(m.transport().has_pin());
    }
}
