//! Figure 8, host side: a line of credit. The PC assembles the credit
//! request (7F6A: meter serial, chip id, meter key, the card's next line
//! number, the amount), has the card postmark it (802: HASH and POSTMARK
//! over the request's bytes, the meter certificate appended), and sends
//! the file to the creditor, which decides (804/806) and answers the
//! line-of-credit certificate of Figure 7A with its own certificate (808).
//! STORE CREDIT LINE gives both to the card, which verifies and stores
//! them (810) and sets the credit remaining to the full line (812).

use apdu::cmd::credit_line::{CreditRequest, CreditState, LineFile};
use apdu::tlv::Writer;
use authority_api::AuthorityService;
use serde::Serialize;

use crate::error::Error;
use crate::meter::Meter;
use crate::transport::Transport;

/// A line of credit as the card holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CreditLine {
    /// The line's number on the card (1 for the first).
    pub number: u32,
    /// The line, minor units (712).
    pub line: u64,
    /// Credit remaining, minor units.
    pub remaining: u64,
    /// Payments made on this card (all lines).
    pub payments: u32,
    /// The creditor (710).
    pub creditor: String,
    /// The 7A's serial (706).
    pub certificate_serial: u64,
    /// Valid from, Unix seconds.
    pub effective: u64,
    /// Valid until, Unix seconds.
    pub expiry: u64,
    /// The creditor certificate and the 7A, as stored.
    #[serde(skip)]
    pub file: Vec<u8>,
}

impl CreditLine {
    fn of(file: Vec<u8>, st: CreditState) -> Result<Self, Error> {
        let f = LineFile::parse(&file)
            .map_err(|_| Error::Malformed("the card's line of credit".into()))?;
        Ok(CreditLine {
            number: st.number,
            line: st.line,
            remaining: st.remaining,
            payments: st.payments,
            creditor: String::from_utf8_lossy(f.line.cert.issuer).into_owned(),
            certificate_serial: f.line.cert.serial,
            effective: f.line.cert.effective,
            expiry: f.line.cert.expiry,
            file: file.clone(),
        })
    }
}

/// The line of credit on the card, if any (READ CREDIT LINE).
pub fn show<T: Transport>(meter: &mut Meter<T>) -> Result<Option<CreditLine>, Error> {
    match meter.read_credit_line()? {
        Some((file, st)) => Ok(Some(CreditLine::of(file, st)?)),
        None => Ok(None),
    }
}

/// Figure 8 with `creditor` (any [`AuthorityService`]): asks for a line of
/// `amount` minor units (the card charges its postmark fee for 802), and
/// stores the line the creditor issues. The PIN must be verified.
pub fn request<T: Transport, A: AuthorityService + ?Sized>(
    meter: &mut Meter<T>,
    creditor: &mut A,
    amount: u64,
) -> Result<CreditLine, Error> {
    if amount == 0 {
        return Err(Error::Input("a line of credit is at least 0.01".into()));
    }
    meter.exclusive(|m| {
        let status = m.status()?;
        let (serial, chip_id) = status.identity()?;
        let public: [u8; 65] = m
            .meter_public_key()?
            .try_into()
            .map_err(|_| Error::Malformed("the meter public key".into()))?;
        let number = match m.read_credit_line()? {
            Some((_, st)) => st.number,
            None => 0,
        }
        .checked_add(1)
        .ok_or_else(|| Error::Input("the card's line counter is exhausted".into()))?;
        let req = CreditRequest {
            serial: serial.as_bytes(),
            chip_id: &chip_id,
            public_key: &public,
            number,
            amount,
        };
        let mut buf = vec![0u8; 512];
        let mut w = Writer::new(&mut buf);
        req.write(&mut w)
            .map_err(|_| Error::Input("the credit request does not encode".into()))?;
        let mut file = w.written().to_vec();
        // 802: the card's postmark over the request.
        let postmark = crate::postmark::postmark(m, &mut file.as_slice())?;
        file.extend(postmark);
        // 804-808: the creditor decides and issues.
        let line_file = creditor.credit_line(&file)?;
        // 810/812: the card verifies and stores it.
        m.store_credit_line(&line_file)?;
        show(m)?.ok_or_else(|| Error::Malformed("the card shows no line after storing it".into()))
    })
}
