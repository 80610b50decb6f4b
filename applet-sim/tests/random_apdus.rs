//! 100,000 random APDUs against the card: no panic, every answer ends in a
//! valid ISO 7816 status word, and the card's persistent state is unchanged.

use std::collections::BTreeMap;

use apdu::meter::{AID, Request, ins};
use apdu::{Command, StatusWord};
use applet_sim::sim::{Card, SimConfig};
use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};

const KNOWN_INS: [u8; 7] = [
    ins::SELECT,
    ins::GET_RESPONSE,
    ins::VERIFY,
    ins::CHANGE_REFERENCE_DATA,
    ins::GET_DATA,
    ins::GET_CHALLENGE,
    ins::GENERATE_KEY,
];

fn below(rng: &mut ChaCha20Rng, n: u32) -> u32 {
    rng.next_u32() % n
}

fn bytes(rng: &mut ChaCha20Rng, n: usize) -> Vec<u8> {
    let mut v = vec![0; n];
    rng.fill_bytes(&mut v);
    v
}

/// Raw noise, or a header the card knows with random parameters, lengths
/// and bodies (often inconsistent on purpose).
fn random_apdu(rng: &mut ChaCha20Rng) -> Vec<u8> {
    match below(rng, 3) {
        0 => {
            let n = below(rng, 300) as usize;
            bytes(rng, n)
        }
        1 => {
            let cla = [0x00, 0x80, 0x10, 0x90, 0x0C, 0xFF][below(rng, 6) as usize];
            let ins = KNOWN_INS[below(rng, KNOWN_INS.len() as u32) as usize];
            let mut v = vec![cla, ins, below(rng, 256) as u8, below(rng, 256) as u8];
            let n = below(rng, 12) as usize;
            v.extend(bytes(rng, n));
            v
        }
        _ => {
            let n = below(rng, 600) as usize;
            let n = if below(rng, 2) == 0 { n % 20 } else { n };
            let data = bytes(rng, n);
            let le = [None, Some(1), Some(16), Some(256), Some(65536)][below(rng, 5) as usize];
            let ins = KNOWN_INS[below(rng, KNOWN_INS.len() as u32) as usize];
            let p1 = [below(rng, 256) as u8, 0x00, 0x04, 0x80, 0x81][below(rng, 5) as usize];
            let p2 = [below(rng, 256) as u8, 0x00, 0x0C, 0x81, 0xE0][below(rng, 5) as usize];
            let mut c = Command::new(0x00, ins, p1, p2, &data, le);
            c.extended |= below(rng, 2) == 0;
            c.to_vec().unwrap()
        }
    }
}

/// Commands that may rightly change the card: a PIN try, a PIN change, a
/// key generation. The test is about garbage, so it leaves those out.
fn changes_state(apdu: &[u8]) -> bool {
    let Ok(c) = Command::parse(apdu) else {
        return false;
    };
    matches!(
        Request::parse(&c),
        Ok(Request::Verify { pin: Some(_) }
            | Request::ChangePin { .. }
            | Request::GenerateKey { generate: true })
    )
}

#[test]
fn hundred_thousand_random_apdus() {
    let mut card = Card::manufacture(SimConfig::deterministic(42, 1_700_000_000)).unwrap();
    let select = Request::Select { aid: AID }.to_command().to_vec().unwrap();
    let before = card.store().data().to_vec();
    let mut rng = ChaCha20Rng::seed_from_u64(0x5EED);
    let mut seen: BTreeMap<u16, u32> = BTreeMap::new();
    let mut sent = 0;
    while sent < 100_000 {
        if sent % 50 == 0 {
            assert_eq!(
                card.transmit(&select).unwrap()[..].last_chunk(),
                Some(&[0x90, 0x00])
            );
        }
        let apdu = random_apdu(&mut rng);
        if changes_state(&apdu) {
            continue;
        }
        let resp = card
            .transmit(&apdu)
            .expect("the card answers every command");
        let [.., sw1, sw2] = resp[..] else {
            panic!("answer without a status word to {apdu:02X?}");
        };
        let sw = StatusWord::new(sw1, sw2);
        assert!(sw.is_valid(), "invalid status word {sw} for {apdu:02X?}");
        *seen.entry(sw.0).or_default() += 1;
        sent += 1;
    }
    assert_eq!(
        card.store().data(),
        &before[..],
        "the random APDUs changed the card"
    );
    // The run reached the card's checks, not just the parser.
    for sw in [
        StatusWord::OK,
        StatusWord::WRONG_LENGTH,
        StatusWord::INCORRECT_P1P2,
        StatusWord::INS_NOT_SUPPORTED,
        StatusWord::CLA_NOT_SUPPORTED,
        StatusWord::NOT_FOUND,
        StatusWord::REFERENCED_DATA_NOT_FOUND,
    ] {
        assert!(seen.contains_key(&sw.0), "no {sw} in {seen:04X?}");
    }
}
