//! Figure 5, the authority's side of installing a certificate, over the
//! card-authority channel ([`crate::channel`]): the key request for the
//! holder (sealed `E7`), then the card's certificate request (`7F79`,
//! signed by the key the card generated: proof of possession), the
//! identity check (the holder's one-time enrollment code, 514/516), and
//! the certificate (518), sealed `E8`; then the card's sealed answer (the
//! slot, 520).

use apdu::cert::usage;
use apdu::cmd::install::{
    CertificateRequest, HOLDER, IMPORT_KEY, INSTALL, KEY_REQUEST, SLOT, USAGE,
};
use apdu::tlv::{self, Writer};
use p256::ecdsa::VerifyingKey;
use rusqlite::params;

use crate::certificate::{self, Fields};
use crate::{Authority, AuthorityError, db};

fn invalid(why: impl Into<String>) -> AuthorityError {
    AuthorityError::InvalidRequest(why.into())
}

/// Longest certificate validity a holder may ask for: 5 years.
pub const MAX_VALID_DAYS: u32 = 5 * 366;

impl Authority {
    /// The sealed key request for `holder` with `uses` (SIGNING only) on
    /// channel `id`.
    pub fn install_key_request(
        &mut self,
        id: u64,
        holder: &str,
        uses: u8,
    ) -> Result<Vec<u8>, AuthorityError> {
        self.key_request(id, holder, uses, None)
    }

    /// The sealed key request carrying the holder's own private key
    /// (`meter cert import`, the lower-assurance variant): the key reaches
    /// the card only inside the sealed message, and its certificate is
    /// marked [`usage::IMPORTED`].
    pub fn install_key_request_imported(
        &mut self,
        id: u64,
        holder: &str,
        uses: u8,
        private_key: &[u8; 32],
    ) -> Result<Vec<u8>, AuthorityError> {
        p256::SecretKey::from_slice(private_key)
            .map_err(|_| invalid("the imported key is not a P-256 private key"))?;
        self.key_request(id, holder, uses, Some(private_key))
    }

    fn key_request(
        &mut self,
        id: u64,
        holder: &str,
        uses: u8,
        import: Option<&[u8; 32]>,
    ) -> Result<Vec<u8>, AuthorityError> {
        if uses == 0 || uses & !usage::HOLDER != 0 {
            return Err(invalid(
                "a holder's certificate may only have the SIGNING and AUTHENTICATION uses",
            ));
        }
        let (channel, _) = self.channel_with(id)?;
        let mut buf = zeroize::Zeroizing::new(vec![0u8; 192]);
        let mut w = Writer::new(&mut buf);
        w.nested(KEY_REQUEST, |w| {
            w.put(HOLDER, holder.as_bytes())?;
            w.put(USAGE, &[uses])?;
            match import {
                Some(k) => w.put(IMPORT_KEY, k),
                None => Ok(()),
            }
        })
        .map_err(|_| invalid("holder name too long"))?;
        let n = w.len();
        let len = channel
            .seal(&mut buf, n)
            .map_err(|e| invalid(e.to_string()))?;
        Ok(buf.get(..len).unwrap_or_default().to_vec())
    }

    /// Opens the card's sealed certificate request on channel `id`, checks
    /// the proof of possession, the chip, the holder's one-time `code`
    /// (used up: 514; refused: 516), and answers the sealed certificate
    /// valid `valid_days` from now (518).
    pub fn install_issue(
        &mut self,
        id: u64,
        sealed: &[u8],
        code: &str,
        valid_days: u32,
    ) -> Result<Vec<u8>, AuthorityError> {
        if valid_days == 0 || valid_days > MAX_VALID_DAYS {
            return Err(invalid(format!("validity of 1 to {MAX_VALID_DAYS} days")));
        }
        let (channel, serial) = self.channel_with(id)?;
        let mut buf = sealed.to_vec();
        let plain = channel
            .open_message(&mut buf)
            .map_err(|e| invalid(format!("channel message refused: {e}")))?
            .to_vec();
        let request =
            CertificateRequest::parse(&plain).map_err(|e| invalid(format!("request: {e}")))?;
        let uses = request.body.usage;
        if uses & usage::HOLDER == 0 || uses & !(usage::HOLDER | usage::IMPORTED) != 0 {
            return Err(invalid(
                "a holder's certificate may only have the SIGNING and AUTHENTICATION uses",
            ));
        }
        let key = VerifyingKey::from_sec1_bytes(request.body.public_key)
            .map_err(|_| invalid("the requested key is not a P-256 key"))?;
        if !apdu::crypto::verify_signed(&request.signed, &key) {
            return Err(invalid("the request is not signed by the requested key"));
        }
        let meter = self
            .meter(&serial)?
            .ok_or_else(|| AuthorityError::UnknownMeter(serial.clone()))?;
        if hex::encode(request.body.chip_id) != meter.chip_id {
            return Err(invalid("the request comes from another chip"));
        }
        let holder = std::str::from_utf8(request.body.holder)
            .map_err(|_| invalid("the holder name is not UTF-8"))?
            .to_owned();
        // 514 / 516: the identity check. A refused code ends this request:
        // its channel is forgotten.
        if let Err(e) = self.redeem_enrollment(&holder, code) {
            self.close_channel(id);
            return Err(e);
        }
        // 518: the certificate.
        let now = self.now();
        let expiry = now.saturating_add(u64::from(valid_days) * 86_400);
        let tx = db::begin(&mut self.conn)?;
        let cert_serial = db::next_certificate_serial(&tx)?;
        let cert = certificate::build(
            &self.key,
            &Fields {
                issuer: &self.name,
                holder: &holder,
                serial: cert_serial,
                public_key: request.body.public_key,
                usage: request.body.usage,
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
                holder,
                self.name,
                &request.body.public_key[..],
                request.body.usage,
                db::to_int(now, "time")?,
                db::to_int(expiry, "time")?,
                cert,
                db::to_int(now, "time")?,
            ],
        )?;
        tx.commit()?;
        let (channel, _) = self.channel_with(id)?;
        let mut out = vec![0u8; cert.len() + 64];
        let mut w = Writer::new(&mut out);
        w.put(INSTALL, &cert)
            .map_err(|_| invalid("certificate too long"))?;
        let n = w.len();
        let len = channel
            .seal(&mut out, n)
            .map_err(|e| invalid(e.to_string()))?;
        out.truncate(len);
        Ok(out)
    }

    /// Opens the card's sealed install answer on channel `id`: the slot
    /// the certificate went to (520). The channel is then closed: one
    /// channel per request.
    pub fn install_confirm(&mut self, id: u64, sealed: &[u8]) -> Result<u8, AuthorityError> {
        let (channel, _) = self.channel_with(id)?;
        let mut buf = sealed.to_vec();
        let plain = channel
            .open_message(&mut buf)
            .map_err(|e| invalid(format!("channel message refused: {e}")))?;
        let slot = match tlv::read(plain) {
            Ok((t, _)) if t.tag == INSTALL => match tlv::find(t.value, SLOT) {
                Some([slot]) => Ok(*slot),
                _ => Err(invalid("install answer")),
            },
            _ => Err(invalid("install answer")),
        };
        // The request is over: its channel is forgotten (keys wiped).
        self.close_channel(id);
        slot
    }
}
