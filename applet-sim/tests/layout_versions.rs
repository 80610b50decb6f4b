//! The persistent layout across versions, on the golden state files of
//! `tests/state_test_data/` (see its README): every known version opens
//! with every value kept (an older one migrated to the current layout), the
//! current version is still made byte for byte, a migration cut by a power
//! loss at any write is redone, and an unknown version is refused, never
//! misread.

#[path = "golden/generator.rs"]
mod generator;

use std::path::{Path, PathBuf};

use apdu::meter::{AID, DEFAULT_PIN, Request};
use applet_sim::budget::{DATA_CAPACITY, PERSISTENT_CAPACITY};
use applet_sim::layout::{self, LAYOUT_VERSION, Stored};
use applet_sim::sim::{Card, SimConfig, SimError, SimPlatform, StateFile};
use applet_sim::{Applet, Outcome, Store, migrate};

const HEADER: usize = 8;

fn golden(version: u8) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/state_test_data")
        .join(format!("v{version}"))
}

fn config() -> SimConfig {
    SimConfig::deterministic(generator::SEED, generator::TIME)
}

/// A copy of golden `version`'s state file in a temporary directory.
fn copy(version: u8) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("card.sim");
    std::fs::copy(golden(version).join("card.sim"), &path).unwrap();
    // Private, as certmeter makes its state files (git checks them out 0644).
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    (tmp, path)
}

fn expected(version: u8) -> String {
    std::fs::read_to_string(golden(version).join("expected.txt")).unwrap()
}

/// The postmark recorded in `expected.txt`.
fn recorded_postmark(text: &str) -> Vec<u8> {
    let hex = text
        .lines()
        .find_map(|l| l.strip_prefix("postmark "))
        .unwrap();
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

/// `text` (an `expected.txt`) with the status template re-encoded without
/// what layout v3 changed: the memory figure (`8D`: v3 appends fields, so
/// a migrated card reports more memory used) and the transport-PIN flag
/// (`9F02`, new in v3: 0 on a migrated card).
fn without_memory(text: &str) -> String {
    use apdu::meter::StatusTemplate;
    text.lines()
        .map(|l| match l.strip_prefix("status ") {
            Some(hex) => {
                let bytes: Vec<u8> = (0..hex.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                    .collect();
                let mut t = StatusTemplate::parse(&bytes).unwrap();
                t.memory = Default::default();
                t.transport_pin = false;
                let mut out = [0u8; 512];
                let mut w = apdu::tlv::Writer::new(&mut out);
                t.write(&mut w).unwrap();
                let hex: String = w.written().iter().map(|b| format!("{b:02X}")).collect();
                format!("status {hex}\n")
            }
            None => format!("{l}\n"),
        })
        .collect()
}

/// Presents the PIN, signs a postmark, reads the certificate and verifies
/// the postmark on the card: a personalized card still works.
fn still_works(card: &mut StateFile) {
    generator::ok(card, Request::Select { aid: AID });
    generator::ok(
        card,
        Request::Verify {
            pin: Some(DEFAULT_PIN),
        },
    );
    generator::ok(card, Request::HashInit);
    generator::ok(
        card,
        Request::HashUpdate {
            data: generator::LETTER,
        },
    );
    let postmark = generator::ok(card, Request::Postmark);
    let certificate = generator::ok(card, Request::ReadCertificate { slot: 0 });
    generator::ok(card, Request::HashInit);
    generator::ok(
        card,
        Request::HashUpdate {
            data: generator::LETTER,
        },
    );
    let file = [postmark, certificate].concat();
    let verdict = generator::ok(
        card,
        Request::VerifyPostmark {
            file: &file,
            with_crl: false,
        },
    );
    assert_eq!(verdict[..5], [0xE2, 0x0D, 0x80, 0x01, 0x00], "valid");
}

/// The image in a state file of either format (`CMSIMv`: header, image;
/// `CMSIMi`: header, image, integrity tag).
fn image(file: &[u8]) -> &[u8; PERSISTENT_CAPACITY] {
    file[HEADER..HEADER + PERSISTENT_CAPACITY]
        .try_into()
        .unwrap()
}

/// The golden card of an older layout opens migrated: the same status
/// template (registers, piece counts, serial, clock, sequence, PIN tries,
/// keys, certificate slots, load count, deadline, postmarks, memory), rate
/// table, public key and certificate as that card answered under its own
/// software; its object area is exactly the current golden card's; the
/// file is saved in the current format; and the card goes on working.
#[test]
fn a_v1_card_is_migrated_with_every_value_kept() {
    let (_tmp, path) = copy(1);
    let v1 = expected(1);
    let mut card = StateFile::open(&path, config()).unwrap();
    let answers = generator::answers(&mut card, &recorded_postmark(&v1));
    assert_eq!(
        without_memory(&generator::expected_text(&answers)),
        without_memory(&v1)
    );
    assert!(card.card().applet().lifecycle().is_some());
    assert_eq!(layout::stored(card.card().store()), Stored::Known(5));

    let saved = std::fs::read(&path).unwrap();
    assert_eq!(&saved[..HEADER], b"CMSIMi05");
    assert_eq!(saved[HEADER + LAYOUT_VERSION.at], 5);
    // The object area is the v2 golden card's but for the version byte:
    // the v3 fields (no issuer root), the v4 ones (no agent certificate,
    // nothing revoked) and the v5 credit block (no line) are zero in both.
    let mut v2 = std::fs::read(golden(2).join("card.sim")).unwrap();
    v2[HEADER + LAYOUT_VERSION.at] = 5;
    assert!(
        saved[HEADER..HEADER + DATA_CAPACITY] == v2[HEADER..HEADER + DATA_CAPACITY],
        "the migrated object area differs from the v2 golden card's"
    );
    // Still a working meter: the PIN, the meter key, the funds.
    still_works(&mut card);
}

/// The v2 golden card (personalized before issuer roots) opens migrated to
/// the current layout with every value kept, and keeps working with the
/// authority key it holds.
#[test]
fn a_v2_card_is_migrated_and_keeps_working() {
    let (_tmp, path) = copy(2);
    let v2 = expected(2);
    let mut card = StateFile::open(&path, config()).unwrap();
    assert_eq!(layout::stored(card.card().store()), Stored::Known(5));
    let answers = generator::answers(&mut card, &recorded_postmark(&v2));
    assert_eq!(
        without_memory(&generator::expected_text(&answers)),
        without_memory(&v2)
    );
    assert_eq!(
        layout::ISSUER_ROOT_PRESENT
            .get(card.card().store())
            .unwrap(),
        0
    );
    still_works(&mut card);
    // The same card as v1 made it, seen from the outside.
    assert_eq!(v2, expected(1));
}

/// A blank card of layout v2 (made before issuer roots) is migrated to v3
/// without a root, and refuses any personalization with 6A88 (no trusted
/// root): no authority can take it over.
#[test]
fn a_migrated_blank_card_without_a_root_refuses_personalization() {
    let mut p = SimPlatform::new(config()).unwrap();
    let mut a = Applet::manufacture(&mut p, None).unwrap();
    // As layout v2 made it: the v3 fields zero, version 2.
    a.store.begin().unwrap();
    let v3 = vec![0; layout::END - layout::V2_END];
    a.store.write(layout::V2_END, &v3).unwrap();
    LAYOUT_VERSION.set(&mut a.store, 2).unwrap();
    a.store.commit().unwrap();
    assert_eq!(layout::stored(&a.store), Stored::Known(2));
    assert!(matches!(a.power_up(), Outcome::Reply { .. }));
    assert_eq!(layout::stored(&a.store), Stored::Known(5));
    let mut out = vec![0u8; 4096];
    let mut send = |a: &mut Applet, r: Request<'_>| {
        let cmd = r.to_command().to_vec().unwrap();
        match a.process(&mut p, &cmd, &mut out) {
            Outcome::Reply { sw, .. } => sw,
            Outcome::PowerLost => panic!("power lost"),
        }
    };
    assert_eq!(
        send(&mut a, Request::Select { aid: AID }),
        apdu::StatusWord::OK
    );
    let verify = Request::Verify {
        pin: Some(DEFAULT_PIN),
    };
    assert_eq!(send(&mut a, verify), apdu::StatusWord::OK);
    let generate = Request::GenerateKey { generate: true };
    assert_eq!(send(&mut a, generate), apdu::StatusWord::OK);
    assert_eq!(send(&mut a, Request::GetChallenge), apdu::StatusWord::OK);
    let message = generator::personalization(&[0; 8], &[0; 16], &[4; 65]);
    let before = a.store.data().to_vec();
    assert_eq!(
        send(&mut a, Request::Personalize { message: &message }),
        apdu::StatusWord::REFERENCED_DATA_NOT_FOUND
    );
    assert_eq!(a.store.data(), &before[..], "the card was written");
    assert_eq!(a.lifecycle(), Some(apdu::meter::Lifecycle::Blank));
}

/// The v3 golden card opens migrated to v5 (only the version byte
/// written: no agent certificate issued, nothing revoked, nothing due, no
/// line of credit) with every value kept (the memory figure grows by the
/// v4 and v5 blocks).
#[test]
fn a_v3_card_is_migrated_and_keeps_working() {
    let (_tmp, path) = copy(3);
    let before = std::fs::read(&path).unwrap();
    let v3 = expected(3);
    let mut card = StateFile::open(&path, config()).unwrap();
    assert_eq!(layout::stored(card.card().store()), Stored::Known(5));
    assert_eq!(layout::AGENT_ISSUED.get(card.card().store()).unwrap(), 0);
    let mut want = image(&before).to_owned();
    want[LAYOUT_VERSION.at] = 5;
    assert!(
        card.card().store().data() == &want[..DATA_CAPACITY],
        "the migration wrote more than the version byte"
    );
    let answers = generator::answers(&mut card, &recorded_postmark(&v3));
    assert_eq!(
        without_memory(&generator::expected_text(&answers)),
        without_memory(&v3)
    );
}

/// The v4 golden card opens migrated to v5 (only the version byte
/// written: the credit and value blocks are zero: no line of credit, rate
/// table version 0, no audit report) with every value kept (the memory
/// figure grows by the two blocks).
#[test]
fn a_v4_card_is_migrated_and_keeps_working() {
    let (_tmp, path) = copy(4);
    let before = std::fs::read(&path).unwrap();
    let v4 = expected(4);
    let mut card = StateFile::open(&path, config()).unwrap();
    assert_eq!(layout::stored(card.card().store()), Stored::Known(5));
    assert_eq!(
        layout::CREDIT_LINE_NUMBER.get(card.card().store()).unwrap(),
        0
    );
    assert_eq!(layout::RATE_VERSION.get(card.card().store()).unwrap(), 0);
    assert_eq!(layout::AUDIT_COUNT.get(card.card().store()).unwrap(), 0);
    let mut want = image(&before).to_owned();
    want[LAYOUT_VERSION.at] = 5;
    assert!(
        card.card().store().data() == &want[..DATA_CAPACITY],
        "the migration wrote more than the version byte"
    );
    let answers = generator::answers(&mut card, &recorded_postmark(&v4));
    assert_eq!(
        without_memory(&generator::expected_text(&answers)),
        without_memory(&v4)
    );
}

/// The current version's golden card opens as it is: same answers, nothing
/// written.
#[test]
fn a_v5_card_opens_unchanged() {
    let (_tmp, path) = copy(5);
    let before = std::fs::read(&path).unwrap();
    let v5 = expected(5);
    let mut card = StateFile::open(&path, config()).unwrap();
    assert_eq!(card.card().store().image(), image(&before));
    let answers = generator::answers(&mut card, &recorded_postmark(&v5));
    assert_eq!(generator::expected_text(&answers), v5);
    drop(card);
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

/// Today's software makes the current golden card byte for byte: a layout
/// change without a new version (and golden card) fails here.
#[test]
fn the_current_golden_card_is_reproduced_byte_for_byte() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("card.sim");
    let answers = generator::make(&path);
    assert_eq!(generator::expected_text(&answers), expected(5));
    let made = std::fs::read(&path).unwrap();
    let committed = std::fs::read(golden(5).join("card.sim")).unwrap();
    // The golden file is of the untagged format; the image is compared (the
    // state file format itself: tests/state_file.rs).
    assert!(
        image(&made) == image(&committed),
        "the v5 golden card changed"
    );
}

/// A power cut at any write of the migration leaves the v1 image (or, in
/// the v2 -> v3 step, the v2 one), and the next power-up migrates it
/// completely.
#[test]
fn a_migration_cut_at_every_write_is_redone() {
    let v1 = std::fs::read(golden(1).join("card.sim")).unwrap();
    let fresh = || Applet {
        store: Store::from_image(image(&v1)),
        ram: Default::default(),
    };
    let mut clean = fresh();
    assert_eq!(layout::stored(&clean.store), Stored::Known(1));
    assert!(matches!(clean.power_up(), Outcome::Reply { .. }));
    let writes = clean.store.writes();
    assert!(
        writes >= 10,
        "the migration is a multi-write transaction: {writes}"
    );
    let migrated = clean.store.data().to_vec();
    for n in 1..=writes {
        let mut a = fresh();
        // Power-up recovers (no write: the journal is empty), then migrates.
        a.store.recover().unwrap();
        a.store.tear_at(n);
        assert_eq!(
            migrate::migrate(&mut a.store),
            Err(applet_sim::Error::PowerLost),
            "cut at write {n}"
        );
        assert!(a.store.is_torn());
        let mut recovered = a.clone();
        // The cut image is v1 (or v2, cut in the second step) after
        // recovery alone ...
        recovered.store.recover().unwrap();
        match layout::stored(&recovered.store) {
            Stored::Known(1) => assert_eq!(
                recovered.store.data(),
                &image(&v1)[..DATA_CAPACITY],
                "cut at write {n}"
            ),
            Stored::Known(2..=4) => {}
            other => panic!("cut at write {n}: {other:?}"),
        }
        // ... and the next power-up migrates it.
        assert!(
            matches!(a.power_up(), Outcome::Reply { .. }),
            "cut at write {n}"
        );
        assert_eq!(a.store.data(), &migrated[..], "cut at write {n}");
    }
}

/// A layout this software does not know is refused with a clear message by
/// the state file and the simulator, and the card core does not read it
/// (SELECT answers 6A82, as on erased memory); nothing is written.
#[test]
fn an_unknown_layout_is_refused_never_misread() {
    // The v3 golden card: untagged, so its bytes can be changed here.
    let (_tmp, path) = copy(3);
    let mut file = std::fs::read(&path).unwrap();
    file[HEADER + LAYOUT_VERSION.at] = 6;
    std::fs::write(&path, &file).unwrap();
    let e = StateFile::open(&path, config()).err().unwrap();
    assert!(
        matches!(
            e,
            SimError::UnknownLayout {
                version: 6,
                known: 5,
                ..
            }
        ),
        "{e}"
    );
    let message = e.to_string();
    assert!(
        message.contains("layout version 6") && message.contains("versions 1 to 5"),
        "{message}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), file, "the file was changed");
    let e = Card::from_image(image(&file), config()).err().unwrap();
    assert!(
        matches!(e, SimError::UnknownLayout { version: 6, .. }),
        "{e}"
    );

    // A newer state-file header.
    file[HEADER + LAYOUT_VERSION.at] = 3;
    file[..HEADER].copy_from_slice(b"CMSIMv06");
    std::fs::write(&path, &file).unwrap();
    let e = StateFile::open(&path, config()).err().unwrap();
    assert!(
        matches!(e, SimError::UnknownLayout { version: 6, .. }),
        "{e}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), file);

    // A header that contradicts its image.
    file[..HEADER].copy_from_slice(b"CMSIMv01");
    std::fs::write(&path, &file).unwrap();
    let e = StateFile::open(&path, config()).err().unwrap();
    assert!(matches!(e, SimError::BadStateFile(..)), "{e}");

    // The card core itself: not read, not migrated, not written.
    let mut unknown = image(&file).to_owned();
    unknown[LAYOUT_VERSION.at] = 0xFF;
    let mut a = Applet {
        store: Store::from_image(&unknown),
        ram: Default::default(),
    };
    assert!(matches!(a.power_up(), Outcome::Reply { .. }));
    assert_eq!(a.lifecycle(), None);
    let mut p = SimPlatform::new(config()).unwrap();
    let mut out = [0u8; 256];
    let select = Request::Select { aid: AID }.to_command().to_vec().unwrap();
    assert_eq!(
        a.process(&mut p, &select, &mut out),
        Outcome::Reply {
            len: 0,
            sw: apdu::StatusWord::NOT_FOUND
        }
    );
    assert_eq!(a.store.image(), &unknown);
}
