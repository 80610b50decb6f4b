//! Shared by tests/bad_input.rs and tests/attacks.rs (included with
//! `#[path]`): every accepted command of every vector flow, with the card
//! exactly as it was just before it (persistent memory and RAM), plus the
//! commands no vector records (KEY UPDATE, VERIFY POSTMARK with the
//! revocation list); a small TLV editor for building malformed data.
#![allow(dead_code)]

use apdu::meter::Request;
use apdu::{Command, StatusWord};
use applet_sim::sim::Card;
use reader::sim::MemoryTransport;
use reader::{Meter, Transport, TransportError};
use vectors::Funded;

/// A command APDU, owned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cmd {
    pub cla: u8,
    pub ins: u8,
    pub p1: u8,
    pub p2: u8,
    pub data: Vec<u8>,
    pub le: Option<usize>,
}

impl Cmd {
    pub fn from(c: &Command<'_>) -> Self {
        Cmd {
            cla: c.cla,
            ins: c.ins,
            p1: c.p1,
            p2: c.p2,
            data: c.data.to_vec(),
            le: c.le,
        }
    }

    /// The APDU in the shortest form (extended when the data or `Le`
    /// need it).
    pub fn bytes(&self) -> Vec<u8> {
        Command::new(self.cla, self.ins, self.p1, self.p2, &self.data, self.le)
            .to_vec()
            .unwrap()
    }

    pub fn with_data(&self, data: Vec<u8>) -> Self {
        Cmd {
            data,
            ..self.clone()
        }
    }
}

/// The command's name in the bad-input table: one per [`Request`]
/// variant (GET DATA's objects and the two uses of VERIFY POSTMARK apart).
pub fn kind(cmd: &Cmd) -> &'static str {
    let c = Command::new(cmd.cla, cmd.ins, cmd.p1, cmd.p2, &cmd.data, cmd.le);
    match Request::parse(&c).unwrap_or_else(|sw| panic!("{sw:?} {cmd:02X?}")) {
        Request::Select { .. } => "SELECT",
        Request::Verify { .. } => "VERIFY",
        Request::ChangePin { .. } => "CHANGE REFERENCE DATA",
        Request::GetData(_) => "GET DATA",
        Request::GetChallenge => "GET CHALLENGE",
        Request::GenerateKey { generate: true } => "GENERATE KEY",
        Request::GenerateKey { generate: false } => "GENERATE KEY read",
        Request::Personalize { .. } => "PERSONALIZE",
        Request::LoadValue { .. } => "LOAD VALUE",
        Request::HashInit => "HASH init",
        Request::HashUpdate { .. } => "HASH update",
        Request::Postmark => "POSTMARK",
        Request::Postage { .. } => "POSTAGE",
        Request::VerifyPostmark {
            with_crl: false, ..
        } => "VERIFY POSTMARK",
        Request::VerifyPostmark { with_crl: true, .. } => "VERIFY POSTMARK with list",
        Request::ReadCertificate { .. } => "READ CERTIFICATE",
        Request::StoreAttestation { .. } => "STORE ATTESTATION CERTIFICATE",
        Request::ReadAttestation => "READ ATTESTATION",
        Request::Attest { .. } => "ATTEST",
        Request::Sync { .. } => "SYNC",
        Request::Unblock { .. } => "RESET RETRY COUNTER",
        Request::IssueCertificate { .. } => "ISSUE CERTIFICATE",
        Request::RevokeRequest { .. } => "REVOKE REQUEST",
        Request::Revoke { .. } => "REVOKE",
        Request::KeyUpdate { .. } => "KEY UPDATE",
        Request::ChannelKey { .. } => "CHANNEL KEY",
        Request::OpenChannel => "OPEN CHANNEL",
        Request::ChannelHello { .. } => "CHANNEL HELLO",
        Request::ChannelMessage { .. } => "CHANNEL MESSAGE",
        Request::InstallKey { .. } => "INSTALL KEY",
        Request::InstallCertificate { .. } => "INSTALL CERTIFICATE",
        Request::Sign {
            authenticate: false,
            ..
        } => "SIGN",
        Request::Sign {
            authenticate: true, ..
        } => "AUTHENTICATE",
        Request::StoreCreditLine { .. } => "STORE CREDIT LINE",
        Request::ReadCreditLine => "READ CREDIT LINE",
        Request::Pay { .. } => "PAY",
        Request::RechargeRequest { .. } => "RECHARGE REQUEST",
        Request::RateUpdate { .. } => "RATE UPDATE",
        Request::Audit => "AUDIT",
    }
}

/// One accepted command and the card just before it.
pub struct Ctx {
    /// Where it comes from: `vector#step`.
    pub origin: String,
    pub card: Card,
    pub cmd: Cmd,
    /// The answer the card gave (data, SW).
    pub answer: Vec<u8>,
}

pub fn sw_of(answer: &[u8]) -> StatusWord {
    let n = answer.len();
    StatusWord::new(answer[n - 2], answer[n - 1])
}

pub fn accepted(sw: StatusWord) -> bool {
    sw == StatusWord::OK || sw.0 >> 8 == 0x61
}

/// Every command of every committed vector, with the card before it
/// (chains reassembled into one command), accepted or not.
pub fn vector_contexts() -> Vec<Ctx> {
    let mut out = Vec::new();
    for v in vectors::load_all() {
        let mut card = vectors::fresh(&v.card).unwrap().into_card();
        let mut chain: Option<(Card, Vec<u8>)> = None;
        for (n, step) in v.steps.iter().enumerate() {
            let c = Command::parse(&step.command).unwrap();
            let is_get_response = c.cla == 0 && c.ins == apdu::meter::ins::GET_RESPONSE;
            if !is_get_response && c.is_chained() {
                let (_, data) = chain.get_or_insert_with(|| (card.clone(), Vec::new()));
                data.extend_from_slice(c.data);
            } else if !is_get_response && apdu::meter::class_supported(c.cla) {
                let (before, data) = match chain.take() {
                    Some((before, mut data)) => {
                        data.extend_from_slice(c.data);
                        (before, data)
                    }
                    None => (card.clone(), c.data.to_vec()),
                };
                let cmd = Cmd {
                    data,
                    ..Cmd::from(&c)
                };
                if Request::parse(&cmd_ref(&cmd)).is_ok() {
                    out.push(Ctx {
                        origin: format!("{}#{n}", v.name),
                        card: before,
                        cmd,
                        answer: step.response.clone(),
                    });
                }
            }
            let got = card.transmit(&step.command).unwrap();
            assert_eq!(got, step.response, "{}#{n}: the vector replays", v.name);
        }
    }
    out
}

fn cmd_ref(c: &Cmd) -> Command<'_> {
    Command::new(c.cla, c.ins, c.p1, c.p2, &c.data, c.le)
}

/// A transport over the simulated card that keeps, for each command, the
/// card as it was just before it.
pub struct Harvest {
    pub inner: MemoryTransport,
    pub origin: &'static str,
    pub taken: Vec<Ctx>,
}

impl Transport for Harvest {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        let before = self.inner.card().clone();
        let answer = self.inner.transmit(command)?;
        if let Ok(c) = Command::parse(command) {
            let cmd = Cmd::from(&c);
            if Request::parse(&c).is_ok() && !c.is_chained() {
                self.taken.push(Ctx {
                    origin: format!("{}#{}", self.origin, self.taken.len()),
                    card: before,
                    cmd,
                    answer: answer.clone(),
                });
            }
        }
        Ok(answer)
    }

    fn supports_extended(&self) -> bool {
        true
    }

    fn atr(&self) -> &[u8] {
        self.inner.atr()
    }

    fn reset(&mut self) -> Result<(), TransportError> {
        self.inner.reset()
    }

    fn exclusive(&mut self, f: &mut reader::transport::Exclusive<'_>) -> Result<(), reader::Error> {
        f(self)
    }
}

pub const FIXTURE: Funded = Funded {
    card: vectors::CardSpec {
        seed: 41,
        time: 1_800_000_000,
        issuer_root: None,
        unattested: false,
    },
    authority: "CERTMETER-CA",
    authority_seed: 5,
    serial: "BAD-1",
    funds: 5_000,
};

/// The commands no vector records, on [`FIXTURE`]: VERIFY POSTMARK with the
/// authority's revocation list, and KEY UPDATE.
pub fn extra_contexts() -> Vec<Ctx> {
    let (meter, mut authority) = FIXTURE.meter().unwrap();
    let card = meter.into_transport().into_card();
    let mut m = Meter::new(Harvest {
        inner: MemoryTransport::new(card, true),
        origin: "extra",
        taken: Vec::new(),
    });
    vectors::fixture::open(&mut m).unwrap();
    m.hash_init().unwrap();
    m.hash_update(b"a letter").unwrap();
    let postmark = m.postmark().unwrap();
    let file = [postmark, m.read_certificate(0).unwrap()].concat();
    let crl = authority.crl().unwrap();
    m.hash_init().unwrap();
    m.hash_update(b"a letter").unwrap();
    m.verify_postmark(&file, Some(&crl)).unwrap();
    let next = authority::keys::from_seed(6);
    let next_cert = authority.certify_next_key(&next).unwrap();
    let (serial, chip) = m.status().unwrap().identity().unwrap();
    let challenge = m.challenge().unwrap();
    let update = authority
        .key_update(&serial, &chip, &challenge, &next_cert)
        .unwrap();
    m.key_update(&update).unwrap();
    let h = m.into_transport();
    h.taken
        .into_iter()
        .filter(|c| matches!(kind(&c.cmd), "KEY UPDATE" | "VERIFY POSTMARK with list"))
        .collect()
}

// ---- a small TLV editor -------------------------------------------------

/// One BER-TLV object as bytes: its tag bytes and its value.
#[derive(Clone, Debug)]
pub struct Obj {
    pub tag: Vec<u8>,
    pub value: Vec<u8>,
}

impl Obj {
    pub fn constructed(&self) -> bool {
        self.tag[0] & 0x20 != 0
    }
    pub fn encode(&self) -> Vec<u8> {
        [
            self.tag.clone(),
            len_minimal(self.value.len()),
            self.value.clone(),
        ]
        .concat()
    }
    /// With its length in a longer form than needed (`81 xx` for a
    /// short length, `82 00 xx` for `81 xx`).
    pub fn encode_non_minimal(&self) -> Vec<u8> {
        let n = self.value.len();
        let len = if n < 0x80 {
            vec![0x81, n as u8]
        } else {
            vec![0x82, (n >> 8) as u8, n as u8]
        };
        let len = if n >= 0x100 {
            vec![0x83, 0, (n >> 8) as u8, n as u8]
        } else {
            len
        };
        [self.tag.clone(), len, self.value.clone()].concat()
    }
    /// Claiming `extra` more bytes than its value holds.
    pub fn encode_overlong(&self, extra: usize) -> Vec<u8> {
        [
            self.tag.clone(),
            len_minimal(self.value.len() + extra),
            self.value.clone(),
        ]
        .concat()
    }
}

pub fn len_minimal(n: usize) -> Vec<u8> {
    match n {
        0..=0x7F => vec![n as u8],
        0x80..=0xFF => vec![0x81, n as u8],
        _ => vec![0x82, (n >> 8) as u8, n as u8],
    }
}

/// The objects of `b`, or `None` when it is not a sequence of
/// well-formed objects.
pub fn parse(mut b: &[u8]) -> Option<Vec<Obj>> {
    let mut out = Vec::new();
    while !b.is_empty() {
        let mut i = 1;
        if b[0] & 0x1F == 0x1F {
            loop {
                let t = *b.get(i)?;
                i += 1;
                if t & 0x80 == 0 {
                    break;
                }
            }
        }
        let tag = b[..i].to_vec();
        let (len, l) = match *b.get(i)? {
            n @ 0..=0x7F => (usize::from(n), 1),
            0x81 => (usize::from(*b.get(i + 1)?), 2),
            0x82 => (
                (usize::from(*b.get(i + 1)?) << 8) | usize::from(*b.get(i + 2)?),
                3,
            ),
            _ => return None,
        };
        let start = i + l;
        let value = b.get(start..start + len)?.to_vec();
        out.push(Obj { tag, value });
        b = &b[start + len..];
    }
    Some(out)
}

pub fn encode_all(objs: &[Obj]) -> Vec<u8> {
    objs.iter().flat_map(Obj::encode).collect()
}

/// Every way of leaving one field out of `data`: a top-level object of
/// a flat request, a field of a top-level template, or a field of a
/// signed body (`7F4E`) inside one. Each with the path of the field.
pub fn without_each_field(data: &[u8]) -> Vec<(String, Vec<u8>)> {
    let Some(top) = parse(data) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let flat = top.iter().all(|o| !o.constructed());
    for (i, o) in top.iter().enumerate() {
        if flat || top.len() > 1 && !o.constructed() {
            let mut t = top.clone();
            t.remove(i);
            out.push((hex::encode_upper(&o.tag), encode_all(&t)));
        }
        if !o.constructed() {
            continue;
        }
        let Some(children) = parse(&o.value) else {
            continue;
        };
        for (j, c) in children.iter().enumerate() {
            let mut ch = children.clone();
            ch.remove(j);
            let mut t = top.clone();
            t[i].value = encode_all(&ch);
            out.push((
                format!(
                    "{}/{}",
                    hex::encode_upper(&o.tag),
                    hex::encode_upper(&c.tag)
                ),
                encode_all(&t),
            ));
            if c.tag == [0x7F, 0x4E] {
                let Some(fields) = parse(&c.value) else {
                    continue;
                };
                for (k, f) in fields.iter().enumerate() {
                    let mut fs = fields.clone();
                    fs.remove(k);
                    let mut ch = children.clone();
                    ch[j].value = encode_all(&fs);
                    let mut t = top.clone();
                    t[i].value = encode_all(&ch);
                    out.push((
                        format!(
                            "{}/7F4E/{}",
                            hex::encode_upper(&o.tag),
                            hex::encode_upper(&f.tag)
                        ),
                        encode_all(&t),
                    ));
                }
            }
        }
    }
    out
}
