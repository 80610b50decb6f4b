//! Figure 8, a line of credit: STORE CREDIT LINE and READ CREDIT LINE.
//!
//! ```text
//! STORE CREDIT LINE  80 48 00 00 Lc 7F6B...7F68...   creditor certificate then
//!                                                    line-of-credit certificate (810/812)
//! READ CREDIT LINE   80 48 01 00 00                  the line stored and its state
//!
//! 7F6A credit request (802)              holder -> creditor, assembled by the PC and
//!                                        postmarked by the card (POSTMARK over its SHA-256)
//!   80 object type 7F6A, 5F20 meter serial, 81 chip id, 7F49 { 86 meter key },
//!   85 line number (the card's count of lines + 1), 88 amount asked (u64)
//! credit request file = 7F6A || postmark 7F60 || meter certificate 7F21
//!
//! 7F6B creditor certificate              authority -> creditor (Figure 1 fields, typed)
//!   7F4E { 80 object type 7F6B, 5F29 profile, 42 issuer (authority), 5F20 creditor name,
//!          93 serial, 7F49 { 86 creditor key }, 7F4C { 53 CREDITOR_ISSUES_LINES },
//!          5F25 effective, 5F24 expiry }
//!   5F37 authority signature
//!
//! 7F68 line-of-credit certificate (7A)   creditor -> holder (808)
//!   7F4E { 80 object type 7F68, 5F29 profile, 42 issuer = creditor name (710),
//!          5F20 holder = meter serial (704), 93 serial (706),
//!          7F49 { 86 holder key = the meter key } (708), 7F4C { 53 LINE_PAYS_MERCHANTS } (716),
//!          5F25 effective, 5F24 expiry (714), 81 chip id, 85 line number,
//!          88 credit line (712, u64) }
//!   5F37 creditor signature (718)
//!
//! READ CREDIT LINE answer = 7F6B || 7F68 || 85 line number (u32) || 88 line (u64)
//!                           || 89 remaining (u64) || 8A payments made (u32)
//! ```
//!
//! The object type is signed (as in the agent certificate 7F22): no other
//! signed body passes for a 7A or a creditor certificate. A 7A is bound to
//! one card by the meter key, chip id and serial it names, and to the
//! card's count of lines by its line number: the card takes only its count
//! plus one, so a 7A is stored once and a replay is refused (6984).

use super::personalize::{CHIP_ID, OBJECT_TYPE, check_type, object_type};
use super::{FormatError, Request};
use crate::cert::{self, Certificate, CertificateBody};
use crate::command::Command;
use crate::signed::{self, SIGNATURE_LEN, Signed};
use crate::status::StatusWord;
use crate::tlv::{self, Tag, TlvError, Writer};

/// STORE CREDIT LINE (P1 00) and READ CREDIT LINE (P1 01).
pub const INS: u8 = 0x48;
/// P1 of STORE CREDIT LINE.
pub const P1_STORE: u8 = 0x00;
/// P1 of READ CREDIT LINE.
pub const P1_READ: u8 = 0x01;

/// The line-of-credit certificate (Figure 7A).
pub const LINE_CERTIFICATE: Tag = 0x7F68;
/// The credit request (Figure 8, 802).
pub const CREDIT_REQUEST: Tag = 0x7F6A;
/// The creditor certificate (the creditor key by the authority).
pub const CREDITOR_CERTIFICATE: Tag = 0x7F6B;
/// Line number (u32): the card's count of lines stored, plus one.
pub const LINE_NUMBER: Tag = 0x85;
/// The credit line (712), or the amount asked in a request (u64).
pub const LINE_AMOUNT: Tag = 0x88;
/// Credit remaining (u64), in the READ CREDIT LINE answer.
pub const REMAINING: Tag = 0x89;
/// Payments made (u32), in the READ CREDIT LINE answer.
pub const PAYMENTS: Tag = 0x8A;

/// Authorized use of a creditor certificate (7F4C/53): it signs lines of
/// credit. The usage byte of a `7F6B` is its own namespace (the signed
/// object type tells which).
pub const CREDITOR_ISSUES_LINES: u8 = 0x01;
/// Authorized use of a line of credit (716): payments to merchants
/// (Figure 9).
pub const LINE_PAYS_MERCHANTS: u8 = 0x01;

/// Longest creditor certificate plus line certificate the card stores.
pub const LINE_FILE_MAX_LEN: usize = 768;

pub(crate) fn parse<'a>(cmd: &Command<'a>) -> Result<Request<'a>, StatusWord> {
    match (cmd.p1, cmd.p2) {
        (P1_STORE, 0) => {
            super::some_data(cmd.data)?;
            if cmd.data.len() > LINE_FILE_MAX_LEN {
                return Err(StatusWord::WRONG_LENGTH);
            }
            Ok(Request::StoreCreditLine { file: cmd.data })
        }
        (P1_READ, 0) => {
            super::no_data(cmd.data)?;
            Ok(Request::ReadCreditLine)
        }
        _ => Err(StatusWord::INCORRECT_P1P2),
    }
}

/// STORE CREDIT LINE carrying the creditor certificate then the 7A.
pub fn store_command(file: &[u8]) -> Command<'_> {
    super::prop(INS, P1_STORE, file, None)
}

/// READ CREDIT LINE.
pub fn read_command() -> Command<'static> {
    super::prop(INS, P1_READ, &[], Some(256))
}

/// The signed fields of a creditor certificate (7F6B).
pub fn write_creditor(
    body: &CertificateBody<'_>,
    w: &mut Writer<'_>,
    sign: impl FnOnce(&[u8]) -> [u8; SIGNATURE_LEN],
) -> Result<(), TlvError> {
    signed::write(
        w,
        CREDITOR_CERTIFICATE,
        |w| {
            w.put(OBJECT_TYPE, &object_type(CREDITOR_CERTIFICATE))?;
            body.write_fields(w)
        },
        sign,
    )
}

/// Reads a creditor certificate from the front of `input` (outer tag and
/// signed object type 7F6B).
pub fn read_creditor(input: &[u8]) -> Result<(Certificate<'_>, &[u8]), FormatError> {
    let (signed, rest) = Signed::read(input, CREDITOR_CERTIFICATE)?;
    check_type(&signed)?;
    Ok((Certificate::from_signed(signed)?, rest))
}

/// The signed fields of a line-of-credit certificate (Figure 7A).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineBody<'a> {
    /// The Figure 1 fields: issuer = the creditor, holder = the meter
    /// serial, serial, holder key = the meter key, use, validity.
    pub cert: CertificateBody<'a>,
    /// The card it is for.
    pub chip_id: &'a [u8; 8],
    /// The card's count of lines plus one.
    pub number: u32,
    /// The credit line, minor units (712).
    pub amount: u64,
}

impl LineBody<'_> {
    /// Writes the 7A, `sign` signing the encoded body.
    pub fn write(
        &self,
        w: &mut Writer<'_>,
        sign: impl FnOnce(&[u8]) -> [u8; SIGNATURE_LEN],
    ) -> Result<(), TlvError> {
        signed::write(
            w,
            LINE_CERTIFICATE,
            |w| {
                w.put(OBJECT_TYPE, &object_type(LINE_CERTIFICATE))?;
                self.cert.write_fields(w)?;
                w.put(CHIP_ID, self.chip_id)?;
                w.put_u32(LINE_NUMBER, self.number)?;
                w.put_u64(LINE_AMOUNT, self.amount)
            },
            sign,
        )
    }
}

/// A parsed line-of-credit certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineCertificate<'a> {
    /// The Figure 1 fields (and the signed object: `cert.signed`).
    pub cert: Certificate<'a>,
    /// The card it is for.
    pub chip_id: &'a [u8; 8],
    /// Line number.
    pub number: u32,
    /// The credit line, minor units.
    pub amount: u64,
}

impl<'a> LineCertificate<'a> {
    /// Reads a 7A from the front of `input`.
    pub fn read(input: &'a [u8]) -> Result<(Self, &'a [u8]), FormatError> {
        let (signed, rest) = Signed::read(input, LINE_CERTIFICATE)?;
        check_type(&signed)?;
        Ok((
            LineCertificate {
                cert: Certificate::from_signed(signed)?,
                chip_id: signed.array::<8>(CHIP_ID)?,
                number: signed.uint::<4>(LINE_NUMBER)? as u32,
                amount: signed.uint::<8>(LINE_AMOUNT)?,
            },
            rest,
        ))
    }

    /// Parses exactly one 7A.
    pub fn parse(input: &'a [u8]) -> Result<Self, FormatError> {
        match Self::read(input)? {
            (l, []) => Ok(l),
            _ => Err(FormatError::Malformed),
        }
    }

    /// The signed fields.
    pub fn body(&self) -> LineBody<'a> {
        LineBody {
            cert: self.cert.body(),
            chip_id: self.chip_id,
            number: self.number,
            amount: self.amount,
        }
    }

    /// The whole certificate as received (what a 7B's digest covers).
    pub fn raw(&self) -> &'a [u8] {
        self.cert.signed.raw
    }
}

/// What STORE CREDIT LINE carries and the card keeps: the creditor
/// certificate, then the 7A.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineFile<'a> {
    /// The creditor's key, certified by the authority.
    pub creditor: Certificate<'a>,
    /// The line of credit, signed by the creditor.
    pub line: LineCertificate<'a>,
}

impl<'a> LineFile<'a> {
    /// Reads a line file from the front of `input`.
    pub fn read(input: &'a [u8]) -> Result<(Self, &'a [u8]), FormatError> {
        let (creditor, rest) = read_creditor(input)?;
        let (line, rest) = LineCertificate::read(rest)?;
        Ok((LineFile { creditor, line }, rest))
    }

    /// Parses exactly one line file.
    pub fn parse(input: &'a [u8]) -> Result<Self, FormatError> {
        match Self::read(input)? {
            (f, []) => Ok(f),
            _ => Err(FormatError::Malformed),
        }
    }

    /// The bytes of the two certificates.
    pub fn bytes(&self) -> (&'a [u8], &'a [u8]) {
        (self.creditor.signed.raw, self.line.raw())
    }
}

/// The credit request (802), before its postmark.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CreditRequest<'a> {
    /// The meter serial (the holder's name).
    pub serial: &'a [u8],
    /// The card's chip id.
    pub chip_id: &'a [u8; 8],
    /// The meter public key, uncompressed.
    pub public_key: &'a [u8; 65],
    /// The card's count of lines plus one.
    pub number: u32,
    /// The line asked for, minor units.
    pub amount: u64,
}

impl<'a> CreditRequest<'a> {
    /// Writes the request `7F6A { ... }`.
    pub fn write(&self, w: &mut Writer<'_>) -> Result<(), TlvError> {
        w.nested(CREDIT_REQUEST, |w| {
            w.put(OBJECT_TYPE, &object_type(CREDIT_REQUEST))?;
            w.put(cert::HOLDER, self.serial)?;
            w.put(CHIP_ID, self.chip_id)?;
            w.nested(cert::PUBLIC_KEY, |w| w.put(cert::EC_POINT, self.public_key))?;
            w.put_u32(LINE_NUMBER, self.number)?;
            w.put_u64(LINE_AMOUNT, self.amount)
        })
    }

    /// Reads a request from the front of `input`; also returns its encoded
    /// bytes (what the postmark's digest covers).
    pub fn read(input: &'a [u8]) -> Result<(Self, &'a [u8], &'a [u8]), FormatError> {
        let (t, rest) = tlv::read(input).map_err(|_| FormatError::Malformed)?;
        if t.tag != CREDIT_REQUEST {
            return Err(FormatError::WrongType);
        }
        let raw = input
            .get(..input.len() - rest.len())
            .ok_or(FormatError::Malformed)?;
        tlv::validate(t.value).map_err(|_| FormatError::Malformed)?;
        let f = t.value;
        if super::field(f, OBJECT_TYPE)? != object_type(CREDIT_REQUEST) {
            return Err(FormatError::MissingField(OBJECT_TYPE));
        }
        let public_key = tlv::find(super::field(f, cert::PUBLIC_KEY)?, cert::EC_POINT)
            .and_then(|p| <&[u8; 65]>::try_from(p).ok())
            .ok_or(FormatError::MissingField(cert::EC_POINT))?;
        let chip_id = super::field(f, CHIP_ID)?
            .try_into()
            .map_err(|_| FormatError::MissingField(CHIP_ID))?;
        let number = match super::field(f, LINE_NUMBER)? {
            b @ [_, _, _, _] => tlv::as_u64(b).unwrap_or(0) as u32,
            _ => return Err(FormatError::MissingField(LINE_NUMBER)),
        };
        let amount = match super::field(f, LINE_AMOUNT)? {
            b if b.len() == 8 => tlv::as_u64(b).unwrap_or(0),
            _ => return Err(FormatError::MissingField(LINE_AMOUNT)),
        };
        Ok((
            CreditRequest {
                serial: super::field(f, cert::HOLDER)?,
                chip_id,
                public_key,
                number,
                amount,
            },
            raw,
            rest,
        ))
    }
}

/// A credit request file: the request, its postmark and the meter
/// certificate (a postmark file over the request).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CreditRequestFile<'a> {
    /// The request.
    pub request: CreditRequest<'a>,
    /// Its encoded bytes (the postmark's digest is their SHA-256).
    pub request_bytes: &'a [u8],
    /// The postmark and the meter certificate.
    pub postmark: crate::postmark::PostmarkFile<'a>,
}

impl<'a> CreditRequestFile<'a> {
    /// Parses a credit request file.
    pub fn parse(input: &'a [u8]) -> Result<Self, FormatError> {
        let (request, request_bytes, rest) = CreditRequest::read(input)?;
        Ok(CreditRequestFile {
            request,
            request_bytes,
            postmark: crate::postmark::PostmarkFile::parse(rest)?,
        })
    }
}

/// The state of the line on the card (READ CREDIT LINE, after the two
/// certificates).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CreditState {
    /// Lines stored so far (the current one's number).
    pub number: u32,
    /// The current line, minor units.
    pub line: u64,
    /// Credit remaining (812: the full line at first).
    pub remaining: u64,
    /// Payments made on this card (every line), the last payment's serial.
    pub payments: u32,
}

impl CreditState {
    /// Writes the four fields.
    pub fn write(&self, w: &mut Writer<'_>) -> Result<(), TlvError> {
        w.put_u32(LINE_NUMBER, self.number)?;
        w.put_u64(LINE_AMOUNT, self.line)?;
        w.put_u64(REMAINING, self.remaining)?;
        w.put_u32(PAYMENTS, self.payments)
    }

    /// Parses the four fields (and nothing else).
    pub fn parse(input: &[u8]) -> Result<Self, FormatError> {
        let state = CreditState {
            number: super::uint(input, LINE_NUMBER, u64::from(u32::MAX))? as u32,
            line: super::uint(input, LINE_AMOUNT, u64::MAX)?,
            remaining: super::uint(input, REMAINING, u64::MAX)?,
            payments: super::uint(input, PAYMENTS, u64::from(u32::MAX))? as u32,
        };
        let mut buf = [0u8; 40];
        let mut w = Writer::new(&mut buf);
        state.write(&mut w).map_err(|_| FormatError::Malformed)?;
        if w.written() != input {
            return Err(FormatError::Malformed);
        }
        Ok(state)
    }
}

/// The READ CREDIT LINE answer: the line file, then the state.
pub fn parse_read_answer(input: &[u8]) -> Result<(LineFile<'_>, CreditState), FormatError> {
    let (file, rest) = LineFile::read(input)?;
    Ok((file, CreditState::parse(rest)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signed::testing::fake_sign;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn line_file_round_trip(
            chip_id in any::<[u8; 8]>(),
            serial in proptest::collection::vec(0x21u8..0x7F, 1..=16),
            key in any::<[u8; 32]>(),
            (number, amount, s, e) in (any::<u32>(), any::<u64>(), any::<u64>(), any::<u64>()),
        ) {
            let mut point = [4u8; 65];
            point[1..33].copy_from_slice(&key);
            let creditor = CertificateBody {
                issuer: b"CA", holder: b"CREDITOR", serial: s, public_key: &point,
                usage: CREDITOR_ISSUES_LINES, effective: e, expiry: s,
            };
            let line = LineBody {
                cert: CertificateBody {
                    issuer: b"CREDITOR", holder: &serial, serial: e, public_key: &point,
                    usage: LINE_PAYS_MERCHANTS, effective: s, expiry: e,
                },
                chip_id: &chip_id, number, amount,
            };
            let mut buf = [0u8; 1024];
            let mut w = Writer::new(&mut buf);
            write_creditor(&creditor, &mut w, fake_sign).unwrap();
            line.write(&mut w, fake_sign).unwrap();
            let state = CreditState { number, line: amount, remaining: s, payments: number };
            let file_len = w.len();
            state.write(&mut w).unwrap();
            let bytes = w.written().to_vec();
            let f = LineFile::parse(&bytes[..file_len]).unwrap();
            prop_assert_eq!(f.creditor.body(), creditor);
            prop_assert_eq!(f.line.body(), line);
            let (g, st) = parse_read_answer(&bytes).unwrap();
            prop_assert_eq!(g, f);
            prop_assert_eq!(st, state);
            // A 7A is not a creditor certificate, nor a plain certificate.
            prop_assert!(read_creditor(f.line.raw()).is_err());
            prop_assert!(Certificate::parse(f.line.raw()).is_err());

            let req = CreditRequest { serial: &serial, chip_id: &chip_id, public_key: &point, number, amount };
            let mut buf = [0u8; 256];
            let mut w = Writer::new(&mut buf);
            req.write(&mut w).unwrap();
            let (r, raw, rest) = CreditRequest::read(w.written()).unwrap();
            prop_assert_eq!(r, req);
            prop_assert_eq!(raw, w.written());
            prop_assert!(rest.is_empty());
        }

        #[test]
        fn parsers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = LineFile::parse(&bytes);
            let _ = parse_read_answer(&bytes);
            let _ = CreditRequestFile::parse(&bytes);
            let _ = CreditState::parse(&bytes);
        }
    }
}
