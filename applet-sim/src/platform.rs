//! What the card takes from its hardware: a random number generator and the
//! tick of its clock. The simulator provides both (seeded and fixed in
//! deterministic mode).

/// The card's hardware services.
pub trait Platform {
    /// Fills `buf` from the card's random number generator.
    fn fill_random(&mut self, buf: &mut [u8]);
    /// The time source of the secure clock (Figure 2, 232), in seconds since
    /// the Unix epoch. The card never lets its clock go back, whatever this says.
    fn now(&self) -> u64;
}
