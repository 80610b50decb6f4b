//! POSTMARK (proprietary): `80 30 00 00 00` charges the certificate register and
//! answers the postmark over the message hashed since HASH init. Figure 3:
//!
//! ```text
//! 7F60 postmark
//!   7F4E body (signed)
//!     90   message digest     SHA-256 of the message, computed on the card (304)
//!     91   time               secure clock, Unix seconds, u64 (306)
//!     5F20 meter serial       (306)
//!     92   sequence           postmark number on this meter, u32
//!     93   certificate        serial of the signer's certificate, u64
//!     94   fee                charged, minor units, u64
//!     95   ascending          the charged register's ascending value after the charge, u64
//!   5F37 signature            meter key, ECDSA P-256 over the encoded 7F4E (314)
//! ```
//!
//! A postmark file is the postmark followed by the signer's certificate
//! ([`crate::cert`]): all a recipient needs besides the authority's public key.

use super::{FormatError, Request};
use crate::cert::{self, Certificate};
use crate::command::Command;
use crate::signed::{self, SIGNATURE_LEN, Signed};
use crate::status::StatusWord;
use crate::tlv::{Tag, TlvError, Writer};

/// POSTMARK.
pub const INS: u8 = 0x30;

/// The postmark object.
pub const POSTMARK: Tag = 0x7F60;
/// Message digest.
pub const DIGEST: Tag = 0x90;
/// Time from the secure clock.
pub const TIME: Tag = 0x91;
/// Meter serial.
pub const METER: Tag = cert::HOLDER;
/// Postmark sequence number.
pub const SEQUENCE: Tag = 0x92;
/// Serial of the signer's certificate.
pub const CERTIFICATE_SERIAL: Tag = 0x93;
/// Fee charged.
pub const FEE: Tag = 0x94;
/// Ascending register after the charge.
pub const ASCENDING: Tag = 0x95;

pub(crate) fn parse<'a>(cmd: &Command<'a>) -> Result<Request<'a>, StatusWord> {
    super::p1p2_zero(cmd)?;
    super::no_data(cmd.data)?;
    Ok(Request::Postmark)
}

/// The POSTMARK command.
pub fn command() -> Command<'static> {
    super::prop(INS, 0, &[], Some(256))
}

/// The signed fields of a postmark.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PostmarkBody<'a> {
    /// SHA-256 of the message.
    pub digest: &'a [u8; 32],
    /// Secure-clock time.
    pub time: u64,
    /// Meter serial.
    pub meter: &'a [u8],
    /// Postmark number on this meter.
    pub sequence: u32,
    /// The signer's certificate serial.
    pub certificate_serial: u64,
    /// Fee charged.
    pub fee: u64,
    /// Ascending register after the charge.
    pub ascending: u64,
}

impl PostmarkBody<'_> {
    /// Writes the body's fields (the content of `7F4E`), in the card's order.
    pub fn write_fields(&self, w: &mut Writer<'_>) -> Result<(), TlvError> {
        w.put(DIGEST, self.digest)?;
        w.put_u64(TIME, self.time)?;
        w.put(METER, self.meter)?;
        w.put_u32(SEQUENCE, self.sequence)?;
        w.put_u64(CERTIFICATE_SERIAL, self.certificate_serial)?;
        w.put_u64(FEE, self.fee)?;
        w.put_u64(ASCENDING, self.ascending)
    }

    /// Writes the whole postmark, `sign` signing the encoded body.
    pub fn write(
        &self,
        w: &mut Writer<'_>,
        sign: impl FnOnce(&[u8]) -> [u8; SIGNATURE_LEN],
    ) -> Result<(), TlvError> {
        signed::write(w, POSTMARK, |w| self.write_fields(w), sign)
    }
}

/// A parsed postmark.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Postmark<'a> {
    /// The signed object.
    pub signed: Signed<'a>,
    /// SHA-256 of the message.
    pub digest: &'a [u8; 32],
    /// Secure-clock time.
    pub time: u64,
    /// Meter serial.
    pub meter: &'a [u8],
    /// Postmark number on this meter.
    pub sequence: u32,
    /// The signer's certificate serial.
    pub certificate_serial: u64,
    /// Fee charged.
    pub fee: u64,
    /// Ascending register after the charge.
    pub ascending: u64,
}

impl<'a> Postmark<'a> {
    /// Reads a postmark from the front of `input`.
    pub fn read(input: &'a [u8]) -> Result<(Self, &'a [u8]), FormatError> {
        let (signed, rest) = Signed::read(input, POSTMARK)?;
        Ok((
            Postmark {
                signed,
                digest: signed.array::<32>(DIGEST)?,
                time: signed.uint::<8>(TIME)?,
                meter: signed.field(METER)?,
                sequence: signed.uint::<4>(SEQUENCE)? as u32,
                certificate_serial: signed.uint::<8>(CERTIFICATE_SERIAL)?,
                fee: signed.uint::<8>(FEE)?,
                ascending: signed.uint::<8>(ASCENDING)?,
            },
            rest,
        ))
    }

    /// Parses exactly one postmark (the POSTMARK answer).
    pub fn parse(input: &'a [u8]) -> Result<Self, FormatError> {
        match Self::read(input)? {
            (p, []) => Ok(p),
            _ => Err(FormatError::Malformed),
        }
    }

    /// The signed fields.
    pub fn body(&self) -> PostmarkBody<'a> {
        PostmarkBody {
            digest: self.digest,
            time: self.time,
            meter: self.meter,
            sequence: self.sequence,
            certificate_serial: self.certificate_serial,
            fee: self.fee,
            ascending: self.ascending,
        }
    }
}

/// A postmark file: the postmark, then the signer's certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PostmarkFile<'a> {
    /// The postmark.
    pub postmark: Postmark<'a>,
    /// The signer's certificate.
    pub certificate: Certificate<'a>,
}

impl<'a> PostmarkFile<'a> {
    /// Parses a postmark file.
    pub fn parse(input: &'a [u8]) -> Result<Self, FormatError> {
        let (postmark, rest) = Postmark::read(input)?;
        let certificate = Certificate::parse(rest)?;
        Ok(PostmarkFile {
            postmark,
            certificate,
        })
    }

    /// Writes a postmark file: the encoded postmark, then the encoded
    /// certificate.
    pub fn write(w: &mut Writer<'_>, postmark: &[u8], certificate: &[u8]) -> Result<(), TlvError> {
        w.raw(postmark)?;
        w.raw(certificate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cert::CertificateBody;
    use crate::signed::testing::{encode, fake_sign};
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn postmark_round_trip(
            digest in any::<[u8; 32]>(),
            meter in proptest::collection::vec(any::<u8>(), 0..=16),
            sequence in any::<u32>(),
            (time, certificate_serial, fee, ascending) in (any::<u64>(), any::<u64>(), any::<u64>(), any::<u64>()),
        ) {
            let body = PostmarkBody { digest: &digest, time, meter: &meter, sequence, certificate_serial, fee, ascending };
            let mut buf = [0u8; 256];
            let mut w = Writer::new(&mut buf);
            body.write(&mut w, fake_sign).unwrap();
            let pm = w.written().to_vec();
            let p = Postmark::parse(&pm).unwrap();
            prop_assert_eq!(p.body(), body);

            let key = [4u8; 65];
            let cert = encode(cert::CERTIFICATE, |w| CertificateBody {
                issuer: b"AUTH", holder: &meter, serial: certificate_serial, public_key: &key,
                usage: cert::usage::POSTMARK, effective: 0, expiry: time,
            }.write_fields(w));
            let mut buf = [0u8; 600];
            let mut w = Writer::new(&mut buf);
            PostmarkFile::write(&mut w, &pm, &cert).unwrap();
            let f = PostmarkFile::parse(w.written()).unwrap();
            prop_assert_eq!(f.postmark, p);
            prop_assert_eq!(f.certificate.signed.raw, &cert[..]);
        }

        #[test]
        fn parsers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = Postmark::parse(&bytes);
            let _ = PostmarkFile::parse(&bytes);
        }
    }
}
