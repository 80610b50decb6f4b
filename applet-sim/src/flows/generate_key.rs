//! GENERATE ASYMMETRIC KEY PAIR: the key generator (Figure 2, 235) makes
//! the meter key pair (246) on the card (personalization step P2); the
//! private key never leaves it. Also reads the public key back.

use apdu::StatusWord;
use apdu::meter::PUBLIC_KEY_LEN;
use apdu::tlv::Writer;
use p256::ecdsa::{SigningKey, VerifyingKey};

use crate::context::Context;
use crate::error::Result;
use crate::layout::{METER_KEY_PRESENT, METER_PRIVATE_KEY, METER_PUBLIC_KEY};
use crate::platform::Platform;
use crate::state;

/// GENERATE KEY `80`: a new meter key pair, stored in one transaction;
/// answers the public key.
pub fn generate<P: Platform>(ctx: &mut Context<'_, P>) -> Result<usize> {
    ctx.ram.meter_key = None;
    let key = new_key(ctx.platform)?;
    let public = encode_public(key.verifying_key());
    ctx.store.begin()?;
    // The flag last, so no torn write pairs a flag with a half-written key
    // (the transaction makes it all-or-nothing regardless).
    METER_PRIVATE_KEY.write(ctx.store, &key.to_bytes())?;
    METER_PUBLIC_KEY.write(ctx.store, &public)?;
    METER_KEY_PRESENT.set(ctx.store, 1)?;
    ctx.store.commit()?;
    public_key_answer(&public, ctx.out)
}

/// GENERATE KEY `81`: the meter public key; 6A88 before one was generated.
pub fn read<P: Platform>(ctx: &mut Context<'_, P>) -> Result<usize> {
    let key = state::meter_public(ctx.store)?.ok_or(StatusWord::REFERENCED_DATA_NOT_FOUND)?;
    public_key_answer(key, ctx.out)
}

/// A fresh P-256 key pair from the card's random number generator.
fn new_key(p: &mut impl Platform) -> Result<SigningKey> {
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
fn encode_public(k: &VerifyingKey) -> [u8; PUBLIC_KEY_LEN] {
    let mut out = [0u8; PUBLIC_KEY_LEN];
    let point = k.to_sec1_point(false);
    if let Some(dst) = out.get_mut(..point.as_bytes().len()) {
        dst.copy_from_slice(point.as_bytes());
    }
    out
}

fn public_key_answer(key: &[u8], out: &mut [u8]) -> Result<usize> {
    let mut w = Writer::new(out);
    w.nested(apdu::meter::tag::PUBLIC_KEY, |w| {
        w.put(apdu::meter::tag::EC_POINT, key)
    })?;
    Ok(w.len())
}
