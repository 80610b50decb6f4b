//! Figure 4: validating a postmark on the card, for a fee. The card checks
//! the funds (404) and rejects with 9401 when short (406), verifies the
//! signer's certificate with the authority key (408, 412), the postmark's
//! signature, and compares the postmark's digest with the digest of the
//! message it hashed itself (414, 416, 418); it charges the fee and answers
//! the verdict (420, or which check failed) once the charge is committed.

use apdu::StatusWord;
use apdu::crypto;
use apdu::meter::{Lifecycle, Service, tag};
use apdu::postmark::PostmarkFile;
use apdu::tlv::Writer;

use crate::applet::Transient;
use crate::error::Result;
use crate::layout::LIFECYCLE;
use crate::platform::Platform;
use crate::store::Store;
use crate::{clock, funds, hash, personalization, pin, postmark};

/// VERIFY POSTMARK.
pub fn verify(
    s: &mut Store,
    ram: &mut Transient,
    p: &impl Platform,
    file: &[u8],
    out: &mut [u8],
) -> Result<usize> {
    if LIFECYCLE.get(s)? != Lifecycle::Personalized as u64 {
        return Err(StatusWord::CONDITIONS_NOT_SATISFIED.into());
    }
    pin::require(ram)?;
    let file = PostmarkFile::parse(file).map_err(|_| StatusWord::INCORRECT_DATA)?;
    if ram.hash.is_none() {
        return Err(StatusWord::CONDITIONS_NOT_SATISFIED.into());
    }
    let authority = personalization::authority_key(s)?;
    // 404 / 406: funds.
    let now = clock::now(s, p)?;
    let fee = funds::fee(s, Service::Verify)?;
    funds::check(s, now, postmark::REGISTER, fee)?;
    // 408-418: the checks.
    let digest = hash::finish(ram)?;
    let verdict = match crypto::check_postmark(&file, &authority, &digest) {
        Ok(()) => 0,
        Err(invalid) => invalid as u8,
    };

    s.begin()?;
    funds::debit(s, postmark::REGISTER, fee)?;
    clock::advance(s, now)?;
    let mut w = Writer::new(out);
    w.nested(tag::VERDICT_TEMPLATE, |w| {
        w.put(tag::VERDICT, &[verdict])?;
        w.put_u64(tag::FEE, fee)
    })?;
    s.commit()?;
    Ok(w.len())
}
