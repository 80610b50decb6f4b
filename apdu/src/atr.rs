//! The answer-to-reset (ISO/IEC 7816-3 §8.2) as far as the host needs it:
//! finding the historical bytes, and in them (ISO/IEC 7816-4 §12.1) the
//! card capabilities that announce command chaining and extended Lc/Le.

/// Tag-and-length of the card-capabilities object in compact-TLV: tag 7,
/// three bytes.
const CARD_CAPABILITIES: u8 = 0x73;
/// Third software-function byte of the card capabilities: extended Lc/Le.
const EXTENDED_LENGTH: u8 = 0x40;
/// Third software-function byte of the card capabilities: command chaining.
const CHAINING: u8 = 0x80;

/// The historical bytes of `atr`, or `None` when the ATR is malformed
/// (wrong TS, interface bytes or historical bytes cut short).
pub fn historical_bytes(atr: &[u8]) -> Option<&[u8]> {
    let (&ts, rest) = atr.split_first()?;
    if ts != 0x3B && ts != 0x3F {
        return None;
    }
    let (&t0, mut rest) = rest.split_first()?;
    let k = usize::from(t0 & 0x0F);
    let mut y = t0 >> 4;
    loop {
        // TAi, TBi, TCi, TDi are present as bits 1, 2, 3, 4 of Y say.
        let present = usize::from(y & 1) + usize::from(y >> 1 & 1) + usize::from(y >> 2 & 1);
        rest = rest.get(present..)?;
        if y & 0x08 == 0 {
            break;
        }
        let (&td, after) = rest.split_first()?;
        rest = after;
        y = td >> 4;
    }
    rest.get(..k)
}

/// What the card capabilities in the historical bytes announce.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Capabilities {
    /// Command chaining (CLA bit 0x10).
    pub chaining: bool,
    /// Extended Lc and Le fields.
    pub extended_length: bool,
}

/// The card capabilities announced in `atr`; all `false` when the ATR is
/// malformed, its historical bytes are not in compact-TLV (category 0x80)
/// or carry no card-capabilities object.
pub fn capabilities(atr: &[u8]) -> Capabilities {
    let Some((&0x80, mut objects)) = historical_bytes(atr).and_then(<[u8]>::split_first) else {
        return Capabilities::default();
    };
    while let Some((&tl, rest)) = objects.split_first() {
        let len = usize::from(tl & 0x0F);
        let Some(value) = rest.get(..len) else {
            break;
        };
        if tl == CARD_CAPABILITIES
            && let Some(&third) = value.get(2)
        {
            return Capabilities {
                chaining: third & CHAINING != 0,
                extended_length: third & EXTENDED_LENGTH != 0,
            };
        }
        objects = rest.get(len..).unwrap_or_default();
    }
    Capabilities::default()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The simulated meter's ATR: T0 = 85 (TD1, 5 historical bytes),
    /// TD1 = 80 (TD2 follows), TD2 = 01 (T=1), historical 80 73 80 01 C0,
    /// TCK.
    const METER: &[u8] = &[0x3B, 0x85, 0x80, 0x01, 0x80, 0x73, 0x80, 0x01, 0xC0, 0xB6];

    #[test]
    fn finds_the_meters_capabilities() {
        assert_eq!(
            historical_bytes(METER),
            Some(&[0x80, 0x73, 0x80, 0x01, 0xC0][..])
        );
        assert_eq!(
            capabilities(METER),
            Capabilities {
                chaining: true,
                extended_length: true
            }
        );
    }

    /// 73 xx xx 40 in the interface bytes or in another object is not a
    /// card-capabilities object: only the parsed historical bytes count.
    #[test]
    fn lookalike_bytes_outside_the_capabilities_do_not_count() {
        // T0 = F1: TA1 TB1 TC1 TD1 = 73 11 22 40, then TC2 = 00 (TD1 says
        // so), then 1 historical byte 00.
        let atr = [0x3B, 0xF1, 0x73, 0x11, 0x22, 0x40, 0x00, 0x00];
        assert_eq!(historical_bytes(&atr), Some(&[0x00][..]));
        assert_eq!(capabilities(&atr), Capabilities::default());
        // Compact-TLV with a 4-byte object 54 holding 73 11 22 40.
        let atr = [0x3B, 0x06, 0x80, 0x54, 0x73, 0x11, 0x22, 0x40];
        assert_eq!(capabilities(&atr), Capabilities::default());
        // Category 00 (status at the end), not compact-TLV.
        let atr = [0x3B, 0x05, 0x00, 0x73, 0x00, 0x00, 0x40];
        assert_eq!(capabilities(&atr), Capabilities::default());
    }

    #[test]
    fn malformed_atrs_announce_nothing() {
        for atr in [
            &[][..],
            &[0x3B],
            &[0x12, 0x00],
            &[0x3B, 0x85, 0x80, 0x01, 0x80], // historical bytes cut short
            &[0x3B, 0x80],                   // TD1 announced, missing
            &[0x3B, 0x95, 0x11],             // TD1 announced after TA1, missing
            &[0x3B, 0x83, 0x80, 0x01, 0x80, 0x73], // historical bytes cut short
            &[0x3B, 0x03, 0x80, 0x73, 0x00], // capabilities object cut short
        ] {
            assert_eq!(capabilities(atr), Capabilities::default(), "{atr:02X?}");
        }
        assert!(historical_bytes(&[0x3B, 0x85, 0x80, 0x01, 0x80]).is_none());
    }

    #[test]
    fn chaining_without_extended_length() {
        let atr = [0x3B, 0x05, 0x80, 0x73, 0x00, 0x00, 0x80];
        assert_eq!(
            capabilities(&atr),
            Capabilities {
                chaining: true,
                extended_length: false
            }
        );
    }
}
