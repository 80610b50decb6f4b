//! `meter verify`: verify a postmark (Figure 4), on the PC with the
//! authority's public key, or on the card for its fee.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use apdu::crypto::Invalid;
use authority::Authority;
use reader::meter::CardVerdict;
use reader::money;
use reader::postmark::{self, PostmarkInfo};
use serde_json::json;

use crate::global::Global;
use crate::output::{open_file, read_limited, time};

/// The largest PEM public key file `--authority-key` reads.
const MAX_PEM_FILE: usize = 16 * 1024;

#[derive(clap::Args)]
pub struct Args {
    /// The message.
    file: PathBuf,
    /// The postmark file.
    postmark: PathBuf,
    /// Verify on the card, for its fee, instead of on the PC.
    #[arg(long)]
    on_card: bool,
    /// The authority's public key: hex (as printed by `meter authority key`)
    /// or a PEM file (as written by `meter authority key --pem`), for
    /// verifying without the authority's directory.
    #[arg(long, value_name = "HEX|FILE")]
    authority_key: Option<String>,
    /// How far ahead of this computer's clock a postmark may be dated, in
    /// seconds (off the card; the card uses its own clock and 300).
    #[arg(long, value_name = "SECONDS", default_value_t = apdu::crypto::DEFAULT_SKEW)]
    max_skew: u64,
    /// The authority's signed revocation list (`meter authority crl`): a
    /// postmark dated after its certificate's revocation is reported
    /// revoked (exit 1).
    #[arg(long, value_name = "FILE")]
    crl: Option<PathBuf>,
}

/// The largest revocation list file `--crl` reads.
const MAX_CRL_FILE: usize = 0xFFFF + 5;

/// The key given with `--authority-key`: a PEM file when a file has that
/// name, else hex.
pub(crate) fn key_from_arg(arg: &str) -> Result<Vec<u8>> {
    let path = Path::new(arg);
    if path.is_file() {
        let pem = read_limited(path, MAX_PEM_FILE, "a PEM public key")?;
        let pem = String::from_utf8(pem)
            .map_err(|_| anyhow::anyhow!("{} is not a PEM file", path.display()))?;
        let key = reader::export::public_key_from_pem(&pem)
            .with_context(|| format!("--authority-key {}", path.display()))?;
        return Ok(key.to_vec());
    }
    hex::decode(arg.trim()).context("--authority-key is not hex, nor a PEM file")
}

/// The authority keys a verifier tries: the one given (`--authority-key`),
/// else the local authority's current key and, after a rollover, the one
/// it replaced (its certificates verify until they expire). Reads the
/// database only.
pub(crate) fn authority_keys(g: &Global, given: Option<&str>) -> Result<Vec<Vec<u8>>> {
    Ok(match given {
        Some(k) => vec![key_from_arg(k)?],
        None => Authority::read_public_keys(&g.authority_dir()?)?
            .iter()
            .map(|k| k.to_vec())
            .collect(),
    })
}

/// The first of `keys` that `signed` accepts (it signed the object in
/// hand), else the first: the one whose failure to report.
pub(crate) fn signer(
    keys: &[Vec<u8>],
    signed: impl Fn(&p256::ecdsa::VerifyingKey) -> bool,
) -> Vec<u8> {
    keys.iter()
        .find(|k| apdu::crypto::public_key(k).is_some_and(|k| signed(&k)))
        .or(keys.first())
        .cloned()
        .unwrap_or_default()
}

pub fn run(g: &Global, args: &Args) -> Result<ExitCode> {
    let Args {
        file,
        postmark: pm_path,
        on_card,
        authority_key,
        max_skew,
        crl,
    } = args;
    let crl = crl
        .as_ref()
        .map(|p| read_limited(p, MAX_CRL_FILE, "a revocation list"))
        .transpose()?;
    let json = g.json;
    let pm = read_limited(pm_path, postmark::MAX_POSTMARK_FILE, "a postmark file")?;
    let mut message = open_file(file)?;
    let parsed = match apdu::postmark::PostmarkFile::parse(&pm) {
        Ok(f) => f,
        Err(e) => {
            malformed(json, &e.to_string())?;
            return Ok(ExitCode::from(1));
        }
    };
    let result = if *on_card {
        let mut meter = g.open_meter()?;
        let (verdict, info) = g.with_pin(&mut meter, |m| {
            postmark::verify_on_card(m, &mut message, &pm, crl.as_deref())
        })?;
        match (verdict.result, info.as_ref(), &crl) {
            // The card found the certificate in the list it was sent.
            (Err(Invalid::Revoked), Some(i), Some(list)) => {
                let entry = apdu::cmd::revoke::Crl::parse(list)
                    .ok()
                    .and_then(|l| l.find(i.certificate_serial));
                match entry {
                    Some(e) => report_revoked(
                        json,
                        i,
                        e.revoked_at,
                        e.reason,
                        verdict.crl.unwrap_or_default(),
                    ),
                    None => invalid(json, Invalid::Revoked, &pm)?,
                }
                if !json {
                    println!("verified on the card for {}", money::format(verdict.fee));
                }
                false
            }
            _ => {
                card_verdict(json, &verdict, info.as_ref(), &pm)?;
                verdict.result.is_ok()
            }
        }
    } else {
        // Only the public keys: the database is read, never written. The
        // key that signed the postmark's certificate, and the list's.
        let keys = authority_keys(g, authority_key.as_deref())?;
        let key = signer(&keys, |k| {
            apdu::crypto::verify_certificate(&parsed.certificate, k)
        });
        let crl_key = |list: &[u8]| {
            signer(&keys, |k| {
                apdu::cmd::revoke::Crl::parse(list)
                    .is_ok_and(|l| apdu::crypto::verify_signed(&l.signed, k))
            })
        };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        match postmark::verify_offline(&mut message, &pm, &key, now, *max_skew) {
            Ok(info) => match &crl {
                Some(list) if !revoked(json, list, &crl_key(list), &info)? => false,
                _ => {
                    valid(json, &info)?;
                    true
                }
            },
            Err(postmark::VerifyError::Invalid(why)) => {
                invalid(json, why, &pm)?;
                false
            }
            Err(e) => return Err(e.into()),
        }
    };
    Ok(if result {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Looks the postmark's certificate up in the revocation list: `false`
/// (and the report printed) when the postmark is dated after its
/// revocation.
fn revoked(json: bool, list: &[u8], key: &[u8], info: &PostmarkInfo) -> Result<bool> {
    use reader::revoke::CrlStatus;
    let (number, status) =
        reader::revoke::crl_status(list, key, info.certificate_serial, info.time)?;
    let CrlStatus::Revoked { revoked_at, reason } = status else {
        return Ok(true);
    };
    report_revoked(json, info, revoked_at, reason, number);
    Ok(false)
}

/// Reports a postmark dated after its certificate's revocation (revocation
/// list `number`).
fn report_revoked(json: bool, info: &PostmarkInfo, revoked_at: u64, reason: u8, number: u64) {
    if json {
        println!(
            "{}",
            json!({ "valid": false, "revoked": true, "certificate_serial": info.certificate_serial,
                    "revoked_at": revoked_at, "reason": reason, "crl_number": number })
        );
    } else {
        println!(
            "invalid: certificate {} was revoked at {} (reason {reason}, revocation list {number}); this postmark is dated after, at {}",
            info.certificate_serial,
            time(revoked_at),
            time(info.time)
        );
    }
}

fn valid(json: bool, info: &PostmarkInfo) -> Result<()> {
    if json {
        let mut v = serde_json::to_value(info)?;
        v["valid"] = json!(true);
        println!("{v}");
    } else {
        println!(
            "valid: postmark {} of meter {} at {}",
            info.sequence,
            info.meter,
            time(info.time)
        );
    }
    Ok(())
}

/// An invalid postmark: `why` is the failed check, `file` the postmark file
/// (to name a signature's defect when its bytes show one).
fn invalid(json: bool, why: Invalid, file: &[u8]) -> Result<()> {
    let reason = reader::postmark::explain(file, why);
    if json {
        println!(
            "{}",
            json!({ "valid": false, "check": why as u8, "reason": reason })
        );
    } else {
        println!("invalid: {reason}");
    }
    Ok(())
}

fn malformed(json: bool, why: &str) -> Result<()> {
    if json {
        println!(
            "{}",
            json!({ "valid": false, "reason": format!("not a postmark file: {why}") })
        );
    } else {
        println!("invalid: not a postmark file ({why})");
    }
    Ok(())
}

fn card_verdict(
    json: bool,
    v: &CardVerdict,
    info: Option<&PostmarkInfo>,
    file: &[u8],
) -> Result<()> {
    match (v.result, info) {
        (Err(why), _) => invalid(json, why, file)?,
        (Ok(()), info) => {
            if let Some(info) = info {
                valid(json, info)?;
            }
            if !json {
                match v.crl {
                    Some(n) => println!(
                        "verified on the card for {}, against revocation list {n}",
                        money::format(v.fee)
                    ),
                    None => println!("verified on the card for {}", money::format(v.fee)),
                }
            }
        }
    }
    Ok(())
}
