//! PC side (Figure 2, PC 204): transport -> session -> APDU exchange ->
//! typed Meter API -> host flows. The `meter` CLI is crate `certmeter-cli`
//! (`cli/`).
//!
//! Layers, bottom up:
//!
//! * [`error`]: [`Error`] and [`TransportError`], with hints; they depend on
//!   nothing else here.
//! * [`transport`]: the [`Transport`] trait, one way to reach a card: the
//!   in-process simulator ([`sim`]), PC/SC ([`pcsc`]), ...
//! * [`session`]: a [`Session`] over any transport keeps the last SELECT
//!   and VERIFY and replays them when the transport reports a reset.
//! * [`exchange()`]: the host side of the ISO 7816-4 transmission rules on top
//!   of a transport: command chaining, GET RESPONSE after `61xx`, resend
//!   after `6Cxx`.
//! * [`meter`]: the typed [`Meter`] API, one method per card command.
//! * The flows: [`postmark`], [`value`] (loads) and [`personalize`], the
//!   last two with any authority behind
//!   [`AuthorityService`](authority_api::AuthorityService).
//! * [`card`]: `--card` selectors (opened as sessions) and the data
//!   directory; [`export`], [`money`]: formats.
//!
//! [`mock::ScriptedTransport`] is a scripted card for tests.
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod agent;
pub mod audit;
pub mod card;
pub mod channel;
pub mod credit;
pub mod error;
pub mod exchange;
pub mod export;
pub mod holder;
pub mod install;
pub mod key_update;
pub mod manufacture;
pub mod meter;
pub mod money;
pub mod pay;
pub mod pcsc;
pub mod personalize;
pub mod pin;
pub mod postage;
pub mod postage_print;
pub mod postmark;
pub mod rates;
pub mod recharge;
pub mod revoke;
pub mod session;
pub mod sim;
pub mod sync;
pub mod transport;
pub mod value;

pub use card::CardSpec;
pub use error::{Error, TransportError};
pub use exchange::{check, exchange, exchange_raw};
pub use meter::Meter;
pub use session::Session;
pub use transport::{Exclusive, Transport, mock};
