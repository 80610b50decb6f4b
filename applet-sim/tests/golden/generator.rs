//! The golden card: the one history every persistent-layout version is
//! recorded with. A deterministic card (seed [`SEED`], clock fixed at
//! [`TIME`]) is made blank, generates its meter key, is personalized by a
//! test authority as [`SERIAL`], loads [`LOAD`] into its certificate
//! register, hashes [`LETTER`] and signs a postmark, then has one wrong PIN
//! presented (2 tries left). The state file after that history, and what
//! the card then answers (status template, rate table, public key,
//! certificate, the postmark), are the golden data of one layout version.
//!
//! This file must compile against every card version a golden image is
//! made with (today: layout v1 at commit 832d877, v2, and v3 with this
//! file's history: from v3 on the card is made with the issuer root
//! [`root_key`] pinned, and the personalization carries the authority
//! certificate by that root): it uses only the state file, `SimConfig`,
//! `Request` and `p256`, and encodes the authority's messages itself rather
//! than through `apdu`'s modules.

#![allow(dead_code)]

use std::path::Path;

use apdu::meter::{AID, DEFAULT_PIN, DataObject, Request};
use applet_sim::sim::{SimConfig, StateFile};
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};

/// The card's random seed.
pub const SEED: u64 = 21;
/// The card's (and the authority's) fixed clock: 2027-01-15T08:00:00Z.
pub const TIME: u64 = 1_800_000_000;
/// The meter serial.
pub const SERIAL: &[u8] = b"GOLD-0001";
/// Loaded into the certificate register (minor units).
pub const LOAD: u64 = 1_000;
/// The owner PIN the golden card (v3 on) takes in place of its transport
/// PIN.
pub const OWNER_PIN: &[u8] = b"13579";

/// CHANGE REFERENCE DATA from the transport PIN to [`OWNER_PIN`] (layout
/// v3 on: a new card's PIN must be changed before it personalizes).
pub fn change_transport_pin(card: &mut StateFile) {
    let mut both = DEFAULT_PIN.to_vec();
    both.resize(8, 0xFF);
    both.extend_from_slice(OWNER_PIN);
    ok(
        card,
        Request::ChangePin {
            old_then_new: &both,
        },
    );
}

/// The message postmarked.
pub const LETTER: &[u8] = b"a letter for the golden card";
/// The authority's name.
const ISSUER: &[u8] = b"GOLDEN-CA";
/// The authority's private scalar (a test key).
const AUTHORITY_SCALAR: [u8; 32] = [0x5A; 32];
/// The issuer root's private scalar (a test key).
const ROOT_SCALAR: [u8; 32] = [0x3C; 32];

/// The test issuer root's key.
pub fn root_key() -> SigningKey {
    SigningKey::from_slice(&ROOT_SCALAR).expect("a valid scalar")
}

/// The issuer root public key pinned into the golden card.
pub fn root_public() -> [u8; 65] {
    root_key()
        .verifying_key()
        .to_sec1_point(false)
        .as_bytes()
        .try_into()
        .expect("65 bytes")
}

/// The authority certificate: the authority key, certified by the root
/// (usage 10: authority).
pub fn authority_certificate() -> Vec<u8> {
    let point = authority_key().verifying_key().to_sec1_point(false);
    let body = [
        tlv(0x5F29, &[1]),
        tlv(0x42, ISSUER),
        tlv(0x5F20, ISSUER),
        tlv(0x93, &u64be(0)),
        tlv(0x7F49, &tlv(0x86, point.as_bytes())),
        tlv(0x7F4C, &tlv(0x53, &[0x10])),
        tlv(0x5F25, &u64be(TIME - 86_400)),
        tlv(0x5F24, &u64be(TIME + 3650 * 86_400)),
    ]
    .concat();
    signed(0x7F21, &root_key(), &body)
}

/// What the card answered after its history, hex per line in
/// `expected.txt`: `name hex`.
pub const EXPECTED: [&str; 5] = ["status", "rates", "public-key", "certificate", "postmark"];

/// The test authority's key.
pub fn authority_key() -> SigningKey {
    SigningKey::from_slice(&AUTHORITY_SCALAR).expect("a valid scalar")
}

/// BER-TLV: tag (1 or 2 bytes as given), definite length, value.
pub fn tlv(tag: u16, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    if tag > 0xFF {
        out.extend_from_slice(&tag.to_be_bytes());
    } else {
        out.push(tag as u8);
    }
    match value.len() {
        n if n < 0x80 => out.push(n as u8),
        n if n <= 0xFF => out.extend_from_slice(&[0x81, n as u8]),
        n => {
            out.push(0x82);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
    }
    out.extend_from_slice(value);
    out
}

/// `kind { 7F4E body, 5F37 signature }`, signed as the card and authority
/// sign (ECDSA P-256 over the encoded body object, low S, r || s).
pub fn signed(kind: u16, key: &SigningKey, body: &[u8]) -> Vec<u8> {
    let body = tlv(0x7F4E, body);
    let sig: Signature = key.sign(&body);
    let sig = sig.normalize_s();
    tlv(kind, &[body, tlv(0x5F37, &sig.to_bytes())].concat())
}

/// The first value of `tag` in a flat run of TLV objects (one level).
pub fn find(mut tlvs: &[u8], tag: u16) -> Option<&[u8]> {
    while !tlvs.is_empty() {
        let (t, rest) = if tlvs[0] & 0x1F == 0x1F {
            (u16::from_be_bytes([tlvs[0], tlvs[1]]), &tlvs[2..])
        } else {
            (u16::from(tlvs[0]), &tlvs[1..])
        };
        let (len, rest) = match rest[0] {
            0x81 => (usize::from(rest[1]), &rest[2..]),
            0x82 => (
                usize::from(u16::from_be_bytes([rest[1], rest[2]])),
                &rest[3..],
            ),
            n => (usize::from(n), &rest[1..]),
        };
        if t == tag {
            return Some(&rest[..len]);
        }
        tlvs = &rest[len..];
    }
    None
}

fn u64be(v: u64) -> Vec<u8> {
    v.to_be_bytes().to_vec()
}

/// The meter certificate (Figure 1, profile 1).
pub fn certificate(public_key: &[u8]) -> Vec<u8> {
    let body = [
        tlv(0x5F29, &[1]),
        tlv(0x42, ISSUER),
        tlv(0x5F20, SERIAL),
        tlv(0x93, &u64be(1)),
        tlv(0x7F49, &tlv(0x86, public_key)),
        tlv(0x7F4C, &tlv(0x53, &[0x01 | 0x04])),
        tlv(0x5F25, &u64be(TIME)),
        tlv(0x5F24, &u64be(TIME + 365 * 86_400)),
    ]
    .concat();
    signed(0x7F21, &authority_key(), &body)
}

/// The personalization message (7F70) for this chip and challenge.
pub fn personalization(chip_id: &[u8], challenge: &[u8], public_key: &[u8]) -> Vec<u8> {
    personalization_priced(chip_id, challenge, public_key, &[])
}

/// [`personalization`] with more priced services (service byte, fee) after
/// the golden card's two.
#[allow(dead_code)]
pub fn personalization_priced(
    chip_id: &[u8],
    challenge: &[u8],
    public_key: &[u8],
    more: &[(u8, u64)],
) -> Vec<u8> {
    let authority = authority_key();
    let mut rates = [
        tlv(0x90, &[[1].as_slice(), &u64be(25)].concat()),
        tlv(0x90, &[[2].as_slice(), &u64be(10)].concat()),
    ]
    .concat();
    for (service, fee) in more {
        rates.extend(tlv(0x90, &[[*service].as_slice(), &u64be(*fee)].concat()));
    }
    let body = [
        tlv(0x80, &[0x7F, 0x70]),
        tlv(0x81, chip_id),
        tlv(0x82, challenge),
        tlv(0x5F20, SERIAL),
        tlv(0x7F23, &authority_certificate()),
        tlv(0xE1, &rates),
        tlv(0x83, &u64be(TIME)),
        tlv(0x84, &u64be(TIME + 90 * 86_400)),
        certificate(public_key),
    ]
    .concat();
    signed(0x7F70, &authority, &body)
}

/// A value load (7F71) into the certificate register.
pub fn value_load(chip_id: &[u8], number: u32, amount: u64) -> Vec<u8> {
    value_load_into(chip_id, number, 2, amount)
}

/// A value load (7F71) into `register` (1 postage, 2 certificate).
pub fn value_load_into(chip_id: &[u8], number: u32, register: u8, amount: u64) -> Vec<u8> {
    let body = [
        tlv(0x81, chip_id),
        tlv(0x5F20, SERIAL),
        tlv(0x85, &number.to_be_bytes()),
        tlv(0x87, &[register]),
        tlv(0x88, &u64be(amount)),
        tlv(0x83, &u64be(TIME)),
        tlv(0x84, &u64be(TIME + 90 * 86_400)),
    ]
    .concat();
    signed(0x7F71, &authority_key(), &body)
}

/// Sends `r`, requires 9000 and returns the data.
pub fn ok(card: &mut StateFile, r: Request<'_>) -> Vec<u8> {
    let bytes = r.to_command().to_vec().expect("encodable");
    let mut out = card.transmit(&bytes).expect("the card answers");
    let sw = out.split_off(out.len() - 2);
    assert_eq!(sw, [0x90, 0x00], "{r:?}");
    out
}

/// What the card answers about itself, in [`EXPECTED`] order (the postmark
/// is given).
pub fn answers(card: &mut StateFile, postmark: &[u8]) -> Vec<(&'static str, Vec<u8>)> {
    ok(card, Request::Select { aid: AID });
    let values = [
        ok(card, Request::GetData(DataObject::Status)),
        ok(card, Request::GetData(DataObject::RateTable)),
        ok(card, Request::GetData(DataObject::PublicKey)),
        ok(card, Request::ReadCertificate { slot: 0 }),
        postmark.to_vec(),
    ];
    EXPECTED.into_iter().zip(values).collect()
}

/// Makes the golden card at `path` (replacing it) and returns its answers.
pub fn make(path: &Path) -> Vec<(&'static str, Vec<u8>)> {
    let config = SimConfig::deterministic(SEED, TIME).with_issuer_root(root_public());
    let mut card = StateFile::create(path, true, config).expect("a new state file");
    ok(&mut card, Request::Select { aid: AID });
    ok(
        &mut card,
        Request::Verify {
            pin: Some(DEFAULT_PIN),
        },
    );
    change_transport_pin(&mut card);
    let key = ok(&mut card, Request::GenerateKey { generate: true });
    let public_key = key[key.len() - 65..].to_vec();
    let status = ok(&mut card, Request::GetData(DataObject::Status));
    let chip_id = find(find(&status, 0xE0).expect("E0"), 0x81)
        .expect("chip id")
        .to_vec();
    let challenge = ok(&mut card, Request::GetChallenge);
    let message = personalization(&chip_id, &challenge, &public_key);
    ok(&mut card, Request::Personalize { message: &message });
    let load = value_load(&chip_id, 1, LOAD);
    ok(&mut card, Request::LoadValue { message: &load });
    ok(&mut card, Request::HashInit);
    ok(&mut card, Request::HashUpdate { data: LETTER });
    let postmark = ok(&mut card, Request::Postmark);
    // One wrong PIN: 2 tries left.
    let wrong = card
        .transmit(
            &Request::Verify {
                pin: Some(b"000000"),
            }
            .to_command()
            .to_vec()
            .expect("encodable"),
        )
        .expect("the card answers");
    assert_eq!(wrong, [0x63, 0xC2]);
    answers(&mut card, &postmark)
}

/// The `expected.txt` text of `answers`.
pub fn expected_text(answers: &[(&'static str, Vec<u8>)]) -> String {
    answers
        .iter()
        .map(|(name, value)| {
            let hex: String = value.iter().map(|b| format!("{b:02X}")).collect();
            format!("{name} {hex}\n")
        })
        .collect()
}
