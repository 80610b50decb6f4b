//! `meter authority crl -o FILE`: the authority's signed, numbered
//! revocation list (7F7F; every list numbered one more than the last).

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use authority::Authority;
use serde_json::json;

use crate::global::Global;
use crate::output::write_output;

pub fn run(g: &Global, dir: &Path, output: &Path) -> Result<ExitCode> {
    let list = Authority::open(dir)?.crl()?;
    write_output(output, &list, &g.guard())?;
    let parsed = apdu::cmd::revoke::Crl::parse(&list)
        .map_err(|e| anyhow::anyhow!("the list just made does not parse: {e:?}"))?;
    let entries = parsed.entries().count();
    if g.json {
        eprintln!(
            "{}",
            json!({ "crl_number": parsed.number, "entries": entries })
        );
    } else {
        eprintln!(
            "revocation list {} with {entries} revoked certificate(s)",
            parsed.number
        );
    }
    Ok(ExitCode::SUCCESS)
}
