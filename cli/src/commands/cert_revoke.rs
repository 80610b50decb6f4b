//! `meter cert revoke SLOT --reason REASON`: Figure 6 with the local
//! authority. The card signs the request (PIN), the authority signs the
//! revocation message, the card revokes and pays the Revoke fee or records
//! it as due, and the authority records the confirmation.

use std::process::ExitCode;

use anyhow::{Result, anyhow};
use apdu::cmd::revoke::PaymentState;
use serde_json::json;

use crate::global::Global;

pub fn run(g: &Global, slot: u8, reason: &str) -> Result<ExitCode> {
    let code = reader::revoke::reason_code(reason)
        .ok_or_else(|| anyhow!("{reason:?} is not an RFC 5280 reason (name or code 0-10 but 7)"))?;
    let mut authority = g.open_authority()?;
    let mut meter = g.open_meter()?;
    let r = g.with_pin(&mut meter, |m| {
        reader::revoke::revoke(m, &mut authority, slot, code)
    })?;
    let payment = match r.payment {
        PaymentState::Paid => "paid",
        PaymentState::Due => "due at the next contact",
        PaymentState::None => "none (forced)",
    };
    if g.json {
        println!(
            "{}",
            json!({ "revoked": r.certificate_serial, "slot": slot, "reason": code,
                    "payment": format!("{:?}", r.payment).to_lowercase(), "fee": r.fee })
        );
    } else {
        println!(
            "certificate {} in slot {slot} revoked (reason {code}); fee {}: {payment}",
            r.certificate_serial,
            reader::money::format(r.fee)
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `meter cert apply-revocations`: the authority's forced revocations of
/// this meter, each signed for a fresh challenge with payment disabled and
/// applied (no PIN: the authority's signature authorizes them).
pub fn apply(g: &Global) -> Result<ExitCode> {
    let mut authority = g.open_authority()?;
    let mut meter = g.open_meter()?;
    let status = meter.status()?;
    let serial = status
        .serial
        .clone()
        .ok_or_else(|| anyhow!("the card is not personalized"))?;
    let chip: [u8; 8] = hex::decode(&status.chip_id)?
        .try_into()
        .map_err(|_| anyhow!("malformed chip id"))?;
    let mut applied = Vec::new();
    for (cert, _) in authority.pending_forced(&serial)? {
        let slot = (0..4u8).find(|&s| {
            meter
                .read_certificate(s)
                .ok()
                .and_then(|c| apdu::cert::Certificate::parse(&c).ok().map(|c| c.serial))
                == Some(cert)
        });
        let Some(slot) = slot else {
            continue;
        };
        let challenge = meter.challenge()?;
        let message = authority.forced_revocation(&serial, &chip, &challenge, slot, cert)?;
        let confirmation = meter.revoke(&message)?;
        authority.confirm_revocation(&confirmation)?;
        applied.push((cert, slot));
    }
    if g.json {
        println!("{}", json!({ "applied": applied }));
    } else if applied.is_empty() {
        println!("no forced revocation pending for meter {serial}");
    } else {
        for (cert, slot) in applied {
            println!("certificate {cert} in slot {slot} revoked (forced, no payment)");
        }
    }
    Ok(ExitCode::SUCCESS)
}
