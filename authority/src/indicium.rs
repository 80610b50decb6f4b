//! The postal operator's check of a postage indicium (`meter authority
//! scan`): the indicium verified against the meter certificate this
//! authority issued (found by its serial in the records) and the
//! authority's key, then recorded by device and ascending register. A
//! meter never signs two indicia with the same ascending register (every
//! indicium debits a postage of at least 1), so a second indicium with the
//! same pair is a copy of a stamp (or a meter whose state was rolled back):
//! it is flagged, counted, and not recorded as new postage.

use std::path::Path;

use apdu::cert::Certificate;
use apdu::cmd::postage::Indicium;
use apdu::crypto;
use rusqlite::{Connection, OptionalExtension, params};

use crate::{Authority, AuthorityError, DB_FILE, db};

/// What a scan found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScanOutcome {
    /// The first indicium of this device with this ascending register:
    /// recorded.
    Recorded,
    /// Another indicium of this device with this ascending register was
    /// scanned before: a copied stamp.
    Copy {
        /// When the first one was scanned (authority time).
        first_scanned_at: u64,
        /// Whether the bytes are those of the first one (a photocopy) or
        /// differ (the same register signed twice: a rolled-back meter).
        identical: bool,
        /// Copies seen so far, this one included.
        copies: u64,
    },
}

/// A scanned indicium.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scan {
    /// Device id: the meter serial.
    pub meter: String,
    /// Postage register, ascending, after the debit.
    pub ascending: u64,
    /// Postage, minor units.
    pub postage: u64,
    /// Piece count.
    pub pieces: u32,
    /// Mailing day, Unix seconds of 00:00 UTC.
    pub date: u64,
    /// What the records say.
    pub outcome: ScanOutcome,
}

fn invalid(msg: impl Into<String>) -> AuthorityError {
    AuthorityError::InvalidRequest(msg.into())
}

fn certificate_bytes(conn: &Connection, serial: u64) -> Result<Vec<u8>, AuthorityError> {
    conn.query_row(
        "SELECT bytes FROM certificates WHERE serial = ?1",
        params![db::to_int(serial, "certificate serial")?],
        |r| r.get(0),
    )
    .optional()?
    .ok_or_else(|| invalid(format!("this authority issued no certificate {serial}")))
}

impl Authority {
    /// The certificate `serial` from the records of the authority in
    /// `dir`, opened read-only (as [`Authority::read_public_key`]): what
    /// `meter postage verify` checks an indicium against.
    pub fn read_certificate(dir: &Path, serial: u64) -> Result<Vec<u8>, AuthorityError> {
        let db_path = dir.join(DB_FILE);
        if !db_path.is_file() {
            return Err(AuthorityError::NotFound(dir.to_path_buf()));
        }
        let conn = db::open_read_only(&db_path)?;
        certificate_bytes(&conn, serial)
    }

    /// The current certificate of meter `serial` (its bytes, `7F21`).
    pub fn meter_certificate(&self, serial: &str) -> Result<Vec<u8>, AuthorityError> {
        let cert: Option<i64> = self
            .conn
            .query_row(
                "SELECT certificate_serial FROM meters WHERE serial = ?1",
                params![serial],
                |r| r.get(0),
            )
            .optional()?;
        let cert = cert.ok_or_else(|| AuthorityError::UnknownMeter(serial.to_owned()))?;
        certificate_bytes(&self.conn, db::from_int(cert)?)
    }

    /// Verifies `bytes` as an indicium of a meter this authority
    /// certified, and records it; a second indicium with the same device
    /// and ascending register is flagged as a copy. An indicium that does
    /// not verify is refused and recorded nowhere.
    pub fn scan_indicium(&mut self, bytes: &[u8]) -> Result<Scan, AuthorityError> {
        let ind = Indicium::parse(bytes).map_err(|e| invalid(format!("not an indicium: {e}")))?;
        let b = ind.body;
        let meter = core::str::from_utf8(b.device)
            .map_err(|_| invalid("the indicium's device id is not text"))?
            .to_owned();
        let cert_bytes = certificate_bytes(&self.conn, b.certificate_serial)?;
        let cert = Certificate::parse(&cert_bytes)
            .map_err(|_| AuthorityError::Database("a stored certificate is malformed".into()))?;
        // The current key, or the one the last rollover replaced (the
        // meter certificate may be signed by it, valid until it expires).
        let key = crypto::public_key(&self.public_key())
            .ok_or_else(|| AuthorityError::Database("the authority key is malformed".into()))?;
        let mut checked = crypto::check_indicium(&ind, &cert, &key);
        if checked.is_err()
            && let Some(previous) = self.previous_public_key()
        {
            let again = crypto::check_indicium(&ind, &cert, &previous);
            if again.is_ok() {
                checked = again;
            }
        }
        checked.map_err(|e| invalid(format!("indicium refused: {}", e.reason())))?;
        let sha = crypto::sha256(bytes);
        let now = self.now();
        let tx = db::begin(&mut self.conn)?;
        let asc = db::to_int(b.ascending, "ascending register")?;
        let first: Option<(i64, Vec<u8>, i64)> = tx
            .query_row(
                "SELECT scanned_at, sha256, copies FROM indicia WHERE meter = ?1 AND ascending = ?2",
                params![meter, asc],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let outcome = match first {
            Some((at, first_sha, copies)) => {
                let copies = db::from_int(copies)? + 1;
                tx.execute(
                    "UPDATE indicia SET copies = ?3, last_copy_at = ?4
                     WHERE meter = ?1 AND ascending = ?2",
                    params![
                        meter,
                        asc,
                        db::to_int(copies, "copies")?,
                        db::to_int(now, "time")?
                    ],
                )?;
                ScanOutcome::Copy {
                    first_scanned_at: db::from_int(at)?,
                    identical: first_sha == sha,
                    copies,
                }
            }
            None => {
                tx.execute(
                    "INSERT INTO indicia (meter, ascending, certificate_serial, pieces, postage,
                         mailing_date, origin, destination, class, sha256, scanned_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                    params![
                        meter,
                        asc,
                        db::to_int(b.certificate_serial, "certificate serial")?,
                        i64::from(b.pieces),
                        db::to_int(b.postage, "postage")?,
                        db::to_int(b.date, "date")?,
                        String::from_utf8_lossy(b.origin),
                        String::from_utf8_lossy(b.destination),
                        String::from_utf8_lossy(b.class),
                        &sha[..],
                        db::to_int(now, "time")?,
                    ],
                )?;
                ScanOutcome::Recorded
            }
        };
        tx.commit()?;
        Ok(Scan {
            meter,
            ascending: b.ascending,
            postage: b.postage,
            pieces: b.pieces,
            date: b.date,
            outcome,
        })
    }

    /// The postage the operator has seen used by `meter`: the sum over the
    /// indicia recorded (copies not counted), and how many.
    pub fn scanned_postage(&self, meter: &str) -> Result<(u64, u64), AuthorityError> {
        let (sum, n): (i64, i64) = self.conn.query_row(
            "SELECT COALESCE(SUM(postage), 0), COUNT(*) FROM indicia WHERE meter = ?1",
            params![meter],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok((db::from_int(sum)?, db::from_int(n)?))
    }
}
