//! [value] point 2, the rate table (Figure 2, 257): the authority changes
//! its table twice (versions 1 and 2); at the next contact (SYNC) the card
//! takes version 2 as a signed, versioned RATE UPDATE bound to it and a
//! fresh challenge; a validly signed older table (version 1) is then
//! refused with 940A and changes nothing (rates-old).

use apdu::StatusWord;
use apdu::cmd::rate_update::RateUpdate;
use apdu::meter::{DataObject, Request, Service, ins};
use apdu::tlv::Writer;

use super::{AUTHORITY_SEED, PREAMBLE, Result, SERIAL, Session, money, personalized};
use crate::Vector;

pub(super) fn vectors() -> Result<Vec<Vector>> {
    Ok(vec![old()?])
}

fn table(s: &mut Session, label: &str) -> Result<Vec<u8>> {
    s.phase(label, &[]);
    let cmd = Request::GetData(DataObject::RateTable).to_command();
    Ok(reader::check(reader::exchange(s.meter.transport(), &cmd)?)?)
}

fn old() -> Result<Vector> {
    let (mut s, mut authority) = personalized("rates-old", 1_000)?;
    authority.set_rate(Service::Postmark, 30)?;
    authority.set_rate(Service::Verify, 12)?;
    s.phase(
        "[value] a contact (SYNC) brings the authority's newer rate table",
        &[
            (ins::GET_DATA, "Figure 2, 238/257: the PC reads the card's status, then its rate table and version (0)"),
            (ins::GET_CHALLENGE, "a fresh card challenge"),
            (ins::SYNC, "the authority's signed time and policy: a contact"),
            (
                ins::RATE_UPDATE,
                "Figure 2, 257: the authority's rate table version 2, signed and bound to this card and the challenge: installed",
            ),
        ],
    );
    reader::sync::sync(&mut s.meter, &mut authority)?;
    let (version, rates) = s.meter.rate_table()?;
    s.ensure(
        version == 2 && rates.contains(&(Service::Postmark, 30)),
        || format!("{version} {rates:?}"),
    )?;
    let before = table(&mut s, "Figure 2, 257: the card's table, version 2")?;
    s.phase(
        "[value] an older rate table",
        &[
            (ins::GET_CHALLENGE, "a fresh card challenge"),
            (
                ins::RATE_UPDATE,
                "Figure 2, 257: version 1, validly signed and bound to this card and challenge, but not newer than the card's: refused (940A), nothing written",
            ),
        ],
    );
    let challenge = s.meter.challenge()?;
    let status = s.meter.status()?;
    let chip = status.chip_id_bytes()?;
    let key = authority::keys::from_seed(AUTHORITY_SEED);
    let mut buf = vec![0; 512];
    let mut w = Writer::new(&mut buf);
    RateUpdate::write(
        &mut w,
        &chip,
        SERIAL.as_bytes(),
        &challenge,
        1,
        [(Service::Postmark, 30)],
        |b| apdu::crypto::sign(&key, b),
    )
    .map_err(|e| super::GenerateError::Unexpected {
        vector: "rates-old",
        what: format!("{e:?}"),
    })?;
    let n = w.len();
    buf.truncate(n);
    let r = s.meter.rate_update(&buf);
    s.ensure(
        matches!(r, Err(reader::Error::Card { sw }) if sw == StatusWord::RATE_VERSION_NOT_NEWER),
        || format!("{r:?}"),
    )?;
    let after = table(
        &mut s,
        "Figure 2, 257: the card's table after the refusal: unchanged",
    )?;
    s.ensure(after == before, || "an old table changed the card".into())?;
    Ok(s.finish(
        "[value] rate table",
        format!(
            "{PREAMBLE} with {}. The authority sets the postmark fee to 0.30 (version 1) and the verify fee to 0.12 (version 2); at the \
             next contact (`meter sync`) the card installs version 2 from a signed RATE UPDATE bound to it and a fresh challenge. A \
             validly signed, bound RATE UPDATE of version 1 is then refused with 940A and changes nothing.",
            money(1_000)
        ),
    ))
}
