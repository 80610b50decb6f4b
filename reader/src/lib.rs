//! PC side (Figure 2, PC 204): transport -> APDU exchange -> typed Meter API -> CLI.
//!
//! Layers, bottom up:
//!
//! * [`transport`]: the [`Transport`] trait, one way to reach a card (the
//!   in-process simulator, PC/SC, ...), and its [`TransportError`].
//! * [`exchange()`]: the host side of the ISO 7816-4 transmission rules on top
//!   of a transport: command chaining, GET RESPONSE after `61xx`, resend
//!   after `6Cxx`.
//! * [`meter`]: the typed [`Meter`] API, one method per card command.
//! * [`card`]: `--card` selectors and the data directory; [`sim`]: the
//!   in-process simulator transport.
//! * `src/bin/meter`: the `meter` CLI.
//!
//! [`mock::ScriptedTransport`] is a scripted card for tests.
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod card;
pub mod error;
pub mod exchange;
pub mod export;
pub mod meter;
pub mod money;
pub mod pcsc;
pub mod personalize;
pub mod postmark;
pub mod sim;
pub mod transport;
pub mod value;

pub use card::CardSpec;
pub use error::Error;
pub use exchange::{check, exchange, exchange_raw};
pub use meter::Meter;
pub use transport::{Exclusive, Transport, TransportError, mock};
