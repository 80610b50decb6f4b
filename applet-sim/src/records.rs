//! The grouped records of layout v2 ([`crate::layout`]), read whole and
//! written whole: what one charge or load changes together is one
//! contiguous range, so one logical [`Store::write`] (one journal entry).
//! A value wider than its field is refused ([`StoreError::Overflow`],
//! answered 6A84): a counter never wraps.

use crate::error::Result;
use crate::layout::{
    CLOCK, COUNTERS, COUNTERS_LEN, DEADLINE, Field, LOAD_COUNT, POSTMARK_COUNT,
    REGISTER_RECORD_LEN, Register, SEQUENCE,
};
use crate::store::{Store, StoreError};

/// One register's record (Figure 2: 244/242 or 250/248).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RegisterRecord {
    /// Everything ever charged.
    pub ascending: u64,
    /// Funds left.
    pub descending: u64,
    /// Pieces charged (u32 on the card).
    pub pieces: u64,
}

impl RegisterRecord {
    /// The record of `r`.
    pub fn read(s: &Store, r: Register) -> Result<Self> {
        Ok(RegisterRecord {
            ascending: r.ascending().get(s)?,
            descending: r.descending().get(s)?,
            pieces: r.pieces().get(s)?,
        })
    }

    /// Writes the record of `r` (inside an open transaction): one logical write.
    pub fn write(&self, s: &mut Store, r: Register) -> Result<()> {
        let base = r.record();
        let mut buf = [0u8; REGISTER_RECORD_LEN];
        put(&mut buf, base, r.ascending(), self.ascending)?;
        put(&mut buf, base, r.descending(), self.descending)?;
        put(&mut buf, base, r.pieces(), self.pieces)?;
        base.write(s, &buf)?;
        Ok(())
    }
}

/// The counters record: what every charge or load moves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Counters {
    /// Transaction sequence number (u32 on the card).
    pub sequence: u64,
    /// Postmarks signed (u32).
    pub postmarks: u64,
    /// The secure clock (232): the latest time the card has seen.
    pub clock: u64,
    /// Value loads accepted (u32).
    pub load_count: u64,
    /// Service deadline, Unix seconds.
    pub deadline: u64,
}

impl Counters {
    /// The stored counters.
    pub fn read(s: &Store) -> Result<Self> {
        Ok(Counters {
            sequence: SEQUENCE.get(s)?,
            postmarks: POSTMARK_COUNT.get(s)?,
            clock: CLOCK.get(s)?,
            load_count: LOAD_COUNT.get(s)?,
            deadline: DEADLINE.get(s)?,
        })
    }

    /// Moves the clock forward to `t`; an earlier `t` leaves it as it is.
    pub fn advance_clock(&mut self, t: u64) {
        self.clock = self.clock.max(t);
    }

    /// Writes the counters (inside an open transaction): one logical write.
    pub fn write(&self, s: &mut Store) -> Result<()> {
        let mut buf = [0u8; COUNTERS_LEN];
        put(&mut buf, COUNTERS, SEQUENCE, self.sequence)?;
        put(&mut buf, COUNTERS, POSTMARK_COUNT, self.postmarks)?;
        put(&mut buf, COUNTERS, CLOCK, self.clock)?;
        put(&mut buf, COUNTERS, LOAD_COUNT, self.load_count)?;
        put(&mut buf, COUNTERS, DEADLINE, self.deadline)?;
        COUNTERS.write(s, &buf)?;
        Ok(())
    }
}

/// Encodes `v` big-endian into `field`'s bytes of `buf`, the image of
/// `record`; [`StoreError::Overflow`] when it does not fit.
fn put(
    buf: &mut [u8],
    record: Field,
    field: Field,
    v: u64,
) -> core::result::Result<(), StoreError> {
    let at = field
        .at
        .checked_sub(record.at)
        .ok_or(StoreError::OutOfBounds)?;
    let dst = buf
        .get_mut(at..at + field.len)
        .ok_or(StoreError::OutOfBounds)?;
    let bytes = v.to_be_bytes();
    let (high, low) = bytes
        .split_at_checked(8usize.saturating_sub(field.len))
        .ok_or(StoreError::OutOfBounds)?;
    if high.iter().any(|&b| b != 0) {
        return Err(StoreError::Overflow);
    }
    dst.copy_from_slice(low);
    Ok(())
}

/// The card's state as a recharge request and an audit report carry it
/// ([`apdu::cmd::recharge::MeterState`]), with `now` as the clock.
pub fn meter_state(s: &Store, now: u64) -> Result<apdu::cmd::recharge::MeterState> {
    use apdu::cmd::recharge::{MeterState, RegisterState};
    let reg = |r: Register| -> Result<RegisterState> {
        let rec = RegisterRecord::read(s, r)?;
        Ok(RegisterState {
            ascending: rec.ascending,
            descending: rec.descending,
            pieces: rec.pieces.min(u64::from(u32::MAX)) as u32,
        })
    };
    let c = Counters::read(s)?;
    let narrow = |v: u64| v.min(u64::from(u32::MAX)) as u32;
    Ok(MeterState {
        postage: reg(Register::Postage)?,
        certificate: reg(Register::Certificate)?,
        sequence: narrow(c.sequence),
        clock: now,
        load_count: narrow(c.load_count),
        postmarks: narrow(c.postmarks),
        rate_version: narrow(crate::layout::RATE_VERSION.get(s)?),
    })
}
