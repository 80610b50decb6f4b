//! Recharging ([value] point 1), PC side: `meter recharge`.
//!
//! | step | card | PC / authority |
//! | --- | --- | --- |
//! | R1 | GET CHALLENGE, RECHARGE REQUEST: the signed request over the card's state and the nonce | [`Meter::recharge_request`] |
//! | R2 | - | `AuthorityService::recharge`: verifies, reconciles, issues the next load bound to the nonce |
//! | R3 | LOAD VALUE: applies it once (the nonce is consumed), signs the receipt | [`Meter::load_value`] |
//! | R4 | - | `AuthorityService::confirm_load`; the control total grew by exactly the load |
//! | R5 | RATE UPDATE when the authority's table is newer | [`crate::rates::update_held`] |

use apdu::cmd::recharge::RechargeRequest;
use apdu::message::LoadReceipt;
use apdu::meter::RegisterId;
use authority_api::{AuthorityService, LoadRecord};
use serde::Serialize;

use crate::error::Error;
use crate::meter::Meter;
use crate::transport::Transport;

/// What a recharge did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Recharge {
    /// The authority's record of the load.
    #[serde(skip)]
    pub load: LoadRecord,
    /// The register's control total (ascending + descending) before.
    pub control_before: u64,
    /// After: `control_before` + the amount, exactly.
    pub control_after: u64,
    /// The rate table version installed at this contact, if any.
    pub rates_installed: Option<u32>,
}

/// Recharges `amount` minor units into `register` from `authority`.
pub fn recharge<T: Transport, A: AuthorityService + ?Sized>(
    meter: &mut Meter<T>,
    authority: &mut A,
    register: RegisterId,
    amount: u64,
) -> Result<Recharge, Error> {
    meter.exclusive(|m| {
        let (serial, chip_id) = m.status()?.identity()?;
        m.challenge()?;
        let request = m.recharge_request(register, amount)?;
        let before = RechargeRequest::parse(&request)
            .ok()
            .and_then(|r| r.body.state.register(register).control_total())
            .ok_or_else(|| Error::Malformed("the card's recharge request".into()))?;
        let message = authority.recharge(&request)?;
        let receipt = m.load_value(&message)?;
        let load = crate::value::confirm(authority, &receipt)?;
        let r = LoadReceipt::parse(&receipt)
            .map_err(|_| Error::Malformed("the card's load receipt".into()))?;
        let after = r.ascending.checked_add(r.descending);
        if after != before.checked_add(amount) || r.amount != amount || r.register != register {
            return Err(Error::Malformed(format!(
                "the card's control total went from {before} to {after:?} for a load of {amount}"
            )));
        }
        let rates_installed = crate::rates::update_held(m, authority, &serial, &chip_id)?;
        Ok(Recharge {
            load,
            control_before: before,
            control_after: before + amount,
            rates_installed,
        })
    })
}
