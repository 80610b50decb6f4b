//! A postage indicium (the patent's digital token, with the postage
//! register 244 and piece count 242 of Figure 2; the steps follow Figure
//! 3's: content, funds?, reject, deduct, sign, out). The request (postage,
//! origin, destination, class, mailing day) is validated whole (6A80), the
//! mailing day against the secure clock (940C), the meter certificate
//! (6985 expired, 9409 revoked), then the funds: the Indicium fee of the
//! rate table in the certificate register and the postage in the postage
//! register (9402 past the deadline, 9401 short), nothing touched. Then one
//! transaction: the fee debited from the certificate register (one charged
//! operation), the postage from the postage register with one more postage
//! piece, the counters (sequence, clock), and the indicium signed over the
//! registers after the debit. It leaves the card only once committed.

use apdu::StatusWord;
use apdu::cmd::postage::{IndiciumBody, PostageRequest, mailing_day};
use apdu::meter::METER_CERTIFICATE_SLOT;
use apdu::tlv::Writer;

use crate::context::Context;
use crate::error::Result;
use crate::layout::Register;
use crate::platform::Platform;
use crate::records::Counters;
use crate::{certificates, clock, funds, state};

/// POSTAGE. The dispatcher checked Personalized, the PIN and the lock; the
/// fee's service and register are the policy's.
pub fn postage<P: Platform>(ctx: &mut Context<'_, P>, request: &[u8]) -> Result<usize> {
    let charge = ctx.policy.charge.ok_or(StatusWord::UNKNOWN)?;
    let fee_register = Register::from(charge.register);
    // The request, whole, before anything else.
    let req = PostageRequest::parse(request).map_err(|_| StatusWord::INCORRECT_DATA)?;
    let s = &mut *ctx.store;
    let key = state::meter_signing_key(s, ctx.ram)?.ok_or(StatusWord::CONDITIONS_NOT_SATISFIED)?;
    // The content: the secure clock's day, the meter certificate.
    let now = clock::now(s, &*ctx.platform)?;
    let date = mailing_day(now, req.date).ok_or(StatusWord::DATE_REFUSED)?;
    let cert = certificates::parsed(s, METER_CERTIFICATE_SLOT.into())?;
    certificates::check_not_revoked(s, METER_CERTIFICATE_SLOT.into())?;
    // An indicium no postal operator would accept is not sold.
    if !cert.valid_at(now) {
        return Err(StatusWord::CONDITIONS_NOT_SATISFIED.into());
    }
    let cert_serial = cert.serial;
    let mut counters = Counters::read(s)?;
    // Funds?: the fee, then the postage; reject with nothing touched.
    let fee = funds::fee(s, charge.service)?;
    funds::check(s, now, fee_register, fee)?;
    funds::check(s, now, Register::Postage, req.postage)?;

    s.begin()?;
    // Deduct: the fee (one charged operation), then the postage and its piece.
    funds::debit(s, fee_register, fee, &mut counters)?;
    let postage = funds::debit_register(s, Register::Postage, req.postage)?;
    counters.advance_clock(now);
    counters.write(s)?;
    let device = state::serial(s)?;
    // Sign the indicium over the registers after the debit.
    let body = IndiciumBody {
        device,
        certificate_serial: cert_serial,
        pieces: u32::try_from(postage.pieces).map_err(|_| StatusWord::NOT_ENOUGH_MEMORY)?,
        postage: req.postage,
        ascending: postage.ascending,
        descending: postage.descending,
        date,
        origin: req.origin,
        destination: req.destination,
        class: req.class,
    };
    let mut w = Writer::new(ctx.out);
    body.write(&mut w, |b| apdu::crypto::sign(&key, b))?;
    let len = w.len();
    // Out only once committed.
    s.commit()?;
    Ok(len)
}
