//! Postage indicia through the CLI: `meter postage` prints one (bytes,
//! PNG, SVG), Debian's `dmtxread` (dmtx-utils, an independent decoder)
//! reads the exact bytes back from the PNG, `meter postage verify` checks
//! them, and `meter authority scan` records the first and flags a copy.
//! dmtxread is required: `scripts/test` installs it, and these tests fail
//! (never skip) without it.

use std::path::{Path, PathBuf};
use std::process::Command;

use certmeter_tests::{Home, OWNER_PIN};

/// A personalized meter with 5.00 in its postage register.
fn funded() -> Home {
    let home = Home::personalized("PB-POST", "10.00");
    home.meter(["load", "5.00", "--register", "postage"])
        .expect_code(0);
    home
}

/// Prints an indicium to `name` in `home`; returns its bytes path.
fn print(home: &Home, name: &str, amount: &str, to: &str) -> PathBuf {
    let out = home.path().join(name);
    home.meter([
        "--pin",
        OWNER_PIN,
        "postage",
        "--amount",
        amount,
        "--from",
        "10001",
        "--to",
        to,
        "-o",
        out.to_str().unwrap(),
    ])
    .expect_code(0);
    out
}

fn with(p: &Path, suffix: &str) -> PathBuf {
    let mut s = p.as_os_str().to_owned();
    s.push(suffix);
    s.into()
}

/// The bytes `dmtxread` reads from `image`.
fn dmtxread(image: &Path) -> Vec<u8> {
    let out = Command::new("dmtxread")
        .args(["-N", "1"])
        .arg(image)
        .output()
        .unwrap_or_else(|e| {
            panic!("dmtxread (Debian dmtx-utils) is required: {e}; ./scripts/test installs it")
        });
    assert!(out.status.success(), "dmtxread failed: {out:?}");
    out.stdout
}

/// The registers, piece counts and sequence (not the clock).
fn registers(home: &Home) -> serde_json::Value {
    let s = home.meter(["status", "--json"]).expect_code(0).json();
    serde_json::json!([s["registers"], s["piece_counts"], s["sequence"]])
}

#[test]
fn a_printed_indicium_reads_back_with_dmtxread_and_verifies() {
    let home = funded();
    let out = home.path().join("stamp");
    let printed = home
        .meter([
            "--pin",
            OWNER_PIN,
            "--json",
            "postage",
            "--amount",
            "0.55",
            "--from",
            "10001",
            "--to",
            "sw1a 1aa",
            "--class",
            "priority",
            "-o",
            out.to_str().unwrap(),
        ])
        .expect_code(0)
        .json();
    let bytes = std::fs::read(&out).unwrap();
    // The independent decoder gives back the exact signed bytes.
    assert_eq!(dmtxread(&with(&out, ".png")), bytes);
    // What the card signed: registers after the debit, the piece, the fields.
    assert_eq!(printed["device"], "PB-POST");
    assert_eq!(printed["postage"], 55);
    assert_eq!(printed["ascending"], 55);
    assert_eq!(printed["descending"], 445);
    assert_eq!(printed["pieces"], 1);
    assert_eq!(printed["destination"], "SW1A 1AA");
    assert_eq!(printed["class"], "PRIORITY");
    let info = reader::postage::IndiciumInfo::parse(&bytes).unwrap();
    assert_eq!(serde_json::to_value(&info).unwrap()["ascending"], 55);
    // The postage from the postage register, the Indicium fee from the
    // certificate register; both control totals as loaded.
    let fee = authority::DEFAULT_RATES
        .iter()
        .find(|(s, _)| *s == apdu::meter::Service::Indicium)
        .unwrap()
        .1;
    assert_eq!(
        registers(&home),
        serde_json::json!([
            {
                "postage": { "ascending": 55, "descending": 445, "control_total": 500 },
                "certificate": { "ascending": fee, "descending": 1000 - fee, "control_total": 1000 },
            },
            { "postage": 1, "certificate": 1 },
            3,
        ])
    );
    // Verified from the image (our decoder), from the bytes, and with the
    // exported meter certificate and the authority key as PEM.
    let v = home
        .meter(["postage", "verify", with(&out, ".png").to_str().unwrap()])
        .expect_code(0);
    assert!(
        v.stdout.starts_with("valid: indicium 1 of meter PB-POST"),
        "{}",
        v.stdout
    );
    home.meter(["postage", "verify", out.to_str().unwrap()])
        .expect_code(0);
    let cert = home.path().join("meter.cert");
    let pem = home.path().join("authority.pem");
    home.meter(["cert", "export", "0", "-o", cert.to_str().unwrap()])
        .expect_code(0);
    home.meter(["authority", "key", "--pem", "-o", pem.to_str().unwrap()])
        .expect_code(0);
    home.meter([
        "postage",
        "verify",
        out.to_str().unwrap(),
        "--cert",
        cert.to_str().unwrap(),
        "--authority-key",
        pem.to_str().unwrap(),
    ])
    .expect_code(0);
    // The SVG carries the symbol and the human-readable fields.
    let svg = std::fs::read_to_string(with(&out, ".svg")).unwrap();
    assert!(svg.contains("fill-rule=\"evenodd\""), "{svg}");
    for field in ["POSTAGE 0.55", "FROM 10001", "TO SW1A 1AA", "METER PB-POST"] {
        assert!(svg.contains(field), "{field}: {svg}");
    }
}

#[test]
fn a_copied_indicium_is_flagged_at_the_second_scan() {
    let home = funded();
    let first = print(&home, "one", "0.55", "94105");
    let second = print(&home, "two", "1.20", "94105");
    let scan = |p: &Path| home.meter(["authority", "scan", p.to_str().unwrap()]);
    let ok = scan(&with(&first, ".png")).expect_code(0);
    assert!(ok.stdout.contains("recorded"), "{}", ok.stdout);
    // The same stamp again (its bytes this time): a copy.
    let copy = scan(&first).expect_code(1);
    assert!(
        copy.stdout.starts_with("COPIED INDICIUM"),
        "{}",
        copy.stdout
    );
    assert!(
        copy.stdout.contains("copy of that stamp"),
        "{}",
        copy.stdout
    );
    // Another stamp of the same meter is not a copy.
    scan(&second).expect_code(0);
    let again = scan(&with(&second, ".png")).expect_code(1);
    assert!(again.stdout.contains("1 copy seen"), "{}", again.stdout);
    let a = authority::Authority::open(&home.path().join("authority")).unwrap();
    assert_eq!(a.scanned_postage("PB-POST").unwrap(), (175, 2));
}

#[test]
fn an_altered_indicium_is_refused_and_not_recorded() {
    let home = funded();
    let out = print(&home, "stamp", "0.55", "94105");
    let mut bytes = std::fs::read(&out).unwrap();
    // The postage field (tag 94, 8 bytes): 0.55 becomes 2.55.
    let at = bytes.windows(2).position(|w| w == [0x94, 0x08]).unwrap() + 2 + 6;
    bytes[at] ^= 0x08;
    let forged = home.path().join("forged");
    std::fs::write(&forged, &bytes).unwrap();
    let v = home
        .meter(["postage", "verify", forged.to_str().unwrap()])
        .expect_code(1);
    assert!(
        v.stdout.contains("signature does not verify"),
        "{}",
        v.stdout
    );
    home.meter(["authority", "scan", forged.to_str().unwrap()])
        .expect_code(1);
    // Not recorded: the genuine one is still the first.
    home.meter(["authority", "scan", out.to_str().unwrap()])
        .expect_code(0);
    // Not an indicium at all.
    let junk = home.path().join("junk");
    std::fs::write(&junk, b"hello").unwrap();
    home.meter(["postage", "verify", junk.to_str().unwrap()])
        .expect_code(1);
}

#[test]
fn refused_indicia_charge_nothing_and_write_nothing() {
    let home = funded();
    let before = registers(&home);
    let out = home.path().join("refused");
    let attempt = |extra: &[&str]| {
        let mut args = vec![
            "--pin",
            OWNER_PIN,
            "postage",
            "--from",
            "10001",
            "--to",
            "94105",
            "-o",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        home.meter(args)
    };
    // Back-dated: refused by the card's clock (940C).
    let r = attempt(&["--amount", "0.55", "--date", "2020-01-01"]).expect_code(2);
    assert!(r.stderr.contains("940C"), "{}", r.stderr);
    // More than the postage register holds (9401).
    let r = attempt(&["--amount", "5.01"]).expect_code(2);
    assert!(r.stderr.contains("9401"), "{}", r.stderr);
    // Bad input, refused before the card.
    let r = attempt(&["--amount", "0.55", "--class", "first class!"]).expect_code(2);
    assert!(r.stderr.contains("--class"), "{}", r.stderr);
    assert_eq!(registers(&home), before);
    for p in [out.clone(), with(&out, ".png"), with(&out, ".svg")] {
        assert!(!p.exists(), "{} written", p.display());
    }
    // A link planted at an output: refused before the card charges.
    let target = home.path().join("elsewhere");
    std::os::unix::fs::symlink(&target, with(&out, ".png")).unwrap();
    let r = attempt(&["--amount", "0.55"]).expect_code(2);
    assert!(r.stderr.contains("symbolic link"), "{}", r.stderr);
    assert!(!target.exists());
    assert_eq!(registers(&home), before);
}
