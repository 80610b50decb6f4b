//! RATE UPDATE ([value] point 2, the rate table of Figure 2, 257): the
//! authority's table, signed, versioned and bound to this card (chip id,
//! serial) and the GET CHALLENGE nonce the dispatcher consumed, replaces
//! the card's table in one transaction with its version. An older or equal
//! version is refused (`940A`), and nothing is written: a replayed or
//! rolled-back table never comes back.

use apdu::StatusWord;
use apdu::cmd::rate_update::RateUpdate;
use apdu::meter::rate_entry;

use crate::budget::RATE_TABLE_ENTRIES;
use crate::contact;
use crate::context::Context;
use crate::error::Result;
use crate::layout::{RATE_ENTRY_LEN, RATE_TABLE, RATE_VERSION};
use crate::platform::Platform;

/// RATE UPDATE. The dispatcher took the challenge out of RAM and checked
/// Personalized; it works while locked.
pub fn rate_update<P: Platform>(ctx: &mut Context<'_, P>, message: &[u8]) -> Result<usize> {
    let s = &mut *ctx.store;
    let m = RateUpdate::parse(message).map_err(|_| StatusWord::INCORRECT_DATA)?;
    contact::check_addressed(
        s,
        ctx.challenge,
        m.challenge,
        m.chip_id,
        m.serial,
        &m.signed,
    )?;
    if u64::from(m.version) <= RATE_VERSION.get(s)? {
        return Err(StatusWord::RATE_VERSION_NOT_NEWER.into());
    }
    let mut table = [0u8; RATE_TABLE_ENTRIES * RATE_ENTRY_LEN];
    for (n, (service, fee)) in m.rates.iter().enumerate() {
        let slot = table
            .get_mut(n * RATE_ENTRY_LEN..(n + 1) * RATE_ENTRY_LEN)
            .ok_or(StatusWord::NOT_ENOUGH_MEMORY)?;
        slot.copy_from_slice(&rate_entry(service, fee));
    }
    s.begin()?;
    RATE_TABLE.write(s, &table)?;
    RATE_VERSION.set(s, u64::from(m.version))?;
    s.commit()?;
    Ok(0)
}
