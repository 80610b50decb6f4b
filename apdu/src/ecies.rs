//! ECIES for Figure 3A, step 354: a private key made on the card for a
//! receiver leaves the card only encrypted to the receiver's public key.
//!
//! The scheme is HPKE (RFC 9180) in base mode, single shot, with the suite
//! DHKEM(P-256, HKDF-SHA256), HKDF-SHA256, AES-128-GCM (`0x0010`, `0x0001`,
//! `0x0001`), the application info [`INFO`] and the caller's AAD:
//!
//! ```text
//! sealed = enc (65: the ephemeral public key 04||X||Y) || ciphertext || tag (16)
//!
//! dh            = x(ECDH(ephemeral, receiver))
//! shared_secret = LabeledExpand(LabeledExtract("", "eae_prk", dh),
//!                               "shared_secret", enc || receiver Q, 32)  (suite "KEM" 0010)
//! key, nonce    = the HPKE key schedule of shared_secret and INFO (mode 0,
//!                 suite "HPKE" 0010 0001 0001): 16 and 12 bytes
//! ciphertext||tag = AES-128-GCM(key, nonce, aad, plaintext)
//! ```
//!
//! The KDF binds both public keys (`enc || receiver Q`) and its labels; any
//! HPKE implementation of that suite opens what this module seals (with
//! info = [`INFO`]), and the RFC's test vector A.3 checks it here. No heap.

// The card runs this code: no panics, as in the card core.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

use aes_gcm::Aes128Gcm;
use aes_gcm::aead::{self, AeadInOut, KeyInit};
use hkdf::{Hkdf, HkdfExtract};
use p256::{PublicKey, SecretKey};
use sha2::Sha256;
use zeroize::Zeroize;

use crate::channel::{POINT_LEN, decode_point, encode_point};

/// The application info bound into every key (HPKE `info`).
pub const INFO: &[u8] = b"certmeter ecies v1";
/// Bytes of the GCM tag.
pub const TAG_LEN: usize = 16;
/// What sealing adds to a plaintext: the ephemeral key and the tag.
pub const OVERHEAD: usize = POINT_LEN + TAG_LEN;

const KEM_SUITE: &[u8] = b"KEM\x00\x10";
const HPKE_SUITE: &[u8] = b"HPKE\x00\x10\x00\x01\x00\x01";
const VERSION: &[u8] = b"HPKE-v1";
const KEY_LEN: usize = 16;
const NONCE_LEN: usize = 12;

/// Why sealing or opening failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EciesError {
    /// The output buffer is too small.
    BufferTooSmall,
    /// Shorter than an ephemeral key and a tag, or the ephemeral key is not
    /// an uncompressed P-256 point.
    Malformed,
    /// Authentication failed: another receiver key, or altered bytes or AAD.
    Forged,
}

impl core::fmt::Display for EciesError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::BufferTooSmall => "buffer too small",
            Self::Malformed => "not an ECIES ciphertext",
            Self::Forged => "ECIES ciphertext failed authentication",
        })
    }
}

impl core::error::Error for EciesError {}

/// RFC 9180 `LabeledExtract(salt, label, ikm)`.
fn labeled_extract(suite: &[u8], salt: &[u8], label: &[u8], ikm: &[u8]) -> Hkdf<Sha256> {
    let mut e = HkdfExtract::<Sha256>::new(Some(salt));
    for part in [VERSION, suite, label, ikm] {
        e.input_ikm(part);
    }
    let (mut prk, hkdf) = e.finalize();
    prk.zeroize();
    hkdf
}

/// RFC 9180 `LabeledExtract` when its output is used as bytes.
fn labeled_extract_bytes(suite: &[u8], salt: &[u8], label: &[u8], ikm: &[u8]) -> [u8; 32] {
    let mut e = HkdfExtract::<Sha256>::new(Some(salt));
    for part in [VERSION, suite, label, ikm] {
        e.input_ikm(part);
    }
    e.finalize().0.into()
}

/// RFC 9180 `LabeledExpand(prk, label, info, out.len())`.
fn labeled_expand(prk: &Hkdf<Sha256>, suite: &[u8], label: &[u8], info: &[u8], out: &mut [u8]) {
    let len = (out.len() as u16).to_be_bytes();
    // Outputs here are at most 32 bytes, far below HKDF's limit.
    let _ = prk.expand_multi_info(&[&len, VERSION, suite, label, info], out);
}

/// The AEAD key and nonce of an HPKE base-mode context (RFC 9180 4.1,
/// 5.1), from the DH output and both public keys.
fn key_schedule(
    dh: &[u8],
    enc: &[u8; POINT_LEN],
    receiver: &[u8; POINT_LEN],
    info: &[u8],
) -> ([u8; KEY_LEN], [u8; NONCE_LEN]) {
    // DHKEM ExtractAndExpand, kem_context = enc || pkRm.
    let eae_prk = labeled_extract(KEM_SUITE, b"", b"eae_prk", dh);
    let mut shared_secret = [0u8; 32];
    let mut kem_context = [0u8; 2 * POINT_LEN];
    kem_context[..POINT_LEN].copy_from_slice(enc);
    kem_context[POINT_LEN..].copy_from_slice(receiver);
    labeled_expand(
        &eae_prk,
        KEM_SUITE,
        b"shared_secret",
        &kem_context,
        &mut shared_secret,
    );
    // KeySchedule, mode_base, no PSK.
    let psk_id_hash = labeled_extract_bytes(HPKE_SUITE, b"", b"psk_id_hash", b"");
    let info_hash = labeled_extract_bytes(HPKE_SUITE, b"", b"info_hash", info);
    let mut context = [0u8; 1 + 32 + 32];
    context[1..33].copy_from_slice(&psk_id_hash);
    context[33..].copy_from_slice(&info_hash);
    let secret = labeled_extract(HPKE_SUITE, &shared_secret, b"secret", b"");
    shared_secret.zeroize();
    let mut key = [0u8; KEY_LEN];
    let mut nonce = [0u8; NONCE_LEN];
    labeled_expand(&secret, HPKE_SUITE, b"key", &context, &mut key);
    labeled_expand(&secret, HPKE_SUITE, b"base_nonce", &context, &mut nonce);
    (key, nonce)
}

/// Seals `plaintext` for `receiver` into `out`: `enc || ciphertext || tag`,
/// returns its length (`plaintext.len() + OVERHEAD`). `ephemeral` must be a
/// fresh key from the card's generator, used once: it is consumed and
/// wiped (the same ephemeral key, receiver and AAD would give the same GCM
/// key and nonce).
pub fn seal(
    ephemeral: SecretKey,
    receiver: &PublicKey,
    aad: &[u8],
    plaintext: &[u8],
    out: &mut [u8],
) -> Result<usize, EciesError> {
    seal_with_info(ephemeral, receiver, INFO, aad, plaintext, out)
}

fn seal_with_info(
    ephemeral: SecretKey,
    receiver: &PublicKey,
    info: &[u8],
    aad: &[u8],
    plaintext: &[u8],
    out: &mut [u8],
) -> Result<usize, EciesError> {
    let total = plaintext
        .len()
        .checked_add(OVERHEAD)
        .ok_or(EciesError::BufferTooSmall)?;
    let out = out.get_mut(..total).ok_or(EciesError::BufferTooSmall)?;
    let enc = encode_point(&ephemeral.public_key());
    let dh = ephemeral.diffie_hellman(receiver);
    let (mut key, nonce) = key_schedule(dh.raw_secret_bytes(), &enc, &encode_point(receiver), info);
    let (enc_out, rest) = out.split_at_mut(POINT_LEN);
    enc_out.copy_from_slice(&enc);
    let (body, tag_out) = rest.split_at_mut(plaintext.len());
    body.copy_from_slice(plaintext);
    let result =
        Aes128Gcm::new(&key.into()).encrypt_inout_detached(&nonce.into(), aad, body.into());
    key.zeroize();
    let tag = result.map_err(|_| EciesError::BufferTooSmall)?;
    tag_out.copy_from_slice(&tag);
    Ok(total)
}

/// Opens `sealed` (`enc || ciphertext || tag`) with the receiver's secret
/// key and the same `aad`; writes the plaintext into `out` and returns its
/// length (`sealed.len() - OVERHEAD`).
pub fn open(
    receiver_secret: &SecretKey,
    aad: &[u8],
    sealed: &[u8],
    out: &mut [u8],
) -> Result<usize, EciesError> {
    open_with_info(receiver_secret, INFO, aad, sealed, out)
}

fn open_with_info(
    receiver_secret: &SecretKey,
    info: &[u8],
    aad: &[u8],
    sealed: &[u8],
    out: &mut [u8],
) -> Result<usize, EciesError> {
    let len = sealed
        .len()
        .checked_sub(OVERHEAD)
        .ok_or(EciesError::Malformed)?;
    let out = out.get_mut(..len).ok_or(EciesError::BufferTooSmall)?;
    let (enc, rest) = sealed.split_at(POINT_LEN);
    let (ciphertext, tag) = rest.split_at(len);
    let enc: &[u8; POINT_LEN] = enc.try_into().map_err(|_| EciesError::Malformed)?;
    let ephemeral = decode_point(enc).map_err(|_| EciesError::Malformed)?;
    let tag = aead::Tag::<Aes128Gcm>::try_from(tag).map_err(|_| EciesError::Malformed)?;
    let dh = receiver_secret.diffie_hellman(&ephemeral);
    let receiver = encode_point(&receiver_secret.public_key());
    let (mut key, nonce) = key_schedule(dh.raw_secret_bytes(), enc, &receiver, info);
    out.copy_from_slice(ciphertext);
    let result = Aes128Gcm::new(&key.into()).decrypt_inout_detached(
        &nonce.into(),
        aad,
        (&mut *out).into(),
        &tag,
    );
    key.zeroize();
    result.map_err(|_| {
        out.zeroize();
        EciesError::Forged
    })?;
    Ok(len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
        s.chunks(2)
            .map(|p| u8::from_str_radix(core::str::from_utf8(p).unwrap(), 16).unwrap())
            .collect()
    }

    fn secret(byte: u8) -> SecretKey {
        SecretKey::from_slice(&[byte; 32]).unwrap()
    }

    fn sealed(ephemeral: u8, receiver: &PublicKey, aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
        let mut out = vec![0u8; plaintext.len() + OVERHEAD];
        let n = seal(secret(ephemeral), receiver, aad, plaintext, &mut out).unwrap();
        assert_eq!(n, out.len());
        out
    }

    fn opened(receiver: &SecretKey, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, EciesError> {
        let mut out = vec![0u8; sealed.len().saturating_sub(OVERHEAD)];
        open(receiver, aad, sealed, &mut out).map(|n| out[..n].to_vec())
    }

    /// RFC 9180, appendix A.3.1: DHKEM(P-256, HKDF-SHA256), HKDF-SHA256,
    /// AES-128-GCM, base mode, first encryption (sequence number 0).
    #[test]
    fn rfc9180_a3_base_mode() {
        let sk_em = hex("4995788ef4b9d6132b249ce59a77281493eb39af373d236a1fe415cb0c2d7beb");
        let sk_rm = hex("f3ce7fdae57e1a310d87f1ebbde6f328be0a99cdbcadf4d6589cf29de4b8ffd2");
        let pk_rm = hex(
            "04fe8c19ce0905191ebc298a9245792531f26f0cece2460639e8bc39cb7f706a82\
             6a779b4cf969b8a0e539c7f62fb3d30ad6aa8f80e30f1d128aafd68a2ce72ea0",
        );
        let enc = hex(
            "04a92719c6195d5085104f469a8b9814d5838ff72b60501e2c4466e5e67b325ac9\
             8536d7b61a1af4b78e5b7f951c0900be863c403ce65c9bfcb9382657222d18c4",
        );
        let info = b"Ode on a Grecian Urn";
        let aad = b"Count-0";
        let pt = b"Beauty is truth, truth beauty";
        let ct = hex(
            "5ad590bb8baa577f8619db35a36311226a896e7342a6d836d8b7bcd2f20b6c7f\
             9076ac232e3ab2523f39513434",
        );
        let receiver = SecretKey::from_slice(&sk_rm).unwrap();
        assert_eq!(encode_point(&receiver.public_key()).to_vec(), pk_rm);
        let mut out = [0u8; 29 + OVERHEAD];
        let ephemeral = SecretKey::from_slice(&sk_em).unwrap();
        let n = seal_with_info(ephemeral, &receiver.public_key(), info, aad, pt, &mut out).unwrap();
        assert_eq!(&out[..POINT_LEN], &enc[..]);
        assert_eq!(&out[POINT_LEN..n], &ct[..]);
        let mut back = [0u8; 29];
        assert_eq!(
            open_with_info(&receiver, info, aad, &out, &mut back),
            Ok(29)
        );
        assert_eq!(&back, pt);
    }

    // Known answer for certmeter's info: a change here is a format change.
    const KAT: &str = "\
    040BBBC5E8BC84BD33D1D3CE03FFAC9A747F4C1993FDDB2EC93A4116A86F022A\
    77C3C17191559A4C2A1AA57E79B8D1977DA2C959172F478E341E27028D69FFFB\
    7BCD4141DF64BCC198344B6DE872746E0587E2D8D6FC88ED686170DED2D1";

    #[test]
    fn known_answer() {
        let receiver = secret(0x77);
        let got = sealed(
            0x66,
            &receiver.public_key(),
            b"meter PB-000001",
            b"private key d",
        );
        let hex_got: String = got.iter().map(|b| format!("{b:02X}")).collect();
        assert_eq!(hex(&hex_got), hex(KAT), "{hex_got}");
        assert_eq!(
            opened(&receiver, b"meter PB-000001", &got).unwrap(),
            b"private key d"
        );
    }

    #[test]
    fn only_the_receiver_opens_and_only_with_the_same_aad() {
        let receiver = secret(0x77);
        let s = sealed(
            0x66,
            &receiver.public_key(),
            b"aad",
            b"a private key: 32 bytes of it...",
        );
        assert_eq!(
            opened(&receiver, b"aad", &s).unwrap(),
            b"a private key: 32 bytes of it..."
        );
        assert_eq!(opened(&secret(0x78), b"aad", &s), Err(EciesError::Forged));
        assert_eq!(opened(&receiver, b"aae", &s), Err(EciesError::Forged));
        assert_eq!(opened(&receiver, b"", &s), Err(EciesError::Forged));
        for bit in 0..s.len() * 8 {
            let mut t = s.clone();
            t[bit / 8] ^= 1 << (bit % 8);
            let r = opened(&receiver, b"aad", &t);
            if bit < POINT_LEN * 8 {
                // The ephemeral key: off the curve, or another key.
                assert!(r.is_err(), "bit {bit}");
            } else {
                assert_eq!(r, Err(EciesError::Forged), "bit {bit}");
            }
        }
        assert_eq!(
            opened(&receiver, b"aad", &s[..s.len() - 1]),
            Err(EciesError::Forged)
        );
        assert_eq!(
            opened(&receiver, b"aad", &s[..OVERHEAD - 1]),
            Err(EciesError::Malformed)
        );
        // A fresh ephemeral key gives another ciphertext of the same text.
        let s2 = sealed(
            0x65,
            &receiver.public_key(),
            b"aad",
            b"a private key: 32 bytes of it...",
        );
        assert_ne!(s[POINT_LEN..], s2[POINT_LEN..]);
    }

    #[test]
    fn small_buffers_and_bad_keys_are_refused() {
        let receiver = secret(0x77);
        let mut out = [0u8; OVERHEAD + 3];
        assert_eq!(
            seal(secret(1), &receiver.public_key(), b"", b"four", &mut out),
            Err(EciesError::BufferTooSmall)
        );
        let s = sealed(1, &receiver.public_key(), b"", b"four");
        assert_eq!(
            open(&receiver, b"", &s, &mut [0u8; 3]),
            Err(EciesError::BufferTooSmall)
        );
        let mut compressed = s.clone();
        let point = secret(1).public_key().to_sec1_point(true);
        compressed.splice(..POINT_LEN, point.as_bytes().iter().copied());
        assert_eq!(
            opened(&receiver, b"", &compressed),
            Err(EciesError::Malformed)
        );
        let empty = sealed(2, &receiver.public_key(), b"", b"");
        assert_eq!(empty.len(), OVERHEAD);
        assert_eq!(opened(&receiver, b"", &empty).unwrap(), b"");
    }

    use p256::elliptic_curve::sec1::ToSec1Point;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]
        #[test]
        fn round_trips(plaintext in proptest::collection::vec(any::<u8>(), 0..600),
                       aad in proptest::collection::vec(any::<u8>(), 0..64),
                       e in 1u8..255, r in 1u8..255) {
            let receiver = secret(r);
            let s = sealed(e, &receiver.public_key(), &aad, &plaintext);
            prop_assert_eq!(opened(&receiver, &aad, &s).unwrap(), plaintext);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn arbitrary_bytes_are_refused(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let mut out = [0u8; 200];
            prop_assert!(open(&secret(0x77), b"", &bytes, &mut out).is_err());
        }
    }
}
