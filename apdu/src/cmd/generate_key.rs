//! GENERATE ASYMMETRIC KEY PAIR (ISO 7816-8): `00 47 80 00 00` generates
//! the meter key, `00 47 81 00 00` reads its public key. Both answer the
//! public key template `7F49 { 86 point }`, as in certificates (and as GET
//! DATA answers for [`super::DataObject::PublicKey`]).

use super::{FormatError, Request};
use crate::cert::{EC_POINT, PUBLIC_KEY};
use crate::command::Command;
use crate::status::StatusWord;
use crate::tlv::{TlvError, Writer};

/// GENERATE ASYMMETRIC KEY PAIR.
pub const INS: u8 = 0x47;
/// P1: generate a new meter key pair.
pub const P1_NEW: u8 = 0x80;
/// P1: read the existing meter public key.
pub const P1_READ: u8 = 0x81;
/// Length of an uncompressed SEC1 P-256 public key.
pub const PUBLIC_KEY_LEN: usize = 65;

pub(crate) fn parse<'a>(cmd: &Command<'a>) -> Result<Request<'a>, StatusWord> {
    let generate = match (cmd.p1, cmd.p2) {
        (P1_NEW, 0) => true,
        (P1_READ, 0) => false,
        _ => return Err(StatusWord::INCORRECT_P1P2),
    };
    super::no_data(cmd.data)?;
    Ok(Request::GenerateKey { generate })
}

/// The GENERATE KEY command: generate (`true`) or read the public key.
pub fn command(generate: bool) -> Command<'static> {
    let p1 = if generate { P1_NEW } else { P1_READ };
    super::iso(INS, p1, 0, &[], Some(256))
}

/// The public key template `7F49 { 86 point }`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PublicKeyTemplate<'a> {
    /// The uncompressed SEC1 point.
    pub point: &'a [u8; PUBLIC_KEY_LEN],
}

impl<'a> PublicKeyTemplate<'a> {
    /// Writes the template.
    pub fn write(&self, w: &mut Writer<'_>) -> Result<(), TlvError> {
        w.nested(PUBLIC_KEY, |w| w.put(EC_POINT, self.point))
    }

    /// Parses a template.
    pub fn parse(input: &'a [u8]) -> Result<Self, FormatError> {
        let fields = super::template(input, PUBLIC_KEY)?;
        let point = super::field(fields, EC_POINT)?
            .try_into()
            .map_err(|_| FormatError::MissingField(EC_POINT))?;
        Ok(PublicKeyTemplate { point })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn public_key_round_trip(point in proptest::array::uniform32(any::<u8>()),
                                 tail in proptest::array::uniform32(any::<u8>()),
                                 first in any::<u8>()) {
            let mut p = [0u8; PUBLIC_KEY_LEN];
            p[0] = first;
            p[1..33].copy_from_slice(&point);
            p[33..].copy_from_slice(&tail);
            let t = PublicKeyTemplate { point: &p };
            let mut buf = [0u8; 80];
            let mut w = Writer::new(&mut buf);
            t.write(&mut w).unwrap();
            prop_assert_eq!(PublicKeyTemplate::parse(w.written()), Ok(t));
        }

        #[test]
        fn public_key_parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
            let _ = PublicKeyTemplate::parse(&bytes);
        }
    }
}
