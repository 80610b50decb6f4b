//! Personalization: the authority certifies the key a blank card generated
//! and answers the card's challenge with one signed message
//! ([`apdu::message::Personalization`]) carrying the serial, the authority
//! key, the rate table, the time, the service deadline and the meter
//! certificate.

use apdu::cert::{self, usage};
use apdu::message::{
    AUTHORITY_CERTIFICATE, CHALLENGE, CHIP_ID, DEADLINE, OBJECT_TYPE, PERSONALIZATION, TIME,
    object_type,
};
use apdu::meter::tag::{RATE, RATE_TABLE};
use rusqlite::{OptionalExtension, params};

use crate::certificate::{self, Fields};
use crate::{Authority, AuthorityError, CERTIFICATE_VALIDITY, db, keys};

pub use authority_api::PersonalizationRequest;

/// A personalized meter, as recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MeterRecord {
    /// Meter serial.
    pub serial: String,
    /// Chip id, lower-case hex.
    pub chip_id: String,
    /// Certified meter public key, uncompressed SEC1.
    pub public_key: [u8; 65],
    /// The meter certificate as issued.
    pub certificate: Vec<u8>,
    /// Its serial number.
    pub certificate_serial: u64,
    /// When it was personalized, Unix seconds.
    pub personalized_at: u64,
}

/// A meter as `meter authority meters` lists it: its loads and its state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MeterSummary {
    /// Meter serial.
    pub serial: String,
    /// Chip id, lower-case hex.
    pub chip_id: String,
    /// The serial of its meter certificate.
    pub certificate_serial: u64,
    /// When it was personalized, Unix seconds.
    pub personalized_at: u64,
    /// Loads issued.
    pub loads: u64,
    /// Loads confirmed by a receipt.
    pub confirmed: u64,
    /// When it was flagged (a receipt did not reconcile), Unix seconds.
    pub flagged_at: Option<u64>,
    /// Why it was flagged.
    pub flag_reason: Option<String>,
}

/// The serial rule the card also enforces ([`apdu::meter::serial_well_formed`]).
fn check_serial(serial: &str) -> Result<(), AuthorityError> {
    if apdu::meter::serial_well_formed(serial.as_bytes()) {
        return Ok(());
    }
    Err(AuthorityError::InvalidRequest(format!(
        "the meter serial must be 1 to {} printable ASCII characters without spaces",
        apdu::meter::SERIAL_MAX_LEN
    )))
}

impl Authority {
    /// Checks, before the PC touches the card, everything about a
    /// personalization of chip `chip_id` as meter `serial` with initial
    /// `funds` that does not need the card's key: the serial's form, that
    /// the serial and the chip are free (or this is a redo of the same
    /// chip and serial), and that the funds are an amount the authority can
    /// load. Changes nothing.
    pub fn check_personalization(
        &self,
        chip_id: &[u8; 8],
        serial: &str,
        funds: u64,
    ) -> Result<(), AuthorityError> {
        check_serial(serial)?;
        crate::value::check_amount(funds)?;
        let owner: Option<Vec<u8>> = self
            .conn
            .query_row(
                "SELECT chip_id FROM meters WHERE serial = ?1",
                [serial],
                |r| r.get(0),
            )
            .optional()?;
        if owner.is_some_and(|chip| chip != chip_id) {
            return Err(AuthorityError::DuplicateSerial(serial.to_owned()));
        }
        let known: Option<(String, bool)> = self
            .conn
            .query_row(
                "SELECT m.serial, EXISTS (SELECT 1 FROM loads l WHERE l.meter = m.serial)
                 FROM meters m WHERE m.chip_id = ?1",
                params![&chip_id[..]],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        match known {
            None => Ok(()),
            Some((known_serial, false)) if known_serial == serial => Ok(()),
            Some((known_serial, false)) => Err(AuthorityError::PendingPersonalization {
                chip: hex::encode(chip_id),
                serial: known_serial,
            }),
            Some(_) => Err(AuthorityError::DuplicateChip(hex::encode(chip_id))),
        }
    }

    /// Personalizes a blank card: certifies its key (holder = serial,
    /// usage POSTMARK | METERING, effective now, expiry now +
    /// [`CERTIFICATE_VALIDITY`]), records meter and certificate, and returns
    /// the encoded 7F70 message with the current rates, time and a deadline
    /// of now + [`SERVICE_INTERVAL`]. Serial, chip id and key must be new,
    /// except when redoing a personalization of the same chip and serial
    /// that the card never completed (no load was issued since).
    pub fn personalize(&mut self, req: &PersonalizationRequest) -> Result<Vec<u8>, AuthorityError> {
        check_serial(&req.serial)?;
        self.check_attestation(req)?;
        self.sign_personalization(req)
    }

    /// Signs a personalization **without** checking the card's attestation:
    /// what an authority that does not follow the protocol (a rogue one)
    /// sends. Only tests and the rogue-authority vector use it: the card
    /// itself refuses such a message unless this authority's key chains to
    /// the issuer root pinned in the card.
    pub fn personalize_unattested(
        &mut self,
        req: &PersonalizationRequest,
    ) -> Result<Vec<u8>, AuthorityError> {
        self.sign_personalization(req)
    }

    fn sign_personalization(
        &mut self,
        req: &PersonalizationRequest,
    ) -> Result<Vec<u8>, AuthorityError> {
        let serial = req.serial.as_str();
        check_serial(serial)?;
        if req.meter_public_key.first() != Some(&0x04)
            || apdu::crypto::public_key(&req.meter_public_key).is_none()
        {
            return Err(AuthorityError::InvalidRequest(
                "the meter public key is not an uncompressed P-256 point".into(),
            ));
        }
        let now = self.now();
        let policy = self.policy()?;
        let deadline =
            Authority::service_deadline(now, &policy).min(now.saturating_add(CERTIFICATE_VALIDITY));
        let authority_certificate = self.authority_certificate.clone();
        let rates = self.rates.clone();

        let tx = db::begin(&mut self.conn)?;
        // The same card asking again (its first message never reached it, or
        // was refused) gets a new message for the certificate it already
        // has: same chip, same serial, same meter key, no load issued yet.
        // Anything else about a known chip is refused.
        let known: Option<(String, Vec<u8>, i64, bool)> = tx
            .query_row(
                "SELECT m.serial, m.public_key, m.certificate_serial,
                        EXISTS (SELECT 1 FROM loads l WHERE l.meter = m.serial)
                 FROM meters m WHERE m.chip_id = ?1",
                params![&req.chip_id[..]],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()?;
        let cert = match known {
            Some((known_serial, key, cert_serial, loaded))
                if known_serial == serial && key == req.meter_public_key && !loaded =>
            {
                tx.query_row(
                    "SELECT bytes FROM certificates WHERE serial = ?1",
                    params![cert_serial],
                    |r| r.get::<_, Vec<u8>>(0),
                )?
            }
            Some((known_serial, _, _, false)) => {
                return Err(AuthorityError::PendingPersonalization {
                    chip: hex::encode(req.chip_id),
                    serial: known_serial,
                });
            }
            Some(_) => return Err(AuthorityError::DuplicateChip(hex::encode(req.chip_id))),
            None => certify(
                (&self.key, &self.name, self.meter_usage),
                &tx,
                serial,
                &req.chip_id,
                &req.meter_public_key,
                now,
            )?,
        };

        let message = keys::signed_object(PERSONALIZATION, &self.key, |w| {
            w.put(OBJECT_TYPE, &object_type(PERSONALIZATION))?;
            w.put(CHIP_ID, &req.chip_id)?;
            w.put(CHALLENGE, &req.challenge)?;
            w.put(cert::HOLDER, serial.as_bytes())?;
            w.nested(AUTHORITY_CERTIFICATE, |w| w.raw(&authority_certificate))?;
            w.nested(RATE_TABLE, |w| {
                for (service, fee) in &rates {
                    w.put(RATE, &apdu::meter::rate_entry(*service, *fee))?;
                }
                Ok(())
            })?;
            w.put_u64(TIME, now)?;
            w.put_u64(DEADLINE, deadline)?;
            policy.write(w)?;
            w.raw(&cert)
        })?;
        tx.commit()?;
        Ok(message)
    }
}

impl Authority {
    /// The attestation chain of a personalization request: the nonce this
    /// authority issued for the chip (consumed by any attempt), the
    /// attestation certificate by this issuer's root for this chip id with
    /// usage ATTESTATION and not expired, the statement signed by the key it
    /// certifies, for this chip, this meter key and that nonce.
    fn check_attestation(&mut self, req: &PersonalizationRequest) -> Result<(), AuthorityError> {
        use apdu::cmd::attestation::{Attestation, chip_holder};
        let nonce = self
            .nonces
            .remove(&req.chip_id)
            .ok_or(AuthorityError::Unattested(
                "no attestation nonce was issued for this card",
            ))?;
        let a = Attestation::parse(&req.attestation)
            .map_err(|_| AuthorityError::Unattested("the attestation does not parse"))?;
        let root = apdu::crypto::public_key(&self.root_public)
            .ok_or_else(|| AuthorityError::Database("the issuer root is not a P-256 key".into()))?;
        let cert = &a.certificate;
        if !apdu::crypto::verify_certificate(cert, &root) || !cert.allows(usage::ATTESTATION) {
            return Err(AuthorityError::Unattested(
                "the attestation certificate is not by this issuer's root",
            ));
        }
        if cert.holder != chip_holder(&req.chip_id) || a.body.chip_id != &req.chip_id {
            return Err(AuthorityError::Unattested(
                "the attestation is for another chip id",
            ));
        }
        // Expiry only: a card made (and certified) by another clock may
        // meet an authority whose clock is behind its factory's.
        if self.now() > cert.expiry {
            return Err(AuthorityError::Unattested(
                "the attestation certificate has expired",
            ));
        }
        let card_key = apdu::crypto::public_key(cert.public_key).ok_or(
            AuthorityError::Unattested("the attestation key is not a P-256 key"),
        )?;
        if !apdu::crypto::verify_signed(&a.signed, &card_key) {
            return Err(AuthorityError::Unattested(
                "the statement is not signed by the card's attestation key",
            ));
        }
        if a.body.meter_key != &req.meter_public_key {
            return Err(AuthorityError::Unattested(
                "the statement attests another meter key",
            ));
        }
        if a.body.nonce != &nonce {
            return Err(AuthorityError::Unattested(
                "the statement does not answer this authority's nonce",
            ));
        }
        Ok(())
    }
}

/// The usage bits of a meter certificate: postmarks, metering, and the
/// card as a certificate agent (Figure 3A).
pub const METER_USAGE: u8 = usage::POSTMARK | usage::METERING | usage::ISSUE_CERTIFICATES;

impl Authority {
    /// Sets the usage bits of the meter certificates this instance issues
    /// from now on (default [`METER_USAGE`]); without
    /// [`usage::ISSUE_CERTIFICATES`] the meters it personalizes refuse to
    /// act as certificate agents (9408). Not persisted.
    pub fn set_meter_usage(&mut self, bits: u8) {
        self.meter_usage = bits;
    }
}

/// Certifies a new meter key (Figure 1) and records meter and certificate;
/// serial and key must be new.
fn certify(
    (key, name, usage): (&p256::ecdsa::SigningKey, &str, u8),
    tx: &rusqlite::Transaction<'_>,
    serial: &str,
    chip_id: &[u8; 8],
    public_key: &[u8; 65],
    now: u64,
) -> Result<Vec<u8>, AuthorityError> {
    let expiry = now.saturating_add(CERTIFICATE_VALIDITY);
    let exists = |sql: &str, value: &dyn rusqlite::ToSql| -> Result<bool, AuthorityError> {
        Ok(tx.query_row(sql, [value], |_| Ok(())).optional()?.is_some())
    };
    if exists("SELECT 1 FROM meters WHERE serial = ?1", &serial)? {
        return Err(AuthorityError::DuplicateSerial(serial.to_owned()));
    }
    if exists(
        "SELECT 1 FROM meters WHERE public_key = ?1",
        &&public_key[..],
    )? {
        return Err(AuthorityError::InvalidRequest(
            "this meter key is already certified for another meter".into(),
        ));
    }
    let cert_serial = db::next_certificate_serial(tx)?;
    let cert = certificate::build(
        key,
        &Fields {
            issuer: name,
            holder: serial,
            serial: cert_serial,
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
            db::to_int(cert_serial, "certificate serial")?,
            serial,
            name,
            &public_key[..],
            usage,
            db::to_int(now, "time")?,
            db::to_int(expiry, "time")?,
            cert,
            db::to_int(now, "time")?,
        ],
    )?;
    tx.execute(
        "INSERT INTO meters
                 (serial, chip_id, public_key, certificate_serial, personalized_at, key_generation)
             VALUES (?1, ?2, ?3, ?4, ?5,
                     COALESCE((SELECT value FROM settings WHERE key = 'key_generation'), 0))",
        params![
            serial,
            &chip_id[..],
            &public_key[..],
            db::to_int(cert_serial, "certificate serial")?,
            db::to_int(now, "time")?,
        ],
    )?;
    Ok(cert)
}

impl Authority {
    /// The record of meter `serial`, if personalized.
    pub fn meter(&self, serial: &str) -> Result<Option<MeterRecord>, AuthorityError> {
        let row = self
            .conn
            .query_row(
                "SELECT m.chip_id, m.public_key, c.bytes, m.certificate_serial, m.personalized_at
                 FROM meters m JOIN certificates c ON c.serial = m.certificate_serial
                 WHERE m.serial = ?1",
                [serial],
                |r| {
                    Ok((
                        r.get::<_, Vec<u8>>(0)?,
                        r.get::<_, Vec<u8>>(1)?,
                        r.get::<_, Vec<u8>>(2)?,
                        r.get::<_, i64>(3)?,
                        r.get::<_, i64>(4)?,
                    ))
                },
            )
            .optional()?;
        let Some((chip_id, public_key, certificate, cert_serial, at)) = row else {
            return Ok(None);
        };
        let public_key = public_key
            .try_into()
            .map_err(|_| AuthorityError::Database("a stored meter key is not 65 bytes".into()))?;
        Ok(Some(MeterRecord {
            serial: serial.to_owned(),
            chip_id: hex::encode(chip_id),
            public_key,
            certificate,
            certificate_serial: db::from_int(cert_serial)?,
            personalized_at: db::from_int(at)?,
        }))
    }

    /// Every personalized meter, by serial, with its loads and its flag.
    pub fn meters(&self) -> Result<Vec<MeterSummary>, AuthorityError> {
        let mut stmt = self.conn.prepare(
            "SELECT m.serial, m.chip_id, m.certificate_serial, m.personalized_at,
                    (SELECT COUNT(*) FROM loads l WHERE l.meter = m.serial),
                    (SELECT COUNT(*) FROM loads l
                     WHERE l.meter = m.serial AND l.confirmed_at IS NOT NULL),
                    m.flagged_at, m.flag_reason
             FROM meters m ORDER BY m.serial",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Vec<u8>>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, i64>(4)?,
                r.get::<_, i64>(5)?,
                r.get::<_, Option<i64>>(6)?,
                r.get::<_, Option<String>>(7)?,
            ))
        })?;
        rows.map(|row| {
            let (serial, chip, cert, at, loads, confirmed, flagged_at, flag_reason) = row?;
            Ok(MeterSummary {
                serial,
                chip_id: hex::encode(chip),
                certificate_serial: db::from_int(cert)?,
                personalized_at: db::from_int(at)?,
                loads: db::from_int(loads)?,
                confirmed: db::from_int(confirmed)?,
                flagged_at: db::from_opt_int(flagged_at)?,
                flag_reason,
            })
        })
        .collect()
    }
}
