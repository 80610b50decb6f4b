//! One module per command flow, each named for what it does. A flow gets a
//! [`crate::context::Context`] from the dispatcher ([`crate::applet`]),
//! after the command's access policy ([`apdu::policy`]) was checked, and
//! checks only what is its own (data, state, funds) before it writes.
//!
//! Flows use the lower modules (state, layout, store, platform, funds,
//! clock, signing, certificates), never the dispatcher and never each other.

pub mod attestation;
pub mod audit;
pub mod challenge;
pub mod channel;
pub mod credit_line;
pub mod generate_key;
pub mod get_data;
pub mod hash;
pub mod install;
pub mod issue_certificate;
pub mod key_update;
pub mod load_value;
pub mod pay;
pub mod personalize;
pub mod pin;
pub mod postage;
pub mod postmark;
pub mod rate_update;
pub mod read_certificate;
pub mod recharge;
pub mod revoke;
pub mod select;
pub mod sign;
pub mod sync;
pub mod unblock;
pub mod verify_postmark;
