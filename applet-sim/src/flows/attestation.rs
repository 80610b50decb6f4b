//! Card attestation: the attestation key pair made at manufacture (it
//! never leaves the card), its certificate by the issuer root stored once by
//! the factory (STORE ATTESTATION CERTIFICATE), and ATTEST, which signs the
//! meter public key with the authority's fresh nonce so that the authority
//! certifies only keys this card made.

use apdu::StatusWord;
use apdu::cert::{Certificate, usage};
use apdu::cmd::attestation::{ATTESTATION, NONCE_LEN, STATEMENT, StatementBody, chip_holder};
use apdu::crypto;
use apdu::meter::tag;
use apdu::tlv::Writer;

use crate::budget::ATTESTATION_CERTIFICATE_SIZE;
use crate::context::Context;
use crate::error::Result;
use crate::layout::{ATTESTATION_CERTIFICATE, ATTESTATION_PUBLIC_KEY};
use crate::platform::Platform;
use crate::store::Store;
use crate::{keys, signing, state};

/// The stored attestation certificate, if any.
fn certificate(s: &Store) -> Result<Option<&[u8]>> {
    let f = ATTESTATION_CERTIFICATE.read(s)?;
    let len = f
        .get(..2)
        .map(|b| b.iter().fold(0usize, |a, &x| (a << 8) | usize::from(x)))
        .unwrap_or(0);
    if len == 0 {
        return Ok(None);
    }
    Ok(Some(f.get(2..2 + len).ok_or(StatusWord::MEMORY_FAILURE)?))
}

/// STORE ATTESTATION CERTIFICATE: once (`6985` after), only a certificate
/// by the pinned issuer root (`6982`) for this chip and this card's
/// attestation key with usage ATTESTATION (`6A80`).
pub fn store<P: Platform>(ctx: &mut Context<'_, P>, bytes: &[u8]) -> Result<usize> {
    let s = &mut *ctx.store;
    let root = state::issuer_root(s)?;
    keys::attestation_key(s)?;
    if certificate(s)?.is_some() {
        return Err(StatusWord::CONDITIONS_NOT_SATISFIED.into());
    }
    let cert = Certificate::parse(bytes).map_err(|_| StatusWord::INCORRECT_DATA)?;
    if !crypto::verify_certificate(&cert, &root) {
        return Err(StatusWord::SECURITY_STATUS_NOT_SATISFIED.into());
    }
    let chip = state::chip_id(s)?;
    let ours = cert.holder == chip_holder(&chip)
        && cert.public_key.as_slice() == ATTESTATION_PUBLIC_KEY.read(s)?
        && cert.allows(usage::ATTESTATION);
    if !ours {
        return Err(StatusWord::INCORRECT_DATA.into());
    }
    if bytes.len() > ATTESTATION_CERTIFICATE_SIZE {
        return Err(StatusWord::NOT_ENOUGH_MEMORY.into());
    }
    let len = (bytes.len() as u16).to_be_bytes();
    s.begin()?;
    ATTESTATION_CERTIFICATE
        .sub(2, bytes.len())
        .write(s, bytes)?;
    ATTESTATION_CERTIFICATE.sub(0, 2).write(s, &len)?;
    s.commit()?;
    Ok(0)
}

/// READ ATTESTATION: `E3 { 7F49 { 86 key }, [7F21 certificate] }`; `6A88`
/// on a card made without an attestation key.
pub fn read<P: Platform>(ctx: &mut Context<'_, P>) -> Result<usize> {
    let s = &*ctx.store;
    keys::attestation_key(s)?;
    let key = ATTESTATION_PUBLIC_KEY.read(s)?;
    let cert = certificate(s)?;
    let mut w = Writer::new(ctx.out);
    w.nested(ATTESTATION, |w| {
        w.nested(tag::PUBLIC_KEY, |w| w.put(tag::EC_POINT, key))?;
        match cert {
            Some(c) => w.raw(c),
            None => Ok(()),
        }
    })?;
    Ok(w.len())
}

/// ATTEST: the statement over the meter public key (`6985` before one is
/// generated) and `nonce`, signed with the attestation key, then the
/// attestation certificate (`6A88` without one). Writes nothing.
pub fn attest<P: Platform>(ctx: &mut Context<'_, P>, nonce: &[u8; NONCE_LEN]) -> Result<usize> {
    let s = &*ctx.store;
    let meter_key: &[u8; 65] = state::meter_public(s)?
        .ok_or(StatusWord::CONDITIONS_NOT_SATISFIED)?
        .try_into()
        .map_err(|_| StatusWord::MEMORY_FAILURE)?;
    let key = keys::attestation_key(s)?;
    let cert = certificate(s)?.ok_or(StatusWord::REFERENCED_DATA_NOT_FOUND)?;
    let chip = state::chip_id(s)?;
    let body = StatementBody {
        chip_id: &chip,
        meter_key,
        nonce,
    };
    let n = signing::write_signed(ctx.out, STATEMENT, &key, |w| body.write_fields(w))?;
    let rest = ctx
        .out
        .get_mut(n..n + cert.len())
        .ok_or(StatusWord::NOT_ENOUGH_MEMORY)?;
    rest.copy_from_slice(cert);
    Ok(n + cert.len())
}
