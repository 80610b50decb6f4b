//! Figure 6: revocation of a certificate on the card.
//!
//! REVOKE REQUEST signs the request (602) over this card, the slot, its
//! certificate's serial, the reason and the card's GET CHALLENGE nonce
//! (read, not consumed). The authority verifies it (604/606) and signs a
//! revocation message bound to the same card, certificate and nonce (608).
//! REVOKE verifies that message (610: the authority's signature; 612: this
//! card, this nonce, this slot and certificate; 614: anything else is
//! refused and changes nothing), revokes the certificate (616) and decides
//! on the funds (618): the Revoke fee deducted (624) or, when the
//! certificate register is short, recorded as due (620), collected at the
//! next contact ([`crate::funds::collect_due`]). A forced revocation
//! (payment disabled) charges nothing. The signed confirmation leaves the
//! card only once all of it is committed.

use apdu::StatusWord;
use apdu::cmd::revoke::{
    ConfirmationBody, Payment, PaymentState, RevocationMessage, RevocationRequest, Subject,
};
use apdu::meter::METER_CERTIFICATE_SLOT;
use apdu::tlv::Writer;
use subtle::ConstantTimeEq;

use crate::context::Context;
use crate::error::Result;
use crate::layout::{CHIP_ID, REVOCATION_DUE, Register};
use crate::platform::Platform;
use crate::records::Counters;
use crate::{certificates, clock, funds, state};

const METER_SLOT: usize = METER_CERTIFICATE_SLOT as usize;

/// REVOKE REQUEST (602). The dispatcher checked Personalized and the PIN.
pub fn request<P: Platform>(ctx: &mut Context<'_, P>, slot: u8, reason: u8) -> Result<usize> {
    let s = &*ctx.store;
    let i = usize::from(slot);
    let cert = certificates::parsed(s, i)?;
    certificates::check_not_revoked(s, i)?;
    // The meter key signs the request: not once its own certificate is
    // revoked.
    certificates::check_not_revoked(s, METER_SLOT)?;
    let challenge = ctx
        .ram
        .challenge
        .ok_or(StatusWord::REFERENCE_DATA_NOT_USABLE)?;
    let chip_id = state::chip_id(s)?;
    let subject = Subject {
        chip_id: &chip_id,
        serial: state::serial(s)?,
        challenge: &challenge,
        slot,
        certificate_serial: cert.serial,
        reason,
    };
    let key = state::meter_signing_key(s, ctx.ram)?.ok_or(StatusWord::CONDITIONS_NOT_SATISFIED)?;
    let mut w = Writer::new(ctx.out);
    RevocationRequest::write(&subject, &mut w, |body| apdu::crypto::sign(&key, body))?;
    Ok(w.len())
}

/// REVOKE (608-624). The dispatcher took the challenge out of RAM (any
/// attempt consumes it) and checked Personalized and the lock.
pub fn revoke<P: Platform>(ctx: &mut Context<'_, P>, message: &[u8]) -> Result<usize> {
    let charge = ctx.policy.charge.ok_or(StatusWord::UNKNOWN)?;
    let register = Register::from(charge.register);
    let s = &mut *ctx.store;
    let m = RevocationMessage::parse(message).map_err(|_| StatusWord::INCORRECT_DATA)?;
    let b = m.body;
    // 610: the authority's signature.
    if !apdu::crypto::verify_signed(&m.signed, &state::authority_key(s)?) {
        return Err(StatusWord::SECURITY_STATUS_NOT_SATISFIED.into());
    }
    // 612: this nonce (a replay finds it used up), this card, this
    // certificate; 614 otherwise.
    let challenge = ctx.challenge.ok_or(StatusWord::REFERENCE_DATA_NOT_USABLE)?;
    if !bool::from(challenge.ct_eq(b.subject.challenge)) {
        return Err(StatusWord::REFERENCE_DATA_NOT_USABLE.into());
    }
    if CHIP_ID.read(s)? != b.subject.chip_id || state::serial(s)? != b.subject.serial {
        return Err(StatusWord::INCORRECT_DATA.into());
    }
    let i = usize::from(b.subject.slot);
    let cert_serial = certificates::parsed(s, i)?.serial;
    if cert_serial != b.subject.certificate_serial {
        return Err(StatusWord::INCORRECT_DATA.into());
    }
    certificates::check_not_revoked(s, i)?;
    let key = state::meter_signing_key(s, ctx.ram)?.ok_or(StatusWord::CONDITIONS_NOT_SATISFIED)?;
    let mut counters = Counters::read(s)?;
    counters.advance_clock(b.time);
    let now = clock::now(s, &*ctx.platform)?.max(counters.clock);
    // 618: the funds decide between 624 and 620 (forced: neither).
    let (payment, fee) = match b.payment {
        Payment::Disabled => (PaymentState::None, 0),
        Payment::Payable => {
            let fee = funds::fee(s, charge.service)?;
            if register.descending().get(s)? >= fee {
                (PaymentState::Paid, fee)
            } else {
                (PaymentState::Due, fee)
            }
        }
    };
    let due = REVOCATION_DUE.get(s)?;

    s.begin()?;
    // 616: revoked.
    certificates::revoke(s, i, b.subject.reason)?;
    match payment {
        // 624: deducted.
        PaymentState::Paid => {
            funds::debit(s, register, fee, &mut counters)?;
        }
        // 620: due at the next contact.
        PaymentState::Due => REVOCATION_DUE.set(s, due.saturating_add(fee))?,
        PaymentState::None => {}
    }
    counters.write(s)?;
    let ascending = register.ascending().get(s)?;
    let body = ConfirmationBody {
        subject: b.subject,
        time: now,
        payment,
        fee,
        ascending,
    };
    let mut w = Writer::new(ctx.out);
    body.write(&mut w, |body| apdu::crypto::sign(&key, body))?;
    let len = w.len();
    // Out only once committed.
    s.commit()?;
    Ok(len)
}
