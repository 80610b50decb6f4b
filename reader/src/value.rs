//! Value loads, PC side: funds come only from the authority (the value
//! provider), in a message for this card's next load number; the card's
//! signed receipt goes back to the authority, which records the load as
//! confirmed.

use apdu::meter::RegisterId;
use authority_api::{AuthorityService, LoadRecord};

use crate::error::Error;
use crate::meter::Meter;
use crate::transport::Transport;

/// Loads `amount` minor units into `register` and returns the authority's
/// record. `authority` is any [`AuthorityService`].
pub fn load<T: Transport, A: AuthorityService + ?Sized>(
    meter: &mut Meter<T>,
    authority: &mut A,
    register: RegisterId,
    amount: u64,
) -> Result<LoadRecord, Error> {
    meter.exclusive(|meter| load_held(meter, authority, register, amount))
}

fn load_held<A: AuthorityService + ?Sized>(
    meter: &mut Meter<&mut dyn Transport>,
    authority: &mut A,
    register: RegisterId,
    amount: u64,
) -> Result<LoadRecord, Error> {
    let status = meter.status()?;
    let serial = status.serial.ok_or(Error::NotPersonalized)?;
    let message = authority.value_load(&serial, register, amount, next_load(status.load_count)?)?;
    let receipt = meter.load_value(&message)?;
    Ok(authority.confirm_load(&receipt)?)
}

/// The number the card accepts next.
fn next_load(count: u32) -> Result<u32, Error> {
    count.checked_add(1).ok_or(Error::LoadsExhausted)
}
