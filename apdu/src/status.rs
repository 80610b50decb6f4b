//! Status words (ISO 7816-4 §5.6) and the two proprietary ones the meter adds.

/// A status word `SW1 SW2`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StatusWord(pub u16);

impl StatusWord {
    /// 9000: normal processing.
    pub const OK: Self = Self(0x9000);
    /// 6283: the application is locked or terminated (selected, but blocked).
    pub const SELECTED_FILE_DEACTIVATED: Self = Self(0x6283);
    /// 6581: memory failure (a persistent write did not complete).
    pub const MEMORY_FAILURE: Self = Self(0x6581);
    /// 6700: wrong length (Lc, Le or the data length does not fit the command).
    pub const WRONG_LENGTH: Self = Self(0x6700);
    /// 6883: the last command of a chain was expected.
    pub const LAST_COMMAND_EXPECTED: Self = Self(0x6883);
    /// 6884: command chaining not supported for this command.
    pub const CHAINING_NOT_SUPPORTED: Self = Self(0x6884);
    /// 6982: security status not satisfied (PIN not verified, wrong signature).
    pub const SECURITY_STATUS_NOT_SATISFIED: Self = Self(0x6982);
    /// 6983: authentication method blocked (PIN tries exhausted).
    pub const AUTH_METHOD_BLOCKED: Self = Self(0x6983);
    /// 6984: reference data not usable (a stale or replayed message).
    pub const REFERENCE_DATA_NOT_USABLE: Self = Self(0x6984);
    /// 6985: conditions of use not satisfied (wrong life-cycle state).
    pub const CONDITIONS_NOT_SATISFIED: Self = Self(0x6985);
    /// 6986: command not allowed (no application selected).
    pub const COMMAND_NOT_ALLOWED: Self = Self(0x6986);
    /// 6A80: incorrect data in the command.
    pub const INCORRECT_DATA: Self = Self(0x6A80);
    /// 6A81: function not supported.
    pub const FUNCTION_NOT_SUPPORTED: Self = Self(0x6A81);
    /// 6A82: application or file not found.
    pub const NOT_FOUND: Self = Self(0x6A82);
    /// 6A84: not enough memory (a fixed budget would be exceeded).
    pub const NOT_ENOUGH_MEMORY: Self = Self(0x6A84);
    /// 6A86: incorrect P1 or P2.
    pub const INCORRECT_P1P2: Self = Self(0x6A86);
    /// 6A88: referenced data not found.
    pub const REFERENCED_DATA_NOT_FOUND: Self = Self(0x6A88);
    /// 6D00: instruction not supported.
    pub const INS_NOT_SUPPORTED: Self = Self(0x6D00);
    /// 6E00: class not supported.
    pub const CLA_NOT_SUPPORTED: Self = Self(0x6E00);
    /// 6F00: no precise diagnosis.
    pub const UNKNOWN: Self = Self(0x6F00);
    /// 9401 (proprietary): the register holds less than the fee; nothing was charged.
    pub const INSUFFICIENT_FUNDS: Self = Self(0x9401);
    /// 9402 (proprietary): the meter is locked out until the authority services it.
    pub const METER_LOCKED: Self = Self(0x9402);
    /// 9403 (proprietary): the owner PIN is still the transport PIN a new
    /// card comes with: change it (CHANGE REFERENCE DATA) first.
    pub const TRANSPORT_PIN: Self = Self(0x9403);
    /// 9404 (proprietary): more than the service and grace days of the
    /// authority's policy have passed since the last authority contact (by
    /// the card's clock): debits stop until the next contact.
    pub const LOCKED_BY_TIME: Self = Self(0x9404);
    /// 9405 (proprietary): the authority's maximum of charged operations
    /// since the last contact was reached: debits stop until the next
    /// contact, whatever the clock says.
    pub const LOCKED_BY_DEBITS: Self = Self(0x9405);
    /// 9408 (proprietary): the meter certificate does not authorize the
    /// card as a certificate agent (usage ISSUE_CERTIFICATES, Figure 3A).
    pub const NOT_AN_AGENT: Self = Self(0x9408);
    /// 9409 (proprietary): the certificate is revoked: it signs nothing
    /// more (the meter certificate: no loads, no postmarks), and it cannot
    /// be revoked again.
    pub const CERTIFICATE_REVOKED: Self = Self(0x9409);
    /// 940A (proprietary): the rate update's version is not newer than
    /// the card's rate table (older or equal): nothing was changed.
    pub const RATE_VERSION_NOT_NEWER: Self = Self(0x940A);
    /// 940C (proprietary): POSTAGE refuses the mailing date: before the
    /// day of the card's secure clock (no back-dating), or more than
    /// `cmd::postage::MAX_DAYS_AHEAD` days after it.
    pub const DATE_REFUSED: Self = Self(0x940C);
    /// 9406 (proprietary): the channel hello is refused: for another chip,
    /// card nonce or card ephemeral key, or not signed by the authority.
    /// The handshake is dropped.
    pub const CHANNEL_HELLO_REFUSED: Self = Self(0x9406);
    /// 9407 (proprietary): the channel message is refused: replayed,
    /// reordered, altered, or the channel was closed by an earlier refusal.
    /// The channel is closed; nothing was changed.
    pub const CHANNEL_MESSAGE_REFUSED: Self = Self(0x9407);
    /// 940D (proprietary): Figure 9, 906: the credit remaining on the line
    /// is less than the payment; nothing was changed.
    pub const CREDIT_EXHAUSTED: Self = Self(0x940D);
    /// 940E (proprietary): Figure 9: the card holds no line of credit
    /// (Figure 8 stores one).
    pub const NO_CREDIT_LINE: Self = Self(0x940E);

    /// Builds a status word from its two bytes.
    pub const fn new(sw1: u8, sw2: u8) -> Self {
        Self(u16::from_be_bytes([sw1, sw2]))
    }

    /// 61xx: `n` more response bytes are available with GET RESPONSE
    /// (`n` of 256 or more is sent as `6100`).
    pub const fn bytes_remaining(n: usize) -> Self {
        Self::new(0x61, if n > 255 { 0 } else { n as u8 })
    }

    /// 6Cxx: wrong Le; resend with Le = `n` (256 is sent as `6C00`).
    pub const fn wrong_le(n: usize) -> Self {
        Self::new(0x6C, if n > 255 { 0 } else { n as u8 })
    }

    /// 63Cx: verification failed, `tries` tries left.
    pub const fn verify_failed(tries: u8) -> Self {
        Self::new(0x63, 0xC0 | (tries & 0x0F))
    }

    /// SW1.
    pub const fn sw1(self) -> u8 {
        self.0.to_be_bytes()[0]
    }

    /// SW2.
    pub const fn sw2(self) -> u8 {
        self.0.to_be_bytes()[1]
    }

    /// Both bytes, SW1 first.
    pub const fn to_bytes(self) -> [u8; 2] {
        self.0.to_be_bytes()
    }

    /// Whether this is 9000.
    pub const fn is_ok(self) -> bool {
        self.0 == 0x9000
    }

    /// Whether SW1 is in a range ISO 7816-4 defines (61-6F or 90-9F,
    /// except 60 and 6x with x of 0).
    pub const fn is_valid(self) -> bool {
        matches!(self.sw1(), 0x61..=0x6F | 0x90..=0x9F)
    }

    /// For 61xx, the number of bytes the card says remain (`00` reads as 256).
    pub const fn remaining(self) -> Option<usize> {
        match self.to_bytes() {
            [0x61, 0] => Some(256),
            [0x61, n] => Some(n as usize),
            _ => None,
        }
    }

    /// For 6Cxx, the exact Le the card asks for (`00` reads as 256).
    pub const fn exact_le(self) -> Option<usize> {
        match self.to_bytes() {
            [0x6C, 0] => Some(256),
            [0x6C, n] => Some(n as usize),
            _ => None,
        }
    }

    /// For 63Cx, the tries left.
    pub const fn tries_left(self) -> Option<u8> {
        match self.to_bytes() {
            [0x63, n] if n & 0xF0 == 0xC0 => Some(n & 0x0F),
            _ => None,
        }
    }

    /// What the status word means, in a few words.
    pub fn description(self) -> &'static str {
        match self.to_bytes() {
            [0x90, 0x00] => "success",
            [0x61, _] => "more response data available",
            [0x62, 0x83] => "the meter application is locked or terminated",
            [0x63, x] if x & 0xF0 == 0xC0 => "verification failed",
            [0x65, 0x81] => "memory failure",
            [0x67, 0x00] => "wrong length",
            [0x68, 0x83] => "the last command of a chain was expected",
            [0x68, 0x84] => "command chaining not supported",
            [0x69, 0x82] => "security status not satisfied",
            [0x69, 0x83] => "authentication method blocked",
            [0x69, 0x84] => "reference data not usable",
            [0x69, 0x85] => "conditions of use not satisfied",
            [0x69, 0x86] => "command not allowed",
            [0x6A, 0x80] => "incorrect data",
            [0x6A, 0x81] => "function not supported",
            [0x6A, 0x82] => "application or file not found",
            [0x6A, 0x84] => "not enough memory on the card",
            [0x6A, 0x86] => "incorrect P1 or P2",
            [0x6A, 0x88] => "referenced data not found",
            [0x6C, _] => "wrong Le",
            [0x6D, 0x00] => "instruction not supported",
            [0x6E, 0x00] => "class not supported",
            [0x6F, 0x00] => "no precise diagnosis",
            [0x94, 0x01] => "insufficient funds",
            [0x94, 0x02] => "meter locked until serviced by the authority",
            [0x94, 0x03] => "the owner PIN is still the transport PIN: change it first",
            [0x94, 0x04] => "locked: the service period since the last authority contact is over",
            [0x94, 0x08] => "the meter certificate does not authorize issuing certificates",
            [0x94, 0x05] => {
                "locked: the charged operations allowed since the last authority contact are used up"
            }
            [0x94, 0x06] => "channel hello refused",
            [0x94, 0x07] => "channel message refused: replayed, reordered or altered",
            [0x94, 0x0C] => "mailing date refused: before the card's clock, or too far ahead",
            [0x94, 0x0D] => "credit exhausted: the line has less remaining than the payment",
            [0x94, 0x0E] => "no line of credit on the card",
            [0x94, 0x0A] => "rate table refused: its version is not newer than the card's",
            _ => "unknown status",
        }
    }
}

impl core::fmt::Debug for StatusWord {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "StatusWord({:04X})", self.0)
    }
}

impl core::fmt::Display for StatusWord {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{:04X} ({})", self.0, self.description())
    }
}

impl From<[u8; 2]> for StatusWord {
    fn from(b: [u8; 2]) -> Self {
        Self(u16::from_be_bytes(b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers() {
        assert_eq!(StatusWord::bytes_remaining(300).remaining(), Some(256));
        assert_eq!(StatusWord::bytes_remaining(17).remaining(), Some(17));
        assert_eq!(StatusWord::wrong_le(5).exact_le(), Some(5));
        assert_eq!(StatusWord::verify_failed(2).tries_left(), Some(2));
        assert_eq!(StatusWord::OK.tries_left(), None);
        assert!(StatusWord::INSUFFICIENT_FUNDS.is_valid());
        assert!(!StatusWord(0x6000).is_valid());
        assert!(!StatusWord(0x1234).is_valid());
        assert_eq!(
            format!("{}", StatusWord::INCORRECT_P1P2),
            "6A86 (incorrect P1 or P2)"
        );
    }
}
