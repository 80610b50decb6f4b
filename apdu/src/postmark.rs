//! Figure 3: the cryptographic postmark, signed by the meter key.
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

use crate::cert::{self, Certificate};
use crate::signed::{FormatError, Signed};
use crate::tlv::Tag;

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
}
