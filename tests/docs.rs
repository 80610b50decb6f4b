//! docs/apdu.md against the code.
//!
//! * The limits table (`| limit | value | constant |`) names a Rust constant
//!   on every row, and the value must be that constant's. Every limit stated
//!   in the prose is either a number from that table (any number of 1000 or
//!   more) or one of the phrases in [`stated_limits`], built from the
//!   constants.
//! * Every `### NAME — …` heading under "## Commands" lists the command
//!   APDUs that `Request::to_command` builds, and its `chained` row (if any)
//!   the short APDUs that `reader::exchange` sends instead when the
//!   transport has no extended APDUs. The notation is explained in apdu.md
//!   at the top of "## Commands".
//! * The real flows (personalization, loads, postmark, on-card
//!   verification), with and without extended APDUs, send only APDUs that
//!   the headings and `chained` rows show.
//! * Every instruction of the command set (every CLA/INS that
//!   `Request::parse` knows, which must be `apdu::meter::ins::ALL` without
//!   GET RESPONSE) has its `### NAME — …` section, and every section's
//!   heading names instructions the code has.
//!
//! docs/architecture.md against the tree: every backticked file path
//! (`dir/file.rs`) or directory (`cli/`) it names exists.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use apdu::command::{CLA_CHAINING, EXTENDED_MAX_NC, SHORT_MAX_NC};
use apdu::meter::{
    AID, CLA_ISO, CLA_PROPRIETARY, DEFAULT_PIN, DataObject, RegisterId, Request, ins,
};
use apdu::{Command, StatusWord};
use applet_sim::sim::{Card, SimConfig};
use authority::Authority;
use reader::sim::MemoryTransport;
use reader::transport::Exclusive;
use reader::{Meter, Transport, TransportError};

fn apdu_md() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/apdu.md");
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

// ---------------------------------------------------------------------------
// Limits.

/// Every constant the limits table may name, by the path it names it with.
fn constants() -> BTreeMap<String, usize> {
    macro_rules! named {
        ($($path:path),* $(,)?) => {
            BTreeMap::from([$((stringify!($path).replace(' ', ""), $path as usize)),*])
        };
    }
    named![
        apdu::command::SHORT_MAX_NC,
        apdu::command::EXTENDED_MAX_NC,
        apdu::command::SHORT_MAX_NE,
        apdu::command::EXTENDED_MAX_NE,
        apdu::command::MAX_COMMAND_LEN,
        applet_sim::vpcd::MAX_PAYLOAD,
        applet_sim::vpcd::MAX_NC,
        applet_sim::vpcd::MAX_NC_WITH_LE,
        applet_sim::vpcd::MAX_NE,
        reader::postmark::EXTENDED_CHUNK,
        reader::postmark::CHAINED_CHUNK,
        reader::exchange::MAX_GET_RESPONSES,
        reader::exchange::MAX_RESPONSE_LEN,
        apdu::meter::AID_MAX_LEN,
        apdu::meter::PIN_MIN_LEN,
        apdu::meter::PIN_MAX_LEN,
        apdu::meter::CHANGE_PIN_MIN_LEN,
        apdu::meter::CHANGE_PIN_MAX_LEN,
        apdu::meter::PIN_MAX_TRIES,
        apdu::meter::CHALLENGE_LEN,
        apdu::meter::SERIAL_MAX_LEN,
        applet_sim::budget::RATE_TABLE_ENTRIES,
        apdu::meter::RATE_ENTRY_LEN,
        applet_sim::budget::CERTIFICATE_SLOTS,
        applet_sim::budget::CERTIFICATE_SLOT_SIZE,
        apdu::message::VALUE_LOAD_MAX_LEN,
        applet_sim::layout::END,
        applet_sim::budget::DATA_CAPACITY,
    ]
}

/// One row of the limits table.
#[derive(Debug)]
struct Limit {
    what: String,
    value: usize,
    constant: String,
}

/// The rows of apdu.md's `| limit | value | constant |` table.
fn limits_table(md: &str) -> Vec<Limit> {
    let mut lines = md
        .lines()
        .skip_while(|l| l.trim() != "| limit | value | constant |");
    assert!(
        lines.next().is_some(),
        "apdu.md has no `| limit | value | constant |` table"
    );
    let separator = lines.next().unwrap_or_default();
    assert!(separator.starts_with("| ---"), "limits table: {separator}");
    lines
        .take_while(|l| l.starts_with('|'))
        .map(|row| {
            let cells: Vec<&str> = row.trim_matches('|').split('|').map(str::trim).collect();
            let [what, value, constant] = cells[..] else {
                panic!("limits table row without 3 cells: {row}");
            };
            Limit {
                what: what.to_owned(),
                value: number(value).unwrap_or_else(|| panic!("not a number: {row}")),
                constant: constant.trim_matches('`').to_owned(),
            }
        })
        .collect()
}

/// `65535`, `65,535` or `65_535`.
fn number(s: &str) -> Option<usize> {
    let digits: String = s.chars().filter(|c| !matches!(c, ',' | '_')).collect();
    digits.parse().ok()
}

/// `65280` as apdu.md's prose writes it: `65,280`; below 10,000 without a
/// separator (`4096`).
fn prose(n: usize) -> String {
    if n < 10_000 {
        n.to_string()
    } else {
        format!("{},{:03}", n / 1000, n % 1000)
    }
}

#[test]
fn every_limit_in_the_table_is_the_constant_it_names() {
    let md = apdu_md();
    let table = limits_table(&md);
    let constants = constants();
    let mut wrong = Vec::new();
    for row in &table {
        match constants.get(&row.constant) {
            None => wrong.push(format!(
                "`{}` ({}) is not a constant this test knows: add it to constants() in tests/docs.rs",
                row.constant, row.what
            )),
            Some(&v) if v != row.value => wrong.push(format!(
                "{}: apdu.md says {}, but {} = {v}",
                row.what, row.value, row.constant
            )),
            Some(_) => {}
        }
    }
    let named: BTreeSet<&str> = table.iter().map(|r| r.constant.as_str()).collect();
    for c in constants.keys() {
        if !named.contains(c.as_str()) {
            wrong.push(format!("no row of the limits table names {c}"));
        }
    }
    let mut seen = BTreeSet::new();
    for row in &table {
        if !seen.insert(&row.what) {
            wrong.push(format!("two rows for \"{}\"", row.what));
        }
    }
    assert!(
        wrong.is_empty(),
        "docs/apdu.md, limits:\n{}",
        wrong.join("\n")
    );
}

/// Numbers of 1000 and more in the prose (outside code blocks and code
/// spans) that are not in the limits table.
fn not_limits() -> [usize; 4] {
    [
        7816,                         // ISO 7816
        5280,                         // RFC 5280 (revocation reason codes)
        1_807_776_001,                // a clock value in the POSTMARK example
        applet_sim::vpcd::MAX_NC + 1, // the size that failed (see stated_limits)
    ]
}

#[test]
fn every_large_number_in_the_prose_is_in_the_limits_table() {
    let md = apdu_md();
    let values: BTreeSet<usize> = limits_table(&md).iter().map(|r| r.value).collect();
    let mut fenced = false;
    let mut stray = Vec::new();
    for (i, line) in md.lines().enumerate() {
        if line.starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        // Outside code spans: the even pieces between backticks.
        let text: String = line.split('`').step_by(2).collect::<Vec<_>>().join(" ");
        for n in numbers(&text) {
            if n >= 1000 && !values.contains(&n) && !not_limits().contains(&n) {
                stray.push(format!("line {}: {n}: {line}", i + 1));
            }
        }
    }
    assert!(
        stray.is_empty(),
        "docs/apdu.md states numbers that are not in its limits table (add a row naming \
         the constant, or fix the number):\n{}",
        stray.join("\n")
    );
}

/// The decimal numbers in `text` (`65,535` is one number), not counting
/// digits that are part of a word (`7F49`, `61xx`).
fn numbers(text: &str) -> Vec<usize> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let word_before = i > 0 && chars[i - 1].is_alphanumeric();
        if !chars[i].is_ascii_digit() || word_before {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len()
            && (chars[i].is_ascii_digit()
                || (chars[i] == ',' && chars.get(i + 1).is_some_and(char::is_ascii_digit)))
        {
            i += 1;
        }
        let word_after = chars.get(i).is_some_and(|c| c.is_alphanumeric());
        if !word_after {
            let s: String = chars[start..i].iter().collect();
            out.extend(number(&s));
        }
        while i < chars.len() && chars[i].is_alphanumeric() {
            i += 1;
        }
    }
    out
}

/// The limits the prose states in words, built from the constants: if a
/// constant changes, the phrase is no longer found.
fn stated_limits() -> Vec<String> {
    use apdu::meter::*;
    use applet_sim::budget::*;
    let ext_chunk = reader::postmark::EXTENDED_CHUNK;
    let chained_chunk = reader::postmark::CHAINED_CHUNK;
    let vpcd = |n| prose(n);
    vec![
        format!("the AID, 1-{AID_MAX_LEN} bytes"),
        format!("the PIN: {PIN_MIN_LEN}-{PIN_MAX_LEN} bytes"),
        format!("{CHANGE_PIN_MIN_LEN}-{CHANGE_PIN_MAX_LEN} bytes in total"),
        format!(
            "VERIFY takes 0 or {PIN_MIN_LEN}-{PIN_MAX_LEN} bytes and CHANGE REFERENCE DATA {CHANGE_PIN_MIN_LEN}-{CHANGE_PIN_MAX_LEN}"
        ),
        format!("One command carries at most {EXTENDED_MAX_NC} data bytes"),
        format!("update: 1-{EXTENDED_MAX_NC} bytes"),
        format!(
            "at most {} in one extended APDU",
            vpcd(applet_sim::vpcd::MAX_NC)
        ),
        format!(
            "a whole APDU is at most {} bytes",
            vpcd(applet_sim::vpcd::MAX_PAYLOAD)
        ),
        format!(
            "carries at most {} data bytes without `Le`",
            vpcd(applet_sim::vpcd::MAX_NC)
        ),
        format!("and {} with one", vpcd(applet_sim::vpcd::MAX_NC_WITH_LE)),
        format!(
            "with {} data bytes pcscd dropped the card",
            vpcd(applet_sim::vpcd::MAX_NC + 1)
        ),
        format!(
            "the card reassembles up to {} data bytes",
            vpcd(EXTENDED_MAX_NC)
        ),
        format!(
            "HASH updates of {} bytes with extended APDUs",
            vpcd(ext_chunk)
        ),
        format!("{chained_chunk} bytes when chaining"),
        format!("sends updates of {} bytes", vpcd(ext_chunk)),
        format!(
            "updates of {chained_chunk} bytes (`CHAINED_CHUNK`), each chained in {SHORT_MAX_NC}-byte pieces"
        ),
        format!("chained in pieces of {SHORT_MAX_NC} bytes"),
        format!(
            "after {} rounds or {} bytes",
            reader::exchange::MAX_GET_RESPONSES,
            reader::exchange::MAX_RESPONSE_LEN
        ),
        format!(
            "at most {} (16-byte serial)",
            apdu::message::VALUE_LOAD_MAX_LEN
        ),
        format!("total data over {EXTENDED_MAX_NC} bytes"),
        format!("chain over {EXTENDED_MAX_NC} bytes"),
        format!(
            "more than {RATE_TABLE_ENTRIES} rate entries or a certificate over {CERTIFICATE_SLOT_SIZE} bytes"
        ),
        format!("at most {RATE_TABLE_ENTRIES} rate entries"),
        format!("at most {CERTIFICATE_SLOT_SIZE} bytes, else `6A84`"),
        format!("At most `RATE_TABLE_ENTRIES` = {RATE_TABLE_ENTRIES} entries"),
        format!("each entry is {RATE_ENTRY_LEN} bytes"),
        format!("slot ≥ {CERTIFICATE_SLOTS}"),
        format!("0 of {CERTIFICATE_SLOTS} slots"),
        format!("{} tries (`PIN_MAX_TRIES`)", PIN_MAX_TRIES),
        format!("exactly {CHALLENGE_LEN} (`10`"),
        format!("1-{SERIAL_MAX_LEN} printable ASCII characters"),
        format!(
            "{} of {} bytes",
            applet_sim::layout::END,
            applet_sim::budget::DATA_CAPACITY
        ),
    ]
}

#[test]
fn the_prose_states_the_limits_of_the_code() {
    let md = apdu_md();
    // Markdown wraps lines anywhere: compare with the whitespace collapsed.
    let flat = md.split_whitespace().collect::<Vec<_>>().join(" ");
    let missing: Vec<String> = stated_limits()
        .into_iter()
        .filter(|p| !flat.contains(p.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/apdu.md no longer says (with the code's values):\n{}",
        missing.join("\n")
    );
}

#[test]
fn the_limits_fit_each_other() {
    use applet_sim::vpcd::{MAX_NC, MAX_NC_WITH_LE, MAX_PAYLOAD};
    // The host's HASH parts fit one vpcd message, extended or chained.
    const { assert!(reader::postmark::EXTENDED_CHUNK <= MAX_NC) };
    const { assert!(reader::postmark::CHAINED_CHUNK <= EXTENDED_MAX_NC) };
    // LOAD VALUE always goes short.
    const { assert!(apdu::message::VALUE_LOAD_MAX_LEN <= SHORT_MAX_NC) };
    let hash = |n: usize| {
        Request::HashUpdate { data: &vec![0; n] }
            .to_command()
            .to_vec()
            .unwrap()
            .len()
    };
    assert_eq!(hash(MAX_NC), MAX_PAYLOAD);
    assert_eq!(hash(MAX_NC + 1), MAX_PAYLOAD + 1);
    let verify = Request::VerifyPostmark {
        file: &vec![0; MAX_NC_WITH_LE],
        with_crl: false,
    };
    assert_eq!(verify.to_command().to_vec().unwrap().len(), MAX_PAYLOAD);
}

// ---------------------------------------------------------------------------
// Command headings.

/// One token of a documented APDU.
#[derive(Clone, Debug)]
enum Tok {
    /// One byte, one of these (`00`, `00|0C`).
    Byte(Vec<u8>),
    /// Any `n` bytes: a parameter (`slot`, `P1P2=tag`) or `Le`.
    Any(usize),
    /// `Lc`: one byte, the data length (1-255).
    ShortLc,
    /// `Lc1 Lc2` (after a literal `00`): the data length in two bytes.
    ExtendedLc,
    /// A word for the data.
    Data,
}

#[derive(Clone, Debug)]
enum Item {
    One(Tok),
    /// `[…]`: present or not.
    Optional(Vec<Tok>),
}

/// A documented APDU, e.g. `80 32 00 00 00 Lc1 Lc2 postmark-file 01 00`.
#[derive(Debug)]
struct Form {
    text: String,
    items: Vec<Item>,
}

impl Form {
    fn parse(text: &str) -> Form {
        let mut items = Vec::new();
        let mut group: Option<Vec<Tok>> = None;
        let mut header = 0; // header bytes (CLA INS P1 P2) so far
        let mut words = text.split_whitespace().peekable();
        while let Some(word) = words.next() {
            let opens = word.starts_with('[');
            let closes = word.ends_with(']');
            let w = word.trim_start_matches('[').trim_end_matches(']');
            if opens {
                assert!(group.is_none(), "nested [ in `{text}`");
                group = Some(Vec::new());
            }
            let hex = |s: &str| s.len() == 2 && u8::from_str_radix(s, 16).is_ok();
            let (tok, width) = if w.split('|').all(hex) {
                let set = w.split('|').map(|b| u8::from_str_radix(b, 16).unwrap());
                (Tok::Byte(set.collect()), 1)
            } else if w.starts_with("P1P2=") {
                (Tok::Any(2), 2)
            } else if header < 4 {
                (Tok::Any(1), 1)
            } else if w == "Lc" {
                (Tok::ShortLc, 1)
            } else if w == "Lc1" {
                assert_eq!(words.next(), Some("Lc2"), "`Lc1` without `Lc2` in `{text}`");
                (Tok::ExtendedLc, 2)
            } else if w == "Le" {
                (Tok::Any(1), 1)
            } else if w == "Le1" {
                assert_eq!(words.next(), Some("Le2"), "`Le1` without `Le2` in `{text}`");
                (Tok::Any(2), 2)
            } else {
                (Tok::Data, 0)
            };
            if header < 4 {
                assert!(group.is_none(), "optional header byte in `{text}`");
                header += width;
            }
            match &mut group {
                Some(g) => g.push(tok),
                None => items.push(Item::One(tok)),
            }
            if closes {
                let g = group
                    .take()
                    .unwrap_or_else(|| panic!("] without [ in `{text}`"));
                items.push(Item::Optional(g));
            }
        }
        assert!(group.is_none(), "[ without ] in `{text}`");
        assert_eq!(header, 4, "`{text}` does not start with CLA INS P1 P2");
        Form {
            text: text.to_owned(),
            items,
        }
    }

    /// Whether `apdu` is an instance of this form.
    fn matches(&self, apdu: &[u8]) -> bool {
        let Ok(cmd) = Command::parse(apdu) else {
            return false;
        };
        matches(&self.items, apdu, cmd.data)
    }
}

fn matches(items: &[Item], apdu: &[u8], data: &[u8]) -> bool {
    let Some((first, rest)) = items.split_first() else {
        return apdu.is_empty();
    };
    let tok = match first {
        Item::Optional(group) => {
            let mut with: Vec<Item> = group.iter().cloned().map(Item::One).collect();
            with.extend_from_slice(rest);
            return matches(&with, apdu, data) || matches(rest, apdu, data);
        }
        Item::One(tok) => tok,
    };
    let (n, ok) = match tok {
        Tok::Byte(set) => (1, apdu.first().is_some_and(|b| set.contains(b))),
        Tok::Any(n) => (*n, true),
        Tok::ShortLc => (
            1,
            (1..=SHORT_MAX_NC).contains(&data.len()) && apdu.first() == Some(&(data.len() as u8)),
        ),
        Tok::ExtendedLc => (
            2,
            !data.is_empty() && apdu.get(..2) == Some(&(data.len() as u16).to_be_bytes()[..]),
        ),
        Tok::Data => (data.len(), !data.is_empty() && apdu.starts_with(data)),
    };
    ok && apdu
        .get(n..)
        .is_some_and(|rest_bytes| matches(rest, rest_bytes, data))
}

/// A `### NAME — …` section of "## Commands".
#[derive(Debug)]
struct Section {
    /// The forms in the heading.
    forms: Vec<Form>,
    /// The `chained` row: every piece but the last, then the last.
    chained: Option<(Form, Form)>,
}

/// The code spans of a line.
fn code_spans(line: &str) -> Vec<&str> {
    line.split('`').skip(1).step_by(2).collect()
}

fn sections(md: &str) -> BTreeMap<String, Section> {
    let body = md
        .split_once("\n## Commands\n")
        .expect("apdu.md has a \"## Commands\" section")
        .1;
    let body = body.split("\n## ").next().unwrap_or_default();
    let mut out: BTreeMap<String, Section> = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in body.lines() {
        if let Some(heading) = line.strip_prefix("### ") {
            let (name, forms) = heading
                .split_once(" — ")
                .unwrap_or_else(|| panic!("heading without ` — `: {line}"));
            let forms: Vec<Form> = code_spans(forms).into_iter().map(Form::parse).collect();
            assert!(!forms.is_empty(), "heading without an APDU: {line}");
            let section = Section {
                forms,
                chained: None,
            };
            assert!(
                out.insert(name.to_owned(), section).is_none(),
                "two sections {name}"
            );
            current = Some(name.to_owned());
        } else if line.starts_with("| chained |") {
            let name = current.as_ref().expect("a chained row before any heading");
            let spans = code_spans(line);
            let [pieces, last] = spans[..] else {
                panic!("a chained row needs two APDUs (the pieces, the last): {line}");
            };
            out.get_mut(name).unwrap().chained = Some((Form::parse(pieces), Form::parse(last)));
        }
    }
    out
}

/// The apdu.md section of each request.
fn section_name(r: &Request<'_>) -> &'static str {
    match r {
        Request::Select { .. } => "SELECT",
        Request::Verify { .. } => "VERIFY",
        Request::ChangePin { .. } => "CHANGE REFERENCE DATA",
        Request::GetData(_) => "GET DATA",
        Request::GetChallenge => "GET CHALLENGE",
        Request::GenerateKey { .. } => "GENERATE ASYMMETRIC KEY PAIR",
        Request::Personalize { .. } => "PERSONALIZE",
        Request::LoadValue { .. } => "LOAD VALUE",
        Request::HashInit | Request::HashUpdate { .. } => "HASH",
        Request::Postmark => "POSTMARK",
        Request::Postage { .. } => "POSTAGE",
        Request::VerifyPostmark { .. } => "VERIFY POSTMARK",
        Request::ReadCertificate { .. } => "READ CERTIFICATE",
        Request::StoreAttestation { .. } => "STORE ATTESTATION CERTIFICATE",
        Request::ReadAttestation | Request::Attest { .. } => "ATTEST",
        Request::Unblock { .. } => "RESET RETRY COUNTER",
        Request::Sync { .. } => "SYNC",
        Request::IssueCertificate { .. } => "ISSUE CERTIFICATE",
        Request::RevokeRequest { .. } => "REVOKE REQUEST",
        Request::Revoke { .. } => "REVOKE",
        Request::KeyUpdate { .. } => "KEY UPDATE",
        Request::ChannelKey { .. } => "CHANNEL KEY",
        Request::OpenChannel | Request::ChannelHello { .. } => "OPEN CHANNEL",
        Request::ChannelMessage { .. } => "CHANNEL MESSAGE",
        Request::InstallKey { .. } | Request::InstallCertificate { .. } | Request::Sign { .. } => {
            "INSTALL CERTIFICATE"
        }
        Request::StoreCreditLine { .. } | Request::ReadCreditLine => "STORE CREDIT LINE",
        Request::Pay { .. } => "PAY",
        Request::RechargeRequest { .. } => "RECHARGE REQUEST",
        Request::RateUpdate { .. } => "RATE UPDATE",
        Request::Audit => "AUDIT",
    }
}

/// A transport that records every APDU, in front of a card or of a card
/// that answers 9000 to everything (`inner: None`).
struct Recording<T> {
    inner: Option<T>,
    extended: bool,
    sent: Vec<Vec<u8>>,
}

impl<T: Transport> Transport for Recording<T> {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        self.sent.push(command.to_vec());
        match &mut self.inner {
            Some(t) => t.transmit(command),
            None => Ok(vec![0x90, 0x00]),
        }
    }

    fn supports_extended(&self) -> bool {
        self.extended
    }

    fn atr(&self) -> &[u8] {
        self.inner.as_ref().map_or(&[], |t| t.atr())
    }

    fn reset(&mut self) -> Result<(), TransportError> {
        self.inner.as_mut().map_or(Ok(()), |t| t.reset())
    }

    fn exclusive(&mut self, f: &mut Exclusive<'_>) -> Result<(), reader::Error> {
        f(self)
    }
}

const TIME: u64 = 1_800_000_000;
/// The longest serial, so that the messages are as long as they get.
const SERIAL: &str = "PB-0000000000001";

/// Every APDU the host sends in the real flows on a fresh card.
fn flows(extended: bool) -> Vec<Vec<u8>> {
    assert_eq!(SERIAL.len(), apdu::meter::SERIAL_MAX_LEN);
    let mut authority = Authority::deterministic("CERTMETER-CA", 1, TIME).unwrap();
    let config = SimConfig::deterministic(7, TIME).with_issuer_root(authority.issuer_root());
    let card = vectors::attested(Card::manufacture(config).unwrap(), 1, TIME).unwrap();
    let mut m = Meter::new(Recording {
        inner: Some(MemoryTransport::new(card, extended)),
        extended,
        sent: Vec::new(),
    });
    m.select().unwrap();
    m.status().unwrap();
    m.verify_pin(DEFAULT_PIN).unwrap();
    m.change_pin(DEFAULT_PIN, b"4321").unwrap();
    m.change_pin(b"4321", DEFAULT_PIN).unwrap();
    reader::personalize::personalize(&mut m, &mut authority, SERIAL, 1_000).unwrap();
    reader::value::load(&mut m, &mut authority, RegisterId::Postage, 500).unwrap();
    authority.approve_unblock(SERIAL).unwrap();
    reader::pin::unblock(&mut m, &mut authority, DEFAULT_PIN).unwrap();
    m.verify_pin(DEFAULT_PIN).unwrap();
    reader::sync::sync(&mut m, &mut authority).unwrap();
    // [value]: a rate table version taken at a contact, a recharge, an audit.
    authority
        .set_rate(apdu::meter::Service::Indicium, 60)
        .unwrap();
    reader::sync::sync(&mut m, &mut authority).unwrap();
    reader::recharge::recharge(&mut m, &mut authority, RegisterId::Postage, 100).unwrap();
    reader::audit::audit(&mut m, &mut authority).unwrap();
    // Over one extended HASH part, so that a full part and a shorter one go.
    let message: Vec<u8> = (0..reader::postmark::EXTENDED_CHUNK + 1000)
        .map(|i| i as u8)
        .collect();
    let file = reader::postmark::postmark(&mut m, &mut &message[..]).unwrap();
    let (verdict, _) =
        reader::postmark::verify_on_card(&mut m, &mut &message[..], &file, None).unwrap();
    assert_eq!(verdict.result, Ok(()));
    reader::postage::postage(
        &mut m,
        &reader::postage::PostageOrder {
            postage: 55,
            origin: "10001".into(),
            destination: "SW1A 1AA".into(),
            class: "FIRST-CLASS".into(),
            date: Some(TIME - TIME % 86_400 + 86_400),
        },
    )
    .unwrap();
    m.rates().unwrap();
    m.meter_public_key().unwrap();
    m.read_certificate(0).unwrap();
    let receiver = p256::SecretKey::from_slice(&[0x42; 32]).unwrap();
    let issue = reader::agent::Issue {
        holder: "h".repeat(apdu::cmd::issue_certificate::HOLDER_MAX_LEN),
        receiver: apdu::channel::encode_point(&receiver.public_key()),
        usage: apdu::cert::usage::SIGNING,
        days: 365,
    };
    reader::agent::issue(&mut m, &issue).unwrap();
    // Figures 8 and 9: a line of credit, a payment from it.
    reader::credit::request(&mut m, &mut authority, 10_000).unwrap();
    reader::pay::pay(&mut m, 1_234, "SHOP-1").unwrap();
    // The authority's next key.
    let st = m.status().unwrap();
    let chip: [u8; 8] = hex::decode(&st.chip_id).unwrap().try_into().unwrap();
    let next = authority::keys::from_seed(99);
    let next_cert = authority.certify_next_key(&next).unwrap();
    let challenge = m.challenge().unwrap();
    let update = authority
        .key_update(SERIAL, &chip, &challenge, &next_cert)
        .unwrap();
    m.key_update(&update).unwrap();
    authority.switch_key(next, next_cert).unwrap();
    // Last: the meter certificate revoked (no postmarks after it).
    reader::revoke::revoke(&mut m, &mut authority, 0, 1).unwrap();
    m.into_transport().sent
}

/// Requests of every kind, at the sizes the flows use and at the edges.
fn requests<'a>(flow_data: &'a [Vec<u8>], scratch: &'a [u8], aid: &'a [u8]) -> Vec<Request<'a>> {
    let mut out = vec![
        Request::Select { aid },
        Request::Verify { pin: None },
        Request::Verify {
            pin: Some(DEFAULT_PIN),
        },
        Request::ChangePin {
            old_then_new: &scratch[..apdu::meter::CHANGE_PIN_MIN_LEN],
        },
        Request::ChangePin {
            old_then_new: &scratch[..apdu::meter::CHANGE_PIN_MAX_LEN],
        },
        Request::GetData(DataObject::Status),
        Request::GetData(DataObject::RateTable),
        Request::GetData(DataObject::PublicKey),
        Request::GetChallenge,
        Request::GenerateKey { generate: true },
        Request::GenerateKey { generate: false },
        Request::HashInit,
        Request::Postmark,
        Request::ReadAttestation,
        Request::Attest {
            nonce: scratch[..16].try_into().unwrap(),
        },
        Request::StoreAttestation {
            certificate: &scratch[..SHORT_MAX_NC],
        },
        Request::StoreAttestation {
            certificate: &scratch[..applet_sim::budget::ATTESTATION_CERTIFICATE_SIZE],
        },
        Request::ChannelKey {
            nonce: scratch[..16].try_into().unwrap(),
        },
        Request::OpenChannel,
        Request::ChannelHello {
            hello: &scratch[..SHORT_MAX_NC],
        },
        Request::ChannelMessage {
            sealed: &scratch[..apdu::channel::OVERHEAD],
        },
        Request::ChannelMessage {
            sealed: &scratch[..SHORT_MAX_NC],
        },
        Request::InstallKey {
            sealed: &scratch[..SHORT_MAX_NC],
        },
        Request::InstallCertificate {
            sealed: &scratch[..SHORT_MAX_NC],
        },
        Request::Sign {
            slot: 1,
            digest: scratch[..32].try_into().unwrap(),
            authenticate: false,
        },
        Request::ReadCreditLine,
        Request::RechargeRequest {
            register: RegisterId::Certificate,
            amount: scratch[..8].try_into().unwrap(),
        },
        Request::Audit,
    ];
    for n in [
        1,
        SHORT_MAX_NC,
        SHORT_MAX_NC + 1,
        reader::postmark::CHAINED_CHUNK,
        reader::postmark::EXTENDED_CHUNK,
        EXTENDED_MAX_NC,
    ] {
        out.push(Request::HashUpdate {
            data: &scratch[..n],
        });
    }
    for slot in 0..applet_sim::budget::CERTIFICATE_SLOTS as u8 {
        out.push(Request::ReadCertificate { slot });
        out.push(Request::RevokeRequest { slot, reason: 1 });
    }
    // The messages and the postmark file of the flows.
    for apdu in flow_data {
        let cmd = Command::parse(apdu).unwrap();
        match Request::parse(&cmd) {
            Ok(r @ Request::Personalize { .. })
            | Ok(r @ Request::LoadValue { .. })
            | Ok(r @ Request::VerifyPostmark { .. })
            | Ok(r @ Request::Postage { .. })
            | Ok(r @ Request::Unblock { .. })
            | Ok(r @ Request::Sync { .. })
            | Ok(r @ Request::IssueCertificate { .. })
            | Ok(r @ Request::Revoke { .. })
            | Ok(r @ Request::KeyUpdate { .. })
            | Ok(r @ Request::StoreCreditLine { .. })
            | Ok(r @ Request::Pay { .. })
            | Ok(r @ Request::RateUpdate { .. }) => out.push(r),
            _ => {}
        }
    }
    out
}

#[test]
fn the_headings_are_the_apdus_to_command_builds() {
    let md = apdu_md();
    let sections = sections(&md);
    let recorded = flows(true);
    let scratch = vec![0x5A; EXTENDED_MAX_NC];
    let requests = requests(&recorded, &scratch, AID);
    for kind in ["PERSONALIZE", "LOAD VALUE", "VERIFY POSTMARK"] {
        assert!(
            requests.iter().any(|r| section_name(r) == kind),
            "the flows sent no {kind}"
        );
    }
    // The longest value load (16-byte serial) is VALUE_LOAD_MAX_LEN.
    for r in &requests {
        if let Request::LoadValue { message } = r {
            // A recharge's load also carries the request's challenge.
            let recharge = apdu::message::ValueLoad::parse(message)
                .unwrap()
                .challenge
                .is_some();
            let max = if recharge {
                apdu::cmd::load_value::RECHARGE_LOAD_MAX_LEN
            } else {
                apdu::message::VALUE_LOAD_MAX_LEN
            };
            assert_eq!(message.len(), max);
        }
    }

    let names: BTreeSet<&str> = requests.iter().map(section_name).collect();
    let documented: BTreeSet<&str> = sections.keys().map(String::as_str).collect();
    assert_eq!(documented, names, "the command sections of apdu.md");

    let mut used: BTreeSet<(&str, usize)> = BTreeSet::new();
    let mut wrong = Vec::new();
    for r in &requests {
        let name = section_name(r);
        let apdu = r.to_command().to_vec().unwrap();
        let forms = &sections[name].forms;
        match forms.iter().position(|f| f.matches(&apdu)) {
            Some(i) => {
                used.insert((name, i));
            }
            None => wrong.push(format!(
                "{name}: the host sends {} (data {} bytes), which no heading form shows: {}",
                short_hex(&apdu),
                Command::parse(&apdu).unwrap().data.len(),
                forms
                    .iter()
                    .map(|f| format!("`{}`", f.text))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }
    for (name, s) in &sections {
        for (i, f) in s.forms.iter().enumerate() {
            if !used.contains(&(name.as_str(), i)) {
                wrong.push(format!("{name}: the host never sends `{}`", f.text));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "docs/apdu.md headings:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_chained_rows_are_what_the_exchange_layer_sends() {
    let md = apdu_md();
    let sections = sections(&md);
    let recorded = flows(true);
    let scratch = vec![0x5A; EXTENDED_MAX_NC];
    let requests = requests(&recorded, &scratch, AID);
    let mut chained_sections = BTreeSet::new();
    let mut wrong = Vec::new();
    for r in &requests {
        let cmd = r.to_command();
        if cmd.data.len() <= SHORT_MAX_NC {
            continue;
        }
        let name = section_name(r);
        chained_sections.insert(name);
        let Some((pieces, last)) = &sections[name].chained else {
            wrong.push(format!(
                "{name}: no `chained` row, but {} data bytes are chained",
                cmd.data.len()
            ));
            continue;
        };
        let mut t: Recording<MemoryTransport> = Recording {
            inner: None,
            extended: false,
            sent: Vec::new(),
        };
        reader::exchange(&mut t, &cmd).unwrap();
        let (final_apdu, first) = t.sent.split_last().unwrap();
        assert!(!first.is_empty(), "{name}: not chained");
        for p in first {
            assert_ne!(p[0] & CLA_CHAINING, 0);
            if !pieces.matches(p) {
                wrong.push(format!(
                    "{name}: piece {} is not `{}`",
                    short_hex(p),
                    pieces.text
                ));
            }
        }
        if !last.matches(final_apdu) {
            wrong.push(format!(
                "{name}: last piece {} is not `{}`",
                short_hex(final_apdu),
                last.text
            ));
        }
    }
    for (name, s) in &sections {
        if s.chained.is_some() && !chained_sections.contains(name.as_str()) {
            wrong.push(format!(
                "{name}: a `chained` row, but the host never chains it"
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "docs/apdu.md chained rows:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_flows_send_only_documented_apdus() {
    let md = apdu_md();
    let sections = sections(&md);
    for extended in [true, false] {
        let mut in_chain = false;
        for apdu in flows(extended) {
            let cmd = Command::parse(&apdu).unwrap();
            if (cmd.cla, cmd.ins) == (0x00, ins::GET_RESPONSE) {
                continue;
            }
            let request = Request::parse(&cmd).unwrap();
            let section = &sections[section_name(&request)];
            let ok = if cmd.is_chained() {
                in_chain = true;
                section
                    .chained
                    .as_ref()
                    .is_some_and(|(p, _)| p.matches(&apdu))
            } else if in_chain {
                in_chain = false;
                section
                    .chained
                    .as_ref()
                    .is_some_and(|(_, l)| l.matches(&apdu))
            } else {
                // Without a chain, the host sends what to_command builds.
                assert_eq!(request.to_command().to_vec().unwrap(), apdu);
                section.forms.iter().any(|f| f.matches(&apdu))
            };
            assert!(
                ok,
                "extended {extended}: {} sent {}, which apdu.md does not show",
                section_name(&request),
                short_hex(&apdu)
            );
        }
    }
}

/// The header and the first and last bytes of an APDU.
fn short_hex(apdu: &[u8]) -> String {
    if apdu.len() <= 24 {
        hex::encode_upper(apdu)
    } else {
        format!(
            "{}…{} ({} bytes)",
            hex::encode_upper(&apdu[..12]),
            hex::encode_upper(&apdu[apdu.len() - 4..]),
            apdu.len()
        )
    }
}

// ---------------------------------------------------------------------------
// One section per instruction.

/// The instructions of the command set as the card knows them: every
/// (CLA, INS) that `Request::parse` does not refuse as unknown (`6D00`,
/// `6E00`). Any other answer (`6A86`, `6700`, a request) means the card
/// has the instruction.
fn parsed_instructions() -> BTreeSet<(u8, u8)> {
    let mut out = BTreeSet::new();
    for cla in [CLA_ISO, CLA_PROPRIETARY] {
        for ins in 0..=u8::MAX {
            let cmd = Command::new(cla, ins, 0, 0, &[], None);
            match Request::parse(&cmd) {
                Err(sw)
                    if sw == StatusWord::INS_NOT_SUPPORTED
                        || sw == StatusWord::CLA_NOT_SUPPORTED => {}
                _ => {
                    out.insert((cla, ins));
                }
            }
        }
    }
    out
}

/// One request of every variant ([`apdu::cmd::EXAMPLES`]), to name an
/// instruction and find its section (`section_name`, which matches every
/// variant without a wildcard).
fn one_of_each() -> Vec<Request<'static>> {
    apdu::cmd::EXAMPLES.to_vec()
}

/// The (CLA, INS) pairs a heading form names: its first two tokens.
fn form_instructions(f: &Form) -> Option<Vec<(u8, u8)>> {
    let byte = |i: usize| match f.items.get(i) {
        Some(Item::One(Tok::Byte(set))) => Some(set.clone()),
        _ => None,
    };
    let (clas, inss) = (byte(0)?, byte(1)?);
    Some(
        clas.iter()
            .flat_map(|&c| inss.iter().map(move |&i| (c, i)))
            .collect(),
    )
}

#[test]
fn every_instruction_has_a_section_and_every_section_an_instruction() {
    let md = apdu_md();
    let sections = sections(&md);
    let code = parsed_instructions();
    let mut wrong = Vec::new();

    // The constants and the parser agree: ins::ALL is the command set, plus
    // GET RESPONSE, which the card OS answers (docs: "Long answers").
    let constants: BTreeSet<u8> = ins::ALL
        .iter()
        .copied()
        .filter(|&i| i != ins::GET_RESPONSE)
        .collect();
    let parsed: BTreeSet<u8> = code.iter().map(|&(_, i)| i).collect();
    assert_eq!(
        constants, parsed,
        "apdu::meter::ins::ALL (without GET RESPONSE) and the instructions Request::parse knows"
    );

    // Each instruction: its name (Request::name) and its section name.
    let samples = one_of_each();
    let mut expected: BTreeMap<(u8, u8), (String, BTreeSet<&str>)> = BTreeMap::new();
    for r in &samples {
        let cmd = r.to_command();
        let e = expected
            .entry((cmd.cla, cmd.ins))
            .or_insert_with(|| (r.name().to_string(), BTreeSet::new()));
        e.1.insert(section_name(r));
    }
    for key in &code {
        if !expected.contains_key(key) {
            wrong.push(format!(
                "Request::parse knows CLA {:02X} INS {:02X}, but tests/docs.rs has no request of it: \
                 add one to one_of_each()",
                key.0, key.1
            ));
        }
    }

    // Where apdu.md documents each instruction.
    let mut documented: BTreeMap<(u8, u8), BTreeSet<&str>> = BTreeMap::new();
    for (name, s) in &sections {
        for f in &s.forms {
            let Some(pairs) = form_instructions(f) else {
                wrong.push(format!(
                    "### {name}: `{}` does not start with a fixed CLA and INS",
                    f.text
                ));
                continue;
            };
            for pair in pairs {
                if !code.contains(&pair) {
                    wrong.push(format!(
                        "### {name}: `{}` names CLA {:02X} INS {:02X}, which the command set does \
                         not have (Request::parse answers 6D00/6E00)",
                        f.text, pair.0, pair.1
                    ));
                }
                documented.entry(pair).or_default().insert(name.as_str());
            }
        }
    }
    for pair in &code {
        let Some((what, want)) = expected.get(pair) else {
            continue;
        };
        let want_list = want.iter().copied().collect::<Vec<_>>().join(", ");
        match documented.get(pair) {
            None => wrong.push(format!(
                "{what} (CLA {:02X} INS {:02X}): docs/apdu.md has no `### {want_list} — …` \
                 section under \"## Commands\"",
                pair.0, pair.1
            )),
            Some(found) if found != want => wrong.push(format!(
                "{what} (CLA {:02X} INS {:02X}) is documented under {found:?}, expected {want_list}",
                pair.0, pair.1
            )),
            Some(_) => {}
        }
    }
    assert!(
        wrong.is_empty(),
        "docs/apdu.md command sections against the command set:\n{}",
        wrong.join("\n")
    );
}

// ---------------------------------------------------------------------------
// docs/architecture.md: the paths it names.

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_owned()
}

/// Whether a code span is a path in the tree: relative, one word, with a
/// `/`, naming a Rust file (`reader/src/meter.rs`) or a directory (`cli/`).
/// Absolute paths, `~`, `$VAR`, `../`, globs and Rust paths are not.
fn tree_path(span: &str) -> Option<&str> {
    let relative = !span.starts_with(['/', '~', '$', '.', '-']);
    let word = !span.contains(char::is_whitespace) && !span.contains(['*', ':', '<', '>']);
    let shaped = span.ends_with(".rs") || span.ends_with('/');
    (relative && word && shaped && span.contains('/')).then_some(span)
}

/// The backticked tree paths of a Markdown text, outside fenced blocks.
fn tree_paths(md: &str) -> Vec<String> {
    let mut fenced = false;
    let mut prose = String::new();
    for line in md.lines() {
        if line.starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if !fenced {
            prose.push_str(line);
            prose.push('\n');
        }
    }
    prose
        .split('`')
        .skip(1)
        .step_by(2)
        .filter_map(tree_path)
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_path_in_architecture_md_exists() {
    let path = workspace_root().join("docs/architecture.md");
    let md = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let paths = tree_paths(&md);
    assert!(
        paths.len() > 50,
        "docs/architecture.md names only {} paths: is its module map gone?",
        paths.len()
    );
    let root = workspace_root();
    let missing: BTreeSet<&String> = paths
        .iter()
        .filter(|p| {
            let full = root.join(p);
            if p.ends_with('/') {
                !full.is_dir()
            } else {
                !full.is_file()
            }
        })
        .collect();
    assert!(
        missing.is_empty(),
        "docs/architecture.md names paths that do not exist (relative to the workspace root):\n{}",
        missing
            .iter()
            .map(|p| p.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn tree_paths_are_what_look_like_paths() {
    let md = "`cli/` and `reader/src/meter.rs`, not `~/.local/share/certmeter/`, \
              `/dev/null`, `vectors/data/*.json`, `meter.rs`, `a::b`, `-o -`,\n\
              ```\n`applet-sim/src/gone.rs`\n```\n`apdu/src/cmd/\nx.rs`";
    assert_eq!(tree_paths(md), ["cli/", "reader/src/meter.rs"]);
}

// ---------------------------------------------------------------------------
// The parsers above, on their own.

#[test]
fn forms_match_what_they_say_and_nothing_else() {
    let ext = |nc: usize, tail: &[u8]| {
        let mut v = vec![0x80, 0x32, 0x00, 0x00, 0x00];
        v.extend_from_slice(&(nc as u16).to_be_bytes());
        v.extend(std::iter::repeat_n(0x11, nc));
        v.extend_from_slice(tail);
        v
    };
    let good = Form::parse("80 32 00 00 00 Lc1 Lc2 postmark-file 01 00");
    assert!(good.matches(&ext(379, &[0x01, 0x00])));
    assert!(!good.matches(&ext(379, &[0x00, 0x00])));
    assert!(!good.matches(&ext(379, &[])));
    // The form the tester found: a short Lc cannot carry 379 bytes.
    let old = Form::parse("80 32 00 00 Lc postmark-file 00");
    assert!(!old.matches(&ext(379, &[0x01, 0x00])));
    assert!(old.matches(&[0x80, 0x32, 0x00, 0x00, 0x02, 0xAA, 0xBB, 0x00]));

    let select = Form::parse("00 A4 04 00|0C Lc AID [Le]");
    assert!(select.matches(&[0x00, 0xA4, 0x04, 0x0C, 0x01, 0xF0]));
    assert!(select.matches(&[0x00, 0xA4, 0x04, 0x00, 0x01, 0xF0, 0x00]));
    assert!(!select.matches(&[0x00, 0xA4, 0x04, 0x01, 0x01, 0xF0]));
    let verify = Form::parse("00 20 00 81 [Lc PIN]");
    assert!(verify.matches(&[0x00, 0x20, 0x00, 0x81]));
    assert!(verify.matches(&[0x00, 0x20, 0x00, 0x81, 0x01, 0x31]));
    assert!(!verify.matches(&[0x00, 0x20, 0x00, 0x81, 0x00]));
    let get_data = Form::parse("00 CA P1P2=tag [Le]");
    assert!(get_data.matches(&[0x00, 0xCA, 0x7F, 0x49, 0x00]));
    assert!(!get_data.matches(&[0x00, 0xCB, 0x7F, 0x49, 0x00]));

    assert_eq!(
        numbers("65,535 bytes, 7F49, 61xx, 2461 of 30720."),
        [65535, 2461, 30720]
    );
    assert_eq!(prose(65_280), "65,280");
    assert_eq!(prose(4096), "4096");
}
