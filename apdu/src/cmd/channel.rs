//! The card-authority channel on the wire (Figure 2, comm key 256; Figure 5,
//! step 508). The protocol is [`crate::channel`]; these commands carry it.
//! The host relays opaque bytes between the card and the authority.
//!
//! - CHANNEL KEY: `80 E6 00 00 10 nonce 00`: the card's static channel key
//!   registration, signed by the meter key (which the authority certified
//!   at personalization, bound to the chip id) over the authority's fresh
//!   nonce:
//!
//! ```text
//! 7F78 channel key registration                 card -> authority
//!   7F4E { 80 object type 7F78, 81 chip id, 7F49 { 86 channel public key },
//!          8B authority nonce (16) }
//!   5F37 signature by the meter key
//! ```
//!
//! - OPEN CHANNEL: `80 E8 00 00 00`: a fresh handshake; answers the channel
//!   request `7F77` ([`crate::channel::Request`]). Any earlier handshake or
//!   channel is dropped.
//! - CHANNEL HELLO: `80 E8 01 00 Lc 7F76...`: the authority's hello; the
//!   channel opens (no answer data).
//! - CHANNEL MESSAGE: `80 EA 00 00 Lc sealed 00`: a sealed message from the
//!   authority (`counter || ciphertext || tag`); the card answers its
//!   sealed reply. The plaintext's first tag says what it asks:
//!   `E6 { data }` (key confirmation: the card answers `E6 { data }`).
//!
//! The handshake and the channel live in transient RAM: power-up, reset
//! and SELECT clear them. Refusals: `9406` a hello for another chip,
//! nonce or card key, or not signed by the authority (the handshake is
//! dropped); `9407` a replayed, reordered, altered or otherwise refused
//! channel message (the channel is closed: a new handshake is needed);
//! `6985` no handshake or channel open; `6A80` a malformed object.

use super::Request;
use super::personalize::{CHIP_ID, OBJECT_TYPE, check_type, object_type};
use crate::cert;
use crate::command::Command;
use crate::signed::{self, FormatError, SIGNATURE_LEN, Signed};
use crate::status::StatusWord;
use crate::tlv::{Tag, TlvError, Writer};

/// CHANNEL KEY.
pub const INS_KEY: u8 = 0xE6;
/// OPEN CHANNEL (P1 `00`) and CHANNEL HELLO (P1 `01`).
pub const INS_OPEN: u8 = 0xE8;
/// CHANNEL MESSAGE.
pub const INS_MESSAGE: u8 = 0xEA;
/// OPEN CHANNEL P1: start a handshake.
pub const P1_START: u8 = 0x00;
/// OPEN CHANNEL P1: the authority's hello.
pub const P1_HELLO: u8 = 0x01;
/// Bytes of the authority's nonce.
pub const NONCE_LEN: usize = 16;

/// The channel key registration, signed by the meter key.
pub const REGISTRATION: Tag = 0x7F78;
/// Inside the registration: the authority's nonce.
pub const NONCE: Tag = 0x8B;
/// The key-confirmation request and answer (the plaintext of a channel
/// message).
pub const CONFIRM: Tag = 0xE6;

pub(crate) fn parse_key<'a>(cmd: &Command<'a>) -> Result<Request<'a>, StatusWord> {
    super::p1p2_zero(cmd)?;
    match cmd.data.try_into() {
        Ok(nonce) => Ok(Request::ChannelKey { nonce }),
        Err(_) => Err(StatusWord::WRONG_LENGTH),
    }
}

pub(crate) fn parse_open<'a>(cmd: &Command<'a>) -> Result<Request<'a>, StatusWord> {
    if cmd.p2 != 0 {
        return Err(StatusWord::INCORRECT_P1P2);
    }
    match cmd.p1 {
        P1_START => {
            super::no_data(cmd.data)?;
            Ok(Request::OpenChannel)
        }
        P1_HELLO => {
            super::some_data(cmd.data)?;
            Ok(Request::ChannelHello { hello: cmd.data })
        }
        _ => Err(StatusWord::INCORRECT_P1P2),
    }
}

pub(crate) fn parse_message<'a>(cmd: &Command<'a>) -> Result<Request<'a>, StatusWord> {
    super::p1p2_zero(cmd)?;
    super::some_data(cmd.data)?;
    Ok(Request::ChannelMessage { sealed: cmd.data })
}

/// The CHANNEL KEY command for the authority's `nonce`.
pub fn key_command(nonce: &[u8; NONCE_LEN]) -> Command<'_> {
    super::prop(INS_KEY, 0, nonce, Some(256))
}

/// The OPEN CHANNEL command.
pub fn open_command() -> Command<'static> {
    super::prop(INS_OPEN, P1_START, &[], Some(256))
}

/// The CHANNEL HELLO command carrying the authority's `hello`.
pub fn hello_command(hello: &[u8]) -> Command<'_> {
    super::prop(INS_OPEN, P1_HELLO, hello, None)
}

/// The CHANNEL MESSAGE command carrying a `sealed` message.
pub fn message_command(sealed: &[u8]) -> Command<'_> {
    super::prop(INS_MESSAGE, 0, sealed, Some(256))
}

/// The signed fields of a channel key registration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RegistrationBody<'a> {
    /// The card's chip id.
    pub chip_id: &'a [u8; 8],
    /// The card's static channel public key (uncompressed SEC1).
    pub channel_key: &'a [u8; 65],
    /// The authority's nonce.
    pub nonce: &'a [u8; NONCE_LEN],
}

impl RegistrationBody<'_> {
    /// Writes the body's fields, the object type first.
    pub fn write_fields(&self, w: &mut Writer<'_>) -> Result<(), TlvError> {
        w.put(OBJECT_TYPE, &object_type(REGISTRATION))?;
        w.put(CHIP_ID, self.chip_id)?;
        w.nested(cert::PUBLIC_KEY, |w| {
            w.put(cert::EC_POINT, self.channel_key)
        })?;
        w.put(NONCE, self.nonce)
    }

    /// Writes the registration, `sign` signing the encoded body.
    pub fn write(
        &self,
        w: &mut Writer<'_>,
        sign: impl FnOnce(&[u8]) -> [u8; SIGNATURE_LEN],
    ) -> Result<(), TlvError> {
        signed::write(w, REGISTRATION, |w| self.write_fields(w), sign)
    }
}

/// A parsed channel key registration.
#[derive(Clone, Copy, Debug)]
pub struct Registration<'a> {
    /// The signed object.
    pub signed: Signed<'a>,
    /// Its fields.
    pub body: RegistrationBody<'a>,
}

impl<'a> Registration<'a> {
    /// Parses exactly one registration.
    pub fn parse(input: &'a [u8]) -> Result<Self, FormatError> {
        let signed = Signed::parse(input, REGISTRATION)?;
        check_type(&signed)?;
        let channel_key = signed
            .nested(cert::PUBLIC_KEY, cert::EC_POINT)?
            .try_into()
            .map_err(|_| FormatError::MissingField(cert::EC_POINT))?;
        Ok(Registration {
            signed,
            body: RegistrationBody {
                chip_id: signed.array::<8>(CHIP_ID)?,
                channel_key,
                nonce: signed.array::<NONCE_LEN>(NONCE)?,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signed::testing::fake_sign;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn registration_round_trip(
            chip_id in any::<[u8; 8]>(),
            nonce in any::<[u8; 16]>(),
            key in proptest::collection::vec(any::<u8>(), 65),
        ) {
            let key: &[u8; 65] = key[..].try_into().unwrap();
            let body = RegistrationBody { chip_id: &chip_id, channel_key: key, nonce: &nonce };
            let mut buf = [0u8; 512];
            let mut w = Writer::new(&mut buf);
            body.write(&mut w, fake_sign).unwrap();
            let r = Registration::parse(w.written()).unwrap();
            prop_assert_eq!(r.body, body);
        }

        #[test]
        fn registration_parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = Registration::parse(&bytes);
        }
    }
}
