//! SIGN refused, at the card's APDUs: the two refusals of a signature
//! with a certificate on the card. sign-meter-slot: slot 0 holds the
//! meter certificate, which is not for SIGNING and has no holder key (the
//! meter key signs postmarks only): 6A88. sign-expired: alice's SIGNING
//! certificate (Figure 5) signs while valid, and is refused once the
//! card's clock, advanced by an authority contact, has passed its expiry:
//! 6985. sign-wrong-use: a certificate for AUTHENTICATION only answers a
//! challenge (AUTHENTICATE) and is refused for SIGN: 6985, the wrong use.
//! No refusal writes or charges anything.

use apdu::StatusWord;
use apdu::meter::{RegisterId, ins};

use super::{CARD, DAY, PREAMBLE, Result, Session, money};
use crate::Vector;

/// A digest to sign.
const DIGEST: [u8; 32] = [0x5A; 32];

pub(super) fn vectors() -> Result<Vec<Vector>> {
    Ok(vec![meter_slot()?, expired()?, wrong_use()?])
}

/// `SIGN slot` refused with `sw`; the status before and after the same.
fn refused(s: &mut Session, slot: u8, sw: StatusWord, label: &str) -> Result<()> {
    let (_, before) = s.funds("Figure 2, 250: the certificate register before SIGN")?;
    s.phase(label, &[]);
    let r = s.meter.sign(slot, &DIGEST);
    s.ensure(
        matches!(&r, Err(reader::Error::Card { sw: got }) if *got == sw),
        || format!("SIGN slot {slot}: {r:?}"),
    )?;
    let (_, after) =
        s.funds("Figure 2, 250: the certificate register after the refusal: unchanged")?;
    s.ensure(after == before, || {
        "a refused SIGN changed the status".into()
    })
}

fn meter_slot() -> Result<Vector> {
    const NAME: &str = "sign-meter-slot";
    let (mut s, _) = super::install::installed(NAME, 1_000, CARD.time + 365 * DAY)?;
    refused(
        &mut s,
        apdu::meter::METER_CERTIFICATE_SLOT,
        StatusWord::REFERENCED_DATA_NOT_FOUND,
        "SIGN with slot 0: the meter certificate is not for SIGNING and no holder key goes with it (the meter key signs postmarks only): refused, 6A88",
    )?;
    s.phase(
        "SIGN with slot 1: alice's SIGNING certificate and key sign the digest (r || s); nothing is charged",
        &[],
    );
    s.meter.sign(1, &DIGEST)?;
    Ok(s.finish(
        "Figure 5",
        format!(
            "{PREAMBLE} with {}; a SIGNING certificate for alice is installed in slot 1 (Figure 5, as in install-ok). SIGN \
             with slot 0, the meter certificate (not for SIGNING; the meter key signs only postmarks), is refused with 6A88 \
             and changes nothing; SIGN with slot 1 signs.",
            money(1_000)
        ),
    ))
}

fn expired() -> Result<Vector> {
    const NAME: &str = "sign-expired";
    let expiry = CARD.time + DAY;
    let (mut s, mut authority) = super::install::installed(NAME, 1_000, expiry)?;
    s.phase(
        "SIGN with slot 1 while alice's certificate is valid: signed; nothing is charged",
        &[],
    );
    s.meter.sign(1, &DIGEST)?;
    authority.set_clock(Some(expiry + DAY));
    s.phase(
        "Figure 2, 222/250: an authority contact two days later",
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
                "Figure 2, 222/250: a signed load of 0.50 carries the authority's time, two days on: the card's secure clock moves past the expiry of alice's certificate",
            ),
        ],
    );
    reader::value::load(&mut s.meter, &mut authority, RegisterId::Certificate, 50)?;
    refused(
        &mut s,
        1,
        StatusWord::CONDITIONS_NOT_SATISFIED,
        "SIGN with slot 1 after the expiry of alice's certificate by the card's clock: refused, 6985; nothing is signed or charged",
    )?;
    Ok(s.finish(
        "Figure 5",
        format!(
            "{PREAMBLE} with {}; a SIGNING certificate for alice valid one day is installed in slot 1 (Figure 5). SIGN signs \
             while it is valid; a load of 0.50 two days later advances the card's secure clock past its expiry, and SIGN is \
             then refused with 6985, the status unchanged.",
            money(1_000)
        ),
    ))
}

fn wrong_use() -> Result<Vector> {
    const NAME: &str = "sign-wrong-use";
    let (mut s, _) = super::install::installed_for(
        NAME,
        1_000,
        CARD.time + 365 * DAY,
        apdu::cert::usage::AUTHENTICATION,
    )?;
    s.phase(
        "AUTHENTICATE with slot 1: alice's AUTHENTICATION certificate and key answer the challenge (a signature of SHA-256(\"certmeter authentication v1\\0\" || challenge)); nothing is charged",
        &[],
    );
    s.meter.authenticate(1, &DIGEST)?;
    refused(
        &mut s,
        1,
        StatusWord::CONDITIONS_NOT_SATISFIED,
        "SIGN with slot 1: the certificate allows AUTHENTICATION, not SIGNING: the wrong use, refused, 6985",
    )?;
    Ok(s.finish(
        "Figure 5",
        format!(
            "{PREAMBLE} with {}; a certificate for AUTHENTICATION only is installed for alice in slot 1 (Figure 5). \
             AUTHENTICATE answers a challenge with its key; SIGN with it is the wrong use and is refused with 6985, \
             changing nothing.",
            money(1_000)
        ),
    ))
}
