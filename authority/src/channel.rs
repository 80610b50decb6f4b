//! The authority's side of the card-authority channel (Figure 2, comm key
//! 256; Figure 5, 508), [`apdu::channel`]:
//!
//! - [`Authority::channel_nonce`] and [`Authority::register_channel_key`]:
//!   the card's static channel key, signed by its meter key (certified at
//!   personalization, bound to the chip id) over a fresh authority nonce
//!   (`7F78`), is checked and recorded for the meter (table
//!   `channel_keys`);
//! - [`Authority::open_channel`]: answers the card's request `7F77` with a
//!   signed hello `7F76` for a fresh ephemeral key, and keeps the channel
//!   in memory under an id, for this request only;
//! - [`Authority::channel_confirm`] / [`Authority::channel_confirmed`]: key
//!   confirmation: a sealed random challenge the card must answer sealed.
//!
//! The host relays opaque bytes: it never sees a channel key or plaintext.

use std::collections::HashMap;

use apdu::channel::{AuthorityChannel, Request, decode_point};
use apdu::cmd::channel::{CONFIRM, Registration};
use apdu::tlv::Writer;
use p256::SecretKey;
use p256::ecdsa::VerifyingKey;
use rusqlite::{OptionalExtension, params};

use crate::{Authority, AuthorityError, db};

/// Channels open at this authority, and registration nonces issued.
#[derive(Default)]
pub struct Channels {
    open: HashMap<u64, Open>,
    next: u64,
    nonces: HashMap<String, [u8; 16]>,
}

struct Open {
    serial: String,
    channel: AuthorityChannel,
    confirm: Option<[u8; 16]>,
}

fn random<const N: usize>() -> Result<[u8; N], AuthorityError> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).map_err(|e| AuthorityError::Entropy(e.to_string()))?;
    Ok(b)
}

fn invalid(why: impl Into<String>) -> AuthorityError {
    AuthorityError::InvalidRequest(why.into())
}

impl Authority {
    /// A fresh nonce for meter `serial`'s channel key registration (the
    /// last one issued for it is the one accepted).
    pub fn channel_nonce(&mut self, serial: &str) -> Result<[u8; 16], AuthorityError> {
        self.meter(serial)?
            .ok_or_else(|| AuthorityError::UnknownMeter(serial.to_owned()))?;
        let nonce = random()?;
        self.channels.nonces.insert(serial.to_owned(), nonce);
        Ok(nonce)
    }

    /// Checks meter `serial`'s channel key registration (`7F78`: signed by
    /// its certified meter key, for its chip, over the nonce issued by
    /// [`Authority::channel_nonce`], used up here) and records the key.
    pub fn register_channel_key(
        &mut self,
        serial: &str,
        registration: &[u8],
    ) -> Result<(), AuthorityError> {
        let meter = self
            .meter(serial)?
            .ok_or_else(|| AuthorityError::UnknownMeter(serial.to_owned()))?;
        let nonce = self
            .channels
            .nonces
            .remove(serial)
            .ok_or_else(|| invalid("no channel key nonce was issued for this meter"))?;
        let r = Registration::parse(registration)
            .map_err(|e| invalid(format!("channel key registration: {e}")))?;
        let meter_key = VerifyingKey::from_sec1_bytes(&meter.public_key)
            .map_err(|_| invalid("the meter key on record is not a P-256 key"))?;
        if !apdu::crypto::verify_signed(&r.signed, &meter_key) {
            return Err(invalid(
                "channel key registration not signed by the meter key",
            ));
        }
        if hex::encode(r.body.chip_id) != meter.chip_id {
            return Err(invalid("channel key registration from another chip"));
        }
        if *r.body.nonce != nonce {
            return Err(invalid("channel key registration for another nonce"));
        }
        decode_point(r.body.channel_key).map_err(|e| invalid(e.to_string()))?;
        let now = db::to_int(self.now(), "time")?;
        self.conn.execute(
            "INSERT INTO channel_keys (meter, public_key, registered_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (meter) DO UPDATE SET public_key = ?2, registered_at = ?3",
            params![serial, &r.body.channel_key[..], now],
        )?;
        Ok(())
    }

    /// The static channel key recorded for meter `serial`, if any.
    pub fn channel_key(&self, serial: &str) -> Result<Option<[u8; 65]>, AuthorityError> {
        let key: Option<Vec<u8>> = self
            .conn
            .query_row(
                "SELECT public_key FROM channel_keys WHERE meter = ?1",
                [serial],
                |r| r.get(0),
            )
            .optional()?;
        key.map(|k| {
            k.try_into()
                .map_err(|_| invalid("a stored channel key is not 65 bytes"))
        })
        .transpose()
    }

    /// Answers meter `serial`'s channel request `7F77` (for its chip) with
    /// the signed hello; returns the channel's id and the hello. The
    /// channel is kept until [`Authority::close_channel`] or a refusal.
    pub fn open_channel(
        &mut self,
        serial: &str,
        request: &[u8],
    ) -> Result<(u64, Vec<u8>), AuthorityError> {
        let meter = self
            .meter(serial)?
            .ok_or_else(|| AuthorityError::UnknownMeter(serial.to_owned()))?;
        let request = Request::parse(request).map_err(|e| invalid(e.to_string()))?;
        if hex::encode(request.chip_id) != meter.chip_id {
            return Err(invalid(format!("meter {serial} is not on this card")));
        }
        let key = self
            .channel_key(serial)?
            .ok_or_else(|| invalid(format!("meter {serial} has no registered channel key")))?;
        let card_static = decode_point(&key).map_err(|e| invalid(e.to_string()))?;
        let ephemeral = loop {
            if let Ok(k) = SecretKey::from_slice(&random::<32>()?) {
                break k;
            }
        };
        let mut hello = vec![0u8; 512];
        let mut w = Writer::new(&mut hello);
        let channel =
            AuthorityChannel::accept(&mut w, &self.key, ephemeral, &card_static, &request)
                .map_err(|e| invalid(e.to_string()))?;
        let len = w.len();
        hello.truncate(len);
        let id = self.channels.next;
        self.channels.next += 1;
        self.channels.open.insert(
            id,
            Open {
                serial: serial.to_owned(),
                channel,
                confirm: None,
            },
        );
        Ok((id, hello))
    }

    fn open_entry(&mut self, id: u64) -> Result<&mut Open, AuthorityError> {
        self.channels
            .open
            .get_mut(&id)
            .ok_or_else(|| invalid(format!("no open channel {id}")))
    }

    /// Key confirmation, first half: a sealed `E6 { random }` for the card.
    pub fn channel_confirm(&mut self, id: u64) -> Result<Vec<u8>, AuthorityError> {
        let challenge: [u8; 16] = random()?;
        let open = self.open_entry(id)?;
        let mut buf = vec![0u8; 64];
        let mut w = Writer::new(&mut buf);
        w.put(CONFIRM, &challenge)
            .map_err(|_| invalid("confirmation does not fit"))?;
        let len = w.len();
        let sealed = open
            .channel
            .seal(&mut buf, len)
            .map_err(|e| invalid(e.to_string()))?;
        buf.truncate(sealed);
        open.confirm = Some(challenge);
        Ok(buf)
    }

    /// Key confirmation, second half: the card's sealed answer must open
    /// and repeat the challenge (the card holds the certified static key).
    /// A refused answer closes the channel.
    pub fn channel_confirmed(&mut self, id: u64, answer: &[u8]) -> Result<String, AuthorityError> {
        let open = self.open_entry(id)?;
        let mut buf = answer.to_vec();
        let result = match (open.channel.open_message(&mut buf), open.confirm.take()) {
            (Ok(plain), Some(c)) => {
                let mut expected = vec![0u8; 32];
                let mut w = Writer::new(&mut expected);
                w.put(CONFIRM, &c)
                    .map_err(|_| invalid("confirmation does not fit"))?;
                let n = w.len();
                if expected.get(..n) == Some(plain) {
                    Ok(open.serial.clone())
                } else {
                    Err(invalid("the card's key confirmation does not match"))
                }
            }
            (Ok(_), None) => Err(invalid("no key confirmation was sent")),
            (Err(e), _) => Err(invalid(format!("channel message refused: {e}"))),
        };
        if result.is_err() {
            self.channels.open.remove(&id);
        }
        result
    }

    /// The channel `id` and the serial of the meter it is with.
    pub(crate) fn channel_with(
        &mut self,
        id: u64,
    ) -> Result<(&mut AuthorityChannel, String), AuthorityError> {
        let open = self.open_entry(id)?;
        Ok((&mut open.channel, open.serial.clone()))
    }

    /// Forgets channel `id` (its keys are wiped).
    pub fn close_channel(&mut self, id: u64) {
        self.channels.open.remove(&id);
    }
}
