//! [certs] must-show: every APDU of every flow of the certificate
//! lifecycle, recorded on one card both ways, and no private key bytes the
//! test knows in any of them: the meter key, the card-generated holder
//! keys (Figure 5), the holder's imported key in clear, the agent-issued
//! key in clear (Figure 3A), and the issuer root and authority keys. The
//! flows: channel key registration and channel, install, import, SIGN,
//! AUTHENTICATE, issue as an agent, revocation (Figure 6), key update,
//! VERIFY POSTMARK with the revocation list.

use apdu::cert::usage;
use p256::SecretKey;
use reader::Meter;
use reader::sim::MemoryTransport;
use vectors::{Funded, Recorder};

const TIME: u64 = 1_800_000_000;

const FIXTURE: Funded = Funded {
    card: vectors::CardSpec {
        seed: 77,
        time: TIME,
        issuer_root: None,
        unattested: false,
    },
    authority: "CERTMETER-CA",
    authority_seed: 5,
    serial: "WIRE-1",
    funds: 5_000,
};

#[test]
fn no_private_key_crosses_the_wire_in_any_certs_flow() {
    let (meter, mut authority) = FIXTURE.meter().unwrap();
    let card = meter.into_transport().into_card();
    let meter_secret = applet_sim::layout::METER_PRIVATE_KEY
        .read(card.store())
        .unwrap()
        .to_vec();
    let mut m = Meter::new(Recorder::new(MemoryTransport::new(card, true)));
    vectors::fixture::open(&mut m).unwrap();

    // Channel key registration and Figure 5: a key made on the card.
    reader::channel::register(&mut m, &mut authority).unwrap();
    let code = authority.enroll("alice", 86_400).unwrap();
    let installed = reader::install::install_with_uses(
        &mut m,
        &mut authority,
        "alice",
        usage::HOLDER,
        &code,
        30,
    )
    .unwrap();
    // Figure 5, lower assurance: the holder's own key.
    let imported_secret = [0x42u8; 32];
    let code = authority.enroll("carol", 86_400).unwrap();
    let imported =
        reader::install::import(&mut m, &mut authority, "carol", &code, 30, &imported_secret)
            .unwrap();
    // The keys in use.
    let digest = apdu::crypto::sha256(b"a contract");
    m.sign(installed, &digest).unwrap();
    m.sign(imported, &digest).unwrap();
    m.authenticate(installed, &[0x33; 32]).unwrap();
    // Figure 3A: a key made on the card for a receiver, sealed to it.
    let receiver = SecretKey::from_slice(&[0x21; 32]).unwrap();
    let file = reader::agent::issue(
        &mut m,
        &reader::agent::Issue {
            holder: "bob".into(),
            receiver: apdu::channel::encode_point(&receiver.public_key()),
            usage: usage::SIGNING,
            days: 30,
        },
    )
    .unwrap();
    let agent_secret = reader::agent::open(&file, &receiver).unwrap().to_bytes();
    // A postmark, then Figure 6 on the imported certificate, then the
    // postmark checked on the card against the list.
    m.hash_init().unwrap();
    m.hash_update(b"a letter").unwrap();
    let postmark = m.postmark().unwrap();
    let pm_file = [postmark, m.read_certificate(0).unwrap()].concat();
    let revoked = reader::revoke::revoke(&mut m, &mut authority, imported, 4).unwrap();
    assert_eq!(revoked.fee, 100);
    let crl = authority.crl().unwrap();
    m.hash_init().unwrap();
    m.hash_update(b"a letter").unwrap();
    let verdict = m.verify_postmark(&pm_file, Some(&crl)).unwrap();
    assert_eq!(verdict.result, Ok(()));
    // The authority's next key (KEY UPDATE).
    let next = authority::keys::from_seed(6);
    let next_cert = authority.certify_next_key(&next).unwrap();
    let (serial, chip) = m.status().unwrap().identity().unwrap();
    let challenge = m.challenge().unwrap();
    let update = authority
        .key_update(&serial, &chip, &challenge, &next_cert)
        .unwrap();
    m.key_update(&update).unwrap();
    assert_eq!(m.status().unwrap().authority_keys, 2);

    // The secrets: as stored on the card, opened by the receiver, or held
    // by the authority.
    let store = m.transport().inner().card().store();
    let holder_secret = applet_sim::certificates::key(store, usize::from(installed))
        .unwrap()
        .unwrap()
        .to_vec();
    let stored_import = applet_sim::certificates::key(store, usize::from(imported))
        .unwrap()
        .unwrap()
        .to_vec();
    assert_eq!(
        stored_import, imported_secret,
        "the imported key is the one stored"
    );
    let authority_secret = authority::keys::from_seed(5).to_bytes().to_vec();
    let secrets: [(&str, &[u8]); 6] = [
        ("meter key", &meter_secret),
        ("card-generated holder key", &holder_secret),
        ("imported key", &imported_secret),
        ("agent-issued key", &agent_secret),
        ("authority key", &authority_secret),
        ("next authority key", &next.to_bytes()),
    ];
    let steps = m.transport().steps();
    assert!(steps.len() > 60, "{} APDUs recorded", steps.len());
    let wire: Vec<u8> = steps
        .iter()
        .flat_map(|s| s.command.iter().chain(&s.response).copied())
        .collect();
    for (what, secret) in secrets {
        assert_eq!(secret.len(), 32, "{what}");
        for piece in secret.windows(8) {
            assert!(
                !wire.windows(8).any(|w| w == piece),
                "8 bytes of the {what} on the wire"
            );
        }
    }
}
