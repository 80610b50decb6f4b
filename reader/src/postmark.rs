//! Figures 3 and 4 on the PC side: streaming a message to the card's hash
//! (304), asking for the postmark (306-316), writing the postmark file
//! (postmark then signer certificate), and validating a postmark off the
//! card (free, for anyone holding the authority's public key) or on the
//! card (for a fee).

use std::io::Read;

use apdu::crypto::{self, Invalid};
use apdu::meter::METER_CERTIFICATE_SLOT;
use apdu::postmark::PostmarkFile;
use sha2::{Digest, Sha256};

use crate::error::Error;
use crate::meter::{CardVerdict, Meter};
use crate::transport::Transport;

/// The largest postmark file read (`meter verify`): a postmark file is
/// about 400 bytes (postmark and certificate, formats.md); anything larger
/// than this is refused unread rather than read into memory.
pub const MAX_POSTMARK_FILE: usize = 4096;

/// Bytes of message per HASH command when the transport takes extended
/// APDUs: 0xFF00, so that the whole APDU stays within the 65,535 bytes a
/// vpcd message (and many readers) can carry.
pub const EXTENDED_CHUNK: usize = 0xFF00;
/// Bytes of message per HASH command otherwise (sent as a chain of short APDUs).
pub const CHAINED_CHUNK: usize = 4096;

/// What a valid postmark says.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct PostmarkInfo {
    /// The meter that signed it.
    pub meter: String,
    /// Secure-clock time, Unix seconds.
    pub time: u64,
    /// Postmark number on that meter.
    pub sequence: u32,
    /// Fee charged, minor units.
    pub fee: u64,
    /// The signer's certificate serial.
    pub certificate_serial: u64,
    /// SHA-256 of the message, hex.
    pub digest: String,
}

impl PostmarkInfo {
    /// What a postmark file says, without verifying it.
    pub fn parse(file: &[u8]) -> Result<Self, Error> {
        PostmarkFile::parse(file)
            .map(|f| Self::of(&f))
            .map_err(|e| Error::Malformed(format!("not a postmark file: {e}")))
    }

    fn of(file: &PostmarkFile<'_>) -> Self {
        let pm = &file.postmark;
        PostmarkInfo {
            meter: String::from_utf8_lossy(pm.meter).into_owned(),
            time: pm.time,
            sequence: pm.sequence,
            fee: pm.fee,
            certificate_serial: pm.certificate_serial,
            digest: hex::encode(pm.digest),
        }
    }
}

/// Streams `message` into the card's hash (Figure 3, 304; Figure 4, 414).
pub fn hash_on_card<T: Transport>(
    meter: &mut Meter<T>,
    message: &mut impl Read,
) -> Result<u64, Error> {
    let chunk = if meter.transport().supports_extended() {
        EXTENDED_CHUNK
    } else {
        CHAINED_CHUNK
    };
    meter.hash_init()?;
    let mut buf = vec![0u8; chunk];
    let mut total = 0u64;
    loop {
        let n = read_full(message, &mut buf)?;
        if n == 0 {
            return Ok(total);
        }
        meter.hash_update(&buf[..n])?;
        total += n as u64;
    }
}

fn read_full(r: &mut impl Read, buf: &mut [u8]) -> Result<usize, Error> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::Io(format!("reading the message: {e}"))),
        }
    }
    Ok(n)
}

/// Figure 3: the postmark file for `message` (the card hashes it, charges
/// the fee and signs). The PIN must have been verified.
pub fn postmark<T: Transport>(
    meter: &mut Meter<T>,
    message: &mut impl Read,
) -> Result<Vec<u8>, Error> {
    meter.exclusive(|m| {
        // Everything that can fail comes before the charge: the certificate
        // is read first, the postmark last.
        let certificate = m.read_certificate(METER_CERTIFICATE_SLOT)?;
        hash_on_card(m, message)?;
        let mut file = m.postmark()?;
        file.extend(certificate);
        Ok(file)
    })
}

/// Why a postmark did not verify off the card.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The postmark is not valid for this message (the reason says which check failed).
    #[error("invalid postmark: {}", .0.reason())]
    Invalid(Invalid),
    /// The file is not a postmark file.
    #[error("not a postmark file: {0}")]
    Format(apdu::signed::FormatError),
    /// The authority key is not a P-256 public key.
    #[error("the authority public key is not a valid P-256 point")]
    AuthorityKey,
    /// Reading the message failed.
    #[error("{0}")]
    Io(String),
}

/// Figure 4 off the card, by anyone with the authority's public key: steps
/// 408-420 without a fee, and the date: a postmark dated more than `skew`
/// seconds after `now` (the verifier's clock) is invalid
/// ([`Invalid::FutureDated`]).
pub fn verify_offline(
    message: &mut impl Read,
    file: &[u8],
    authority_key: &[u8],
    now: u64,
    skew: u64,
) -> Result<PostmarkInfo, VerifyError> {
    let parsed = PostmarkFile::parse(file).map_err(VerifyError::Format)?;
    let authority = crypto::public_key(authority_key).ok_or(VerifyError::AuthorityKey)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = read_full(message, &mut buf).map_err(|e| VerifyError::Io(e.to_string()))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    let digest: [u8; 32] = h.finalize().into();
    crypto::check_postmark_at(&parsed, &authority, &digest, now, skew)
        .map_err(VerifyError::Invalid)?;
    Ok(PostmarkInfo::of(&parsed))
}

/// Why a postmark file is invalid, for people: the failed check's reason,
/// or, when the failed check is a signature whose bytes alone show what is
/// wrong (a high-S twin, r or s out of range), that cause.
pub fn explain(file: &[u8], why: Invalid) -> String {
    let Ok(parsed) = PostmarkFile::parse(file) else {
        return why.reason().to_owned();
    };
    let (what, signature) = match why {
        Invalid::CertificateSignature => (
            "the signer certificate's signature",
            parsed.certificate.signed.signature,
        ),
        Invalid::PostmarkSignature => ("the postmark signature", parsed.postmark.signed.signature),
        _ => return why.reason().to_owned(),
    };
    match crypto::signature_defect(signature) {
        Some(defect) => format!("{what} {}", defect.reason()),
        None => why.reason().to_owned(),
    }
}

/// Figure 4 on the card: the card hashes the message, charges the verify
/// fee, and checks the postmark with its authority key, and against the
/// authority's revocation list `crl` when given. The PIN must have been
/// verified. The postmark's details come back when it is valid, or valid
/// but revoked.
pub fn verify_on_card<T: Transport>(
    meter: &mut Meter<T>,
    message: &mut impl Read,
    file: &[u8],
    crl: Option<&[u8]>,
) -> Result<(CardVerdict, Option<PostmarkInfo>), Error> {
    let parsed = PostmarkFile::parse(file)
        .map_err(|e| Error::Malformed(format!("not a postmark file: {e}")))?;
    let verdict = meter.exclusive(|m| {
        hash_on_card(m, message)?;
        m.verify_postmark(file, crl)
    })?;
    let info = matches!(verdict.result, Ok(()) | Err(apdu::crypto::Invalid::Revoked))
        .then(|| PostmarkInfo::of(&parsed));
    Ok((verdict, info))
}
