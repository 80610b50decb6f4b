//! The hash function processor (Figure 2, 230): the card digests the
//! message itself (Figure 3, step 304; Figure 4, step 414), over as many
//! HASH commands as the message needs. The state lives in transient RAM;
//! POSTMARK and VERIFY POSTMARK finish it
//! ([`crate::state::Transient::finish_hash`]).

use apdu::StatusWord;
use sha2::{Digest, Sha256};

use crate::context::Context;
use crate::error::Result;
use crate::platform::Platform;

/// HASH init: forget any message in progress and start a new one.
pub fn init<P: Platform>(ctx: &mut Context<'_, P>) -> Result<usize> {
    ctx.ram.hash = Some(Sha256::new());
    Ok(0)
}

/// HASH update: the next part of the message; 6985 without an init.
pub fn update<P: Platform>(ctx: &mut Context<'_, P>, data: &[u8]) -> Result<usize> {
    let h = ctx
        .ram
        .hash
        .as_mut()
        .ok_or(StatusWord::CONDITIONS_NOT_SATISFIED)?;
    h.update(data);
    Ok(0)
}
