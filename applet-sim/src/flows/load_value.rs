//! LOAD VALUE (value-load step V3): funds enter the card only through a
//! message signed by the authority (the value provider of Figure 2, 222),
//! bound to this card's chip id and serial, and usable once (it must carry
//! the card's load count plus one). The card credits the register (244 or
//! 250) and answers a receipt signed with the meter key (246), which the
//! authority records. Every load also services the meter: it sets a new
//! deadline, lifting a lock-out.
//!
//! A recharge ([value] point 1, step R3) comes this same way: its value
//! load also carries the challenge of the card's recharge request
//! ([`crate::flows::recharge`]), which must be the GET CHALLENGE nonce the
//! dispatcher took out of RAM for this command (`6984` otherwise: replayed,
//! or answering another request), and the receipt echoes it.

use apdu::StatusWord;
use apdu::crypto;
use apdu::message::{
    AMOUNT, ASCENDING, DESCENDING, LOAD_NUMBER, LOAD_RECEIPT, REGISTER, TIME, ValueLoad,
};

use crate::context::Context;
use crate::error::Result;
use crate::layout::{CHIP_ID, Register};
use crate::platform::Platform;
use crate::records::Counters;
use crate::{certificates, clock, contact, funds, signing, state};
use apdu::meter::METER_CERTIFICATE_SLOT;

/// LOAD VALUE: checks the message, credits the register and writes the
/// signed receipt into the response. The dispatcher checked Personalized.
pub fn load_value<P: Platform>(ctx: &mut Context<'_, P>, message: &[u8]) -> Result<usize> {
    let s = &mut *ctx.store;
    let m = ValueLoad::parse(message).map_err(|_| StatusWord::INCORRECT_DATA)?;
    let authority = state::authority_key(s)?;
    if !crypto::verify_signed(&m.signed, &authority) {
        return Err(StatusWord::SECURITY_STATUS_NOT_SATISFIED.into());
    }
    if CHIP_ID.read(s)? != m.chip_id || state::serial(s)? != m.serial {
        return Err(StatusWord::INCORRECT_DATA.into());
    }
    // A recharge's load answers this command's challenge, once.
    if let Some(answered) = m.challenge {
        use subtle::ConstantTimeEq;
        let fresh = ctx.challenge.ok_or(StatusWord::REFERENCE_DATA_NOT_USABLE)?;
        if !bool::from(fresh.ct_eq(answered)) {
            return Err(StatusWord::REFERENCE_DATA_NOT_USABLE.into());
        }
    }
    // Figure 6: no loads once the meter certificate is revoked.
    certificates::check_not_revoked(s, METER_CERTIFICATE_SLOT.into())?;
    let mut counters = Counters::read(s)?;
    let count = counters.load_count;
    if u64::from(m.number) != count + 1 {
        return Err(StatusWord::REFERENCE_DATA_NOT_USABLE.into());
    }
    let key = state::meter_signing_key(s, ctx.ram)?.ok_or(StatusWord::CONDITIONS_NOT_SATISFIED)?;
    let r = Register::from(m.register);

    s.begin()?;
    let mut rec = funds::credit(s, r, m.amount, &mut counters)?;
    // Figure 6, 620: a Revoke fee due is collected at this contact.
    if funds::collect_due(s, &mut counters)? != 0 && r == Register::Certificate {
        rec = crate::records::RegisterRecord::read(s, r)?;
    }
    counters.load_count = count + 1;
    counters.deadline = m.deadline;
    counters.advance_clock(m.time);
    counters.write(s)?;
    contact::record(s, m.time, m.policy)?;
    let now = clock::now(s, &*ctx.platform)?;
    let (asc, desc) = (rec.ascending, rec.descending);
    let serial = state::serial(s)?;
    let len = signing::write_signed(ctx.out, LOAD_RECEIPT, &key, |w| {
        w.put(apdu::cert::HOLDER, serial)?;
        if let Some(c) = m.challenge {
            w.put(apdu::message::CHALLENGE, c)?;
        }
        w.put_u32(LOAD_NUMBER, m.number)?;
        w.put(REGISTER, &[m.register as u8])?;
        w.put_u64(AMOUNT, m.amount)?;
        w.put_u64(ASCENDING, asc)?;
        w.put_u64(DESCENDING, desc)?;
        w.put_u64(TIME, now)
    })?;
    s.commit()?;
    Ok(len)
}
