//! The card-authority channel and ECIES (`apdu::channel`, `apdu::ecies`):
//! what one handshake costs each side, one sealed message, one ECIES seal
//! and open. Numbers, never assertions:
//!
//! ```text
//! cargo bench -p certmeter-tests --bench channel
//! ```

use std::hint::black_box;

use apdu::channel::{AuthorityChannel, CardHandshake, OVERHEAD, POINT_LEN, Request, encode_point};
use apdu::ecies;
use apdu::tlv::Writer;
use criterion::{Criterion, criterion_group, criterion_main};
use p256::SecretKey;
use p256::ecdsa::SigningKey;

const NONCE: [u8; 16] = [0x5A; 16];
const CHIP: [u8; 8] = [0, 0, 0, 0, 0, 1, 0xE2, 0x40];

fn secret(b: u8) -> SecretKey {
    SecretKey::from_slice(&[b; 32]).expect("a scalar")
}

fn handshake(c: &mut Criterion) {
    let card_static = secret(0x11);
    let static_public: [u8; POINT_LEN] = encode_point(&card_static.public_key());
    let signing = SigningKey::from_slice(&[0x33; 32]).expect("a scalar");
    let mut scratch = [0u8; 128];
    let mut hello = [0u8; 512];
    let mut g = c.benchmark_group("channel");
    g.bench_function("card: start (ephemeral public key, request)", |b| {
        b.iter(|| {
            CardHandshake::start(
                &mut Writer::new(&mut scratch),
                black_box(secret(0x22)),
                NONCE,
                CHIP,
            )
            .expect("start")
        })
    });
    let request = Request {
        chip_id: CHIP,
        nonce: NONCE,
        card_ephemeral: encode_point(&secret(0x22).public_key()),
    };
    g.bench_function("authority: accept (sign hello, 2 ECDH, HKDF)", |b| {
        b.iter(|| {
            AuthorityChannel::accept(
                &mut Writer::new(&mut hello),
                &signing,
                black_box(secret(0x44)),
                &card_static.public_key(),
                &request,
            )
            .expect("accept")
        })
    });
    let hello_len = {
        let mut w = Writer::new(&mut hello);
        AuthorityChannel::accept(
            &mut w,
            &signing,
            secret(0x44),
            &card_static.public_key(),
            &request,
        )
        .expect("accept");
        w.len()
    };
    g.bench_function("card: finish (verify hello, 2 ECDH, HKDF)", |b| {
        b.iter_batched(
            || {
                CardHandshake::start(&mut Writer::new(&mut [0u8; 128]), secret(0x22), NONCE, CHIP)
                    .expect("start")
            },
            |hs| {
                hs.finish(
                    &card_static,
                    &static_public,
                    signing.verifying_key(),
                    &hello[..hello_len],
                )
                .expect("finish")
            },
            criterion::BatchSize::SmallInput,
        )
    });
    let mut card = CardHandshake::start(&mut Writer::new(&mut scratch), secret(0x22), NONCE, CHIP)
        .expect("start")
        .finish(
            &card_static,
            &static_public,
            signing.verifying_key(),
            &hello[..hello_len],
        )
        .expect("finish");
    let mut authority = AuthorityChannel::accept(
        &mut Writer::new(&mut [0u8; 512]),
        &signing,
        secret(0x44),
        &card_static.public_key(),
        &request,
    )
    .expect("accept");
    let mut buf = [0u8; 256 + OVERHEAD];
    g.bench_function("seal + open, 256 bytes", |b| {
        b.iter(|| {
            let len = card.seal(&mut buf, 256).expect("seal");
            authority.open_message(&mut buf[..len]).expect("open").len()
        })
    });
    g.finish();

    let receiver = secret(0x55);
    let key = [0x66u8; 32];
    let mut sealed = [0u8; 32 + ecies::OVERHEAD];
    let mut opened = [0u8; 32];
    let mut g = c.benchmark_group("ecies");
    g.bench_function("seal 32 bytes", |b| {
        b.iter(|| {
            ecies::seal(
                black_box(secret(0x77)),
                &receiver.public_key(),
                b"aad",
                &key,
                &mut sealed,
            )
            .expect("seal")
        })
    });
    ecies::seal(
        secret(0x77),
        &receiver.public_key(),
        b"aad",
        &key,
        &mut sealed,
    )
    .expect("seal");
    g.bench_function("open 32 bytes", |b| {
        b.iter(|| ecies::open(&receiver, b"aad", black_box(&sealed), &mut opened).expect("open"))
    });
    g.finish();
}

criterion_group!(benches, handshake);
criterion_main!(benches);
