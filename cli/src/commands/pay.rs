//! `meter pay AMOUNT --merchant ID [-o OUT]`: Figure 9, a payment from the
//! line of credit; the payment file (payment certificate 7B, creditor
//! certificate, 7A, meter certificate) goes to OUT (default
//! `payment-N.credit`). `meter pay verify FILE`: the merchant's check of
//! the chain authority -> creditor -> 7A -> 7B -> meter, exit 0 when
//! valid, 1 when invalid.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow};
use authority::Authority;
use clap::Subcommand;
use reader::money;
use serde_json::json;

use crate::global::Global;
use crate::output::read_limited;
use crate::sink::Sink;

/// The largest payment file `pay verify` and `authority settle` read.
pub const MAX_PAYMENT_FILE: usize = 4096;

#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Args {
    #[command(subcommand)]
    command: Option<PayCommand>,
    /// The amount, e.g. 12.50.
    amount: Option<String>,
    /// The merchant paid: 1 to 32 printable characters, no spaces.
    #[arg(long)]
    merchant: Option<String>,
    /// Where to write the payment file (`-`: standard output, the report
    /// then goes to standard error).
    #[arg(short, long)]
    output: Option<PathBuf>,
}

#[derive(Subcommand)]
enum PayCommand {
    /// Verify a payment file as a merchant: exit 0 when valid, 1 when invalid.
    Verify {
        /// The payment file.
        file: PathBuf,
        /// The authority's public key: hex or a PEM file (default: the
        /// local authority's).
        #[arg(long, value_name = "HEX|FILE")]
        authority_key: Option<String>,
        /// The merchant it must pay.
        #[arg(long)]
        merchant: Option<String>,
    },
}

pub fn run(g: &Global, args: &Args) -> Result<ExitCode> {
    if let Some(PayCommand::Verify {
        file,
        authority_key,
        merchant,
    }) = &args.command
    {
        return verify(g, file, authority_key.as_deref(), merchant.as_deref());
    }
    let amount = args
        .amount
        .as_deref()
        .ok_or_else(|| anyhow!("give the amount: meter pay AMOUNT --merchant ID"))?;
    let amount = money::parse(amount)?;
    let merchant = args
        .merchant
        .as_deref()
        .ok_or_else(|| anyhow!("give the merchant: meter pay AMOUNT --merchant ID"))?;
    let mut meter = g.open_meter()?;
    let out = match &args.output {
        Some(o) => o.clone(),
        None => {
            let next = reader::credit::show(&mut meter)?
                .map(|l| l.payments + 1)
                .unwrap_or(1);
            PathBuf::from(format!("payment-{next}.credit"))
        }
    };
    let sink =
        Sink::open(&out, &g.guard()).with_context(|| format!("cannot write {}", out.display()))?;
    let file = g.with_pin(&mut meter, |m| reader::pay::pay(m, amount, merchant))?;
    let to_stdout = sink.is_stdout();
    if let Err(e) = sink.finish(&file) {
        // The payment was authorized; hand it over.
        eprintln!("payment file (hex): {}", hex::encode_upper(&file));
        return Err(anyhow::Error::from(e).context(format!("cannot write {}", out.display())));
    }
    let f = apdu::cmd::pay::PaymentFile::parse(&file)
        .map_err(|e| anyhow!("the card's payment file: {e}"))?;
    let info = reader::pay::PaymentInfo::of(&f);
    let line = if g.json {
        let mut v = serde_json::to_value(&info)?;
        v["file"] = json!(out);
        v.to_string()
    } else {
        format!(
            "payment {} of {} to {} authorized: {} remaining on the line (fee {}), written to {}",
            info.serial,
            money::format(info.amount),
            info.merchant,
            money::format(info.remaining),
            money::format(info.fee),
            if to_stdout {
                "standard output".into()
            } else {
                out.display().to_string()
            }
        )
    };
    if to_stdout {
        eprintln!("{line}");
    } else {
        println!("{line}");
    }
    Ok(ExitCode::SUCCESS)
}

fn verify(
    g: &Global,
    file: &std::path::Path,
    authority_key: Option<&str>,
    merchant: Option<&str>,
) -> Result<ExitCode> {
    let bytes = read_limited(file, MAX_PAYMENT_FILE, "a payment file")?;
    let key = match authority_key {
        Some(k) => super::verify::key_from_arg(k)?,
        None => Authority::read_public_key(&g.authority_dir()?)?.to_vec(),
    };
    match reader::pay::verify(&bytes, &key, merchant) {
        Ok(info) => {
            if g.json {
                let mut v = serde_json::to_value(&info)?;
                v["valid"] = json!(true);
                println!("{v}");
            } else {
                println!(
                    "valid: payment {} of meter {} authorizes {} to {} on a line of {} from {} ({} remaining)",
                    info.serial,
                    info.holder,
                    money::format(info.amount),
                    info.merchant,
                    money::format(info.line),
                    info.creditor,
                    money::format(info.remaining)
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(reader::pay::PaymentError::AuthorityKey) => {
            Err(anyhow!("the authority key is not a P-256 public key"))
        }
        Err(why) => {
            if g.json {
                println!("{}", json!({ "valid": false, "reason": why.to_string() }));
            } else {
                println!("{why}");
            }
            Ok(ExitCode::from(1))
        }
    }
}
