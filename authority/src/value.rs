//! Value: the authority signs loads ([`apdu::message::ValueLoad`]) for a
//! meter's next load number and records them as issued; the card's signed
//! receipt ([`apdu::message::LoadReceipt`]) confirms them.

use apdu::message::{
    AMOUNT, CHALLENGE, CHIP_ID, DEADLINE, LOAD_NUMBER, LoadReceipt, REGISTER, TIME, VALUE_LOAD,
};
use apdu::meter::RegisterId;
use rusqlite::{Connection, OptionalExtension, params};

use crate::{Authority, AuthorityError, db, keys};

pub use authority_api::LoadRecord;

const LOAD_COLUMNS: &str = "meter, number, register, amount, issued_at, confirmed_at, \
                            ascending, descending, card_time";

fn load_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawLoad> {
    Ok(RawLoad {
        serial: r.get(0)?,
        number: r.get(1)?,
        register: r.get(2)?,
        amount: r.get(3)?,
        issued_at: r.get(4)?,
        confirmed_at: r.get(5)?,
        ascending: r.get(6)?,
        descending: r.get(7)?,
        card_time: r.get(8)?,
    })
}

/// A loads row before conversion.
struct RawLoad {
    serial: String,
    number: i64,
    register: i64,
    amount: i64,
    issued_at: i64,
    confirmed_at: Option<i64>,
    ascending: Option<i64>,
    descending: Option<i64>,
    card_time: Option<i64>,
}

impl RawLoad {
    fn record(self) -> Result<LoadRecord, AuthorityError> {
        let bad = |what: &str| AuthorityError::Database(format!("a stored load has a bad {what}"));
        Ok(LoadRecord {
            serial: self.serial,
            number: u32::try_from(self.number).map_err(|_| bad("number"))?,
            register: u8::try_from(self.register)
                .ok()
                .and_then(RegisterId::from_byte)
                .ok_or_else(|| bad("register"))?,
            amount: db::from_int(self.amount)?,
            issued_at: db::from_int(self.issued_at)?,
            confirmed_at: db::from_opt_int(self.confirmed_at)?,
            ascending: db::from_opt_int(self.ascending)?,
            descending: db::from_opt_int(self.descending)?,
            card_time: db::from_opt_int(self.card_time)?,
        })
    }
}

fn find_load(
    conn: &Connection,
    serial: &str,
    number: u32,
) -> Result<Option<LoadRecord>, AuthorityError> {
    conn.query_row(
        &format!("SELECT {LOAD_COLUMNS} FROM loads WHERE meter = ?1 AND number = ?2"),
        params![serial, number],
        load_row,
    )
    .optional()?
    .map(RawLoad::record)
    .transpose()
}

pub(crate) fn require_meter(conn: &Connection, serial: &str) -> Result<(), AuthorityError> {
    conn.query_row("SELECT 1 FROM meters WHERE serial = ?1", [serial], |_| {
        Ok(())
    })
    .optional()?
    .ok_or_else(|| AuthorityError::UnknownMeter(serial.to_owned()))
}

/// Why meter `serial` is flagged, if it is.
pub(crate) fn flag(conn: &Connection, serial: &str) -> Result<Option<String>, AuthorityError> {
    Ok(conn
        .query_row(
            "SELECT flag_reason FROM meters WHERE serial = ?1 AND flagged_at IS NOT NULL",
            [serial],
            |r| r.get::<_, Option<String>>(0),
        )
        .optional()?
        .map(|reason| reason.unwrap_or_else(|| "no reason recorded".into())))
}

/// Checks a (validly signed, issued) receipt against the records: the
/// register's ascending + descending must equal the sum of the loads into
/// it up to this one, and neither the card's clock nor the register's
/// ascending value may be behind an earlier receipt (or ahead of a later
/// one). Returns the reason of a mismatch.
pub(crate) fn reconcile(
    conn: &Connection,
    serial: &str,
    r: &LoadReceipt<'_>,
) -> Result<Option<String>, AuthorityError> {
    let register = r.register.name();
    let loaded: i64 = conn.query_row(
        "SELECT COALESCE(SUM(amount), 0) FROM loads
         WHERE meter = ?1 AND register = ?2 AND number <= ?3",
        params![serial, r.register as u8, r.number],
        |row| row.get(0),
    )?;
    let loaded = db::from_int(loaded)?;
    let holds = r.ascending.checked_add(r.descending);
    if holds != Some(loaded) {
        return Ok(Some(format!(
            "receipt of load {}: the {register} register holds ascending {} + descending {} \
             but the loads into it add up to {loaded}",
            r.number, r.ascending, r.descending
        )));
    }
    let mut stmt = conn.prepare(
        "SELECT number, register, ascending, card_time FROM loads
         WHERE meter = ?1 AND number != ?2 AND receipt IS NOT NULL
         ORDER BY number",
    )?;
    let earlier = stmt.query_map(params![serial, r.number], |row| {
        Ok((
            row.get::<_, i64>(0)?,
            row.get::<_, i64>(1)?,
            row.get::<_, Option<i64>>(2)?,
            row.get::<_, Option<i64>>(3)?,
        ))
    })?;
    for row in earlier {
        let (number, reg, ascending, time) = row?;
        let before = number < i64::from(r.number);
        // (earlier value, later value) in load order.
        let in_order = |theirs: u64, ours: u64| {
            if before {
                theirs <= ours
            } else {
                ours <= theirs
            }
        };
        if let Some(time) = db::from_opt_int(time)?
            && !in_order(time, r.time)
        {
            return Ok(Some(format!(
                "the card clock went back: receipt of load {} says {}, receipt of load {number} \
                 says {time}",
                r.number, r.time
            )));
        }
        if reg == i64::from(r.register as u8)
            && let Some(ascending) = db::from_opt_int(ascending)?
            && !in_order(ascending, r.ascending)
        {
            return Ok(Some(format!(
                "the {register} register's ascending value went back: receipt of load {} says \
                 {}, receipt of load {number} says {ascending}",
                r.number, r.ascending
            )));
        }
    }
    Ok(None)
}

/// The largest amount the authority records (SQLite INTEGER), minor units.
pub const MAX_AMOUNT: u64 = i64::MAX as u64;

/// Refuses an amount the authority could not record.
pub(crate) fn check_amount(amount: u64) -> Result<(), AuthorityError> {
    if amount > MAX_AMOUNT {
        return Err(AuthorityError::InvalidRequest(format!(
            "the amount is too large: the authority records at most {MAX_AMOUNT} minor units"
        )));
    }
    Ok(())
}

impl Authority {
    /// Signs load `number` (the card accepts only its load count + 1) of
    /// `amount` into `register` for meter `serial`, with the deadline now +
    /// [`SERVICE_INTERVAL`], and records it as pending. Asking again for a
    /// pending load with the same register and amount signs it afresh;
    /// anything else for an issued number is refused, as are amount 0 and
    /// numbers not after the last confirmed load. Returns the 7F71 message.
    pub fn value_load(
        &mut self,
        serial: &str,
        register: RegisterId,
        amount: u64,
        number: u32,
    ) -> Result<Vec<u8>, AuthorityError> {
        self.issue_load(serial, register, amount, number, None)
    }

    /// [`Authority::value_load`], bound to a card `challenge` when a
    /// recharge request carried one ([`Authority::recharge`]). A pending
    /// load bound to an earlier challenge is replaced: that challenge is
    /// gone from the card, which signed the new request over a new one.
    pub(crate) fn issue_load(
        &mut self,
        serial: &str,
        register: RegisterId,
        amount: u64,
        number: u32,
        challenge: Option<&[u8; 16]>,
    ) -> Result<Vec<u8>, AuthorityError> {
        if amount == 0 {
            return Err(AuthorityError::InvalidRequest(
                "the amount of a load must be positive".into(),
            ));
        }
        if number == 0 {
            return Err(AuthorityError::InvalidRequest(
                "load numbers start at 1".into(),
            ));
        }
        check_amount(amount)?;
        let amount_int = db::to_int(amount, "amount")?;
        let now = self.now();
        let policy = self.policy()?;
        let deadline = Authority::service_deadline(now, &policy);

        let tx = db::begin(&mut self.conn)?;
        let meter: Option<(Vec<u8>, Option<i64>, i64)> = tx
            .query_row(
                "SELECT m.chip_id, c.revoked_at, c.expiry
                 FROM meters m JOIN certificates c ON c.serial = m.certificate_serial
                 WHERE m.serial = ?1",
                [serial],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let Some((chip_id, revoked_at, expiry)) = meter else {
            return Err(AuthorityError::UnknownMeter(serial.to_owned()));
        };
        if let Some(reason) = flag(&tx, serial)? {
            return Err(AuthorityError::Flagged {
                serial: serial.to_owned(),
                reason,
            });
        }
        if revoked_at.is_some() {
            return Err(AuthorityError::InvalidRequest(format!(
                "the certificate of meter {serial} is revoked"
            )));
        }
        let expiry = db::from_int(expiry)?;
        if now > expiry {
            return Err(AuthorityError::InvalidRequest(format!(
                "the certificate of meter {serial} has expired: the meter must be certified again"
            )));
        }
        // The meter is serviced no longer than its certificate is valid.
        let deadline = deadline.min(expiry);
        // What the authority records must stay representable (SQLite
        // INTEGER): refuse a load that would take the register past it.
        let issued: i64 = tx.query_row(
            "SELECT COALESCE(SUM(amount), 0) FROM loads WHERE meter = ?1 AND register = ?2",
            params![serial, register as u8],
            |r| r.get(0),
        )?;
        if issued.checked_add(amount_int).is_none() {
            return Err(AuthorityError::InvalidRequest(format!(
                "the {} register of meter {serial} would exceed the largest amount on record",
                register.name()
            )));
        }
        let last_confirmed: Option<i64> = tx.query_row(
            "SELECT MAX(number) FROM loads WHERE meter = ?1 AND confirmed_at IS NOT NULL",
            [serial],
            |r| r.get(0),
        )?;
        if let Some(last) = last_confirmed.filter(|&last| i64::from(number) <= last) {
            return Err(AuthorityError::InvalidRequest(format!(
                "load {number} of meter {serial} is not after its last confirmed load ({last})"
            )));
        }
        let existing = find_load(&tx, serial, number)?;
        let bound: bool = existing.is_some()
            && tx.query_row(
                "SELECT challenge IS NOT NULL FROM loads WHERE meter = ?1 AND number = ?2",
                params![serial, number],
                |r| r.get(0),
            )?;
        if let Some(l) = existing
            .as_ref()
            .filter(|_| !(bound && challenge.is_some()))
            .filter(|l| l.register != register || l.amount != amount)
        {
            return Err(AuthorityError::InvalidRequest(format!(
                "load {number} of meter {serial} is already issued for {} into the {} \
                 register; only that load can be issued again under this number",
                l.amount,
                l.register.name()
            )));
        }

        let message = keys::signed_object(VALUE_LOAD, &self.key, |w| {
            w.put(CHIP_ID, &chip_id)?;
            w.put(apdu::cert::HOLDER, serial.as_bytes())?;
            if let Some(c) = challenge {
                w.put(CHALLENGE, c)?;
            }
            w.put_u32(LOAD_NUMBER, number)?;
            w.put(REGISTER, &[register as u8])?;
            w.put_u64(AMOUNT, amount)?;
            w.put_u64(TIME, now)?;
            w.put_u64(DEADLINE, deadline)?;
            policy.write(w)
        })?;
        let now_int = db::to_int(now, "time")?;
        let challenge = challenge.map(|c| c.to_vec());
        if existing.is_some() {
            tx.execute(
                "UPDATE loads SET issued_at = ?3, message = ?4, register = ?5, amount = ?6,
                     challenge = ?7
                 WHERE meter = ?1 AND number = ?2",
                params![
                    serial,
                    number,
                    now_int,
                    message,
                    register as u8,
                    amount_int,
                    challenge
                ],
            )?;
        } else {
            tx.execute(
                "INSERT INTO loads (meter, number, register, amount, issued_at, message, challenge)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    serial,
                    number,
                    register as u8,
                    amount_int,
                    now_int,
                    message,
                    challenge
                ],
            )?;
        }
        tx.commit()?;
        Ok(message)
    }

    /// Accepts a card's load receipt (7F72): it must be signed by the
    /// meter's certified key and match an issued load (serial, number,
    /// register, amount). Marks the load confirmed; the same receipt again
    /// returns the same record. Returns the load.
    pub fn confirm_load(&mut self, receipt: &[u8]) -> Result<LoadRecord, AuthorityError> {
        let r = LoadReceipt::parse(receipt)
            .map_err(|_| AuthorityError::BadReceipt("not a well-formed load receipt"))?;
        let serial = std::str::from_utf8(r.serial)
            .map_err(|_| AuthorityError::UnknownMeter(String::from_utf8_lossy(r.serial).into()))?;
        let now = self.now();

        let tx = db::begin(&mut self.conn)?;
        let key: Vec<u8> = tx
            .query_row(
                "SELECT public_key FROM meters WHERE serial = ?1",
                [serial],
                |row| row.get(0),
            )
            .optional()?
            .ok_or_else(|| AuthorityError::UnknownMeter(serial.to_owned()))?;
        let key = apdu::crypto::public_key(&key)
            .ok_or_else(|| AuthorityError::Database("a stored meter key is invalid".into()))?;
        if !apdu::crypto::verify_signed(&r.signed, &key) {
            return Err(AuthorityError::BadReceipt(
                "not signed by the meter's certified key",
            ));
        }
        let Some(load) = find_load(&tx, serial, r.number)? else {
            return Err(AuthorityError::BadReceipt("no such load was issued"));
        };
        if load.register != r.register || load.amount != r.amount {
            return Err(AuthorityError::BadReceipt(
                "the register or amount differs from the issued load",
            ));
        }
        let bound: Option<Vec<u8>> = tx.query_row(
            "SELECT challenge FROM loads WHERE meter = ?1 AND number = ?2",
            params![serial, r.number],
            |row| row.get(0),
        )?;
        if bound.as_deref() != r.challenge.map(|c| &c[..]) {
            return Err(AuthorityError::BadReceipt(
                "the receipt answers another request than the issued load",
            ));
        }
        let stored: Option<Vec<u8>> = tx.query_row(
            "SELECT receipt FROM loads WHERE meter = ?1 AND number = ?2",
            params![serial, r.number],
            |row| row.get(0),
        )?;
        // A load proven applied by a later report (recharge request,
        // audit) is confirmed without a receipt: its receipt is still taken.
        if load.confirmed_at.is_some() && stored.is_some() {
            return if stored.as_deref() == Some(receipt) {
                Ok(load)
            } else {
                Err(AuthorityError::BadReceipt(
                    "the load is already confirmed by another receipt",
                ))
            };
        }
        if let Some(reason) = flag(&tx, serial)? {
            return Err(AuthorityError::Flagged {
                serial: serial.to_owned(),
                reason,
            });
        }
        if let Some(reason) = reconcile(&tx, serial, &r)? {
            // The flag is kept; the receipt confirms nothing.
            tx.execute(
                "UPDATE meters SET flagged_at = ?2, flag_reason = ?3
                 WHERE serial = ?1 AND flagged_at IS NULL",
                params![serial, db::to_int(now, "time")?, reason],
            )?;
            tx.commit()?;
            return Err(AuthorityError::Flagged {
                serial: serial.to_owned(),
                reason,
            });
        }
        let int = |v: u64| {
            i64::try_from(v).map_err(|_| AuthorityError::BadReceipt("a value is out of range"))
        };
        tx.execute(
            "UPDATE loads SET confirmed_at = ?3, receipt = ?4, ascending = ?5, descending = ?6,
                 card_time = ?7
             WHERE meter = ?1 AND number = ?2",
            params![
                serial,
                r.number,
                db::to_int(now, "time")?,
                receipt,
                int(r.ascending)?,
                int(r.descending)?,
                int(r.time)?,
            ],
        )?;
        // The card accepts only its load count + 1, so a receipt for load n
        // proves that every earlier load was applied, even one whose own
        // receipt never came back.
        tx.execute(
            "UPDATE loads SET confirmed_at = ?3
             WHERE meter = ?1 AND number < ?2 AND confirmed_at IS NULL",
            params![serial, r.number, db::to_int(now, "time")?],
        )?;
        let confirmed = find_load(&tx, serial, r.number)?
            .ok_or_else(|| AuthorityError::Database("the confirmed load vanished".into()))?;
        tx.commit()?;
        Ok(confirmed)
    }

    /// Every load of meter `serial`, by number.
    pub fn loads(&self, serial: &str) -> Result<Vec<LoadRecord>, AuthorityError> {
        require_meter(&self.conn, serial)?;
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {LOAD_COLUMNS} FROM loads WHERE meter = ?1 ORDER BY number"
        ))?;
        let rows = stmt.query_map([serial], load_row)?;
        rows.map(|r| r.map_err(AuthorityError::from).and_then(RawLoad::record))
            .collect()
    }

    /// The sum of the confirmed loads of meter `serial` into `register`.
    pub fn total_loaded(&self, serial: &str, register: RegisterId) -> Result<u64, AuthorityError> {
        self.loads(serial)?
            .iter()
            .filter(|l| l.register == register && l.confirmed_at.is_some())
            .try_fold(0u64, |sum, l| sum.checked_add(l.amount))
            .ok_or_else(|| AuthorityError::Database("the total overflows".into()))
    }
}
