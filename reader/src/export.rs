//! Keys in the forms other tools read, for verifiers that do not run
//! certmeter: a P-256 public key as a PEM SubjectPublicKeyInfo (RFC 5280
//! `SubjectPublicKeyInfo`, RFC 7468 `PUBLIC KEY`), which
//! `openssl dgst -sha256 -verify KEY.pem` takes. docs/formats.md gives the
//! steps that verify a postmark's two signatures with openssl alone.

use p256::elliptic_curve::sec1::ToSec1Point;
use p256::pkcs8::{DecodePublicKey, EncodePublicKey, LineEnding};

use crate::error::Error;

/// The SubjectPublicKeyInfo PEM of an uncompressed SEC1 P-256 point
/// (`04 || X || Y`, the form certificates and the authority carry).
pub fn public_key_pem(point: &[u8]) -> Result<String, Error> {
    let key = p256::PublicKey::from_sec1_bytes(point)
        .map_err(|_| Error::Input("not a P-256 public key (uncompressed SEC1 point)".into()))?;
    key.to_public_key_pem(LineEnding::LF)
        .map_err(|e| Error::Input(format!("cannot encode the public key: {e}")))
}

/// The uncompressed SEC1 point (`04 || X || Y`) of a P-256 public key
/// given as a PEM SubjectPublicKeyInfo, as [`public_key_pem`] writes it
/// (`meter authority key --pem`).
pub fn public_key_from_pem(pem: &str) -> Result<[u8; 65], Error> {
    let key = p256::PublicKey::from_public_key_pem(pem.trim()).map_err(|e| {
        Error::Input(format!(
            "not a P-256 public key in PEM (SubjectPublicKeyInfo): {e}"
        ))
    })?;
    let point = key.to_sec1_point(false);
    <[u8; 65]>::try_from(point.as_bytes())
        .map_err(|_| Error::Input("not an uncompressed P-256 point".into()))
}

/// The PEM SubjectPublicKeyInfo of the holder key in a certificate (`7F21`).
pub fn certificate_key_pem(certificate: &[u8]) -> Result<String, Error> {
    let cert = apdu::cert::Certificate::parse(certificate)
        .map_err(|e| Error::Malformed(format!("not a certificate: {e}")))?;
    public_key_pem(cert.public_key)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The DER prefix of every P-256 SubjectPublicKeyInfo (RFC 5480): the
    /// algorithm id-ecPublicKey with prime256v1, then the BIT STRING header.
    const SPKI_PREFIX: &str = "3059301306072a8648ce3d020106082a8648ce3d030107034200";

    #[test]
    fn pem_is_the_spki_of_the_point() {
        let secret = p256::SecretKey::from_slice(&[7; 32]).unwrap();
        let point = secret.public_key().to_sec1_point(false);
        let pem = public_key_pem(point.as_bytes()).unwrap();
        assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----\n"), "{pem}");
        assert!(pem.ends_with("-----END PUBLIC KEY-----\n"), "{pem}");
        let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        let der = base64_decode(&b64);
        assert_eq!(hex::encode(&der[..26]), SPKI_PREFIX);
        assert_eq!(&der[26..], point.as_bytes());
        assert_eq!(public_key_from_pem(&pem).unwrap(), point.as_bytes());
    }

    #[test]
    fn refuses_what_is_not_a_point() {
        assert!(public_key_pem(&[4; 65]).is_err());
        assert!(public_key_pem(&[]).is_err());
        assert!(certificate_key_pem(b"\x7F\x21\x00").is_err());
        assert!(public_key_from_pem("").is_err());
        assert!(
            public_key_from_pem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
                .is_err()
        );
    }

    fn base64_decode(s: &str) -> Vec<u8> {
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = Vec::new();
        let (mut acc, mut bits) = (0u32, 0);
        for c in s.bytes().filter(|&c| c != b'=') {
            let v = A.iter().position(|&a| a == c).unwrap() as u32;
            acc = (acc << 6) | v;
            bits += 6;
            if bits >= 8 {
                bits -= 8;
                out.push((acc >> bits) as u8);
            }
        }
        out
    }
}
