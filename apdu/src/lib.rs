//! The wire between the PC (Figure 2, port 216) and the meter (port 234).
//!
//! * [`atr`]: the historical bytes and card capabilities of an ATR.
//! * [`command`]: ISO 7816-4 command APDUs of every case (1, 2S, 3S, 4S, 2E,
//!   3E, 4E), strictly parsed and encoded.
//! * [`response`]: response APDUs (data followed by SW1 SW2).
//! * [`status`]: status words with their ISO meanings.
//! * [`tlv`]: a heap-free BER-TLV reader and writer for the card.
//! * [`signed`], [`cert`], [`postmark`], [`message`]: the signed objects
//!   (Figure 1 certificates, Figure 3 postmarks, authority messages), and
//!   with the `crypto` feature, [`crypto`]: their verification.
//! * [`cmd`]: the meter's command set, one module per flow (SELECT, PIN,
//!   GET DATA, ... READ CERTIFICATE), each with its INS/P1/P2, its command
//!   (an arm of [`meter::Request`]), its answers and signed messages, with
//!   heap-free encoders beside the parsers: the card encodes and the host
//!   decodes with the same code.
//! * [`meter`]: the command set under one roof (CLA, INS, P1/P2, tags, the
//!   typed [`meter::Request`]), re-exported from [`cmd`].
//! * [`byte_enum!`]: the byte enums of the wire (life-cycle, services...).
//!
//! The crate is `no_std`; the `alloc` feature adds owned types for the host.
#![cfg_attr(not(test), no_std)]
#![deny(unsafe_code)]
#![warn(missing_docs)]

#[cfg(feature = "alloc")]
extern crate alloc;

mod macros;

pub mod atr;
pub mod cert;
#[cfg(feature = "crypto")]
pub mod channel;
pub mod cmd;
pub mod command;
#[cfg(feature = "crypto")]
pub mod crypto;
#[cfg(feature = "crypto")]
pub mod ecies;
pub mod message;
pub mod meter;
pub mod policy;
pub mod postmark;
pub mod response;
pub mod signed;
pub mod status;
pub mod tlv;

pub use command::{Case, Command, ParseError};
pub use response::Response;
pub use status::StatusWord;

#[cfg(feature = "alloc")]
pub use command::CommandBuf;
#[cfg(feature = "alloc")]
pub use response::ResponseBuf;
