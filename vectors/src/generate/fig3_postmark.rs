//! Figure 3 vectors: a postmark with funds, the funds decision refusing
//! one (9401), and a meter locked by its service policy: by time (9404)
//! and by charged operations (9405, lifted by SYNC).

use apdu::StatusWord;
use apdu::meter::{RegisterId, ins};
use authority::Authority;
use reader::postmark;

use super::{
    AUTHORITY, AUTHORITY_SEED, CARD, DAY, Funds, MESSAGE, POSTMARK_FEE, PREAMBLE, Result, SERIAL,
    Session, money, personalized,
};
use crate::Vector;

/// Every Figure 3 vector, in file order.
pub(super) fn vectors() -> Result<Vec<Vector>> {
    Ok(vec![
        postmark_funded()?,
        postmark_insufficient_funds()?,
        postmark_meter_locked()?,
        postmark_locked_by_debits()?,
    ])
}

fn postmark_funded() -> Result<Vector> {
    let (mut s, authority) = personalized("fig3-postmark-funded", 100)?;
    let file = s.postmark_funded()?;
    let offline = postmark::verify_offline(
        &mut &MESSAGE[..],
        &file,
        &authority.public_key(),
        CARD.time,
        apdu::crypto::DEFAULT_SKEW,
    );
    s.ensure(offline.is_ok(), || {
        format!("the postmark does not verify off the card: {offline:?}")
    })?;
    let (f, _) = s.funds(&format!(
        "Figure 2, 248/250: registers after the postmark: {} used, {} left, 1 piece; ascending + descending is still 1.00",
        money(POSTMARK_FEE),
        money(100 - POSTMARK_FEE)
    ))?;
    let want = Funds {
        ascending: POSTMARK_FEE,
        descending: 100 - POSTMARK_FEE,
        pieces: 1,
    };
    s.ensure(f == want, || format!("after one postmark: {f:?}"))?;
    Ok(s.finish(
        "Figure 3",
        format!(
            "Figure 3, a cryptographic postmark with funds. {PREAMBLE} with 1.00 in the certificate register. \
             The PC sends the {}-byte message {:?} to the card's hash (304); the card assembles the content (306), \
             finds the funds (308), deducts the {} fee (312), signs with its meter key (314) and answers the postmark; \
             the PC appends the meter certificate (316). The postmark file verifies off the card with the authority's key. \
             The status shows the charge.",
            MESSAGE.len(),
            String::from_utf8_lossy(MESSAGE),
            money(POSTMARK_FEE)
        ),
    ))
}

fn postmark_insufficient_funds() -> Result<Vector> {
    let loaded = 30;
    let (mut s, _) = personalized("fig3-postmark-insufficient-funds", loaded)?;
    s.postmark_funded()?;
    let left = loaded - POSTMARK_FEE;
    s.refused_for_funds(
        left,
        &format!(
            "Figure 2, 248/250: registers before the second postmark: {} left, less than the {} fee",
            money(left),
            money(POSTMARK_FEE)
        ),
        "postmark",
        |s| {
            s.postmark(
                "Figure 3, steps 308/310: funds do not suffice; the postmark is refused (9401) and nothing is charged or signed",
            )
        },
    )?;
    Ok(s.finish(
        "Figure 3",
        format!(
            "Figure 3, the funds decision (308) rejecting a postmark (310). {PREAMBLE} with only {} in the certificate register. \
             A first postmark costs {} and leaves {}; the second is refused with 9401 (insufficient funds) after the hash, \
             before anything is charged or signed. GET DATA status before and after the refusal answers the same bytes.",
            money(loaded),
            money(POSTMARK_FEE),
            money(left)
        ),
    ))
}

fn postmark_meter_locked() -> Result<Vector> {
    let name = "fig3-postmark-locked-by-time";
    // Personalized 130 days before the card's clock: past the default
    // policy's 90 days of service and 30 of grace.
    let authority_time = CARD.time - 130 * DAY;
    let mut authority = Authority::deterministic(AUTHORITY, AUTHORITY_SEED, authority_time)?;
    let mut s = Session::new(name, CARD)?;
    s.open()?;
    s.personalize(&mut authority, SERIAL, 100)?;
    let refused = s.postmark(
        "Figure 3, steps 308/310: more than the service and grace days (90 + 30) have passed since the last authority contact by the card's clock; the postmark is refused (9404) until the authority is contacted",
    );
    s.ensure(
        matches!(refused, Err(reader::Error::Card { sw }) if sw == StatusWord::LOCKED_BY_TIME),
        || format!("a postmark past the service and grace days: {refused:?}"),
    )?;
    let (f, _) = s.funds(
        "Figure 2, 248/250: registers after the refusal (the status shows the lock): the 1.00 loaded, nothing charged",
    )?;
    s.ensure(f.descending == 100 && f.pieces == 0, || format!("{f:?}"))?;
    authority.set_clock(Some(CARD.time));
    s.phase(
        "Figure 2, 222/250: the authority services the meter",
        &[
            (
                ins::GET_DATA,
                "Figure 2, 238/250: the PC reads the card's status (load count for the next load)",
            ),
            (
                ins::READ_CERTIFICATE,
                "Figure 2, 252/254: the PC lists the certificates on the card",
            ),
            (
                ins::LOAD_VALUE,
                "Figure 2, 222/250: a signed load of 0.50 is an authority contact (signed time, service policy): the lock lifts; the card answers its signed receipt",
            ),
        ],
    );
    reader::value::load(&mut s.meter, &mut authority, RegisterId::Certificate, 50)?;
    s.postmark_funded()?;
    let (f, _) =
        s.funds("Figure 2, 248/250: registers after the postmark: 0.25 used, 1.25 left, 1 piece")?;
    s.ensure(
        f == Funds {
            ascending: POSTMARK_FEE,
            descending: 150 - POSTMARK_FEE,
            pieces: 1,
        },
        || format!("after servicing and a postmark: {f:?}"),
    )?;
    Ok(s.finish(
        "Figure 3",
        "Figure 3, the lock by time. The authority's clock is 130 days behind the card's, so personalization (with 1.00) is an \
             authority contact 130 days ago by the card's clock: past the policy's 90 days of service and 30 of grace, the postmark is \
             refused with 9404 although the funds suffice, and nothing is charged. The authority, its clock now at the card's time, \
             services the meter with a load of 0.50 (a contact: signed time and policy), the lock lifts and the postmark goes through."
            .to_owned(),
    ))
}

/// The lock by charged operations: an authority policy of 2 charged
/// operations between contacts; with the host's clock frozen, the third
/// postmark is refused (9405) until SYNC.
fn postmark_locked_by_debits() -> Result<Vector> {
    let name = "fig3-postmark-locked-by-debits";
    let mut authority = super::authority()?;
    authority.set_policy(apdu::message::ServicePolicy {
        service_days: 90,
        grace_days: 30,
        max_debits: 2,
    })?;
    let mut s = Session::new(name, CARD)?;
    s.open()?;
    s.personalize(&mut authority, SERIAL, 100)?;
    s.postmark_funded()?;
    s.postmark_funded()?;
    let refused = s.postmark(
        "Figure 3, steps 308/310: the 2 charged operations the authority's policy allows between contacts are made; the postmark is refused (9405), whatever the clock says",
    );
    s.ensure(
        matches!(refused, Err(reader::Error::Card { sw }) if sw == StatusWord::LOCKED_BY_DEBITS),
        || format!("a third postmark: {refused:?}"),
    )?;
    s.phase(
        "Figure 2, 222: meter sync, an authority contact that does nothing else",
        &[
            (
                ins::GET_DATA,
                "Figure 2, 238: the PC reads the chip id and serial the message is bound to",
            ),
            (ins::GET_CHALLENGE, "a fresh card challenge: the message is usable once"),
            (
                ins::SYNC,
                "Figure 2, 232: the authority's signed time and policy; the count of charged operations starts again",
            ),
        ],
    );
    reader::sync::sync(&mut s.meter, &mut authority)?;
    s.postmark_funded()?;
    let (f, _) = s.funds("Figure 2, 248/250: registers after three postmarks: 0.75 used")?;
    s.ensure(f.ascending == 3 * POSTMARK_FEE && f.pieces == 3, || {
        format!("{f:?}")
    })?;
    Ok(s.finish(
        "Figure 3",
        format!(
            "Figure 3, the lock by charged operations. The authority's policy allows 2 charged operations between contacts; the card's \
             clock is frozen at the authority's time. {PREAMBLE} with 1.00; two postmarks go through, the third is refused with 9405 \
             (nothing charged). SYNC (`meter sync`) brings the authority's signed time and policy for a fresh challenge; the count \
             starts again and the third postmark goes through."
        ),
    ))
}
