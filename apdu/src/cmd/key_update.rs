//! KEY UPDATE (proprietary): `80 42 00 00 Lc 7F51...`, [certs] point 6:
//! the authority's next key installed in the card. The message is signed by
//! the current authority key and carries the next key's authority
//! certificate (`7F23 { 7F21 }`, by the issuer root pinned at manufacture,
//! usage AUTHORITY), bound to this card and a GET CHALLENGE nonce. The card
//! keeps the key it replaces in its second key slot, so that certificates
//! the old key signed (and postmarks under them) verify until they expire.
//!
//! ```text
//! 7F51 key update                          authority -> card
//!   7F4E { 80 object type 7F51, 81 chip id, 5F20 serial, 82 card challenge,
//!          83 time, 7F23 { 7F21 next authority certificate } }
//!   5F37 signature by the current authority key
//! ```

use super::Request;
use super::personalize::{
    AUTHORITY_CERTIFICATE, CHALLENGE, CHIP_ID, OBJECT_TYPE, TIME, check_type, object_type,
};
use crate::cert::{self, Certificate};
use crate::command::Command;
use crate::signed::{self, FormatError, SIGNATURE_LEN, Signed};
use crate::status::StatusWord;
use crate::tlv::{Tag, TlvError, Writer};

/// KEY UPDATE.
pub const INS: u8 = 0x42;
/// The key update message.
pub const KEY_UPDATE: Tag = 0x7F51;

pub(crate) fn parse<'a>(cmd: &Command<'a>) -> Result<Request<'a>, StatusWord> {
    super::p1p2_zero(cmd)?;
    super::some_data(cmd.data)?;
    Ok(Request::KeyUpdate { message: cmd.data })
}

/// The KEY UPDATE command carrying `message`.
pub fn command(message: &[u8]) -> Command<'_> {
    super::prop(INS, 0, message, None)
}

/// The signed fields of a key update.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyUpdateBody<'a> {
    /// The card it is for.
    pub chip_id: &'a [u8; 8],
    /// The meter serial.
    pub serial: &'a [u8],
    /// The card challenge it answers.
    pub challenge: &'a [u8; 16],
    /// Authority time.
    pub time: u64,
    /// The next authority key's certificate by the issuer root (`7F21`).
    pub next_certificate: &'a [u8],
}

impl KeyUpdateBody<'_> {
    /// Writes the message, `sign` (the current authority key) signing the
    /// encoded body.
    pub fn write(
        &self,
        w: &mut Writer<'_>,
        sign: impl FnOnce(&[u8]) -> [u8; SIGNATURE_LEN],
    ) -> Result<(), TlvError> {
        signed::write(
            w,
            KEY_UPDATE,
            |w| {
                w.put(OBJECT_TYPE, &object_type(KEY_UPDATE))?;
                w.put(CHIP_ID, self.chip_id)?;
                w.put(cert::HOLDER, self.serial)?;
                w.put(CHALLENGE, self.challenge)?;
                w.put_u64(TIME, self.time)?;
                w.nested(AUTHORITY_CERTIFICATE, |w| w.raw(self.next_certificate))
            },
            sign,
        )
    }
}

/// A parsed key update.
#[derive(Clone, Copy, Debug)]
pub struct KeyUpdate<'a> {
    /// The signed message.
    pub signed: Signed<'a>,
    /// Its fields.
    pub body: KeyUpdateBody<'a>,
    /// The next authority certificate, parsed.
    pub next: Certificate<'a>,
}

impl<'a> KeyUpdate<'a> {
    /// Parses a key update.
    pub fn parse(input: &'a [u8]) -> Result<Self, FormatError> {
        let signed = Signed::parse(input, KEY_UPDATE)?;
        check_type(&signed)?;
        let next_certificate = signed.field(AUTHORITY_CERTIFICATE)?;
        Ok(KeyUpdate {
            signed,
            next: Certificate::parse(next_certificate)?,
            body: KeyUpdateBody {
                chip_id: signed.array::<8>(CHIP_ID)?,
                serial: signed.field(cert::HOLDER)?,
                challenge: signed.array::<16>(CHALLENGE)?,
                time: signed.uint::<8>(TIME)?,
                next_certificate,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn key_update_parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = KeyUpdate::parse(&bytes);
        }
    }
}
