//! The simulated card in memory as a [`reader::Transport`]: what the
//! vectors were recorded on, and what [`crate::replay`] runs them against in
//! tests. It is [`reader::sim::MemoryTransport`], offering short APDUs only
//! so that long commands are recorded as chains any reader can replay.

use applet_sim::sim::{Card, SimError};
use reader::sim::MemoryTransport;

use crate::CardSpec;

/// The in-memory simulated card transport.
pub type SimCard = MemoryTransport;

/// A freshly manufactured card as `spec` describes: the card a vector
/// starts from.
pub fn fresh(spec: &CardSpec) -> Result<SimCard, SimError> {
    Card::manufacture(spec.sim_config()).map(|card| MemoryTransport::new(card, false))
}

/// [`fresh`], for tests.
///
/// # Panics
///
/// When the card cannot be manufactured (never with a deterministic config:
/// it needs no operating-system randomness).
pub fn sim_transport(spec: &CardSpec) -> SimCard {
    fresh(spec).unwrap_or_else(|e| panic!("manufacturing a simulated card: {e}"))
}
