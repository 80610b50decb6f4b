//! Figure 5, installing a certificate, at the card's APDUs: the
//! authority's side played with a fixed ephemeral channel key and the
//! deterministic authority key, so that the vectors are reproducible.
//! install-ok (504 ok, 508, 510, 512, 514 ok, 518, 520: exactly the fee),
//! install-no-funds (506: INSTALL KEY refused 9401, nothing generated or
//! charged), install-wrong-code (516: the authority refuses the holder's
//! code after the card's request; the card installs and charges nothing).

use apdu::StatusWord;
use apdu::cert::{CertificateBody, usage};
use apdu::channel::AuthorityChannel;
use apdu::cmd::install::{CertificateRequest, HOLDER, INSTALL, KEY_REQUEST, USAGE};
use apdu::meter::ins;
use apdu::tlv::Writer;

use super::{
    AUTHORITY, AUTHORITY_SEED, CARD, GenerateError, PREAMBLE, Result, Session, money, personalized,
};
use crate::Vector;

const HOLDER_NAME: &[u8] = b"alice";
const FEE: u64 = 500;

fn unexpected(vector: &'static str, what: impl Into<String>) -> GenerateError {
    GenerateError::Unexpected {
        vector,
        what: what.into(),
    }
}

fn sealed(
    name: &'static str,
    at: &mut AuthorityChannel,
    build: impl FnOnce(&mut Writer<'_>) -> core::result::Result<(), apdu::tlv::TlvError>,
) -> Result<Vec<u8>> {
    let mut buf = vec![0u8; 1024];
    let mut w = Writer::new(&mut buf);
    build(&mut w).map_err(|_| unexpected(name, "plaintext too long"))?;
    let n = w.len();
    let len = at
        .seal(&mut buf, n)
        .map_err(|e| unexpected(name, e.to_string()))?;
    buf.truncate(len);
    Ok(buf)
}

/// Personalized with `funds`, the channel open, the key request sealed.
fn start(name: &'static str, funds: u64) -> Result<(Session, AuthorityChannel, Vec<u8>)> {
    let (s, at, request, _) = start_with_authority(name, funds, usage::SIGNING)?;
    Ok((s, at, request))
}

/// [`start`], also returning the authority that personalized the card.
fn start_with_authority(
    name: &'static str,
    funds: u64,
    uses: u8,
) -> Result<(Session, AuthorityChannel, Vec<u8>, authority::Authority)> {
    let (mut s, authority) = personalized(name, funds)?;
    let mut at = super::channel::open_channel(&mut s)?;
    let request = sealed(name, &mut at, |w| {
        w.nested(KEY_REQUEST, |w| {
            w.put(HOLDER, HOLDER_NAME)?;
            w.put(USAGE, &[uses])
        })
    })?;
    Ok((s, at, request, authority))
}

fn funds_now(s: &mut Session) -> Result<super::Funds> {
    Ok(s.funds("Figure 2, 250: the certificate register")?.0)
}

pub(super) fn vectors() -> Result<Vec<Vector>> {
    Ok(vec![ok()?, no_funds()?, wrong_code()?])
}

fn ok() -> Result<Vector> {
    const NAME: &str = "install-ok";
    let (mut s, _) = installed(NAME, 1_000, CARD.time + 365 * 86_400)?;
    s.phase("Figure 5: the installed certificate", &[]);
    s.meter.read_certificate(1)?;
    Ok(s.finish(
        "Figure 5",
        format!(
            "{PREAMBLE} with {}. The channel is opened (508); INSTALL KEY (sealed request for holder alice, SIGNING) makes the card \
             check its funds (504), generate a key pair (510) and answer the certificate request signed by it (512); the \
             authority, having checked the holder's one-time code (514), certifies the key (518); INSTALL CERTIFICATE installs it in \
             slot 1 and deducts exactly the InstallCertificate fee ({}) in the same transaction (520).",
            money(1_000),
            money(FEE)
        ),
    ))
}

/// Figure 5 as in install-ok, with a certificate for alice (SIGNING) valid
/// from the card's time to `expiry`, installed in slot 1; returns the
/// session and the authority that personalized the card.
pub(super) fn installed(
    name: &'static str,
    funds: u64,
    expiry: u64,
) -> Result<(Session, authority::Authority)> {
    installed_for(name, funds, expiry, usage::SIGNING)
}

/// [`installed`], the certificate for `uses`.
pub(super) fn installed_for(
    name: &'static str,
    funds: u64,
    expiry: u64,
    uses: u8,
) -> Result<(Session, authority::Authority)> {
    let (mut s, mut at, request, authority) = start_with_authority(name, funds, uses)?;
    let before = funds_now(&mut s)?;
    s.phase(
        "Figure 5, 504/510/512: funds suffice; the card generates the holder's key pair (its private key stays on the card) and answers the certificate request signed by it, sealed",
        &[],
    );
    let mut answer = s.meter.install_key(&request)?;
    let plain = at
        .open_message(&mut answer)
        .map_err(|e| unexpected(name, e.to_string()))?
        .to_vec();
    let req = CertificateRequest::parse(&plain).map_err(|e| unexpected(name, e.to_string()))?;
    // 514 (the holder's code, checked by the authority) and 518.
    let signing = authority::keys::from_seed(AUTHORITY_SEED);
    let time = CARD.time;
    let mut cert = vec![0u8; 1024];
    let mut w = Writer::new(&mut cert);
    CertificateBody {
        issuer: AUTHORITY.as_bytes(),
        holder: HOLDER_NAME,
        serial: 2,
        public_key: req.body.public_key,
        usage: uses,
        effective: time,
        expiry,
    }
    .write_signed(&mut w, &signing)
    .map_err(|_| unexpected(name, "certificate"))?;
    let n = w.len();
    cert.truncate(n);
    let install = sealed(name, &mut at, |w| w.put(INSTALL, &cert))?;
    s.phase(
        "Figure 5, 518/520: the authority's certificate, sealed; the card checks it against the authority key, stores it with its key in slot 1 and deducts the InstallCertificate fee in one transaction",
        &[],
    );
    s.meter.install_certificate(&install)?;
    let after = funds_now(&mut s)?;
    s.ensure(
        after.descending + FEE == before.descending
            && after.ascending == before.ascending + FEE
            && after.pieces == before.pieces + 1,
        || format!("{before:?} -> {after:?}"),
    )?;
    Ok((s, authority))
}

fn no_funds() -> Result<Vector> {
    const NAME: &str = "install-no-funds";
    let (mut s, _at, request) = start(NAME, 100)?;
    let before = funds_now(&mut s)?;
    s.phase(
        "Figure 5, 506: the certificate register holds less than the InstallCertificate fee: INSTALL KEY is refused (9401); no key is generated, nothing is charged",
        &[(ins::INSTALL, "Figure 5, 506: refused, 9401")],
    );
    let r = s.meter.install_key(&request);
    s.ensure(
        matches!(&r, Err(reader::Error::Card { sw }) if *sw == StatusWord::INSUFFICIENT_FUNDS),
        || format!("{r:?}"),
    )?;
    let after = funds_now(&mut s)?;
    s.ensure(after == before, || format!("{before:?} -> {after:?}"))?;
    Ok(s.finish(
        "Figure 5",
        format!(
            "{PREAMBLE} with {}, less than the InstallCertificate fee ({}). INSTALL KEY over the open channel is refused with \
             9401 (506); the registers are unchanged.",
            money(100),
            money(FEE)
        ),
    ))
}

fn wrong_code() -> Result<Vector> {
    const NAME: &str = "install-wrong-code";
    let (mut s, mut at, request) = start(NAME, 1_000)?;
    let before = funds_now(&mut s)?;
    s.phase(
        "Figure 5, 510/512: the card generates the key and answers the signed request",
        &[],
    );
    let mut answer = s.meter.install_key(&request)?;
    at.open_message(&mut answer)
        .map_err(|e| unexpected(NAME, e.to_string()))?;
    // 516: the authority refuses the holder's code: it issues nothing, so
    // the card gets no certificate. The holder's code is the authority's
    // business (tests/install.rs); on the card nothing is installed.
    let mut authority = super::authority()?;
    authority.enroll("alice", 86_400)?;
    let refused = authority.check_enrollment("alice", "AAAA-AAAA-AAAA-AAAA");
    s.ensure(refused.is_err(), || "a wrong code was accepted".into())?;
    let after = funds_now(&mut s)?;
    s.ensure(after == before, || format!("{before:?} -> {after:?}"))?;
    s.phase(
        "Figure 5, 516: without a certificate the slot stays empty (6A88); nothing was charged",
        &[],
    );
    let r = s.meter.read_certificate(1);
    s.ensure(
        matches!(&r, Err(reader::Error::Card { sw }) if *sw == StatusWord::REFERENCED_DATA_NOT_FOUND),
        || format!("{r:?}"),
    )?;
    Ok(s.finish(
        "Figure 5",
        format!(
            "{PREAMBLE} with {}. The card answers the certificate request (510/512), but the authority refuses the holder's \
             enrollment code (516) and issues no certificate: slot 1 stays empty and the registers are unchanged.",
            money(1_000)
        ),
    ))
}
