use super::*;
use apdu::meter::{AID, DEFAULT_PIN, DataObject, Request};
use apdu::tlv;

fn card() -> Card {
    Card::manufacture(SimConfig::deterministic(7, 1_700_000_000)).unwrap()
}

fn send(c: &mut Card, r: Request<'_>) -> (Vec<u8>, StatusWord) {
    let bytes = r.to_command().to_vec().unwrap();
    let mut out = c.transmit(&bytes).unwrap();
    let sw = out.split_off(out.len() - 2);
    (out, StatusWord::new(sw[0], sw[1]))
}

/// VERIFY the transport PIN and change it (a new card spends and
/// personalizes nothing before).
fn unlock(c: &mut Card) {
    assert_eq!(verify(c, Some(DEFAULT_PIN)), StatusWord::OK);
    let mut both = DEFAULT_PIN.to_vec();
    both.resize(8, 0xFF);
    both.extend_from_slice(b"13579");
    let sw = send(
        c,
        Request::ChangePin {
            old_then_new: &both,
        },
    )
    .1;
    assert_eq!(sw, StatusWord::OK);
}

/// VERIFY with `pin` (or the tries-left query) and its status word.
fn verify(c: &mut Card, pin: Option<&[u8]>) -> StatusWord {
    send(c, Request::Verify { pin }).1
}

fn select(c: &mut Card) {
    let (fci, sw) = send(c, Request::Select { aid: AID });
    assert_eq!(sw, StatusWord::OK);
    assert_eq!(fci[0], 0x6F);
}

#[test]
fn atr_is_well_formed() {
    // TCK: the XOR of T0 .. the last historical byte is zero with TCK.
    assert_eq!(ATR[1..].iter().fold(0, |a, b| a ^ b), 0);
    assert_eq!(usize::from(ATR[1] & 0x0F), ATR.len() - 5);
}

#[test]
fn select_then_iso_errors_leave_the_card_unchanged() {
    let mut c = card();
    assert_eq!(
        send(&mut c, Request::GetData(DataObject::Status)).1,
        StatusWord::COMMAND_NOT_ALLOWED
    );
    select(&mut c);
    let before = c.store().data().to_vec();
    for (apdu, sw) in [
        (&[0x00, 0x02, 0, 0][..], StatusWord::INS_NOT_SUPPORTED),
        (&[0x80, 0x02, 0, 0], StatusWord::INS_NOT_SUPPORTED),
        (&[0x44, 0xCA, 0, 0xE0, 0], StatusWord::CLA_NOT_SUPPORTED),
        (&[0x00, 0x20, 0, 0x81, 5, 1, 2], StatusWord::WRONG_LENGTH),
        (&[0x00, 0x20, 0, 0x81, 2, 1, 2], StatusWord::WRONG_LENGTH),
        (
            &[0x00, 0x20, 0, 0x82, 6, 1, 2, 3, 4, 5, 6],
            StatusWord::INCORRECT_P1P2,
        ),
        (&[0x00, 0x84, 0, 0, 8], StatusWord::wrong_le(16)),
        (
            &[0x00, 0xA4, 0x04, 0x00, 2, 0xA0, 0x00],
            StatusWord::NOT_FOUND,
        ),
    ] {
        let out = c.transmit(apdu).unwrap();
        assert_eq!(StatusWord::new(out[0], out[1]), sw, "{apdu:02X?}");
        assert_eq!(out.len(), 2);
    }
    assert_eq!(c.store().data(), &before[..]);
    // The failed SELECT deselected the application.
    assert_eq!(
        send(&mut c, Request::GetData(DataObject::Status)).1,
        StatusWord::COMMAND_NOT_ALLOWED
    );
}

#[test]
fn long_answers_come_with_get_response() {
    let mut c = card();
    select(&mut c);
    let status = Request::GetData(DataObject::Status).to_command();
    let whole = send(&mut c, Request::GetData(DataObject::Status)).0;
    assert!(whole.len() > 20);
    let small = Command {
        le: Some(10),
        ..status
    }
    .to_vec()
    .unwrap();
    let out = c.transmit(&small).unwrap();
    assert_eq!(&out[..10], &whole[..10]);
    assert_eq!(out[10], 0x61);
    let rest = usize::from(out[11]);
    assert_eq!(rest, whole.len() - 10);
    let out = c.transmit(&[0x00, 0xC0, 0, 0, out[11]]).unwrap();
    assert_eq!(&out[..rest], &whole[10..]);
    assert_eq!(&out[rest..], &[0x90, 0x00]);
    // Nothing left.
    assert_eq!(c.transmit(&[0x00, 0xC0, 0, 0, 0]).unwrap(), [0x69, 0x85]);
}

#[test]
fn chained_command_is_reassembled() {
    let mut c = card();
    select(&mut c);
    // VERIFY with the PIN split over two chained commands.
    let pin = DEFAULT_PIN;
    let first = [&[0x10, 0x20, 0x00, 0x81, 3][..], &pin[..3]].concat();
    let last = [&[0x00, 0x20, 0x00, 0x81, 3][..], &pin[3..]].concat();
    assert_eq!(c.transmit(&first).unwrap(), [0x90, 0x00]);
    assert_eq!(c.transmit(&last).unwrap(), [0x90, 0x00]);
    assert_eq!(verify(&mut c, None), StatusWord::OK);
    // A chain broken by another command.
    assert_eq!(c.transmit(&first).unwrap(), [0x90, 0x00]);
    assert_eq!(
        c.transmit(&[0x00, 0xCA, 0x00, 0xE0, 0x00]).unwrap(),
        [0x68, 0x83]
    );
    // A class the card does not answer is refused even with the chaining
    // bit set (CLA FF, 1C, 30), and leaves a chain as it was.
    assert_eq!(c.transmit(&first).unwrap(), [0x90, 0x00]);
    for bad in [0xFF, 0x1C, 0x30] {
        let part = [&[bad, 0x20, 0x00, 0x81, 3][..], &pin[..3]].concat();
        assert_eq!(c.transmit(&part).unwrap(), [0x6E, 0x00], "CLA {bad:02X}");
    }
    assert_eq!(c.transmit(&last).unwrap(), [0x90, 0x00]);
    // A chain longer than the APDU buffer.
    let piece = [
        &[0x10, 0x20, 0x00, 0x81, 0x00, 0xFF, 0xFF][..],
        &[0u8; 0xFFFF],
    ]
    .concat();
    assert_eq!(c.transmit(&piece).unwrap(), [0x90, 0x00]);
    assert_eq!(c.transmit(&piece).unwrap(), [0x6A, 0x84]);
}

#[test]
fn pin_tries_are_persistent_and_reset_clears_verification() {
    let mut c = card();
    select(&mut c);
    assert_eq!(
        verify(&mut c, Some(b"000000")),
        StatusWord::verify_failed(2)
    );
    assert_eq!(verify(&mut c, Some(b"0000")), StatusWord::verify_failed(1));
    // The counter survives a power cycle.
    c.power_off();
    c.power_on();
    select(&mut c);
    assert_eq!(verify(&mut c, None), StatusWord::verify_failed(1));
    assert_eq!(verify(&mut c, Some(DEFAULT_PIN)), StatusWord::OK);
    assert_eq!(verify(&mut c, None), StatusWord::OK);
    c.reset();
    select(&mut c);
    assert_eq!(verify(&mut c, None), StatusWord::verify_failed(3));
    for left in [2, 1, 0] {
        assert_eq!(
            verify(&mut c, Some(b"9999")),
            StatusWord::verify_failed(left)
        );
    }
    assert_eq!(
        verify(&mut c, Some(DEFAULT_PIN)),
        StatusWord::AUTH_METHOD_BLOCKED
    );
}

#[test]
fn key_generation_needs_the_pin_and_a_blank_card() {
    let mut c = card();
    select(&mut c);
    assert_eq!(
        send(&mut c, Request::GenerateKey { generate: true }).1,
        StatusWord::SECURITY_STATUS_NOT_SATISFIED
    );
    assert_eq!(
        send(&mut c, Request::GenerateKey { generate: false }).1,
        StatusWord::REFERENCED_DATA_NOT_FOUND
    );
    send(
        &mut c,
        Request::Verify {
            pin: Some(DEFAULT_PIN),
        },
    );
    // The transport PIN generates nothing.
    assert_eq!(
        send(&mut c, Request::GenerateKey { generate: true }).1,
        StatusWord::TRANSPORT_PIN
    );
    unlock(&mut c);
    let (key, sw) = send(&mut c, Request::GenerateKey { generate: true });
    assert_eq!(sw, StatusWord::OK);
    let point = tlv::find(tlv::find(&key, 0x7F49).unwrap(), 0x86).unwrap();
    assert!(p256::ecdsa::VerifyingKey::from_sec1_bytes(point).is_ok());
    assert_eq!(
        send(&mut c, Request::GenerateKey { generate: false }).0,
        key
    );
    assert_eq!(send(&mut c, Request::GetData(DataObject::PublicKey)).0, key);
}

/// Generates the meter key with the power cut at each of its persistent
/// writes: after each power-up the card holds either no key at all or the
/// whole key pair, never a part.
#[test]
fn tearing_key_generation_at_every_write() {
    let mut base = card();
    select(&mut base);
    let gen_cmd = Request::GenerateKey { generate: true }
        .to_command()
        .to_vec()
        .unwrap();
    let mut full = Card::manufacture(SimConfig::deterministic(7, 1_700_000_000)).unwrap();
    select(&mut full);
    unlock(&mut full);
    let w0 = full.store().writes();
    let key = full.transmit(&gen_cmd).unwrap();
    let writes = full.store().writes() - w0;
    assert!(writes >= 10, "{writes} writes");
    let (mut none, mut all) = (0, 0);
    for n in 1..=writes + 1 {
        let mut c = Card::manufacture(SimConfig::deterministic(7, 1_700_000_000)).unwrap();
        select(&mut c);
        unlock(&mut c);
        let before = c.store().data().to_vec();
        c.tear_at_write(n);
        let r = c.transmit(&gen_cmd);
        c.power_on();
        select(&mut c);
        let (public, sw) = send(&mut c, Request::GenerateKey { generate: false });
        if n <= writes {
            assert!(r.is_err(), "the card answered although cut at write {n}");
            assert_eq!(c.store().data(), &before[..], "cut at write {n}");
            assert_eq!(sw, StatusWord::REFERENCED_DATA_NOT_FOUND);
            none += 1;
        } else {
            assert_eq!(r.unwrap(), key);
            assert_eq!(c.store().data(), full.store().data());
            assert_eq!(public, key[..key.len() - 2]);
            all += 1;
        }
    }
    assert_eq!((none, all), (writes, 1));
}

/// Changes the PIN with the power cut at each write: the card accepts
/// exactly one of the old and the new PIN afterwards, and the try counter
/// is never lost.
#[test]
fn tearing_pin_change_at_every_write() {
    let change = Request::ChangePin {
        old_then_new: b"123456\xFF\xFF4321",
    }
    .to_command()
    .to_vec()
    .unwrap();
    let mut probe = card();
    select(&mut probe);
    let w0 = probe.store().writes();
    assert_eq!(probe.transmit(&change).unwrap(), [0x90, 0x00]);
    let writes = probe.store().writes() - w0;
    for n in 1..=writes {
        let mut c = card();
        select(&mut c);
        c.tear_at_write(n);
        assert!(c.transmit(&change).is_err());
        c.power_on();
        select(&mut c);
        let tries = verify(&mut c, None).tries_left().unwrap();
        assert!(tries >= 2, "cut at {n}: {tries} tries");
        let old = send(
            &mut c,
            Request::Verify {
                pin: Some(DEFAULT_PIN),
            },
        )
        .1;
        let new = verify(&mut c, Some(b"4321"));
        assert!(
            (old == StatusWord::OK) != (new == StatusWord::OK),
            "cut at {n}: old {old}, new {new}"
        );
    }
}

#[test]
fn state_file_survives_restarts_and_is_locked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("card");
    let mut f = StateFile::create(&path, false, SimConfig::default()).unwrap();
    assert!(matches!(
        StateFile::open(&path, SimConfig::default()),
        Err(SimError::Locked(_))
    ));
    let sel = Request::Select { aid: AID }.to_command().to_vec().unwrap();
    f.transmit(&sel).unwrap();
    f.transmit(&[0x00, 0x20, 0x00, 0x81, 4, 1, 2, 3, 4])
        .unwrap();
    drop(f);
    assert!(matches!(
        StateFile::create(&path, false, SimConfig::default()),
        Err(SimError::Exists(_))
    ));
    let mut f = StateFile::open(&path, SimConfig::default()).unwrap();
    f.transmit(&sel).unwrap();
    assert_eq!(f.transmit(&[0x00, 0x20, 0x00, 0x81]).unwrap(), [0x63, 0xC2]);
    drop(f);
    std::fs::write(&path, b"garbage").unwrap();
    assert!(matches!(
        StateFile::open(&path, SimConfig::default()),
        Err(SimError::BadStateFile(..))
    ));
    assert!(matches!(
        StateFile::open(&dir.path().join("none"), SimConfig::default()),
        Err(SimError::NotFound(_))
    ));
    // Wrong paths leave no lock file behind.
    assert!(!dir.path().join("none.lock").exists());
    assert!(matches!(
        StateFile::open(dir.path(), SimConfig::default()),
        Err(SimError::BadStateFile(_, "a directory"))
    ));
    let mut dir_lock = dir.path().as_os_str().to_owned();
    dir_lock.push(".lock");
    assert!(!std::path::Path::new(&dir_lock).exists());
}

/// A journal whose length word points past its entries cannot be rolled
/// back: the file is reported as damaged, not as a card without power.
#[test]
fn a_damaged_journal_is_a_bad_state_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("card");
    drop(StateFile::create(&path, false, SimConfig::default()).unwrap());
    let mut bytes = std::fs::read(&path).unwrap();
    let journal = 8 + crate::budget::DATA_CAPACITY;
    bytes[journal..].fill(0xFF);
    bytes[journal..journal + 2].copy_from_slice(&0x07FFu16.to_be_bytes());
    // Damaged inside the card, not in the file: the file's tag matches.
    super::reseal(&mut bytes);
    std::fs::write(&path, &bytes).unwrap();
    assert!(matches!(
        StateFile::open(&path, SimConfig::default()),
        Err(SimError::BadStateFile(_, "its journal is damaged"))
    ));
}

/// The dispatcher applies each request's access policy before its flow, in
/// the documented order: selection (6986), life cycle (6985), PIN (6982).
#[test]
fn access_policy_is_checked_before_the_flow() {
    use apdu::meter::Lifecycle;
    let requests = [
        Request::Verify { pin: None },
        Request::ChangePin {
            old_then_new: b"123456\xFF\xFF4321",
        },
        Request::GetData(DataObject::Status),
        Request::GetChallenge,
        Request::GenerateKey { generate: true },
        Request::GenerateKey { generate: false },
        Request::Personalize {
            message: b"\x7F\x70\x00",
        },
        Request::LoadValue {
            message: b"\x7F\x71\x00",
        },
        Request::HashInit,
        Request::HashUpdate { data: b"d" },
        Request::Postmark,
        Request::VerifyPostmark {
            file: b"\x7F\x60\x00",
            with_crl: false,
        },
        Request::ReadCertificate { slot: 0 },
    ];
    let mut c = card();
    for r in requests {
        assert_eq!(send(&mut c, r).1, StatusWord::COMMAND_NOT_ALLOWED, "{r:?}");
    }
    for lifecycle in [Lifecycle::Blank, Lifecycle::Terminated] {
        let mut c = card();
        let s = c.store_mut();
        s.begin().unwrap();
        crate::layout::LIFECYCLE.set(s, lifecycle as u64).unwrap();
        s.commit().unwrap();
        for r in requests {
            let _ = send(&mut c, Request::Select { aid: AID });
            let p = r.policy();
            let sw = send(&mut c, r).1;
            if !p.lifecycles.allows(lifecycle) {
                assert_eq!(
                    sw,
                    StatusWord::CONDITIONS_NOT_SATISFIED,
                    "{lifecycle:?} {r:?}"
                );
            } else if p.pin {
                assert_eq!(
                    sw,
                    StatusWord::SECURITY_STATUS_NOT_SATISFIED,
                    "{lifecycle:?} {r:?}"
                );
            } else {
                assert_ne!(sw, StatusWord::COMMAND_NOT_ALLOWED, "{lifecycle:?} {r:?}");
            }
        }
    }
}
