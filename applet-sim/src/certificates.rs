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
    // A new certificate is not revoked, whatever the slot held before.
    let flag = slot_flag(i)?;
    if flag.get(s)? != 0 {
        flag.set(s, 0)?;
    }
    Ok(())
}

/// Where a slot keeps the private key of a certificate installed on the
/// card (Figure 5): its last 32 bytes. A certificate with its key may be at
/// most this long; a slot without a key has zeros there (no valid scalar).
pub const KEY_AT: usize = CERTIFICATE_SLOT_SIZE - 32;

/// Stores `cert` and its private `key` in slot `i` (inside an open
/// transaction): the key, the certificate, then its length (the length
/// makes the slot used). 6A84 when the certificate exceeds [`KEY_AT`].
pub fn write_with_key(s: &mut Store, i: usize, cert: &[u8], key: &[u8; 32]) -> Result<()> {
    if cert.len() > KEY_AT {
        return Err(StatusWord::NOT_ENOUGH_MEMORY.into());
    }
    let f = slot(i)?;
    f.sub(2 + KEY_AT, 32).write(s, key)?;
    write(s, i, cert)
}

/// The private key kept with the certificate in slot `i`, if any.
pub fn key(s: &Store, i: usize) -> Result<Option<&[u8]>> {
    read(s, i)?;
    let k = slot(i)?.sub(2 + KEY_AT, 32).read(s)?;
    Ok(if k.iter().all(|&b| b == 0) {
        None
    } else {
        Some(k)
    })
}

/// The slot a new holder certificate goes to: the first empty one after
/// the meter certificate's, else the first whose certificate is revoked
/// (it signs nothing more, and writing the new certificate and key there
/// destroys the revoked key); `None` when every slot holds a live
/// certificate.
pub fn free(s: &Store) -> Option<usize> {
    (1..CERTIFICATE_SLOTS)
        .find(|&i| read(s, i).is_err())
        .or_else(|| (1..CERTIFICATE_SLOTS).find(|&i| revoked(s, i).unwrap_or(false)))
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A certificate written into a slot is not revoked, whatever the slot
    /// held before: the revoked flag goes with the certificate it names.
    #[test]
    fn a_new_certificate_in_a_slot_is_not_revoked() {
        let mut s = Store::default();
        s.begin().unwrap();
        write(&mut s, 1, b"first").unwrap();
        revoke(&mut s, 1, 4).unwrap();
        s.commit().unwrap();
        assert!(revoked(&s, 1).unwrap());
        assert_eq!(
            check_not_revoked(&s, 1),
            Err(StatusWord::CERTIFICATE_REVOKED.into())
        );
        s.begin().unwrap();
        write_with_key(&mut s, 1, b"second", &[7; 32]).unwrap();
        s.commit().unwrap();
        assert!(!revoked(&s, 1).unwrap());
        assert_eq!(read(&s, 1).unwrap(), b"second");
        assert!(!revoked(&s, 2).unwrap(), "other slots untouched");
    }
}
