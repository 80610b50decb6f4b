//! Inspection ([value] point 4), PC side: `meter audit`.
//!
//! | step | card | PC / authority |
//! | --- | --- | --- |
//! | A1 | GET CHALLENGE, AUDIT: the signed report, numbered and chained, its count and hash committed | [`Meter::audit`] |
//! | A2 | - | `AuthorityService::audit`: signature, chain, reconciliation with every load; records the inspection, flags a mismatch |
//! | A3 | SYNC with the authority's answer for the same nonce: the inspection is a contact | [`Meter::sync`] |
//! | A4 | RATE UPDATE when the authority's table is newer | [`crate::rates::update_held`] |

use authority_api::{AuthorityService, Inspection};

use crate::error::Error;
use crate::meter::Meter;
use crate::transport::Transport;

/// What an audit did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Audit {
    /// The authority's record (with its flag when the report did not
    /// reconcile).
    pub inspection: Inspection,
    /// Whether the card took the authority's contact (SYNC).
    pub contact: bool,
    /// The rate table version installed at this contact, if any.
    pub rates_installed: Option<u32>,
}

/// Has the card inspected by `authority`.
pub fn audit<T: Transport, A: AuthorityService + ?Sized>(
    meter: &mut Meter<T>,
    authority: &mut A,
) -> Result<Audit, Error> {
    meter.exclusive(|m| {
        let (serial, chip_id) = m.status()?.identity()?;
        m.challenge()?;
        let report = m.audit()?;
        let answer = authority.audit(&report)?;
        let mut rates_installed = None;
        let contact = match &answer.contact {
            Some(sync) => {
                m.sync(sync)?;
                rates_installed = crate::rates::update_held(m, authority, &serial, &chip_id)?;
                true
            }
            None => false,
        };
        Ok(Audit {
            inspection: answer.inspection,
            contact,
            rates_installed,
        })
    })
}
