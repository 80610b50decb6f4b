//! Figure 4 vectors: validation on the card of a valid postmark, of a
//! tampered message, of another authority's postmark, and the funds
//! decision refusing a validation.

use apdu::crypto::Invalid;
use authority::Authority;
use reader::meter::CardVerdict;
use reader::postmark::{self, VerifyError};

use super::{
    AUTHORITY, AUTHORITY_SEED, CARD, DAY, Funds, MESSAGE, OTHER_AUTHORITY_SEED, POSTMARK_FEE,
    PREAMBLE, Result, Session, VERIFY_FEE, money, personalized, postmarked,
};
use crate::{CardSpec, Vector};

/// Every Figure 4 vector, in file order.
pub(super) fn vectors() -> Result<Vec<Vector>> {
    Ok(vec![
        verify_valid()?,
        verify_tampered()?,
        verify_other_authority()?,
        verify_insufficient_funds()?,
        verify_future_dated()?,
    ])
}

fn verify_valid() -> Result<Vector> {
    let (mut s, _, file) = postmarked("fig4-verify-valid", 100)?;
    let v = s.verify(
        MESSAGE,
        &file,
        "Figure 4, steps 404/408/410/414/416/420: funds suffice, the certificate is signed by the card's authority, the postmark signature holds, the digests match: valid (verdict 00); the fee is charged",
    )?;
    s.ensure(
        v == CardVerdict {
            result: Ok(()),
            fee: VERIFY_FEE,
            crl: None,
        },
        || format!("verdict on a valid postmark: {v:?}"),
    )?;
    let (f, _) = s.funds(&format!(
        "Figure 2, 248/250: registers after postmark and validation: {} used, {} left, 2 pieces",
        money(POSTMARK_FEE + VERIFY_FEE),
        money(100 - POSTMARK_FEE - VERIFY_FEE)
    ))?;
    s.ensure(f.descending == 100 - POSTMARK_FEE - VERIFY_FEE, || {
        format!("{f:?}")
    })?;
    Ok(s.finish(
        "Figure 4",
        format!(
            "Figure 4 on the card, a valid postmark. {PREAMBLE} with 1.00, then postmarks the message (Figure 3). Validation: \
             the PC streams the same message to the card's hash (414) and sends the postmark file; the card checks its funds (404), \
             the certificate against the authority key installed at personalization (408/410), the postmark signature, and the digests \
             (416), charges the {} fee and answers verdict 00: valid (420).",
            money(VERIFY_FEE)
        ),
    ))
}

fn verify_tampered() -> Result<Vector> {
    let (mut s, authority, file) = postmarked("fig4-verify-tampered", 100)?;
    let mut tampered = MESSAGE.to_vec();
    tampered[8] ^= 0x01;
    let offline = postmark::verify_offline(
        &mut &tampered[..],
        &file,
        &authority.public_key(),
        CARD.time,
        apdu::crypto::DEFAULT_SKEW,
    );
    s.ensure(
        matches!(offline, Err(VerifyError::Invalid(Invalid::DigestMismatch))),
        || format!("a tampered message off the card: {offline:?}"),
    )?;
    let v = s.verify(
        &tampered,
        &file,
        "Figure 4, steps 404/408/410/414/416/418: funds suffice and the certificate holds, but the digest of the message in hand differs from the postmark's: rejected at 418 (verdict 06); the fee is charged",
    )?;
    s.ensure(
        v == CardVerdict {
            result: Err(Invalid::DigestMismatch),
            fee: VERIFY_FEE,
            crl: None,
        },
        || format!("verdict on a tampered message: {v:?}"),
    )?;
    let (f, _) = s.funds(&format!(
        "Figure 2, 248/250: registers after the rejected validation: the {} fee is charged all the same",
        money(VERIFY_FEE)
    ))?;
    s.ensure(f.descending == 100 - POSTMARK_FEE - VERIFY_FEE, || {
        format!("{f:?}")
    })?;
    Ok(s.finish(
        "Figure 4",
        format!(
            "Figure 4 on the card, a tampered message. {PREAMBLE} with 1.00 and postmarks the message {:?}. Validation is asked for \
             the same postmark file but a message with one bit changed ({:?}): the card's digest (414) differs from the postmark's (416), \
             so the verdict is 06, rejected at 418. Validation is a paid service: the {} fee is charged for the rejection too.",
            String::from_utf8_lossy(MESSAGE),
            String::from_utf8_lossy(&tampered),
            money(VERIFY_FEE)
        ),
    ))
}

fn verify_other_authority() -> Result<Vector> {
    // Another meter, personalized by an authority with the same name but
    // another key, postmarks the same message. Its steps are not part of
    // the vector: only the postmark file it produced is.
    let other_serial = "PB-000002";
    let mut other = Authority::deterministic(AUTHORITY, OTHER_AUTHORITY_SEED, CARD.time)?;
    let other_card = CardSpec {
        seed: CARD.seed + 1,
        time: CARD.time,
        issuer_root: Some(OTHER_AUTHORITY_SEED),
        unattested: false,
    };
    let mut o = Session::new("fig4-verify-other-authority (other meter)", other_card)?;
    o.open()?;
    o.personalize(&mut other, other_serial, 100)?;
    let file = o.postmark_funded()?;

    let (mut s, authority) = personalized("fig4-verify-other-authority", 100)?;
    let offline = postmark::verify_offline(
        &mut &MESSAGE[..],
        &file,
        &authority.public_key(),
        CARD.time,
        apdu::crypto::DEFAULT_SKEW,
    );
    s.ensure(
        matches!(
            offline,
            Err(VerifyError::Invalid(Invalid::CertificateSignature))
        ),
        || format!("another authority's postmark off the card: {offline:?}"),
    )?;
    let v = s.verify(
        MESSAGE,
        &file,
        "Figure 4, steps 404/408/410/412: funds suffice, but the signer's certificate is not signed by the card's authority: rejected at 412 (verdict 01); the fee is charged",
    )?;
    s.ensure(
        v == CardVerdict {
            result: Err(Invalid::CertificateSignature),
            fee: VERIFY_FEE,
            crl: None,
        },
        || format!("verdict on another authority's postmark: {v:?}"),
    )?;
    let (f, _) = s.funds(&format!(
        "Figure 2, 248/250: registers after the rejected validation: the {} fee is charged, no postmark was made on this card",
        money(VERIFY_FEE)
    ))?;
    s.ensure(
        f == Funds {
            ascending: VERIFY_FEE,
            descending: 100 - VERIFY_FEE,
            pieces: 1,
        },
        || format!("{f:?}"),
    )?;
    Ok(s.finish(
        "Figure 4",
        format!(
            "Figure 4 on the card, a postmark certified by another authority. {PREAMBLE} by {AUTHORITY} (key seed {AUTHORITY_SEED}) with 1.00. \
             The postmark file comes from another meter ({other_serial}, card seed {}) personalized by an authority with the same name but \
             another key (seed {OTHER_AUTHORITY_SEED}); it postmarked the same message {:?}. The card hashes the message (414) and checks the \
             file: the signer's certificate does not verify with its authority key (408/410), so the verdict is 01, rejected at 412. \
             The {} fee is charged.",
            other_card.seed,
            String::from_utf8_lossy(MESSAGE),
            money(VERIFY_FEE)
        ),
    ))
}

fn verify_insufficient_funds() -> Result<Vector> {
    let loaded = 30;
    let (mut s, _, file) = postmarked("fig4-verify-insufficient-funds", loaded)?;
    let left = loaded - POSTMARK_FEE;
    s.refused_for_funds(
        left,
        &format!(
            "Figure 2, 248/250: registers before validation: {} left, less than the {} validation fee",
            money(left),
            money(VERIFY_FEE)
        ),
        "validation",
        |s| {
            s.verify(
                MESSAGE,
                &file,
                "Figure 4, steps 404/406: funds do not suffice; the validation is refused (9401) and nothing is charged",
            )
        },
    )?;
    Ok(s.finish(
        "Figure 4",
        format!(
            "Figure 4, the funds decision (404) rejecting a validation (406). {PREAMBLE} with only {} and postmarks the message for {}, \
             leaving {}. Validating that (valid) postmark costs {}: the card refuses with 9401 (insufficient funds) before checking \
             anything, and charges nothing. GET DATA status before and after the refusal answers the same bytes.",
            money(loaded),
            money(POSTMARK_FEE),
            money(left),
            money(VERIFY_FEE)
        ),
    ))
}

/// A postmark dated a day ahead of the verifier's clock: a meter whose
/// clock is ahead made it (its steps are not part of the vector); the card
/// (its clock at CARD.time) and the PC refuse it as future-dated.
fn verify_future_dated() -> Result<Vector> {
    let ahead = CardSpec {
        seed: CARD.seed + 2,
        time: CARD.time + DAY,
        issuer_root: Some(AUTHORITY_SEED),
        unattested: false,
    };
    let mut authority = super::authority()?;
    let mut o = Session::new("fig4-verify-future-dated (meter ahead)", ahead)?;
    o.open()?;
    o.personalize(&mut authority, "PB-000003", 100)?;
    let file = o.postmark_funded()?;
    let offline = postmark::verify_offline(
        &mut &MESSAGE[..],
        &file,
        &authority.public_key(),
        CARD.time,
        apdu::crypto::DEFAULT_SKEW,
    );
    s_ensure_future(&offline)?;
    let (mut s, _) = personalized("fig4-verify-future-dated", 100)?;
    let v = s.verify(
        MESSAGE,
        &file,
        "Figure 4: the postmark is genuine but dated a day ahead of the card's clock (more than the 300 s allowed): verdict 07; the fee is charged",
    )?;
    s.ensure(
        v == CardVerdict {
            result: Err(Invalid::FutureDated),
            fee: VERIFY_FEE,
            crl: None,
        },
        || format!("verdict on a future-dated postmark: {v:?}"),
    )?;
    Ok(s.finish(
        "Figure 4",
        format!(
            "Figure 4 on the card, a future-dated postmark. {PREAMBLE} with 1.00. The postmark file comes from another meter of the same \
             authority (card seed {}) whose clock is a day ahead: it is genuine, but dated more than the allowed skew (300 s) after the \
             verifier's clock. The card refuses it (verdict 07, fee charged), as does the PC off the card (`meter verify`).",
            ahead.seed
        ),
    ))
}

fn s_ensure_future(offline: &Result<reader::postmark::PostmarkInfo, VerifyError>) -> Result<()> {
    if matches!(offline, Err(VerifyError::Invalid(Invalid::FutureDated))) {
        Ok(())
    } else {
        Err(super::GenerateError::Unexpected {
            vector: "fig4-verify-future-dated",
            what: format!("a future-dated postmark off the card: {offline:?}"),
        })
    }
}
