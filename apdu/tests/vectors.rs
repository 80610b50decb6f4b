//! The encoders of `apdu` write the card's answers and the authority's
//! messages byte for byte: every answer and signed message in the committed
//! APDU vectors (vectors/data/*.json, recorded from the card and authority
//! as they are) parses, and re-encoding the parsed value gives the same
//! bytes (signed objects re-encoded with the signature they carry).
#![cfg(feature = "alloc")]

use apdu::cert::Certificate;
use apdu::cmd::generate_key::PublicKeyTemplate;
use apdu::cmd::get_data::{RateTable, StatusTemplate};
use apdu::cmd::load_value::{LoadReceipt, ValueLoad};
use apdu::cmd::personalize::Personalization;
use apdu::cmd::postmark::{Postmark, PostmarkFile};
use apdu::cmd::select::Fci;
use apdu::cmd::verify_postmark::Verdict;
use apdu::meter::{DataObject, Request};
use apdu::signed::Signed;
use apdu::tlv::{TlvError, Writer};
use apdu::{Command, StatusWord};
use std::collections::BTreeMap;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// The (command, response) pairs of a vector file, read without a JSON
/// library: each step has a "command" then a "response" hex string.
fn steps(json: &str) -> Vec<(Vec<u8>, Vec<u8>)> {
    let value = |key: &str, from: usize| -> Option<(String, usize)> {
        let k = format!("\"{key}\": \"");
        let at = json[from..].find(&k)? + from + k.len();
        let end = json[at..].find('"')? + at;
        Some((json[at..end].to_owned(), end))
    };
    let mut out = Vec::new();
    let mut at = 0;
    while let Some((c, end)) = value("command", at) {
        let (r, end) = value("response", end).unwrap();
        out.push((hex(&c), hex(&r)));
        at = end;
    }
    out
}

fn encode(f: impl FnOnce(&mut Writer<'_>) -> Result<(), TlvError>) -> Vec<u8> {
    let mut buf = vec![0u8; 70_000];
    let mut w = Writer::new(&mut buf);
    f(&mut w).unwrap();
    w.written().to_vec()
}

fn signature(s: &Signed<'_>) -> impl FnOnce(&[u8]) -> [u8; 64] + use<> {
    let sig = *s.signature;
    move |_| sig
}

fn check_certificate(bytes: &[u8]) {
    let c = Certificate::parse(bytes).unwrap();
    assert_eq!(encode(|w| c.body().write(w, signature(&c.signed))), bytes);
}

fn check_postmark(bytes: &[u8]) {
    let p = Postmark::parse(bytes).unwrap();
    assert_eq!(encode(|w| p.body().write(w, signature(&p.signed))), bytes);
}

/// Checks one command and its whole answer; returns what was checked.
fn check(req: Request<'_>, answer: &[u8]) -> &'static str {
    match req {
        Request::Select { .. } => {
            let fci = Fci::parse(answer).unwrap();
            assert_eq!(encode(|w| fci.write(w)), answer);
            "FCI"
        }
        Request::GetData(DataObject::Status) => {
            let s = StatusTemplate::parse(answer).unwrap();
            assert_eq!(encode(|w| s.write(w)), answer);
            "status template"
        }
        Request::GetData(DataObject::RateTable) => {
            let t = RateTable::parse(answer).unwrap();
            assert_eq!(
                encode(|w| RateTable::write_versioned(w, t.iter(), t.version())),
                answer
            );
            "rate table"
        }
        Request::GetData(DataObject::PublicKey) | Request::GenerateKey { .. } => {
            let k = PublicKeyTemplate::parse(answer).unwrap();
            assert_eq!(encode(|w| k.write(w)), answer);
            "public key template"
        }
        Request::Personalize { message } => {
            let p = Personalization::parse(message).unwrap();
            assert_eq!(encode(|w| p.body().write(w, signature(&p.signed))), message);
            check_certificate(p.certificate.signed.raw);
            "personalization message and certificate"
        }
        Request::LoadValue { message } => {
            let m = ValueLoad::parse(message).unwrap();
            assert_eq!(encode(|w| m.body().write(w, signature(&m.signed))), message);
            let r = LoadReceipt::parse(answer).unwrap();
            assert_eq!(encode(|w| r.body().write(w, signature(&r.signed))), answer);
            "value load and load receipt"
        }
        Request::Postmark => {
            check_postmark(answer);
            "postmark"
        }
        Request::VerifyPostmark { file, with_crl } => {
            let file = if with_crl {
                let (file, list) = apdu::cmd::verify_postmark::split(file).unwrap();
                let crl = apdu::cmd::revoke::Crl::parse(list).unwrap();
                assert_eq!(Verdict::parse(answer).unwrap().crl, Some(crl.number));
                file
            } else {
                file
            };
            let f = PostmarkFile::parse(file).unwrap();
            check_postmark(f.postmark.signed.raw);
            check_certificate(f.certificate.signed.raw);
            let v = Verdict::parse(answer).unwrap();
            assert_eq!(encode(|w| v.write(w)), answer);
            "postmark file and verdict"
        }
        Request::ReadCertificate { .. } => {
            check_certificate(answer);
            "certificate"
        }
        _ => "command without answer data",
    }
}

/// CLA, INS, P1, P2 and Le of the command being answered.
type Header = (u8, u8, u8, u8, Option<usize>);

#[test]
fn the_card_and_authority_bytes_in_the_vectors_re_encode_identically() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../vectors/data");
    let mut seen = BTreeMap::<&str, usize>::new();
    let mut files = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        files += 1;
        let json = std::fs::read_to_string(&path).unwrap();
        // Chained command data, then the command being answered and its
        // answer so far (61xx and GET RESPONSE bring the rest).
        let mut chain = Vec::new();
        let mut pending: Option<(Vec<u8>, Header)> = None;
        let mut answer = Vec::new();
        for (c, r) in steps(&json) {
            let cmd = Command::parse(&c).unwrap();
            let (body, sw) = r.split_at(r.len() - 2);
            let sw = StatusWord::new(sw[0], sw[1]);
            if cmd.ins == apdu::meter::ins::GET_RESPONSE {
                answer.extend_from_slice(body);
            } else if cmd.is_chained() {
                chain.extend_from_slice(cmd.data);
                continue;
            } else {
                chain.extend_from_slice(cmd.data);
                let header = (cmd.cla, cmd.ins, cmd.p1, cmd.p2, cmd.le);
                pending = Some((std::mem::take(&mut chain), header));
                answer = body.to_vec();
            }
            if sw.remaining().is_some() {
                continue;
            }
            if let Some((data, (cla, ins, p1, p2, le))) = pending.take()
                && sw.is_ok()
            {
                let cmd = Command::new(cla, ins, p1, p2, &data, le);
                let req = Request::parse(&cmd).unwrap();
                *seen.entry(check(req, &answer)).or_default() += 1;
            }
        }
    }
    assert!(files >= 8, "vector files in {}", dir.display());
    for kind in [
        "FCI",
        "status template",
        "rate table",
        "public key template",
        "personalization message and certificate",
        "value load and load receipt",
        "postmark",
        "postmark file and verdict",
        "certificate",
    ] {
        assert!(
            seen.get(kind).is_some_and(|n| *n > 0),
            "no {kind} in the vectors: {seen:?}"
        );
    }
}
