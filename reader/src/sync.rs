//! An authority contact that does nothing else (`meter sync`): the
//! authority's signed time and service policy, for this card and a fresh
//! challenge. The card's clock moves forward to the authority's time, and
//! the service period and the count of charged operations start again: a
//! lock lifts.

use authority_api::AuthorityService;

use crate::error::Error;
use crate::meter::{Meter, Status};
use crate::transport::Transport;

/// Syncs the personalized card behind `meter` with `authority`; returns
/// the status after.
pub fn sync<T: Transport, A: AuthorityService + ?Sized>(
    meter: &mut Meter<T>,
    authority: &mut A,
) -> Result<Status, Error> {
    meter.exclusive(|m| {
        let (serial, chip_id) = m.status()?.identity()?;
        let challenge = m.challenge()?;
        let message = authority.sync(&serial, &chip_id, &challenge)?;
        m.sync(&message)?;
        // [value] a contact brings a newer rate table.
        crate::rates::update_held(m, authority, &serial, &chip_id)?;
        m.status()
    })
}
