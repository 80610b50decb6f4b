//! [value] point 4, inspection: the card signs a chained audit report
//! (AUDIT, 7F63) over a fresh challenge; the authority reconciles it with
//! its records and answers a contact (SYNC) when it agrees (audit-ok). In
//! audit-mismatch the card took a value load the authority's records do
//! not hold (signed with the authority's key, outside its records: a
//! stolen key or a forged load): the report's control total and load count
//! disagree with every load the authority made, it flags the meter as
//! possibly tampered with, and answers no contact.

use apdu::message::ValueLoadBody;
use apdu::meter::{RegisterId, ins};
use apdu::tlv::Writer;

use super::{AUTHORITY_SEED, CARD, PREAMBLE, Result, SERIAL, Session, money, personalized};
use crate::Vector;

pub(super) fn vectors() -> Result<Vec<Vector>> {
    Ok(vec![ok()?, mismatch()?])
}

fn labels(s: &mut Session, contact: bool) {
    let mut l = vec![
        (
            ins::GET_DATA,
            "Figure 2, 238: the PC reads the card's status (serial and chip id)",
        ),
        (
            ins::GET_CHALLENGE,
            "[value] A1: a fresh card challenge, which binds the report and the contact",
        ),
        (
            ins::AUDIT,
            "[value] A1: the card signs its audit report (7F63): registers, control totals, piece counts, counters, clock, report number 1 and the previous report's hash (zeros); it commits the count and this report's hash first",
        ),
    ];
    if contact {
        l.push((
            ins::SYNC,
            "[value] A2/A3: the report agrees with the authority's records: the inspection is a contact (service period and charged operations restarted)",
        ));
    }
    s.phase("[value] inspection", &l);
}

fn ok() -> Result<Vector> {
    let (mut s, mut authority) = personalized("audit-ok", 1_000)?;
    labels(&mut s, true);
    let a = reader::audit::audit(&mut s.meter, &mut authority)?;
    s.ensure(a.contact && a.inspection.flag.is_none(), || {
        format!("{a:?}")
    })?;
    Ok(s.finish(
        "[value] inspection",
        format!(
            "{PREAMBLE} with {}. `meter audit`: GET CHALLENGE, AUDIT (the card's signed, chained report); the authority reconciles it \
             with its one load and answers a SYNC for the same challenge: the inspection is a contact.",
            money(1_000)
        ),
    ))
}

fn mismatch() -> Result<Vector> {
    let (mut s, mut authority) = personalized("audit-mismatch", 1_000)?;
    s.phase(
        "a value load outside the authority's records",
        &[(
            ins::LOAD_VALUE,
            "signed with the authority's key for this card's next load number, but never recorded by the authority (a stolen key, a forged load): the card credits 5.00",
        )],
    );
    let key = authority::keys::from_seed(AUTHORITY_SEED);
    let chip = s.meter.status()?.chip_id_bytes()?;
    let mut buf = vec![0; 512];
    let mut w = Writer::new(&mut buf);
    ValueLoadBody {
        chip_id: &chip,
        serial: SERIAL.as_bytes(),
        challenge: None,
        number: 2,
        register: RegisterId::Certificate,
        amount: 500,
        time: CARD.time,
        deadline: CARD.time + 365 * super::DAY,
        policy: None,
    }
    .write(&mut w, |b| apdu::crypto::sign(&key, b))
    .map_err(|e| super::GenerateError::Unexpected {
        vector: "audit-mismatch",
        what: format!("{e:?}"),
    })?;
    let n = w.len();
    buf.truncate(n);
    s.meter.load_value(&buf)?;
    labels(&mut s, false);
    let a = reader::audit::audit(&mut s.meter, &mut authority)?;
    let flagged = a.inspection.flag.clone().unwrap_or_default();
    s.ensure(!a.contact && flagged.contains("issued 1"), || {
        format!("{a:?}")
    })?;
    Ok(s.finish(
        "[value] inspection",
        format!(
            "{PREAMBLE} with {}. The card then takes a value load of {} signed with the authority's key but absent from its records. \
             `meter audit`: the card's report (control total {}, 2 loads) disagrees with the authority's records (1 load, {}): the \
             authority flags the meter as possibly tampered with ({flagged}) and answers no contact.",
            money(1_000),
            money(500),
            money(1_500),
            money(1_000)
        ),
    ))
}
