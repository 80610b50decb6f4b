//! [value] point 1, recharging: the card signs a request over its state
//! and a fresh challenge (RECHARGE REQUEST, 7F61), the authority reconciles
//! it and answers a value load bound to this card and that challenge,
//! which LOAD VALUE applies once (recharge-ok); the same message again is
//! refused (recharge-replayed, 6984); a validly signed message for another
//! card is refused (recharge-foreign, 6A80). Refusals change nothing.

use apdu::StatusWord;
use apdu::message::ValueLoadBody;
use apdu::meter::{RegisterId, ins};
use apdu::tlv::Writer;

use super::{AUTHORITY_SEED, CARD, PREAMBLE, Result, SERIAL, Session, money, personalized};
use crate::Vector;

/// The amount recharged.
const AMOUNT: u64 = 500;

fn labels(s: &mut Session) {
    s.phase(
        "[value] recharge",
        &[
            (
                ins::GET_DATA,
                "Figure 2, 238: the PC reads the card's status (serial and chip id)",
            ),
            (
                ins::GET_CHALLENGE,
                "[value] R1: a fresh card challenge, which binds request, value load and receipt",
            ),
            (
                ins::RECHARGE_REQUEST,
                "[value] R1: the card signs the recharge request (7F61) over its registers, control totals, counters, clock, rate version and the challenge, with the meter key",
            ),
            (
                ins::LOAD_VALUE,
                "[value] R2/R3: the authority reconciled the request and signed a value load bound to this card and the challenge; the card applies it once (the challenge is consumed) and answers its signed receipt, echoing the challenge",
            ),
        ],
    );
}

pub(super) fn vectors() -> Result<Vec<Vector>> {
    Ok(vec![ok()?, replayed()?, foreign()?])
}

fn ok() -> Result<Vector> {
    let (mut s, mut authority) = personalized("recharge-ok", 1_000)?;
    labels(&mut s);
    let r = reader::recharge::recharge(&mut s.meter, &mut authority, RegisterId::Postage, AMOUNT)?;
    s.ensure(r.control_after == r.control_before + AMOUNT, || {
        format!("{r:?}")
    })?;
    Ok(s.finish(
        "[value] recharge",
        format!(
            "{PREAMBLE} with {}. `meter recharge {} --register postage`: GET CHALLENGE, RECHARGE REQUEST (the card's signed request over its \
             state and the challenge), then LOAD VALUE with the authority's value load bound to the card and the challenge: the postage \
             register's control total grows by exactly {}, and the receipt echoes the challenge.",
            money(1_000),
            money(AMOUNT),
            money(AMOUNT)
        ),
    ))
}

/// The value message of a recharge, recorded by hand (GET CHALLENGE,
/// RECHARGE REQUEST, the authority, LOAD VALUE).
fn by_hand(s: &mut Session, authority: &mut authority::Authority) -> Result<Vec<u8>> {
    labels(s);
    s.meter.challenge()?;
    let request = s.meter.recharge_request(RegisterId::Postage, AMOUNT)?;
    let message = authority.recharge(&request)?;
    let receipt = s.meter.load_value(&message)?;
    authority.confirm_load(&receipt)?;
    Ok(message)
}

fn replayed() -> Result<Vector> {
    let (mut s, mut authority) = personalized("recharge-replayed", 1_000)?;
    let message = by_hand(&mut s, &mut authority)?;
    let (_, before) = s.funds("Figure 2: the status after the recharge")?;
    s.phase(
        "[value] the same value message again",
        &[
            (ins::GET_CHALLENGE, "a fresh card challenge (another one)"),
            (
                ins::LOAD_VALUE,
                "[value] replayed: the message answers a challenge the card no longer holds (6984); nothing written",
            ),
        ],
    );
    s.meter.challenge()?;
    let r = s.meter.load_value(&message);
    s.ensure(
        matches!(r, Err(reader::Error::Card { sw }) if sw == StatusWord::REFERENCE_DATA_NOT_USABLE),
        || format!("{r:?}"),
    )?;
    let (_, after) = s.funds("Figure 2: the status after the refusal: unchanged")?;
    s.ensure(after == before, || "a replay changed the card".into())?;
    Ok(s.finish(
        "[value] recharge",
        format!(
            "{PREAMBLE} with {}, recharged with {} (as in recharge-ok). The same value message sent again after a new GET CHALLENGE is \
             refused with 6984 and changes nothing.",
            money(1_000),
            money(AMOUNT)
        ),
    ))
}

fn foreign() -> Result<Vector> {
    let (mut s, _) = personalized("recharge-foreign", 1_000)?;
    let (_, before) = s.funds("Figure 2: the status before")?;
    s.phase(
        "[value] a value message for another card",
        &[
            (ins::GET_CHALLENGE, "a fresh card challenge"),
            (
                ins::LOAD_VALUE,
                "[value] signed by the authority and answering this challenge, but for another chip id: refused (6A80), nothing written",
            ),
        ],
    );
    let challenge = s.meter.challenge()?;
    let key = authority::keys::from_seed(AUTHORITY_SEED);
    let other_chip = [0xEE; 8];
    let mut buf = vec![0; 512];
    let mut w = Writer::new(&mut buf);
    ValueLoadBody {
        chip_id: &other_chip,
        serial: SERIAL.as_bytes(),
        challenge: Some(&challenge),
        number: 2,
        register: RegisterId::Postage,
        amount: AMOUNT,
        time: CARD.time,
        deadline: CARD.time + 365 * super::DAY,
        policy: None,
    }
    .write(&mut w, |b| apdu::crypto::sign(&key, b))
    .map_err(|e| super::GenerateError::Unexpected {
        vector: "recharge-foreign",
        what: format!("{e:?}"),
    })?;
    let n = w.len();
    buf.truncate(n);
    let r = s.meter.load_value(&buf);
    s.ensure(
        matches!(r, Err(reader::Error::Card { sw }) if sw == StatusWord::INCORRECT_DATA),
        || format!("{r:?}"),
    )?;
    let (_, after) = s.funds("Figure 2: the status after the refusal: unchanged")?;
    s.ensure(after == before, || {
        "a foreign message changed the card".into()
    })?;
    Ok(s.finish(
        "[value] recharge",
        format!(
            "{PREAMBLE} with {}. A value load signed by the authority and bound to this card's challenge, but for another chip id, is \
             refused with 6A80 and changes nothing.",
            money(1_000)
        ),
    ))
}
