//! Figure 5: installing a certificate, over the card-authority channel.
//! INSTALL KEY checks the funds (504; 506 refused with 9401), needs the
//! open channel (508), generates the key pair (510; it stays in RAM) and
//! answers the certificate request signed by it (512, proof of
//! possession). INSTALL CERTIFICATE checks the authority's certificate
//! (518) and, in one transaction, stores it with its key in a free slot
//! and deducts the fee (520). Both carry sealed messages only.

use apdu::StatusWord;
use apdu::cert::{Certificate, usage};
use apdu::channel::HEADER_LEN;
use apdu::cmd::install::{
    CERTIFICATE_REQUEST, HOLDER, HOLDER_MAX_LEN, IMPORT_KEY, INSTALL, KEY_REQUEST, RequestBody,
    SLOT, USAGE,
};
use apdu::meter::Service;
use apdu::tlv::{self, Writer};
use p256::ecdsa::SigningKey;

use crate::context::Context;
use crate::error::{Error, Result};
use crate::layout::Register;
use crate::platform::Platform;
use crate::records::Counters;
use crate::state::{ChannelState, PendingInstall};
use crate::{certificates, clock, funds, keys, signing, state};

/// The uses a holder's key may have: signing, authentication, or both.
const HOLDER_USES: u8 = usage::HOLDER;

fn channel_error(e: apdu::channel::ChannelError) -> Error {
    Error::Status(e.into())
}

/// Opens the sealed `sealed` into `ctx.out` with the open channel (6985
/// without one, 9407 refused); returns the plaintext's length (it starts
/// at [`HEADER_LEN`] in `ctx.out`).
fn open_sealed<P: Platform>(ctx: &mut Context<'_, P>, sealed: &[u8]) -> Result<usize> {
    let ChannelState::Open(channel) = &mut ctx.ram.channel else {
        return Err(StatusWord::CONDITIONS_NOT_SATISFIED.into());
    };
    let buf = ctx
        .out
        .get_mut(..sealed.len())
        .ok_or(StatusWord::NOT_ENOUGH_MEMORY)?;
    buf.copy_from_slice(sealed);
    Ok(channel.open_message(buf).map_err(channel_error)?.len())
}

/// Seals `ctx.out[..len]` in place with the open channel.
fn seal<P: Platform>(ctx: &mut Context<'_, P>, len: usize) -> Result<usize> {
    let ChannelState::Open(channel) = &mut ctx.ram.channel else {
        return Err(StatusWord::CONDITIONS_NOT_SATISFIED.into());
    };
    channel.seal(ctx.out, len).map_err(channel_error)
}

/// 504 / 506: the InstallCertificate fee is in the certificate register
/// (9401 otherwise), and a slot is free (6A84 otherwise).
fn check_funds<P: Platform>(ctx: &mut Context<'_, P>) -> Result<(u64, u64, usize)> {
    let s = &*ctx.store;
    let now = clock::now(s, &*ctx.platform)?;
    let fee = funds::fee(s, Service::InstallCertificate)?;
    funds::check(s, now, Register::Certificate, fee)?;
    let slot = certificates::free(s).ok_or(StatusWord::NOT_ENOUGH_MEMORY)?;
    Ok((now, fee, slot))
}

/// INSTALL KEY (504-512). On a refusal the opened plaintext (which may
/// hold an imported key) is wiped from the response buffer.
pub fn key<P: Platform>(ctx: &mut Context<'_, P>, sealed: &[u8]) -> Result<usize> {
    let result = generate(ctx, sealed);
    if let (Err(_), Some(b)) = (&result, ctx.out.get_mut(..sealed.len())) {
        b.fill(0);
    }
    result
}

fn generate<P: Platform>(ctx: &mut Context<'_, P>, sealed: &[u8]) -> Result<usize> {
    ctx.ram.pending_install = None;
    let len = open_sealed(ctx, sealed)?;
    // The request: E7 { 5F20 holder, 95 usage }.
    let plain = ctx
        .out
        .get(HEADER_LEN..HEADER_LEN + len)
        .ok_or(StatusWord::UNKNOWN)?;
    let (t, rest) = tlv::read(plain).map_err(|_| StatusWord::INCORRECT_DATA)?;
    if t.tag != KEY_REQUEST || !rest.is_empty() {
        return Err(StatusWord::INCORRECT_DATA.into());
    }
    let holder_in = tlv::find(t.value, HOLDER).ok_or(StatusWord::INCORRECT_DATA)?;
    let usage_in = match tlv::find(t.value, USAGE) {
        Some([u]) => *u,
        _ => return Err(StatusWord::INCORRECT_DATA.into()),
    };
    if holder_in.is_empty()
        || holder_in.len() > HOLDER_MAX_LEN
        || usage_in == 0
        || usage_in & !HOLDER_USES != 0
    {
        return Err(StatusWord::INCORRECT_DATA.into());
    }
    let mut holder = [0u8; HOLDER_MAX_LEN];
    holder
        .get_mut(..holder_in.len())
        .ok_or(StatusWord::INCORRECT_DATA)?
        .copy_from_slice(holder_in);
    let holder_len = holder_in.len();
    // The lower-assurance variant: the holder's own key, which reached the
    // card only inside the sealed message; its certificate is marked.
    let imported = match tlv::find(t.value, IMPORT_KEY) {
        None => None,
        Some(d) => Some(SigningKey::from_slice(d).map_err(|_| StatusWord::INCORRECT_DATA)?),
    };
    let usage_in = if imported.is_some() {
        usage_in | usage::IMPORTED
    } else {
        usage_in
    };
    // 504 / 506.
    check_funds(ctx)?;
    // 510: the key pair, on the card (or the imported one).
    let key = match imported {
        Some(k) => k,
        None => keys::new_key(ctx.platform)?,
    };
    let public = keys::encode_public(key.verifying_key());
    let chip = state::chip_id(ctx.store)?;
    // 512: the request, signed by the new key, sealed.
    let body = RequestBody {
        chip_id: &chip,
        holder: holder.get(..holder_len).ok_or(StatusWord::UNKNOWN)?,
        public_key: &public,
        usage: usage_in,
    };
    let n = signing::write_signed(ctx.out, CERTIFICATE_REQUEST, &key, |w| body.write_fields(w))?;
    let sealed_len = seal(ctx, n)?;
    ctx.ram.pending_install = Some(PendingInstall {
        key,
        holder,
        holder_len,
        usage: usage_in,
    });
    Ok(sealed_len)
}

/// INSTALL CERTIFICATE (518-520).
pub fn install<P: Platform>(ctx: &mut Context<'_, P>, sealed: &[u8]) -> Result<usize> {
    let Some(pending) = ctx.ram.pending_install.take() else {
        return Err(StatusWord::CONDITIONS_NOT_SATISFIED.into());
    };
    let len = open_sealed(ctx, sealed)?;
    let authority = state::authority_key(ctx.store)?;
    // The certificate, copied out of the response buffer.
    let mut cert_buf = [0u8; certificates::KEY_AT];
    let cert_len = {
        let plain = ctx
            .out
            .get(HEADER_LEN..HEADER_LEN + len)
            .ok_or(StatusWord::UNKNOWN)?;
        let (t, rest) = tlv::read(plain).map_err(|_| StatusWord::INCORRECT_DATA)?;
        if t.tag != INSTALL || !rest.is_empty() {
            return Err(StatusWord::INCORRECT_DATA.into());
        }
        cert_buf
            .get_mut(..t.value.len())
            .ok_or(StatusWord::NOT_ENOUGH_MEMORY)?
            .copy_from_slice(t.value);
        t.value.len()
    };
    let bytes = cert_buf.get(..cert_len).ok_or(StatusWord::UNKNOWN)?;
    let cert = Certificate::parse(bytes).map_err(|_| StatusWord::INCORRECT_DATA)?;
    // 518: the authority's, for this key, holder and usage, valid now.
    if !apdu::crypto::verify_certificate(&cert, &authority) {
        return Err(StatusWord::SECURITY_STATUS_NOT_SATISFIED.into());
    }
    let public = keys::encode_public(pending.key.verifying_key());
    let holder = pending
        .holder
        .get(..pending.holder_len)
        .ok_or(StatusWord::UNKNOWN)?;
    let (now, fee, slot) = check_funds(ctx)?;
    if cert.public_key.as_slice() != public
        || cert.holder != holder
        || cert.usage != pending.usage
        || !cert.valid_at(now)
    {
        return Err(StatusWord::INCORRECT_DATA.into());
    }
    // 520: certificate, key and charge, all or nothing.
    let s = &mut *ctx.store;
    let mut counters = Counters::read(s)?;
    s.begin()?;
    certificates::write_with_key(s, slot, bytes, &pending.key.to_bytes().into())?;
    funds::debit(s, Register::Certificate, fee, &mut counters)?;
    counters.advance_clock(now);
    counters.write(s)?;
    s.commit()?;
    let mut w = Writer::new(ctx.out);
    w.nested(INSTALL, |w| w.put(SLOT, &[slot as u8]))?;
    let n = w.len();
    seal(ctx, n)
}
