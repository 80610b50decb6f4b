//! The rate table at a contact ([value] point 2, Figure 2, 257): when the
//! authority's table is newer than the card's, the authority signs it for
//! this card and a fresh challenge, and the card installs it (RATE
//! UPDATE). SYNC, recharge and audit call this after their contact;
//! `meter rates` shows the card's table.

use authority_api::AuthorityService;

use crate::error::Error;
use crate::meter::Meter;
use crate::transport::Transport;

/// Brings the card's rate table up to the authority's version, if it is
/// behind, within an exclusive flow; returns the version installed
/// (`None`: the card was current). One GET DATA when the authority ever
/// changed its table; nothing at all when it never did.
pub fn update_held<A: AuthorityService + ?Sized>(
    m: &mut Meter<&mut dyn Transport>,
    authority: &mut A,
    serial: &str,
    chip_id: &[u8; 8],
) -> Result<Option<u32>, Error> {
    let version = authority.rate_version()?;
    if version == 0 {
        return Ok(None);
    }
    let (card, _) = m.rate_table()?;
    if card >= version {
        return Ok(None);
    }
    let challenge = m.challenge()?;
    let (version, message) = authority.rate_update(serial, chip_id, &challenge)?;
    m.rate_update(&message)?;
    Ok(Some(version))
}

/// [`update_held`] in its own exclusive flow (a contact of its own).
pub fn update<T: Transport, A: AuthorityService + ?Sized>(
    meter: &mut Meter<T>,
    authority: &mut A,
) -> Result<Option<u32>, Error> {
    meter.exclusive(|m| {
        let (serial, chip_id) = m.status()?.identity()?;
        update_held(m, authority, &serial, &chip_id)
    })
}
