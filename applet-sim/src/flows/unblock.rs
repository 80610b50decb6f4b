//! RESET RETRY COUNTER: the owner PIN, forgotten or blocked, is replaced
//! through the authority's signed unblock message (it checked the holder
//! first), bound to this card's chip id and serial and to its GET CHALLENGE
//! nonce, so it is usable once. The new PIN comes after the message; it is
//! the holder's own (not a transport PIN), with full tries. The message's
//! authority time moves the secure clock forward; it does not service the
//! meter (no policy, no deadline): a lock stays until a load or a sync.

use apdu::StatusWord;
use apdu::message::Unblock;
use apdu::meter::pin_well_formed;

use crate::context::Context;
use crate::error::Result;
use crate::layout::PIN_TRANSPORT;
use crate::platform::Platform;
use crate::records::Counters;
use crate::{contact, state};

/// RESET RETRY COUNTER. The dispatcher took the challenge out of RAM (any
/// attempt consumes it) and checked Personalized.
pub fn unblock<P: Platform>(ctx: &mut Context<'_, P>, data: &[u8]) -> Result<usize> {
    let s = &mut *ctx.store;
    let m = Unblock::parse(data).map_err(|_| StatusWord::INCORRECT_DATA)?;
    contact::check_addressed(
        s,
        ctx.challenge,
        m.body.challenge,
        m.body.chip_id,
        m.body.serial,
        &m.signed,
    )?;
    if !(apdu::meter::PIN_MIN_LEN..=apdu::meter::PIN_MAX_LEN).contains(&m.new_pin.len()) {
        return Err(StatusWord::WRONG_LENGTH.into());
    }
    if !pin_well_formed(m.new_pin) {
        return Err(StatusWord::INCORRECT_DATA.into());
    }
    ctx.ram.pin_verified = false;
    s.begin()?;
    state::set_pin(s, m.new_pin)?;
    PIN_TRANSPORT.set(s, 0)?;
    let mut counters = Counters::read(s)?;
    counters.advance_clock(m.body.time);
    counters.write(s)?;
    s.commit()?;
    Ok(0)
}
