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
/// starts from. With an issuer root, the factory's step is done too: the
/// deterministic authority of that seed certifies the card's attestation
/// key ([`reader::manufacture::certify_attestation`]), then the card is
/// reset (nothing selected, nothing in RAM).
pub fn fresh(spec: &CardSpec) -> Result<SimCard, SimError> {
    let card = Card::manufacture(spec.sim_config())?;
    let card = match spec.issuer_root {
        Some(seed) if !spec.unattested => attested(card, seed, spec.time)?,
        _ => card,
    };
    Ok(MemoryTransport::new(card, false))
}

/// `card` with its attestation key certified by the deterministic
/// authority of `seed` (clock at `time`), then reset. A failure (never
/// with a deterministic card and authority) is [`SimError::Mute`].
pub fn attested(card: Card, seed: u64, time: u64) -> Result<Card, SimError> {
    let mut issuer = authority::Authority::deterministic("CERTMETER-CA", seed, time)
        .map_err(|_| SimError::Mute)?;
    let mut meter = reader::Meter::new(MemoryTransport::new(card, true));
    reader::manufacture::certify_attestation(&mut meter, &mut issuer)
        .map_err(|_| SimError::Mute)?;
    let mut card = meter.into_transport().into_card();
    card.reset();
    Ok(card)
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
