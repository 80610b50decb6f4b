//! `meter apdu`: raw command APDUs in one session.

use std::process::ExitCode;

use anyhow::{Context, Result};
use apdu::ResponseBuf;
use serde_json::json;

use crate::global::Global;

#[derive(clap::Args)]
pub struct Args {
    /// Command APDUs in hex, one per argument (spaces and colons allowed).
    #[arg(required = true, value_name = "HEX")]
    apdus: Vec<String>,
}

pub fn run(g: &Global, args: &Args) -> Result<ExitCode> {
    let commands = args
        .apdus
        .iter()
        .map(|a| parse_hex(a))
        .collect::<Result<Vec<_>>>()?;
    let mut t = g.card_spec()?.open()?;
    let mut results = Vec::new();
    for c in &commands {
        let r = reader::exchange_raw(&mut t, c)?;
        results.push((c.clone(), r));
    }
    apdus(g.json, &results)?;
    Ok(ExitCode::SUCCESS)
}

fn parse_hex(s: &str) -> Result<Vec<u8>> {
    let clean: String = s.chars().filter(|c| !matches!(c, ' ' | ':')).collect();
    hex::decode(&clean).with_context(|| format!("`{s}` is not hex (e.g. 00A4040000)"))
}

fn apdus(json: bool, results: &[(Vec<u8>, ResponseBuf)]) -> Result<()> {
    if json {
        let v: Vec<_> = results
            .iter()
            .map(|(c, r)| {
                json!({
                    "command": hex::encode_upper(c),
                    "data": hex::encode_upper(&r.data),
                    "sw": format!("{:04X}", r.sw.0),
                    "meaning": r.sw.description(),
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    for (c, r) in results {
        println!("> {}", hex::encode_upper(c));
        if r.data.is_empty() {
            println!("< {}", r.sw);
        } else {
            println!("< {} {}", hex::encode_upper(&r.data), r.sw);
        }
    }
    Ok(())
}
