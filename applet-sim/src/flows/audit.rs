//! AUDIT ([value] point 4, inspection): the card signs, with the meter key
//! (246), a report of its state (registers 244/250 with control totals,
//! piece counts 242/248, counters, secure clock 232, rate-table version)
//! over its GET CHALLENGE nonce (read, not consumed: the authority's SYNC
//! answering the inspection consumes it), numbered and chained to its
//! previous report by the SHA-256 of that report's signed body. The new
//! count and this report's hash are committed (one transaction, one
//! logical write) before the report leaves the card, so a card restored
//! from an older image repeats a number or breaks the chain, which the
//! authority sees.

use apdu::StatusWord;
use apdu::cmd::audit::{AuditReportBody, HASH_LEN, REPORT};
use apdu::signed::Signed;
use apdu::tlv::Writer;
use sha2::{Digest, Sha256};

use crate::context::Context;
use crate::error::Result;
use crate::layout::{AUDIT_COUNT, AUDIT_HASH, VALUE};
use crate::platform::Platform;
use crate::{clock, records, state};

/// AUDIT. The dispatcher checked Personalized; it works while locked.
pub fn audit<P: Platform>(ctx: &mut Context<'_, P>) -> Result<usize> {
    let s = &mut *ctx.store;
    let now = clock::now(s, &*ctx.platform)?;
    let state = records::meter_state(s, now)?;
    let challenge = ctx
        .ram
        .challenge
        .ok_or(StatusWord::REFERENCE_DATA_NOT_USABLE)?;
    let chip_id = state::chip_id(s)?;
    let previous: [u8; HASH_LEN] = AUDIT_HASH
        .read(s)?
        .try_into()
        .map_err(|_| StatusWord::MEMORY_FAILURE)?;
    let number =
        u32::try_from(AUDIT_COUNT.get(s)? + 1).map_err(|_| StatusWord::NOT_ENOUGH_MEMORY)?;
    let body = AuditReportBody {
        chip_id: &chip_id,
        serial: state::serial(s)?,
        challenge: &challenge,
        number,
        previous: &previous,
        state,
    };
    let key = state::meter_signing_key(s, ctx.ram)?.ok_or(StatusWord::CONDITIONS_NOT_SATISFIED)?;
    let mut w = Writer::new(ctx.out);
    body.write(&mut w, |b| apdu::crypto::sign(&key, b))?;
    let len = w.len();
    let written = ctx.out.get(..len).ok_or(StatusWord::UNKNOWN)?;
    let signed = Signed::parse(written, REPORT).map_err(|_| StatusWord::UNKNOWN)?;
    let hash: [u8; HASH_LEN] = Sha256::digest(signed.signed_bytes).into();
    // Count and hash, contiguous in the value block: one logical write.
    let mut record = [0u8; 4 + HASH_LEN];
    let (count, chain) = record.split_at_mut(4);
    count.copy_from_slice(&number.to_be_bytes());
    chain.copy_from_slice(&hash);
    s.begin()?;
    VALUE.sub(4, 4 + HASH_LEN).write(s, &record)?;
    // Out only once committed.
    s.commit()?;
    Ok(len)
}
