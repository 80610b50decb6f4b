//! RATE UPDATE (proprietary, [value] point 2, Figure 2, 257): `80 58 00 00
//! Lc 7F62...`. The authority's rate table, signed, versioned and bound to
//! this card (chip id, serial) and a GET CHALLENGE nonce (consumed), sent
//! at a contact (SYNC, recharge, audit) when the authority's version is
//! newer than the card's. The card replaces its table only with a newer
//! version: an older or equal one is refused with `940A`.
//!
//! ```text
//! 7F62 rate update                          authority -> card
//!   7F4E { 80 object type 7F62, 81 chip id, 5F20 serial, 82 card challenge,
//!          8B version (u32), E1 rate table { 90 service||fee ... } }
//!   5F37 authority signature
//! ```

use super::Request;
use super::get_data::{RateTable, tag::RATE_TABLE};
use super::personalize::{CHALLENGE, CHIP_ID, OBJECT_TYPE, check_type, object_type};
use super::recharge::RATE_VERSION;
use crate::cert;
use crate::command::Command;
use crate::meter::Service;
use crate::signed::{self, FormatError, SIGNATURE_LEN, Signed};
use crate::status::StatusWord;
use crate::tlv::{Tag, TlvError, Writer};

/// RATE UPDATE.
pub const INS: u8 = 0x58;
/// The rate update message.
pub const RATE_UPDATE: Tag = 0x7F62;

pub(crate) fn parse<'a>(cmd: &Command<'a>) -> Result<Request<'a>, StatusWord> {
    super::p1p2_zero(cmd)?;
    super::some_data(cmd.data)?;
    Ok(Request::RateUpdate { message: cmd.data })
}

/// The RATE UPDATE command carrying `message`.
pub fn command(message: &[u8]) -> Command<'_> {
    super::prop(INS, 0, message, None)
}

/// A parsed rate update.
#[derive(Clone, Copy, Debug)]
pub struct RateUpdate<'a> {
    /// The signed message.
    pub signed: Signed<'a>,
    /// The card it is for.
    pub chip_id: &'a [u8; 8],
    /// The meter serial.
    pub serial: &'a [u8],
    /// The card challenge it answers.
    pub challenge: &'a [u8; 16],
    /// The table's version (the card takes only a newer one).
    pub version: u32,
    /// The table (entries checked).
    pub rates: RateTable<'a>,
}

impl<'a> RateUpdate<'a> {
    /// Writes a rate update, `sign` signing the body.
    #[allow(clippy::too_many_arguments)]
    pub fn write(
        w: &mut Writer<'_>,
        chip_id: &[u8; 8],
        serial: &[u8],
        challenge: &[u8; 16],
        version: u32,
        rates: impl IntoIterator<Item = (Service, u64)>,
        sign: impl FnOnce(&[u8]) -> [u8; SIGNATURE_LEN],
    ) -> Result<(), TlvError> {
        signed::write(
            w,
            RATE_UPDATE,
            |w| {
                w.put(OBJECT_TYPE, &object_type(RATE_UPDATE))?;
                w.put(CHIP_ID, chip_id)?;
                w.put(cert::HOLDER, serial)?;
                w.put(CHALLENGE, challenge)?;
                w.put_u32(RATE_VERSION, version)?;
                RateTable::write(w, rates)
            },
            sign,
        )
    }

    /// Parses a rate update.
    pub fn parse(input: &'a [u8]) -> Result<Self, FormatError> {
        let signed = Signed::parse(input, RATE_UPDATE)?;
        check_type(&signed)?;
        Ok(RateUpdate {
            signed,
            chip_id: signed.array::<8>(CHIP_ID)?,
            serial: signed.field(cert::HOLDER)?,
            challenge: signed.array::<16>(CHALLENGE)?,
            version: signed.uint::<4>(RATE_VERSION)? as u32,
            rates: RateTable::from_entries(signed.field(RATE_TABLE)?)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signed::testing::fake_sign;
    use proptest::prelude::*;

    fn service() -> impl Strategy<Value = Service> {
        proptest::sample::select(Service::ALL.to_vec())
    }

    proptest! {
        #[test]
        fn rate_update_round_trip(
            chip_id in any::<[u8; 8]>(),
            challenge in any::<[u8; 16]>(),
            serial in proptest::collection::vec(any::<u8>(), 1..=16),
            version in any::<u32>(),
            rates in proptest::collection::vec((service(), any::<u64>()), 0..8),
        ) {
            let mut buf = [0u8; 512];
            let mut w = Writer::new(&mut buf);
            RateUpdate::write(&mut w, &chip_id, &serial, &challenge, version, rates.clone(), fake_sign).unwrap();
            let m = RateUpdate::parse(w.written()).unwrap();
            prop_assert_eq!(m.chip_id, &chip_id);
            prop_assert_eq!(m.serial, &serial[..]);
            prop_assert_eq!(m.challenge, &challenge);
            prop_assert_eq!(m.version, version);
            prop_assert_eq!(m.rates.iter().collect::<Vec<_>>(), rates);
        }

        #[test]
        fn rate_update_parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = RateUpdate::parse(&bytes);
        }
    }
}
