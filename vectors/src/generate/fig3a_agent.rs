//! Figure 3A vectors: the card as a certificate agent with funds (a key
//! pair generated on the card, the private key sealed to the receiver, the
//! certificate signed with the meter key after the charge), and the funds
//! decision refusing one (9401).

use apdu::cert::usage;
use apdu::meter::ins;
use p256::SecretKey;
use reader::agent::{self, Issue};

use super::{PREAMBLE, Result, Session, money, personalized};
use crate::Vector;

/// Fee of a certificate in the authority's default rate table.
const ISSUE_FEE: u64 = 150;
/// The receiver's private key scalar (all 0x42): the vectors' receiver.
pub const RECEIVER_SCALAR: [u8; 32] = [0x42; 32];
/// The holder named in the vectors' request.
pub const HOLDER: &str = "alice@example.org";

/// Every Figure 3A vector, in file order.
pub(super) fn vectors() -> Result<Vec<Vector>> {
    Ok(vec![issue_funded()?, issue_insufficient_funds()?])
}

fn request() -> Result<Issue> {
    let receiver =
        SecretKey::from_slice(&RECEIVER_SCALAR).map_err(|_| super::GenerateError::Unexpected {
            vector: "fig3a",
            what: "the receiver scalar".into(),
        })?;
    Ok(Issue {
        holder: HOLDER.into(),
        receiver: apdu::channel::encode_point(&receiver.public_key()),
        usage: usage::SIGNING,
        days: 365,
    })
}

impl Session {
    fn issue(&mut self, label: &str) -> Result<Vec<u8>, reader::Error> {
        self.phase(
            "Figure 3A",
            &[
                (ins::ISSUE_CERTIFICATE, label),
                (
                    ins::READ_CERTIFICATE,
                    "Figure 3A, step 366: the meter certificate goes with the agent certificate (the agent certificate file)",
                ),
            ],
        );
        let req = request().map_err(|e| reader::Error::Input(e.to_string()))?;
        agent::issue(&mut self.meter, &req)
    }
}

fn issue_funded() -> Result<Vector> {
    let loaded = 200;
    let (mut s, authority) = personalized("fig3a-issue-certificate-funded", loaded)?;
    let file = s.issue(
        "Figure 3A, steps 350/351/354/356/358/362/364: the request (holder, receiver key, usage, days); the meter certificate allows ISSUE_CERTIFICATES, funds suffice, a key pair is generated on the card, the fee is deducted, the certificate signed with the meter key and the private key sealed to the receiver (ECIES); the answer is the certificate and the sealed key",
    )?;
    let key = apdu::crypto::public_key(&authority.public_key());
    let verified = key.map(|k| agent::verify(&file, &k));
    s.ensure(matches!(verified, Some(Ok(_))), || {
        format!("the agent certificate does not verify: {verified:?}")
    })?;
    let receiver = SecretKey::from_slice(&RECEIVER_SCALAR).ok();
    let opened = receiver.map(|r| agent::open(&file, &r).is_ok());
    s.ensure(opened == Some(true), || {
        "the sealed key does not open".into()
    })?;
    let (f, _) = s.funds(&format!(
        "Figure 2, 248/250: registers after the certificate: {} used, {} left, 1 piece",
        money(ISSUE_FEE),
        money(loaded - ISSUE_FEE)
    ))?;
    s.ensure(
        f.ascending == ISSUE_FEE && f.descending == loaded - ISSUE_FEE && f.pieces == 1,
        || format!("after one certificate: {f:?}"),
    )?;
    Ok(s.finish(
        "Figure 3A",
        format!(
            "Figure 3A, the card as a certificate agent. {PREAMBLE} with {} in the certificate register. The PC asks for a \
             certificate for {HOLDER:?} (usage SIGNING, 365 days) with the receiver's public key (the P-256 key whose scalar is 32 bytes \
             of 42). The card generates the holder's key pair, deducts the {} fee, signs the agent certificate (7F22) with the meter \
             key and answers it with the private key sealed to the receiver (7F7B, ECIES); the PC appends the meter certificate. The \
             file verifies with the authority's key (authority -> meter -> agent certificate) and the receiver's key opens the sealed key.",
            money(loaded),
            money(ISSUE_FEE)
        ),
    ))
}

fn issue_insufficient_funds() -> Result<Vector> {
    let loaded = 100;
    let (mut s, _) = personalized("fig3a-issue-certificate-insufficient-funds", loaded)?;
    s.refused_for_funds(
        loaded,
        &format!(
            "Figure 2, 248/250: registers before the request: {} left, less than the {} fee",
            money(loaded),
            money(ISSUE_FEE)
        ),
        "certificate",
        |s| {
            s.issue(
                "Figure 3A, steps 358/360: funds do not suffice; the certificate is refused (9401): no key pair generated, nothing charged, signed or sealed",
            )
        },
    )?;
    Ok(s.finish(
        "Figure 3A",
        format!(
            "Figure 3A, the funds decision (358) rejecting a certificate (360). {PREAMBLE} with only {} in the certificate register, \
             less than the {} fee. ISSUE CERTIFICATE is refused with 9401 before any key is generated; GET DATA status before and \
             after the refusal answers the same bytes.",
            money(loaded),
            money(ISSUE_FEE)
        ),
    ))
}
