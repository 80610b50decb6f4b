//! Figure 6, revocation of a certificate on the card.
//!
//! ```text
//! REVOKE REQUEST  80 3E slot reason 00          card signs the request (602)
//! REVOKE          80 40 00 00 Lc 7F7D... 00     authority's message (608) in,
//!                                               card's confirmation (620/624) out
//!
//! 7F7C revocation request                    card -> authority (meter key)
//!   7F4E { 80 object type 7F7C, 81 chip id, 5F20 serial, 82 card challenge,
//!          85 slot, 86 certificate serial, 87 reason }
//!   5F37 meter signature
//! 7F7D revocation message                    authority -> card
//!   7F4E { 80 object type 7F7D, 81 chip id, 5F20 serial, 82 card challenge,
//!          85 slot, 86 certificate serial, 87 reason, 83 time,
//!          88 payment (01 payable, 00 forced: payment disabled) }
//!   5F37 authority signature
//! 7F7E revocation confirmation               card -> authority (meter key)
//!   7F4E { 80 object type 7F7E, 81 chip id, 5F20 serial, 82 card challenge,
//!          85 slot, 86 certificate serial, 87 reason, 83 time,
//!          88 payment state (00 none, 01 paid, 02 due), 89 fee,
//!          8A certificate register ascending }
//!   5F37 meter signature
//! ```
//!
//! The challenge is the card's GET CHALLENGE nonce: REVOKE REQUEST reads it
//! without consuming it, REVOKE consumes it (any attempt), so a revocation
//! message is good for one REVOKE on one card, one slot, one certificate.

use super::Request;
use super::personalize::{CHALLENGE, CHIP_ID, OBJECT_TYPE, TIME, check_type, object_type};
use crate::cert;
use crate::command::Command;
use crate::signed::{self, FormatError, SIGNATURE_LEN, Signed};
use crate::status::StatusWord;
use crate::tlv::{Tag, TlvError, Writer};

/// REVOKE REQUEST.
pub const INS_REQUEST: u8 = 0x3E;
/// REVOKE.
pub const INS_REVOKE: u8 = 0x40;
/// The revocation request (card -> authority).
pub const REQUEST: Tag = 0x7F7C;
/// The revocation message (authority -> card).
pub const MESSAGE: Tag = 0x7F7D;
/// The revocation confirmation (card -> authority).
pub const CONFIRMATION: Tag = 0x7F7E;
/// The certificate slot.
pub const SLOT: Tag = 0x85;
/// The serial of the certificate revoked.
pub const CERTIFICATE_SERIAL: Tag = 0x86;
/// The RFC 5280 reason code.
pub const REASON: Tag = 0x87;
/// The message's payment mode, or the confirmation's payment state.
pub const PAYMENT: Tag = 0x88;
/// The fee charged or due.
pub const FEE: Tag = 0x89;
/// The certificate register's ascending value after the revocation.
pub const ASCENDING: Tag = 0x8A;
/// The highest RFC 5280 reason code (`aACompromise`); 7 is unused.
pub const REASON_MAX: u8 = 10;

/// The payment mode the authority sets in its message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Payment {
    /// Forced revocation: no payment, none due.
    Disabled = 0,
    /// The card pays the Revoke fee (624), or records it as due (620).
    Payable = 1,
}

/// What the card did about the fee (its confirmation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PaymentState {
    /// Forced: nothing charged, nothing due.
    None = 0,
    /// 624: the fee was deducted.
    Paid = 1,
    /// 620: the funds were short; the fee is due at the next contact.
    Due = 2,
}

/// Whether `reason` is an RFC 5280 reason code (0-10 without 7).
pub const fn valid_reason(reason: u8) -> bool {
    reason <= REASON_MAX && reason != 7
}

pub(crate) fn parse_request<'a>(cmd: &Command<'a>) -> Result<Request<'a>, StatusWord> {
    super::no_data(cmd.data)?;
    if !valid_reason(cmd.p2) {
        return Err(StatusWord::INCORRECT_P1P2);
    }
    Ok(Request::RevokeRequest {
        slot: cmd.p1,
        reason: cmd.p2,
    })
}

pub(crate) fn parse_revoke<'a>(cmd: &Command<'a>) -> Result<Request<'a>, StatusWord> {
    super::p1p2_zero(cmd)?;
    super::some_data(cmd.data)?;
    Ok(Request::Revoke { message: cmd.data })
}

/// REVOKE REQUEST for `slot` with `reason`.
pub fn request_command(slot: u8, reason: u8) -> Command<'static> {
    Command::new(
        super::CLA_PROPRIETARY,
        INS_REQUEST,
        slot,
        reason,
        &[],
        Some(256),
    )
}

/// REVOKE carrying `message`.
pub fn revoke_command(message: &[u8]) -> Command<'_> {
    super::prop(INS_REVOKE, 0, message, Some(256))
}

/// The fields every revocation object carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Subject<'a> {
    /// The card.
    pub chip_id: &'a [u8; 8],
    /// The meter serial.
    pub serial: &'a [u8],
    /// The card challenge the exchange is bound to.
    pub challenge: &'a [u8; 16],
    /// The certificate slot.
    pub slot: u8,
    /// The serial of the certificate in that slot.
    pub certificate_serial: u64,
    /// RFC 5280 reason code.
    pub reason: u8,
}

impl<'a> Subject<'a> {
    fn write(&self, w: &mut Writer<'_>, kind: Tag) -> Result<(), TlvError> {
        w.put(OBJECT_TYPE, &object_type(kind))?;
        w.put(CHIP_ID, self.chip_id)?;
        w.put(cert::HOLDER, self.serial)?;
        w.put(CHALLENGE, self.challenge)?;
        w.put(SLOT, &[self.slot])?;
        w.put_u64(CERTIFICATE_SERIAL, self.certificate_serial)?;
        w.put(REASON, &[self.reason])
    }

    fn read(signed: &Signed<'a>) -> Result<Self, FormatError> {
        check_type(signed)?;
        let reason = signed.uint::<1>(REASON)? as u8;
        if !valid_reason(reason) {
            return Err(FormatError::MissingField(REASON));
        }
        Ok(Subject {
            chip_id: signed.array::<8>(CHIP_ID)?,
            serial: signed.field(cert::HOLDER)?,
            challenge: signed.array::<16>(CHALLENGE)?,
            slot: signed.uint::<1>(SLOT)? as u8,
            certificate_serial: signed.uint::<8>(CERTIFICATE_SERIAL)?,
            reason,
        })
    }
}

/// A parsed revocation request (602).
#[derive(Clone, Copy, Debug)]
pub struct RevocationRequest<'a> {
    /// The signed object.
    pub signed: Signed<'a>,
    /// Its fields.
    pub subject: Subject<'a>,
}

impl<'a> RevocationRequest<'a> {
    /// Writes a request, `sign` signing the body.
    pub fn write(
        subject: &Subject<'_>,
        w: &mut Writer<'_>,
        sign: impl FnOnce(&[u8]) -> [u8; SIGNATURE_LEN],
    ) -> Result<(), TlvError> {
        signed::write(w, REQUEST, |w| subject.write(w, REQUEST), sign)
    }

    /// Parses a request.
    pub fn parse(input: &'a [u8]) -> Result<Self, FormatError> {
        let signed = Signed::parse(input, REQUEST)?;
        Ok(RevocationRequest {
            signed,
            subject: Subject::read(&signed)?,
        })
    }
}

/// The signed fields of a revocation message (608).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MessageBody<'a> {
    /// Card, slot, certificate, challenge and reason.
    pub subject: Subject<'a>,
    /// Authority time of the revocation.
    pub time: u64,
    /// Whether the card pays.
    pub payment: Payment,
}

impl MessageBody<'_> {
    /// Writes the message, `sign` signing the body.
    pub fn write(
        &self,
        w: &mut Writer<'_>,
        sign: impl FnOnce(&[u8]) -> [u8; SIGNATURE_LEN],
    ) -> Result<(), TlvError> {
        signed::write(
            w,
            MESSAGE,
            |w| {
                self.subject.write(w, MESSAGE)?;
                w.put_u64(TIME, self.time)?;
                w.put(PAYMENT, &[self.payment as u8])
            },
            sign,
        )
    }
}

/// A parsed revocation message.
#[derive(Clone, Copy, Debug)]
pub struct RevocationMessage<'a> {
    /// The signed object.
    pub signed: Signed<'a>,
    /// Its fields.
    pub body: MessageBody<'a>,
}

impl<'a> RevocationMessage<'a> {
    /// Parses a message.
    pub fn parse(input: &'a [u8]) -> Result<Self, FormatError> {
        let signed = Signed::parse(input, MESSAGE)?;
        let payment = match signed.uint::<1>(PAYMENT)? {
            0 => Payment::Disabled,
            1 => Payment::Payable,
            _ => return Err(FormatError::MissingField(PAYMENT)),
        };
        Ok(RevocationMessage {
            signed,
            body: MessageBody {
                subject: Subject::read(&signed)?,
                time: signed.uint::<8>(TIME)?,
                payment,
            },
        })
    }
}

/// The signed fields of a revocation confirmation (620/624).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConfirmationBody<'a> {
    /// As in the message.
    pub subject: Subject<'a>,
    /// The time the card revoked (its clock, at least the message's).
    pub time: u64,
    /// Paid, due or none.
    pub payment: PaymentState,
    /// The Revoke fee paid or due (0 when forced).
    pub fee: u64,
    /// The certificate register's ascending value afterwards.
    pub ascending: u64,
}

impl ConfirmationBody<'_> {
    /// The body's fields after the object type's.
    pub fn write_fields(&self, w: &mut Writer<'_>) -> Result<(), TlvError> {
        self.subject.write(w, CONFIRMATION)?;
        w.put_u64(TIME, self.time)?;
        w.put(PAYMENT, &[self.payment as u8])?;
        w.put_u64(FEE, self.fee)?;
        w.put_u64(ASCENDING, self.ascending)
    }

    /// Writes the confirmation, `sign` signing the body.
    pub fn write(
        &self,
        w: &mut Writer<'_>,
        sign: impl FnOnce(&[u8]) -> [u8; SIGNATURE_LEN],
    ) -> Result<(), TlvError> {
        signed::write(w, CONFIRMATION, |w| self.write_fields(w), sign)
    }
}

/// A parsed revocation confirmation.
#[derive(Clone, Copy, Debug)]
pub struct RevocationConfirmation<'a> {
    /// The signed object.
    pub signed: Signed<'a>,
    /// Its fields.
    pub body: ConfirmationBody<'a>,
}

impl<'a> RevocationConfirmation<'a> {
    /// Parses a confirmation.
    pub fn parse(input: &'a [u8]) -> Result<Self, FormatError> {
        let signed = Signed::parse(input, CONFIRMATION)?;
        let payment = match signed.uint::<1>(PAYMENT)? {
            0 => PaymentState::None,
            1 => PaymentState::Paid,
            2 => PaymentState::Due,
            _ => return Err(FormatError::MissingField(PAYMENT)),
        };
        Ok(RevocationConfirmation {
            signed,
            body: ConfirmationBody {
                subject: Subject::read(&signed)?,
                time: signed.uint::<8>(TIME)?,
                payment,
                fee: signed.uint::<8>(FEE)?,
                ascending: signed.uint::<8>(ASCENDING)?,
            },
        })
    }
}

/// The revocation list (authority -> anyone), signed with the authority
/// key: `7F7F { 7F4E { 80 7F7F, 42 issuer, 90 number, 83 time,
/// A1 { 86 certificate serial, 83 revoked at, 87 reason }*,
/// A2 { 42 issuing meter, 86 certificate serial, 83 revoked at, 87 reason }* },
/// 5F37 }`: `A1` the authority's certificates, `A2` certificates a meter
/// issued as its agent (Figure 3A), named by the meter and its serial.
pub const CRL: Tag = 0x7F7F;
/// The list number (u64): every list the authority publishes has a larger
/// one than the last.
pub const CRL_NUMBER: Tag = 0x90;
/// One revoked certificate in the list.
pub const CRL_ENTRY: Tag = 0xA1;
/// One revoked agent certificate in the list (issuer and serial).
pub const CRL_AGENT_ENTRY: Tag = 0xA2;
/// Longest meter serial in an agent entry.
pub const CRL_ISSUER_MAX_LEN: usize = 32;

/// One revoked agent certificate (Figure 3A) in the list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AgentCrlEntry<'a> {
    /// The meter that issued it (its serial: the agent certificate's
    /// issuer).
    pub issuer: &'a [u8],
    /// Its serial on that meter, when and why it was revoked.
    pub entry: CrlEntry,
}

/// One entry of the revocation list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CrlEntry {
    /// The certificate serial.
    pub certificate_serial: u64,
    /// When it was revoked (Unix seconds): postmarks dated after this are
    /// not valid.
    pub revoked_at: u64,
    /// RFC 5280 reason code.
    pub reason: u8,
}

/// Writes a revocation list, `sign` signing the body.
pub fn write_crl(
    w: &mut Writer<'_>,
    issuer: &[u8],
    number: u64,
    time: u64,
    entries: &[CrlEntry],
    agents: &[AgentCrlEntry<'_>],
    sign: impl FnOnce(&[u8]) -> [u8; SIGNATURE_LEN],
) -> Result<(), TlvError> {
    signed::write(
        w,
        CRL,
        |w| {
            w.put(OBJECT_TYPE, &object_type(CRL))?;
            w.put(cert::ISSUER, issuer)?;
            w.put_u64(CRL_NUMBER, number)?;
            w.put_u64(TIME, time)?;
            for e in entries {
                w.nested(CRL_ENTRY, |w| {
                    w.put_u64(CERTIFICATE_SERIAL, e.certificate_serial)?;
                    w.put_u64(TIME, e.revoked_at)?;
                    w.put(REASON, &[e.reason])
                })?;
            }
            for a in agents {
                w.nested(CRL_AGENT_ENTRY, |w| {
                    w.put(cert::ISSUER, a.issuer)?;
                    w.put_u64(CERTIFICATE_SERIAL, a.entry.certificate_serial)?;
                    w.put_u64(TIME, a.entry.revoked_at)?;
                    w.put(REASON, &[a.entry.reason])
                })?;
            }
            Ok(())
        },
        sign,
    )
}

/// A parsed revocation list.
#[derive(Clone, Copy, Debug)]
pub struct Crl<'a> {
    /// The signed object.
    pub signed: Signed<'a>,
    /// The issuer's name.
    pub issuer: &'a [u8],
    /// The list number.
    pub number: u64,
    /// When it was made.
    pub time: u64,
}

impl<'a> Crl<'a> {
    /// Parses a list, its entries included.
    pub fn parse(input: &'a [u8]) -> Result<Self, FormatError> {
        let signed = Signed::parse(input, CRL)?;
        check_type(&signed)?;
        let crl = Crl {
            signed,
            issuer: signed.field(cert::ISSUER)?,
            number: signed.uint::<8>(CRL_NUMBER)?,
            time: signed.uint::<8>(TIME)?,
        };
        for e in crl.entries() {
            e?;
        }
        for e in crl.agent_entries() {
            e?;
        }
        Ok(crl)
    }

    /// The entries, in order.
    pub fn entries(&self) -> impl Iterator<Item = Result<CrlEntry, FormatError>> + 'a {
        crate::tlv::iter(self.signed.fields)
            .map_while(Result::ok)
            .filter(|t| t.tag == CRL_ENTRY)
            .map(|t| entry(t.value))
    }

    /// The agent entries, in order.
    pub fn agent_entries(
        &self,
    ) -> impl Iterator<Item = Result<AgentCrlEntry<'a>, FormatError>> + 'a {
        crate::tlv::iter(self.signed.fields)
            .map_while(Result::ok)
            .filter(|t| t.tag == CRL_AGENT_ENTRY)
            .map(|t| {
                let issuer = crate::tlv::find(t.value, cert::ISSUER)
                    .filter(|i| !i.is_empty() && i.len() <= CRL_ISSUER_MAX_LEN)
                    .ok_or(FormatError::MissingField(cert::ISSUER))?;
                Ok(AgentCrlEntry {
                    issuer,
                    entry: entry(t.value)?,
                })
            })
    }

    /// The entry of the agent certificate `serial` issued by meter
    /// `issuer`, if it is revoked.
    pub fn find_agent(&self, issuer: &[u8], serial: u64) -> Option<CrlEntry> {
        self.agent_entries()
            .filter_map(Result::ok)
            .find(|a| a.issuer == issuer && a.entry.certificate_serial == serial)
            .map(|a| a.entry)
    }

    /// The entry of certificate `serial`, if it is revoked.
    pub fn find(&self, serial: u64) -> Option<CrlEntry> {
        self.entries()
            .filter_map(Result::ok)
            .find(|e| e.certificate_serial == serial)
    }
}

/// The serial, time and reason of an entry's value.
fn entry(value: &[u8]) -> Result<CrlEntry, FormatError> {
    let field = |tag| crate::tlv::find(value, tag).ok_or(FormatError::MissingField(tag));
    let uint = |tag| {
        field(tag).and_then(|v| {
            (v.len() == 8)
                .then(|| crate::tlv::as_u64(v))
                .flatten()
                .ok_or(FormatError::MissingField(tag))
        })
    };
    let reason = field(REASON)?;
    Ok(CrlEntry {
        certificate_serial: uint(CERTIFICATE_SERIAL)?,
        revoked_at: uint(TIME)?,
        reason: match reason {
            [r] if valid_reason(*r) => *r,
            _ => return Err(FormatError::MissingField(REASON)),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signed::testing::fake_sign;
    use proptest::prelude::*;

    fn reason() -> impl Strategy<Value = u8> {
        (0u8..=REASON_MAX).prop_filter("7 unused", |r| *r != 7)
    }

    proptest! {
        #[test]
        fn revocation_round_trip(
            chip_id in any::<[u8; 8]>(),
            challenge in any::<[u8; 16]>(),
            serial in proptest::collection::vec(any::<u8>(), 1..=16),
            slot in 0u8..4,
            certificate_serial in any::<u64>(),
            reason in reason(),
            time in any::<u64>(),
            fee in any::<u64>(),
            ascending in any::<u64>(),
            pay in any::<bool>(),
        ) {
            let subject = Subject { chip_id: &chip_id, serial: &serial, challenge: &challenge, slot, certificate_serial, reason };
            let mut buf = [0u8; 512];
            let mut w = Writer::new(&mut buf);
            RevocationRequest::write(&subject, &mut w, fake_sign).unwrap();
            prop_assert_eq!(RevocationRequest::parse(w.written()).unwrap().subject, subject);

            let payment = if pay { Payment::Payable } else { Payment::Disabled };
            let body = MessageBody { subject, time, payment };
            let mut w = Writer::new(&mut buf);
            body.write(&mut w, fake_sign).unwrap();
            prop_assert_eq!(RevocationMessage::parse(w.written()).unwrap().body, body);
            // The object type is signed: a message is not a request.
            prop_assert!(RevocationRequest::parse(w.written()).is_err());

            let c = ConfirmationBody { subject, time, payment: PaymentState::Due, fee, ascending };
            let mut w = Writer::new(&mut buf);
            c.write(&mut w, fake_sign).unwrap();
            prop_assert_eq!(RevocationConfirmation::parse(w.written()).unwrap().body, c);
        }

        #[test]
        fn revocation_parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = RevocationRequest::parse(&bytes);
            let _ = RevocationMessage::parse(&bytes);
            let _ = RevocationConfirmation::parse(&bytes);
        }
    }

    proptest! {
        #[test]
        fn crl_round_trip(
            number in any::<u64>(),
            time in any::<u64>(),
            entries in proptest::collection::vec((any::<u64>(), any::<u64>(), reason()), 0..8),
            agents in proptest::collection::vec(
                (proptest::collection::vec(any::<u8>(), 1..=CRL_ISSUER_MAX_LEN), any::<u64>(), any::<u64>(), reason()),
                0..4,
            ),
        ) {
            let entries: Vec<CrlEntry> = entries
                .into_iter()
                .map(|(certificate_serial, revoked_at, reason)| CrlEntry { certificate_serial, revoked_at, reason })
                .collect();
            let agents: Vec<AgentCrlEntry<'_>> = agents
                .iter()
                .map(|(issuer, certificate_serial, revoked_at, reason)| AgentCrlEntry {
                    issuer,
                    entry: CrlEntry { certificate_serial: *certificate_serial, revoked_at: *revoked_at, reason: *reason },
                })
                .collect();
            let mut buf = [0u8; 2048];
            let mut w = Writer::new(&mut buf);
            write_crl(&mut w, b"CA", number, time, &entries, &agents, fake_sign).unwrap();
            let crl = Crl::parse(w.written()).unwrap();
            prop_assert_eq!((crl.issuer, crl.number, crl.time), (&b"CA"[..], number, time));
            let got: Vec<CrlEntry> = crl.entries().map(Result::unwrap).collect();
            prop_assert_eq!(got, entries);
            let got: Vec<AgentCrlEntry<'_>> = crl.agent_entries().map(Result::unwrap).collect();
            prop_assert_eq!(&got, &agents);
            for a in &agents {
                prop_assert!(crl.find_agent(a.issuer, a.entry.certificate_serial).is_some());
            }
        }
    }

    #[test]
    fn reasons() {
        assert!(valid_reason(0) && valid_reason(10) && !valid_reason(7) && !valid_reason(11));
    }
}
