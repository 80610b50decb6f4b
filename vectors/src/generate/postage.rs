//! Postage indicium vectors (POSTAGE, the digital token of the patent with
//! the postage register 244 and piece count 242): an indicium with funds,
//! the funds decision refusing one (9401), a meter locked by its charged
//! operations (9405) and a back-dated mailing day (940C). The duplicate
//! indicium is the postal operator's finding, at the authority, not the
//! card's: `tests/postage.rs` shows it through `meter authority scan`.

use apdu::StatusWord;
use apdu::meter::{RegisterId, ins};
use authority::Authority;
use reader::postage::{self, PostageOrder};

use super::{AUTHORITY, CARD, DAY, PREAMBLE, Result, SERIAL, Session, money, personalized};
use crate::Vector;

/// The postage of these vectors.
const POSTAGE: u64 = 55;
/// The Indicium fee of the authority's default rate table.
const FEE: u64 = 55;

/// Every postage vector, in file order.
pub(super) fn vectors() -> Result<Vec<Vector>> {
    Ok(vec![
        postage_funded()?,
        postage_insufficient_funds()?,
        postage_locked()?,
        postage_backdated()?,
    ])
}

fn order(date: Option<u64>) -> PostageOrder {
    PostageOrder {
        postage: POSTAGE,
        origin: "10001".into(),
        destination: "94105".into(),
        class: "FIRST-CLASS".into(),
        date,
    }
}

/// A session personalized with 1.00 in the certificate register and
/// `postage` in the postage register.
fn funded(name: &'static str, postage: u64) -> Result<(Session, Authority)> {
    let (mut s, mut authority) = personalized(name, 100)?;
    s.phase(
        "Figure 2, 222/244: a signed value load into the postage register",
        &[(
            ins::LOAD_VALUE,
            "Figure 2, 244: the authority's signed load credits the postage register; the card answers its signed receipt",
        )],
    );
    reader::value::load(&mut s.meter, &mut authority, RegisterId::Postage, postage)?;
    Ok((s, authority))
}

impl Session {
    fn postage(&mut self, label: &str, date: Option<u64>) -> Result<Vec<u8>, reader::Error> {
        self.phase("postage indicium", &[(ins::POSTAGE, label)]);
        postage::postage(&mut self.meter, &order(date))
    }
}

fn postage_funded() -> Result<Vector> {
    let (mut s, authority) = funded("postage-funded", 200)?;
    let indicium = s.postage(
        "postage indicium: date (the card's today), fee and postage funds suffice; one transaction debits the Indicium fee from the certificate register and the postage from the postage register (one more postage piece), then signs the indicium over the registers after the debit",
        None,
    )?;
    let cert = authority.meter_certificate(SERIAL)?;
    let info = postage::verify(&indicium, &cert, &authority.public_key());
    s.ensure(
        info.as_ref().is_ok_and(|i| {
            i.ascending == POSTAGE && i.descending == 200 - POSTAGE && i.pieces == 1
        }),
        || format!("the indicium does not verify as expected: {info:?}"),
    )?;
    s.status(
        "Figure 2, 242/244/248/250: status after the indicium: postage register 0.55 used, 1.45 left, 1 postage piece; certificate register 0.55 (the fee) used",
    )?;
    Ok(s.finish(
        "postage indicium",
        format!(
            "A postage indicium with funds. {PREAMBLE} with 1.00 in the certificate register, and 2.00 is loaded into the postage register. \
             POSTAGE asks for {} of postage from 10001 to 94105, first class, dated by the card's clock: in one transaction the card \
             debits the {} Indicium fee from the certificate register and the postage from the postage register (one more postage piece), \
             and answers the indicium 7F66 signed with the meter key over device id, certificate serial, piece count, postage, \
             ascending and descending postage registers after the debit, date, origin, destination and class. It verifies with the meter \
             certificate and the authority's key.",
            money(POSTAGE),
            money(FEE)
        ),
    ))
}

fn postage_insufficient_funds() -> Result<Vector> {
    let (mut s, _) = funded("postage-insufficient-funds", 30)?;
    let before =
        s.status("Figure 2, 244: the postage register holds 0.30, less than the postage asked")?;
    let refused = s.postage(
        "postage indicium: the postage register holds less than the postage; refused (9401), nothing debited or signed",
        None,
    );
    s.ensure(
        matches!(refused, Err(reader::Error::Card { sw }) if sw == StatusWord::INSUFFICIENT_FUNDS),
        || format!("postage with 0.30 left: {refused:?}"),
    )?;
    let after = s.status("Figure 2, 242/244: registers after the refusal: unchanged")?;
    s.ensure(after == before, || "the refusal changed the status".into())?;
    Ok(s.finish(
        "postage indicium",
        format!(
            "The funds decision refusing an indicium. {PREAMBLE}, with 0.30 in the postage register. POSTAGE for {} is refused with \
             9401 before anything is written; GET DATA status answers the same bytes before and after.",
            money(POSTAGE)
        ),
    ))
}

fn postage_locked() -> Result<Vector> {
    let name = "postage-locked-by-debits";
    let mut authority = super::authority()?;
    authority.set_policy(apdu::message::ServicePolicy {
        service_days: 90,
        grace_days: 30,
        max_debits: 1,
    })?;
    let mut s = Session::new(name, CARD)?;
    s.open()?;
    s.personalize(&mut authority, SERIAL, 100)?;
    s.phase(
        "Figure 2, 222/244: a signed value load into the postage register",
        &[(
            ins::LOAD_VALUE,
            "Figure 2, 244: the authority's signed load credits the postage register (an authority contact)",
        )],
    );
    reader::value::load(&mut s.meter, &mut authority, RegisterId::Postage, 200)?;
    s.postage(
        "postage indicium: the one charged operation the policy allows between contacts",
        None,
    )?;
    let before = s.status("status: locked by charged operations")?;
    let refused = s.postage(
        "postage indicium: the charged operations allowed since the last contact are used up; refused (9405) with funds left",
        None,
    );
    s.ensure(
        matches!(refused, Err(reader::Error::Card { sw }) if sw == StatusWord::LOCKED_BY_DEBITS),
        || format!("a second indicium: {refused:?}"),
    )?;
    let after = s.status("status after the refusal: unchanged")?;
    s.ensure(after == before, || "the refusal changed the status".into())?;
    Ok(s.finish(
        "postage indicium",
        format!(
            "A meter locked by its service policy. The authority {AUTHORITY} allows 1 charged operation between contacts. After \
             personalization and a load of 2.00 into the postage register (both contacts), one indicium is printed; the second is refused \
             with 9405 although funds remain, and nothing is written."
        ),
    ))
}

fn postage_backdated() -> Result<Vector> {
    let (mut s, _) = funded("postage-backdated", 200)?;
    let yesterday = CARD.time - CARD.time % DAY - DAY;
    let before = s.status("status before")?;
    let refused = s.postage(
        "postage indicium: the mailing day is before the day of the card's secure clock (back-dating); refused (940C), nothing debited or signed",
        Some(yesterday),
    );
    s.ensure(
        matches!(refused, Err(reader::Error::Card { sw }) if sw == StatusWord::DATE_REFUSED),
        || format!("a back-dated indicium: {refused:?}"),
    )?;
    let after = s.status("status after the refusal: unchanged")?;
    s.ensure(after == before, || "the refusal changed the status".into())?;
    Ok(s.finish(
        "postage indicium",
        format!(
            "A back-dated indicium. {PREAMBLE}, with 2.00 in the postage register. POSTAGE names the day before the card's clock as \
             mailing date: refused with 940C (the card prints for its today or up to {} days ahead, never earlier); nothing is written.",
            apdu::cmd::postage::MAX_DAYS_AHEAD
        ),
    ))
}
