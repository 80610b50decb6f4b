//! Figure 3: the cryptographic postmark. The message digest (304) was
//! computed on the card by the HASH flow; this assembles the content (306),
//! decides on the funds (308) and rejects with 9401 when short (310),
//! deducts (312) and signs (314) in one transaction, and returns the
//! postmark (316) only once the charge is committed.

use apdu::StatusWord;
use apdu::meter::METER_CERTIFICATE_SLOT;
use apdu::postmark::{ASCENDING, CERTIFICATE_SERIAL, DIGEST, FEE, METER, POSTMARK, SEQUENCE, TIME};

use crate::context::Context;
use crate::error::Result;
use crate::layout::Register;
use crate::platform::Platform;
use crate::records::Counters;
use crate::{certificates, clock, funds, signing, state};

/// POSTMARK. The dispatcher checked Personalized and the PIN; the service
/// and register charged are the policy's.
pub fn postmark<P: Platform>(ctx: &mut Context<'_, P>) -> Result<usize> {
    let charge = ctx.policy.charge.ok_or(StatusWord::UNKNOWN)?;
    let register = Register::from(charge.register);
    let s = &mut *ctx.store;
    if !ctx.ram.hashing() {
        return Err(StatusWord::CONDITIONS_NOT_SATISFIED.into());
    }
    let key = state::meter_signing_key(s, ctx.ram)?.ok_or(StatusWord::CONDITIONS_NOT_SATISFIED)?;
    // 306: the content.
    let now = clock::now(s, &*ctx.platform)?;
    let cert = certificates::parsed(s, METER_CERTIFICATE_SLOT.into())?;
    // Figure 6: a revoked meter certificate signs no postmark.
    certificates::check_not_revoked(s, METER_CERTIFICATE_SLOT.into())?;
    // A postmark no verifier would accept is not sold.
    if !cert.valid_at(now) {
        return Err(StatusWord::CONDITIONS_NOT_SATISFIED.into());
    }
    let cert_serial = cert.serial;
    let mut counters = Counters::read(s)?;
    let sequence = counters.postmarks + 1;
    // At its end the postmark count refuses rather than wrap (6A84), before
    // anything is consumed or written.
    if sequence > u64::from(u32::MAX) {
        return Err(StatusWord::NOT_ENOUGH_MEMORY.into());
    }
    // 308 / 310: funds, before anything is consumed or written.
    let fee = funds::fee(s, charge.service)?;
    funds::check(s, now, register, fee)?;
    // 304: the digest of the message hashed so far.
    let digest = ctx.ram.finish_hash()?;

    s.begin()?;
    // 312: deduct.
    let ascending = funds::debit(s, register, fee, &mut counters)?.ascending;
    counters.postmarks = sequence;
    counters.advance_clock(now);
    counters.write(s)?;
    let serial = state::serial(s)?;
    // 314: sign.
    let len = signing::write_signed(ctx.out, POSTMARK, &key, |w| {
        w.put(DIGEST, &digest)?;
        w.put_u64(TIME, now)?;
        w.put(METER, serial)?;
        w.put_u32(SEQUENCE, sequence as u32)?;
        w.put_u64(CERTIFICATE_SERIAL, cert_serial)?;
        w.put_u64(FEE, fee)?;
        w.put_u64(ASCENDING, ascending)
    })?;
    // 316: out only once committed.
    s.commit()?;
    Ok(len)
}
