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

use crate::signed::{FormatError, Signed};
use crate::tlv::Tag;

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
        Ok((
            Certificate {
                signed,
                issuer: signed.field(ISSUER)?,
                holder: signed.field(HOLDER)?,
                serial: signed.uint::<8>(SERIAL)?,
                public_key,
                usage,
                effective: signed.uint::<8>(EFFECTIVE)?,
                expiry: signed.uint::<8>(EXPIRY)?,
            },
            rest,
        ))
    }

    /// Parses exactly one certificate.
    pub fn parse(input: &'a [u8]) -> Result<Self, FormatError> {
        match Self::read(input)? {
            (c, []) => Ok(c),
            _ => Err(FormatError::Malformed),
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
