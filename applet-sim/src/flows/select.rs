//! SELECT of the meter application (ISO 7816-4): the PC's first command to
//! the meter (Figure 2, port 234). Any SELECT deselects first, so no
//! security state survives it.

use apdu::StatusWord;
use apdu::meter::{AID, Lifecycle};
use apdu::tlv::Writer;
use subtle::ConstantTimeEq;

use crate::context::Context;
use crate::error::Result;
use crate::platform::Platform;
use crate::state::{self, Transient};

/// SELECT by DF name: answers the FCI (AID and life cycle); 6A82 for
/// another AID or erased memory, 6283 (selected, no FCI) when Terminated.
pub fn select<P: Platform>(ctx: &mut Context<'_, P>, aid: &[u8]) -> Result<usize> {
    // Any SELECT deselects first: security state does not survive it.
    *ctx.ram = Transient::default();
    if !bool::from(aid.ct_eq(AID)) {
        return Err(StatusWord::NOT_FOUND.into());
    }
    let lifecycle = state::lifecycle(ctx.store).ok_or(StatusWord::NOT_FOUND)?;
    ctx.ram.selected = true;
    let mut w = Writer::new(ctx.out);
    // FCI: the AID and the life-cycle state.
    w.nested(0x6F, |w| {
        w.put(0x84, AID)?;
        w.nested(0xA5, |w| {
            w.put(apdu::meter::tag::LIFECYCLE, &[lifecycle as u8])
        })
    })?;
    if lifecycle == Lifecycle::Terminated {
        return Err(StatusWord::SELECTED_FILE_DEACTIVATED.into());
    }
    Ok(w.len())
}
