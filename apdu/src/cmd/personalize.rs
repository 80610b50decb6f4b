//! PERSONALIZE (proprietary): `80 E0 00 00 Lc 7F70...`, carrying the
//! authority's personalization message, signed by the authority key that
//! the issuer root pinned in the card at manufacture certifies (the
//! authority certificate the message carries), and bound to the card by its
//! chip id and a GET CHALLENGE nonce:
//!
//! ```text
//! 7F70 personalization                     authority -> card, once, blank card
//!   7F4E { 80 object type 7F70, 81 chip id, 82 card challenge, 5F20 serial,
//!          7F23 { 7F21 authority certificate, by the issuer root, usage 10 },
//!          E1 rate table { 90 service||fee ... },
//!          83 time, 84 service deadline, 7F21 meter certificate }
//!   5F37 signature by the key the authority certificate certifies
//! ```

use super::get_data::tag::RATE_TABLE;
use super::{FormatError, Request};
use crate::cert::{self, Certificate};
use crate::command::Command;
use crate::signed::{self, SIGNATURE_LEN, Signed};
use crate::status::StatusWord;
use crate::tlv::{self, Tag, TlvError, Writer};

/// PERSONALIZE.
pub const INS: u8 = 0xE0;

/// Personalization message.
pub const PERSONALIZATION: Tag = 0x7F70;
/// The object type, repeated inside the signed body: the outer tag, two
/// bytes. Every message of the trust chain carries it first, so that the
/// signature covers which kind of object it is.
pub const OBJECT_TYPE: Tag = 0x80;
/// Chip identifier (8 bytes).
pub const CHIP_ID: Tag = 0x81;
/// The authority certificate template: one `7F21` signed by the issuer
/// root, certifying the authority key that signs the message.
pub const AUTHORITY_CERTIFICATE: Tag = 0x7F23;
/// Card challenge (16 bytes).
pub const CHALLENGE: Tag = 0x82;
/// Authority time, Unix seconds (u64).
pub const TIME: Tag = 0x83;
/// Service deadline, Unix seconds (u64): debits stop after it.
pub const DEADLINE: Tag = 0x84;

/// Longest meter serial, in bytes (Figure 2, 238).
pub const SERIAL_MAX_LEN: usize = 16;
/// Whether `serial` can be a meter serial: 1 to [`SERIAL_MAX_LEN`]
/// printable ASCII characters without spaces.
pub fn serial_well_formed(serial: &[u8]) -> bool {
    (1..=SERIAL_MAX_LEN).contains(&serial.len()) && serial.iter().all(u8::is_ascii_graphic)
}

pub(crate) fn parse<'a>(cmd: &Command<'a>) -> Result<Request<'a>, StatusWord> {
    super::p1p2_zero(cmd)?;
    super::some_data(cmd.data)?;
    Ok(Request::Personalize { message: cmd.data })
}

/// The PERSONALIZE command carrying `message`.
pub fn command(message: &[u8]) -> Command<'_> {
    super::prop(INS, 0, message, None)
}

/// The signed fields of a personalization message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PersonalizationBody<'a> {
    /// The card it is for.
    pub chip_id: &'a [u8; 8],
    /// The card challenge it answers.
    pub challenge: &'a [u8; 16],
    /// The meter serial to install.
    pub serial: &'a [u8],
    /// The authority certificate, encoded (`7F21`, by the issuer root):
    /// its key is installed.
    pub authority_certificate: &'a [u8],
    /// The content of the rate table: entries of service byte then fee
    /// u64 ([`super::get_data::RateTable::write_entries`]).
    pub rates: &'a [u8],
    /// Authority time.
    pub time: u64,
    /// Service deadline.
    pub deadline: u64,
    /// The meter certificate, encoded (`7F21`).
    pub certificate: &'a [u8],
    /// The authority's service policy (`A8`), if it sets one.
    pub policy: Option<super::sync::ServicePolicy>,
}

impl PersonalizationBody<'_> {
    /// Writes the body's fields (the content of `7F4E`).
    pub fn write_fields(&self, w: &mut Writer<'_>) -> Result<(), TlvError> {
        w.put(OBJECT_TYPE, &object_type(PERSONALIZATION))?;
        w.put(CHIP_ID, self.chip_id)?;
        w.put(CHALLENGE, self.challenge)?;
        w.put(cert::HOLDER, self.serial)?;
        w.nested(AUTHORITY_CERTIFICATE, |w| w.raw(self.authority_certificate))?;
        w.nested(RATE_TABLE, |w| w.raw(self.rates))?;
        w.put_u64(TIME, self.time)?;
        w.put_u64(DEADLINE, self.deadline)?;
        if let Some(p) = self.policy {
            p.write(w)?;
        }
        w.raw(self.certificate)
    }

    /// Writes the whole message, `sign` signing the encoded body.
    pub fn write(
        &self,
        w: &mut Writer<'_>,
        sign: impl FnOnce(&[u8]) -> [u8; SIGNATURE_LEN],
    ) -> Result<(), TlvError> {
        signed::write(w, PERSONALIZATION, |w| self.write_fields(w), sign)
    }
}

/// A parsed personalization message.
#[derive(Clone, Copy, Debug)]
pub struct Personalization<'a> {
    /// The signed object.
    pub signed: Signed<'a>,
    /// The card it is for.
    pub chip_id: &'a [u8; 8],
    /// The card challenge it answers.
    pub challenge: &'a [u8; 16],
    /// The meter serial to install.
    pub serial: &'a [u8],
    /// The authority certificate (by the issuer root): its key signs the
    /// message and is installed.
    pub authority_certificate: Certificate<'a>,
    /// The rate table: entries of service byte then fee u64.
    pub rates: &'a [u8],
    /// Authority time.
    pub time: u64,
    /// Service deadline.
    pub deadline: u64,
    /// The meter certificate.
    pub certificate: Certificate<'a>,
    /// The authority's service policy, if it sets one.
    pub policy: Option<super::sync::ServicePolicy>,
}

impl<'a> Personalization<'a> {
    /// Parses a personalization message.
    pub fn parse(input: &'a [u8]) -> Result<Self, FormatError> {
        let signed = Signed::parse(input, PERSONALIZATION)?;
        check_type(&signed)?;
        let authority_certificate = Certificate::parse(signed.field(AUTHORITY_CERTIFICATE)?)?;
        let rates = signed.field(RATE_TABLE)?;
        tlv::validate(rates).map_err(|_| FormatError::Malformed)?;
        let certificate = tlv::find_object(signed.fields, cert::CERTIFICATE)
            .ok_or(FormatError::MissingField(cert::CERTIFICATE))
            .and_then(Certificate::parse)?;
        Ok(Personalization {
            signed,
            chip_id: signed.array::<8>(CHIP_ID)?,
            challenge: signed.array::<16>(CHALLENGE)?,
            serial: signed.field(cert::HOLDER)?,
            authority_certificate,
            rates,
            time: signed.uint::<8>(TIME)?,
            deadline: signed.uint::<8>(DEADLINE)?,
            certificate,
            policy: super::sync::ServicePolicy::find(&signed)?,
        })
    }

    /// The signed fields.
    pub fn body(&self) -> PersonalizationBody<'a> {
        PersonalizationBody {
            chip_id: self.chip_id,
            challenge: self.challenge,
            serial: self.serial,
            authority_certificate: self.authority_certificate.signed.raw,
            rates: self.rates,
            time: self.time,
            deadline: self.deadline,
            certificate: self.certificate.signed.raw,
            policy: self.policy,
        }
    }
}

/// The value of [`OBJECT_TYPE`] for a signed object of kind `kind`: its
/// two-byte outer tag.
pub const fn object_type(kind: Tag) -> [u8; 2] {
    [(kind >> 8) as u8, kind as u8]
}

/// Checks that a signed object names its own outer tag in its first field
/// [`OBJECT_TYPE`] (inside the signed body).
pub fn check_type(signed: &Signed<'_>) -> Result<(), FormatError> {
    let first = signed.iter().next();
    match first {
        Some(t) if t.tag == OBJECT_TYPE && t.value == object_type(signed.kind) => Ok(()),
        _ => Err(FormatError::MissingField(OBJECT_TYPE)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cert::CertificateBody;
    use crate::cmd::get_data::{RateTable, Service};
    use crate::signed::testing::{encode, fake_sign};
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn personalization_round_trip(
            chip_id in any::<[u8; 8]>(),
            challenge in any::<[u8; 16]>(),
            serial in proptest::collection::vec(any::<u8>(), 0..=16),
            key in proptest::collection::vec(any::<u8>(), 65),
            fees in proptest::collection::vec(any::<u64>(), 0..6),
            (time, deadline, cert_serial) in (any::<u64>(), any::<u64>(), any::<u64>()),
        ) {
            let key: &[u8; 65] = key[..].try_into().unwrap();
            let authority_cert = encode(cert::CERTIFICATE, |w| CertificateBody {
                issuer: b"ROOT",
                holder: b"AUTH",
                serial: 0,
                public_key: key,
                usage: cert::usage::AUTHORITY,
                effective: time,
                expiry: deadline,
            }.write_fields(w));
            let cert = encode(cert::CERTIFICATE, |w| CertificateBody {
                issuer: b"AUTH",
                holder: &serial,
                serial: cert_serial,
                public_key: key,
                usage: cert::usage::POSTMARK,
                effective: time,
                expiry: deadline,
            }.write_fields(w));
            let mut rates = [0u8; 80];
            let mut w = Writer::new(&mut rates);
            RateTable::write_entries(&mut w, Service::ALL.into_iter().zip(fees)).unwrap();
            let body = PersonalizationBody {
                chip_id: &chip_id,
                challenge: &challenge,
                serial: &serial,
                authority_certificate: &authority_cert,
                rates: w.written(),
                time,
                deadline,
                certificate: &cert,
                policy: (time % 2 == 0).then_some(crate::cmd::sync::ServicePolicy {
                    service_days: 90,
                    grace_days: 30,
                    max_debits: cert_serial as u32,
                }),
            };
            let mut buf = [0u8; 1024];
            let mut w = Writer::new(&mut buf);
            body.write(&mut w, fake_sign).unwrap();
            let p = Personalization::parse(w.written()).unwrap();
            prop_assert_eq!(p.body(), body);
            prop_assert_eq!(p.signed.signature, &fake_sign(p.signed.signed_bytes));
        }

        #[test]
        fn personalization_parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = Personalization::parse(&bytes);
        }
    }
}
