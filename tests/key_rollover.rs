//! [certs] point 6 end to end: `meter authority rollover` makes a new
//! authority key certified by the issuer root and switches to it; the card
//! takes it at its next contact (KEY UPDATE signed by the key it holds);
//! postmarks and certificates under the old key verify, on the PC and on
//! the card, until they expire; a card two rollovers behind is told it
//! cannot be updated; an interrupted rollover is finished at the next open.

use certmeter_tests::{Home, OWNER_PIN};

fn authority_keys(home: &Home) -> u64 {
    home.meter(["status", "--json"]).expect_code(0).json()["authority_keys"]
        .as_u64()
        .unwrap()
}

#[test]
fn the_card_takes_the_new_key_at_its_next_contact() {
    let home = Home::personalized("PB-K", "10.00");
    let dir = home.path();
    let msg = dir.join("m.txt");
    std::fs::write(&msg, "before the rollover").unwrap();
    let msg = msg.to_str().unwrap();
    home.meter(["--pin", OWNER_PIN, "postmark", msg])
        .expect_code(0);
    let pm = format!("{msg}.postmark");
    let old_key = home.meter(["authority", "key"]).expect_code(0).stdout;

    let run = home
        .meter(["--json", "authority", "rollover"])
        .expect_code(0)
        .json();
    assert_eq!(run["generation"], 1);
    let new_key = home.meter(["authority", "key"]).expect_code(0).stdout;
    assert_ne!(old_key, new_key);
    let authority = dir.join("authority");
    assert!(authority.join("authority.previous.key").is_file());
    assert!(!authority.join("authority.next.key").exists());

    // Before the card's contact: the old postmark verifies on the PC (the
    // previous key) and on the card (the key it holds).
    assert!(
        home.meter(["verify", msg, &pm])
            .expect_code(0)
            .stdout
            .starts_with("valid")
    );
    home.meter(["--pin", OWNER_PIN, "verify", "--on-card", msg, &pm])
        .expect_code(0);
    assert_eq!(authority_keys(&home), 1);

    // The next contact: the key update first, then the load, signed by
    // the new key.
    let run = home.meter(["load", "1.00"]).expect_code(0);
    assert!(
        run.stdout.contains("the card took the authority's new key"),
        "{}",
        run.stdout
    );
    assert_eq!(authority_keys(&home), 2);
    let run = home.meter(["key-update"]).expect_code(0);
    assert!(run.stdout.contains("already holds"), "{}", run.stdout);
    // The old key still verifies what it signed, on the card too.
    home.meter(["--pin", OWNER_PIN, "verify", "--on-card", msg, &pm])
        .expect_code(0);
    home.meter(["sync"]).expect_code(0);

    // Two rollovers without a contact: the card's key is gone.
    home.meter(["authority", "rollover"]).expect_code(0);
    home.meter(["authority", "rollover"]).expect_code(0);
    let run = home.meter(["sync"]);
    assert_eq!(run.code, 2);
    assert_eq!(run.stderr.trim().lines().count(), 1, "{}", run.stderr);
    assert!(run.stderr.contains("too far behind"), "{}", run.stderr);
}

/// A rollover cut after its database step (the new key still in
/// `authority.next.key`, the old one in `authority.key`): the next open
/// finishes it, and the card still gets the new key.
#[test]
fn an_interrupted_rollover_is_finished_at_the_next_open() {
    let home = Home::personalized("PB-KI", "10.00");
    home.meter(["authority", "rollover"]).expect_code(0);
    let dir = home.path().join("authority");
    let (current, next, previous) = (
        dir.join("authority.key"),
        dir.join("authority.next.key"),
        dir.join("authority.previous.key"),
    );
    // Put the files back as the cut left them.
    std::fs::rename(&current, &next).unwrap();
    std::fs::copy(&previous, &current).unwrap();
    let new_key = std::fs::read(&next).unwrap();
    let run = home.meter(["key-update"]).expect_code(0);
    assert!(
        run.stdout.contains("took the authority's new key"),
        "{}",
        run.stdout
    );
    assert_eq!(std::fs::read(&current).unwrap(), new_key);
    assert!(!next.exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&current).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    home.meter(["load", "1.00"]).expect_code(0);
}
