//! The hash function processor (Figure 2, 230): the card digests the
//! message itself (Figure 3, step 304; Figure 4, step 414), over as many
//! HASH commands as the message needs. The state lives in transient RAM.

use apdu::StatusWord;
use sha2::{Digest, Sha256};

use crate::applet::Transient;
use crate::error::Result;

/// HASH init: forget any message in progress and start a new one.
pub fn init(ram: &mut Transient) {
    ram.hash = Some(Sha256::new());
}

/// HASH update: the next part of the message; 6985 without an init.
pub fn update(ram: &mut Transient, data: &[u8]) -> Result<()> {
    let h = ram
        .hash
        .as_mut()
        .ok_or(StatusWord::CONDITIONS_NOT_SATISFIED)?;
    h.update(data);
    Ok(())
}

/// The digest of the message hashed since init; the state is consumed.
pub fn finish(ram: &mut Transient) -> Result<[u8; 32]> {
    let h = ram
        .hash
        .take()
        .ok_or(StatusWord::CONDITIONS_NOT_SATISFIED)?;
    Ok(h.finalize().into())
}
