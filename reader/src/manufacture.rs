//! The factory's step for a new card: the issuer certifies the attestation
//! key the card made at manufacture, bound to its chip id, and the
//! certificate goes into the card (STORE ATTESTATION CERTIFICATE). The
//! issuer root itself is pinned when the card is made
//! (`applet_sim::sim::SimConfig::issuer_root`, `meter card new`).

use authority_api::AuthorityService;

use crate::error::Error;
use crate::meter::Meter;
use crate::transport::Transport;

/// Certifies the attestation key of the blank card behind `meter` with
/// `issuer` and stores the certificate in the card. SELECTs first.
pub fn certify_attestation<T: Transport, A: AuthorityService + ?Sized>(
    meter: &mut Meter<T>,
    issuer: &mut A,
) -> Result<(), Error> {
    meter.select()?;
    let chip_id = meter.status()?.chip_id_bytes()?;
    let (key, _) = meter.read_attestation()?;
    let certificate = issuer.certify_card(&chip_id, &key)?;
    meter.store_attestation(&certificate)
}
