//! Inspection ([value] point 4): the card's signed audit report (`7F63`)
//! is checked against the meter's certified key, its chain (the report
//! number after the last one recorded, the previous report's hash) and the
//! authority's records: every load it made ([`reconcile_state`]). A
//! mismatch flags the meter as possibly tampered with (no more loads, no
//! contact); a report that agrees is a contact: the answer carries a SYNC
//! for the report's challenge, which restarts the service period and the
//! count of charged operations on the card. Every report is recorded.

use apdu::cmd::audit::{AuditReport, HASH_LEN};
use apdu::cmd::recharge::MeterState;
use apdu::meter::RegisterId;
use authority_api::{AuditAnswer, Inspection};
use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};

use crate::{Authority, AuthorityError, db, value};

/// Checks a card's reported state against the records of meter `serial`:
/// the loads the card counts must be the ones the authority issued (none
/// it confirmed missing: a rolled-back memory; none it never issued), each
/// register's control total (ascending + descending) must be the sum of
/// those loads into it, and nothing may be behind what an earlier receipt
/// or inspection showed (registers' ascending values, piece counts,
/// sequence, clock). Returns the reason of a mismatch.
pub(crate) fn reconcile_state(
    conn: &Connection,
    serial: &str,
    s: &MeterState,
) -> Result<Option<String>, AuthorityError> {
    let (issued, confirmed): (Option<i64>, Option<i64>) = conn.query_row(
        "SELECT MAX(number), MAX(CASE WHEN confirmed_at IS NOT NULL THEN number END)
         FROM loads WHERE meter = ?1",
        [serial],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let count = i64::from(s.load_count);
    if let Some(c) = confirmed.filter(|&c| count < c) {
        return Ok(Some(format!(
            "the card counts {count} loads but load {c} was confirmed: its memory was rolled back"
        )));
    }
    if count > issued.unwrap_or(0) {
        return Ok(Some(format!(
            "the card counts {count} loads but the authority issued {}",
            issued.unwrap_or(0)
        )));
    }
    for r in RegisterId::ALL {
        let loaded: i64 = conn.query_row(
            "SELECT COALESCE(SUM(amount), 0) FROM loads
             WHERE meter = ?1 AND register = ?2 AND number <= ?3",
            params![serial, r as u8, count],
            |row| row.get(0),
        )?;
        let loaded = db::from_int(loaded)?;
        let reg = s.register(r);
        if reg.control_total() != Some(loaded) {
            return Ok(Some(format!(
                "the {} register holds ascending {} + descending {} but the {count} loads the \
                 card counts put {loaded} into it",
                r.name(),
                reg.ascending,
                reg.descending
            )));
        }
        // Not behind a receipt of a load it counts.
        let receipt: Option<(i64, Option<i64>)> = conn
            .query_row(
                "SELECT number, ascending FROM loads
                 WHERE meter = ?1 AND register = ?2 AND number <= ?3 AND receipt IS NOT NULL
                 ORDER BY number DESC LIMIT 1",
                params![serial, r as u8, count],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()?;
        if let Some((n, Some(asc))) = receipt
            && reg.ascending < db::from_int(asc)?
        {
            return Ok(Some(format!(
                "the {} register's ascending value {} is behind the receipt of load {n} ({asc}): \
                 its memory was rolled back or altered",
                r.name(),
                reg.ascending
            )));
        }
    }
    // Not behind the last inspection that passed.
    let last: Option<[i64; 8]> = conn
        .query_row(
            "SELECT postage_ascending, certificate_ascending, postage_pieces,
                    certificate_pieces, sequence, card_time, load_count, number
             FROM inspections WHERE meter = ?1 AND flag_reason IS NULL
             ORDER BY id DESC LIMIT 1",
            [serial],
            |r| {
                Ok([
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                ])
            },
        )
        .optional()?;
    if let Some([pa, ca, pp, cp, seq, time, loads, number]) = last {
        let now = [
            ("postage ascending register", s.postage.ascending, pa),
            (
                "certificate ascending register",
                s.certificate.ascending,
                ca,
            ),
            ("postage piece count", u64::from(s.postage.pieces), pp),
            (
                "certificate piece count",
                u64::from(s.certificate.pieces),
                cp,
            ),
            ("transaction sequence", u64::from(s.sequence), seq),
            ("card clock", s.clock, time),
            ("load count", u64::from(s.load_count), loads),
        ];
        for (what, value, then) in now {
            let then = db::from_int(then)?;
            if value < then {
                return Ok(Some(format!(
                    "the {what} went back: {value}, but {then} at inspection {number}"
                )));
            }
        }
    }
    Ok(None)
}

/// Loads up to the card's count are applied (the card accepts only its
/// count + 1): the pending ones among them are confirmed.
pub(crate) fn confirm_applied(
    conn: &Connection,
    serial: &str,
    load_count: u32,
    now: u64,
) -> Result<(), AuthorityError> {
    conn.execute(
        "UPDATE loads SET confirmed_at = ?3
         WHERE meter = ?1 AND number <= ?2 AND confirmed_at IS NULL",
        params![serial, load_count, db::to_int(now, "time")?],
    )?;
    Ok(())
}

/// Flags meter `serial` (the first reason is kept).
pub(crate) fn flag(
    conn: &Connection,
    serial: &str,
    now: u64,
    reason: &str,
) -> Result<(), AuthorityError> {
    conn.execute(
        "UPDATE meters SET flagged_at = ?2, flag_reason = ?3
         WHERE serial = ?1 AND flagged_at IS NULL",
        params![serial, db::to_int(now, "time")?, reason],
    )?;
    Ok(())
}

const COLUMNS: &str = "meter, number, inspected_at, card_time, postage_ascending, \
     postage_descending, certificate_ascending, certificate_descending, postage_pieces, \
     certificate_pieces, load_count, sequence, flag_reason, note";

/// An inspections row before conversion: meter, the integers, flag, note.
type RawInspection = (String, [i64; 11], Option<String>, Option<String>);

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawInspection> {
    let mut v = [0i64; 11];
    for (i, x) in v.iter_mut().enumerate() {
        *x = r.get(i + 1)?;
    }
    Ok((r.get(0)?, v, r.get(12)?, r.get(13)?))
}

fn record((serial, v, flag, note): RawInspection) -> Result<Inspection, AuthorityError> {
    let u = |i: usize| db::from_int(v.get(i).copied().unwrap_or(-1));
    let u32_ = |i: usize| {
        u(i).and_then(|x| {
            u32::try_from(x).map_err(|_| AuthorityError::Database("a bad inspection".into()))
        })
    };
    Ok(Inspection {
        serial,
        number: u32_(0)?,
        inspected_at: u(1)?,
        card_time: u(2)?,
        postage: (u(3)?, u(4)?),
        certificate: (u(5)?, u(6)?),
        pieces: (u32_(7)?, u32_(8)?),
        load_count: u32_(9)?,
        sequence: u32_(10)?,
        flag,
        note,
    })
}

impl Authority {
    /// Inspects the card's audit report (7F63): signature by the meter's
    /// certified key, the chain, the reconciliation. Records the inspection
    /// in every case but a bad signature or an unknown meter; a mismatch
    /// flags the meter. When it passes (and the meter is not flagged nor
    /// revoked), the answer carries the contact: a SYNC for the report's
    /// challenge.
    pub fn audit(&mut self, report: &[u8]) -> Result<AuditAnswer, AuthorityError> {
        let r = AuditReport::parse(report)
            .map_err(|_| AuthorityError::InvalidRequest("not a well-formed audit report".into()))?;
        let b = r.body;
        let (serial, _) = self.signed_by_meter(&r.signed, b.serial, b.chip_id, "audit report")?;
        let hash: [u8; HASH_LEN] = Sha256::digest(r.signed.signed_bytes).into();
        let now = self.now();
        let s = b.state;

        let tx = db::begin(&mut self.conn)?;
        let last: Option<(i64, Vec<u8>)> = tx
            .query_row(
                "SELECT number, hash FROM inspections WHERE meter = ?1 AND flag_reason IS NULL
                 ORDER BY id DESC LIMIT 1",
                [&serial],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let seen: bool = tx
            .query_row(
                "SELECT 1 FROM inspections WHERE meter = ?1 AND number >= ?2 LIMIT 1",
                params![serial, b.number],
                |_| Ok(()),
            )
            .optional()?
            .is_some();
        let mut note = None;
        // The chain: a number not after the last one, or a link that is
        // not the last report, is a card restored from an older image.
        let chain = match &last {
            _ if seen => Some(format!(
                "report {} repeats a report number already inspected: the card's memory was \
                 rolled back",
                b.number
            )),
            Some((n, h)) if i64::from(b.number) == n + 1 && h[..] != b.previous[..] => {
                Some(format!(
                    "report {} does not chain to report {n}: the card's memory was rolled back \
                     or replaced",
                    b.number
                ))
            }
            Some((n, _)) if i64::from(b.number) > n + 1 => {
                note = Some(format!(
                    "reports {} to {} never reached the authority",
                    n + 1,
                    b.number - 1
                ));
                None
            }
            None if b.number > 1 => {
                note = Some(format!(
                    "reports 1 to {} never reached the authority",
                    b.number - 1
                ));
                None
            }
            None if b.previous != &[0u8; HASH_LEN] => Some(
                "the first report chains to an earlier one: the card's memory was altered".into(),
            ),
            _ => None,
        };
        let flag_reason = match chain {
            Some(reason) => Some(reason),
            None => reconcile_state(&tx, &serial, &s)?,
        };
        let int = |v: u64| db::to_int(v, "value");
        tx.execute(
            &format!(
                "INSERT INTO inspections ({COLUMNS}, report, hash)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)"
            ),
            params![
                serial,
                b.number,
                int(now)?,
                int(s.clock)?,
                int(s.postage.ascending)?,
                int(s.postage.descending)?,
                int(s.certificate.ascending)?,
                int(s.certificate.descending)?,
                s.postage.pieces,
                s.certificate.pieces,
                s.load_count,
                s.sequence,
                flag_reason,
                note,
                report,
                &hash[..],
            ],
        )?;
        let id = tx.last_insert_rowid();
        match &flag_reason {
            Some(reason) => flag(&tx, &serial, now, reason)?,
            None => confirm_applied(&tx, &serial, s.load_count, now)?,
        }
        let inspection = tx.query_row(
            &format!("SELECT {COLUMNS} FROM inspections WHERE id = ?1"),
            [id],
            row,
        )?;
        tx.commit()?;
        let inspection = record(inspection)?;
        // A contact only for a meter in good standing.
        let flagged = value::flag(&self.conn, &serial)?;
        let contact = if flag_reason.is_none() && flagged.is_none() {
            Some(self.sync(&serial, b.chip_id, b.challenge)?)
        } else {
            None
        };
        Ok(AuditAnswer {
            inspection,
            contact,
        })
    }

    /// The inspections of meter `serial`, oldest first.
    pub fn inspections(&self, serial: &str) -> Result<Vec<Inspection>, AuthorityError> {
        value::require_meter(&self.conn, serial)?;
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {COLUMNS} FROM inspections WHERE meter = ?1 ORDER BY id"
        ))?;
        let rows = stmt.query_map([serial], row)?;
        rows.map(|r| r.map_err(AuthorityError::from).and_then(record))
            .collect()
    }
}
