//! The secure clock (Figure 2, 232): the card keeps the latest time it has
//! seen and never goes back, whatever its time source says. The stored
//! clock lives in the counters record and moves forward only
//! ([`crate::records::Counters::advance_clock`]).

use crate::error::Result;
use crate::layout::CLOCK;
use crate::platform::Platform;
use crate::store::Store;

/// The card's time: the later of the stored clock and the time source.
pub fn now(s: &Store, p: &impl Platform) -> Result<u64> {
    Ok(CLOCK.get(s)?.max(p.now()))
}
