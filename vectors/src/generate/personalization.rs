//! The personalization vector (Figures 1 and 2): a blank card gets its
//! meter key certified, the authority's signed message and a first load.

use apdu::meter::DEFAULT_PIN;

use super::{AUTHORITY, AUTHORITY_SEED, CARD, Result, SERIAL, Session, authority, funds};
use crate::Vector;

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
    s.phase(
        "Figure 2, meter 218: the owner PIN unlocks the meter's services",
        &[],
    );
    s.meter.verify_pin(DEFAULT_PIN)?;
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
