//! VERIFY and CHANGE REFERENCE DATA of the owner PIN, which authorizes the
//! meter's charged services (Figure 3 and 4) and key generation: a
//! persistent try counter, decremented and committed before the compare
//! (Java Card OwnerPIN), a constant-time compare, reset to
//! [`PIN_MAX_TRIES`] on success. Verification lives in RAM only and is
//! cleared on reset, power-off and deselect.

use apdu::StatusWord;
use apdu::meter::{PIN_MAX_LEN, PIN_MAX_TRIES, PIN_MIN_LEN, PIN_PAD};
use subtle::ConstantTimeEq;

use crate::context::Context;
use crate::error::{Error, Result};
use crate::layout::{PIN_LEN, PIN_TRANSPORT, PIN_TRIES, PIN_VALUE};
use crate::platform::Platform;
use crate::state::{self, Transient};
use crate::store::Store;

/// VERIFY: `None` reports the state (9000 when verified, else 63Cx).
pub fn verify<P: Platform>(ctx: &mut Context<'_, P>, pin: Option<&[u8]>) -> Result<usize> {
    let Some(pin) = pin else {
        return match state::pin_tries(ctx.store)? {
            0 => Err(StatusWord::AUTH_METHOD_BLOCKED.into()),
            _ if ctx.ram.pin_verified => Ok(0),
            n => Err(StatusWord::verify_failed(n).into()),
        };
    };
    check(ctx.store, ctx.ram, pin)?;
    Ok(0)
}

/// CHANGE REFERENCE DATA: the current PIN padded with [`PIN_PAD`] to
/// [`PIN_MAX_LEN`] bytes, then the new one.
pub fn change<P: Platform>(ctx: &mut Context<'_, P>, old_then_new: &[u8]) -> Result<usize> {
    let (padded_old, new) = old_then_new
        .split_at_checked(PIN_MAX_LEN)
        .ok_or(StatusWord::WRONG_LENGTH)?;
    let old_len = padded_old.iter().take_while(|&&b| b != PIN_PAD).count();
    let old = padded_old.get(..old_len).unwrap_or(&[]);
    if !(PIN_MIN_LEN..=PIN_MAX_LEN).contains(&new.len()) {
        return Err(StatusWord::WRONG_LENGTH.into());
    }
    // The padding byte cannot be part of a PIN, or it could never be changed.
    if new.contains(&PIN_PAD) {
        return Err(StatusWord::INCORRECT_DATA.into());
    }
    // The transport PIN must give way to another one. Checked before the
    // old PIN (it compares the two given PINs, not the stored one), so that
    // this refusal writes nothing: checking the old PIN first reset a try
    // counter a wrong PIN had lowered, under a 6A80 (found by fuzzing).
    if state::transport_pin(ctx.store)? && bool::from(old.ct_eq(new)) {
        return Err(StatusWord::INCORRECT_DATA.into());
    }
    check(ctx.store, ctx.ram, old)?;
    ctx.store.begin()?;
    state::set_pin(ctx.store, new)?;
    PIN_TRANSPORT.set(ctx.store, 0)?;
    ctx.store.commit()?;
    Ok(0)
}

/// Decrements and commits the counter, compares, and resets it on success.
fn check(s: &mut Store, ram: &mut Transient, candidate: &[u8]) -> Result<()> {
    ram.pin_verified = false;
    let left = state::pin_tries(s)?;
    if left == 0 {
        return Err(StatusWord::AUTH_METHOD_BLOCKED.into());
    }
    s.begin()?;
    PIN_TRIES.set(s, u64::from(left - 1))?;
    s.commit()?;

    let mut padded = [0u8; PIN_MAX_LEN];
    if let Some(dst) = padded.get_mut(..candidate.len()) {
        dst.copy_from_slice(candidate);
    }
    let stored_len = PIN_LEN.get(s)? as usize;
    let same_len = (stored_len as u8).ct_eq(&(candidate.len() as u8));
    let same = PIN_VALUE.read(s)?.ct_eq(&padded) & same_len;
    if !bool::from(same) {
        return Err(Error::Status(StatusWord::verify_failed(left - 1)));
    }
    s.begin()?;
    PIN_TRIES.set(s, u64::from(PIN_MAX_TRIES))?;
    s.commit()?;
    ram.pin_verified = true;
    Ok(())
}
