//! The rate table (Figure 2, 257; [value] point 2), versioned: every change
//! ([`Authority::set_rate`]) is a new version kept whole in the records
//! (`rate_tables`). Version 0 is the table as it was before any change,
//! the one personalization installs on a card that never had another. A
//! personalized card takes a newer table only as a signed rate update
//! (`7F62`) bound to it and to its challenge, at a contact.

use apdu::cmd::rate_update::RateUpdate;
use apdu::meter::{Service, rate_entry};
use apdu::tlv::Writer;
use rusqlite::Connection;

use crate::{Authority, AuthorityError};

/// Stores `rates` as the next version (inside the caller's transaction);
/// returns it.
pub(crate) fn record_version(
    tx: &Connection,
    rates: &[(Service, u64)],
    now: i64,
) -> Result<u32, AuthorityError> {
    let current = current_version(tx)?;
    let version = current
        .checked_add(1)
        .ok_or_else(|| AuthorityError::Database("rate table versions exhausted".into()))?;
    let entries: Vec<u8> = rates
        .iter()
        .flat_map(|&(s, fee)| rate_entry(s, fee))
        .collect();
    tx.execute(
        "INSERT INTO rate_tables (version, entries, created_at) VALUES (?1, ?2, ?3)",
        rusqlite::params![version, entries, now],
    )?;
    Ok(version)
}

fn current_version(conn: &Connection) -> Result<u32, AuthorityError> {
    let v: Option<i64> =
        conn.query_row("SELECT MAX(version) FROM rate_tables", [], |r| r.get(0))?;
    u32::try_from(v.unwrap_or(0))
        .map_err(|_| AuthorityError::Database("a bad rate table version".into()))
}

impl Authority {
    /// The rate table's current version (0: never changed).
    pub fn rate_version(&self) -> Result<u32, AuthorityError> {
        current_version(&self.conn)
    }

    /// The signed rate update (7F62) carrying the current table and its
    /// version for meter `serial` on chip `chip_id`, answering the card's
    /// `challenge`. Refused for an unknown meter or one on another chip.
    pub fn rate_update(
        &mut self,
        serial: &str,
        chip_id: &[u8; 8],
        challenge: &[u8; 16],
    ) -> Result<(u32, Vec<u8>), AuthorityError> {
        self.meter_on_chip(serial, chip_id)?;
        let version = self.rate_version()?;
        let mut buf = vec![0u8; 1024];
        let mut w = Writer::new(&mut buf);
        let key = &self.key;
        RateUpdate::write(
            &mut w,
            chip_id,
            serial.as_bytes(),
            challenge,
            version,
            self.rates.iter().copied(),
            |body| apdu::crypto::sign(key, body),
        )
        .map_err(|_| AuthorityError::Database("the rate update does not fit".into()))?;
        let n = w.len();
        buf.truncate(n);
        Ok((version, buf))
    }
}
