//! Figure 6, revocation, on a personalized funded card in process: each
//! numbered decision with its own outcome, the registers after each (the
//! Revoke fee from the rate table deducted, or nothing), the refusals that
//! change nothing (a byte-identical card), and the meter certificate
//! revoked (no loads, no postmarks).
//!
//! User certificates: the install flow (Figure 5) is built elsewhere, so a
//! user certificate gets into slot 1 here through a test-only path: the
//! authority issues a certificate (`Authority::issue_certificate`) for a
//! key the test makes, and the test writes it into the slot with the card's
//! own storage function (`applet_sim::certificates::write`) in process.

use apdu::cmd::revoke::{
    MessageBody, Payment, PaymentState, RevocationConfirmation, RevocationRequest, Subject,
};
use apdu::meter::{RegisterId, Request};
use apdu::tlv::Writer;
use applet_sim::sim::Card;
use authority::Authority;
use reader::Meter;
use reader::meter::Status;
use reader::sim::MemoryTransport;
use vectors::Funded;

const TIME: u64 = 1_800_000_000;
const FEE: u64 = 100; // the default Revoke rate
const KEY_COMPROMISE: u8 = 1;
const SUPERSEDED: u8 = 4;

const fn funded(funds: u64) -> Funded {
    Funded {
        card: vectors::CardSpec {
            seed: 21,
            time: TIME,
            issuer_root: None,
            unattested: false,
        },
        authority: "CERTMETER-CA",
        authority_seed: 5,
        serial: "REV-1",
        funds,
    }
}

struct Bench {
    card: Card,
    authority: Authority,
}

fn sw(out: &[u8]) -> [u8; 2] {
    [out[out.len() - 2], out[out.len() - 1]]
}

fn send(card: &mut Card, r: Request<'_>) -> Vec<u8> {
    card.transmit(&r.to_command().to_vec().unwrap()).unwrap()
}

fn ok(card: &mut Card, r: Request<'_>) -> Vec<u8> {
    let mut out = send(card, r);
    assert_eq!(sw(&out), [0x90, 0x00], "{r:?}");
    out.truncate(out.len() - 2);
    out
}

impl Bench {
    fn new(funds: u64) -> Self {
        let (card, authority) = funded(funds).card().unwrap();
        let mut b = Bench { card, authority };
        b.open();
        b
    }

    /// SELECT and VERIFY.
    fn open(&mut self) {
        ok(
            &mut self.card,
            Request::Select {
                aid: apdu::meter::AID,
            },
        );
        ok(
            &mut self.card,
            Request::Verify {
                pin: Some(vectors::fixture::OWNER_PIN),
            },
        );
    }

    fn status(&mut self) -> Status {
        let card = std::mem::replace(
            &mut self.card,
            Card::manufacture(funded(0).sim_config()).unwrap(),
        );
        let mut m = Meter::new(MemoryTransport::new(card, true));
        let s = m.status().unwrap();
        self.card = m.into_transport().into_card();
        s
    }

    fn chip(&mut self) -> [u8; 8] {
        hex::decode(self.status().chip_id)
            .unwrap()
            .try_into()
            .unwrap()
    }

    fn challenge(&mut self) -> [u8; 16] {
        ok(&mut self.card, Request::GetChallenge)
            .try_into()
            .unwrap()
    }

    /// GET CHALLENGE, then REVOKE REQUEST (602).
    fn request(&mut self, slot: u8, reason: u8) -> Vec<u8> {
        self.challenge();
        ok(&mut self.card, Request::RevokeRequest { slot, reason })
    }

    /// The whole exchange with payment enabled; the confirmation.
    fn revoke(&mut self, slot: u8, reason: u8) -> Vec<u8> {
        let request = self.request(slot, reason);
        let message = self.authority.revocation_message(&request).unwrap();
        ok(&mut self.card, Request::Revoke { message: &message })
    }

    /// Slot 1 gets a user certificate issued by the authority for a key
    /// made here (test-only path, see the module comment); its serial.
    fn user_certificate(&mut self) -> u64 {
        let key = p256::ecdsa::SigningKey::from_slice(&[7; 32]).unwrap();
        let public = authority::keys::encode_public(key.verifying_key());
        let (serial, cert) = self
            .authority
            .issue_certificate(
                "alice@rev-1",
                &public,
                apdu::cert::usage::SIGNING,
                TIME + 86_400 * 365,
            )
            .unwrap();
        let s = self.card.store_mut();
        s.begin().unwrap();
        applet_sim::certificates::write(s, 1, &cert).unwrap();
        s.commit().unwrap();
        serial
    }

    fn meter_cert_serial(&self) -> u64 {
        self.authority
            .meter("REV-1")
            .unwrap()
            .unwrap()
            .certificate_serial
    }

    /// A revocation message signed with the authority's key but with any
    /// subject the test likes (the authority itself signs only bound ones).
    fn forge(&self, subject: Subject<'_>, payment: Payment) -> Vec<u8> {
        let key = authority::keys::from_seed(5);
        assert_eq!(
            authority::keys::encode_public(key.verifying_key()),
            self.authority.public_key()
        );
        let mut buf = vec![0; 1024];
        let mut w = Writer::new(&mut buf);
        MessageBody {
            subject,
            time: TIME,
            payment,
        }
        .write(&mut w, |b| apdu::crypto::sign(&key, b))
        .unwrap();
        let n = w.len();
        buf.truncate(n);
        buf
    }
}

fn register(s: &Status) -> (u64, u64, u32) {
    let r = &s.registers.certificate;
    (r.ascending, r.descending, s.piece_counts.certificate)
}

/// 602: the card signs a request over card, slot, certificate, reason and
/// its challenge with the meter key; it charges and writes nothing.
#[test]
fn request_602_is_signed_by_the_card_and_writes_nothing() {
    let mut b = Bench::new(1_000);
    let before = b.status();
    let challenge = b.challenge();
    let w0 = b.card.store().writes();
    let out = ok(
        &mut b.card,
        Request::RevokeRequest {
            slot: 0,
            reason: KEY_COMPROMISE,
        },
    );
    assert_eq!(b.card.store().writes(), w0, "REVOKE REQUEST writes nothing");
    let r = RevocationRequest::parse(&out).unwrap();
    assert_eq!(r.subject.challenge, &challenge);
    assert_eq!(r.subject.slot, 0);
    assert_eq!(r.subject.reason, KEY_COMPROMISE);
    assert_eq!(r.subject.certificate_serial, b.meter_cert_serial());
    let meter = b.authority.meter("REV-1").unwrap().unwrap();
    let key = apdu::crypto::public_key(&meter.public_key).unwrap();
    assert!(apdu::crypto::verify_signed(&r.signed, &key));
    assert_eq!(register(&b.status()), register(&before));
    // Without the PIN: 6982; a reason that is no RFC 5280 code: 6A86; an
    // empty slot: 6A88.
    b.card.reset();
    ok(
        &mut b.card,
        Request::Select {
            aid: apdu::meter::AID,
        },
    );
    assert_eq!(
        sw(&send(
            &mut b.card,
            Request::RevokeRequest { slot: 0, reason: 1 }
        )),
        [0x69, 0x82]
    );
    b.open();
    let bad_reason = apdu::command::Command::new(0x80, 0x3E, 0, 7, &[], Some(256));
    assert_eq!(
        sw(&b.card.transmit(&bad_reason.to_vec().unwrap()).unwrap()),
        [0x6A, 0x86]
    );
    b.challenge();
    assert_eq!(
        sw(&send(
            &mut b.card,
            Request::RevokeRequest { slot: 2, reason: 1 }
        )),
        [0x6A, 0x88]
    );
}

/// 604/606: the authority refuses an altered request, one signed by
/// another key, and one for a certificate it did not issue to that meter.
#[test]
fn authority_606_refuses_altered_or_foreign_requests() {
    let mut b = Bench::new(1_000);
    let good = b.request(0, KEY_COMPROMISE);
    // Altered: the reason byte inside the signed body.
    let mut altered = good.clone();
    let at = altered
        .windows(3)
        .position(|w| w == [0x87, 0x01, KEY_COMPROMISE])
        .unwrap();
    altered[at + 2] = SUPERSEDED;
    assert!(b.authority.revocation_message(&altered).is_err());
    // Signed by another key (the user key, not the meter key).
    let r = RevocationRequest::parse(&good).unwrap();
    let other = p256::ecdsa::SigningKey::from_slice(&[9; 32]).unwrap();
    let mut buf = vec![0; 512];
    let mut w = Writer::new(&mut buf);
    RevocationRequest::write(&r.subject, &mut w, |m| apdu::crypto::sign(&other, m)).unwrap();
    let n = w.len();
    assert!(b.authority.revocation_message(&buf[..n]).is_err());
    // 604: the genuine one passes.
    assert!(b.authority.revocation_message(&good).is_ok());
}

/// 608-616, 618 -> 624: the card pays; the registers show exactly the
/// Revoke fee; 622: the authority records time, reason and "paid".
#[test]
fn revoke_with_payment_624() {
    let mut b = Bench::new(1_000);
    let serial = b.user_certificate();
    let before = b.status();
    let conf = b.revoke(1, SUPERSEDED);
    let c = RevocationConfirmation::parse(&conf).unwrap();
    assert_eq!(c.body.payment, PaymentState::Paid);
    assert_eq!(
        (c.body.fee, c.body.subject.certificate_serial),
        (FEE, serial)
    );
    let (a0, d0, p0) = register(&before);
    let after = b.status();
    assert_eq!(register(&after), (a0 + FEE, d0 - FEE, p0 + 1));
    assert_eq!(c.body.ascending, a0 + FEE);
    // The card itself reports the revocation, slot by slot.
    assert!(before.revoked.is_empty(), "none revoked before");
    assert_eq!(after.revoked, [None, Some(SUPERSEDED), None, None]);
    let revoked: Vec<_> = after.certificates.iter().map(|c| c.revoked).collect();
    assert_eq!(revoked, [None, Some(SUPERSEDED)]);
    assert_eq!(
        b.authority.confirm_revocation(&conf).unwrap(),
        PaymentState::Paid
    );
    let r = b.authority.revocation(serial).unwrap().unwrap();
    assert_eq!(
        (r.reason, r.forced, r.payment.as_deref()),
        (SUPERSEDED, false, Some("paid"))
    );
    assert_eq!(r.confirmed_at, Some(c.body.time));
    // 616: revoked on the card: no second revocation (9409).
    b.challenge();
    assert_eq!(
        sw(&send(
            &mut b.card,
            Request::RevokeRequest { slot: 1, reason: 1 }
        )),
        [0x94, 0x09]
    );
    // The meter certificate is untouched: postmarks go on.
    ok(&mut b.card, Request::HashInit);
    ok(&mut b.card, Request::Postmark);
}

/// 618 -> 620: short of the fee, the certificate is revoked and the fee is
/// due: nothing deducted now; collected at the next contact (a load).
#[test]
fn revoke_with_payment_due_620_collected_at_the_next_contact() {
    let mut b = Bench::new(50);
    let serial = b.user_certificate();
    let before = b.status();
    let conf = b.revoke(1, KEY_COMPROMISE);
    let c = RevocationConfirmation::parse(&conf).unwrap();
    assert_eq!((c.body.payment, c.body.fee), (PaymentState::Due, FEE));
    assert_eq!(
        register(&b.status()),
        register(&before),
        "nothing deducted now"
    );
    assert_eq!(
        b.authority.confirm_revocation(&conf).unwrap(),
        PaymentState::Due
    );
    assert_eq!(
        b.authority
            .revocation(serial)
            .unwrap()
            .unwrap()
            .payment
            .as_deref(),
        Some("due")
    );
    // The next contact: a load of 1000 into the certificate register.
    let mut m = Meter::new(MemoryTransport::new(
        std::mem::replace(
            &mut b.card,
            Card::manufacture(funded(0).sim_config()).unwrap(),
        ),
        true,
    ));
    m.select().unwrap();
    reader::value::load(&mut m, &mut b.authority, RegisterId::Certificate, 1_000).unwrap();
    b.card = m.into_transport().into_card();
    let (a0, d0, p0) = register(&before);
    assert_eq!(register(&b.status()), (a0 + FEE, d0 + 1_000 - FEE, p0 + 1));
    // Collected once: the next contact takes nothing more.
    let mut m = Meter::new(MemoryTransport::new(
        std::mem::replace(
            &mut b.card,
            Card::manufacture(funded(0).sim_config()).unwrap(),
        ),
        true,
    ));
    m.select().unwrap();
    reader::value::load(&mut m, &mut b.authority, RegisterId::Certificate, 10).unwrap();
    b.card = m.into_transport().into_card();
    assert_eq!(register(&b.status()), (a0 + FEE, d0 + 1_010 - FEE, p0 + 1));
}

/// Forced: the operator's revocation is signed at the card's next contact
/// with payment disabled: revoked, nothing charged, nothing due.
#[test]
fn forced_revocation_charges_nothing() {
    let mut b = Bench::new(1_000);
    let serial = b.user_certificate();
    b.authority
        .force_revocation("REV-1", serial, KEY_COMPROMISE)
        .unwrap();
    assert_eq!(
        b.authority.pending_forced("REV-1").unwrap(),
        [(serial, KEY_COMPROMISE)]
    );
    let before = b.status();
    let chip = b.chip();
    let challenge = b.challenge();
    let message = b
        .authority
        .forced_revocation("REV-1", &chip, &challenge, 1, serial)
        .unwrap();
    let conf = ok(&mut b.card, Request::Revoke { message: &message });
    let c = RevocationConfirmation::parse(&conf).unwrap();
    assert_eq!((c.body.payment, c.body.fee), (PaymentState::None, 0));
    assert_eq!(register(&b.status()), register(&before));
    assert_eq!(
        b.authority.confirm_revocation(&conf).unwrap(),
        PaymentState::None
    );
    let r = b.authority.revocation(serial).unwrap().unwrap();
    assert_eq!((r.forced, r.payment.as_deref()), (true, Some("none")));
    assert!(b.authority.pending_forced("REV-1").unwrap().is_empty());
}

/// 610/612/614: an altered message, a replayed one, one for another card,
/// one for another certificate, one for another slot, one without a
/// challenge: each refused, and the card is byte for byte as before.
#[test]
fn refused_messages_614_change_nothing() {
    let mut b = Bench::new(1_000);
    let user = b.user_certificate();
    let meter_cert = b.meter_cert_serial();
    let chip = b.chip();

    let refused = |b: &mut Bench, message: &[u8], expect: [u8; 2], what: &str| {
        let image = b.card.store().image().to_vec();
        let out = send(&mut b.card, Request::Revoke { message });
        assert_eq!(out, expect, "{what}: only a status word, no confirmation");
        assert_eq!(
            b.card.store().image()[..],
            image[..],
            "{what}: card unchanged"
        );
    };

    // Altered (610): one byte of the signed body.
    let request = b.request(1, KEY_COMPROMISE);
    let good = b.authority.revocation_message(&request).unwrap();
    let mut altered = good.clone();
    let at = altered
        .windows(3)
        .position(|w| w == [0x87, 0x01, KEY_COMPROMISE])
        .unwrap();
    altered[at + 2] = SUPERSEDED;
    refused(&mut b, &altered, [0x69, 0x82], "altered");
    // The attempt used up the challenge: the genuine message is now stale.
    refused(&mut b, &good, [0x69, 0x84], "after its challenge was used");

    // Replayed (612): applied once, then again with a fresh challenge.
    let request = b.request(1, KEY_COMPROMISE);
    let good = b.authority.revocation_message(&request).unwrap();
    let before = b.status();
    ok(&mut b.card, Request::Revoke { message: &good });
    let (a0, d0, p0) = register(&before);
    assert_eq!(register(&b.status()), (a0 + FEE, d0 - FEE, p0 + 1));
    b.challenge();
    refused(&mut b, &good, [0x69, 0x84], "replayed");

    // For another card, another certificate, another slot (612 -> 614).
    let mut b = Bench::new(1_000);
    let _ = b.user_certificate();
    let challenge = b.challenge();
    let subject = Subject {
        chip_id: &chip,
        serial: b"REV-1",
        challenge: &challenge,
        slot: 0,
        certificate_serial: meter_cert,
        reason: KEY_COMPROMISE,
    };
    let other_chip = [0xEE; 8];
    let another_card = b.forge(
        Subject {
            chip_id: &other_chip,
            ..subject
        },
        Payment::Payable,
    );
    refused(&mut b, &another_card, [0x6A, 0x80], "another card");
    b.challenge();
    // (The challenge changed: rebuild the subject with the new one.)
    let challenge = b.challenge();
    let subject = Subject {
        challenge: &challenge,
        ..subject
    };
    let another_cert = b.forge(
        Subject {
            certificate_serial: user,
            ..subject
        },
        Payment::Payable,
    );
    refused(&mut b, &another_cert, [0x6A, 0x80], "another certificate");
    let challenge = b.challenge();
    let subject = Subject {
        challenge: &challenge,
        ..subject
    };
    let another_slot = b.forge(Subject { slot: 1, ..subject }, Payment::Payable);
    refused(&mut b, &another_slot, [0x6A, 0x80], "another slot");
    // No challenge at all.
    let no_challenge = b.forge(subject, Payment::Payable);
    refused(&mut b, &no_challenge, [0x69, 0x84], "no challenge");
    // The genuine one for this card still works afterwards.
    let challenge = b.challenge();
    let genuine = b.forge(
        Subject {
            challenge: &challenge,
            ..subject
        },
        Payment::Payable,
    );
    ok(&mut b.card, Request::Revoke { message: &genuine });
}

/// The meter certificate revoked (slot 0): then no postmarks and no loads
/// (9409), nothing charged by the refusals.
#[test]
fn meter_certificate_revoked_no_loads_no_postmarks() {
    let mut b = Bench::new(1_000);
    // A load message signed before the revocation (the authority refuses
    // to sign one for a revoked meter: this is the card's own check).
    let load = b
        .authority
        .value_load("REV-1", RegisterId::Certificate, 100, 2)
        .unwrap();
    let conf = b.revoke(0, KEY_COMPROMISE);
    b.authority.confirm_revocation(&conf).unwrap();
    let after = b.status();
    ok(&mut b.card, Request::HashInit);
    assert_eq!(sw(&send(&mut b.card, Request::Postmark)), [0x94, 0x09]);
    assert_eq!(
        sw(&send(&mut b.card, Request::LoadValue { message: &load })),
        [0x94, 0x09]
    );
    b.challenge();
    assert_eq!(
        sw(&send(
            &mut b.card,
            Request::RevokeRequest { slot: 0, reason: 1 }
        )),
        [0x94, 0x09]
    );
    assert_eq!(register(&b.status()), register(&after));
    // And the authority refuses the meter further loads.
    assert!(
        b.authority
            .value_load("REV-1", RegisterId::Certificate, 100, 2)
            .is_err()
    );
}

/// The CLI: `meter cert revoke 0 --reason keyCompromise` pays the Revoke
/// fee and then no postmarks; `meter authority revoke` forces a
/// revocation that `meter cert apply-revocations` applies without payment.
#[test]
fn the_cli_revokes_and_forces() {
    use certmeter_tests::Home;
    let pin = certmeter_tests::OWNER_PIN;
    let msg_home = Home::personalized("PB-R", "10.00");
    let msg = msg_home.path().join("m.txt");
    std::fs::write(&msg, "x").unwrap();
    let msg = msg.to_str().unwrap();
    let before = msg_home.meter(["status", "--json"]).expect_code(0).json();
    let run = msg_home
        .meter([
            "--pin",
            pin,
            "cert",
            "revoke",
            "0",
            "--reason",
            "keyCompromise",
        ])
        .expect_code(0);
    assert!(run.stdout.contains("paid"), "{}", run.stdout);
    let after = msg_home.meter(["status", "--json"]).expect_code(0).json();
    let desc = |s: &serde_json::Value| {
        s["registers"]["certificate"]["descending"]
            .as_u64()
            .unwrap()
    };
    assert_eq!(desc(&before) - desc(&after), FEE);
    let run = msg_home
        .meter(["--pin", pin, "postmark", msg])
        .expect_code(2);
    assert!(run.stderr.contains("9409"), "{}", run.stderr);
    msg_home
        .meter(["--pin", pin, "cert", "revoke", "0", "--reason", "7"])
        .expect_code(2);

    let home = Home::personalized("PB-F", "10.00");
    let cert = home.meter(["status", "--json"]).expect_code(0).json();
    let serial = cert["certificates"][0]["serial"].as_u64().unwrap_or(1);
    home.meter([
        "authority",
        "revoke",
        "--meter",
        "PB-F",
        "--cert",
        &serial.to_string(),
        "--reason",
        "superseded",
    ])
    .expect_code(0);
    // Recorded by the authority, not yet applied: the card still has it.
    let list = home.meter(["cert", "list", "--json"]).expect_code(0).json();
    assert_eq!(
        list[0]["status"],
        "valid, revocation pending at the next contact (reason 4)"
    );
    let before = home.meter(["status", "--json"]).expect_code(0).json();
    let run = home.meter(["cert", "apply-revocations"]).expect_code(0);
    assert!(
        run.stdout.contains("in slot 0 revoked (forced"),
        "{}",
        run.stdout
    );
    let after = home.meter(["status", "--json"]).expect_code(0).json();
    assert_eq!(desc(&before), desc(&after), "forced: nothing charged");
    // Applied: the card reports it.
    assert_eq!(after["revoked"][0], 4);
    let list = home.meter(["cert", "list", "--json"]).expect_code(0).json();
    assert_eq!(list[0]["status"], "revoked (reason 4)");
    home.meter(["--pin", pin, "postmark", msg]).expect_code(2);
}

/// The writes of REVOKE REQUEST and REVOKE (paid, due, forced), measured
/// with the store's per-command counters: REVOKE REQUEST writes nothing;
/// REVOKE stays within the charged-command budget's journal bytes.
#[test]
fn write_figures_of_revoke() {
    let mut figures = Vec::new();
    for (funds, what) in [(1_000, "REVOKE, paid (624)"), (50, "REVOKE, due (620)")] {
        let mut b = Bench::new(funds);
        b.user_certificate();
        b.challenge();
        ok(&mut b.card, Request::RevokeRequest { slot: 1, reason: 1 });
        let s = b.card.last_command_stats();
        assert_eq!((s.logical_writes, s.raw_writes), (0, 0));
        figures.push(("REVOKE REQUEST", s));
        b.revoke(1, 1);
        figures.push((what, b.card.last_command_stats()));
    }
    let mut b = Bench::new(1_000);
    let serial = b.user_certificate();
    b.authority.force_revocation("REV-1", serial, 1).unwrap();
    let chip = b.chip();
    let challenge = b.challenge();
    let m = b
        .authority
        .forced_revocation("REV-1", &chip, &challenge, 1, serial)
        .unwrap();
    ok(&mut b.card, Request::Revoke { message: &m });
    figures.push(("REVOKE, forced", b.card.last_command_stats()));
    let next = p256::ecdsa::SigningKey::from_slice(&[3; 32]).unwrap();
    let next_cert = b.authority.certify_next_key(&next).unwrap();
    let challenge = b.challenge();
    let update = b
        .authority
        .key_update("REV-1", &chip, &challenge, &next_cert)
        .unwrap();
    ok(&mut b.card, Request::KeyUpdate { message: &update });
    let s = b.card.last_command_stats();
    eprintln!(
        "KEY UPDATE: {} logical / {} raw writes / {} journal bytes",
        s.logical_writes, s.raw_writes, s.journal_bytes
    );
    for (name, s) in &figures {
        eprintln!(
            "{name}: {} logical / {} raw writes / {} journal bytes",
            s.logical_writes, s.raw_writes, s.journal_bytes
        );
        assert!(
            s.logical_writes <= 4 && s.journal_bytes <= 128,
            "{name}: {s:?}"
        );
    }
}

/// The revocation list: signed by the authority, numbered (numbers only
/// grow), listing confirmed and forced revocations; a postmark dated after
/// its certificate's revocation is reported revoked, one dated before is
/// not; a list altered or signed by another key is refused.
#[test]
fn the_revocation_list_reports_postmarks_after_the_revocation() {
    use reader::revoke::{CrlStatus, crl_status};
    let mut b = Bench::new(1_000);
    let meter_cert = b.meter_cert_serial();
    let key = b.authority.public_key();
    let first = b.authority.crl().unwrap();
    let (n1, s) = crl_status(&first, &key, meter_cert, TIME).unwrap();
    assert_eq!(s, CrlStatus::Good);
    // A user certificate revoked on the card (confirmed at the card's time).
    let user = b.user_certificate();
    let conf = b.revoke(1, SUPERSEDED);
    b.authority.confirm_revocation(&conf).unwrap();
    // The meter certificate forced 10 s before the card's clock, not yet
    // applied: the card still signs, and its postmarks are after it.
    b.authority.set_clock(Some(TIME - 10));
    b.authority
        .force_revocation("REV-1", meter_cert, KEY_COMPROMISE)
        .unwrap();
    ok(&mut b.card, Request::HashInit);
    let postmark = ok(&mut b.card, Request::Postmark);
    let pm = apdu::postmark::Postmark::parse(&postmark).unwrap();
    let list = b.authority.crl().unwrap();
    let (n2, s) = crl_status(&list, &key, meter_cert, pm.time).unwrap();
    assert!(n2 > n1, "list numbers grow: {n1} then {n2}");
    assert_eq!(
        s,
        CrlStatus::Revoked {
            revoked_at: TIME - 10,
            reason: KEY_COMPROMISE
        }
    );
    // Dated before the revocation: still good.
    assert_eq!(
        crl_status(&list, &key, meter_cert, TIME - 11).unwrap().1,
        CrlStatus::Good
    );
    // The user certificate is listed at the card's time of revocation.
    assert!(matches!(
        crl_status(&list, &key, user, TIME + 1).unwrap().1,
        CrlStatus::Revoked {
            reason: SUPERSEDED,
            ..
        }
    ));
    // Altered, or checked against another key: refused.
    let mut altered = list.clone();
    let last = altered.len() - 70;
    altered[last] ^= 1;
    assert!(crl_status(&altered, &key, meter_cert, pm.time).is_err());
    let other = authority::keys::encode_public(
        p256::ecdsa::SigningKey::from_slice(&[9; 32])
            .unwrap()
            .verifying_key(),
    );
    assert!(crl_status(&list, &other, meter_cert, pm.time).is_err());
}

/// [certs] point 5 on the card: VERIFY POSTMARK with the revocation list
/// (P1 = 01). A postmark dated after its certificate's forced revocation
/// gets verdict 8 and the list's number; the same postmark against an
/// older list (before the revocation) or without a list is valid; a list
/// the authority did not sign, or a malformed one, is refused before
/// anything is charged (6982 / 6A80), the card unchanged.
#[test]
fn the_card_consults_the_revocation_list() {
    let mut b = Bench::new(1_000);
    let meter_cert = b.meter_cert_serial();
    let letter = b"a letter";
    ok(&mut b.card, Request::HashInit);
    ok(&mut b.card, Request::HashUpdate { data: letter });
    let postmark = ok(&mut b.card, Request::Postmark);
    let certificate = ok(&mut b.card, Request::ReadCertificate { slot: 0 });
    let file = [postmark, certificate].concat();
    let before_list = b.authority.crl().unwrap();
    b.authority.set_clock(Some(TIME - 10));
    b.authority
        .force_revocation("REV-1", meter_cert, KEY_COMPROMISE)
        .unwrap();
    let list = b.authority.crl().unwrap();
    let number = |l: &[u8]| apdu::cmd::revoke::Crl::parse(l).unwrap().number;

    let verify = |b: &mut Bench, list: Option<&[u8]>| {
        ok(&mut b.card, Request::HashInit);
        ok(&mut b.card, Request::HashUpdate { data: letter });
        let data = [&file[..], list.unwrap_or_default()].concat();
        let before = register(&b.status());
        let out = send(
            &mut b.card,
            Request::VerifyPostmark {
                file: &data,
                with_crl: list.is_some(),
            },
        );
        let after = register(&b.status());
        (out, before, after)
    };
    let verdict = |out: &[u8]| {
        assert_eq!(sw(out), [0x90, 0x00]);
        apdu::cmd::verify_postmark::Verdict::parse(&out[..out.len() - 2]).unwrap()
    };

    // Revoked before the postmark's date: verdict 8, charged, list named.
    let (out, before, after) = verify(&mut b, Some(&list));
    let v = verdict(&out);
    assert_eq!(v.result, Err(apdu::crypto::Invalid::Revoked));
    assert_eq!(v.crl, Some(number(&list)));
    assert_eq!(
        (after.0, after.1),
        (before.0 + v.fee, before.1 - v.fee),
        "the verify fee is charged"
    );
    assert!(v.fee > 0);
    // The older list does not name it; no list, no revocation check.
    let v = verdict(&verify(&mut b, Some(&before_list)).0);
    assert_eq!((v.result, v.crl), (Ok(()), Some(number(&before_list))));
    let v = verdict(&verify(&mut b, None).0);
    assert_eq!((v.result, v.crl), (Ok(()), None));

    // A list signed by another key, an altered one, a malformed one.
    let other = {
        let mut buf = vec![0; 512];
        let mut w = Writer::new(&mut buf);
        apdu::cmd::revoke::write_crl(&mut w, b"AUTH", 99, TIME, &[], &[], |m| {
            apdu::crypto::sign(&p256::ecdsa::SigningKey::from_slice(&[9; 32]).unwrap(), m)
        })
        .unwrap();
        let n = w.len();
        buf.truncate(n);
        buf
    };
    // The last byte of the signature.
    let mut altered = list.clone();
    let at = altered.len() - 1;
    altered[at] ^= 1;
    for (bad, sw_expected) in [
        (&other[..], [0x69, 0x82]),
        (&altered[..], [0x69, 0x82]),
        (&list[..list.len() - 1], [0x6A, 0x80]),
    ] {
        let image = b.card.store().image().to_vec();
        let (out, before, after) = verify(&mut b, Some(bad));
        assert_eq!(sw(&out), sw_expected, "{}", hex::encode(bad));
        assert_eq!(before, after, "nothing charged");
        // HASH init/update changed only volatile state.
        assert_eq!(b.card.store().image(), &image[..], "the card is unchanged");
    }
}

/// `meter authority crl -o FILE` and `meter verify --crl FILE`: the list
/// number grows; a postmark made before the revocation verifies; a
/// postmark whose certificate is revoked on the card cannot be made.
#[test]
fn the_cli_publishes_and_checks_the_revocation_list() {
    use certmeter_tests::Home;
    let pin = certmeter_tests::OWNER_PIN;
    let home = Home::personalized("PB-L", "10.00");
    let dir = home.path();
    let msg = dir.join("m.txt");
    std::fs::write(&msg, "x").unwrap();
    let msg = msg.to_str().unwrap();
    home.meter(["--pin", pin, "postmark", msg]).expect_code(0);
    let pm = format!("{msg}.postmark");
    let crl1 = dir.join("1.crl");
    let crl2 = dir.join("2.crl");
    home.meter(["authority", "crl", "-o", crl1.to_str().unwrap()])
        .expect_code(0);
    home.meter([
        "--pin",
        pin,
        "cert",
        "revoke",
        "0",
        "--reason",
        "keyCompromise",
    ])
    .expect_code(0);
    home.meter(["authority", "crl", "-o", crl2.to_str().unwrap()])
        .expect_code(0);
    let n = |p: &std::path::Path| {
        apdu::cmd::revoke::Crl::parse(&std::fs::read(p).unwrap())
            .unwrap()
            .number
    };
    assert!(n(&crl2) > n(&crl1));
    let run = home
        .meter(["verify", "--crl", crl2.to_str().unwrap(), msg, &pm])
        .expect_code(0);
    assert!(run.stdout.starts_with("valid"), "{}", run.stdout);
    // On the card, against the same list: valid, and the list named.
    let run = home
        .meter([
            "--pin",
            pin,
            "verify",
            "--on-card",
            "--crl",
            crl2.to_str().unwrap(),
            msg,
            &pm,
        ])
        .expect_code(0);
    assert!(
        run.stdout
            .contains(&format!("against revocation list {}", n(&crl2))),
        "{}",
        run.stdout
    );
    home.meter(["--pin", pin, "postmark", msg]).expect_code(2);
}

/// [certs] point 6, KEY UPDATE: the next authority key, certified by the
/// issuer root and sent signed by the current key, is installed; the old
/// key moves to slot 1 and still verifies the certificates it signed
/// (a postmark made before verifies on the card after); messages signed by
/// the old key are refused afterwards; a replayed update, one signed by
/// the next key itself, and one whose certificate is not by the issuer
/// root are refused and change nothing.
#[test]
fn key_update_installs_the_next_authority_key() {
    let mut b = Bench::new(1_000);
    let chip = b.chip();
    let letter: &[u8] = b"a letter";
    // A postmark under the old key's meter certificate.
    ok(&mut b.card, Request::HashInit);
    ok(&mut b.card, Request::HashUpdate { data: letter });
    let postmark = ok(&mut b.card, Request::Postmark);
    let certificate = ok(&mut b.card, Request::ReadCertificate { slot: 0 });
    let file = [postmark, certificate].concat();

    let next = p256::ecdsa::SigningKey::from_slice(&[3; 32]).unwrap();
    let next_cert = b.authority.certify_next_key(&next).unwrap();
    let refused = |b: &mut Bench, message: &[u8], sw: [u8; 2], what: &str| {
        let image = b.card.store().image().to_vec();
        assert_eq!(
            send(&mut b.card, Request::KeyUpdate { message }),
            sw,
            "{what}"
        );
        assert_eq!(
            b.card.store().image()[..],
            image[..],
            "{what}: card unchanged"
        );
    };
    // Not by the issuer root: a certificate the current key made itself.
    let challenge = b.challenge();
    let rogue_cert = authority::certificate::build(
        &authority::keys::from_seed(5),
        &authority::certificate::Fields {
            issuer: "CERTMETER-CA",
            holder: "CERTMETER-CA",
            serial: 0,
            public_key: &authority::keys::encode_public(next.verifying_key()),
            usage: apdu::cert::usage::AUTHORITY,
            effective: TIME - 1,
            expiry: TIME + 1_000_000,
        },
    )
    .unwrap();
    let rogue = b
        .authority
        .key_update("REV-1", &chip, &challenge, &rogue_cert)
        .unwrap();
    refused(
        &mut b,
        &rogue,
        [0x69, 0x82],
        "not chained to the issuer root",
    );
    // Signed by the next key instead of the current one.
    let challenge = b.challenge();
    let mut buf = vec![0; 2048];
    let mut w = Writer::new(&mut buf);
    apdu::cmd::key_update::KeyUpdateBody {
        chip_id: &chip,
        serial: b"REV-1",
        challenge: &challenge,
        time: TIME,
        next_certificate: &next_cert,
    }
    .write(&mut w, |m| apdu::crypto::sign(&next, m))
    .unwrap();
    let n = w.len();
    refused(&mut b, &buf[..n], [0x69, 0x82], "signed by the next key");

    // The genuine update.
    let before = b.status();
    assert_eq!(before.authority_keys, 1);
    let challenge = b.challenge();
    let update = b
        .authority
        .key_update("REV-1", &chip, &challenge, &next_cert)
        .unwrap();
    ok(&mut b.card, Request::KeyUpdate { message: &update });
    let after = b.status();
    assert_eq!(after.authority_keys, 2);
    assert_eq!(
        register(&after),
        register(&before),
        "a key update charges nothing"
    );
    // Replayed: signed by the key it replaced, which signs no messages
    // any more (6982; the challenge is spent as well).
    b.challenge();
    refused(&mut b, &update, [0x69, 0x82], "replayed");

    // The old key's certificate and postmark still verify on the card.
    ok(&mut b.card, Request::HashInit);
    ok(&mut b.card, Request::HashUpdate { data: letter });
    let verdict = ok(
        &mut b.card,
        Request::VerifyPostmark {
            file: &file,
            with_crl: false,
        },
    );
    assert_eq!(
        verdict[..5],
        [0xE2, 0x0D, 0x80, 0x01, 0x00],
        "valid under the old key"
    );

    // From now on the authority signs with the next key: SYNC works; a
    // SYNC signed by the old key is refused.
    b.authority.switch_key(next, next_cert).unwrap();
    let challenge = b.challenge();
    let sync = b.authority.sync("REV-1", &chip, &challenge).unwrap();
    ok(&mut b.card, Request::Sync { message: &sync });
    let challenge = b.challenge();
    let mut buf = vec![0; 1024];
    let mut w = Writer::new(&mut buf);
    apdu::message::SyncBody {
        chip_id: &chip,
        serial: b"REV-1",
        challenge: &challenge,
        time: TIME,
        deadline: TIME + 86_400,
        policy: b.authority.policy().unwrap(),
    }
    .write(&mut w, |m| {
        apdu::crypto::sign(&authority::keys::from_seed(5), m)
    })
    .unwrap();
    let n = w.len();
    assert_eq!(
        send(&mut b.card, Request::Sync { message: &buf[..n] }),
        [0x69, 0x82],
        "the old key no longer signs for the authority"
    );
}
