//! One logical command/response over a [`Transport`]: the host side of the
//! ISO 7816-4 transmission rules (§5.3 chaining, GET RESPONSE, `6Cxx`).
//!
//! * A command that needs the extended form (more than 255 data bytes or
//!   `Ne` above 256) goes as one extended APDU when the transport supports
//!   it. Otherwise its data is split into pieces of at most 255 bytes, each
//!   but the last sent with [`CLA_CHAINING`] and no `Le`; every such piece
//!   must answer 9000 (any data it returns is dropped), else its answer is
//!   the final one. The last piece carries `Le`, capped at 256; the card
//!   returns the rest with `61xx`.
//! * On `6Cxx` the same APDU is sent again once, with `Le` = `xx`
//!   (`00` meaning 256); for a chain, that is only its last piece. A second
//!   `6Cxx` is the final answer.
//! * While the card answers `61xx`, [`GET RESPONSE`](ins::GET_RESPONSE)
//!   `00 C0 00 00 xx` fetches the next part and the data is concatenated.
//!   `xx` is only taken as the size of the next part, never as the total:
//!   cards differ. The loop stops after [`MAX_GET_RESPONSES`] rounds or
//!   [`MAX_RESPONSE_LEN`] bytes with [`Error::Malformed`].
//!
//! The final status word is returned as is, error or not; [`check`] turns
//! anything but 9000 into [`Error::Card`].

use apdu::command::{
    CLA_CHAINING, EXTENDED_MAX_NC, EXTENDED_MAX_NE, EncodeError, SHORT_MAX_NC, SHORT_MAX_NE,
};
use apdu::meter::ins;
use apdu::{Command, ResponseBuf};

use crate::error::Error;
use crate::transport::Transport;

/// Most GET RESPONSE commands sent for one command.
pub const MAX_GET_RESPONSES: usize = 300;
/// Most response data bytes accepted for one command (the extended `Ne` limit).
pub const MAX_RESPONSE_LEN: usize = EXTENDED_MAX_NE;

/// Sends `cmd` and returns the complete answer, following the rules in the
/// [module documentation](self).
///
/// Errors are transport failures, commands that cannot be encoded, and
/// answers that break the protocol; a card status other than 9000 is not an
/// error here.
pub fn exchange(
    t: &mut (impl Transport + ?Sized),
    cmd: &Command<'_>,
) -> Result<ResponseBuf, Error> {
    // Validate up front so that no piece of a chain goes out for a command
    // that cannot be sent whole.
    if cmd.data.len() > EXTENDED_MAX_NC {
        return Err(EncodeError::DataTooLong.into());
    }
    if cmd.le.is_some_and(|n| n == 0 || n > EXTENDED_MAX_NE) {
        return Err(EncodeError::InvalidNe.into());
    }

    let last = if t.supports_extended() && cmd.encoded_len() <= t.max_command_len() {
        *cmd
    } else {
        let mut pieces: Vec<&[u8]> = cmd.data.chunks(SHORT_MAX_NC).collect();
        let last_data = pieces.pop().unwrap_or(&[]);
        for piece in pieces {
            let chained =
                Command::new(cmd.cla | CLA_CHAINING, cmd.ins, cmd.p1, cmd.p2, piece, None);
            let resp = transmit(t, &chained)?;
            if !resp.sw.is_ok() {
                return Ok(resp);
            }
        }
        let le = cmd.le.map(|n| n.min(SHORT_MAX_NE));
        Command::new(cmd.cla, cmd.ins, cmd.p1, cmd.p2, last_data, le)
    };

    let first = transmit_with_exact_le(t, &last)?;
    let mut data = first.data;
    let mut sw = first.sw;
    let mut rounds = 0;
    while let Some(n) = sw.remaining() {
        rounds += 1;
        if rounds > MAX_GET_RESPONSES {
            return Err(Error::Malformed(format!(
                "the card still answered 61xx after {MAX_GET_RESPONSES} GET RESPONSE commands"
            )));
        }
        let get = Command::new(0x00, ins::GET_RESPONSE, 0, 0, &[], Some(n));
        let part = transmit_with_exact_le(t, &get)?;
        data.extend_from_slice(&part.data);
        if data.len() > MAX_RESPONSE_LEN {
            return Err(Error::Malformed(format!(
                "the card returned more than {MAX_RESPONSE_LEN} bytes of response data"
            )));
        }
        sw = part.sw;
    }
    Ok(ResponseBuf { data, sw })
}

/// Parses `bytes` as one command APDU and [`exchange`]s it: the debugging
/// path behind `meter apdu HEX`.
///
/// The first APDU sent is exactly `bytes` unless the command needs the
/// extended form and the transport lacks it; then it is chained as
/// [`exchange`] describes. Raw mode is still not byte-for-byte: `61xx` is
/// followed by GET RESPONSE and `6Cxx` by a resend, and the answer returned
/// is the assembled one.
///
/// Bytes that are not a well-formed command are sent exactly as given, once,
/// so that a card's answer to a malformed command can be seen.
pub fn exchange_raw(t: &mut (impl Transport + ?Sized), bytes: &[u8]) -> Result<ResponseBuf, Error> {
    match Command::parse(bytes) {
        Ok(cmd) => exchange(t, &cmd),
        Err(_) => {
            if bytes.len() > t.max_command_len() {
                return Err(Error::Input(format!(
                    "the APDU is {} bytes, longer than the {} this reader takes: shorten it",
                    bytes.len(),
                    t.max_command_len()
                )));
            }
            let answer = t.transmit(bytes)?;
            ResponseBuf::parse(&answer)
                .ok_or_else(|| Error::Malformed("answer shorter than a status word".into()))
        }
    }
}

/// The response data when the status word is 9000, else [`Error::Card`].
pub fn check(resp: ResponseBuf) -> Result<Vec<u8>, Error> {
    if resp.sw.is_ok() {
        Ok(resp.data)
    } else {
        Err(Error::Card { sw: resp.sw })
    }
}

/// Sends `cmd`, and once more with the exact `Le` if the card answers `6Cxx`.
fn transmit_with_exact_le(
    t: &mut (impl Transport + ?Sized),
    cmd: &Command<'_>,
) -> Result<ResponseBuf, Error> {
    let resp = transmit(t, cmd)?;
    match resp.sw.exact_le() {
        Some(n) => transmit(
            t,
            &Command {
                le: Some(n),
                ..*cmd
            },
        ),
        None => Ok(resp),
    }
}

/// Encodes and sends one APDU and splits the answer.
fn transmit(t: &mut (impl Transport + ?Sized), cmd: &Command<'_>) -> Result<ResponseBuf, Error> {
    let raw = t.transmit(&cmd.to_vec()?)?;
    ResponseBuf::parse(&raw).ok_or_else(|| {
        Error::Malformed(format!(
            "{} byte(s) received, fewer than the 2 status bytes",
            raw.len()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::TransportError;
    use crate::mock::ScriptedTransport;
    use crate::transport::Transport;
    use apdu::StatusWord;
    use proptest::prelude::*;

    /// `bytes` followed by `sw`.
    fn answer(bytes: &[u8], sw: u16) -> Vec<u8> {
        let mut v = bytes.to_vec();
        v.extend_from_slice(&sw.to_be_bytes());
        v
    }

    /// `header` followed by `rest`.
    fn apdu(header: [u8; 4], rest: &[&[u8]]) -> Vec<u8> {
        let mut v = header.to_vec();
        for r in rest {
            v.extend_from_slice(r);
        }
        v
    }

    fn pattern(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 7 + i / 256) as u8).collect()
    }

    const GET_STATUS: [u8; 5] = [0x00, 0xCA, 0x00, 0xE0, 0x00];

    fn get_status() -> Command<'static> {
        Command::new(0x00, 0xCA, 0x00, 0xE0, &[], Some(256))
    }

    /// A command longer than the transport carries in one APDU (PC/SC
    /// through vpcd: 65,535 bytes) is chained even when extended APDUs are
    /// supported, and a raw one that long is refused before it is sent.
    #[test]
    fn longer_than_the_transport_takes_is_chained_or_refused() {
        let data = pattern(300);
        let cmd = Command::new(0x80, 0x2A, 0x01, 0x00, &data, None);
        let whole = cmd.to_vec().unwrap();
        let first = Command::new(0x90, 0x2A, 0x01, 0x00, &data[..255], None)
            .to_vec()
            .unwrap();
        let last = Command::new(0x80, 0x2A, 0x01, 0x00, &data[255..], None)
            .to_vec()
            .unwrap();
        let mut t = ScriptedTransport::new()
            .with_extended(true)
            .with_max_command_len(whole.len() - 1)
            .expect(&first, &[0x90, 0x00])
            .expect(&last, &[0x90, 0x00]);
        assert_eq!(exchange(&mut t, &cmd).unwrap().sw, StatusWord::OK);
        t.assert_done();
        // Exactly as long as it takes: sent whole.
        let mut t = ScriptedTransport::new()
            .with_extended(true)
            .with_max_command_len(whole.len())
            .expect(&whole, &[0x90, 0x00]);
        exchange(&mut t, &cmd).unwrap();
        t.assert_done();
        // A raw APDU that is not a command and longer: refused, nothing sent.
        let mut t = ScriptedTransport::new().with_max_command_len(10);
        let e = exchange_raw(&mut t, &[0xFF; 11]).unwrap_err();
        assert!(e.to_string().contains("longer than the 10"), "{e}");
        assert!(t.sent().is_empty());
    }

    #[test]
    fn plain_ok() {
        let mut t = ScriptedTransport::new().expect(&GET_STATUS, &answer(&[0xE0, 0x00], 0x9000));
        let r = exchange(&mut t, &get_status()).unwrap();
        assert_eq!(r.data, [0xE0, 0x00]);
        assert_eq!(r.sw, StatusWord::OK);
        t.assert_done();
    }

    #[test]
    fn error_status_is_returned_not_raised() {
        let mut t = ScriptedTransport::new().expect(&GET_STATUS, &[0x69, 0x82]);
        let r = exchange(&mut t, &get_status()).unwrap();
        assert_eq!((r.data.len(), r.sw), (0, StatusWord(0x6982)));
        assert_eq!(
            check(r),
            Err(Error::Card {
                sw: StatusWord(0x6982)
            })
        );
        t.assert_done();
    }

    #[test]
    fn get_response_chain_concatenates() {
        let full = pattern(4 + 256 + 16 + 2);
        let (a, rest) = full.split_at(4);
        let (b, rest) = rest.split_at(256);
        let (c, d) = rest.split_at(16);
        let mut t = ScriptedTransport::new()
            // 6100: 256 or more bytes remain.
            .expect(&GET_STATUS, &answer(a, 0x6100))
            .expect(&[0x00, 0xC0, 0x00, 0x00, 0x00], &answer(b, 0x6110))
            .expect(&[0x00, 0xC0, 0x00, 0x00, 0x10], &answer(c, 0x6103))
            // The card announced 3 but delivers 2: SW2 is not the total.
            .expect(&[0x00, 0xC0, 0x00, 0x00, 0x03], &answer(d, 0x9000));
        let r = exchange(&mut t, &get_status()).unwrap();
        assert_eq!(r.data, full);
        assert_eq!(r.sw, StatusWord::OK);
        t.assert_done();
    }

    #[test]
    fn get_response_keeps_going_past_sw2() {
        // SW2 of the first 61xx says 2 bytes, but the card has more.
        let mut t = ScriptedTransport::new()
            .expect(&GET_STATUS, &[0x61, 0x02])
            .expect(&[0x00, 0xC0, 0x00, 0x00, 0x02], &answer(&[1, 2], 0x6101))
            .expect(&[0x00, 0xC0, 0x00, 0x00, 0x01], &answer(&[3], 0x9000));
        let r = exchange(&mut t, &get_status()).unwrap();
        assert_eq!((r.data, r.sw), (vec![1, 2, 3], StatusWord::OK));
        t.assert_done();
    }

    #[test]
    fn get_response_error_is_final() {
        let mut t = ScriptedTransport::new()
            .expect(&GET_STATUS, &answer(&[1, 2], 0x6105))
            .expect(&[0x00, 0xC0, 0x00, 0x00, 0x05], &[0x6F, 0x00]);
        let r = exchange(&mut t, &get_status()).unwrap();
        assert_eq!((r.data, r.sw), (vec![1, 2], StatusWord::UNKNOWN));
        t.assert_done();
    }

    #[test]
    fn wrong_le_resends_once_with_exact_le() {
        let nonce = pattern(8);
        let cmd = Command::new(0x00, 0x84, 0, 0, &[], Some(16));
        let mut t = ScriptedTransport::new()
            .expect(&[0x00, 0x84, 0, 0, 0x10], &[0x6C, 0x08])
            .expect(&[0x00, 0x84, 0, 0, 0x08], &answer(&nonce, 0x9000));
        let r = exchange(&mut t, &cmd).unwrap();
        assert_eq!((r.data, r.sw), (nonce, StatusWord::OK));
        t.assert_done();

        // 6C00 means 256; a second 6Cxx is the final answer, not another resend.
        let mut t = ScriptedTransport::new()
            .expect(&[0x00, 0x84, 0, 0, 0x10], &[0x6C, 0x00])
            .expect(&[0x00, 0x84, 0, 0, 0x00], &[0x6C, 0x04]);
        let r = exchange(&mut t, &cmd).unwrap();
        assert_eq!(r.sw, StatusWord(0x6C04));
        t.assert_done();
    }

    #[test]
    fn wrong_le_then_get_response() {
        // Case 3 command the card wants Le for, then 61xx; GET RESPONSE also 6Cxx.
        let cmd = Command::new(0x80, 0x50, 0, 0, &[0xAA], None);
        let mut t = ScriptedTransport::new()
            .expect(&[0x80, 0x50, 0, 0, 1, 0xAA], &[0x6C, 0x02])
            .expect(&[0x80, 0x50, 0, 0, 1, 0xAA, 0x02], &answer(&[1, 2], 0x6103))
            .expect(&[0x00, 0xC0, 0, 0, 0x03], &[0x6C, 0x01])
            .expect(&[0x00, 0xC0, 0, 0, 0x01], &answer(&[3], 0x9000));
        let r = exchange(&mut t, &cmd).unwrap();
        assert_eq!((r.data, r.sw), (vec![1, 2, 3], StatusWord::OK));
        t.assert_done();
    }

    #[test]
    fn chains_long_command_without_extended() {
        let data = pattern(600);
        let cmd = Command::new(0x80, 0x50, 0x01, 0x02, &data, Some(300));
        assert!(cmd.extended);
        let reply = pattern(300);
        let mut t = ScriptedTransport::new()
            .expect(
                &apdu([0x90, 0x50, 0x01, 0x02], &[&[0xFF], &data[..255]]),
                &[0x90, 0x00],
            )
            .expect(
                &apdu([0x90, 0x50, 0x01, 0x02], &[&[0xFF], &data[255..510]]),
                &[0x90, 0x00],
            )
            // Last piece: chaining bit clear, Lc 90, Le 256 (00).
            .expect(
                &apdu([0x80, 0x50, 0x01, 0x02], &[&[90], &data[510..], &[0x00]]),
                &answer(&reply[..256], 0x612C),
            )
            .expect(&[0x00, 0xC0, 0, 0, 0x2C], &answer(&reply[256..], 0x9000));
        let r = exchange(&mut t, &cmd).unwrap();
        assert_eq!((r.data, r.sw), (reply, StatusWord::OK));
        t.assert_done();
    }

    #[test]
    fn chaining_stops_at_error() {
        let data = pattern(600);
        let cmd = Command::new(0x80, 0x50, 0, 0, &data, None);
        let mut t = ScriptedTransport::new()
            .expect(
                &apdu([0x90, 0x50, 0, 0], &[&[0xFF], &data[..255]]),
                &[0x90, 0x00],
            )
            .expect(
                &apdu([0x90, 0x50, 0, 0], &[&[0xFF], &data[255..510]]),
                &[0x6A, 0x84],
            );
        let r = exchange(&mut t, &cmd).unwrap();
        assert_eq!((r.data.len(), r.sw), (0, StatusWord::NOT_ENOUGH_MEMORY));
        assert_eq!(t.sent().len(), 2);
        t.assert_done();
    }

    #[test]
    fn exactly_255_bytes_is_not_chained() {
        let data = pattern(255);
        let cmd = Command::new(0x80, 0x50, 0, 0, &data, None);
        let mut t = ScriptedTransport::new()
            .expect(&apdu([0x80, 0x50, 0, 0], &[&[0xFF], &data]), &[0x90, 0x00]);
        assert_eq!(exchange(&mut t, &cmd).unwrap().sw, StatusWord::OK);
        t.assert_done();
    }

    #[test]
    fn large_ne_is_capped_without_extended() {
        let cmd = Command::new(0x00, 0xCA, 0x00, 0xE0, &[], Some(1000));
        let mut t = ScriptedTransport::new().expect(&GET_STATUS, &answer(&[7], 0x9000));
        assert_eq!(exchange(&mut t, &cmd).unwrap().data, [7]);
        t.assert_done();
    }

    #[test]
    fn extended_form_when_supported() {
        let data = pattern(600);
        let cmd = Command::new(0x80, 0x50, 0x01, 0x02, &data, Some(300));
        let reply = pattern(300);
        let mut t = ScriptedTransport::new().with_extended(true).expect(
            &apdu(
                [0x80, 0x50, 0x01, 0x02],
                &[&[0x00, 0x02, 0x58], &data, &[0x01, 0x2C]],
            ),
            &answer(&reply, 0x9000),
        );
        let r = exchange(&mut t, &cmd).unwrap();
        assert_eq!((r.data, r.sw), (reply, StatusWord::OK));
        t.assert_done();
    }

    #[test]
    fn explicit_extended_form_downgraded_without_support() {
        // 00 CA 00 E0 00 01 00: extended encoding of a short-sized command.
        let cmd = Command::parse(&[0x00, 0xCA, 0x00, 0xE0, 0x00, 0x01, 0x00]).unwrap();
        assert!(cmd.extended);
        let mut t = ScriptedTransport::new().expect(&GET_STATUS, &[0x90, 0x00]);
        exchange(&mut t, &cmd).unwrap();
        t.assert_done();
    }

    #[test]
    fn get_response_rounds_are_bounded() {
        let mut t = ScriptedTransport::new().expect(&GET_STATUS, &answer(&[0], 0x6101));
        for _ in 0..MAX_GET_RESPONSES {
            t = t.expect(&[0x00, 0xC0, 0, 0, 0x01], &answer(&[0], 0x6101));
        }
        let e = exchange(&mut t, &get_status()).unwrap_err();
        assert!(
            matches!(&e, Error::Malformed(m) if m.contains("GET RESPONSE")),
            "{e}"
        );
        assert_eq!(t.sent().len(), 1 + MAX_GET_RESPONSES);
        t.assert_done();
    }

    #[test]
    fn response_length_is_bounded() {
        let chunk = vec![0x55; 256];
        let mut t = ScriptedTransport::new().expect(&GET_STATUS, &answer(&chunk, 0x6100));
        // 256 bytes first, then 255 full GET RESPONSEs reach 65536; one more is too many.
        for _ in 0..256 {
            t = t.expect(&[0x00, 0xC0, 0, 0, 0x00], &answer(&chunk, 0x6100));
        }
        let e = exchange(&mut t, &get_status()).unwrap_err();
        assert!(
            matches!(&e, Error::Malformed(m) if m.contains("65536")),
            "{e}"
        );
        t.assert_done();
    }

    #[test]
    fn short_answer_is_malformed() {
        let mut t = ScriptedTransport::new().expect(&GET_STATUS, &[0x90]);
        let e = exchange(&mut t, &get_status()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid answer from the card: 1 byte(s) received, fewer than the 2 status bytes"
        );
    }

    #[test]
    fn transport_errors_pass_through() {
        let mut t = ScriptedTransport::new()
            .expect(&GET_STATUS, &[0x61, 0x10])
            .expect_error(&[0x00, 0xC0, 0, 0, 0x10], TransportError::NoResponse);
        assert_eq!(
            exchange(&mut t, &get_status()),
            Err(Error::Transport(TransportError::NoResponse))
        );
        t.assert_done();
    }

    #[test]
    fn invalid_commands_send_nothing() {
        let mut t = ScriptedTransport::new();
        let cmd = Command::new(0, 0xCA, 0, 0, &[], Some(0));
        assert_eq!(
            exchange(&mut t, &cmd),
            Err(Error::Encode(EncodeError::InvalidNe))
        );
        let big = vec![0; EXTENDED_MAX_NC + 1];
        let cmd = Command::new(0x80, 0x50, 0, 0, &big, None);
        assert_eq!(
            exchange(&mut t, &cmd),
            Err(Error::Encode(EncodeError::DataTooLong))
        );
        assert!(t.sent().is_empty());
    }

    #[test]
    fn raw_sends_malformed_bytes_unchanged_once() {
        let bad = [0x00, 0xD6, 0, 0, 3, 1, 2];
        let mut t = ScriptedTransport::new().expect(&bad, &[0x67, 0x00]);
        let r = exchange_raw(&mut t, &bad).unwrap();
        assert_eq!(r.sw, StatusWord::WRONG_LENGTH);
        t.assert_done();
    }

    #[test]
    fn raw_sends_the_bytes_given() {
        let raw = [0x80, 0x50, 0x00, 0x00, 0x00, 0x00, 0x01, 0xAA, 0x00, 0x00];
        let mut t = ScriptedTransport::new()
            .with_extended(true)
            .expect(&raw, &[0x61, 0x01])
            .expect(&[0x00, 0xC0, 0, 0, 0x01], &[0x42, 0x90, 0x00]);
        let r = exchange_raw(&mut t, &raw).unwrap();
        assert_eq!((r.data, r.sw), (vec![0x42], StatusWord::OK));
        t.assert_done();
    }

    #[test]
    fn check_returns_data_or_card_error() {
        let ok = ResponseBuf {
            data: vec![1, 2],
            sw: StatusWord::OK,
        };
        assert_eq!(check(ok), Ok(vec![1, 2]));
        let refused = ResponseBuf {
            data: vec![1],
            sw: StatusWord::INSUFFICIENT_FUNDS,
        };
        let e = check(refused).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the card refused the command: 9401 (insufficient funds)"
        );
    }

    /// A card that takes chained or extended commands and answers the
    /// reversed command data, `chunk` bytes at a time, with 61xx.
    struct EchoCard {
        extended: bool,
        chunk: usize,
        received: Vec<u8>,
        pending: Vec<u8>,
    }

    impl EchoCard {
        fn deliver(&mut self, le: usize) -> Vec<u8> {
            let n = le.min(self.chunk).min(self.pending.len());
            let mut out: Vec<u8> = self.pending.drain(..n).collect();
            let sw = if self.pending.is_empty() {
                StatusWord::OK
            } else {
                StatusWord::bytes_remaining(self.pending.len())
            };
            out.extend_from_slice(&sw.to_bytes());
            out
        }
    }

    impl Transport for EchoCard {
        fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
            let cmd = Command::parse(command).expect("well-formed APDU");
            assert!(self.extended || !cmd.extended, "extended APDU sent");
            if cmd.ins == ins::GET_RESPONSE {
                return Ok(self.deliver(cmd.le.unwrap()));
            }
            self.received.extend_from_slice(cmd.data);
            if cmd.is_chained() {
                assert_eq!((cmd.data.len(), cmd.le), (SHORT_MAX_NC, None));
                return Ok(vec![0x90, 0x00]);
            }
            self.pending = self.received.iter().rev().copied().collect();
            Ok(self.deliver(cmd.le.unwrap_or(0)))
        }

        fn supports_extended(&self) -> bool {
            self.extended
        }

        fn atr(&self) -> &[u8] {
            &[]
        }

        fn reset(&mut self) -> Result<(), TransportError> {
            Ok(())
        }

        fn exclusive(&mut self, f: &mut crate::transport::Exclusive<'_>) -> Result<(), Error> {
            f(self)
        }
    }

    proptest! {
        #[test]
        fn any_length_round_trips(
            len in 1usize..2000,
            // At least 8 bytes per part keeps 2000 bytes within MAX_GET_RESPONSES.
            chunk in 8usize..=256,
            extended in any::<bool>(),
        ) {
            let data = pattern(len);
            let mut card = EchoCard { extended, chunk, received: vec![], pending: vec![] };
            let cmd = Command::new(0x80, 0x50, 0, 0, &data, Some(len.min(65536)));
            let r = exchange(&mut card, &cmd).unwrap();
            prop_assert_eq!(&card.received, &data);
            let reversed: Vec<u8> = data.iter().rev().copied().collect();
            prop_assert_eq!(r.data, reversed);
            prop_assert_eq!(r.sw, StatusWord::OK);
        }
    }
}
