//! Figure 1: issuing certificates in the format of [`apdu::cert`], with the
//! heap-free builder [`apdu::cert::CertificateBody`] (the one the card will
//! use to issue certificates as an agent).

use apdu::cert::{CERTIFICATE, CertificateBody};
use apdu::tlv::Writer;
use p256::ecdsa::SigningKey;

use crate::AuthorityError;

/// Largest encoded object: a 65535-byte value with its tag and length.
const MAX_CERTIFICATE_LEN: usize = 0xFFFF + 5;

/// The contents of a certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fields<'a> {
    /// Issuer name (tag 42): the authority, or an agent meter's serial.
    pub issuer: &'a str,
    /// Holder name (5F20): a meter serial or a user's unique name.
    pub holder: &'a str,
    /// Certificate serial number (93).
    pub serial: u64,
    /// Holder public key, uncompressed SEC1 (7F49/86).
    pub public_key: &'a [u8; 65],
    /// Authorized-use bits (7F4C/53), [`apdu::cert::usage`].
    pub usage: u8,
    /// Valid from, Unix seconds (5F25).
    pub effective: u64,
    /// Valid until, Unix seconds (5F24).
    pub expiry: u64,
}

impl<'a> Fields<'a> {
    /// The certificate body these fields make.
    pub fn body(&self) -> CertificateBody<'a> {
        CertificateBody {
            issuer: self.issuer.as_bytes(),
            holder: self.holder.as_bytes(),
            serial: self.serial,
            public_key: self.public_key,
            usage: self.usage,
            effective: self.effective,
            expiry: self.expiry,
        }
    }
}

/// Encodes and signs a certificate (`7F21 { 7F4E body, 5F37 signature }`)
/// with the issuer's `signing_key`. Refuses an expiry before the effective
/// date and names too long to encode.
pub fn build(signing_key: &SigningKey, f: &Fields<'_>) -> Result<Vec<u8>, AuthorityError> {
    if f.expiry < f.effective {
        return Err(AuthorityError::InvalidRequest(
            "the certificate expires before it takes effect".into(),
        ));
    }
    let mut buf = vec![0u8; MAX_CERTIFICATE_LEN];
    let mut w = Writer::new(&mut buf);
    f.body().write_signed(&mut w, signing_key).map_err(|_| {
        AuthorityError::InvalidRequest(format!(
            "object {CERTIFICATE:X} does not fit the 65535-byte limit"
        ))
    })?;
    let len = w.len();
    buf.truncate(len);
    Ok(buf)
}
