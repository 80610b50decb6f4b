//! Figure 5, installing a certificate, as the host runs it: the funds
//! check (504/506) on the card's status, the channel (508), the key
//! request relayed to the card (510/512), the holder's enrollment code to
//! the authority (514/516), the certificate relayed back (518) and its
//! installation with the charge (520). The host relays opaque bytes.

use apdu::cert::usage;
use apdu::meter::Service;
use authority_api::AuthorityService;

use crate::error::Error;
use crate::meter::Meter;
use crate::transport::Transport;

/// Installs a certificate for `holder` (SIGNING) valid `valid_days`,
/// presenting the holder's enrollment `code`; returns the slot.
pub fn install<T: Transport, A: AuthorityService + ?Sized>(
    meter: &mut Meter<T>,
    authority: &mut A,
    holder: &str,
    code: &str,
    valid_days: u32,
) -> Result<u8, Error> {
    run(
        meter,
        authority,
        holder,
        usage::SIGNING,
        code,
        valid_days,
        None,
    )
}

/// [`install`] with the certificate's `uses` ([`usage::HOLDER`] bits:
/// SIGNING, AUTHENTICATION or both).
pub fn install_with_uses<T: Transport, A: AuthorityService + ?Sized>(
    meter: &mut Meter<T>,
    authority: &mut A,
    holder: &str,
    uses: u8,
    code: &str,
    valid_days: u32,
) -> Result<u8, Error> {
    run(meter, authority, holder, uses, code, valid_days, None)
}

/// `meter cert import`, the lower-assurance variant: as [`install`], but
/// with the holder's own `private_key`, which the host hands only to the
/// authority, which seals it to the card over the channel; the
/// certificate is marked imported.
pub fn import<T: Transport, A: AuthorityService + ?Sized>(
    meter: &mut Meter<T>,
    authority: &mut A,
    holder: &str,
    code: &str,
    valid_days: u32,
    private_key: &[u8; 32],
) -> Result<u8, Error> {
    run(
        meter,
        authority,
        holder,
        usage::SIGNING,
        code,
        valid_days,
        Some(private_key),
    )
}

fn run<T: Transport, A: AuthorityService + ?Sized>(
    meter: &mut Meter<T>,
    authority: &mut A,
    holder: &str,
    uses: u8,
    code: &str,
    valid_days: u32,
    private_key: Option<&[u8; 32]>,
) -> Result<u8, Error> {
    meter.exclusive(|meter| {
        // 504 / 506: the card checks again; this spares the round trips.
        let status = meter.status()?;
        let fee = meter
            .rates()?
            .into_iter()
            .find(|(s, _)| *s == Service::InstallCertificate)
            .map(|(_, fee)| fee)
            .ok_or(Error::Card {
                sw: apdu::StatusWord::CONDITIONS_NOT_SATISFIED,
            })?;
        if status.registers.certificate.descending < fee {
            return Err(Error::Card {
                sw: apdu::StatusWord::INSUFFICIENT_FUNDS,
            });
        }
        // 508.
        let id = crate::channel::open(meter, authority)?;
        // 510 / 512.
        let key_request = match private_key {
            None => authority.install_key_request(id, holder, uses)?,
            Some(k) => authority.install_key_request_imported(id, holder, uses, k)?,
        };
        let request = meter.install_key(&key_request)?;
        // 514 / 516, 518.
        let certificate = authority.install_issue(id, &request, code, valid_days)?;
        // 520.
        let answer = meter.install_certificate(&certificate)?;
        Ok(authority.install_confirm(id, &answer)?)
    })
}
