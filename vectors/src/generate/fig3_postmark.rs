//! Figure 3 vectors: a postmark with funds, the funds decision refusing
//! one (9401), and a meter locked past its service deadline (9402).

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
    ])
}

fn postmark_funded() -> Result<Vector> {
    let (mut s, authority) = personalized("fig3-postmark-funded", 100)?;
    let file = s.postmark_funded()?;
    let offline = postmark::verify_offline(&mut &MESSAGE[..], &file, &authority.public_key());
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
    let name = "fig3-postmark-meter-locked";
    let authority_time = CARD.time - 100 * DAY;
    let mut authority = Authority::deterministic(AUTHORITY, AUTHORITY_SEED, authority_time)?;
    let mut s = Session::new(name, CARD)?;
    s.open()?;
    s.personalize(&mut authority, SERIAL, 100)?;
    let refused = s.postmark(
        "Figure 3, steps 308/310: the meter is past its service deadline; the postmark is refused (9402) until the authority services it",
    );
    s.ensure(
        matches!(refused, Err(reader::Error::Card { sw }) if sw == StatusWord::METER_LOCKED),
        || format!("a postmark past the deadline: {refused:?}"),
    )?;
    let (f, _) = s.funds(
        "Figure 2, 248/250: registers after the refusal: the 1.00 loaded, nothing charged",
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
                "Figure 2, 222/250: a signed load of 0.50 with a new service deadline 90 days after today lifts the lock-out; the card answers its signed receipt",
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
        "Figure 3, the funds decision (308) when the meter is locked out. The authority's clock is 100 days behind the card's, so \
             personalization (with 1.00) sets a service deadline (authority time + 90 days) that has passed by the card's clock: the postmark \
             is refused with 9402 (meter locked until serviced) although the funds suffice, and nothing is charged. The authority, its clock \
             now at the card's time, services the meter with a load of 0.50 whose new deadline lifts the lock-out, and the postmark goes through."
            .to_owned(),
    ))
}
