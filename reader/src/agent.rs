//! Figure 3A on the PC side: asking the card, as a certificate agent, for
//! a certificate and a key pair for a named holder (350-366), writing the
//! agent certificate file (the card's answer, then the meter's
//! certificate), opening the sealed private key with the receiver's key,
//! and verifying the chain authority -> meter certificate -> agent
//! certificate.

use apdu::cert::{Certificate, usage};
use apdu::cmd::issue_certificate::{self, AgentFile, IssueRequest};
use apdu::crypto;
use apdu::meter::METER_CERTIFICATE_SLOT;
use apdu::tlv::Writer;
use p256::SecretKey;
use p256::ecdsa::VerifyingKey;
use zeroize::Zeroize;

use crate::error::Error;
use crate::meter::Meter;
use crate::transport::Transport;

/// The largest agent certificate file read: about 700 bytes in practice.
pub const MAX_AGENT_FILE: usize = 4096;

/// What to ask the card for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issue {
    /// Holder name of the new certificate (1 to 32 printable ASCII bytes).
    pub holder: String,
    /// The receiver's public key, uncompressed SEC1.
    pub receiver: [u8; 65],
    /// Usage bits (within [`issue_certificate::GRANTABLE`]).
    pub usage: u8,
    /// Validity, days.
    pub days: u16,
}

impl Issue {
    /// The request's data, checked as the card will check it.
    pub fn request(&self) -> Result<Vec<u8>, Error> {
        let req = IssueRequest {
            holder: self.holder.as_bytes(),
            receiver: &self.receiver,
            usage: self.usage,
            days: self.days,
        };
        let mut buf = [0u8; 256];
        let mut w = Writer::new(&mut buf);
        req.write(&mut w)
            .map_err(|_| Error::Input("the request does not fit".into()))?;
        let bytes = w.written().to_vec();
        IssueRequest::parse(&bytes).map_err(|e| {
            Error::Input(format!(
                "invalid certificate request ({e}): the holder is 1 to 32 printable ASCII \
                 characters, the usage one or more of postmark, metering, signing, and the \
                 validity 1 to {} days",
                issue_certificate::MAX_DAYS
            ))
        })?;
        if crypto::public_key(&self.receiver).is_none() {
            return Err(Error::Input(
                "the receiver key is not a P-256 public key".into(),
            ));
        }
        Ok(bytes)
    }
}

/// ISSUE CERTIFICATE, then the agent certificate file: the card's answer
/// (agent certificate and sealed key) followed by the meter's certificate.
pub fn issue<T: Transport>(meter: &mut Meter<T>, req: &Issue) -> Result<Vec<u8>, Error> {
    let data = req.request()?;
    let answer = meter.issue_certificate(&data)?;
    AgentFile::parse_answer(&answer)
        .map_err(|e| Error::Malformed(format!("not an agent certificate answer: {e}")))?;
    let mut file = answer;
    file.extend(meter.read_certificate(METER_CERTIFICATE_SLOT)?);
    Ok(file)
}

/// Why an agent certificate file was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// Not an agent certificate file (wrong object types, missing fields).
    #[error("not an agent certificate file")]
    Malformed,
    /// The meter certificate is not signed by the authority.
    #[error("the meter certificate is not signed by the authority")]
    MeterNotByAuthority,
    /// The meter certificate does not authorize issuing certificates.
    #[error("the meter certificate does not authorize issuing certificates")]
    NotAnAgent,
    /// The agent certificate does not name the meter as its issuer.
    #[error("the agent certificate names another issuer than the meter")]
    WrongIssuer,
    /// The agent certificate is not signed by the meter key.
    #[error("the agent certificate is not signed by the meter key")]
    BadSignature,
    /// The agent certificate is valid outside the meter certificate's dates.
    #[error("the agent certificate is valid outside the meter certificate's dates")]
    OutsideMeterValidity,
    /// The sealed key names another certificate.
    #[error("the sealed key belongs to another certificate")]
    SealedKeyMismatch,
}

/// What a verified agent certificate says.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct AgentInfo {
    /// Holder name.
    pub holder: String,
    /// The issuing meter's serial.
    pub issuer: String,
    /// Certificate serial on that meter.
    pub serial: u64,
    /// Usage bits.
    pub usage: u8,
    /// Valid from, Unix seconds.
    pub effective: u64,
    /// Valid until, Unix seconds.
    pub expiry: u64,
    /// The holder's public key, uncompressed SEC1, hex.
    pub public_key: String,
    /// The serial of the issuing meter's certificate (by the authority).
    pub meter_certificate_serial: u64,
}

/// Verifies the chain authority -> meter certificate -> agent certificate
/// of an agent certificate file (the object types are signed: a postmark or
/// a `7F21` certificate does not pass for an agent certificate).
pub fn verify(file: &[u8], authority: &VerifyingKey) -> Result<AgentInfo, Refused> {
    let f = AgentFile::parse(file).map_err(|_| Refused::Malformed)?;
    let meter = &f.meter;
    if !crypto::verify_certificate(meter, authority) {
        return Err(Refused::MeterNotByAuthority);
    }
    if !meter.allows(usage::ISSUE_CERTIFICATES) {
        return Err(Refused::NotAnAgent);
    }
    let c = &f.certificate;
    if c.issuer != meter.holder {
        return Err(Refused::WrongIssuer);
    }
    let meter_key = crypto::public_key(meter.public_key).ok_or(Refused::MeterNotByAuthority)?;
    if !crypto::verify_signed(&c.signed, &meter_key) {
        return Err(Refused::BadSignature);
    }
    if c.effective < meter.effective || c.expiry > meter.expiry {
        return Err(Refused::OutsideMeterValidity);
    }
    if f.sealed.serial != c.serial {
        return Err(Refused::SealedKeyMismatch);
    }
    Ok(info(c, meter.serial))
}

fn info(c: &Certificate<'_>, meter_certificate_serial: u64) -> AgentInfo {
    AgentInfo {
        holder: String::from_utf8_lossy(c.holder).into_owned(),
        issuer: String::from_utf8_lossy(c.issuer).into_owned(),
        serial: c.serial,
        usage: c.usage,
        effective: c.effective,
        expiry: c.expiry,
        public_key: hex::encode(c.public_key),
        meter_certificate_serial,
    }
}

/// Opens the sealed private key of an agent certificate file with the
/// receiver's private key, and checks that it is the key the certificate
/// certifies. Does not verify the chain ([`verify`]).
pub fn open(file: &[u8], receiver: &SecretKey) -> Result<SecretKey, Error> {
    let f = AgentFile::parse(file)
        .map_err(|e| Error::Malformed(format!("not an agent certificate file: {e}")))?;
    if f.sealed.serial != f.certificate.serial {
        return Err(Error::Malformed(
            "the sealed key belongs to another certificate".into(),
        ));
    }
    let aad = issue_certificate::aad(&f.certificate);
    let mut scalar = [0u8; 32];
    let opened = apdu::ecies::open(receiver, &aad, f.sealed.sealed, &mut scalar);
    let key = opened
        .ok()
        .and_then(|_| SecretKey::from_slice(&scalar).ok());
    scalar.zeroize();
    let key = key.ok_or_else(|| {
        Error::Input(
            "the sealed key does not open with this key: another receiver's key, or the \
             file was altered"
                .into(),
        )
    })?;
    if apdu::channel::encode_point(&key.public_key()) != *f.certificate.public_key {
        return Err(Error::Malformed(
            "the sealed key is not the key the certificate certifies".into(),
        ));
    }
    Ok(key)
}
