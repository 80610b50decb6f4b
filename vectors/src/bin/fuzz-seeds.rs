//! Writes the seed corpora of the fuzz targets (`fuzz/`, `scripts/fuzz`)
//! from the committed vectors: `fuzz-seeds DIR` fills `DIR/<target>/` with
//! one file per seed, named by its content's hash (existing files are kept).
//!
//! | target | seeds |
//! | --- | --- |
//! | `apdu_command` | every command APDU and every answer of every vector |
//! | `tlv_cert`, `signed_messages` | every command's data (chains joined) and every answer's data (GET RESPONSE parts joined): the certificates and signed messages of every flow |
//! | `card_handler` | per vector: the whole flow from the fresh card; its second half from the card after the first; a status read on the card at the end of the flow (format: `fuzz/src/handler.rs`) |
//! | `vpcd_framing` | per vector: power on, ATR, then its commands, framed as vpcd sends them, in large and in small pieces |
//! | `host_decode` | per vector step that a `reader::Meter` call begins with: that call's selector and the answers from that step on |

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use apdu::Command;
use apdu::meter::{DataObject, Request};

fn write(dir: &Path, target: &str, seed: &[u8]) -> std::io::Result<bool> {
    let dir = dir.join(target);
    std::fs::create_dir_all(&dir)?;
    let mut h = DefaultHasher::new();
    seed.hash(&mut h);
    let path: PathBuf = dir.join(format!("seed-{:016x}", h.finish()));
    if path.exists() {
        return Ok(false);
    }
    std::fs::write(path, seed)?;
    Ok(true)
}

/// One APDU in the `card_handler` format: big-endian u16 length, bytes.
fn op(out: &mut Vec<u8>, apdu: &[u8]) {
    let n = u16::try_from(apdu.len()).expect("a vector APDU under 64 KiB");
    out.extend_from_slice(&n.to_be_bytes());
    out.extend_from_slice(apdu);
}

/// The `host_decode` selector of the `Meter` call that begins with `cmd`.
fn selector(cmd: &[u8]) -> Option<u8> {
    let c = Command::parse(cmd).ok()?;
    Some(match Request::parse(&c).ok()? {
        Request::GetData(DataObject::Status) => 0,
        Request::GetData(DataObject::RateTable) => 1,
        Request::VerifyPostmark { .. } => 3,
        Request::ReadCreditLine => 5,
        Request::GetChallenge => 6,
        Request::ReadAttestation => 7,
        Request::GetData(DataObject::PublicKey) => 8,
        Request::GenerateKey { .. } => 9,
        Request::Attest { .. } => 10,
        Request::Audit => 11,
        Request::OpenChannel => 12,
        Request::Select { .. } => 13,
        Request::ReadCertificate { .. } => 14,
        Request::Postmark => 15,
        Request::LoadValue { .. } => 16,
        Request::RevokeRequest { .. } => 17,
        Request::RechargeRequest { .. } => 18,
        _ => return None,
    })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .ok_or("usage: fuzz-seeds DIR")?;
    let all = vectors::load_all();
    let mut written = 0usize;
    for (v, vector) in all.iter().enumerate() {
        let v = u8::try_from(v)?;
        let steps = &vector.steps;
        let mut chain = Vec::new();
        let mut answer = Vec::new();
        for step in steps {
            written += usize::from(write(&dir, "apdu_command", &step.command)?);
            written += usize::from(write(&dir, "apdu_command", &step.response)?);
            if let Ok(c) = Command::parse(&step.command) {
                chain.extend_from_slice(c.data);
                if !c.is_chained() && !chain.is_empty() {
                    for t in ["tlv_cert", "signed_messages"] {
                        written += usize::from(write(&dir, t, &chain)?);
                    }
                }
                if !c.is_chained() {
                    chain.clear();
                }
            }
            if let [data @ .., sw1, _] = &step.response[..] {
                answer.extend_from_slice(data);
                if *sw1 != 0x61 {
                    if !answer.is_empty() {
                        for t in ["tlv_cert", "signed_messages"] {
                            written += usize::from(write(&dir, t, &answer)?);
                        }
                    }
                    answer.clear();
                }
            }
        }
        // card_handler: vector, starting point, APDUs.
        let half = steps.len() / 2;
        for k in [0, half] {
            let mut seed = vec![v, u8::try_from(k)?];
            for step in &steps[k..] {
                op(&mut seed, &step.command);
            }
            written += usize::from(write(&dir, "card_handler", &seed)?);
        }
        let mut seed = vec![v, u8::try_from(steps.len())?];
        op(&mut seed, &[0x00, 0xCA, 0x00, 0xE0, 0x00]);
        op(&mut seed, &[]);
        seed.extend_from_slice(&0xFFFFu16.to_be_bytes());
        op(&mut seed, &[0x00, 0xCA, 0x00, 0xE0, 0x00]);
        written += usize::from(write(&dir, "card_handler", &seed)?);
        // vpcd_framing: chunk size, read-timeout and interrupt periods, frames.
        for params in [[0xFF, 0, 0], [2, 5, 7]] {
            let mut seed = params.to_vec();
            for message in [&[1u8][..], &[4]]
                .into_iter()
                .chain(steps.iter().map(|s| &s.command[..]))
            {
                op(&mut seed, message);
            }
            written += usize::from(write(&dir, "vpcd_framing", &seed)?);
        }
        // host_decode: the call's selector, then the answers.
        for (i, step) in steps.iter().enumerate() {
            if let Some(s) = selector(&step.command) {
                for extended in [0, 0x80] {
                    let mut seed = vec![s | extended];
                    for later in steps.iter().skip(i).take(12) {
                        op(&mut seed, &later.response);
                    }
                    written += usize::from(write(&dir, "host_decode", &seed)?);
                }
            }
        }
    }
    println!("{written} new seeds in {}", dir.display());
    Ok(())
}
