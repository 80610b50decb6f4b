//! Signing and verification of signed objects, shared by the card (Figure
//! 4 on the card) and the host (Figure 4 off the card): one implementation
//! of the rules. ECDSA P-256 with SHA-256; signatures are `r || s`.

use p256::ecdsa::signature::{Signer, Verifier};
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::cert::{Certificate, usage};
use crate::postmark::PostmarkFile;
use crate::signed::{SIGNATURE_LEN, Signed};
use crate::tlv::{Tag, TlvError, Writer};

/// Writes `kind { 7F4E { fields } 5F37 signature }` into `w`, signing the
/// encoded body object with `key` (ECDSA P-256, SHA-256, RFC 6979 nonces:
/// the same input gives the same bytes). Used by the card and the authority.
pub fn write_signed(
    w: &mut Writer<'_>,
    kind: Tag,
    key: &SigningKey,
    fields: impl FnOnce(&mut Writer<'_>) -> Result<(), TlvError>,
) -> Result<(), TlvError> {
    crate::signed::write(w, kind, fields, |body| sign(key, body))
}

/// Signs `body` with `key`: ECDSA P-256, SHA-256, RFC 6979 nonces, low-S
/// form (each signature has one encoding, see [`verify_signed`]); `r || s`.
pub fn sign(key: &SigningKey, body: &[u8]) -> [u8; SIGNATURE_LEN] {
    let sig: Signature = key.sign(body);
    sig.normalize_s().to_bytes().into()
}

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// A public key from its uncompressed SEC1 encoding.
pub fn public_key(point: &[u8]) -> Option<VerifyingKey> {
    VerifyingKey::from_sec1_bytes(point).ok()
}

/// Whether `signed` carries a valid signature by `key` over its body. Only
/// the low-S form is accepted, so that (with minimal TLV lengths) a signed
/// object has exactly one encoding.
pub fn verify_signed(signed: &Signed<'_>, key: &VerifyingKey) -> bool {
    Signature::from_slice(signed.signature)
        .map(|sig| sig.normalize_s() == sig && key.verify(signed.signed_bytes, &sig).is_ok())
        .unwrap_or(false)
}

/// What is wrong with an `r || s` signature on its face, before any key is
/// tried: tells a verifier's user why a signature was refused when the
/// bytes alone say so.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignatureDefect {
    /// Not 64 bytes, or r or s is zero or not below the group order n.
    OutOfRange,
    /// s > n/2: a valid ECDSA signature for some key, but not the low-S
    /// form that certmeter signers write and its verifiers require.
    HighS,
}

impl SignatureDefect {
    /// The defect, for people.
    pub fn reason(self) -> &'static str {
        match self {
            Self::OutOfRange => "is not an ECDSA P-256 signature (r or s is 0 or not below n)",
            Self::HighS => {
                "is not in low-S form (s > n/2); certmeter signers write only low-S \
                 signatures and its verifiers refuse the high-S twin, so the object was \
                 altered or not made by a certmeter signer"
            }
        }
    }
}

/// The defect of `signature` (`r || s`), if its bytes alone show one.
pub fn signature_defect(signature: &[u8]) -> Option<SignatureDefect> {
    match Signature::from_slice(signature) {
        Err(_) => Some(SignatureDefect::OutOfRange),
        Ok(sig) if sig.normalize_s() != sig => Some(SignatureDefect::HighS),
        Ok(_) => None,
    }
}

/// Whether `cert` was signed by `issuer_key`.
pub fn verify_certificate(cert: &Certificate<'_>, issuer_key: &VerifyingKey) -> bool {
    verify_signed(&cert.signed, issuer_key)
}

pub use crate::cmd::verify_postmark::Invalid;

/// How far ahead of a verifier's clock a postmark may be dated (clocks
/// differ): 5 minutes.
pub const DEFAULT_SKEW: u64 = 300;

/// [`check_postmark`], then the date: a postmark dated more than `skew`
/// seconds after `now` (the verifier's clock) is refused
/// ([`Invalid::FutureDated`]).
pub fn check_postmark_at(
    file: &PostmarkFile<'_>,
    authority: &VerifyingKey,
    digest: &[u8; 32],
    now: u64,
    skew: u64,
) -> Result<(), Invalid> {
    check_postmark(file, authority, digest)?;
    if file.postmark.time > now.saturating_add(skew) {
        return Err(Invalid::FutureDated);
    }
    Ok(())
}

/// Figure 4, steps 408 to 420: checks a postmark file against the
/// authority's key and the digest of the message in hand (not its date:
/// [`check_postmark_at`]).
pub fn check_postmark(
    file: &PostmarkFile<'_>,
    authority: &VerifyingKey,
    digest: &[u8; 32],
) -> Result<(), Invalid> {
    let (pm, cert) = (&file.postmark, &file.certificate);
    // 408: the certificate, with the authority's key.
    if !verify_certificate(cert, authority) {
        return Err(Invalid::CertificateSignature);
    }
    if !cert.valid_at(pm.time) {
        return Err(Invalid::CertificateExpired);
    }
    if !cert.allows(usage::POSTMARK) {
        return Err(Invalid::CertificateUsage);
    }
    if cert.holder != pm.meter || cert.serial != pm.certificate_serial {
        return Err(Invalid::CertificateMismatch);
    }
    let signer = public_key(cert.public_key).ok_or(Invalid::CertificateSignature)?;
    if !verify_signed(&pm.signed, &signer) {
        return Err(Invalid::PostmarkSignature);
    }
    // 414/416: the digests.
    if !bool::from(subtle::ConstantTimeEq::ct_eq(&pm.digest[..], &digest[..])) {
        return Err(Invalid::DigestMismatch);
    }
    Ok(())
}

/// Why a postage indicium does not verify.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IndiciumInvalid {
    /// The meter certificate is not signed by the authority's key.
    CertificateSignature,
    /// The meter certificate is not valid on the mailing day.
    CertificateExpired,
    /// The meter certificate does not allow metering.
    CertificateUsage,
    /// The certificate is not the one the indicium names (device id or
    /// certificate serial).
    CertificateMismatch,
    /// The indicium's signature is not the meter key's over its body.
    Signature,
}

impl IndiciumInvalid {
    /// One line for people.
    pub fn reason(self) -> &'static str {
        match self {
            IndiciumInvalid::CertificateSignature => {
                "the meter certificate is not signed by the authority"
            }
            IndiciumInvalid::CertificateExpired => {
                "the meter certificate is not valid on the mailing date"
            }
            IndiciumInvalid::CertificateUsage => "the meter certificate does not allow metering",
            IndiciumInvalid::CertificateMismatch => {
                "the certificate is not the one the indicium names"
            }
            IndiciumInvalid::Signature => "the indicium's signature does not verify",
        }
    }
}

/// Checks a postage indicium: the meter certificate with the authority's
/// key, valid on the mailing day and allowing metering, naming the
/// indicium's device and certificate serial; then the indicium's signature
/// with the certified meter key.
pub fn check_indicium(
    indicium: &crate::cmd::postage::Indicium<'_>,
    cert: &Certificate<'_>,
    authority: &VerifyingKey,
) -> Result<(), IndiciumInvalid> {
    let b = &indicium.body;
    if !verify_certificate(cert, authority) {
        return Err(IndiciumInvalid::CertificateSignature);
    }
    let last_second = b
        .date
        .saturating_add(crate::cmd::postage::DAY.saturating_sub(1));
    if !cert.valid_at(b.date) && !cert.valid_at(last_second) {
        return Err(IndiciumInvalid::CertificateExpired);
    }
    if !cert.allows(usage::METERING) {
        return Err(IndiciumInvalid::CertificateUsage);
    }
    if cert.holder != b.device || cert.serial != b.certificate_serial {
        return Err(IndiciumInvalid::CertificateMismatch);
    }
    let signer = public_key(cert.public_key).ok_or(IndiciumInvalid::CertificateSignature)?;
    if !verify_signed(&indicium.signed, &signer) {
        return Err(IndiciumInvalid::Signature);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_encoding_per_signature() {
        let key = SigningKey::from_slice(&[7; 32]).unwrap();
        let mut buf = [0u8; 256];
        let mut w = Writer::new(&mut buf);
        write_signed(&mut w, 0x7F60, &key, |w| w.put(0x90, b"payload")).unwrap();
        let bytes = w.written().to_vec();
        let signed = Signed::parse(&bytes, 0x7F60).unwrap();
        assert!(verify_signed(&signed, key.verifying_key()));
        // The same signature with s replaced by n - s verifies mathematically
        // but is not the canonical form: refused.
        let sig = Signature::from_slice(signed.signature).unwrap();
        let (r, s) = sig.split_scalars();
        let high = Signature::from_scalars(r.to_bytes(), (-*s).to_bytes()).unwrap();
        assert!(
            key.verifying_key()
                .verify(signed.signed_bytes, &high)
                .is_ok()
        );
        let mut twin = bytes.clone();
        let at = twin.len() - 64;
        twin[at..].copy_from_slice(&high.to_bytes());
        let twin = Signed::parse(&twin, 0x7F60).unwrap();
        assert!(!verify_signed(&twin, key.verifying_key()));
        assert_eq!(
            signature_defect(twin.signature),
            Some(SignatureDefect::HighS)
        );
        assert_eq!(signature_defect(signed.signature), None);
    }

    #[test]
    fn out_of_range_signatures_are_named() {
        assert_eq!(
            signature_defect(&[0; 64]),
            Some(SignatureDefect::OutOfRange)
        );
        assert_eq!(
            signature_defect(&[0xFF; 64]),
            Some(SignatureDefect::OutOfRange)
        );
        assert_eq!(
            signature_defect(&[1; 63]),
            Some(SignatureDefect::OutOfRange)
        );
        let mut low = [0u8; 64];
        low[31] = 1;
        low[63] = 1;
        assert_eq!(signature_defect(&low), None);
    }
}
