//! The credit block of layout v5 ([`crate::layout::CREDIT`], Figures 7A,
//! 8 and 9): the credit record (read whole, written whole: one logical
//! write), the stored line file and its digest. Used by STORE CREDIT LINE,
//! READ CREDIT LINE and PAY.

use apdu::StatusWord;
use apdu::cmd::credit_line::{CreditState, LINE_FILE_MAX_LEN, LineFile};

use crate::error::Result;
use crate::layout::{
    CREDIT_DIGEST, CREDIT_FILE, CREDIT_LINE, CREDIT_LINE_NUMBER, CREDIT_PAYMENTS, CREDIT_RECORD,
    CREDIT_RECORD_LEN, CREDIT_REMAINING,
};
use crate::store::Store;

const _: () = assert!(CREDIT_RECORD_LEN == 4 + 8 + 8 + 4);

/// The credit record.
pub fn read(s: &Store) -> Result<CreditState> {
    Ok(CreditState {
        number: CREDIT_LINE_NUMBER.get(s)? as u32,
        line: CREDIT_LINE.get(s)?,
        remaining: CREDIT_REMAINING.get(s)?,
        payments: CREDIT_PAYMENTS.get(s)? as u32,
    })
}

/// Writes the credit record (inside an open transaction): one logical
/// write of [`CREDIT_RECORD_LEN`] bytes.
pub fn write(s: &mut Store, c: &CreditState) -> Result<()> {
    let mut buf = [0u8; CREDIT_RECORD_LEN];
    let bytes = c
        .number
        .to_be_bytes()
        .into_iter()
        .chain(c.line.to_be_bytes())
        .chain(c.remaining.to_be_bytes())
        .chain(c.payments.to_be_bytes());
    for (d, b) in buf.iter_mut().zip(bytes) {
        *d = b;
    }
    CREDIT_RECORD.write(s, &buf)?;
    Ok(())
}

/// The stored line file (creditor certificate and 7A); 940E when the card
/// holds no line.
pub fn file(s: &Store) -> Result<&[u8]> {
    let len = CREDIT_FILE.sub(0, 2).get(s)? as usize;
    if len == 0 || CREDIT_LINE_NUMBER.get(s)? == 0 {
        return Err(StatusWord::NO_CREDIT_LINE.into());
    }
    Ok(CREDIT_FILE.sub(2, len.min(LINE_FILE_MAX_LEN)).read(s)?)
}

/// The stored line file, parsed.
pub fn parsed(s: &Store) -> Result<LineFile<'_>> {
    LineFile::parse(file(s)?).map_err(|_| StatusWord::MEMORY_FAILURE.into())
}

/// SHA-256 of the stored 7A.
pub fn digest(s: &Store) -> Result<[u8; 32]> {
    CREDIT_DIGEST
        .read(s)?
        .try_into()
        .map_err(|_| StatusWord::MEMORY_FAILURE.into())
}

/// Stores a line file and its 7A's digest (inside an open transaction):
/// the bytes, the digest, then the length.
pub fn store(s: &mut Store, file: &[u8], digest: &[u8; 32]) -> Result<()> {
    if file.len() > LINE_FILE_MAX_LEN {
        return Err(StatusWord::NOT_ENOUGH_MEMORY.into());
    }
    CREDIT_FILE.sub(2, file.len()).write(s, file)?;
    CREDIT_DIGEST.write(s, digest)?;
    CREDIT_FILE.sub(0, 2).set(s, file.len() as u64)?;
    Ok(())
}
