//! Writing signed objects (`OUTER { 7F4E body, 5F37 signature }`, see
//! [`apdu::signed`]) with a key held on the card, into the response buffer.

use apdu::tlv::{Tag, TlvError, Writer};
use p256::ecdsa::SigningKey;

use crate::error::Result;

/// Writes `kind { 7F4E { fields } 5F37 sig }` into `out` with
/// [`apdu::crypto::write_signed`]; returns its length.
pub fn write_signed(
    out: &mut [u8],
    kind: Tag,
    key: &SigningKey,
    fields: impl FnOnce(&mut Writer<'_>) -> core::result::Result<(), TlvError>,
) -> Result<usize> {
    let mut w = Writer::new(out);
    apdu::crypto::write_signed(&mut w, kind, key, fields)?;
    Ok(w.len())
}
