//! Figure 5's holder keys in use: SIGN a file's SHA-256 digest, or answer
//! a relying party's challenge (AUTHENTICATE), with the key installed with
//! the certificate in a slot; and the checks a relying party runs with the
//! certificate alone. The card refuses a use its certificate does not
//! allow (`6985`).

use std::io::Read;

use p256::ecdsa::signature::hazmat::PrehashVerifier;
use p256::ecdsa::{Signature, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::error::Error;
use crate::meter::Meter;
use crate::transport::Transport;

/// SHA-256 of everything `data` yields.
pub fn digest(data: &mut impl Read) -> Result<[u8; 32], Error> {
    let mut h = Sha256::new();
    let mut buf = [0u8; 8192];
    loop {
        let n = data
            .read(&mut buf)
            .map_err(|e| Error::Input(e.to_string()))?;
        if n == 0 {
            return Ok(h.finalize().into());
        }
        h.update(&buf[..n]);
    }
}

/// SIGN: the card signs the SHA-256 digest of `data` with the key of
/// `slot`; the signature as DER (what `openssl dgst -sha256 -verify`
/// takes). The PIN must have been verified.
pub fn sign<T: Transport>(
    meter: &mut Meter<T>,
    slot: u8,
    data: &mut impl Read,
) -> Result<Vec<u8>, Error> {
    let digest = digest(data)?;
    der(&meter.sign(slot, &digest)?)
}

/// AUTHENTICATE: the card answers `challenge` with the key of `slot`; the
/// signature as DER over
/// [`apdu::cmd::install::authentication_digest`] of it.
pub fn authenticate<T: Transport>(
    meter: &mut Meter<T>,
    slot: u8,
    challenge: &[u8; 32],
) -> Result<Vec<u8>, Error> {
    der(&meter.authenticate(slot, challenge)?)
}

/// A relying party's check of an AUTHENTICATE answer: `signature` (DER or
/// `r || s`) over the challenge by the key of `certificate` (`7F21`), which
/// must allow AUTHENTICATION. Checking the certificate itself (issuer,
/// dates, revocation) is the caller's.
pub fn check_authentication(
    certificate: &[u8],
    challenge: &[u8; 32],
    signature: &[u8],
) -> Result<(), Error> {
    let cert = apdu::cert::Certificate::parse(certificate)
        .map_err(|e| Error::Malformed(format!("not a certificate: {e}")))?;
    if !cert.allows(apdu::cert::usage::AUTHENTICATION) {
        return Err(Error::Input(
            "the certificate does not allow authentication".into(),
        ));
    }
    let key = VerifyingKey::from_sec1_bytes(cert.public_key)
        .map_err(|_| Error::Malformed("the certificate's key is not a P-256 point".into()))?;
    let sig = Signature::from_der(signature)
        .or_else(|_| Signature::from_slice(signature))
        .map_err(|_| Error::Malformed("not an ECDSA P-256 signature".into()))?;
    key.verify_prehash(&apdu::cmd::install::authentication_digest(challenge), &sig)
        .map_err(|_| Error::Input("the answer does not verify with the certificate's key".into()))
}

fn der(raw: &[u8]) -> Result<Vec<u8>, Error> {
    let sig = Signature::from_slice(raw)
        .map_err(|_| Error::Malformed("the card's signature is not r || s".into()))?;
    Ok(sig.to_der().as_bytes().to_vec())
}
