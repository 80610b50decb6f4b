//! The owner PIN: a persistent try counter, decremented and committed
//! before the compare (Java Card OwnerPIN), a constant-time compare, reset
//! to [`PIN_MAX_TRIES`] on success. Verification lives in RAM only and is
//! cleared on reset, power-off and deselect.

use apdu::StatusWord;
use apdu::meter::{PIN_MAX_LEN, PIN_MAX_TRIES, PIN_MIN_LEN, PIN_PAD};
use subtle::ConstantTimeEq;

use crate::applet::Transient;
use crate::error::{Error, Result};
use crate::layout::{PIN_LEN, PIN_TRIES, PIN_VALUE};
use crate::store::Store;

/// Tries left.
pub fn tries(s: &Store) -> Result<u8> {
    Ok(PIN_TRIES.get(s)? as u8)
}

/// Sets the PIN and resets the try counter (inside an open transaction).
pub fn set(s: &mut Store, pin: &[u8]) -> Result<()> {
    let mut padded = [0u8; PIN_MAX_LEN];
    padded
        .get_mut(..pin.len())
        .ok_or(StatusWord::WRONG_LENGTH)?
        .copy_from_slice(pin);
    PIN_LEN.set(s, pin.len() as u64)?;
    PIN_VALUE.write(s, &padded)?;
    PIN_TRIES.set(s, u64::from(PIN_MAX_TRIES))?;
    Ok(())
}

/// VERIFY: `None` reports the state (9000 when verified, else 63Cx).
pub fn verify(s: &mut Store, ram: &mut Transient, pin: Option<&[u8]>) -> Result<()> {
    let Some(pin) = pin else {
        return match tries(s)? {
            0 => Err(StatusWord::AUTH_METHOD_BLOCKED.into()),
            _ if ram.pin_verified => Ok(()),
            n => Err(StatusWord::verify_failed(n).into()),
        };
    };
    check(s, ram, pin)
}

/// CHANGE REFERENCE DATA: the current PIN padded with [`PIN_PAD`] to
/// [`PIN_MAX_LEN`] bytes, then the new one.
pub fn change(s: &mut Store, ram: &mut Transient, old_then_new: &[u8]) -> Result<()> {
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
    check(s, ram, old)?;
    s.begin()?;
    set(s, new)?;
    s.commit()?;
    Ok(())
}

/// Decrements and commits the counter, compares, and resets it on success.
fn check(s: &mut Store, ram: &mut Transient, candidate: &[u8]) -> Result<()> {
    ram.pin_verified = false;
    let left = tries(s)?;
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

/// Fails with 6982 unless the PIN was verified since the last reset.
pub fn require(ram: &Transient) -> Result<()> {
    if ram.pin_verified {
        Ok(())
    } else {
        Err(StatusWord::SECURITY_STATUS_NOT_SATISFIED.into())
    }
}
