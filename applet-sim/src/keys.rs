//! The key generator (Figure 2, 235) and the meter key pair (246). Private
//! keys are generated on the card and never leave it.

use apdu::StatusWord;
use apdu::meter::PUBLIC_KEY_LEN;
use p256::ecdsa::{SigningKey, VerifyingKey};

use crate::applet::Transient;
use crate::error::{Error, Result};
use crate::layout::{METER_KEY_PRESENT, METER_PRIVATE_KEY, METER_PUBLIC_KEY};
use crate::platform::Platform;
use crate::store::Store;

/// A fresh P-256 key pair from the card's random number generator.
pub fn generate(p: &mut impl Platform) -> Result<SigningKey> {
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

/// The uncompressed SEC1 encoding of a public key.
pub fn encode_public(k: &VerifyingKey) -> [u8; PUBLIC_KEY_LEN] {
    let mut out = [0u8; PUBLIC_KEY_LEN];
    let point = k.to_sec1_point(false);
    if let Some(dst) = out.get_mut(..point.as_bytes().len()) {
        dst.copy_from_slice(point.as_bytes());
    }
    out
}

/// Generates the meter key pair and stores it (inside an open transaction).
/// Returns the public key.
pub fn generate_meter_key(s: &mut Store, p: &mut impl Platform) -> Result<[u8; PUBLIC_KEY_LEN]> {
    let key = generate(p)?;
    let public = encode_public(key.verifying_key());
    // The flag last, so no torn write pairs a flag with a half-written key
    // (the transaction makes it all-or-nothing regardless).
    METER_PRIVATE_KEY.write(s, &key.to_bytes())?;
    METER_PUBLIC_KEY.write(s, &public)?;
    METER_KEY_PRESENT.set(s, 1)?;
    Ok(public)
}

/// The meter public key, if generated.
pub fn meter_public(s: &Store) -> Result<Option<&[u8]>> {
    if METER_KEY_PRESENT.get(s)? != 1 {
        return Ok(None);
    }
    Ok(Some(METER_PUBLIC_KEY.read(s)?))
}

/// The meter signing key, if generated. Loading it from the stored scalar
/// recomputes the public key (a scalar multiplication, as long as the
/// signature itself), so it is kept in transient RAM until the next reset.
pub fn meter_signing_key(s: &Store, ram: &mut Transient) -> Result<Option<SigningKey>> {
    if METER_KEY_PRESENT.get(s)? != 1 {
        return Ok(None);
    }
    if let Some(k) = &ram.meter_key {
        return Ok(Some(k.clone()));
    }
    let k = SigningKey::from_slice(METER_PRIVATE_KEY.read(s)?)
        .map_err(|_| Error::Status(StatusWord::MEMORY_FAILURE))?;
    ram.meter_key = Some(k.clone());
    Ok(Some(k))
}
