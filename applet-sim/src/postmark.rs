//! Figure 3: the cryptographic postmark. The message digest (304) was
//! computed on the card by [`crate::hash`]; this assembles the content
//! (306), decides on the funds (308) and rejects with 9401 when short
//! (310), deducts (312) and signs (314) in one transaction, and returns the
//! postmark (316) only once the charge is committed.

use apdu::StatusWord;
use apdu::meter::{Lifecycle, METER_CERTIFICATE_SLOT, Service};
use apdu::postmark::{ASCENDING, CERTIFICATE_SERIAL, DIGEST, FEE, METER, POSTMARK, SEQUENCE, TIME};

use crate::applet::Transient;
use crate::error::Result;
use crate::layout::{LIFECYCLE, POSTMARK_COUNT, Register};
use crate::platform::Platform;
use crate::store::Store;
use crate::{certificates, clock, funds, hash, keys, personalization, pin, signing};

/// The register that pays for postmarks.
pub const REGISTER: Register = Register::Certificate;

/// POSTMARK.
pub fn postmark(
    s: &mut Store,
    ram: &mut Transient,
    p: &impl Platform,
    out: &mut [u8],
) -> Result<usize> {
    if LIFECYCLE.get(s)? != Lifecycle::Personalized as u64 {
        return Err(StatusWord::CONDITIONS_NOT_SATISFIED.into());
    }
    pin::require(ram)?;
    if ram.hash.is_none() {
        return Err(StatusWord::CONDITIONS_NOT_SATISFIED.into());
    }
    let key = keys::meter_signing_key(s, ram)?.ok_or(StatusWord::CONDITIONS_NOT_SATISFIED)?;
    // 306: the content.
    let now = clock::now(s, p)?;
    let cert = certificates::parsed(s, METER_CERTIFICATE_SLOT.into())?;
    // A postmark no verifier would accept is not sold.
    if !cert.valid_at(now) {
        return Err(StatusWord::CONDITIONS_NOT_SATISFIED.into());
    }
    let cert_serial = cert.serial;
    let sequence = POSTMARK_COUNT.get(s)? + 1;
    // 308 / 310: funds, before anything is consumed or written.
    let fee = funds::fee(s, Service::Postmark)?;
    funds::check(s, now, REGISTER, fee)?;
    // 304: the digest of the message hashed so far.
    let digest = hash::finish(ram)?;

    s.begin()?;
    // 312: deduct.
    funds::debit(s, REGISTER, fee)?;
    POSTMARK_COUNT.set(s, sequence)?;
    clock::advance(s, now)?;
    let ascending = REGISTER.ascending().get(s)?;
    let serial = personalization::serial(s)?;
    // 314: sign.
    let len = signing::write_signed(out, POSTMARK, &key, |w| {
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
