//! SYNC: an authority contact that does nothing else. The authority's
//! signed time (bound to this card's chip id, serial and GET CHALLENGE
//! nonce) moves the secure clock forward, and its service policy restarts
//! the service period and the count of charged operations: a lock lifts.

use apdu::StatusWord;
use apdu::message::Sync;

use crate::context::Context;
use crate::error::Result;
use crate::platform::Platform;
use crate::records::Counters;
use crate::{contact, funds};

/// SYNC. The dispatcher took the challenge out of RAM (any attempt consumes
/// it) and checked Personalized; it works while locked.
pub fn sync<P: Platform>(ctx: &mut Context<'_, P>, message: &[u8]) -> Result<usize> {
    let s = &mut *ctx.store;
    let m = Sync::parse(message).map_err(|_| StatusWord::INCORRECT_DATA)?;
    contact::check_addressed(
        s,
        ctx.challenge,
        m.body.challenge,
        m.body.chip_id,
        m.body.serial,
        &m.signed,
    )?;
    let mut counters = Counters::read(s)?;
    counters.advance_clock(m.body.time);
    counters.deadline = m.body.deadline;
    s.begin()?;
    // Figure 6, 620: a Revoke fee due is collected at this contact.
    funds::collect_due(s, &mut counters)?;
    counters.write(s)?;
    contact::record(s, m.body.time, Some(m.body.policy))?;
    s.commit()?;
    Ok(0)
}
