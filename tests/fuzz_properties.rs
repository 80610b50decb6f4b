//! The fuzz targets' properties (`fuzz/`, run by `scripts/fuzz`) as
//! property tests on stable, in the normal suite: inputs are the vectors'
//! own messages and APDUs, mutated (bytes flipped, inserted, deleted,
//! truncated), or plain random bytes. proptest prints the failing input
//! (shrunk) and stores its seed under `proptest-regressions/` for a rerun.
//!
//! * APDU parser: a parsed command encodes back to exactly its bytes; a
//!   meter request's command parses back to the request.
//! * TLV: an object read re-encodes to exactly the bytes it came from.
//! * Every signed-message and answer parser: total on any bytes.
//! * vpcd framing: a frame reads back the same whatever the pieces the
//!   stream delivers it in; `limit_ne` only lowers Le.
//! * Host decoding: `reader::Meter` calls over a transport answering
//!   anything end in a result or an error.

use std::io::{self, Read};
use std::sync::OnceLock;
use std::sync::atomic::AtomicBool;

use apdu::Command;
use apdu::cmd::{
    attestation, audit, channel, credit_line, generate_key, get_data, install, issue_certificate,
    key_update, load_value, pay, personalize, postage, postmark, rate_update, recharge, revoke,
    select, sync, unblock, verify_postmark,
};
use apdu::meter::Request;
use applet_sim::vpcd;
use proptest::prelude::*;
use reader::{Error, Meter, Transport, TransportError};

/// Every command APDU, command data (chains joined) and answer data of the
/// committed vectors.
fn samples() -> &'static [Vec<u8>] {
    static S: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    S.get_or_init(|| {
        let mut out = Vec::new();
        for v in vectors::load_all() {
            let mut chain = Vec::new();
            for step in &v.steps {
                out.push(step.command.clone());
                if let Ok(c) = Command::parse(&step.command) {
                    chain.extend_from_slice(c.data);
                    if !c.is_chained() {
                        out.push(std::mem::take(&mut chain));
                    }
                }
                if let [data @ .., _, _] = &step.response[..] {
                    out.push(data.to_vec());
                }
            }
        }
        out.retain(|s| !s.is_empty());
        out.sort();
        out.dedup();
        out
    })
}

#[derive(Clone, Debug)]
enum Edit {
    Flip(usize, u8),
    Insert(usize, u8),
    Delete(usize),
    Truncate(usize),
}

fn apply(mut bytes: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for e in edits {
        let n = bytes.len().max(1);
        match *e {
            Edit::Flip(i, x) => {
                if let Some(b) = bytes.get_mut(i % n) {
                    *b ^= x.max(1);
                }
            }
            Edit::Insert(i, x) => bytes.insert(i % (bytes.len() + 1), x),
            Edit::Delete(i) => {
                if !bytes.is_empty() {
                    bytes.remove(i % n);
                }
            }
            Edit::Truncate(i) => bytes.truncate(i % n),
        }
    }
    bytes
}

/// A vector sample with up to 4 edits, or random bytes.
fn input() -> impl Strategy<Value = Vec<u8>> {
    let edit = prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, x)| Edit::Flip(i, x)),
        (any::<usize>(), any::<u8>()).prop_map(|(i, x)| Edit::Insert(i, x)),
        any::<usize>().prop_map(Edit::Delete),
        any::<usize>().prop_map(Edit::Truncate),
    ];
    prop_oneof![
        3 => (any::<prop::sample::Index>(), prop::collection::vec(edit, 0..4))
            .prop_map(|(i, edits)| apply(i.get(samples()).clone(), &edits)),
        1 => prop::collection::vec(any::<u8>(), 0..300),
    ]
}

fn all_parsers(data: &[u8]) {
    let _ = load_value::ValueLoad::parse(data);
    let _ = load_value::LoadReceipt::parse(data);
    let _ = sync::Sync::parse(data);
    let _ = unblock::Unblock::parse(data);
    let _ = personalize::Personalization::parse(data);
    let _ = revoke::RevocationRequest::parse(data);
    let _ = revoke::RevocationMessage::parse(data);
    let _ = revoke::RevocationConfirmation::parse(data);
    let _ = revoke::Crl::parse(data);
    let _ = key_update::KeyUpdate::parse(data);
    let _ = channel::Registration::parse(data);
    let _ = apdu::channel::Request::parse(data);
    let _ = install::CertificateRequest::parse(data);
    let _ = issue_certificate::IssueRequest::parse(data);
    let _ = issue_certificate::read_agent(data);
    let _ = issue_certificate::SealedKey::read(data);
    let _ = issue_certificate::AgentFile::parse(data);
    let _ = rate_update::RateUpdate::parse(data);
    let _ = recharge::RechargeRequest::parse(data);
    let _ = audit::AuditReport::parse(data);
    let _ = postage::PostageRequest::parse(data);
    let _ = postage::Indicium::parse(data);
    let _ = postmark::Postmark::parse(data);
    let _ = postmark::PostmarkFile::parse(data);
    let _ = verify_postmark::Verdict::parse(data);
    let _ = credit_line::read_creditor(data);
    let _ = credit_line::LineCertificate::parse(data);
    let _ = credit_line::LineFile::parse(data);
    let _ = credit_line::CreditRequestFile::parse(data);
    let _ = credit_line::CreditState::parse(data);
    let _ = credit_line::parse_read_answer(data);
    let _ = pay::PayRequest::parse(data);
    let _ = pay::PaymentCertificate::parse(data);
    let _ = pay::PaymentFile::parse(data);
    let _ = attestation::Attestation::parse(data);
    let _ = generate_key::PublicKeyTemplate::parse(data);
    let _ = select::Fci::parse(data);
    let _ = get_data::StatusTemplate::parse(data);
    let _ = get_data::RateTable::parse(data);
    let _ = apdu::cert::Certificate::parse(data);
}

/// Delivers `bytes` in pieces of the given sizes (cycled), with a read
/// timeout before every piece when `block` is set.
struct Pieces<'a> {
    bytes: &'a [u8],
    sizes: Vec<usize>,
    i: usize,
    block: bool,
    blocked: bool,
}

impl Read for Pieces<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.block && !std::mem::replace(&mut self.blocked, true) {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        self.blocked = false;
        let size = self.sizes[self.i % self.sizes.len()];
        self.i += 1;
        let n = size.min(buf.len()).min(self.bytes.len());
        buf[..n].copy_from_slice(&self.bytes[..n]);
        self.bytes = &self.bytes[n..];
        Ok(n)
    }
}

/// Answers from a list; then the card is gone.
struct Answers {
    answers: Vec<Vec<u8>>,
    extended: bool,
    sent: usize,
}

impl Transport for Answers {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        let cmd = Command::parse(command).expect("the host sends well-formed APDUs");
        assert!(self.extended || !cmd.extended);
        self.sent += 1;
        assert!(self.sent < 10_000, "the host never stops sending");
        if self.answers.is_empty() {
            return Err(TransportError::CardRemoved);
        }
        Ok(self.answers.remove(0))
    }
    fn supports_extended(&self) -> bool {
        self.extended
    }
    fn atr(&self) -> &[u8] {
        &[]
    }
    fn reset(&mut self) -> Result<(), TransportError> {
        Ok(())
    }
    fn exclusive(&mut self, f: &mut reader::transport::Exclusive<'_>) -> Result<(), Error> {
        f(self)
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(10000))]

    #[test]
    fn parsed_commands_round_trip(data in input()) {
        if let Ok(cmd) = Command::parse(&data) {
            prop_assert_eq!(cmd.to_vec().unwrap(), data.clone());
            if let Ok(req) = Request::parse(&cmd) {
                prop_assert_eq!(Request::parse(&req.to_command()), Ok(req));
            }
        }
    }

    #[test]
    fn tlv_objects_reencode_to_their_bytes(data in input()) {
        let mut rest = &data[..];
        while let Ok((t, after)) = apdu::tlv::read(rest) {
            let consumed = &rest[..rest.len() - after.len()];
            let mut buf = vec![0u8; consumed.len() + 8];
            let mut w = apdu::tlv::Writer::new(&mut buf);
            w.put(t.tag, t.value).unwrap();
            prop_assert_eq!(w.written(), consumed);
            if after.len() == rest.len() {
                break;
            }
            rest = after;
        }
    }

    #[test]
    fn signed_message_parsers_take_any_bytes(data in input()) {
        all_parsers(&data);
    }

    #[test]
    fn vpcd_frames_survive_any_pieces(
        payload in prop::collection::vec(any::<u8>(), 0..700),
        sizes in prop::collection::vec(1usize..40, 1..6),
        block in any::<bool>(),
    ) {
        let mut framed = Vec::new();
        vpcd::write_frame(&mut framed, &payload).unwrap();
        vpcd::write_frame(&mut framed, &payload).unwrap();
        let mut stream = Pieces { bytes: &framed, sizes, i: 0, block, blocked: false };
        let stop = AtomicBool::new(false);
        for _ in 0..2 {
            let mut got = Vec::new();
            prop_assert_eq!(vpcd::read_frame(&mut stream, &mut got, &stop).unwrap(), vpcd::Frame::Message);
            prop_assert_eq!(&got, &payload);
        }
        let mut got = Vec::new();
        prop_assert_eq!(vpcd::read_frame(&mut stream, &mut got, &stop).unwrap(), vpcd::Frame::Closed);
    }

    #[test]
    fn vpcd_limit_ne_only_lowers_le(data in input()) {
        if let Some(limited) = vpcd::limit_ne(&data) {
            let (a, b) = (Command::parse(&data).unwrap(), Command::parse(&limited).unwrap());
            prop_assert_eq!(b.le, Some(vpcd::MAX_NE));
            prop_assert_eq!((a.cla, a.ins, a.p1, a.p2, a.data), (b.cla, b.ins, b.p1, b.p2, b.data));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn host_decodes_any_answers(
        which in 0u8..8,
        extended in any::<bool>(),
        answers in prop::collection::vec(
            prop_oneof![
                input().prop_map(|mut d| { d.extend_from_slice(&[0x90, 0x00]); d }),
                (input(), any::<u8>()).prop_map(|(mut d, n)| { d.extend_from_slice(&[0x61, n]); d }),
                any::<u8>().prop_map(|n| vec![0x6C, n]),
                input(),
            ],
            0..6,
        ),
    ) {
        let mut m = Meter::new(Answers { answers, extended, sent: 0 });
        match which {
            0 => drop(m.status()),
            1 => drop(m.rates()),
            2 => drop(m.rate_table()),
            3 => drop(m.verify_postmark(b"file", None)),
            4 => drop(m.read_credit_line()),
            5 => drop(m.read_attestation()),
            6 => drop(m.audit()),
            _ => drop(m.challenge()),
        }
    }
}
