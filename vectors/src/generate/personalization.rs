//! The personalization vector (Figures 1 and 2): a blank card gets its
//! meter key certified, the authority's signed message and a first load.

use apdu::StatusWord;
use authority::Authority;

use super::{
    AUTHORITY, AUTHORITY_SEED, CARD, OTHER_AUTHORITY_SEED, Result, SERIAL, Session, authority,
    funds,
};
use crate::Vector;

/// Another authority, with the same name but its own keys and issuer root,
/// tries to personalize a card made for [`AUTHORITY`]: the card refuses the
/// message (6982: its authority certificate does not chain to the pinned
/// root) and stays blank; then the card's own authority personalizes it.
pub(super) fn rogue_authority() -> Result<Vector> {
    // A rogue: it does not check the card's attestation either.
    let mut rogue = crate::fixture::Rogue(Authority::deterministic(
        AUTHORITY,
        OTHER_AUTHORITY_SEED,
        CARD.time,
    )?);
    let mut s = Session::new("personalization-rogue-authority", CARD)?;
    s.open()?;
    let refused = s.try_personalize(&mut rogue, SERIAL, 0);
    s.ensure(
        matches!(refused, Err(reader::Error::Card { sw }) if sw == StatusWord::SECURITY_STATUS_NOT_SATISFIED),
        || format!("a rogue authority's personalization: {refused:?}"),
    )?;
    let blank = s.status(
        "Figure 2, meter 218: after the refusal the card is still blank (life cycle 1, no serial, no authority key)",
    )?;
    let lifecycle = apdu::tlv::find(&blank, apdu::meter::tag::STATUS)
        .and_then(|t| apdu::tlv::find(t, apdu::meter::tag::LIFECYCLE));
    s.ensure(lifecycle == Some(&[1][..]), || {
        format!("life cycle after the refusal: {lifecycle:?}")
    })?;
    let mut own = authority()?;
    s.personalize(&mut own, SERIAL, 0)?;
    Ok(s.finish(
        "Figures 1 and 2",
        format!(
            "A card made for the authority {AUTHORITY} (key seed {AUTHORITY_SEED}: its issuer root is pinned in the card) is offered a              personalization by another authority of the same name (key seed {OTHER_AUTHORITY_SEED}, its own issuer root). The card refuses              PERSONALIZE with 6982: the authority certificate in the message is not signed by the pinned root. The card stays blank (its              status shows life cycle 1); its own authority then personalizes it (serial {SERIAL}, no funds)."
        ),
    ))
}

pub(super) fn personalization() -> Result<Vector> {
    let mut authority = authority()?;
    let mut s = Session::new("personalization", CARD)?;
    s.phase(
        "Figure 2, ports 216/234: the PC selects the meter application",
        &[],
    );
    s.meter.select()?;
    let blank = s.status(
        "Figure 2, meter 218: the blank card's status: life cycle 1, chip id, empty registers, no meter key",
    )?;
    let f = funds(&blank);
    s.ensure(f.is_some_and(|f| f.descending == 0), || {
        format!("a blank card has funds: {f:?}")
    })?;
    s.unlock()?;
    s.personalize(&mut authority, SERIAL, 100)?;
    let (f, _) = s.funds(
        "Figure 2, 238/250: the personalized card's status: life cycle 2, serial, 1.00 in the certificate register, one load",
    )?;
    s.ensure(f.descending == 100 && f.ascending == 0, || {
        format!("after a load of 1.00: {f:?}")
    })?;
    s.phase("Figure 2, 257: the rate table the authority installed", &[]);
    let rates = s.meter.rates()?;
    s.ensure(rates == authority.rates(), || {
        format!("rate table {rates:?} differs from the authority's")
    })?;
    Ok(s.finish(
        "Figures 1 and 2",
        format!(
            "Personalization of a blank card by the authority {AUTHORITY} (deterministic, key seed {AUTHORITY_SEED}, clock at the card's time): \
             the card generates its meter key, the authority certifies it (Figure 1) and answers the card's challenge with one signed message \
             (serial {SERIAL}, authority key, rate table, time, service deadline, meter certificate); then a first value load of 1.00 into the \
             certificate register, confirmed by the card's signed receipt. Ends with the status (registers, load count) and the rate table."
        ),
    ))
}
