//! SIGN and AUTHENTICATE (Figure 5's holder keys in use): signs a 32-byte
//! digest, or answers a 32-byte challenge, with the key installed with the
//! certificate in a slot, only for the use the certificate authorizes
//! (SIGNING, AUTHENTICATION) and within its dates by the card's secure
//! clock. Writes nothing.

use apdu::StatusWord;
use apdu::cert::usage;
use apdu::cmd::install::{DIGEST_LEN, authentication_digest};
use p256::ecdsa::signature::hazmat::PrehashSigner;
use p256::ecdsa::{Signature, SigningKey};

use crate::context::Context;
use crate::error::Result;
use crate::platform::Platform;
use crate::{certificates, clock};

/// SIGN (`authenticate` false) or AUTHENTICATE: `r || s` (64 bytes,
/// low-S) of `digest`, or of [`authentication_digest`] of the challenge.
/// `6A86` slot out of range, `6A88` no certificate or no installed key in
/// the slot, `6985` a certificate without the use (SIGNING, AUTHENTICATION)
/// or outside its dates.
pub fn sign<P: Platform>(
    ctx: &mut Context<'_, P>,
    slot: u8,
    digest: &[u8; DIGEST_LEN],
    authenticate: bool,
) -> Result<usize> {
    let s = &*ctx.store;
    let slot = usize::from(slot);
    let cert = certificates::parsed(s, slot)?;
    let secret = certificates::key(s, slot)?.ok_or(StatusWord::REFERENCED_DATA_NOT_FOUND)?;
    let (required, digest) = if authenticate {
        (usage::AUTHENTICATION, authentication_digest(digest))
    } else {
        (usage::SIGNING, *digest)
    };
    if !cert.allows(required) {
        return Err(StatusWord::CONDITIONS_NOT_SATISFIED.into());
    }
    let now = clock::now(s, &*ctx.platform)?;
    if !cert.valid_at(now) {
        return Err(StatusWord::CONDITIONS_NOT_SATISFIED.into());
    }
    let key = SigningKey::from_slice(secret).map_err(|_| StatusWord::MEMORY_FAILURE)?;
    let sig: Signature = key.sign_prehash(&digest).map_err(|_| StatusWord::UNKNOWN)?;
    let bytes: [u8; 64] = sig.normalize_s().to_bytes().into();
    ctx.answer(&bytes)
}
