//! The `meter` CLI as a user runs it.

use apdu::meter::{AID, Request};
use certmeter_tests::Home;

fn select_hex() -> String {
    hex(&Request::Select { aid: AID }.to_command().to_vec().unwrap())
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02X}")).collect()
}

#[test]
fn select_and_iso_errors_through_the_cli() {
    let home = Home::new();
    let card = home.path().join("x");
    let spec = format!("sim:{}", card.display());
    home.meter(["authority", "init"]).expect_code(0);
    home.meter(["--card", &spec, "card", "new"]).expect_code(0);
    let image = std::fs::read(&card).unwrap();

    let run = home
        .meter([
            "--card",
            &spec,
            "--json",
            "apdu",
            &select_hex(),
            "00 02 00 00",      // unknown INS
            "40CA00E000",       // wrong CLA
            "00200081 02 3132", // PIN too short: wrong length
            "0020008105313233", // Lc 5 with 3 bytes: malformed
        ])
        .expect_code(0);
    let sws: Vec<String> = run
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["sw"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(sws, ["9000", "6D00", "6E00", "6700", "6700"]);
    // None of them changed the card.
    assert_eq!(std::fs::read(&card).unwrap(), image);

    let text = home
        .meter(["--card", &spec, "apdu", &select_hex(), "00020000"])
        .expect_code(0);
    assert!(text.stdout.contains("9000 (success)"), "{}", text.stdout);
    assert!(
        text.stdout.contains("6D00 (instruction not supported)"),
        "{}",
        text.stdout
    );
}

#[test]
fn card_new_refuses_to_overwrite_without_force() {
    let home = Home::new();
    home.meter(["authority", "init"]).expect_code(0);
    home.meter(["card", "new"]).expect_code(0);
    // The status without its clock (the system time, which may tick).
    let status = || {
        let mut s = home.meter(["status", "--json"]).expect_code(0).json();
        s.as_object_mut().unwrap().remove("clock");
        s
    };
    let first = status();
    let run = home.meter(["card", "new"]).expect_code(2);
    assert!(
        run.stderr.contains("already exists") && run.stderr.contains("--force"),
        "{}",
        run.stderr
    );
    assert_eq!(status(), first);
    home.meter(["card", "new", "--force"]).expect_code(0);
    let second = home.meter(["status", "--json"]).expect_code(0).json();
    assert_ne!(first["chip_id"], second["chip_id"]);
}

#[test]
fn status_of_a_blank_card() {
    let home = Home::new();
    home.meter(["authority", "init"]).expect_code(0);
    home.meter(["card", "new"]).expect_code(0);
    assert!(
        home.path().join("card.sim").exists(),
        "default card under METER_HOME"
    );
    let s = home.meter(["status", "--json"]).expect_code(0).json();
    assert_eq!(s["lifecycle"], "blank");
    assert_eq!(s["personalized"], false);
    assert_eq!(s["serial"], serde_json::Value::Null);
    for r in ["postage", "certificate"] {
        assert_eq!(s["registers"][r]["ascending"], 0);
        assert_eq!(s["registers"][r]["descending"], 0);
        assert_eq!(s["registers"][r]["control_total"], 0);
    }
    assert_eq!(s["piece_counts"]["postage"], 0);
    assert_eq!(s["pin_tries"], 3);
    let text = home.meter(["status"]).expect_code(0);
    assert!(
        text.stdout.contains("blank (not personalized"),
        "{}",
        text.stdout
    );
}

#[test]
fn errors_are_one_clear_line() {
    let home = Home::new();
    let cases: &[(&[&str], &str)] = &[
        (&["status"], "no simulated card at"),
        (&["--card", "usb", "status"], "unknown card `usb`"),
        (&["--card", "sim:", "status"], "needs a path"),
        (&["apdu", "zz"], "is not hex"),
    ];
    for (args, want) in cases {
        let run = home.meter(*args).expect_code(2);
        assert!(run.stderr.contains(want), "{args:?}: {}", run.stderr);
        assert!(
            !run.stderr.contains("panicked") && !run.stderr.contains("backtrace"),
            "{}",
            run.stderr
        );
        assert!(run.stderr.lines().count() <= 2, "{args:?}: {}", run.stderr);
    }
    // A card that is not a meter (memory erased) gives a hint.
    home.meter(["authority", "init"]).expect_code(0);
    home.meter(["card", "new"]).expect_code(0);
    let path = home.path().join("card.sim");
    let mut image = std::fs::read(&path).unwrap();
    image[8] = 0; // life-cycle byte: erased
    applet_sim::sim::reseal(&mut image);
    std::fs::write(&path, image).unwrap();
    let run = home.meter(["status"]).expect_code(2);
    assert!(run.stderr.contains("6A82"), "{}", run.stderr);
    assert!(run.stderr.contains("hint:"), "{}", run.stderr);
}

/// The PC/SC library is opened at run time: where it is missing, the CLI
/// still runs everything else, and `--card pcsc` and `readers` name the
/// library and the package to install.
#[test]
fn a_missing_pcsc_library_is_named() {
    let home = Home::new();
    let missing = home.path().join("no-such-libpcsclite.so.1");
    for args in [&["--card", "pcsc", "status"][..], &["readers"][..]] {
        let out = home
            .command(certmeter_tests::meter_bin())
            .env("PCSC_LIBRARY", &missing)
            .args(args)
            .output()
            .unwrap();
        let run = certmeter_tests::Run::from(out).expect_code(2);
        let want = format!("cannot load the PC/SC library ({})", missing.display());
        assert!(run.stderr.contains(&want), "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains("install pcscd"), "{}", run.stderr);
        assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    }
    // The simulator does not need it.
    let out = home
        .command(certmeter_tests::meter_bin())
        .env("PCSC_LIBRARY", &missing)
        .args(["authority", "init"])
        .output()
        .unwrap();
    certmeter_tests::Run::from(out).expect_code(0);
    let out = home
        .command(certmeter_tests::meter_bin())
        .env("PCSC_LIBRARY", &missing)
        .args(["card", "new"])
        .output()
        .unwrap();
    certmeter_tests::Run::from(out).expect_code(0);
}

#[test]
fn two_processes_never_share_one_card() {
    let home = Home::new();
    home.meter(["authority", "init"]).expect_code(0);
    home.meter(["card", "new"]).expect_code(0);
    let path = home.path().join("card.sim");
    let _held = applet_sim::sim::StateFile::open(&path, Default::default()).unwrap();
    let run = home.meter(["status"]).expect_code(2);
    assert!(
        run.stderr.contains("in use by another process"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_closed_pipe_is_no_panic() {
    let home = Home::new();
    home.meter(["authority", "init"]).expect_code(0);
    home.meter(["card", "new"]).expect_code(0);
    let mut child = std::process::Command::new(certmeter_tests::meter_bin())
        .args(["apdu"])
        .args(std::iter::repeat_n(select_hex(), 2000))
        .env("METER_HOME", home.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // the reader of the pipe goes away
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
}
