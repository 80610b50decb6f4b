//! Figure 4: validating a postmark on the card, for a fee. The card checks
//! the funds (404) and rejects with 9401 when short (406), verifies the
//! signer's certificate with the authority key (408, 412), the postmark's
//! signature, and compares the postmark's digest with the digest of the
//! message it hashed itself (414, 416, 418); it charges the fee and answers
//! the verdict (420, or which check failed) once the charge is committed.
//!
//! With a revocation list (P1 = 01), the list is checked under the
//! authority key before anything else (a list the authority did not sign is
//! refused with 6982, nothing charged), and a postmark that passes every
//! other check but is dated after its certificate's revocation gets the
//! verdict "revoked"; the answer names the list's number.

use apdu::StatusWord;
use apdu::cmd::revoke::Crl;
use apdu::cmd::verify_postmark::{Invalid, split};
use apdu::crypto;
use apdu::meter::tag;
use apdu::postmark::PostmarkFile;
use apdu::tlv::Writer;

use crate::context::Context;
use crate::error::Result;
use crate::layout::Register;
use crate::platform::Platform;
use crate::records::Counters;
use crate::{clock, funds, state};

/// VERIFY POSTMARK. The dispatcher checked Personalized and the PIN; the
/// service and register charged are the policy's.
pub fn verify_postmark<P: Platform>(
    ctx: &mut Context<'_, P>,
    data: &[u8],
    with_crl: bool,
) -> Result<usize> {
    let charge = ctx.policy.charge.ok_or(StatusWord::UNKNOWN)?;
    let register = Register::from(charge.register);
    let s = &mut *ctx.store;
    let (file, list) = if with_crl {
        let (file, list) = split(data).map_err(|_| StatusWord::INCORRECT_DATA)?;
        let list = Crl::parse(list).map_err(|_| StatusWord::INCORRECT_DATA)?;
        (file, Some(list))
    } else {
        (data, None)
    };
    let file = PostmarkFile::parse(file).map_err(|_| StatusWord::INCORRECT_DATA)?;
    if !ctx.ram.hashing() {
        return Err(StatusWord::CONDITIONS_NOT_SATISFIED.into());
    }
    let authority = state::authority_key(s)?;
    let previous = state::previous_authority_key(s)?;
    // The list: signed by the authority, under its current key or the one
    // a KEY UPDATE replaced.
    if let Some(list) = &list {
        let signed_by = |key: &_| crypto::verify_signed(&list.signed, key);
        if !(signed_by(&authority) || previous.as_ref().is_some_and(signed_by)) {
            return Err(StatusWord::SECURITY_STATUS_NOT_SATISFIED.into());
        }
    }
    // 404 / 406: funds.
    let now = clock::now(s, &*ctx.platform)?;
    let fee = funds::fee(s, charge.service)?;
    funds::check(s, now, register, fee)?;
    // 408-418: the checks.
    let digest = ctx.ram.finish_hash()?;
    // A postmark dated ahead of the card's clock (which never goes back)
    // by more than the skew is refused: verdict 7.
    let mut checked =
        crypto::check_postmark_at(&file, &authority, &digest, now, crypto::DEFAULT_SKEW);
    // A certificate signed by the authority key a KEY UPDATE replaced
    // verifies under that key until it expires.
    if checked.is_err()
        && let Some(previous) = &previous
    {
        let again = crypto::check_postmark_at(&file, previous, &digest, now, crypto::DEFAULT_SKEW);
        if again.is_ok() {
            checked = again;
        }
    }
    // A postmark dated after its certificate's revocation.
    if checked.is_ok()
        && let Some(list) = &list
        && list
            .find(file.certificate.serial)
            .is_some_and(|e| file.postmark.time > e.revoked_at)
    {
        checked = Err(Invalid::Revoked);
    }
    let verdict = match checked {
        Ok(()) => 0,
        Err(invalid) => invalid as u8,
    };

    let mut counters = Counters::read(s)?;
    s.begin()?;
    funds::debit(s, register, fee, &mut counters)?;
    counters.advance_clock(now);
    counters.write(s)?;
    let mut w = Writer::new(ctx.out);
    w.nested(tag::VERDICT_TEMPLATE, |w| {
        w.put(tag::VERDICT, &[verdict])?;
        w.put_u64(tag::FEE, fee)?;
        match &list {
            Some(list) => w.put_u64(tag::VERDICT_CRL_NUMBER, list.number),
            None => Ok(()),
        }
    })?;
    s.commit()?;
    Ok(w.len())
}
