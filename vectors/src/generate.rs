//! The flows, run for real and recorded: a deterministic authority and a
//! deterministic card, driven by the PC-side functions of `reader`.

use apdu::crypto::Invalid;
use apdu::meter::{DEFAULT_PIN, DataObject, RegisterId, Request, ins, tag};
use apdu::{StatusWord, tlv};
use applet_sim::sim::SimError;
use authority::{Authority, AuthorityError};
use reader::meter::CardVerdict;
use reader::postmark::{self, VerifyError};
use reader::{Meter, check, exchange};

use crate::record::Recorder;
use crate::sim::SimCard;
use crate::{CardSpec, Vector};

/// The card of every vector: seed 7, clock fixed at 2026-05-28T20:26:40Z.
pub const CARD: CardSpec = CardSpec {
    seed: 7,
    time: 1_780_000_000,
};
/// The authority's name.
pub const AUTHORITY: &str = "CERTMETER-CA";
/// The seed of the authority's key.
pub const AUTHORITY_SEED: u64 = 1;
/// The seed of the other authority's key ("other authority" vector).
pub const OTHER_AUTHORITY_SEED: u64 = 2;
/// The meter serial the authority assigns.
pub const SERIAL: &str = "PB-000001";
/// The message postmarked and verified.
pub const MESSAGE: &[u8] = b"Invoice 2026-117: 3 crates of apples, due 2026-12-24.";

/// Fees of the authority's default rate table, minor units.
const POSTMARK_FEE: u64 = 25;
const VERIFY_FEE: u64 = 10;
const DAY: u64 = 24 * 3600;

/// Why the vectors could not be generated: a flow failed or the card did
/// not behave as the vector says.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    /// The simulated card could not be made.
    #[error("simulated card: {0}")]
    Sim(#[from] SimError),
    /// A PC-side flow failed.
    #[error("{0}")]
    Reader(#[from] reader::Error),
    /// The authority refused or failed.
    #[error("authority: {0}")]
    Authority(#[from] AuthorityError),
    /// The card answered, but not as the vector claims.
    #[error("vector {vector}: {what}")]
    Unexpected {
        /// The vector being generated.
        vector: &'static str,
        /// What differed.
        what: String,
    },
}

type Result<T, E = GenerateError> = std::result::Result<T, E>;

/// Every vector, generated afresh. Byte-identical run to run.
///
/// # Panics
///
/// When a flow fails or the card does not behave as a vector says (see
/// [`try_generate`]).
pub fn generate() -> Vec<Vector> {
    try_generate().unwrap_or_else(|e| panic!("generating the test vectors: {e}"))
}

/// Every vector, generated afresh; an error when a flow fails or the card
/// does not behave as a vector says.
pub fn try_generate() -> Result<Vec<Vector>> {
    Ok(vec![
        personalization()?,
        postmark_funded()?,
        postmark_insufficient_funds()?,
        postmark_meter_locked()?,
        verify_valid()?,
        verify_tampered()?,
        verify_other_authority()?,
        verify_insufficient_funds()?,
    ])
}

fn authority() -> Result<Authority> {
    Ok(Authority::deterministic(
        AUTHORITY,
        AUTHORITY_SEED,
        CARD.time,
    )?)
}

/// Minor units as `1.00`, for descriptions.
fn money(minor: u64) -> String {
    format!("{}.{:02}", minor / 100, minor % 100)
}

/// What the status template says about the certificate register (which
/// pays for postmarks and validations).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Funds {
    ascending: u64,
    descending: u64,
    pieces: u64,
}

fn funds(status: &[u8]) -> Option<Funds> {
    let template = tlv::find(status, tag::STATUS)?;
    let register = tlv::find(template, tag::CERTIFICATE_REGISTER)?;
    Some(Funds {
        ascending: tlv::as_u64(tlv::find(register, tag::ASCENDING)?)?,
        descending: tlv::as_u64(tlv::find(register, tag::DESCENDING)?)?,
        pieces: tlv::as_u64(tlv::find(template, tag::CERTIFICATE_PIECES)?)?,
    })
}

/// One vector being recorded: a fresh card behind a recorder, driven
/// through the typed meter API.
struct Session {
    name: &'static str,
    card: CardSpec,
    meter: Meter<Recorder<SimCard>>,
}

impl Session {
    fn new(name: &'static str, card: CardSpec) -> Result<Self> {
        Ok(Session {
            name,
            card,
            meter: Meter::new(Recorder::new(crate::sim::fresh(&card)?)),
        })
    }

    fn ensure(&self, ok: bool, what: impl FnOnce() -> String) -> Result<()> {
        if ok {
            Ok(())
        } else {
            Err(GenerateError::Unexpected {
                vector: self.name,
                what: what(),
            })
        }
    }

    fn phase(&mut self, default: &str, labels: &[(u8, &str)]) {
        self.meter.transport().phase(default, labels);
    }

    /// SELECT and VERIFY the default PIN.
    fn open(&mut self) -> Result<()> {
        self.phase(
            "Figure 2, ports 216/234: the PC selects the meter application",
            &[],
        );
        self.meter.select()?;
        self.phase(
            "Figure 2, meter 218: the owner PIN unlocks the meter's services",
            &[],
        );
        self.meter.verify_pin(DEFAULT_PIN)?;
        Ok(())
    }

    /// `reader::personalize::personalize`: key generation, the authority's
    /// message, and a first load of `funds` into the certificate register.
    fn personalize(&mut self, authority: &mut Authority, serial: &str, funds: u64) -> Result<()> {
        self.phase(
            "Figure 2: personalization by the authority (remote facility 222)",
            &[
                (
                    ins::GET_DATA,
                    "Figure 2, 238/244/250: the PC reads the card's status (chip id for the authority, load count for the load)",
                ),
                (
                    ins::GENERATE_KEY,
                    "Figure 2, 235/246: the card generates its meter key pair; only the public key leaves the card",
                ),
                (
                    ins::GET_CHALLENGE,
                    "Figure 2, 222: a fresh card challenge, so that the authority's message is usable once",
                ),
                (
                    ins::PERSONALIZE,
                    "Figures 1 and 2: the authority's signed message installs the serial (238), the authority key, the rate table (257), the time (232), the service deadline and the meter certificate (Figure 1, in 252)",
                ),
                (
                    ins::READ_CERTIFICATE,
                    "Figure 2, 252/254: the PC lists the certificates on the card (slot 0 holds the meter certificate, the others are empty)",
                ),
                (
                    ins::LOAD_VALUE,
                    "Figure 2, 250: the authority's signed value load credits the certificate register; the card answers a receipt signed with the meter key",
                ),
            ],
        );
        reader::personalize::personalize(&mut self.meter, authority, serial, funds)?;
        Ok(())
    }

    /// GET DATA status alone (without the certificate reads of
    /// `Meter::status`); returns the template.
    fn status(&mut self, label: &str) -> Result<Vec<u8>> {
        self.phase(label, &[]);
        let cmd = Request::GetData(DataObject::Status).to_command();
        Ok(check(exchange(self.meter.transport(), &cmd)?)?)
    }

    /// The certificate register from a fresh GET DATA status.
    fn funds(&mut self, label: &str) -> Result<(Funds, Vec<u8>)> {
        let status = self.status(label)?;
        match funds(&status) {
            Some(f) => Ok((f, status)),
            None => Err(GenerateError::Unexpected {
                vector: self.name,
                what: "the status template has no certificate register".into(),
            }),
        }
    }

    /// Figure 3 through `reader::postmark::postmark`, with `postmark_label`
    /// for the POSTMARK command (funded or refused).
    fn postmark(&mut self, postmark_label: &str) -> Result<Vec<u8>, reader::Error> {
        self.phase(
            "Figure 3",
            &[
                (
                    ins::HASH,
                    "Figure 3, steps 302/304: the PC streams the message; the card computes its digest itself (hash 230)",
                ),
                (ins::POSTMARK, postmark_label),
                (
                    ins::READ_CERTIFICATE,
                    "Figure 3, step 316: the meter certificate goes out with the postmark (the postmark file)",
                ),
            ],
        );
        postmark::postmark(&mut self.meter, &mut &MESSAGE[..])
    }

    fn postmark_funded(&mut self) -> Result<Vec<u8>> {
        Ok(self.postmark(
            "Figure 3, steps 306/308/312/314: content assembled (digest, secure-clock time, serial), funds suffice, fee deducted, postmark signed with the meter key",
        )?)
    }

    /// Figure 4 on the card through `reader::postmark::verify_on_card`.
    fn verify(
        &mut self,
        message: &[u8],
        file: &[u8],
        verdict_label: &str,
    ) -> Result<CardVerdict, reader::Error> {
        self.phase(
            "Figure 4",
            &[
                (
                    ins::HASH,
                    "Figure 4, steps 402/414: validation requested; the card computes the digest of the message in hand",
                ),
                (ins::VERIFY_POSTMARK, verdict_label),
            ],
        );
        postmark::verify_on_card(&mut self.meter, &mut &message[..], file).map(|(v, _)| v)
    }

    /// The funds decision rejecting a charged command: the status before
    /// shows `left`, `attempt` is refused with 9401, and the status after
    /// answers the same bytes as before.
    fn refused_for_funds<T: std::fmt::Debug>(
        &mut self,
        left: u64,
        before_label: &str,
        what: &str,
        attempt: impl FnOnce(&mut Self) -> Result<T, reader::Error>,
    ) -> Result<()> {
        let (before, before_bytes) = self.funds(before_label)?;
        self.ensure(before.descending == left, || format!("{before:?}"))?;
        let refused = attempt(self);
        self.ensure(
            matches!(refused, Err(reader::Error::Card { sw }) if sw == StatusWord::INSUFFICIENT_FUNDS),
            || format!("a {what} with {} left: {refused:?}", money(left)),
        )?;
        let (_, after_bytes) = self.funds(
            "Figure 2, 248/250: registers, piece counts and sequence after the refusal: unchanged (the same status as before)",
        )?;
        self.ensure(after_bytes == before_bytes, || {
            format!("the refused {what} changed the status")
        })
    }

    fn finish(mut self, figure: &str, description: String) -> Vector {
        Vector {
            name: self.name.to_owned(),
            figure: figure.to_owned(),
            description,
            card: self.card,
            steps: self.meter.transport().take_steps(),
        }
    }
}

fn personalization() -> Result<Vector> {
    let mut authority = authority()?;
    let mut s = Session::new("personalization", CARD)?;
    s.phase(
        "Figure 2, ports 216/234: the PC selects the meter application",
        &[],
    );
    s.meter.select()?;
    let blank = s.status(
        "Figure 2, meter 218: the blank card's status: life cycle 1, chip id, empty registers, no meter key",
    )?;
    let f = funds(&blank);
    s.ensure(f.is_some_and(|f| f.descending == 0), || {
        format!("a blank card has funds: {f:?}")
    })?;
    s.phase(
        "Figure 2, meter 218: the owner PIN unlocks the meter's services",
        &[],
    );
    s.meter.verify_pin(DEFAULT_PIN)?;
    s.personalize(&mut authority, SERIAL, 100)?;
    let (f, _) = s.funds(
        "Figure 2, 238/250: the personalized card's status: life cycle 2, serial, 1.00 in the certificate register, one load",
    )?;
    s.ensure(f.descending == 100 && f.ascending == 0, || {
        format!("after a load of 1.00: {f:?}")
    })?;
    s.phase("Figure 2, 257: the rate table the authority installed", &[]);
    let rates = s.meter.rates()?;
    s.ensure(rates == authority.rates(), || {
        format!("rate table {rates:?} differs from the authority's")
    })?;
    Ok(s.finish(
        "Figures 1 and 2",
        format!(
            "Personalization of a blank card by the authority {AUTHORITY} (deterministic, key seed {AUTHORITY_SEED}, clock at the card's time): \
             the card generates its meter key, the authority certifies it (Figure 1) and answers the card's challenge with one signed message \
             (serial {SERIAL}, authority key, rate table, time, service deadline, meter certificate); then a first value load of 1.00 into the \
             certificate register, confirmed by the card's signed receipt. Ends with the status (registers, load count) and the rate table."
        ),
    ))
}

/// A session opened and personalized with `funds`.
fn personalized(name: &'static str, funds: u64) -> Result<(Session, Authority)> {
    let mut authority = authority()?;
    let mut s = Session::new(name, CARD)?;
    s.open()?;
    s.personalize(&mut authority, SERIAL, funds)?;
    Ok((s, authority))
}

const PREAMBLE: &str = "A fresh card is selected, unlocked with the default PIN and personalized";

fn postmark_funded() -> Result<Vector> {
    let (mut s, authority) = personalized("fig3-postmark-funded", 100)?;
    let file = s.postmark_funded()?;
    let offline = postmark::verify_offline(&mut &MESSAGE[..], &file, &authority.public_key());
    s.ensure(offline.is_ok(), || {
        format!("the postmark does not verify off the card: {offline:?}")
    })?;
    let (f, _) = s.funds(&format!(
        "Figure 2, 248/250: registers after the postmark: {} used, {} left, 1 piece; ascending + descending is still 1.00",
        money(POSTMARK_FEE),
        money(100 - POSTMARK_FEE)
    ))?;
    let want = Funds {
        ascending: POSTMARK_FEE,
        descending: 100 - POSTMARK_FEE,
        pieces: 1,
    };
    s.ensure(f == want, || format!("after one postmark: {f:?}"))?;
    Ok(s.finish(
        "Figure 3",
        format!(
            "Figure 3, a cryptographic postmark with funds. {PREAMBLE} with 1.00 in the certificate register. \
             The PC sends the {}-byte message {:?} to the card's hash (304); the card assembles the content (306), \
             finds the funds (308), deducts the {} fee (312), signs with its meter key (314) and answers the postmark; \
             the PC appends the meter certificate (316). The postmark file verifies off the card with the authority's key. \
             The status shows the charge.",
            MESSAGE.len(),
            String::from_utf8_lossy(MESSAGE),
            money(POSTMARK_FEE)
        ),
    ))
}

fn postmark_insufficient_funds() -> Result<Vector> {
    let loaded = 30;
    let (mut s, _) = personalized("fig3-postmark-insufficient-funds", loaded)?;
    s.postmark_funded()?;
    let left = loaded - POSTMARK_FEE;
    s.refused_for_funds(
        left,
        &format!(
            "Figure 2, 248/250: registers before the second postmark: {} left, less than the {} fee",
            money(left),
            money(POSTMARK_FEE)
        ),
        "postmark",
        |s| {
            s.postmark(
                "Figure 3, steps 308/310: funds do not suffice; the postmark is refused (9401) and nothing is charged or signed",
            )
        },
    )?;
    Ok(s.finish(
        "Figure 3",
        format!(
            "Figure 3, the funds decision (308) rejecting a postmark (310). {PREAMBLE} with only {} in the certificate register. \
             A first postmark costs {} and leaves {}; the second is refused with 9401 (insufficient funds) after the hash, \
             before anything is charged or signed. GET DATA status before and after the refusal answers the same bytes.",
            money(loaded),
            money(POSTMARK_FEE),
            money(left)
        ),
    ))
}

fn postmark_meter_locked() -> Result<Vector> {
    let name = "fig3-postmark-meter-locked";
    let authority_time = CARD.time - 100 * DAY;
    let mut authority = Authority::deterministic(AUTHORITY, AUTHORITY_SEED, authority_time)?;
    let mut s = Session::new(name, CARD)?;
    s.open()?;
    s.personalize(&mut authority, SERIAL, 100)?;
    let refused = s.postmark(
        "Figure 3, steps 308/310: the meter is past its service deadline; the postmark is refused (9402) until the authority services it",
    );
    s.ensure(
        matches!(refused, Err(reader::Error::Card { sw }) if sw == StatusWord::METER_LOCKED),
        || format!("a postmark past the deadline: {refused:?}"),
    )?;
    let (f, _) = s.funds(
        "Figure 2, 248/250: registers after the refusal: the 1.00 loaded, nothing charged",
    )?;
    s.ensure(f.descending == 100 && f.pieces == 0, || format!("{f:?}"))?;
    authority.set_clock(Some(CARD.time));
    s.phase(
        "Figure 2, 222/250: the authority services the meter",
        &[
            (
                ins::GET_DATA,
                "Figure 2, 238/250: the PC reads the card's status (load count for the next load)",
            ),
            (
                ins::READ_CERTIFICATE,
                "Figure 2, 252/254: the PC lists the certificates on the card",
            ),
            (
                ins::LOAD_VALUE,
                "Figure 2, 222/250: a signed load of 0.50 with a new service deadline 90 days after today lifts the lock-out; the card answers its signed receipt",
            ),
        ],
    );
    reader::value::load(&mut s.meter, &mut authority, RegisterId::Certificate, 50)?;
    s.postmark_funded()?;
    let (f, _) =
        s.funds("Figure 2, 248/250: registers after the postmark: 0.25 used, 1.25 left, 1 piece")?;
    s.ensure(
        f == Funds {
            ascending: POSTMARK_FEE,
            descending: 150 - POSTMARK_FEE,
            pieces: 1,
        },
        || format!("after servicing and a postmark: {f:?}"),
    )?;
    Ok(s.finish(
        "Figure 3",
        "Figure 3, the funds decision (308) when the meter is locked out. The authority's clock is 100 days behind the card's, so \
             personalization (with 1.00) sets a service deadline (authority time + 90 days) that has passed by the card's clock: the postmark \
             is refused with 9402 (meter locked until serviced) although the funds suffice, and nothing is charged. The authority, its clock \
             now at the card's time, services the meter with a load of 0.50 whose new deadline lifts the lock-out, and the postmark goes through."
            .to_owned(),
    ))
}

/// A funded card, one postmark; returns the postmark file.
fn postmarked(name: &'static str, funds: u64) -> Result<(Session, Authority, Vec<u8>)> {
    let (mut s, authority) = personalized(name, funds)?;
    let file = s.postmark_funded()?;
    Ok((s, authority, file))
}

fn verify_valid() -> Result<Vector> {
    let (mut s, _, file) = postmarked("fig4-verify-valid", 100)?;
    let v = s.verify(
        MESSAGE,
        &file,
        "Figure 4, steps 404/408/410/414/416/420: funds suffice, the certificate is signed by the card's authority, the postmark signature holds, the digests match: valid (verdict 00); the fee is charged",
    )?;
    s.ensure(
        v == CardVerdict {
            result: Ok(()),
            fee: VERIFY_FEE,
        },
        || format!("verdict on a valid postmark: {v:?}"),
    )?;
    let (f, _) = s.funds(&format!(
        "Figure 2, 248/250: registers after postmark and validation: {} used, {} left, 2 pieces",
        money(POSTMARK_FEE + VERIFY_FEE),
        money(100 - POSTMARK_FEE - VERIFY_FEE)
    ))?;
    s.ensure(f.descending == 100 - POSTMARK_FEE - VERIFY_FEE, || {
        format!("{f:?}")
    })?;
    Ok(s.finish(
        "Figure 4",
        format!(
            "Figure 4 on the card, a valid postmark. {PREAMBLE} with 1.00, then postmarks the message (Figure 3). Validation: \
             the PC streams the same message to the card's hash (414) and sends the postmark file; the card checks its funds (404), \
             the certificate against the authority key installed at personalization (408/410), the postmark signature, and the digests \
             (416), charges the {} fee and answers verdict 00: valid (420).",
            money(VERIFY_FEE)
        ),
    ))
}

fn verify_tampered() -> Result<Vector> {
    let (mut s, authority, file) = postmarked("fig4-verify-tampered", 100)?;
    let mut tampered = MESSAGE.to_vec();
    tampered[8] ^= 0x01;
    let offline = postmark::verify_offline(&mut &tampered[..], &file, &authority.public_key());
    s.ensure(
        matches!(offline, Err(VerifyError::Invalid(Invalid::DigestMismatch))),
        || format!("a tampered message off the card: {offline:?}"),
    )?;
    let v = s.verify(
        &tampered,
        &file,
        "Figure 4, steps 404/408/410/414/416/418: funds suffice and the certificate holds, but the digest of the message in hand differs from the postmark's: rejected at 418 (verdict 06); the fee is charged",
    )?;
    s.ensure(
        v == CardVerdict {
            result: Err(Invalid::DigestMismatch),
            fee: VERIFY_FEE,
        },
        || format!("verdict on a tampered message: {v:?}"),
    )?;
    let (f, _) = s.funds(&format!(
        "Figure 2, 248/250: registers after the rejected validation: the {} fee is charged all the same",
        money(VERIFY_FEE)
    ))?;
    s.ensure(f.descending == 100 - POSTMARK_FEE - VERIFY_FEE, || {
        format!("{f:?}")
    })?;
    Ok(s.finish(
        "Figure 4",
        format!(
            "Figure 4 on the card, a tampered message. {PREAMBLE} with 1.00 and postmarks the message {:?}. Validation is asked for \
             the same postmark file but a message with one bit changed ({:?}): the card's digest (414) differs from the postmark's (416), \
             so the verdict is 06, rejected at 418. Validation is a paid service: the {} fee is charged for the rejection too.",
            String::from_utf8_lossy(MESSAGE),
            String::from_utf8_lossy(&tampered),
            money(VERIFY_FEE)
        ),
    ))
}

fn verify_other_authority() -> Result<Vector> {
    // Another meter, personalized by an authority with the same name but
    // another key, postmarks the same message. Its steps are not part of
    // the vector: only the postmark file it produced is.
    let other_serial = "PB-000002";
    let mut other = Authority::deterministic(AUTHORITY, OTHER_AUTHORITY_SEED, CARD.time)?;
    let other_card = CardSpec {
        seed: CARD.seed + 1,
        time: CARD.time,
    };
    let mut o = Session::new("fig4-verify-other-authority (other meter)", other_card)?;
    o.open()?;
    o.personalize(&mut other, other_serial, 100)?;
    let file = o.postmark_funded()?;

    let (mut s, authority) = personalized("fig4-verify-other-authority", 100)?;
    let offline = postmark::verify_offline(&mut &MESSAGE[..], &file, &authority.public_key());
    s.ensure(
        matches!(
            offline,
            Err(VerifyError::Invalid(Invalid::CertificateSignature))
        ),
        || format!("another authority's postmark off the card: {offline:?}"),
    )?;
    let v = s.verify(
        MESSAGE,
        &file,
        "Figure 4, steps 404/408/410/412: funds suffice, but the signer's certificate is not signed by the card's authority: rejected at 412 (verdict 01); the fee is charged",
    )?;
    s.ensure(
        v == CardVerdict {
            result: Err(Invalid::CertificateSignature),
            fee: VERIFY_FEE,
        },
        || format!("verdict on another authority's postmark: {v:?}"),
    )?;
    let (f, _) = s.funds(&format!(
        "Figure 2, 248/250: registers after the rejected validation: the {} fee is charged, no postmark was made on this card",
        money(VERIFY_FEE)
    ))?;
    s.ensure(
        f == Funds {
            ascending: VERIFY_FEE,
            descending: 100 - VERIFY_FEE,
            pieces: 1,
        },
        || format!("{f:?}"),
    )?;
    Ok(s.finish(
        "Figure 4",
        format!(
            "Figure 4 on the card, a postmark certified by another authority. {PREAMBLE} by {AUTHORITY} (key seed {AUTHORITY_SEED}) with 1.00. \
             The postmark file comes from another meter ({other_serial}, card seed {}) personalized by an authority with the same name but \
             another key (seed {OTHER_AUTHORITY_SEED}); it postmarked the same message {:?}. The card hashes the message (414) and checks the \
             file: the signer's certificate does not verify with its authority key (408/410), so the verdict is 01, rejected at 412. \
             The {} fee is charged.",
            other_card.seed,
            String::from_utf8_lossy(MESSAGE),
            money(VERIFY_FEE)
        ),
    ))
}

fn verify_insufficient_funds() -> Result<Vector> {
    let loaded = 30;
    let (mut s, _, file) = postmarked("fig4-verify-insufficient-funds", loaded)?;
    let left = loaded - POSTMARK_FEE;
    s.refused_for_funds(
        left,
        &format!(
            "Figure 2, 248/250: registers before validation: {} left, less than the {} validation fee",
            money(left),
            money(VERIFY_FEE)
        ),
        "validation",
        |s| {
            s.verify(
                MESSAGE,
                &file,
                "Figure 4, steps 404/406: funds do not suffice; the validation is refused (9401) and nothing is charged",
            )
        },
    )?;
    Ok(s.finish(
        "Figure 4",
        format!(
            "Figure 4, the funds decision (404) rejecting a validation (406). {PREAMBLE} with only {} and postmarks the message for {}, \
             leaving {}. Validating that (valid) postmark costs {}: the card refuses with 9401 (insufficient funds) before checking \
             anything, and charges nothing. GET DATA status before and after the refusal answers the same bytes.",
            money(loaded),
            money(POSTMARK_FEE),
            money(left),
            money(VERIFY_FEE)
        ),
    ))
}
