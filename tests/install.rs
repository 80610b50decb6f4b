//! Figure 5, installing a certificate: each numbered decision with its own
//! outcome, the registers moved by exactly the InstallCertificate fee or
//! not at all, the card's refusals of foreign certificates, power cuts at
//! every write of INSTALL CERTIFICATE (tests/tearing.rs), SIGN (item 7),
//! and no private key on the wire.

use apdu::StatusWord;
use apdu::cert::{CertificateBody, usage};
use apdu::meter::Request;
use authority::Authority;
use reader::meter::Status;
use reader::sim::MemoryTransport;
use reader::{Error, Meter};
use vectors::{Funded, Recorder};

#[path = "install_support.rs"]
mod install_support;
use install_support::*;

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
        // INSTALL KEY (the last command) wrote nothing: the key is in RAM.
        assert_eq!(card.last_command_stats().logical_writes, 0);
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
    // SIGN writes nothing.
    assert_eq!(
        meter.transport().card().last_command_stats().logical_writes,
        0
    );
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

/// `meter cert import`, the lower-assurance variant: the holder's own key,
/// sealed to the card over the channel (never in clear on the wire),
/// certified with the IMPORTED mark, exactly the fee charged; SIGN then
/// signs with that key.
/// [certs] point 7 through real commands: a certificate installed for
/// AUTHENTICATION only answers challenges and signs nothing else (SIGN:
/// 6985, the wrong use); one for SIGNING only does not authenticate
/// (6985); one for both does both. Each answer verifies with the
/// certificate's key; a refusal writes nothing.
#[test]
fn each_certificate_is_used_only_for_its_uses() {
    let (mut meter, mut authority) = ready(3_000);
    let mut install = |m: &mut Meter<MemoryTransport>, uses| {
        let code = authority.enroll("erin", 86_400).unwrap();
        reader::install::install_with_uses(m, &mut authority, "erin", uses, &code, 30).unwrap()
    };
    let auth_only = install(&mut meter, usage::AUTHENTICATION);
    let sign_only = install(&mut meter, usage::SIGNING);
    let both = install(&mut meter, usage::HOLDER);
    let status = meter.status().unwrap();
    let uses = |slot: u8| {
        status
            .certificates
            .iter()
            .find(|c| c.slot == slot)
            .unwrap()
            .usage
    };
    assert_eq!(
        (uses(auth_only), uses(sign_only), uses(both)),
        (usage::AUTHENTICATION, usage::SIGNING, usage::HOLDER)
    );
    let challenge = [0x5A; 32];
    let digest = apdu::crypto::sha256(b"a contract");
    let wrong_use = |r: Result<Vec<u8>, Error>| matches!(r, Err(Error::Card { sw }) if sw == StatusWord::CONDITIONS_NOT_SATISFIED);
    let before = image(&mut meter);
    assert!(
        wrong_use(meter.sign(auth_only, &digest)),
        "SIGN with an authentication-only key"
    );
    assert!(
        wrong_use(meter.authenticate(sign_only, &challenge)),
        "AUTHENTICATE with a signing-only key"
    );
    assert_eq!(image(&mut meter), before, "refusals write nothing");
    for slot in [auth_only, both] {
        let answer = reader::holder::authenticate(&mut meter, slot, &challenge).unwrap();
        let cert = meter.read_certificate(slot).unwrap();
        reader::holder::check_authentication(&cert, &challenge, &answer).unwrap();
        // Not a signature of the bare challenge, nor of another challenge.
        let vk = p256::ecdsa::VerifyingKey::from_sec1_bytes(
            apdu::cert::Certificate::parse(&cert).unwrap().public_key,
        )
        .unwrap();
        let sig = p256::ecdsa::Signature::from_der(&answer).unwrap();
        use p256::ecdsa::signature::hazmat::PrehashVerifier;
        assert!(vk.verify_prehash(&challenge, &sig).is_err());
        assert!(reader::holder::check_authentication(&cert, &[0x5B; 32], &answer).is_err());
    }
    // The relying party refuses an answer from a certificate without the use.
    let cert = meter.read_certificate(sign_only).unwrap();
    let answer = reader::holder::authenticate(&mut meter, both, &challenge).unwrap();
    assert!(reader::holder::check_authentication(&cert, &challenge, &answer).is_err());
    meter.sign(both, &digest).unwrap();
    meter.sign(sign_only, &digest).unwrap();
}

/// Slots 1-3 full: a fourth install is refused (6A84) with nothing
/// charged; once the certificate in slot 2 is revoked, the next install
/// takes that slot (the revoked key is overwritten), charged exactly the
/// fee, and the new certificate is not revoked.
#[test]
fn a_revoked_certificate_s_slot_takes_the_next_install() {
    let (mut meter, mut authority) = ready(5_000);
    fn install(
        m: &mut Meter<MemoryTransport>,
        authority: &mut Authority,
        name: &str,
    ) -> Result<u8, Error> {
        let code = authority.enroll(name, 86_400).unwrap();
        reader::install::install(m, authority, name, &code, 30)
    }
    for (name, slot) in [("ann", 1), ("ben", 2), ("cat", 3)] {
        assert_eq!(install(&mut meter, &mut authority, name).unwrap(), slot);
    }
    let before = meter.status().unwrap();
    let full = install(&mut meter, &mut authority, "dan");
    assert!(
        card_refused(&full, StatusWord::NOT_ENOUGH_MEMORY),
        "{full:?}"
    );
    let after = meter.status().unwrap();
    nothing_changed(&before, &after);
    let revoked = reader::revoke::revoke(&mut meter, &mut authority, 2, 4).unwrap();
    assert_eq!(meter.status().unwrap().revoked, [None, None, Some(4), None]);
    let before = meter.status().unwrap();
    let secret_before = applet_sim::certificates::key(meter.transport().card().store(), 2)
        .unwrap()
        .unwrap()
        .to_vec();
    assert_eq!(install(&mut meter, &mut authority, "dan").unwrap(), 2);
    let after = meter.status().unwrap();
    assert_eq!(
        after.registers.certificate.descending,
        before.registers.certificate.descending - FEE
    );
    let slots: Vec<_> = after
        .certificates
        .iter()
        .map(|c| (c.slot, c.holder.as_str(), c.revoked))
        .collect();
    assert_eq!(
        slots,
        [
            (0, "INST-1", None),
            (1, "ann", None),
            (2, "dan", None),
            (3, "cat", None)
        ]
    );
    assert!(after.revoked.is_empty(), "no certificate is revoked now");
    let secret_after = applet_sim::certificates::key(meter.transport().card().store(), 2)
        .unwrap()
        .unwrap()
        .to_vec();
    assert_ne!(secret_after, secret_before, "the revoked key is gone");
    // The revoked certificate stays on the authority's list.
    let list = authority.crl().unwrap();
    let list = apdu::cmd::revoke::Crl::parse(&list).unwrap();
    assert!(list.find(revoked.certificate_serial).is_some());
}

#[test]
fn import_marks_the_certificate_and_keeps_the_key_off_the_wire() {
    use p256::ecdsa::signature::hazmat::PrehashVerifier;
    let (meter, mut authority) = ready(1_000);
    let card = meter.into_transport().into_card();
    let mut meter = Meter::new(Recorder::new(MemoryTransport::new(card, true)));
    vectors::fixture::open(&mut meter).unwrap();
    let before = meter.status().unwrap();
    let secret = [0x42u8; 32];
    let code = authority.enroll("carol", 86_400).unwrap();
    let slot =
        reader::install::import(&mut meter, &mut authority, "carol", &code, 30, &secret).unwrap();
    assert_eq!(slot, 1);
    let after = meter.status().unwrap();
    assert_eq!(
        after.registers.certificate.descending,
        before.registers.certificate.descending - FEE
    );
    let c = &after.certificates[1];
    assert_eq!(c.usage, usage::SIGNING | usage::IMPORTED);
    let key = p256::ecdsa::SigningKey::from_slice(&secret).unwrap();
    let bytes = meter.read_certificate(1).unwrap();
    let cert = apdu::cert::Certificate::parse(&bytes).unwrap();
    assert_eq!(
        &cert.public_key[..],
        &applet_sim::keys::encode_public(key.verifying_key())[..]
    );
    let digest = apdu::crypto::sha256(b"imported");
    let sig = meter.sign(1, &digest).unwrap();
    let sig = p256::ecdsa::Signature::from_slice(&sig).unwrap();
    key.verifying_key().verify_prehash(&digest, &sig).unwrap();
    let mut wire = Vec::new();
    for s in meter.transport().steps() {
        wire.extend_from_slice(&s.command);
        wire.extend_from_slice(&s.response);
    }
    for w in [&secret[..], &secret[..8]] {
        assert!(
            !wire.windows(w.len()).any(|x| x == w),
            "imported key on the wire"
        );
    }
    // An invalid scalar is refused by the authority before anything.
    let code = authority.enroll("dave", 86_400).unwrap();
    let e = reader::install::import(&mut meter, &mut authority, "dave", &code, 30, &[0; 32])
        .unwrap_err();
    assert!(e.to_string().contains("not a P-256 private key"), "{e}");
}

/// The authority keeps a channel for one request: after the install (or a
/// refused code) it is gone.
#[test]
fn the_authority_forgets_the_channel_after_the_request() {
    let (mut meter, mut authority) = ready(2_000);
    let code = authority.enroll("alice", 86_400).unwrap();
    let id = reader::channel::open(&mut meter, &mut authority).unwrap();
    let kr = authority
        .install_key_request(id, "alice", usage::SIGNING)
        .unwrap();
    let req = meter.install_key(&kr).unwrap();
    let cert = authority.install_issue(id, &req, &code, 30).unwrap();
    let answer = meter.install_certificate(&cert).unwrap();
    assert_eq!(authority.install_confirm(id, &answer).unwrap(), 1);
    let e = authority.channel_confirm(id).unwrap_err();
    assert!(e.to_string().contains("no open channel"), "{e}");
    // A refused code closes it too.
    let id = reader::channel::open(&mut meter, &mut authority).unwrap();
    let kr = authority
        .install_key_request(id, "alice", usage::SIGNING)
        .unwrap();
    let req = meter.install_key(&kr).unwrap();
    assert!(authority.install_issue(id, &req, "WRONG", 30).is_err());
    assert!(authority.channel_confirm(id).is_err());
}
