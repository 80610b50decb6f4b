//! `meter postmark`: postmark a file (Figure 3).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use reader::money;
use reader::postmark::{self, PostmarkInfo};
use serde_json::json;

use crate::global::Global;
use crate::output::open_file;
use crate::sink::Sink;

#[derive(clap::Args)]
pub struct Args {
    /// The file to postmark.
    file: PathBuf,
    /// Where to write the postmark (default FILE.postmark; `-`: standard
    /// output, and the report goes to standard error).
    #[arg(short, long)]
    output: Option<PathBuf>,
}

pub fn run(g: &Global, args: &Args) -> Result<ExitCode> {
    let Args { file, output } = args;
    let out = output.clone().unwrap_or_else(|| {
        let mut p = file.clone().into_os_string();
        p.push(".postmark");
        p.into()
    });
    let mut message = open_file(file)?;
    let sink =
        Sink::open(&out, &g.guard()).with_context(|| format!("cannot write {}", out.display()))?;
    let mut meter = g.open_meter()?;
    let pm = g.with_pin(&mut meter, |m| postmark::postmark(m, &mut message))?;
    let to_stdout = sink.is_stdout();
    if let Err(e) = sink.finish(&pm) {
        // Last resort: the postmark was paid for; hand it over.
        eprintln!("postmark (hex): {}", hex::encode_upper(&pm));
        return Err(anyhow::Error::from(e).context(format!("cannot write {}", out.display())));
    }
    let info = PostmarkInfo::parse(&pm)?;
    postmarked(g.json, &out, &info, to_stdout)?;
    Ok(ExitCode::SUCCESS)
}

/// Reports a postmark written to `out`; on standard error when the
/// postmark itself went to standard output (`-o -`).
fn postmarked(json: bool, out: &Path, info: &PostmarkInfo, to_stderr: bool) -> Result<()> {
    let line = if json {
        let mut v = serde_json::to_value(info)?;
        v["postmark"] = json!(out);
        v.to_string()
    } else {
        format!(
            "postmark {} of meter {} written to {} (fee {})",
            info.sequence,
            info.meter,
            if to_stderr {
                "standard output".into()
            } else {
                out.display().to_string()
            },
            money::format(info.fee)
        )
    };
    if to_stderr {
        eprintln!("{line}");
    } else {
        println!("{line}");
    }
    Ok(())
}
