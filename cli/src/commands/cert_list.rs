//! `meter cert list [--json]`: the certificates on the card, one per slot:
//! slot, serial, holder, issuer, uses, validity and status (by the card's
//! secure clock, and `revoked` when the local authority's records hold the
//! certificate's confirmed revocation; the card itself refuses to sign with
//! a revoked certificate, 9409).

use std::process::ExitCode;

use anyhow::Result;
use apdu::cert::usage;
use reader::meter::CertificateInfo;

use crate::global::Global;

/// The authorized-use bits by name, in bit order.
const USES: [(u8, &str); 8] = [
    (usage::POSTMARK, "postmark"),
    (usage::ISSUE_CERTIFICATES, "issue-certificates"),
    (usage::METERING, "metering"),
    (usage::SIGNING, "signing"),
    (usage::AUTHORITY, "authority"),
    (usage::ATTESTATION, "attestation"),
    (usage::AUTHENTICATION, "authentication"),
    (usage::IMPORTED, "imported"),
];

/// The names of the uses in `bits`.
pub fn uses(bits: u8) -> Vec<&'static str> {
    USES.iter()
        .filter(|(b, _)| bits & b != 0)
        .map(|(_, n)| *n)
        .collect()
}

/// `valid`, `not yet valid` or `expired` at `now`.
pub fn validity(c: &CertificateInfo, now: u64) -> &'static str {
    if now < c.effective {
        "not yet valid"
    } else if now > c.expiry {
        "expired"
    } else {
        "valid"
    }
}

/// `revoked` (with the RFC 5280 reason code) when the card says so; a
/// revocation the local `authority` recorded but the card has not applied
/// yet (a forced one, applied at the next contact) as pending; else the
/// validity by the card clock.
fn state(c: &CertificateInfo, now: u64, authority: Option<&authority::Authority>) -> String {
    if let Some(reason) = c.revoked {
        return format!("revoked (reason {reason})");
    }
    let recorded = authority.and_then(|a| a.revocation(c.serial).ok().flatten());
    match recorded {
        Some(r) => format!(
            "{}, revocation pending at the next contact (reason {})",
            validity(c, now),
            r.reason
        ),
        None => validity(c, now).to_owned(),
    }
}

pub fn run(g: &Global) -> Result<ExitCode> {
    let status = g.open_meter()?.status()?;
    let now = status.clock;
    // The local authority's records, when there is one: its revocations.
    let authority = g.open_authority().ok();
    let authority = authority.as_ref();
    if g.json {
        let list: Vec<_> = status
            .certificates
            .iter()
            .map(|c| {
                serde_json::json!({
                    "slot": c.slot,
                    "serial": c.serial,
                    "holder": c.holder,
                    "issuer": c.issuer,
                    "uses": uses(c.usage),
                    "effective": c.effective,
                    "expiry": c.expiry,
                    "status": state(c, now, authority),
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<4} {:<8} {:<20} {:<28} {:<21} {:<21} status",
        "slot", "serial", "holder", "uses", "valid from", "valid until"
    );
    for c in &status.certificates {
        println!(
            "{:<4} {:<8} {:<20} {:<28} {:<21} {:<21} {}",
            c.slot,
            c.serial,
            c.holder,
            uses(c.usage).join(","),
            crate::output::time(c.effective),
            crate::output::time(c.expiry),
            state(c, now, authority)
        );
    }
    println!(
        "{} of {} slots used",
        status.certificate_slots.used, status.certificate_slots.capacity
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_uses_in_bit_order() {
        assert_eq!(
            uses(usage::SIGNING | usage::POSTMARK | usage::METERING),
            ["postmark", "metering", "signing"]
        );
        assert!(uses(0).is_empty());
    }

    #[test]
    fn validity_by_the_clock() {
        let c = CertificateInfo {
            slot: 0,
            serial: 1,
            holder: "H".into(),
            issuer: "I".into(),
            effective: 10,
            expiry: 20,
            usage: 0,
            revoked: None,
        };
        assert_eq!(validity(&c, 9), "not yet valid");
        assert_eq!(validity(&c, 10), "valid");
        assert_eq!(validity(&c, 20), "valid");
        assert_eq!(validity(&c, 21), "expired");
    }
}
