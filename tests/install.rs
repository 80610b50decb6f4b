//! Figure 5, installing a certificate: each numbered decision with its own
//! outcome, the registers moved by exactly the InstallCertificate fee or
//! not at all, the card's refusals of foreign certificates, power cuts at
//! every write of INSTALL CERTIFICATE, and no private key on the wire.

use apdu::StatusWord;
use apdu::cert::{CertificateBody, usage};
use apdu::channel::{AuthorityChannel, Request as ChannelRequest, decode_point};
use apdu::cmd::channel::Registration;
use apdu::cmd::install::{CertificateRequest, HOLDER, INSTALL, KEY_REQUEST, USAGE};
use apdu::meter::Request;
use apdu::tlv::Writer;
use applet_sim::sim::Card;
use authority::Authority;
use reader::meter::Status;
use reader::sim::MemoryTransport;
use reader::{Error, Meter};
use vectors::{Funded, Recorder};

const TIME: u64 = 1_800_000_000;
const FEE: u64 = 500; // the default InstallCertificate rate

const fn fixture(funds: u64) -> Funded {
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

fn ready(funds: u64) -> (Meter<MemoryTransport>, Authority) {
    let (mut meter, mut authority) = fixture(funds).meter().unwrap();
    reader::channel::register(&mut meter, &mut authority).unwrap();
    (meter, authority)
}

fn image(meter: &mut Meter<MemoryTransport>) -> Vec<u8> {
    meter.transport().card().store().image().to_vec()
}

fn nothing_changed(before: &Status, after: &Status) {
    assert_eq!(after.registers, before.registers);
    assert_eq!(after.piece_counts, before.piece_counts);
    assert_eq!(after.certificates, before.certificates);
}

fn card_refused(r: &Result<u8, Error>, sw: StatusWord) -> bool {
    matches!(r, Err(Error::Card { sw: got }) if *got == sw)
}

/// 504 funds ok, 508, 510, 512, 514 ok, 518, 520: the certificate is in
/// slot 1 with its key, exactly the fee deducted, one piece counted.
#[test]
fn install_ok_charges_exactly_the_fee() {
    let (mut meter, mut authority) = ready(1_000);
    let before = meter.status().unwrap();
    let code = authority.enroll("alice", 86_400).unwrap();
    let slot = reader::install::install(&mut meter, &mut authority, "alice", &code, 30).unwrap();
    assert_eq!(slot, 1);
    let after = meter.status().unwrap();
    let (b, a) = (&before.registers.certificate, &after.registers.certificate);
    assert_eq!(a.descending, b.descending - FEE);
    assert_eq!(a.ascending, b.ascending + FEE);
    assert_eq!(
        after.piece_counts.certificate,
        before.piece_counts.certificate + 1
    );
    assert_eq!(after.registers.postage, before.registers.postage);
    assert_eq!(after.certificates.len(), 2);
    let c = &after.certificates[1];
    assert_eq!(
        (c.slot, c.holder.as_str(), c.usage),
        (1, "alice", usage::SIGNING)
    );
    assert_eq!(c.expiry - c.effective, 30 * 86_400);
    // The certificate verifies with the authority key, for the key the
    // card keeps in the slot.
    let bytes = meter.read_certificate(1).unwrap();
    let cert = apdu::cert::Certificate::parse(&bytes).unwrap();
    let authority_key =
        p256::ecdsa::VerifyingKey::from_sec1_bytes(&authority.public_key()).unwrap();
    assert!(apdu::crypto::verify_certificate(&cert, &authority_key));
    let card = meter.transport().card();
    let secret = applet_sim::certificates::key(card.store(), 1)
        .unwrap()
        .unwrap();
    let key = p256::ecdsa::SigningKey::from_slice(secret).unwrap();
    assert_eq!(
        &applet_sim::keys::encode_public(key.verifying_key())[..],
        &cert.public_key[..]
    );
    // A second install goes to slot 2 (a new code).
    let code = authority.enroll("alice", 86_400).unwrap();
    let slot = reader::install::install(&mut meter, &mut authority, "alice", &code, 30).unwrap();
    assert_eq!(slot, 2);
}

/// 506: too little for the fee: refused before any channel; nothing
/// changed. The card refuses it too (9401) when asked directly.
#[test]
fn no_funds_is_refused_506() {
    let (mut meter, mut authority) = ready(FEE - 1);
    let before = meter.status().unwrap();
    let img = image(&mut meter);
    let code = authority.enroll("alice", 86_400).unwrap();
    let r = reader::install::install(&mut meter, &mut authority, "alice", &code, 30);
    assert!(card_refused(&r, StatusWord::INSUFFICIENT_FUNDS), "{r:?}");
    // The card's own check, past the host's.
    let id = reader::channel::open(&mut meter, &mut authority).unwrap();
    let key_request = authority
        .install_key_request(id, "alice", usage::SIGNING)
        .unwrap();
    let r = meter.install_key(&key_request);
    assert!(
        matches!(r, Err(Error::Card { sw }) if sw == StatusWord::INSUFFICIENT_FUNDS),
        "{r:?}"
    );
    nothing_changed(&before, &meter.status().unwrap());
    assert!(image(&mut meter) == img, "the card changed");
    // The code was not used: it still works once funds are there.
    assert!(authority.check_enrollment("alice", &code).is_ok());
}

/// 516: a wrong, an expired and a reused code are refused by the
/// authority; the card installs nothing and charges nothing.
#[test]
fn wrong_expired_and_reused_codes_are_refused_516() {
    let (mut meter, mut authority) = ready(2_000);
    let code = authority.enroll("alice", 60).unwrap();
    for (what, code, time) in [
        ("wrong", "AAAA-AAAA-AAAA-AAAA".to_owned(), TIME),
        ("expired", code.clone(), TIME + 61),
    ] {
        authority.set_clock(Some(time));
        let before = meter.status().unwrap();
        let img = image(&mut meter);
        let r = reader::install::install(&mut meter, &mut authority, "alice", &code, 30);
        let e = r.unwrap_err().to_string();
        assert!(e.contains(what), "{what}: {e}");
        nothing_changed(&before, &meter.status().unwrap());
        assert!(image(&mut meter) == img, "{what}: the card changed");
    }
    authority.set_clock(Some(TIME));
    let code = authority.enroll("alice", 86_400).unwrap();
    reader::install::install(&mut meter, &mut authority, "alice", &code, 30).unwrap();
    let before = meter.status().unwrap();
    let img = image(&mut meter);
    let e = reader::install::install(&mut meter, &mut authority, "alice", &code, 30)
        .unwrap_err()
        .to_string();
    assert!(e.contains("already used"), "{e}");
    nothing_changed(&before, &meter.status().unwrap());
    assert!(image(&mut meter) == img, "the card changed");
}

/// Every APDU of an install recorded: the card-generated key and the meter
/// key never appear; the certificate request travels sealed.
#[test]
fn no_private_key_on_the_wire() {
    let (meter, mut authority) = ready(1_000);
    let card = meter.into_transport().into_card();
    let meter_secret = applet_sim::layout::METER_PRIVATE_KEY
        .read(card.store())
        .unwrap()
        .to_vec();
    let mut meter = Meter::new(Recorder::new(MemoryTransport::new(card, true)));
    vectors::fixture::open(&mut meter).unwrap();
    let code = authority.enroll("alice", 86_400).unwrap();
    reader::install::install(&mut meter, &mut authority, "alice", &code, 30).unwrap();
    let steps = meter.transport().steps().to_vec();
    let user = applet_sim::certificates::key(meter.transport().inner().card().store(), 1)
        .unwrap()
        .unwrap()
        .to_vec();
    let mut wire = Vec::new();
    for s in &steps {
        wire.extend_from_slice(&s.command);
        wire.extend_from_slice(&s.response);
    }
    for secret in [&user[..], &meter_secret[..]] {
        for w in [secret, &secret[..8], &secret[24..]] {
            assert!(!wire.windows(w.len()).any(|x| x == w));
        }
    }
    // The holder name, inside the sealed request, never crosses in clear.
    assert!(!wire.windows(5).any(|w| w == b"alice"));
}

// Card level: the authority's side played by the test, so that the card's
// own refusals can be reached.

fn send(card: &mut Card, r: Request<'_>) -> (Vec<u8>, StatusWord) {
    let mut out = card.transmit(&r.to_command().to_vec().unwrap()).unwrap();
    let sw = out.split_off(out.len() - 2);
    (out, StatusWord::new(sw[0], sw[1]))
}

fn ok(card: &mut Card, r: Request<'_>) -> Vec<u8> {
    let (data, sw) = send(card, r);
    assert_eq!(sw, StatusWord::OK, "{r:?}");
    data
}

fn seal(at: &mut AuthorityChannel, plain: &[u8]) -> Vec<u8> {
    let mut buf = plain.to_vec();
    buf.resize(plain.len() + apdu::channel::OVERHEAD, 0);
    let n = at.seal(&mut buf, plain.len()).unwrap();
    buf.truncate(n);
    buf
}

fn tlv(build: impl FnOnce(&mut Writer<'_>)) -> Vec<u8> {
    let mut buf = vec![0u8; 2048];
    let mut w = Writer::new(&mut buf);
    build(&mut w);
    let n = w.len();
    buf.truncate(n);
    buf
}

/// A selected, unlocked card with an open channel and, after INSTALL KEY,
/// the certificate request's public key.
fn card_with_request(card: &mut Card) -> (AuthorityChannel, [u8; 65]) {
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
    let reg = ok(card, Request::ChannelKey { nonce: &[1; 16] });
    let key = decode_point(Registration::parse(&reg).unwrap().body.channel_key).unwrap();
    let request = ChannelRequest::parse(&ok(card, Request::OpenChannel)).unwrap();
    let mut hello = [0u8; 512];
    let mut w = Writer::new(&mut hello);
    let signing = authority::keys::from_seed(5);
    let eph = p256::SecretKey::from_slice(&[3; 32]).unwrap();
    let mut at = AuthorityChannel::accept(&mut w, &signing, eph, &key, &request).unwrap();
    let n = w.len();
    ok(card, Request::ChannelHello { hello: &hello[..n] });
    let plain = tlv(|w| {
        w.nested(KEY_REQUEST, |w| {
            w.put(HOLDER, b"bob")?;
            w.put(USAGE, &[usage::SIGNING])
        })
        .unwrap()
    });
    let mut answer = ok(
        card,
        Request::InstallKey {
            sealed: &seal(&mut at, &plain),
        },
    );
    let req = at.open_message(&mut answer).unwrap().to_vec();
    let req = CertificateRequest::parse(&req).unwrap();
    let pk = *req.body.public_key;
    // Proof of possession.
    let vk = p256::ecdsa::VerifyingKey::from_sec1_bytes(&pk).unwrap();
    assert!(apdu::crypto::verify_signed(&req.signed, &vk));
    (at, pk)
}

fn certificate(signer: &p256::ecdsa::SigningKey, key: &[u8; 65], holder: &[u8]) -> Vec<u8> {
    tlv(|w| {
        CertificateBody {
            issuer: b"CERTMETER-CA",
            holder,
            serial: 77,
            public_key: key,
            usage: usage::SIGNING,
            effective: TIME - 10,
            expiry: TIME + 86_400,
        }
        .write_signed(w, signer)
        .unwrap()
    })
}

fn install_plain(cert: &[u8]) -> Vec<u8> {
    tlv(|w| w.put(INSTALL, cert).unwrap())
}

/// 518: the card refuses a certificate not by its authority (6982), or
/// for another key or holder (6A80); nothing is written or charged.
#[test]
fn the_card_checks_the_certificate_518() {
    let authority_key = authority::keys::from_seed(5);
    let rogue = p256::ecdsa::SigningKey::from_slice(&[9; 32]).unwrap();
    let other_key = applet_sim::keys::encode_public(rogue.verifying_key());
    for (what, make, sw) in [
        ("rogue signer", 0, StatusWord::SECURITY_STATUS_NOT_SATISFIED),
        ("other key", 1, StatusWord::INCORRECT_DATA),
        ("other holder", 2, StatusWord::INCORRECT_DATA),
    ] {
        let (mut card, _) = fixture(1_000).card().unwrap();
        let (mut at, pk) = card_with_request(&mut card);
        let img = card.store().image().to_vec();
        let cert = match make {
            0 => certificate(&rogue, &pk, b"bob"),
            1 => certificate(&authority_key, &other_key, b"bob"),
            _ => certificate(&authority_key, &pk, b"eve"),
        };
        let sealed = seal(&mut at, &install_plain(&cert));
        let (_, got) = send(&mut card, Request::InstallCertificate { sealed: &sealed });
        assert_eq!(got, sw, "{what}");
        assert!(
            card.store().image()[..] == img[..],
            "{what}: the card changed"
        );
        // The pending key is gone: the right certificate now finds none.
        let good = certificate(&authority_key, &pk, b"bob");
        let sealed = seal(&mut at, &install_plain(&good));
        let (_, got) = send(&mut card, Request::InstallCertificate { sealed: &sealed });
        assert_eq!(got, StatusWord::CONDITIONS_NOT_SATISFIED, "{what}");
    }
}

/// A replayed INSTALL CERTIFICATE is refused (9407) and charges nothing
/// more.
#[test]
fn replayed_install_is_refused() {
    let (mut card, _) = fixture(2_000).card().unwrap();
    let (mut at, pk) = card_with_request(&mut card);
    let cert = certificate(&authority::keys::from_seed(5), &pk, b"bob");
    let sealed = seal(&mut at, &install_plain(&cert));
    ok(&mut card, Request::InstallCertificate { sealed: &sealed });
    let img = card.store().image().to_vec();
    let (_, sw) = send(&mut card, Request::InstallCertificate { sealed: &sealed });
    assert_ne!(sw, StatusWord::OK);
    assert!(card.store().image()[..] == img[..], "the card changed");
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

/// Item 7: SIGN signs a digest with the installed holder key (the
/// signature verifies with the certificate's key), refuses a slot without
/// a key (the meter certificate's slot 0, an empty slot: 6A88), a
/// certificate without SIGNING and one outside its dates (6985).
#[test]
fn sign_only_for_signing_certificates_within_their_dates() {
    use p256::ecdsa::signature::hazmat::PrehashVerifier;
    let (mut meter, mut authority) = ready(2_000);
    let code = authority.enroll("alice", 86_400).unwrap();
    reader::install::install(&mut meter, &mut authority, "alice", &code, 30).unwrap();
    let digest = apdu::crypto::sha256(b"a contract");
    let sig = meter.sign(1, &digest).unwrap();
    let bytes = meter.read_certificate(1).unwrap();
    let cert = apdu::cert::Certificate::parse(&bytes).unwrap();
    let vk = p256::ecdsa::VerifyingKey::from_sec1_bytes(&cert.public_key[..]).unwrap();
    let sig = p256::ecdsa::Signature::from_slice(&sig).unwrap();
    assert_eq!(sig.normalize_s(), sig);
    vk.verify_prehash(&digest, &sig).unwrap();
    let refused = |m: &mut Meter<MemoryTransport>, slot| match m.sign(slot, &digest) {
        Err(Error::Card { sw }) => sw,
        other => panic!("slot {slot}: {other:?}"),
    };
    assert_eq!(
        refused(&mut meter, 0),
        StatusWord::REFERENCED_DATA_NOT_FOUND
    );
    assert_eq!(
        refused(&mut meter, 2),
        StatusWord::REFERENCED_DATA_NOT_FOUND
    );
    assert_eq!(refused(&mut meter, 4), StatusWord::INCORRECT_P1P2);
    // Slots written directly (as a later install could): a key with a
    // POSTMARK-only certificate, and a SIGNING one already expired.
    let signer = authority::keys::from_seed(5);
    let key = p256::ecdsa::SigningKey::from_slice(&[7; 32]).unwrap();
    let public = applet_sim::keys::encode_public(key.verifying_key());
    let make = |uses, effective, expiry| {
        tlv(|w| {
            CertificateBody {
                issuer: b"CERTMETER-CA",
                holder: b"x",
                serial: 9,
                public_key: &public,
                usage: uses,
                effective,
                expiry,
            }
            .write_signed(w, &signer)
            .unwrap()
        })
    };
    let card = meter.transport().card_mut();
    let store = card.store_mut();
    store.begin().unwrap();
    applet_sim::certificates::write_with_key(
        store,
        2,
        &make(usage::POSTMARK, 0, u64::MAX),
        &[7; 32],
    )
    .unwrap();
    applet_sim::certificates::write_with_key(
        store,
        3,
        &make(usage::SIGNING, TIME - 100, TIME - 1),
        &[7; 32],
    )
    .unwrap();
    store.commit().unwrap();
    assert_eq!(refused(&mut meter, 2), StatusWord::CONDITIONS_NOT_SATISFIED);
    assert_eq!(refused(&mut meter, 3), StatusWord::CONDITIONS_NOT_SATISFIED);
    // Not yet valid either.
    let store = meter.transport().card_mut().store_mut();
    store.begin().unwrap();
    applet_sim::certificates::write_with_key(
        store,
        3,
        &make(usage::SIGNING, TIME + 100, TIME + 200),
        &[7; 32],
    )
    .unwrap();
    store.commit().unwrap();
    assert_eq!(refused(&mut meter, 3), StatusWord::CONDITIONS_NOT_SATISFIED);
    // Within its dates it signs.
    let store = meter.transport().card_mut().store_mut();
    store.begin().unwrap();
    applet_sim::certificates::write_with_key(
        store,
        3,
        &make(usage::SIGNING, TIME - 100, TIME + 200),
        &[7; 32],
    )
    .unwrap();
    store.commit().unwrap();
    let sig = meter.sign(3, &digest).unwrap();
    let sig = p256::ecdsa::Signature::from_slice(&sig).unwrap();
    key.verifying_key().verify_prehash(&digest, &sig).unwrap();
    // SIGN needs the PIN.
    meter.select().unwrap();
    assert_eq!(
        refused(&mut meter, 1),
        StatusWord::SECURITY_STATUS_NOT_SATISFIED
    );
}
