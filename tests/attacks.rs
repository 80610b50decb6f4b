//! [reliability] point 4: attacks, as tests. On every accepted authority
//! message and channel message of the vector flows (with the card exactly
//! as it was when it took it): the replay, at once and after a power
//! cycle; the same message after a fresh GET CHALLENGE (another nonce);
//! forged, truncated and high-S signatures on every signed message type;
//! every signed body presented as every other type (as is, and with its
//! outer tag rewritten). Each is refused and leaves persistent memory
//! byte-identical. Then: state files rolled back and copied (what the
//! authority's reconciliation sees), and no private key bytes in any file
//! the CLI writes besides the card state and the authority's key files.
//! Other attacks are covered where they were built (counted in the
//! report): tests/channel.rs, revoke.rs, credit.rs, value.rs, trust.rs,
//! tearing.rs (a cut during VERIFY gives back no try), state_file_cli.rs.

#[path = "bad_input_support.rs"]
mod support;

use std::collections::BTreeMap;
use std::path::Path;

use apdu::meter::{AID, Request};
use applet_sim::sim::Card;
use certmeter_tests::{Home, OWNER_PIN};
use support::{Ctx, accepted, kind, sw_of};

/// The commands that take a message signed by the authority (or the
/// factory's issuer root), and their answer to a replay at once.
const SIGNED: &[(&str, u16)] = &[
    ("PERSONALIZE", 0x6985),
    ("LOAD VALUE", 0x6984),
    ("SYNC", 0x6984),
    ("RESET RETRY COUNTER", 0x6984),
    ("REVOKE", 0x6984),
    ("KEY UPDATE", 0x6982),
    ("RATE UPDATE", 0x6984),
    ("STORE CREDIT LINE", 0x6984),
    ("CHANNEL HELLO", 0x6985),
    ("STORE ATTESTATION CERTIFICATE", 0x6985),
];
/// Channel messages, and their answer to a replay.
const SEALED: &[(&str, u16)] = &[
    ("CHANNEL MESSAGE", 0x9407),
    ("INSTALL KEY", 0x9407),
    // Its key was installed: no key pending (checked before the channel
    // opens the message, so the channel stays open).
    ("INSTALL CERTIFICATE", 0x6985),
];
/// Messages bound to the card's GET CHALLENGE nonce.
const NONCED: &[&str] = &[
    "PERSONALIZE",
    "SYNC",
    "RESET RETRY COUNTER",
    "REVOKE",
    "KEY UPDATE",
    "RATE UPDATE",
];

fn all_contexts() -> Vec<Ctx> {
    support::vector_contexts()
        .into_iter()
        .chain(support::extra_contexts())
        .collect()
}

fn apdu(r: Request<'_>) -> Vec<u8> {
    r.to_command().to_vec().unwrap()
}

/// Sends `apdus` to a copy of `card` (all but the last must be accepted);
/// the last must be refused and leave persistent memory as it was before
/// it. Returns its status word.
fn refused(card: &Card, setup: &[Vec<u8>], attack: &[u8]) -> Result<u16, String> {
    let mut card = card.clone();
    for a in setup {
        let out = card.transmit(a).map_err(|e| e.to_string())?;
        if !accepted(sw_of(&out)) {
            return Err(format!(
                "setup {} answered {:04X}",
                hex::encode_upper(a),
                sw_of(&out).0
            ));
        }
    }
    let before = card.store().image().to_vec();
    let out = card.transmit(attack).map_err(|e| e.to_string())?;
    let sw = sw_of(&out);
    if accepted(sw) || out.len() != 2 {
        return Err(format!("accepted: {:04X}", sw.0));
    }
    if card.store().image()[..] != before[..] {
        return Err(format!(
            "refused {:04X} but persistent memory changed",
            sw.0
        ));
    }
    Ok(sw.0)
}

/// The message part of a command's data (RESET RETRY COUNTER: without the
/// PIN that follows it) and what follows.
fn split_message(kind: &str, data: &[u8]) -> (Vec<u8>, Vec<u8>) {
    if kind == "RESET RETRY COUNTER" {
        let (_, rest) = apdu::tlv::read(data).unwrap();
        let n = data.len() - rest.len();
        (data[..n].to_vec(), data[n..].to_vec())
    } else {
        (data.to_vec(), Vec::new())
    }
}

struct Tally {
    counts: BTreeMap<String, usize>,
    failures: Vec<String>,
}

impl Tally {
    fn new() -> Self {
        Tally {
            counts: BTreeMap::new(),
            failures: Vec::new(),
        }
    }
    fn check(&mut self, what: &str, detail: &str, r: Result<u16, String>, want: Option<u16>) {
        *self.counts.entry(what.into()).or_default() += 1;
        match r {
            Ok(sw) if want.is_none_or(|w| w == sw) => {}
            Ok(sw) => self.failures.push(format!(
                "{what}: {detail}: answered {sw:04X}, expected {:04X}",
                want.unwrap_or(0)
            )),
            Err(e) => self.failures.push(format!("{what}: {detail}: {e}")),
        }
    }
    fn finish(self, title: &str) {
        let total: usize = self.counts.values().sum();
        println!("{title}: {total}");
        for (k, n) in &self.counts {
            println!("  {k}: {n}");
        }
        assert!(
            self.failures.is_empty(),
            "{} failed:\n{}",
            self.failures.len(),
            self.failures.join("\n")
        );
    }
}

/// Replays of every accepted authority and channel message: at once, and
/// after a power cycle (SELECT and VERIFY again); and the challenge-bound
/// ones after a fresh GET CHALLENGE.
#[test]
fn every_replayed_or_renonced_message_is_refused_and_changes_nothing() {
    let mut t = Tally::new();
    for ctx in all_contexts() {
        let k = kind(&ctx.cmd);
        let Some(&(_, want)) = SIGNED.iter().chain(SEALED).find(|(n, _)| *n == k) else {
            continue;
        };
        if !accepted(sw_of(&ctx.answer)) {
            continue;
        }
        let cmd = ctx.cmd.bytes();
        // Take it once, then again.
        let mut after = ctx.card.clone();
        let first = after.transmit(&cmd).unwrap();
        assert_eq!(first, ctx.answer, "{}: the message is taken", ctx.origin);
        t.check(
            "replay at once",
            &format!("{k} ({})", ctx.origin),
            refused(&after, &[], &cmd),
            Some(want),
        );
        // After a power cycle: RAM is gone; the persistent guards remain.
        let mut cycled = after.clone();
        cycled.reset();
        let mut setup = vec![apdu(Request::Select { aid: AID })];
        let needs_pin = matches!(
            k,
            "PERSONALIZE" | "STORE CREDIT LINE" | "INSTALL KEY" | "INSTALL CERTIFICATE"
        );
        if needs_pin {
            setup.push(apdu(Request::Verify {
                pin: Some(vectors::fixture::OWNER_PIN),
            }));
        }
        // Without a handshake a channel message finds no channel; without
        // a challenge a challenge-bound one finds none.
        let want_cycled = match k {
            "CHANNEL MESSAGE" | "INSTALL KEY" | "INSTALL CERTIFICATE" | "CHANNEL HELLO" => 0x6985,
            "PERSONALIZE" | "STORE ATTESTATION CERTIFICATE" => 0x6985,
            "KEY UPDATE" => 0x6982,
            _ => want,
        };
        t.check(
            "replay after a power cycle",
            &format!("{k} ({})", ctx.origin),
            refused(&cycled, &setup, &cmd),
            Some(want_cycled),
        );
        // Another nonce: a fresh GET CHALLENGE before the original message.
        if NONCED.contains(&k) {
            t.check(
                "another nonce",
                &format!("{k} ({})", ctx.origin),
                refused(&ctx.card, &[apdu(Request::GetChallenge)], &cmd),
                Some(0x6984),
            );
        }
    }
    t.finish("replay attacks tried");
}

const N: [u8; 32] = [
    0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xBC, 0xE6, 0xFA, 0xAD, 0xA7, 0x17, 0x9E, 0x84, 0xF3, 0xB9, 0xCA, 0xC2, 0xFC, 0x63, 0x25, 0x51,
];

/// n - s, big-endian.
fn neg(s: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; 32];
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let mut d = i16::from(N[i]) - i16::from(s[i]) - borrow;
        borrow = 0;
        if d < 0 {
            d += 256;
            borrow = 1;
        }
        out[i] = d as u8;
    }
    out
}

/// Every way of spoiling the signatures of `data`: each top-level
/// object's `5F37` (and that of a certificate nested one level down)
/// flipped in r, flipped in s, zeroed, cut to 63 bytes, and replaced by its
/// high-S twin (r, n - s).
fn spoiled(data: &[u8]) -> Vec<(String, Vec<u8>)> {
    let top = support::parse(data).unwrap();
    let mut out = Vec::new();
    for (i, o) in top.iter().enumerate() {
        if !o.constructed() {
            continue;
        }
        let children = support::parse(&o.value).unwrap();
        for (j, c) in children.iter().enumerate() {
            // The message's own signature, or one level down (7F23 {
            // 7F21 }, a certificate carried inside).
            let mut targets: Vec<(Option<usize>, Vec<u8>)> = Vec::new();
            if c.tag == [0x5F, 0x37] {
                targets.push((None, c.value.clone()));
            }
            let nested = if c.constructed() && c.tag != [0x7F, 0x4E] {
                support::parse(&c.value).unwrap_or_default()
            } else {
                Vec::new()
            };
            for (q, g) in nested.iter().enumerate() {
                if let Some(s) = support::parse(&g.value)
                    .unwrap_or_default()
                    .iter()
                    .find(|x| x.tag == [0x5F, 0x37])
                {
                    targets.push((Some(q), s.value.clone()));
                }
            }
            for (q, sig) in targets {
                if sig.len() != 64 {
                    continue;
                }
                let mut variants = vec![
                    ("r flipped", {
                        let mut s = sig.clone();
                        s[5] ^= 1;
                        s
                    }),
                    ("s flipped", {
                        let mut s = sig.clone();
                        s[40] ^= 1;
                        s
                    }),
                    ("zeroed", vec![0u8; 64]),
                    ("cut to 63 bytes", sig[..63].to_vec()),
                ];
                variants.push((
                    "high-S twin",
                    [sig[..32].to_vec(), neg(&sig[32..])].concat(),
                ));
                for (what, new_sig) in variants {
                    let replace = |objs: &[support::Obj]| -> Vec<support::Obj> {
                        objs.iter()
                            .map(|x| {
                                if x.tag == [0x5F, 0x37] {
                                    support::Obj {
                                        tag: x.tag.clone(),
                                        value: new_sig.clone(),
                                    }
                                } else {
                                    x.clone()
                                }
                            })
                            .collect()
                    };
                    let mut ch = children.clone();
                    match q {
                        None => ch[j].value = new_sig.clone(),
                        Some(q) => {
                            let mut n = nested.clone();
                            let inner = support::parse(&n[q].value).unwrap();
                            n[q].value = support::encode_all(&replace(&inner));
                            ch[j].value = support::encode_all(&n);
                        }
                    }
                    let mut t = top.clone();
                    t[i].value = support::encode_all(&ch);
                    let path = match q {
                        None => hex::encode_upper(&o.tag),
                        Some(_) => format!(
                            "{} {}",
                            hex::encode_upper(&o.tag),
                            hex::encode_upper(&c.tag)
                        ),
                    };
                    out.push((format!("{path}: {what}"), support::encode_all(&t)));
                }
            }
        }
    }
    out
}

/// Forged, truncated and high-S signatures on every signed message type
/// the card takes, on the first accepted one of each.
#[test]
fn every_spoiled_signature_is_refused_and_changes_nothing() {
    let mut first: BTreeMap<&str, Ctx> = BTreeMap::new();
    for ctx in all_contexts() {
        let k = kind(&ctx.cmd);
        if SIGNED.iter().any(|(n, _)| *n == k) && accepted(sw_of(&ctx.answer)) {
            first.entry(k).or_insert(ctx);
        }
    }
    assert_eq!(first.len(), SIGNED.len(), "{:?}", first.keys());
    let mut t = Tally::new();
    let mut seen_high_s = 0;
    for (k, ctx) in &first {
        let (message, tail) = split_message(k, &ctx.cmd.data);
        let cases = spoiled(&message);
        assert!(!cases.is_empty(), "{k}: no signature found");
        for (what, m) in cases {
            seen_high_s += usize::from(what.ends_with("high-S twin"));
            let attack = ctx.cmd.with_data([m, tail.clone()].concat()).bytes();
            let category = if what.ends_with("high-S twin") {
                "high-S signature"
            } else if what.ends_with("cut to 63 bytes") {
                "truncated signature"
            } else {
                "forged signature"
            };
            t.check(
                category,
                &format!("{k} {what}"),
                refused(&ctx.card, &[], &attack),
                None,
            );
        }
    }
    assert!(seen_high_s >= SIGNED.len());
    t.finish("signature attacks tried");
}

/// Every signed body (the authority's messages, and what the card signs:
/// postmark, receipt, requests, reports, certificates, payment, indicium,
/// registration, statement) presented to every command that takes a
/// signed message: as it is, and with its outer tag rewritten to the
/// expected one.
#[test]
fn every_signed_body_presented_as_another_type_is_refused() {
    let contexts = all_contexts();
    // The targets: the first accepted context of each signed-message kind.
    let mut targets: BTreeMap<&str, &Ctx> = BTreeMap::new();
    for ctx in &contexts {
        let k = kind(&ctx.cmd);
        if SIGNED.iter().any(|(n, _)| *n == k) && accepted(sw_of(&ctx.answer)) {
            targets.entry(k).or_insert(ctx);
        }
    }
    // The bodies: one of each outer tag, from commands and from answers.
    let mut bodies: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
    for ctx in &contexts {
        let k = kind(&ctx.cmd);
        let sources: Vec<Vec<u8>> = if SIGNED.iter().any(|(n, _)| *n == k) {
            vec![split_message(k, &ctx.cmd.data).0]
        } else if sw_of(&ctx.answer).0 == 0x9000 {
            vec![ctx.answer[..ctx.answer.len() - 2].to_vec()]
        } else {
            vec![]
        };
        for s in sources {
            let first = support::parse(&s).and_then(|objs| objs.into_iter().next());
            if let Some(o) = first.filter(|o| o.constructed()) {
                bodies.entry(o.tag.clone()).or_insert_with(|| o.encode());
            }
        }
    }
    println!(
        "signed bodies: {}",
        bodies
            .keys()
            .map(hex::encode_upper)
            .collect::<Vec<_>>()
            .join(" ")
    );
    assert!(bodies.len() >= 15, "{} bodies", bodies.len());
    let mut t = Tally::new();
    for (k, ctx) in &targets {
        let (message, tail) = split_message(k, &ctx.cmd.data);
        let own = support::parse(&message).unwrap()[0].tag.clone();
        for (tag, body) in &bodies {
            if *tag == own {
                continue;
            }
            let as_is = ctx
                .cmd
                .with_data([body.clone(), tail.clone()].concat())
                .bytes();
            t.check(
                "another type as is",
                &format!("{} as {k}", hex::encode_upper(tag)),
                refused(&ctx.card, &[], &as_is),
                None,
            );
            let mut o = support::parse(body).unwrap().remove(0);
            o.tag = own.clone();
            let retagged = ctx
                .cmd
                .with_data([o.encode(), tail.clone()].concat())
                .bytes();
            t.check(
                "another type, outer tag rewritten",
                &format!("{} retagged as {k}", hex::encode_upper(tag)),
                refused(&ctx.card, &[], &retagged),
                None,
            );
        }
    }
    t.finish("type-confusion attacks tried");
}

/// PIN guessing: three wrong PINs block it; the right one is then refused
/// (6983) and nothing is written; the authority's unblock is the way back
/// (tests/trust.rs; a cut during VERIFY: tests/tearing.rs).
#[test]
fn pin_guessing_blocks_after_three() {
    let (card, _) = support::FIXTURE.card().unwrap();
    let mut card = card;
    card.reset();
    let send = |card: &mut Card, r: Request<'_>| card.transmit(&apdu(r)).unwrap();
    assert_eq!(send(&mut card, Request::Select { aid: AID }).len(), 22);
    let mut guesses = 0;
    for pin in [&b"0000"[..], b"1111", b"2222"] {
        let out = send(&mut card, Request::Verify { pin: Some(pin) });
        guesses += 1;
        assert_eq!(out, [0x63, 0xC0 | (3 - guesses)]);
    }
    for pin in [vectors::fixture::OWNER_PIN, b"3333", b"4444"] {
        let before = *card.store().image();
        assert_eq!(
            send(&mut card, Request::Verify { pin: Some(pin) }),
            [0x69, 0x83]
        );
        assert!(card.store().image()[..] == before[..]);
    }
    // A power cycle gives nothing back.
    card.reset();
    send(&mut card, Request::Select { aid: AID });
    assert_eq!(send(&mut card, Request::Verify { pin: None }), [0x69, 0x83]);
    println!("PIN guesses tried: 6 (3 counted, 3 refused while blocked)");
}

// ---- state files and the authority ---------------------------------------

fn status(home: &Home) -> serde_json::Value {
    home.meter(["status", "--json"]).expect_code(0).json()
}

/// A card state file rolled back after a postmark (the money it spent
/// back on the card), and one copied to a second card file: the card
/// cannot tell (its image is valid), the authority's reconciliation at the
/// next inspection does: its records say more was charged than the card
/// reports, so the meter is flagged.
#[test]
fn a_rolled_back_card_is_flagged_by_the_authoritys_reconciliation() {
    let home = Home::personalized("ATK-1", "10.00");
    let (_, state) = home.card();
    home.meter(["audit"]).expect_code(0);
    let saved = std::fs::read(&state).unwrap();
    let letter = home.path().join("l.txt");
    std::fs::write(&letter, "a letter").unwrap();
    home.meter(["--pin", OWNER_PIN, "postmark", letter.to_str().unwrap()])
        .expect_code(0);
    // An audit after the postmark: the authority now knows the sequence.
    home.meter(["audit"]).expect_code(0);
    let after = status(&home);
    // Roll the file back (the same bytes, a valid image).
    std::fs::write(&state, &saved).unwrap();
    let rolled = status(&home);
    assert_ne!(after["sequence"], rolled["sequence"], "rolled back");
    let run = home.meter(["audit"]);
    let out = format!("{}{}", run.stdout, run.stderr);
    assert!(
        run.code != 0
            || out.contains("flag")
            || out.contains("mismatch")
            || out.contains("not reconcile"),
        "a rolled-back card passes inspection:\n{out}"
    );
    println!(
        "rollback: detected by the authority's inspection: {}",
        out.trim()
    );
}

/// Every private key the flows make, 8 bytes at a time, in no file the
/// CLI wrote under METER_HOME except the card state (which holds the
/// card's keys by design) and the authority's key files.
#[test]
fn no_private_key_bytes_in_any_file_the_cli_writes() {
    let home = Home::personalized("ATK-2", "50.00");
    let dir = home.path();
    let p = |s: &str| dir.join(s).to_str().unwrap().to_owned();
    std::fs::write(dir.join("l.txt"), "a letter").unwrap();
    let pin = ["--pin", OWNER_PIN];
    let run = |args: &[&str]| {
        home.meter(pin.iter().copied().chain(args.iter().copied()))
            .expect_code(0)
    };
    run(&["postmark", &p("l.txt")]);
    run(&["verify", "--on-card", &p("l.txt"), &p("l.txt.postmark")]);
    run(&["load", "5.00"]);
    run(&["sync"]);
    run(&["audit"]);
    run(&["recharge", "5.00", "--register", "postage"]);
    run(&[
        "postage",
        "--amount",
        "0.60",
        "--from",
        "12345",
        "--to",
        "54321",
        "-o",
        &p("ind"),
    ]);
    let code = home
        .meter(["authority", "enroll", "ALICE", "--json"])
        .expect_code(0)
        .json()["code"]
        .as_str()
        .unwrap()
        .to_owned();
    run(&["cert", "install", "--name", "ALICE", "--code", &code]);
    let receiver = p256::SecretKey::from_slice(&[0x21; 32]).unwrap();
    use p256::pkcs8::{EncodePublicKey, LineEnding};
    std::fs::write(
        dir.join("recv.pem"),
        receiver
            .public_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap(),
    )
    .unwrap();
    run(&[
        "cert",
        "issue",
        "--for",
        "BOB",
        "--receiver-key",
        &p("recv.pem"),
        "-o",
        &p("bob.agent"),
    ]);
    run(&["credit", "request", "--amount", "100.00"]);
    run(&[
        "pay",
        "1.00",
        "--merchant",
        "SHOP-1",
        "-o",
        &p("payment-1.credit"),
    ]);
    run(&["cert", "revoke", "1", "--reason", "superseded"]);
    run(&["authority", "crl", "-o", &p("crl.der")]);

    // The secrets: the card's keys from its state (meter key, attestation
    // key, installed holder keys), the authority's from its key files.
    let (_, state) = home.card();
    let image = card_image(&state);
    let store = applet_sim::store::Store::from_image(&image);
    let mut secrets: Vec<(String, Vec<u8>)> = vec![
        (
            "meter key".into(),
            applet_sim::layout::METER_PRIVATE_KEY
                .read(&store)
                .unwrap()
                .to_vec(),
        ),
        (
            "attestation key".into(),
            applet_sim::layout::ATTESTATION_PRIVATE_KEY
                .read(&store)
                .unwrap()
                .to_vec(),
        ),
    ];
    for slot in 1..4 {
        if let Ok(Some(k)) = applet_sim::certificates::key(&store, slot) {
            secrets.push((format!("holder key, slot {slot}"), k.to_vec()));
        }
    }
    // The agent-issued key, as the receiver opens it from its sealed file.
    let agent = std::fs::read(dir.join("bob.agent")).unwrap();
    let opened = reader::agent::open(&agent, &receiver).unwrap();
    secrets.push(("agent-issued key".into(), opened.to_bytes().to_vec()));
    let mut key_files = Vec::new();
    for f in walk(&dir.join("authority")) {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        if name.ends_with(".key") {
            let bytes = std::fs::read(&f).unwrap();
            secrets.push((name, key_scalar(&bytes)));
            key_files.push(f);
        }
    }
    assert!(key_files.len() >= 2, "{key_files:?}");
    let mut scanned = 0;
    let mut names = Vec::new();
    for f in walk(dir) {
        if f == state || key_files.contains(&f) || f.extension().is_some_and(|e| e == "lock") {
            continue;
        }
        let bytes = std::fs::read(&f).unwrap();
        scanned += 1;
        names.push(f.strip_prefix(dir).unwrap().display().to_string());
        for (what, secret) in &secrets {
            assert_eq!(secret.len(), 32, "{what}");
            for piece in secret.windows(8) {
                let hex_piece = hex::encode(piece);
                let text = String::from_utf8_lossy(&bytes).to_lowercase();
                assert!(
                    !bytes.windows(8).any(|w| w == piece) && !text.contains(&hex_piece),
                    "8 bytes of the {what} in {}",
                    f.display()
                );
            }
        }
    }
    println!(
        "no key bytes: {} secrets, {scanned} files scanned: {}",
        secrets.len(),
        names.join(" ")
    );
}

/// The persistent image inside a card state file.
fn card_image(path: &Path) -> [u8; applet_sim::budget::PERSISTENT_CAPACITY] {
    let mut f =
        applet_sim::sim::StateFile::open(path, applet_sim::sim::SimConfig::default()).unwrap();
    *f.card().store().image()
}

/// The 32-byte scalar of an authority key file (raw, hex or PKCS#8 PEM).
fn key_scalar(bytes: &[u8]) -> Vec<u8> {
    if bytes.len() == 32 {
        return bytes.to_vec();
    }
    let text = String::from_utf8_lossy(bytes);
    if let Ok(k) = <p256::SecretKey as p256::pkcs8::DecodePrivateKey>::from_pkcs8_pem(&text) {
        return k.to_bytes().to_vec();
    }
    if let Ok(k) = p256::SecretKey::from_sec1_pem(&text) {
        return k.to_bytes().to_vec();
    }
    let h =
        hex::decode(text.trim()).unwrap_or_else(|_| panic!("an authority key file: {text:.20}"));
    assert_eq!(h.len(), 32);
    h
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
