//! `meter postage`: print a postage indicium (the card debits the postage
//! register and signs), and `meter postage verify`: check one from its
//! bytes or its printed PNG.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use authority::Authority;
use reader::money;
use reader::postage::{self, DEFAULT_CLASS, IndiciumError, IndiciumInfo, PostageOrder};
use reader::postage_print;
use serde_json::json;

use crate::global::Global;
use crate::output::read_limited;
use crate::sink::Sink;

#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct Args {
    #[command(subcommand)]
    command: Option<PostageCommand>,
    /// The postage, e.g. 0.55 (debited from the postage register).
    #[arg(long, required = true)]
    amount: Option<String>,
    /// Origin ZIP or postcode.
    #[arg(long, required = true)]
    from: Option<String>,
    /// Destination ZIP or postcode.
    #[arg(long, required = true)]
    to: Option<String>,
    /// Mail class (letters, digits, hyphens).
    #[arg(long, default_value = DEFAULT_CLASS)]
    class: String,
    /// Mailing date YYYY-MM-DD (default: the card's today); today or up to
    /// 30 days ahead by the card's clock, never earlier.
    #[arg(long)]
    date: Option<String>,
    /// Where to write: OUT (the indicium bytes), OUT.png and OUT.svg (the
    /// printable indicium).
    #[arg(short, long, default_value = "indicium")]
    output: PathBuf,
}

#[derive(clap::Subcommand)]
enum PostageCommand {
    /// Check an indicium, from its bytes or its printed PNG: exit 0 when
    /// valid, 1 when invalid, 2 on errors.
    Verify {
        /// The indicium bytes, or the PNG `meter postage` printed.
        file: PathBuf,
        /// The meter certificate (`meter cert export 0 -o FILE`); default:
        /// the authority's records (read-only).
        #[arg(long, value_name = "FILE")]
        cert: Option<PathBuf>,
        /// The authority's public key, hex or a PEM file (default: from
        /// the authority directory, read-only).
        #[arg(long, value_name = "HEX|FILE.pem")]
        authority_key: Option<String>,
    },
}

/// The largest file `verify` and `authority scan` read (a PNG).
pub const MAX_IMAGE_FILE: usize = 8 << 20;

/// The indicium bytes in `path`: decoded from the Data Matrix when it is a
/// PNG, else the file itself.
pub(crate) fn read_indicium(path: &Path) -> Result<Vec<u8>> {
    let bytes = read_limited(path, MAX_IMAGE_FILE, "an indicium or its image")?;
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return postage_print::decode_png(&bytes)
            .with_context(|| format!("reading the Data Matrix of {}", path.display()));
    }
    if bytes.len() > postage::MAX_INDICIUM_FILE {
        bail!(
            "{} is neither a PNG nor an indicium (too large)",
            path.display()
        );
    }
    Ok(bytes)
}

fn with_suffix(p: &Path, suffix: &str) -> PathBuf {
    let mut s = p.as_os_str().to_owned();
    s.push(suffix);
    s.into()
}

pub fn run(g: &Global, args: &Args) -> Result<ExitCode> {
    if let Some(PostageCommand::Verify {
        file,
        cert,
        authority_key,
    }) = &args.command
    {
        return verify(g, file, cert.as_deref(), authority_key.as_deref());
    }
    let (Some(amount), Some(from), Some(to)) = (&args.amount, &args.from, &args.to) else {
        bail!("--amount, --from and --to are required");
    };
    let postage = money::parse(amount).with_context(|| format!("--amount {amount}"))?;
    let date = match &args.date {
        None => None,
        Some(d) => Some(
            postage::parse_date(d).with_context(|| format!("--date {d}: a date is YYYY-MM-DD"))?,
        ),
    };
    let order = PostageOrder {
        postage,
        origin: from.clone(),
        destination: to.clone(),
        class: args.class.clone(),
        date,
    };
    // Checked before anything is opened or charged.
    order.request()?;
    let out = &args.output;
    if out == Path::new("-") {
        bail!("-o: give a file name: the indicium is written as OUT, OUT.png and OUT.svg");
    }
    let (png_path, svg_path) = (with_suffix(out, ".png"), with_suffix(out, ".svg"));
    // Every output opened before the card charges.
    let guard = g.guard();
    let open =
        |p: &Path| Sink::open(p, &guard).with_context(|| format!("cannot write {}", p.display()));
    let (bytes_sink, png_sink, svg_sink) = (open(out)?, open(&png_path)?, open(&svg_path)?);
    let mut meter = g.open_meter()?;
    let indicium = g.with_pin(&mut meter, |m| postage::postage(m, &order))?;
    let info = IndiciumInfo::parse(&indicium)?;
    let written = (|| -> Result<()> {
        bytes_sink
            .finish(&indicium)
            .with_context(|| format!("cannot write {}", out.display()))?;
        png_sink
            .finish(&postage_print::png(&indicium, &info)?)
            .with_context(|| format!("cannot write {}", png_path.display()))?;
        svg_sink
            .finish(postage_print::svg(&indicium, &info)?.as_bytes())
            .with_context(|| format!("cannot write {}", svg_path.display()))?;
        Ok(())
    })();
    if let Err(e) = written {
        // Last resort: the indicium was paid for; hand it over.
        eprintln!("indicium (hex): {}", hex::encode_upper(&indicium));
        return Err(e);
    }
    if g.json {
        let mut v = serde_json::to_value(&info)?;
        v["indicium"] = json!(out);
        v["png"] = json!(png_path);
        v["svg"] = json!(svg_path);
        println!("{v}");
    } else {
        println!(
            "indicium {} of meter {}: postage {} on {} from {} to {} ({}), postage register {} used, {} left",
            info.pieces,
            info.device,
            money::format(info.postage),
            postage::date_text(info.date),
            info.origin,
            info.destination,
            info.class,
            money::format(info.ascending),
            money::format(info.descending),
        );
        println!(
            "written to {}, {} and {}",
            out.display(),
            png_path.display(),
            svg_path.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn verify(
    g: &Global,
    file: &Path,
    cert: Option<&Path>,
    authority_key: Option<&str>,
) -> Result<ExitCode> {
    let bytes = read_indicium(file)?;
    let info = match IndiciumInfo::parse(&bytes) {
        Ok(i) => i,
        Err(e) => return invalid(g.json, &e.to_string()),
    };
    let keys = super::verify::authority_keys(g, authority_key)?;
    let certificate = match cert {
        Some(p) => read_limited(p, 4096, "a certificate")?,
        None => Authority::read_certificate(&g.authority_dir()?, info.certificate_serial)?,
    };
    // The key that signed the meter certificate: the current one, or the
    // one the last rollover replaced.
    let key: [u8; 65] = super::verify::signer(&keys, |k| {
        apdu::cert::Certificate::parse(&certificate)
            .is_ok_and(|c| apdu::crypto::verify_certificate(&c, k))
    })
    .try_into()
    .map_err(|_| anyhow::anyhow!("the authority key is not an uncompressed P-256 point"))?;
    match postage::verify(&bytes, &certificate, &key) {
        Ok(info) => {
            if g.json {
                let mut v = serde_json::to_value(&info)?;
                v["valid"] = json!(true);
                println!("{v}");
            } else {
                println!(
                    "valid: indicium {} of meter {}, postage {} on {} from {} to {} ({}), ascending register {}",
                    info.pieces,
                    info.device,
                    money::format(info.postage),
                    postage::date_text(info.date),
                    info.origin,
                    info.destination,
                    info.class,
                    money::format(info.ascending),
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(IndiciumError::Invalid(why)) => invalid(g.json, why.reason()),
        Err(IndiciumError::Malformed(why)) => invalid(g.json, &why),
    }
}

fn invalid(json: bool, why: &str) -> Result<ExitCode> {
    if json {
        println!("{}", json!({ "valid": false, "reason": why }));
    } else {
        println!("invalid: {why}");
    }
    Ok(ExitCode::from(1))
}
