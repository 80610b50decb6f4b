//! PERSONALIZE (personalization step P5): the blank card, holding a meter
//! key it generated itself (Figure 2, 235/246), receives in one message
//! signed by the authority (remote facility 222) its serial (238), the
//! authority's public key (240) in an authority certificate by the issuer
//! root pinned at manufacture, the rate table (257), the time (232), its
//! service deadline and its meter certificate (Figure 1, stored in slot 0
//! of 252). The message answers this card's challenge, names its chip id,
//! and carries the meter's own public key in the certificate, so it is
//! usable once, on this card only; an authority whose key the issuer root
//! did not certify is refused (`6982`), whatever name it gives itself.

use apdu::StatusWord;
use apdu::cert::usage;
use apdu::crypto;
use apdu::message::Personalization;
use apdu::meter::{Lifecycle, METER_CERTIFICATE_SLOT, Service, tag};
use subtle::ConstantTimeEq;

use crate::budget::{RATE_TABLE_ENTRIES, SERIAL_MAX_LEN};
use crate::context::Context;
use crate::error::Result;
use crate::layout::{
    AUTHORITY_KEY_COUNT, AUTHORITY_KEYS, CHIP_ID, LIFECYCLE, RATE_ENTRY_LEN, RATE_TABLE, SERIAL,
};
use crate::platform::Platform;
use crate::records::Counters;
use crate::{certificates, contact, state};

/// PERSONALIZE. The dispatcher took the challenge out of RAM (any attempt
/// consumes it) and checked Blank and the PIN.
pub fn personalize<P: Platform>(ctx: &mut Context<'_, P>, message: &[u8]) -> Result<usize> {
    let s = &mut *ctx.store;
    // Checks, in order; nothing is written until all pass.
    // A card made without an issuer root (migrated from layout v2) trusts
    // no authority: 6A88.
    let root = state::issuer_root(s)?;
    let meter_key = state::meter_public(s)?.ok_or(StatusWord::CONDITIONS_NOT_SATISFIED)?;
    let m = Personalization::parse(message).map_err(|_| StatusWord::INCORRECT_DATA)?;
    let challenge = ctx.challenge.ok_or(StatusWord::REFERENCE_DATA_NOT_USABLE)?;
    if !bool::from(challenge.ct_eq(m.challenge)) {
        return Err(StatusWord::REFERENCE_DATA_NOT_USABLE.into());
    }
    if CHIP_ID.read(s)? != m.chip_id {
        return Err(StatusWord::INCORRECT_DATA.into());
    }
    // The chain: issuer root -> authority certificate (usage AUTHORITY,
    // valid at the message's time) -> this message and the meter
    // certificate.
    let authority_cert = &m.authority_certificate;
    let chained = crypto::verify_certificate(authority_cert, &root)
        && authority_cert.allows(usage::AUTHORITY)
        && authority_cert.valid_at(m.time);
    if !chained {
        return Err(StatusWord::SECURITY_STATUS_NOT_SATISFIED.into());
    }
    let authority_key = authority_cert.public_key;
    let authority = crypto::public_key(authority_key).ok_or(StatusWord::INCORRECT_DATA)?;
    if !crypto::verify_signed(&m.signed, &authority) {
        return Err(StatusWord::SECURITY_STATUS_NOT_SATISFIED.into());
    }
    let cert = &m.certificate;
    let cert_ok = crypto::verify_certificate(cert, &authority)
        && cert.public_key.as_slice() == meter_key
        && cert.holder == m.serial
        && cert.allows(usage::POSTMARK | usage::METERING);
    if !cert_ok {
        return Err(StatusWord::INCORRECT_DATA.into());
    }
    if !apdu::meter::serial_well_formed(m.serial) {
        return Err(StatusWord::INCORRECT_DATA.into());
    }
    let mut rates = [0u8; RATE_TABLE_ENTRIES * RATE_ENTRY_LEN];
    for (n, entry) in apdu::tlv::iter(m.rates).enumerate() {
        let entry = entry.map_err(|_| StatusWord::INCORRECT_DATA)?;
        let valid = entry.tag == tag::RATE
            && entry.value.len() == RATE_ENTRY_LEN
            && entry
                .value
                .first()
                .copied()
                .and_then(Service::from_byte)
                .is_some();
        if !valid {
            return Err(StatusWord::INCORRECT_DATA.into());
        }
        rates
            .get_mut(n * RATE_ENTRY_LEN..(n + 1) * RATE_ENTRY_LEN)
            .ok_or(StatusWord::NOT_ENOUGH_MEMORY)?
            .copy_from_slice(entry.value);
    }
    let mut serial = [0u8; 1 + SERIAL_MAX_LEN];
    if let Some((len, rest)) = serial.split_first_mut() {
        *len = m.serial.len() as u8;
        rest.get_mut(..m.serial.len())
            .ok_or(StatusWord::INCORRECT_DATA)?
            .copy_from_slice(m.serial);
    }

    s.begin()?;
    SERIAL.write(s, &serial)?;
    AUTHORITY_KEYS
        .sub(0, authority_key.len())
        .write(s, authority_key)?;
    AUTHORITY_KEY_COUNT.set(s, 1)?;
    RATE_TABLE.write(s, &rates)?;
    let mut counters = Counters::read(s)?;
    counters.advance_clock(m.time);
    counters.deadline = m.deadline;
    counters.write(s)?;
    contact::record(s, m.time, m.policy)?;
    certificates::write(s, METER_CERTIFICATE_SLOT.into(), cert.signed.raw)?;
    LIFECYCLE.set(s, Lifecycle::Personalized as u64)?;
    s.commit()?;
    Ok(0)
}
