//! Random APDUs against a personalized card that holds funds, with the PIN
//! verified and a message hashed, so that the charged commands (POSTMARK,
//! VERIFY POSTMARK, LOAD VALUE) get past their preconditions and reach
//! their funds checks, signature checks and debits.
//!
//! The APDUs mix raw noise, every instruction the meter knows (ISO and
//! proprietary) under classes 00, 80, 10, 90, 0C and FF with random
//! parameters, bodies and short or extended Le, genuine messages recorded
//! before the run (a value load for this card that is not applied yet, a
//! postmark file, the personalization message) with bytes flipped,
//! inserted, deleted, truncated or appended, sent whole or as command
//! chains, and the unmodified commands now and then so that real charges
//! happen: postmarks, on-card verifications, and once the register has run
//! dry (9401), the genuine value load, whose replays must then fail.
//!
//! After every APDU the test checks that the card answers (no panic, no
//! mute card) with a valid ISO 7816 status word; that an error left the
//! persistent object area byte for byte as it was; that ascending +
//! descending of the certificate register equals everything loaded, that
//! the ascending register and the piece count moved only by the fee of a
//! POSTMARK or VERIFY POSTMARK that succeeded; that the postage register
//! stays empty; that no value load other than the genuine one is ever
//! accepted, and that one only once; and that no changed postmark file
//! ever gets a "valid" verdict from VERIFY POSTMARK. At the end it checks
//! that the charged paths were reached: postmarks and verifications
//! charged (before and after the load), 9401 once the funds ran out, the
//! genuine load applied and its replays refused (6984), mutated loads
//! refused for their signature (6982) or their format (6A80), mutated
//! postmark files refused (6A80) or charged with a failing verdict, and the
//! parser's refusals (6700, 6A86, 6D00, 6E00, 6883, 6986, 6985, 61xx).
//!
//! PIN tries: a wrong PIN in VERIFY or CHANGE REFERENCE DATA (63Cx) rightly
//! decrements the persistent try counter. The generator does not leave
//! those out; after a 63Cx the test checks that only the try counter
//! changed, then VERIFYs the right PIN at once (9000) and checks that the
//! image is back to what it was before the wrong PIN.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

use apdu::meter::{AID, DataObject, RegisterId, Request, Service, ins};
use apdu::policy::Charge;
use apdu::{Command, StatusWord};
use applet_sim::layout::{LOAD_COUNT, PIN_TRIES, Register};
use applet_sim::sim::Card;
use authority::PersonalizationRequest;
use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};
use reader::Meter;
use reader::sim::MemoryTransport;

const TIME: u64 = 1_800_000_000;
const SERIAL: &str = "FUZZ-1";
/// Loaded at personalization into the certificate register.
const FUNDS: u64 = 40_000;
/// The genuine value load kept for the run.
const TOP_UP: u64 = 5_000;
/// The message the genuine postmark covers, and the one hashed before charges.
const LETTER: &[u8] = b"a letter worth a postmark";
/// Generated APDUs (the re-preparation and PIN restores come on top).
const APDUS: u32 = 40_000;
/// Re-SELECT, re-VERIFY and re-open the hash this often.
const PREPARE_EVERY: u32 = 50;

const CLASSES: [u8; 6] = [0x00, 0x80, 0x10, 0x90, 0x0C, 0xFF];

/// Where an APDU came from (for the per-origin status counts).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    /// SELECT, VERIFY, HASH before a stretch of random APDUs.
    Prepare,
    /// Random bytes.
    Noise,
    /// A known instruction with random class, parameters and body.
    Header,
    /// An unmodified command (not a load, not the postmark file).
    Valid,
    /// The genuine value load, unmodified (or the last part of its chain).
    ValidLoad,
    /// The genuine postmark file in VERIFY POSTMARK, unmodified.
    ValidFile,
    /// A mutated message sent as LOAD VALUE.
    MutatedLoad,
    /// A mutated message sent as VERIFY POSTMARK.
    MutatedFile,
    /// A mutated personalization message.
    MutatedPersonalization,
    /// VERIFY or CHANGE REFERENCE DATA with a wrong PIN.
    WrongPin,
    /// A part of a chain before its last command.
    ChainPart,
}

/// Genuine messages recorded before the run.
struct Genuine {
    personalization: Vec<u8>,
    load: Vec<u8>,
    postmark_file: Vec<u8>,
    postmark_fee: u64,
    /// The authority's rate table, as the card holds it.
    rates: Vec<(Service, u64)>,
}

/// A blank card personalized step by step (as `reader::personalize` does,
/// keeping the message), FUNDS loaded, one real postmark made, and the next
/// value load signed by the authority but not sent.
fn funded_card() -> (Card, Genuine) {
    let fixture = vectors::Funded {
        card: vectors::CardSpec {
            seed: 23,
            time: TIME,
            issuer_root: None,
            unattested: false,
        },
        authority: "CERTMETER-CA",
        authority_seed: 7,
        serial: SERIAL,
        funds: FUNDS,
    };
    let mut authority = fixture.authority().unwrap();
    let mut m = Meter::new(MemoryTransport::new(fixture.blank_card().unwrap(), true));
    vectors::fixture::open(&mut m).unwrap();
    let status = m.status().unwrap();
    let chip_id = hex::decode(&status.chip_id).unwrap().try_into().unwrap();
    let meter_public_key = m.generate_meter_key().unwrap().try_into().unwrap();
    let nonce = authority.attestation_nonce(&chip_id);
    let attestation = m.attest(&nonce).unwrap();
    let challenge = m.challenge().unwrap();
    let personalization = authority
        .personalize(&PersonalizationRequest {
            chip_id,
            challenge,
            meter_public_key,
            serial: SERIAL.into(),
            attestation,
        })
        .unwrap();
    m.personalize(&personalization).unwrap();
    reader::value::load(&mut m, &mut authority, RegisterId::Certificate, FUNDS).unwrap();
    let postmark_file = reader::postmark::postmark(&mut m, &mut &LETTER[..]).unwrap();
    // The postage register pays POSTAGE (postage indicia).
    reader::value::load(&mut m, &mut authority, RegisterId::Postage, POSTAGE_FUNDS).unwrap();
    let status = m.status().unwrap();
    let load = authority
        .value_load(
            SERIAL,
            RegisterId::Certificate,
            TOP_UP,
            status.load_count + 1,
        )
        .unwrap();
    let genuine = Genuine {
        personalization,
        load,
        postmark_file,
        postmark_fee: authority.rate(Service::Postmark).unwrap(),
        rates: authority.rates(),
    };
    let card = m.into_transport().into_card();
    (card, genuine)
}

/// The index of a register in `Checked`'s arrays.
fn slot(r: RegisterId) -> usize {
    match r {
        RegisterId::Postage => 0,
        RegisterId::Certificate => 1,
    }
}

/// Loaded into the postage register at setup.
const POSTAGE_FUNDS: u64 = 2_000;

/// A valid POSTAGE request for `postage` minor units.
fn postage_request(postage: u64) -> Vec<u8> {
    reader::postage::PostageOrder {
        postage,
        origin: "10001".into(),
        destination: "94105".into(),
        class: "FIRST-CLASS".into(),
        date: None,
    }
    .request()
    .unwrap()
}

fn hex(bytes: &[u8]) -> String {
    hex::encode_upper(bytes)
}

fn encode(r: Request<'_>) -> Vec<u8> {
    r.to_command().to_vec().unwrap()
}

fn below(rng: &mut ChaCha20Rng, n: u32) -> u32 {
    rng.next_u32() % n
}

fn bytes(rng: &mut ChaCha20Rng, n: usize) -> Vec<u8> {
    let mut v = vec![0; n];
    rng.fill_bytes(&mut v);
    v
}

fn pick<T: Copy>(rng: &mut ChaCha20Rng, from: &[T]) -> T {
    from[below(rng, from.len() as u32) as usize]
}

fn proprietary(ins: u8) -> bool {
    !matches!(
        ins,
        ins::SELECT
            | ins::GET_RESPONSE
            | ins::VERIFY
            | ins::CHANGE_REFERENCE_DATA
            | ins::GET_DATA
            | ins::GET_CHALLENGE
            | ins::GENERATE_KEY
    )
}

/// The random part of the traffic, and the genuine messages to mutate.
struct Generator {
    rng: ChaCha20Rng,
    genuine: Genuine,
}

type Burst = Vec<(Vec<u8>, Kind)>;

impl Generator {
    /// The next APDU, or a short sequence (hash, then a charge).
    /// `offer_load`: whether the genuine load may be sent now.
    fn next(&mut self, offer_load: bool) -> Burst {
        match below(&mut self.rng, 100) {
            0..15 => {
                let n = below(&mut self.rng, 300) as usize;
                vec![(bytes(&mut self.rng, n), Kind::Noise)]
            }
            15..50 => vec![(self.header(), Kind::Header)],
            50..75 => self.mutated(),
            _ => self.valid(offer_load),
        }
    }

    /// A known instruction with random class, P1/P2, body and Le.
    fn header(&mut self) -> Vec<u8> {
        let rng = &mut self.rng;
        let ins = pick(rng, &ins::ALL);
        let cla = if below(rng, 2) == 0 {
            if proprietary(ins) { 0x80 } else { 0x00 }
        } else {
            pick(rng, &CLASSES)
        };
        let any = below(rng, 256) as u8;
        let p1 = pick(rng, &[any, 0x00, 0x01, 0x04, 0x80, 0x81]);
        let any = below(rng, 256) as u8;
        let p2 = pick(rng, &[any, 0x00, 0x0C, 0x81, 0xE0]);
        if below(rng, 4) == 0 {
            // Raw: header and a few random bytes, often not a valid APDU.
            let mut v = vec![cla, ins, p1, p2];
            let n = below(rng, 12) as usize;
            v.extend(bytes(rng, n));
            return v;
        }
        let n = match below(rng, 4) {
            0 => 0,
            1 => 1 + below(rng, 20) as usize,
            2 => 4 + below(rng, 13) as usize,
            _ => below(rng, 600) as usize,
        };
        let data = bytes(rng, n);
        let le = pick(rng, &[None, Some(1), Some(16), Some(256), Some(65536)]);
        let mut c = Command::new(cla, ins, p1, p2, &data, le);
        c.extended |= below(rng, 2) == 0;
        c.to_vec().unwrap()
    }

    /// `data` in a proprietary command, whole (short or extended, with or
    /// without Le) or as a chain of 2 to 4 commands; the last gets `kind`.
    fn deliver(&mut self, ins: u8, data: &[u8], kind: Kind) -> Burst {
        let rng = &mut self.rng;
        let le = pick(rng, &[None, Some(256), Some(256), Some(65536)]);
        if data.len() < 4 || below(rng, 4) != 0 {
            let mut c = Command::new(0x80, ins, 0, 0, data, le);
            c.extended |= below(rng, 3) == 0;
            return vec![(c.to_vec().unwrap(), kind)];
        }
        let parts = 2 + below(rng, 3) as usize;
        let mut cuts: Vec<usize> = (1..parts)
            .map(|_| 1 + below(rng, data.len() as u32 - 1) as usize)
            .collect();
        cuts.push(0);
        cuts.push(data.len());
        cuts.sort_unstable();
        cuts.dedup();
        let last = cuts.len() - 2;
        cuts.windows(2)
            .enumerate()
            .map(|(i, w)| {
                let part = &data[w[0]..w[1]];
                if i == last {
                    (
                        Command::new(0x80, ins, 0, 0, part, le).to_vec().unwrap(),
                        kind,
                    )
                } else {
                    (
                        Command::new(0x90, ins, 0, 0, part, None).to_vec().unwrap(),
                        Kind::ChainPart,
                    )
                }
            })
            .collect()
    }

    /// The hash of LETTER opened again (so that VERIFY POSTMARK and
    /// POSTMARK reach their checks).
    fn hash_letter() -> Burst {
        vec![
            (encode(Request::HashInit), Kind::Valid),
            (encode(Request::HashUpdate { data: LETTER }), Kind::Valid),
        ]
    }

    /// One genuine message, changed, in its own command or another's.
    fn mutated(&mut self) -> Burst {
        let g = &self.genuine;
        let (base, ins, kind) = match below(&mut self.rng, 9) {
            0..3 => (g.load.clone(), ins::LOAD_VALUE, Kind::MutatedLoad),
            3..6 => (
                g.postmark_file.clone(),
                ins::VERIFY_POSTMARK,
                Kind::MutatedFile,
            ),
            6 => (
                g.personalization.clone(),
                ins::PERSONALIZE,
                Kind::MutatedPersonalization,
            ),
            // The wrong kind of message for the command.
            7 => (g.postmark_file.clone(), ins::LOAD_VALUE, Kind::MutatedLoad),
            _ => (g.load.clone(), ins::VERIFY_POSTMARK, Kind::MutatedFile),
        };
        let data = self.mutate(&base);
        let mut burst = if ins == ins::VERIFY_POSTMARK && below(&mut self.rng, 2) == 0 {
            Self::hash_letter()
        } else {
            Vec::new()
        };
        // The wrong-kind cases send the message unmodified half the time.
        let unchanged_wrong_kind = matches!((ins, kind), (ins::LOAD_VALUE, Kind::MutatedLoad))
            && base == self.genuine.postmark_file
            || matches!((ins, kind), (ins::VERIFY_POSTMARK, Kind::MutatedFile))
                && base == self.genuine.load;
        let data = if unchanged_wrong_kind && below(&mut self.rng, 2) == 0 {
            base
        } else {
            assert_ne!(data, base);
            data
        };
        burst.extend(self.deliver(ins, &data, kind));
        burst
    }

    /// `base` with bytes flipped, inserted, deleted, or cut or extended at the end.
    fn mutate(&mut self, base: &[u8]) -> Vec<u8> {
        let rng = &mut self.rng;
        let mut m = base.to_vec();
        let at = below(rng, m.len() as u32) as usize;
        match below(rng, 7) {
            0..3 => m[at] ^= 1 + below(rng, 255) as u8,
            3 => {
                for _ in 0..2 + below(rng, 3) {
                    let at = below(rng, m.len() as u32) as usize;
                    m[at] ^= 1 + below(rng, 255) as u8;
                }
                if m == base {
                    m[at] ^= 0x01;
                }
            }
            4 => m.truncate(at),
            5 => {
                let n = 1 + below(rng, 16) as usize;
                m.extend(bytes(rng, n));
            }
            _ => {
                if below(rng, 2) == 0 {
                    m.insert(at, below(rng, 256) as u8);
                } else {
                    m.remove(at);
                }
            }
        }
        m
    }

    /// VERIFY, or CHANGE REFERENCE DATA, with a PIN that is not the owner's
    /// (CHANGE REFERENCE DATA's new PIN may hold the forbidden FF).
    fn wrong_pin(&mut self) -> Vec<u8> {
        let rng = &mut self.rng;
        let mut pin = vectors::fixture::OWNER_PIN.to_vec();
        while pin
            .iter()
            .take_while(|&&b| b != 0xFF)
            .eq(vectors::fixture::OWNER_PIN)
        {
            let n = 4 + below(rng, 5) as usize;
            pin = bytes(rng, n);
        }
        if below(rng, 2) == 0 {
            return encode(Request::Verify { pin: Some(&pin) });
        }
        pin.resize(8, 0xFF);
        let n = 4 + below(rng, 5) as usize;
        pin.extend(bytes(rng, n));
        encode(Request::ChangePin { old_then_new: &pin })
    }

    /// Unmodified commands: reads, hashing, real charges, the genuine load.
    fn valid(&mut self, offer_load: bool) -> Burst {
        let one = |r: Request<'_>| vec![(encode(r), Kind::Valid)];
        match below(&mut self.rng, 18) {
            0 => one(Request::HashInit),
            1 => one(Request::HashUpdate { data: LETTER }),
            2 => one(Request::Postmark),
            3 => vec![(
                encode(Request::VerifyPostmark {
                    file: &self.genuine.postmark_file,
                    with_crl: false,
                }),
                Kind::ValidFile,
            )],
            4 => one(Request::ReadCertificate { slot: 0 }),
            5 => one(Request::ReadCertificate {
                slot: below(&mut self.rng, 6) as u8,
            }),
            6 => one(Request::GetData(DataObject::Status)),
            7 => one(Request::GetData(DataObject::RateTable)),
            8 => one(Request::GetData(DataObject::PublicKey)),
            9 => one(Request::GetChallenge),
            10 => one(Request::GenerateKey { generate: false }),
            11 => one(Request::Verify { pin: None }),
            12 | 13 => {
                let mut b = Self::hash_letter();
                b.extend(one(Request::Postmark));
                b
            }
            14 => {
                let mut b = Self::hash_letter();
                let file = self.genuine.postmark_file.clone();
                b.extend(self.deliver(ins::VERIFY_POSTMARK, &file, Kind::ValidFile));
                b
            }
            15 => {
                // A postmark fetched in parts: 61xx, then GET RESPONSE.
                let mut b = Self::hash_letter();
                let le = pick(&mut self.rng, &[1, 16, 100]);
                b.push((
                    Command::new(0x80, ins::POSTMARK, 0, 0, &[], Some(le))
                        .to_vec()
                        .unwrap(),
                    Kind::Valid,
                ));
                b.push((vec![0x00, ins::GET_RESPONSE, 0, 0, 0], Kind::Valid));
                b
            }
            16 => vec![(self.wrong_pin(), Kind::WrongPin)],
            17 if below(&mut self.rng, 2) == 0 => {
                // A postage indicium: the fee by the policy, the postage
                // from the postage register.
                let postage = 1 + u64::from(below(&mut self.rng, 120));
                one(Request::Postage {
                    request: &postage_request(postage),
                })
            }
            _ if offer_load => {
                let load = self.genuine.load.clone();
                self.deliver(ins::LOAD_VALUE, &load, Kind::ValidLoad)
            }
            _ => one(Request::GetData(DataObject::Status)),
        }
    }
}

/// The card, and what its registers must hold.
struct Checked {
    card: Card,
    /// Everything loaded into each register (postage, certificate).
    loaded: [u64; 2],
    /// What each ascending register must hold.
    charged: [u64; 2],
    /// What each piece count must hold.
    pieces: [u64; 2],
    /// The fee of each service (the rate table).
    rates: Vec<(Service, u64)>,
    load_applied: bool,
    /// APDUs sent, re-preparation and PIN restores included.
    sent: u32,
    seen: BTreeMap<u16, u32>,
    by_kind: BTreeMap<(Kind, u16), u32>,
    /// Proprietary commands answered 9000 or 61xx, by instruction.
    successes: BTreeMap<u8, u32>,
    /// VERIFY POSTMARK verdicts read in full (0 valid, else the reject code).
    verdicts: BTreeMap<u8, u32>,
    /// Postmarks charged after the genuine load.
    postmarks_after_load: u32,
    /// 63Cx answers followed by a PIN restore.
    pin_restores: u32,
}

impl Checked {
    fn register(&self, f: applet_sim::layout::Field) -> u64 {
        f.get(self.card.store()).unwrap()
    }

    fn transmit(&mut self, apdu: &[u8]) -> Vec<u8> {
        self.sent += 1;
        match catch_unwind(AssertUnwindSafe(|| self.card.transmit(apdu))) {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => panic!("no answer ({e}) to {}", hex(apdu)),
            Err(p) => {
                eprintln!("the card panicked on {}", hex(apdu));
                resume_unwind(p)
            }
        }
    }

    /// Sends one APDU and checks every invariant; returns its status word.
    fn send(&mut self, apdu: &[u8], kind: Kind) -> StatusWord {
        let before = self.card.store().data().to_vec();
        let load_count = self.register(LOAD_COUNT);
        let resp = self.transmit(apdu);
        let [.., sw1, sw2] = resp[..] else {
            panic!("answer without a status word to {}", hex(apdu));
        };
        let sw = StatusWord::new(sw1, sw2);
        assert!(sw.is_valid(), "invalid status word {sw} for {}", hex(apdu));
        *self.seen.entry(sw.0).or_default() += 1;
        *self.by_kind.entry((kind, sw.0)).or_default() += 1;
        let ok = sw.is_ok() || sw.remaining().is_some();
        if !ok {
            if sw.tries_left().is_some() {
                self.restore_pin(apdu, sw, &before);
            } else {
                let after = self.card.store().data();
                if let Some(at) = (0..before.len()).find(|&i| before[i] != after[i]) {
                    panic!(
                        "error {sw} changed the persistent image at offset {at} \
                         ({:02X} -> {:02X}) for {}",
                        before[at],
                        after[at],
                        hex(apdu)
                    );
                }
            }
        }
        // What the command was, as the card sees it: chained parts are not executed.
        let executed = Command::parse(apdu)
            .ok()
            .filter(|c| c.cla == 0x80)
            .map(|c| c.ins);
        if ok {
            // What a successful command charges comes from the declared
            // access policy (apdu::policy), not from a list kept here.
            let charge = Command::parse(apdu)
                .ok()
                .filter(|c| c.cla == 0x80)
                .and_then(|c| Request::parse(&c).ok().and_then(|r| r.policy().charge));
            if let Some(Charge { service, register }) = charge {
                let fee = self
                    .rates
                    .iter()
                    .find(|(s, _)| *s == service)
                    .map(|&(_, fee)| fee)
                    .unwrap_or_else(|| panic!("{service:?} charged without a rate"));
                self.charged[slot(register)] += fee;
                self.pieces[slot(register)] += 1;
            }
            match executed {
                Some(ins::POSTMARK) => {
                    self.postmarks_after_load += u32::from(self.load_applied);
                }
                Some(ins::POSTAGE) => {
                    // The postage itself, from the request, debited from
                    // the postage register with one piece (the fee is the
                    // policy's charge, counted above).
                    let request = Command::parse(apdu).unwrap().data.to_vec();
                    let req = apdu::cmd::postage::PostageRequest::parse(&request).unwrap();
                    let postage = slot(RegisterId::Postage);
                    self.charged[postage] += req.postage;
                    self.pieces[postage] += 1;
                }
                Some(ins::VERIFY_POSTMARK) => {
                    if let [0xE2, _, 0x80, 0x01, verdict, ..] = resp[..] {
                        *self.verdicts.entry(verdict).or_default() += 1;
                        // A changed postmark file never verifies.
                        assert!(
                            verdict != 0 || kind == Kind::ValidFile,
                            "a {kind:?} verified as valid: {}",
                            hex(apdu)
                        );
                    }
                }
                Some(ins::LOAD_VALUE) => {
                    assert!(
                        kind == Kind::ValidLoad && !self.load_applied,
                        "a value load was accepted ({sw}, kind {kind:?}, applied before: {}): {}",
                        self.load_applied,
                        hex(apdu)
                    );
                    self.load_applied = true;
                    self.loaded[slot(RegisterId::Certificate)] += TOP_UP;
                    assert_eq!(self.register(LOAD_COUNT), load_count + 1);
                }
                _ => {}
            }
            if let Some(i) = executed {
                *self.successes.entry(i).or_default() += 1;
            }
        }
        self.check_registers(apdu, sw);
        sw
    }

    /// After a 63Cx: only the try counter may have moved; the right PIN
    /// restores it (and the verified state).
    fn restore_pin(&mut self, apdu: &[u8], sw: StatusWord, before: &[u8]) {
        let tries = PIN_TRIES.at..PIN_TRIES.end();
        let after = self.card.store().data();
        for (i, (a, b)) in before.iter().zip(after).enumerate() {
            assert!(
                a == b || tries.contains(&i),
                "{sw} changed offset {i} ({a:02X} -> {b:02X}), not the PIN tries, for {}",
                hex(apdu)
            );
        }
        let verify = encode(Request::Verify {
            pin: Some(vectors::fixture::OWNER_PIN),
        });
        let r = self.transmit(&verify);
        assert_eq!(r, [0x90, 0x00], "PIN restore after {}", hex(apdu));
        assert!(
            self.card.store().data() == before,
            "the right PIN did not restore the image after {}",
            hex(apdu)
        );
        self.pin_restores += 1;
    }

    fn check_registers(&self, apdu: &[u8], sw: StatusWord) {
        let ctx = || format!("after {sw} to {}", hex(apdu));
        for (id, r) in [
            (RegisterId::Postage, Register::Postage),
            (RegisterId::Certificate, Register::Certificate),
        ] {
            let i = slot(id);
            let (asc, desc) = (self.register(r.ascending()), self.register(r.descending()));
            assert_eq!(asc + desc, self.loaded[i], "{id:?} control total {}", ctx());
            assert_eq!(asc, self.charged[i], "{id:?} ascending register {}", ctx());
            assert_eq!(
                self.register(r.pieces()),
                self.pieces[i],
                "{id:?} pieces {}",
                ctx()
            );
        }
    }

    /// SELECT, VERIFY the PIN, open the hash of LETTER.
    fn prepare(&mut self) {
        for r in [
            Request::Select { aid: AID },
            Request::Verify {
                pin: Some(vectors::fixture::OWNER_PIN),
            },
            Request::HashInit,
            Request::HashUpdate { data: LETTER },
        ] {
            let sw = self.send(&encode(r), Kind::Prepare);
            assert!(sw.is_ok(), "{r:?}: {sw}");
        }
    }
}

#[test]
fn random_apdus_against_a_funded_card() {
    let started = std::time::Instant::now();
    let (card, genuine) = funded_card();
    let mut checked = Checked {
        card,
        loaded: [POSTAGE_FUNDS, FUNDS],
        charged: [0, 0],
        pieces: [0, 0],
        rates: genuine.rates.clone(),
        load_applied: false,
        sent: 0,
        seen: BTreeMap::new(),
        by_kind: BTreeMap::new(),
        successes: BTreeMap::new(),
        verdicts: BTreeMap::new(),
        postmarks_after_load: 0,
        pin_restores: 0,
    };
    // The setup's postmark is the only charge so far.
    let c = Register::Certificate;
    let cert = slot(RegisterId::Certificate);
    checked.charged[cert] = checked.register(c.ascending());
    checked.pieces[cert] = checked.register(c.pieces());
    assert_eq!(
        (checked.charged[cert], checked.pieces[cert]),
        (genuine.postmark_fee, 1)
    );
    checked.check_registers(&[], StatusWord::OK);

    let postmark_fee = genuine.postmark_fee;
    let mut generator = Generator {
        rng: ChaCha20Rng::seed_from_u64(0xF00D_5EED),
        genuine,
    };
    let mut generated = 0;
    let mut next_prepare = 0;
    while generated < APDUS {
        if generated >= next_prepare {
            checked.prepare();
            next_prepare = generated + PREPARE_EVERY;
        }
        let desc = checked.register(c.descending());
        let offer_load = checked.load_applied || desc < postmark_fee;
        for (apdu, kind) in generator.next(offer_load) {
            checked.send(&apdu, kind);
            generated += 1;
        }
    }

    let elapsed = started.elapsed();
    eprintln!(
        "{generated} random APDUs, {} in all, in {elapsed:.1?}",
        checked.sent
    );
    let counts = |m: &BTreeMap<u16, u32>| {
        m.iter()
            .map(|(sw, n)| format!("{sw:04X}: {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    eprintln!("status words: {}", counts(&checked.seen));
    let by_ins = checked
        .successes
        .iter()
        .map(|(&i, &n)| (u16::from(i), n))
        .collect();
    eprintln!(
        "proprietary commands answered 9000/61xx, by INS: {}",
        counts(&by_ins)
    );
    eprintln!("VERIFY POSTMARK verdicts: {:?}", checked.verdicts);
    eprintln!(
        "PIN restores: {}, postmarks after the load: {}, registers: ascending {} descending {}",
        checked.pin_restores,
        checked.postmarks_after_load,
        checked.register(c.ascending()),
        checked.register(c.descending())
    );
    for ((kind, sw), n) in &checked.by_kind {
        eprintln!("  {kind:?} {sw:04X}: {n}");
    }

    // The charged paths were reached and real charges happened.
    let seen = |sw: StatusWord| checked.seen.contains_key(&sw.0);
    let by = |kind, sw: StatusWord| checked.by_kind.contains_key(&(kind, sw.0));
    assert!(
        checked
            .successes
            .get(&ins::POSTMARK)
            .is_some_and(|&n| n > 0)
    );
    assert!(
        checked
            .successes
            .get(&ins::VERIFY_POSTMARK)
            .is_some_and(|&n| n > 0)
    );
    assert!(
        checked.verdicts.get(&0).is_some_and(|&n| n > 0),
        "no genuine verdict"
    );
    assert!(
        checked.verdicts.keys().any(|&v| v != 0),
        "no mutated file reached the signature checks"
    );
    assert!(
        seen(StatusWord::INSUFFICIENT_FUNDS),
        "the register never ran dry"
    );
    assert!(checked.load_applied, "the genuine load was never applied");
    assert!(checked.postmarks_after_load > 0);
    assert!(
        by(Kind::ValidLoad, StatusWord::REFERENCE_DATA_NOT_USABLE),
        "no replay refused"
    );
    assert!(by(
        Kind::MutatedLoad,
        StatusWord::SECURITY_STATUS_NOT_SATISFIED
    ));
    assert!(by(Kind::MutatedLoad, StatusWord::INCORRECT_DATA));
    assert!(by(Kind::MutatedFile, StatusWord::INCORRECT_DATA));
    assert!(by(Kind::MutatedFile, StatusWord::OK));
    assert!(by(
        Kind::MutatedPersonalization,
        StatusWord::CONDITIONS_NOT_SATISFIED
    ));
    assert!(checked.pin_restores > 0);
    assert!(by(Kind::WrongPin, StatusWord::verify_failed(2)));
    for sw in [
        StatusWord::OK,
        StatusWord::WRONG_LENGTH,
        StatusWord::INCORRECT_P1P2,
        StatusWord::INS_NOT_SUPPORTED,
        StatusWord::CLA_NOT_SUPPORTED,
        StatusWord::COMMAND_NOT_ALLOWED,
        StatusWord::CONDITIONS_NOT_SATISFIED,
        StatusWord::LAST_COMMAND_EXPECTED,
    ] {
        assert!(seen(sw), "no {sw} in {:04X?}", checked.seen);
    }
    assert!(
        checked.seen.keys().any(|&sw| sw >> 8 == 0x61),
        "no 61xx in {:04X?}",
        checked.seen
    );
}
