//! How a command ends when it does not succeed.

use apdu::StatusWord;

use crate::store::StoreError;

/// A command's failure: a status word for the host, or the power was cut.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// Answer this status word; the transaction (if any) is rolled back.
    Status(StatusWord),
    /// The power was cut during a persistent write: the card answers nothing.
    PowerLost,
}

impl From<StatusWord> for Error {
    fn from(sw: StatusWord) -> Self {
        Error::Status(sw)
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::PowerLost => Error::PowerLost,
            StoreError::JournalFull | StoreError::OutOfBounds | StoreError::Overflow => {
                Error::Status(StatusWord::NOT_ENOUGH_MEMORY)
            }
            StoreError::NoTransaction | StoreError::NestedTransaction => {
                Error::Status(StatusWord::UNKNOWN)
            }
        }
    }
}

impl From<apdu::tlv::TlvError> for Error {
    fn from(_: apdu::tlv::TlvError) -> Self {
        Error::Status(StatusWord::NOT_ENOUGH_MEMORY)
    }
}

/// Shorthand for results of card operations.
pub type Result<T> = core::result::Result<T, Error>;
