//! [reliability] point 3: the bad-input table. Every command (every
//! `apdu::cmd::Request` variant), taken in a card state where the card
//! accepted it (each accepted command of the vector flows, with the card
//! exactly as it was just before it), crossed with a wrong CLA, an unknown
//! INS, every wrong P1 and P2, Lc/Le mismatches, a broken chain, data of
//! the wrong length, truncated and oversized TLV, each field missing and
//! non-minimal length encodings; then every command in every wrong card
//! state (not selected, blank, transport PIN, PIN not verified, PIN
//! blocked, locked by time, locked by debits, no free slot, counters at
//! their end, certificate revoked or expired, no line of credit, no
//! challenge, no hash, no channel, no funds, terminated). Each case has its
//! expected status word (docs/apdu.md) and leaves the card's persistent
//! memory byte-identical. The table is data; the test prints how many
//! cases ran, by category.

#[path = "bad_input_support.rs"]
mod support;

use std::collections::BTreeMap;

use apdu::meter::{AID, Request};
use apdu::{Command, StatusWord};
use applet_sim::sim::Card;
use support::{Ctx, accepted, kind, sw_of};

/// What P1 P2 a command takes: `None` for a valid pair (the original
/// function or another one: not a bad input), else the status word.
type P1P2 = fn(u8, u8) -> Option<u16>;

/// What data a command takes.
#[derive(Clone, Copy)]
enum Data {
    /// None: any data is 6700.
    None,
    /// Exactly or within these lengths: the listed wrong lengths are 6700.
    Lengths(&'static [usize]),
    /// Any bytes, at least one (HASH update).
    Raw,
    /// BER-TLV objects; the longest accepted, if the command has one
    /// (one byte more is 6700); malformed data answers `structural`.
    Tlv { max: Option<usize>, structural: u16 },
    /// A TLV message, then a PIN (RESET RETRY COUNTER).
    TlvThenPin,
    /// `counter || ciphertext || tag` over the channel: any change is 9407.
    Sealed,
}

/// One row of the table: a command, its P1/P2 rule and its data.
struct Spec {
    kind: &'static str,
    p1p2: P1P2,
    data: Data,
}

const INCORRECT_P1P2: u16 = 0x6A86;
const WRONG_LENGTH: u16 = 0x6700;
const INCORRECT_DATA: u16 = 0x6A80;
const CHANNEL_REFUSED: u16 = 0x9407;

fn zero(p1: u8, p2: u8) -> Option<u16> {
    ((p1, p2) != (0, 0)).then_some(INCORRECT_P1P2)
}
fn owner_pin(p1: u8, p2: u8) -> Option<u16> {
    ((p1, p2) != (0, 0x81)).then_some(INCORRECT_P1P2)
}
fn select(p1: u8, p2: u8) -> Option<u16> {
    (!(p1 == 4 && matches!(p2, 0 | 0x0C))).then_some(INCORRECT_P1P2)
}
fn get_data(p1: u8, p2: u8) -> Option<u16> {
    (!matches!((p1, p2), (0, 0xE0) | (0, 0xE1) | (0x7F, 0x49))).then_some(0x6A88)
}
fn generate_key(p1: u8, p2: u8) -> Option<u16> {
    (!matches!((p1, p2), (0x80 | 0x81, 0))).then_some(INCORRECT_P1P2)
}
/// Two functions, P1 `00` and `01`.
fn p1_0_or_1(p1: u8, p2: u8) -> Option<u16> {
    (!matches!((p1, p2), (0 | 1, 0))).then_some(INCORRECT_P1P2)
}
fn slot(p1: u8, p2: u8) -> Option<u16> {
    (p1 >= 4 || p2 != 0).then_some(INCORRECT_P1P2)
}
fn revoke_request(p1: u8, p2: u8) -> Option<u16> {
    (p1 >= 4 || p2 > 0x0A || p2 == 7).then_some(INCORRECT_P1P2)
}
fn install(p1: u8, p2: u8) -> Option<u16> {
    let ok = match p1 {
        0 | 1 => p2 == 0,
        2 | 3 => p2 < 4,
        _ => false,
    };
    (!ok).then_some(INCORRECT_P1P2)
}
fn recharge(p1: u8, p2: u8) -> Option<u16> {
    (!matches!((p1, p2), (1 | 2, 0))).then_some(INCORRECT_P1P2)
}

const fn tlv(max: Option<usize>) -> Data {
    Data::Tlv {
        max,
        structural: INCORRECT_DATA,
    }
}

/// The table: every command, from docs/apdu.md (its P1 P2 and data rows).
const SPECS: &[Spec] = &[
    Spec {
        kind: "SELECT",
        p1p2: select,
        data: Data::Lengths(&[0, 17]),
    },
    Spec {
        kind: "VERIFY",
        p1p2: owner_pin,
        data: Data::Lengths(&[1, 3, 9]),
    },
    Spec {
        kind: "CHANGE REFERENCE DATA",
        p1p2: owner_pin,
        data: Data::Lengths(&[0, 11, 17]),
    },
    Spec {
        kind: "GET DATA",
        p1p2: get_data,
        data: Data::None,
    },
    Spec {
        kind: "GET CHALLENGE",
        p1p2: zero,
        data: Data::None,
    },
    Spec {
        kind: "GENERATE KEY",
        p1p2: generate_key,
        data: Data::None,
    },
    Spec {
        kind: "GENERATE KEY read",
        p1p2: generate_key,
        data: Data::None,
    },
    Spec {
        kind: "PERSONALIZE",
        p1p2: zero,
        data: tlv(None),
    },
    Spec {
        kind: "LOAD VALUE",
        p1p2: zero,
        data: tlv(None),
    },
    Spec {
        kind: "HASH init",
        p1p2: p1_0_or_1,
        data: Data::None,
    },
    Spec {
        kind: "HASH update",
        p1p2: p1_0_or_1,
        data: Data::Raw,
    },
    Spec {
        kind: "POSTMARK",
        p1p2: zero,
        data: Data::None,
    },
    Spec {
        kind: "POSTAGE",
        p1p2: zero,
        data: tlv(Some(64)),
    },
    Spec {
        kind: "VERIFY POSTMARK",
        p1p2: p1_0_or_1,
        data: tlv(None),
    },
    Spec {
        kind: "VERIFY POSTMARK with list",
        p1p2: p1_0_or_1,
        data: tlv(None),
    },
    Spec {
        kind: "READ CERTIFICATE",
        p1p2: slot,
        data: Data::None,
    },
    Spec {
        kind: "STORE ATTESTATION CERTIFICATE",
        p1p2: zero,
        data: tlv(None),
    },
    Spec {
        kind: "READ ATTESTATION",
        p1p2: p1_0_or_1,
        data: Data::None,
    },
    Spec {
        kind: "ATTEST",
        p1p2: p1_0_or_1,
        data: Data::Lengths(&[0, 15, 17]),
    },
    Spec {
        kind: "SYNC",
        p1p2: zero,
        data: tlv(None),
    },
    Spec {
        kind: "RESET RETRY COUNTER",
        p1p2: owner_pin,
        data: Data::TlvThenPin,
    },
    Spec {
        kind: "ISSUE CERTIFICATE",
        p1p2: zero,
        data: tlv(None),
    },
    Spec {
        kind: "REVOKE REQUEST",
        p1p2: revoke_request,
        data: Data::None,
    },
    Spec {
        kind: "REVOKE",
        p1p2: zero,
        data: tlv(None),
    },
    Spec {
        kind: "KEY UPDATE",
        p1p2: zero,
        data: tlv(None),
    },
    Spec {
        kind: "CHANNEL KEY",
        p1p2: zero,
        data: Data::Lengths(&[0, 15, 17]),
    },
    Spec {
        kind: "OPEN CHANNEL",
        p1p2: p1_0_or_1,
        data: Data::None,
    },
    Spec {
        kind: "CHANNEL HELLO",
        p1p2: p1_0_or_1,
        data: tlv(None),
    },
    Spec {
        kind: "CHANNEL MESSAGE",
        p1p2: zero,
        data: Data::Sealed,
    },
    Spec {
        kind: "INSTALL KEY",
        p1p2: install,
        data: Data::Sealed,
    },
    Spec {
        kind: "INSTALL CERTIFICATE",
        p1p2: install,
        data: Data::Sealed,
    },
    Spec {
        kind: "SIGN",
        p1p2: install,
        data: Data::Lengths(&[0, 31, 33]),
    },
    Spec {
        kind: "AUTHENTICATE",
        p1p2: install,
        data: Data::Lengths(&[0, 31, 33]),
    },
    Spec {
        kind: "STORE CREDIT LINE",
        p1p2: p1_0_or_1,
        data: tlv(Some(768)),
    },
    Spec {
        kind: "READ CREDIT LINE",
        p1p2: p1_0_or_1,
        data: Data::None,
    },
    Spec {
        kind: "PAY",
        p1p2: zero,
        data: tlv(Some(44)),
    },
    Spec {
        kind: "RECHARGE REQUEST",
        p1p2: recharge,
        data: Data::Lengths(&[0, 7, 9]),
    },
    Spec {
        kind: "RATE UPDATE",
        p1p2: zero,
        data: tlv(None),
    },
    Spec {
        kind: "AUDIT",
        p1p2: zero,
        data: Data::None,
    },
];

/// One bad input: the APDUs (all but the last must answer 9000), what the
/// last must answer.
struct Case {
    category: &'static str,
    what: String,
    apdus: Vec<Vec<u8>>,
    expect: u16,
}

fn case(category: &'static str, what: impl Into<String>, apdu: Vec<u8>, expect: u16) -> Case {
    Case {
        category,
        what: what.into(),
        apdus: vec![apdu],
        expect,
    }
}

fn header(c: &support::Cmd) -> Vec<u8> {
    vec![c.cla, c.ins, c.p1, c.p2]
}

/// The malformed-data cases of a TLV command with data `data` (`wrap`
/// puts the mutated data into the command's data field).
#[allow(clippy::too_many_arguments)]
fn tlv_cases(
    out: &mut Vec<Case>,
    cmd: &support::Cmd,
    data: &[u8],
    wrap: &dyn Fn(Vec<u8>) -> Vec<u8>,
    structural: u16,
    max: Option<usize>,
    trailing: u16,
    optional: &[&str],
) {
    let n = data.len();
    let mk = |d: Vec<u8>| cmd.with_data(wrap(d)).bytes();
    for cut in [1, 2, n / 2, n - 1] {
        if cut >= 1 && cut < n {
            out.push(case(
                "truncated TLV",
                format!("cut to {} of {n} bytes", n - cut),
                mk(data[..n - cut].to_vec()),
                structural,
            ));
        }
    }
    if let Some(top) = support::parse(data) {
        let last = top.len() - 1;
        for extra in [1, 2, 300] {
            let mut bytes: Vec<u8> = top[..last].iter().flat_map(support::Obj::encode).collect();
            bytes.extend(top[last].encode_overlong(extra));
            out.push(case(
                "oversized TLV",
                format!("last object claims {extra} bytes more"),
                mk(bytes),
                structural,
            ));
        }
        for (what, extra) in [
            ("a trailing byte", &[0x00][..]),
            ("a trailing object", &[0xC1, 0x01, 0x00][..]),
        ] {
            out.push(case(
                "oversized TLV",
                what,
                cmd.with_data(wrap([data, extra].concat())).bytes(),
                trailing,
            ));
        }
        // Over the longest the command takes, the length is refused first.
        let twice_expect = match max {
            Some(max) if 2 * n > max => WRONG_LENGTH,
            _ => trailing,
        };
        out.push(case(
            "oversized TLV",
            "the data twice",
            cmd.with_data(wrap([data, data].concat())).bytes(),
            twice_expect,
        ));
        let mut first = top.clone();
        let bytes: Vec<u8> = std::iter::once(first[0].encode_non_minimal())
            .chain(first[1..].iter().map(support::Obj::encode))
            .flatten()
            .collect();
        out.push(case(
            "non-minimal encoding",
            "first object's length in long form",
            mk(bytes),
            structural,
        ));
        if let Some(mut children) =
            support::parse(&first[0].value).filter(|c| first[0].constructed() && !c.is_empty())
        {
            {
                {
                    let inner: Vec<u8> = std::iter::once(children[0].encode_non_minimal())
                        .chain(children[1..].iter().map(support::Obj::encode))
                        .flatten()
                        .collect();
                    first[0].value = inner;
                    out.push(case(
                        "non-minimal encoding",
                        "first inner field's length in long form",
                        mk(support::encode_all(&first)),
                        structural,
                    ));
                    // A nested object's length in long form too.
                    if let Some(pos) = children.iter().position(|c| c.constructed()) {
                        let nested = support::parse(&children[pos].value).unwrap_or_default();
                        if !nested.is_empty() {
                            let b: Vec<u8> = std::iter::once(nested[0].encode_non_minimal())
                                .chain(nested[1..].iter().map(support::Obj::encode))
                                .flatten()
                                .collect();
                            children[pos].value = b;
                            let mut t = top.clone();
                            t[0].value = support::encode_all(&children);
                            out.push(case(
                                "non-minimal encoding",
                                "a nested field's length in long form",
                                mk(support::encode_all(&t)),
                                structural,
                            ));
                        }
                    }
                }
            }
        }
        for (path, d) in support::without_each_field(data) {
            // A field the format makes optional: the message still parses,
            // and the signature over it no longer verifies.
            let expect = if optional.contains(&path.as_str()) {
                0x6982
            } else {
                structural
            };
            out.push(case(
                "missing field",
                format!("without {path}"),
                cmd.with_data(wrap(d)).bytes(),
                expect,
            ));
        }
    }
}

/// Every syntactic bad input for the command of `ctx`.
fn syntax_cases(spec: &Spec, ctx: &Ctx) -> Vec<Case> {
    let cmd = &ctx.cmd;
    let mut out = Vec::new();
    // Class.
    for cla in 0..=u8::MAX {
        let expect = match cla & !0x10 {
            0x00 | 0x80 if cla & 0x10 != 0 => continue, // a chain part
            c if c == cmd.cla => continue,
            0x00 | 0x80 => 0x6D00,
            _ => 0x6E00,
        };
        let c = support::Cmd { cla, ..cmd.clone() };
        out.push(case(
            "wrong CLA",
            format!("CLA {cla:02X}"),
            c.bytes(),
            expect,
        ));
    }
    // Instruction.
    for ins in 0..=u8::MAX {
        let known = Request::parse(&Command::new(cmd.cla, ins, 0, 0, &[], None))
            != Err(StatusWord::INS_NOT_SUPPORTED);
        if known || (cmd.cla == 0 && ins == apdu::meter::ins::GET_RESPONSE) {
            continue;
        }
        let c = support::Cmd { ins, ..cmd.clone() };
        out.push(case(
            "unknown INS",
            format!("INS {ins:02X}"),
            c.bytes(),
            0x6D00,
        ));
    }
    // P1 and P2.
    let pairs = (0..=u8::MAX)
        .map(|p1| (p1, cmd.p2))
        .chain((0..=u8::MAX).map(|p2| (cmd.p1, p2)));
    for (p1, p2) in pairs {
        if (p1, p2) == (cmd.p1, cmd.p2) {
            continue;
        }
        if let Some(expect) = (spec.p1p2)(p1, p2) {
            let c = support::Cmd {
                p1,
                p2,
                ..cmd.clone()
            };
            out.push(case(
                "wrong P1/P2",
                format!("P1 P2 {p1:02X} {p2:02X}"),
                c.bytes(),
                expect,
            ));
        }
    }
    // Lc and Le.
    let n = cmd.data.len();
    let h = header(cmd);
    for cut in 1..=4 {
        out.push(case(
            "Lc/Le mismatch",
            format!("{} header bytes", 4 - cut),
            h[..4 - cut].to_vec(),
            WRONG_LENGTH,
        ));
    }
    if n > 0 {
        let lc = |len: usize| -> Vec<u8> {
            if len <= 255 && n <= 255 {
                vec![len as u8]
            } else {
                vec![0, (len >> 8) as u8, len as u8]
            }
        };
        out.push(case(
            "Lc/Le mismatch",
            "Lc one more than the data",
            [h.clone(), lc(n + 1), cmd.data.clone()].concat(),
            WRONG_LENGTH,
        ));
        // Short: two less (one less would read the last byte as Le).
        // Extended: three less (two less would read the last two as Le).
        let under = if n <= 255 { 2 } else { 3 };
        if n > under {
            out.push(case(
                "Lc/Le mismatch",
                format!("Lc {under} less than the data"),
                [h.clone(), lc(n - under), cmd.data.clone()].concat(),
                WRONG_LENGTH,
            ));
        }
        out.push(case(
            "Lc/Le mismatch",
            "extended Lc, one-byte Le",
            [
                h.clone(),
                vec![0, (n >> 8) as u8, n as u8],
                cmd.data.clone(),
                vec![0],
            ]
            .concat(),
            WRONG_LENGTH,
        ));
        out.push(case(
            "Lc/Le mismatch",
            "extended Lc 0000 with data",
            [h.clone(), vec![0, 0, 0], cmd.data.clone()].concat(),
            WRONG_LENGTH,
        ));
        out.push(case(
            "Lc/Le mismatch",
            "extended Lc, three-byte Le",
            [
                h.clone(),
                vec![0, (n >> 8) as u8, n as u8],
                cmd.data.clone(),
                vec![0, 1, 0],
            ]
            .concat(),
            WRONG_LENGTH,
        ));
    } else {
        out.push(case(
            "Lc/Le mismatch",
            "two-byte body",
            [h.clone(), vec![0, 0]].concat(),
            WRONG_LENGTH,
        ));
    }
    if spec.kind == "GET CHALLENGE" {
        for le in [
            None,
            Some(1),
            Some(15),
            Some(17),
            Some(255),
            Some(256),
            Some(65536),
        ] {
            let c = support::Cmd { le, ..cmd.clone() };
            out.push(case(
                "Lc/Le mismatch",
                format!("GET CHALLENGE Le {le:?}"),
                c.bytes(),
                0x6C10,
            ));
        }
    }
    // A chain broken by a part with another header.
    if n >= 2 {
        let first = support::Cmd {
            cla: cmd.cla | 0x10,
            data: cmd.data[..n / 2].to_vec(),
            le: None,
            ..cmd.clone()
        };
        let last = support::Cmd {
            p2: cmd.p2 ^ 0x40,
            data: cmd.data[n / 2..].to_vec(),
            ..cmd.clone()
        };
        let other = support::Cmd {
            ins: if cmd.cla == 0 { 0xCA } else { 0x3C },
            p1: 0,
            p2: if cmd.cla == 0 { 0xE0 } else { 0 },
            data: Vec::new(),
            le: Some(256),
            ..cmd.clone()
        };
        for (what, second) in [
            ("last part with another P2", last),
            ("another command in the chain", other),
        ] {
            // An unchained SELECT with another header abandons the chain
            // and runs (docs/apdu.md, Command chaining): P2 40 is 6A86.
            let expect = if spec.kind == "SELECT" && what.starts_with("last") {
                INCORRECT_P1P2
            } else {
                0x6883
            };
            out.push(Case {
                category: "broken chain",
                what: what.into(),
                apdus: vec![first.bytes(), second.bytes()],
                expect,
            });
        }
    }
    // Data.
    let filler = |len: usize| -> Vec<u8> {
        let mut d = cmd.data.clone();
        d.resize(len, 0x31);
        d
    };
    match spec.data {
        Data::None => {
            for len in [1, 2, 300] {
                out.push(case(
                    "wrong data length",
                    format!("{len} bytes of data"),
                    cmd.with_data(filler(len)).bytes(),
                    WRONG_LENGTH,
                ));
            }
        }
        Data::Lengths(lens) => {
            for &len in lens {
                out.push(case(
                    "wrong data length",
                    format!("{len} bytes of data"),
                    cmd.with_data(filler(len)).bytes(),
                    WRONG_LENGTH,
                ));
            }
        }
        Data::Raw => {
            out.push(case(
                "wrong data length",
                "no data",
                cmd.with_data(Vec::new()).bytes(),
                WRONG_LENGTH,
            ));
        }
        Data::Tlv { max, structural } => {
            out.push(case(
                "wrong data length",
                "no data",
                cmd.with_data(Vec::new()).bytes(),
                WRONG_LENGTH,
            ));
            if let Some(max) = max {
                out.push(case(
                    "oversized TLV",
                    format!("{} bytes, over the {max} taken", max + 1),
                    cmd.with_data(filler(max + 1)).bytes(),
                    WRONG_LENGTH,
                ));
            }
            // The service policy A8 is optional in 7F70 and 7F71
            // (docs/formats.md).
            let optional = ["7F70/7F4E/A8", "7F71/7F4E/A8"];
            tlv_cases(
                &mut out,
                cmd,
                &cmd.data,
                &|d| d,
                structural,
                max,
                structural,
                &optional,
            );
        }
        Data::TlvThenPin => {
            out.push(case(
                "wrong data length",
                "no data",
                cmd.with_data(Vec::new()).bytes(),
                WRONG_LENGTH,
            ));
            let (message, pin) = cmd.data.split_at(first_object_len(&cmd.data));
            let pin = pin.to_vec();
            // The message alone: what follows it is the new PIN, so
            // trailing bytes are a PIN of the wrong length (6700).
            let _ = pin;
            tlv_cases(
                &mut out,
                cmd,
                message,
                &|d| d,
                INCORRECT_DATA,
                None,
                WRONG_LENGTH,
                &[],
            );
            for (what, p, expect) in [
                ("a PIN of 3 bytes", b"135".to_vec(), WRONG_LENGTH),
                ("a PIN of 9 bytes", b"135791357".to_vec(), WRONG_LENGTH),
                ("no PIN", Vec::new(), WRONG_LENGTH),
                (
                    "a PIN with FF",
                    vec![0x31, 0x32, 0xFF, 0x34],
                    INCORRECT_DATA,
                ),
            ] {
                out.push(case(
                    "wrong data length",
                    what,
                    cmd.with_data([message.to_vec(), p].concat()).bytes(),
                    expect,
                ));
            }
        }
        Data::Sealed => {
            out.push(case(
                "wrong data length",
                "no data",
                cmd.with_data(Vec::new()).bytes(),
                WRONG_LENGTH,
            ));
            for cut in [1, 16, n - 4, n - 1] {
                if cut < n {
                    // Shorter than a counter and a tag: malformed (6A80);
                    // else the tag does not authenticate it (9407). Both
                    // close the channel.
                    let expect = if n - cut < apdu::channel::OVERHEAD {
                        INCORRECT_DATA
                    } else {
                        CHANNEL_REFUSED
                    };
                    out.push(case(
                        "truncated TLV",
                        format!("sealed message cut by {cut}"),
                        cmd.with_data(cmd.data[..n - cut].to_vec()).bytes(),
                        expect,
                    ));
                }
            }
            out.push(case(
                "oversized TLV",
                "sealed message with a trailing byte",
                cmd.with_data([&cmd.data[..], &[0]].concat()).bytes(),
                CHANNEL_REFUSED,
            ));
        }
    }
    out
}

fn first_object_len(data: &[u8]) -> usize {
    let (_, rest) = apdu::tlv::read(data).unwrap();
    data.len() - rest.len()
}

/// Runs `case` on a copy of `card`: the answer and the persistent memory
/// after it. `Err` describes a failure.
fn run(card: &Card, case: &Case) -> Result<(), String> {
    let mut card = card.clone();
    let before = card.store().image().to_vec();
    let mut last = Vec::new();
    for (i, apdu) in case.apdus.iter().enumerate() {
        last = card.transmit(apdu).map_err(|e| format!("no answer: {e}"))?;
        if i + 1 < case.apdus.len() && last != [0x90, 0x00] {
            return Err(format!("setup APDU {i} answered {last:02X?}"));
        }
    }
    let sw = sw_of(&last);
    if sw.0 != case.expect || last.len() != 2 {
        return Err(format!(
            "answered {} (SW {:04X}), expected {:04X}",
            hex::encode_upper(&last[..last.len().saturating_sub(2)]),
            sw.0,
            case.expect
        ));
    }
    if card.store().image()[..] != before[..] {
        let at = before
            .iter()
            .zip(card.store().image().iter())
            .position(|(a, b)| a != b);
        return Err(format!("persistent memory changed (first at {at:?})"));
    }
    Ok(())
}

/// The first accepted context of each command.
fn contexts() -> BTreeMap<&'static str, Ctx> {
    let mut by_kind = BTreeMap::new();
    for ctx in support::vector_contexts()
        .into_iter()
        .chain(support::extra_contexts())
    {
        if accepted(sw_of(&ctx.answer)) {
            by_kind.entry(kind(&ctx.cmd)).or_insert(ctx);
        }
    }
    by_kind
}

#[test]
fn every_command_refuses_every_bad_input_and_changes_nothing() {
    let by_kind = contexts();
    let mut counts: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut failures = Vec::new();
    for spec in SPECS {
        let ctx = by_kind
            .get(spec.kind)
            .unwrap_or_else(|| panic!("no accepted {} in the flows", spec.kind));
        // The control: the command itself is accepted in this state.
        let again = ctx.card.clone().transmit(&ctx.cmd.bytes()).unwrap();
        assert!(
            accepted(sw_of(&again)),
            "{} ({}): the command itself answers {:02X?}",
            spec.kind,
            ctx.origin,
            sw_of(&again)
        );
        for c in syntax_cases(spec, ctx) {
            *counts.entry(c.category).or_default() += 1;
            if let Err(e) = run(&ctx.card, &c) {
                failures.push(format!("{} [{}] {}: {e}", spec.kind, c.category, c.what));
            }
        }
    }
    let total: usize = counts.values().sum();
    println!("bad inputs tried: {total} over {} commands", SPECS.len());
    for (category, n) in &counts {
        println!("  {category}: {n}");
    }
    assert!(
        failures.is_empty(),
        "{} of {total} bad inputs failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn the_table_names_every_request_variant() {
    // Every command the parser knows has a row (GET RESPONSE is the card
    // OS's): the table cannot silently miss a new command.
    let by_kind = contexts();
    for spec in SPECS {
        assert!(by_kind.contains_key(spec.kind), "{}", spec.kind);
    }
    assert_eq!(
        by_kind.len(),
        SPECS.len(),
        "{:?}",
        by_kind.keys().collect::<Vec<_>>()
    );
    let _ = AID;
}

// ---- wrong card states ---------------------------------------------------

use apdu::meter::RegisterId;
use reader::Meter;
use reader::sim::MemoryTransport;
use support::{FIXTURE, Harvest};
use vectors::fixture::OWNER_PIN;

const DAY: u64 = 86_400;

/// Commands only a personalized card takes (docs/apdu.md, "Life cycle and
/// PIN at a glance").
const PERSONALIZED_ONLY: &[&str] = &[
    "LOAD VALUE",
    "POSTMARK",
    "POSTAGE",
    "VERIFY POSTMARK",
    "VERIFY POSTMARK with list",
    "RESET RETRY COUNTER",
    "SYNC",
    "ISSUE CERTIFICATE",
    "REVOKE REQUEST",
    "REVOKE",
    "KEY UPDATE",
    "CHANNEL KEY",
    "OPEN CHANNEL",
    "CHANNEL HELLO",
    "CHANNEL MESSAGE",
    "INSTALL KEY",
    "INSTALL CERTIFICATE",
    "SIGN",
    "AUTHENTICATE",
    "STORE CREDIT LINE",
    "PAY",
    "RECHARGE REQUEST",
    "RATE UPDATE",
    "AUDIT",
];
/// Commands only a blank card takes.
const BLANK_ONLY: &[&str] = &[
    "GENERATE KEY",
    "PERSONALIZE",
    "STORE ATTESTATION CERTIFICATE",
    "ATTEST",
];
/// Commands a blank card takes with the owner PIN (9403 with the transport PIN).
const BLANK_PIN: &[&str] = &["GENERATE KEY", "PERSONALIZE", "ATTEST"];
/// Commands a personalized card takes with the owner PIN only.
const PIN_NEEDED: &[&str] = &[
    "POSTMARK",
    "POSTAGE",
    "VERIFY POSTMARK",
    "VERIFY POSTMARK with list",
    "ISSUE CERTIFICATE",
    "REVOKE REQUEST",
    "INSTALL KEY",
    "INSTALL CERTIFICATE",
    "SIGN",
    "AUTHENTICATE",
    "STORE CREDIT LINE",
    "PAY",
];
/// Charged commands, refused while the service policy locks the card.
const CHARGED: &[&str] = &[
    "POSTMARK",
    "POSTAGE",
    "VERIFY POSTMARK",
    "VERIFY POSTMARK with list",
    "ISSUE CERTIFICATE",
    "INSTALL CERTIFICATE",
    "REVOKE",
    "PAY",
];
/// Commands that take a message bound to the GET CHALLENGE nonce, or read it.
const CHALLENGED: &[&str] = &[
    "PERSONALIZE",
    "SYNC",
    "RESET RETRY COUNTER",
    "REVOKE",
    "KEY UPDATE",
    "RATE UPDATE",
    "REVOKE REQUEST",
    "RECHARGE REQUEST",
    "AUDIT",
];
const HASHED: &[&str] = &[
    "POSTMARK",
    "VERIFY POSTMARK",
    "VERIFY POSTMARK with list",
    "HASH update",
];
const CHANNELLED: &[&str] = &[
    "CHANNEL HELLO",
    "CHANNEL MESSAGE",
    "INSTALL KEY",
    "INSTALL CERTIFICATE",
];

struct StateCase {
    state: &'static str,
    kind: String,
    card: Card,
    /// APDUs that put RAM in place (each answers 9000, with or without data).
    setup: Vec<Vec<u8>>,
    apdu: Vec<u8>,
    expect: u16,
}

fn apdu(r: Request<'_>) -> Vec<u8> {
    r.to_command().to_vec().unwrap()
}

fn select_apdu() -> Vec<u8> {
    apdu(Request::Select { aid: AID })
}

fn verify_apdu(pin: &[u8]) -> Vec<u8> {
    apdu(Request::Verify { pin: Some(pin) })
}

fn hash_setup() -> Vec<Vec<u8>> {
    vec![
        apdu(Request::HashInit),
        apdu(Request::HashUpdate { data: b"a letter" }),
    ]
}

/// `card` reset, selected and, with `pin`, verified.
fn ready(mut card: Card, pin: Option<&[u8]>) -> Card {
    card.reset();
    let mut send = |a: Vec<u8>| {
        let out = card.transmit(&a).unwrap();
        assert_eq!(sw_of(&out), StatusWord::OK, "{a:02X?}");
    };
    send(select_apdu());
    if let Some(pin) = pin {
        send(verify_apdu(pin));
    }
    card
}

fn run_state(c: &StateCase) -> Result<(), String> {
    let mut card = c.card.clone();
    for a in &c.setup {
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
    let out = card.transmit(&c.apdu).map_err(|e| e.to_string())?;
    if sw_of(&out).0 != c.expect || out.len() != 2 {
        return Err(format!(
            "answered {} {:04X}, expected {:04X}",
            hex::encode_upper(&out[..out.len() - 2]),
            sw_of(&out).0,
            c.expect
        ));
    }
    if card.store().image()[..] != before[..] {
        let at = before
            .iter()
            .zip(card.store().image().iter())
            .position(|(a, b)| a != b);
        return Err(format!(
            "persistent memory changed (first byte at {at:?} of {}, data area {})",
            before.len(),
            applet_sim::budget::DATA_CAPACITY
        ));
    }
    Ok(())
}

/// The fixture's card personalized and funded (both registers), its
/// authority.
fn fixture() -> (Card, authority::Authority) {
    let (meter, mut authority) = FIXTURE.meter().unwrap();
    let mut m = meter;
    reader::value::load(&mut m, &mut authority, RegisterId::Postage, 5_000).unwrap();
    (m.into_transport().into_card(), authority)
}

fn meter(card: Card) -> Meter<MemoryTransport> {
    let mut m = Meter::new(MemoryTransport::new(card, true));
    vectors::fixture::open(&mut m).unwrap();
    m
}

fn with_time(card: &Card, time: u64) -> Card {
    Card::from_image(
        card.store().image(),
        applet_sim::sim::SimConfig::deterministic(FIXTURE.card.seed, time),
    )
    .unwrap()
}

fn patched(card: &Card, field: applet_sim::layout::Field, bytes: &[u8]) -> Card {
    let mut image = *card.store().image();
    image[field.at..field.at + bytes.len()].copy_from_slice(bytes);
    Card::from_image(
        &image,
        applet_sim::sim::SimConfig::deterministic(FIXTURE.card.seed, FIXTURE.card.time),
    )
    .unwrap()
}

/// A POSTAGE request without a mailing day (the card's today).
fn postage_today(by_kind: &BTreeMap<&'static str, Ctx>) -> Vec<u8> {
    let objs = support::parse(&by_kind["POSTAGE"].cmd.data).unwrap();
    let kept: Vec<_> = objs.into_iter().filter(|o| o.tag != [0x91]).collect();
    apdu(Request::Postage {
        request: &support::encode_all(&kept),
    })
}

#[allow(clippy::too_many_arguments)]
fn add(
    cases: &mut Vec<StateCase>,
    by_kind: &BTreeMap<&'static str, Ctx>,
    state: &'static str,
    card: &Card,
    kinds: &[&str],
    setup: &dyn Fn(&str) -> Vec<Vec<u8>>,
    expect: u16,
) {
    for k in kinds {
        cases.push(StateCase {
            state,
            kind: (*k).into(),
            card: card.clone(),
            setup: setup(k),
            apdu: by_kind[k].cmd.bytes(),
            expect,
        });
    }
}

#[test]
fn every_command_refuses_every_wrong_card_state_and_changes_nothing() {
    let by_kind = contexts();
    let mut cases: Vec<StateCase> = Vec::new();
    let none = |_: &str| Vec::new();
    let all: Vec<&str> = SPECS.iter().map(|s| s.kind).collect();
    let (personalized, mut authority) = fixture();

    // Nothing selected: everything but SELECT.
    let mut unselected = personalized.clone();
    unselected.reset();
    let not_select: Vec<&str> = all.iter().copied().filter(|k| *k != "SELECT").collect();
    add(
        &mut cases,
        &by_kind,
        "not selected",
        &unselected,
        &not_select,
        &none,
        0x6986,
    );

    // Blank, with the transport PIN verified, then with the owner PIN.
    let blank = ready(
        FIXTURE.blank_card().unwrap(),
        Some(apdu::meter::DEFAULT_PIN),
    );
    add(
        &mut cases,
        &by_kind,
        "blank, transport PIN",
        &blank,
        BLANK_PIN,
        &none,
        0x9403,
    );
    add(
        &mut cases,
        &by_kind,
        "blank, transport PIN",
        &blank,
        PERSONALIZED_ONLY,
        &none,
        0x6985,
    );
    let mut blank_owner = blank.clone();
    let change = apdu(Request::ChangePin {
        old_then_new: &[apdu::meter::DEFAULT_PIN, &[0xFF; 2], OWNER_PIN].concat(),
    });
    assert_eq!(blank_owner.transmit(&change).unwrap(), [0x90, 0x00]);
    add(
        &mut cases,
        &by_kind,
        "blank",
        &blank_owner,
        PERSONALIZED_ONLY,
        &none,
        0x6985,
    );

    // Personalized: the blank-only commands; the PIN not verified; blocked.
    let unlocked = ready(personalized.clone(), Some(OWNER_PIN));
    add(
        &mut cases,
        &by_kind,
        "personalized",
        &unlocked,
        BLANK_ONLY,
        &none,
        0x6985,
    );
    let locked_pin = ready(personalized.clone(), None);
    add(
        &mut cases,
        &by_kind,
        "PIN not verified",
        &locked_pin,
        PIN_NEEDED,
        &none,
        0x6982,
    );
    let mut blocked = locked_pin.clone();
    for left in [2u8, 1, 0] {
        assert_eq!(
            blocked.transmit(&verify_apdu(b"0000")).unwrap(),
            [0x63, 0xC0 | left]
        );
    }
    add(
        &mut cases,
        &by_kind,
        "PIN blocked",
        &blocked,
        PIN_NEEDED,
        &none,
        0x6982,
    );
    cases.push(StateCase {
        state: "PIN blocked",
        kind: "VERIFY".into(),
        card: blocked.clone(),
        setup: vec![],
        apdu: verify_apdu(OWNER_PIN),
        expect: 0x6983,
    });
    let change = apdu(Request::ChangePin {
        old_then_new: &[OWNER_PIN, &[0xFF; 3], b"2468"].concat(),
    });
    cases.push(StateCase {
        state: "PIN blocked",
        kind: "CHANGE REFERENCE DATA".into(),
        card: blocked.clone(),
        setup: vec![],
        apdu: change,
        expect: 0x6983,
    });

    // Locked by time: 130 days after the last contact (90 + 30 allowed).
    let late = ready(
        with_time(&personalized, FIXTURE.card.time + 130 * DAY),
        Some(OWNER_PIN),
    );
    add(
        &mut cases,
        &by_kind,
        "locked by time",
        &late,
        CHARGED,
        &none,
        0x9404,
    );

    // Locked by debits: a policy of one charged operation, used.
    let mut m = meter(personalized.clone());
    authority
        .set_policy(apdu::message::ServicePolicy {
            service_days: 90,
            grace_days: 30,
            max_debits: 1,
        })
        .unwrap();
    reader::sync::sync(&mut m, &mut authority).unwrap();
    reader::postmark::postmark(&mut m, &mut &b"x"[..]).unwrap();
    let used = ready(m.into_transport().into_card(), Some(OWNER_PIN));
    add(
        &mut cases,
        &by_kind,
        "locked by debits",
        &used,
        CHARGED,
        &none,
        0x9405,
    );
    authority.set_policy(authority::DEFAULT_POLICY).unwrap();

    // Flow-level states on the fixture card itself.
    let (personalized, mut authority) = fixture();
    let unlocked = ready(personalized.clone(), Some(OWNER_PIN));
    let challenge = || vec![apdu(Request::GetChallenge)];
    let postage = postage_today(&by_kind);

    // No line of credit.
    add(
        &mut cases,
        &by_kind,
        "no line of credit",
        &unlocked,
        &["PAY", "READ CREDIT LINE"],
        &none,
        0x940E,
    );

    // No hash, no channel, no challenge: the accepted contexts after a
    // SELECT and VERIFY (which drop RAM state).
    for (state, kinds, expect) in [
        ("no hash", HASHED, 0x6985),
        ("no channel", CHANNELLED, 0x6985),
        ("no challenge", CHALLENGED, 0x6984),
    ] {
        for k in kinds {
            let ctx = &by_kind[k];
            // SELECT drops RAM; VERIFY only where the command needs the PIN
            // (the unblock flow's card has its PIN blocked).
            let mut setup = vec![select_apdu()];
            if PIN_NEEDED.contains(k) || BLANK_PIN.contains(k) {
                setup.push(verify_apdu(OWNER_PIN));
            }
            cases.push(StateCase {
                state,
                kind: (*k).into(),
                card: ctx.card.clone(),
                setup,
                apdu: ctx.cmd.bytes(),
                expect,
            });
        }
    }

    // Counters at their end: a certificate piece count of 2^32 - 1.
    let full = ready(
        patched(
            &personalized,
            applet_sim::layout::CERTIFICATE_PIECES,
            &[0xFF; 4],
        ),
        Some(OWNER_PIN),
    );
    add(
        &mut cases,
        &by_kind,
        "piece count at its end",
        &full,
        &["POSTMARK"],
        &|_| hash_setup(),
        0x6A84,
    );
    add(
        &mut cases,
        &by_kind,
        "piece count at its end",
        &full,
        &["VERIFY POSTMARK"],
        &|_| hash_setup(),
        0x6A84,
    );
    cases.push(StateCase {
        state: "piece count at its end",
        kind: "POSTAGE".into(),
        card: full.clone(),
        setup: vec![],
        apdu: postage.clone(),
        expect: 0x6A84,
    });
    add(
        &mut cases,
        &by_kind,
        "piece count at its end",
        &full,
        &["ISSUE CERTIFICATE"],
        &none,
        0x6A84,
    );
    let full = ready(
        patched(
            &personalized,
            applet_sim::layout::POSTMARK_COUNT,
            &[0xFF; 4],
        ),
        Some(OWNER_PIN),
    );
    add(
        &mut cases,
        &by_kind,
        "postmark count at its end",
        &full,
        &["POSTMARK"],
        &|_| hash_setup(),
        0x6A84,
    );

    // No funds: a card with 0.05 (every fee is more).
    let poor = Funded10::card();
    add(
        &mut cases,
        &by_kind,
        "no funds",
        &poor,
        &["POSTMARK", "VERIFY POSTMARK"],
        &|_| hash_setup(),
        0x9401,
    );
    add(
        &mut cases,
        &by_kind,
        "no funds",
        &poor,
        &["ISSUE CERTIFICATE"],
        &none,
        0x9401,
    );
    cases.push(StateCase {
        state: "no funds",
        kind: "POSTAGE".into(),
        card: poor.clone(),
        setup: vec![],
        apdu: postage.clone(),
        expect: 0x9401,
    });

    // The meter certificate expired (no time limit in the policy, so the
    // lock does not come first).
    let mut m = meter(personalized.clone());
    authority
        .set_policy(apdu::message::ServicePolicy {
            service_days: 0,
            grace_days: 0,
            max_debits: 0,
        })
        .unwrap();
    reader::sync::sync(&mut m, &mut authority).unwrap();
    let synced = m.into_transport().into_card();
    let expired = ready(
        with_time(
            &synced,
            FIXTURE.card.time + authority::CERTIFICATE_VALIDITY + DAY,
        ),
        Some(OWNER_PIN),
    );
    add(
        &mut cases,
        &by_kind,
        "certificate expired",
        &expired,
        &["POSTMARK"],
        &|_| hash_setup(),
        0x6985,
    );
    add(
        &mut cases,
        &by_kind,
        "certificate expired",
        &expired,
        &["ISSUE CERTIFICATE"],
        &none,
        0x6985,
    );
    cases.push(StateCase {
        state: "certificate expired",
        kind: "POSTAGE".into(),
        card: expired.clone(),
        setup: vec![],
        apdu: postage.clone(),
        expect: 0x6985,
    });
    authority.set_policy(authority::DEFAULT_POLICY).unwrap();

    // The meter certificate revoked (Figure 6 on slot 0).
    let (personalized, mut authority) = fixture();
    let mut m = meter(personalized);
    // The authority signs no load for a revoked meter: this one is made
    // before, to reach the card's own refusal.
    let count = m.status().unwrap().load_count;
    let load = authority
        .value_load(FIXTURE.serial, RegisterId::Certificate, 100, count + 1)
        .unwrap();
    reader::revoke::revoke(&mut m, &mut authority, 0, 1).unwrap();
    let revoked = ready(m.into_transport().into_card(), Some(OWNER_PIN));
    add(
        &mut cases,
        &by_kind,
        "certificate revoked",
        &revoked,
        &["POSTMARK"],
        &|_| hash_setup(),
        0x9409,
    );
    cases.push(StateCase {
        state: "certificate revoked",
        kind: "REVOKE REQUEST".into(),
        card: revoked.clone(),
        setup: challenge(),
        apdu: apdu(Request::RevokeRequest { slot: 0, reason: 1 }),
        expect: 0x9409,
    });
    cases.push(StateCase {
        state: "certificate revoked",
        kind: "RECHARGE REQUEST".into(),
        card: revoked.clone(),
        setup: challenge(),
        apdu: apdu(Request::RechargeRequest {
            register: RegisterId::Certificate,
            amount: &100u64.to_be_bytes(),
        }),
        expect: 0x9409,
    });
    cases.push(StateCase {
        state: "certificate revoked",
        kind: "POSTAGE".into(),
        card: revoked.clone(),
        setup: vec![],
        apdu: postage.clone(),
        expect: 0x9409,
    });
    add(
        &mut cases,
        &by_kind,
        "certificate revoked",
        &revoked,
        &["ISSUE CERTIFICATE"],
        &none,
        0x9409,
    );
    cases.push(StateCase {
        state: "certificate revoked",
        kind: "LOAD VALUE".into(),
        card: revoked.clone(),
        setup: vec![],
        apdu: apdu(Request::LoadValue { message: &load }),
        expect: 0x9409,
    });

    // No free slot: three holder certificates installed, then a fourth.
    let (personalized, mut authority) = fixture();
    let mut m = Meter::new(Harvest {
        inner: MemoryTransport::new(personalized, true),
        origin: "slots",
        taken: Vec::new(),
    });
    vectors::fixture::open(&mut m).unwrap();
    reader::channel::register(&mut m, &mut authority).unwrap();
    for holder in ["h1", "h2", "h3", "h4"] {
        let code = authority.enroll(holder, DAY).unwrap();
        let r = reader::install::install_with_uses(
            &mut m,
            &mut authority,
            holder,
            apdu::cert::usage::SIGNING,
            &code,
            30,
        );
        assert_eq!(r.is_ok(), holder != "h4", "{holder}: {r:?}");
    }
    let refused = m.into_transport().taken.pop().unwrap();
    assert_eq!(kind(&refused.cmd), "INSTALL KEY");
    cases.push(StateCase {
        state: "no free slot",
        kind: "INSTALL KEY".into(),
        card: refused.card,
        setup: vec![],
        apdu: refused.cmd.bytes(),
        expect: 0x6A84,
    });

    // Terminated (no command sets it; the life-cycle byte written as 3).
    let (personalized, _) = fixture();
    let mut terminated = patched(&personalized, applet_sim::layout::LIFECYCLE, &[3]);
    assert_eq!(terminated.transmit(&select_apdu()).unwrap(), [0x62, 0x83]);
    let not_get_data: Vec<&str> = all
        .iter()
        .copied()
        .filter(|k| !matches!(*k, "GET DATA" | "SELECT"))
        .collect();
    add(
        &mut cases,
        &by_kind,
        "terminated",
        &terminated,
        &not_get_data,
        &none,
        0x6985,
    );

    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    let mut failures = Vec::new();
    for c in &cases {
        *counts.entry(c.state).or_default() += 1;
        if let Err(e) = run_state(c) {
            failures.push(format!("{} in state {}: {e}", c.kind, c.state));
        }
    }
    println!("wrong card states tried: {} cases", cases.len());
    for (state, n) in &counts {
        println!("  {state}: {n}");
    }
    assert!(
        failures.is_empty(),
        "{} of {} failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// A personalized card with 0.05 in its certificate register (every fee
/// is more).
struct Funded10;

impl Funded10 {
    fn card() -> Card {
        let f = vectors::Funded {
            funds: 5,
            serial: "BAD-POOR",
            ..FIXTURE
        };
        ready(f.card().unwrap().0, Some(OWNER_PIN))
    }
}

// ---- findings ------------------------------------------------------------

/// Finding: a card whose meter certificate was revoked (Figure 6 on slot
/// 0) still issued agent certificates (Figure 3A) signed by its meter key,
/// and charged for them; every other meter-key signature was refused
/// (9409). Now ISSUE CERTIFICATE answers 9409 too, charging nothing.
#[test]
fn finding_a_revoked_meter_certificate_issues_no_agent_certificate() {
    let by_kind = contexts();
    let (personalized, mut authority) = fixture();
    let mut m = meter(personalized);
    reader::revoke::revoke(&mut m, &mut authority, 0, 1).unwrap();
    let card = ready(m.into_transport().into_card(), Some(OWNER_PIN));
    let c = StateCase {
        state: "certificate revoked",
        kind: "ISSUE CERTIFICATE".into(),
        card,
        setup: vec![],
        apdu: by_kind["ISSUE CERTIFICATE"].cmd.bytes(),
        expect: 0x9409,
    };
    run_state(&c).unwrap();
}

/// Finding: POSTMARK with the postmark count at 2^32 - 1 consumed the hash
/// and wrote the debit into the journal before refusing (6A84; rolled
/// back, but persistent memory was not byte-identical). Now the count is
/// checked before anything is consumed or written.
#[test]
fn finding_postmark_count_at_its_end_writes_nothing() {
    let (personalized, _) = fixture();
    let mut card = ready(
        patched(
            &personalized,
            applet_sim::layout::POSTMARK_COUNT,
            &[0xFF; 4],
        ),
        Some(OWNER_PIN),
    );
    for a in hash_setup() {
        assert_eq!(card.transmit(&a).unwrap(), [0x90, 0x00]);
    }
    let before = *card.store().image();
    assert_eq!(
        card.transmit(&apdu(Request::Postmark)).unwrap(),
        [0x6A, 0x84]
    );
    assert!(
        card.store().image()[..] == before[..],
        "persistent memory changed"
    );
    // The hash is kept: refused before it was finished.
    assert_eq!(
        card.transmit(&apdu(Request::HashUpdate { data: b"more" }))
            .unwrap(),
        [0x90, 0x00]
    );
}
