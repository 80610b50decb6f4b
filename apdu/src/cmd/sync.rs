//! SYNC (proprietary): `80 54 00 00 Lc 7F75...`, an authority contact that
//! does nothing else: the authority's signed time (the card's clock never
//! goes below it) and its service policy, bound to this card (chip id,
//! serial) and a GET CHALLENGE nonce. Like every contact (personalization,
//! load, unblock) it restarts the service period and the count of charged
//! operations, so it lifts a lock.
//!
//! ```text
//! 7F75 sync                                 authority -> card
//!   7F4E { 80 object type 7F75, 81 chip id, 5F20 serial, 82 card challenge,
//!          83 time, 84 service deadline, A8 service policy { 81 service
//!          days, 82 grace days, 83 max debits } }
//!   5F37 authority signature
//! ```
//!
//! The service policy template [`ServicePolicy`] (`A8`) also rides in the
//! personalization and value-load messages.

use super::Request;
use super::personalize::{
    CHALLENGE, CHIP_ID, DEADLINE, OBJECT_TYPE, TIME, check_type, object_type,
};
use crate::cert;
use crate::command::Command;
use crate::signed::{self, FormatError, SIGNATURE_LEN, Signed};
use crate::status::StatusWord;
use crate::tlv::{self, Tag, TlvError, Writer};

/// SYNC.
pub const INS: u8 = 0x54;
/// The sync message.
pub const SYNC: Tag = 0x7F75;
/// The service policy template.
pub const POLICY: Tag = 0xA8;
/// Inside [`POLICY`]: days of service after a contact before the card
/// warns (u32; 0: no time limit).
pub const SERVICE_DAYS: Tag = 0x81;
/// Inside [`POLICY`]: days of grace after that before debits stop (u32).
pub const GRACE_DAYS: Tag = 0x82;
/// Inside [`POLICY`]: charged operations allowed between contacts (u32; 0:
/// no limit).
pub const MAX_DEBITS: Tag = 0x83;
/// Bytes of an encoded [`ServicePolicy`]: `A8 12 { 81 04 .. 82 04 .. 83 04 .. }`.
pub const POLICY_LEN: usize = 2 + 3 * (1 + 1 + 4);

/// The authority's service policy: how long and for how many charged
/// operations a card works between two contacts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServicePolicy {
    /// Days after the last contact before the card warns.
    pub service_days: u32,
    /// Days after that before the card refuses every debit.
    pub grace_days: u32,
    /// Charged operations after the last contact before the card refuses
    /// every debit.
    pub max_debits: u32,
}

impl ServicePolicy {
    /// Writes the `A8` template.
    pub fn write(&self, w: &mut Writer<'_>) -> Result<(), TlvError> {
        w.nested(POLICY, |w| {
            w.put_u32(SERVICE_DAYS, self.service_days)?;
            w.put_u32(GRACE_DAYS, self.grace_days)?;
            w.put_u32(MAX_DEBITS, self.max_debits)
        })
    }

    /// The `A8` template among a signed object's fields, if present.
    pub fn find(signed: &Signed<'_>) -> Result<Option<Self>, FormatError> {
        let Some(t) = signed.get(POLICY) else {
            return Ok(None);
        };
        let field = |tag| {
            tlv::find(t, tag)
                .filter(|v| v.len() == 4)
                .and_then(tlv::as_u64)
                .map(|v| v as u32)
                .ok_or(FormatError::MissingField(tag))
        };
        Ok(Some(ServicePolicy {
            service_days: field(SERVICE_DAYS)?,
            grace_days: field(GRACE_DAYS)?,
            max_debits: field(MAX_DEBITS)?,
        }))
    }
}

pub(crate) fn parse<'a>(cmd: &Command<'a>) -> Result<Request<'a>, StatusWord> {
    super::p1p2_zero(cmd)?;
    super::some_data(cmd.data)?;
    Ok(Request::Sync { message: cmd.data })
}

/// The SYNC command carrying `message`.
pub fn command(message: &[u8]) -> Command<'_> {
    super::prop(INS, 0, message, None)
}

/// The signed fields of a sync message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyncBody<'a> {
    /// The card it is for.
    pub chip_id: &'a [u8; 8],
    /// The meter serial.
    pub serial: &'a [u8],
    /// The card challenge it answers.
    pub challenge: &'a [u8; 16],
    /// Authority time.
    pub time: u64,
    /// The new service deadline (as in a value load).
    pub deadline: u64,
    /// The service policy from now on.
    pub policy: ServicePolicy,
}

impl SyncBody<'_> {
    /// Writes the body's fields, the object type first.
    pub fn write_fields(&self, w: &mut Writer<'_>) -> Result<(), TlvError> {
        w.put(OBJECT_TYPE, &object_type(SYNC))?;
        w.put(CHIP_ID, self.chip_id)?;
        w.put(cert::HOLDER, self.serial)?;
        w.put(CHALLENGE, self.challenge)?;
        w.put_u64(TIME, self.time)?;
        w.put_u64(DEADLINE, self.deadline)?;
        self.policy.write(w)
    }

    /// Writes the message, `sign` signing the encoded body.
    pub fn write(
        &self,
        w: &mut Writer<'_>,
        sign: impl FnOnce(&[u8]) -> [u8; SIGNATURE_LEN],
    ) -> Result<(), TlvError> {
        signed::write(w, SYNC, |w| self.write_fields(w), sign)
    }
}

/// A parsed sync message.
#[derive(Clone, Copy, Debug)]
pub struct Sync<'a> {
    /// The signed message.
    pub signed: Signed<'a>,
    /// Its fields.
    pub body: SyncBody<'a>,
}

impl<'a> Sync<'a> {
    /// Parses a sync message.
    pub fn parse(input: &'a [u8]) -> Result<Self, FormatError> {
        let signed = Signed::parse(input, SYNC)?;
        check_type(&signed)?;
        Ok(Sync {
            signed,
            body: SyncBody {
                chip_id: signed.array::<8>(CHIP_ID)?,
                serial: signed.field(cert::HOLDER)?,
                challenge: signed.array::<16>(CHALLENGE)?,
                time: signed.uint::<8>(TIME)?,
                deadline: signed.uint::<8>(DEADLINE)?,
                policy: ServicePolicy::find(&signed)?.ok_or(FormatError::MissingField(POLICY))?,
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
        fn sync_round_trip(
            chip_id in any::<[u8; 8]>(),
            challenge in any::<[u8; 16]>(),
            serial in proptest::collection::vec(any::<u8>(), 1..=16),
            time in any::<u64>(),
            (service_days, grace_days, max_debits) in (any::<u32>(), any::<u32>(), any::<u32>()),
        ) {
            let policy = ServicePolicy { service_days, grace_days, max_debits };
            let body = SyncBody { chip_id: &chip_id, serial: &serial, challenge: &challenge, time, deadline: time / 2, policy };
            let mut buf = [0u8; 512];
            let mut w = Writer::new(&mut buf);
            body.write(&mut w, fake_sign).unwrap();
            prop_assert_eq!(Sync::parse(w.written()).unwrap().body, body);
        }

        #[test]
        fn sync_parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = Sync::parse(&bytes);
        }
    }

    #[test]
    fn policy_len() {
        let mut buf = [0u8; 64];
        let mut w = Writer::new(&mut buf);
        ServicePolicy {
            service_days: 90,
            grace_days: 30,
            max_debits: 10_000,
        }
        .write(&mut w)
        .unwrap();
        assert_eq!(w.len(), POLICY_LEN);
    }
}
