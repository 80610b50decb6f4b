//! Errors of the host side, with actionable hints.

use apdu::StatusWord;
use apdu::command::{EncodeError, ParseError};
use authority_api::ServiceError;

/// Why a transport could not move an APDU.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// The card did not answer (it is mute, e.g. it lost power mid-command).
    #[error(
        "the card did not answer; it may have lost power mid-command: reinsert it and check its state before retrying"
    )]
    NoResponse,
    /// The card was taken out of the reader.
    #[error("the card was removed from the reader: insert it and retry")]
    CardRemoved,
    /// Talking to the reader failed; the text says what was being done.
    #[error("reader I/O error: {0}")]
    Io(String),
    /// This kind of transport cannot be used here; the text says why.
    #[error("{0}")]
    Unavailable(String),
    /// The card or reader is in use elsewhere; the text says by what.
    #[error("{0}")]
    Busy(String),
    /// The card was reset under us (by another program, or pcscd restarted)
    /// and the transport has reconnected: the command was not sent, and the
    /// card's volatile state (the selected application, the verified PIN)
    /// is gone. A [`Session`](crate::session::Session) replays the last
    /// SELECT and VERIFY and sends the command again.
    #[error(
        "the card was reset by another program: select the application and verify the PIN again, then retry"
    )]
    Reset,
}

/// Why an exchange with the card failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The transport could not move the APDU.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The card answered a status word other than 9000.
    #[error("the card refused the command: {sw}")]
    Card {
        /// The status word the card answered.
        sw: StatusWord,
    },
    /// The card's answer broke the transmission protocol (no status word,
    /// endless GET RESPONSE, ...).
    #[error("invalid answer from the card: {0}")]
    Malformed(String),
    /// The command cannot be encoded.
    #[error("cannot encode the command: {0}")]
    Encode(EncodeError),
    /// Bytes given as a raw command are not a well-formed command APDU.
    #[error("not a well-formed command APDU: {0}")]
    BadCommand(ParseError),
    /// Reading or writing a file on the PC failed.
    #[error("{0}")]
    Io(String),
    /// The authority refused or failed. (Not a `source`: the message
    /// already says it, and a source would print it twice.)
    #[error("authority: {0}")]
    Authority(ServiceError),
    /// Personalization was asked of a card that is already personalized.
    #[error("authority: this card is already personalized as meter {serial}")]
    AlreadyPersonalized {
        /// The meter serial the card holds.
        serial: String,
    },
    /// A value load was asked of a card that is not personalized.
    #[error("authority: the card is not personalized yet")]
    NotPersonalized,
    /// The card has taken its last value load (its load counter is at its
    /// maximum).
    #[error("authority: the card's load counter is exhausted")]
    LoadsExhausted,
    /// The caller's input cannot be sent (checked before touching the card).
    #[error("{0}")]
    Input(String),
    /// The card applied a load and signed its receipt, but the authority
    /// could not record the receipt, even when asked again. The funds are
    /// on the card; the authority confirms this load with the meter's next
    /// receipt (a receipt for load n proves every earlier load).
    #[error(
        "the card was credited with load {number} ({amount} minor units into the {register} register) of meter {serial}, but the authority could not record its receipt ({reason}); the next load confirms it"
    )]
    Unconfirmed {
        /// The meter serial.
        serial: String,
        /// The load number.
        number: u32,
        /// The register credited (its name).
        register: &'static str,
        /// The amount credited, minor units.
        amount: u64,
        /// Why the authority could not record it.
        reason: ServiceError,
    },
    /// Personalization completed, but loading the initial funds failed.
    #[error("meter {serial} is personalized, but its initial funds were not loaded: {source}")]
    FundsNotLoaded {
        /// The meter serial now on the card.
        serial: String,
        /// Why the load failed.
        source: Box<Error>,
    },
}

impl From<ServiceError> for Error {
    fn from(e: ServiceError) -> Self {
        Error::Authority(e)
    }
}

impl From<EncodeError> for Error {
    fn from(e: EncodeError) -> Self {
        Error::Encode(e)
    }
}

impl From<ParseError> for Error {
    fn from(e: ParseError) -> Self {
        Error::BadCommand(e)
    }
}

/// Hints for 63Cx, indexed by the tries left.
const WRONG_PIN: [&str; 16] = [
    "wrong PIN, no tries left: the PIN is now blocked",
    "wrong PIN, 1 try left: a further wrong PIN blocks it",
    "wrong PIN, 2 tries left",
    "wrong PIN, 3 tries left",
    "wrong PIN, 4 tries left",
    "wrong PIN, 5 tries left",
    "wrong PIN, 6 tries left",
    "wrong PIN, 7 tries left",
    "wrong PIN, 8 tries left",
    "wrong PIN, 9 tries left",
    "wrong PIN, 10 tries left",
    "wrong PIN, 11 tries left",
    "wrong PIN, 12 tries left",
    "wrong PIN, 13 tries left",
    "wrong PIN, 14 tries left",
    "wrong PIN, 15 tries left",
];

impl Error {
    /// The card's status word, for [`Error::Card`].
    pub fn status(&self) -> Option<StatusWord> {
        match self {
            Error::Card { sw } => Some(*sw),
            _ => None,
        }
    }

    /// What the user can do about this error, when there is something to say.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            Error::Card { sw } => sw_hint(*sw),
            Error::Transport(TransportError::NoResponse) => Some(
                "check that the card is seated and powered; an interrupted command may or may not have taken effect, so read the meter status before retrying",
            ),
            Error::Transport(TransportError::CardRemoved) => {
                Some("insert the card and run the command again")
            }
            Error::Transport(TransportError::Busy(_)) => {
                Some("close the other program using the card, then retry")
            }
            Error::Transport(TransportError::Reset) => {
                Some("another program reset the card: run the command again")
            }
            Error::Malformed(_) => Some(
                "the card or reader misbehaved: reset the card (reinsert it) and retry; if it persists, the card may be faulty",
            ),
            Error::Transport(TransportError::Io(_) | TransportError::Unavailable(_))
            | Error::Encode(_)
            | Error::BadCommand(_)
            | Error::Io(_)
            | Error::Authority(_)
            | Error::AlreadyPersonalized { .. }
            | Error::NotPersonalized
            | Error::LoadsExhausted
            | Error::Input(_) => None,
            Error::Unconfirmed { .. } => Some(
                "nothing to redo: the funds are on the card; run `meter load` later to confirm it",
            ),
            Error::FundsNotLoaded { .. } => {
                Some("load the funds with `meter load AMOUNT` once the cause is fixed")
            }
        }
    }
}

fn sw_hint(sw: StatusWord) -> Option<&'static str> {
    if let Some(n) = sw.tries_left() {
        return WRONG_PIN.get(usize::from(n)).copied();
    }
    Some(match sw {
        StatusWord::SECURITY_STATUS_NOT_SATISFIED => {
            "the owner PIN was not verified (pass --pin or set METER_PIN), or a message's signature did not verify, or (personalization) the authority is not certified by the issuer root this card was made with"
        }
        StatusWord::AUTH_METHOD_BLOCKED => {
            "the PIN is blocked: no tries are left, so the card refuses PIN-protected commands"
        }
        StatusWord::NOT_FOUND => "this card has no certmeter application; is it a meter card?",
        StatusWord::INS_NOT_SUPPORTED | StatusWord::CLA_NOT_SUPPORTED => {
            "this card does not support the command: is it a certmeter card?"
        }
        StatusWord::INSUFFICIENT_FUNDS => {
            "not enough funds: load value from the authority; nothing was charged"
        }
        StatusWord::METER_LOCKED => "meter locked: have it serviced by the authority",
        StatusWord::DATE_REFUSED => {
            "the card prints postage for today or up to 30 days ahead by its own clock, never back-dated: give another --date; nothing was charged"
        }
        StatusWord::LOCKED_BY_TIME => {
            "locked: the service period since the last authority contact is over; contact the authority with `meter sync` (or a load)"
        }
        StatusWord::LOCKED_BY_DEBITS => {
            "locked: the charged operations allowed since the last authority contact are used up; contact the authority with `meter sync` (or a load)"
        }
        StatusWord::CHANNEL_HELLO_REFUSED => {
            "the card refused the authority's channel hello (another card, an old handshake, or not this authority's key): open the channel again"
        }
        StatusWord::CHANNEL_MESSAGE_REFUSED => {
            "the card refused a channel message (replayed, reordered or altered) and closed the channel: open it again"
        }
        StatusWord::RATE_VERSION_NOT_NEWER => {
            "the card already holds this rate table or a newer one: nothing to update"
        }
        StatusWord::TRANSPORT_PIN => {
            "a new card's PIN is a transport PIN: change it with `meter --pin 123456 pin change --new PIN` first"
        }
        StatusWord::NOT_ENOUGH_MEMORY => {
            "the card's memory for this is full: free space on the card (e.g. a certificate slot) first"
        }
        StatusWord::WRONG_LENGTH => {
            "the card rejected the length of the command or of the expected answer: check the input size"
        }
        StatusWord::INCORRECT_DATA => "the card rejected the command data: check the input",
        StatusWord::INCORRECT_P1P2 => {
            "the card rejected the command parameters (P1/P2): is the card software the expected version?"
        }
        StatusWord::CONDITIONS_NOT_SATISFIED => {
            "the card is not in a state for this command (not personalized, or a service not offered): check `meter status`"
        }
        StatusWord::SELECTED_FILE_DEACTIVATED => {
            "the meter application is locked or terminated: contact the authority"
        }
        StatusWord::REFERENCE_DATA_NOT_USABLE => {
            "the message is stale or replayed: get a fresh one and retry"
        }
        StatusWord::COMMAND_NOT_ALLOWED => "select the meter application first",
        StatusWord::REFERENCED_DATA_NOT_FOUND => {
            "the card has no such object (a key, certificate or slot), or (personalization) it was made without an issuer root: make a new card with `meter card new`"
        }
        StatusWord::CREDIT_EXHAUSTED => {
            "the line of credit has less remaining than this payment: nothing was charged; see `meter credit show`"
        }
        StatusWord::NO_CREDIT_LINE => {
            "the card holds no line of credit: ask for one with `meter credit request --amount AMOUNT`"
        }
        StatusWord::MEMORY_FAILURE => {
            "the card failed to write its memory: read the meter status before retrying"
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card(sw: u16) -> Error {
        Error::Card { sw: StatusWord(sw) }
    }

    #[test]
    fn card_messages() {
        assert_eq!(
            card(0x6A84).to_string(),
            "the card refused the command: 6A84 (not enough memory on the card)"
        );
        assert_eq!(
            card(0x9401).to_string(),
            "the card refused the command: 9401 (insufficient funds)"
        );
        assert_eq!(
            card(0x1234).to_string(),
            "the card refused the command: 1234 (unknown status)"
        );
        assert_eq!(card(0x6982).status(), Some(StatusWord(0x6982)));
    }

    #[test]
    fn other_messages() {
        assert_eq!(
            Error::from(TransportError::CardRemoved).to_string(),
            TransportError::CardRemoved.to_string()
        );
        assert_eq!(
            Error::Malformed("GET RESPONSE did not end".into()).to_string(),
            "invalid answer from the card: GET RESPONSE did not end"
        );
        assert_eq!(
            Error::from(EncodeError::InvalidNe).to_string(),
            "cannot encode the command: expected response length must be 1..=65536"
        );
        assert_eq!(
            Error::from(ParseError::TooShort).to_string(),
            "not a well-formed command APDU: command shorter than its 4-byte header"
        );
        assert_eq!(Error::Malformed(String::new()).status(), None);
        let refused = Error::from(ServiceError::DuplicateSerial("PB-1".into()));
        assert_eq!(
            refused.to_string(),
            "authority: meter serial PB-1 is already in use"
        );
        assert!(std::error::Error::source(&refused).is_none());
        assert_eq!(
            Error::AlreadyPersonalized {
                serial: "PB-1".into()
            }
            .to_string(),
            "authority: this card is already personalized as meter PB-1"
        );
        assert_eq!(
            Error::NotPersonalized.to_string(),
            "authority: the card is not personalized yet"
        );
        assert_eq!(
            Error::LoadsExhausted.to_string(),
            "authority: the card's load counter is exhausted"
        );
    }

    #[test]
    fn hints() {
        let hint = |sw| card(sw).hint().unwrap_or("");
        assert!(hint(0x6982).contains("--pin"));
        assert!(hint(0x6983).contains("PIN is blocked"));
        assert_eq!(hint(0x63C2), "wrong PIN, 2 tries left");
        assert!(hint(0x63C1).starts_with("wrong PIN, 1 try left"));
        assert!(hint(0x63C0).contains("blocked"));
        assert!(hint(0x6A82).contains("no certmeter application"));
        assert_eq!(hint(0x6D00), hint(0x6E00));
        assert!(hint(0x6E00).contains("is it a certmeter card?"));
        assert!(hint(0x9401).starts_with("not enough funds: load value"));
        assert!(hint(0x9402).starts_with("meter locked"));
        assert!(hint(0x6985).contains("not personalized"));
        for sw in [0x6A84, 0x6700, 0x6A80, 0x6A86] {
            assert!(!hint(sw).is_empty(), "{sw:04X}");
        }
        // 6300 is not 63Cx: no PIN hint.
        assert_eq!(card(0x6300).hint(), None);
        assert_eq!(card(0x6F00).hint(), None);
        assert!(Error::from(TransportError::NoResponse).hint().is_some());
        assert_eq!(Error::from(EncodeError::DataTooLong).hint(), None);
    }
}
