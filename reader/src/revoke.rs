//! Figure 6, host side: revoking a certificate on the card. The card signs
//! the request over a fresh challenge (602), the authority verifies it and
//! signs the revocation message (604-608), the card verifies it, revokes
//! and pays or records the fee as due (610-624), and its signed
//! confirmation goes back to the authority (622).

use apdu::cmd::revoke::{PaymentState, RevocationConfirmation};
use authority_api::AuthorityService;

use crate::error::Error;
use crate::meter::Meter;
use crate::transport::Transport;

/// What the card did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Revoked {
    /// The certificate serial revoked.
    pub certificate_serial: u64,
    /// Paid (624), due (620) or none (forced).
    pub payment: PaymentState,
    /// The fee paid or due.
    pub fee: u64,
    /// The card's signed confirmation, as recorded by the authority.
    pub confirmation: Vec<u8>,
}

/// Revokes the certificate in `slot` of the card behind `meter` (PIN
/// verified) for RFC 5280 `reason`, with `authority`.
pub fn revoke<T: Transport, A: AuthorityService + ?Sized>(
    meter: &mut Meter<T>,
    authority: &mut A,
    slot: u8,
    reason: u8,
) -> Result<Revoked, Error> {
    let confirmation = meter.exclusive(|m| {
        m.challenge()?;
        let request = m.revoke_request(slot, reason)?;
        let message = authority.revocation_message(&request)?;
        m.revoke(&message)
    })?;
    let c = RevocationConfirmation::parse(&confirmation)
        .map_err(|_| Error::Malformed("revocation confirmation".into()))?;
    let revoked = Revoked {
        certificate_serial: c.body.subject.certificate_serial,
        payment: c.body.payment,
        fee: c.body.fee,
        confirmation: confirmation.clone(),
    };
    authority.confirm_revocation(&confirmation)?;
    Ok(revoked)
}

/// What a revocation list says about a postmark's certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CrlStatus {
    /// Not listed, or the postmark is dated before the revocation.
    Good,
    /// Revoked at `revoked_at` (reason `reason`), and the postmark is
    /// dated after it.
    Revoked {
        /// When.
        revoked_at: u64,
        /// RFC 5280 reason code.
        reason: u8,
    },
}

/// Checks a revocation list (`7F7F`) under the authority key `key` and
/// looks up certificate `serial` for a postmark dated `time`. A list not
/// signed by that key, or malformed, is an error.
pub fn crl_status(
    crl: &[u8],
    key: &[u8],
    serial: u64,
    time: u64,
) -> Result<(u64, CrlStatus), Error> {
    let list = apdu::cmd::revoke::Crl::parse(crl)
        .map_err(|e| Error::Malformed(format!("not a revocation list: {e:?}")))?;
    let key = apdu::crypto::public_key(key)
        .ok_or_else(|| Error::Malformed("the authority key is not a P-256 point".into()))?;
    if !apdu::crypto::verify_signed(&list.signed, &key) {
        return Err(Error::Malformed(
            "the revocation list is not signed by the authority key".into(),
        ));
    }
    let status = match list.find(serial) {
        Some(e) if time > e.revoked_at => CrlStatus::Revoked {
            revoked_at: e.revoked_at,
            reason: e.reason,
        },
        _ => CrlStatus::Good,
    };
    Ok((list.number, status))
}

/// What a revocation list says about an agent certificate (Figure 3A).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AgentCrlStatus {
    /// Neither it nor its meter's certificate is listed against it.
    Good,
    /// Listed itself (an `A2` entry for its meter and serial).
    Revoked {
        /// When.
        revoked_at: u64,
        /// RFC 5280 reason code.
        reason: u8,
    },
    /// Its meter's certificate is listed: for keyCompromise whenever it
    /// was revoked (the meter key signed it), else when revoked before the
    /// agent certificate took effect.
    MeterRevoked {
        /// When.
        revoked_at: u64,
        /// RFC 5280 reason code.
        reason: u8,
    },
}

/// Checks a revocation list (`7F7F`) under the authority key `key` for
/// the agent certificate `info` ([`crate::agent::verify`]). A list not
/// signed by that key, or malformed, is an error.
pub fn agent_crl_status(
    crl: &[u8],
    key: &[u8],
    info: &crate::agent::AgentInfo,
) -> Result<(u64, AgentCrlStatus), Error> {
    let list = apdu::cmd::revoke::Crl::parse(crl)
        .map_err(|e| Error::Malformed(format!("not a revocation list: {e}")))?;
    let key = apdu::crypto::public_key(key)
        .ok_or_else(|| Error::Malformed("the authority key is not a P-256 point".into()))?;
    if !apdu::crypto::verify_signed(&list.signed, &key) {
        return Err(Error::Malformed(
            "the revocation list is not signed by the authority key".into(),
        ));
    }
    const KEY_COMPROMISE: u8 = 1;
    let status = if let Some(e) = list.find_agent(info.issuer.as_bytes(), info.serial) {
        AgentCrlStatus::Revoked {
            revoked_at: e.revoked_at,
            reason: e.reason,
        }
    } else {
        match list.find(info.meter_certificate_serial) {
            Some(e) if e.reason == KEY_COMPROMISE || info.effective >= e.revoked_at => {
                AgentCrlStatus::MeterRevoked {
                    revoked_at: e.revoked_at,
                    reason: e.reason,
                }
            }
            _ => AgentCrlStatus::Good,
        }
    };
    Ok((list.number, status))
}

/// RFC 5280 CRLReason names, by code (7 is unused).
pub const REASONS: [(&str, u8); 10] = [
    ("unspecified", 0),
    ("keyCompromise", 1),
    ("cACompromise", 2),
    ("affiliationChanged", 3),
    ("superseded", 4),
    ("cessationOfOperation", 5),
    ("certificateHold", 6),
    ("removeFromCRL", 8),
    ("privilegeWithdrawn", 9),
    ("aACompromise", 10),
];

/// A reason given as its RFC 5280 name (any case) or code.
pub fn reason_code(text: &str) -> Option<u8> {
    if let Ok(n) = text.parse::<u8>() {
        return apdu::cmd::revoke::valid_reason(n).then_some(n);
    }
    REASONS
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(text))
        .map(|&(_, code)| code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_by_name_or_code() {
        assert_eq!(reason_code("keyCompromise"), Some(1));
        assert_eq!(reason_code("SUPERSEDED"), Some(4));
        assert_eq!(reason_code("10"), Some(10));
        assert_eq!(reason_code("7"), None);
        assert_eq!(reason_code("stolen"), None);
    }
}
