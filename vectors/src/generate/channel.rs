//! The card-authority channel (Figure 2, comm key 256; Figure 5, 508): the
//! card's static channel key registration, the handshake, key
//! confirmation, and a replayed channel message refused (9407) with the
//! channel closed. The authority's side runs with a fixed ephemeral key so
//! that the vector is reproducible.

use apdu::StatusWord;
use apdu::channel::{AuthorityChannel, Request as ChannelRequest, decode_point};
use apdu::cmd::channel::{CONFIRM, Registration};
use apdu::meter::ins;
use apdu::tlv::Writer;

use super::{AUTHORITY_SEED, GenerateError, PREAMBLE, Result, Session, personalized};
use crate::Vector;

fn unexpected(what: impl Into<String>) -> GenerateError {
    GenerateError::Unexpected {
        vector: "channel-replayed",
        what: what.into(),
    }
}

fn confirm(at: &mut AuthorityChannel, data: &[u8]) -> Result<Vec<u8>> {
    let mut buf = vec![0u8; 64];
    let mut w = Writer::new(&mut buf);
    w.put(CONFIRM, data)
        .map_err(|_| unexpected("confirmation too long"))?;
    let n = w.len();
    let len = at
        .seal(&mut buf, n)
        .map_err(|e| unexpected(e.to_string()))?;
    buf.truncate(len);
    Ok(buf)
}

fn refused(s: &mut Session, sealed: &[u8], sw: StatusWord) -> Result<()> {
    let r = s.meter.channel_message(sealed);
    s.ensure(
        matches!(&r, Err(reader::Error::Card { sw: got }) if *got == sw),
        || format!("expected {sw:?}, got {r:?}"),
    )
}

/// CHANNEL KEY, OPEN CHANNEL and CHANNEL HELLO on a personalized
/// session, the authority's side played with a fixed ephemeral key;
/// returns the authority's side of the channel.
pub(super) fn open_channel(s: &mut Session) -> Result<AuthorityChannel> {
    s.phase(
        "Figure 2, 256: the card's static channel key, signed by the meter key over the authority's nonce, for the authority to record",
        &[],
    );
    let registration = s.meter.channel_key(&[0xA5; 16])?;
    let r = Registration::parse(&registration).map_err(|e| unexpected(e.to_string()))?;
    let card_static = decode_point(r.body.channel_key).map_err(|e| unexpected(e.to_string()))?;
    s.phase(
        "Figure 5, 508: the channel is opened",
        &[
            (
                ins::OPEN_CHANNEL,
                "Figure 5, 508: the card's request (fresh ephemeral key and nonce), then the authority's signed hello; the channel keys are in the card's RAM only",
            ),
            (
                ins::CHANNEL_MESSAGE,
                "Figure 5, 508: key confirmation: the authority's sealed challenge, answered sealed",
            ),
        ],
    );
    let request = s.meter.open_channel()?;
    let request = ChannelRequest::parse(&request).map_err(|e| unexpected(e.to_string()))?;
    let signing = authority::keys::from_seed(AUTHORITY_SEED);
    let ephemeral =
        p256::SecretKey::from_slice(&[0x3C; 32]).map_err(|e| unexpected(e.to_string()))?;
    let mut hello = vec![0u8; 512];
    let mut w = Writer::new(&mut hello);
    let at = AuthorityChannel::accept(&mut w, &signing, ephemeral, &card_static, &request)
        .map_err(|e| unexpected(e.to_string()))?;
    let n = w.len();
    hello.truncate(n);
    s.meter.channel_hello(&hello)?;
    Ok(at)
}

/// Registration, handshake, one confirmed message, the same message
/// replayed (9407), then the next genuine one refused too (closed).
pub(super) fn replayed() -> Result<Vector> {
    let (mut s, _) = personalized("channel-replayed", 100)?;
    let mut at = open_channel(&mut s)?;
    let first = confirm(&mut at, b"confirm 1")?;
    s.meter.channel_message(&first)?;
    s.phase(
        "Figure 5, 508: the same sealed message replayed is refused (9407) and the channel closed; the next genuine message is refused too; nothing is written",
        &[],
    );
    refused(&mut s, &first, StatusWord::CHANNEL_MESSAGE_REFUSED)?;
    let second = confirm(&mut at, b"confirm 2")?;
    refused(&mut s, &second, StatusWord::CHANNEL_MESSAGE_REFUSED)?;
    Ok(s.finish(
        "Figure 5",
        format!(
            "{PREAMBLE}. CHANNEL KEY answers the static channel key registration (7F78, signed by the meter key). OPEN CHANNEL answers \
             the channel request; CHANNEL HELLO takes the authority's hello (its ephemeral key fixed for this vector); a sealed key \
             confirmation is answered sealed. The same message sent again is refused with 9407 and the channel is closed: a later \
             genuine message is refused too, until a new handshake."
        ),
    ))
}
