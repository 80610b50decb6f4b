//! APDU round trips through real pcscd to the virtual card, against the same
//! APDUs through the in-process simulator, and the card's crypto floors.
//!
//! ```sh
//! cargo bench -p certmeter-tests --bench pcsc_roundtrip
//! ```
//!
//! Starts its own `pcscd -f` and virtual card (`applet-sim` on a temporary
//! state file, connected to vpcd), like the PC/SC tests, and stops both at
//! the end: nothing else may use pcscd meanwhile (and no pcscd may be
//! running at the start). What is measured is [`Transport::transmit`]: one
//! APDU out, its answer back, with no exchange layer on top.
//!
//! Groups:
//! - `pcscd`: [`PcscTransport`] to "Virtual PCD 00 00";
//! - `pcscd, inside a PC/SC transaction`: a short APDU inside
//!   [`Transport::exclusive`], as the APDUs of a flow are sent (what the
//!   transaction adds);
//! - `in-process`: [`MemoryTransport`] around a simulated card, the same
//!   four APDUs (what the card itself costs);
//! - `card crypto`: a whole POSTMARK (ECDSA sign) and VERIFY POSTMARK (two
//!   ECDSA verifications) on a personalized card in memory, and the p256
//!   primitives alone;
//! - `machine baseline`: a Unix socket round trip between two threads, the
//!   floor of every hop through pcscd on this machine.
//!
//! Results and method: docs/performance.md.

use std::hint::black_box;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use apdu::meter::{AID, DataObject, Request};
use applet_sim::sim::{Card, SimConfig};
use certmeter_tests::pcsc_env::{Pcscd, READER, VirtualCard};
use criterion::{Criterion, Throughput};
use p256::ecdsa::signature::{Signer, Verifier};
use p256::ecdsa::{Signature, SigningKey};
use reader::Transport;
use reader::pcsc::PcscTransport;
use reader::sim::MemoryTransport;

/// The largest HASH chunk the host sends: a vpcd message carries at most
/// 65,535 bytes. The case is named after its size, so a change fails here.
const LARGEST_CHUNK: usize = reader::postmark::EXTENDED_CHUNK;
const _: () = assert!(LARGEST_CHUNK == 65_280);

/// One APDU to time.
struct Case {
    name: &'static str,
    apdu: Vec<u8>,
    /// Command data bytes, for the throughput figure.
    data: usize,
}

fn encode(r: Request<'_>) -> Vec<u8> {
    r.to_command().to_vec().expect("encodable command")
}

/// The four APDUs: a short one, then HASH update at three sizes. They need
/// the meter selected and a HASH init first ([`prepare`]).
fn cases() -> Vec<Case> {
    let hash = |name, len: usize| Case {
        name,
        apdu: encode(Request::HashUpdate {
            data: &vec![0x5A; len],
        }),
        data: len,
    };
    vec![
        Case {
            name: "short APDU (GET DATA E1, rate table)",
            apdu: encode(Request::GetData(DataObject::RateTable)),
            data: 0,
        },
        hash("HASH update 255 bytes", 255),
        hash("HASH update 4 KiB", 4096),
        hash("HASH update 64 KiB (65,280 bytes)", LARGEST_CHUNK),
    ]
}

fn ok(answer: &[u8]) -> bool {
    answer.ends_with(&[0x90, 0x00])
}

/// SELECT, then HASH init, each answered 9000.
fn prepare(t: &mut impl Transport) {
    for r in [Request::Select { aid: AID }, Request::HashInit] {
        let answer = t.transmit(&encode(r)).expect("transmit");
        assert!(ok(&answer), "{r:?} answered {}", hex::encode_upper(&answer));
    }
}

fn round_trips(c: &mut Criterion, group: &str, t: &mut impl Transport) {
    prepare(t);
    let mut g = c.benchmark_group(group);
    for case in cases() {
        let answer = t.transmit(&case.apdu).expect("transmit");
        assert!(
            ok(&answer),
            "{}: answered {}",
            case.name,
            hex::encode_upper(&answer)
        );
        if case.data > 0 {
            g.throughput(Throughput::Bytes(case.data as u64));
        } else {
            g.throughput(Throughput::Elements(1));
        }
        g.bench_function(case.name, |b| {
            b.iter(|| {
                let answer = t.transmit(black_box(&case.apdu)).expect("transmit");
                assert!(ok(&answer));
                answer
            })
        });
    }
    g.finish();
}

/// Through pcscd to the virtual card.
fn pcscd(c: &mut Criterion) {
    let pcscd = Pcscd::start();
    let dir = tempfile::tempdir().expect("temporary directory");
    let card = VirtualCard::start(&dir.path().join("bench.sim"), &[]);
    let mut t = PcscTransport::connect(Some(READER), Duration::from_secs(5))
        .expect("connecting to the virtual card");
    assert!(
        t.supports_extended(),
        "the virtual card's ATR announces extended APDUs"
    );
    round_trips(c, "pcscd", &mut t);

    // What a PC/SC transaction adds: flows of several APDUs (a postmark)
    // run inside one, lone APDUs need none.
    let mut g = c.benchmark_group("pcscd, inside a PC/SC transaction");
    let short = [0x00, 0xCA, 0x00, 0xE1, 0x00];
    g.bench_function("begin + short APDU + end", |b| {
        b.iter(|| {
            t.exclusive(&mut |held| {
                held.transmit(&short)?;
                Ok(())
            })
            .expect("exclusive APDU")
        })
    });
    g.finish();
    drop(t);

    card.stop();
    pcscd.stop();
}

/// The same APDUs to a simulated card in this process.
fn in_process(c: &mut Criterion) {
    let card = Card::manufacture(SimConfig::default()).expect("manufacturing a card");
    let mut t = MemoryTransport::new(card, true);
    round_trips(c, "in-process", &mut t);
}

/// The card-side crypto: POSTMARK (ECDSA P-256 sign) and VERIFY POSTMARK
/// (two ECDSA P-256 verifications), each with its HASH init and a short
/// update, on a personalized card in memory.
fn card_crypto(c: &mut Criterion) {
    const TIME: u64 = 1_800_000_000;
    // 25 per postmark and 10 per verification (the default rates): enough
    // for far more iterations than a run makes.
    const FUNDS: u64 = 1_000_000_000_000;
    let message: &[u8] = b"a letter to be postmarked";

    let (mut m, _authority) = vectors::Funded {
        card: vectors::CardSpec {
            seed: 11,
            time: TIME,
            issuer_root: None,
            unattested: false,
        },
        authority: "CERTMETER-CA",
        authority_seed: 5,
        serial: "BENCH-1",
        funds: FUNDS,
    }
    .meter()
    .expect("a personalized, funded card");
    let file = reader::postmark::postmark(&mut m, &mut &message[..]).expect("postmark");

    let mut g = c.benchmark_group("card crypto");
    g.throughput(Throughput::Elements(1));
    g.bench_function("POSTMARK with HASH init + update (ECDSA sign)", |b| {
        b.iter(|| {
            m.hash_init().expect("HASH init");
            m.hash_update(black_box(message)).expect("HASH update");
            m.postmark().expect("POSTMARK")
        })
    });
    g.bench_function(
        "VERIFY POSTMARK with HASH init + update (2 ECDSA verify)",
        |b| {
            b.iter(|| {
                m.hash_init().expect("HASH init");
                m.hash_update(black_box(message)).expect("HASH update");
                let verdict = m
                    .verify_postmark(black_box(&file), None)
                    .expect("VERIFY POSTMARK");
                assert!(verdict.result.is_ok());
                verdict
            })
        },
    );

    // The primitives alone, for reference.
    let secret = [0x11; 32];
    let body = [0x5A; 200];
    g.bench_function(
        "p256 SigningKey::from_slice (derives the public key)",
        |b| b.iter(|| SigningKey::from_slice(black_box(&secret)).expect("scalar")),
    );
    let key = SigningKey::from_slice(&secret).expect("scalar");
    g.bench_function("p256 ECDSA sign, 200 bytes", |b| {
        b.iter(|| -> Signature { key.sign(black_box(&body)) })
    });
    let signature: Signature = key.sign(&body);
    let public = *key.verifying_key();
    g.bench_function("p256 ECDSA verify, 200 bytes", |b| {
        b.iter(|| public.verify(black_box(&body), black_box(&signature)))
    });
    g.finish();
}

/// The machine's floor for one request/answer between two processes: an
/// 8-byte ping-pong over a Unix socket pair between two threads. An APDU
/// through pcscd makes at least two such round trips (application to pcscd,
/// pcscd to the card), and a PC/SC transaction two more.
fn ipc_baseline(c: &mut Criterion) {
    let (mut a, mut b) = UnixStream::pair().expect("socket pair");
    let echo = std::thread::spawn(move || {
        let mut buf = [0u8; 8];
        while b.read_exact(&mut buf).is_ok() {
            if b.write_all(&buf).is_err() {
                break;
            }
        }
    });
    let mut g = c.benchmark_group("machine baseline");
    g.bench_function("Unix socket round trip between two threads", |bench| {
        let mut buf = [0u8; 8];
        bench.iter(|| {
            a.write_all(black_box(&buf)).expect("write");
            a.read_exact(&mut buf).expect("read");
        })
    });
    g.finish();
    drop(a);
    echo.join().expect("echo thread");
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    // pcscd first, and stopped before the in-process groups run.
    pcscd(&mut c);
    in_process(&mut c);
    card_crypto(&mut c);
    ipc_baseline(&mut c);
    c.final_summary();
}
