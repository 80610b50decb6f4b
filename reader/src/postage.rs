//! Postage indicia on the PC side: the order (postage, origin, destination,
//! class, mailing day) checked before the card is touched, POSTAGE (the
//! card debits and signs in one transaction), and the check of an
//! indicium against the meter certificate and the authority's key, which
//! anyone holding both can run. Printing: [`crate::postage_print`].

use apdu::cmd::postage::{
    CLASS_MAX_LEN, DAY, Indicium, PostageRequest, REQUEST_MAX_LEN, ZIP_MAX_LEN, class_ok, zip_ok,
};
use apdu::crypto::{self, IndiciumInvalid};
use apdu::tlv::Writer;

use crate::error::Error;
use crate::meter::Meter;
use crate::transport::Transport;

/// The largest indicium file read: an indicium is about 190 bytes.
pub const MAX_INDICIUM_FILE: usize = 1024;

/// What the user asks to print.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PostageOrder {
    /// Postage, minor units.
    pub postage: u64,
    /// Origin ZIP or postcode.
    pub origin: String,
    /// Destination ZIP or postcode.
    pub destination: String,
    /// Mail class.
    pub class: String,
    /// The mailing day (Unix seconds of 00:00 UTC); `None`: the card's today.
    pub date: Option<u64>,
}

/// The default mail class.
pub const DEFAULT_CLASS: &str = "FIRST-CLASS";

impl PostageOrder {
    /// The request's data, or a one-line reason it cannot be sent.
    /// Postcodes and the class are taken in upper case.
    pub fn request(&self) -> Result<Vec<u8>, Error> {
        let origin = self.origin.to_ascii_uppercase();
        let destination = self.destination.to_ascii_uppercase();
        let class = self.class.to_ascii_uppercase();
        if self.postage == 0 {
            return Err(Error::Input("the postage must be more than 0".into()));
        }
        for (what, z) in [("--from", &origin), ("--to", &destination)] {
            if !zip_ok(z.as_bytes()) {
                return Err(Error::Input(format!(
                    "{what} {z:?}: a ZIP or postcode is 1 to {ZIP_MAX_LEN} letters, digits, spaces or hyphens"
                )));
            }
        }
        if !class_ok(class.as_bytes()) {
            return Err(Error::Input(format!(
                "--class {class:?}: a mail class is 1 to {CLASS_MAX_LEN} letters, digits or hyphens"
            )));
        }
        let req = PostageRequest {
            postage: self.postage,
            origin: origin.as_bytes(),
            destination: destination.as_bytes(),
            class: class.as_bytes(),
            date: self.date,
        };
        let mut buf = [0u8; REQUEST_MAX_LEN];
        let mut w = Writer::new(&mut buf);
        req.write(&mut w)
            .map_err(|_| Error::Input("the postage request is too long".into()))?;
        Ok(w.written().to_vec())
    }
}

/// POSTAGE on the card behind `meter` (PIN verified): the indicium bytes,
/// paid for. The order is checked before the card is touched.
pub fn postage<T: Transport>(meter: &mut Meter<T>, order: &PostageOrder) -> Result<Vec<u8>, Error> {
    let request = order.request()?;
    let indicium = meter.postage(&request)?;
    Indicium::parse(&indicium).map_err(|e| Error::Malformed(format!("indicium: {e}")))?;
    Ok(indicium)
}

/// What an indicium says.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct IndiciumInfo {
    /// Device id: the meter serial.
    pub device: String,
    /// Serial of the meter certificate.
    pub certificate_serial: u64,
    /// Postage pieces of this meter, this one included.
    pub pieces: u32,
    /// Postage, minor units.
    pub postage: u64,
    /// Postage register after the debit: ascending.
    pub ascending: u64,
    /// Postage register after the debit: descending.
    pub descending: u64,
    /// The mailing day, Unix seconds of 00:00 UTC.
    pub date: u64,
    /// Origin ZIP.
    pub origin: String,
    /// Destination ZIP.
    pub destination: String,
    /// Mail class.
    pub class: String,
}

impl IndiciumInfo {
    /// What indicium bytes say, without verifying them.
    pub fn parse(bytes: &[u8]) -> Result<Self, Error> {
        Indicium::parse(bytes)
            .map(|i| Self::of(&i))
            .map_err(|e| Error::Malformed(format!("not an indicium: {e}")))
    }

    fn of(i: &Indicium<'_>) -> Self {
        let b = &i.body;
        let text = |v: &[u8]| String::from_utf8_lossy(v).into_owned();
        IndiciumInfo {
            device: text(b.device),
            certificate_serial: b.certificate_serial,
            pieces: b.pieces,
            postage: b.postage,
            ascending: b.ascending,
            descending: b.descending,
            date: b.date,
            origin: text(b.origin),
            destination: text(b.destination),
            class: text(b.class),
        }
    }
}

/// Why an indicium is refused.
#[derive(Debug, thiserror::Error)]
pub enum IndiciumError {
    /// Not an indicium (or not a certificate).
    #[error("{0}")]
    Malformed(String),
    /// Well formed, but it does not verify.
    #[error("invalid: {}", .0.reason())]
    Invalid(IndiciumInvalid),
}

/// Checks `indicium` against the meter `certificate` (a `7F21`) and the
/// authority's public key; what it says when it verifies.
pub fn verify(
    indicium: &[u8],
    certificate: &[u8],
    authority: &[u8; 65],
) -> Result<IndiciumInfo, IndiciumError> {
    let i = Indicium::parse(indicium)
        .map_err(|e| IndiciumError::Malformed(format!("not an indicium: {e}")))?;
    let cert = apdu::cert::Certificate::parse(certificate)
        .map_err(|e| IndiciumError::Malformed(format!("not a certificate: {e}")))?;
    let key = crypto::public_key(authority)
        .ok_or_else(|| IndiciumError::Malformed("not a P-256 public key".into()))?;
    crypto::check_indicium(&i, &cert, &key).map_err(IndiciumError::Invalid)?;
    Ok(IndiciumInfo::of(&i))
}

/// `YYYY-MM-DD` of a Unix time (UTC).
pub fn date_text(unix: u64) -> String {
    let days = (unix / DAY) as i64;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Unix seconds of 00:00 UTC of `YYYY-MM-DD` (years 1970 to 9999).
pub fn parse_date(s: &str) -> Option<u64> {
    let mut parts = s.splitn(3, '-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let (y, m, d): (i64, i64, i64) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    if !(1970..=9999).contains(&y) || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    // Howard Hinnant's days_from_civil.
    let yy = if m <= 2 { y - 1 } else { y };
    let era = yy.div_euclid(400);
    let yoe = yy - era * 400;
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let unix = u64::try_from(days).ok()? * DAY;
    // 2026-02-30 is not a day.
    (date_text(unix) == s).then_some(unix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(date_text(0), "1970-01-01");
        assert_eq!(date_text(1_700_000_000), "2023-11-14");
        assert_eq!(parse_date("2023-11-14"), Some(1_699_920_000));
        assert_eq!(
            parse_date("2024-02-29").map(date_text).as_deref(),
            Some("2024-02-29")
        );
        for bad in [
            "2023-02-29",
            "2023-13-01",
            "23-11-14",
            "2023-1-14",
            "x",
            "1969-12-31",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
        for d in (0..2_900_000u64).step_by(997) {
            assert_eq!(parse_date(&date_text(d * DAY)), Some(d * DAY));
        }
    }

    #[test]
    fn orders_are_checked_before_the_card() {
        let ok = PostageOrder {
            postage: 55,
            origin: "10001".into(),
            destination: "sw1a 1aa".into(),
            class: "first-class".into(),
            date: None,
        };
        assert!(ok.request().is_ok());
        for bad in [
            PostageOrder {
                postage: 0,
                ..ok.clone()
            },
            PostageOrder {
                origin: "10001!".into(),
                ..ok.clone()
            },
            PostageOrder {
                destination: "12345678901".into(),
                ..ok.clone()
            },
            PostageOrder {
                class: String::new(),
                ..ok.clone()
            },
        ] {
            assert!(matches!(bad.request(), Err(Error::Input(_))), "{bad:?}");
        }
    }
}
