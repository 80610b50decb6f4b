//! What the host and the authority hold against a dishonest host or a
//! busy authority (issue "[trust]", points 5 and 7), in process: parallel
//! operations on one authority directory, and the confirmation of a load
//! the card credited.

use std::path::Path;

use apdu::meter::{DEFAULT_PIN, RegisterId};
use applet_sim::sim::{Card, SimConfig};
use authority::Authority;
use reader::Meter;
use reader::sim::MemoryTransport;

/// A blank in-memory card, selected, its PIN verified.
fn blank(seed: u64) -> Meter<MemoryTransport> {
    let config = SimConfig {
        seed: Some(seed),
        fixed_time: None,
    };
    let mut m = Meter::new(MemoryTransport::new(
        Card::manufacture(config).unwrap(),
        true,
    ));
    m.select().unwrap();
    m.verify_pin(DEFAULT_PIN).unwrap();
    m
}

/// One client: its own connection to the authority in `dir`, its own
/// card; personalizes it, then loads `loads` times.
fn client(dir: &Path, n: u64, loads: u32) -> Result<(), String> {
    let mut a = Authority::open(dir).map_err(|e| format!("client {n}: open: {e}"))?;
    let mut m = blank(1000 + n);
    let serial = format!("PAR-{n}");
    reader::personalize::personalize(&mut m, &mut a, &serial, 100)
        .map_err(|e| format!("client {n}: personalize: {e}"))?;
    for i in 0..loads {
        let register = if i % 2 == 0 {
            RegisterId::Postage
        } else {
            RegisterId::Certificate
        };
        reader::value::load(&mut m, &mut a, register, 10 + u64::from(i))
            .map_err(|e| format!("client {n}: load {i}: {e}"))?;
    }
    Ok(())
}

/// Many personalizations and loads at once on one authority directory:
/// every one succeeds (immediate transactions wait for each other instead
/// of failing with "database is locked"), and every load is confirmed.
#[test]
fn parallel_personalizations_and_loads_all_succeed() {
    const CLIENTS: u64 = 12;
    const LOADS: u32 = 4;
    let dir = tempfile::tempdir().unwrap();
    Authority::init(dir.path(), "CA").unwrap();
    let barrier = std::sync::Barrier::new(CLIENTS as usize);
    let failures: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..CLIENTS)
            .map(|n| {
                let (dir, barrier) = (dir.path(), &barrier);
                s.spawn(move || {
                    barrier.wait();
                    client(dir, n, LOADS)
                })
            })
            .collect();
        handles
            .into_iter()
            .filter_map(|h| h.join().unwrap().err())
            .collect()
    });
    assert!(failures.is_empty(), "{failures:#?}");
    let a = Authority::open(dir.path()).unwrap();
    let meters = a.meters().unwrap();
    assert_eq!(meters.len(), CLIENTS as usize);
    for m in meters {
        // The initial funds, then LOADS loads, all confirmed, none flagged.
        assert_eq!(
            (m.loads, m.confirmed),
            (u64::from(LOADS) + 1, u64::from(LOADS) + 1)
        );
        assert_eq!(m.flagged_at, None, "{:?}", m.flag_reason);
    }
}
