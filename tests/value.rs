//! [value] points 1, 2 and 4 on a personalized, funded card: recharging
//! (a request signed over the card's state and nonce, a value load bound
//! to it, applied once), the versioned rate table taken at a contact, and
//! inspection (a chained audit report reconciled with the authority's
//! records). Every refusal leaves the card byte-identical; a rolled-back
//! or patched card is flagged by the authority.

use apdu::StatusWord;
use apdu::cmd::rate_update::RateUpdate;
use apdu::message::{LoadReceipt, ValueLoad};
use apdu::meter::{RegisterId, Request, Service};
use apdu::tlv::Writer;
use applet_sim::budget::PERSISTENT_CAPACITY;
use applet_sim::layout;
use applet_sim::sim::Card;
use authority::{Authority, AuthorityError};
use certmeter_tests::Home;
use reader::Meter;
use reader::sim::MemoryTransport;
use vectors::Funded;

const TIME: u64 = 1_800_000_000;
const AUTHORITY_SEED: u64 = 5;

const fn funded(seed: u64, serial: &'static str) -> Funded {
    Funded {
        card: vectors::CardSpec {
            seed,
            time: TIME,
            issuer_root: None,
            unattested: false,
        },
        authority: "CERTMETER-CA",
        authority_seed: AUTHORITY_SEED,
        serial,
        funds: 1_000,
    }
}

fn sw(out: &[u8]) -> StatusWord {
    StatusWord::new(out[out.len() - 2], out[out.len() - 1])
}

/// Sends `r`, fetching a long answer with GET RESPONSE.
fn send(card: &mut Card, r: Request<'_>) -> Vec<u8> {
    let mut out = card.transmit(&r.to_command().to_vec().unwrap()).unwrap();
    while out.len() >= 2 && out[out.len() - 2] == 0x61 {
        let more = out[out.len() - 1];
        out.truncate(out.len() - 2);
        out.extend(card.transmit(&[0x00, 0xC0, 0x00, 0x00, more]).unwrap());
    }
    out
}

fn ok(card: &mut Card, r: Request<'_>) -> Vec<u8> {
    let mut out = send(card, r);
    assert_eq!(sw(&out), StatusWord::OK, "{r:?}");
    out.truncate(out.len() - 2);
    out
}

/// The persistent image.
fn image(card: &Card) -> Vec<u8> {
    card.store().image().to_vec()
}

/// Sends `r`, expects `want`, and checks that the card did not change.
fn refused(card: &mut Card, r: Request<'_>, want: StatusWord) {
    let before = image(card);
    assert_eq!(sw(&send(card, r)), want, "{r:?}");
    assert_eq!(image(card), before, "a refused {r:?} changed the card");
}

fn open(card: &mut Card) {
    ok(
        card,
        Request::Select {
            aid: apdu::meter::AID,
        },
    );
    ok(
        card,
        Request::Verify {
            pin: Some(vectors::fixture::OWNER_PIN),
        },
    );
}

fn bench(seed: u64, serial: &'static str) -> (Card, Authority) {
    let (mut card, authority) = funded(seed, serial).card().unwrap();
    open(&mut card);
    (card, authority)
}

fn challenge(card: &mut Card) -> [u8; 16] {
    ok(card, Request::GetChallenge).try_into().unwrap()
}

/// GET CHALLENGE, RECHARGE REQUEST; the request.
fn request(card: &mut Card, register: RegisterId, amount: u64) -> Vec<u8> {
    challenge(card);
    let amount = amount.to_be_bytes();
    ok(
        card,
        Request::RechargeRequest {
            register,
            amount: &amount,
        },
    )
}

/// asc + desc of `register` (a register record: asc u64, desc u64).
fn control_total(card: &Card, register: RegisterId) -> u64 {
    let r = layout::Register::from(register);
    r.ascending().get(card.store()).unwrap() + r.descending().get(card.store()).unwrap()
}

#[test]
fn a_recharge_is_applied_once_and_the_control_total_grows_by_exactly_the_load() {
    let (mut card, mut authority) = bench(31, "VAL-1");
    let before = control_total(&card, RegisterId::Postage);
    let req = request(&mut card, RegisterId::Postage, 1234);
    let message = authority.recharge(&req).unwrap();
    let m = ValueLoad::parse(&message).unwrap();
    assert!(m.challenge.is_some(), "bound to the request's challenge");
    let receipt = ok(&mut card, Request::LoadValue { message: &message });
    let r = LoadReceipt::parse(&receipt).unwrap();
    assert_eq!(r.challenge, m.challenge, "the receipt echoes the challenge");
    assert_eq!(control_total(&card, RegisterId::Postage), before + 1234);
    assert_eq!(r.ascending + r.descending, before + 1234);
    let load = authority.confirm_load(&receipt).unwrap();
    assert!(load.confirmed_at.is_some());
    assert_eq!(
        authority
            .total_loaded("VAL-1", RegisterId::Postage)
            .unwrap(),
        1234
    );

    // Replayed: the challenge is used up (and the load number too).
    refused(
        &mut card,
        Request::LoadValue { message: &message },
        StatusWord::REFERENCE_DATA_NOT_USABLE,
    );
    challenge(&mut card);
    refused(
        &mut card,
        Request::LoadValue { message: &message },
        StatusWord::REFERENCE_DATA_NOT_USABLE,
    );
    assert_eq!(control_total(&card, RegisterId::Postage), before + 1234);
}

#[test]
fn a_value_message_for_another_request_another_card_or_altered_is_refused() {
    let (mut card, mut authority) = bench(31, "VAL-1");
    // Answering request A, sent after the card made request B.
    let a = request(&mut card, RegisterId::Certificate, 500);
    let for_a = authority.recharge(&a).unwrap();
    let b = request(&mut card, RegisterId::Certificate, 500);
    refused(
        &mut card,
        Request::LoadValue { message: &for_a },
        StatusWord::REFERENCE_DATA_NOT_USABLE,
    );
    // B's own load still works, once.
    let for_b = authority.recharge(&b).unwrap();
    challenge(&mut card);
    refused(
        &mut card,
        Request::LoadValue { message: &for_b },
        StatusWord::REFERENCE_DATA_NOT_USABLE,
    );

    // Altered amount: the authority's signature no longer verifies.
    let c = request(&mut card, RegisterId::Certificate, 500);
    let mut altered = authority.recharge(&c).unwrap();
    let at = altered
        .windows(3)
        .position(|w| w == [0x88, 0x08, 0x00])
        .unwrap();
    altered[at + 9] ^= 0x01;
    refused(
        &mut card,
        Request::LoadValue { message: &altered },
        StatusWord::SECURITY_STATUS_NOT_SATISFIED,
    );

    // Another card's message: the same authority key (a deterministic
    // authority of the same seed), signed for the other chip and serial.
    let (mut other, mut other_authority) = bench(32, "VAL-2");
    let req = request(&mut other, RegisterId::Certificate, 500);
    let foreign = other_authority.recharge(&req).unwrap();
    challenge(&mut card);
    refused(
        &mut card,
        Request::LoadValue { message: &foreign },
        StatusWord::INCORRECT_DATA,
    );

    // A request altered on its way is refused by the authority.
    let mut d = request(&mut card, RegisterId::Certificate, 500);
    let at = d.windows(3).position(|w| w == [0x88, 0x08, 0x00]).unwrap();
    d[at + 9] ^= 0x01;
    assert!(matches!(
        authority.recharge(&d),
        Err(AuthorityError::InvalidRequest(_))
    ));
}

/// A rate update signed with the authority's key for anything the test
/// likes (the authority itself signs only its current version).
fn forge_rates(chip: &[u8; 8], serial: &[u8], challenge: &[u8; 16], version: u32) -> Vec<u8> {
    let key = authority::keys::from_seed(AUTHORITY_SEED);
    let mut buf = vec![0u8; 512];
    let mut w = Writer::new(&mut buf);
    RateUpdate::write(
        &mut w,
        chip,
        serial,
        challenge,
        version,
        [(Service::Postmark, 1), (Service::Verify, 1)],
        |b| apdu::crypto::sign(&key, b),
    )
    .unwrap();
    let n = w.len();
    buf.truncate(n);
    buf
}

fn chip(card: &Card) -> [u8; 8] {
    layout::CHIP_ID
        .read(card.store())
        .unwrap()
        .try_into()
        .unwrap()
}

/// The card's rate table: (version, fee of `service`).
fn card_rate(card: Card, service: Service) -> (Card, u32, u64) {
    let mut m = Meter::new(MemoryTransport::new(card, true));
    let (version, rates) = m.rate_table().unwrap();
    let fee = rates.iter().find(|(s, _)| *s == service).unwrap().1;
    (m.into_transport().into_card(), version, fee)
}

#[test]
fn the_card_takes_a_newer_rate_table_at_a_contact_and_refuses_older_or_equal_ones() {
    let (card, mut authority) = bench(31, "VAL-1");
    let (card, version, fee) = card_rate(card, Service::Postmark);
    assert_eq!((version, fee), (0, 25));
    assert_eq!(authority.set_rate(Service::Postmark, 40).unwrap(), 1);
    assert_eq!(authority.set_rate(Service::Verify, 15).unwrap(), 2);

    // SYNC is a contact: the host flow brings version 2.
    let mut m = Meter::new(MemoryTransport::new(card, true));
    reader::sync::sync(&mut m, &mut authority).unwrap();
    let mut card = m.into_transport().into_card();
    let (c, version, fee) = card_rate(card, Service::Postmark);
    card = c;
    assert_eq!((version, fee), (2, 40));
    open(&mut card);

    // The postmark fee now comes from the card's new table.
    let before = layout::CERTIFICATE_ASCENDING.get(card.store()).unwrap();
    let mut m = Meter::new(MemoryTransport::new(card, true));
    m.select().unwrap();
    m.verify_pin(vectors::fixture::OWNER_PIN).unwrap();
    reader::postmark::postmark(&mut m, &mut &b"a letter"[..]).unwrap();
    let mut card = m.into_transport().into_card();
    open(&mut card);
    assert_eq!(
        layout::CERTIFICATE_ASCENDING.get(card.store()).unwrap(),
        before + 40
    );

    // The same version again (the authority's current one, freshly bound): 940A.
    let c = challenge(&mut card);
    let (v, equal) = authority.rate_update("VAL-1", &chip(&card), &c).unwrap();
    assert_eq!(v, 2);
    refused(
        &mut card,
        Request::RateUpdate { message: &equal },
        StatusWord::RATE_VERSION_NOT_NEWER,
    );
    // Replayed after that: its challenge is gone.
    challenge(&mut card);
    refused(
        &mut card,
        Request::RateUpdate { message: &equal },
        StatusWord::REFERENCE_DATA_NOT_USABLE,
    );
    // An older one, validly signed and bound: 940A.
    let c = challenge(&mut card);
    let older = forge_rates(&chip(&card), b"VAL-1", &c, 1);
    refused(
        &mut card,
        Request::RateUpdate { message: &older },
        StatusWord::RATE_VERSION_NOT_NEWER,
    );
    // Another card's (its chip, this challenge): 6A80.
    let c = challenge(&mut card);
    let foreign = forge_rates(&[9; 8], b"VAL-1", &c, 7);
    refused(
        &mut card,
        Request::RateUpdate { message: &foreign },
        StatusWord::INCORRECT_DATA,
    );
    // Altered (a fee changed after signing): 6982.
    let c = challenge(&mut card);
    let mut altered = forge_rates(&chip(&card), b"VAL-1", &c, 7);
    let at = altered
        .windows(3)
        .position(|w| w == [0x90, 0x09, 0x01])
        .unwrap();
    altered[at + 10] ^= 0x01;
    refused(
        &mut card,
        Request::RateUpdate { message: &altered },
        StatusWord::SECURITY_STATUS_NOT_SATISFIED,
    );
    let (_, version, fee) = card_rate(card, Service::Postmark);
    assert_eq!((version, fee), (2, 40));
}

/// GET CHALLENGE, AUDIT, the authority's inspection, and its contact
/// (SYNC) when it passed.
fn audit(card: &mut Card, authority: &mut Authority) -> authority::AuditAnswer {
    challenge(card);
    let report = ok(card, Request::Audit);
    let answer = authority.audit(&report).unwrap();
    if let Some(sync) = &answer.contact {
        ok(card, Request::Sync { message: sync });
    }
    answer
}

/// GET CHALLENGE, RECHARGE REQUEST, LOAD VALUE, receipt.
fn recharge(card: &mut Card, authority: &mut Authority, register: RegisterId, amount: u64) {
    let req = request(card, register, amount);
    let message = authority.recharge(&req).unwrap();
    let receipt = ok(card, Request::LoadValue { message: &message });
    authority.confirm_load(&receipt).unwrap();
}

#[test]
fn an_audit_that_agrees_is_recorded_and_is_a_contact() {
    let (mut card, mut authority) = bench(31, "VAL-1");
    recharge(&mut card, &mut authority, RegisterId::Postage, 700);
    let first = audit(&mut card, &mut authority);
    assert_eq!(first.inspection.flag, None);
    assert_eq!(first.inspection.number, 1);
    assert_eq!(first.inspection.postage, (0, 700));
    assert!(first.contact.is_some());
    let second = audit(&mut card, &mut authority);
    assert_eq!(
        (second.inspection.number, second.inspection.flag.clone()),
        (2, None)
    );
    let all = authority.inspections("VAL-1").unwrap();
    assert_eq!(all.len(), 2);
    // The card's chain is at report 2.
    assert_eq!(layout::AUDIT_COUNT.get(card.store()).unwrap(), 2);
}

#[test]
fn an_audit_is_a_contact_that_lifts_a_lock_by_charged_operations() {
    let (mut card, mut authority) = bench(31, "VAL-1");
    authority
        .set_policy(apdu::message::ServicePolicy {
            service_days: 90,
            grace_days: 30,
            max_debits: 1,
        })
        .unwrap();
    audit(&mut card, &mut authority);
    let mut m = Meter::new(MemoryTransport::new(card, true));
    m.select().unwrap();
    m.verify_pin(vectors::fixture::OWNER_PIN).unwrap();
    reader::postmark::postmark(&mut m, &mut &b"one"[..]).unwrap();
    let e = reader::postmark::postmark(&mut m, &mut &b"two"[..]).unwrap_err();
    assert_eq!(
        e,
        reader::Error::Card {
            sw: StatusWord::LOCKED_BY_DEBITS
        }
    );
    let a = reader::audit::audit(&mut m, &mut authority).unwrap();
    assert!(a.contact && a.inspection.flag.is_none());
    m.verify_pin(vectors::fixture::OWNER_PIN).unwrap();
    reader::postmark::postmark(&mut m, &mut &b"two"[..]).unwrap();
}

#[test]
fn an_audit_after_a_rollback_is_flagged() {
    // Rolled back past a load the authority confirmed.
    let (mut card, mut authority) = bench(31, "VAL-1");
    let old: Box<[u8; PERSISTENT_CAPACITY]> = Box::new(*card.store().image());
    recharge(&mut card, &mut authority, RegisterId::Certificate, 300);
    let mut card = Card::from_image(&old, funded(31, "VAL-1").sim_config()).unwrap();
    open(&mut card);
    let a = audit(&mut card, &mut authority);
    let reason = a.inspection.flag.expect("flagged");
    assert!(reason.contains("rolled back"), "{reason}");
    assert!(a.contact.is_none(), "no contact for a flagged meter");
    // Flagged: no more value.
    let req = request(&mut card, RegisterId::Certificate, 100);
    assert!(matches!(
        authority.recharge(&req),
        Err(AuthorityError::Flagged { .. })
    ));

    // Rolled back past an inspection (no load in between).
    let (mut card, mut authority) = bench(33, "VAL-3");
    let old: Box<[u8; PERSISTENT_CAPACITY]> = Box::new(*card.store().image());
    assert_eq!(audit(&mut card, &mut authority).inspection.flag, None);
    let mut card = Card::from_image(&old, funded(33, "VAL-3").sim_config()).unwrap();
    open(&mut card);
    let reason = audit(&mut card, &mut authority)
        .inspection
        .flag
        .expect("flagged");
    assert!(reason.contains("repeats a report number"), "{reason}");
}

/// A state file's certificate descending register raised by 5.00, as a
/// dishonest host would, with the integrity tag recomputed or not.
fn patch_register(path: &std::path::Path, reseal: bool) {
    let mut file = std::fs::read(path).unwrap();
    let at = 8 + layout::CERTIFICATE_DESCENDING.at;
    let mut v = [0u8; 8];
    v.copy_from_slice(&file[at..at + 8]);
    let raised = u64::from_be_bytes(v) + 500;
    file[at..at + 8].copy_from_slice(&raised.to_be_bytes());
    if reseal {
        applet_sim::sim::reseal(&mut file);
    }
    std::fs::write(path, &file).unwrap();
}

#[test]
fn a_patched_state_file_is_refused_or_flagged_at_the_audit() {
    let home = Home::personalized("VAL-9", "10.00");
    let (_, state) = home.card();
    home.meter(["recharge", "2.00", "--register", "postage"])
        .expect_code(0);
    home.meter(["audit"]).expect_code(0);
    // A patch the tag catches: the card is not even opened.
    let good = std::fs::read(&state).unwrap();
    patch_register(&state, false);
    let r = home.meter(["status"]).expect_code(2);
    assert!(
        r.stderr.contains("altered") || r.stderr.contains("damaged"),
        "{}",
        r.stderr
    );
    // The same patch with the tag recomputed (a dishonest host): the card
    // opens, shows 15.00, and the authority flags it at the audit.
    std::fs::write(&state, &good).unwrap();
    patch_register(&state, true);
    let s = home.meter(["--json", "status"]).expect_code(0).json();
    assert_eq!(s["registers"]["certificate"]["descending"], 1500, "{s}");
    let r = home.meter(["audit"]).expect_code(1);
    assert!(r.stdout.contains("FLAGGED"), "{}", r.stdout);
    let list = home
        .meter(["--json", "authority", "inspections", "VAL-9"])
        .expect_code(0)
        .json();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["state"], "ok");
    assert_eq!(list[1]["state"], "flagged");
    assert!(
        list[1]["flag_reason"]
            .as_str()
            .unwrap()
            .contains("certificate register"),
        "{list:?}"
    );
    // No more value for it.
    home.meter(["recharge", "1.00"]).expect_code(2);
}

#[test]
fn an_audit_after_a_state_file_rollback_is_flagged() {
    let home = Home::personalized("VAL-8", "10.00");
    let (_, state) = home.card();
    let old = std::fs::read(&state).unwrap();
    home.meter(["recharge", "3.00"]).expect_code(0);
    std::fs::write(&state, &old).unwrap();
    let r = home.meter(["--json", "audit"]).expect_code(1).json();
    assert_eq!(r["flagged"], true, "{r}");
    assert!(
        r["flag_reason"].as_str().unwrap().contains("rolled back"),
        "{r}"
    );
}
