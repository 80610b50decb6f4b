//! Card attestation (proprietary): the card's attestation key pair is
//! generated at manufacture and never leaves the card; the manufacturer (the
//! issuer) certifies it bound to the chip id, and the card then vouches for
//! the meter key it generates by signing it with a fresh authority nonce.
//!
//! - STORE ATTESTATION CERTIFICATE: `80 E2 00 00 Lc 7F21...`, at the
//!   factory: the attestation certificate, signed by the issuer root the
//!   card was made with, holder = the chip id (16 lower-case hex digits),
//!   usage [`crate::cert::usage::ATTESTATION`], for the card's attestation
//!   key. Written once.
//! - READ ATTESTATION: `80 E4 00 00 00`: answers `E3 { 7F49 { 86 attestation
//!   public key }, [7F21 attestation certificate] }`.
//! - ATTEST: `80 E4 01 00 10 nonce 00`: answers the attestation statement
//!   over the meter public key and the authority's nonce, followed by the
//!   attestation certificate:
//!
//! ```text
//! 7F73 attestation statement                card -> authority
//!   7F4E { 80 object type 7F73, 81 chip id, 7F49 { 86 meter public key },
//!          8B authority nonce (16) }
//!   5F37 signature by the card's attestation key
//! 7F21 attestation certificate (by the issuer root)
//! ```

use super::Request;
use super::personalize::{CHIP_ID, OBJECT_TYPE, check_type, object_type};
use crate::cert::{self, Certificate};
use crate::command::Command;
use crate::signed::{self, FormatError, SIGNATURE_LEN, Signed};
use crate::status::StatusWord;
use crate::tlv::{Tag, TlvError, Writer};

/// STORE ATTESTATION CERTIFICATE.
pub const INS_STORE: u8 = 0xE2;
/// READ ATTESTATION (P1 `00`) and ATTEST (P1 `01`).
pub const INS_ATTEST: u8 = 0xE4;
/// ATTEST P1: read the attestation key and certificate.
pub const P1_READ: u8 = 0x00;
/// ATTEST P1: sign an attestation statement.
pub const P1_ATTEST: u8 = 0x01;
/// Bytes of the authority's nonce.
pub const NONCE_LEN: usize = 16;

/// The READ ATTESTATION answer template.
pub const ATTESTATION: Tag = 0xE3;
/// The attestation statement.
pub const STATEMENT: Tag = 0x7F73;
/// Inside the statement: the authority's nonce.
pub const NONCE: Tag = 0x8B;

pub(crate) fn parse_store<'a>(cmd: &Command<'a>) -> Result<Request<'a>, StatusWord> {
    super::p1p2_zero(cmd)?;
    super::some_data(cmd.data)?;
    Ok(Request::StoreAttestation {
        certificate: cmd.data,
    })
}

pub(crate) fn parse_attest<'a>(cmd: &Command<'a>) -> Result<Request<'a>, StatusWord> {
    if cmd.p2 != 0 {
        return Err(StatusWord::INCORRECT_P1P2);
    }
    match cmd.p1 {
        P1_READ => {
            super::no_data(cmd.data)?;
            Ok(Request::ReadAttestation)
        }
        P1_ATTEST => match cmd.data.try_into() {
            Ok(nonce) => Ok(Request::Attest { nonce }),
            Err(_) => Err(StatusWord::WRONG_LENGTH),
        },
        _ => Err(StatusWord::INCORRECT_P1P2),
    }
}

/// The STORE ATTESTATION CERTIFICATE command.
pub fn store_command(certificate: &[u8]) -> Command<'_> {
    super::prop(INS_STORE, 0, certificate, None)
}

/// The READ ATTESTATION command.
pub fn read_command() -> Command<'static> {
    super::prop(INS_ATTEST, P1_READ, &[], Some(256))
}

/// The ATTEST command for the authority's `nonce`.
pub fn attest_command(nonce: &[u8; NONCE_LEN]) -> Command<'_> {
    super::prop(INS_ATTEST, P1_ATTEST, nonce, Some(256))
}

/// The signed fields of an attestation statement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatementBody<'a> {
    /// The card's chip id.
    pub chip_id: &'a [u8; 8],
    /// The meter public key the card generated.
    pub meter_key: &'a [u8; 65],
    /// The authority's nonce.
    pub nonce: &'a [u8; NONCE_LEN],
}

impl StatementBody<'_> {
    /// Writes the body's fields, the object type first.
    pub fn write_fields(&self, w: &mut Writer<'_>) -> Result<(), TlvError> {
        w.put(OBJECT_TYPE, &object_type(STATEMENT))?;
        w.put(CHIP_ID, self.chip_id)?;
        w.nested(cert::PUBLIC_KEY, |w| w.put(cert::EC_POINT, self.meter_key))?;
        w.put(NONCE, self.nonce)
    }

    /// Writes the statement, `sign` signing the encoded body.
    pub fn write(
        &self,
        w: &mut Writer<'_>,
        sign: impl FnOnce(&[u8]) -> [u8; SIGNATURE_LEN],
    ) -> Result<(), TlvError> {
        signed::write(w, STATEMENT, |w| self.write_fields(w), sign)
    }
}

/// A parsed attestation: the statement and the attestation certificate
/// that follows it (the ATTEST answer).
#[derive(Clone, Copy, Debug)]
pub struct Attestation<'a> {
    /// The signed statement.
    pub signed: Signed<'a>,
    /// The signed fields.
    pub body: StatementBody<'a>,
    /// The card's attestation certificate.
    pub certificate: Certificate<'a>,
}

impl<'a> Attestation<'a> {
    /// Parses a statement followed by its certificate.
    pub fn parse(input: &'a [u8]) -> Result<Self, FormatError> {
        let (signed, rest) = Signed::read(input, STATEMENT)?;
        check_type(&signed)?;
        let meter_key = signed
            .nested(cert::PUBLIC_KEY, cert::EC_POINT)?
            .try_into()
            .map_err(|_| FormatError::MissingField(cert::EC_POINT))?;
        Ok(Attestation {
            signed,
            body: StatementBody {
                chip_id: signed.array::<8>(CHIP_ID)?,
                meter_key,
                nonce: signed.array::<NONCE_LEN>(NONCE)?,
            },
            certificate: Certificate::parse(rest)?,
        })
    }
}

/// The holder name of an attestation certificate for `chip_id`: its 16
/// lower-case hex digits.
pub fn chip_holder(chip_id: &[u8; 8]) -> [u8; 16] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; 16];
    for (pair, b) in out.chunks_exact_mut(2).zip(chip_id) {
        if let [hi, lo] = pair {
            *hi = HEX.get(usize::from(b >> 4)).copied().unwrap_or(b'0');
            *lo = HEX.get(usize::from(b & 0x0F)).copied().unwrap_or(b'0');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cert::CertificateBody;
    use crate::signed::testing::{encode, fake_sign};
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn attestation_round_trip(
            chip_id in any::<[u8; 8]>(),
            nonce in any::<[u8; 16]>(),
            key in proptest::collection::vec(any::<u8>(), 65),
        ) {
            let key: &[u8; 65] = key[..].try_into().unwrap();
            let holder = chip_holder(&chip_id);
            let cert = encode(cert::CERTIFICATE, |w| CertificateBody {
                issuer: b"ROOT",
                holder: &holder,
                serial: 0,
                public_key: key,
                usage: cert::usage::ATTESTATION,
                effective: 0,
                expiry: 1,
            }.write_fields(w));
            let body = StatementBody { chip_id: &chip_id, meter_key: key, nonce: &nonce };
            let mut buf = [0u8; 1024];
            let mut w = Writer::new(&mut buf);
            body.write(&mut w, fake_sign).unwrap();
            w.raw(&cert).unwrap();
            let a = Attestation::parse(w.written()).unwrap();
            prop_assert_eq!(a.body, body);
            prop_assert_eq!(a.certificate.holder, &holder[..]);
        }

        #[test]
        fn attestation_parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = Attestation::parse(&bytes);
        }
    }

    #[test]
    fn chip_holder_is_hex() {
        assert_eq!(
            &chip_holder(&[0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF]),
            b"0123456789abcdef"
        );
    }
}
