//! The registers and the rate table (Figure 2: 242-250, 257): what a
//! service costs, whether the funds are there, and the debit. Used by every
//! charged flow at its "funds?" decision (Figure 3: 308/310/312, Figure 4:
//! 404/406).

use apdu::StatusWord;
use apdu::meter::Service;

use crate::budget::RATE_TABLE_ENTRIES;
use crate::error::Result;
use crate::layout::{DEADLINE, RATE_ENTRY_LEN, RATE_TABLE, Register, SEQUENCE};
use crate::store::Store;

/// The fee of `service` from the rate table; 6985 when the authority has
/// not priced it (the service is not offered).
pub fn fee(s: &Store, service: Service) -> Result<u64> {
    let table = RATE_TABLE.read(s)?;
    table
        .chunks_exact(RATE_ENTRY_LEN)
        .take(RATE_TABLE_ENTRIES)
        .find(|e| e.first() == Some(&(service as u8)))
        .and_then(|e| apdu::tlv::as_u64(e.get(1..)?))
        .ok_or_else(|| StatusWord::CONDITIONS_NOT_SATISFIED.into())
}

/// The "funds?" decision: 9402 when the meter is past its service deadline
/// (locked out), 9401 when the register holds less than `amount`. Touches
/// nothing.
pub fn check(s: &Store, now: u64, r: Register, amount: u64) -> Result<()> {
    let deadline = DEADLINE.get(s)?;
    if deadline != 0 && now > deadline {
        return Err(StatusWord::METER_LOCKED.into());
    }
    if r.descending().get(s)? < amount {
        return Err(StatusWord::INSUFFICIENT_FUNDS.into());
    }
    Ok(())
}

/// The deduction (inside an open transaction): descending down, ascending
/// up by the same amount, one more piece, one more transaction.
pub fn debit(s: &mut Store, r: Register, amount: u64) -> Result<()> {
    let desc = r.descending().get(s)?;
    let asc = r.ascending().get(s)?;
    let (Some(desc), Some(asc)) = (desc.checked_sub(amount), asc.checked_add(amount)) else {
        return Err(StatusWord::INSUFFICIENT_FUNDS.into());
    };
    r.descending().set(s, desc)?;
    r.ascending().set(s, asc)?;
    let pieces = r.pieces().get(s)?;
    r.pieces().set(s, pieces.saturating_add(1))?;
    bump_sequence(s)
}

/// Adds `amount` to the descending register (inside an open transaction).
pub fn credit(s: &mut Store, r: Register, amount: u64) -> Result<()> {
    let desc = r.descending().get(s)?;
    let asc = r.ascending().get(s)?;
    let total = desc.checked_add(amount).and_then(|d| d.checked_add(asc));
    if amount == 0 || total.is_none() {
        return Err(StatusWord::INCORRECT_DATA.into());
    }
    r.descending().set(s, desc + amount)?;
    bump_sequence(s)
}

fn bump_sequence(s: &mut Store) -> Result<()> {
    let n = SEQUENCE.get(s)?;
    SEQUENCE.set(s, n.saturating_add(1))?;
    Ok(())
}
