//! Regression tests for what the fuzz targets (`fuzz/`, `scripts/fuzz`)
//! found, each with the input that found it, cut down to the APDUs that
//! matter. Each test is named for its finding.

use apdu::StatusWord;
use applet_sim::layout::PIN_TRIES;
use applet_sim::sim::Card;
use vectors::CardSpec;

/// The card of `vectors/data/pin-transport.json`: fresh, attested, with its
/// transport PIN `123456`.
fn transport_pin_card() -> Card {
    vectors::sim_transport(&CardSpec {
        seed: 7,
        time: 1_780_000_000,
        issuer_root: Some(1),
        unattested: false,
    })
    .into_card()
}

fn send(card: &mut Card, hex_apdu: &str) -> StatusWord {
    let apdu = hex::decode(hex_apdu).unwrap();
    let r = card.transmit(&apdu).unwrap();
    let [.., sw1, sw2] = r[..] else {
        panic!("no status word for {hex_apdu}")
    };
    StatusWord::new(sw1, sw2)
}

/// Sends `hex_apdu`, expects the error `sw`, and checks that the persistent
/// image is byte for byte what it was.
fn refused_unchanged(card: &mut Card, hex_apdu: &str, sw: StatusWord) {
    let before = card.store().data().to_vec();
    assert_eq!(send(card, hex_apdu), sw, "{hex_apdu}");
    let after = card.store().data();
    let changed: Vec<usize> = (0..before.len())
        .filter(|&i| before[i] != after[i])
        .collect();
    assert!(
        changed.is_empty(),
        "{sw} changed the image at {changed:?} for {hex_apdu}"
    );
}

/// card_handler, crash-ab2e… (vector pin-transport, from the fresh card):
/// a wrong VERIFY lowered the tries to 2; CHANGE REFERENCE DATA giving the
/// right transport PIN as old and new was refused with 6A80 (the transport
/// PIN must change), but had already checked the old PIN and reset the
/// tries to 3. The refusal now comes before the old PIN is checked and
/// writes nothing.
#[test]
fn change_pin_to_the_same_transport_pin_refused_without_resetting_tries() {
    let mut card = transport_pin_card();
    assert_eq!(
        send(&mut card, "00A404000BF0434552544D455445520100"),
        StatusWord::OK
    );
    // A wrong PIN: one try gone.
    assert_eq!(
        send(&mut card, "0020008106313233343537"),
        StatusWord::verify_failed(2)
    );
    assert_eq!(PIN_TRIES.get(card.store()).unwrap(), 2);
    refused_unchanged(
        &mut card,
        "002400810E313233343536FFFF313233343536",
        StatusWord::INCORRECT_DATA,
    );
    assert_eq!(PIN_TRIES.get(card.store()).unwrap(), 2);
    // The PIN is not verified by the refused change.
    assert_eq!(send(&mut card, "00200081"), StatusWord::verify_failed(2));
    // A real change still works and resets the tries.
    assert_eq!(
        send(&mut card, "002400810D313233343536FFFF3133353739"),
        StatusWord::OK
    );
    assert_eq!(PIN_TRIES.get(card.store()).unwrap(), 3);
}
