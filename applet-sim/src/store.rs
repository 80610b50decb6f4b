//! Persistent memory with journaled transactions (Java Card style).
//!
//! The image is [`PERSISTENT_CAPACITY`] bytes: objects below
//! [`DATA_CAPACITY`], the journal above. Inside a transaction every write
//! first appends the bytes it overwrites to the journal, then raises the
//! journal's length word, then writes the data. Committing sets the length
//! word to zero. At power-up [`Store::recover`] puts back every journaled
//! range, newest first, so the image is exactly as at the last commit.
//!
//! Writes of the two-byte length word are atomic (the one guarantee the
//! hardware must give); any other write may be cut part way. The simulator
//! cuts the power at the N-th write with [`Store::tear_at`].

use crate::budget::{DATA_CAPACITY, JOURNAL_CAPACITY, PERSISTENT_CAPACITY};

const JOURNAL_AT: usize = DATA_CAPACITY;
const JOURNAL_HEADER: usize = 2;
const ENTRY_HEADER: usize = 4;

/// Why a store operation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreError {
    /// The power was cut during a write (tearing): nothing more is written
    /// until the next power-up.
    PowerLost,
    /// The transaction would overflow the journal.
    JournalFull,
    /// The range lies outside the object area.
    OutOfBounds,
    /// A number does not fit its field (a counter at its end).
    Overflow,
    /// A write outside a transaction.
    NoTransaction,
    /// `begin` inside a transaction.
    NestedTransaction,
}

/// What the store did since its counters were last reset
/// ([`Store::reset_stats`]); the simulator resets them before every command
/// (`sim::Card::last_command_stats`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StoreStats {
    /// Logical writes: [`Store::write`] calls, each on one contiguous range.
    pub logical_writes: u32,
    /// Physical writes: journal entries, the length word, data, commit and
    /// recovery. These are the tear points [`Store::tear_at`] counts.
    pub raw_writes: u64,
    /// The most the journal held (entry headers and saved bytes, as counted
    /// by its length word).
    pub journal_bytes: usize,
}

impl StoreStats {
    const ZERO: StoreStats = StoreStats {
        logical_writes: 0,
        raw_writes: 0,
        journal_bytes: 0,
    };
}

/// The card's persistent memory.
#[derive(Clone)]
pub struct Store {
    image: [u8; PERSISTENT_CAPACITY],
    in_transaction: bool,
    writes: u64,
    stats: StoreStats,
    tear_at: Option<u64>,
    powered: bool,
    dirty: bool,
}

impl Default for Store {
    fn default() -> Self {
        Self::new()
    }
}

impl Store {
    /// Erased memory (all zero), powered.
    pub const fn new() -> Self {
        Store {
            image: [0; PERSISTENT_CAPACITY],
            in_transaction: false,
            writes: 0,
            stats: StoreStats::ZERO,
            tear_at: None,
            powered: true,
            dirty: false,
        }
    }

    /// Loads a saved image; run [`Store::recover`] before use.
    pub fn from_image(image: &[u8; PERSISTENT_CAPACITY]) -> Self {
        let mut s = Self::new();
        s.image.copy_from_slice(image);
        s
    }

    /// The raw image, journal included (what a state file saves).
    pub fn image(&self) -> &[u8; PERSISTENT_CAPACITY] {
        &self.image
    }

    /// The object area only (what must be identical across a torn command).
    pub fn data(&self) -> &[u8] {
        self.image.get(..DATA_CAPACITY).unwrap_or(&[])
    }

    /// Persistent writes since this store was made or loaded.
    pub fn writes(&self) -> u64 {
        self.writes
    }

    /// The counters since the last [`Store::reset_stats`].
    pub fn stats(&self) -> StoreStats {
        self.stats
    }

    /// Zeroes the counters (the simulator does so before every command).
    pub fn reset_stats(&mut self) {
        self.stats = StoreStats::ZERO;
    }

    /// Cuts the power during the `n`-th write from now (1 = the next one).
    pub fn tear_at(&mut self, n: u64) {
        self.tear_at = Some(self.writes + n);
    }

    /// Whether the power was cut and the card awaits a power-up.
    pub fn is_torn(&self) -> bool {
        !self.powered
    }

    /// Whether anything was written since the flag was last taken.
    pub fn take_dirty(&mut self) -> bool {
        core::mem::take(&mut self.dirty)
    }

    /// Whether a transaction is open.
    pub fn in_transaction(&self) -> bool {
        self.in_transaction
    }

    /// Reads `len` bytes of the object area at `at`.
    pub fn read(&self, at: usize, len: usize) -> Result<&[u8], StoreError> {
        let end = at.checked_add(len).ok_or(StoreError::OutOfBounds)?;
        if end > DATA_CAPACITY {
            return Err(StoreError::OutOfBounds);
        }
        self.image.get(at..end).ok_or(StoreError::OutOfBounds)
    }

    /// Opens a transaction.
    pub fn begin(&mut self) -> Result<(), StoreError> {
        if !self.powered {
            return Err(StoreError::PowerLost);
        }
        if self.in_transaction {
            return Err(StoreError::NestedTransaction);
        }
        self.in_transaction = true;
        Ok(())
    }

    /// Writes `bytes` at `at` in the object area, journaling what they replace.
    pub fn write(&mut self, at: usize, bytes: &[u8]) -> Result<(), StoreError> {
        if !self.in_transaction {
            return Err(StoreError::NoTransaction);
        }
        let len = bytes.len();
        let end = at.checked_add(len).ok_or(StoreError::OutOfBounds)?;
        if end > DATA_CAPACITY || len > u16::MAX as usize {
            return Err(StoreError::OutOfBounds);
        }
        let used = self.journal_used();
        let entry = ENTRY_HEADER + len;
        if JOURNAL_HEADER + used + entry > JOURNAL_CAPACITY {
            return Err(StoreError::JournalFull);
        }
        self.stats.logical_writes = self.stats.logical_writes.saturating_add(1);
        // 1. The entry: where, how long, the old bytes. Not yet counted.
        let entry_at = JOURNAL_AT + JOURNAL_HEADER + used;
        let mut header = [0u8; ENTRY_HEADER];
        header[..2].copy_from_slice(&(at as u16).to_be_bytes());
        header[2..].copy_from_slice(&(len as u16).to_be_bytes());
        self.raw_write(entry_at, &header, false)?;
        self.copy_within_image(at, end, entry_at + ENTRY_HEADER)?;
        // 2. Count it (atomic).
        self.set_journal_used(used + entry)?;
        self.stats.journal_bytes = self.stats.journal_bytes.max(used + entry);
        // 3. The new data.
        self.raw_write(at, bytes, false)
    }

    /// Makes every write since [`Store::begin`] permanent.
    pub fn commit(&mut self) -> Result<(), StoreError> {
        if !self.in_transaction {
            return Err(StoreError::NoTransaction);
        }
        if self.journal_used() > 0 {
            self.set_journal_used(0)?;
        }
        self.in_transaction = false;
        Ok(())
    }

    /// Undoes every write since [`Store::begin`].
    pub fn abort(&mut self) -> Result<(), StoreError> {
        self.in_transaction = false;
        self.rollback()
    }

    /// Power-up: clears the power-cut state and undoes an interrupted transaction.
    pub fn recover(&mut self) -> Result<(), StoreError> {
        self.powered = true;
        self.tear_at = None;
        self.in_transaction = false;
        self.rollback()
    }

    fn rollback(&mut self) -> Result<(), StoreError> {
        // Restore the newest entry, then forget it, until none is left. Each
        // step is idempotent, so a power cut during recovery is harmless.
        while let Some(last) = self.last_entry() {
            let (entry_at, at, len) = last;
            let old_at = JOURNAL_AT + JOURNAL_HEADER + entry_at + ENTRY_HEADER;
            self.copy_within_image(old_at, old_at + len, at)?;
            self.set_journal_used(entry_at)?;
        }
        Ok(())
    }

    /// The newest journal entry: its offset in the journal, target and length.
    fn last_entry(&self) -> Option<(usize, usize, usize)> {
        let used = self.journal_used();
        let mut pos = 0;
        let mut last = None;
        while pos < used {
            let h = self
                .image
                .get(JOURNAL_AT + JOURNAL_HEADER + pos..)?
                .get(..ENTRY_HEADER)?;
            let at = usize::from(u16::from_be_bytes([*h.first()?, *h.get(1)?]));
            let len = usize::from(u16::from_be_bytes([*h.get(2)?, *h.get(3)?]));
            last = Some((pos, at, len));
            pos += ENTRY_HEADER + len;
        }
        last
    }

    fn journal_used(&self) -> usize {
        match self.image.get(JOURNAL_AT..JOURNAL_AT + 2) {
            Some(&[a, b]) => {
                usize::from(u16::from_be_bytes([a, b])).min(JOURNAL_CAPACITY - JOURNAL_HEADER)
            }
            _ => 0,
        }
    }

    fn set_journal_used(&mut self, used: usize) -> Result<(), StoreError> {
        self.raw_write(JOURNAL_AT, &(used as u16).to_be_bytes(), true)
    }

    fn copy_within_image(&mut self, from: usize, to: usize, dest: usize) -> Result<(), StoreError> {
        let mut tmp = [0u8; 64];
        let mut src = from;
        let mut dst = dest;
        // Copy in pieces through a small buffer: one write per piece.
        while src < to {
            let n = (to - src).min(tmp.len());
            let piece = tmp.get_mut(..n).ok_or(StoreError::OutOfBounds)?;
            piece.copy_from_slice(
                self.image
                    .get(src..src + n)
                    .ok_or(StoreError::OutOfBounds)?,
            );
            self.raw_write(dst, piece, false)?;
            src += n;
            dst += n;
        }
        Ok(())
    }

    /// One physical write. A torn write leaves its first half written
    /// (atomic writes leave nothing).
    fn raw_write(&mut self, at: usize, bytes: &[u8], atomic: bool) -> Result<(), StoreError> {
        if !self.powered {
            return Err(StoreError::PowerLost);
        }
        let dst = self
            .image
            .get_mut(at..at + bytes.len())
            .ok_or(StoreError::OutOfBounds)?;
        self.writes += 1;
        self.stats.raw_writes += 1;
        self.dirty = true;
        if self.tear_at == Some(self.writes) {
            if !atomic {
                let half = bytes.len() / 2;
                if let (Some(d), Some(s)) = (dst.get_mut(..half), bytes.get(..half)) {
                    d.copy_from_slice(s);
                }
            }
            self.powered = false;
            self.in_transaction = false;
            return Err(StoreError::PowerLost);
        }
        dst.copy_from_slice(bytes);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_all(s: &mut Store) -> Result<(), StoreError> {
        s.begin()?;
        s.write(0, &[1; 10])?;
        s.write(100, &[2; 150])?;
        s.write(5, &[3; 10])?; // overlaps the first write
        s.write(1000, &[4; 8])?;
        s.commit()
    }

    #[test]
    fn commit_and_abort() {
        let mut s = Store::new();
        write_all(&mut s).unwrap();
        assert_eq!(s.read(0, 5).unwrap(), &[1; 5]);
        assert_eq!(s.read(5, 10).unwrap(), &[3; 10]);
        s.begin().unwrap();
        s.write(100, &[9; 150]).unwrap();
        s.abort().unwrap();
        assert_eq!(s.read(100, 150).unwrap(), &[2; 150]);
    }

    #[test]
    fn journal_overflow_is_an_error_and_rolls_back() {
        let mut s = Store::new();
        s.begin().unwrap();
        s.write(0, &[7; 1000]).unwrap();
        assert_eq!(s.write(2000, &[7; 1100]), Err(StoreError::JournalFull));
        s.abort().unwrap();
        assert!(s.data().iter().all(|&b| b == 0));
        assert_eq!(s.write(0, &[1]), Err(StoreError::NoTransaction));
        assert_eq!(s.read(DATA_CAPACITY - 1, 2), Err(StoreError::OutOfBounds));
    }

    /// Cuts the power at every write of a multi-write transaction, and at
    /// every write of the recovery after it: each power-up finds all of the
    /// transaction or none of it.
    #[test]
    fn tearing_at_every_write_is_all_or_nothing() {
        let mut before = Store::new();
        before.begin().unwrap();
        before.write(0, &[0xEE; 30]).unwrap();
        before.commit().unwrap();
        let mut after = before.clone();
        let w0 = after.writes();
        write_all(&mut after).unwrap();
        let total = after.writes() - w0;
        assert!(total >= 12, "a multi-write transaction: {total} writes");
        let (mut saw_old, mut saw_new) = (0, 0);
        for n in 1..=total {
            let mut s = before.clone();
            s.tear_at(n);
            assert_eq!(write_all(&mut s), Err(StoreError::PowerLost), "write {n}");
            assert!(s.is_torn());
            // A second cut during recovery, at each of its writes, then a clean one.
            for m in 1..=8 {
                let mut r = s.clone();
                r.powered = true;
                r.tear_at(m);
                let _ = r.rollback();
                r.recover().unwrap();
                check(&r, &before, &after);
            }
            s.recover().unwrap();
            if s.data() == before.data() {
                saw_old += 1;
            } else {
                saw_new += 1;
            }
            check(&s, &before, &after);
        }
        // Only the final length-word write commits.
        assert_eq!((saw_old, saw_new), (total, 0));
        // A cut after the commit keeps it.
        let mut s = before.clone();
        write_all(&mut s).unwrap();
        s.tear_at(1);
        s.recover().unwrap();
        assert_eq!(s.data(), after.data());
    }

    fn check(s: &Store, before: &Store, after: &Store) {
        assert!(s.data() == before.data() || s.data() == after.data());
        assert_eq!(s.journal_used(), 0);
    }
}
