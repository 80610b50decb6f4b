//! Command APDUs (ISO 7816-4 §5.1): header `CLA INS P1 P2`, optional `Lc`
//! and data, optional `Le`, in short or extended form.
//!
//! | case | layout |
//! | --- | --- |
//! | 1  | `CLA INS P1 P2` |
//! | 2S | `... Le` (`00` means 256) |
//! | 3S | `... Lc data` (`Lc` 1..=255) |
//! | 4S | `... Lc data Le` |
//! | 2E | `... 00 Le1 Le2` (`0000` means 65536) |
//! | 3E | `... 00 Lc1 Lc2 data` (`Lc` 1..=65535) |
//! | 4E | `... 00 Lc1 Lc2 data Le1 Le2` |

use crate::status::StatusWord;

/// Largest `Ne` a short command can ask for.
pub const SHORT_MAX_NE: usize = 256;
/// Largest `Ne` an extended command can ask for.
pub const EXTENDED_MAX_NE: usize = 65536;
/// Largest `Nc` a short command can carry.
pub const SHORT_MAX_NC: usize = 255;
/// Largest `Nc` an extended command can carry.
pub const EXTENDED_MAX_NC: usize = 65535;
/// Largest encoded command APDU (case 4E with 65535 data bytes).
pub const MAX_COMMAND_LEN: usize = 4 + 3 + EXTENDED_MAX_NC + 2;
/// The CLA bit that marks a command as "more to follow" (ISO 7816-4 §5.4.2).
pub const CLA_CHAINING: u8 = 0x10;

/// The ISO 7816-4 case of a command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Case {
    /// No data, no response data.
    Case1,
    /// Response data expected, short form.
    Case2Short,
    /// Command data, short form.
    Case3Short,
    /// Command data and response data, short form.
    Case4Short,
    /// Response data expected, extended form.
    Case2Extended,
    /// Command data, extended form.
    Case3Extended,
    /// Command data and response data, extended form.
    Case4Extended,
}

/// Why bytes are not a well-formed command APDU. Every variant is answered
/// with [`StatusWord::WRONG_LENGTH`] by the card.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// Fewer than the four header bytes.
    TooShort,
    /// `Lc` announces a body that does not match the bytes received.
    LengthMismatch,
    /// An extended `Lc` of zero (`00 00 00`), which ISO 7816-4 forbids.
    ZeroExtendedLc,
}

impl ParseError {
    /// The status word a card answers for this error.
    pub const fn status(self) -> StatusWord {
        StatusWord::WRONG_LENGTH
    }
}

impl core::fmt::Display for ParseError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            ParseError::TooShort => "command shorter than its 4-byte header",
            ParseError::LengthMismatch => "Lc does not match the length of the command body",
            ParseError::ZeroExtendedLc => "extended Lc of zero",
        })
    }
}

/// Why a command cannot be encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EncodeError {
    /// More than 65535 data bytes.
    DataTooLong,
    /// `Ne` of zero or above 65536.
    InvalidNe,
    /// The output buffer is smaller than [`Command::encoded_len`].
    BufferTooSmall,
}

impl core::fmt::Display for EncodeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            EncodeError::DataTooLong => "command data longer than 65535 bytes",
            EncodeError::InvalidNe => "expected response length must be 1..=65536",
            EncodeError::BufferTooSmall => "output buffer too small for the command",
        })
    }
}

/// A command APDU borrowing its data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Command<'a> {
    /// Class byte.
    pub cla: u8,
    /// Instruction byte.
    pub ins: u8,
    /// Parameter 1.
    pub p1: u8,
    /// Parameter 2.
    pub p2: u8,
    /// Command data (`Nc` = `data.len()`).
    pub data: &'a [u8],
    /// `Ne`: the most response bytes expected, 1..=65536, if any.
    pub le: Option<usize>,
    /// Whether the command is (to be) encoded in extended form.
    pub extended: bool,
}

impl<'a> Command<'a> {
    /// A command in the shortest form that holds `data` and `le`.
    pub fn new(cla: u8, ins: u8, p1: u8, p2: u8, data: &'a [u8], le: Option<usize>) -> Self {
        let extended = data.len() > SHORT_MAX_NC || le.is_some_and(|n| n > SHORT_MAX_NE);
        Command {
            cla,
            ins,
            p1,
            p2,
            data,
            le,
            extended,
        }
    }

    /// Parses one command APDU; the whole input must be the command.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, ParseError> {
        let (header, body) = bytes.split_at_checked(4).ok_or(ParseError::TooShort)?;
        let &[cla, ins, p1, p2] = header else {
            return Err(ParseError::TooShort);
        };
        let cmd = |data, le, extended| Command {
            cla,
            ins,
            p1,
            p2,
            data,
            le,
            extended,
        };
        match body {
            [] => Ok(cmd(&[], None, false)),
            [le] => Ok(cmd(&[], Some(short_ne(*le)), false)),
            [0, rest @ ..] => match rest {
                [a, b] => Ok(cmd(&[], Some(extended_ne(*a, *b)), true)),
                [a, b, tail @ ..] => {
                    let nc = usize::from(u16::from_be_bytes([*a, *b]));
                    if nc == 0 {
                        return Err(ParseError::ZeroExtendedLc);
                    }
                    match (tail.get(..nc), tail.get(nc..)) {
                        (Some(data), Some([])) => Ok(cmd(data, None, true)),
                        (Some(data), Some([x, y])) => {
                            Ok(cmd(data, Some(extended_ne(*x, *y)), true))
                        }
                        _ => Err(ParseError::LengthMismatch),
                    }
                }
                _ => Err(ParseError::LengthMismatch),
            },
            [lc, tail @ ..] => {
                let nc = usize::from(*lc);
                match (tail.get(..nc), tail.get(nc..)) {
                    (Some(data), Some([])) => Ok(cmd(data, None, false)),
                    (Some(data), Some([le])) => Ok(cmd(data, Some(short_ne(*le)), false)),
                    _ => Err(ParseError::LengthMismatch),
                }
            }
        }
    }

    /// The ISO 7816-4 case of this command as it would be encoded.
    pub fn case(&self) -> Case {
        let ext = self.needs_extended();
        match (self.data.is_empty(), self.le.is_some(), ext) {
            (true, false, _) => Case::Case1,
            (true, true, false) => Case::Case2Short,
            (true, true, true) => Case::Case2Extended,
            (false, false, false) => Case::Case3Short,
            (false, false, true) => Case::Case3Extended,
            (false, true, false) => Case::Case4Short,
            (false, true, true) => Case::Case4Extended,
        }
    }

    /// Whether the chaining bit of CLA is set (more commands follow).
    pub fn is_chained(&self) -> bool {
        self.cla & CLA_CHAINING != 0
    }

    fn needs_extended(&self) -> bool {
        self.extended || self.data.len() > SHORT_MAX_NC || self.le.is_some_and(|n| n > SHORT_MAX_NE)
    }

    /// The number of bytes [`Command::encode`] writes.
    pub fn encoded_len(&self) -> usize {
        let ext = self.needs_extended();
        let lc = match (self.data.is_empty(), ext) {
            (true, _) => 0,
            (false, false) => 1,
            (false, true) => 3,
        };
        let le = match (self.le.is_some(), ext, self.data.is_empty()) {
            (false, _, _) => 0,
            (true, false, _) => 1,
            (true, true, true) => 3,
            (true, true, false) => 2,
        };
        4 + lc + self.data.len() + le
    }

    /// Encodes the command into `out`, returning the number of bytes written.
    pub fn encode(&self, out: &mut [u8]) -> Result<usize, EncodeError> {
        if self.data.len() > EXTENDED_MAX_NC {
            return Err(EncodeError::DataTooLong);
        }
        if self.le.is_some_and(|n| n == 0 || n > EXTENDED_MAX_NE) {
            return Err(EncodeError::InvalidNe);
        }
        let len = self.encoded_len();
        let out = out.get_mut(..len).ok_or(EncodeError::BufferTooSmall)?;
        let mut w = Writer { out, pos: 0 };
        w.put(&[self.cla, self.ins, self.p1, self.p2]);
        let ext = self.needs_extended();
        let nc = self.data.len();
        if nc > 0 {
            if ext {
                w.put(&[0]);
                w.put(&(nc as u16).to_be_bytes());
            } else {
                w.put(&[nc as u8]);
            }
            w.put(self.data);
        }
        if let Some(ne) = self.le {
            if ext {
                if nc == 0 {
                    w.put(&[0]);
                }
                // 65536 is encoded as 0000; `as u16` wraps exactly to that.
                w.put(&(ne as u16).to_be_bytes());
            } else {
                // 256 is encoded as 00.
                w.put(&[ne as u8]);
            }
        }
        Ok(w.pos)
    }

    /// Encodes the command into a new vector.
    #[cfg(feature = "alloc")]
    pub fn to_vec(&self) -> Result<alloc::vec::Vec<u8>, EncodeError> {
        let mut v = alloc::vec![0; self.encoded_len()];
        self.encode(&mut v)?;
        Ok(v)
    }
}

fn short_ne(b: u8) -> usize {
    if b == 0 { SHORT_MAX_NE } else { usize::from(b) }
}

fn extended_ne(a: u8, b: u8) -> usize {
    match u16::from_be_bytes([a, b]) {
        0 => EXTENDED_MAX_NE,
        n => usize::from(n),
    }
}

struct Writer<'o> {
    out: &'o mut [u8],
    pos: usize,
}

impl Writer<'_> {
    /// Callers size `out` with [`Command::encoded_len`] first, so every put fits.
    fn put(&mut self, bytes: &[u8]) {
        let end = self.pos + bytes.len();
        if let Some(dst) = self.out.get_mut(self.pos..end) {
            dst.copy_from_slice(bytes);
        }
        self.pos = end;
    }
}

/// An owned command APDU (host side).
#[cfg(feature = "alloc")]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommandBuf {
    /// Class byte.
    pub cla: u8,
    /// Instruction byte.
    pub ins: u8,
    /// Parameter 1.
    pub p1: u8,
    /// Parameter 2.
    pub p2: u8,
    /// Command data.
    pub data: alloc::vec::Vec<u8>,
    /// `Ne`, if response data is expected.
    pub le: Option<usize>,
}

#[cfg(feature = "alloc")]
impl CommandBuf {
    /// A new owned command.
    pub fn new(
        cla: u8,
        ins: u8,
        p1: u8,
        p2: u8,
        data: alloc::vec::Vec<u8>,
        le: Option<usize>,
    ) -> Self {
        CommandBuf {
            cla,
            ins,
            p1,
            p2,
            data,
            le,
        }
    }

    /// Borrows it as a [`Command`] in the shortest form.
    pub fn as_command(&self) -> Command<'_> {
        Command::new(self.cla, self.ins, self.p1, self.p2, &self.data, self.le)
    }

    /// Encodes it in the shortest form.
    pub fn to_bytes(&self) -> Result<alloc::vec::Vec<u8>, EncodeError> {
        self.as_command().to_vec()
    }
}

#[cfg(feature = "alloc")]
impl From<Command<'_>> for CommandBuf {
    fn from(c: Command<'_>) -> Self {
        CommandBuf::new(c.cla, c.ins, c.p1, c.p2, c.data.into(), c.le)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn every_case_parses() {
        let c = Command::parse(&[0x00, 0xA4, 0x04, 0x00]).unwrap();
        assert_eq!((c.case(), c.le, c.data.len()), (Case::Case1, None, 0));
        let c = Command::parse(&[0x00, 0xB0, 0, 0, 0x00]).unwrap();
        assert_eq!((c.case(), c.le), (Case::Case2Short, Some(256)));
        let c = Command::parse(&[0x00, 0xD6, 0, 0, 2, 0xAA, 0xBB]).unwrap();
        assert_eq!((c.case(), c.data), (Case::Case3Short, &[0xAA, 0xBB][..]));
        let c = Command::parse(&[0x00, 0x88, 0, 0, 1, 0xAA, 0x10]).unwrap();
        assert_eq!((c.case(), c.le), (Case::Case4Short, Some(16)));
        let c = Command::parse(&[0x00, 0xB0, 0, 0, 0, 0, 0]).unwrap();
        assert_eq!((c.case(), c.le), (Case::Case2Extended, Some(65536)));
        let c = Command::parse(&[0x00, 0xB0, 0, 0, 0, 0x01, 0x00]).unwrap();
        assert_eq!((c.case(), c.le), (Case::Case2Extended, Some(256)));
        let c = Command::parse(&[0x00, 0xD6, 0, 0, 0, 0, 1, 0xAA]).unwrap();
        assert_eq!((c.case(), c.data), (Case::Case3Extended, &[0xAA][..]));
        let c = Command::parse(&[0x00, 0x2A, 0, 0, 0, 0, 1, 0xAA, 0, 0]).unwrap();
        assert_eq!((c.case(), c.le), (Case::Case4Extended, Some(65536)));
    }

    #[test]
    fn strict_lengths() {
        assert_eq!(Command::parse(&[0, 0, 0]), Err(ParseError::TooShort));
        // Lc says 3, body has 2.
        assert_eq!(
            Command::parse(&[0, 0xD6, 0, 0, 3, 1, 2]),
            Err(ParseError::LengthMismatch)
        );
        // Lc says 1, body has the byte plus two more.
        assert_eq!(
            Command::parse(&[0, 0xD6, 0, 0, 1, 1, 2, 3]),
            Err(ParseError::LengthMismatch)
        );
        // Extended marker with a truncated length.
        assert_eq!(
            Command::parse(&[0, 0xD6, 0, 0, 0, 1]),
            Err(ParseError::LengthMismatch)
        );
        assert_eq!(
            Command::parse(&[0, 0xD6, 0, 0, 0, 0, 0, 9]),
            Err(ParseError::ZeroExtendedLc)
        );
        // Extended Le of one byte after data.
        assert_eq!(
            Command::parse(&[0, 0xD6, 0, 0, 0, 0, 1, 9, 0]),
            Err(ParseError::LengthMismatch)
        );
    }

    #[test]
    fn encodes_special_ne() {
        let c = Command::new(0, 0xB0, 0, 0, &[], Some(256));
        assert_eq!(c.to_vec().unwrap(), [0, 0xB0, 0, 0, 0]);
        let c = Command::new(0, 0xB0, 0, 0, &[], Some(65536));
        assert_eq!(c.to_vec().unwrap(), [0, 0xB0, 0, 0, 0, 0, 0]);
        let c = Command::new(0, 0xB0, 0, 0, &[], Some(0));
        assert_eq!(c.to_vec(), Err(EncodeError::InvalidNe));
        let big = [0u8; 65536];
        let c = Command::new(0, 0xB0, 0, 0, &big, None);
        assert_eq!(c.to_vec(), Err(EncodeError::DataTooLong));
    }

    fn arb_command() -> impl Strategy<Value = (u8, u8, u8, u8, Vec<u8>, Option<usize>, bool)> {
        (
            any::<u8>(),
            any::<u8>(),
            any::<u8>(),
            any::<u8>(),
            prop_oneof![
                proptest::collection::vec(any::<u8>(), 0..300),
                proptest::collection::vec(any::<u8>(), 0..70_000),
            ],
            proptest::option::of(1usize..=65536),
            any::<bool>(),
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn encode_then_parse_is_identity((cla, ins, p1, p2, data, le, ext) in arb_command()) {
            let mut c = Command::new(cla, ins, p1, p2, &data, le);
            // Case 1 (no data, no Le) has no length field to make extended.
            c.extended |= ext && !(data.is_empty() && le.is_none());
            match c.to_vec() {
                Ok(bytes) => {
                    prop_assert_eq!(bytes.len(), c.encoded_len());
                    let parsed = Command::parse(&bytes).unwrap();
                    prop_assert_eq!(parsed, c);
                }
                Err(e) => prop_assert_eq!(e, EncodeError::DataTooLong),
            }
        }

        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            if let Ok(c) = Command::parse(&bytes) {
                // Whatever parses re-encodes to the same bytes.
                prop_assert_eq!(c.to_vec().unwrap(), bytes);
            }
        }
    }
}
