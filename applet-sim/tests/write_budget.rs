//! Persistent-write budgets of the charged commands (`applet_sim::budget`):
//! the store counts logical writes (one `Store::write` on one contiguous
//! range), physical writes (the tear points) and the journal bytes of each
//! command, and the simulator reports them per command.

#[path = "golden/generator.rs"]
mod generator;

use apdu::meter::{AID, DEFAULT_PIN, DataObject, Request};
use applet_sim::budget;
use applet_sim::sim::StateFile;
use applet_sim::store::StoreStats;

fn run(card: &mut StateFile, r: Request<'_>) -> (Vec<u8>, StoreStats) {
    let out = generator::ok(card, r);
    (out, card.card().last_command_stats())
}

/// The golden history, measured: PERSONALIZE, LOAD VALUE, POSTMARK and
/// VERIFY POSTMARK.
fn measure() -> [(&'static str, StoreStats); 4] {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("card.sim");
    let mut card = StateFile::create(
        &path,
        true,
        applet_sim::sim::SimConfig::deterministic(generator::SEED, generator::TIME)
            .with_issuer_root(generator::root_public()),
    )
    .unwrap();
    generator::ok(&mut card, Request::Select { aid: AID });
    generator::ok(
        &mut card,
        Request::Verify {
            pin: Some(DEFAULT_PIN),
        },
    );
    generator::change_transport_pin(&mut card);
    let key = generator::ok(&mut card, Request::GenerateKey { generate: true });
    let public_key = key[key.len() - 65..].to_vec();
    let status = generator::ok(&mut card, Request::GetData(DataObject::Status));
    let chip_id = generator::find(generator::find(&status, 0xE0).unwrap(), 0x81)
        .unwrap()
        .to_vec();
    let challenge = generator::ok(&mut card, Request::GetChallenge);
    let message = generator::personalization(&chip_id, &challenge, &public_key);
    let (_, personalize) = run(&mut card, Request::Personalize { message: &message });
    let load = generator::value_load(&chip_id, 1, generator::LOAD);
    let (_, load) = run(&mut card, Request::LoadValue { message: &load });
    generator::ok(&mut card, Request::HashInit);
    generator::ok(
        &mut card,
        Request::HashUpdate {
            data: generator::LETTER,
        },
    );
    let (postmark, pm) = run(&mut card, Request::Postmark);
    let certificate = generator::ok(&mut card, Request::ReadCertificate { slot: 0 });
    let file = [postmark, certificate].concat();
    generator::ok(&mut card, Request::HashInit);
    generator::ok(
        &mut card,
        Request::HashUpdate {
            data: generator::LETTER,
        },
    );
    let (verdict, verify) = run(
        &mut card,
        Request::VerifyPostmark {
            file: &file,
            with_crl: false,
        },
    );
    assert_eq!(verdict[..3], [0xE2, 0x0D, 0x80]);
    assert_eq!(verdict[4], 0, "a valid postmark");
    [
        ("PERSONALIZE", personalize),
        ("LOAD VALUE", load),
        ("POSTMARK", pm),
        ("VERIFY POSTMARK", verify),
    ]
}

#[test]
fn charged_commands_stay_within_their_write_budgets() {
    let figures = measure();
    for (name, s) in &figures {
        eprintln!(
            "{name}: {} logical writes, {} raw writes, {} journal bytes",
            s.logical_writes, s.raw_writes, s.journal_bytes
        );
    }
    let postmark = figures[2].1;
    assert!(
        postmark.logical_writes <= budget::POSTMARK_LOGICAL_WRITES,
        "POSTMARK: {postmark:?}"
    );
    assert!(
        postmark.journal_bytes <= budget::POSTMARK_JOURNAL_BYTES,
        "POSTMARK: {postmark:?}"
    );
    // Every charge: its register record and its counters record (the
    // charged operations since the last contact are the sequence in the
    // counters: nothing more to write). A load, an authority contact, also
    // writes the contact record.
    assert_eq!(
        figures[1].1.logical_writes, 3,
        "LOAD VALUE: {:?}",
        figures[1].1
    );
    for (name, s) in &figures[2..] {
        assert_eq!(s.logical_writes, 2, "{name}: {s:?}");
    }
    // The counters are per command: a command that writes nothing shows 0.
    let tmp = tempfile::tempdir().unwrap();
    let mut card = StateFile::create(&tmp.path().join("c.sim"), true, Default::default()).unwrap();
    generator::ok(&mut card, Request::Select { aid: AID });
    assert_eq!(card.card().last_command_stats(), StoreStats::default());
}

/// POSTAGE (a postage indicium) on a card whose rate table prices the
/// Indicium service: the fee's register record, the postage register
/// record and the counters, within `budget::POSTAGE_*`.
#[test]
fn postage_stays_within_its_write_budget() {
    let tmp = tempfile::tempdir().unwrap();
    let mut card = StateFile::create(
        &tmp.path().join("card.sim"),
        true,
        applet_sim::sim::SimConfig::deterministic(generator::SEED, generator::TIME)
            .with_issuer_root(generator::root_public()),
    )
    .unwrap();
    generator::ok(&mut card, Request::Select { aid: AID });
    generator::ok(
        &mut card,
        Request::Verify {
            pin: Some(DEFAULT_PIN),
        },
    );
    generator::change_transport_pin(&mut card);
    let key = generator::ok(&mut card, Request::GenerateKey { generate: true });
    let public_key = key[key.len() - 65..].to_vec();
    let status = generator::ok(&mut card, Request::GetData(DataObject::Status));
    let chip_id = generator::find(generator::find(&status, 0xE0).unwrap(), 0x81)
        .unwrap()
        .to_vec();
    let challenge = generator::ok(&mut card, Request::GetChallenge);
    let indicium = apdu::meter::Service::Indicium as u8;
    let message =
        generator::personalization_priced(&chip_id, &challenge, &public_key, &[(indicium, 55)]);
    generator::ok(&mut card, Request::Personalize { message: &message });
    for (number, register) in [(1, 2), (2, 1)] {
        let load = generator::value_load_into(&chip_id, number, register, generator::LOAD);
        generator::ok(&mut card, Request::LoadValue { message: &load });
    }
    let request = [
        &[0x94, 8][..],
        &55u64.to_be_bytes(),
        &[0x98, 5],
        b"10001",
        &[0x99, 5],
        b"94105",
        &[0x9A, 11],
        b"FIRST-CLASS",
    ]
    .concat();
    let (_, stats) = run(&mut card, Request::Postage { request: &request });
    eprintln!(
        "POSTAGE: {} logical writes, {} raw writes, {} journal bytes",
        stats.logical_writes, stats.raw_writes, stats.journal_bytes
    );
    assert_eq!(
        stats.logical_writes,
        budget::POSTAGE_LOGICAL_WRITES,
        "{stats:?}"
    );
    assert!(
        stats.journal_bytes <= budget::POSTAGE_JOURNAL_BYTES,
        "{stats:?}"
    );
}

/// The store counts what it does: one logical write is a journal entry
/// (header, saved bytes), the length word and the data; the commit is one
/// more physical write; the journal peak counts headers and saved bytes.
#[test]
fn the_store_counts_logical_and_physical_writes_and_journal_bytes() {
    let mut s = applet_sim::Store::new();
    s.begin().unwrap();
    s.write(0, &[1; 10]).unwrap();
    s.write(100, &[2; 100]).unwrap();
    s.commit().unwrap();
    let stats = s.stats();
    assert_eq!(stats.logical_writes, 2);
    // 10 bytes: header, 1 piece, length, data; 100 bytes: 2 pieces.
    assert_eq!(stats.raw_writes, 4 + 5 + 1);
    assert_eq!(stats.raw_writes, s.writes());
    assert_eq!(stats.journal_bytes, (4 + 10) + (4 + 100));
    s.reset_stats();
    assert_eq!(s.stats(), StoreStats::default());
}
