//! Response APDUs: response data followed by `SW1 SW2`.

use crate::status::StatusWord;

/// A response APDU borrowing its data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Response<'a> {
    /// Response data.
    pub data: &'a [u8],
    /// The trailing status word.
    pub sw: StatusWord,
}

impl<'a> Response<'a> {
    /// Splits raw response bytes into data and status word; `None` when
    /// fewer than two bytes arrived.
    pub fn parse(bytes: &'a [u8]) -> Option<Self> {
        let split = bytes.len().checked_sub(2)?;
        let (data, sw) = bytes.split_at(split);
        let &[sw1, sw2] = sw else { return None };
        Some(Response {
            data,
            sw: StatusWord::new(sw1, sw2),
        })
    }

    /// Writes data then status word into `out`; `None` when it does not fit.
    pub fn encode(&self, out: &mut [u8]) -> Option<usize> {
        let n = self.data.len() + 2;
        let out = out.get_mut(..n)?;
        let (d, s) = out.split_at_mut(self.data.len());
        d.copy_from_slice(self.data);
        s.copy_from_slice(&self.sw.to_bytes());
        Some(n)
    }
}

/// An owned response APDU (host side).
#[cfg(feature = "alloc")]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResponseBuf {
    /// Response data.
    pub data: alloc::vec::Vec<u8>,
    /// The trailing status word.
    pub sw: StatusWord,
}

#[cfg(feature = "alloc")]
impl ResponseBuf {
    /// Splits raw response bytes; `None` when fewer than two bytes arrived.
    pub fn parse(bytes: &[u8]) -> Option<Self> {
        Response::parse(bytes).map(|r| ResponseBuf {
            data: r.data.into(),
            sw: r.sw,
        })
    }

    /// Data followed by the status word.
    pub fn to_bytes(&self) -> alloc::vec::Vec<u8> {
        let mut v = self.data.clone();
        v.extend_from_slice(&self.sw.to_bytes());
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn encode_then_parse_is_identity(data in proptest::collection::vec(any::<u8>(), 0..1000), sw in any::<u16>()) {
            let r = Response { data: &data, sw: StatusWord(sw) };
            let mut buf = [0u8; 1002];
            let n = r.encode(&mut buf).unwrap();
            prop_assert_eq!(Response::parse(&buf[..n]).unwrap(), r);
        }

        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..10)) {
            let r = Response::parse(&bytes);
            prop_assert_eq!(r.is_some(), bytes.len() >= 2);
        }
    }
}
