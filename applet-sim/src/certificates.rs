//! Certificate data (Figure 2, 252/254): fixed slots, each holding one
//! certificate of up to [`CERTIFICATE_SLOT_SIZE`] bytes. Slot 0 holds the
//! meter certificate.

use apdu::StatusWord;
use apdu::cert::Certificate;

use crate::budget::{CERTIFICATE_SLOT_SIZE, CERTIFICATE_SLOTS};
use crate::error::Result;
use crate::layout::{CERTIFICATES, Field, REVOKED};
use crate::store::Store;

fn slot(i: usize) -> Result<Field> {
    if i >= CERTIFICATE_SLOTS {
        return Err(StatusWord::INCORRECT_P1P2.into());
    }
    Ok(CERTIFICATES.part(i, CERTIFICATE_SLOTS))
}

/// The certificate in slot `i`; 6A88 when the slot is empty.
pub fn read(s: &Store, i: usize) -> Result<&[u8]> {
    let f = slot(i)?;
    let len = f.sub(0, 2).get(s)? as usize;
    if len == 0 {
        return Err(StatusWord::REFERENCED_DATA_NOT_FOUND.into());
    }
    Ok(f.sub(2, len.min(CERTIFICATE_SLOT_SIZE)).read(s)?)
}

/// The parsed certificate in slot `i`.
pub fn parsed(s: &Store, i: usize) -> Result<Certificate<'_>> {
    Certificate::parse(read(s, i)?).map_err(|_| StatusWord::MEMORY_FAILURE.into())
}

/// Stores `cert` in slot `i` (inside an open transaction); 6A84 when it
/// exceeds the slot.
pub fn write(s: &mut Store, i: usize, cert: &[u8]) -> Result<()> {
    if cert.len() > CERTIFICATE_SLOT_SIZE {
        return Err(StatusWord::NOT_ENOUGH_MEMORY.into());
    }
    let f = slot(i)?;
    f.sub(2, cert.len()).write(s, cert)?;
    f.sub(0, 2).set(s, cert.len() as u64)?;
    Ok(())
}

/// Number of slots in use.
pub fn used(s: &Store) -> usize {
    (0..CERTIFICATE_SLOTS)
        .filter(|&i| read(s, i).is_ok())
        .count()
}

/// Whether the certificate in slot `i` is revoked (layout v4,
/// [`crate::layout::REVOKED`]).
pub fn revoked(s: &Store, i: usize) -> Result<bool> {
    let flags = REVOKED.read(s)?;
    Ok(flags.get(i).is_some_and(|&b| b != 0))
}

/// 9409 when the certificate in slot `i` is revoked: it signs nothing more.
pub fn check_not_revoked(s: &Store, i: usize) -> Result<()> {
    if revoked(s, i)? {
        return Err(StatusWord::CERTIFICATE_REVOKED.into());
    }
    Ok(())
}

/// Marks the certificate in slot `i` revoked for `reason` (inside an open
/// transaction; Figure 6, 616).
pub fn revoke(s: &mut Store, i: usize, reason: u8) -> Result<()> {
    let f = slot_flag(i)?;
    f.set(s, u64::from(reason) + 1)?;
    Ok(())
}

fn slot_flag(i: usize) -> Result<Field> {
    if i >= CERTIFICATE_SLOTS {
        return Err(StatusWord::INCORRECT_P1P2.into());
    }
    Ok(REVOKED.sub(i, 1))
}
