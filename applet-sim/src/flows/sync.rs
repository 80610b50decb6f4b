//! SYNC: an authority contact that does nothing else. The authority's
//! signed time (bound to this card's chip id, serial and GET CHALLENGE
//! nonce) moves the secure clock forward, and its service policy restarts
//! the service period and the count of charged operations: a lock lifts.

use apdu::StatusWord;
use apdu::message::Sync;
use subtle::ConstantTimeEq;

use crate::context::Context;
use crate::error::Result;
use crate::layout::CHIP_ID;
use crate::platform::Platform;
use crate::records::Counters;
use crate::{contact, funds, state};

/// SYNC. The dispatcher took the challenge out of RAM (any attempt consumes
/// it) and checked Personalized; it works while locked.
pub fn sync<P: Platform>(ctx: &mut Context<'_, P>, message: &[u8]) -> Result<usize> {
    let s = &mut *ctx.store;
    let m = Sync::parse(message).map_err(|_| StatusWord::INCORRECT_DATA)?;
    let challenge = ctx.challenge.ok_or(StatusWord::REFERENCE_DATA_NOT_USABLE)?;
    if !bool::from(challenge.ct_eq(m.body.challenge)) {
        return Err(StatusWord::REFERENCE_DATA_NOT_USABLE.into());
    }
    if CHIP_ID.read(s)? != m.body.chip_id || state::serial(s)? != m.body.serial {
        return Err(StatusWord::INCORRECT_DATA.into());
    }
    if !apdu::crypto::verify_signed(&m.signed, &state::authority_key(s)?) {
        return Err(StatusWord::SECURITY_STATUS_NOT_SATISFIED.into());
    }
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
