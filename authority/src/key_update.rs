//! [certs] point 6, the authority's side of a key update: the next
//! operational key certified by the issuer root (usage AUTHORITY), sent to
//! a card in a message signed by the current key and bound to the card's
//! challenge; then the authority signs with the next key.

use apdu::cmd::key_update::{KEY_UPDATE, KeyUpdateBody};
use p256::ecdsa::SigningKey;

use crate::{Authority, AuthorityError, certificate, db, keys};

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
        let body = KeyUpdateBody {
            chip_id,
            serial: serial.as_bytes(),
            challenge,
            time: self.now(),
            next_certificate,
        };
        let mut buf = vec![0u8; 2048];
        let mut w = apdu::tlv::Writer::new(&mut buf);
        body.write(&mut w, |b| apdu::crypto::sign(&self.key, b))
            .map_err(|_| {
                AuthorityError::InvalidRequest(format!("object {KEY_UPDATE:X} does not fit"))
            })?;
        let len = w.len();
        buf.truncate(len);
        Ok(buf)
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
