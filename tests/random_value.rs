//! [value] stateful random test: random sequences of host flows on a
//! personalized card and its authority: recharges (into either register),
//! plain loads, postmarks and on-card verifications charged at the card's
//! own rates, postage indicia (the postage from the postage register, the
//! Indicium fee from the certificate register), payments from a line of
//! credit (Figure 9, the Payment fee charged), audits, syncs, rate-table
//! changes (taken at the next contact), replayed value messages, value
//! messages answering an abandoned request, and power cuts at a random
//! write of a recharge's LOAD VALUE.
//!
//! After every step, for every register: ascending + descending on the
//! card = the sum of the loads the card accepted (the model, kept from the
//! receipts and, after a power cut, from the card's load count) = the sum
//! the authority recorded for the loads the card counts; after every
//! contact that reports the card's state (recharge, audit) the authority
//! has confirmed exactly those loads. A refused message changes nothing,
//! an honest card is never flagged, and every charge is the fee of the
//! card's rate table at that moment. The payments authorized never exceed
//! the line, and the card's credit remaining is the line less them.

use apdu::StatusWord;
use apdu::meter::{RegisterId, Request, Service};
use applet_sim::layout::{LOAD_COUNT, Register};
use authority::Authority;
use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};
use reader::Meter;
use reader::sim::MemoryTransport;

const TIME: u64 = 1_800_000_000;
const SERIAL: &str = "RND-V";
const STEPS: u32 = 150;
const SEEDS: u64 = 6;
const REGISTERS: [RegisterId; 2] = [RegisterId::Postage, RegisterId::Certificate];

type M = Meter<MemoryTransport>;

struct Run {
    m: M,
    authority: Authority,
    rng: ChaCha20Rng,
    /// Loads the card accepted, per register (postage, certificate).
    loaded: [u64; 2],
    /// Value messages already applied or abandoned (for replays).
    old_messages: Vec<Vec<u8>>,
    /// A recharge request was abandoned: the authority holds a pending load
    /// bound to a challenge the card no longer has.
    abandoned: bool,
    /// The line of credit (Figure 8) and the payments authorized from it.
    line: u64,
    authorized: u64,
    counts: std::collections::BTreeMap<&'static str, u32>,
}

fn idx(r: RegisterId) -> usize {
    match r {
        RegisterId::Postage => 0,
        RegisterId::Certificate => 1,
    }
}

impl Run {
    fn new(seed: u64) -> Self {
        let fixture = vectors::Funded {
            card: vectors::CardSpec {
                seed: 40 + seed,
                time: TIME,
                issuer_root: None,
                unattested: false,
            },
            authority: "CERTMETER-CA",
            authority_seed: 9,
            serial: SERIAL,
            funds: 2_000,
        };
        let (mut m, mut authority) = fixture.meter().unwrap();
        // Figure 8: a line of credit, its request postmarked (charged).
        const LINE: u64 = 20_000;
        m.verify_pin(vectors::fixture::OWNER_PIN).unwrap();
        let line = reader::credit::request(&mut m, &mut authority, LINE).unwrap();
        assert_eq!((line.line, line.remaining), (LINE, LINE));
        Run {
            m,
            authority,
            rng: ChaCha20Rng::seed_from_u64(seed),
            loaded: [0, 2_000],
            old_messages: Vec::new(),
            abandoned: false,
            line: LINE,
            authorized: 0,
            counts: Default::default(),
        }
    }

    fn below(&mut self, n: u32) -> u32 {
        self.rng.next_u32() % n
    }

    fn image(&mut self) -> Vec<u8> {
        self.m.transport().card().store().image().to_vec()
    }

    fn field(&mut self, f: applet_sim::layout::Field) -> u64 {
        f.get(self.m.transport().card().store()).unwrap()
    }

    fn control_total(&mut self, r: RegisterId) -> u64 {
        let r = Register::from(r);
        self.field(r.ascending()) + self.field(r.descending())
    }

    fn count(&mut self, what: &'static str) {
        *self.counts.entry(what).or_default() += 1;
    }

    /// The invariant: card = model = authority, for every register.
    fn check(&mut self, step: &str) {
        let load_count = self.field(LOAD_COUNT);
        let loads = self.authority.loads(SERIAL).unwrap();
        for r in REGISTERS {
            let card = self.control_total(r);
            let recorded: u64 = loads
                .iter()
                .filter(|l| l.register == r && u64::from(l.number) <= load_count)
                .map(|l| l.amount)
                .sum();
            assert_eq!(card, self.loaded[idx(r)], "{step}: card vs model, {r:?}");
            assert_eq!(recorded, card, "{step}: authority vs card, {r:?}");
        }
    }

    /// After a contact that reported the card's state: every load it
    /// counts is confirmed, and the confirmed totals are the card's.
    fn check_confirmed(&mut self, step: &str) {
        for r in REGISTERS {
            let confirmed = self.authority.total_loaded(SERIAL, r).unwrap();
            assert_eq!(confirmed, self.loaded[idx(r)], "{step}: confirmed, {r:?}");
        }
    }

    fn register(&mut self) -> RegisterId {
        REGISTERS[self.below(2) as usize]
    }

    fn amount(&mut self) -> u64 {
        1 + u64::from(self.below(3_000))
    }

    fn step(&mut self, i: u32) {
        match self.below(100) {
            0..22 => self.recharge(),
            22..30 => self.plain_load(),
            30..44 => self.charge(),
            44..51 => self.postage(),
            51..58 => self.pay(),
            58..65 => self.audit(),
            65..70 => {
                reader::sync::sync(&mut self.m, &mut self.authority).unwrap();
                self.count("sync");
            }
            70..77 => {
                let s = [Service::Postmark, Service::Verify][self.below(2) as usize];
                let fee = 1 + u64::from(self.below(60));
                self.authority.set_rate(s, fee).unwrap();
                self.count("rate change");
            }
            77..85 => self.replay(),
            85..92 => self.abandon(),
            _ => self.torn_recharge(),
        }
        self.check(&format!("step {i}"));
    }

    fn recharge(&mut self) {
        let (r, amount) = (self.register(), self.amount());
        let done = reader::recharge::recharge(&mut self.m, &mut self.authority, r, amount).unwrap();
        assert_eq!(done.control_after, done.control_before + amount);
        self.loaded[idx(r)] += amount;
        self.abandoned = false;
        self.count("recharge");
        self.check_confirmed("recharge");
    }

    fn plain_load(&mut self) {
        let (r, amount) = (self.register(), self.amount());
        let before = self.image();
        match reader::value::load(&mut self.m, &mut self.authority, r, amount) {
            Ok(_) => {
                self.loaded[idx(r)] += amount;
                self.count("load");
            }
            // The next number is pending for an abandoned recharge: the
            // authority issues nothing else under it; the card is untouched.
            Err(reader::Error::Authority(authority::ServiceError::InvalidRequest(_)))
                if self.abandoned =>
            {
                assert_eq!(self.image(), before);
                self.count("load refused (pending recharge)");
            }
            Err(e) => panic!("load: {e}"),
        }
    }

    /// A postmark or an on-card verification, charged at the card's rate.
    fn charge(&mut self) {
        let (_, rates) = self.m.rate_table().unwrap();
        let verify = self.below(3) == 0;
        let service = if verify {
            Service::Verify
        } else {
            Service::Postmark
        };
        let fee = rates.iter().find(|(s, _)| *s == service).unwrap().1;
        let asc = self.field(Register::Certificate.ascending());
        self.m.verify_pin(vectors::fixture::OWNER_PIN).unwrap();
        let letter = b"a random letter";
        let result = if verify {
            let file = reader::postmark::postmark(&mut self.m, &mut &letter[..]);
            let asc = self.field(Register::Certificate.ascending());
            match file {
                Ok(file) => {
                    let postmark_fee = rates
                        .iter()
                        .find(|(s, _)| *s == Service::Postmark)
                        .unwrap()
                        .1;
                    assert!(asc >= postmark_fee);
                    reader::postmark::verify_on_card(&mut self.m, &mut &letter[..], &file, None)
                        .map(|_| postmark_fee)
                }
                Err(e) => Err(e),
            }
        } else {
            reader::postmark::postmark(&mut self.m, &mut &letter[..]).map(|_| 0)
        };
        match result {
            Ok(extra) => {
                let now = self.field(Register::Certificate.ascending());
                assert_eq!(now, asc + fee + extra, "charged at the card's rates");
                self.count(if verify { "verify" } else { "postmark" });
            }
            Err(reader::Error::Card {
                sw: StatusWord::INSUFFICIENT_FUNDS | StatusWord::LOCKED_BY_DEBITS,
            }) => {
                // Nothing charged (or, verifying, only the postmark made
                // before the refused verification).
                let now = self.field(Register::Certificate.ascending());
                let postmark_fee = rates
                    .iter()
                    .find(|(s, _)| *s == Service::Postmark)
                    .unwrap()
                    .1;
                assert!(now == asc || verify && now == asc + postmark_fee);
                self.count("charge refused");
            }
            Err(e) => panic!("charge: {e}"),
        }
    }

    /// A postage indicium: the postage from the postage register, the
    /// Indicium fee (the card's rate) from the certificate register; or,
    /// short of either, refused with nothing written.
    fn postage(&mut self) {
        let (_, rates) = self.m.rate_table().unwrap();
        let fee = rates
            .iter()
            .find(|(s, _)| *s == Service::Indicium)
            .unwrap()
            .1;
        let postage = 1 + u64::from(self.below(400));
        let (pa, ca) = (
            self.field(Register::Postage.ascending()),
            self.field(Register::Certificate.ascending()),
        );
        self.m.verify_pin(vectors::fixture::OWNER_PIN).unwrap();
        let before = self.image();
        let order = reader::postage::PostageOrder {
            postage,
            origin: "10001".into(),
            destination: "94105".into(),
            class: "FIRST".into(),
            date: None,
        };
        match reader::postage::postage(&mut self.m, &order) {
            Ok(_) => {
                assert_eq!(self.field(Register::Postage.ascending()), pa + postage);
                assert_eq!(self.field(Register::Certificate.ascending()), ca + fee);
                self.count("postage");
            }
            Err(reader::Error::Card {
                sw: StatusWord::INSUFFICIENT_FUNDS | StatusWord::LOCKED_BY_DEBITS,
            }) => {
                assert_eq!(self.image(), before, "a refused indicium wrote");
                self.count("postage refused");
            }
            Err(e) => panic!("postage: {e}"),
        }
    }

    /// Figure 9: a payment from the line (904/908/910), or refused (906,
    /// or short of the fee) with nothing written; the card's remaining is
    /// the line less what was authorized, which never exceeds the line.
    fn pay(&mut self) {
        let (_, rates) = self.m.rate_table().unwrap();
        let fee = rates
            .iter()
            .find(|(s, _)| *s == Service::Payment)
            .unwrap()
            .1;
        let amount = 1 + u64::from(self.below(4_000));
        let ca = self.field(Register::Certificate.ascending());
        self.m.verify_pin(vectors::fixture::OWNER_PIN).unwrap();
        let before = self.image();
        match reader::pay::pay(&mut self.m, amount, "SHOP-R") {
            Ok(_) => {
                self.authorized += amount;
                assert!(self.authorized <= self.line, "authorized beyond the line");
                assert_eq!(self.field(Register::Certificate.ascending()), ca + fee);
                self.count("pay");
            }
            Err(reader::Error::Card {
                sw:
                    StatusWord::CREDIT_EXHAUSTED
                    | StatusWord::INSUFFICIENT_FUNDS
                    | StatusWord::LOCKED_BY_DEBITS,
            }) => {
                assert_eq!(self.image(), before, "a refused payment wrote");
                self.count("pay refused");
            }
            Err(e) => panic!("pay: {e}"),
        }
        let line = reader::credit::show(&mut self.m).unwrap().unwrap();
        assert_eq!(line.remaining, self.line - self.authorized);
    }

    fn audit(&mut self) {
        let a = reader::audit::audit(&mut self.m, &mut self.authority).unwrap();
        assert_eq!(a.inspection.flag, None, "an honest card is flagged");
        assert!(a.contact);
        self.count("audit");
        self.check_confirmed("audit");
    }

    /// An applied or abandoned value message sent again: refused, nothing
    /// changed.
    fn replay(&mut self) {
        if self.old_messages.is_empty() {
            return;
        }
        let i = self.below(self.old_messages.len() as u32) as usize;
        let message = self.old_messages[i].clone();
        if self.below(2) == 0 {
            self.m.challenge().unwrap();
        }
        let before = self.image();
        let e = self.m.load_value(&message).unwrap_err();
        assert_eq!(
            e,
            reader::Error::Card {
                sw: StatusWord::REFERENCE_DATA_NOT_USABLE
            }
        );
        assert_eq!(self.image(), before, "a replay changed the card");
        self.count("replay refused");
    }

    /// A recharge request whose value message comes after the card made a
    /// new challenge: refused; the message is kept for replays.
    fn abandon(&mut self) {
        let (r, amount) = (self.register(), self.amount());
        self.m.challenge().unwrap();
        let request = self.m.recharge_request(r, amount).unwrap();
        let message = self.authority.recharge(&request).unwrap();
        self.m.challenge().unwrap();
        let before = self.image();
        let e = self.m.load_value(&message).unwrap_err();
        assert_eq!(
            e,
            reader::Error::Card {
                sw: StatusWord::REFERENCE_DATA_NOT_USABLE
            }
        );
        assert_eq!(self.image(), before);
        self.old_messages.push(message);
        self.abandoned = true;
        self.count("abandoned request");
        self.check_confirmed("abandon (its request reconciled)");
    }

    /// A recharge whose LOAD VALUE loses power at a random write (among
    /// its first 8; it makes more): nothing applied (the card's load count
    /// says so); or, the other half of the time, applied but its receipt
    /// lost on the way: the authority learns it at the next report.
    fn torn_recharge(&mut self) {
        let (r, amount) = (self.register(), self.amount());
        self.m.challenge().unwrap();
        let request = self.m.recharge_request(r, amount).unwrap();
        let message = self.authority.recharge(&request).unwrap();
        let count = self.field(LOAD_COUNT);
        if self.below(2) == 0 {
            self.m.load_value(&message).unwrap();
            assert_eq!(self.field(LOAD_COUNT), count + 1);
            self.loaded[idx(r)] += amount;
            self.abandoned = false;
            self.count("receipt lost");
        } else {
            let n = 1 + u64::from(self.below(8));
            let command = Request::LoadValue { message: &message }
                .to_command()
                .to_vec()
                .unwrap();
            let card = self.m.transport().card_mut();
            card.tear_at_write(n);
            assert!(card.transmit(&command).is_err(), "the card answered");
            card.power_on();
            assert_eq!(self.field(LOAD_COUNT), count, "a torn load was applied");
            self.abandoned = true;
            self.count("torn recharge");
            self.m.select().unwrap();
        }
        self.old_messages.push(message);
    }
}

#[test]
fn over_any_sequence_card_model_and_authority_agree_on_every_register() {
    let mut totals = std::collections::BTreeMap::new();
    for seed in 0..SEEDS {
        let mut run = Run::new(seed);
        run.check("start");
        for i in 0..STEPS {
            run.step(i);
        }
        // A last audit: the authority confirms everything the card holds.
        run.audit();
        for (k, v) in run.counts {
            *totals.entry(k).or_insert(0) += v;
        }
    }
    // The paths were reached.
    for what in [
        "recharge",
        "load",
        "postmark",
        "verify",
        "audit",
        "sync",
        "rate change",
        "replay refused",
        "abandoned request",
        "torn recharge",
        "receipt lost",
        "postage",
        "pay",
        "pay refused",
    ] {
        assert!(
            totals.get(what).copied().unwrap_or(0) > 0,
            "never: {what} ({totals:?})"
        );
    }
    eprintln!("paths reached over {SEEDS} seeds x {STEPS} steps: {totals:?}");
}
