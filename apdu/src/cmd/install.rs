//! Installing a certificate (Figure 5), over the card-authority channel
//! ([`super::channel`]): both commands carry a sealed message and answer a
//! sealed reply (`counter || ciphertext || tag`).
//!
//! - INSTALL KEY: `80 EC 00 00 Lc sealed 00`. Plaintext `E7 { 5F20 holder,
//!   95 usage }` (the authority's relay of the holder's request). The card
//!   checks its funds for the InstallCertificate fee (504/506, `9401`) and
//!   a free slot (`6A84`), generates a key pair (510; the private key stays
//!   in RAM until its certificate is installed) and answers the
//!   certificate request `7F79` signed by that key (512, proof of
//!   possession).
//! - INSTALL CERTIFICATE: `80 EC 01 00 Lc sealed 00`. Plaintext `E8 { 7F21
//!   certificate }` (518). The card checks it against the authority key,
//!   the pending key, holder and usage, then in one transaction stores
//!   certificate and key in a free slot and deducts the fee (520); answers
//!   `E8 { 80 slot }`.
//!
//! - SIGN: `80 EC 02 slot 20 digest 00`: the ECDSA P-256 signature
//!   (`r || s`, low-S) of the 32-byte SHA-256 `digest` with the key
//!   installed with the certificate in `slot`; only for a certificate whose
//!   uses include SIGNING (`6985`) and within its dates by the card's clock
//!   (`6985`); `6A88` for a slot without an installed key.
//! - AUTHENTICATE: `80 EC 03 slot 20 challenge 00`: the same, for a
//!   certificate whose uses include AUTHENTICATION, over
//!   [`authentication_digest`] of the 32-byte challenge (a fixed context
//!   first, so an answer is never a signature of the bare challenge).
//!
//! ```text
//! 7F79 certificate request                       card -> authority (sealed)
//!   7F4E { 80 object type 7F79, 81 chip id, 5F20 holder,
//!          7F49 { 86 public key }, 95 usage }
//!   5F37 signature by the new key
//! ```

use super::Request;
use super::personalize::{CHIP_ID, OBJECT_TYPE, check_type, object_type};
use crate::cert;
use crate::command::Command;
use crate::signed::{FormatError, Signed};
use crate::status::StatusWord;
use crate::tlv::{Tag, TlvError, Writer};

/// INSTALL KEY (P1 `00`) and INSTALL CERTIFICATE (P1 `01`).
pub const INS: u8 = 0xEC;
/// P1: generate the key and answer the request.
pub const P1_KEY: u8 = 0x00;
/// P1: install the certificate.
pub const P1_CERTIFICATE: u8 = 0x01;
/// P1: SIGN a digest with the key of the certificate in slot P2.
pub const P1_SIGN: u8 = 0x02;
/// P1: AUTHENTICATE, answering a challenge with the key of the
/// certificate in slot P2.
pub const P1_AUTHENTICATE: u8 = 0x03;
/// What AUTHENTICATE puts before the challenge it hashes.
pub const AUTHENTICATION_CONTEXT: &[u8] = b"certmeter authentication v1\0";
/// Bytes of the digest SIGN signs (SHA-256).
pub const DIGEST_LEN: usize = 32;

/// The key request plaintext (authority to card).
pub const KEY_REQUEST: Tag = 0xE7;
/// The certificate plaintext (authority to card) and the install answer.
pub const INSTALL: Tag = 0xE8;
/// The certificate request, signed by the new key.
pub const CERTIFICATE_REQUEST: Tag = 0x7F79;
/// Holder name.
pub const HOLDER: Tag = 0x5F20;
/// Usage bits (one byte).
pub const USAGE: Tag = 0x95;
/// In a key request: the holder's own private key to import (32 bytes),
/// instead of a key generated on the card.
pub const IMPORT_KEY: Tag = 0x9A;
/// The slot the certificate went to (install answer).
pub const SLOT: Tag = 0x80;
/// Longest holder name.
pub const HOLDER_MAX_LEN: usize = 64;

pub(crate) fn parse<'a>(cmd: &Command<'a>) -> Result<Request<'a>, StatusWord> {
    if cmd.p1 == P1_SIGN || cmd.p1 == P1_AUTHENTICATE {
        return match cmd.data.try_into() {
            Ok(digest) => Ok(Request::Sign {
                slot: cmd.p2,
                digest,
                authenticate: cmd.p1 == P1_AUTHENTICATE,
            }),
            Err(_) => Err(StatusWord::WRONG_LENGTH),
        };
    }
    if cmd.p2 != 0 {
        return Err(StatusWord::INCORRECT_P1P2);
    }
    super::some_data(cmd.data)?;
    match cmd.p1 {
        P1_KEY => Ok(Request::InstallKey { sealed: cmd.data }),
        P1_CERTIFICATE => Ok(Request::InstallCertificate { sealed: cmd.data }),
        _ => Err(StatusWord::INCORRECT_P1P2),
    }
}

/// The INSTALL KEY command.
pub fn key_command(sealed: &[u8]) -> Command<'_> {
    super::prop(INS, P1_KEY, sealed, Some(256))
}

/// The INSTALL CERTIFICATE command.
pub fn certificate_command(sealed: &[u8]) -> Command<'_> {
    super::prop(INS, P1_CERTIFICATE, sealed, Some(256))
}

/// The SIGN command: `digest` signed with the key of slot `slot`.
pub fn sign_command(slot: u8, digest: &[u8; DIGEST_LEN], authenticate: bool) -> Command<'_> {
    Command::new(
        super::CLA_PROPRIETARY,
        INS,
        if authenticate {
            P1_AUTHENTICATE
        } else {
            P1_SIGN
        },
        slot,
        digest,
        Some(256),
    )
}

/// What AUTHENTICATE signs for a challenge: SHA-256 of
/// [`AUTHENTICATION_CONTEXT`] then the challenge.
#[cfg(feature = "crypto")]
pub fn authentication_digest(challenge: &[u8; DIGEST_LEN]) -> [u8; DIGEST_LEN] {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    h.update(AUTHENTICATION_CONTEXT);
    h.update(challenge);
    h.finalize().into()
}

/// The signed fields of a certificate request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestBody<'a> {
    /// The card's chip id.
    pub chip_id: &'a [u8; 8],
    /// The holder's name.
    pub holder: &'a [u8],
    /// The new public key (uncompressed SEC1).
    pub public_key: &'a [u8; 65],
    /// The usage bits asked for.
    pub usage: u8,
}

impl RequestBody<'_> {
    /// Writes the body's fields, the object type first.
    pub fn write_fields(&self, w: &mut Writer<'_>) -> Result<(), TlvError> {
        w.put(OBJECT_TYPE, &object_type(CERTIFICATE_REQUEST))?;
        w.put(CHIP_ID, self.chip_id)?;
        w.put(HOLDER, self.holder)?;
        w.nested(cert::PUBLIC_KEY, |w| w.put(cert::EC_POINT, self.public_key))?;
        w.put(USAGE, &[self.usage])
    }
}

/// A parsed certificate request.
#[derive(Clone, Copy, Debug)]
pub struct CertificateRequest<'a> {
    /// The signed object.
    pub signed: Signed<'a>,
    /// Its fields.
    pub body: RequestBody<'a>,
}

impl<'a> CertificateRequest<'a> {
    /// Parses exactly one certificate request.
    pub fn parse(input: &'a [u8]) -> Result<Self, FormatError> {
        let signed = Signed::parse(input, CERTIFICATE_REQUEST)?;
        check_type(&signed)?;
        let public_key = signed
            .nested(cert::PUBLIC_KEY, cert::EC_POINT)?
            .try_into()
            .map_err(|_| FormatError::MissingField(cert::EC_POINT))?;
        let [usage] = *signed.array::<1>(USAGE)?;
        Ok(CertificateRequest {
            signed,
            body: RequestBody {
                chip_id: signed.array::<8>(CHIP_ID)?,
                holder: super::field(signed.fields, HOLDER)?,
                public_key,
                usage,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signed;
    use crate::signed::testing::fake_sign;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn request_round_trip(
            chip_id in any::<[u8; 8]>(),
            holder in proptest::collection::vec(any::<u8>(), 1..64),
            key in proptest::collection::vec(any::<u8>(), 65),
            usage in any::<u8>(),
        ) {
            let key: &[u8; 65] = key[..].try_into().unwrap();
            let body = RequestBody { chip_id: &chip_id, holder: &holder, public_key: key, usage };
            let mut buf = [0u8; 512];
            let mut w = Writer::new(&mut buf);
            signed::write(&mut w, CERTIFICATE_REQUEST, |w| body.write_fields(w), fake_sign).unwrap();
            let r = CertificateRequest::parse(w.written()).unwrap();
            prop_assert_eq!(r.body, body);
        }

        #[test]
        fn request_parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = CertificateRequest::parse(&bytes);
        }
    }
}
