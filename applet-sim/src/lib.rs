//! The meter card (Figure 2, meter 218).
//!
//! The card core is `no_std` and heap-free: every object lives at a fixed
//! place in a [`store::Store`] of [`budget::PERSISTENT_CAPACITY`] bytes, every
//! persistent write goes through a journaled transaction, and the volatile
//! state fits [`budget::TRANSIENT_CAPACITY`]. Build it alone with
//! `cargo build -p applet-sim --no-default-features`.
//!
//! [`applet`] is the dispatcher: it parses a command, checks its access
//! policy ([`apdu::policy`]) once, and lends a [`context::Context`] to the
//! command's flow in [`flows`]. Flows use the lower modules ([`state`],
//! [`records`], [`funds`], [`clock`], [`signing`], [`certificates`],
//! [`layout`], [`store`], [`platform`]), never the dispatcher nor each other
//! (`tests/module_graph.rs` checks it). The persistent layout is versioned
//! ([`layout::VERSION`]); [`migrate`] brings older images to it.
//!
//! With the default `std` feature, [`sim`] wraps the core in a simulated
//! card: power, ATR, command chaining, GET RESPONSE, a state file and
//! tearing injection.
#![cfg_attr(not(any(feature = "std", test)), no_std)]
#![deny(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

pub mod applet;
pub mod budget;
pub mod certificates;
pub mod clock;
pub mod contact;
pub mod context;
pub mod credit;
pub mod error;
pub mod flows;
pub mod funds;
pub mod keys;
pub mod layout;
pub mod migrate;
pub mod platform;
pub mod records;
pub mod signing;
pub mod state;
pub mod store;

#[cfg(feature = "std")]
pub mod sim;
#[cfg(feature = "std")]
pub mod vpcd;

pub use applet::{Applet, Outcome};
pub use error::Error;
pub use platform::Platform;
pub use state::Transient;
pub use store::Store;
