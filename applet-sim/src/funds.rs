//! The registers and the rate table (Figure 2: 242-250, 257): what a
//! service costs, whether the funds are there, and the debit. Used by every
//! charged flow at its "funds?" decision (Figure 3: 308/310/312, Figure 4:
//! 404/406), with the service and register of its access policy.

use apdu::StatusWord;
use apdu::meter::Service;

use crate::budget::RATE_TABLE_ENTRIES;
use crate::error::Result;
use crate::layout::{DEADLINE, RATE_ENTRY_LEN, RATE_TABLE, REVOCATION_DUE, Register};
use crate::records::{Counters, RegisterRecord};
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
/// up by the same amount, one more piece, written as one record; and one
/// more transaction in `counters` (which the caller writes). Returns the
/// register's new record.
pub fn debit(
    s: &mut Store,
    r: Register,
    amount: u64,
    counters: &mut Counters,
) -> Result<RegisterRecord> {
    let rec = debit_register(s, r, amount)?;
    counters.sequence = counters.sequence.saturating_add(1);
    Ok(rec)
}

/// The register half of [`debit`] (inside an open transaction): descending
/// down, ascending up by `amount`, one more piece, one record; no
/// transaction counted. POSTAGE debits the postage this way beside its fee,
/// which [`debit`] charges: one charged operation, two registers.
pub fn debit_register(s: &mut Store, r: Register, amount: u64) -> Result<RegisterRecord> {
    let mut rec = RegisterRecord::read(s, r)?;
    let (Some(desc), Some(asc)) = (
        rec.descending.checked_sub(amount),
        rec.ascending.checked_add(amount),
    ) else {
        return Err(StatusWord::INSUFFICIENT_FUNDS.into());
    };
    rec.descending = desc;
    rec.ascending = asc;
    rec.pieces = rec.pieces.saturating_add(1);
    rec.write(s, r)?;
    Ok(rec)
}

/// Adds `amount` to the descending register (inside an open transaction),
/// and one more transaction in `counters` (which the caller writes).
/// Returns the register's new record.
pub fn credit(
    s: &mut Store,
    r: Register,
    amount: u64,
    counters: &mut Counters,
) -> Result<RegisterRecord> {
    let mut rec = RegisterRecord::read(s, r)?;
    let total = rec
        .descending
        .checked_add(amount)
        .and_then(|d| d.checked_add(rec.ascending));
    if amount == 0 || total.is_none() {
        return Err(StatusWord::INCORRECT_DATA.into());
    }
    rec.descending += amount;
    rec.write(s, r)?;
    counters.sequence = counters.sequence.saturating_add(1);
    Ok(rec)
}

/// At a contact (inside an open transaction): collects the Revoke fees due
/// ([`crate::layout::REVOCATION_DUE`], Figure 6, 620) from the certificate
/// register if it holds them, as one debit (one piece, one transaction in
/// `counters`). Returns the amount collected (0: nothing due, or not
/// enough funds yet: it stays due).
pub fn collect_due(s: &mut Store, counters: &mut Counters) -> Result<u64> {
    let due = REVOCATION_DUE.get(s)?;
    if due == 0 || Register::Certificate.descending().get(s)? < due {
        return Ok(0);
    }
    debit(s, Register::Certificate, due, counters)?;
    REVOCATION_DUE.set(s, 0)?;
    Ok(due)
}
