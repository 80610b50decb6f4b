//! The README's "Using the meter" block, run line by line as a new user
//! would type it (in an empty `METER_HOME`, with a `letter.pdf` to
//! postmark): every command must succeed, so the README cannot drift from
//! the CLI.

use std::path::Path;

use certmeter_tests::{Home, Run, meter_bin};

/// The `sh` block under "## Using the meter" in README.md.
fn usage_block() -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md");
    let readme = std::fs::read_to_string(path).expect("README.md");
    let section = readme
        .split("\n## Using the meter\n")
        .nth(1)
        .expect("the README has a usage section");
    let block = section
        .split("\n```sh\n")
        .nth(1)
        .expect("the section has an sh block")
        .split("\n```")
        .next()
        .expect("the block ends");
    block.lines().map(str::to_owned).collect()
}

#[test]
fn the_readme_usage_block_runs_as_written() {
    let home = Home::new();
    std::fs::write(home.path().join("letter.pdf"), b"%PDF a letter").unwrap();
    let mut env: Vec<(String, String)> = Vec::new();
    let mut code = String::new();
    let mut ran = 0;
    for line in usage_block() {
        let line = line.split(" #").next().unwrap().trim().to_owned();
        if line.is_empty() || line.starts_with("cargo build") || line.starts_with("M=") {
            continue;
        }
        if let Some(assign) = line.strip_prefix("export ") {
            let (k, v) = assign.split_once('=').expect("export K=V");
            env.push((k.to_owned(), v.to_owned()));
            continue;
        }
        let args: Vec<String> = line
            .strip_prefix("$M ")
            .unwrap_or_else(|| panic!("a README line that is not `$M ...`: {line}"))
            .split_whitespace()
            .map(|a| {
                if a == "CODE" {
                    code.clone()
                } else {
                    a.to_owned()
                }
            })
            .collect();
        let mut cmd = home.command(meter_bin());
        cmd.current_dir(home.path()).args(&args);
        for (k, v) in &env {
            cmd.env(k, v);
        }
        let run = Run::from(cmd.output().expect("meter"));
        assert_eq!(
            run.code, 0,
            "README line `{line}` failed:\n{}{}",
            run.stdout, run.stderr
        );
        if args.first().map(String::as_str) == Some("authority")
            && args.get(1).map(String::as_str) == Some("enroll")
        {
            // The one-time code is printed alone on the second line.
            code = run
                .stdout
                .lines()
                .nth(1)
                .expect("a code line")
                .trim()
                .to_owned();
        }
        ran += 1;
    }
    assert!(ran >= 10, "only {ran} README commands ran");
    assert!(home.path().join("letter.pdf.postmark").exists());
    for written in ["stamp", "stamp.png", "stamp.svg", "letter.pdf.sig"] {
        assert!(home.path().join(written).exists(), "{written} not written");
    }
    // What the flow left: the installed certificate in slot 1, revoked.
    let list = home.meter(["--json", "cert", "list"]).expect_code(0).json();
    let slot1 = list
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["slot"] == 1)
        .expect("a certificate in slot 1");
    assert_eq!(slot1["holder"], "ALICE");
    assert_eq!(slot1["status"], "revoked (reason 4)");
}
