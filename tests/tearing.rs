//! Power cut at every persistent write of the charged commands: after each
//! power-up ascending + descending = loaded, the piece count moved together
//! with the registers, and no postmark left the card without its debit.

use apdu::meter::Request;
use applet_sim::sim::{Card, SimConfig};
use authority::Authority;
use reader::meter::Status;
use reader::sim::MemoryTransport;
use reader::{Meter, Transport};
use vectors::Funded;
#[path = "install_support.rs"]
mod install_support;

const TIME: u64 = 1_800_000_000;
const FUNDS: u64 = 1_000;

/// The card of these tests: personalized, FUNDS in its certificate register.
const FUNDED: Funded = Funded {
    card: vectors::CardSpec {
        seed: 11,
        time: TIME,
        issuer_root: None,
        unattested: false,
    },
    authority: "CERTMETER-CA",
    authority_seed: 5,
    serial: "TEAR-1",
    funds: FUNDS,
};

fn personalized() -> (Card, Authority) {
    FUNDED.card().unwrap()
}

fn copy(card: &Card) -> Card {
    Card::from_image(card.store().image(), FUNDED.sim_config()).unwrap()
}

fn status(card: Card) -> (Status, Card) {
    let mut m = Meter::new(MemoryTransport::new(card, true));
    m.select().unwrap();
    let s = m.status().unwrap();
    let card = m.into_transport().into_card();
    (s, card)
}

fn send(card: &mut Card, r: Request<'_>) -> Result<Vec<u8>, applet_sim::sim::SimError> {
    card.transmit(&r.to_command().to_vec().unwrap())
}

/// Selects, verifies the PIN and hashes a message: RAM only, no writes.
/// SELECT and VERIFY (the owner PIN) on a raw card.
fn open_raw(card: &mut Card) {
    for r in [
        Request::Select {
            aid: apdu::meter::AID,
        },
        Request::Verify {
            pin: Some(vectors::fixture::OWNER_PIN),
        },
    ] {
        let out = send(card, r).unwrap();
        assert_eq!(out[out.len() - 2..], [0x90, 0x00], "{r:?}");
    }
}

/// [`open_raw`], then a hash in progress (for POSTMARK, VERIFY POSTMARK).
fn prepare(card: &mut Card) {
    open_raw(card);
    for r in [Request::HashInit, Request::HashUpdate { data: b"a letter" }] {
        let out = send(card, r).unwrap();
        assert_eq!(out[out.len() - 2..], [0x90, 0x00], "{r:?}");
    }
}

fn check_invariants(s: &Status, before: &Status, fee: u64, n: u64) {
    let reg = &s.registers.certificate;
    assert_eq!(
        reg.ascending + reg.descending,
        FUNDS,
        "cut at write {n}: control total"
    );
    let charged = reg.ascending - before.registers.certificate.ascending;
    let pieces = s.piece_counts.certificate - before.piece_counts.certificate;
    let marks = s.postmarks - before.postmarks;
    assert!(
        (charged, pieces, marks) == (0, 0, 0) || (charged, pieces, marks) == (fee, 1, 1),
        "cut at write {n}: charged {charged}, pieces {pieces}, postmarks {marks}"
    );
}

#[test]
fn postmark_torn_at_every_write() {
    let (base, authority) = personalized();
    let fee = authority.rate(apdu::meter::Service::Postmark).unwrap();
    let (before, base) = status(base);
    // Count the writes of one postmark.
    let mut probe = copy(&base);
    prepare(&mut probe);
    let w0 = probe.store().writes();
    let pm = send(&mut probe, Request::Postmark).unwrap();
    assert_eq!(pm[pm.len() - 2..], [0x90, 0x00]);
    let writes = probe.store().writes() - w0;
    eprintln!("a postmark makes {writes} persistent writes; cutting at each");
    // Layout v2: the register record and the counters record, each a
    // journal entry (header, saved bytes), the length word and the data,
    // then the commit.
    assert!(
        writes >= 9,
        "a postmark is a multi-write transaction: {writes}"
    );

    let mut committed = 0;
    for n in 1..=writes {
        let mut card = copy(&base);
        prepare(&mut card);
        card.tear_at_write(n);
        let answer = send(&mut card, Request::Postmark);
        assert!(
            answer.is_err(),
            "cut at write {n}: a postmark left the card"
        );
        card.power_on();
        let (after, _) = status(card);
        check_invariants(&after, &before, fee, n);
        committed += u32::from(after.postmarks != before.postmarks);
    }
    // Only the commit write makes it durable, and the cut falls before it
    // completes: every torn postmark is rolled back.
    assert_eq!(committed, 0);
}

#[test]
fn value_load_torn_at_every_write() {
    let (base, mut authority) = personalized();
    let (before, base) = status(base);
    let message = authority
        .value_load(
            "TEAR-1",
            apdu::meter::RegisterId::Certificate,
            500,
            before.load_count + 1,
        )
        .unwrap();
    let load = Request::LoadValue { message: &message };
    let mut probe = copy(&base);
    send(
        &mut probe,
        Request::Select {
            aid: apdu::meter::AID,
        },
    )
    .unwrap();
    let w0 = probe.store().writes();
    let receipt = send(&mut probe, load).unwrap();
    assert_eq!(receipt[receipt.len() - 2..], [0x90, 0x00]);
    let writes = probe.store().writes() - w0;
    eprintln!("a value load makes {writes} persistent writes; cutting at each");
    for n in 1..=writes {
        let mut card = copy(&base);
        send(
            &mut card,
            Request::Select {
                aid: apdu::meter::AID,
            },
        )
        .unwrap();
        card.tear_at_write(n);
        assert!(
            send(&mut card, load).is_err(),
            "cut at write {n}: a receipt left the card"
        );
        card.power_on();
        let (after, mut card) = status(card);
        let reg = &after.registers.certificate;
        // Not applied: all as before, and the same message still loads once.
        assert_eq!(
            (reg.ascending, reg.descending),
            (0, FUNDS),
            "cut at write {n}"
        );
        assert_eq!(after.load_count, before.load_count, "cut at write {n}");
        send(
            &mut card,
            Request::Select {
                aid: apdu::meter::AID,
            },
        )
        .unwrap();
        let again = send(&mut card, load).unwrap();
        assert_eq!(
            again[again.len() - 2..],
            [0x90, 0x00],
            "cut at write {n}: retry"
        );
        let replay = send(&mut card, load).unwrap();
        assert_eq!(replay, [0x69, 0x84], "cut at write {n}: replay");
    }
}

/// A receipt that never reaches the authority (the host crashed after the
/// card committed the load): the next load's receipt proves it was applied,
/// and the authority's totals meet the card's again.
#[test]
fn a_lost_receipt_is_confirmed_by_the_next_load() {
    let (card, mut authority) = personalized();
    let message = authority
        .value_load("TEAR-1", apdu::meter::RegisterId::Certificate, 500, 2)
        .unwrap();
    let mut card = card;
    send(
        &mut card,
        Request::Select {
            aid: apdu::meter::AID,
        },
    )
    .unwrap();
    let receipt = send(&mut card, Request::LoadValue { message: &message }).unwrap();
    assert_eq!(receipt[receipt.len() - 2..], [0x90, 0x00]);
    // ... and the receipt is lost.
    let loaded = |a: &Authority| {
        a.total_loaded("TEAR-1", apdu::meter::RegisterId::Certificate)
            .unwrap()
    };
    assert_eq!(loaded(&authority), FUNDS);

    let mut m = Meter::new(MemoryTransport::new(card, true));
    m.select().unwrap();
    reader::value::load(
        &mut m,
        &mut authority,
        apdu::meter::RegisterId::Certificate,
        300,
    )
    .unwrap();
    let s = m.status().unwrap();
    assert_eq!(s.registers.certificate.control_total, FUNDS + 800);
    assert_eq!(loaded(&authority), FUNDS + 800);
    let loads = authority.loads("TEAR-1").unwrap();
    assert!(loads.iter().all(|l| l.confirmed_at.is_some()), "{loads:?}");
}

/// A postmark no verifier would accept is not sold: past the meter
/// certificate's expiry the card refuses and charges nothing: locked by
/// time first (9404: five years without an authority contact), and with a
/// policy without a time limit, by the certificate's expiry (6985), by the
/// card's clock either way.
#[test]
fn no_postmark_after_the_certificate_expires() {
    let (mut base, _) = personalized();
    let later = TIME + authority::CERTIFICATE_VALIDITY + 1;
    let mut card =
        Card::from_image(base.store().image(), SimConfig::deterministic(11, later)).unwrap();
    prepare(&mut card);
    let before = card.store().data().to_vec();
    assert_eq!(send(&mut card, Request::Postmark).unwrap(), [0x94, 0x04]);
    assert_eq!(card.store().data(), &before[..]);
    // No time limit in the policy: the certificate's expiry still stops it.
    let s = base.store_mut();
    let mut contact = applet_sim::contact::Contact::read(s).unwrap();
    contact.policy.service_days = 0;
    s.begin().unwrap();
    contact.write(s).unwrap();
    s.commit().unwrap();
    let mut card =
        Card::from_image(base.store().image(), SimConfig::deterministic(11, later)).unwrap();
    prepare(&mut card);
    let before = card.store().data().to_vec();
    assert_eq!(send(&mut card, Request::Postmark).unwrap(), [0x69, 0x85]);
    assert_eq!(card.store().data(), &before[..]);
}

/// A counter at the end of its 4-byte field refuses the charge (6A84)
/// instead of wrapping to 0; the registers and counters stay as they were.
#[test]
fn a_counter_at_its_end_refuses_instead_of_wrapping() {
    use applet_sim::layout::{CERTIFICATE_PIECES, POSTMARK_COUNT, SEQUENCE};
    for field in [CERTIFICATE_PIECES, POSTMARK_COUNT, SEQUENCE] {
        let (mut card, _) = personalized();
        let s = card.store_mut();
        s.begin().unwrap();
        field.set(s, u64::from(u32::MAX)).unwrap();
        // As if the last contact were just before: not locked by debits.
        let mut contact = applet_sim::contact::Contact::read(s).unwrap();
        contact.sequence = SEQUENCE.get(s).unwrap();
        contact.write(s).unwrap();
        s.commit().unwrap();
        assert!(field.set(card.store_mut(), 1 << 32).is_err());
        // The object area; the journal keeps the aborted entries' bytes.
        let data = |c: &Card| c.store().image()[..applet_sim::budget::DATA_CAPACITY].to_vec();
        let before = data(&card);
        prepare(&mut card);
        assert_eq!(
            send(&mut card, Request::Postmark).unwrap(),
            [0x6A, 0x84],
            "{field:?}"
        );
        assert!(
            data(&card) == before,
            "{field:?}: the refused postmark changed the card"
        );
    }
}

/// A transport whose card is pulled when LOAD VALUE goes out.
struct PulledOnLoad(MemoryTransport);

impl reader::Transport for PulledOnLoad {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, reader::TransportError> {
        if command.get(1) == Some(&apdu::meter::ins::LOAD_VALUE) {
            return Err(reader::TransportError::CardRemoved);
        }
        self.0.transmit(command)
    }
    fn supports_extended(&self) -> bool {
        self.0.supports_extended()
    }
    fn atr(&self) -> &[u8] {
        self.0.atr()
    }
    fn reset(&mut self) -> Result<(), reader::TransportError> {
        self.0.reset()
    }
    fn exclusive(&mut self, f: &mut reader::transport::Exclusive<'_>) -> Result<(), reader::Error> {
        f(self)
    }
}

/// Personalization done but the initial load lost: the error says the
/// card is personalized and how to load the funds, and `load` then works.
#[test]
fn funds_lost_after_personalization_are_reported_and_loadable() {
    let fixture = Funded {
        serial: "TEAR-2",
        ..FUNDED
    };
    let mut authority = fixture.authority().unwrap();
    let card = fixture.blank_card().unwrap();
    let mut m = Meter::new(PulledOnLoad(MemoryTransport::new(card, true)));
    let e = match fixture.personalize(&mut m, &mut authority) {
        Err(vectors::FixtureError::Reader(e)) => e,
        other => panic!("{other:?}"),
    };
    assert!(
        matches!(&e, reader::Error::FundsNotLoaded { serial, .. } if serial == "TEAR-2"),
        "{e}"
    );
    assert!(e.hint().unwrap().contains("meter load"), "{e}");
    let mut m = Meter::new(m.into_transport().0);
    let s = m.status().unwrap();
    assert!(s.personalized);
    assert_eq!(s.registers.certificate.descending, 0);
    reader::value::load(
        &mut m,
        &mut authority,
        apdu::meter::RegisterId::Certificate,
        FUNDS,
    )
    .unwrap();
    assert_eq!(m.status().unwrap().registers.certificate.descending, FUNDS);
}

/// STORE ATTESTATION CERTIFICATE cut at every write: after power-up the
/// card has either no attestation certificate (and takes it again) or the
/// whole one, never a part; nothing else changed.
#[test]
fn store_attestation_torn_at_every_write() {
    let authority = FUNDED.authority().unwrap();
    let base = Card::manufacture(FUNDED.sim_config()).unwrap();
    let mut probe = Meter::new(MemoryTransport::new(
        Card::from_image(base.store().image(), FUNDED.sim_config()).unwrap(),
        true,
    ));
    probe.select().unwrap();
    let chip: [u8; 8] = hex::decode(probe.status().unwrap().chip_id)
        .unwrap()
        .try_into()
        .unwrap();
    let (key, _) = probe.read_attestation().unwrap();
    let cert = authority.certify_attestation(&chip, &key).unwrap();
    let mut card = probe.into_transport().into_card();
    let w0 = card.store().writes();
    let out = send(&mut card, Request::StoreAttestation { certificate: &cert }).unwrap();
    assert_eq!(out, [0x90, 0x00]);
    let writes = card.store().writes() - w0;
    eprintln!("STORE ATTESTATION CERTIFICATE makes {writes} persistent writes; cutting at each");
    assert!(writes >= 5, "{writes}");
    let stored = card.store().data().to_vec();
    for n in 1..=writes {
        let mut card = copy(&base);
        send(
            &mut card,
            Request::Select {
                aid: apdu::meter::AID,
            },
        )
        .unwrap();
        card.tear_at_write(n);
        assert!(
            send(&mut card, Request::StoreAttestation { certificate: &cert }).is_err(),
            "cut at write {n}: answered"
        );
        card.power_on();
        let mut m = Meter::new(MemoryTransport::new(card, true));
        m.select().unwrap();
        match m.read_attestation().unwrap().1 {
            None => {
                assert_eq!(
                    m.transport().card().store().data(),
                    base.store().data(),
                    "cut at write {n}: rolled back"
                );
                m.store_attestation(&cert).unwrap();
            }
            Some(c) => assert_eq!(c, cert, "cut at write {n}"),
        }
        assert_eq!(
            m.transport().card().store().data(),
            &stored[..],
            "cut at write {n}"
        );
    }
}

/// VERIFY with the right PIN, cut at every write (the committed decrement,
/// then the reset of the try counter): after power-up the PIN is not
/// verified, and the counter is as it was, back at 3, or down by the one
/// try in flight, never more, never above 3; the next right VERIFY gives
/// it back.
/// A cut gives back nothing (a wrong PIN's try stays spent) and costs no
/// more than that one try.
#[test]
fn verify_torn_at_every_write() {
    let (base, _) = personalized();
    let pin = vectors::fixture::OWNER_PIN;
    let mut probe = copy(&base);
    send(
        &mut probe,
        Request::Select {
            aid: apdu::meter::AID,
        },
    )
    .unwrap();
    let w0 = probe.store().writes();
    let out = send(&mut probe, Request::Verify { pin: Some(pin) }).unwrap();
    assert_eq!(out, [0x90, 0x00]);
    let writes = probe.store().writes() - w0;
    eprintln!("a right VERIFY makes {writes} persistent writes; cutting at each");
    assert!(writes >= 6, "{writes}");
    for wrong_first in [false, true] {
        for n in 1..=writes {
            let mut card = copy(&base);
            let select = Request::Select {
                aid: apdu::meter::AID,
            };
            send(&mut card, select).unwrap();
            if wrong_first {
                let out = send(&mut card, Request::Verify { pin: Some(b"0000") }).unwrap();
                assert_eq!(out, [0x63, 0xC2]);
            }
            let before = if wrong_first { 2 } else { 3 };
            card.tear_at_write(n);
            assert!(send(&mut card, Request::Verify { pin: Some(pin) }).is_err());
            card.power_on();
            let (s, card) = status(card);
            assert!(
                [3, before, before - 1].contains(&s.pin_tries),
                "cut at write {n}: {} tries (had {before})",
                s.pin_tries
            );
            let mut m = Meter::new(MemoryTransport::new(card, true));
            m.select().unwrap();
            // Not verified after the cut: a PIN-protected command refuses.
            assert_eq!(
                m.transport()
                    .transmit(&Request::Postmark.to_command().to_vec().unwrap())
                    .unwrap(),
                [0x69, 0x82]
            );
            m.verify_pin(pin).unwrap();
            assert_eq!(m.status().unwrap().pin_tries, 3, "cut at write {n}");
        }
    }
}

/// RESET RETRY COUNTER cut at every write: after power-up the card has
/// either its old (blocked) PIN, or the new one with 3 tries, never a mix;
/// the challenge is used up either way.
#[test]
fn unblock_torn_at_every_write() {
    let (mut base, mut authority) = personalized();
    // Block the PIN.
    send(
        &mut base,
        Request::Select {
            aid: apdu::meter::AID,
        },
    )
    .unwrap();
    for _ in 0..3 {
        send(&mut base, Request::Verify { pin: Some(b"0000") }).unwrap();
    }
    base.reset();
    let (blocked, base) = status(base);
    assert_eq!(blocked.pin_tries, 0);
    let chip: [u8; 8] = hex::decode(&blocked.chip_id).unwrap().try_into().unwrap();
    let serial = blocked.serial.clone().unwrap();
    let new_pin = b"97531";
    // The data of one unblock, for a card whose next challenge is known:
    // every copy of `base` draws the same challenge.
    let mut probe = copy(&base);
    send(
        &mut probe,
        Request::Select {
            aid: apdu::meter::AID,
        },
    )
    .unwrap();
    let mut challenge = send(&mut probe, Request::GetChallenge).unwrap();
    challenge.truncate(16);
    let challenge: [u8; 16] = challenge.try_into().unwrap();
    let mut messages = Vec::new();
    let unblock_data = |authority: &mut Authority, messages: &mut Vec<Vec<u8>>| {
        authority.approve_unblock(&serial).unwrap();
        let m = authority.unblock(&serial, &chip, &challenge).unwrap();
        messages.push(m.clone());
        [m, new_pin.to_vec()].concat()
    };
    let data = unblock_data(&mut authority, &mut messages);
    let w0 = probe.store().writes();
    let out = send(
        &mut probe,
        Request::Unblock {
            message_then_pin: &data,
        },
    )
    .unwrap();
    assert_eq!(out, [0x90, 0x00]);
    let writes = probe.store().writes() - w0;
    eprintln!("RESET RETRY COUNTER makes {writes} persistent writes; cutting at each");
    assert!(writes >= 6, "{writes}");
    for n in 1..=writes {
        let mut card = copy(&base);
        let select = Request::Select {
            aid: apdu::meter::AID,
        };
        send(&mut card, select).unwrap();
        let c = send(&mut card, Request::GetChallenge).unwrap();
        assert_eq!(&c[..16], &challenge[..]);
        card.tear_at_write(n);
        assert!(
            send(
                &mut card,
                Request::Unblock {
                    message_then_pin: &data
                }
            )
            .is_err()
        );
        card.power_on();
        let (s, card) = status(card);
        let mut m = Meter::new(MemoryTransport::new(card, true));
        m.select().unwrap();
        if s.pin_tries == 0 {
            // Rolled back: still blocked; the message's challenge is gone.
            let again = m
                .transport()
                .transmit(
                    &Request::Unblock {
                        message_then_pin: &data,
                    }
                    .to_command()
                    .to_vec()
                    .unwrap(),
                )
                .unwrap();
            assert_eq!(again, [0x69, 0x84], "cut at write {n}: replayed");
            assert_eq!(m.status().unwrap().pin_tries, 0);
        } else {
            assert_eq!(s.pin_tries, 3, "cut at write {n}");
            m.verify_pin(new_pin).unwrap();
        }
    }
}

/// SYNC cut at every write: after power-up the card has either its old
/// counters and contact record (still locked) or the new ones (unlocked),
/// never a mix; its registers never move.
#[test]
fn sync_torn_at_every_write() {
    let (base, mut authority) = personalized();
    let later = TIME + 200 * 24 * 3600;
    authority.set_clock(Some(later));
    let reopen = |image: &[u8; applet_sim::budget::PERSISTENT_CAPACITY]| {
        Card::from_image(image, SimConfig::deterministic(11, later)).unwrap()
    };
    let (before, base) = status(reopen(base.store().image()));
    assert!(before.service.as_ref().unwrap().locked, "{before:?}");
    let chip: [u8; 8] = hex::decode(&before.chip_id).unwrap().try_into().unwrap();
    let serial = before.serial.clone().unwrap();
    let mut probe = reopen(base.store().image());
    let select = Request::Select {
        aid: apdu::meter::AID,
    };
    send(&mut probe, select).unwrap();
    let challenge: [u8; 16] = send(&mut probe, Request::GetChallenge).unwrap()[..16]
        .try_into()
        .unwrap();
    let message = authority.sync(&serial, &chip, &challenge).unwrap();
    let w0 = probe.store().writes();
    let out = send(&mut probe, Request::Sync { message: &message }).unwrap();
    assert_eq!(out, [0x90, 0x00]);
    let writes = probe.store().writes() - w0;
    eprintln!("SYNC makes {writes} persistent writes; cutting at each");
    let (synced, _) = status(probe);
    assert!(!synced.service.as_ref().unwrap().locked);
    for n in 1..=writes {
        let mut card = reopen(base.store().image());
        send(&mut card, select).unwrap();
        send(&mut card, Request::GetChallenge).unwrap();
        card.tear_at_write(n);
        assert!(send(&mut card, Request::Sync { message: &message }).is_err());
        card.power_on();
        let (after, _) = status(card);
        assert_eq!(after.registers, before.registers, "cut at write {n}");
        let old = (before.clock, before.deadline, &before.service);
        let new = (synced.clock, synced.deadline, &synced.service);
        let got = (after.clock, after.deadline, &after.service);
        assert!(got == old || got == new, "cut at write {n}: {got:?}");
    }
}

/// Figure 3A: ISSUE CERTIFICATE cut at every write: never a certificate
/// out without its charge, never a charge without the piece and the
/// sequence moving with it; after the power-up nothing was charged, and the
/// same request then goes through, charged once.
#[test]
fn issue_certificate_torn_at_every_write() {
    use apdu::cmd::issue_certificate::IssueRequest;
    let (base, authority) = personalized();
    let fee = authority
        .rate(apdu::meter::Service::IssueCertificate)
        .unwrap();
    let (before, base) = status(base);
    let receiver = p256::SecretKey::from_slice(&[0x42; 32]).unwrap();
    let point = apdu::channel::encode_point(&receiver.public_key());
    let mut buf = [0u8; 200];
    let mut w = apdu::tlv::Writer::new(&mut buf);
    IssueRequest {
        holder: b"alice",
        receiver: &point,
        usage: apdu::cert::usage::SIGNING,
        days: 30,
    }
    .write(&mut w)
    .unwrap();
    let data = w.written().to_vec();
    let issue = Request::IssueCertificate { request: &data };
    let mut probe = copy(&base);
    open_raw(&mut probe);
    let w0 = probe.store().writes();
    let answer = send(&mut probe, issue).unwrap();
    // The answer is longer than 256 bytes: 61xx, then GET RESPONSE.
    assert_eq!(answer[answer.len() - 2], 0x61);
    let writes = probe.store().writes() - w0;
    eprintln!("a certificate makes {writes} persistent writes; cutting at each");
    assert!(writes >= 9, "a multi-write transaction: {writes}");
    for n in 1..=writes {
        let mut card = copy(&base);
        open_raw(&mut card);
        card.tear_at_write(n);
        assert!(
            send(&mut card, issue).is_err(),
            "cut at write {n}: a certificate left the card"
        );
        card.power_on();
        let (after, mut card) = status(card);
        let reg = &after.registers.certificate;
        assert_eq!(reg.ascending + reg.descending, FUNDS, "cut at write {n}");
        assert_eq!(
            (
                reg.ascending,
                after.piece_counts.certificate,
                after.sequence
            ),
            (
                before.registers.certificate.ascending,
                before.piece_counts.certificate,
                before.sequence
            ),
            "cut at write {n}: charged without a certificate"
        );
        open_raw(&mut card);
        let again = send(&mut card, issue).unwrap();
        assert_eq!(again[again.len() - 2], 0x61, "cut at write {n}: retry");
        let (after, _) = status(card);
        assert_eq!(
            after.registers.certificate.ascending,
            before.registers.certificate.ascending + fee,
            "cut at write {n}: retry charged once"
        );
    }
}

/// REVOKE (Figure 6) cut at every write, paid (624) and due (620): after
/// power-up the certificate is either not revoked with the registers and
/// the fee due untouched, or revoked with exactly the Revoke fee deducted
/// (or recorded as due); a cut command answers nothing, so no confirmation
/// ever leaves the card without its revocation. REVOKE REQUEST writes
/// nothing.
#[test]
fn revoke_torn_at_every_write() {
    for (funds, paid) in [(FUNDS, true), (50, false)] {
        let fixture = Funded { funds, ..FUNDED };
        let (base, mut authority) = fixture.card().unwrap();
        let fee = authority.rate(apdu::meter::Service::Revoke).unwrap();
        let (before, base) =
            status(Card::from_image(base.store().image(), fixture.sim_config()).unwrap());
        let reopen = |image: &[u8; applet_sim::budget::PERSISTENT_CAPACITY]| {
            Card::from_image(image, fixture.sim_config()).unwrap()
        };
        let select = Request::Select {
            aid: apdu::meter::AID,
        };
        let verify = Request::Verify {
            pin: Some(vectors::fixture::OWNER_PIN),
        };
        let mut probe = reopen(base.store().image());
        send(&mut probe, select).unwrap();
        send(&mut probe, verify).unwrap();
        send(&mut probe, Request::GetChallenge).unwrap();
        let w0 = probe.store().writes();
        let request = send(&mut probe, Request::RevokeRequest { slot: 0, reason: 1 }).unwrap();
        assert_eq!(probe.store().writes(), w0, "REVOKE REQUEST writes nothing");
        let message = authority
            .revocation_message(&request[..request.len() - 2])
            .unwrap();
        let w0 = probe.store().writes();
        let out = send(&mut probe, Request::Revoke { message: &message }).unwrap();
        assert_eq!(out[out.len() - 2..], [0x90, 0x00]);
        let writes = probe.store().writes() - w0;
        eprintln!(
            "REVOKE ({}) makes {writes} persistent writes; cutting at each",
            if paid { "paid" } else { "due" }
        );
        let revoked = |card: &Card| applet_sim::certificates::revoked(card.store(), 0).unwrap();
        let due = |card: &Card| {
            applet_sim::layout::REVOCATION_DUE
                .get(card.store())
                .unwrap()
        };
        assert!(revoked(&probe));
        for n in 1..=writes {
            let mut card = reopen(base.store().image());
            send(&mut card, select).unwrap();
            send(&mut card, Request::GetChallenge).unwrap();
            // The challenge is the one the message is bound to: same seed,
            // same sequence of random numbers as the probe's.
            card.tear_at_write(n);
            assert!(
                send(&mut card, Request::Revoke { message: &message }).is_err(),
                "cut at write {n}: no answer, so no confirmation"
            );
            card.power_on();
            let (is_revoked, now_due) = (revoked(&card), due(&card));
            let (after, _) = status(card);
            let charged =
                after.registers.certificate.ascending - before.registers.certificate.ascending;
            let pieces = after.piece_counts.certificate - before.piece_counts.certificate;
            assert_eq!(
                after.registers.certificate.ascending + after.registers.certificate.descending,
                before.registers.certificate.ascending + before.registers.certificate.descending,
                "cut at write {n}: control total"
            );
            if is_revoked {
                if paid {
                    assert_eq!((charged, pieces, now_due), (fee, 1, 0), "cut at write {n}");
                } else {
                    assert_eq!((charged, pieces, now_due), (0, 0, fee), "cut at write {n}");
                }
            } else {
                assert_eq!((charged, pieces, now_due), (0, 0, 0), "cut at write {n}");
            }
        }
    }
}

/// KEY UPDATE cut at every write: after power-up the card holds either the
/// old authority key alone or the next key with the old one in slot 1,
/// never a mix; its registers never move.
#[test]
fn key_update_torn_at_every_write() {
    let (base, mut authority) = personalized();
    let (before, base) = status(copy(&base));
    let chip: [u8; 8] = hex::decode(&before.chip_id).unwrap().try_into().unwrap();
    let serial = before.serial.clone().unwrap();
    let next = authority::keys::from_seed(77);
    let next_cert = authority.certify_next_key(&next).unwrap();
    let select = Request::Select {
        aid: apdu::meter::AID,
    };
    let mut probe = copy(&base);
    send(&mut probe, select).unwrap();
    let challenge: [u8; 16] = send(&mut probe, Request::GetChallenge).unwrap()[..16]
        .try_into()
        .unwrap();
    let message = authority
        .key_update(&serial, &chip, &challenge, &next_cert)
        .unwrap();
    let w0 = probe.store().writes();
    let out = send(&mut probe, Request::KeyUpdate { message: &message }).unwrap();
    assert_eq!(out, [0x90, 0x00]);
    let writes = probe.store().writes() - w0;
    eprintln!("KEY UPDATE makes {writes} persistent writes; cutting at each");
    let keys = |card: &Card| {
        let s = card.store();
        (
            applet_sim::layout::AUTHORITY_KEY_COUNT.get(s).unwrap(),
            applet_sim::layout::AUTHORITY_KEYS.read(s).unwrap().to_vec(),
        )
    };
    let old = keys(&base);
    let new = keys(&probe);
    assert_ne!(old, new);
    for n in 1..=writes {
        let mut card = copy(&base);
        send(&mut card, select).unwrap();
        send(&mut card, Request::GetChallenge).unwrap();
        card.tear_at_write(n);
        assert!(send(&mut card, Request::KeyUpdate { message: &message }).is_err());
        card.power_on();
        let got = keys(&card);
        assert!(got == old || got == new, "cut at write {n}: a mix of keys");
        let (after, _) = status(card);
        assert_eq!(after.registers, before.registers, "cut at write {n}");
    }
}

/// The channel commands (CHANNEL KEY, OPEN CHANNEL, CHANNEL HELLO, CHANNEL
/// MESSAGE) make no persistent write, so there is no write to cut: a cut
/// armed at the first write never fires and the image stays the same. A
/// power cut between them (power-up) drops the handshake and the channel:
/// the next message finds no channel (`6985`), the hello no handshake.
#[test]
fn channel_commands_have_no_write_to_cut() {
    use apdu::channel::{AuthorityChannel, Request as ChannelRequest, decode_point};
    use apdu::cmd::channel::{CONFIRM, Registration};
    use apdu::tlv::Writer;

    let (mut card, _) = personalized();
    let image = card.store().image().to_vec();
    let select = Request::Select {
        aid: apdu::meter::AID,
    };
    send(&mut card, select).unwrap();
    let w0 = card.store().writes();
    card.tear_at_write(1);
    let reg = send(&mut card, Request::ChannelKey { nonce: &[3; 16] }).unwrap();
    let reg = &reg[..reg.len() - 2];
    let key = decode_point(Registration::parse(reg).unwrap().body.channel_key).unwrap();
    let request = send(&mut card, Request::OpenChannel).unwrap();
    let request = ChannelRequest::parse(&request[..request.len() - 2]).unwrap();
    let mut hello = [0u8; 512];
    let mut w = Writer::new(&mut hello);
    let signing = authority::keys::from_seed(FUNDED.authority_seed);
    let ephemeral = p256::SecretKey::from_slice(&[3; 32]).unwrap();
    let mut at = AuthorityChannel::accept(&mut w, &signing, ephemeral, &key, &request).unwrap();
    let n = w.len();
    let out = send(&mut card, Request::ChannelHello { hello: &hello[..n] }).unwrap();
    assert_eq!(out, [0x90, 0x00]);
    let seal = |at: &mut AuthorityChannel| {
        let mut buf = vec![0u8; 64];
        let mut w = Writer::new(&mut buf);
        w.put(CONFIRM, b"x").unwrap();
        let n = w.len();
        let len = at.seal(&mut buf, n).unwrap();
        buf.truncate(len);
        buf
    };
    let m = seal(&mut at);
    let out = send(&mut card, Request::ChannelMessage { sealed: &m }).unwrap();
    assert_eq!(out[out.len() - 2..], [0x90, 0x00]);
    assert_eq!(card.store().writes(), w0, "the channel commands wrote");
    assert_eq!(card.store().image(), &image[..]);
    // A power cut drops the channel.
    card.power_on();
    send(&mut card, select).unwrap();
    let m = seal(&mut at);
    let out = send(&mut card, Request::ChannelMessage { sealed: &m }).unwrap();
    assert_eq!(out, [0x69, 0x85]);
    assert_eq!(card.store().image(), &image[..]);
}

/// Figure 5: a power cut at every persistent write of INSTALL CERTIFICATE
/// leaves all or nothing: no key without its certificate, no certificate
/// without its charge (helpers: `certmeter_tests::install_support`).
mod install {
    use super::install_support::*;
    use apdu::meter::Request;
    use applet_sim::sim::Card;
    use reader::Meter;
    use reader::sim::MemoryTransport;
    use vectors::Funded;

    const FEE: u64 = 500;

    fn fixture(funds: u64) -> Funded {
        Funded {
            card: vectors::CardSpec {
                seed: 31,
                time: TIME,
                issuer_root: None,
                unattested: false,
            },
            authority: "CERTMETER-CA",
            authority_seed: 5,
            serial: "INST-1",
            funds,
        }
    }

    fn slot1(card: &Card) -> (bool, bool) {
        let s = card.store();
        (
            applet_sim::certificates::read(s, 1).is_ok(),
            matches!(applet_sim::certificates::key(s, 1), Ok(Some(_))),
        )
    }

    fn register(card: Card) -> (u64, u64, u64) {
        let mut m = Meter::new(MemoryTransport::new(card, true));
        m.select().unwrap();
        let s = m.status().unwrap();
        let r = s.registers.certificate;
        (r.ascending, r.descending, s.piece_counts.certificate.into())
    }

    /// A power cut at every persistent write of INSTALL CERTIFICATE: after the
    /// next power-up either nothing (no certificate, no key, no charge) or all
    /// (certificate and key in slot 1, exactly the fee and one piece).
    #[test]
    fn install_certificate_is_all_or_nothing_at_every_cut() {
        let f = fixture(1_000);
        let (base, _) = f.card().unwrap();
        let image = *base.store().image();
        let reopen = || Card::from_image(&image, f.sim_config()).unwrap();
        let (a0, d0, p0) = register(reopen());
        let authority_key = authority::keys::from_seed(5);
        // The probe: how many writes.
        let mut probe = reopen();
        let (mut at, pk) = card_with_request(&mut probe);
        let sealed = seal(
            &mut at,
            &install_plain(&certificate(&authority_key, &pk, b"bob")),
        );
        let w0 = probe.store().writes();
        ok(&mut probe, Request::InstallCertificate { sealed: &sealed });
        let writes = probe.store().writes() - w0;
        assert!(writes > 3, "{writes}");
        assert_eq!(slot1(&probe), (true, true));
        eprintln!(
            "INSTALL CERTIFICATE: {writes} physical writes; {:?}",
            probe.last_command_stats()
        );
        for n in 1..=writes {
            let mut card = reopen();
            let (mut at, pk) = card_with_request(&mut card);
            let sealed = seal(
                &mut at,
                &install_plain(&certificate(&authority_key, &pk, b"bob")),
            );
            card.tear_at_write(n);
            assert!(
                card.transmit(
                    &Request::InstallCertificate { sealed: &sealed }
                        .to_command()
                        .to_vec()
                        .unwrap()
                )
                .is_err(),
                "cut at write {n}"
            );
            card.power_on();
            let installed = slot1(&card);
            let (a, d, p) = register(card);
            match installed {
                (false, false) => assert_eq!((a, d, p), (a0, d0, p0), "cut at write {n}"),
                (true, true) => {
                    assert_eq!((a, d, p), (a0 + FEE, d0 - FEE, p0 + 1), "cut at write {n}")
                }
                other => panic!("cut at write {n}: certificate/key {other:?}"),
            }
        }
    }
}

/// POSTAGE (a postage indicium) cut at every write: after each power-up
/// both registers keep ascending + descending = loaded, the postage debit,
/// its piece and the fee are all there or none is, and no indicium left
/// the card (every cut falls before the commit completes).
#[test]
fn postage_torn_at_every_write() {
    const POSTAGE_LOADED: u64 = 500;
    const POSTAGE: u64 = 55;
    let (card, mut authority) = personalized();
    let fee = authority.rate(apdu::meter::Service::Indicium).unwrap();
    let mut m = Meter::new(MemoryTransport::new(card, true));
    m.select().unwrap();
    reader::value::load(
        &mut m,
        &mut authority,
        apdu::meter::RegisterId::Postage,
        POSTAGE_LOADED,
    )
    .unwrap();
    let base = m.into_transport().into_card();
    let (before, base) = status(base);
    let request = reader::postage::PostageOrder {
        postage: POSTAGE,
        origin: "10001".into(),
        destination: "94105".into(),
        class: "FIRST-CLASS".into(),
        date: None,
    }
    .request()
    .unwrap();
    let postage = Request::Postage { request: &request };
    let mut probe = copy(&base);
    open_raw(&mut probe);
    let w0 = probe.store().writes();
    let indicium = send(&mut probe, postage).unwrap();
    assert_eq!(indicium[indicium.len() - 2..], [0x90, 0x00]);
    let writes = probe.store().writes() - w0;
    eprintln!("an indicium makes {writes} persistent writes; cutting at each");
    assert!(writes >= 13, "fee, postage and counters records: {writes}");

    let mut committed = 0;
    for n in 1..=writes {
        let mut card = copy(&base);
        open_raw(&mut card);
        card.tear_at_write(n);
        assert!(
            send(&mut card, postage).is_err(),
            "cut at write {n}: an indicium left the card"
        );
        card.power_on();
        let (after, _) = status(card);
        let (p, c) = (&after.registers.postage, &after.registers.certificate);
        assert_eq!(p.ascending + p.descending, POSTAGE_LOADED, "cut at {n}");
        assert_eq!(c.ascending + c.descending, FUNDS, "cut at {n}");
        let moved = (
            p.ascending - before.registers.postage.ascending,
            after.piece_counts.postage - before.piece_counts.postage,
            c.ascending - before.registers.certificate.ascending,
            after.piece_counts.certificate - before.piece_counts.certificate,
            u64::from(after.sequence - before.sequence),
        );
        assert!(
            moved == (0, 0, 0, 0, 0) || moved == (POSTAGE, 1, fee, 1, 1),
            "cut at write {n}: {moved:?}"
        );
        committed += u32::from(moved != (0, 0, 0, 0, 0));
    }
    assert_eq!(committed, 0);
}

/// A personalized card, selected with the PIN verified, and the line file
/// (creditor certificate and 7A of `line`) the creditor issued for it,
/// not yet stored: the card's request was postmarked (802) and the
/// creditor decided (804/808).
fn card_with_issued_line(line: u64) -> (Card, Authority, Vec<u8>) {
    use apdu::cmd::credit_line::CreditRequest;
    let (card, mut authority) = personalized();
    let mut m = Meter::new(MemoryTransport::new(card, true));
    vectors::fixture::open(&mut m).unwrap();
    let (serial, chip) = m.status().unwrap().identity().unwrap();
    let key: [u8; 65] = m.meter_public_key().unwrap().try_into().unwrap();
    let req = CreditRequest {
        serial: serial.as_bytes(),
        chip_id: &chip,
        public_key: &key,
        number: 1,
        amount: line,
    };
    let mut buf = vec![0u8; 512];
    let mut w = apdu::tlv::Writer::new(&mut buf);
    req.write(&mut w).unwrap();
    let mut file = w.written().to_vec();
    let pm = reader::postmark::postmark(&mut m, &mut file.as_slice()).unwrap();
    file.extend(pm);
    let line_file = authority.credit_line(&file).unwrap();
    (m.into_transport().into_card(), authority, line_file)
}

/// Figure 8, 810/812: STORE CREDIT LINE cut at every write leaves either
/// no line (number 0, nothing remaining, no file) or the line, its digest
/// and the full line remaining, never one without the other.
#[test]
fn store_credit_line_torn_at_every_write() {
    let (base, _authority, line_file) = card_with_issued_line(40_000);
    let store = Request::StoreCreditLine { file: &line_file };
    let mut probe = copy(&base);
    open_raw(&mut probe);
    let w0 = probe.store().writes();
    let out = send(&mut probe, store).unwrap();
    assert_eq!(out[out.len() - 2..], [0x90, 0x00]);
    let writes = probe.store().writes() - w0;
    let stats = probe.last_command_stats();
    eprintln!(
        "STORE CREDIT LINE makes {writes} persistent writes ({} logical, {} journal bytes); cutting at each",
        stats.logical_writes, stats.journal_bytes
    );
    let stored = applet_sim::credit::read(probe.store()).unwrap();
    assert_eq!((stored.number, stored.remaining), (1, 40_000));
    let digest = applet_sim::credit::digest(probe.store()).unwrap();
    let mut committed = 0;
    for n in 1..=writes {
        let mut card = copy(&base);
        open_raw(&mut card);
        card.tear_at_write(n);
        assert!(send(&mut card, store).is_err(), "cut at write {n}");
        card.power_on();
        let st = applet_sim::credit::read(card.store()).unwrap();
        let file = applet_sim::credit::file(card.store());
        if st.number == 0 {
            assert_eq!((st.line, st.remaining), (0, 0), "cut at write {n}");
            assert!(file.is_err(), "cut at write {n}: a file without its line");
        } else {
            committed += 1;
            assert_eq!(st, stored, "cut at write {n}");
            assert_eq!(file.unwrap(), &line_file[..], "cut at write {n}");
            assert_eq!(applet_sim::credit::digest(card.store()).unwrap(), digest);
        }
        // Either way the card takes the line (again) afterwards, once.
        open_raw(&mut card);
        let out = send(&mut card, store).unwrap();
        let want: [u8; 2] = if st.number == 0 {
            [0x90, 0x00]
        } else {
            [0x69, 0x84]
        };
        assert_eq!(out[out.len() - 2..], want, "cut at write {n}");
    }
    assert_eq!(committed, 0, "the cut falls before the commit completes");
}

/// Figure 9, 904-910: PAY cut at every write leaves either the payment
/// (credit remaining down by the amount, one more payment, the Payment fee
/// charged with its piece) and its certificate, or neither; no certificate
/// leaves a torn PAY, and the next PAY gets the serial the torn one did not
/// use.
#[test]
fn pay_torn_at_every_write() {
    let (mut base, authority, line_file) = card_with_issued_line(40_000);
    open_raw(&mut base);
    let out = send(&mut base, Request::StoreCreditLine { file: &line_file }).unwrap();
    assert_eq!(out[out.len() - 2..], [0x90, 0x00]);
    let fee = authority.rate(apdu::meter::Service::Payment).unwrap();
    let (before, base) = status(base);
    let credit_before = applet_sim::credit::read(base.store()).unwrap();
    let mut request = vec![0u8; 64];
    let mut w = apdu::tlv::Writer::new(&mut request);
    apdu::cmd::pay::PayRequest {
        amount: 12_345,
        merchant: b"SHOP-1",
    }
    .write(&mut w)
    .unwrap();
    let n = w.len();
    request.truncate(n);
    let pay = Request::Pay { request: &request };
    let mut probe = copy(&base);
    open_raw(&mut probe);
    let w0 = probe.store().writes();
    let out = send(&mut probe, pay).unwrap();
    assert_eq!(out[out.len() - 2..], [0x90, 0x00]);
    let writes = probe.store().writes() - w0;
    let stats = probe.last_command_stats();
    eprintln!(
        "PAY makes {writes} persistent writes ({} logical, {} journal bytes); cutting at each",
        stats.logical_writes, stats.journal_bytes
    );
    assert!(writes >= 9, "PAY is a multi-write transaction: {writes}");
    let paid = applet_sim::credit::read(probe.store()).unwrap();
    assert_eq!(paid.remaining, credit_before.remaining - 12_345);
    let mut committed = 0;
    for n in 1..=writes {
        let mut card = copy(&base);
        open_raw(&mut card);
        card.tear_at_write(n);
        assert!(
            send(&mut card, pay).is_err(),
            "cut at write {n}: a payment certificate left the card"
        );
        card.power_on();
        let st = applet_sim::credit::read(card.store()).unwrap();
        let (after, mut card) = status(card);
        let reg = &after.registers.certificate;
        let charged = reg.ascending - before.registers.certificate.ascending;
        let pieces = after.piece_counts.certificate - before.piece_counts.certificate;
        assert_eq!(
            reg.ascending + reg.descending,
            FUNDS,
            "cut at write {n}: control total"
        );
        let outcome = (st.remaining, st.payments, charged, pieces);
        assert!(
            outcome == (credit_before.remaining, credit_before.payments, 0, 0)
                || outcome == (paid.remaining, paid.payments, fee, 1),
            "cut at write {n}: {outcome:?}"
        );
        committed += u32::from(st.payments != credit_before.payments);
        // The next PAY is payment 1: the torn one used no serial.
        open_raw(&mut card);
        let out = send(&mut card, pay).unwrap();
        assert_eq!(out[out.len() - 2..], [0x90, 0x00], "cut at write {n}");
        let p = apdu::cmd::pay::PaymentCertificate::parse(&out[..out.len() - 2]).unwrap();
        assert_eq!(p.body.serial, 1, "cut at write {n}");
    }
    assert_eq!(committed, 0, "the cut falls before the commit completes");
}

/// Reopens `image` on the fixture's deterministic card, selected, with the
/// same GET CHALLENGE nonce every time (same seed, same random stream).
fn reopen_with_challenge(
    image: &[u8; applet_sim::budget::PERSISTENT_CAPACITY],
) -> (Card, [u8; 16]) {
    let mut card = Card::from_image(image, FUNDED.sim_config()).unwrap();
    let select = Request::Select {
        aid: apdu::meter::AID,
    };
    send(&mut card, select).unwrap();
    let c = send(&mut card, Request::GetChallenge).unwrap()[..16]
        .try_into()
        .unwrap();
    (card, c)
}

/// [value] recharge: LOAD VALUE with a recharge's value load (bound to the
/// request's challenge) cut at every write: the load is all or nothing,
/// ascending + descending = loaded; the message is dead with its challenge,
/// and a new recharge then applies once.
#[test]
fn recharge_load_torn_at_every_write() {
    let (base, mut authority) = personalized();
    let (before, base) = status(base);
    let (mut probe, _) = reopen_with_challenge(base.store().image());
    let amount = 1234u64.to_be_bytes();
    let request = send(
        &mut probe,
        Request::RechargeRequest {
            register: apdu::meter::RegisterId::Postage,
            amount: &amount,
        },
    )
    .unwrap();
    let message = authority.recharge(&request[..request.len() - 2]).unwrap();
    let w0 = probe.store().writes();
    let out = send(&mut probe, Request::LoadValue { message: &message }).unwrap();
    assert_eq!(out[out.len() - 2..], [0x90, 0x00]);
    let writes = probe.store().writes() - w0;
    let stats = probe.last_command_stats();
    eprintln!("recharge LOAD VALUE: {stats:?}; cutting at each of {writes} writes");
    for n in 1..=writes {
        let (mut card, _) = reopen_with_challenge(base.store().image());
        card.tear_at_write(n);
        assert!(send(&mut card, Request::LoadValue { message: &message }).is_err());
        card.power_on();
        let (after, mut card) = status(card);
        assert_eq!(after.registers, before.registers, "cut at write {n}");
        assert_eq!(after.load_count, before.load_count, "cut at write {n}");
        // Not applied, and the message died with the challenge in RAM
        // (6984); a new recharge (the authority replaces its pending load)
        // goes through once.
        send(&mut card, Request::GetChallenge).unwrap();
        let out = send(&mut card, Request::LoadValue { message: &message }).unwrap();
        assert_eq!(out, [0x69, 0x84], "cut at write {n}");
        send(&mut card, Request::GetChallenge).unwrap();
        let request = send(
            &mut card,
            Request::RechargeRequest {
                register: apdu::meter::RegisterId::Postage,
                amount: &amount,
            },
        )
        .unwrap();
        let again = authority.recharge(&request[..request.len() - 2]).unwrap();
        let out = send(&mut card, Request::LoadValue { message: &again }).unwrap();
        assert_eq!(out[out.len() - 2..], [0x90, 0x00], "cut at write {n}");
        let (after, _) = status(card);
        let p = &after.registers.postage;
        assert_eq!(p.ascending + p.descending, 1234, "cut at write {n}");
    }
}

/// [value] RATE UPDATE cut at every write: the old table and version, or
/// the new ones, never a mix.
#[test]
fn rate_update_torn_at_every_write() {
    use applet_sim::layout::{RATE_TABLE, RATE_VERSION};
    let (base, mut authority) = personalized();
    authority
        .set_rate(apdu::meter::Service::Postmark, 40)
        .unwrap();
    let (before, base) = status(base);
    let chip: [u8; 8] = hex::decode(&before.chip_id).unwrap().try_into().unwrap();
    let (mut probe, challenge) = reopen_with_challenge(base.store().image());
    let (_, message) = authority.rate_update("TEAR-1", &chip, &challenge).unwrap();
    let table = |c: &Card| {
        (
            RATE_VERSION.get(c.store()).unwrap(),
            RATE_TABLE.read(c.store()).unwrap().to_vec(),
        )
    };
    let old = table(&probe);
    let w0 = probe.store().writes();
    let out = send(&mut probe, Request::RateUpdate { message: &message }).unwrap();
    assert_eq!(out, [0x90, 0x00]);
    let writes = probe.store().writes() - w0;
    let stats = probe.last_command_stats();
    eprintln!("RATE UPDATE: {stats:?}; cutting at each of {writes} writes");
    let new = table(&probe);
    assert_ne!(old, new);
    for n in 1..=writes {
        let (mut card, _) = reopen_with_challenge(base.store().image());
        card.tear_at_write(n);
        assert!(send(&mut card, Request::RateUpdate { message: &message }).is_err());
        card.power_on();
        let got = table(&card);
        assert!(got == old || got == new, "cut at write {n}");
    }
}

/// [value] AUDIT cut at every write: no report leaves the card, and the
/// report count and chain hash are the old ones or the new ones together.
#[test]
fn audit_torn_at_every_write() {
    use applet_sim::layout::{AUDIT_COUNT, AUDIT_HASH};
    let (base, _) = personalized();
    let chain = |c: &Card| {
        (
            AUDIT_COUNT.get(c.store()).unwrap(),
            AUDIT_HASH.read(c.store()).unwrap().to_vec(),
        )
    };
    let (mut probe, _) = reopen_with_challenge(base.store().image());
    let old = chain(&probe);
    let w0 = probe.store().writes();
    let out = send(&mut probe, Request::Audit).unwrap();
    assert_eq!(out[out.len() - 2], 0x61, "a report follows");
    let writes = probe.store().writes() - w0;
    let stats = probe.last_command_stats();
    eprintln!("AUDIT: {stats:?}; cutting at each of {writes} writes");
    let new = chain(&probe);
    assert_eq!(new.0, 1);
    for n in 1..=writes {
        let (mut card, _) = reopen_with_challenge(base.store().image());
        card.tear_at_write(n);
        assert!(
            send(&mut card, Request::Audit).is_err(),
            "a report left the card"
        );
        card.power_on();
        let got = chain(&card);
        assert!(got == old || got == new, "cut at write {n}");
    }
}
