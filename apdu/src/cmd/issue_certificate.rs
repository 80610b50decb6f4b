//! ISSUE CERTIFICATE (proprietary): `80 36 00 00 Lc request 00`, Figure 3A:
//! the card as a certificate agent. The card generates a key pair for a
//! named holder (351), certifies its public key with the meter key (356,
//! 364) after the funds check (358/360) and the deduction (362), and
//! returns the certificate with the private key sealed to the receiver's
//! public key (354, [`crate::ecies`]): the private key never leaves the
//! card in clear, and the card keeps no copy.
//!
//! ```text
//! request (350): these four objects, in this order, nothing else (one encoding)
//!   5F20 holder             the new certificate's holder name, 1..=32 printable bytes
//!   7F49 receiver key       { 86 uncompressed P-256 point }
//!   7F4C authorized use     { 53 usage bits: POSTMARK | SIGNING | METERING only }
//!   97   validity           days, u16, 1..=3650
//!
//! answer (366) = agent certificate || sealed key
//! 7F22 agent certificate
//!   7F4E body (signed)
//!     80   object type        7F22: the type is signed, no other body passes for it
//!     5F29 profile ... 5F24 expiry   the fields of a 7F21 certificate (crate::cert):
//!                             issuer = the meter serial, serial = the card's
//!                             transaction number of the charge, effective = the
//!                             card's clock, expiry = effective + days (at most
//!                             the meter certificate's expiry)
//!   5F37 signature            meter key, ECDSA P-256 over the encoded 7F4E
//! 7F7B sealed key
//!   93   serial               the agent certificate's serial
//!   9A   sealed               ECIES (HPKE) of the 32-byte private scalar to the
//!                             receiver key, AAD = SHA-256 of the certificate's
//!                             encoded 7F4E (113 bytes)
//! ```
//!
//! An agent certificate file is the answer followed by the meter's
//! certificate (`7F21`, by the authority): the chain authority -> meter ->
//! agent certificate.

use super::{FormatError, Request};
use crate::cert::{self, Certificate, CertificateBody};
use crate::command::Command;
use crate::signed::{self, SIGNATURE_LEN, Signed};
use crate::status::StatusWord;
use crate::tlv::{self, Tag, TlvError, Writer};

/// ISSUE CERTIFICATE.
pub const INS: u8 = 0x36;
/// The agent certificate object.
pub const AGENT_CERTIFICATE: Tag = 0x7F22;
/// The sealed key object.
pub const SEALED_KEY: Tag = 0x7F7B;
/// Object type, the first field of the signed body: the outer tag, two
/// bytes (as in every authority message, [`super::personalize::check_type`]).
pub const OBJECT_TYPE: Tag = super::personalize::OBJECT_TYPE;
/// The value of [`OBJECT_TYPE`] in an agent certificate.
pub const AGENT_TYPE: [u8; 2] = super::personalize::object_type(AGENT_CERTIFICATE);
/// Validity in days (request).
pub const VALIDITY_DAYS: Tag = 0x97;
/// The sealed private key (inside [`SEALED_KEY`]).
pub const SEALED: Tag = 0x9A;
/// Longest holder name.
pub const HOLDER_MAX_LEN: usize = 32;
/// Longest validity, days.
pub const MAX_DAYS: u16 = 3650;
/// Usage bits an agent may grant: not ISSUE_CERTIFICATES (no sub-agents),
/// not AUTHORITY, not ATTESTATION.
pub const GRANTABLE: u8 = cert::usage::POSTMARK | cert::usage::METERING | cert::usage::SIGNING;
/// Bytes of the sealed private key: the 32-byte scalar and the ECIES
/// overhead (the 65-byte ephemeral point and the 16-byte GCM tag). The wire
/// size does not depend on the `crypto` feature.
pub const SEALED_LEN: usize = 32 + 65 + 16;
#[cfg(feature = "crypto")]
const _: () = assert!(SEALED_LEN == 32 + crate::ecies::OVERHEAD);
/// Longest request: holder, receiver key, usage, days.
pub const REQUEST_MAX_LEN: usize = (3 + HOLDER_MAX_LEN) + (3 + 2 + 65) + (3 + 3) + (1 + 1 + 2);
/// Seconds in a day.
pub const DAY: u64 = 86_400;

/// The request of ISSUE CERTIFICATE, validated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IssueRequest<'a> {
    /// Holder name of the new certificate.
    pub holder: &'a [u8],
    /// The receiver's public key, uncompressed (not yet checked to be on the
    /// curve: the card does that).
    pub receiver: &'a [u8; 65],
    /// Usage bits, within [`GRANTABLE`], not zero.
    pub usage: u8,
    /// Validity in days, 1..=[`MAX_DAYS`].
    pub days: u16,
}

fn holder_ok(h: &[u8]) -> bool {
    (1..=HOLDER_MAX_LEN).contains(&h.len()) && h.iter().all(|b| (0x20..0x7F).contains(b))
}

impl<'a> IssueRequest<'a> {
    /// Parses and validates the request's data (6A80 when anything is wrong).
    pub fn parse(data: &'a [u8]) -> Result<Self, FormatError> {
        tlv::validate(data).map_err(|_| FormatError::Malformed)?;
        let holder = super::field(data, cert::HOLDER)?;
        if !holder_ok(holder) {
            return Err(FormatError::MissingField(cert::HOLDER));
        }
        let key = super::field(data, cert::PUBLIC_KEY)?;
        let receiver = tlv::find(key, cert::EC_POINT)
            .and_then(|p| <&[u8; 65]>::try_from(p).ok())
            .ok_or(FormatError::MissingField(cert::EC_POINT))?;
        let usage = match tlv::find(super::field(data, cert::USAGE)?, cert::USAGE_BITS) {
            Some([u]) if *u != 0 && u & !GRANTABLE == 0 => *u,
            _ => return Err(FormatError::MissingField(cert::USAGE_BITS)),
        };
        let days = match super::field(data, VALIDITY_DAYS)? {
            [a, b] => u16::from_be_bytes([*a, *b]),
            _ => return Err(FormatError::MissingField(VALIDITY_DAYS)),
        };
        if !(1..=MAX_DAYS).contains(&days) {
            return Err(FormatError::MissingField(VALIDITY_DAYS));
        }
        let req = IssueRequest {
            holder,
            receiver,
            usage,
            days,
        };
        // Exactly these four objects, in this order, nothing else: the
        // request has one encoding.
        let mut buf = [0u8; REQUEST_MAX_LEN];
        let mut w = Writer::new(&mut buf);
        req.write(&mut w).map_err(|_| FormatError::Malformed)?;
        if w.written() != data {
            return Err(FormatError::Malformed);
        }
        Ok(req)
    }

    /// Writes the request's data.
    pub fn write(&self, w: &mut Writer<'_>) -> Result<(), TlvError> {
        w.put(cert::HOLDER, self.holder)?;
        w.nested(cert::PUBLIC_KEY, |w| w.put(cert::EC_POINT, self.receiver))?;
        w.nested(cert::USAGE, |w| w.put(cert::USAGE_BITS, &[self.usage]))?;
        w.put(VALIDITY_DAYS, &self.days.to_be_bytes())
    }
}

pub(crate) fn parse<'a>(cmd: &Command<'a>) -> Result<Request<'a>, StatusWord> {
    super::p1p2_zero(cmd)?;
    super::some_data(cmd.data)?;
    // Length and well-formedness here; the fields' meaning (6A80) in the flow.
    Ok(Request::IssueCertificate { request: cmd.data })
}

/// The ISSUE CERTIFICATE command.
pub fn command(request: &[u8]) -> Command<'_> {
    super::prop(INS, 0, request, Some(256))
}

/// Writes the signed fields of an agent certificate: the object type, then
/// the certificate fields.
pub fn write_agent_fields(body: &CertificateBody<'_>, w: &mut Writer<'_>) -> Result<(), TlvError> {
    w.put(OBJECT_TYPE, &AGENT_TYPE)?;
    body.write_fields(w)
}

/// Writes an agent certificate, `sign` signing the encoded body.
pub fn write_agent(
    body: &CertificateBody<'_>,
    w: &mut Writer<'_>,
    sign: impl FnOnce(&[u8]) -> [u8; SIGNATURE_LEN],
) -> Result<(), TlvError> {
    signed::write(w, AGENT_CERTIFICATE, |w| write_agent_fields(body, w), sign)
}

/// Reads an agent certificate from the front of `input`: the outer tag must
/// be 7F22 and the signed object type too.
pub fn read_agent(input: &[u8]) -> Result<(Certificate<'_>, &[u8]), FormatError> {
    let (signed, rest) = Signed::read(input, AGENT_CERTIFICATE)?;
    super::personalize::check_type(&signed)?;
    Ok((Certificate::from_signed(signed)?, rest))
}

/// The sealed private key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SealedKey<'a> {
    /// The agent certificate's serial.
    pub serial: u64,
    /// ECIES ciphertext: ephemeral key, encrypted scalar, tag.
    pub sealed: &'a [u8; SEALED_LEN],
}

impl<'a> SealedKey<'a> {
    /// Writes `7F7B { 93 serial, 80 sealed }`.
    pub fn write(&self, w: &mut Writer<'_>) -> Result<(), TlvError> {
        w.nested(SEALED_KEY, |w| {
            w.put_u64(cert::SERIAL, self.serial)?;
            w.put(SEALED, self.sealed)
        })
    }

    /// Reads a sealed key from the front of `input`.
    pub fn read(input: &'a [u8]) -> Result<(Self, &'a [u8]), FormatError> {
        let (t, rest) = tlv::read(input).map_err(|_| FormatError::Malformed)?;
        if t.tag != SEALED_KEY {
            return Err(FormatError::WrongType);
        }
        tlv::validate(t.value).map_err(|_| FormatError::Malformed)?;
        let serial = super::uint(t.value, cert::SERIAL, u64::MAX)?;
        let sealed = super::field(t.value, SEALED)?
            .try_into()
            .map_err(|_| FormatError::MissingField(SEALED))?;
        Ok((SealedKey { serial, sealed }, rest))
    }
}

/// The AAD of the sealed key: SHA-256 of the agent certificate's encoded
/// body object (what its signature covers).
#[cfg(feature = "crypto")]
pub fn aad(certificate: &Certificate<'_>) -> [u8; 32] {
    crate::crypto::sha256(certificate.signed.signed_bytes)
}

/// An agent certificate file: the ISSUE CERTIFICATE answer (certificate and
/// sealed key), then the issuing meter's certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AgentFile<'a> {
    /// The agent certificate (7F22), by the meter key.
    pub certificate: Certificate<'a>,
    /// The sealed private key.
    pub sealed: SealedKey<'a>,
    /// The issuing meter's certificate (7F21), by the authority.
    pub meter: Certificate<'a>,
}

impl<'a> AgentFile<'a> {
    /// Parses the card's answer (certificate and sealed key).
    pub fn parse_answer(input: &'a [u8]) -> Result<(Certificate<'a>, SealedKey<'a>), FormatError> {
        let (certificate, rest) = read_agent(input)?;
        match SealedKey::read(rest)? {
            (sealed, []) => Ok((certificate, sealed)),
            _ => Err(FormatError::Malformed),
        }
    }

    /// Parses a whole file.
    pub fn parse(input: &'a [u8]) -> Result<Self, FormatError> {
        let (certificate, rest) = read_agent(input)?;
        let (sealed, rest) = SealedKey::read(rest)?;
        let meter = Certificate::parse(rest)?;
        Ok(AgentFile {
            certificate,
            sealed,
            meter,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signed::testing::fake_sign;
    use proptest::prelude::*;

    fn request_bytes(r: &IssueRequest<'_>) -> Vec<u8> {
        let mut buf = [0u8; 200];
        let mut w = Writer::new(&mut buf);
        r.write(&mut w).unwrap();
        w.written().to_vec()
    }

    #[test]
    fn request_validation() {
        let key = [4u8; 65];
        let ok = IssueRequest {
            holder: b"alice",
            receiver: &key,
            usage: cert::usage::SIGNING,
            days: 365,
        };
        assert_eq!(IssueRequest::parse(&request_bytes(&ok)), Ok(ok));
        let longest = IssueRequest {
            holder: &[b'h'; HOLDER_MAX_LEN],
            ..ok
        };
        assert_eq!(request_bytes(&longest).len(), REQUEST_MAX_LEN);
        assert_eq!(IssueRequest::parse(&request_bytes(&longest)), Ok(longest));
        // One encoding: a trailing object, or the fields in another order,
        // are refused.
        let mut trailing = request_bytes(&ok);
        trailing.extend([0x99, 0x00]);
        assert!(IssueRequest::parse(&trailing).is_err());
        let bytes = request_bytes(&ok);
        let holder_len = 3 + ok.holder.len();
        let swapped = [&bytes[holder_len..], &bytes[..holder_len]].concat();
        assert!(IssueRequest::parse(&swapped).is_err());
        for bad in [
            IssueRequest { holder: b"", ..ok },
            IssueRequest {
                holder: b"tab\there",
                ..ok
            },
            IssueRequest { usage: 0, ..ok },
            IssueRequest {
                usage: cert::usage::ISSUE_CERTIFICATES,
                ..ok
            },
            IssueRequest {
                usage: cert::usage::AUTHORITY | cert::usage::SIGNING,
                ..ok
            },
            IssueRequest { days: 0, ..ok },
            IssueRequest {
                holder: &[b'h'; HOLDER_MAX_LEN + 1],
                ..ok
            },
            IssueRequest {
                days: MAX_DAYS + 1,
                ..ok
            },
        ] {
            assert!(
                IssueRequest::parse(&request_bytes(&bad)).is_err(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn a_7f21_body_is_no_agent_certificate() {
        let key = [4u8; 65];
        let body = CertificateBody {
            issuer: b"M1",
            holder: b"alice",
            serial: 7,
            public_key: &key,
            usage: cert::usage::SIGNING,
            effective: 1,
            expiry: 2,
        };
        let mut buf = [0u8; 400];
        let mut w = Writer::new(&mut buf);
        body.write(&mut w, fake_sign).unwrap();
        let mut plain = w.written().to_vec();
        // Re-tag 7F21 as 7F22: the signed type is missing.
        plain[1] = 0x22;
        assert_eq!(
            read_agent(&plain).err(),
            Some(FormatError::MissingField(OBJECT_TYPE))
        );
    }

    proptest! {
        #[test]
        fn agent_file_round_trip(serial in any::<u64>(), sealed in proptest::collection::vec(any::<u8>(), SEALED_LEN)) {
            let key = [4u8; 65];
            let body = CertificateBody { issuer: b"M1", holder: b"bob", serial, public_key: &key, usage: 8, effective: 1, expiry: 2 };
            let mut buf = [0u8; 1000];
            let mut w = Writer::new(&mut buf);
            write_agent(&body, &mut w, fake_sign).unwrap();
            let s = SealedKey { serial, sealed: sealed[..].try_into().unwrap() };
            s.write(&mut w).unwrap();
            let answer_len = w.len();
            body.write(&mut w, fake_sign).unwrap();
            let all = w.written().to_vec();
            let (c, k) = AgentFile::parse_answer(&all[..answer_len]).unwrap();
            prop_assert_eq!(c.body(), body);
            prop_assert_eq!(k, s);
            let f = AgentFile::parse(&all).unwrap();
            prop_assert_eq!(f.meter.body(), body);
        }

        #[test]
        fn parsers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = IssueRequest::parse(&bytes);
            let _ = AgentFile::parse(&bytes);
            let _ = read_agent(&bytes);
        }
    }
}
