//! Value loads, PC side: funds come only from the authority (the value
//! provider), in a message for this card's next load number; the card's
//! signed receipt goes back to the authority, which records the load as
//! confirmed.

use std::time::Duration;

use apdu::message::LoadReceipt;
use apdu::meter::RegisterId;
use authority_api::{AuthorityService, LoadRecord, ServiceError};

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
    confirm(authority, &receipt)
}

/// How many times a receipt is offered to an authority that could not
/// serve ([`ServiceError::Unavailable`], e.g. its database busy).
pub const CONFIRM_TRIES: u32 = 4;

/// The pause before the n-th retry of a confirmation: 250 ms, 500 ms, 1 s.
fn pause(retry: u32) -> Duration {
    Duration::from_millis(250u64 << retry.min(4))
}

/// Offers the receipt of a load the card applied: an authority that could
/// not serve is asked again (bounded); if it still cannot, the load is
/// reported as credited but unconfirmed ([`Error::Unconfirmed`]), never as
/// failed. A refusal (a bad or flagged receipt) is returned at once.
pub(crate) fn confirm<A: AuthorityService + ?Sized>(
    authority: &mut A,
    receipt: &[u8],
) -> Result<LoadRecord, Error> {
    let mut retry = 0;
    loop {
        match authority.confirm_load(receipt) {
            Err(ServiceError::Unavailable(_)) if retry + 1 < CONFIRM_TRIES => {
                std::thread::sleep(pause(retry));
                retry += 1;
            }
            Err(reason @ ServiceError::Unavailable(_)) => {
                let r = LoadReceipt::parse(receipt)
                    .map_err(|_| Error::Malformed("the card's load receipt".into()))?;
                return Err(Error::Unconfirmed {
                    serial: String::from_utf8_lossy(r.serial).into_owned(),
                    number: r.number,
                    register: r.register.name(),
                    amount: r.amount,
                    reason,
                });
            }
            other => return Ok(other?),
        }
    }
}

/// The number the card accepts next.
fn next_load(count: u32) -> Result<u32, Error> {
    count.checked_add(1).ok_or(Error::LoadsExhausted)
}
