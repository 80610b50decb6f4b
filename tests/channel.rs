//! The card-authority channel wired end to end (Figure 2, comm key 256;
//! Figure 5, 508): registration of the card's static channel key, the
//! handshake through the host (which relays opaque bytes), key
//! confirmation; replayed, reordered, altered and misdirected messages
//! refused with precise status words and nothing changed; the handshake
//! and channel live in RAM only; no private key in any APDU.

use apdu::StatusWord;
use apdu::channel::{AuthorityChannel, Request as ChannelRequest, decode_point};
use apdu::cmd::channel::{CONFIRM, Registration};
use apdu::meter::Request;
use apdu::tlv::Writer;
use applet_sim::sim::Card;
use p256::SecretKey;
use reader::Meter;
use reader::sim::MemoryTransport;
use vectors::Funded;
use vectors::Recorder;

const TIME: u64 = 1_800_000_000;

const FUNDED: Funded = Funded {
    card: vectors::CardSpec {
        seed: 21,
        time: TIME,
        issuer_root: None,
        unattested: false,
    },
    authority: "CERTMETER-CA",
    authority_seed: 5,
    serial: "CHAN-1",
    funds: 1_000,
};

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

fn select(card: &mut Card) {
    ok(
        card,
        Request::Select {
            aid: apdu::meter::AID,
        },
    );
}

/// The card's static channel public key, from its registration.
fn static_key(card: &mut Card) -> p256::PublicKey {
    let reg = ok(card, Request::ChannelKey { nonce: &[1; 16] });
    let r = Registration::parse(&reg).unwrap();
    decode_point(r.body.channel_key).unwrap()
}

/// The authority's operational key of the fixture.
fn authority_key() -> p256::ecdsa::SigningKey {
    authority::keys::from_seed(FUNDED.authority_seed)
}

fn ephemeral(b: u8) -> SecretKey {
    SecretKey::from_slice(&[b; 32]).unwrap()
}

/// A personalized, selected card with an open channel, and the
/// authority's side of that channel.
fn open_channel() -> (Card, AuthorityChannel) {
    let (mut card, _) = FUNDED.card().unwrap();
    select(&mut card);
    let key = static_key(&mut card);
    let request = ok(&mut card, Request::OpenChannel);
    let request = ChannelRequest::parse(&request).unwrap();
    let mut hello = [0u8; 512];
    let mut w = Writer::new(&mut hello);
    let at_authority =
        AuthorityChannel::accept(&mut w, &authority_key(), ephemeral(3), &key, &request).unwrap();
    let n = w.len();
    ok(&mut card, Request::ChannelHello { hello: &hello[..n] });
    (card, at_authority)
}

fn confirm(at: &mut AuthorityChannel, data: &[u8]) -> Vec<u8> {
    let mut buf = vec![0u8; 128];
    let mut w = Writer::new(&mut buf);
    w.put(CONFIRM, data).unwrap();
    let n = w.len();
    let len = at.seal(&mut buf, n).unwrap();
    buf.truncate(len);
    buf
}

fn image(card: &Card) -> Vec<u8> {
    card.store().image().to_vec()
}

#[test]
fn registration_handshake_and_confirmation_through_the_host() {
    let (mut meter, mut authority) = FUNDED.meter().unwrap();
    let before = meter.status().unwrap();
    // Without a registered channel key the authority opens nothing.
    let err = reader::channel::open(&mut meter, &mut authority).unwrap_err();
    assert!(
        err.to_string().contains("no registered channel key"),
        "{err}"
    );
    reader::channel::register(&mut meter, &mut authority).unwrap();
    let key = authority.channel_key(FUNDED.serial).unwrap().unwrap();
    assert_eq!(key[0], 0x04);
    let id = reader::channel::open(&mut meter, &mut authority).unwrap();
    // A second channel gets its own id; the card keeps only the newest.
    let id2 = reader::channel::open(&mut meter, &mut authority).unwrap();
    assert_ne!(id, id2);
    // Nothing charged, nothing counted.
    let after = meter.status().unwrap();
    assert_eq!(after.registers, before.registers);
    assert_eq!(after.piece_counts, before.piece_counts);
}

#[test]
fn registration_is_bound_to_the_nonce_and_the_meter_key() {
    let (mut meter, mut authority) = FUNDED.meter().unwrap();
    // A registration for a nonce the authority did not issue is refused.
    authority.channel_nonce(FUNDED.serial).unwrap();
    let stale = meter.channel_key(&[7; 16]).unwrap();
    let err = authority
        .register_channel_key(FUNDED.serial, &stale)
        .unwrap_err();
    assert!(err.to_string().contains("another nonce"), "{err}");
    // The nonce is used up by that attempt: even the right answer to it is
    // refused now.
    let err = authority
        .register_channel_key(FUNDED.serial, &stale)
        .unwrap_err();
    assert!(err.to_string().contains("no channel key nonce"), "{err}");
    // An altered registration (its key changed) fails the signature.
    let nonce = authority.channel_nonce(FUNDED.serial).unwrap();
    let mut reg = meter.channel_key(&nonce).unwrap();
    let at = reg.windows(2).position(|w| w == [0x86, 0x41]).unwrap() + 10;
    reg[at] ^= 1;
    assert!(authority.register_channel_key(FUNDED.serial, &reg).is_err());
    assert!(authority.channel_key(FUNDED.serial).unwrap().is_none());
}

#[test]
fn card_commands_write_nothing() {
    let (mut card, mut at) = open_channel();
    let img = image(&card);
    assert_eq!(card.last_command_stats().logical_writes, 0);
    let m = confirm(&mut at, b"ping");
    ok(&mut card, Request::ChannelMessage { sealed: &m });
    assert_eq!(card.last_command_stats().logical_writes, 0);
    ok(&mut card, Request::OpenChannel);
    assert_eq!(card.last_command_stats().logical_writes, 0);
    assert_eq!(image(&card), img);
}

#[test]
fn key_confirmation_answers_sealed() {
    let (mut card, mut at) = open_channel();
    for data in [&b"first"[..], b"second", b""] {
        let m = confirm(&mut at, data);
        let mut answer = ok(&mut card, Request::ChannelMessage { sealed: &m });
        // The answer is sealed: the plaintext does not appear.
        if !data.is_empty() {
            assert!(!answer.windows(data.len()).any(|w| w == data));
        }
        let plain = at.open_message(&mut answer).unwrap();
        let mut expected = vec![0u8; 64];
        let mut w = Writer::new(&mut expected);
        w.put(CONFIRM, data).unwrap();
        let n = w.len();
        assert_eq!(plain, &expected[..n]);
    }
}

#[test]
fn replayed_message_refused_and_channel_closed() {
    let (mut card, mut at) = open_channel();
    let img = image(&card);
    let m = confirm(&mut at, b"once");
    ok(&mut card, Request::ChannelMessage { sealed: &m });
    let (data, sw) = send(&mut card, Request::ChannelMessage { sealed: &m });
    assert_eq!((data.len(), sw), (0, StatusWord::CHANNEL_MESSAGE_REFUSED));
    // Closed: the next genuine message is refused too.
    let next = confirm(&mut at, b"next");
    let (_, sw) = send(&mut card, Request::ChannelMessage { sealed: &next });
    assert_eq!(sw, StatusWord::CHANNEL_MESSAGE_REFUSED);
    assert_eq!(image(&card), img);
}

#[test]
fn reordered_message_refused() {
    let (mut card, mut at) = open_channel();
    let first = confirm(&mut at, b"1");
    let second = confirm(&mut at, b"2");
    let (_, sw) = send(&mut card, Request::ChannelMessage { sealed: &second });
    assert_eq!(sw, StatusWord::CHANNEL_MESSAGE_REFUSED);
    let (_, sw) = send(&mut card, Request::ChannelMessage { sealed: &first });
    assert_eq!(sw, StatusWord::CHANNEL_MESSAGE_REFUSED);
}

#[test]
fn altered_message_refused_at_every_byte() {
    let (_, mut at) = open_channel();
    let m = confirm(&mut at, b"payload");
    for i in 0..m.len() {
        // A fresh channel for each byte: a refusal closes it.
        let (mut card, mut at) = open_channel();
        let mut altered = confirm(&mut at, b"payload");
        altered[i] ^= 0x80;
        let (data, sw) = send(&mut card, Request::ChannelMessage { sealed: &altered });
        assert_eq!(
            (data.len(), sw),
            (0, StatusWord::CHANNEL_MESSAGE_REFUSED),
            "byte {i}"
        );
    }
}

#[test]
fn other_plaintext_refused_channel_stays_open() {
    let (mut card, mut at) = open_channel();
    let mut buf = vec![0u8; 64];
    let mut w = Writer::new(&mut buf);
    w.put(0xE7, b"?").unwrap();
    let n = w.len();
    let len = at.seal(&mut buf, n).unwrap();
    let (_, sw) = send(
        &mut card,
        Request::ChannelMessage {
            sealed: &buf[..len],
        },
    );
    assert_eq!(sw, StatusWord::INCORRECT_DATA);
    let m = confirm(&mut at, b"still open");
    ok(&mut card, Request::ChannelMessage { sealed: &m });
}

#[test]
fn hello_refusals() {
    let (mut card, _) = FUNDED.card().unwrap();
    select(&mut card);
    let key = static_key(&mut card);
    // No handshake: 6985.
    let (_, sw) = send(
        &mut card,
        Request::ChannelHello {
            hello: b"\x7F\x76\x00",
        },
    );
    assert_eq!(sw, StatusWord::CONDITIONS_NOT_SATISFIED);
    // A hello signed by another key: 9406.
    let request = ChannelRequest::parse(&ok(&mut card, Request::OpenChannel)).unwrap();
    let mut hello = [0u8; 512];
    let mut w = Writer::new(&mut hello);
    let rogue = p256::ecdsa::SigningKey::from_slice(&[9; 32]).unwrap();
    AuthorityChannel::accept(&mut w, &rogue, ephemeral(3), &key, &request).unwrap();
    let n = w.len();
    let (_, sw) = send(&mut card, Request::ChannelHello { hello: &hello[..n] });
    assert_eq!(sw, StatusWord::CHANNEL_HELLO_REFUSED);
    // The handshake was dropped: even the right hello now finds none.
    let mut good = [0u8; 512];
    let mut w = Writer::new(&mut good);
    AuthorityChannel::accept(&mut w, &authority_key(), ephemeral(3), &key, &request).unwrap();
    let good_len = w.len();
    let (_, sw) = send(
        &mut card,
        Request::ChannelHello {
            hello: &good[..good_len],
        },
    );
    assert_eq!(sw, StatusWord::CONDITIONS_NOT_SATISFIED);
    // An old hello (for the previous handshake's nonce): 9406.
    ok(&mut card, Request::OpenChannel);
    let (_, sw) = send(
        &mut card,
        Request::ChannelHello {
            hello: &good[..good_len],
        },
    );
    assert_eq!(sw, StatusWord::CHANNEL_HELLO_REFUSED);
    // Malformed: 6A80.
    ok(&mut card, Request::OpenChannel);
    let (_, sw) = send(&mut card, Request::ChannelHello { hello: b"\x01\x02" });
    assert_eq!(sw, StatusWord::INCORRECT_DATA);
}

#[test]
fn message_without_channel_refused() {
    let (mut card, _) = FUNDED.card().unwrap();
    select(&mut card);
    let (_, sw) = send(&mut card, Request::ChannelMessage { sealed: &[0; 30] });
    assert_eq!(sw, StatusWord::CONDITIONS_NOT_SATISFIED);
}

#[test]
fn select_reset_and_power_cycle_drop_the_channel() {
    type Drop = fn(&mut Card);
    let drops: [(&str, Drop); 3] = [
        ("select", select),
        ("reset", |c| {
            c.reset();
            select(c);
        }),
        ("power", |c| {
            c.power_on();
            select(c);
        }),
    ];
    for (name, drop) in drops {
        let (mut card, mut at) = open_channel();
        drop(&mut card);
        let m = confirm(&mut at, b"after");
        let (_, sw) = send(&mut card, Request::ChannelMessage { sealed: &m });
        assert_eq!(sw, StatusWord::CONDITIONS_NOT_SATISFIED, "{name}");
    }
}

#[test]
fn blank_card_refuses_the_channel() {
    let mut card = FUNDED.blank_card().unwrap();
    select(&mut card);
    for r in [
        Request::ChannelKey { nonce: &[0; 16] },
        Request::OpenChannel,
    ] {
        assert_eq!(send(&mut card, r).1, StatusWord::CONDITIONS_NOT_SATISFIED);
    }
}

/// Every APDU of registration, handshake and confirmation, recorded: no
/// private key the test can know (the meter key, the card's static channel
/// key) appears, nor the confirmation's plaintext framing in clear.
#[test]
fn no_private_key_on_the_wire() {
    let (meter, mut authority) = FUNDED.meter().unwrap();
    let card = meter.into_transport().into_card();
    let store = card.store();
    let meter_secret: [u8; 32] = applet_sim::layout::METER_PRIVATE_KEY
        .read(store)
        .unwrap()
        .try_into()
        .unwrap();
    let chip: [u8; 8] = applet_sim::layout::CHIP_ID
        .read(store)
        .unwrap()
        .try_into()
        .unwrap();
    let static_secret = apdu::channel::derive_static_key(&meter_secret, &chip).unwrap();
    let static_bytes = static_secret.to_bytes();
    let mut meter = Meter::new(Recorder::new(MemoryTransport::new(card, true)));
    vectors::fixture::open(&mut meter).unwrap();
    reader::channel::register(&mut meter, &mut authority).unwrap();
    reader::channel::open(&mut meter, &mut authority).unwrap();
    let steps = meter.transport().steps().to_vec();
    assert!(steps.len() > 5);
    let mut wire = Vec::new();
    for s in &steps {
        wire.extend_from_slice(&s.command);
        wire.extend_from_slice(&s.response);
    }
    for (name, secret) in [
        ("meter key", &meter_secret[..]),
        ("static channel key", &static_bytes[..]),
    ] {
        for window in [secret, &secret[..8], &secret[24..]] {
            assert!(
                !wire.windows(window.len()).any(|w| w == window),
                "{name} on the wire"
            );
        }
    }
    // The registration carries the static key's public half, matching.
    let key = authority.channel_key(FUNDED.serial).unwrap().unwrap();
    assert_eq!(
        key,
        apdu::channel::encode_point(&static_secret.public_key())
    );
}
