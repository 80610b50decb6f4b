//! Figure 9, host side: paying from the line of credit. PAY gives the card
//! the amount and the merchant (902); the card checks the credit remaining
//! (904/906), subtracts (908) and answers the payment certificate of
//! Figure 7B (910). The PC appends what the merchant needs to check it
//! with the authority's key alone: the creditor certificate and the 7A the
//! card stores, and the meter certificate. [`verify`] is the merchant's
//! check; the creditor settles the file once (`authority::Authority::settle`).

use apdu::cmd::pay::{PayRequest, PaymentFile, check_payment, merchant_ok};
use apdu::meter::METER_CERTIFICATE_SLOT;
use apdu::tlv::Writer;
use serde::Serialize;

use crate::error::Error;
use crate::meter::Meter;
use crate::transport::Transport;

/// What a payment file says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PaymentInfo {
    /// The holder: the meter serial.
    pub holder: String,
    /// The payment serial (726).
    pub serial: u64,
    /// The merchant paid.
    pub merchant: String,
    /// Amount authorized, minor units.
    pub amount: u64,
    /// Credit remaining after it.
    pub remaining: u64,
    /// The line (7A) amount.
    pub line: u64,
    /// The creditor.
    pub creditor: String,
    /// The fee the card charged for it.
    pub fee: u64,
    /// The card's time.
    pub time: u64,
}

impl PaymentInfo {
    /// The fields of a parsed payment file.
    pub fn of(f: &PaymentFile<'_>) -> Self {
        let p = &f.payment.body;
        PaymentInfo {
            holder: String::from_utf8_lossy(p.holder).into_owned(),
            serial: p.serial,
            merchant: String::from_utf8_lossy(p.merchant).into_owned(),
            amount: p.amount,
            remaining: p.remaining,
            line: f.line.line.amount,
            creditor: String::from_utf8_lossy(f.line.line.cert.issuer).into_owned(),
            fee: p.fee,
            time: p.time,
        }
    }
}

/// Figure 9: pays `amount` minor units to `merchant` from the card's line
/// of credit (PIN verified); returns the payment file (7B, creditor
/// certificate, 7A, meter certificate). Everything that can fail on the PC
/// is read before the card charges.
pub fn pay<T: Transport>(
    meter: &mut Meter<T>,
    amount: u64,
    merchant: &str,
) -> Result<Vec<u8>, Error> {
    if amount == 0 {
        return Err(Error::Input("a payment is at least 0.01".into()));
    }
    if !merchant_ok(merchant.as_bytes()) {
        return Err(Error::Input(
            "a merchant id is 1 to 32 printable characters without spaces".into(),
        ));
    }
    let req = PayRequest {
        amount,
        merchant: merchant.as_bytes(),
    };
    let mut buf = [0u8; apdu::cmd::pay::REQUEST_MAX_LEN];
    let mut w = Writer::new(&mut buf);
    req.write(&mut w)
        .map_err(|_| Error::Input("the payment request does not encode".into()))?;
    let request = w.written().to_vec();
    meter.exclusive(|m| {
        let certificate = m.read_certificate(METER_CERTIFICATE_SLOT)?;
        let (line, _) = m.read_credit_line()?.ok_or(Error::Card {
            sw: apdu::StatusWord::NO_CREDIT_LINE,
        })?;
        let payment = m.pay(&request)?;
        Ok([payment, line, certificate].concat())
    })
}

/// Why a payment file was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PaymentError {
    /// Not a payment file.
    #[error("not a payment file: {0}")]
    Format(apdu::cmd::FormatError),
    /// The authority key is not a P-256 point.
    #[error("the authority key is not an uncompressed P-256 point")]
    AuthorityKey,
    /// The chain does not hold.
    #[error("invalid payment: {}", .0.reason())]
    Invalid(apdu::cmd::pay::PaymentInvalid),
    /// The payment is valid but to another merchant.
    #[error("invalid payment: it pays merchant {0}, not this one")]
    OtherMerchant(String),
}

/// The merchant's check (Figure 9): the chain authority -> creditor -> 7A
/// -> 7B -> meter with the authority key alone; `merchant`, if given, must
/// be the one paid. Writes and opens nothing.
pub fn verify(
    file: &[u8],
    authority_key: &[u8],
    merchant: Option<&str>,
) -> Result<PaymentInfo, PaymentError> {
    let f = PaymentFile::parse(file).map_err(PaymentError::Format)?;
    let key = apdu::crypto::public_key(authority_key).ok_or(PaymentError::AuthorityKey)?;
    check_payment(&f, &key).map_err(PaymentError::Invalid)?;
    let info = PaymentInfo::of(&f);
    if let Some(m) = merchant
        && m != info.merchant
    {
        return Err(PaymentError::OtherMerchant(info.merchant));
    }
    Ok(info)
}
