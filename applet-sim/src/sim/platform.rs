//! The simulated card's hardware: random numbers from the OS or from a
//! seed, and a clock from the system or fixed (deterministic mode).

use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};

use crate::platform::Platform;

/// How a simulated card gets randomness and time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SimConfig {
    /// Seed for a deterministic random number generator; `None` uses the OS.
    pub seed: Option<u64>,
    /// A clock that never moves, in Unix seconds; `None` uses the system clock.
    pub fixed_time: Option<u64>,
    /// The issuer root public key (uncompressed SEC1) pinned into a card
    /// manufactured with this configuration; `None` makes a card that no
    /// authority can personalize. Not used when a card is opened.
    pub issuer_root: Option<[u8; 65]>,
}

impl SimConfig {
    /// Deterministic mode: seeded randomness and a fixed clock (test vectors).
    pub fn deterministic(seed: u64, time: u64) -> Self {
        SimConfig {
            seed: Some(seed),
            fixed_time: Some(time),
            issuer_root: None,
        }
    }

    /// This configuration, manufacturing cards with `root` pinned as their
    /// issuer root.
    pub fn with_issuer_root(self, root: [u8; 65]) -> Self {
        SimConfig {
            issuer_root: Some(root),
            ..self
        }
    }
}

/// The simulated hardware.
#[derive(Clone)]
pub struct SimPlatform {
    rng: ChaCha20Rng,
    fixed_time: Option<u64>,
}

impl SimPlatform {
    /// Hardware as configured. Without a seed, the generator is seeded once
    /// from the operating system; that fails only if the OS has no source.
    pub fn new(config: SimConfig) -> Result<Self, getrandom::Error> {
        let rng = match config.seed {
            Some(seed) => ChaCha20Rng::seed_from_u64(seed),
            None => {
                let mut seed = [0u8; 32];
                getrandom::fill(&mut seed)?;
                ChaCha20Rng::from_seed(seed)
            }
        };
        Ok(SimPlatform {
            rng,
            fixed_time: config.fixed_time,
        })
    }
}

impl Platform for SimPlatform {
    fn fill_random(&mut self, buf: &mut [u8]) {
        self.rng.fill_bytes(buf);
    }

    fn now(&self) -> u64 {
        self.fixed_time.unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0)
        })
    }
}
