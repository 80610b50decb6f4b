//! AUDIT (proprietary, [value] point 4, inspection): `80 5A 00 00 00`. The
//! card signs a report of its state over its GET CHALLENGE nonce (read,
//! not consumed), numbered and chained to its previous report: it carries
//! the report's number (the card's count of reports + 1) and the SHA-256
//! of the previous report's signed body (zeros before the first). The card
//! commits the new count and this report's hash before the report leaves
//! it. The authority checks the chain, reconciles the state with its
//! records and, when all agrees, answers a SYNC for the same challenge: the
//! inspection is a contact.
//!
//! ```text
//! 7F63 audit report                          card -> authority (meter key)
//!   7F4E { 80 object type 7F63, 81 chip id, 5F20 serial, 82 card challenge,
//!          85 report number (u32), 89 previous report hash (32),
//!          <meter state> (see super::recharge) }
//!   5F37 meter signature
//! ```
//!
//! The chain's hash is SHA-256 over the report's `7F4E` object, tag and
//! length included (what the meter key signs).

use super::Request;
use super::personalize::{CHALLENGE, CHIP_ID, OBJECT_TYPE, check_type, object_type};
use super::recharge::MeterState;
use crate::cert;
use crate::command::Command;
use crate::signed::{self, FormatError, SIGNATURE_LEN, Signed};
use crate::status::StatusWord;
use crate::tlv::{Tag, TlvError, Writer};

/// AUDIT.
pub const INS: u8 = 0x5A;
/// The audit report (card -> authority).
pub const REPORT: Tag = 0x7F63;
/// The report number (u32, the first is 1).
pub const NUMBER: Tag = 0x85;
/// The SHA-256 of the previous report's signed body (32 bytes).
pub const PREVIOUS: Tag = 0x89;
/// Bytes of a report hash.
pub const HASH_LEN: usize = 32;

pub(crate) fn parse<'a>(cmd: &Command<'a>) -> Result<Request<'a>, StatusWord> {
    super::p1p2_zero(cmd)?;
    super::no_data(cmd.data)?;
    Ok(Request::Audit)
}

/// The AUDIT command.
pub fn command() -> Command<'static> {
    super::prop(INS, 0, &[], Some(256))
}

/// The signed fields of an audit report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AuditReportBody<'a> {
    /// The card.
    pub chip_id: &'a [u8; 8],
    /// The meter serial.
    pub serial: &'a [u8],
    /// The card challenge the contact must answer.
    pub challenge: &'a [u8; 16],
    /// The report's number.
    pub number: u32,
    /// The previous report's hash (zeros before the first).
    pub previous: &'a [u8; HASH_LEN],
    /// The card's state.
    pub state: MeterState,
}

impl AuditReportBody<'_> {
    /// Writes the body's fields, the object type first.
    pub fn write_fields(&self, w: &mut Writer<'_>) -> Result<(), TlvError> {
        w.put(OBJECT_TYPE, &object_type(REPORT))?;
        w.put(CHIP_ID, self.chip_id)?;
        w.put(cert::HOLDER, self.serial)?;
        w.put(CHALLENGE, self.challenge)?;
        w.put_u32(NUMBER, self.number)?;
        w.put(PREVIOUS, self.previous)?;
        self.state.write(w)
    }

    /// Writes the report, `sign` signing the body.
    pub fn write(
        &self,
        w: &mut Writer<'_>,
        sign: impl FnOnce(&[u8]) -> [u8; SIGNATURE_LEN],
    ) -> Result<(), TlvError> {
        signed::write(w, REPORT, |w| self.write_fields(w), sign)
    }
}

/// A parsed audit report.
#[derive(Clone, Copy, Debug)]
pub struct AuditReport<'a> {
    /// The signed object (`signed_bytes`: what the chain hashes).
    pub signed: Signed<'a>,
    /// Its fields.
    pub body: AuditReportBody<'a>,
}

impl<'a> AuditReport<'a> {
    /// Parses an audit report.
    pub fn parse(input: &'a [u8]) -> Result<Self, FormatError> {
        let signed = Signed::parse(input, REPORT)?;
        check_type(&signed)?;
        Ok(AuditReport {
            signed,
            body: AuditReportBody {
                chip_id: signed.array::<8>(CHIP_ID)?,
                serial: signed.field(cert::HOLDER)?,
                challenge: signed.array::<16>(CHALLENGE)?,
                number: signed.uint::<4>(NUMBER)? as u32,
                previous: signed.array::<HASH_LEN>(PREVIOUS)?,
                state: MeterState::read(&signed)?,
            },
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
        fn report_round_trip(
            chip_id in any::<[u8; 8]>(),
            challenge in any::<[u8; 16]>(),
            serial in proptest::collection::vec(any::<u8>(), 1..=16),
            number in any::<u32>(),
            previous in any::<[u8; 32]>(),
            state in super::super::recharge::tests::state(),
        ) {
            let body = AuditReportBody { chip_id: &chip_id, serial: &serial, challenge: &challenge, number, previous: &previous, state };
            let mut buf = [0u8; 512];
            let mut w = Writer::new(&mut buf);
            body.write(&mut w, fake_sign).unwrap();
            prop_assert_eq!(AuditReport::parse(w.written()).unwrap().body, body);
        }

        #[test]
        fn report_parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = AuditReport::parse(&bytes);
        }
    }
}
