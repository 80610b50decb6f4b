//! Card-level helpers for Figure 5 (tests/install.rs, tests/tearing.rs):
//! the authority's side of the channel and of the certificate played by
//! the test, so that the card's own checks can be reached. Included by
//! `#[path]` in each test that uses it (each uses a part).
#![allow(dead_code)]

use apdu::StatusWord;
use apdu::cert::{CertificateBody, usage};
use apdu::channel::{AuthorityChannel, Request as ChannelRequest, decode_point};
use apdu::cmd::channel::Registration;
use apdu::cmd::install::{CertificateRequest, HOLDER, INSTALL, KEY_REQUEST, USAGE};
use apdu::meter::Request;
use apdu::tlv::Writer;
use applet_sim::sim::Card;

/// The card time of the install fixtures.
pub const TIME: u64 = 1_800_000_000;

// Card level: the authority's side played by the test, so that the card's
// own refusals can be reached.

pub fn send(card: &mut Card, r: Request<'_>) -> (Vec<u8>, StatusWord) {
    let mut out = card.transmit(&r.to_command().to_vec().unwrap()).unwrap();
    let sw = out.split_off(out.len() - 2);
    (out, StatusWord::new(sw[0], sw[1]))
}

pub fn ok(card: &mut Card, r: Request<'_>) -> Vec<u8> {
    let (data, sw) = send(card, r);
    assert_eq!(sw, StatusWord::OK, "{r:?}");
    data
}

pub fn seal(at: &mut AuthorityChannel, plain: &[u8]) -> Vec<u8> {
    let mut buf = plain.to_vec();
    buf.resize(plain.len() + apdu::channel::OVERHEAD, 0);
    let n = at.seal(&mut buf, plain.len()).unwrap();
    buf.truncate(n);
    buf
}

pub fn tlv(build: impl FnOnce(&mut Writer<'_>)) -> Vec<u8> {
    let mut buf = vec![0u8; 2048];
    let mut w = Writer::new(&mut buf);
    build(&mut w);
    let n = w.len();
    buf.truncate(n);
    buf
}

/// A selected, unlocked card with an open channel and, after INSTALL KEY,
/// the certificate request's public key.
pub fn card_with_request(card: &mut Card) -> (AuthorityChannel, [u8; 65]) {
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

pub fn certificate(signer: &p256::ecdsa::SigningKey, key: &[u8; 65], holder: &[u8]) -> Vec<u8> {
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

pub fn install_plain(cert: &[u8]) -> Vec<u8> {
    tlv(|w| w.put(INSTALL, cert).unwrap())
}
