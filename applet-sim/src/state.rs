//! The card's state, volatile and persistent apart (as opcard-rs's
//! `state.rs`): [`Transient`] is the RAM that power-up, reset and SELECT
//! clear; the functions below are the persistent objects several flows
//! share (life cycle, serial, authority key, meter key, owner PIN), read
//! and written at their [`crate::layout`] places.

use apdu::StatusWord;
use apdu::meter::{CHALLENGE_LEN, Lifecycle, PIN_MAX_LEN, PIN_MAX_TRIES, PUBLIC_KEY_LEN};
use p256::ecdsa::{SigningKey, VerifyingKey};
use sha2::Digest;

use crate::error::{Error, Result};
use crate::layout::{
    self, AUTHORITY_KEY_COUNT, AUTHORITY_KEYS, LIFECYCLE, METER_KEY_PRESENT, METER_PRIVATE_KEY,
    METER_PUBLIC_KEY, PIN_LEN, PIN_TRIES, PIN_VALUE, SERIAL,
};
use crate::store::Store;

/// The applet's volatile state (transient RAM), cleared on reset,
/// power-off and deselect. Its size is checked against
/// [`crate::budget::TRANSIENT_CAPACITY`].
#[derive(Clone, Debug, Default)]
pub struct Transient {
    /// The meter application is selected.
    pub selected: bool,
    /// The owner PIN was verified since the last reset.
    pub pin_verified: bool,
    /// The last GET CHALLENGE nonce, usable once.
    pub challenge: Option<[u8; CHALLENGE_LEN]>,
    /// The message being hashed (Figure 2, 230).
    pub hash: Option<sha2::Sha256>,
    /// The meter key, loaded from persistent memory at its first use.
    pub meter_key: Option<SigningKey>,
    /// The card-authority channel: a handshake under way or an open channel
    /// (OPEN CHANNEL, CHANNEL HELLO; [`apdu::channel`]).
    pub channel: ChannelState,
}

/// The channel's state in transient RAM.
#[derive(Clone, Debug, Default)]
pub enum ChannelState {
    /// No handshake and no channel.
    #[default]
    None,
    /// OPEN CHANNEL answered its request; the hello is awaited.
    Handshake(apdu::channel::CardHandshake),
    /// The hello was accepted: sealed messages flow.
    Open(apdu::channel::CardChannel),
}

const _: () = assert!(
    core::mem::size_of::<Transient>() <= crate::budget::TRANSIENT_CAPACITY,
    "transient state exceeds the RAM budget"
);

impl Transient {
    /// Whether a message is being hashed (HASH init since the last reset,
    /// not yet consumed).
    pub fn hashing(&self) -> bool {
        self.hash.is_some()
    }

    /// The digest of the message hashed since HASH init (Figure 3, 304;
    /// Figure 4, 414); the hash state is consumed. 6985 without one.
    pub fn finish_hash(&mut self) -> Result<[u8; 32]> {
        let h = self
            .hash
            .take()
            .ok_or(StatusWord::CONDITIONS_NOT_SATISFIED)?;
        Ok(h.finalize().into())
    }
}

/// The life-cycle state, if the memory holds a manufactured card of the
/// current layout version (`None`: erased memory, or a layout this software
/// does not read: an unknown one, or an old one not migrated).
pub fn lifecycle(s: &Store) -> Option<Lifecycle> {
    if !layout::is_current(s) {
        return None;
    }
    LIFECYCLE
        .get(s)
        .ok()
        .and_then(|b| Lifecycle::from_byte(b as u8))
}

/// The meter serial as stored (Figure 2, 238); empty before personalization.
pub fn serial(s: &Store) -> Result<&[u8]> {
    let f = SERIAL.read(s)?;
    let len = usize::from(f.first().copied().unwrap_or(0));
    Ok(f.get(1..1 + len).unwrap_or(&[]))
}

/// The installed authority key (slot 0 of the postal keys, Figure 2, 240);
/// 6985 when none is installed.
pub fn authority_key(s: &Store) -> Result<VerifyingKey> {
    if AUTHORITY_KEY_COUNT.get(s)? == 0 {
        return Err(StatusWord::CONDITIONS_NOT_SATISFIED.into());
    }
    let point = AUTHORITY_KEYS.sub(0, PUBLIC_KEY_LEN).read(s)?;
    apdu::crypto::public_key(point).ok_or_else(|| StatusWord::MEMORY_FAILURE.into())
}

/// The issuer root pinned at manufacture (layout v3); `6A88` on a card
/// made without one (a migrated v2 card).
pub fn issuer_root(s: &Store) -> Result<VerifyingKey> {
    if layout::ISSUER_ROOT_PRESENT.get(s)? != 1 {
        return Err(StatusWord::REFERENCED_DATA_NOT_FOUND.into());
    }
    apdu::crypto::public_key(layout::ISSUER_ROOT.read(s)?)
        .ok_or_else(|| StatusWord::MEMORY_FAILURE.into())
}

/// Whether the owner PIN is still the transport PIN (layout v3).
pub fn transport_pin(s: &Store) -> Result<bool> {
    Ok(layout::PIN_TRANSPORT.get(s)? == 1)
}

/// The meter public key (Figure 2, 246), if generated.
pub fn meter_public(s: &Store) -> Result<Option<&[u8]>> {
    if METER_KEY_PRESENT.get(s)? != 1 {
        return Ok(None);
    }
    Ok(Some(METER_PUBLIC_KEY.read(s)?))
}

/// The meter signing key, if generated. Loading it from the stored scalar
/// recomputes the public key (a scalar multiplication, as long as the
/// signature itself), so it is kept in transient RAM until the next reset.
pub fn meter_signing_key(s: &Store, ram: &mut Transient) -> Result<Option<SigningKey>> {
    if METER_KEY_PRESENT.get(s)? != 1 {
        return Ok(None);
    }
    if let Some(k) = &ram.meter_key {
        return Ok(Some(k.clone()));
    }
    let k = SigningKey::from_slice(METER_PRIVATE_KEY.read(s)?)
        .map_err(|_| Error::Status(StatusWord::MEMORY_FAILURE))?;
    ram.meter_key = Some(k.clone());
    Ok(Some(k))
}

/// Owner PIN tries left.
pub fn pin_tries(s: &Store) -> Result<u8> {
    Ok(PIN_TRIES.get(s)? as u8)
}

/// Sets the owner PIN and resets its try counter (inside an open
/// transaction). 6700 for a PIN longer than [`PIN_MAX_LEN`].
pub fn set_pin(s: &mut Store, pin: &[u8]) -> Result<()> {
    let mut padded = [0u8; PIN_MAX_LEN];
    padded
        .get_mut(..pin.len())
        .ok_or(StatusWord::WRONG_LENGTH)?
        .copy_from_slice(pin);
    PIN_LEN.set(s, pin.len() as u64)?;
    PIN_VALUE.write(s, &padded)?;
    PIN_TRIES.set(s, u64::from(PIN_MAX_TRIES))?;
    Ok(())
}
