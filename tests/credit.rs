//! Figures 7A, 7B, 8 and 9 in process: a line of credit requested with the
//! card's postmark (802), approved (804 -> 808) or refused (806) by the
//! creditor, stored by the card (810/812); payments (902-910) within the
//! remaining credit or refused (906, 940D) with nothing changed; the
//! merchant's check of the chain with the authority key alone; settlement
//! once; and the refusals of a replayed, foreign, altered or uncertified
//! line (the card byte-identical after each). A random sequence of
//! payments never authorizes more than the line.

use apdu::StatusWord;
use apdu::cert::CertificateBody;
use apdu::cmd::credit_line::{CREDITOR_ISSUES_LINES, LineBody, LineFile, write_creditor};
use apdu::cmd::pay::{PaymentCertificate, PaymentFile};
use apdu::meter::{Request, Service};
use apdu::tlv::Writer;
use authority::{Authority, AuthorityError};
use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};
use reader::Meter;
use reader::sim::MemoryTransport;
use vectors::Funded;

const TIME: u64 = 1_800_000_000;

const fn funded(seed: u64, serial: &'static str) -> Funded {
    Funded {
        card: vectors::CardSpec {
            seed,
            time: TIME,
            issuer_root: None,
            unattested: false,
        },
        authority: "CERTMETER-CA",
        authority_seed: 5,
        serial,
        funds: 10_000,
    }
}

const CARD: Funded = funded(31, "CRED-1");
const OTHER: Funded = funded(32, "CRED-2");

type M = Meter<MemoryTransport>;

fn image(m: &mut M) -> Vec<u8> {
    m.transport().card().store().image().to_vec()
}

fn sw(e: reader::Error) -> StatusWord {
    e.status()
        .unwrap_or_else(|| panic!("not a card refusal: {e}"))
}

fn certificate_register(m: &mut M) -> (u64, u64) {
    let s = m.status().unwrap();
    (
        s.registers.certificate.ascending,
        s.registers.certificate.descending,
    )
}

fn with_line(amount: u64) -> (M, Authority, Vec<u8>) {
    let (mut m, mut a) = CARD.meter().unwrap();
    let line = reader::credit::request(&mut m, &mut a, amount).unwrap();
    (m, a, line.file)
}

fn encode(f: impl FnOnce(&mut Writer<'_>) -> Result<(), apdu::tlv::TlvError>) -> Vec<u8> {
    let mut buf = vec![0u8; 2048];
    let mut w = Writer::new(&mut buf);
    f(&mut w).unwrap();
    w.written().to_vec()
}

#[test]
fn a_line_is_requested_approved_stored_and_paid_from() {
    let (mut m, mut a) = CARD.meter().unwrap();
    let postmark_fee = a.rate(Service::Postmark).unwrap();
    let payment_fee = a.rate(Service::Payment).unwrap();
    assert!(reader::credit::show(&mut m).unwrap().is_none());
    let (asc0, desc0) = certificate_register(&mut m);
    // 802 -> 804 -> 808 -> 810 -> 812.
    let line = reader::credit::request(&mut m, &mut a, 50_000).unwrap();
    assert_eq!(
        (line.number, line.line, line.remaining, line.payments),
        (1, 50_000, 50_000, 0)
    );
    assert_eq!(line.creditor, authority::credit::DEFAULT_CREDITOR_NAME);
    // The request's postmark was charged, nothing else.
    assert_eq!(
        certificate_register(&mut m),
        (asc0 + postmark_fee, desc0 - postmark_fee)
    );
    assert_eq!(a.credit_lines().unwrap().len(), 1);

    // 902 -> 904 -> 908 -> 910.
    let file = reader::pay::pay(&mut m, 12_345, "SHOP-1").unwrap();
    let p = PaymentFile::parse(&file).unwrap();
    assert_eq!(p.payment.body.amount, 12_345);
    assert_eq!(p.payment.body.remaining, 50_000 - 12_345);
    assert_eq!(p.payment.body.serial, 1);
    assert_eq!(p.payment.body.fee, payment_fee);
    assert_eq!(
        p.payment.body.line_digest,
        &apdu::crypto::sha256(p.line.line.raw())
    );
    let shown = reader::credit::show(&mut m).unwrap().unwrap();
    assert_eq!((shown.remaining, shown.payments), (50_000 - 12_345, 1));
    assert_eq!(
        certificate_register(&mut m),
        (
            asc0 + postmark_fee + payment_fee,
            desc0 - postmark_fee - payment_fee
        )
    );

    // The merchant checks it with the authority's key alone.
    let key = a.public_key();
    let info = reader::pay::verify(&file, &key, Some("SHOP-1")).unwrap();
    assert_eq!((info.amount, info.holder.as_str()), (12_345, "CRED-1"));
    assert!(matches!(
        reader::pay::verify(&file, &key, Some("SHOP-2")),
        Err(reader::pay::PaymentError::OtherMerchant(_))
    ));
    let other_key = Authority::deterministic("CERTMETER-CA", 6, TIME)
        .unwrap()
        .public_key();
    assert!(reader::pay::verify(&file, &other_key, None).is_err());

    // The creditor settles it once.
    let settled = a.settle(&file).unwrap();
    assert_eq!(
        (settled.amount, settled.merchant.as_str()),
        (12_345, "SHOP-1")
    );
    assert!(matches!(
        a.settle(&file),
        Err(AuthorityError::AlreadySettled(_))
    ));
    let second = reader::pay::pay(&mut m, 1_000, "SHOP-2").unwrap();
    a.settle(&second).unwrap();
    assert_eq!(a.payments(Some("SHOP-1")).unwrap().len(), 1);
    assert_eq!(a.payments(None).unwrap().len(), 2);
    assert_eq!(a.credit_lines().unwrap()[0].settled, 13_345);
}

#[test]
fn a_payment_past_the_remaining_credit_is_refused_and_changes_nothing() {
    let (mut m, _a, _) = with_line(1_000);
    reader::pay::pay(&mut m, 600, "SHOP-1").unwrap();
    let before = image(&mut m);
    // 904 -> 906.
    let e = reader::pay::pay(&mut m, 401, "SHOP-1").unwrap_err();
    assert_eq!(sw(e), StatusWord::CREDIT_EXHAUSTED);
    assert_eq!(image(&mut m), before, "906 wrote something");
    // Exactly the rest is fine.
    let file = reader::pay::pay(&mut m, 400, "SHOP-1").unwrap();
    assert_eq!(PaymentFile::parse(&file).unwrap().payment.body.remaining, 0);
    let e = reader::pay::pay(&mut m, 1, "SHOP-1").unwrap_err();
    assert_eq!(sw(e), StatusWord::CREDIT_EXHAUSTED);
}

#[test]
fn without_a_line_pay_answers_940e() {
    let (mut m, _a) = CARD.meter().unwrap();
    let before = image(&mut m);
    let e = reader::pay::pay(&mut m, 1, "SHOP-1").unwrap_err();
    assert_eq!(sw(e), StatusWord::NO_CREDIT_LINE);
    assert_eq!(image(&mut m), before);
    // The raw command too.
    let req = [0x88, 8, 0, 0, 0, 0, 0, 0, 0, 1, 0x8B, 1, b'S'];
    let e = m.pay(&req).unwrap_err();
    assert_eq!(sw(e), StatusWord::NO_CREDIT_LINE);
    assert_eq!(image(&mut m), before);
}

#[test]
fn the_creditor_refuses_past_its_maximum_line_806() {
    let (mut m, mut a) = CARD.meter().unwrap();
    a.set_max_line(5_000).unwrap();
    let e = reader::credit::request(&mut m, &mut a, 5_001).unwrap_err();
    assert!(
        matches!(
            e,
            reader::Error::Authority(authority::ServiceError::CreditRefused(_))
        ),
        "{e}"
    );
    assert!(reader::credit::show(&mut m).unwrap().is_none());
    assert!(a.credit_lines().unwrap().is_empty());
    // 804 approves within the policy.
    let line = reader::credit::request(&mut m, &mut a, 5_000).unwrap();
    assert_eq!(line.line, 5_000);
}

#[test]
fn a_replayed_foreign_altered_or_uncertified_line_is_refused_and_changes_nothing() {
    let (mut m, mut a, file) = with_line(2_000);
    reader::pay::pay(&mut m, 500, "SHOP-1").unwrap();
    let before = image(&mut m);
    // Replayed: the same 7A again would reset the remaining credit.
    let e = m.store_credit_line(&file).unwrap_err();
    assert_eq!(sw(e), StatusWord::REFERENCE_DATA_NOT_USABLE);
    assert_eq!(image(&mut m), before);
    assert_eq!(
        reader::credit::show(&mut m).unwrap().unwrap().remaining,
        1_500
    );

    // Foreign: a genuine line for another card of the same authority.
    // (The same authority and creditor keys: the same seeds.)
    let (mut other, mut other_authority) = OTHER.meter().unwrap();
    let foreign = reader::credit::request(&mut other, &mut other_authority, 2_000)
        .unwrap()
        .file;
    let e = m.store_credit_line(&foreign).unwrap_err();
    assert_eq!(sw(e), StatusWord::INCORRECT_DATA);
    assert_eq!(image(&mut m), before);

    // Altered: one byte of the 7A's amount.
    let f = LineFile::parse(&file).unwrap();
    let (creditor, line) = f.bytes();
    let mut altered = [creditor, line].concat();
    let at = altered.len() - 70;
    altered[at] ^= 1;
    let e = m.store_credit_line(&altered).unwrap_err();
    assert!(
        [
            StatusWord::SECURITY_STATUS_NOT_SATISFIED,
            StatusWord::INCORRECT_DATA
        ]
        .contains(&sw(e)),
    );
    assert_eq!(image(&mut m), before);

    // Uncertified: a creditor certificate signed by another key, and a 7A
    // for this card's next number signed by that creditor.
    let rogue = p256::ecdsa::SigningKey::from_slice(&[0x42; 32]).unwrap();
    let rogue_pub: [u8; 65] = rogue
        .verifying_key()
        .to_sec1_point(false)
        .as_bytes()
        .try_into()
        .unwrap();
    let l = f.line;
    let body = CertificateBody {
        issuer: b"CERTMETER-CA",
        holder: l.cert.issuer,
        serial: 9,
        public_key: &rogue_pub,
        usage: CREDITOR_ISSUES_LINES,
        effective: TIME - 10,
        expiry: TIME + 1_000_000,
    };
    let rogue_cert = encode(|w| write_creditor(&body, w, |b| apdu::crypto::sign(&rogue, b)));
    let next = LineBody {
        number: 2,
        amount: 1_000_000,
        ..l.body()
    };
    let rogue_line = encode(|w| next.write(w, |b| apdu::crypto::sign(&rogue, b)));
    let e = m
        .store_credit_line(&[rogue_cert, rogue_line.clone()].concat())
        .unwrap_err();
    assert_eq!(sw(e), StatusWord::SECURITY_STATUS_NOT_SATISFIED);
    // The genuine creditor certificate with the rogue-signed 7A.
    let e = m
        .store_credit_line(&[creditor.to_vec(), rogue_line].concat())
        .unwrap_err();
    assert_eq!(sw(e), StatusWord::SECURITY_STATUS_NOT_SATISFIED);
    assert_eq!(image(&mut m), before);

    // A creditor certificate does not pass for a 7A, nor a 7A for a
    // creditor certificate.
    let e = m
        .store_credit_line(&[creditor, creditor].concat())
        .unwrap_err();
    assert_eq!(sw(e), StatusWord::INCORRECT_DATA);
    let e = m.store_credit_line(&[line, line].concat()).unwrap_err();
    assert_eq!(sw(e), StatusWord::INCORRECT_DATA);
    assert_eq!(image(&mut m), before);

    // The creditor refuses a replayed request (a line number it issued).
    let next = reader::credit::request(&mut m, &mut a, 3_000).unwrap();
    assert_eq!((next.number, next.remaining), (2, 3_000));
}

#[test]
fn a_new_line_replaces_the_old_and_old_payments_still_settle() {
    let (mut m, mut a, _) = with_line(1_000);
    let old = reader::pay::pay(&mut m, 700, "SHOP-1").unwrap();
    let line = reader::credit::request(&mut m, &mut a, 4_000).unwrap();
    assert_eq!((line.number, line.remaining, line.payments), (2, 4_000, 1));
    let new = reader::pay::pay(&mut m, 3_900, "SHOP-2").unwrap();
    assert_eq!(PaymentFile::parse(&new).unwrap().payment.body.serial, 2);
    a.settle(&old).unwrap();
    a.settle(&new).unwrap();
    let lines = a.credit_lines().unwrap();
    assert_eq!(
        lines
            .iter()
            .map(|l| (l.amount, l.settled))
            .collect::<Vec<_>>(),
        [(4_000, 3_900), (1_000, 700)]
    );
}

#[test]
fn an_altered_payment_file_fails_the_merchants_check() {
    let (mut m, a, _) = with_line(5_000);
    let file = reader::pay::pay(&mut m, 1_234, "SHOP-1").unwrap();
    let key = a.public_key();
    reader::pay::verify(&file, &key, None).unwrap();
    let p = PaymentCertificate::read(&file).unwrap().0;
    // Every byte of the 7B's signed body matters.
    for i in 0..p.signed.signed_bytes.len() {
        let mut bad = file.clone();
        let off = p.signed.signed_bytes.as_ptr() as usize - file.as_ptr() as usize;
        bad[off + i] ^= 0x01;
        assert!(
            reader::pay::verify(&bad, &key, None).is_err(),
            "byte {i} of the 7B body"
        );
    }
    // The meter certificate of another meter does not vouch for it.
    let mut other = OTHER.meter().unwrap().0;
    let cert = other.read_certificate(0).unwrap();
    let f = PaymentFile::parse(&file).unwrap();
    let (c, l) = f.line.bytes();
    let swapped = [f.payment.signed.raw, c, l, &cert].concat();
    assert_eq!(
        reader::pay::verify(&swapped, &key, None).unwrap_err(),
        reader::pay::PaymentError::Invalid(apdu::cmd::pay::PaymentInvalid::MeterCertificate)
    );
}

#[test]
fn pay_refuses_bad_requests_on_the_card_and_in_the_host() {
    let (mut m, _a, _) = with_line(5_000);
    let before = image(&mut m);
    for bad in [
        &[0x88, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0x8B, 1, b'S'][..],
        &[0x88, 8, 0, 0, 0, 0, 0, 0, 0, 1, 0x8B, 1, b' '],
        &[0x88, 1, 1, 0x8B, 1, b'S'],
        &[0x8B, 1, b'S', 0x88, 8, 0, 0, 0, 0, 0, 0, 0, 1],
    ] {
        assert_eq!(
            sw(m.pay(bad).unwrap_err()),
            StatusWord::INCORRECT_DATA,
            "{bad:02X?}"
        );
    }
    assert_eq!(image(&mut m), before);
    assert!(matches!(
        reader::pay::pay(&mut m, 0, "SHOP"),
        Err(reader::Error::Input(_))
    ));
    assert!(matches!(
        reader::pay::pay(&mut m, 5, "a shop"),
        Err(reader::Error::Input(_))
    ));
    // PAY needs the PIN.
    m.select().unwrap();
    let e = reader::pay::pay(&mut m, 5, "SHOP").unwrap_err();
    assert_eq!(sw(e), StatusWord::SECURITY_STATUS_NOT_SATISFIED);
    assert_eq!(image(&mut m), before);
    // And the raw command's name.
    assert_eq!(Request::Pay { request: &[] }.name().to_string(), "PAY");
}

/// Must show: over random payments the total authorized never exceeds the
/// line; each 7B's remaining is the line less everything authorized before
/// it; the card's remaining agrees; the creditor settles each once and its
/// settled total equals the total authorized.
#[test]
fn random_payments_never_authorize_more_than_the_line() {
    for seed in 0..4u64 {
        let mut rng = ChaCha20Rng::seed_from_u64(0xC0DE_0000 + seed);
        let line = 1_000 + rng.next_u64() % 9_000;
        let (mut m, mut a, _) = with_line(line);
        let key = a.public_key();
        let mut authorized = 0u64;
        let mut refused = 0;
        for i in 0..25 {
            let amount = 1 + rng.next_u64() % (line / 4);
            let merchant = format!("M-{}", rng.next_u64() % 3);
            match reader::pay::pay(&mut m, amount, &merchant) {
                Ok(file) => {
                    authorized += amount;
                    let info = reader::pay::verify(&file, &key, Some(&merchant)).unwrap();
                    assert_eq!(info.remaining, line - authorized, "seed {seed} payment {i}");
                    a.settle(&file).unwrap();
                    assert!(a.settle(&file).is_err());
                }
                Err(e) => {
                    assert_eq!(sw(e), StatusWord::CREDIT_EXHAUSTED);
                    assert!(authorized + amount > line);
                    refused += 1;
                }
            }
            assert!(authorized <= line);
            let shown = reader::credit::show(&mut m).unwrap().unwrap();
            assert_eq!(shown.remaining, line - authorized);
        }
        let settled: u64 = a.payments(None).unwrap().iter().map(|p| p.amount).sum();
        assert_eq!(settled, authorized);
        assert!(refused > 0, "seed {seed}: the line was never exhausted");
    }
}

/// The CLI as a user runs it: `meter credit request`, `meter credit show`,
/// `meter pay` (never through a planted symlink), `meter pay verify` (exit
/// 0 valid, 1 invalid), `meter authority settle` (once), `meter authority
/// payments`; refusals are one clear line and exit 2.
#[test]
fn the_cli_requests_pays_verifies_and_settles() {
    use certmeter_tests::Home;
    let home = Home::personalized("PB-1", "10.00");
    let pin = ["--pin", certmeter_tests::OWNER_PIN];
    let run = home.meter(["credit", "show"]).expect_code(0);
    assert!(run.stdout.contains("no line of credit"), "{}", run.stdout);
    let run = home
        .meter([&pin[..], &["pay", "5", "--merchant", "SHOP"]].concat())
        .expect_code(2);
    assert!(run.stderr.contains("940E"), "{}", run.stderr);
    assert_eq!(
        run.stderr.lines().next().unwrap().matches("meter:").count(),
        1
    );
    let run = home
        .meter([&pin[..], &["credit", "request", "--amount", "5000"]].concat())
        .expect_code(2);
    assert!(run.stderr.contains("credit refused"), "{}", run.stderr);
    home.meter([&pin[..], &["credit", "request", "--amount", "500.00"]].concat())
        .expect_code(0);
    let run = home.meter(["--json", "credit", "show"]).expect_code(0);
    let v = run.json();
    assert_eq!(
        (v["line"].as_u64(), v["remaining"].as_u64()),
        (Some(50_000), Some(50_000))
    );

    // A planted symlink is not written through.
    let target = home.path().join("elsewhere");
    std::fs::write(&target, b"keep").unwrap();
    let link = home.path().join("pay.credit");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let link_s = link.display().to_string();
    home.meter(
        [
            &pin[..],
            &["pay", "1", "--merchant", "SHOP-1", "-o", &link_s],
        ]
        .concat(),
    )
    .expect_code(2);
    assert_eq!(std::fs::read(&target).unwrap(), b"keep");
    let run = home.meter(["--json", "credit", "show"]).expect_code(0);
    assert_eq!(
        run.json()["remaining"].as_u64(),
        Some(50_000),
        "nothing paid"
    );

    let out = home.path().join("p1.credit");
    let out_s = out.display().to_string();
    home.meter(
        [
            &pin[..],
            &["pay", "12.50", "--merchant", "SHOP-1", "-o", &out_s],
        ]
        .concat(),
    )
    .expect_code(0);
    home.meter(["pay", "verify", &out_s]).expect_code(0);
    let run = home
        .meter(["pay", "verify", &out_s, "--merchant", "SHOP-2"])
        .expect_code(1);
    assert!(run.stdout.contains("invalid"), "{}", run.stdout);
    let mut bad = std::fs::read(&out).unwrap();
    bad[30] ^= 1;
    let bad_path = home.path().join("bad.credit");
    std::fs::write(&bad_path, &bad).unwrap();
    home.meter(["pay", "verify", &bad_path.display().to_string()])
        .expect_code(1);
    home.meter(["authority", "settle", &out_s]).expect_code(0);
    let run = home.meter(["authority", "settle", &out_s]).expect_code(2);
    assert!(run.stderr.contains("already settled"), "{}", run.stderr);
    let run = home.meter(["authority", "payments"]).expect_code(0);
    assert!(
        run.stdout.contains("merchant SHOP-1: paid 12.50"),
        "{}",
        run.stdout
    );
    let run = home
        .meter([&pin[..], &["pay", "600", "--merchant", "SHOP-1"]].concat())
        .expect_code(2);
    assert!(run.stderr.contains("940D"), "{}", run.stderr);
}
