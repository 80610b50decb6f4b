//! The card-authority channel (Figure 2, comm key 256; Figure 5, 508):
//! CHANNEL KEY (the static channel key, signed by the meter key for the
//! authority over its nonce), OPEN CHANNEL and CHANNEL HELLO (the
//! handshake of [`apdu::channel`]) and CHANNEL MESSAGE (a sealed message
//! and its sealed answer). Handshake and channel live in transient RAM
//! only ([`crate::state::ChannelState`]): these commands write nothing
//! persistent, and power-up, reset and SELECT drop them.
//!
//! The static channel key is derived from the meter key and the chip id
//! ([`apdu::channel::derive_static_key`]): it exists as soon as the meter
//! key does, on every personalized card (a migrated one included), with no
//! layout change and no write.

use apdu::StatusWord;
use apdu::channel::{CardHandshake, ChannelError, NONCE_LEN as CARD_NONCE_LEN, encode_point};
use apdu::cmd::channel::{CONFIRM, NONCE_LEN, REGISTRATION, RegistrationBody};
use apdu::tlv::{self, Writer};

use crate::context::Context;
use crate::error::{Error, Result};
use crate::platform::Platform;
use crate::state::ChannelState;
use crate::{keys, signing, state};

fn channel_error(e: ChannelError) -> Error {
    Error::Status(e.into())
}

/// CHANNEL KEY: `7F78 { 7F4E { 80 7F78, 81 chip id, 7F49 { 86 channel
/// public key }, 8B nonce }, 5F37 }`, signed by the meter key. Writes
/// nothing.
pub fn key<P: Platform>(ctx: &mut Context<'_, P>, nonce: &[u8; NONCE_LEN]) -> Result<usize> {
    let s = &*ctx.store;
    let public = encode_point(&keys::channel_static_key(s)?.public_key());
    let meter =
        state::meter_signing_key(s, ctx.ram)?.ok_or(StatusWord::CONDITIONS_NOT_SATISFIED)?;
    let chip = state::chip_id(s)?;
    let body = RegistrationBody {
        chip_id: &chip,
        channel_key: &public,
        nonce,
    };
    signing::write_signed(ctx.out, REGISTRATION, &meter, |w| body.write_fields(w))
}

/// OPEN CHANNEL: a fresh ephemeral key and nonce; answers the channel
/// request `7F77`. Drops any earlier handshake or channel.
pub fn open<P: Platform>(ctx: &mut Context<'_, P>) -> Result<usize> {
    ctx.ram.channel = ChannelState::None;
    let s = &*ctx.store;
    // The static key must exist before a handshake is worth starting.
    keys::channel_static_key(s)?;
    let chip = state::chip_id(s)?;
    let ephemeral = keys::new_secret(ctx.platform)?;
    let mut nonce = [0u8; CARD_NONCE_LEN];
    ctx.platform.fill_random(&mut nonce);
    let mut w = Writer::new(ctx.out);
    let handshake = CardHandshake::start(&mut w, ephemeral, nonce, chip).map_err(channel_error)?;
    let len = w.len();
    ctx.ram.channel = ChannelState::Handshake(handshake);
    Ok(len)
}

/// CHANNEL HELLO: checks the authority's hello against the handshake in
/// RAM (`6985` without one) and the installed authority key; the channel
/// opens. A refused hello drops the handshake (`9406`, `6A80`).
pub fn hello<P: Platform>(ctx: &mut Context<'_, P>, hello: &[u8]) -> Result<usize> {
    let handshake = match core::mem::take(&mut ctx.ram.channel) {
        ChannelState::Handshake(h) => h,
        _ => return Err(StatusWord::CONDITIONS_NOT_SATISFIED.into()),
    };
    let s = &*ctx.store;
    let authority = state::authority_key(s)?;
    let card_static = keys::channel_static_key(s)?;
    let public = encode_point(&card_static.public_key());
    let channel = handshake
        .finish(&card_static, &public, &authority, hello)
        .map_err(channel_error)?;
    ctx.ram.channel = ChannelState::Open(channel);
    Ok(0)
}

/// CHANNEL MESSAGE: opens the authority's sealed message (`6985` without
/// an open channel; `9407` replayed, reordered or altered: the channel is
/// closed) and answers the sealed reply. The one request today is key
/// confirmation, `E6 { data }`, answered `E6 { data }`; any other
/// plaintext is refused `6A80` (the channel stays open).
pub fn message<P: Platform>(ctx: &mut Context<'_, P>, sealed: &[u8]) -> Result<usize> {
    let ChannelState::Open(channel) = &mut ctx.ram.channel else {
        return Err(StatusWord::CONDITIONS_NOT_SATISFIED.into());
    };
    let buf = ctx
        .out
        .get_mut(..sealed.len())
        .ok_or(StatusWord::NOT_ENOUGH_MEMORY)?;
    buf.copy_from_slice(sealed);
    // A refused message closes the channel (its keys wiped): every later
    // message is refused too, until a new handshake.
    let plain = channel.open_message(buf).map_err(channel_error)?;
    let plain_len = plain.len();
    let answer_len = match tlv::read(plain) {
        Ok((t, rest)) if t.tag == CONFIRM && rest.is_empty() => plain_len,
        _ => return Err(StatusWord::INCORRECT_DATA.into()),
    };
    // The answer: the same plaintext, sealed in place (it sits after the
    // 4-byte counter in the buffer).
    let header = apdu::channel::HEADER_LEN;
    ctx.out
        .get_mut(..header + answer_len)
        .ok_or(StatusWord::NOT_ENOUGH_MEMORY)?
        .copy_within(header.., 0);
    channel.seal(ctx.out, answer_len).map_err(channel_error)
}
