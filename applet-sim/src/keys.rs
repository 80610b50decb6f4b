//! Key pairs made on the card (Figure 2, key generator 235): the meter key
//! (GENERATE KEY) and the attestation key (at manufacture), from the card's
//! random number generator; and the attestation key, loaded for signing.

use apdu::StatusWord;
use apdu::meter::PUBLIC_KEY_LEN;
use p256::ecdsa::{SigningKey, VerifyingKey};

use crate::error::Result;
use crate::layout::{ATTESTATION_KEY_PRESENT, ATTESTATION_PRIVATE_KEY};
use crate::platform::Platform;
use crate::store::Store;

/// A fresh P-256 key pair from the card's random number generator.
pub fn new_key(p: &mut impl Platform) -> Result<SigningKey> {
    // A random 32-byte string is a valid scalar but for odds of about 2^-32.
    for _ in 0..16 {
        let mut d = [0u8; 32];
        p.fill_random(&mut d);
        if let Ok(k) = SigningKey::from_slice(&d) {
            return Ok(k);
        }
    }
    Err(StatusWord::UNKNOWN.into())
}

/// A fresh P-256 secret key (for ECDH: the channel's ephemeral key).
pub fn new_secret(p: &mut impl Platform) -> Result<p256::SecretKey> {
    for _ in 0..16 {
        let mut d = [0u8; 32];
        p.fill_random(&mut d);
        if let Ok(k) = p256::SecretKey::from_slice(&d) {
            return Ok(k);
        }
    }
    Err(StatusWord::UNKNOWN.into())
}

/// The uncompressed SEC1 encoding of a public key.
pub fn encode_public(k: &VerifyingKey) -> [u8; PUBLIC_KEY_LEN] {
    let mut out = [0u8; PUBLIC_KEY_LEN];
    let point = k.to_sec1_point(false);
    if let Some(dst) = out.get_mut(..point.as_bytes().len()) {
        dst.copy_from_slice(point.as_bytes());
    }
    out
}

/// The attestation key made at manufacture; `6A88` on a card made without
/// one (migrated from layout v2), `6581` if the stored scalar is invalid.
pub fn attestation_key(s: &Store) -> Result<SigningKey> {
    if ATTESTATION_KEY_PRESENT.get(s)? != 1 {
        return Err(StatusWord::REFERENCED_DATA_NOT_FOUND.into());
    }
    SigningKey::from_slice(ATTESTATION_PRIVATE_KEY.read(s)?)
        .map_err(|_| StatusWord::MEMORY_FAILURE.into())
}

/// The card's static channel key, derived from the meter key (`6985`
/// before one is generated).
pub fn channel_static_key(s: &Store) -> Result<p256::SecretKey> {
    if crate::layout::METER_KEY_PRESENT.get(s)? != 1 {
        return Err(StatusWord::CONDITIONS_NOT_SATISFIED.into());
    }
    let mut meter: [u8; 32] = crate::layout::METER_PRIVATE_KEY
        .read(s)?
        .try_into()
        .map_err(|_| StatusWord::MEMORY_FAILURE)?;
    let chip = crate::state::chip_id(s)?;
    let key = apdu::channel::derive_static_key(&meter, &chip);
    zeroize::Zeroize::zeroize(&mut meter);
    key.map_err(|_| StatusWord::MEMORY_FAILURE.into())
}
