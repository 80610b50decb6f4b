//! POSTAGE (proprietary): `80 34 00 00 Lc request 00`, a postage indicium
//! (the patent's digital token, "imprinted on a mail piece as a proof of
//! postage payment"). In one transaction the card checks the date, the
//! indicium fee and the postage funds, debits the postage from the postage
//! register (Figure 2, 244), counts a postage piece (242), charges the
//! indicium fee to the certificate register (250) and signs the indicium
//! with the meter key; the indicium leaves the card only after the commit.
//!
//! ```text
//! request: these objects, in this order, nothing else (one encoding)
//!   94   postage              minor units, u64, > 0
//!   98   origin               ZIP / postcode, 1..=10 of A-Z 0-9 space -
//!   99   destination          ZIP / postcode, same alphabet
//!   9A   class                mail class, 1..=12 of A-Z 0-9 -
//!   91   date (optional)      the mailing day, Unix seconds of 00:00 UTC,
//!                             u64; without it, the day of the card's clock
//!
//! answer
//! 7F66 indicium
//!   7F4E body (signed)
//!     80   object type        7F66: the type is signed, no other body passes for it
//!     5F20 device id          the meter serial
//!     93   certificate        serial of the meter certificate, u64
//!     97   piece count        postage pieces after this one, u32
//!     94   postage            minor units, u64
//!     95   ascending          postage register after the debit, u64
//!     96   descending         postage register after the debit, u64
//!     91   date               the mailing day, Unix seconds of 00:00 UTC, u64
//!     98   origin
//!     99   destination
//!     9A   class
//!   5F37 signature            meter key, ECDSA P-256 over the encoded 7F4E
//! ```
//!
//! The date: the card's secure clock gives today; a mailing day before it
//! (back-dating) or more than [`MAX_DAYS_AHEAD`] days after it is refused
//! with `940C`. A postal operator detects a copied indicium by its device
//! and ascending register: each indicium of a meter has its own.

use super::{FormatError, Request, personalize};
use crate::cert;
use crate::command::Command;
use crate::signed::{self, SIGNATURE_LEN, Signed};
use crate::status::StatusWord;
use crate::tlv::{self, Tag, TlvError, Writer};

/// POSTAGE.
pub const INS: u8 = 0x34;
/// The indicium object.
pub const INDICIUM: Tag = 0x7F66;
/// Object type, the first signed field.
pub const OBJECT_TYPE: Tag = personalize::OBJECT_TYPE;
/// The value of [`OBJECT_TYPE`] in an indicium.
pub const INDICIUM_TYPE: [u8; 2] = personalize::object_type(INDICIUM);
/// Device id: the meter serial.
pub const DEVICE: Tag = cert::HOLDER;
/// Serial of the meter certificate.
pub const CERTIFICATE_SERIAL: Tag = 0x93;
/// Postage pieces after this one.
pub const PIECES: Tag = 0x97;
/// Postage, minor units.
pub const POSTAGE: Tag = 0x94;
/// Postage register, ascending, after the debit.
pub const ASCENDING: Tag = 0x95;
/// Postage register, descending, after the debit.
pub const DESCENDING: Tag = 0x96;
/// The mailing day.
pub const DATE: Tag = 0x91;
/// Origin ZIP.
pub const ORIGIN: Tag = 0x98;
/// Destination ZIP.
pub const DESTINATION: Tag = 0x99;
/// Mail class.
pub const CLASS: Tag = 0x9A;

/// Longest ZIP or postcode.
pub const ZIP_MAX_LEN: usize = 10;
/// Longest mail class.
pub const CLASS_MAX_LEN: usize = 12;
/// Seconds in a day.
pub const DAY: u64 = 86_400;
/// How many days after the card's clock a mailing date may be.
pub const MAX_DAYS_AHEAD: u64 = 30;
/// Longest request.
pub const REQUEST_MAX_LEN: usize = 10 + 2 * (2 + ZIP_MAX_LEN) + (2 + CLASS_MAX_LEN) + 10;

/// Whether `z` is a well-formed ZIP or postcode.
pub fn zip_ok(z: &[u8]) -> bool {
    (1..=ZIP_MAX_LEN).contains(&z.len())
        && z.iter()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || matches!(b, b' ' | b'-'))
}

/// Whether `c` is a well-formed mail class.
pub fn class_ok(c: &[u8]) -> bool {
    (1..=CLASS_MAX_LEN).contains(&c.len())
        && c.iter()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b'-')
}

/// The request of POSTAGE, validated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PostageRequest<'a> {
    /// Postage, minor units, not zero.
    pub postage: u64,
    /// Origin ZIP.
    pub origin: &'a [u8],
    /// Destination ZIP.
    pub destination: &'a [u8],
    /// Mail class.
    pub class: &'a [u8],
    /// The mailing day (00:00 UTC), or the card's today.
    pub date: Option<u64>,
}

impl<'a> PostageRequest<'a> {
    /// Parses and validates the request's data.
    pub fn parse(data: &'a [u8]) -> Result<Self, FormatError> {
        tlv::validate(data).map_err(|_| FormatError::Malformed)?;
        let postage = super::uint(data, POSTAGE, u64::MAX)?;
        let origin = super::field(data, ORIGIN)?;
        let destination = super::field(data, DESTINATION)?;
        let class = super::field(data, CLASS)?;
        let date = match tlv::find(data, DATE) {
            None => None,
            Some(d) => Some(
                <[u8; 8]>::try_from(d)
                    .map(u64::from_be_bytes)
                    .map_err(|_| FormatError::MissingField(DATE))?,
            ),
        };
        if postage == 0 {
            return Err(FormatError::MissingField(POSTAGE));
        }
        if !zip_ok(origin) {
            return Err(FormatError::MissingField(ORIGIN));
        }
        if !zip_ok(destination) {
            return Err(FormatError::MissingField(DESTINATION));
        }
        if !class_ok(class) {
            return Err(FormatError::MissingField(CLASS));
        }
        if date.is_some_and(|d| d % DAY != 0) {
            return Err(FormatError::MissingField(DATE));
        }
        let req = PostageRequest {
            postage,
            origin,
            destination,
            class,
            date,
        };
        // These objects, in this order, nothing else: one encoding.
        let mut buf = [0u8; REQUEST_MAX_LEN];
        let mut w = Writer::new(&mut buf);
        req.write(&mut w).map_err(|_| FormatError::Malformed)?;
        if w.written() != data {
            return Err(FormatError::Malformed);
        }
        Ok(req)
    }

    /// Writes the request's data.
    pub fn write(&self, w: &mut Writer<'_>) -> Result<(), TlvError> {
        w.put_u64(POSTAGE, self.postage)?;
        w.put(ORIGIN, self.origin)?;
        w.put(DESTINATION, self.destination)?;
        w.put(CLASS, self.class)?;
        if let Some(d) = self.date {
            w.put_u64(DATE, d)?;
        }
        Ok(())
    }
}

/// The mailing day the card accepts for `requested` when its clock says
/// `now`: the day of `now` without a request; `None` (`940C`) for a day
/// before it or more than [`MAX_DAYS_AHEAD`] days after it.
pub fn mailing_day(now: u64, requested: Option<u64>) -> Option<u64> {
    let today = now - now % DAY;
    let day = requested.unwrap_or(today);
    let last = today.checked_add(MAX_DAYS_AHEAD * DAY)?;
    (today..=last).contains(&day).then_some(day)
}

pub(crate) fn parse<'a>(cmd: &Command<'a>) -> Result<Request<'a>, StatusWord> {
    super::p1p2_zero(cmd)?;
    super::some_data(cmd.data)?;
    if cmd.data.len() > REQUEST_MAX_LEN {
        return Err(StatusWord::WRONG_LENGTH);
    }
    // The fields' meaning (6A80) in the flow, before anything is touched.
    Ok(Request::Postage { request: cmd.data })
}

/// The POSTAGE command.
pub fn command(request: &[u8]) -> Command<'_> {
    super::prop(INS, 0, request, Some(256))
}

/// The signed fields of an indicium.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IndiciumBody<'a> {
    /// Device id: the meter serial.
    pub device: &'a [u8],
    /// Serial of the meter certificate.
    pub certificate_serial: u64,
    /// Postage pieces, this one included.
    pub pieces: u32,
    /// Postage, minor units.
    pub postage: u64,
    /// Postage register after the debit.
    pub ascending: u64,
    /// Postage register after the debit.
    pub descending: u64,
    /// The mailing day, Unix seconds of 00:00 UTC.
    pub date: u64,
    /// Origin ZIP.
    pub origin: &'a [u8],
    /// Destination ZIP.
    pub destination: &'a [u8],
    /// Mail class.
    pub class: &'a [u8],
}

impl IndiciumBody<'_> {
    /// Writes the body's fields (the content of `7F4E`), in the card's order.
    pub fn write_fields(&self, w: &mut Writer<'_>) -> Result<(), TlvError> {
        w.put(OBJECT_TYPE, &INDICIUM_TYPE)?;
        w.put(DEVICE, self.device)?;
        w.put_u64(CERTIFICATE_SERIAL, self.certificate_serial)?;
        w.put_u32(PIECES, self.pieces)?;
        w.put_u64(POSTAGE, self.postage)?;
        w.put_u64(ASCENDING, self.ascending)?;
        w.put_u64(DESCENDING, self.descending)?;
        w.put_u64(DATE, self.date)?;
        w.put(ORIGIN, self.origin)?;
        w.put(DESTINATION, self.destination)?;
        w.put(CLASS, self.class)
    }

    /// Writes the whole indicium, `sign` signing the encoded body.
    pub fn write(
        &self,
        w: &mut Writer<'_>,
        sign: impl FnOnce(&[u8]) -> [u8; SIGNATURE_LEN],
    ) -> Result<(), TlvError> {
        signed::write(w, INDICIUM, |w| self.write_fields(w), sign)
    }
}

/// A parsed indicium.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Indicium<'a> {
    /// The signed object.
    pub signed: Signed<'a>,
    /// The signed fields.
    pub body: IndiciumBody<'a>,
}

impl<'a> Indicium<'a> {
    /// Parses exactly one indicium: outer tag and signed object type
    /// 7F66, every field present and well formed, in the card's order,
    /// nothing else.
    pub fn parse(input: &'a [u8]) -> Result<Self, FormatError> {
        let signed = Signed::parse(input, INDICIUM)?;
        personalize::check_type(&signed)?;
        let text = |tag: Tag, ok: fn(&[u8]) -> bool| {
            signed
                .field(tag)
                .ok()
                .filter(|v| ok(v))
                .ok_or(FormatError::MissingField(tag))
        };
        let body = IndiciumBody {
            device: text(DEVICE, |d| {
                !d.is_empty() && d.len() <= super::personalize::SERIAL_MAX_LEN
            })?,
            certificate_serial: signed.uint::<8>(CERTIFICATE_SERIAL)?,
            pieces: signed.uint::<4>(PIECES)? as u32,
            postage: signed.uint::<8>(POSTAGE)?,
            ascending: signed.uint::<8>(ASCENDING)?,
            descending: signed.uint::<8>(DESCENDING)?,
            date: signed.uint::<8>(DATE)?,
            origin: text(ORIGIN, zip_ok)?,
            destination: text(DESTINATION, zip_ok)?,
            class: text(CLASS, class_ok)?,
        };
        // One encoding: the fields exactly as the card writes them.
        let mut buf = [0u8; 160];
        let mut w = Writer::new(&mut buf);
        body.write_fields(&mut w)
            .map_err(|_| FormatError::Malformed)?;
        if w.written() != signed.fields {
            return Err(FormatError::Malformed);
        }
        Ok(Indicium { signed, body })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signed::testing::fake_sign;
    use proptest::prelude::*;

    fn zip() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(
            proptest::sample::select(b"0123456789ABCXYZ -".to_vec()),
            1..=ZIP_MAX_LEN,
        )
    }

    proptest! {
        #[test]
        fn request_round_trip(
            postage in 1..u64::MAX,
            origin in zip(),
            destination in zip(),
            class in proptest::collection::vec(proptest::sample::select(b"FIRST-CLA9".to_vec()), 1..=CLASS_MAX_LEN),
            date in proptest::option::of(0..u32::MAX as u64),
        ) {
            let req = PostageRequest { postage, origin: &origin, destination: &destination, class: &class, date: date.map(|d| d * DAY) };
            let mut buf = [0u8; REQUEST_MAX_LEN];
            let mut w = Writer::new(&mut buf);
            req.write(&mut w).unwrap();
            prop_assert_eq!(PostageRequest::parse(w.written()), Ok(req));
        }

        #[test]
        fn indicium_round_trip(
            device in proptest::collection::vec(b'A'..=b'Z', 1..=16),
            (certificate_serial, postage, ascending, descending, date) in (any::<u64>(), any::<u64>(), any::<u64>(), any::<u64>(), any::<u64>()),
            pieces in any::<u32>(),
            origin in zip(),
            destination in zip(),
        ) {
            let body = IndiciumBody { device: &device, certificate_serial, pieces, postage, ascending, descending, date, origin: &origin, destination: &destination, class: b"FIRST-CLASS" };
            let mut buf = [0u8; 300];
            let mut w = Writer::new(&mut buf);
            body.write(&mut w, fake_sign).unwrap();
            let i = Indicium::parse(w.written()).unwrap();
            prop_assert_eq!(i.body, body);
        }

        #[test]
        fn parsers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = Indicium::parse(&bytes);
            let _ = PostageRequest::parse(&bytes);
        }
    }

    #[test]
    fn requests_refused() {
        let ok = PostageRequest {
            postage: 55,
            origin: b"10001",
            destination: b"94105-1234",
            class: b"FIRST-CLASS",
            date: None,
        };
        let enc = |r: PostageRequest<'_>| {
            let mut buf = [0u8; REQUEST_MAX_LEN];
            let mut w = Writer::new(&mut buf);
            r.write(&mut w).unwrap();
            w.written().to_vec()
        };
        assert!(PostageRequest::parse(&enc(ok)).is_ok());
        for bad in [
            PostageRequest { postage: 0, ..ok },
            PostageRequest { origin: b"", ..ok },
            PostageRequest {
                destination: b"ab",
                ..ok
            },
            PostageRequest {
                class: b"first",
                ..ok
            },
            PostageRequest {
                date: Some(DAY + 1),
                ..ok
            },
        ] {
            assert!(PostageRequest::parse(&enc(bad)).is_err(), "{bad:?}");
        }
        // Another order is another encoding: refused.
        let mut swapped = enc(ok);
        swapped.rotate_left(10);
        assert!(PostageRequest::parse(&swapped).is_err());
    }

    #[test]
    fn mailing_days() {
        let now = 20_000 * DAY + 3600;
        assert_eq!(mailing_day(now, None), Some(20_000 * DAY));
        assert_eq!(mailing_day(now, Some(20_000 * DAY)), Some(20_000 * DAY));
        assert_eq!(mailing_day(now, Some(19_999 * DAY)), None);
        assert_eq!(mailing_day(now, Some(20_030 * DAY)), Some(20_030 * DAY));
        assert_eq!(mailing_day(now, Some(20_031 * DAY)), None);
    }

    #[test]
    fn the_type_is_signed() {
        let body = IndiciumBody {
            device: b"PB-1",
            certificate_serial: 1,
            pieces: 1,
            postage: 55,
            ascending: 55,
            descending: 945,
            date: 0,
            origin: b"1",
            destination: b"2",
            class: b"C",
        };
        // Another object's body under 7F66, and 7F66's body under another tag.
        let mut buf = [0u8; 300];
        let mut w = Writer::new(&mut buf);
        signed::write(
            &mut w,
            INDICIUM,
            |w| {
                w.put(OBJECT_TYPE, &[0x7F, 0x60])?;
                w.raw(&[])
            },
            fake_sign,
        )
        .unwrap();
        assert!(Indicium::parse(w.written()).is_err());
        let mut buf = [0u8; 300];
        let mut w = Writer::new(&mut buf);
        signed::write(&mut w, 0x7F67, |w| body.write_fields(w), fake_sign).unwrap();
        assert_eq!(Indicium::parse(w.written()), Err(FormatError::WrongType));
    }
}
