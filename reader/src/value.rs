//! Value loads, PC side: funds come only from the authority (the value
//! provider), in a message for this card's next load number; the card's
//! signed receipt goes back to the authority, which records the load as
//! confirmed.

use apdu::meter::RegisterId;
use authority::{Authority, LoadRecord};

use crate::error::Error;
use crate::meter::Meter;
use crate::personalize::authority_error;
use crate::transport::Transport;

/// Loads `amount` minor units into `register` and returns the authority's record.
pub fn load<T: Transport>(
    meter: &mut Meter<T>,
    authority: &mut Authority,
    register: RegisterId,
    amount: u64,
) -> Result<LoadRecord, Error> {
    meter.exclusive(|meter| load_held(meter, authority, register, amount))
}

fn load_held(
    meter: &mut Meter<&mut dyn Transport>,
    authority: &mut Authority,
    register: RegisterId,
    amount: u64,
) -> Result<LoadRecord, Error> {
    let status = meter.status()?;
    let serial = status
        .serial
        .ok_or_else(|| Error::Authority("the card is not personalized yet".into()))?;
    let message = authority
        .value_load(&serial, register, amount, next_load(status.load_count)?)
        .map_err(authority_error)?;
    let receipt = meter.load_value(&message)?;
    authority.confirm_load(&receipt).map_err(authority_error)
}

/// The number the card accepts next.
fn next_load(count: u32) -> Result<u32, Error> {
    count
        .checked_add(1)
        .ok_or_else(|| Error::Authority("the card's load counter is exhausted".into()))
}
