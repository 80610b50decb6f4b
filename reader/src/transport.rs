//! The lowest layer: moving raw APDU bytes to a card and back.
//!
//! [`TransportError`] lives in [`crate::error`] (re-exported here), so the
//! errors depend on nothing above them.

use crate::error::Error;
pub use crate::error::TransportError;

/// A way to reach a card: the in-process simulator, PC/SC, ...
pub trait Transport {
    /// Sends one command APDU exactly as given and returns the raw response
    /// (data then SW1 SW2).
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError>;

    /// Whether both card and reader take extended-length APDUs (else the
    /// exchange layer chains).
    fn supports_extended(&self) -> bool;

    /// The longest command APDU this way to the card carries, in bytes; the
    /// exchange layer chains a longer one, and refuses to send a longer raw
    /// one. By default the longest ISO 7816-4 APDU.
    fn max_command_len(&self) -> usize {
        apdu::command::MAX_COMMAND_LEN
    }

    /// The card's answer-to-reset.
    fn atr(&self) -> &[u8];

    /// Warm-resets the card (clears its volatile state, e.g. PIN verification).
    fn reset(&mut self) -> Result<(), TransportError>;

    /// Runs `f` with the card held exclusively (a PC/SC transaction): no
    /// other program's command comes between the APDUs `f` sends. A
    /// transport with nothing to lock just runs `f` on itself.
    fn exclusive(&mut self, f: &mut Exclusive<'_>) -> Result<(), Error>;

    /// Like [`exclusive`](Self::exclusive), but the card is reset when `f`
    /// ends, however it ends (PC/SC: the transaction ends with
    /// `Disposition::ResetCard`, before any other program gets the card):
    /// a PIN verified inside `f` does not outlive it. The default runs
    /// `exclusive` then [`reset`](Self::reset).
    fn exclusive_reset(&mut self, f: &mut Exclusive<'_>) -> Result<(), Error> {
        let result = self.exclusive(f);
        let reset = self.reset();
        result?;
        Ok(reset?)
    }
}

/// The work [`Transport::exclusive`] runs.
pub type Exclusive<'a> = dyn FnMut(&mut dyn Transport) -> Result<(), Error> + 'a;

impl<T: Transport + ?Sized> Transport for Box<T> {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        (**self).transmit(command)
    }

    fn supports_extended(&self) -> bool {
        (**self).supports_extended()
    }

    fn max_command_len(&self) -> usize {
        (**self).max_command_len()
    }

    fn atr(&self) -> &[u8] {
        (**self).atr()
    }

    fn reset(&mut self) -> Result<(), TransportError> {
        (**self).reset()
    }

    fn exclusive(&mut self, f: &mut Exclusive<'_>) -> Result<(), Error> {
        (**self).exclusive(f)
    }

    fn exclusive_reset(&mut self, f: &mut Exclusive<'_>) -> Result<(), Error> {
        (**self).exclusive_reset(f)
    }
}

impl<T: Transport + ?Sized> Transport for &mut T {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        (**self).transmit(command)
    }

    fn supports_extended(&self) -> bool {
        (**self).supports_extended()
    }

    fn max_command_len(&self) -> usize {
        (**self).max_command_len()
    }

    fn atr(&self) -> &[u8] {
        (**self).atr()
    }

    fn reset(&mut self) -> Result<(), TransportError> {
        (**self).reset()
    }

    fn exclusive(&mut self, f: &mut Exclusive<'_>) -> Result<(), Error> {
        (**self).exclusive(f)
    }

    fn exclusive_reset(&mut self, f: &mut Exclusive<'_>) -> Result<(), Error> {
        (**self).exclusive_reset(f)
    }
}

pub mod mock {
    //! A scripted card for tests: it checks every command against a script and
    //! answers the scripted response.

    use std::collections::VecDeque;

    use super::{Transport, TransportError};

    /// One scripted step: the expected command and the answer to give.
    type Step = (Vec<u8>, Result<Vec<u8>, TransportError>);

    /// A [`Transport`] that plays a script of (expected command, answer) steps
    /// in order and records every command sent.
    ///
    /// [`Transport::transmit`] panics when the command differs from the next
    /// expected one or when the script is exhausted, so a test fails at the
    /// first unexpected APDU. Call [`ScriptedTransport::assert_done`] at the
    /// end to check that every step ran.
    #[derive(Debug, Default)]
    pub struct ScriptedTransport {
        script: VecDeque<Step>,
        sent: Vec<Vec<u8>>,
        extended: bool,
        atr: Vec<u8>,
        resets: usize,
        max_command_len: Option<usize>,
    }

    impl ScriptedTransport {
        /// An empty script, without extended-length support and with an empty ATR.
        pub fn new() -> Self {
            Self::default()
        }

        /// Sets what [`Transport::supports_extended`] answers.
        pub fn with_extended(mut self, extended: bool) -> Self {
            self.extended = extended;
            self
        }

        /// Sets what [`Transport::max_command_len`] answers.
        pub fn with_max_command_len(mut self, n: usize) -> Self {
            self.max_command_len = Some(n);
            self
        }

        /// Sets what [`Transport::atr`] answers.
        pub fn with_atr(mut self, atr: &[u8]) -> Self {
            self.atr = atr.to_vec();
            self
        }

        /// Adds a step: expect `command`, answer `response` (data then SW1 SW2).
        pub fn expect(mut self, command: &[u8], response: &[u8]) -> Self {
            self.push(command, Ok(response.to_vec()));
            self
        }

        /// Adds a step: expect `command`, fail with `error`.
        pub fn expect_error(mut self, command: &[u8], error: TransportError) -> Self {
            self.push(command, Err(error));
            self
        }

        /// Adds a step to an existing script.
        pub fn push(&mut self, command: &[u8], answer: Result<Vec<u8>, TransportError>) {
            self.script.push_back((command.to_vec(), answer));
        }

        /// Every command transmitted so far, in order.
        pub fn sent(&self) -> &[Vec<u8>] {
            &self.sent
        }

        /// How many times [`Transport::reset`] was called.
        pub fn resets(&self) -> usize {
            self.resets
        }

        /// How many steps have not run yet.
        pub fn remaining(&self) -> usize {
            self.script.len()
        }

        /// Panics unless every scripted step ran.
        #[track_caller]
        pub fn assert_done(&self) {
            assert!(
                self.script.is_empty(),
                "{} scripted command(s) never sent; next expected: {}",
                self.script.len(),
                self.script.front().map(|(c, _)| hex(c)).unwrap_or_default()
            );
        }
    }

    impl Transport for ScriptedTransport {
        fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
            let n = self.sent.len();
            self.sent.push(command.to_vec());
            let Some((expected, answer)) = self.script.pop_front() else {
                panic!(
                    "command #{n} {} sent after the end of the script",
                    hex(command)
                );
            };
            assert_eq!(
                hex(command),
                hex(&expected),
                "command #{n} differs from the script"
            );
            answer
        }

        fn supports_extended(&self) -> bool {
            self.extended
        }

        fn max_command_len(&self) -> usize {
            self.max_command_len
                .unwrap_or(apdu::command::MAX_COMMAND_LEN)
        }

        fn atr(&self) -> &[u8] {
            &self.atr
        }

        fn reset(&mut self) -> Result<(), TransportError> {
            self.resets += 1;
            Ok(())
        }

        fn exclusive(&mut self, f: &mut super::Exclusive<'_>) -> Result<(), crate::error::Error> {
            f(self)
        }
    }

    /// Upper-case hex, for readable assertion messages.
    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02X}")).collect()
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn plays_and_records() {
            let mut t = ScriptedTransport::new()
                .expect(&[1, 2, 3, 4], &[0x90, 0x00])
                .expect_error(&[5, 6, 7, 8], TransportError::CardRemoved);
            assert_eq!(t.remaining(), 2);
            assert_eq!(t.transmit(&[1, 2, 3, 4]), Ok(vec![0x90, 0x00]));
            assert_eq!(t.transmit(&[5, 6, 7, 8]), Err(TransportError::CardRemoved));
            assert_eq!(t.sent(), [vec![1, 2, 3, 4], vec![5, 6, 7, 8]]);
            t.assert_done();
        }

        #[test]
        #[should_panic(expected = "differs from the script")]
        fn wrong_command_panics() {
            let mut t = ScriptedTransport::new().expect(&[1, 2, 3, 4], &[0x90, 0x00]);
            let _ = t.transmit(&[1, 2, 3, 5]);
        }

        #[test]
        #[should_panic(expected = "after the end of the script")]
        fn extra_command_panics() {
            let mut t = ScriptedTransport::new();
            let _ = t.transmit(&[1, 2, 3, 4]);
        }

        #[test]
        #[should_panic(expected = "never sent")]
        fn unplayed_steps_panic() {
            ScriptedTransport::new()
                .expect(&[1, 2, 3, 4], &[0x90, 0x00])
                .assert_done();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::mock::ScriptedTransport;
    use super::*;

    fn via_dyn(t: &mut dyn Transport) -> Vec<u8> {
        t.transmit(&[0, 0xA4, 4, 0]).unwrap()
    }

    #[test]
    fn box_and_mut_ref_forward() {
        let mut boxed: Box<dyn Transport> = Box::new(
            ScriptedTransport::new()
                .with_extended(true)
                .with_atr(&[0x3B, 0x00])
                .expect(&[0, 0xA4, 4, 0], &[0x90, 0x00]),
        );
        assert!(boxed.supports_extended());
        assert_eq!(boxed.atr(), &[0x3B, 0x00]);
        assert_eq!(via_dyn(&mut boxed), [0x90, 0x00]);
        boxed.reset().unwrap();

        // By value, so the `&mut T` impl is the one used.
        fn use_owned<T: Transport>(mut t: T) -> (bool, Vec<u8>) {
            let r = t.transmit(&[0, 0xA4, 4, 0]).unwrap();
            t.reset().unwrap();
            (t.supports_extended(), r)
        }
        let mut inner = ScriptedTransport::new().expect(&[0, 0xA4, 4, 0], &[0x6A, 0x82]);
        assert_eq!(use_owned(&mut inner), (false, vec![0x6A, 0x82]));
        assert_eq!(inner.resets(), 1);
        inner.assert_done();
    }

    #[test]
    fn messages_are_one_line() {
        for e in [
            TransportError::NoResponse,
            TransportError::CardRemoved,
            TransportError::Io("reading from the reader: timed out".into()),
            TransportError::Unavailable("PC/SC support is not built yet".into()),
            TransportError::Busy("another program holds the card exclusively".into()),
            TransportError::Reset,
        ] {
            let s = e.to_string();
            assert!(!s.is_empty() && !s.contains('\n'), "{s:?}");
        }
        assert_eq!(
            TransportError::Unavailable("PC/SC support is not built yet".into()).to_string(),
            "PC/SC support is not built yet"
        );
    }
}
