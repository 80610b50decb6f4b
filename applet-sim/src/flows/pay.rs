//! Figure 9, paying from the line of credit, card side. PAY takes the
//! request (902: amount and merchant), checks the credit remaining (904;
//! 906: 940D, nothing changed) and the Payment fee against the
//! certificate register (9401), then in one transaction subtracts the
//! amount from the credit remaining (908), charges the fee, counts the
//! payment and signs the payment certificate of Figure 7B with the meter
//! key (910): holder, serial, meter id, the 7A's digest, amount, credit
//! remaining, merchant. The certificate leaves the card only once all of
//! it is committed.

use apdu::StatusWord;
use apdu::cmd::pay::{PayRequest, PaymentBody};
use apdu::meter::METER_CERTIFICATE_SLOT;
use apdu::tlv::Writer;

use crate::context::Context;
use crate::error::Result;
use crate::layout::Register;
use crate::platform::Platform;
use crate::records::Counters;
use crate::{certificates, clock, credit, funds, state};

/// PAY (902-910). The dispatcher checked Personalized, the PIN and the
/// lock; the fee's service and register are the policy's.
pub fn pay<P: Platform>(ctx: &mut Context<'_, P>, request: &[u8]) -> Result<usize> {
    let charge = ctx.policy.charge.ok_or(StatusWord::UNKNOWN)?;
    let register = Register::from(charge.register);
    let s = &mut *ctx.store;
    // 902: the request.
    let req = PayRequest::parse(request).map_err(|_| StatusWord::INCORRECT_DATA)?;
    let line = credit::parsed(s)?;
    let mut st = credit::read(s)?;
    let key = state::meter_signing_key(s, ctx.ram)?.ok_or(StatusWord::CONDITIONS_NOT_SATISFIED)?;
    // A revoked meter certificate signs nothing (Figure 6).
    certificates::check_not_revoked(s, METER_CERTIFICATE_SLOT.into())?;
    let now = clock::now(s, &*ctx.platform)?;
    if !line.line.cert.valid_at(now) {
        return Err(StatusWord::CONDITIONS_NOT_SATISFIED.into());
    }
    // 904 / 906: the credit remaining, before anything is written.
    let remaining = st
        .remaining
        .checked_sub(req.amount)
        .ok_or(StatusWord::CREDIT_EXHAUSTED)?;
    let serial_number = st
        .payments
        .checked_add(1)
        .ok_or(StatusWord::NOT_ENOUGH_MEMORY)?;
    // The Payment fee from the rate table, against the certificate register.
    let fee = funds::fee(s, charge.service)?;
    funds::check(s, now, register, fee)?;
    let digest = credit::digest(s)?;
    let chip = state::chip_id(s)?;
    let mut counters = Counters::read(s)?;

    s.begin()?;
    // 908: subtract; the payment counted.
    st.remaining = remaining;
    st.payments = serial_number;
    credit::write(s, &st)?;
    funds::debit(s, register, fee, &mut counters)?;
    counters.advance_clock(now);
    counters.write(s)?;
    // 910: the payment certificate.
    let body = PaymentBody {
        holder: state::serial(s)?,
        serial: u64::from(serial_number),
        meter_id: &chip,
        line_digest: &digest,
        amount: req.amount,
        remaining,
        merchant: req.merchant,
        line_number: st.number,
        time: now,
        fee,
    };
    let mut w = Writer::new(ctx.out);
    body.write(&mut w, |b| apdu::crypto::sign(&key, b))?;
    let len = w.len();
    // Out only once committed.
    s.commit()?;
    Ok(len)
}
