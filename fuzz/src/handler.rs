//! The `card_handler` target: a sequence of APDUs against a card image taken
//! from a vector flow (personalized, PIN verified, funded, a channel open,
//! ... whatever the flow had done by then), with the card's invariants
//! checked after each APDU.
//!
//! Input format (what `vectors`' `fuzz-seeds` program writes, one seed per
//! vector and starting point):
//!
//! | bytes | meaning |
//! | --- | --- |
//! | 1 | the vector: an index into `vectors/data/*.json` in file-name order (modulo their number) |
//! | 1 | the starting point: replay this many of the vector's steps first (modulo steps + 1) |
//! | then, repeated | a big-endian u16 `n`, then `n` bytes: one APDU (cut short at the end of the input); `n` = FFFF: power off and on; `n` = FFFE: warm reset |
//!
//! Checked after every APDU (and power cycle):
//! * the card answers (no panic, never mute) with a valid status word;
//! * an error (neither 9000 nor 61xx) leaves the persistent image byte for
//!   byte as it was, except that a wrong PIN (63Cx) may count down the PIN
//!   tries (and only them);
//! * for each register, ascending + descending = the funds loaded: it moves
//!   only with a LOAD VALUE answered 9000, by the amount its value load
//!   names, for the register it names;
//! * the counters never go back: sequence, postmark count, clock, load
//!   count, the piece counts and ascending registers, agent certificates
//!   issued, credit line number, payments, rate-table version, audit
//!   reports.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use apdu::cmd::load_value::{self, ValueLoad};
use apdu::meter::RegisterId;
use apdu::{Command, StatusWord};
use applet_sim::layout::{self, Field, Register};
use applet_sim::sim::Card;

/// Length marking a power cycle instead of an APDU.
pub const POWER_CYCLE: u16 = 0xFFFF;
/// Length marking a warm reset instead of an APDU.
pub const WARM_RESET: u16 = 0xFFFE;

/// One step of an input.
#[derive(Debug)]
pub enum Op<'a> {
    /// An APDU.
    Apdu(&'a [u8]),
    /// Power off, then on (RAM lost, recovery runs).
    PowerCycle,
    /// Warm reset.
    Reset,
}

/// The committed vectors, loaded once.
pub fn vectors() -> &'static [vectors::Vector] {
    static V: OnceLock<Vec<vectors::Vector>> = OnceLock::new();
    V.get_or_init(vectors::load_all)
}

/// The input split into vector, starting point and operations.
pub fn decode(data: &[u8]) -> Option<(usize, usize, Vec<Op<'_>>)> {
    let (&v, rest) = data.split_first()?;
    let (&k, mut rest) = rest.split_first()?;
    let all = vectors();
    let v = usize::from(v) % all.len();
    let k = usize::from(k) % (all[v].steps.len() + 1);
    let mut ops = Vec::new();
    while let [a, b, tail @ ..] = rest {
        let n = u16::from_be_bytes([*a, *b]);
        match n {
            POWER_CYCLE => ops.push(Op::PowerCycle),
            WARM_RESET => ops.push(Op::Reset),
            _ => {
                let n = usize::from(n).min(tail.len());
                ops.push(Op::Apdu(&tail[..n]));
                rest = &tail[n..];
                continue;
            }
        }
        rest = tail;
    }
    Some((v, k, ops))
}

/// The card of vector `v` after its first `k` steps (built once, then cloned).
pub fn start(v: usize, k: usize) -> Card {
    static CACHE: OnceLock<Mutex<HashMap<(usize, usize), Card>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(c) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(&(v, k)) {
        return c.clone();
    }
    let vector = &vectors()[v];
    let card = if k == 0 {
        vectors::fresh(&vector.card)
            .expect("a vector's card is made")
            .into_card()
    } else {
        let mut card = start(v, k - 1);
        let step = &vector.steps[k - 1];
        let answer = card
            .transmit(&step.command)
            .expect("the card answers a vector step");
        assert_eq!(
            answer, step.response,
            "vector {} step {k} replays differently",
            vector.name
        );
        card
    };
    cache
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert((v, k), card.clone());
    card
}

/// The fields that never go back.
const MONOTONE: [(&str, Field); 14] = [
    ("sequence", layout::SEQUENCE),
    ("postmark count", layout::POSTMARK_COUNT),
    ("clock", layout::CLOCK),
    ("load count", layout::LOAD_COUNT),
    ("postage pieces", layout::POSTAGE_PIECES),
    ("certificate pieces", layout::CERTIFICATE_PIECES),
    ("postage ascending", layout::POSTAGE_ASCENDING),
    ("certificate ascending", layout::CERTIFICATE_ASCENDING),
    ("agent certificates issued", layout::AGENT_ISSUED),
    ("credit line number", layout::CREDIT_LINE_NUMBER),
    ("payments", layout::CREDIT_PAYMENTS),
    ("rate-table version", layout::RATE_VERSION),
    ("audit reports", layout::AUDIT_COUNT),
    ("layout version", layout::LAYOUT_VERSION),
];

const REGISTERS: [Register; 2] = [Register::Postage, Register::Certificate];

fn get(card: &Card, f: Field) -> u64 {
    f.get(card.store()).expect("a layout field reads")
}

fn total(card: &Card, r: Register) -> u128 {
    u128::from(get(card, r.ascending())) + u128::from(get(card, r.descending()))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02X}")).collect()
}

/// Runs one input and checks the invariants (panics on a violation).
pub fn run(data: &[u8]) {
    let Some((v, k, ops)) = decode(data) else {
        return;
    };
    let mut card = start(v, k);
    let mut loaded = REGISTERS.map(|r| total(&card, r));
    // Data of a command chain in progress, as the card gathers it.
    let mut chain: Vec<u8> = Vec::new();
    for op in ops {
        let before = card.store().data().to_vec();
        let counters = MONOTONE.map(|(_, f)| get(&card, f));
        let apdu = match op {
            Op::PowerCycle => {
                card.power_off();
                card.power_on();
                chain.clear();
                check_after(&card, &counters, &loaded, "power cycle");
                continue;
            }
            Op::Reset => {
                card.reset();
                chain.clear();
                check_after(&card, &counters, &loaded, "warm reset");
                continue;
            }
            Op::Apdu(a) => a,
        };
        let resp = match card.transmit(apdu) {
            Ok(r) => r,
            Err(e) => panic!("the card is mute ({e}) after {}", hex(apdu)),
        };
        let [.., sw1, sw2] = resp[..] else {
            panic!("an answer without a status word to {}", hex(apdu));
        };
        let sw = StatusWord::new(sw1, sw2);
        assert!(sw.is_valid(), "invalid status word {sw} for {}", hex(apdu));
        let ok = sw.is_ok() || sw.remaining().is_some();
        let after = card.store().data();
        if !ok {
            let tries = layout::PIN_TRIES.at..layout::PIN_TRIES.end();
            let pin = sw.tries_left().is_some();
            if let Some(at) =
                (0..before.len()).find(|&i| before[i] != after[i] && !(pin && tries.contains(&i)))
            {
                panic!(
                    "error {sw} changed the persistent image at offset {at} \
                     ({:02X} -> {:02X}) for {}",
                    before[at],
                    after[at],
                    hex(apdu)
                );
            }
        }
        // The command as the card executes it: chains gathered.
        let cmd = Command::parse(apdu).ok();
        let whole = match cmd {
            Some(c) if c.is_chained() && sw.is_ok() => {
                chain.extend_from_slice(c.data);
                None
            }
            Some(c) if c.cla == apdu::meter::CLA_ISO && c.ins == 0xC0 => None,
            Some(c) => {
                let mut data = std::mem::take(&mut chain);
                data.extend_from_slice(c.data);
                Some((c, data))
            }
            None => {
                chain.clear();
                None
            }
        };
        if let Some((c, data)) = whole
            && ok
            && c.cla == apdu::meter::CLA_PROPRIETARY
            && c.ins == load_value::INS
            && let Ok(m) = ValueLoad::parse(&data)
        {
            let i = match m.register {
                RegisterId::Postage => 0,
                RegisterId::Certificate => 1,
            };
            loaded[i] += u128::from(m.amount);
        }
        check_after(&card, &counters, &loaded, &hex(apdu));
    }
}

fn check_after(card: &Card, counters: &[u64; MONOTONE.len()], loaded: &[u128; 2], what: &str) {
    for (i, (name, f)) in MONOTONE.iter().enumerate() {
        let now = get(card, *f);
        assert!(
            now >= counters[i],
            "the {name} went back from {} to {now} after {what}",
            counters[i]
        );
    }
    for (i, r) in REGISTERS.iter().enumerate() {
        assert_eq!(
            total(card, *r),
            loaded[i],
            "{r:?}: ascending + descending is not what was loaded after {what}"
        );
    }
}
