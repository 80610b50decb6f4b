//! `meter cert install --name NAME --code CODE [--usage signing]
//! [--valid-days N]`: Figure 5. The card generates the holder's key pair
//! (its private key never leaves the card), the authority checks the
//! holder's one-time enrollment code (`meter authority enroll NAME`) and
//! certifies the key; the card installs the certificate in a free slot and
//! deducts the InstallCertificate fee in the same transaction. All of it
//! over the card-authority channel (registered on first use).

use std::process::ExitCode;

use anyhow::{Result, bail};
use apdu::cert::usage;
use serde_json::json;

use crate::global::Global;

/// The uses a holder's certificate may have.
pub fn parse_usage(names: &[String]) -> Result<u8> {
    let mut bits = 0;
    for n in names {
        match n.as_str() {
            "signing" => bits |= usage::SIGNING,
            "authentication" => bits |= usage::AUTHENTICATION,
            other => {
                bail!(
                    "unknown use {other:?}: a holder's certificate may be for `signing` and `authentication`"
                )
            }
        }
    }
    Ok(if bits == 0 { usage::SIGNING } else { bits })
}

pub fn run(
    g: &Global,
    name: &str,
    code: &str,
    uses: &[String],
    valid_days: u32,
) -> Result<ExitCode> {
    run_with(g, name, code, uses, valid_days, None)
}

/// `meter cert import --name NAME --code CODE --key FILE`: the holder's
/// own P-256 private key (FILE: 64 hex digits), handed only to the
/// authority, which seals it to the card over the channel; the
/// certificate is marked `imported`.
pub fn import(
    g: &Global,
    name: &str,
    code: &str,
    key_file: &std::path::Path,
    valid_days: u32,
) -> Result<ExitCode> {
    let text = zeroize::Zeroizing::new(
        std::fs::read_to_string(key_file)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", key_file.display()))?,
    );
    let mut key = zeroize::Zeroizing::new([0u8; 32]);
    hex::decode_to_slice(text.trim(), &mut key[..]).map_err(|_| {
        anyhow::anyhow!(
            "{}: expected a P-256 private key as 64 hex digits",
            key_file.display()
        )
    })?;
    run_with(g, name, code, &[], valid_days, Some(&key))
}

fn run_with(
    g: &Global,
    name: &str,
    code: &str,
    uses: &[String],
    valid_days: u32,
    import: Option<&[u8; 32]>,
) -> Result<ExitCode> {
    let bits = parse_usage(uses)?;
    let mut authority = g.open_authority()?;
    let mut meter = g.open_meter()?;
    let serial = meter
        .status()?
        .serial
        .ok_or(reader::Error::NotPersonalized)?;
    let registered = authority.channel_key(&serial)?.is_some();
    let slot = g.with_pin(&mut meter, |m| {
        if !registered {
            reader::channel::register(m, &mut authority)?;
        }
        match import {
            None => {
                reader::install::install_with_uses(m, &mut authority, name, bits, code, valid_days)
            }
            Some(k) => reader::install::import(m, &mut authority, name, code, valid_days, k),
        }
    })?;
    let c = meter
        .status()?
        .certificates
        .into_iter()
        .find(|c| c.slot == slot);
    if g.json {
        println!(
            "{}",
            json!({
                "slot": slot,
                "holder": name,
                "serial": c.as_ref().map(|c| c.serial),
                "expiry": c.as_ref().map(|c| c.expiry),
            })
        );
    } else {
        println!(
            "certificate for {name} installed in slot {slot}{}",
            c.map(|c| format!(
                " (serial {}, valid until {})",
                c.serial,
                crate::output::time(c.expiry)
            ))
            .unwrap_or_default()
        );
    }
    Ok(ExitCode::SUCCESS)
}
