//! RECHARGE REQUEST ([value] point 1, recharging; value-load step R1): the
//! card signs, with the meter key (246), a request for an amount into one
//! register over its state (registers 244/250 with their control totals,
//! piece counts 242/248, counters, secure clock 232, rate-table version)
//! and its GET CHALLENGE nonce, read and not consumed. The authority
//! reconciles it with its records and answers a value load bound to this
//! card and that nonce, which LOAD VALUE ([`super::load_value`]'s flow, the
//! one code path that credits a register) applies once. Nothing is
//! written here.

use apdu::StatusWord;
use apdu::cmd::recharge::RechargeRequestBody;
use apdu::meter::{METER_CERTIFICATE_SLOT, RegisterId};
use apdu::tlv::Writer;

use crate::context::Context;
use crate::error::Result;
use crate::platform::Platform;
use crate::{certificates, clock, records, state};

/// RECHARGE REQUEST. The dispatcher checked Personalized.
pub fn request<P: Platform>(
    ctx: &mut Context<'_, P>,
    register: RegisterId,
    amount: &[u8; 8],
) -> Result<usize> {
    let s = &*ctx.store;
    let amount = u64::from_be_bytes(*amount);
    let now = clock::now(s, &*ctx.platform)?;
    let state = records::meter_state(s, now)?;
    // A load of nothing, or one the register could not hold, is refused
    // here: the authority would refuse it anyway.
    let total = state.register(register).control_total();
    if amount == 0 || total.and_then(|t| t.checked_add(amount)).is_none() {
        return Err(StatusWord::INCORRECT_DATA.into());
    }
    // No loads once the meter certificate is revoked (Figure 6).
    certificates::check_not_revoked(s, METER_CERTIFICATE_SLOT.into())?;
    let challenge = ctx
        .ram
        .challenge
        .ok_or(StatusWord::REFERENCE_DATA_NOT_USABLE)?;
    let chip_id = state::chip_id(s)?;
    let body = RechargeRequestBody {
        chip_id: &chip_id,
        serial: state::serial(s)?,
        challenge: &challenge,
        register,
        amount,
        state,
    };
    let key = state::meter_signing_key(s, ctx.ram)?.ok_or(StatusWord::CONDITIONS_NOT_SATISFIED)?;
    let mut w = Writer::new(ctx.out);
    body.write(&mut w, |b| apdu::crypto::sign(&key, b))?;
    Ok(w.len())
}
