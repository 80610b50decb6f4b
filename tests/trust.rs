//! The trust chain from the issuer root pinned at manufacture: which
//! authority a card accepts, through the real host flows and the CLI.

use apdu::StatusWord;
use applet_sim::sim::{Card, SimConfig};
use authority::Authority;
use certmeter_tests::Home;
use reader::Meter;
use reader::sim::MemoryTransport;

const TIME: u64 = 1_800_000_000;

/// A blank card made for `a` (its root pinned), not yet attested.
fn blank_for(a: &Authority, seed: u64) -> Meter<MemoryTransport> {
    let config = SimConfig::deterministic(seed, TIME).with_issuer_root(a.issuer_root());
    let card = Card::manufacture(config).unwrap();
    let mut m = Meter::new(MemoryTransport::new(card, true));
    vectors::fixture::open(&mut m).unwrap();
    m
}

/// A card made for authority A refuses the personalization of an authority
/// B of the same name that A's root does not certify (6982), stays blank
/// with nothing written but its meter key, and A then personalizes it.
#[test]
fn a_card_made_for_one_authority_refuses_another_of_the_same_name() {
    let mut a = Authority::deterministic("CERTMETER-CA", 1, TIME).unwrap();
    // B does not check attestation either (a rogue): the card's own checks
    // are what refuse it.
    let mut b = vectors::fixture::Rogue(Authority::deterministic("CERTMETER-CA", 2, TIME).unwrap());
    assert_eq!(a.name(), b.0.name());
    let mut m = attested_card(&a, 1, 5).0;
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
    let (mut m, chip_id, key) = attested_card(&a, 1, 6);
    let nonce = b.attestation_nonce(&chip_id);
    let attestation = m.attest(&nonce).unwrap();
    let challenge = m.challenge().unwrap();
    let message = b
        .personalize_unattested(&authority::PersonalizationRequest {
            chip_id,
            challenge,
            meter_public_key: key,
            serial: "PB-2".into(),
            attestation,
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
    // This authority refuses it first: the card's attestation is by the
    // other root (a rogue authority that went on would meet the card's
    // 6982, tested above).
    home.meter(["--pin", "123456", "pin", "change", "--new", "13579"])
        .expect_code(0);
    let run = home
        .meter(["--pin", "13579", "personalize", "--serial", "PB-9"])
        .expect_code(2);
    assert!(
        run.stderr.contains("not by this issuer's root"),
        "{}",
        run.stderr
    );
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
    home.meter(["--pin", "123456", "pin", "change", "--new", "13579"])
        .expect_code(0);
    home.meter(["--pin", "13579", "personalize", "--serial", "PB-9"])
        .expect_code(0);
}

/// A blank card made for `a` with its attestation key certified by
/// `issuer` (the card's factory), selected, PIN verified, meter key made.
fn attested_card(
    a: &Authority,
    issuer: u64,
    seed: u64,
) -> (Meter<MemoryTransport>, [u8; 8], [u8; 65]) {
    let config = SimConfig::deterministic(seed, TIME).with_issuer_root(a.issuer_root());
    let card = vectors::attested(Card::manufacture(config).unwrap(), issuer, TIME).unwrap();
    let mut m = Meter::new(MemoryTransport::new(card, true));
    vectors::fixture::open(&mut m).unwrap();
    let chip: [u8; 8] = hex::decode(m.status().unwrap().chip_id)
        .unwrap()
        .try_into()
        .unwrap();
    let key: [u8; 65] = m.generate_meter_key().unwrap().try_into().unwrap();
    (m, chip, key)
}

fn unattested(e: authority::AuthorityError) -> String {
    match e {
        authority::AuthorityError::Unattested(why) => why.to_owned(),
        other => panic!("not an attestation refusal: {other}"),
    }
}

/// The authority certifies a meter key only with a valid attestation chain
/// (its own root -> the card's attestation certificate for this chip ->
/// the statement over this key and its fresh nonce); a key attested for
/// another chip id, by a card of another issuer, without a nonce, with a
/// stale nonce or for another key is refused, and nothing is recorded.
#[test]
fn the_authority_certifies_only_attested_keys() {
    const A_SEED: u64 = 1;
    let mut a = Authority::deterministic("CERTMETER-CA", A_SEED, TIME).unwrap();
    let request = |chip_id, key, attestation| authority::PersonalizationRequest {
        chip_id,
        challenge: [9; 16],
        meter_public_key: key,
        serial: "PB-7".into(),
        attestation,
    };
    let (mut x, chip_x, key_x) = attested_card(&a, A_SEED, 11);
    let (_y, chip_y, key_y) = attested_card(&a, A_SEED, 12);

    // No attestation at all (and no nonce issued).
    let e = a
        .personalize(&request(chip_x, key_x, Vec::new()))
        .unwrap_err();
    assert!(unattested(e).contains("no attestation nonce"));
    // A nonce, but not a parsable attestation.
    a.attestation_nonce(&chip_x);
    let e = a
        .personalize(&request(chip_x, key_x, vec![0x7F, 0x73, 0]))
        .unwrap_err();
    assert!(unattested(e).contains("does not parse"));

    // Card X's valid attestation, presented for chip Y (with Y's nonce).
    let nonce_y = a.attestation_nonce(&chip_y);
    let from_x = x.attest(&nonce_y).unwrap();
    let e = a
        .personalize(&request(chip_y, key_x, from_x.clone()))
        .unwrap_err();
    assert!(unattested(e).contains("another chip id"), "for chip Y");
    // ... or for Y's key under X's chip id.
    let nonce_x = a.attestation_nonce(&chip_x);
    let from_x = x.attest(&nonce_x).unwrap();
    let e = a
        .personalize(&request(chip_x, key_y, from_x.clone()))
        .unwrap_err();
    assert!(unattested(e).contains("another meter key"));
    // The nonce was used up by that attempt: the same statement again.
    let e = a
        .personalize(&request(chip_x, key_x, from_x.clone()))
        .unwrap_err();
    assert!(unattested(e).contains("no attestation nonce"));
    // A stale nonce.
    a.attestation_nonce(&chip_x);
    let e = a.personalize(&request(chip_x, key_x, from_x)).unwrap_err();
    assert!(unattested(e).contains("nonce"));

    // A card whose attestation key another issuer certified (same name).
    let b = Authority::deterministic("CERTMETER-CA", 2, TIME).unwrap();
    let (mut z, chip_z, key_z) = attested_card(&b, 2, 13);
    let nonce_z = a.attestation_nonce(&chip_z);
    let from_z = z.attest(&nonce_z).unwrap();
    let e = a.personalize(&request(chip_z, key_z, from_z)).unwrap_err();
    assert!(unattested(e).contains("not by this issuer's root"));

    // A forged statement: X's certificate, but signed by another key.
    let nonce_x = a.attestation_nonce(&chip_x);
    let genuine = x.attest(&nonce_x).unwrap();
    let mut forged = genuine.clone();
    let sig_end = forged.len() - {
        let (_, rest) = apdu::signed::Signed::read(&genuine, 0x7F73).unwrap();
        rest.len()
    };
    forged[sig_end - 1] ^= 1;
    let e = a.personalize(&request(chip_x, key_x, forged)).unwrap_err();
    assert!(unattested(e).contains("statement"));

    assert!(
        a.meter("PB-7").unwrap().is_none(),
        "a refused key was recorded"
    );

    // The genuine one goes through.
    let nonce_x = a.attestation_nonce(&chip_x);
    let genuine = x.attest(&nonce_x).unwrap();
    a.personalize(&request(chip_x, key_x, genuine)).unwrap();
    assert!(a.meter("PB-7").unwrap().is_some());
}

/// A card without an attestation certificate (made from a root file alone)
/// cannot attest (6A88), so no authority certifies its key; a second STORE
/// ATTESTATION CERTIFICATE, or one for another chip, is refused.
#[test]
fn attestation_certificates_are_written_once_for_their_chip() {
    let mut a = Authority::deterministic("CERTMETER-CA", 1, TIME).unwrap();
    let mut m = blank_for(&a, 21);
    m.generate_meter_key().unwrap();
    assert_eq!(
        m.attest(&[0; 16]).unwrap_err(),
        reader::Error::Card {
            sw: StatusWord::REFERENCED_DATA_NOT_FOUND
        }
    );
    let chip: [u8; 8] = hex::decode(m.status().unwrap().chip_id)
        .unwrap()
        .try_into()
        .unwrap();
    let (key, none) = m.read_attestation().unwrap();
    assert!(none.is_none());
    // For another chip id: refused (6A80).
    let mut other = chip;
    other[0] ^= 1;
    let wrong = a.certify_attestation(&other, &key).unwrap();
    assert_eq!(
        m.store_attestation(&wrong).unwrap_err(),
        reader::Error::Card {
            sw: StatusWord::INCORRECT_DATA
        }
    );
    // By another issuer's root: refused (6982).
    let b = Authority::deterministic("CERTMETER-CA", 2, TIME).unwrap();
    let foreign = b.certify_attestation(&chip, &key).unwrap();
    assert_eq!(
        m.store_attestation(&foreign).unwrap_err(),
        reader::Error::Card {
            sw: StatusWord::SECURITY_STATUS_NOT_SATISFIED
        }
    );
    let right = a.certify_attestation(&chip, &key).unwrap();
    m.store_attestation(&right).unwrap();
    assert_eq!(m.read_attestation().unwrap().1.as_deref(), Some(&right[..]));
    // Once.
    assert_eq!(
        m.store_attestation(&right).unwrap_err(),
        reader::Error::Card {
            sw: StatusWord::CONDITIONS_NOT_SATISFIED
        }
    );
    reader::personalize::personalize(&mut m, &mut a, "PB-3", 0).unwrap();
}

/// A new card's PIN is a transport PIN: personalization is refused (9403,
/// with a hint) until `meter pin change`; a blocked PIN is unblocked only
/// through the authority's signed message, after the holder check.
#[test]
fn transport_pin_and_unblock_through_the_cli() {
    let home = Home::new();
    home.meter(["authority", "init"]).expect_code(0);
    home.meter(["card", "new"]).expect_code(0);
    let s = home.meter(["status", "--json"]).expect_code(0).json();
    assert_eq!(s["transport_pin"], true, "{s}");
    let run = home
        .meter(["--pin", "123456", "personalize", "--serial", "PB-5"])
        .expect_code(2);
    assert!(
        run.stderr.contains("9403") && run.stderr.contains("pin change"),
        "{}",
        run.stderr
    );
    let s = home.meter(["status", "--json"]).expect_code(0).json();
    assert_eq!(s["meter_key"], false, "{s}");
    // Not to the same PIN.
    home.meter(["--pin", "123456", "pin", "change", "--new", "123456"])
        .expect_code(2);
    home.meter(["--pin", "123456", "pin", "change", "--new", "2468"])
        .expect_code(0);
    assert_eq!(
        home.meter(["status", "--json"]).expect_code(0).json()["transport_pin"],
        false
    );
    home.meter([
        "--pin",
        "2468",
        "personalize",
        "--serial",
        "PB-5",
        "--funds",
        "1.00",
    ])
    .expect_code(0);

    // Block the PIN (a postmark whose output can be written: one that
    // cannot is refused before the PIN is sent).
    let msg = home.path().join("m.txt");
    std::fs::write(&msg, "x").unwrap();
    for _ in 0..3 {
        home.meter(["--pin", "0000", "status"]).expect_code(0);
        let _ = home.meter(["--pin", "0000", "postmark", msg.to_str().unwrap()]);
    }
    let s = home.meter(["status", "--json"]).expect_code(0).json();
    assert_eq!(s["pin_tries"], 0, "{s}");
    // The holder was not checked: refused, the card untouched.
    let run = home
        .meter(["pin", "unblock", "--new", "8642"])
        .expect_code(2);
    assert!(run.stderr.contains("approve-unblock"), "{}", run.stderr);
    home.meter(["authority", "approve-unblock", "PB-5"])
        .expect_code(0);
    home.meter(["pin", "unblock", "--new", "8642"])
        .expect_code(0);
    let s = home.meter(["status", "--json"]).expect_code(0).json();
    assert_eq!(s["pin_tries"], 3, "{s}");
    // The approval was used up.
    home.meter(["pin", "unblock", "--new", "1111"])
        .expect_code(2);
    home.meter(["--pin", "8642", "postmark", msg.to_str().unwrap()])
        .expect_code(0);
}

const DAY: u64 = 24 * 3600;

/// A funded card of authority `a` (policy set by the caller before), its
/// clock source frozen at `TIME`.
fn funded(a: &mut Authority, seed: u64) -> Meter<MemoryTransport> {
    let mut m = attested_card(a, 1, seed).0;
    reader::personalize::personalize(&mut m, a, &format!("PB-T{seed}"), 1_000).unwrap();
    m
}

fn reopen(
    m: Meter<MemoryTransport>,
    a: &Authority,
    seed: u64,
    time: u64,
) -> Meter<MemoryTransport> {
    let card = m.into_transport().into_card();
    let config = SimConfig::deterministic(seed, time).with_issuer_root(a.issuer_root());
    let card = Card::from_image(card.store().image(), config).unwrap();
    let mut m = Meter::new(MemoryTransport::new(card, true));
    m.select().unwrap();
    m.verify_pin(vectors::fixture::OWNER_PIN).unwrap();
    m
}

fn postmark(m: &mut Meter<MemoryTransport>) -> Result<Vec<u8>, reader::Error> {
    reader::postmark::postmark(m, &mut &b"a letter"[..])
}

/// With the card's time source frozen (or set back), the card stops
/// charging after the policy's N charged operations since the last contact
/// (9405), and a sync lifts it.
#[test]
fn n_charged_operations_then_locked_whatever_the_clock_and_sync_lifts_it() {
    let mut a = Authority::deterministic("CERTMETER-CA", 1, TIME).unwrap();
    a.set_policy(apdu::message::ServicePolicy {
        service_days: 90,
        grace_days: 30,
        max_debits: 3,
    })
    .unwrap();
    let m = funded(&mut a, 31);
    // The host's clock set back a year: the count is what stops it.
    let mut m = reopen(m, &a, 31, TIME - 365 * DAY);
    for _ in 0..3 {
        postmark(&mut m).unwrap();
    }
    let e = postmark(&mut m).unwrap_err();
    assert_eq!(
        e,
        reader::Error::Card {
            sw: StatusWord::LOCKED_BY_DEBITS
        }
    );
    let s = m.status().unwrap();
    let service = s.service.clone().unwrap();
    assert!(
        service.locked && service.debits_since_contact == 3,
        "{service:?}"
    );
    assert_eq!(s.piece_counts.certificate, 3);
    // Status and loads still work while locked; a load is a contact too.
    a.set_clock(Some(TIME + 60));
    reader::value::load(&mut m, &mut a, apdu::meter::RegisterId::Certificate, 100).unwrap();
    postmark(&mut m).unwrap();
    for _ in 0..2 {
        postmark(&mut m).unwrap();
    }
    assert!(postmark(&mut m).is_err());
    // meter sync lifts it.
    a.set_clock(Some(TIME + 120));
    let s = reader::sync::sync(&mut m, &mut a).unwrap();
    assert!(!s.service.unwrap().locked);
    m.verify_pin(vectors::fixture::OWNER_PIN).unwrap();
    postmark(&mut m).unwrap();
}

/// With the card's time source past D + G days since the last contact the
/// card refuses every debit (9404); past D it only warns; a sync lifts it.
/// No postmark is ever dated before the card's last authority time,
/// whatever the time source says.
#[test]
fn past_the_service_and_grace_days_the_card_refuses_and_time_never_goes_back() {
    let mut a = Authority::deterministic("CERTMETER-CA", 1, TIME).unwrap();
    a.set_policy(apdu::message::ServicePolicy {
        service_days: 10,
        grace_days: 5,
        max_debits: 0,
    })
    .unwrap();
    let m = funded(&mut a, 32);
    // Past D: due, still charging.
    let mut m = reopen(m, &a, 32, TIME + 11 * DAY);
    let service = m.status().unwrap().service.unwrap();
    assert_eq!(service.state, "service due");
    postmark(&mut m).unwrap();
    // Past D + G: locked.
    let mut m = reopen(m, &a, 32, TIME + 15 * DAY + 1);
    assert_eq!(
        postmark(&mut m).unwrap_err(),
        reader::Error::Card {
            sw: StatusWord::LOCKED_BY_TIME
        }
    );
    assert!(m.status().unwrap().service.unwrap().locked);
    // The authority contact lifts it.
    a.set_clock(Some(TIME + 15 * DAY + 2));
    reader::sync::sync(&mut m, &mut a).unwrap();
    m.verify_pin(vectors::fixture::OWNER_PIN).unwrap();
    let file = postmark(&mut m).unwrap();
    let pm = apdu::postmark::PostmarkFile::parse(&file).unwrap();
    assert!(pm.postmark.time >= TIME + 15 * DAY + 2);

    // The time source set back a year: the postmark is still dated no
    // earlier than the last authority time, and the card stays unlocked
    // (its clock is the authority's).
    let mut m = reopen(m, &a, 32, TIME - 365 * DAY);
    let file = postmark(&mut m).unwrap();
    let pm = apdu::postmark::PostmarkFile::parse(&file).unwrap();
    assert!(
        pm.postmark.time >= TIME + 15 * DAY + 2,
        "a postmark dated {} before the authority's time",
        pm.postmark.time
    );
}

/// Verifiers refuse a postmark dated more than the skew ahead of their own
/// clock, and say why: off the card (`verify_offline`, `meter verify`) and
/// on the card (verdict 7, the card's clock).
#[test]
fn future_dated_postmarks_are_refused_by_every_verifier() {
    let mut a = Authority::deterministic("CERTMETER-CA", 1, TIME).unwrap();
    // A card whose time source runs an hour ahead.
    let ahead = funded(&mut a, 33);
    let mut ahead = reopen(ahead, &a, 33, TIME + 3600);
    let file = postmark(&mut ahead).unwrap();
    let key = a.public_key();
    let check =
        |now, skew| reader::postmark::verify_offline(&mut &b"a letter"[..], &file, &key, now, skew);
    assert!(matches!(
        check(TIME, 300),
        Err(reader::postmark::VerifyError::Invalid(
            apdu::meter::Invalid::FutureDated
        ))
    ));
    assert!(check(TIME, 3600).is_ok(), "within a one-hour skew");
    assert!(check(TIME + 3600, 300).is_ok());
    assert!(
        apdu::meter::Invalid::FutureDated
            .reason()
            .contains("ahead of the verifier's clock")
    );
    // On a card whose clock is at TIME: verdict 7.
    let other = funded(&mut a, 34);
    let mut other = reopen(other, &a, 34, TIME);
    let (verdict, _) =
        reader::postmark::verify_on_card(&mut other, &mut &b"a letter"[..], &file, None).unwrap();
    assert_eq!(verdict.result, Err(apdu::meter::Invalid::FutureDated));
}

/// Through the CLI: `meter authority policy --max-debits 2`, two postmarks,
/// the third refused (9405, with a hint), `meter status` shows the lock,
/// `meter sync` lifts it.
#[test]
fn meter_sync_lifts_a_lock_through_the_cli() {
    let home = Home::personalized("PB-S", "10.00");
    home.meter(["authority", "policy", "--max-debits", "2"])
        .expect_code(0);
    // The policy rides on the next contact.
    home.meter(["sync"]).expect_code(0);
    let msg = home.path().join("m.txt");
    std::fs::write(&msg, "x").unwrap();
    let msg = msg.to_str().unwrap();
    let pin = certmeter_tests::OWNER_PIN;
    for _ in 0..2 {
        home.meter(["--pin", pin, "postmark", msg]).expect_code(0);
    }
    let run = home.meter(["--pin", pin, "postmark", msg]).expect_code(2);
    assert!(
        run.stderr.contains("9405") && run.stderr.contains("meter sync"),
        "{}",
        run.stderr
    );
    let s = home.meter(["status", "--json"]).expect_code(0).json();
    assert_eq!(s["service"]["locked"], true, "{s}");
    let text = home.meter(["status"]).expect_code(0).stdout;
    assert!(
        text.contains("locked: charged operations used up"),
        "{text}"
    );
    home.meter(["sync"]).expect_code(0);
    home.meter(["--pin", pin, "postmark", msg]).expect_code(0);
}

/// The writes of the new commands, measured (logical writes, journal
/// bytes): the store's per-command counters.
#[test]
fn write_figures_of_the_new_commands() {
    let mut a = Authority::deterministic("CERTMETER-CA", 1, TIME).unwrap();
    let config = SimConfig::deterministic(41, TIME).with_issuer_root(a.issuer_root());
    let mut m = Meter::new(MemoryTransport::new(
        Card::manufacture(config).unwrap(),
        true,
    ));
    let stats = |m: &mut Meter<MemoryTransport>| m.transport().card().last_command_stats();
    let mut figures = Vec::new();
    reader::manufacture::certify_attestation(&mut m, &mut a).unwrap();
    figures.push(("STORE ATTESTATION CERTIFICATE", stats(&mut m)));
    m.verify_pin(b"123456").unwrap();
    figures.push(("VERIFY (right PIN)", stats(&mut m)));
    m.change_pin(b"123456", b"2468").unwrap();
    figures.push(("CHANGE REFERENCE DATA", stats(&mut m)));
    m.generate_meter_key().unwrap();
    m.attest(&[1; 16]).unwrap();
    figures.push(("ATTEST", stats(&mut m)));
    reader::personalize::personalize(&mut m, &mut a, "PB-W", 0).unwrap();
    figures.push(("PERSONALIZE (last command)", stats(&mut m)));
    reader::sync::sync(&mut m, &mut a).unwrap();
    // sync ends with GET DATA; measure SYNC itself by sending it again.
    let st = m.status().unwrap();
    let chip: [u8; 8] = hex::decode(&st.chip_id).unwrap().try_into().unwrap();
    let challenge = m.challenge().unwrap();
    let message = a.sync("PB-W", &chip, &challenge).unwrap();
    m.sync(&message).unwrap();
    figures.push(("SYNC", stats(&mut m)));
    a.approve_unblock("PB-W").unwrap();
    let challenge = m.challenge().unwrap();
    let message = a.unblock("PB-W", &chip, &challenge).unwrap();
    m.unblock(&message, b"8642").unwrap();
    figures.push(("RESET RETRY COUNTER", stats(&mut m)));
    for (name, s) in &figures {
        eprintln!(
            "{name}: {} logical writes, {} raw writes, {} journal bytes",
            s.logical_writes, s.raw_writes, s.journal_bytes
        );
    }
    let get = |n: &str| figures.iter().find(|(name, _)| *name == n).unwrap().1;
    assert_eq!(get("ATTEST").logical_writes, 0);
    assert_eq!(get("SYNC").logical_writes, 2, "counters and contact record");
    assert_eq!(get("STORE ATTESTATION CERTIFICATE").logical_writes, 2);
}
