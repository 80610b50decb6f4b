//! The authority's API: files, personalization, loads and receipts.

use apdu::cert::{Certificate, usage};
use apdu::crypto;
use apdu::message::{self, LoadReceipt, Personalization, ValueLoad};
use apdu::meter::{RegisterId, Service, tag};
use apdu::tlv::Writer;
use authority::{
    Authority, AuthorityError, CERTIFICATE_VALIDITY, PersonalizationRequest, SERVICE_INTERVAL, keys,
};
use p256::ecdsa::SigningKey;

const T: u64 = 1_750_000_000;

fn meter_key(n: u8) -> SigningKey {
    SigningKey::from_slice(&[n; 32]).unwrap()
}

fn request(serial: &str, n: u8) -> PersonalizationRequest {
    PersonalizationRequest {
        chip_id: [n; 8],
        challenge: [0xC0 | n; 16],
        meter_public_key: keys::encode_public(meter_key(n).verifying_key()),
        serial: serial.into(),
        attestation: Vec::new(),
    }
}

/// A load receipt as the card writes it, signed with `key`.
fn receipt(key: &SigningKey, serial: &str, number: u32, reg: RegisterId, amount: u64) -> Vec<u8> {
    receipt_at(key, serial, number, reg, amount, T + 60)
}

/// A receipt for the first load into a register: nothing spent yet.
fn receipt_at(
    key: &SigningKey,
    serial: &str,
    number: u32,
    reg: RegisterId,
    amount: u64,
    time: u64,
) -> Vec<u8> {
    receipt_with(key, serial, number, reg, amount, (0, amount), time)
}

/// A receipt with the register's (ascending, descending) after the load.
fn receipt_with(
    key: &SigningKey,
    serial: &str,
    number: u32,
    reg: RegisterId,
    amount: u64,
    (ascending, descending): (u64, u64),
    time: u64,
) -> Vec<u8> {
    let mut buf = vec![0u8; 1024];
    let mut w = Writer::new(&mut buf);
    // As the card signs it (apdu::crypto::write_signed).
    apdu::crypto::write_signed(&mut w, message::LOAD_RECEIPT, key, |w| {
        w.put(apdu::cert::HOLDER, serial.as_bytes())?;
        w.put_u32(message::LOAD_NUMBER, number)?;
        w.put(message::REGISTER, &[reg as u8])?;
        w.put_u64(message::AMOUNT, amount)?;
        w.put_u64(message::ASCENDING, ascending)?;
        w.put_u64(message::DESCENDING, descending)?;
        w.put_u64(message::TIME, time)
    })
    .unwrap();
    let n = w.len();
    buf.truncate(n);
    buf
}

#[test]
fn init_then_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ca");
    let mut a = Authority::init(&path, "Test Post CA").unwrap();
    a.set_rate(Service::Postmark, 31).unwrap();
    a.personalize_unattested(&request("M-1", 1)).unwrap();
    let pk = a.public_key();
    drop(a);

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path.join("authority.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let key_text = std::fs::read_to_string(path.join("authority.key")).unwrap();
    assert_eq!(key_text.trim().len(), 64);

    let a = Authority::open(&path).unwrap();
    assert_eq!(a.name(), "Test Post CA");
    assert_eq!(a.public_key(), pk);
    assert!(a.rates().contains(&(Service::Postmark, 31)));
    assert!(a.rates().contains(&(Service::Indicium, 55)));
    let m = a.meter("M-1").unwrap().unwrap();
    assert_eq!(m.chip_id, "0101010101010101");
    assert_eq!(m.certificate_serial, 1);
    assert_eq!(a.meter("M-2").unwrap(), None);
}

#[test]
fn init_refuses_existing_and_open_refuses_missing() {
    let dir = tempfile::tempdir().unwrap();
    Authority::init(dir.path(), "CA").unwrap();
    let e = Authority::init(dir.path(), "CA").unwrap_err();
    assert!(matches!(e, AuthorityError::AlreadyExists(_)), "{e}");

    let empty = dir.path().join("nothing");
    let e = Authority::open(&empty).unwrap_err();
    assert!(matches!(e, AuthorityError::NotFound(_)));
    assert!(e.to_string().contains("meter authority init"), "{e}");
    assert!(!empty.exists());
}

#[test]
fn open_refuses_a_foreign_key() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    Authority::init(a.path(), "A").unwrap();
    Authority::init(b.path(), "B").unwrap();
    std::fs::copy(
        b.path().join("authority.key"),
        a.path().join("authority.key"),
    )
    .unwrap();
    let e = Authority::open(a.path()).unwrap_err();
    assert!(matches!(e, AuthorityError::BadKeyFile(..)), "{e}");
    std::fs::write(a.path().join("authority.key"), "zz\n").unwrap();
    assert!(matches!(
        Authority::open(a.path()),
        Err(AuthorityError::BadKeyFile(..))
    ));
}

/// Without an attestation (these requests come from no card), the authority
/// refuses; the other tests here check the rules after the attestation
/// (`personalize_unattested`); tests/trust.rs checks the attestation.
#[test]
fn personalization_needs_an_attestation() {
    let mut a = Authority::deterministic("Test Post CA", 7, T).unwrap();
    assert!(matches!(
        a.personalize(&request("METER-0001", 3)),
        Err(AuthorityError::Unattested(_))
    ));
    a.attestation_nonce(&[3; 8]);
    assert!(matches!(
        a.personalize(&request("METER-0001", 3)),
        Err(AuthorityError::Unattested(_))
    ));
    assert!(a.meter("METER-0001").unwrap().is_none());
}

#[test]
fn personalization_message() {
    let mut a = Authority::deterministic("Test Post CA", 7, T).unwrap();
    let req = request("METER-0001", 3);
    let bytes = a.personalize_unattested(&req).unwrap();
    let authority_key = crypto::public_key(&a.public_key()).unwrap();

    let p = Personalization::parse(&bytes).unwrap();
    assert!(crypto::verify_signed(&p.signed, &authority_key));
    assert_eq!(p.chip_id, &req.chip_id);
    assert_eq!(p.challenge, &req.challenge);
    assert_eq!(p.serial, b"METER-0001");
    // The authority certificate: the operational key, certified by the
    // issuer root for usage AUTHORITY.
    let root = crypto::public_key(&a.issuer_root()).unwrap();
    let ac = p.authority_certificate;
    assert!(crypto::verify_certificate(&ac, &root));
    assert_eq!(ac.public_key, &a.public_key());
    assert_eq!(ac.usage, usage::AUTHORITY);
    assert!(ac.valid_at(T));
    assert_ne!(a.issuer_root(), a.public_key());
    assert_eq!(p.time, T);
    assert_eq!(p.deadline, T + SERVICE_INTERVAL);

    let rates: Vec<(Service, u64)> = apdu::tlv::iter(p.rates)
        .map(|e| {
            let e = e.unwrap();
            assert_eq!(e.tag, tag::RATE);
            assert_eq!(e.value.len(), 9);
            let fee = u64::from_be_bytes(e.value[1..].try_into().unwrap());
            (Service::from_byte(e.value[0]).unwrap(), fee)
        })
        .collect();
    assert_eq!(rates, a.rates());
    assert_eq!(rates[0], (Service::Postmark, 25));

    let c = p.certificate;
    assert!(crypto::verify_certificate(&c, &authority_key));
    assert_eq!(c.issuer, b"Test Post CA");
    assert_eq!(c.holder, b"METER-0001");
    assert_eq!(c.serial, 1);
    assert_eq!(c.public_key, &req.meter_public_key);
    assert_eq!(
        c.usage,
        usage::POSTMARK | usage::METERING | usage::ISSUE_CERTIFICATES
    );
    assert_eq!((c.effective, c.expiry), (T, T + CERTIFICATE_VALIDITY));

    let m = a.meter("METER-0001").unwrap().unwrap();
    assert_eq!(m.certificate, c.signed.raw);
    assert_eq!(m.public_key, req.meter_public_key);
    assert_eq!(m.personalized_at, T);

    // Serials come from a sequence.
    let second = a.personalize_unattested(&request("METER-0002", 4)).unwrap();
    let p2 = Personalization::parse(&second).unwrap();
    assert_eq!(p2.certificate.serial, 2);
}

#[test]
fn standalone_certificate() {
    let ca = meter_key(9);
    let pk = keys::encode_public(meter_key(1).verifying_key());
    let f = authority::certificate::Fields {
        issuer: "CA",
        holder: "alice@example.org",
        serial: 42,
        public_key: &pk,
        usage: usage::SIGNING,
        effective: 10,
        expiry: 20,
    };
    let bytes = authority::certificate::build(&ca, &f).unwrap();
    let c = Certificate::parse(&bytes).unwrap();
    assert!(crypto::verify_certificate(&c, ca.verifying_key()));
    assert_eq!(
        (c.holder, c.serial, c.usage),
        (&b"alice@example.org"[..], 42, usage::SIGNING)
    );
    let bad = authority::certificate::Fields { expiry: 5, ..f };
    assert!(authority::certificate::build(&ca, &bad).is_err());
}

#[test]
fn personalization_refusals() {
    let mut a = Authority::deterministic("CA", 1, T).unwrap();
    a.personalize_unattested(&request("M-1", 1)).unwrap();

    let mut dup = request("M-1", 2);
    assert!(
        matches!(a.personalize_unattested(&dup), Err(AuthorityError::DuplicateSerial(s)) if s == "M-1")
    );
    dup.serial = "M-2".into();
    dup.chip_id = [1; 8];
    // That chip was certified as M-1 and took no load yet: the error says so.
    assert!(matches!(
        a.personalize_unattested(&dup),
        Err(AuthorityError::PendingPersonalization { chip, serial })
            if chip == "0101010101010101" && serial == "M-1"
    ));
    let same_key = PersonalizationRequest {
        meter_public_key: request("x", 1).meter_public_key,
        ..request("M-3", 3)
    };
    assert!(matches!(
        a.personalize_unattested(&same_key),
        Err(AuthorityError::InvalidRequest(_))
    ));
    for serial in ["", "has space", "SEVENTEEN-CHARS-X"] {
        assert!(matches!(
            a.personalize_unattested(&request(serial, 4)),
            Err(AuthorityError::InvalidRequest(_))
        ));
    }
    let mut bad_key = request("M-4", 4);
    bad_key.meter_public_key[64] ^= 1;
    assert!(matches!(
        a.personalize_unattested(&bad_key),
        Err(AuthorityError::InvalidRequest(_))
    ));
    // Refusals consumed no certificate serial.
    let ok = a.personalize_unattested(&request("M-5", 5)).unwrap();
    assert_eq!(Personalization::parse(&ok).unwrap().certificate.serial, 2);
}

#[test]
fn value_load_and_receipt() {
    let mut a = Authority::deterministic("CA", 1, T).unwrap();
    let req = request("M-1", 1);
    a.personalize_unattested(&req).unwrap();
    a.set_clock(Some(T + 100));

    let bytes = a.value_load("M-1", RegisterId::Postage, 10_000, 1).unwrap();
    let l = ValueLoad::parse(&bytes).unwrap();
    assert!(crypto::verify_signed(
        &l.signed,
        &crypto::public_key(&a.public_key()).unwrap()
    ));
    assert_eq!(l.chip_id, &req.chip_id);
    assert_eq!(l.serial, b"M-1");
    assert_eq!(
        (l.number, l.register, l.amount),
        (1, RegisterId::Postage, 10_000)
    );
    assert_eq!((l.time, l.deadline), (T + 100, T + 100 + SERVICE_INTERVAL));

    let loads = a.loads("M-1").unwrap();
    assert_eq!(loads.len(), 1);
    assert_eq!((loads[0].issued_at, loads[0].confirmed_at), (T + 100, None));
    assert_eq!(a.total_loaded("M-1", RegisterId::Postage).unwrap(), 0);

    // A receipt by another key is refused and confirms nothing.
    let forged = receipt(&meter_key(2), "M-1", 1, RegisterId::Postage, 10_000);
    assert!(matches!(
        a.confirm_load(&forged),
        Err(AuthorityError::BadReceipt(_))
    ));
    assert_eq!(a.loads("M-1").unwrap()[0].confirmed_at, None);

    a.set_clock(Some(T + 200));
    let good = receipt(&meter_key(1), "M-1", 1, RegisterId::Postage, 10_000);
    let r = a.confirm_load(&good).unwrap();
    assert_eq!(
        (r.number, r.amount, r.confirmed_at),
        (1, 10_000, Some(T + 200))
    );
    assert_eq!(
        (r.ascending, r.descending, r.card_time),
        (Some(0), Some(10_000), Some(T + 60))
    );
    // Idempotent for the same receipt.
    a.set_clock(Some(T + 300));
    assert_eq!(a.confirm_load(&good).unwrap(), r);
    assert_eq!(LoadReceipt::parse(&good).unwrap().number, 1);

    a.value_load("M-1", RegisterId::Postage, 2_500, 2).unwrap();
    a.value_load("M-1", RegisterId::Certificate, 700, 3)
        .unwrap();
    a.confirm_load(&receipt_with(
        &meter_key(1),
        "M-1",
        2,
        RegisterId::Postage,
        2_500,
        (300, 12_200),
        T + 60,
    ))
    .unwrap();
    a.confirm_load(&receipt(
        &meter_key(1),
        "M-1",
        3,
        RegisterId::Certificate,
        700,
    ))
    .unwrap();
    assert_eq!(a.total_loaded("M-1", RegisterId::Postage).unwrap(), 12_500);
    assert_eq!(a.total_loaded("M-1", RegisterId::Certificate).unwrap(), 700);
    let numbers: Vec<u32> = a.loads("M-1").unwrap().iter().map(|l| l.number).collect();
    assert_eq!(numbers, [1, 2, 3]);
}

#[test]
fn value_load_refusals() {
    let mut a = Authority::deterministic("CA", 1, T).unwrap();
    a.personalize_unattested(&request("M-1", 1)).unwrap();
    assert!(matches!(
        a.value_load("NOPE", RegisterId::Postage, 1, 1),
        Err(AuthorityError::UnknownMeter(s)) if s == "NOPE"
    ));
    assert!(matches!(
        a.value_load("M-1", RegisterId::Postage, 0, 1),
        Err(AuthorityError::InvalidRequest(_))
    ));
    assert!(matches!(
        a.value_load("M-1", RegisterId::Postage, u64::MAX, 1),
        Err(AuthorityError::InvalidRequest(_))
    ));
    assert!(matches!(
        a.loads("NOPE"),
        Err(AuthorityError::UnknownMeter(_))
    ));

    // A pending load is issued again only as it was.
    let first = a.value_load("M-1", RegisterId::Postage, 500, 1).unwrap();
    assert_eq!(
        a.value_load("M-1", RegisterId::Postage, 500, 1).unwrap(),
        first
    );
    assert!(matches!(
        a.value_load("M-1", RegisterId::Postage, 600, 1),
        Err(AuthorityError::InvalidRequest(_))
    ));
    // Receipts that match no issued load.
    let key = meter_key(1);
    for bad in [
        receipt(&key, "M-1", 2, RegisterId::Postage, 500),
        receipt(&key, "M-1", 1, RegisterId::Postage, 501),
        receipt(&key, "M-1", 1, RegisterId::Certificate, 500),
    ] {
        assert!(matches!(
            a.confirm_load(&bad),
            Err(AuthorityError::BadReceipt(_))
        ));
    }
    assert!(matches!(
        a.confirm_load(&receipt(&key, "M-9", 1, RegisterId::Postage, 500)),
        Err(AuthorityError::UnknownMeter(_))
    ));
    assert!(matches!(
        a.confirm_load(&first),
        Err(AuthorityError::BadReceipt(_))
    ));
    assert!(matches!(
        a.confirm_load(&[]),
        Err(AuthorityError::BadReceipt(_))
    ));

    a.confirm_load(&receipt(&key, "M-1", 1, RegisterId::Postage, 500))
        .unwrap();
    // A confirmed number is never issued again, nor are earlier ones.
    assert!(matches!(
        a.value_load("M-1", RegisterId::Postage, 500, 1),
        Err(AuthorityError::InvalidRequest(_))
    ));
    // Another receipt for a confirmed load is refused.
    let other = receipt_at(&key, "M-1", 1, RegisterId::Postage, 500, T + 61);
    assert!(matches!(
        a.confirm_load(&other),
        Err(AuthorityError::BadReceipt(
            "the load is already confirmed by another receipt"
        ))
    ));
}

#[test]
fn deterministic_is_reproducible() {
    let run = |seed| {
        let mut a = Authority::deterministic("CA", seed, T).unwrap();
        let p = a.personalize_unattested(&request("M-1", 1)).unwrap();
        let l = a.value_load("M-1", RegisterId::Postage, 1_000, 1).unwrap();
        (a.public_key(), p, l)
    };
    assert_eq!(run(5), run(5));
    assert_ne!(run(5).0, run(6).0);
}

#[test]
fn rates_are_set_and_validated() {
    let mut a = Authority::deterministic("CA", 1, T).unwrap();
    assert_eq!(
        a.rates(),
        [
            (Service::Postmark, 25),
            (Service::Verify, 10),
            (Service::IssueCertificate, 150),
            (Service::InstallCertificate, 500),
            (Service::Revoke, 100),
            (Service::Indicium, 55),
            (Service::Payment, 20),
        ]
    );
    a.set_rate(Service::Verify, 0).unwrap();
    assert!(a.set_rate(Service::Verify, u64::MAX).is_err());
    assert_eq!(a.rates()[1], (Service::Verify, 0));
    assert!(Authority::deterministic("", 1, T).is_err());
}

#[test]
fn open_refuses_a_newer_schema() {
    let dir = tempfile::tempdir().unwrap();
    Authority::init(dir.path(), "CA").unwrap();
    let conn = rusqlite::Connection::open(dir.path().join("authority.db")).unwrap();
    assert_eq!(
        conn.pragma_query_value(None, "user_version", |r| r.get::<_, i64>(0))
            .unwrap(),
        authority::db::MIGRATIONS.len() as i64
    );
    conn.pragma_update(None, "user_version", 99).unwrap();
    drop(conn);
    let e = Authority::open(dir.path()).unwrap_err();
    assert!(matches!(e, AuthorityError::Database(_)), "{e}");
}

#[test]
fn an_unfinished_personalization_can_be_redone() {
    let mut a = Authority::deterministic("CERTMETER-CA", 3, 1_800_000_000).unwrap();
    let key = |seed: u8| {
        let k = p256::ecdsa::SigningKey::from_slice(&[seed; 32]).unwrap();
        let mut out = [0u8; 65];
        out.copy_from_slice(k.verifying_key().to_sec1_point(false).as_bytes());
        out
    };
    let req = |pk, challenge| authority::PersonalizationRequest {
        chip_id: [7; 8],
        challenge: [challenge; 16],
        meter_public_key: pk,
        serial: "RETRY-1".into(),
        attestation: Vec::new(),
    };
    let first = a.personalize_unattested(&req(key(1), 1)).unwrap();
    // The card never took it: the same card asks again with a new challenge
    // and gets the same certificate in a new message.
    let again = a.personalize_unattested(&req(key(1), 2)).unwrap();
    let (p1, p2) = (
        apdu::message::Personalization::parse(&first).unwrap(),
        apdu::message::Personalization::parse(&again).unwrap(),
    );
    assert_eq!(p2.challenge, &[2; 16]);
    assert_eq!(p1.certificate.signed.raw, p2.certificate.signed.raw);
    assert_eq!(a.meter("RETRY-1").unwrap().unwrap().certificate_serial, 1);
    // Another key for that chip and serial: refused, whoever asks.
    let e = a.personalize_unattested(&req(key(2), 3)).unwrap_err();
    assert!(
        e.to_string()
            .contains("run personalize again with --serial RETRY-1"),
        "{e}"
    );
    let mut other_serial = req(key(1), 4);
    other_serial.serial = "RETRY-2".into();
    assert!(a.personalize_unattested(&other_serial).is_err());
    // Once value was issued, the meter is in service: no redo at all.
    a.value_load("RETRY-1", apdu::meter::RegisterId::Certificate, 100, 1)
        .unwrap();
    assert!(a.personalize_unattested(&req(key(1), 5)).is_err());
    // Another chip cannot take the serial.
    let mut other = req(key(4), 6);
    other.chip_id = [8; 8];
    assert!(a.personalize_unattested(&other).is_err());
}

#[test]
fn the_public_key_is_read_without_writing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ca");
    assert!(matches!(
        Authority::read_public_key(&path),
        Err(AuthorityError::NotFound(_))
    ));
    let key = Authority::init(&path, "CA").unwrap().public_key();
    let listing = || {
        let mut l: Vec<_> = std::fs::read_dir(&path)
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let m = e.metadata().unwrap();
                (e.file_name(), m.len(), m.modified().unwrap())
            })
            .collect();
        l.sort();
        l
    };
    let before = listing();
    assert_eq!(Authority::read_public_key(&path).unwrap(), key);
    // The private key is not needed.
    std::fs::remove_file(path.join(authority::KEY_FILE)).unwrap();
    assert_eq!(Authority::read_public_key(&path).unwrap(), key);
    let after = listing();
    assert_eq!(
        after,
        before
            .into_iter()
            .filter(|(n, ..)| n != authority::KEY_FILE)
            .collect::<Vec<_>>()
    );
}

/// A meter whose receipt does not add up is flagged: the reason and the
/// time are recorded, the load is not confirmed, no further load is issued,
/// and the listing shows it.
#[test]
fn a_receipt_that_does_not_reconcile_flags_the_meter() {
    let mut a = Authority::deterministic("CA", 1, T).unwrap();
    a.personalize_unattested(&request("M-1", 1)).unwrap();
    a.personalize_unattested(&request("M-2", 2)).unwrap();
    let key = meter_key(1);
    a.value_load("M-1", RegisterId::Postage, 1_000, 1).unwrap();
    a.confirm_load(&receipt(&key, "M-1", 1, RegisterId::Postage, 1_000))
        .unwrap();
    a.value_load("M-1", RegisterId::Postage, 500, 2).unwrap();
    a.set_clock(Some(T + 500));
    // Validly signed by the meter, but the register holds more than was
    // ever loaded into it (1 000 + 500).
    let forged = receipt_with(
        &key,
        "M-1",
        2,
        RegisterId::Postage,
        500,
        (200, 9_300),
        T + 90,
    );
    let e = a.confirm_load(&forged).unwrap_err();
    let AuthorityError::Flagged { serial, reason } = &e else {
        panic!("{e}")
    };
    assert_eq!(serial, "M-1");
    assert!(reason.contains("add up to 1500"), "{reason}");
    assert!(!e.to_string().contains('\n'));
    assert_eq!(a.loads("M-1").unwrap()[1].confirmed_at, None);
    // No further load, and even the right receipt is refused now.
    assert!(matches!(
        a.value_load("M-1", RegisterId::Certificate, 100, 3),
        Err(AuthorityError::Flagged { .. })
    ));
    let honest = receipt_with(
        &key,
        "M-1",
        2,
        RegisterId::Postage,
        500,
        (200, 1_300),
        T + 90,
    );
    assert!(matches!(
        a.confirm_load(&honest),
        Err(AuthorityError::Flagged { .. })
    ));
    let meters = a.meters().unwrap();
    assert_eq!(meters.len(), 2);
    assert_eq!(
        (meters[0].serial.as_str(), meters[0].flagged_at),
        ("M-1", Some(T + 500))
    );
    assert_eq!(meters[0].flag_reason.as_deref(), Some(reason.as_str()));
    assert_eq!((meters[0].loads, meters[0].confirmed), (2, 1));
    // The other meter is untouched.
    assert_eq!(
        (meters[1].serial.as_str(), meters[1].flagged_at),
        ("M-2", None)
    );
    a.value_load("M-2", RegisterId::Postage, 100, 1).unwrap();
}

/// Counters and the clock never go back: a receipt whose card time or
/// ascending value is behind an earlier receipt's flags the meter.
#[test]
fn a_receipt_going_back_flags_the_meter() {
    let key = meter_key(1);
    for (second, why) in [
        // The card clock went back.
        (
            receipt_with(
                &key,
                "M-1",
                2,
                RegisterId::Postage,
                500,
                (300, 1_200),
                T + 10,
            ),
            "clock went back",
        ),
        // Ascending went back (the sum still adds up).
        (
            receipt_with(
                &key,
                "M-1",
                2,
                RegisterId::Postage,
                500,
                (100, 1_400),
                T + 90,
            ),
            "ascending value went back",
        ),
    ] {
        let mut a = Authority::deterministic("CA", 1, T).unwrap();
        a.personalize_unattested(&request("M-1", 1)).unwrap();
        a.value_load("M-1", RegisterId::Postage, 1_000, 1).unwrap();
        a.confirm_load(&receipt_with(
            &key,
            "M-1",
            1,
            RegisterId::Postage,
            1_000,
            (200, 800),
            T + 60,
        ))
        .unwrap();
        a.value_load("M-1", RegisterId::Postage, 500, 2).unwrap();
        let e = a.confirm_load(&second).unwrap_err();
        assert!(
            matches!(&e, AuthorityError::Flagged { reason, .. } if reason.contains(why)),
            "{e}"
        );
    }
}

/// A key file group or others can read is refused, naming the fix.
#[cfg(unix)]
#[test]
fn open_refuses_a_key_file_others_can_read() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    Authority::init(dir.path(), "CA").unwrap();
    let key = dir.path().join("authority.key");
    assert_eq!(
        std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let e = Authority::open(dir.path()).unwrap_err().to_string();
    assert!(e.contains(&format!("chmod 600 {}", key.display())), "{e}");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    Authority::open(dir.path()).unwrap();
}

/// What undoes each schema step of `db::MIGRATIONS` (step 1, the base,
/// is never undone): a new step must add its line here, or the check below
/// fails.
const UNDO: &[&str] = &[
    "",
    "ALTER TABLE meters DROP COLUMN flagged_at; ALTER TABLE meters DROP COLUMN flag_reason;",
    "DROP TABLE unblock_approvals;",
    "DROP TABLE revocations;",
    "DROP TABLE channel_keys; DROP TABLE enrollments;",
    "DROP TABLE indicia;",
    "ALTER TABLE meters DROP COLUMN key_generation; DROP TABLE agent_revocations;",
    "DROP TABLE credit_payments; DROP TABLE credit_refusals; DROP TABLE credit_lines;",
    "DROP TABLE inspections; DROP TABLE rate_tables; ALTER TABLE loads DROP COLUMN challenge;",
];

/// Turns today's database into one an older release made at schema
/// `version`: the later steps undone, newest first.
fn downgrade_to(conn: &rusqlite::Connection, version: usize) {
    assert_eq!(
        UNDO.len(),
        authority::db::MIGRATIONS.len(),
        "every schema step needs its undo in UNDO"
    );
    for step in (version..UNDO.len()).rev() {
        conn.execute_batch(UNDO[step]).unwrap();
    }
    conn.pragma_update(None, "user_version", version as i64)
        .unwrap();
}

/// A version-1 database (before flags and unblock approvals) is upgraded
/// on open.
#[test]
fn open_upgrades_a_version_1_database() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = Authority::init(dir.path(), "CA").unwrap();
    a.personalize_unattested(&request("M-1", 1)).unwrap();
    drop(a);
    let conn = rusqlite::Connection::open(dir.path().join("authority.db")).unwrap();
    downgrade_to(&conn, 1);
    drop(conn);
    let a = Authority::open(dir.path()).unwrap();
    let m = a.meters().unwrap();
    assert_eq!((m.len(), m[0].flagged_at), (1, None));
    drop(a);
    let conn = rusqlite::Connection::open(dir.path().join("authority.db")).unwrap();
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, authority::db::MIGRATIONS.len() as i64);
    let approvals: i64 = conn
        .query_row("SELECT count(*) FROM unblock_approvals", [], |r| r.get(0))
        .unwrap();
    assert_eq!(approvals, 0);
}

/// Every write transaction begins `IMMEDIATE` (`db::begin`): a deferred
/// one (`Connection::transaction`) fails with "database is locked" instead
/// of waiting when another writer holds the lock. None may creep back in.
#[test]
fn every_write_transaction_is_immediate() {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        for (n, line) in text.lines().enumerate() {
            assert!(
                !line.contains(".transaction()"),
                "{}:{}: a deferred transaction; use db::begin",
                path.display(),
                n + 1
            );
        }
    }
}

/// A version-3 database (today's schema before [certs] revocation) gets
/// the revocations table on open, and its meters can be revoked.
#[test]
fn open_upgrades_a_version_3_database_with_revocations() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = Authority::init(dir.path(), "CA").unwrap();
    a.personalize_unattested(&request("M-1", 1)).unwrap();
    drop(a);
    let conn = rusqlite::Connection::open(dir.path().join("authority.db")).unwrap();
    downgrade_to(&conn, 3);
    drop(conn);
    let mut a = Authority::open(dir.path()).unwrap();
    let cert = a.meter("M-1").unwrap().unwrap().certificate_serial;
    assert_eq!(a.revocation(cert).unwrap(), None);
    a.force_revocation("M-1", cert, 1).unwrap();
    assert_eq!(a.pending_forced("M-1").unwrap(), [(cert, 1)]);
    assert!(
        a.force_revocation("M-1", cert, 7).is_err(),
        "7 is no reason code"
    );
    drop(a);
    let conn = rusqlite::Connection::open(dir.path().join("authority.db")).unwrap();
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, authority::db::MIGRATIONS.len() as i64);
}
