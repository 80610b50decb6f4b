//! KEY UPDATE ([certs] point 6): the authority's next key, in a message
//! signed by the current key (slot 0 of the authority keys) and chained to
//! the issuer root pinned at manufacture by its authority certificate. The
//! next key becomes the current one (slot 0); the key it replaces moves to
//! slot 1, where it still verifies the certificates it signed (and the
//! postmarks under them) until they expire.

use apdu::StatusWord;
use apdu::cert::usage;
use apdu::cmd::key_update::KeyUpdate;
use apdu::crypto;
use apdu::meter::PUBLIC_KEY_LEN;
use subtle::ConstantTimeEq;

use crate::context::Context;
use crate::error::Result;
use crate::layout::{AUTHORITY_KEY_COUNT, AUTHORITY_KEYS, CHIP_ID};
use crate::platform::Platform;
use crate::records::Counters;
use crate::state;

/// KEY UPDATE. The dispatcher took the challenge out of RAM (any attempt
/// consumes it) and checked Personalized.
pub fn key_update<P: Platform>(ctx: &mut Context<'_, P>, message: &[u8]) -> Result<usize> {
    let s = &mut *ctx.store;
    let root = state::issuer_root(s)?;
    let m = KeyUpdate::parse(message).map_err(|_| StatusWord::INCORRECT_DATA)?;
    let current = state::authority_key(s)?;
    if !crypto::verify_signed(&m.signed, &current) {
        return Err(StatusWord::SECURITY_STATUS_NOT_SATISFIED.into());
    }
    let challenge = ctx.challenge.ok_or(StatusWord::REFERENCE_DATA_NOT_USABLE)?;
    if !bool::from(challenge.ct_eq(m.body.challenge)) {
        return Err(StatusWord::REFERENCE_DATA_NOT_USABLE.into());
    }
    if CHIP_ID.read(s)? != m.body.chip_id || state::serial(s)? != m.body.serial {
        return Err(StatusWord::INCORRECT_DATA.into());
    }
    let next = &m.next;
    let chained = crypto::verify_certificate(next, &root)
        && next.allows(usage::AUTHORITY)
        && next.valid_at(m.body.time);
    if !chained {
        return Err(StatusWord::SECURITY_STATUS_NOT_SATISFIED.into());
    }
    crypto::public_key(next.public_key).ok_or(StatusWord::INCORRECT_DATA)?;
    let mut old = [0u8; PUBLIC_KEY_LEN];
    old.copy_from_slice(AUTHORITY_KEYS.sub(0, PUBLIC_KEY_LEN).read(s)?);
    if old.as_slice() == next.public_key.as_slice() {
        return Err(StatusWord::INCORRECT_DATA.into());
    }
    let mut counters = Counters::read(s)?;
    counters.advance_clock(m.body.time);

    s.begin()?;
    AUTHORITY_KEYS
        .sub(PUBLIC_KEY_LEN, PUBLIC_KEY_LEN)
        .write(s, &old)?;
    AUTHORITY_KEYS
        .sub(0, PUBLIC_KEY_LEN)
        .write(s, next.public_key)?;
    AUTHORITY_KEY_COUNT.set(s, 2)?;
    counters.write(s)?;
    s.commit()?;
    Ok(0)
}
