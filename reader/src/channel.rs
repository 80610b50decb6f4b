//! The card-authority channel (Figure 2, comm key 256; Figure 5, 508), as
//! the host relays it: opaque bytes between the card and the authority.
//! The host never holds a channel key or sees a plaintext.

use authority_api::AuthorityService;

use crate::error::Error;
use crate::meter::Meter;
use crate::transport::Transport;

/// Registers the card's static channel key with the authority: the
/// authority's nonce, the card's registration signed by its meter key
/// (bound to the chip id), checked and recorded by the authority.
pub fn register<T: Transport, A: AuthorityService + ?Sized>(
    meter: &mut Meter<T>,
    authority: &mut A,
) -> Result<(), Error> {
    meter.exclusive(|meter| {
        let serial = meter.status()?.serial.ok_or(Error::NotPersonalized)?;
        let nonce = authority.channel_nonce(&serial)?;
        let registration = meter.channel_key(&nonce)?;
        authority.register_channel_key(&serial, &registration)?;
        Ok(())
    })
}

/// Opens a channel (Figure 5, 508): the card's request, the authority's
/// hello, then key confirmation (the authority's sealed challenge, the
/// card's sealed answer). Returns the authority's channel id; the card
/// keeps its side in RAM until reset or SELECT.
pub fn open<T: Transport, A: AuthorityService + ?Sized>(
    meter: &mut Meter<T>,
    authority: &mut A,
) -> Result<u64, Error> {
    meter.exclusive(|meter| {
        let serial = meter.status()?.serial.ok_or(Error::NotPersonalized)?;
        let request = meter.open_channel()?;
        let (id, hello) = authority.open_channel(&serial, &request)?;
        meter.channel_hello(&hello)?;
        let confirm = authority.channel_confirm(id)?;
        let answer = meter.channel_message(&confirm)?;
        authority.channel_confirmed(id, &answer)?;
        Ok(id)
    })
}
