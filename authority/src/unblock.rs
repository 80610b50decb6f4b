//! PIN unblock: the authority checks the card's holder (in this local
//! authority, `meter authority approve-unblock SERIAL` stands for that
//! check and records it), then signs one unblock message (`7F74`) for the
//! card's chip id, serial and challenge; the approval is used up.

use apdu::message::{UNBLOCK, UnblockBody};
use rusqlite::{OptionalExtension, params};

use crate::{Authority, AuthorityError, db, keys};

impl Authority {
    /// The meter `serial`, which must be personalized on chip `chip_id`:
    /// what every contact answering a card's challenge checks first.
    pub(crate) fn meter_on_chip(
        &self,
        serial: &str,
        chip_id: &[u8; 8],
    ) -> Result<crate::MeterRecord, AuthorityError> {
        let meter = self
            .meter(serial)?
            .ok_or_else(|| AuthorityError::UnknownMeter(serial.to_owned()))?;
        if meter.chip_id != hex::encode(chip_id) {
            return Err(AuthorityError::InvalidRequest(format!(
                "meter {serial} is not on this card"
            )));
        }
        Ok(meter)
    }

    /// A card's signed object (`signed`, naming meter `serial` on chip
    /// `chip_id`): the meter must be on that chip, and the object signed by
    /// the meter key this authority certified for it; `what` names the
    /// object in the refusal. Returns the serial and the meter's record.
    pub(crate) fn signed_by_meter(
        &self,
        signed: &apdu::signed::Signed<'_>,
        serial: &[u8],
        chip_id: &[u8; 8],
        what: &str,
    ) -> Result<(String, crate::MeterRecord), AuthorityError> {
        let serial = std::str::from_utf8(serial)
            .map_err(|_| AuthorityError::UnknownMeter(String::from_utf8_lossy(serial).into()))?
            .to_owned();
        let meter = self.meter_on_chip(&serial, chip_id)?;
        let key = apdu::crypto::public_key(&meter.public_key)
            .ok_or_else(|| AuthorityError::Database("a stored meter key is invalid".into()))?;
        if !apdu::crypto::verify_signed(signed, &key) {
            return Err(AuthorityError::InvalidRequest(format!(
                "the {what} is not signed by the meter's certified key"
            )));
        }
        Ok((serial, meter))
    }

    /// Records that the holder of meter `serial` was checked: the next
    /// [`Authority::unblock`] for it is signed.
    pub fn approve_unblock(&mut self, serial: &str) -> Result<(), AuthorityError> {
        if self.meter(serial)?.is_none() {
            return Err(AuthorityError::UnknownMeter(serial.to_owned()));
        }
        let now = db::to_int(self.now(), "time")?;
        self.conn.execute(
            "INSERT INTO unblock_approvals (meter, approved_at) VALUES (?1, ?2)
             ON CONFLICT (meter) DO UPDATE SET approved_at = excluded.approved_at",
            params![serial, now],
        )?;
        Ok(())
    }

    /// The signed unblock message for meter `serial` on chip `chip_id`,
    /// answering the card's `challenge`: only after the holder was checked
    /// ([`Authority::approve_unblock`]), whose approval it uses up.
    pub fn unblock(
        &mut self,
        serial: &str,
        chip_id: &[u8; 8],
        challenge: &[u8; 16],
    ) -> Result<Vec<u8>, AuthorityError> {
        self.meter_on_chip(serial, chip_id)?;
        let now = self.now();
        let tx = db::begin(&mut self.conn)?;
        let approved: Option<i64> = tx
            .query_row(
                "SELECT approved_at FROM unblock_approvals WHERE meter = ?1",
                [serial],
                |r| r.get(0),
            )
            .optional()?;
        if approved.is_none() {
            return Err(AuthorityError::InvalidRequest(format!(
                "the holder of meter {serial} was not checked: the authority approves an unblock first (`meter authority approve-unblock {serial}`)"
            )));
        }
        tx.execute("DELETE FROM unblock_approvals WHERE meter = ?1", [serial])?;
        let message = keys::signed_object(UNBLOCK, &self.key, |w| {
            UnblockBody {
                chip_id,
                serial: serial.as_bytes(),
                challenge,
                time: now,
            }
            .write_fields(w)
        })?;
        tx.commit()?;
        Ok(message)
    }
}
