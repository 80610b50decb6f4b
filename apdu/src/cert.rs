//! Figure 1: the certificate. A compact card-verifiable certificate in the
//! shape of ISO 7816-8 / BSI TR-03110:
//!
//! ```text
//! 7F21 certificate
//!   7F4E body (signed)
//!     5F29 profile            01
//!     42   issuer             authority name (the CA)
//!     5F20 holder             unique name of the holder (a meter serial)
//!     93   serial             certificate serial number, u64
//!     7F49 public key         { 86 uncompressed P-256 point }
//!     7F4C authorized use     { 53 usage bits, one byte }
//!     5F25 effective          Unix seconds, u64
//!     5F24 expiry             Unix seconds, u64
//!   5F37 signature            issuer's ECDSA P-256 over the encoded 7F4E
//! ```
//!
//! Dates are Unix seconds rather than TR-03110's BCD dates, so that the card
//! compares them with its secure clock directly.

use crate::signed::{self, FormatError, SIGNATURE_LEN, Signed};
use crate::tlv::{Tag, TlvError, Writer};

/// The certificate object.
pub const CERTIFICATE: Tag = 0x7F21;
/// Profile identifier (one byte, [`PROFILE`]).
pub const PROFILE_TAG: Tag = 0x5F29;
/// Issuer reference.
pub const ISSUER: Tag = 0x42;
/// Holder reference: the holder's unique name.
pub const HOLDER: Tag = 0x5F20;
/// Certificate serial number (u64).
pub const SERIAL: Tag = 0x93;
/// Public key template.
pub const PUBLIC_KEY: Tag = 0x7F49;
/// Inside [`PUBLIC_KEY`]: the uncompressed point.
pub const EC_POINT: Tag = 0x86;
/// Authorized-use template.
pub const USAGE: Tag = 0x7F4C;
/// Inside [`USAGE`]: the usage bits.
pub const USAGE_BITS: Tag = 0x53;
/// Effective date.
pub const EFFECTIVE: Tag = 0x5F25;
/// Expiry date.
pub const EXPIRY: Tag = 0x5F24;

/// The object type field of other signed kinds (`80`), never in a `7F21`.
pub const OBJECT_TYPE_FIELD: Tag = 0x80;

/// The profile this version writes and accepts.
pub const PROFILE: u8 = 1;

/// Authorized-use bits.
pub mod usage {
    /// The key signs cryptographic postmarks (Figure 3).
    pub const POSTMARK: u8 = 0x01;
    /// The key signs certificates as an agent (Figure 3A).
    pub const ISSUE_CERTIFICATES: u8 = 0x02;
    /// The key signs value receipts and reports to the authority.
    pub const METERING: u8 = 0x04;
    /// The key signs messages for the holder (Figure 5 user keys).
    pub const SIGNING: u8 = 0x08;
    /// The key is an authority's operational key: it certifies meter keys
    /// and signs the authority's messages. Only the issuer root certifies a
    /// key with this bit (the authority certificate, carried by
    /// personalization).
    pub const AUTHORITY: u8 = 0x10;
    /// The key is a card's attestation key: it signs the card's statements
    /// about its own keys. Only the issuer root certifies a key with this
    /// bit, and the certificate's holder is the chip id (16 hex digits).
    pub const ATTESTATION: u8 = 0x20;
    /// The key authenticates its holder: it answers a relying party's
    /// challenge (SIGN with P1 `03`, [`crate::cmd::install::P1_AUTHENTICATE`])
    /// and signs nothing else.
    pub const AUTHENTICATION: u8 = 0x40;
    /// The uses a holder's certificate (Figure 5) may have: signing,
    /// authentication, or both.
    pub const HOLDER: u8 = SIGNING | AUTHENTICATION;
    /// [certs] install: not a use but a mark: the key was supplied by the
    /// holder and imported into the card (`meter cert import`, Figure 5's
    /// lower-assurance variant), not generated on it.
    pub const IMPORTED: u8 = 0x80;
}

/// The signed fields of a certificate: what an issuer (the authority, or a
/// meter as an agent, Figure 3A) writes. Heap-free: [`CertificateBody::write`]
/// writes the `7F21` into a [`Writer`], a closure signing the encoded body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CertificateBody<'a> {
    /// Issuer name (tag 42): the authority, or an agent meter's serial.
    pub issuer: &'a [u8],
    /// Holder name (5F20): a meter serial or a user's unique name.
    pub holder: &'a [u8],
    /// Certificate serial number (93).
    pub serial: u64,
    /// Holder public key, uncompressed SEC1 (7F49/86).
    pub public_key: &'a [u8; 65],
    /// Authorized-use bits (7F4C/53), [`usage`].
    pub usage: u8,
    /// Valid from, Unix seconds (5F25).
    pub effective: u64,
    /// Valid until, Unix seconds (5F24).
    pub expiry: u64,
}

impl CertificateBody<'_> {
    /// Writes the body's fields (the content of `7F4E`), profile first.
    pub fn write_fields(&self, w: &mut Writer<'_>) -> Result<(), TlvError> {
        w.put(PROFILE_TAG, &[PROFILE])?;
        w.put(ISSUER, self.issuer)?;
        w.put(HOLDER, self.holder)?;
        w.put_u64(SERIAL, self.serial)?;
        w.nested(PUBLIC_KEY, |w| w.put(EC_POINT, self.public_key))?;
        w.nested(USAGE, |w| w.put(USAGE_BITS, &[self.usage]))?;
        w.put_u64(EFFECTIVE, self.effective)?;
        w.put_u64(EXPIRY, self.expiry)
    }

    /// Writes the certificate `7F21 { 7F4E body, 5F37 signature }`, `sign`
    /// signing the encoded body (the issuer's ECDSA P-256, `r || s`).
    pub fn write(
        &self,
        w: &mut Writer<'_>,
        sign: impl FnOnce(&[u8]) -> [u8; SIGNATURE_LEN],
    ) -> Result<(), TlvError> {
        signed::write(w, CERTIFICATE, |w| self.write_fields(w), sign)
    }

    /// Writes the certificate signed with the issuer's key (RFC 6979: the
    /// same input gives the same bytes).
    #[cfg(feature = "crypto")]
    pub fn write_signed(
        &self,
        w: &mut Writer<'_>,
        key: &p256::ecdsa::SigningKey,
    ) -> Result<(), TlvError> {
        self.write(w, |body| crate::crypto::sign(key, body))
    }
}

/// A parsed certificate, borrowing its bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Certificate<'a> {
    /// The signed object.
    pub signed: Signed<'a>,
    /// Issuer name.
    pub issuer: &'a [u8],
    /// Holder name.
    pub holder: &'a [u8],
    /// Certificate serial number.
    pub serial: u64,
    /// Holder public key, uncompressed SEC1.
    pub public_key: &'a [u8; 65],
    /// Authorized-use bits.
    pub usage: u8,
    /// Valid from (Unix seconds).
    pub effective: u64,
    /// Valid until (Unix seconds).
    pub expiry: u64,
}

impl<'a> Certificate<'a> {
    /// Reads a certificate from the front of `input`.
    pub fn read(input: &'a [u8]) -> Result<(Self, &'a [u8]), FormatError> {
        let (signed, rest) = Signed::read(input, CERTIFICATE)?;
        // A 7F21 body carries no object type field (80): a body that names
        // one is another kind's (an agent certificate's, Figure 3A).
        if signed.get(OBJECT_TYPE_FIELD).is_some() {
            return Err(FormatError::WrongType);
        }
        Ok((Self::from_signed(signed)?, rest))
    }

    /// The certificate fields of a signed object (a `7F21`, or an agent
    /// certificate `7F22` whose type the caller checked).
    pub fn from_signed(signed: Signed<'a>) -> Result<Self, FormatError> {
        if signed.array::<1>(PROFILE_TAG)? != &[PROFILE] {
            return Err(FormatError::MissingField(PROFILE_TAG));
        }
        let public_key = signed
            .nested(PUBLIC_KEY, EC_POINT)?
            .try_into()
            .map_err(|_| FormatError::MissingField(EC_POINT))?;
        let usage = match signed.nested(USAGE, USAGE_BITS)? {
            [b] => *b,
            _ => return Err(FormatError::MissingField(USAGE_BITS)),
        };
        Ok(Certificate {
            signed,
            issuer: signed.field(ISSUER)?,
            holder: signed.field(HOLDER)?,
            serial: signed.uint::<8>(SERIAL)?,
            public_key,
            usage,
            effective: signed.uint::<8>(EFFECTIVE)?,
            expiry: signed.uint::<8>(EXPIRY)?,
        })
    }

    /// Parses exactly one certificate.
    pub fn parse(input: &'a [u8]) -> Result<Self, FormatError> {
        match Self::read(input)? {
            (c, []) => Ok(c),
            _ => Err(FormatError::Malformed),
        }
    }

    /// The signed fields.
    pub fn body(&self) -> CertificateBody<'a> {
        CertificateBody {
            issuer: self.issuer,
            holder: self.holder,
            serial: self.serial,
            public_key: self.public_key,
            usage: self.usage,
            effective: self.effective,
            expiry: self.expiry,
        }
    }

    /// Whether `time` lies within the validity dates.
    pub fn valid_at(&self, time: u64) -> bool {
        (self.effective..=self.expiry).contains(&time)
    }

    /// Whether every bit of `bits` is authorized.
    pub fn allows(&self, bits: u8) -> bool {
        self.usage & bits == bits
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signed::testing::fake_sign;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn certificate_round_trip(
            issuer in proptest::collection::vec(any::<u8>(), 0..=40),
            holder in proptest::collection::vec(any::<u8>(), 0..=40),
            key in proptest::collection::vec(any::<u8>(), 65),
            usage in any::<u8>(),
            (serial, effective, expiry) in (any::<u64>(), any::<u64>(), any::<u64>()),
        ) {
            let body = CertificateBody {
                issuer: &issuer,
                holder: &holder,
                serial,
                public_key: key[..].try_into().unwrap(),
                usage,
                effective,
                expiry,
            };
            let mut buf = [0u8; 400];
            let mut w = Writer::new(&mut buf);
            body.write(&mut w, fake_sign).unwrap();
            let c = Certificate::parse(w.written()).unwrap();
            prop_assert_eq!(c.body(), body);
            prop_assert_eq!(c.signed.signature, &fake_sign(c.signed.signed_bytes));
        }

        #[test]
        fn certificate_parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = Certificate::parse(&bytes);
        }
    }
}
