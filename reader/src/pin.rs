//! The owner PIN, PC side: changing the transport PIN a new card comes with
//! (the card refuses to spend or personalize until then), and unblocking a
//! forgotten or blocked PIN through the authority.

use authority_api::AuthorityService;

use crate::error::Error;
use crate::meter::Meter;
use crate::transport::Transport;

/// Unblocks the owner PIN of the personalized card behind `meter`: the
/// authority (which must have checked the holder) signs an unblock message
/// for this card's chip id, serial and a fresh challenge; the card then
/// takes `new_pin` as its owner PIN, with full tries.
pub fn unblock<T: Transport, A: AuthorityService + ?Sized>(
    meter: &mut Meter<T>,
    authority: &mut A,
    new_pin: &[u8],
) -> Result<(), Error> {
    if !apdu::meter::pin_well_formed(new_pin) {
        return Err(Error::Input(format!(
            "the new PIN must be {} to {} characters",
            apdu::meter::PIN_MIN_LEN,
            apdu::meter::PIN_MAX_LEN
        )));
    }
    meter.exclusive(|m| {
        let (serial, chip_id) = m.status()?.identity()?;
        let challenge = m.challenge()?;
        let message = authority.unblock(&serial, &chip_id, &challenge)?;
        m.unblock(&message, new_pin)
    })
}
