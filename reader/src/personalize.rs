//! Personalization, PC side: the PC carries messages between the blank card
//! and the authority (Figure 2: ports 216/234 and the modem to 222). The
//! card generates its meter key itself (235/246); the authority certifies
//! it in a Figure 1 certificate and answers the card's challenge with a
//! signed personalization message; then the initial funds are loaded.

use apdu::meter::RegisterId;
use authority::{Authority, PersonalizationRequest};

use crate::error::Error;
use crate::meter::Meter;
use crate::transport::Transport;
use crate::value;

/// What personalization did.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Personalized {
    /// The meter serial.
    pub serial: String,
    /// The meter certificate's serial.
    pub certificate_serial: u64,
    /// Funds loaded into the certificate register, minor units.
    pub funds: u64,
}

pub(crate) fn authority_error(e: authority::AuthorityError) -> Error {
    Error::Authority(e.to_string())
}

/// Personalizes a blank card as meter `serial` and loads `funds` (minor
/// units, may be 0) into its certificate register. The owner PIN must have
/// been verified.
pub fn personalize<T: Transport>(
    meter: &mut Meter<T>,
    authority: &mut Authority,
    serial: &str,
    funds: u64,
) -> Result<Personalized, Error> {
    meter.exclusive(|m| personalize_held(m, authority, serial, funds))
}

fn personalize_held(
    meter: &mut Meter<&mut dyn Transport>,
    authority: &mut Authority,
    serial: &str,
    funds: u64,
) -> Result<Personalized, Error> {
    let status = meter.status()?;
    if status.personalized {
        return Err(Error::Authority(format!(
            "this card is already personalized as meter {}",
            status.serial.unwrap_or_default()
        )));
    }
    let chip_id = hex::decode(&status.chip_id)
        .ok()
        .and_then(|c| <[u8; 8]>::try_from(c).ok())
        .ok_or_else(|| Error::Malformed("chip id".into()))?;
    // Everything the authority can refuse without the card's key is checked
    // before the card is touched.
    authority
        .check_personalization(&chip_id, serial, funds)
        .map_err(authority_error)?;
    // A card whose earlier personalization did not complete keeps its key:
    // the authority re-issues only for the key it already certified.
    let key = if status.meter_key {
        meter.meter_public_key()?
    } else {
        meter.generate_meter_key()?
    };
    let meter_public_key = key
        .try_into()
        .map_err(|_| Error::Malformed("meter public key".into()))?;
    let challenge = meter.challenge()?;
    let message = authority
        .personalize(&PersonalizationRequest {
            chip_id,
            challenge,
            meter_public_key,
            serial: serial.to_owned(),
        })
        .map_err(authority_error)?;
    meter.personalize(&message)?;
    let certificate_serial = authority
        .meter(serial)
        .map_err(authority_error)?
        .map(|m| m.certificate_serial)
        .unwrap_or_default();
    if funds > 0 {
        value::load(meter, authority, RegisterId::Certificate, funds).map_err(|e| {
            Error::FundsNotLoaded {
                serial: serial.to_owned(),
                source: Box::new(e),
            }
        })?;
    }
    Ok(Personalized {
        serial: serial.to_owned(),
        certificate_serial,
        funds,
    })
}
