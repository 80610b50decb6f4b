//! [certs] point 6, the authority's side of a key update: the next
//! operational key certified by the issuer root (usage AUTHORITY), sent to
//! a card in a message signed by the current key and bound to the card's
//! challenge; then the authority signs with the next key.
//!
//! The rollover (`meter authority rollover`, [`Authority::rollover`]) makes
//! the next key, certifies it with the issuer root and switches to it at
//! once; the replaced key is kept (`authority.previous.key`) only to sign
//! the key update of each card still holding it
//! ([`Authority::key_update_for`]), which the host sends at the card's
//! next contact before anything else. The database records which key
//! generation each card holds.

use std::path::Path;

use apdu::cmd::key_update::{KEY_UPDATE, KeyUpdateBody};
use p256::ecdsa::SigningKey;
use rusqlite::params;

use crate::{Authority, AuthorityError, KEY_FILE, certificate, db, keys};

/// The file of the operational key the last rollover replaced (mode 0600):
/// it signs only the key updates of cards that still hold it.
pub const PREVIOUS_KEY_FILE: &str = "authority.previous.key";
/// The next key's file while a rollover is under way; renamed over
/// [`KEY_FILE`] as its last step ([`Authority::open`] finishes an
/// interrupted one).
pub const NEXT_KEY_FILE: &str = "authority.next.key";

impl Authority {
    /// The next key's authority certificate by the issuer root (usage
    /// AUTHORITY, effective a day back, valid [`crate::AUTHORITY_KEY_VALIDITY`]).
    /// Needs the issuer root key.
    pub fn certify_next_key(&self, next: &SigningKey) -> Result<Vec<u8>, AuthorityError> {
        let now = self.now();
        certificate::build(
            self.root_key()?,
            &certificate::Fields {
                issuer: &self.name,
                holder: &self.name,
                serial: 0,
                public_key: &keys::encode_public(next.verifying_key()),
                usage: apdu::cert::usage::AUTHORITY,
                effective: now.saturating_sub(24 * 3600),
                expiry: now.saturating_add(crate::AUTHORITY_KEY_VALIDITY),
            },
        )
    }

    /// The key update message (7F51) for meter `serial` on chip `chip_id`
    /// answering `challenge`: `next_certificate` (from
    /// [`Authority::certify_next_key`]) signed by the current key.
    pub fn key_update(
        &mut self,
        serial: &str,
        chip_id: &[u8; 8],
        challenge: &[u8; 16],
        next_certificate: &[u8],
    ) -> Result<Vec<u8>, AuthorityError> {
        self.meter_on_chip(serial, chip_id)?;
        let key = self.key.clone();
        self.key_update_signed(serial, chip_id, challenge, next_certificate, &key)
    }

    fn key_update_signed(
        &self,
        serial: &str,
        chip_id: &[u8; 8],
        challenge: &[u8; 16],
        next_certificate: &[u8],
        key: &SigningKey,
    ) -> Result<Vec<u8>, AuthorityError> {
        let body = KeyUpdateBody {
            chip_id,
            serial: serial.as_bytes(),
            challenge,
            time: self.now(),
            next_certificate,
        };
        let mut buf = vec![0u8; 2048];
        let mut w = apdu::tlv::Writer::new(&mut buf);
        body.write(&mut w, |b| apdu::crypto::sign(key, b))
            .map_err(|_| {
                AuthorityError::InvalidRequest(format!("object {KEY_UPDATE:X} does not fit"))
            })?;
        let len = w.len();
        buf.truncate(len);
        Ok(buf)
    }

    /// The key rollover of the authority in `dir`: a new operational key,
    /// certified by the issuer root (whose key file must be there), becomes
    /// the current one; the replaced key goes to [`PREVIOUS_KEY_FILE`]
    /// (dropping the one before it). Cards get the new key at their next
    /// contact ([`Authority::key_update_for`]). Returns the new generation.
    ///
    /// Steps, each safe to cut: the next key to [`NEXT_KEY_FILE`]; the
    /// current key to [`PREVIOUS_KEY_FILE`]; one database transaction (the
    /// public keys, certificates and generation); the next key file renamed
    /// over [`KEY_FILE`]. Cut before the transaction, nothing changed (run
    /// it again); after it, [`Authority::open`] completes the rename.
    pub fn rollover(&mut self, dir: &Path) -> Result<u64, AuthorityError> {
        let next = keys::generate()?;
        let next_certificate = self.certify_next_key(&next)?;
        let next_path = dir.join(NEXT_KEY_FILE);
        let previous_path = dir.join(PREVIOUS_KEY_FILE);
        for leftover in [&next_path, &previous_path] {
            match std::fs::remove_file(leftover) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(AuthorityError::Io(leftover.clone(), e));
                }
                _ => {}
            }
        }
        keys::write_key_file(&next_path, &next)?;
        keys::write_key_file(&previous_path, &self.key)?;
        let generation = self.key_generation()? + 1;
        let tx = db::begin(&mut self.conn)?;
        db::set_setting(
            &tx,
            db::PREVIOUS_PUBLIC_KEY,
            hex::encode(keys::encode_public(self.key.verifying_key())),
        )?;
        db::set_setting(
            &tx,
            db::PREVIOUS_CERTIFICATE,
            hex::encode(&self.authority_certificate),
        )?;
        db::set_setting(
            &tx,
            db::PUBLIC_KEY,
            hex::encode(keys::encode_public(next.verifying_key())),
        )?;
        db::set_setting(
            &tx,
            db::AUTHORITY_CERTIFICATE,
            hex::encode(&next_certificate),
        )?;
        db::set_setting(
            &tx,
            db::KEY_GENERATION,
            db::to_int(generation, "key generation")?,
        )?;
        tx.commit()?;
        finish_rollover(dir)?;
        let previous = std::mem::replace(&mut self.key, next);
        self.previous = Some((
            previous,
            std::mem::replace(&mut self.authority_certificate, next_certificate),
        ));
        Ok(generation)
    }

    /// The public key the last rollover replaced, when its key is kept.
    pub fn previous_public_key(&self) -> Option<p256::ecdsa::VerifyingKey> {
        self.previous.as_ref().map(|(k, _)| *k.verifying_key())
    }

    /// The generation of the current operational key (0: made at `init`).
    pub fn key_generation(&self) -> Result<u64, AuthorityError> {
        match db::setting::<i64>(&self.conn, db::KEY_GENERATION)? {
            Some(g) => db::from_int(g),
            None => Ok(0),
        }
    }

    /// The key update meter `serial` on chip `chip_id` needs, answering its
    /// `challenge`: `None` when it holds the current key; else the current
    /// key's certificate, signed by the key it holds (the one the last
    /// rollover replaced). A card two or more rollovers behind cannot be
    /// brought up (the key it trusts is gone): an error says so.
    pub fn key_update_for(
        &mut self,
        serial: &str,
        chip_id: &[u8; 8],
        challenge: &[u8; 16],
    ) -> Result<Option<Vec<u8>>, AuthorityError> {
        self.meter_on_chip(serial, chip_id)?;
        let (held, current) = (self.meter_key_generation(serial)?, self.key_generation()?);
        if held == current {
            return Ok(None);
        }
        let Some((previous, _)) = self.previous.as_ref().filter(|_| held + 1 == current) else {
            return Err(AuthorityError::InvalidRequest(format!(
                "meter {serial} holds authority key generation {held}, the authority is at {current}: too far behind for a key update; it must be personalized again"
            )));
        };
        let previous = previous.clone();
        let certificate = self.authority_certificate.clone();
        self.key_update_signed(serial, chip_id, challenge, &certificate, &previous)
            .map(Some)
    }

    /// Records that meter `serial` took the key update
    /// [`Authority::key_update_for`] made: it holds the current key.
    pub fn key_updated(&mut self, serial: &str) -> Result<(), AuthorityError> {
        let generation = db::to_int(self.key_generation()?, "key generation")?;
        let n = self.conn.execute(
            "UPDATE meters SET key_generation = ?2 WHERE serial = ?1",
            params![serial, generation],
        )?;
        if n == 0 {
            return Err(AuthorityError::UnknownMeter(serial.to_owned()));
        }
        Ok(())
    }

    /// The generation of the authority key meter `serial` holds.
    pub fn meter_key_generation(&self, serial: &str) -> Result<u64, AuthorityError> {
        let g: Option<i64> = self
            .conn
            .query_row(
                "SELECT key_generation FROM meters WHERE serial = ?1",
                [serial],
                |r| r.get(0),
            )
            .map(Some)
            .or_else(|e| match e {
                rusqlite::Error::QueryReturnedNoRows => Ok(None),
                e => Err(e),
            })?;
        db::from_int(g.ok_or_else(|| AuthorityError::UnknownMeter(serial.to_owned()))?)
    }

    /// From now on this authority signs with `next`, whose certificate is
    /// `next_certificate` (in memory and in the database's settings; the
    /// caller keeps the key file).
    pub fn switch_key(
        &mut self,
        next: SigningKey,
        next_certificate: Vec<u8>,
    ) -> Result<(), AuthorityError> {
        db::set_setting(
            &self.conn,
            db::AUTHORITY_CERTIFICATE,
            hex::encode(&next_certificate),
        )?;
        self.key = next;
        self.authority_certificate = next_certificate;
        Ok(())
    }
}

/// The last step of a rollover: [`NEXT_KEY_FILE`] renamed over
/// [`KEY_FILE`] (atomic on one file system), then the directory synced.
pub(crate) fn finish_rollover(dir: &Path) -> Result<(), AuthorityError> {
    let next = dir.join(NEXT_KEY_FILE);
    std::fs::rename(&next, dir.join(KEY_FILE)).map_err(|e| AuthorityError::Io(next, e))?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}
