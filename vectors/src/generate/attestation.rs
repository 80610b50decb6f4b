//! The attestation vector: the factory's step (STORE ATTESTATION
//! CERTIFICATE) and ATTEST, on a card made with the issuer root but not yet
//! attested. Until the factory stores its certificate the card cannot
//! attest its meter key (6A88), so no authority certifies it; a
//! certificate for another chip (6A80) or by another root (6982) is
//! refused.

use apdu::StatusWord;
use apdu::meter::ins;
use authority::Authority;

use super::{AUTHORITY, AUTHORITY_SEED, CARD, OTHER_AUTHORITY_SEED, Result, Session, authority};
use crate::{CardSpec, Vector};

fn refused<T: std::fmt::Debug>(r: &Result<T, reader::Error>, sw: StatusWord) -> bool {
    matches!(r, Err(reader::Error::Card { sw: got }) if *got == sw)
}

pub(super) fn unattested() -> Result<Vector> {
    let card = CardSpec {
        unattested: true,
        ..CARD
    };
    let issuer = authority()?;
    let rogue = Authority::deterministic(AUTHORITY, OTHER_AUTHORITY_SEED, CARD.time)?;
    let mut s = Session::new("attestation-unattested", card)?;
    s.open()?;
    s.phase(
        "Figure 2, 235/246: the card makes its meter key but cannot attest it: the factory has not stored its attestation certificate (6A88), so no authority would certify the key",
        &[
            (ins::ATTEST, "READ ATTESTATION: the attestation key, no certificate yet; then ATTEST, refused (6A88)"),
        ],
    );
    s.meter.generate_meter_key()?;
    let (key, none) = s.meter.read_attestation()?;
    s.ensure(none.is_none(), || {
        "an attestation certificate already".into()
    })?;
    let r = s.meter.attest(&[0x11; 16]);
    s.ensure(refused(&r, StatusWord::REFERENCED_DATA_NOT_FOUND), || {
        format!("ATTEST without a certificate: {r:?}")
    })?;
    let status = s.meter.status()?;
    let chip = status.chip_id_bytes()?;
    let mut other_chip = chip;
    other_chip[0] ^= 1;
    s.phase(
        "Figure 2, 218: the factory stores the attestation certificate; the card checks it against its issuer root, chip id and attestation key",
        &[(
            ins::STORE_ATTESTATION,
            "STORE ATTESTATION CERTIFICATE: for another chip id (6A80), by another issuer's root (6982), then the right one (9000)",
        )],
    );
    let r = s
        .meter
        .store_attestation(&issuer.certify_attestation(&other_chip, &key)?);
    s.ensure(refused(&r, StatusWord::INCORRECT_DATA), || {
        format!("another chip: {r:?}")
    })?;
    let r = s
        .meter
        .store_attestation(&rogue.certify_attestation(&chip, &key)?);
    s.ensure(
        refused(&r, StatusWord::SECURITY_STATUS_NOT_SATISFIED),
        || format!("another root: {r:?}"),
    )?;
    s.meter
        .store_attestation(&issuer.certify_attestation(&chip, &key)?)?;
    s.phase(
        "Figure 2, 235/246: ATTEST: the card signs its meter key and the authority's nonce with its attestation key",
        &[],
    );
    s.meter.attest(&[0x11; 16])?;
    Ok(s.finish(
        "Figure 2",
        format!(
            "A card made with the issuer root of {AUTHORITY} (key seed {AUTHORITY_SEED}) but without the factory's attestation \
             certificate. After the transport PIN change it makes its meter key, but ATTEST answers 6A88: without an attested key no \
             authority certifies it (the authority answers `unattested`). The factory's STORE ATTESTATION CERTIFICATE is refused for \
             another chip id (6A80) and when signed by another issuer's root (seed {OTHER_AUTHORITY_SEED}, 6982); the right one is \
             stored, and ATTEST then answers the statement over the meter key and the nonce, followed by the certificate."
        ),
    ))
}
