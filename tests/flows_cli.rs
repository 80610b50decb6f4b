//! Personalization, Figure 3 and Figure 4 through the `meter` CLI, as a new
//! user runs them with `METER_HOME` set to an empty directory.

use certmeter_tests::{Home, Run};

const PIN: &str = certmeter_tests::OWNER_PIN;

fn setup(funds: &str) -> Home {
    Home::personalized("PB-42", funds)
}

fn status(home: &Home) -> serde_json::Value {
    home.meter(["status", "--json"]).expect_code(0).json()
}

/// The status without the live clock, which may tick between two calls:
/// what must not change when a command is refused.
fn held(home: &Home) -> serde_json::Value {
    let mut s = status(home);
    let clock = s
        .as_object_mut()
        .and_then(|o| o.remove("clock"))
        .expect("status has a clock");
    assert!(clock.as_u64().is_some(), "clock {clock}");
    s
}

fn reg(s: &serde_json::Value, name: &str, field: &str) -> u64 {
    s["registers"][name][field].as_u64().unwrap()
}

#[test]
fn k_postmarks_move_the_registers_by_k_fees() {
    let home = setup("10.00");
    let s0 = status(&home);
    assert_eq!(s0["serial"], "PB-42");
    assert_eq!(s0["lifecycle"], "personalized");
    assert_eq!(reg(&s0, "certificate", "descending"), 1000);
    assert_eq!(s0["certificates"].as_array().unwrap().len(), 1);
    assert_eq!(s0["certificates"][0]["holder"], "PB-42");
    let msg = home.path().join("letter.txt");
    std::fs::write(&msg, "Dear Sir,").unwrap();
    let fee = 25; // the authority's default postmark rate
    let k = 4;
    for i in 1..=k {
        home.meter(["--pin", PIN, "postmark", msg.to_str().unwrap()])
            .expect_code(0);
        let s = status(&home);
        assert_eq!(reg(&s, "certificate", "descending"), 1000 - i * fee);
        assert_eq!(reg(&s, "certificate", "ascending"), i * fee);
        assert_eq!(reg(&s, "certificate", "control_total"), 1000);
        assert_eq!(
            reg(&s, "certificate", "ascending") + reg(&s, "certificate", "descending"),
            1000
        );
        assert_eq!(s["piece_counts"]["certificate"].as_u64().unwrap(), i);
        assert_eq!(s["piece_counts"]["postage"].as_u64().unwrap(), 0);
    }
    assert!(home.path().join("letter.txt.postmark").exists());
}

fn flip(path: &std::path::Path, at: usize) {
    let mut b = std::fs::read(path).unwrap();
    b[at] ^= 0x01;
    std::fs::write(path, b).unwrap();
}

#[test]
fn postmarks_of_any_size_verify_and_tampering_is_caught() {
    let home = setup("10.00");
    for (name, size) in [
        ("empty", 0usize),
        ("one-mib", 1 << 20),
        ("two-hundred-kib", 200 * 1024),
    ] {
        let file = home.path().join(name);
        let body: Vec<u8> = (0..size).map(|i| (i * 31 % 251) as u8).collect();
        std::fs::write(&file, &body).unwrap();
        let f = file.to_str().unwrap();
        let pm = format!("{f}.postmark");
        home.meter(["--pin", PIN, "postmark", f]).expect_code(0);
        let ok = home.meter(["verify", f, &pm]).expect_code(0);
        assert!(ok.stdout.starts_with("valid"), "{}", ok.stdout);
        home.meter(["--pin", PIN, "verify", "--on-card", f, &pm])
            .expect_code(0);
        if size > 0 {
            flip(&file, size / 2);
            let bad: Run = home.meter(["verify", f, &pm]).expect_code(1);
            assert!(bad.stdout.contains("altered message"), "{}", bad.stdout);
            let bad = home
                .meter(["--pin", PIN, "verify", "--on-card", f, &pm])
                .expect_code(1);
            assert!(bad.stdout.contains("altered message"), "{}", bad.stdout);
        }
    }
}

/// `-o` onto a FIFO writes through it (a rename would replace the pipe with
/// a plain file, as it would `/dev/null`), onto a symlink is refused (the
/// CLI never writes through a link), and `-` is standard output.
#[test]
fn postmark_output_to_pipes_symlinks_and_stdout() {
    use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
    let home = setup("2.00");
    let file = home.path().join("m");
    std::fs::write(&file, "hello").unwrap();
    let f = file.to_str().unwrap();

    let fifo = home.path().join("pipe");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    // The read end is opened non-blocking first, so the meter's open does not
    // wait and a regression cannot hang the test.
    let mut pipe = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&fifo)
        .unwrap();
    home.meter(["--pin", PIN, "postmark", f, "-o", fifo.to_str().unwrap()])
        .expect_code(0);
    let mut through = Vec::new();
    std::io::Read::read_to_end(&mut pipe, &mut through).unwrap();
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
    let piped = home.path().join("piped.postmark");
    std::fs::write(&piped, &through).unwrap();
    home.meter(["verify", f, piped.to_str().unwrap()])
        .expect_code(0);

    let target = home.path().join("target.postmark");
    std::fs::write(&target, "old").unwrap();
    let link = home.path().join("link.postmark");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    // Never written through (a link may be planted): refused before the
    // card charges, the link and its target left as they were.
    let run = home
        .meter(["--pin", PIN, "postmark", f, "-o", link.to_str().unwrap()])
        .expect_code(2);
    assert!(run.stderr.contains("symbolic link"), "{}", run.stderr);
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(std::fs::read(&target).unwrap(), b"old");

    // A new postmark file gets the usual mode of a new file (0644 under
    // umask 022), not a temporary file's 0600: it is meant to be sent on.
    let fresh = home.path().join("fresh.postmark");
    let made = home
        .command("sh")
        .args(["-c", "umask 022 && exec \"$0\" \"$@\""])
        .arg(certmeter_tests::meter_bin())
        .args(["--pin", PIN, "postmark", f, "-o", fresh.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(made.success());
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&fresh).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o644, "{mode:o}");
    }

    // `-o -` and `-o /dev/stdout`: the postmark alone on standard output
    // (here a file, as with `> FILE`), the report on standard error.
    for (i, to) in ["-", "/dev/stdout"].into_iter().enumerate() {
        let captured = home.path().join(format!("stdout{i}.postmark"));
        let out = home
            .command(certmeter_tests::meter_bin())
            .args(["--pin", PIN, "postmark", f, "-o", to])
            .stdout(std::fs::File::create(&captured).unwrap())
            .output()
            .unwrap();
        assert!(out.status.success(), "{to}: {out:?}");
        let report = String::from_utf8(out.stderr).unwrap();
        assert!(report.contains("written to standard output"), "{report}");
        home.meter(["verify", f, captured.to_str().unwrap()])
            .expect_code(0);
    }
}

#[test]
fn a_postmark_fails_against_another_authority() {
    let home = setup("1.00");
    let file = home.path().join("m");
    std::fs::write(&file, "hello").unwrap();
    let f = file.to_str().unwrap();
    home.meter(["--pin", PIN, "postmark", f]).expect_code(0);
    let pm = format!("{f}.postmark");
    let other = Home::new();
    let key = other
        .meter(["--json", "authority", "init"])
        .expect_code(0)
        .json()["public_key"]
        .as_str()
        .unwrap()
        .to_owned();
    let run = home
        .meter(["verify", f, &pm, "--authority-key", &key])
        .expect_code(1);
    assert!(
        run.stdout.contains("not signed by this authority"),
        "{}",
        run.stdout
    );
    // The recipient's path: only the public key, no authority directory.
    let own = home
        .meter(["--json", "authority", "key"])
        .expect_code(0)
        .json()["public_key"]
        .as_str()
        .unwrap()
        .to_owned();
    other
        .meter(["verify", f, &pm, "--authority-key", &own])
        .expect_code(0);
}

#[test]
fn insufficient_funds_and_bad_input_change_nothing() {
    let home = setup("0.30");
    let file = home.path().join("m");
    std::fs::write(&file, "hello").unwrap();
    let f = file.to_str().unwrap();
    home.meter(["--pin", PIN, "postmark", f]).expect_code(0);
    let before = status(&home);
    let second = home.path().join("second.pm");
    let run = home
        .meter(["--pin", PIN, "postmark", f, "-o", second.to_str().unwrap()])
        .expect_code(2);
    assert!(
        run.stderr.contains("9401") && run.stderr.contains("insufficient funds"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("hint:"), "{}", run.stderr);
    assert!(!second.exists());
    assert_eq!(status(&home)["registers"], before["registers"]);
    // No PIN, wrong PIN, a missing file, a garbage postmark: clear errors, nothing lost.
    let run = home.meter(["postmark", f]).expect_code(2);
    assert!(run.stderr.contains("needs the owner PIN"), "{}", run.stderr);
    let run = home
        .meter(["--pin", "999999", "postmark", f])
        .expect_code(2);
    assert!(run.stderr.contains("2 tries left"), "{}", run.stderr);
    home.meter(["--pin", PIN, "status"]).expect_code(0);
    // A PIN the card could not hold is refused before a try is spent (an
    // empty one would otherwise go out as the status query).
    let tries = status(&home)["pin_tries"].clone();
    for bad in ["", "12", "123456789"] {
        let run = home.meter(["--pin", bad, "postmark", f]).expect_code(2);
        assert!(
            run.stderr.contains("a PIN is 4 to 8 characters"),
            "{bad:?}: {}",
            run.stderr
        );
    }
    assert_eq!(status(&home)["pin_tries"], tries);
    let run = home
        .meter(["--pin", PIN, "postmark", "/nonexistent"])
        .expect_code(2);
    assert!(
        run.stderr.contains("cannot read /nonexistent"),
        "{}",
        run.stderr
    );
    std::fs::write(home.path().join("junk"), "not a postmark").unwrap();
    let junk = home.path().join("junk");
    // A file that is no postmark is an invalid postmark: exit 1, on and off the card.
    let run = home
        .meter(["verify", f, junk.to_str().unwrap()])
        .expect_code(1);
    assert!(run.stdout.contains("not a postmark file"), "{}", run.stdout);
    let run = home
        .meter([
            "--pin",
            PIN,
            "verify",
            "--on-card",
            f,
            junk.to_str().unwrap(),
        ])
        .expect_code(1);
    assert!(run.stdout.contains("not a postmark file"), "{}", run.stdout);
    // An output path that cannot be written is refused before the charge.
    let run = home
        .meter([
            "--pin",
            PIN,
            "postmark",
            f,
            "-o",
            "/nonexistent/dir/x.postmark",
        ])
        .expect_code(2);
    assert!(
        run.stderr
            .contains("cannot write /nonexistent/dir/x.postmark"),
        "{}",
        run.stderr
    );
    let after = status(&home);
    assert_eq!(after["registers"], before["registers"]);
    assert_eq!(after["piece_counts"], before["piece_counts"]);
    assert_eq!(after["certificates"], before["certificates"]);
    // Personalizing twice is refused.
    let run = home
        .meter(["--pin", PIN, "personalize", "--serial", "X", "--funds", "1"])
        .expect_code(2);
    assert!(
        run.stderr.contains("already personalized"),
        "{}",
        run.stderr
    );
}

#[test]
fn demo_runs() {
    let home = Home::new();
    let run = home.meter(["demo"]).expect_code(0);
    assert!(run.stdout.contains("demo complete"), "{}", run.stdout);
    assert!(run.stdout.contains("9401"), "{}", run.stdout);
    // The [certs] sections ran, each with its figure steps.
    for section in [
        "SYNC and the lock by charged operations",
        "310 the third is refused with 9405",
        "an authority contact lifts the lock",
        "Figure 5: the authority enrolls a holder",
        "520 installed in slot 1, charged 5.00",
        "SIGN: alice's key on the card signs a digest",
        "slot 0, the meter certificate: refused (6A88",
        "Figure 3A: the meter, as the authority's agent",
        "362 deducted 1.50",
        "chain verified: authority -> meter PB-000001",
        "Figure 6: alice's certificate is revoked",
        "624 confirmation + payment 1.00",
        "The revocation list",
        "revoked (keyCompromise)",
        "is not on the list: good",
        "CA key update: the authority rolls its key over",
        "a SYNC signed by the new key: accepted",
        "still verifies until its certificate expires",
        "Postage indicia: the postage register pays",
        "read back from the PNG byte for byte",
        "flagged as a COPIED INDICIUM",
        "is refused with 940C",
        "Figure 8: the holder asks a creditor for a line of credit of 5000.00: refused (806)",
        "806 refused: 500000 minor units asked",
        "810 the card verifies authority -> creditor -> 7A",
        "812 credit remaining 500.00",
        "(a replay) is refused (6984",
        "908 subtracted: 376.55 remaining; 910 payment certificate 1 (fee 0.20)",
        "906 refused (940D",
        "payment 1 of meter PB-000001 settled: 123.45 paid to SHOP-0001",
        "presented a second time: refused, nothing paid",
        "SHOP-0001 was paid 123.45",
        "Recharging: the card signs a request over its state",
        "control total 5.00 -> 10.00",
        "the card installed version 1",
        "a postmark is charged 0.30 from the card's own table",
        "report 1 agrees with every load the authority made",
    ] {
        assert!(run.stdout.contains(section), "{section}: {}", run.stdout);
    }
    // The final control totals equal everything loaded: 1.00 at
    // personalization and 20.00 later, into the certificate register;
    // 5.00 into the postage register, 0.55 of it printed as an indicium
    // (whose fee the certificate register paid), and 5.00 recharged into
    // it; Figures 8 and 9 add two request postmarks and a payment fee.
    assert!(
        run.stdout
            .contains("postage     0.55 + 9.45 = 10.00 = loaded by the authority"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("certificate 10.50 + 10.50 = 21.00 = loaded by the authority"),
        "{}",
        run.stdout
    );
}

/// What the authority would refuse (a bad serial, funds it cannot record, a
/// serial already taken) is refused before the blank card is touched: no
/// meter key is generated, and the card can then be personalized normally.
#[test]
fn refused_personalizations_leave_the_card_blank() {
    let home = Home::new();
    home.meter(["authority", "init"]).expect_code(0);
    home.meter(["card", "new"]).expect_code(0);
    home.meter(["--pin", "123456", "pin", "change", "--new", PIN])
        .expect_code(0);
    let blank = held(&home);
    assert_eq!(blank["meter_key"], false, "{blank}");
    for (serial, funds, why) in [
        (
            "THIS-SERIAL-IS-TOO-LONG",
            "1.00",
            "meter serial must be 1 to 16",
        ),
        ("PB 1", "1.00", "meter serial must be 1 to 16"),
        ("PB-1", "184467440737095516.15", "amount is too large"),
        ("PB-1", "92233720368547758.08", "amount is too large"),
    ] {
        let run = home
            .meter([
                "--pin",
                PIN,
                "personalize",
                "--serial",
                serial,
                "--funds",
                funds,
            ])
            .expect_code(2);
        assert!(run.stderr.contains(why), "{serial} {funds}: {}", run.stderr);
        assert_eq!(held(&home), blank, "{serial} {funds}");
    }
    // A serial another card holds.
    let other = Home::new();
    let home_authority = home.path().join("authority").display().to_string();
    other
        .meter(["--authority", &home_authority, "card", "new"])
        .expect_code(0);
    other
        .meter(["--pin", "123456", "pin", "change", "--new", PIN])
        .expect_code(0);
    let other_card = format!("sim:{}", other.path().join("card.sim").display());
    home.meter([
        "--card",
        &other_card,
        "--pin",
        PIN,
        "personalize",
        "--serial",
        "PB-1",
        "--funds",
        "1",
    ])
    .expect_code(0);
    let run = home
        .meter([
            "--pin",
            PIN,
            "personalize",
            "--serial",
            "PB-1",
            "--funds",
            "1",
        ])
        .expect_code(2);
    assert!(
        run.stderr.contains("PB-1 is already in use"),
        "{}",
        run.stderr
    );
    assert_eq!(held(&home), blank);
    home.meter([
        "--pin",
        PIN,
        "personalize",
        "--serial",
        "PB-2",
        "--funds",
        "92233720368547758.07",
    ])
    .expect_code(0);
    assert_eq!(
        reg(&status(&home), "certificate", "descending"),
        i64::MAX as u64
    );
}

/// Every file under `dir` (recursively): its size, modification time and
/// contents.
fn snapshot(
    dir: &std::path::Path,
) -> std::collections::BTreeMap<std::path::PathBuf, (u64, std::time::SystemTime, Vec<u8>)> {
    let mut files = std::collections::BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            if meta.is_dir() {
                todo.push(path.clone());
            }
            let contents = if meta.is_file() {
                std::fs::read(&path).unwrap()
            } else {
                Vec::new()
            };
            files.insert(path, (meta.len(), meta.modified().unwrap(), contents));
        }
    }
    files
}

#[test]
fn off_card_verify_needs_only_the_public_key_and_touches_no_file() {
    let home = setup("1.00");
    let msg = home.path().join("m");
    std::fs::write(&msg, "hello").unwrap();
    let bad = home.path().join("bad");
    std::fs::write(&bad, "hellO").unwrap();
    let (m, b) = (msg.to_str().unwrap(), bad.to_str().unwrap());
    home.meter(["--pin", PIN, "postmark", m]).expect_code(0);
    let pm = format!("{m}.postmark");
    let hex_key = home
        .meter(["--json", "authority", "key"])
        .expect_code(0)
        .json()["public_key"]
        .as_str()
        .unwrap()
        .to_owned();
    let pem = home.path().join("authority.pem");
    let pem = pem.to_str().unwrap();
    home.meter(["authority", "key", "--pem", "-o", pem])
        .expect_code(0);

    // A verifier with no authority directory at all: the hex key, or the
    // PEM file, is all it needs.
    let verifier = Home::new();
    for key in [hex_key.as_str(), pem] {
        let run = verifier
            .meter(["verify", m, &pm, "--authority-key", key])
            .expect_code(0);
        assert!(
            run.stdout.starts_with("valid: postmark 1"),
            "{}",
            run.stdout
        );
        let run = verifier
            .meter(["verify", b, &pm, "--authority-key", key])
            .expect_code(1);
        assert!(run.stdout.starts_with("invalid: "), "{}", run.stdout);
    }
    assert_eq!(
        std::fs::read_dir(verifier.path()).unwrap().count(),
        0,
        "verify wrote into the verifier's data directory"
    );
    // Neither a key nor an authority: an error, not a verdict.
    verifier.meter(["verify", m, &pm]).expect_code(2);
    let run = verifier
        .meter(["verify", m, &pm, "--authority-key", "not-a-key"])
        .expect_code(2);
    assert!(run.stderr.contains("--authority-key"), "{}", run.stderr);

    // With the authority directory: the key is read from it, and nothing
    // in it is created, removed or changed.
    let dir = home.path().join("authority");
    let before = snapshot(&dir);
    assert!(before.len() >= 2, "{before:?}");
    std::thread::sleep(std::time::Duration::from_millis(50));
    home.meter(["verify", m, &pm]).expect_code(0);
    home.meter(["verify", b, &pm]).expect_code(1);
    home.meter(["verify", m, &pm, "--authority-key", pem])
        .expect_code(0);
    assert_eq!(
        snapshot(&dir),
        before,
        "verify touched the authority directory"
    );
}
