//! Figure 9, paying from the line of credit: PAY.
//!
//! ```text
//! PAY  80 4A 00 00 Lc request 00     request (902) in, payment certificate (910) out
//!
//! request: these two objects, in this order, nothing else (one encoding)
//!   88 amount      u64, 1 or more, minor units
//!   8B merchant    1..=32 printable bytes
//!
//! 7F69 payment certificate (7B)      meter -> merchant -> creditor
//!   7F4E { 80 object type 7F69, 5F20 holder = meter serial (724),
//!          93 payment serial (726: the card's count of payments, unique per meter, u64),
//!          81 meter id = chip id (728), 96 SHA-256 of the 7A (730),
//!          88 amount authorized (731), 89 credit remaining after it (732),
//!          8B merchant, 85 line number, 83 time (the card's clock),
//!          94 fee charged to the certificate register }
//!   5F37 meter signature (734)
//!
//! payment file = 7F69 || 7F6B creditor certificate || 7F68 line (7A) || 7F21 meter certificate
//! ```
//!
//! The merchant checks the file with the authority's key alone
//! ([`check_payment`]): authority -> creditor certificate -> 7A ->
//! 7B, whose signer is the key the 7A names, which the authority's meter
//! certificate certifies for the same meter.

use super::credit_line::{LINE_AMOUNT, LINE_NUMBER, LineFile, REMAINING};
use super::personalize::{CHIP_ID, OBJECT_TYPE, TIME, check_type, object_type};
use super::{FormatError, Request};
use crate::cert::{self, Certificate};
use crate::command::Command;
use crate::signed::{self, SIGNATURE_LEN, Signed};
use crate::status::StatusWord;
use crate::tlv::{self, Tag, TlvError, Writer};

/// PAY.
pub const INS: u8 = 0x4A;
/// The payment certificate (Figure 7B).
pub const PAYMENT_CERTIFICATE: Tag = 0x7F69;
/// The merchant's id.
pub const MERCHANT: Tag = 0x8B;
/// SHA-256 of the line-of-credit certificate (730).
pub const LINE_DIGEST: Tag = 0x96;
/// The fee charged for the payment (the rate table's Payment service).
pub const FEE: Tag = 0x94;
/// The amount authorized (731).
pub const AMOUNT: Tag = LINE_AMOUNT;
/// Longest merchant id.
pub const MERCHANT_MAX_LEN: usize = 32;
/// Longest PAY request.
pub const REQUEST_MAX_LEN: usize = (2 + 8) + (2 + MERCHANT_MAX_LEN);

/// Whether `id` is a merchant id: 1 to 32 printable ASCII bytes.
pub fn merchant_ok(id: &[u8]) -> bool {
    (1..=MERCHANT_MAX_LEN).contains(&id.len()) && id.iter().all(|b| (0x21..0x7F).contains(b))
}

/// The PAY request (902), validated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PayRequest<'a> {
    /// The amount, minor units, at least 1.
    pub amount: u64,
    /// The merchant paid.
    pub merchant: &'a [u8],
}

impl<'a> PayRequest<'a> {
    /// Writes the request's data.
    pub fn write(&self, w: &mut Writer<'_>) -> Result<(), TlvError> {
        w.put_u64(AMOUNT, self.amount)?;
        w.put(MERCHANT, self.merchant)
    }

    /// Parses and validates the request's data.
    pub fn parse(data: &'a [u8]) -> Result<Self, FormatError> {
        tlv::validate(data).map_err(|_| FormatError::Malformed)?;
        let amount = match super::field(data, AMOUNT)? {
            b if b.len() == 8 => tlv::as_u64(b).unwrap_or(0),
            _ => return Err(FormatError::MissingField(AMOUNT)),
        };
        let merchant = super::field(data, MERCHANT)?;
        if amount == 0 {
            return Err(FormatError::MissingField(AMOUNT));
        }
        if !merchant_ok(merchant) {
            return Err(FormatError::MissingField(MERCHANT));
        }
        let req = PayRequest { amount, merchant };
        let mut buf = [0u8; REQUEST_MAX_LEN];
        let mut w = Writer::new(&mut buf);
        req.write(&mut w).map_err(|_| FormatError::Malformed)?;
        if w.written() != data {
            return Err(FormatError::Malformed);
        }
        Ok(req)
    }
}

pub(crate) fn parse<'a>(cmd: &Command<'a>) -> Result<Request<'a>, StatusWord> {
    super::p1p2_zero(cmd)?;
    super::some_data(cmd.data)?;
    if cmd.data.len() > REQUEST_MAX_LEN {
        return Err(StatusWord::WRONG_LENGTH);
    }
    Ok(Request::Pay { request: cmd.data })
}

/// The PAY command.
pub fn command(request: &[u8]) -> Command<'_> {
    super::prop(INS, 0, request, Some(256))
}

/// The signed fields of a payment certificate (Figure 7B).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PaymentBody<'a> {
    /// The holder: the meter serial (724).
    pub holder: &'a [u8],
    /// Payment serial (726).
    pub serial: u64,
    /// Meter id: the chip id (728).
    pub meter_id: &'a [u8; 8],
    /// SHA-256 of the 7A (730).
    pub line_digest: &'a [u8; 32],
    /// Amount authorized (731).
    pub amount: u64,
    /// Credit remaining after it (732).
    pub remaining: u64,
    /// The merchant paid.
    pub merchant: &'a [u8],
    /// The line's number.
    pub line_number: u32,
    /// The card's clock.
    pub time: u64,
    /// Fee charged to the certificate register.
    pub fee: u64,
}

impl PaymentBody<'_> {
    /// The body's fields after the object type.
    pub fn write_fields(&self, w: &mut Writer<'_>) -> Result<(), TlvError> {
        w.put(OBJECT_TYPE, &object_type(PAYMENT_CERTIFICATE))?;
        w.put(cert::HOLDER, self.holder)?;
        w.put_u64(cert::SERIAL, self.serial)?;
        w.put(CHIP_ID, self.meter_id)?;
        w.put(LINE_DIGEST, self.line_digest)?;
        w.put_u64(AMOUNT, self.amount)?;
        w.put_u64(REMAINING, self.remaining)?;
        w.put(MERCHANT, self.merchant)?;
        w.put_u32(LINE_NUMBER, self.line_number)?;
        w.put_u64(TIME, self.time)?;
        w.put_u64(FEE, self.fee)
    }

    /// Writes the 7B, `sign` signing the encoded body.
    pub fn write(
        &self,
        w: &mut Writer<'_>,
        sign: impl FnOnce(&[u8]) -> [u8; SIGNATURE_LEN],
    ) -> Result<(), TlvError> {
        signed::write(w, PAYMENT_CERTIFICATE, |w| self.write_fields(w), sign)
    }
}

/// A parsed payment certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PaymentCertificate<'a> {
    /// The signed object.
    pub signed: Signed<'a>,
    /// Its fields.
    pub body: PaymentBody<'a>,
}

impl<'a> PaymentCertificate<'a> {
    /// Reads a 7B from the front of `input`.
    pub fn read(input: &'a [u8]) -> Result<(Self, &'a [u8]), FormatError> {
        let (signed, rest) = Signed::read(input, PAYMENT_CERTIFICATE)?;
        check_type(&signed)?;
        let merchant = signed.field(MERCHANT)?;
        if !merchant_ok(merchant) {
            return Err(FormatError::MissingField(MERCHANT));
        }
        Ok((
            PaymentCertificate {
                signed,
                body: PaymentBody {
                    holder: signed.field(cert::HOLDER)?,
                    serial: signed.uint::<8>(cert::SERIAL)?,
                    meter_id: signed.array::<8>(CHIP_ID)?,
                    line_digest: signed.array::<32>(LINE_DIGEST)?,
                    amount: signed.uint::<8>(AMOUNT)?,
                    remaining: signed.uint::<8>(REMAINING)?,
                    merchant,
                    line_number: signed.uint::<4>(LINE_NUMBER)? as u32,
                    time: signed.uint::<8>(TIME)?,
                    fee: signed.uint::<8>(FEE)?,
                },
            },
            rest,
        ))
    }

    /// Parses exactly one 7B (the PAY answer).
    pub fn parse(input: &'a [u8]) -> Result<Self, FormatError> {
        match Self::read(input)? {
            (p, []) => Ok(p),
            _ => Err(FormatError::Malformed),
        }
    }
}

/// A payment file: the 7B, the line file (creditor certificate and 7A),
/// the meter certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PaymentFile<'a> {
    /// The payment certificate.
    pub payment: PaymentCertificate<'a>,
    /// The creditor certificate and the line of credit.
    pub line: LineFile<'a>,
    /// The meter certificate, by the authority.
    pub meter: Certificate<'a>,
}

impl<'a> PaymentFile<'a> {
    /// Parses a payment file.
    pub fn parse(input: &'a [u8]) -> Result<Self, FormatError> {
        let (payment, rest) = PaymentCertificate::read(input)?;
        let (line, rest) = LineFile::read(rest)?;
        Ok(PaymentFile {
            payment,
            line,
            meter: Certificate::parse(rest)?,
        })
    }
}

/// Why a payment file does not hold (what the merchant or the creditor
/// finds with the authority's key alone).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PaymentInvalid {
    /// The creditor certificate is not signed by the authority, or does not
    /// authorize lines of credit.
    Creditor,
    /// The 7A is not signed by the creditor the certificate names.
    LineSignature,
    /// The 7A does not authorize payments to merchants.
    LineUse,
    /// The 7B's digest is not the 7A's.
    LineDigest,
    /// The 7B is for another holder or meter than the 7A.
    Holder,
    /// The 7B is not signed by the key the 7A names.
    PaymentSignature,
    /// The meter certificate is not signed by the authority, or certifies
    /// another key or meter.
    MeterCertificate,
    /// Amount plus remaining exceed the line, or the amount is zero.
    Amount,
    /// The payment is dated outside the 7A's (or the creditor
    /// certificate's) validity.
    Expired,
}

impl PaymentInvalid {
    /// The reason, for people.
    pub fn reason(self) -> &'static str {
        match self {
            Self::Creditor => {
                "the creditor certificate is not signed by the authority or does not allow lines of credit"
            }
            Self::LineSignature => "the line of credit (7A) is not signed by the creditor",
            Self::LineUse => "the line of credit does not authorize payments to merchants",
            Self::LineDigest => "the payment names another line of credit (digest mismatch)",
            Self::Holder => "the payment is for another holder or meter than the line of credit",
            Self::PaymentSignature => {
                "the payment certificate (7B) is not signed by the key the line of credit names"
            }
            Self::MeterCertificate => {
                "the meter certificate is not signed by the authority or certifies another key or meter"
            }
            Self::Amount => "the amount and the credit remaining exceed the line",
            Self::Expired => "the payment is dated outside the line's validity",
        }
    }
}

/// The chain authority -> creditor -> 7A -> 7B -> meter, checked with the
/// authority's key alone (the merchant's check, and the creditor's before
/// it settles).
#[cfg(feature = "crypto")]
pub fn check_payment(
    file: &PaymentFile<'_>,
    authority: &p256::ecdsa::VerifyingKey,
) -> Result<(), PaymentInvalid> {
    use crate::crypto::{public_key, sha256, verify_certificate, verify_signed};
    let (creditor, line, p) = (&file.line.creditor, &file.line.line, &file.payment.body);
    if !verify_certificate(creditor, authority)
        || !creditor.allows(super::credit_line::CREDITOR_ISSUES_LINES)
    {
        return Err(PaymentInvalid::Creditor);
    }
    let creditor_key = public_key(creditor.public_key).ok_or(PaymentInvalid::Creditor)?;
    if line.cert.issuer != creditor.holder || !verify_signed(&line.cert.signed, &creditor_key) {
        return Err(PaymentInvalid::LineSignature);
    }
    if !line.cert.allows(super::credit_line::LINE_PAYS_MERCHANTS) {
        return Err(PaymentInvalid::LineUse);
    }
    if sha256(line.raw()) != *p.line_digest || p.line_number != line.number {
        return Err(PaymentInvalid::LineDigest);
    }
    if p.holder != line.cert.holder || p.meter_id != line.chip_id {
        return Err(PaymentInvalid::Holder);
    }
    let holder_key = public_key(line.cert.public_key).ok_or(PaymentInvalid::PaymentSignature)?;
    if !verify_signed(&file.payment.signed, &holder_key) {
        return Err(PaymentInvalid::PaymentSignature);
    }
    let meter = &file.meter;
    if !verify_certificate(meter, authority)
        || meter.public_key != line.cert.public_key
        || meter.holder != p.holder
    {
        return Err(PaymentInvalid::MeterCertificate);
    }
    if p.amount == 0
        || p.amount
            .checked_add(p.remaining)
            .is_none_or(|t| t > line.amount)
    {
        return Err(PaymentInvalid::Amount);
    }
    if !line.cert.valid_at(p.time) || !creditor.valid_at(p.time) {
        return Err(PaymentInvalid::Expired);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signed::testing::fake_sign;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn payment_round_trip(
            holder in proptest::collection::vec(0x21u8..0x7F, 1..=16),
            merchant in proptest::collection::vec(0x21u8..0x7F, 1..=32),
            meter_id in any::<[u8; 8]>(),
            line_digest in any::<[u8; 32]>(),
            (serial, amount, remaining, time, fee) in (any::<u64>(), 1u64.., any::<u64>(), any::<u64>(), any::<u64>()),
            line_number in any::<u32>(),
        ) {
            let body = PaymentBody { holder: &holder, serial, meter_id: &meter_id, line_digest: &line_digest,
                amount, remaining, merchant: &merchant, line_number, time, fee };
            let mut buf = [0u8; 400];
            let mut w = Writer::new(&mut buf);
            body.write(&mut w, fake_sign).unwrap();
            let p = PaymentCertificate::parse(w.written()).unwrap();
            prop_assert_eq!(p.body, body);

            let req = PayRequest { amount, merchant: &merchant };
            let mut buf = [0u8; REQUEST_MAX_LEN];
            let mut w = Writer::new(&mut buf);
            req.write(&mut w).unwrap();
            prop_assert_eq!(PayRequest::parse(w.written()), Ok(req));
        }

        #[test]
        fn parsers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = PayRequest::parse(&bytes);
            let _ = PaymentCertificate::parse(&bytes);
            let _ = PaymentFile::parse(&bytes);
        }
    }

    #[test]
    fn bad_requests() {
        let enc = |amount: u64, m: &[u8]| {
            let mut buf = [0u8; 64];
            let mut w = Writer::new(&mut buf);
            w.put_u64(AMOUNT, amount).unwrap();
            w.put(MERCHANT, m).unwrap();
            w.written().to_vec()
        };
        assert!(PayRequest::parse(&enc(0, b"SHOP")).is_err());
        assert!(PayRequest::parse(&enc(5, b"")).is_err());
        assert!(PayRequest::parse(&enc(5, b"a shop")).is_err());
        assert!(PayRequest::parse(&enc(5, &[b'A'; 33])).is_err());
        let mut trailing = enc(5, b"SHOP");
        trailing.extend_from_slice(&[0x90, 0]);
        assert!(PayRequest::parse(&trailing).is_err());
        assert!(PayRequest::parse(&enc(5, b"SHOP")).is_ok());
    }
}
