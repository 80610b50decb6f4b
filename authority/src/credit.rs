//! The creditor of Figures 7A, 8 and 9: a party of its own beside the
//! authority, with its own key (`creditor.key` in the authority directory,
//! mode 0600), its own certificate (`7F6B`, the creditor key certified by
//! the authority key), its own records (tables `credit_lines`,
//! `credit_refusals`, `credit_payments`) and its own policy (a maximum line
//! per holder).
//!
//! Figure 8: [`Authority::credit_line`] takes a credit request with the
//! card's postmark (802), checks it (the meter certificate by the
//! authority, the postmark by the meter key over the request's digest),
//! decides (804: the amount within the maximum line, the meter neither
//! flagged nor its certificate revoked, a line number not issued before;
//! 806: refused, and the refusal recorded), and issues the line-of-credit
//! certificate of Figure 7A (808), returned with the creditor certificate.
//!
//! Figure 9, the creditor's end: [`Authority::settle`] takes a payment
//! file a merchant presents, checks the chain authority -> creditor -> 7A
//! -> 7B -> meter ([`apdu::cmd::pay::check_payment`]), that the 7A is one
//! it issued, that the payment was not settled before (a second
//! presentation is refused) and that the line's settled total stays within
//! the line; then it records the payment to the merchant.
//! [`Authority::payments`] shows what each merchant was paid.

use std::path::Path;

use apdu::cert::{CertificateBody, usage};
use apdu::cmd::credit_line::{
    CREDITOR_ISSUES_LINES, CreditRequestFile, LINE_PAYS_MERCHANTS, LineBody, write_creditor,
};
use apdu::cmd::pay::{PaymentFile, check_payment};
use apdu::tlv::Writer;
use p256::ecdsa::SigningKey;
use rusqlite::{OptionalExtension, params};

use crate::{Authority, AuthorityError, db, keys};

/// The creditor's key file inside an authority directory (mode 0600).
pub const CREDITOR_KEY_FILE: &str = "creditor.key";
/// The creditor's name (tag 42 of its lines, 5F20 of its certificate).
pub const DEFAULT_CREDITOR_NAME: &str = "CERTMETER-CREDIT";
/// The default maximum line per holder, minor units (1,000.00).
pub const DEFAULT_MAX_LINE: u64 = 100_000;
/// Validity of a line of credit: one year.
pub const LINE_VALIDITY: u64 = 365 * 24 * 3600;
/// Validity of the creditor certificate: five years.
pub const CREDITOR_VALIDITY: u64 = 5 * 365 * 24 * 3600;
/// Settings key: the creditor certificate (hex of the `7F6B`).
pub const CREDITOR_CERTIFICATE: &str = "creditor.certificate";
/// Settings key: the maximum line per holder (INTEGER, minor units).
pub const MAX_LINE: &str = "creditor.max_line";
/// Settings key: the next line-of-credit serial (INTEGER, from 1).
pub const NEXT_LINE_SERIAL: &str = "creditor.next_line_serial";

const DAY: u64 = 24 * 3600;

/// A line of credit as the creditor records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineRecord {
    /// The 7A's serial (706).
    pub serial: u64,
    /// The holder: the meter serial.
    pub holder: String,
    /// The line number on the card.
    pub number: u32,
    /// The line, minor units.
    pub amount: u64,
    /// Settled so far on this line.
    pub settled: u64,
    /// Valid until.
    pub expiry: u64,
}

/// A payment the creditor settled (paid to the merchant).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaymentRecord {
    /// The holder: the meter serial.
    pub holder: String,
    /// The payment certificate's serial (726).
    pub serial: u64,
    /// The line's serial (the 7A).
    pub line: u64,
    /// The merchant paid.
    pub merchant: String,
    /// Amount, minor units.
    pub amount: u64,
    /// When the creditor settled it.
    pub settled_at: u64,
}

fn refuse(msg: impl Into<String>) -> AuthorityError {
    AuthorityError::CreditRefused(msg.into())
}

fn invalid(msg: impl Into<String>) -> AuthorityError {
    AuthorityError::InvalidRequest(msg.into())
}

/// The creditor key in `dir`, made (and written, mode 0600) on first use.
pub fn load_or_create_key(dir: &Path) -> Result<SigningKey, AuthorityError> {
    let path = dir.join(CREDITOR_KEY_FILE);
    if path.exists() {
        keys::read_key_file(&path)
    } else {
        let key = keys::generate()?;
        keys::write_key_file(&path, &key)?;
        Ok(key)
    }
}

/// The creditor key of a deterministic authority (test vectors only).
pub fn key_from_seed(seed: u64) -> SigningKey {
    keys::labelled_seed(b"certmeter creditor key", seed)
}

impl Authority {
    fn creditor_key(&self) -> Result<&SigningKey, AuthorityError> {
        self.creditor.as_ref().ok_or_else(|| {
            invalid(format!(
                "the creditor key ({CREDITOR_KEY_FILE}) is not in the authority directory"
            ))
        })
    }

    /// The creditor's public key, uncompressed SEC1.
    pub fn creditor_public_key(&self) -> Result<[u8; 65], AuthorityError> {
        Ok(keys::encode_public(self.creditor_key()?.verifying_key()))
    }

    /// The creditor certificate (`7F6B`): the creditor key certified by the
    /// authority key, made once and kept in the settings (made again if the
    /// creditor key changed).
    pub fn creditor_certificate(&mut self) -> Result<Vec<u8>, AuthorityError> {
        let public = self.creditor_public_key()?;
        if let Some(hex_cert) = db::setting::<String>(&self.conn, CREDITOR_CERTIFICATE)? {
            let bytes = hex::decode(hex_cert)
                .map_err(|_| AuthorityError::Database("creditor certificate".into()))?;
            let same = apdu::cmd::credit_line::read_creditor(&bytes)
                .is_ok_and(|(c, rest)| rest.is_empty() && c.public_key == &public);
            if same {
                return Ok(bytes);
            }
        }
        let now = self.now();
        let body = CertificateBody {
            issuer: self.name.as_bytes(),
            holder: DEFAULT_CREDITOR_NAME.as_bytes(),
            serial: 0,
            public_key: &public,
            usage: CREDITOR_ISSUES_LINES,
            effective: now.saturating_sub(DAY),
            expiry: now.saturating_add(CREDITOR_VALIDITY),
        };
        let cert = encode(|w| write_creditor(&body, w, |b| apdu::crypto::sign(&self.key, b)))?;
        db::set_setting(&self.conn, CREDITOR_CERTIFICATE, hex::encode(&cert))?;
        Ok(cert)
    }

    /// The creditor's maximum line per holder, minor units.
    pub fn max_line(&self) -> Result<u64, AuthorityError> {
        match db::setting::<i64>(&self.conn, MAX_LINE)? {
            Some(v) => db::from_int(v),
            None => Ok(DEFAULT_MAX_LINE),
        }
    }

    /// Sets the maximum line per holder (the creditor's policy).
    pub fn set_max_line(&mut self, amount: u64) -> Result<(), AuthorityError> {
        db::set_setting(&self.conn, MAX_LINE, db::to_int(amount, "maximum line")?)
    }

    /// Figure 8, 802-808: checks the credit request file (request, card
    /// postmark over it, meter certificate), decides, and answers the line
    /// file (creditor certificate then the 7A). A refusal (806) is
    /// [`AuthorityError::CreditRefused`] and is recorded.
    pub fn credit_line(&mut self, request_file: &[u8]) -> Result<Vec<u8>, AuthorityError> {
        let f = CreditRequestFile::parse(request_file)
            .map_err(|e| invalid(format!("not a credit request file: {e}")))?;
        let (req, pm, meter) = (&f.request, &f.postmark.postmark, &f.postmark.certificate);
        // 802: the request is the holder's: its postmark by the meter key
        // the authority certified, over the request's own bytes.
        let authority = apdu::crypto::public_key(&self.public_key())
            .ok_or_else(|| AuthorityError::Database("the authority key".into()))?;
        let digest = apdu::crypto::sha256(f.request_bytes);
        apdu::crypto::check_postmark(&f.postmark, &authority, &digest)
            .map_err(|e| invalid(format!("the request's postmark does not hold: {e:?}")))?;
        if !meter.allows(usage::POSTMARK)
            || req.serial != meter.holder
            || pm.meter != meter.holder
            || req.public_key != meter.public_key
        {
            return Err(invalid(
                "the request names another meter or key than its postmark",
            ));
        }
        let holder = std::str::from_utf8(req.serial)
            .map_err(|_| invalid("the meter serial is not text"))?
            .to_owned();
        let now = self.now();
        // 804: the credit check.
        let decision =
            self.credit_check(&holder, meter.serial, req.number, req.amount, req.chip_id);
        if let Err(AuthorityError::CreditRefused(reason)) = &decision {
            self.conn.execute(
                "INSERT INTO credit_refusals (holder, amount, reason, refused_at)
                 VALUES (?1, ?2, ?3, ?4)",
                params![
                    holder,
                    db::to_int(req.amount, "amount")?,
                    reason,
                    db::to_int(now, "time")?
                ],
            )?;
        }
        // 808: the line-of-credit certificate, or the one already issued
        // under this number that the card never stored.
        let again = decision?;
        let creditor_cert = self.creditor_certificate()?;
        if let Some(line) = again {
            return Ok([creditor_cert, line].concat());
        }
        let key = self.creditor_key()?.clone();
        let tx = db::begin(&mut self.conn)?;
        let serial = match db::setting::<i64>(&tx, NEXT_LINE_SERIAL)? {
            Some(n) => db::from_int(n)?,
            None => 1,
        };
        db::set_setting(
            &tx,
            NEXT_LINE_SERIAL,
            db::to_int(serial.saturating_add(1), "serial")?,
        )?;
        let effective = now.saturating_sub(DAY);
        let expiry = now.saturating_add(LINE_VALIDITY).min(meter.expiry);
        let line = LineBody {
            cert: CertificateBody {
                issuer: DEFAULT_CREDITOR_NAME.as_bytes(),
                holder: req.serial,
                serial,
                public_key: req.public_key,
                usage: LINE_PAYS_MERCHANTS,
                effective,
                expiry,
            },
            chip_id: req.chip_id,
            number: req.number,
            amount: req.amount,
        };
        let cert = encode(|w| line.write(w, |b| apdu::crypto::sign(&key, b)))?;
        tx.execute(
            "INSERT INTO credit_lines
                 (serial, holder, chip_id, number, amount, digest, certificate,
                  request_postmark, issued_at, effective, expiry)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            params![
                db::to_int(serial, "serial")?,
                holder,
                &req.chip_id[..],
                i64::from(req.number),
                db::to_int(req.amount, "amount")?,
                &apdu::crypto::sha256(&cert)[..],
                cert,
                i64::from(pm.sequence),
                db::to_int(now, "time")?,
                db::to_int(effective, "time")?,
                db::to_int(expiry, "time")?,
            ],
        )?;
        tx.commit()?;
        Ok([creditor_cert, cert].concat())
    }

    /// 804: the creditor's decision. `Ok` approves; a refusal says why.
    /// `Ok(Some(7A))`: the line this holder's card asks for was issued
    /// already, for the same chip and amount, and the card never stored it
    /// (its count is still one below: a power cut or a lost answer during
    /// STORE CREDIT LINE); the same 7A is delivered again, as a value load
    /// is. A 7A is stored once by the card, so this gives nothing twice.
    fn credit_check(
        &self,
        holder: &str,
        meter_certificate: u64,
        number: u32,
        amount: u64,
        chip_id: &[u8],
    ) -> Result<Option<Vec<u8>>, AuthorityError> {
        let max = self.max_line()?;
        if amount == 0 {
            return Err(refuse("a line of credit of 0 is not a line"));
        }
        if amount > max {
            return Err(refuse(format!(
                "{amount} minor units asked, more than the maximum line per holder ({max})"
            )));
        }
        // What the authority's records say of the meter.
        let flagged: Option<Option<i64>> = self
            .conn
            .query_row(
                "SELECT flagged_at FROM meters WHERE serial = ?1",
                [holder],
                |r| r.get(0),
            )
            .optional()?;
        match flagged {
            None => {
                return Err(refuse(format!(
                    "meter {holder} is not known to the authority"
                )));
            }
            Some(Some(_)) => return Err(refuse(format!("meter {holder} is flagged"))),
            Some(None) => {}
        }
        let revoked: Option<Option<i64>> = self
            .conn
            .query_row(
                "SELECT revoked_at FROM certificates WHERE serial = ?1",
                [db::to_int(meter_certificate, "serial")?],
                |r| r.get(0),
            )
            .optional()?;
        if matches!(revoked, Some(Some(_))) {
            return Err(refuse(format!(
                "the meter certificate {meter_certificate} is revoked"
            )));
        }
        let last: Option<i64> = self.conn.query_row(
            "SELECT max(number) FROM credit_lines WHERE holder = ?1",
            [holder],
            |r| r.get(0),
        )?;
        if let Some(last) = last
            && i64::from(number) <= last
        {
            if i64::from(number) == last {
                let issued: Option<(Vec<u8>, i64, Vec<u8>)> = self
                    .conn
                    .query_row(
                        "SELECT chip_id, amount, certificate FROM credit_lines
                         WHERE holder = ?1 AND number = ?2",
                        params![holder, i64::from(number)],
                        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                    )
                    .optional()?;
                if let Some((chip, issued_amount, line)) = issued
                    && chip == chip_id
                    && issued_amount == db::to_int(amount, "amount")?
                {
                    return Ok(Some(line));
                }
            }
            return Err(refuse(format!(
                "line {number} of meter {holder} was already issued (the last is {last}): a replayed request"
            )));
        }
        Ok(None)
    }

    /// The lines issued, newest first.
    pub fn credit_lines(&self) -> Result<Vec<LineRecord>, AuthorityError> {
        let mut stmt = self.conn.prepare(
            "SELECT l.serial, l.holder, l.number, l.amount, l.expiry,
                    coalesce((SELECT sum(p.amount) FROM credit_payments p WHERE p.line = l.serial), 0)
             FROM credit_lines l ORDER BY l.serial DESC",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, i64>(4)?,
                r.get::<_, i64>(5)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (serial, holder, number, amount, expiry, settled) = row?;
            out.push(LineRecord {
                serial: db::from_int(serial)?,
                holder,
                number: u32::try_from(number)
                    .map_err(|_| AuthorityError::Database("line number".into()))?,
                amount: db::from_int(amount)?,
                settled: db::from_int(settled)?,
                expiry: db::from_int(expiry)?,
            });
        }
        Ok(out)
    }

    /// Figure 9, the creditor's end: settles a payment file once (pays the
    /// merchant); a second presentation, a payment on a line it did not
    /// issue, or one that would take the line's settled total past the line
    /// is refused.
    pub fn settle(&mut self, file: &[u8]) -> Result<PaymentRecord, AuthorityError> {
        let f =
            PaymentFile::parse(file).map_err(|e| invalid(format!("not a payment file: {e}")))?;
        let authority = apdu::crypto::public_key(&self.public_key())
            .ok_or_else(|| AuthorityError::Database("the authority key".into()))?;
        check_payment(&f, &authority).map_err(|e| invalid(e.reason()))?;
        if f.line.creditor.public_key != &self.creditor_public_key()? {
            return Err(invalid("the line of credit was issued by another creditor"));
        }
        let p = f.payment.body;
        let holder = std::str::from_utf8(p.holder)
            .map_err(|_| invalid("the holder is not text"))?
            .to_owned();
        let merchant = std::str::from_utf8(p.merchant)
            .map_err(|_| invalid("the merchant id is not text"))?
            .to_owned();
        let now = self.now();
        let tx = db::begin(&mut self.conn)?;
        let line: Option<(i64, i64)> = tx
            .query_row(
                "SELECT serial, amount FROM credit_lines WHERE digest = ?1 AND holder = ?2",
                params![&p.line_digest[..], holder],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((line_serial, line_amount)) = line else {
            return Err(invalid("this creditor has no record of the line of credit"));
        };
        let serial = db::to_int(p.serial, "payment serial")?;
        let settled_at: Option<i64> = tx
            .query_row(
                "SELECT settled_at FROM credit_payments WHERE holder = ?1 AND serial = ?2",
                params![holder, serial],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(at) = settled_at {
            return Err(AuthorityError::AlreadySettled(format!(
                "payment {} of meter {holder} was already settled (at Unix time {at}): a second presentation is refused",
                p.serial
            )));
        }
        let settled: i64 = tx.query_row(
            "SELECT coalesce(sum(amount), 0) FROM credit_payments WHERE line = ?1",
            [line_serial],
            |r| r.get(0),
        )?;
        let total = db::from_int(settled)?.checked_add(p.amount);
        if total.is_none_or(|t| t > db::from_int(line_amount).unwrap_or(0)) {
            return Err(invalid(
                "settling this payment would take the line past its amount",
            ));
        }
        tx.execute(
            "INSERT INTO credit_payments
                 (holder, serial, line, merchant, amount, remaining, card_time, settled_at, certificate)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                holder,
                serial,
                line_serial,
                merchant,
                db::to_int(p.amount, "amount")?,
                db::to_int(p.remaining, "remaining")?,
                db::to_int(p.time, "time")?,
                db::to_int(now, "time")?,
                f.payment.signed.raw,
            ],
        )?;
        tx.commit()?;
        Ok(PaymentRecord {
            holder,
            serial: p.serial,
            line: db::from_int(line_serial)?,
            merchant,
            amount: p.amount,
            settled_at: now,
        })
    }

    /// The payments settled, oldest first; only `merchant`'s if given.
    pub fn payments(&self, merchant: Option<&str>) -> Result<Vec<PaymentRecord>, AuthorityError> {
        let mut stmt = self.conn.prepare(
            "SELECT holder, serial, line, merchant, amount, settled_at FROM credit_payments
             WHERE ?1 IS NULL OR merchant = ?1 ORDER BY settled_at, holder, serial",
        )?;
        let rows = stmt.query_map([merchant], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, i64>(4)?,
                r.get::<_, i64>(5)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (holder, serial, line, merchant, amount, at) = row?;
            out.push(PaymentRecord {
                holder,
                serial: db::from_int(serial)?,
                line: db::from_int(line)?,
                merchant,
                amount: db::from_int(amount)?,
                settled_at: db::from_int(at)?,
            });
        }
        Ok(out)
    }
}

/// Encodes one object with a heap buffer.
fn encode(
    write: impl FnOnce(&mut Writer<'_>) -> Result<(), apdu::tlv::TlvError>,
) -> Result<Vec<u8>, AuthorityError> {
    let mut buf = vec![0u8; 4096];
    let mut w = Writer::new(&mut buf);
    write(&mut w).map_err(|_| invalid("the certificate does not fit"))?;
    let n = w.len();
    buf.truncate(n);
    Ok(buf)
}
