//! RECHARGE REQUEST (proprietary, [value] point 1): `80 56 register 00 08
//! amount 00`. The card signs a request for `amount` minor units into
//! `register`, over its GET CHALLENGE nonce (read, not consumed) and its
//! whole state ([`MeterState`]); the authority reconciles that state with
//! its records and answers a value load ([`super::load_value`], `7F71`)
//! carrying the same challenge, which LOAD VALUE applies once (it consumes
//! the challenge) and answers with a receipt echoing it.
//!
//! ```text
//! 7F61 recharge request                      card -> authority (meter key)
//!   7F4E { 80 object type 7F61, 81 chip id, 5F20 serial, 82 card challenge,
//!          87 register, 88 amount, <meter state> }
//!   5F37 meter signature
//!
//! <meter state>, also in the audit report (super::audit):
//!   A5 { 80 ascending, 81 descending, 82 control total, 83 pieces }  postage
//!   A6 { 80 ascending, 81 descending, 82 control total, 83 pieces }  certificate
//!   84 sequence (u32), 83 card clock (u64), 8E load count (u32),
//!   86 postmark count (u32), 8B rate-table version (u32)
//! ```
//!
//! The control total of a register is ascending + descending: everything
//! ever loaded into it. The card refuses a request for amount 0 (`6A80`)
//! and one that would take a control total past `u64::MAX` (`6A80`).

use super::Request;
use super::load_value::{AMOUNT, REGISTER, RegisterId};
use super::personalize::{CHALLENGE, CHIP_ID, OBJECT_TYPE, TIME, check_type, object_type};
use crate::cert;
use crate::command::Command;
use crate::signed::{self, FormatError, SIGNATURE_LEN, Signed};
use crate::status::StatusWord;
use crate::tlv::{self, Tag, TlvError, Writer};

/// RECHARGE REQUEST.
pub const INS: u8 = 0x56;
/// The recharge request (card -> authority).
pub const REQUEST: Tag = 0x7F61;
/// Postage register template (Figure 2, 244/242).
pub const POSTAGE: Tag = 0xA5;
/// Certificate register template (250/248).
pub const CERTIFICATE: Tag = 0xA6;
/// Inside a register template: ascending (u64).
pub const ASCENDING: Tag = 0x80;
/// Inside a register template: descending (u64).
pub const DESCENDING: Tag = 0x81;
/// Inside a register template: control total, ascending + descending (u64).
pub const CONTROL_TOTAL: Tag = 0x82;
/// Inside a register template: piece count (u32).
pub const PIECES: Tag = 0x83;
/// Transaction sequence (u32).
pub const SEQUENCE: Tag = 0x84;
/// Value loads accepted (u32).
pub const LOAD_COUNT: Tag = 0x8E;
/// Postmarks signed (u32).
pub const POSTMARK_COUNT: Tag = 0x86;
/// The rate table's version (u32; 0: the one personalization installed).
pub const RATE_VERSION: Tag = 0x8B;

pub(crate) fn parse<'a>(cmd: &Command<'a>) -> Result<Request<'a>, StatusWord> {
    if cmd.p2 != 0 {
        return Err(StatusWord::INCORRECT_P1P2);
    }
    let register = RegisterId::from_byte(cmd.p1).ok_or(StatusWord::INCORRECT_P1P2)?;
    let amount: &[u8; 8] = cmd.data.try_into().map_err(|_| StatusWord::WRONG_LENGTH)?;
    Ok(Request::RechargeRequest { register, amount })
}

/// RECHARGE REQUEST for `amount` into `register`.
pub fn command(register: RegisterId, amount: &[u8; 8]) -> Command<'_> {
    Command::new(
        super::CLA_PROPRIETARY,
        INS,
        register as u8,
        0,
        amount,
        Some(256),
    )
}

/// One register as the card reports it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RegisterState {
    /// Everything ever charged.
    pub ascending: u64,
    /// Funds left.
    pub descending: u64,
    /// Pieces charged.
    pub pieces: u32,
}

impl RegisterState {
    /// Ascending + descending: everything ever loaded (`None`: overflow,
    /// which a card never holds).
    pub fn control_total(&self) -> Option<u64> {
        self.ascending.checked_add(self.descending)
    }

    fn write(&self, w: &mut Writer<'_>, t: Tag) -> Result<(), TlvError> {
        w.nested(t, |w| {
            w.put_u64(ASCENDING, self.ascending)?;
            w.put_u64(DESCENDING, self.descending)?;
            w.put_u64(
                CONTROL_TOTAL,
                self.control_total().ok_or(TlvError::Overflow)?,
            )?;
            w.put_u32(PIECES, self.pieces)
        })
    }

    fn read(signed: &Signed<'_>, t: Tag) -> Result<Self, FormatError> {
        let c = signed.field(t)?;
        let int = |tag: Tag, n: usize| {
            tlv::find(c, tag)
                .filter(|v| v.len() == n)
                .and_then(tlv::as_u64)
                .ok_or(FormatError::MissingField(tag))
        };
        let r = RegisterState {
            ascending: int(ASCENDING, 8)?,
            descending: int(DESCENDING, 8)?,
            pieces: int(PIECES, 4)? as u32,
        };
        // The stated control total must be the sum: a report is consistent.
        if r.control_total() != Some(int(CONTROL_TOTAL, 8)?) {
            return Err(FormatError::MissingField(CONTROL_TOTAL));
        }
        Ok(r)
    }
}

/// The card's state as a recharge request and an audit report carry it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MeterState {
    /// Postage register (244) and piece count (242).
    pub postage: RegisterState,
    /// Certificate register (250) and piece count (248).
    pub certificate: RegisterState,
    /// Transaction sequence.
    pub sequence: u32,
    /// The card's secure clock (232).
    pub clock: u64,
    /// Value loads accepted.
    pub load_count: u32,
    /// Postmarks signed.
    pub postmarks: u32,
    /// The rate table's version.
    pub rate_version: u32,
}

impl MeterState {
    /// Writes the state's fields (inside a signed body).
    pub fn write(&self, w: &mut Writer<'_>) -> Result<(), TlvError> {
        self.postage.write(w, POSTAGE)?;
        self.certificate.write(w, CERTIFICATE)?;
        w.put_u32(SEQUENCE, self.sequence)?;
        w.put_u64(TIME, self.clock)?;
        w.put_u32(LOAD_COUNT, self.load_count)?;
        w.put_u32(POSTMARK_COUNT, self.postmarks)?;
        w.put_u32(RATE_VERSION, self.rate_version)
    }

    /// Reads the state's fields from a signed body.
    pub fn read(signed: &Signed<'_>) -> Result<Self, FormatError> {
        Ok(MeterState {
            postage: RegisterState::read(signed, POSTAGE)?,
            certificate: RegisterState::read(signed, CERTIFICATE)?,
            sequence: signed.uint::<4>(SEQUENCE)? as u32,
            clock: signed.uint::<8>(TIME)?,
            load_count: signed.uint::<4>(LOAD_COUNT)? as u32,
            postmarks: signed.uint::<4>(POSTMARK_COUNT)? as u32,
            rate_version: signed.uint::<4>(RATE_VERSION)? as u32,
        })
    }

    /// The register `r`.
    pub fn register(&self, r: RegisterId) -> &RegisterState {
        match r {
            RegisterId::Postage => &self.postage,
            RegisterId::Certificate => &self.certificate,
        }
    }
}

/// The signed fields of a recharge request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RechargeRequestBody<'a> {
    /// The card.
    pub chip_id: &'a [u8; 8],
    /// The meter serial.
    pub serial: &'a [u8],
    /// The card challenge the value load must answer.
    pub challenge: &'a [u8; 16],
    /// The register to load.
    pub register: RegisterId,
    /// The amount asked for, minor units.
    pub amount: u64,
    /// The card's state.
    pub state: MeterState,
}

impl RechargeRequestBody<'_> {
    /// Writes the body's fields, the object type first.
    pub fn write_fields(&self, w: &mut Writer<'_>) -> Result<(), TlvError> {
        w.put(OBJECT_TYPE, &object_type(REQUEST))?;
        w.put(CHIP_ID, self.chip_id)?;
        w.put(cert::HOLDER, self.serial)?;
        w.put(CHALLENGE, self.challenge)?;
        w.put(REGISTER, &[self.register as u8])?;
        w.put_u64(AMOUNT, self.amount)?;
        self.state.write(w)
    }

    /// Writes the request, `sign` signing the body.
    pub fn write(
        &self,
        w: &mut Writer<'_>,
        sign: impl FnOnce(&[u8]) -> [u8; SIGNATURE_LEN],
    ) -> Result<(), TlvError> {
        signed::write(w, REQUEST, |w| self.write_fields(w), sign)
    }
}

/// A parsed recharge request.
#[derive(Clone, Copy, Debug)]
pub struct RechargeRequest<'a> {
    /// The signed object.
    pub signed: Signed<'a>,
    /// Its fields.
    pub body: RechargeRequestBody<'a>,
}

impl<'a> RechargeRequest<'a> {
    /// Parses a recharge request.
    pub fn parse(input: &'a [u8]) -> Result<Self, FormatError> {
        let signed = Signed::parse(input, REQUEST)?;
        check_type(&signed)?;
        Ok(RechargeRequest {
            signed,
            body: RechargeRequestBody {
                chip_id: signed.array::<8>(CHIP_ID)?,
                serial: signed.field(cert::HOLDER)?,
                challenge: signed.array::<16>(CHALLENGE)?,
                register: RegisterId::from_byte(signed.uint::<1>(REGISTER)? as u8)
                    .ok_or(FormatError::MissingField(REGISTER))?,
                amount: signed.uint::<8>(AMOUNT)?,
                state: MeterState::read(&signed)?,
            },
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::signed::testing::fake_sign;
    use proptest::prelude::*;

    pub(crate) fn state() -> impl Strategy<Value = MeterState> {
        let reg = (0..u64::MAX / 2, 0..u64::MAX / 2, any::<u32>()).prop_map(
            |(ascending, descending, pieces)| RegisterState {
                ascending,
                descending,
                pieces,
            },
        );
        (
            reg.clone(),
            reg,
            any::<u32>(),
            any::<u64>(),
            any::<u32>(),
            any::<u32>(),
            any::<u32>(),
        )
            .prop_map(
                |(postage, certificate, sequence, clock, load_count, postmarks, rate_version)| {
                    MeterState {
                        postage,
                        certificate,
                        sequence,
                        clock,
                        load_count,
                        postmarks,
                        rate_version,
                    }
                },
            )
    }

    proptest! {
        #[test]
        fn request_round_trip(
            chip_id in any::<[u8; 8]>(),
            challenge in any::<[u8; 16]>(),
            serial in proptest::collection::vec(any::<u8>(), 1..=16),
            amount in any::<u64>(),
            postage in any::<bool>(),
            state in state(),
        ) {
            let register = if postage { RegisterId::Postage } else { RegisterId::Certificate };
            let body = RechargeRequestBody { chip_id: &chip_id, serial: &serial, challenge: &challenge, register, amount, state };
            let mut buf = [0u8; 512];
            let mut w = Writer::new(&mut buf);
            body.write(&mut w, fake_sign).unwrap();
            prop_assert_eq!(RechargeRequest::parse(w.written()).unwrap().body, body);
        }

        #[test]
        fn request_parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = RechargeRequest::parse(&bytes);
        }
    }

    #[test]
    fn command_round_trip() {
        let amount = 1250u64.to_be_bytes();
        let cmd = command(RegisterId::Postage, &amount);
        assert_eq!(
            Request::parse(&cmd),
            Ok(Request::RechargeRequest {
                register: RegisterId::Postage,
                amount: &amount
            })
        );
    }
}
