//! SELECT by DF name (ISO 7816-4): `00 A4 04 00|0C Lc AID`, answered by the
//! FCI `6F { 84 AID, A5 { 80 life-cycle } }`.

use super::{FormatError, Request, get_data::Lifecycle};
use crate::command::Command;
use crate::status::StatusWord;
use crate::tlv::{Tag, TlvError, Writer};

/// SELECT.
pub const INS: u8 = 0xA4;
/// P1: select by DF name.
pub const P1_BY_NAME: u8 = 0x04;
/// P2: first occurrence, return the FCI.
pub const P2_FCI: u8 = 0x00;
/// P2: first occurrence, no answer data.
pub const P2_NO_DATA: u8 = 0x0C;
/// Longest AID (ISO 7816-4).
pub const AID_MAX_LEN: usize = 16;

/// The meter application's AID: proprietary RID `F0`, "CERTMETER", version 1.
pub const AID: &[u8] = &[
    0xF0, 0x43, 0x45, 0x52, 0x54, 0x4D, 0x45, 0x54, 0x45, 0x52, 0x01,
];

/// The FCI template.
pub const FCI: Tag = 0x6F;
/// Inside [`FCI`]: the DF name (the AID).
pub const DF_NAME: Tag = 0x84;
/// Inside [`FCI`]: the proprietary template.
pub const PROPRIETARY: Tag = 0xA5;
/// Inside [`PROPRIETARY`]: the life-cycle state, one byte.
pub const LIFECYCLE: Tag = 0x80;

pub(crate) fn parse<'a>(cmd: &Command<'a>) -> Result<Request<'a>, StatusWord> {
    if cmd.p1 != P1_BY_NAME || !matches!(cmd.p2, P2_FCI | P2_NO_DATA) {
        return Err(StatusWord::INCORRECT_P1P2);
    }
    if cmd.data.is_empty() || cmd.data.len() > AID_MAX_LEN {
        return Err(StatusWord::WRONG_LENGTH);
    }
    Ok(Request::Select { aid: cmd.data })
}

/// The SELECT command for `aid`.
pub fn command(aid: &[u8]) -> Command<'_> {
    super::iso(INS, P1_BY_NAME, P2_FCI, aid, Some(256))
}

/// The answer to SELECT: the file control information.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fci<'a> {
    /// The application's AID.
    pub aid: &'a [u8],
    /// Its life-cycle state.
    pub lifecycle: Lifecycle,
}

impl<'a> Fci<'a> {
    /// Writes the FCI.
    pub fn write(&self, w: &mut Writer<'_>) -> Result<(), TlvError> {
        w.nested(FCI, |w| {
            w.put(DF_NAME, self.aid)?;
            w.nested(PROPRIETARY, |w| w.put(LIFECYCLE, &[self.lifecycle as u8]))
        })
    }

    /// Parses an FCI.
    pub fn parse(input: &'a [u8]) -> Result<Self, FormatError> {
        let fields = super::template(input, FCI)?;
        let prop = super::field(fields, PROPRIETARY)?;
        let lifecycle = match super::field(prop, LIFECYCLE)? {
            [b] => Lifecycle::from_byte(*b),
            _ => None,
        };
        Ok(Fci {
            aid: super::field(fields, DF_NAME)?,
            lifecycle: lifecycle.ok_or(FormatError::MissingField(LIFECYCLE))?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn fci_round_trip(aid in proptest::collection::vec(any::<u8>(), 0..=16),
                          lc in proptest::sample::select(Lifecycle::ALL.to_vec())) {
            let fci = Fci { aid: &aid, lifecycle: lc };
            let mut buf = [0u8; 64];
            let mut w = Writer::new(&mut buf);
            fci.write(&mut w).unwrap();
            prop_assert_eq!(Fci::parse(w.written()), Ok(fci));
        }

        #[test]
        fn fci_parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = Fci::parse(&bytes);
        }
    }
}
