//! The trust chain from the issuer root pinned at manufacture: which
//! authority a card accepts, through the real host flows and the CLI.

use apdu::StatusWord;
use apdu::meter::DEFAULT_PIN;
use applet_sim::sim::{Card, SimConfig};
use authority::Authority;
use certmeter_tests::Home;
use reader::Meter;
use reader::sim::MemoryTransport;

const TIME: u64 = 1_800_000_000;

fn blank_for(a: &Authority, seed: u64) -> Meter<MemoryTransport> {
    let config = SimConfig::deterministic(seed, TIME).with_issuer_root(a.issuer_root());
    let card = Card::manufacture(config).unwrap();
    let mut m = Meter::new(MemoryTransport::new(card, true));
    m.select().unwrap();
    m.verify_pin(DEFAULT_PIN).unwrap();
    m
}

/// A card made for authority A refuses the personalization of an authority
/// B of the same name that A's root does not certify (6982), stays blank
/// with nothing written but its meter key, and A then personalizes it.
#[test]
fn a_card_made_for_one_authority_refuses_another_of_the_same_name() {
    let mut a = Authority::deterministic("CERTMETER-CA", 1, TIME).unwrap();
    let mut b = Authority::deterministic("CERTMETER-CA", 2, TIME).unwrap();
    assert_eq!(a.name(), b.name());
    let mut m = blank_for(&a, 5);
    let e = reader::personalize::personalize(&mut m, &mut b, "PB-1", 100).unwrap_err();
    assert_eq!(
        e,
        reader::Error::Card {
            sw: StatusWord::SECURITY_STATUS_NOT_SATISFIED
        }
    );
    let s = m.status().unwrap();
    assert!(!s.personalized, "the card took B's personalization");
    assert_eq!(s.serial, None);
    assert_eq!(s.authority_keys, 0);
    assert_eq!(s.registers.certificate.descending, 0);

    reader::personalize::personalize(&mut m, &mut a, "PB-1", 100).unwrap();
    let s = m.status().unwrap();
    assert!(s.personalized);
    assert_eq!(s.serial.as_deref(), Some("PB-1"));
    assert_eq!(s.registers.certificate.descending, 100);
}

/// The same authority's certificate replayed with another key signing the
/// message (B signs, carrying A's authority certificate) is refused too:
/// the message must be signed by the key the root certified.
#[test]
fn a_message_signed_by_another_key_under_a_borrowed_certificate_is_refused() {
    let a = Authority::deterministic("CERTMETER-CA", 1, TIME).unwrap();
    let mut b = Authority::deterministic("CERTMETER-CA", 2, TIME).unwrap();
    let mut m = blank_for(&a, 6);
    let status = m.status().unwrap();
    let chip_id: [u8; 8] = hex::decode(&status.chip_id).unwrap().try_into().unwrap();
    let key: [u8; 65] = m.generate_meter_key().unwrap().try_into().unwrap();
    let challenge = m.challenge().unwrap();
    let message = b
        .personalize(&authority::PersonalizationRequest {
            chip_id,
            challenge,
            meter_public_key: key,
            serial: "PB-2".into(),
        })
        .unwrap();
    // Swap B's authority certificate for A's: the chain then holds, but the
    // message signature is B's.
    let (ca, cb) = (
        hex::encode(a.authority_certificate()),
        hex::encode(b.authority_certificate()),
    );
    let forged = hex::decode(hex::encode(&message).replace(&cb, &ca)).unwrap();
    assert_ne!(forged, message);
    let e = m.personalize(&forged).unwrap_err();
    assert_eq!(
        e,
        reader::Error::Card {
            sw: StatusWord::SECURITY_STATUS_NOT_SATISFIED
        }
    );
    assert!(!m.status().unwrap().personalized);
}

/// `meter card new` pins the root of the authority named by --authority;
/// a card made for another authority directory (same name) is refused by
/// this one and stays blank; `--issuer-root FILE` pins a root from a file.
#[test]
fn card_new_pins_the_authoritys_root() {
    let home = Home::new();
    home.meter(["authority", "init"]).expect_code(0);
    let other = Home::new();
    other.meter(["authority", "init"]).expect_code(0);
    // A card made for the other authority (same default name).
    let other_authority = other.path().join("authority").display().to_string();
    home.meter(["--authority", &other_authority, "card", "new"])
        .expect_code(0);
    let run = home
        .meter(["--pin", "123456", "personalize", "--serial", "PB-9"])
        .expect_code(2);
    assert!(run.stderr.contains("6982"), "{}", run.stderr);
    let s = home.meter(["status", "--json"]).expect_code(0).json();
    assert_eq!(s["personalized"], false, "{s}");

    // The home authority's root, from a file: then it personalizes.
    let root = home
        .meter(["authority", "key", "--root", "--json"])
        .expect_code(0)
        .json();
    let file = home.path().join("root.hex");
    std::fs::write(&file, root["public_key"].as_str().unwrap()).unwrap();
    let file = file.display().to_string();
    home.meter(["card", "new", "--force", "--issuer-root", &file])
        .expect_code(0);
    // (PB-9 stays recorded for the refused card's chip.)
    home.meter(["--pin", "123456", "personalize", "--serial", "PB-10"])
        .expect_code(0);
}
