//! Where each object of Figure 2 lives in persistent memory, and typed
//! access to it. The layout is fixed at compile time and checked against
//! [`DATA_CAPACITY`].

use crate::budget::{
    AUTHORITY_KEY_SLOTS, CERTIFICATE_SLOT_SIZE, CERTIFICATE_SLOTS, DATA_CAPACITY,
    RATE_TABLE_ENTRIES, SERIAL_MAX_LEN,
};
use crate::store::{Store, StoreError};
use apdu::meter::{PIN_MAX_LEN, PUBLIC_KEY_LEN};

/// A fixed range of persistent memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field {
    /// Offset in the object area.
    pub at: usize,
    /// Length in bytes.
    pub len: usize,
}

impl Field {
    const fn first(len: usize) -> Self {
        Field { at: 0, len }
    }

    const fn then(self, len: usize) -> Self {
        Field {
            at: self.at + self.len,
            len,
        }
    }

    /// The `i`-th of `n` equal parts of this field.
    pub const fn part(self, i: usize, n: usize) -> Self {
        let len = self.len / n;
        Field {
            at: self.at + i * len,
            len,
        }
    }

    /// The sub-range `at..at + len` of this field.
    pub const fn sub(self, at: usize, len: usize) -> Self {
        Field {
            at: self.at + at,
            len,
        }
    }

    /// One past the last byte.
    pub const fn end(self) -> usize {
        self.at + self.len
    }

    /// The bytes of this field.
    pub fn read(self, s: &Store) -> Result<&[u8], StoreError> {
        s.read(self.at, self.len)
    }

    /// Writes `bytes` (at most `len`) at the start of this field.
    pub fn write(self, s: &mut Store, bytes: &[u8]) -> Result<(), StoreError> {
        if bytes.len() > self.len {
            return Err(StoreError::OutOfBounds);
        }
        s.write(self.at, bytes)
    }

    /// The field as a big-endian unsigned integer (1, 2, 4 or 8 bytes).
    pub fn get(self, s: &Store) -> Result<u64, StoreError> {
        let b = self.read(s)?;
        Ok(b.iter().fold(0u64, |acc, &x| (acc << 8) | u64::from(x)))
    }

    /// Stores `v` big-endian in this field; [`StoreError::Overflow`] when it
    /// does not fit (a counter never wraps).
    pub fn set(self, s: &mut Store, v: u64) -> Result<(), StoreError> {
        let bytes = v.to_be_bytes();
        let from = 8usize.saturating_sub(self.len);
        let (high, low) = bytes
            .split_at_checked(from)
            .ok_or(StoreError::OutOfBounds)?;
        // A counter never wraps: a value wider than its field is refused.
        if high.iter().any(|&b| b != 0) {
            return Err(StoreError::Overflow);
        }
        self.write(s, low)
    }
}

/// Life-cycle byte ([`apdu::meter::Lifecycle`]); 0 is erased memory.
pub const LIFECYCLE: Field = Field::first(1);
/// Chip identifier, random at manufacture.
pub const CHIP_ID: Field = LIFECYCLE.then(8);
/// Meter serial (238): length byte, then the serial.
pub const SERIAL: Field = CHIP_ID.then(1 + SERIAL_MAX_LEN);
/// Meter key pair present (246): one byte, 1 when generated.
pub const METER_KEY_PRESENT: Field = SERIAL.then(1);
/// Meter private key scalar; never leaves the card.
pub const METER_PRIVATE_KEY: Field = METER_KEY_PRESENT.then(32);
/// Meter public key, uncompressed SEC1.
pub const METER_PUBLIC_KEY: Field = METER_PRIVATE_KEY.then(PUBLIC_KEY_LEN);
/// Number of authority public keys installed.
pub const AUTHORITY_KEY_COUNT: Field = METER_PUBLIC_KEY.then(1);
/// Authority public keys (uncompressed SEC1), [`AUTHORITY_KEY_SLOTS`] of them.
pub const AUTHORITY_KEYS: Field = AUTHORITY_KEY_COUNT.then(AUTHORITY_KEY_SLOTS * PUBLIC_KEY_LEN);
/// Owner PIN length.
pub const PIN_LEN: Field = AUTHORITY_KEYS.then(1);
/// Owner PIN value, zero padded.
pub const PIN_VALUE: Field = PIN_LEN.then(PIN_MAX_LEN);
/// Owner PIN tries left.
pub const PIN_TRIES: Field = PIN_VALUE.then(1);
/// Postage ascending register (244): all postage ever charged.
pub const POSTAGE_ASCENDING: Field = PIN_TRIES.then(8);
/// Postage descending register (244): postage funds left.
pub const POSTAGE_DESCENDING: Field = POSTAGE_ASCENDING.then(8);
/// Certificate ascending register (250).
pub const CERTIFICATE_ASCENDING: Field = POSTAGE_DESCENDING.then(8);
/// Certificate descending register (250).
pub const CERTIFICATE_DESCENDING: Field = CERTIFICATE_ASCENDING.then(8);
/// Postage piece count (242).
pub const POSTAGE_PIECES: Field = CERTIFICATE_DESCENDING.then(4);
/// Certificate piece count (248).
pub const CERTIFICATE_PIECES: Field = POSTAGE_PIECES.then(4);
/// Rate table (257): [`RATE_TABLE_ENTRIES`] entries of service byte + fee u64.
pub const RATE_TABLE: Field = CERTIFICATE_PIECES.then(RATE_TABLE_ENTRIES * RATE_ENTRY_LEN);
/// Bytes of one rate-table entry: stored as on the wire.
pub use apdu::meter::RATE_ENTRY_LEN;
/// Secure clock (232): the latest time the card has seen, never lowered.
pub const CLOCK: Field = RATE_TABLE.then(8);
/// Transaction sequence number: one more for every committed charge or load.
pub const SEQUENCE: Field = CLOCK.then(4);
/// Value loads accepted: the next load message must carry this + 1.
pub const LOAD_COUNT: Field = SEQUENCE.then(4);
/// Service deadline (Unix seconds): debits stop after it until a load.
pub const DEADLINE: Field = LOAD_COUNT.then(8);
/// Postmarks signed: the last postmark's sequence number.
pub const POSTMARK_COUNT: Field = DEADLINE.then(4);
/// Certificate slots (252/254): each a u16 length then the certificate.
pub const CERTIFICATES: Field = POSTMARK_COUNT.then(CERTIFICATE_SLOTS * CERTIFICATE_SLOT_LEN);
/// Bytes of one certificate slot, length prefix included.
pub const CERTIFICATE_SLOT_LEN: usize = 2 + CERTIFICATE_SLOT_SIZE;

/// One past the last byte the layout uses.
pub const END: usize = CERTIFICATES.end();

const _: () = assert!(END <= DATA_CAPACITY, "layout exceeds the persistent budget");

/// Which value register (Figure 2: 244 postage, 250 certificate).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Register {
    /// Postage register (244) and postage piece count (242).
    Postage,
    /// Certificate register (250) and certificate piece count (248).
    Certificate,
}

impl From<apdu::meter::RegisterId> for Register {
    /// The card-side register for a wire register id.
    fn from(id: apdu::meter::RegisterId) -> Self {
        match id {
            apdu::meter::RegisterId::Postage => Register::Postage,
            apdu::meter::RegisterId::Certificate => Register::Certificate,
        }
    }
}

impl Register {
    /// The ascending register: everything ever charged.
    pub const fn ascending(self) -> Field {
        match self {
            Register::Postage => POSTAGE_ASCENDING,
            Register::Certificate => CERTIFICATE_ASCENDING,
        }
    }

    /// The descending register: funds left.
    pub const fn descending(self) -> Field {
        match self {
            Register::Postage => POSTAGE_DESCENDING,
            Register::Certificate => CERTIFICATE_DESCENDING,
        }
    }

    /// The piece count charged with this register.
    pub const fn pieces(self) -> Field {
        match self {
            Register::Postage => POSTAGE_PIECES,
            Register::Certificate => CERTIFICATE_PIECES,
        }
    }
}
