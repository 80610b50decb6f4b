//! RESET RETRY COUNTER (ISO 7816-4 `2C`): `00 2C 00 81 Lc message||PIN`,
//! the owner PIN unblocked by the authority: its signed unblock message,
//! bound to this card (chip id, serial) and a GET CHALLENGE nonce, followed
//! by the new PIN (4 to 8 bytes). The authority signs only after it has
//! checked the holder.
//!
//! ```text
//! 7F74 unblock                              authority -> card
//!   7F4E { 80 object type 7F74, 81 chip id, 5F20 serial, 82 card challenge,
//!          83 time }
//!   5F37 authority signature
//! ```

use super::Request;
use super::personalize::{CHALLENGE, CHIP_ID, OBJECT_TYPE, TIME, check_type, object_type};
use crate::cert;
use crate::command::Command;
use crate::signed::{self, FormatError, SIGNATURE_LEN, Signed};
use crate::status::StatusWord;
use crate::tlv::{Tag, TlvError, Writer};

/// RESET RETRY COUNTER.
pub const INS: u8 = 0x2C;
/// The unblock message.
pub const UNBLOCK: Tag = 0x7F74;

pub(crate) fn parse<'a>(cmd: &Command<'a>) -> Result<Request<'a>, StatusWord> {
    if (cmd.p1, cmd.p2) != (0x00, super::pin::PIN_REFERENCE) {
        return Err(StatusWord::INCORRECT_P1P2);
    }
    super::some_data(cmd.data)?;
    Ok(Request::Unblock {
        message_then_pin: cmd.data,
    })
}

/// The RESET RETRY COUNTER command: the message, then the new PIN.
pub fn command(message_then_pin: &[u8]) -> Command<'_> {
    super::iso(INS, 0x00, super::pin::PIN_REFERENCE, message_then_pin, None)
}

/// The signed fields of an unblock message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnblockBody<'a> {
    /// The card it is for.
    pub chip_id: &'a [u8; 8],
    /// The meter serial.
    pub serial: &'a [u8],
    /// The card challenge it answers.
    pub challenge: &'a [u8; 16],
    /// Authority time.
    pub time: u64,
}

impl UnblockBody<'_> {
    /// Writes the body's fields, the object type first.
    pub fn write_fields(&self, w: &mut Writer<'_>) -> Result<(), TlvError> {
        w.put(OBJECT_TYPE, &object_type(UNBLOCK))?;
        w.put(CHIP_ID, self.chip_id)?;
        w.put(cert::HOLDER, self.serial)?;
        w.put(CHALLENGE, self.challenge)?;
        w.put_u64(TIME, self.time)
    }

    /// Writes the message, `sign` signing the encoded body.
    pub fn write(
        &self,
        w: &mut Writer<'_>,
        sign: impl FnOnce(&[u8]) -> [u8; SIGNATURE_LEN],
    ) -> Result<(), TlvError> {
        signed::write(w, UNBLOCK, |w| self.write_fields(w), sign)
    }
}

/// A parsed RESET RETRY COUNTER: the message and the new PIN after it.
#[derive(Clone, Copy, Debug)]
pub struct Unblock<'a> {
    /// The signed message.
    pub signed: Signed<'a>,
    /// Its fields.
    pub body: UnblockBody<'a>,
    /// The new PIN (the bytes after the message).
    pub new_pin: &'a [u8],
}

impl<'a> Unblock<'a> {
    /// Parses the command data: the `7F74` message, then the new PIN.
    pub fn parse(input: &'a [u8]) -> Result<Self, FormatError> {
        let (signed, new_pin) = Signed::read(input, UNBLOCK)?;
        check_type(&signed)?;
        Ok(Unblock {
            signed,
            body: UnblockBody {
                chip_id: signed.array::<8>(CHIP_ID)?,
                serial: signed.field(cert::HOLDER)?,
                challenge: signed.array::<16>(CHALLENGE)?,
                time: signed.uint::<8>(TIME)?,
            },
            new_pin,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signed::testing::fake_sign;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn unblock_round_trip(
            chip_id in any::<[u8; 8]>(),
            challenge in any::<[u8; 16]>(),
            serial in proptest::collection::vec(any::<u8>(), 1..=16),
            time in any::<u64>(),
            pin in proptest::collection::vec(any::<u8>(), 0..=8),
        ) {
            let body = UnblockBody { chip_id: &chip_id, serial: &serial, challenge: &challenge, time };
            let mut buf = [0u8; 512];
            let mut w = Writer::new(&mut buf);
            body.write(&mut w, fake_sign).unwrap();
            w.raw(&pin).unwrap();
            let u = Unblock::parse(w.written()).unwrap();
            prop_assert_eq!(u.body, body);
            prop_assert_eq!(u.new_pin, &pin[..]);
        }

        #[test]
        fn unblock_parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = Unblock::parse(&bytes);
        }
    }
}
