//! READ CERTIFICATE: the certificate data (Figure 2, 252/254) as stored;
//! slot 0 is the meter certificate, which the PC appends to a postmark
//! (Figure 3, 316).

use crate::certificates;
use crate::context::Context;
use crate::error::Result;
use crate::platform::Platform;

/// READ CERTIFICATE: the certificate in `slot`; 6A88 when empty, 6A86 past
/// the last slot.
pub fn read_certificate<P: Platform>(ctx: &mut Context<'_, P>, slot: u8) -> Result<usize> {
    let cert = certificates::read(ctx.store, usize::from(slot))?;
    ctx.out
        .get_mut(..cert.len())
        .ok_or(apdu::StatusWord::NOT_ENOUGH_MEMORY)?
        .copy_from_slice(cert);
    Ok(cert.len())
}
