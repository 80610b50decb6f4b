//! The secure clock (Figure 2, 232): the card keeps the latest time it has
//! seen and never goes back, whatever its time source says.

use crate::error::Result;
use crate::layout::CLOCK;
use crate::platform::Platform;
use crate::store::Store;

/// The card's time: the later of the stored clock and the time source.
pub fn now(s: &Store, p: &impl Platform) -> Result<u64> {
    Ok(CLOCK.get(s)?.max(p.now()))
}

/// Moves the stored clock forward to `t` (inside an open transaction);
/// an earlier `t` leaves it as it is.
pub fn advance(s: &mut Store, t: u64) -> Result<()> {
    if t > CLOCK.get(s)? {
        CLOCK.set(s, t)?;
    }
    Ok(())
}
