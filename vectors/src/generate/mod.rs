//! The flows, run for real and recorded: a deterministic authority and a
//! deterministic card, driven by the PC-side functions of `reader`.
//!
//! One module per flow, each writing the vectors of its figure:
//! [`personalization`] (Figures 1 and 2), [`fig3_postmark`] (Figure 3)
//! and [`fig4_verify`] (Figure 4), [`fig3a_agent`] (Figure 3A), [`install`] (Figure 5), [`sign`] (SIGN refused), [`postage`] (postage indicia), [`fig8_credit`] (Figure 8), [`fig9_pay`] (Figure 9), [value]: [`recharge`], [`rates`], [`audit`]. This module holds what they share: the recording
//! [`Session`], the fixed card and authority, and [`try_generate`], the
//! list every new flow's vectors join.

mod attestation;
mod audit;
mod channel;
mod fig3_postmark;
mod fig3a_agent;
mod fig4_verify;
mod fig6_revoke;
mod fig8_credit;
mod fig9_pay;
mod install;
mod personalization;
mod pin;
mod postage;
mod rates;
mod recharge;
mod sign;

use apdu::meter::{DEFAULT_PIN, DataObject, Request, ins, tag};
use apdu::{StatusWord, tlv};
use applet_sim::sim::SimError;
use authority::{Authority, AuthorityError};
use reader::meter::CardVerdict;
use reader::postmark;
use reader::{Meter, check, exchange};

use crate::record::Recorder;
use crate::sim::SimCard;
use crate::{CardSpec, Vector};

/// The card of every vector: seed 7, clock fixed at 2026-05-28T20:26:40Z.
pub const CARD: CardSpec = CardSpec {
    seed: 7,
    time: 1_780_000_000,
    issuer_root: Some(AUTHORITY_SEED),
    unattested: false,
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
pub(super) const POSTMARK_FEE: u64 = 25;
pub(super) const VERIFY_FEE: u64 = 10;
pub(super) const DAY: u64 = 24 * 3600;

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

pub(super) type Result<T, E = GenerateError> = std::result::Result<T, E>;

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
    let mut all = vec![
        personalization::personalization()?,
        personalization::rogue_authority()?,
        attestation::unattested()?,
        pin::transport_pin()?,
        pin::unblock()?,
        channel::replayed()?,
    ];
    all.extend(fig3_postmark::vectors()?);
    all.extend(fig4_verify::vectors()?);
    all.extend(fig3a_agent::vectors()?);
    all.extend(fig6_revoke::vectors()?);
    all.extend(install::vectors()?);
    all.extend(sign::vectors()?);
    all.extend(postage::vectors()?);
    all.extend(fig8_credit::vectors()?);
    all.extend(fig9_pay::vectors()?);
    all.extend(recharge::vectors()?);
    all.extend(rates::vectors()?);
    all.extend(audit::vectors()?);
    Ok(all)
}

pub(super) fn authority() -> Result<Authority> {
    Ok(Authority::deterministic(
        AUTHORITY,
        AUTHORITY_SEED,
        CARD.time,
    )?)
}

/// Minor units as `1.00`, for descriptions.
pub(super) fn money(minor: u64) -> String {
    format!("{}.{:02}", minor / 100, minor % 100)
}

/// What the status template says about the certificate register (which
/// pays for postmarks and validations).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Funds {
    pub(super) ascending: u64,
    pub(super) descending: u64,
    pub(super) pieces: u64,
}

pub(super) fn funds(status: &[u8]) -> Option<Funds> {
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
pub(super) struct Session {
    pub(super) name: &'static str,
    pub(super) card: CardSpec,
    pub(super) meter: Meter<Recorder<SimCard>>,
}

impl Session {
    pub(super) fn new(name: &'static str, card: CardSpec) -> Result<Self> {
        Ok(Session {
            name,
            card,
            meter: Meter::new(Recorder::new(crate::sim::fresh(&card)?)),
        })
    }

    pub(super) fn ensure(&self, ok: bool, what: impl FnOnce() -> String) -> Result<()> {
        if ok {
            Ok(())
        } else {
            Err(GenerateError::Unexpected {
                vector: self.name,
                what: what(),
            })
        }
    }

    pub(super) fn phase(&mut self, default: &str, labels: &[(u8, &str)]) {
        self.meter.transport().phase(default, labels);
    }

    /// SELECT and VERIFY the default PIN.
    pub(super) fn open(&mut self) -> Result<()> {
        self.phase(
            "Figure 2, ports 216/234: the PC selects the meter application",
            &[],
        );
        self.meter.select()?;
        self.unlock()
    }

    /// VERIFY the transport PIN a new card comes with, then CHANGE
    /// REFERENCE DATA to the owner's PIN (`fixture::OWNER_PIN`): nothing
    /// is spent or personalized before.
    pub(super) fn unlock(&mut self) -> Result<()> {
        self.phase(
            "Figure 2, meter 218: the owner PIN unlocks the meter's services",
            &[(
                ins::CHANGE_REFERENCE_DATA,
                "Figure 2, meter 218: the transport PIN a new card comes with is changed to the owner's own PIN; until then the card spends and personalizes nothing (9403)",
            )],
        );
        self.meter.verify_pin(DEFAULT_PIN)?;
        self.meter
            .change_pin(DEFAULT_PIN, crate::fixture::OWNER_PIN)?;
        Ok(())
    }

    /// `reader::personalize::personalize`: key generation, the authority's
    /// message, and a first load of `funds` into the certificate register.
    pub(super) fn personalize(
        &mut self,
        authority: &mut Authority,
        serial: &str,
        funds: u64,
    ) -> Result<()> {
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

    /// [`Self::personalize`], returning the flow's error (a refusal to record).
    pub(super) fn try_personalize(
        &mut self,
        authority: &mut dyn authority::AuthorityService,
        serial: &str,
        funds: u64,
    ) -> Result<(), reader::Error> {
        self.phase(
            "Figure 2: personalization by an authority the card's issuer root does not certify",
            &[(
                ins::PERSONALIZE,
                "Figure 2, 240: the card refuses the message (6982): its authority certificate is not signed by the issuer root pinned at manufacture; nothing is written",
            )],
        );
        reader::personalize::personalize(&mut self.meter, authority, serial, funds)?;
        Ok(())
    }

    /// GET DATA status alone (without the certificate reads of
    /// `Meter::status`); returns the template.
    pub(super) fn status(&mut self, label: &str) -> Result<Vec<u8>> {
        self.phase(label, &[]);
        let cmd = Request::GetData(DataObject::Status).to_command();
        Ok(check(exchange(self.meter.transport(), &cmd)?)?)
    }

    /// The certificate register from a fresh GET DATA status.
    pub(super) fn funds(&mut self, label: &str) -> Result<(Funds, Vec<u8>)> {
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
    pub(super) fn postmark(&mut self, postmark_label: &str) -> Result<Vec<u8>, reader::Error> {
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

    pub(super) fn postmark_funded(&mut self) -> Result<Vec<u8>> {
        Ok(self.postmark(
            "Figure 3, steps 306/308/312/314: content assembled (digest, secure-clock time, serial), funds suffice, fee deducted, postmark signed with the meter key",
        )?)
    }

    /// Figure 4 on the card through `reader::postmark::verify_on_card`.
    pub(super) fn verify(
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
        postmark::verify_on_card(&mut self.meter, &mut &message[..], file, None).map(|(v, _)| v)
    }

    /// The funds decision rejecting a charged command: the status before
    /// shows `left`, `attempt` is refused with 9401, and the status after
    /// answers the same bytes as before.
    pub(super) fn refused_for_funds<T: std::fmt::Debug>(
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

    pub(super) fn finish(mut self, figure: &str, description: String) -> Vector {
        Vector {
            name: self.name.to_owned(),
            figure: figure.to_owned(),
            description,
            card: self.card,
            steps: self.meter.transport().take_steps(),
        }
    }
}

/// A session opened and personalized with `funds`.
pub(super) fn personalized(name: &'static str, funds: u64) -> Result<(Session, Authority)> {
    let mut authority = authority()?;
    let mut s = Session::new(name, CARD)?;
    s.open()?;
    s.personalize(&mut authority, SERIAL, funds)?;
    Ok((s, authority))
}

pub(super) const PREAMBLE: &str =
    "A fresh card is selected, its transport PIN changed to the owner PIN, and personalized";

/// A funded card, one postmark; returns the postmark file.
pub(super) fn postmarked(name: &'static str, funds: u64) -> Result<(Session, Authority, Vec<u8>)> {
    let (mut s, authority) = personalized(name, funds)?;
    let file = s.postmark_funded()?;
    Ok((s, authority, file))
}
