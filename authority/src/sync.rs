//! SYNC: an authority contact that does nothing else ([trust], point 4).
//! The authority signs its time and service policy for the card's chip id,
//! serial and challenge (`7F75`); the card's clock moves to that time and
//! the contact lifts a lock-out.

use apdu::message::{SYNC, SyncBody};

use crate::{Authority, AuthorityError, db, keys};

impl Authority {
    /// The signed sync message (7F75) for meter `serial` on chip `chip_id`,
    /// answering the card's `challenge`: the authority's time and its
    /// service policy. Refused for an unknown or revoked meter, or one on
    /// another chip.
    pub fn sync(
        &mut self,
        serial: &str,
        chip_id: &[u8; 8],
        challenge: &[u8; 16],
    ) -> Result<Vec<u8>, AuthorityError> {
        let meter = self.meter_on_chip(serial, chip_id)?;
        let revoked: Option<i64> = self.conn.query_row(
            "SELECT revoked_at FROM certificates WHERE serial = ?1",
            [db::to_int(meter.certificate_serial, "serial")?],
            |r| r.get(0),
        )?;
        if revoked.is_some() {
            return Err(AuthorityError::InvalidRequest(format!(
                "the certificate of meter {serial} is revoked"
            )));
        }
        let policy = self.policy()?;
        let now = self.now();
        let expiry: i64 = self.conn.query_row(
            "SELECT expiry FROM certificates WHERE serial = ?1",
            [db::to_int(meter.certificate_serial, "serial")?],
            |r| r.get(0),
        )?;
        // Serviced no longer than its certificate is valid.
        let deadline = Authority::service_deadline(now, &policy).min(db::from_int(expiry)?);
        keys::signed_object(SYNC, &self.key, |w| {
            SyncBody {
                chip_id,
                serial: serial.as_bytes(),
                challenge,
                time: now,
                deadline,
                policy,
            }
            .write_fields(w)
        })
    }
}
