//! Figure 1: building certificates in the format of [`apdu::cert`].

use apdu::cert::{
    CERTIFICATE, EC_POINT, EFFECTIVE, EXPIRY, HOLDER, ISSUER, PROFILE, PROFILE_TAG, PUBLIC_KEY,
    SERIAL, USAGE, USAGE_BITS,
};
use p256::ecdsa::SigningKey;

use crate::{AuthorityError, keys};

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

/// Encodes and signs a certificate (`7F21 { 7F4E body, 5F37 signature }`)
/// with the issuer's `signing_key`. Refuses an expiry before the effective
/// date and names too long to encode.
pub fn build(signing_key: &SigningKey, f: &Fields<'_>) -> Result<Vec<u8>, AuthorityError> {
    if f.expiry < f.effective {
        return Err(AuthorityError::InvalidRequest(
            "the certificate expires before it takes effect".into(),
        ));
    }
    keys::signed_object(CERTIFICATE, signing_key, |w| {
        w.put(PROFILE_TAG, &[PROFILE])?;
        w.put(ISSUER, f.issuer.as_bytes())?;
        w.put(HOLDER, f.holder.as_bytes())?;
        w.put_u64(SERIAL, f.serial)?;
        w.nested(PUBLIC_KEY, |w| w.put(EC_POINT, f.public_key))?;
        w.nested(USAGE, |w| w.put(USAGE_BITS, &[f.usage]))?;
        w.put_u64(EFFECTIVE, f.effective)?;
        w.put_u64(EXPIRY, f.expiry)
    })
}
