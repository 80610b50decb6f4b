//! The simulated card's state file through `meter`, as a user meets it
//! (issue "[trust]" point 6): made private, refused when others can read
//! it, never written through a planted link, and never read as funds when
//! a byte was flipped or the file cut short. Each test fails on the state
//! file of before (0644, untagged, saved through a fixed `PATH.tmp`).

use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;

use certmeter_tests::{DEFAULT_PIN, Home, OWNER_PIN, Run, meter_bin};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

/// `meter ARGS` under the usual umask 022, whatever the test runner's.
fn meter_umask_022(home: &Home, args: &[&str]) -> Run {
    home.command("sh")
        .arg("-c")
        .arg("umask 022 && exec \"$0\" \"$@\"")
        .arg(meter_bin())
        .args(args)
        .output()
        .expect("running meter")
        .into()
}

/// Refused with one clear line that names the file, and nothing printed
/// as the card's state.
fn assert_refused(run: Run, path: &Path, words: &str) {
    let run = run.expect_code(2);
    assert!(
        run.stderr.contains(&path.display().to_string()) && run.stderr.contains(words),
        "{}",
        run.stderr
    );
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
}

#[test]
fn card_new_makes_a_private_file() {
    let home = Home::new();
    // The card's issuer root comes from the authority: it exists first.
    meter_umask_022(&home, &["authority", "init"]).expect_code(0);
    meter_umask_022(&home, &["card", "new"]).expect_code(0);
    let path = home.path().join("card.sim");
    assert_eq!(mode(&path), 0o600);
    // And every save keeps it so.
    meter_umask_022(
        &home,
        &["--pin", DEFAULT_PIN, "pin", "change", "--new", OWNER_PIN],
    )
    .expect_code(0);
    assert_eq!(mode(&path), 0o600);
    meter_umask_022(
        &home,
        &[
            "--pin",
            OWNER_PIN,
            "personalize",
            "--serial",
            "M1",
            "--funds",
            "1.00",
        ],
    )
    .expect_code(0);
    assert_eq!(mode(&path), 0o600);
}

#[test]
fn a_card_others_can_read_is_refused() {
    let home = Home::new();
    home.meter(["authority", "init"]).expect_code(0);
    home.meter(["card", "new"]).expect_code(0);
    let path = home.path().join("card.sim");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let before = std::fs::read(&path).unwrap();
    assert_refused(
        home.meter(["status"]),
        &path,
        &format!("chmod 600 {}", path.display()),
    );
    assert_eq!(std::fs::read(&path).unwrap(), before);
    assert_eq!(mode(&path), 0o644);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    home.meter(["status"]).expect_code(0);
}

#[test]
fn a_planted_tmp_link_is_not_followed() {
    let home = Home::new();
    let victim = home.path().join("victim");
    std::fs::write(&victim, "precious").unwrap();
    symlink(&victim, home.path().join("card.sim.tmp")).unwrap();
    home.meter(["authority", "init"]).expect_code(0);
    home.meter(["card", "new"]).expect_code(0);
    home.meter(["--pin", DEFAULT_PIN, "pin", "change", "--new", OWNER_PIN])
        .expect_code(0);
    home.meter([
        "--pin",
        OWNER_PIN,
        "personalize",
        "--serial",
        "M1",
        "--funds",
        "1.00",
    ])
    .expect_code(0);
    assert_eq!(
        std::fs::read(&victim).unwrap(),
        b"precious",
        "the link was followed"
    );
    let path = home.path().join("card.sim");
    assert!(!std::fs::symlink_metadata(&path).unwrap().is_symlink());
    home.meter(["status"]).expect_code(0);
}

/// A byte a postmark changed (the registers among them, found by
/// comparing the file before and after, whatever the layout), or any other
/// byte, flipped: refused, the funds never shown.
#[test]
fn a_flipped_byte_is_refused() {
    let home = Home::personalized("M1", "10.00");
    let (_, path) = home.card();
    let before = std::fs::read(&path).unwrap();
    let msg = home.path().join("letter.txt");
    std::fs::write(&msg, "Dear Sir,").unwrap();
    home.meter(["--pin", OWNER_PIN, "postmark", msg.to_str().unwrap()])
        .expect_code(0);
    let good = std::fs::read(&path).unwrap();
    let changed: Vec<usize> = (8..before.len().min(good.len()))
        .filter(|&i| before[i] != good[i])
        .collect();
    assert!(!changed.is_empty());
    let mut positions = vec![changed[0], changed[changed.len() / 2], 8, good.len() / 2];
    positions.push(good.len() - 1);
    for i in positions {
        let mut bad = good.clone();
        bad[i] ^= 0x01;
        std::fs::write(&path, &bad).unwrap();
        assert_refused(
            home.meter(["status", "--json"]),
            &path,
            "altered or damaged",
        );
        assert_eq!(std::fs::read(&path).unwrap(), bad, "byte {i}: rewritten");
    }
    std::fs::write(&path, &good).unwrap();
    home.meter(["status"]).expect_code(0);
}

#[test]
fn a_truncated_file_is_refused() {
    let home = Home::new();
    home.meter(["authority", "init"]).expect_code(0);
    home.meter(["card", "new"]).expect_code(0);
    let path = home.path().join("card.sim");
    let good = std::fs::read(&path).unwrap();
    for len in [0, 4, good.len() / 2, good.len() - 1] {
        std::fs::write(&path, &good[..len]).unwrap();
        assert_refused(home.meter(["status"]), &path, "altered or damaged");
    }
    let mut long = good.clone();
    long.push(0);
    std::fs::write(&path, &long).unwrap();
    assert_refused(home.meter(["status"]), &path, "altered or damaged");
}
