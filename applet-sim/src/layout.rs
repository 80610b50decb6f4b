//! Where each object of Figure 2 lives in persistent memory, and typed
//! access to it. The layout is fixed at compile time and checked against
//! [`DATA_CAPACITY`].
//!
//! The layout is versioned ([`VERSION`], stored in [`LAYOUT_VERSION`]).
//! Version 1 (commit 832d877) had no version byte; version 2 groups what
//! changes together: each register's ascending, descending and piece count
//! in one record, and the sequence, postmark count, clock, load count and
//! deadline in one counters record, in the same bytes v1 used for them.
//! [`crate::migrate`] brings an older image to this version at power-up.
//! From version 2 on the layout is append-only: a later version adds fields
//! after [`END`] (or in bytes no version used) and never moves one, so its
//! migration only fills the new fields. Version 3 appends, after the v2
//! objects ([`V2_END`]), the issuer root pinned at manufacture
//! ([`ISSUER_ROOT_PRESENT`], [`ISSUER_ROOT`]) and the card's attestation
//! key and certificate ([`ATTESTATION_KEY_PRESENT`] ..
//! [`ATTESTATION_CERTIFICATE`]). Version 4 appends, after the v3 objects
//! ([`V3_END`]), the agent block ([`AGENT`]: the count of certificates
//! issued as an agent, Figure 3A) and the revocation block. Version 5
//! appends, after the v4 objects ([`V4_END`]), the value block ([`VALUE`]:
//! the rate table's version and the audit report chain).

use crate::budget::{
    ATTESTATION_CERTIFICATE_SIZE, AUTHORITY_KEY_SLOTS, CERTIFICATE_SLOT_SIZE, CERTIFICATE_SLOTS,
    DATA_CAPACITY, RATE_TABLE_ENTRIES, SERIAL_MAX_LEN,
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
    /// The first field of a layout: `len` bytes at offset 0.
    pub const fn first(len: usize) -> Self {
        Field { at: 0, len }
    }

    /// The field of `len` bytes right after this one.
    pub const fn then(self, len: usize) -> Self {
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

/// The layout version this software reads and writes.
pub const VERSION: u8 = 5;

/// The layout version byte. It sits at a place no layout moves: the last
/// byte of the object area, right below the journal. Version 1 never wrote
/// there (its objects end at byte 2461 and memory starts erased), so a
/// manufactured card with 0 here is a version 1 image; erased memory (life
/// cycle 0) is not a card at all. Any other value than 0 or [`VERSION`] is
/// a layout this software does not know and must not read.
pub const LAYOUT_VERSION: Field = Field {
    at: DATA_CAPACITY - 1,
    len: 1,
};

/// What the memory holds, as far as its layout goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stored {
    /// Erased memory: no card yet (life cycle 0, no version).
    Erased,
    /// A card of layout `n`, which this software knows (1 or [`VERSION`]).
    Known(u8),
    /// A card of a layout this software does not know (a newer one).
    Unknown(u8),
}

/// The layout of the card in `s`.
pub fn stored(s: &Store) -> Stored {
    let version = LAYOUT_VERSION.get(s).unwrap_or(0) as u8;
    match version {
        0 if LIFECYCLE.get(s).unwrap_or(0) == 0 => Stored::Erased,
        0 => Stored::Known(1),
        2 => Stored::Known(2),
        3 => Stored::Known(3),
        4 => Stored::Known(4),
        VERSION => Stored::Known(VERSION),
        n => Stored::Unknown(n),
    }
}

/// Whether `s` holds a card of the current layout.
pub fn is_current(s: &Store) -> bool {
    stored(s) == Stored::Known(VERSION)
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
/// Bytes of one register record: ascending u64, descending u64, piece
/// count u32, which every charge changes together (one logical write).
pub const REGISTER_RECORD_LEN: usize = 8 + 8 + 4;
/// Postage register record (244, 242): ascending, descending, pieces.
pub const POSTAGE_REGISTER: Field = PIN_TRIES.then(REGISTER_RECORD_LEN);
/// Certificate register record (250, 248): ascending, descending, pieces.
pub const CERTIFICATE_REGISTER: Field = POSTAGE_REGISTER.then(REGISTER_RECORD_LEN);
/// Postage ascending register (244): all postage ever charged.
pub const POSTAGE_ASCENDING: Field = POSTAGE_REGISTER.sub(0, 8);
/// Postage descending register (244): postage funds left.
pub const POSTAGE_DESCENDING: Field = POSTAGE_REGISTER.sub(8, 8);
/// Postage piece count (242).
pub const POSTAGE_PIECES: Field = POSTAGE_REGISTER.sub(16, 4);
/// Certificate ascending register (250).
pub const CERTIFICATE_ASCENDING: Field = CERTIFICATE_REGISTER.sub(0, 8);
/// Certificate descending register (250).
pub const CERTIFICATE_DESCENDING: Field = CERTIFICATE_REGISTER.sub(8, 8);
/// Certificate piece count (248).
pub const CERTIFICATE_PIECES: Field = CERTIFICATE_REGISTER.sub(16, 4);
/// Rate table (257): [`RATE_TABLE_ENTRIES`] entries of service byte + fee u64.
pub const RATE_TABLE: Field = CERTIFICATE_REGISTER.then(RATE_TABLE_ENTRIES * RATE_ENTRY_LEN);
/// Bytes of one rate-table entry: stored as on the wire.
pub use apdu::meter::RATE_ENTRY_LEN;
/// Bytes of the counters record: sequence u32, postmark count u32, clock
/// u64, load count u32, deadline u64. A charge or a load changes them
/// together (one logical write, see [`crate::records::Counters`]).
pub const COUNTERS_LEN: usize = 4 + 4 + 8 + 4 + 8;
/// The counters record.
pub const COUNTERS: Field = RATE_TABLE.then(COUNTERS_LEN);
/// Transaction sequence number: one more for every committed charge or load.
pub const SEQUENCE: Field = COUNTERS.sub(0, 4);
/// Postmarks signed: the last postmark's sequence number.
pub const POSTMARK_COUNT: Field = COUNTERS.sub(4, 4);
/// Secure clock (232): the latest time the card has seen, never lowered.
pub const CLOCK: Field = COUNTERS.sub(8, 8);
/// Value loads accepted: the next load message must carry this + 1.
pub const LOAD_COUNT: Field = COUNTERS.sub(16, 4);
/// Service deadline (Unix seconds): debits stop after it until a load.
pub const DEADLINE: Field = COUNTERS.sub(20, 8);
/// Certificate slots (252/254): each a u16 length then the certificate.
pub const CERTIFICATES: Field = COUNTERS.then(CERTIFICATE_SLOTS * CERTIFICATE_SLOT_LEN);
/// Bytes of one certificate slot, length prefix included.
pub const CERTIFICATE_SLOT_LEN: usize = 2 + CERTIFICATE_SLOT_SIZE;

/// One past the last byte layout v2 used (v2 fields end here; v3 appends).
pub const V2_END: usize = CERTIFICATES.end();

/// v3: whether an issuer root is pinned (1) or not (0: a card made before
/// layout v3, migrated; it refuses personalization with `6A88`).
pub const ISSUER_ROOT_PRESENT: Field = Field { at: V2_END, len: 1 };
/// v3: the issuer root public key (uncompressed SEC1), written once at
/// manufacture ([`crate::Applet::manufacture`]); it certifies the authority
/// keys the card accepts.
pub const ISSUER_ROOT: Field = ISSUER_ROOT_PRESENT.then(PUBLIC_KEY_LEN);

/// v3: whether the attestation key pair exists (1), made at manufacture.
pub const ATTESTATION_KEY_PRESENT: Field = ISSUER_ROOT.then(1);
/// v3: the attestation private key scalar; never leaves the card.
pub const ATTESTATION_PRIVATE_KEY: Field = ATTESTATION_KEY_PRESENT.then(32);
/// v3: the attestation public key, uncompressed SEC1.
pub const ATTESTATION_PUBLIC_KEY: Field = ATTESTATION_PRIVATE_KEY.then(PUBLIC_KEY_LEN);
/// v3: the attestation certificate by the issuer root: a u16 length (0:
/// none yet) then the certificate (STORE ATTESTATION CERTIFICATE, once).
pub const ATTESTATION_CERTIFICATE: Field =
    ATTESTATION_PUBLIC_KEY.then(2 + ATTESTATION_CERTIFICATE_SIZE);

/// v3: the owner PIN is still the transport PIN a new card comes with (1),
/// or was changed (0; a card migrated from v2 counts as changed). Commands
/// that spend or personalize refuse the transport PIN (`9403`).
pub const PIN_TRANSPORT: Field = ATTESTATION_CERTIFICATE.then(1);

/// Bytes of the contact record: set (1), authority time (u64), sequence at
/// the contact (u32), service days, grace days, max debits (u32 each).
pub const CONTACT_LEN: usize = 1 + 8 + 4 + 4 + 4 + 4;
/// v3: the last authority contact (personalization, load, unblock, sync)
/// and the service policy it set, one record written at each contact
/// ([`crate::contact::Contact`]). The charged operations since the contact
/// are the transaction sequence minus the one stored here: a debit writes
/// nothing more than before.
pub const CONTACT: Field = PIN_TRANSPORT.then(CONTACT_LEN);

/// One past the last byte layout v3 used (v3 fields end here; v4 appends).
pub const V3_END: usize = CONTACT.end();

/// Bytes of the agent block: the count of agent certificates issued (u32).
pub const AGENT_LEN: usize = 4;
/// v4, the agent block (Figure 3A, [certs] agent): the certificates this
/// card issued as an agent (ISSUE CERTIFICATE), u32; the last one's serial.
/// Zero on a card migrated from v3: none issued.
pub const AGENT: Field = Field {
    at: V3_END,
    len: AGENT_LEN,
};
/// Inside [`AGENT`]: the count of agent certificates issued.
pub const AGENT_ISSUED: Field = AGENT.sub(0, 4);

// v4, [certs] revocation (Figure 6): one block. Zero on a v3 card means
// "nothing revoked, nothing due".

/// v4: per certificate slot, 0 when its certificate is not revoked, else
/// its RFC 5280 reason code plus one. A revoked certificate signs nothing
/// (the meter certificate: no loads, no postmarks).
pub const REVOKED: Field = Field {
    at: AGENT.end(),
    len: CERTIFICATE_SLOTS,
};
/// v4: the Revoke fees due (620), collected at the next contact that
/// finds the funds (u64; 0: nothing due).
pub const REVOCATION_DUE: Field = REVOKED.then(8);

/// One past the last byte layout v4 used (v4 fields end here; v5 appends).
pub const V4_END: usize = REVOCATION_DUE.end();

// v5, [value] credit (Figures 7A, 8, 9): one block. Zero on a v4 card
// means "no line of credit, no payment made".

/// Bytes of the credit record: line number (u32), line (u64), credit
/// remaining (u64), payments made (u32), which STORE CREDIT LINE and PAY
/// write whole (one logical write).
pub const CREDIT_RECORD_LEN: usize = 4 + 8 + 8 + 4;
/// Bytes of the credit block: the record, the 7A's SHA-256, and the line
/// file (u16 length, then the creditor certificate and the 7A).
pub const CREDIT_LEN: usize =
    CREDIT_RECORD_LEN + 32 + 2 + apdu::cmd::credit_line::LINE_FILE_MAX_LEN;
/// v5, the credit block (Figure 8, 810/812; Figure 9, 908).
pub const CREDIT: Field = Field {
    at: V4_END,
    len: CREDIT_LEN,
};
/// Inside [`CREDIT`]: the credit record.
pub const CREDIT_RECORD: Field = CREDIT.sub(0, CREDIT_RECORD_LEN);
/// Inside the record: lines stored (the current line's number; 0: none).
pub const CREDIT_LINE_NUMBER: Field = CREDIT_RECORD.sub(0, 4);
/// Inside the record: the current line, minor units (712).
pub const CREDIT_LINE: Field = CREDIT_RECORD.sub(4, 8);
/// Inside the record: credit remaining (812, 908).
pub const CREDIT_REMAINING: Field = CREDIT_RECORD.sub(12, 8);
/// Inside the record: payments made on this card, every line (the last
/// payment certificate's serial, 726).
pub const CREDIT_PAYMENTS: Field = CREDIT_RECORD.sub(20, 4);
/// Inside [`CREDIT`]: SHA-256 of the stored 7A (what each 7B names, 730).
pub const CREDIT_DIGEST: Field = CREDIT.sub(CREDIT_RECORD_LEN, 32);
/// Inside [`CREDIT`]: the line file, a u16 length then the creditor
/// certificate and the 7A (810).
pub const CREDIT_FILE: Field = CREDIT.sub(
    CREDIT_RECORD_LEN + 32,
    2 + apdu::cmd::credit_line::LINE_FILE_MAX_LEN,
);

/// Bytes of the value block: rate-table version (u32), audit reports
/// signed (u32), the last report's hash (32).
pub const VALUE_LEN: usize = 4 + 4 + 32;
/// v5, after the credit block: the value block ([value]: rate table versions, inspection). Zero on
/// a card migrated from v4: the rate table personalization installed
/// (version 0), no audit report signed yet.
pub const VALUE: Field = Field {
    at: CREDIT.end(),
    len: VALUE_LEN,
};
/// Inside [`VALUE`]: the rate table's version (257), u32: a RATE UPDATE
/// must carry a higher one.
pub const RATE_VERSION: Field = VALUE.sub(0, 4);
/// Inside [`VALUE`]: audit reports signed, u32 (the last one's number).
pub const AUDIT_COUNT: Field = VALUE.sub(4, 4);
/// Inside [`VALUE`]: SHA-256 of the last audit report's signed body (zeros
/// before the first): the next report chains to it.
pub const AUDIT_HASH: Field = VALUE.sub(8, 32);

/// One past the last byte the layout uses.
pub const END: usize = VALUE.end();

const _: () = assert!(END <= DATA_CAPACITY, "layout exceeds the persistent budget");
const _: () = assert!(
    END <= LAYOUT_VERSION.at,
    "the objects reach the layout version byte"
);

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

    /// The register's record: ascending, descending and piece count, in
    /// this order ([`REGISTER_RECORD_LEN`] bytes).
    pub const fn record(self) -> Field {
        match self {
            Register::Postage => POSTAGE_REGISTER,
            Register::Certificate => CERTIFICATE_REGISTER,
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
