//! Figure 6, revocation: the meter certificate (slot 0) revoked with
//! payment (624), with the payment due (620), forced (payment disabled), a
//! message meant for another card refused (614), and a postmark after the
//! revocation refused (9409). Only slot 0 holds a certificate until the
//! install flow (Figure 5) writes the others, so the vectors revoke it.

use apdu::StatusWord;
use apdu::cmd::revoke::{MessageBody, Payment, PaymentState, RevocationConfirmation, Subject};
use apdu::meter::ins;
use apdu::tlv::Writer;

use super::{AUTHORITY_SEED, PREAMBLE, Result, SERIAL, Session, money, personalized};
use crate::Vector;

/// The Revoke fee of the authority's default rate table.
const REVOKE_FEE: u64 = 100;
/// RFC 5280 keyCompromise.
const KEY_COMPROMISE: u8 = 1;

fn revoke_labels(s: &mut Session, revoke_label: &str) {
    s.phase(
        "Figure 6",
        &[
            (
                ins::GET_CHALLENGE,
                "Figure 6: a fresh card challenge, which binds request, message and confirmation",
            ),
            (
                ins::REVOKE_REQUEST,
                "Figure 6, 602: the card signs the revocation request (7F7C) over card, slot, certificate, reason and challenge with the meter key",
            ),
            (ins::REVOKE, revoke_label),
        ],
    );
}

/// 602-616, 618 -> 624: paid; the register shows exactly the Revoke fee.
fn paid_or_due(name: &'static str, funds: u64) -> Result<Vector> {
    let (mut s, mut authority) = personalized(name, funds)?;
    let (before, _) = s.funds("Figure 2, 250: the certificate register before the revocation")?;
    let paid = funds >= REVOKE_FEE;
    revoke_labels(
        &mut s,
        if paid {
            "Figure 6, 608-616, 618 -> 624: the authority's message (7F7D) verifies (610/612); the certificate is revoked (616), the Revoke fee deducted (624); the card answers its signed confirmation (7F7E)"
        } else {
            "Figure 6, 608-616, 618 -> 620: the authority's message verifies; the certificate is revoked (616); the register is short of the Revoke fee, which is recorded as due (620); the card answers its signed confirmation (7F7E)"
        },
    );
    let r = reader::revoke::revoke(&mut s.meter, &mut authority, 0, KEY_COMPROMISE)?;
    let want = if paid {
        PaymentState::Paid
    } else {
        PaymentState::Due
    };
    s.ensure(r.payment == want && r.fee == REVOKE_FEE, || {
        format!("{r:?}")
    })?;
    let (after, _) =
        s.funds("Figure 2, 248/250: the registers after: exactly the Revoke fee, or nothing")?;
    let expect = if paid {
        (
            before.ascending + REVOKE_FEE,
            before.descending - REVOKE_FEE,
            before.pieces + 1,
        )
    } else {
        (before.ascending, before.descending, before.pieces)
    };
    s.ensure(
        (after.ascending, after.descending, after.pieces) == expect,
        || format!("{before:?} -> {after:?}"),
    )?;
    Ok(s.finish(
        "Figure 6",
        if paid {
            format!(
                "{PREAMBLE} with {} in its certificate register. The owner revokes the meter certificate (slot 0, reason 1 keyCompromise): \
                 the card signs the request (602), the authority verifies it and signs the revocation message bound to chip id, serial, slot, \
                 certificate serial and challenge (604/608), the card verifies it (610/612), revokes (616) and deducts the Revoke fee {} (618 -> 624), \
                 then answers its confirmation, which the authority records (622).",
                money(funds),
                money(REVOKE_FEE)
            )
        } else {
            format!(
                "{PREAMBLE} with {} in its certificate register, less than the Revoke fee {}. The meter certificate is revoked (616) and the fee \
                 recorded as due (618 -> 620): the registers do not move; the confirmation says 'due', and the authority records it (622).",
                money(funds),
                money(REVOKE_FEE)
            )
        },
    ))
}

/// Forced: the authority's revocation at the card's next contact,
/// payment disabled: revoked, nothing charged.
fn forced() -> Result<Vector> {
    let (mut s, mut authority) = personalized("fig6-revoke-forced", 1_000)?;
    let cert = authority
        .meter(SERIAL)?
        .map(|m| m.certificate_serial)
        .unwrap_or_default();
    authority.force_revocation(SERIAL, cert, KEY_COMPROMISE)?;
    let (before, before_bytes) =
        s.funds("Figure 2, 238/250: the PC reads chip id, serial and registers at the contact")?;
    let status = s.meter.status()?;
    let chip: [u8; 8] = hex::decode(&status.chip_id)
        .ok()
        .and_then(|c| c.try_into().ok())
        .unwrap_or_default();
    s.phase(
        "Figure 6, forced: the authority's pending revocation applied at the card's next contact",
        &[
            (ins::GET_CHALLENGE, "a fresh card challenge"),
            (
                ins::REVOKE,
                "Figure 6, 610-616: the message (payment disabled) verifies; the certificate is revoked; nothing is charged or due",
            ),
        ],
    );
    let challenge = s.meter.challenge()?;
    let message = authority.forced_revocation(SERIAL, &chip, &challenge, 0, cert)?;
    let confirmation = s.meter.revoke(&message)?;
    let c = RevocationConfirmation::parse(&confirmation).ok();
    s.ensure(
        c.is_some_and(|c| c.body.payment == PaymentState::None && c.body.fee == 0),
        || "the forced confirmation".into(),
    )?;
    authority.confirm_revocation(&confirmation)?;
    let (after, _) = s.funds("Figure 2, 248/250: the registers after: unchanged")?;
    s.ensure(after == before, || format!("{before:?} -> {after:?}"))?;
    drop(before_bytes);
    Ok(s.finish(
        "Figure 6",
        format!(
            "{PREAMBLE}. The operator forces the revocation of the meter certificate (`meter authority revoke --meter {SERIAL} --cert {cert} \
             --reason 1`); at the card's next contact the authority signs the message with payment disabled, the card revokes and charges \
             nothing (confirmation payment state 00)."
        ),
    ))
}

/// 614: a genuinely signed message meant for another card (another chip
/// id) is refused (6A80) and changes nothing.
fn wrong_card() -> Result<Vector> {
    let (mut s, authority) = personalized("fig6-revoke-wrong-card", 1_000)?;
    let cert = authority
        .meter(SERIAL)?
        .map(|m| m.certificate_serial)
        .unwrap_or_default();
    let (_, before) = s.funds("Figure 2: the status before")?;
    s.phase(
        "Figure 6, 610/612/614: a revocation message for another card",
        &[
            (ins::GET_CHALLENGE, "a fresh card challenge"),
            (
                ins::REVOKE,
                "Figure 6, 612 -> 614: signed by the authority, but for another chip id: refused (6A80), nothing written",
            ),
        ],
    );
    let challenge = s.meter.challenge()?;
    let other_chip = [0xEE; 8];
    let key = authority::keys::from_seed(AUTHORITY_SEED);
    let mut buf = vec![0; 1024];
    let mut w = Writer::new(&mut buf);
    let written = MessageBody {
        subject: Subject {
            chip_id: &other_chip,
            serial: SERIAL.as_bytes(),
            challenge: &challenge,
            slot: 0,
            certificate_serial: cert,
            reason: KEY_COMPROMISE,
        },
        time: super::CARD.time,
        payment: Payment::Payable,
    }
    .write(&mut w, |b| apdu::crypto::sign(&key, b));
    s.ensure(written.is_ok(), || "the message did not encode".into())?;
    let n = w.len();
    buf.truncate(n);
    let r = s.meter.revoke(&buf);
    s.ensure(
        matches!(r, Err(reader::Error::Card { sw }) if sw == StatusWord::INCORRECT_DATA),
        || format!("{r:?}"),
    )?;
    let (_, after) = s.funds("Figure 2: the status after: the same bytes")?;
    s.ensure(after == before, || "the refusal changed the status".into())?;
    Ok(s.finish(
        "Figure 6",
        format!(
            "{PREAMBLE}. A revocation message signed by the authority for another card (chip id EEEEEEEEEEEEEEEE, same serial, slot, \
             certificate and challenge) is refused at 612 -> 614 (6A80): nothing is revoked or charged."
        ),
    ))
}

/// Once the meter certificate is revoked, POSTMARK answers 9409.
fn postmark_after_revocation() -> Result<Vector> {
    let (mut s, mut authority) = personalized("fig6-postmark-after-revocation", 1_000)?;
    revoke_labels(
        &mut s,
        "Figure 6, 608-624: the meter certificate is revoked and the Revoke fee paid",
    );
    reader::revoke::revoke(&mut s.meter, &mut authority, 0, KEY_COMPROMISE)?;
    let (_, before) = s.funds("Figure 2: the status before the attempt")?;
    let r = s.postmark(
        "Figure 3 after Figure 6: the meter certificate is revoked, so the card signs no postmark (9409); nothing is charged",
    );
    s.ensure(
        matches!(r, Err(reader::Error::Card { sw }) if sw == StatusWord::CERTIFICATE_REVOKED),
        || format!("{r:?}"),
    )?;
    let (_, after) = s.funds("Figure 2: the status after: the same bytes")?;
    s.ensure(after == before, || "the refusal changed the status".into())?;
    Ok(s.finish(
        "Figure 6",
        format!(
            "{PREAMBLE}, and its meter certificate revoked (Figure 6, paid). A postmark is then refused (9409, certificate revoked) \
             and nothing is charged: a revoked meter certificate signs nothing more (no postmarks, no loads)."
        ),
    ))
}

/// Every Figure 6 vector.
pub(super) fn vectors() -> Result<Vec<Vector>> {
    Ok(vec![
        paid_or_due("fig6-revoke-paid", 1_000)?,
        paid_or_due("fig6-revoke-payment-due", 50)?,
        forced()?,
        wrong_card()?,
        postmark_after_revocation()?,
    ])
}
