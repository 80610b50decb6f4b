//! Heap-free BER-TLV (ISO 7816-4 §5.2 / ISO 8825-1) for card and host: tags
//! of up to three bytes, definite lengths of up to 65535 bytes, minimal
//! (DER) lengths only, on input and output.

use nom::{IResult, Parser, bytes::complete::take, number::complete::be_u8};

/// A tag, its bytes read big-endian (`0x7F21`, `0x5F20`, `0x80`).
pub type Tag = u32;

/// One data object borrowing its value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tlv<'a> {
    /// The tag.
    pub tag: Tag,
    /// The value bytes.
    pub value: &'a [u8],
}

impl Tlv<'_> {
    /// Whether the tag marks a constructed object (bit 6 of its first byte).
    pub fn is_constructed(&self) -> bool {
        first_byte(self.tag) & 0x20 != 0
    }
}

/// The input is not well-formed BER-TLV, or output does not fit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlvError {
    /// Malformed tag or length, or a value running past the input.
    Malformed,
    /// The output buffer is full.
    Overflow,
}

fn first_byte(tag: Tag) -> u8 {
    let b = tag.to_be_bytes();
    match b {
        [0, 0, 0, x] => x,
        [0, 0, x, _] => x,
        [0, x, _, _] => x,
        [x, _, _, _] => x,
    }
}

fn tag(input: &[u8]) -> IResult<&[u8], Tag> {
    let (mut input, first) = be_u8(input)?;
    let mut tag = Tag::from(first);
    if first & 0x1F == 0x1F {
        for i in 0..2 {
            let (rest, b) = be_u8(input)?;
            input = rest;
            tag = (tag << 8) | Tag::from(b);
            if b & 0x80 == 0 {
                return Ok((input, tag));
            }
            if i == 1 {
                break;
            }
        }
        return Err(nom::Err::Error(nom::error::Error::new(
            input,
            nom::error::ErrorKind::TooLarge,
        )));
    }
    Ok((input, tag))
}

fn length(input: &[u8]) -> IResult<&[u8], usize> {
    let (input, first) = be_u8(input)?;
    match first {
        0x00..=0x7F => Ok((input, usize::from(first))),
        // Only minimal (DER) lengths: one encoding per object, so a signed
        // file cannot be re-encoded into other bytes that still verify.
        0x81 => {
            nom::combinator::verify(be_u8.map(usize::from), |&n: &usize| n >= 0x80).parse(input)
        }
        0x82 => nom::combinator::verify(
            nom::number::complete::be_u16.map(usize::from),
            |&n: &usize| n >= 0x100,
        )
        .parse(input),
        _ => Err(nom::Err::Error(nom::error::Error::new(
            input,
            nom::error::ErrorKind::LengthValue,
        ))),
    }
}

fn tlv(input: &[u8]) -> IResult<&[u8], Tlv<'_>> {
    let (input, tag) = tag(input)?;
    let (input, len) = length(input)?;
    let (input, value) = take(len).parse(input)?;
    Ok((input, Tlv { tag, value }))
}

/// Reads one object from the front of `input`, returning it and the rest.
pub fn read(input: &[u8]) -> Result<(Tlv<'_>, &[u8]), TlvError> {
    match tlv(input) {
        Ok((rest, t)) => Ok((t, rest)),
        Err(_) => Err(TlvError::Malformed),
    }
}

/// Iterates over consecutive objects; yields an error once and stops on
/// malformed input.
pub fn iter(input: &[u8]) -> Iter<'_> {
    Iter { rest: input }
}

/// See [`iter`].
pub struct Iter<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Iter<'a> {
    type Item = Result<Tlv<'a>, TlvError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        match read(self.rest) {
            Ok((t, rest)) => {
                self.rest = rest;
                Some(Ok(t))
            }
            Err(e) => {
                self.rest = &[];
                Some(Err(e))
            }
        }
    }
}

/// The value of the first object with `tag` among the objects of `input`
/// (one level, not recursive). Malformed input finds nothing.
pub fn find(input: &[u8], tag: Tag) -> Option<&[u8]> {
    iter(input)
        .map_while(Result::ok)
        .find(|t| t.tag == tag)
        .map(|t| t.value)
}

/// The whole encoding (tag, length, value) of the first object with `tag`
/// among the objects of `input` (one level).
pub fn find_object(input: &[u8], tag: Tag) -> Option<&[u8]> {
    let mut rest = input;
    while !rest.is_empty() {
        let (t, after) = read(rest).ok()?;
        if t.tag == tag {
            return rest.get(..rest.len() - after.len());
        }
        rest = after;
    }
    None
}

/// Checks that `input` is a sequence of well-formed objects with no trailing bytes.
pub fn validate(input: &[u8]) -> Result<(), TlvError> {
    iter(input).try_for_each(|r| r.map(|_| ()))
}

/// Writes objects into a caller's buffer.
pub struct Writer<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl<'a> Writer<'a> {
    /// A writer at the start of `buf`.
    pub fn new(buf: &'a mut [u8]) -> Self {
        Writer { buf, pos: 0 }
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.pos
    }

    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.pos == 0
    }

    /// What was written.
    pub fn written(&self) -> &[u8] {
        self.buf.get(..self.pos).unwrap_or(&[])
    }

    /// Appends raw bytes.
    pub fn raw(&mut self, bytes: &[u8]) -> Result<(), TlvError> {
        let end = self
            .pos
            .checked_add(bytes.len())
            .ok_or(TlvError::Overflow)?;
        self.buf
            .get_mut(self.pos..end)
            .ok_or(TlvError::Overflow)?
            .copy_from_slice(bytes);
        self.pos = end;
        Ok(())
    }

    fn tag(&mut self, tag: Tag) -> Result<(), TlvError> {
        let b = tag.to_be_bytes();
        let skip = b.iter().take(3).take_while(|&&x| x == 0).count();
        self.raw(b.get(skip..).unwrap_or(&[]))
    }

    fn length(&mut self, len: usize) -> Result<(), TlvError> {
        match len {
            0..=0x7F => self.raw(&[len as u8]),
            0x80..=0xFF => self.raw(&[0x81, len as u8]),
            0x100..=0xFFFF => self.raw(&[0x82, (len >> 8) as u8, len as u8]),
            _ => Err(TlvError::Overflow),
        }
    }

    /// Appends one primitive object.
    pub fn put(&mut self, tag: Tag, value: &[u8]) -> Result<(), TlvError> {
        self.tag(tag)?;
        self.length(value.len())?;
        self.raw(value)
    }

    /// Appends a big-endian unsigned integer as a fixed-width value.
    pub fn put_u64(&mut self, tag: Tag, value: u64) -> Result<(), TlvError> {
        self.put(tag, &value.to_be_bytes())
    }

    /// Appends a big-endian `u32` value.
    pub fn put_u32(&mut self, tag: Tag, value: u32) -> Result<(), TlvError> {
        self.put(tag, &value.to_be_bytes())
    }

    /// Appends a constructed object whose content `f` writes.
    pub fn nested(
        &mut self,
        tag: Tag,
        f: impl FnOnce(&mut Self) -> Result<(), TlvError>,
    ) -> Result<(), TlvError> {
        self.tag(tag)?;
        // Reserve the longest length form, write the content, then shift it
        // down over the unused length bytes.
        let len_at = self.pos;
        self.raw(&[0, 0, 0])?;
        let start = self.pos;
        f(self)?;
        let len = self.pos - start;
        let mut hdr = [0u8; 3];
        let n = {
            let mut w = Writer::new(&mut hdr);
            w.length(len)?;
            w.pos
        };
        self.buf.copy_within(start..self.pos, len_at + n);
        self.buf
            .get_mut(len_at..len_at + n)
            .ok_or(TlvError::Overflow)?
            .copy_from_slice(hdr.get(..n).ok_or(TlvError::Overflow)?);
        self.pos = len_at + n + len;
        Ok(())
    }
}

/// Reads a value as a big-endian unsigned integer of at most eight bytes.
pub fn as_u64(value: &[u8]) -> Option<u64> {
    if value.len() > 8 {
        return None;
    }
    Some(value.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn nested_and_find() {
        let mut buf = [0u8; 600];
        let mut w = Writer::new(&mut buf);
        w.nested(0x7F21, |w| {
            w.put(0x5F20, b"METER-1")?;
            w.put(0x42, &[0xAA; 200])
        })
        .unwrap();
        let out = w.written();
        assert_eq!(&out[..4], &[0x7F, 0x21, 0x81, 10 + 3 + 200]);
        let (t, rest) = read(out).unwrap();
        assert!(rest.is_empty() && t.is_constructed());
        assert_eq!(find(t.value, 0x5F20), Some(&b"METER-1"[..]));
        assert_eq!(find(t.value, 0x42).map(<[u8]>::len), Some(200));
        assert_eq!(find(t.value, 0x43), None);
    }

    #[test]
    fn malformed() {
        assert_eq!(read(&[0x80, 0x05, 1, 2]), Err(TlvError::Malformed));
        assert_eq!(read(&[0x80, 0x83, 0, 0, 1, 0]), Err(TlvError::Malformed));
        // Non-minimal lengths.
        assert_eq!(read(&[0x80, 0x81, 0x01, 0xAA]), Err(TlvError::Malformed));
        assert_eq!(
            read(&[0x80, 0x82, 0x00, 0x01, 0xAA]),
            Err(TlvError::Malformed)
        );
        assert_eq!(read(&[0x7F]), Err(TlvError::Malformed));
        assert_eq!(read(&[0x1F, 0x81, 0x82, 0x01, 0]), Err(TlvError::Malformed));
        assert!(validate(&[0x80, 0x01, 0x00, 0x81]).is_err());
        let mut small = [0u8; 3];
        assert_eq!(
            Writer::new(&mut small).put(0x80, &[1, 2]),
            Err(TlvError::Overflow)
        );
    }

    proptest! {
        #[test]
        fn write_then_read(tag in prop_oneof![0x80u32..=0x9E, 0x5F20u32..=0x5F7F, Just(0x7F21u32)],
                           value in proptest::collection::vec(any::<u8>(), 0..70_000)) {
            let mut buf = vec![0u8; 70_010];
            let mut w = Writer::new(&mut buf);
            match w.put(tag, &value) {
                Ok(()) => {
                    let (t, rest) = read(w.written()).unwrap();
                    prop_assert!(rest.is_empty());
                    prop_assert_eq!(t.tag, tag);
                    prop_assert_eq!(t.value, &value[..]);
                }
                Err(e) => {
                    prop_assert_eq!(e, TlvError::Overflow);
                    prop_assert!(value.len() > 0xFFFF);
                }
            }
        }

        #[test]
        fn read_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            for t in iter(&bytes) {
                let _ = t;
            }
        }
    }
}
