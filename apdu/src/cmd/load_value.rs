//! LOAD VALUE (proprietary): `80 52 00 00 Lc 7F71... 00` carries the
//! authority's value load; the card answers its signed load receipt.
//!
//! ```text
//! 7F71 value load                          authority -> card
//!   7F4E { 81 chip id, 5F20 serial, [82 card challenge], 85 load number
//!          (card's count + 1), 87 register, 88 amount, 83 time,
//!          84 new service deadline, [A8 service policy] }
//!   5F37 authority signature
//!
//! 7F72 load receipt                        card -> authority
//!   7F4E { 5F20 serial, [82 card challenge], 85 load number, 87 register,
//!          88 amount, 89 ascending, 8A descending, 83 time }
//!   5F37 meter signature
//! ```
//!
//! A recharge ([`super::recharge`]) answers the card's signed request with
//! a value load that also carries the request's challenge (`82`): the card
//! then requires it to be the GET CHALLENGE nonce LOAD VALUE consumes, so
//! the message is good for that request only, and its receipt echoes it.
//! A value load without `82` (`meter load`) is bound by its load number
//! alone.

use super::personalize::{CHALLENGE, CHIP_ID, DEADLINE, TIME};
use super::{FormatError, Request};
use crate::cert;
use crate::command::Command;
use crate::signed::{self, SIGNATURE_LEN, Signed};
use crate::status::StatusWord;
use crate::tlv::{Tag, TlvError, Writer};

/// LOAD VALUE.
pub const INS: u8 = 0x52;

/// Value load message.
pub const VALUE_LOAD: Tag = 0x7F71;

/// Longest value load message ([`VALUE_LOAD`]): 162 bytes, with a serial of
/// [`SERIAL_MAX_LEN`](crate::meter::SERIAL_MAX_LEN) bytes. It fits a short
/// `Lc`, so the host never sends LOAD VALUE extended or chained.
pub const VALUE_LOAD_MAX_LEN: usize = {
    use crate::meter::SERIAL_MAX_LEN;
    // 81 chip id, 5F20 serial, 85 load number, 87 register, 88 amount,
    // 83 time, 84 deadline: tag, one length byte, value; then the policy.
    let body = (1 + 1 + 8)
        + (2 + 1 + SERIAL_MAX_LEN)
        + (1 + 1 + 4)
        + (1 + 1 + 1)
        + 3 * (1 + 1 + 8)
        + super::sync::POLICY_LEN;
    assert!(body < 0x80);
    // 7F4E body (one length byte), 5F37 signature (one length byte).
    let content = (2 + 1 + body) + (2 + 1 + SIGNATURE_LEN);
    assert!(content >= 0x80 && content <= 0xFF);
    // 7F71 81 content.
    2 + 2 + content
};
const _: () = assert!(VALUE_LOAD_MAX_LEN <= crate::command::SHORT_MAX_NC);
/// Longest value load of a recharge: [`VALUE_LOAD_MAX_LEN`] and the
/// challenge (`82 10` + 16 bytes): 180 bytes, still a short `Lc`.
pub const RECHARGE_LOAD_MAX_LEN: usize = VALUE_LOAD_MAX_LEN + 2 + 16;
const _: () = assert!(RECHARGE_LOAD_MAX_LEN <= crate::command::SHORT_MAX_NC);
/// Load receipt.
pub const LOAD_RECEIPT: Tag = 0x7F72;
/// Load number (u32).
pub const LOAD_NUMBER: Tag = 0x85;
/// Register (one byte, [`RegisterId`]).
pub const REGISTER: Tag = 0x87;
/// Amount, minor units (u64).
pub const AMOUNT: Tag = 0x88;
/// Ascending register (u64).
pub const ASCENDING: Tag = 0x89;
/// Descending register (u64).
pub const DESCENDING: Tag = 0x8A;

crate::byte_enum! {
    /// A value register, as named on the wire.
    pub enum RegisterId {
        /// Postage register (Figure 2, 244): postage indicia.
        Postage = 1 => "postage",
        /// Certificate register (250): certificate and security services.
        Certificate = 2 => "certificate",
    }
    /// A lower-case name for people.
    fn name;
}

pub(crate) fn parse<'a>(cmd: &Command<'a>) -> Result<Request<'a>, StatusWord> {
    super::p1p2_zero(cmd)?;
    super::some_data(cmd.data)?;
    Ok(Request::LoadValue { message: cmd.data })
}

/// The LOAD VALUE command carrying `message`.
pub fn command(message: &[u8]) -> Command<'_> {
    super::prop(INS, 0, message, Some(256))
}

fn register(signed: &Signed<'_>) -> Result<RegisterId, FormatError> {
    RegisterId::from_byte(signed.uint::<1>(REGISTER)? as u8)
        .ok_or(FormatError::MissingField(REGISTER))
}

/// The optional challenge field (`82`), 16 bytes when present.
fn optional_challenge<'a>(signed: &Signed<'a>) -> Result<Option<&'a [u8; 16]>, FormatError> {
    match signed.get(CHALLENGE) {
        None => Ok(None),
        Some(_) => signed.array::<16>(CHALLENGE).map(Some),
    }
}

/// The signed fields of a value load.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ValueLoadBody<'a> {
    /// The card it is for.
    pub chip_id: &'a [u8; 8],
    /// The meter serial it is for.
    pub serial: &'a [u8],
    /// The card challenge of the recharge request it answers, if any.
    pub challenge: Option<&'a [u8; 16]>,
    /// Load number: the card accepts only its count + 1.
    pub number: u32,
    /// Which register.
    pub register: RegisterId,
    /// Amount to add, minor units.
    pub amount: u64,
    /// Authority time.
    pub time: u64,
    /// The new service deadline.
    pub deadline: u64,
    /// The authority's service policy, if it sets one.
    pub policy: Option<super::sync::ServicePolicy>,
}

impl ValueLoadBody<'_> {
    /// Writes the body's fields (the content of `7F4E`).
    pub fn write_fields(&self, w: &mut Writer<'_>) -> Result<(), TlvError> {
        w.put(CHIP_ID, self.chip_id)?;
        w.put(cert::HOLDER, self.serial)?;
        if let Some(c) = self.challenge {
            w.put(CHALLENGE, c)?;
        }
        w.put_u32(LOAD_NUMBER, self.number)?;
        w.put(REGISTER, &[self.register as u8])?;
        w.put_u64(AMOUNT, self.amount)?;
        w.put_u64(TIME, self.time)?;
        w.put_u64(DEADLINE, self.deadline)?;
        match self.policy {
            Some(p) => p.write(w),
            None => Ok(()),
        }
    }

    /// Writes the whole message, `sign` signing the encoded body.
    pub fn write(
        &self,
        w: &mut Writer<'_>,
        sign: impl FnOnce(&[u8]) -> [u8; SIGNATURE_LEN],
    ) -> Result<(), TlvError> {
        signed::write(w, VALUE_LOAD, |w| self.write_fields(w), sign)
    }
}

/// A parsed value load.
#[derive(Clone, Copy, Debug)]
pub struct ValueLoad<'a> {
    /// The signed object.
    pub signed: Signed<'a>,
    /// The card it is for.
    pub chip_id: &'a [u8; 8],
    /// The meter serial it is for.
    pub serial: &'a [u8],
    /// The card challenge of the recharge request it answers, if any.
    pub challenge: Option<&'a [u8; 16]>,
    /// Load number: the card accepts only its count + 1.
    pub number: u32,
    /// Which register.
    pub register: RegisterId,
    /// Amount to add, minor units.
    pub amount: u64,
    /// Authority time.
    pub time: u64,
    /// The new service deadline.
    pub deadline: u64,
    /// The authority's service policy, if it sets one.
    pub policy: Option<super::sync::ServicePolicy>,
}

impl<'a> ValueLoad<'a> {
    /// Parses a value load.
    pub fn parse(input: &'a [u8]) -> Result<Self, FormatError> {
        let signed = Signed::parse(input, VALUE_LOAD)?;
        Ok(ValueLoad {
            signed,
            chip_id: signed.array::<8>(CHIP_ID)?,
            serial: signed.field(cert::HOLDER)?,
            challenge: optional_challenge(&signed)?,
            number: signed.uint::<4>(LOAD_NUMBER)? as u32,
            register: register(&signed)?,
            amount: signed.uint::<8>(AMOUNT)?,
            time: signed.uint::<8>(TIME)?,
            deadline: signed.uint::<8>(DEADLINE)?,
            policy: super::sync::ServicePolicy::find(&signed)?,
        })
    }

    /// The signed fields.
    pub fn body(&self) -> ValueLoadBody<'a> {
        ValueLoadBody {
            chip_id: self.chip_id,
            serial: self.serial,
            challenge: self.challenge,
            number: self.number,
            register: self.register,
            amount: self.amount,
            time: self.time,
            deadline: self.deadline,
            policy: self.policy,
        }
    }
}

/// The signed fields of a load receipt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoadReceiptBody<'a> {
    /// Meter serial.
    pub serial: &'a [u8],
    /// The challenge of the value load, echoed when it carried one.
    pub challenge: Option<&'a [u8; 16]>,
    /// Load number.
    pub number: u32,
    /// Register.
    pub register: RegisterId,
    /// Amount added.
    pub amount: u64,
    /// Ascending register after the load.
    pub ascending: u64,
    /// Descending register after the load.
    pub descending: u64,
    /// Card time.
    pub time: u64,
}

impl LoadReceiptBody<'_> {
    /// Writes the body's fields (the content of `7F4E`), in the card's order.
    pub fn write_fields(&self, w: &mut Writer<'_>) -> Result<(), TlvError> {
        w.put(cert::HOLDER, self.serial)?;
        if let Some(c) = self.challenge {
            w.put(CHALLENGE, c)?;
        }
        w.put_u32(LOAD_NUMBER, self.number)?;
        w.put(REGISTER, &[self.register as u8])?;
        w.put_u64(AMOUNT, self.amount)?;
        w.put_u64(ASCENDING, self.ascending)?;
        w.put_u64(DESCENDING, self.descending)?;
        w.put_u64(TIME, self.time)
    }

    /// Writes the whole receipt, `sign` signing the encoded body.
    pub fn write(
        &self,
        w: &mut Writer<'_>,
        sign: impl FnOnce(&[u8]) -> [u8; SIGNATURE_LEN],
    ) -> Result<(), TlvError> {
        signed::write(w, LOAD_RECEIPT, |w| self.write_fields(w), sign)
    }
}

/// A parsed load receipt.
#[derive(Clone, Copy, Debug)]
pub struct LoadReceipt<'a> {
    /// The signed object.
    pub signed: Signed<'a>,
    /// Meter serial.
    pub serial: &'a [u8],
    /// The challenge of the value load, echoed when it carried one.
    pub challenge: Option<&'a [u8; 16]>,
    /// Load number.
    pub number: u32,
    /// Register.
    pub register: RegisterId,
    /// Amount added.
    pub amount: u64,
    /// Ascending register after the load.
    pub ascending: u64,
    /// Descending register after the load.
    pub descending: u64,
    /// Card time.
    pub time: u64,
}

impl<'a> LoadReceipt<'a> {
    /// Parses a load receipt.
    pub fn parse(input: &'a [u8]) -> Result<Self, FormatError> {
        let signed = Signed::parse(input, LOAD_RECEIPT)?;
        Ok(LoadReceipt {
            signed,
            serial: signed.field(cert::HOLDER)?,
            challenge: optional_challenge(&signed)?,
            number: signed.uint::<4>(LOAD_NUMBER)? as u32,
            register: register(&signed)?,
            amount: signed.uint::<8>(AMOUNT)?,
            ascending: signed.uint::<8>(ASCENDING)?,
            descending: signed.uint::<8>(DESCENDING)?,
            time: signed.uint::<8>(TIME)?,
        })
    }

    /// The signed fields.
    pub fn body(&self) -> LoadReceiptBody<'a> {
        LoadReceiptBody {
            serial: self.serial,
            challenge: self.challenge,
            number: self.number,
            register: self.register,
            amount: self.amount,
            ascending: self.ascending,
            descending: self.descending,
            time: self.time,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signed::testing::fake_sign;
    use proptest::prelude::*;

    fn register_id() -> impl Strategy<Value = RegisterId> {
        proptest::sample::select(RegisterId::ALL.to_vec())
    }

    proptest! {
        #[test]
        fn value_load_round_trip(
            chip_id in any::<[u8; 8]>(),
            serial in proptest::collection::vec(any::<u8>(), 0..=16),
            number in any::<u32>(),
            register in register_id(),
            (amount, time, deadline) in (any::<u64>(), any::<u64>(), any::<u64>()),
        ) {
            let policy = (number % 2 == 0).then_some(super::super::sync::ServicePolicy {
                service_days: 90,
                grace_days: 30,
                max_debits: number,
            });
            let challenge = (number % 3 == 0).then_some(&[7u8; 16]);
            let body = ValueLoadBody { chip_id: &chip_id, serial: &serial, challenge, number, register, amount, time, deadline, policy };
            let mut buf = [0u8; 256];
            let mut w = Writer::new(&mut buf);
            body.write(&mut w, fake_sign).unwrap();
            let m = ValueLoad::parse(w.written()).unwrap();
            prop_assert_eq!(m.body(), body);
        }

        #[test]
        fn load_receipt_round_trip(
            serial in proptest::collection::vec(any::<u8>(), 0..=16),
            number in any::<u32>(),
            register in register_id(),
            (amount, ascending, descending, time) in (any::<u64>(), any::<u64>(), any::<u64>(), any::<u64>()),
        ) {
            let challenge = (number % 3 == 0).then_some(&[9u8; 16]);
            let body = LoadReceiptBody { serial: &serial, challenge, number, register, amount, ascending, descending, time };
            let mut buf = [0u8; 256];
            let mut w = Writer::new(&mut buf);
            body.write(&mut w, fake_sign).unwrap();
            let m = LoadReceipt::parse(w.written()).unwrap();
            prop_assert_eq!(m.body(), body);
        }

        #[test]
        fn parsers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = ValueLoad::parse(&bytes);
            let _ = LoadReceipt::parse(&bytes);
        }
    }
}
