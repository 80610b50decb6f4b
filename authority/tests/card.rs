//! End to end with the simulated card: the card accepts the authority's
//! personalization and value load, and the authority its receipt.

use apdu::meter::{AID, DEFAULT_PIN, DataObject, RegisterId, Request, tag};
use apdu::tlv;
use apdu::{Command, Response, StatusWord};
use applet_sim::sim::{Card, SimConfig};
use authority::{Authority, PersonalizationRequest};

const T: u64 = 1_750_000_000;

/// Sends a request, following 61xx with GET RESPONSE; returns data and SW.
fn send(card: &mut Card, req: Request<'_>) -> (Vec<u8>, StatusWord) {
    let mut raw = card.transmit(&req.to_command().to_vec().unwrap()).unwrap();
    let mut data = Vec::new();
    loop {
        let r = Response::parse(&raw).unwrap();
        data.extend_from_slice(r.data);
        if r.sw.sw1() != 0x61 {
            return (data, r.sw);
        }
        let le = if r.sw.sw2() == 0 {
            256
        } else {
            usize::from(r.sw.sw2())
        };
        let get = Command::new(0x00, 0xC0, 0, 0, &[], Some(le));
        raw = card.transmit(&get.to_vec().unwrap()).unwrap();
    }
}

fn ok(card: &mut Card, req: Request<'_>) -> Vec<u8> {
    let (data, sw) = send(card, req);
    assert_eq!(sw, StatusWord::OK, "{req:?}");
    data
}

fn status_field(card: &mut Card, t: tlv::Tag) -> Vec<u8> {
    let s = ok(card, Request::GetData(DataObject::Status));
    let inner = tlv::find(&s, tag::STATUS).unwrap();
    tlv::find(inner, t).unwrap().to_vec()
}

#[test]
fn card_accepts_personalization_and_load() {
    let mut a = Authority::deterministic("Test Post CA", 9, T + 10).unwrap();
    let config = SimConfig::deterministic(3, T).with_issuer_root(a.issuer_root());
    let mut card = Card::manufacture(config).unwrap();
    ok(&mut card, Request::Select { aid: AID });
    ok(
        &mut card,
        Request::Verify {
            pin: Some(DEFAULT_PIN),
        },
    );
    // The transport PIN is changed first.
    let mut both = DEFAULT_PIN.to_vec();
    both.resize(8, 0xFF);
    both.extend_from_slice(b"13579");
    ok(
        &mut card,
        Request::ChangePin {
            old_then_new: &both,
        },
    );
    // The factory: the issuer certifies the card's attestation key.
    let chip_id = status_field(&mut card, tag::CHIP_ID);
    let chip: [u8; 8] = chip_id.clone().try_into().unwrap();
    let attestation = ok(&mut card, Request::ReadAttestation);
    let attestation_key = tlv::find(
        tlv::find(tlv::find(&attestation, 0xE3).unwrap(), tag::PUBLIC_KEY).unwrap(),
        tag::EC_POINT,
    )
    .unwrap();
    let cert = a
        .certify_attestation(&chip, attestation_key.try_into().unwrap())
        .unwrap();
    ok(&mut card, Request::StoreAttestation { certificate: &cert });

    let key = ok(&mut card, Request::GenerateKey { generate: true });
    let point = tlv::find(tlv::find(&key, tag::PUBLIC_KEY).unwrap(), tag::EC_POINT).unwrap();
    let nonce = a.attestation_nonce(&chip);
    let attestation = ok(&mut card, Request::Attest { nonce: &nonce });
    let challenge = ok(&mut card, Request::GetChallenge);

    let message = a
        .personalize(&PersonalizationRequest {
            chip_id: chip_id.try_into().unwrap(),
            challenge: challenge.try_into().unwrap(),
            meter_public_key: point.try_into().unwrap(),
            serial: "SIM-0001".into(),
            attestation,
        })
        .unwrap();
    ok(&mut card, Request::Personalize { message: &message });
    assert_eq!(status_field(&mut card, tag::SERIAL), b"SIM-0001");

    let load = a
        .value_load("SIM-0001", RegisterId::Postage, 5_000, 1)
        .unwrap();
    let receipt = ok(&mut card, Request::LoadValue { message: &load });
    // The card accepts each load once.
    let (_, sw) = send(&mut card, Request::LoadValue { message: &load });
    assert_ne!(sw, StatusWord::OK);

    let record = a.confirm_load(&receipt).unwrap();
    assert_eq!((record.number, record.amount), (1, 5_000));
    assert_eq!(record.descending, Some(5_000));
    assert_eq!(
        a.total_loaded("SIM-0001", RegisterId::Postage).unwrap(),
        5_000
    );

    let second = a
        .value_load("SIM-0001", RegisterId::Postage, 2_000, 2)
        .unwrap();
    let receipt = ok(&mut card, Request::LoadValue { message: &second });
    assert_eq!(a.confirm_load(&receipt).unwrap().descending, Some(7_000));
    assert_eq!(
        a.total_loaded("SIM-0001", RegisterId::Postage).unwrap(),
        7_000
    );
}
