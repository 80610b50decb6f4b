//! `meter cert sign SLOT FILE [-o OUT]` and `meter cert authenticate SLOT
//! --challenge HEX [-o OUT]`: Figure 5's holder keys in use. The card signs
//! only for the uses the slot's certificate allows and within its dates;
//! the signature is DER, as `openssl dgst -sha256 -verify` takes it (with
//! the key from `meter cert export SLOT --pem`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};

use crate::global::Global;
use crate::output::{open_file, write_output};

/// `meter cert sign`: the SHA-256 of `file` signed with the key of `slot`;
/// the DER signature to `output` (default `FILE.sig`).
pub fn sign(g: &Global, slot: u8, file: &Path, output: Option<&PathBuf>) -> Result<ExitCode> {
    let output = output.cloned().unwrap_or_else(|| {
        let mut p = file.as_os_str().to_owned();
        p.push(".sig");
        PathBuf::from(p)
    });
    let mut data = open_file(file)?;
    let mut meter = g.open_meter()?;
    let signature = g
        .with_pin(&mut meter, |m| reader::holder::sign(m, slot, &mut data))
        .map_err(|e| wrong_use(e, slot, "signing"))
        .with_context(|| format!("signing with the key of slot {slot}"))?;
    write_output(&output, &signature, &g.guard())?;
    if !g.json {
        println!(
            "signed {} with the key of slot {slot}: {}",
            file.display(),
            output.display()
        );
    } else {
        println!(
            "{}",
            serde_json::json!({ "slot": slot, "file": file, "signature": output })
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `meter cert authenticate`: the relying party's 32-byte challenge
/// answered with the key of `slot`; the DER signature as hex, or to
/// `output`.
pub fn authenticate(
    g: &Global,
    slot: u8,
    challenge: &str,
    output: Option<&PathBuf>,
) -> Result<ExitCode> {
    let bytes = hex::decode(challenge.trim()).context("--challenge is not hex")?;
    let Ok(challenge) = <[u8; 32]>::try_from(bytes.as_slice()) else {
        bail!(
            "--challenge must be 32 bytes (64 hex digits), not {}",
            bytes.len()
        );
    };
    let mut meter = g.open_meter()?;
    let signature = g
        .with_pin(&mut meter, |m| {
            reader::holder::authenticate(m, slot, &challenge)
        })
        .map_err(|e| wrong_use(e, slot, "authentication"))
        .with_context(|| format!("authenticating with the key of slot {slot}"))?;
    match output {
        Some(path) => write_output(path, &signature, &g.guard())?,
        None if g.json => println!(
            "{}",
            serde_json::json!({ "slot": slot, "signature": hex::encode(&signature) })
        ),
        None => println!("{}", hex::encode(&signature)),
    }
    Ok(ExitCode::SUCCESS)
}

/// The card's 6985 for a holder key, said for people: the certificate does
/// not allow the use, or is outside its dates.
fn wrong_use(e: anyhow::Error, slot: u8, usage: &str) -> anyhow::Error {
    match e.downcast_ref::<reader::Error>() {
        Some(reader::Error::Card { sw }) if *sw == apdu::StatusWord::CONDITIONS_NOT_SATISFIED => {
            anyhow::anyhow!(
                "the card refused (6985): the certificate in slot {slot} does not allow {usage}, or the card's clock is outside its dates; see `meter cert list`"
            )
        }
        _ => e,
    }
}
