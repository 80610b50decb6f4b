//! Signed objects: every certificate, postmark and authority message has
//! one shape, `OUTER { 7F4E body, 5F37 signature }`, and the signature is
//! ECDSA P-256 / SHA-256 over the encoded body object (tag, length and
//! value, exactly as received), as in ISO 7816-8 card-verifiable
//! certificates. docs/formats.md shows examples.

use crate::tlv::{self, Tag, Tlv, TlvError, Writer};

/// The body of every signed object.
pub const BODY: Tag = 0x7F4E;
/// The signature of every signed object: `r || s`, 32 bytes each.
pub const SIGNATURE: Tag = 0x5F37;
/// Bytes of a P-256 signature `r || s`.
pub const SIGNATURE_LEN: usize = 64;

/// Why bytes are not the signed object expected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FormatError {
    /// Not well-formed BER-TLV, or trailing bytes.
    Malformed,
    /// A different object (outer tag) than expected.
    WrongType,
    /// A mandatory field is missing or has the wrong length.
    MissingField(Tag),
}

impl core::fmt::Display for FormatError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            FormatError::Malformed => f.write_str("not well-formed TLV"),
            FormatError::WrongType => f.write_str("not the expected kind of object"),
            FormatError::MissingField(t) => write!(f, "field {t:X} missing or of the wrong length"),
        }
    }
}

/// A parsed signed object, borrowing its bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Signed<'a> {
    /// The outer tag: which kind of object.
    pub kind: Tag,
    /// The encoded body object (what the signature covers).
    pub signed_bytes: &'a [u8],
    /// The body's content: the fields.
    pub fields: &'a [u8],
    /// `r || s`.
    pub signature: &'a [u8; SIGNATURE_LEN],
    /// The whole object as received.
    pub raw: &'a [u8],
}

impl<'a> Signed<'a> {
    /// Reads one signed object of kind `kind` from the front of `input`;
    /// returns it and the rest of the input.
    pub fn read(input: &'a [u8], kind: Tag) -> Result<(Self, &'a [u8]), FormatError> {
        let (outer, rest) = tlv::read(input).map_err(|_| FormatError::Malformed)?;
        if outer.tag != kind {
            return Err(FormatError::WrongType);
        }
        let raw = input
            .get(..input.len() - rest.len())
            .ok_or(FormatError::Malformed)?;
        let (body, after_body) = tlv::read(outer.value).map_err(|_| FormatError::Malformed)?;
        if body.tag != BODY {
            return Err(FormatError::MissingField(BODY));
        }
        let signed_bytes = outer
            .value
            .get(..outer.value.len() - after_body.len())
            .ok_or(FormatError::Malformed)?;
        let (sig, tail) = tlv::read(after_body).map_err(|_| FormatError::Malformed)?;
        if sig.tag != SIGNATURE || !tail.is_empty() {
            return Err(FormatError::MissingField(SIGNATURE));
        }
        let signature = sig
            .value
            .try_into()
            .map_err(|_| FormatError::MissingField(SIGNATURE))?;
        tlv::validate(body.value).map_err(|_| FormatError::Malformed)?;
        Ok((
            Signed {
                kind,
                signed_bytes,
                fields: body.value,
                signature,
                raw,
            },
            rest,
        ))
    }

    /// Parses exactly one signed object of kind `kind`.
    pub fn parse(input: &'a [u8], kind: Tag) -> Result<Self, FormatError> {
        match Self::read(input, kind)? {
            (s, []) => Ok(s),
            _ => Err(FormatError::Malformed),
        }
    }

    /// A field's value.
    pub fn get(&self, tag: Tag) -> Option<&'a [u8]> {
        tlv::find(self.fields, tag)
    }

    /// A mandatory field.
    pub fn field(&self, tag: Tag) -> Result<&'a [u8], FormatError> {
        self.get(tag).ok_or(FormatError::MissingField(tag))
    }

    /// A mandatory field of exactly `N` bytes.
    pub fn array<const N: usize>(&self, tag: Tag) -> Result<&'a [u8; N], FormatError> {
        self.field(tag)?
            .try_into()
            .map_err(|_| FormatError::MissingField(tag))
    }

    /// A mandatory big-endian integer field of exactly `N` bytes (N <= 8).
    pub fn uint<const N: usize>(&self, tag: Tag) -> Result<u64, FormatError> {
        self.array::<N>(tag)
            .ok()
            .and_then(|b| tlv::as_u64(b))
            .ok_or(FormatError::MissingField(tag))
    }

    /// A mandatory constructed field's single primitive child `inner`.
    pub fn nested(&self, outer: Tag, inner: Tag) -> Result<&'a [u8], FormatError> {
        tlv::find(self.field(outer)?, inner).ok_or(FormatError::MissingField(inner))
    }

    /// Every field, in order.
    pub fn iter(&self) -> impl Iterator<Item = Tlv<'a>> {
        tlv::iter(self.fields).map_while(Result::ok)
    }
}

/// Writes `kind { 7F4E { fields } 5F37 signature }` into `w`: `fields`
/// writes the body's content, then `sign` is given the encoded body object
/// (tag, length and value: what the signature covers) and returns `r || s`.
/// Heap-free; [`crate::crypto::write_signed`] (feature `crypto`) signs with
/// a P-256 key.
pub fn write(
    w: &mut Writer<'_>,
    kind: Tag,
    fields: impl FnOnce(&mut Writer<'_>) -> Result<(), TlvError>,
    sign: impl FnOnce(&[u8]) -> [u8; SIGNATURE_LEN],
) -> Result<(), TlvError> {
    w.nested(kind, |w| {
        let start = w.len();
        w.nested(BODY, fields)?;
        let body = w.written().get(start..).ok_or(TlvError::Overflow)?;
        let signature = sign(body);
        w.put(SIGNATURE, &signature)
    })
}

#[cfg(test)]
pub(crate) mod testing {
    //! Helpers for the round-trip tests of the signed objects.
    use super::*;

    /// A stand-in signature: the body's length and first bytes, so that
    /// tests see the signature cover the body without a key.
    pub fn fake_sign(body: &[u8]) -> [u8; SIGNATURE_LEN] {
        let mut s = [0xA5; SIGNATURE_LEN];
        s[0] = body.len() as u8;
        for (d, b) in s[1..].iter_mut().zip(body) {
            *d = *b;
        }
        s
    }

    /// Writes a signed object into a fresh buffer.
    pub fn encode(
        kind: Tag,
        fields: impl FnOnce(&mut Writer<'_>) -> Result<(), TlvError>,
    ) -> Vec<u8> {
        let mut buf = vec![0u8; 70_000];
        let mut w = Writer::new(&mut buf);
        write(&mut w, kind, fields, fake_sign).unwrap();
        w.written().to_vec()
    }
}
