//! What the certmeter fuzz targets share: the APDU checks, the input format
//! of `card_handler` (see [`handler`]) and a transport that answers with
//! fuzz bytes (`host_decode`).

pub mod handler;

use apdu::Command;
use apdu::meter::Request;

/// Parses `data` as a command APDU and as a meter request and checks the
/// round trips: a parsed command encodes back to exactly `data`; a request's
/// command parses back to the same request.
pub fn check_command(data: &[u8]) {
    let Ok(cmd) = Command::parse(data) else {
        return;
    };
    let again = cmd.to_vec().expect("a parsed command encodes");
    assert_eq!(
        again, data,
        "a parsed command encodes to other bytes: {cmd:?}"
    );
    assert_eq!(cmd.encoded_len(), data.len());
    let _ = cmd.case();
    if let Ok(req) = Request::parse(&cmd) {
        let back = req.to_command();
        assert_eq!(Request::parse(&back), Ok(req), "request round trip");
        let _ = req.policy();
        let _ = req.name();
    }
}

/// Reads every TLV object of `data` (and of any constructed value, one level
/// down) and checks that each encodes back to exactly the bytes it was read
/// from.
pub fn check_tlv(data: &[u8]) {
    check_tlv_level(data, 2);
    let _ = apdu::tlv::validate(data);
    let _ = apdu::tlv::find(data, 0x7F21);
    let _ = apdu::tlv::find_object(data, 0x7F4E);
    let _ = apdu::tlv::as_u64(data);
}

fn check_tlv_level(data: &[u8], depth: u32) {
    let mut rest = data;
    while let Ok((t, after)) = apdu::tlv::read(rest) {
        let consumed = &rest[..rest.len() - after.len()];
        let mut buf = vec![0u8; consumed.len() + 8];
        let mut w = apdu::tlv::Writer::new(&mut buf);
        w.put(t.tag, t.value).expect("a read TLV writes back");
        assert_eq!(
            w.written(),
            consumed,
            "TLV {:X} re-encodes differently",
            t.tag
        );
        if depth > 0 && t.is_constructed() {
            check_tlv_level(t.value, depth - 1);
        }
        if after.len() == rest.len() {
            break;
        }
        rest = after;
    }
}

/// The channel's parsers and ECIES on `data`: the channel request, the
/// authority's hello as the card reads it (a handshake started once, fixed
/// keys), a sealed message of a channel opened once (the card's side), and
/// an ECIES ciphertext for a fixed key.
pub fn channel_and_ecies(data: &[u8]) {
    use apdu::channel::{self, CardHandshake};
    use std::sync::OnceLock;

    struct Fixed {
        card_static: p256::SecretKey,
        card_static_public: [u8; channel::POINT_LEN],
        authority: p256::ecdsa::VerifyingKey,
        handshake: CardHandshake,
        card: channel::CardChannel,
    }
    // Both sides of a channel share `Session::open`; the card's side is
    // `Clone`, so each input gets a fresh copy of the channel opened once.
    static FIXED: OnceLock<std::sync::Mutex<Fixed>> = OnceLock::new();
    let fixed = FIXED.get_or_init(|| {
        let scalar = |b: u8| p256::SecretKey::from_slice(&[b; 32]).expect("a valid scalar");
        let card_static = scalar(0x11);
        let card_static_public = channel::encode_point(&card_static.public_key());
        let signing = p256::ecdsa::SigningKey::from(scalar(0x22));
        let mut buf = [0u8; 1024];
        let mut w = apdu::tlv::Writer::new(&mut buf);
        let handshake =
            CardHandshake::start(&mut w, scalar(0x33), [0x44; 16], [0x55; 8]).expect("a request");
        let mut hello = [0u8; 1024];
        let mut hw = apdu::tlv::Writer::new(&mut hello);
        let _authority_channel = channel::AuthorityChannel::accept(
            &mut hw,
            &signing,
            scalar(0x66),
            &card_static.public_key(),
            handshake.request(),
        )
        .expect("a hello");
        let card = handshake
            .clone()
            .finish(
                &card_static,
                &card_static_public,
                signing.verifying_key(),
                hw.written(),
            )
            .expect("the card accepts the hello");
        std::sync::Mutex::new(Fixed {
            card_static,
            card_static_public,
            authority: *signing.verifying_key(),
            handshake,
            card,
        })
    });
    let f = fixed.lock().unwrap_or_else(|e| e.into_inner());
    let _ = channel::Request::parse(data);
    let _ = channel::decode_point(data);
    let _ = f
        .handshake
        .clone()
        .finish(&f.card_static, &f.card_static_public, &f.authority, data);
    let mut card = f.card.clone();
    let mut buf = data.to_vec();
    let _ = card.open_message(&mut buf);
    let mut out = vec![0u8; data.len()];
    let _ = apdu::ecies::open(&f.card_static, b"aad", data, &mut out);
}
