//! Bringing an older persistent image to the current layout
//! ([`crate::layout::VERSION`]), at power-up, after the journal recovery
//! (an interrupted transaction is undone in the layout it was written in,
//! then the image is migrated).
//!
//! Each step is one journaled transaction, so a power cut leaves the image
//! as it was and the next power-up migrates again.
//!
//! v1 -> v2:
//!
//! - v1 bytes 265..305 (postage ascending, postage descending, certificate
//!   ascending, certificate descending, postage pieces, certificate pieces)
//!   become the two register records (ascending, descending, pieces each);
//! - v1 bytes 377..405 (clock, sequence, load count, deadline, postmark
//!   count) become the counters record (sequence, postmark count, clock,
//!   load count, deadline);
//! - the version byte ([`crate::layout::LAYOUT_VERSION`]) is set to 2, last.
//!
//! v2 -> v3: the fields v3 appends (after [`layout::V2_END`]) are zero in
//! a v2 image, which is what v3 means by "no issuer root pinned": a blank
//! card then refuses personalization (`6A88`) until it is replaced by a
//! card made with an issuer root; a personalized card keeps working with the
//! authority key it holds. Only the version byte is set, to 3.
//!
//! v3 -> v4: the agent block v4 appends (after [`layout::V3_END`]) is zero
//! in a v3 image: no certificate issued as an agent. Only the version byte
//! is set, to 4.
//!
//! v4 -> v5: the credit block and the value block v5 appends (after
//! [`layout::V4_END`]) are zero in a v4 image (erased memory, never
//! written): no line of credit, no payment, rate table version 0, no audit
//! report. Each is zero-filled where it is not already zero (an image
//! written by a newer layout experiment is not trusted), then the version
//! byte is set to 5.
//!
//! Everything else stays where v1 put it. A layout this software does not
//! know ([`Stored::Unknown`]) is left untouched: the card then answers as
//! erased memory (SELECT `6A82`) rather than misread it.

use crate::error::{Error, Result};
use crate::layout::{self, COUNTERS, LAYOUT_VERSION, Register, Stored, VERSION};
use crate::records::{Counters, RegisterRecord};
use crate::store::Store;

/// Layout v1 (commit 832d877), frozen: the fields v2 moved.
pub mod v1 {
    use crate::layout::Field;

    /// Postage ascending register.
    pub const POSTAGE_ASCENDING: Field = Field { at: 265, len: 8 };
    /// Postage descending register.
    pub const POSTAGE_DESCENDING: Field = POSTAGE_ASCENDING.then(8);
    /// Certificate ascending register.
    pub const CERTIFICATE_ASCENDING: Field = POSTAGE_DESCENDING.then(8);
    /// Certificate descending register.
    pub const CERTIFICATE_DESCENDING: Field = CERTIFICATE_ASCENDING.then(8);
    /// Postage piece count.
    pub const POSTAGE_PIECES: Field = CERTIFICATE_DESCENDING.then(4);
    /// Certificate piece count.
    pub const CERTIFICATE_PIECES: Field = POSTAGE_PIECES.then(4);
    /// Rate table (unchanged in v2).
    pub const RATE_TABLE: Field = CERTIFICATE_PIECES.then(72);
    /// Secure clock.
    pub const CLOCK: Field = RATE_TABLE.then(8);
    /// Transaction sequence number.
    pub const SEQUENCE: Field = CLOCK.then(4);
    /// Value loads accepted.
    pub const LOAD_COUNT: Field = SEQUENCE.then(4);
    /// Service deadline.
    pub const DEADLINE: Field = LOAD_COUNT.then(8);
    /// Postmarks signed.
    pub const POSTMARK_COUNT: Field = DEADLINE.then(4);
    /// One past the last byte v1 used.
    pub const END: usize = 2461;
}

// v2 regrouped v1's fields inside the same bytes: the object area ends where
// it did (so the status template's memory figure, tag 8D, is unchanged), and
// the fields v2 did not move are where v1 had them.
const _: () = assert!(layout::V2_END == v1::END);
const _: () = assert!(layout::RATE_TABLE.at == v1::RATE_TABLE.at);
const _: () = assert!(layout::POSTAGE_REGISTER.at == v1::POSTAGE_ASCENDING.at);
const _: () = assert!(layout::CERTIFICATE_REGISTER.end() == v1::CERTIFICATE_PIECES.end());
const _: () = assert!(COUNTERS.at == v1::CLOCK.at && COUNTERS.end() == v1::POSTMARK_COUNT.end());

/// Brings the image in `s` to the current layout, if it is an older one
/// this software knows. Erased memory, the current layout and unknown
/// layouts are left as they are.
pub fn migrate(s: &mut Store) -> Result<()> {
    if layout::stored(s) == Stored::Known(1) {
        v1_to_v2(s)?;
    }
    if layout::stored(s) == Stored::Known(2) {
        v2_to_v3(s)?;
    }
    if layout::stored(s) == Stored::Known(3) {
        v3_to_v4(s)?;
    }
    if layout::stored(s) == Stored::Known(4) {
        v4_to_v5(s)?;
    }
    Ok(())
}

/// v2 -> v3: the appended fields are already zero (no issuer root); the
/// version byte says so.
fn v2_to_v3(s: &mut Store) -> Result<()> {
    s.begin()?;
    crate::layout::ISSUER_ROOT_PRESENT.set(s, 0)?;
    LAYOUT_VERSION.set(s, 3)?;
    s.commit()?;
    Ok(())
}

/// v3 to v4: the appended blocks (agent: none issued; revocation: nothing
/// revoked, nothing due) are zero on a v3 card (erased memory, never
/// written). Only the version byte is written.
fn v3_to_v4(s: &mut Store) -> Result<()> {
    s.begin()?;
    LAYOUT_VERSION.set(s, 4)?;
    s.commit()?;
    Ok(())
}

/// v4 to v5: the credit and value blocks zero-filled (only where it is not already
/// zero, so a fresh v4 image costs no journal for it), then the version.
fn v4_to_v5(s: &mut Store) -> Result<()> {
    s.begin()?;
    for block in [layout::CREDIT, layout::VALUE] {
        if !block.read(s)?.iter().any(|&b| b != 0) {
            continue;
        }
        let zero = [0u8; 64];
        let mut at = 0;
        while at < block.len {
            let n = (block.len - at).min(zero.len());
            block.sub(at, n).write(s, zero.get(..n).unwrap_or(&[]))?;
            at += n;
        }
    }
    LAYOUT_VERSION.set(s, u64::from(VERSION))?;
    s.commit()?;
    Ok(())
}

/// v1 -> v2: the registers and counters regrouped.
fn v1_to_v2(s: &mut Store) -> Result<()> {
    let read = |r: Register, asc: layout::Field, desc: layout::Field, pieces: layout::Field| {
        Ok::<_, Error>((
            r,
            RegisterRecord {
                ascending: asc.get(s)?,
                descending: desc.get(s)?,
                pieces: pieces.get(s)?,
            },
        ))
    };
    let registers = [
        read(
            Register::Postage,
            v1::POSTAGE_ASCENDING,
            v1::POSTAGE_DESCENDING,
            v1::POSTAGE_PIECES,
        )?,
        read(
            Register::Certificate,
            v1::CERTIFICATE_ASCENDING,
            v1::CERTIFICATE_DESCENDING,
            v1::CERTIFICATE_PIECES,
        )?,
    ];
    let counters = Counters {
        sequence: v1::SEQUENCE.get(s)?,
        postmarks: v1::POSTMARK_COUNT.get(s)?,
        clock: v1::CLOCK.get(s)?,
        load_count: v1::LOAD_COUNT.get(s)?,
        deadline: v1::DEADLINE.get(s)?,
    };
    s.begin()?;
    for (r, rec) in registers {
        rec.write(s, r)?;
    }
    counters.write(s)?;
    LAYOUT_VERSION.set(s, 2)?;
    s.commit()?;
    Ok(())
}
