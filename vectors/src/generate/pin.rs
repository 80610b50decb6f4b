//! The owner PIN vectors: a new card's transport PIN spends and
//! personalizes nothing until it is changed, and a blocked PIN is unblocked
//! by the authority's signed message (RESET RETRY COUNTER).

use apdu::StatusWord;
use apdu::meter::{DEFAULT_PIN, ins};

use super::{AUTHORITY, CARD, Result, SERIAL, Session, personalized};
use crate::Vector;
use crate::fixture::OWNER_PIN;

fn refused(r: &Result<(), reader::Error>, sw: StatusWord) -> bool {
    matches!(r, Err(reader::Error::Card { sw: got }) if *got == sw)
}

/// The transport PIN: GENERATE KEY refused (9403) after a right VERIFY; a
/// change to the same PIN refused (6A80); after the change, the key is made.
pub(super) fn transport_pin() -> Result<Vector> {
    let mut s = Session::new("pin-transport", CARD)?;
    s.phase(
        "Figure 2, ports 216/234: the PC selects the meter application",
        &[],
    );
    s.meter.select()?;
    s.phase(
        "Figure 2, meter 218: the transport PIN a new card comes with verifies, but the card spends and personalizes nothing with it",
        &[
            (
                ins::GENERATE_KEY,
                "Figure 2, 235: key generation is refused (9403): the owner PIN is still the transport PIN",
            ),
            (
                ins::CHANGE_REFERENCE_DATA,
                "Figure 2, meter 218: the transport PIN cannot be 'changed' to itself (6A80)",
            ),
        ],
    );
    s.meter.verify_pin(DEFAULT_PIN)?;
    let r = s.meter.generate_meter_key().map(drop);
    s.ensure(refused(&r, StatusWord::TRANSPORT_PIN), || {
        format!("key generation on the transport PIN: {r:?}")
    })?;
    let r = s.meter.change_pin(DEFAULT_PIN, DEFAULT_PIN);
    s.ensure(refused(&r, StatusWord::INCORRECT_DATA), || {
        format!("a change to the same PIN: {r:?}")
    })?;
    s.phase(
        "Figure 2, meter 218: the owner changes the transport PIN; the card now makes its meter key",
        &[],
    );
    s.meter.verify_pin(DEFAULT_PIN)?;
    s.meter.change_pin(DEFAULT_PIN, OWNER_PIN)?;
    s.meter.generate_meter_key()?;
    Ok(s.finish(
        "Figure 2",
        format!(
            "A new card's owner PIN ({}) is a transport PIN: it verifies, but GENERATE KEY (like PERSONALIZE, ATTEST, POSTMARK and \
             VERIFY POSTMARK) answers 9403 until CHANGE REFERENCE DATA replaces it with another PIN; a change to the same PIN is refused \
             (6A80). After the change to {} the card generates its meter key.",
            String::from_utf8_lossy(DEFAULT_PIN),
            String::from_utf8_lossy(OWNER_PIN),
        ),
    ))
}

/// A personalized card's PIN blocked by three wrong tries, then unblocked
/// by the authority's message for a fresh challenge, with a new PIN.
pub(super) fn unblock() -> Result<Vector> {
    let (mut s, mut authority) = personalized("pin-unblock", 100)?;
    s.phase(
        "Figure 2, meter 218: three wrong PINs block it (63C2, 63C1, then 6983)",
        &[],
    );
    for _ in 0..3 {
        let r = s.meter.verify_pin(b"0000");
        s.ensure(r.is_err(), || "a wrong PIN verified".into())?;
    }
    authority.approve_unblock(SERIAL)?;
    s.phase(
        "Figure 2, 222: the authority, having checked the holder, signs an unblock message for this card and its fresh challenge",
        &[
            (
                ins::GET_DATA,
                "Figure 2, 238: the PC reads the chip id and serial the message is bound to",
            ),
            (ins::GET_CHALLENGE, "a fresh card challenge: the message is usable once"),
            (
                ins::RESET_RETRY_COUNTER,
                "Figure 2, meter 218: the card checks the authority's signature, chip id, serial and challenge, and takes the new PIN with 3 tries",
            ),
        ],
    );
    let new_pin = b"97531";
    reader::pin::unblock(&mut s.meter, &mut authority, new_pin)?;
    s.phase("Figure 2, meter 218: the new PIN verifies", &[]);
    s.meter.verify_pin(new_pin)?;
    Ok(s.finish(
        "Figure 2",
        format!(
            "The personalized card's PIN is blocked by three wrong VERIFYs. The authority {AUTHORITY} checks the holder \
             (`meter authority approve-unblock {SERIAL}`) and signs an unblock message (7F74) bound to the card's chip id, serial and a \
             fresh GET CHALLENGE; RESET RETRY COUNTER carries it with the new PIN {}, which then verifies.",
            String::from_utf8_lossy(new_pin)
        ),
    ))
}
