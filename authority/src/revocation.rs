//! Figure 6, the authority's side of a revocation: it verifies the card's
//! signed request (604: the meter key it certified, this card, a
//! certificate it issued for this meter and not yet revoked; 606: refused
//! otherwise), signs the revocation message bound to the card, the
//! certificate and the card's nonce (608), and records the card's signed
//! confirmation (622: time, reason, payment state). A forced revocation is
//! recorded by the operator and signed, payment disabled, at the card's
//! next contact.

use apdu::cmd::revoke::{
    AgentCrlEntry, CrlEntry, MESSAGE, MessageBody, Payment, PaymentState, RevocationConfirmation,
    RevocationRequest, Subject, valid_reason, write_crl,
};
use apdu::crypto;
use rusqlite::{OptionalExtension, params};

use crate::certificate::{self, Fields};
use crate::{Authority, AuthorityError, db};

/// A revocation as the authority records it (622).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevocationRecord {
    /// RFC 5280 reason code.
    pub reason: u8,
    /// Forced by the operator (payment disabled).
    pub forced: bool,
    /// `none`, `paid` or `due` once confirmed (`None` before).
    pub payment: Option<String>,
    /// The card's time of the revocation, once confirmed.
    pub confirmed_at: Option<u64>,
}

/// The settings key of the last revocation list number published.
pub const CRL_NUMBER: &str = "crl_number";

fn invalid(msg: impl Into<String>) -> AuthorityError {
    AuthorityError::InvalidRequest(msg.into())
}

impl Authority {
    /// Figure 1 for a user key held by meter `meter`: a certificate for
    /// `public_key` under `holder`, with `usage`, valid from now until
    /// `expiry`. Returns its serial and bytes.
    pub fn issue_certificate(
        &mut self,
        holder: &str,
        public_key: &[u8; 65],
        usage: u8,
        expiry: u64,
    ) -> Result<(u64, Vec<u8>), AuthorityError> {
        let now = self.now();
        let tx = db::begin(&mut self.conn)?;
        let serial = db::next_certificate_serial(&tx)?;
        let cert = certificate::build(
            &self.key,
            &Fields {
                issuer: &self.name,
                holder,
                serial,
                public_key,
                usage,
                effective: now,
                expiry,
            },
        )?;
        tx.execute(
            "INSERT INTO certificates
                 (serial, holder, issuer, public_key, usage, effective, expiry, bytes, issued_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                db::to_int(serial, "certificate serial")?,
                holder,
                self.name,
                &public_key[..],
                usage,
                db::to_int(now, "time")?,
                db::to_int(expiry, "time")?,
                cert,
                db::to_int(now, "time")?,
            ],
        )?;
        tx.commit()?;
        Ok((serial, cert))
    }

    /// 604-608: verifies the card's revocation request and signs the
    /// revocation message (payment enabled). Refused (606) for a request
    /// not signed by the meter key this authority certified for that
    /// serial, from another chip, for a certificate it does not know, or
    /// one already revoked.
    pub fn revocation_message(&mut self, request: &[u8]) -> Result<Vec<u8>, AuthorityError> {
        let r = RevocationRequest::parse(request)
            .map_err(|e| invalid(format!("not a revocation request: {e:?}")))?;
        let s = r.subject;
        let (serial, meter) =
            self.signed_by_meter(&r.signed, s.serial, s.chip_id, "revocation request")?;
        let serial = serial.as_str();
        self.check_revocable(&meter, s.slot, s.certificate_serial)?;
        let now = self.now();
        let message = self.sign_revocation(&s, now, Payment::Payable)?;
        self.conn.execute(
            "INSERT INTO revocations (certificate, meter, slot, reason, forced, requested_at)
             VALUES (?1, ?2, ?3, ?4, 0, ?5)
             ON CONFLICT (certificate) DO UPDATE SET
                 slot = ?3, reason = ?4, requested_at = ?5",
            params![
                db::to_int(s.certificate_serial, "serial")?,
                serial,
                s.slot,
                s.reason,
                db::to_int(now, "time")?,
            ],
        )?;
        Ok(message)
    }

    /// `meter authority revoke --meter SERIAL --cert SERIAL --reason R`: a
    /// forced revocation, applied at the card's next contact with payment
    /// disabled ([`Authority::forced_revocation`]).
    pub fn force_revocation(
        &mut self,
        meter: &str,
        certificate: u64,
        reason: u8,
    ) -> Result<(), AuthorityError> {
        if !valid_reason(reason) {
            return Err(invalid(format!("{reason} is not an RFC 5280 reason code")));
        }
        let m = self
            .meter(meter)?
            .ok_or_else(|| AuthorityError::UnknownMeter(meter.to_owned()))?;
        // The slot is the card's business; 0 for the meter certificate.
        let slot = u8::from(certificate != m.certificate_serial);
        self.check_revocable(&m, if slot == 0 { 0 } else { 1 }, certificate)?;
        self.conn.execute(
            "INSERT INTO revocations (certificate, meter, slot, reason, forced, requested_at)
             VALUES (?1, ?2, ?3, ?4, 1, ?5)
             ON CONFLICT (certificate) DO UPDATE SET reason = ?4, forced = 1, requested_at = ?5",
            params![
                db::to_int(certificate, "serial")?,
                meter,
                slot,
                reason,
                db::to_int(self.now(), "time")?,
            ],
        )?;
        Ok(())
    }

    /// Revokes certificate `serial` that meter `meter` issued as the
    /// authority's agent (Figure 3A), for RFC 5280 `reason`, from now: the
    /// next revocation list names it (`A2`). The card keeps no copy of an
    /// agent certificate, so nothing is sent to it. Refused for an unknown
    /// meter, a bad reason, or a certificate already revoked.
    pub fn revoke_agent_certificate(
        &mut self,
        meter: &str,
        serial: u64,
        reason: u8,
    ) -> Result<(), AuthorityError> {
        if !valid_reason(reason) {
            return Err(invalid(format!("{reason} is not an RFC 5280 reason code")));
        }
        self.meter(meter)?
            .ok_or_else(|| AuthorityError::UnknownMeter(meter.to_owned()))?;
        let n = self.conn.execute(
            "INSERT INTO agent_revocations (meter, serial, reason, revoked_at)
             VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
            params![
                meter,
                db::to_int(serial, "serial")?,
                reason,
                db::to_int(self.now(), "time")?,
            ],
        )?;
        if n == 0 {
            return Err(invalid(format!(
                "agent certificate {serial} of meter {meter} is already revoked"
            )));
        }
        Ok(())
    }

    /// The forced revocations of `meter` not yet confirmed by its card:
    /// (certificate serial, reason).
    pub fn pending_forced(&self, meter: &str) -> Result<Vec<(u64, u8)>, AuthorityError> {
        let mut stmt = self.conn.prepare(
            "SELECT certificate, reason FROM revocations
             WHERE meter = ?1 AND forced = 1 AND confirmed_at IS NULL ORDER BY certificate",
        )?;
        let rows = stmt
            .query_map([meter], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, u8>(1)?)))?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter()
            .map(|(c, r)| Ok((db::from_int(c)?, r)))
            .collect()
    }

    /// At the card's next contact: the signed message of a pending forced
    /// revocation of `certificate`, found by the host in `slot`, bound to
    /// the card's `challenge` (payment disabled).
    pub fn forced_revocation(
        &mut self,
        meter: &str,
        chip_id: &[u8; 8],
        challenge: &[u8; 16],
        slot: u8,
        certificate: u64,
    ) -> Result<Vec<u8>, AuthorityError> {
        self.meter_on_chip(meter, chip_id)?;
        let reason = self
            .pending_forced(meter)?
            .into_iter()
            .find(|&(c, _)| c == certificate)
            .map(|(_, r)| r)
            .ok_or_else(|| invalid(format!("no forced revocation of {certificate} pending")))?;
        let subject = Subject {
            chip_id,
            serial: meter.as_bytes(),
            challenge,
            slot,
            certificate_serial: certificate,
            reason,
        };
        self.sign_revocation(&subject, self.now(), Payment::Disabled)
    }

    /// 622: records the card's confirmation: the certificate revoked at
    /// the card's time, for the reason, with the payment state. Refused
    /// unless signed by the meter key and matching a revocation this
    /// authority signed.
    pub fn confirm_revocation(
        &mut self,
        confirmation: &[u8],
    ) -> Result<PaymentState, AuthorityError> {
        let c = RevocationConfirmation::parse(confirmation)
            .map_err(|e| invalid(format!("not a revocation confirmation: {e:?}")))?;
        let b = c.body;
        let serial =
            std::str::from_utf8(b.subject.serial).map_err(|_| invalid("meter serial not UTF-8"))?;
        let meter = self
            .meter(serial)?
            .ok_or_else(|| AuthorityError::UnknownMeter(serial.to_owned()))?;
        let key = crypto::public_key(&meter.public_key)
            .ok_or_else(|| AuthorityError::Database("stored meter key invalid".into()))?;
        if meter.chip_id != hex::encode(b.subject.chip_id)
            || !crypto::verify_signed(&c.signed, &key)
        {
            return Err(invalid("the confirmation is not signed by this meter"));
        }
        let forced: Option<i64> = self
            .conn
            .query_row(
                "SELECT forced FROM revocations WHERE certificate = ?1 AND meter = ?2",
                params![db::to_int(b.subject.certificate_serial, "serial")?, serial],
                |r| r.get(0),
            )
            .optional()?;
        let Some(forced) = forced else {
            return Err(invalid("no such revocation was signed"));
        };
        if (forced == 1) != (b.payment == PaymentState::None) {
            return Err(invalid("the payment state does not match the revocation"));
        }
        let payment = match b.payment {
            PaymentState::None => "none",
            PaymentState::Paid => "paid",
            PaymentState::Due => "due",
        };
        let cert = db::to_int(b.subject.certificate_serial, "serial")?;
        let time = db::to_int(b.time, "time")?;
        let tx = db::begin(&mut self.conn)?;
        tx.execute(
            "UPDATE revocations SET confirmed_at = ?2, payment = ?3, fee = ?4,
                 reason = ?5, confirmation = ?6
             WHERE certificate = ?1",
            params![
                cert,
                time,
                payment,
                db::to_int(b.fee, "fee")?,
                b.subject.reason,
                confirmation
            ],
        )?;
        tx.execute(
            "UPDATE certificates SET revoked_at = COALESCE(revoked_at, ?2),
                 revocation_reason = COALESCE(revocation_reason, ?3)
             WHERE serial = ?1",
            params![cert, time, b.subject.reason.to_string()],
        )?;
        tx.commit()?;
        Ok(b.payment)
    }

    /// The recorded revocation of `certificate`, if any.
    pub fn revocation(&self, certificate: u64) -> Result<Option<RevocationRecord>, AuthorityError> {
        let row = self
            .conn
            .query_row(
                "SELECT reason, forced, payment, confirmed_at FROM revocations WHERE certificate = ?1",
                [db::to_int(certificate, "serial")?],
                |r| {
                    Ok((
                        r.get::<_, u8>(0)?,
                        r.get::<_, i64>(1)? == 1,
                        r.get::<_, Option<String>>(2)?,
                        r.get::<_, Option<i64>>(3)?,
                    ))
                },
            )
            .optional()?;
        row.map(|(reason, forced, payment, t)| {
            Ok(RevocationRecord {
                reason,
                forced,
                payment,
                confirmed_at: t.map(db::from_int).transpose()?,
            })
        })
        .transpose()
    }

    /// `meter authority crl`: the signed revocation list, numbered one more
    /// than the last one published (numbers only ever grow; the number is
    /// kept in the settings). It lists every certificate revoked on a card
    /// (at the card's confirmed time) and every forced revocation (from the
    /// time the operator recorded it, before the card makes contact).
    pub fn crl(&mut self) -> Result<Vec<u8>, AuthorityError> {
        let now = self.now();
        let tx = db::begin(&mut self.conn)?;
        let number = match db::setting::<i64>(&tx, CRL_NUMBER)? {
            Some(n) => db::from_int(n)? + 1,
            None => 1,
        };
        db::set_setting(&tx, CRL_NUMBER, db::to_int(number, "list number")?)?;
        let rows = {
            let mut stmt = tx.prepare(
                "SELECT certificate, COALESCE(confirmed_at, requested_at), reason FROM revocations
                     WHERE confirmed_at IS NOT NULL OR forced = 1
                 UNION
                 SELECT serial, revoked_at, 0 FROM certificates
                     WHERE revoked_at IS NOT NULL
                       AND serial NOT IN (SELECT certificate FROM revocations)
                 ORDER BY 1",
            )?;
            stmt.query_map([], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, u8>(2)?))
            })?
            .collect::<Result<Vec<_>, _>>()?
        };
        let entries = rows
            .into_iter()
            .map(|(c, t, reason)| {
                Ok(CrlEntry {
                    certificate_serial: db::from_int(c)?,
                    revoked_at: db::from_int(t)?,
                    reason,
                })
            })
            .collect::<Result<Vec<_>, AuthorityError>>()?;
        let agent_rows = {
            let mut stmt = tx.prepare(
                "SELECT meter, serial, revoked_at, reason FROM agent_revocations ORDER BY 1, 2",
            )?;
            stmt.query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, u8>(3)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?
        };
        let agent_entries = agent_rows
            .iter()
            .map(|(meter, serial, at, reason)| {
                Ok(AgentCrlEntry {
                    issuer: meter.as_bytes(),
                    entry: CrlEntry {
                        certificate_serial: db::from_int(*serial)?,
                        revoked_at: db::from_int(*at)?,
                        reason: *reason,
                    },
                })
            })
            .collect::<Result<Vec<_>, AuthorityError>>()?;
        let mut buf = vec![0u8; 0xFFFF + 5];
        let mut w = apdu::tlv::Writer::new(&mut buf);
        write_crl(
            &mut w,
            self.name.as_bytes(),
            number,
            now,
            &entries,
            &agent_entries,
            |b| crypto::sign(&self.key, b),
        )
        .map_err(|_| invalid("the revocation list does not fit one object"))?;
        let len = w.len();
        buf.truncate(len);
        tx.commit()?;
        Ok(buf)
    }

    fn check_revocable(
        &self,
        meter: &crate::MeterRecord,
        slot: u8,
        certificate: u64,
    ) -> Result<(), AuthorityError> {
        if slot == 0 && certificate != meter.certificate_serial {
            return Err(invalid("slot 0 holds the meter certificate"));
        }
        let revoked: Option<Option<i64>> = self
            .conn
            .query_row(
                "SELECT revoked_at FROM certificates WHERE serial = ?1",
                [db::to_int(certificate, "serial")?],
                |r| r.get(0),
            )
            .optional()?;
        match revoked {
            None => Err(invalid(format!(
                "certificate {certificate} was not issued here"
            ))),
            Some(Some(_)) => Err(invalid(format!(
                "certificate {certificate} is already revoked"
            ))),
            Some(None) => Ok(()),
        }
    }

    fn sign_revocation(
        &self,
        subject: &Subject<'_>,
        time: u64,
        payment: Payment,
    ) -> Result<Vec<u8>, AuthorityError> {
        let body = MessageBody {
            subject: *subject,
            time,
            payment,
        };
        let mut buf = vec![0u8; 1024];
        let mut w = apdu::tlv::Writer::new(&mut buf);
        body.write(&mut w, |b| crypto::sign(&self.key, b))
            .map_err(|_| invalid(format!("object {MESSAGE:X} does not fit")))?;
        let len = w.len();
        buf.truncate(len);
        Ok(buf)
    }
}
