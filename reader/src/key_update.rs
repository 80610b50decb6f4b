//! [certs] point 6 on the host: after the authority's key rollover, a card
//! still holding the replaced key gets the current one (KEY UPDATE, `7F51`:
//! the new key's certificate by the issuer root, signed by the key the card
//! holds and bound to its challenge). A host runs it at a contact before
//! the authority's other messages, which the current key signs: the `meter`
//! CLI does before `load` and `sync`, and `meter key-update` runs it alone.

use authority_api::AuthorityService;

use crate::error::Error;
use crate::meter::Meter;
use crate::transport::Transport;

/// Brings the card behind `meter` to `authority`'s current key; `true`
/// when it took an update, `false` when it already held the key.
pub fn update<T: Transport, A: AuthorityService + ?Sized>(
    meter: &mut Meter<T>,
    authority: &mut A,
) -> Result<bool, Error> {
    meter.exclusive(|m| {
        let (serial, chip_id) = m.status()?.identity()?;
        let challenge = m.challenge()?;
        match authority.key_update_for(&serial, &chip_id, &challenge)? {
            None => Ok(false),
            Some(message) => {
                m.key_update(&message)?;
                authority.key_updated(&serial)?;
                Ok(true)
            }
        }
    })
}
