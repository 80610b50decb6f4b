//! The owner PIN: VERIFY `00 20 00 81 [Lc PIN]` (no data asks for the tries
//! left) and CHANGE REFERENCE DATA `00 24 00 81 Lc old||new`, the current
//! PIN padded to [`PIN_MAX_LEN`] bytes with [`PIN_PAD`].

use super::Request;
use crate::command::Command;
use crate::status::StatusWord;

/// VERIFY (ISO 7816-4): the owner PIN.
pub const INS_VERIFY: u8 = 0x20;
/// CHANGE REFERENCE DATA (ISO 7816-4): change the owner PIN.
pub const INS_CHANGE: u8 = 0x24;
/// P2 of VERIFY / CHANGE REFERENCE DATA naming the owner PIN.
pub const PIN_REFERENCE: u8 = 0x81;
/// Shortest owner PIN, in bytes.
pub const PIN_MIN_LEN: usize = 4;
/// Longest owner PIN, in bytes.
pub const PIN_MAX_LEN: usize = 8;
/// Padding of the current PIN in CHANGE REFERENCE DATA.
pub const PIN_PAD: u8 = 0xFF;
/// PIN tries after a successful verification.
pub const PIN_MAX_TRIES: u8 = 3;
/// The PIN of a newly manufactured card.
pub const DEFAULT_PIN: &[u8] = b"123456";

/// Whether `pin` can be an owner PIN: [`PIN_MIN_LEN`] to [`PIN_MAX_LEN`]
/// bytes without [`PIN_PAD`] (the card could not tell it from padding).
pub fn pin_well_formed(pin: &[u8]) -> bool {
    (PIN_MIN_LEN..=PIN_MAX_LEN).contains(&pin.len()) && !pin.contains(&PIN_PAD)
}

/// Shortest CHANGE REFERENCE DATA data: the old PIN padded to
/// [`PIN_MAX_LEN`], then the shortest new PIN.
pub const CHANGE_MIN_LEN: usize = PIN_MAX_LEN + PIN_MIN_LEN;
/// Longest CHANGE REFERENCE DATA data: the padded old PIN, then the longest
/// new PIN.
pub const CHANGE_MAX_LEN: usize = 2 * PIN_MAX_LEN;

pub(crate) fn parse_verify<'a>(cmd: &Command<'a>) -> Result<Request<'a>, StatusWord> {
    if (cmd.p1, cmd.p2) != (0x00, PIN_REFERENCE) {
        return Err(StatusWord::INCORRECT_P1P2);
    }
    match cmd.data.len() {
        0 => Ok(Request::Verify { pin: None }),
        PIN_MIN_LEN..=PIN_MAX_LEN => Ok(Request::Verify {
            pin: Some(cmd.data),
        }),
        _ => Err(StatusWord::WRONG_LENGTH),
    }
}

pub(crate) fn parse_change<'a>(cmd: &Command<'a>) -> Result<Request<'a>, StatusWord> {
    if (cmd.p1, cmd.p2) != (0x00, PIN_REFERENCE) {
        return Err(StatusWord::INCORRECT_P1P2);
    }
    if !(CHANGE_MIN_LEN..=CHANGE_MAX_LEN).contains(&cmd.data.len()) {
        return Err(StatusWord::WRONG_LENGTH);
    }
    Ok(Request::ChangePin {
        old_then_new: cmd.data,
    })
}

/// The VERIFY command: `pin`, or `None` to ask for the tries left.
pub fn verify_command(pin: Option<&[u8]>) -> Command<'_> {
    super::iso(INS_VERIFY, 0, PIN_REFERENCE, pin.unwrap_or(&[]), None)
}

/// The CHANGE REFERENCE DATA command over its data field ([`encode_change`]).
pub fn change_command(old_then_new: &[u8]) -> Command<'_> {
    super::iso(INS_CHANGE, 0, PIN_REFERENCE, old_then_new, None)
}

/// Writes the CHANGE REFERENCE DATA data field into `out`: `old` padded to
/// [`PIN_MAX_LEN`] bytes with [`PIN_PAD`] (left as is when longer), then
/// `new`. Returns its length, or `None` when `out` is too small.
pub fn encode_change(old: &[u8], new: &[u8], out: &mut [u8]) -> Option<usize> {
    let padded = old.len().max(PIN_MAX_LEN);
    let len = padded.checked_add(new.len())?;
    let out = out.get_mut(..len)?;
    let (o, n) = out.split_at_mut(padded);
    o.fill(PIN_PAD);
    o.get_mut(..old.len())?.copy_from_slice(old);
    n.copy_from_slice(new);
    Some(len)
}

/// Splits a CHANGE REFERENCE DATA data field into the current PIN (its
/// padding removed) and the new PIN; `None` unless both are well-formed.
pub fn decode_change(old_then_new: &[u8]) -> Option<(&[u8], &[u8])> {
    let (old, new) = old_then_new.split_at_checked(PIN_MAX_LEN)?;
    let end = old.iter().position(|b| *b == PIN_PAD).unwrap_or(old.len());
    let (old, pad) = old.split_at(end);
    (pad.iter().all(|b| *b == PIN_PAD) && pin_well_formed(old) && pin_well_formed(new))
        .then_some((old, new))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn pin() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(0u8..0xFF, PIN_MIN_LEN..=PIN_MAX_LEN)
    }

    proptest! {
        #[test]
        fn change_round_trip(old in pin(), new in pin()) {
            let mut buf = [0u8; CHANGE_MAX_LEN];
            let n = encode_change(&old, &new, &mut buf).unwrap();
            let data = &buf[..n];
            prop_assert_eq!(decode_change(data), Some((&old[..], &new[..])));
            let r = Request::parse(&change_command(data));
            prop_assert_eq!(r, Ok(Request::ChangePin { old_then_new: data }));
        }

        #[test]
        fn decode_change_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..20)) {
            let _ = decode_change(&bytes);
        }
    }
}
