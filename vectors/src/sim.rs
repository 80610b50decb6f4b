//! The simulated card in memory as a [`reader::Transport`]: what the
//! vectors were recorded on, and what [`crate::replay`] runs them against in
//! tests. It is [`reader::sim::MemoryTransport`], offering short APDUs only
//! so that long commands are recorded as chains any reader can replay.

use applet_sim::sim::{Card, SimError};
use reader::Transport;
use reader::sim::MemoryTransport;

use crate::CardSpec;

/// The in-memory simulated card transport.
pub type SimCard = MemoryTransport;

/// A freshly manufactured card as `spec` describes: the card a vector
/// starts from. With an issuer root, the factory's step is done too
/// ([`factory_step`]).
pub fn fresh(spec: &CardSpec) -> Result<SimCard, SimError> {
    let card = Card::manufacture(spec.sim_config())?;
    let card = factory_step(spec, MemoryTransport::new(card, true))
        .map_err(|_| SimError::Mute)?
        .into_card();
    Ok(MemoryTransport::new(card, false))
}

/// The factory's step for the card `spec` describes, just manufactured
/// behind `transport` (in memory, or the virtual card behind pcscd): with
/// an issuer root and not [`CardSpec::unattested`], the deterministic
/// authority of that seed certifies the card's attestation key
/// ([`reader::manufacture::certify_attestation`]), then the card is reset
/// (nothing selected, nothing in RAM). Otherwise nothing is sent.
pub fn factory_step<T: Transport>(spec: &CardSpec, transport: T) -> Result<T, reader::Error> {
    match spec.issuer_root {
        Some(seed) if !spec.unattested => certify(transport, seed, spec.time),
        _ => Ok(transport),
    }
}

/// The card behind `transport` with its attestation key certified by the
/// deterministic authority of `seed` (clock at `time`), then reset.
fn certify<T: Transport>(transport: T, seed: u64, time: u64) -> Result<T, reader::Error> {
    let mut issuer = authority::Authority::deterministic("CERTMETER-CA", seed, time)
        .map_err(|e| reader::Error::Authority(e.into()))?;
    let mut meter = reader::Meter::new(transport);
    reader::manufacture::certify_attestation(&mut meter, &mut issuer)?;
    let mut transport = meter.into_transport();
    transport.reset()?;
    Ok(transport)
}

/// `card` with its attestation key certified by the deterministic
/// authority of `seed` (clock at `time`), then reset. A failure (never
/// with a deterministic card and authority) is [`SimError::Mute`].
pub fn attested(card: Card, seed: u64, time: u64) -> Result<Card, SimError> {
    certify(MemoryTransport::new(card, true), seed, time)
        .map(MemoryTransport::into_card)
        .map_err(|_| SimError::Mute)
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
