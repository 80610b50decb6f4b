//! The card's fixed memory budgets. The simulator enforces them: a command
//! that would exceed one answers 6A84 (not enough memory), never a panic.

/// Persistent memory (EEPROM/flash) in bytes, journal included.
pub const PERSISTENT_CAPACITY: usize = 32 * 1024;
/// The transaction journal (commit buffer) inside persistent memory.
pub const JOURNAL_CAPACITY: usize = 2 * 1024;
/// Persistent memory left for objects.
pub const DATA_CAPACITY: usize = PERSISTENT_CAPACITY - JOURNAL_CAPACITY;
/// Transient RAM for the applet's volatile state, APDU buffer excluded.
pub const TRANSIENT_CAPACITY: usize = 2 * 1024;
/// The APDU buffer: the longest extended command (4 + 3 + 65535 + 2 bytes).
/// Chained commands are reassembled into it too.
pub const APDU_BUFFER_SIZE: usize = apdu::command::MAX_COMMAND_LEN;
/// The response buffer: 65536 data bytes and the status word.
pub const RESPONSE_BUFFER_SIZE: usize = apdu::command::EXTENDED_MAX_NE + 2;
/// Certificate slots (Figure 2, certificate data 252/254).
pub const CERTIFICATE_SLOTS: usize = 4;
/// Largest certificate one slot holds.
pub const CERTIFICATE_SLOT_SIZE: usize = 512;
/// Authority public keys the card can hold (current and next).
pub const AUTHORITY_KEY_SLOTS: usize = 2;
/// Entries in the rate table (Figure 2, 257).
pub const RATE_TABLE_ENTRIES: usize = 8;
/// Longest meter serial (Figure 2, 238), as the wire defines it.
pub use apdu::meter::SERIAL_MAX_LEN;

/// Logical persistent writes (one [`crate::store::Store::write`] on one
/// contiguous range) one POSTMARK may make: the register record and the
/// counters record (layout v2), with one to spare. A count, not a timing;
/// enforced by `tests/write_budget.rs`.
pub const POSTMARK_LOGICAL_WRITES: u32 = 3;
/// Journal bytes (entry headers and saved bytes) one POSTMARK may use.
/// Enforced by `tests/write_budget.rs`.
pub const POSTMARK_JOURNAL_BYTES: usize = 128;
/// Logical writes one POSTAGE (a postage indicium) may make: the
/// certificate register record (the Indicium fee), the postage register
/// record (postage and piece) and the counters record, none to spare.
/// Enforced by `tests/write_budget.rs`.
pub const POSTAGE_LOGICAL_WRITES: u32 = 3;
/// Journal bytes one POSTAGE may use. Enforced by `tests/write_budget.rs`.
pub const POSTAGE_JOURNAL_BYTES: usize = 128;
/// Logical persistent writes one PAY (Figure 9) may make: the credit
/// record (remaining and payment count), the certificate register record
/// (the Payment fee) and the counters record. Enforced by
/// `tests/write_budget.rs`.
pub const PAY_LOGICAL_WRITES: u32 = 3;
/// Journal bytes one PAY may use (measured: 84). Enforced by
/// `tests/write_budget.rs`.
pub const PAY_JOURNAL_BYTES: usize = 128;
/// Bytes of the attestation certificate slot (layout v3), after its u16
/// length.
pub const ATTESTATION_CERTIFICATE_SIZE: usize = 320;
