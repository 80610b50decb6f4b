//! `meter cert list [--json]` through the CLI.

use certmeter_tests::Home;

#[test]
fn cert_list_shows_the_meter_certificate() {
    let home = Home::personalized("PB-7", "10.00");
    let list = home.meter(["cert", "list", "--json"]).expect_code(0).json();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 1);
    let c = &list[0];
    assert_eq!(c["slot"], 0);
    assert_eq!(c["holder"], "PB-7");
    assert_eq!(c["status"], "valid");
    assert!(c["serial"].as_u64().unwrap() > 0);
    assert!(c["expiry"].as_u64().unwrap() > c["effective"].as_u64().unwrap());
    let uses: Vec<&str> = c["uses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u.as_str().unwrap())
        .collect();
    assert!(uses.contains(&"postmark"), "{uses:?}");

    let text = home.meter(["cert", "list"]).expect_code(0);
    let out = text.stdout;
    assert!(out.contains("PB-7"), "{out}");
    assert!(out.contains("valid"), "{out}");
    assert!(out.contains("1 of 4 slots used"), "{out}");
}

/// `meter authority enroll NAME` prints a one-time code (Figure 5, 514):
/// the authority's records accept it once, refuse a wrong one.
#[test]
fn authority_enroll_prints_a_one_time_code() {
    let home = Home::personalized("PB-8", "1.00");
    let out = home
        .meter([
            "authority",
            "enroll",
            "alice",
            "--valid-days",
            "2",
            "--json",
        ])
        .expect_code(0)
        .json();
    assert_eq!(out["holder"], "alice");
    let code = out["code"].as_str().unwrap().to_owned();
    assert_eq!(code.len(), 19);
    let text = home.meter(["authority", "enroll", "bob"]).expect_code(0);
    assert!(text.stdout.contains("bob"), "{}", text.stdout);
    let mut a = authority::Authority::open(&home.path().join("authority")).unwrap();
    assert!(a.redeem_enrollment("alice", "WRONG-CODE").is_err());
    a.redeem_enrollment("alice", &code).unwrap();
    assert!(a.redeem_enrollment("alice", &code).is_err());
    let empty = home.meter(["authority", "enroll", ""]);
    assert_ne!(empty.code, 0);
}

fn descending(home: &Home) -> u64 {
    let s = home.meter(["status", "--json"]).expect_code(0).json();
    s["registers"]["certificate"]["descending"]
        .as_u64()
        .unwrap()
}

/// `meter cert install` (Figure 5) end to end through the CLI: enroll,
/// install (the channel registered on first use), exactly the fee
/// charged, the certificate listed; the code used once; a wrong code
/// charges nothing.
#[test]
fn cert_install_through_the_cli() {
    let home = Home::personalized("PB-9", "20.00");
    let pin = certmeter_tests::OWNER_PIN;
    let code = home
        .meter(["authority", "enroll", "alice", "--json"])
        .expect_code(0)
        .json()["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = descending(&home);
    let out = home
        .meter([
            "--pin",
            pin,
            "--json",
            "cert",
            "install",
            "--name",
            "alice",
            "--code",
            &code,
            "--valid-days",
            "30",
        ])
        .expect_code(0)
        .json();
    assert_eq!(out["slot"], 1);
    assert_eq!(descending(&home), before - 500);
    let list = home.meter(["cert", "list", "--json"]).expect_code(0).json();
    assert_eq!(list[1]["holder"], "alice");
    assert_eq!(list[1]["uses"][0], "signing");
    // Reused: refused, nothing charged.
    let again = home.meter([
        "--pin", pin, "cert", "install", "--name", "alice", "--code", &code,
    ]);
    assert_ne!(again.code, 0);
    assert!(again.stderr.contains("already used"), "{}", again.stderr);
    assert_eq!(descending(&home), before - 500);
    // Wrong code for an enrolled holder: refused, nothing charged.
    home.meter(["authority", "enroll", "bob"]).expect_code(0);
    let wrong = home.meter([
        "--pin",
        pin,
        "cert",
        "install",
        "--name",
        "bob",
        "--code",
        "AAAA-AAAA-AAAA-AAAA",
    ]);
    assert_ne!(wrong.code, 0);
    assert!(
        wrong.stderr.contains("wrong enrollment code"),
        "{}",
        wrong.stderr
    );
    assert_eq!(descending(&home), before - 500);
}

/// `meter cert sign` and `meter cert authenticate` through the CLI: a
/// signing certificate signs a file (openssl verifies the DER signature
/// with the key `meter cert export --pem` writes) and refuses to
/// authenticate; an authentication certificate answers a challenge and
/// refuses to sign, each refusal one clear line, nothing charged.
#[test]
fn cert_sign_and_authenticate_through_the_cli() {
    let home = Home::personalized("PB-S", "20.00");
    let dir = home.path();
    let pin = certmeter_tests::OWNER_PIN;
    let install = |uses: &str| {
        let code = home
            .meter(["authority", "enroll", "erin", "--json"])
            .expect_code(0)
            .json()["code"]
            .as_str()
            .unwrap()
            .to_owned();
        home.meter([
            "--pin", pin, "--json", "cert", "install", "--name", "erin", "--code", &code,
            "--usage", uses,
        ])
        .expect_code(0)
        .json()["slot"]
            .as_u64()
            .unwrap()
            .to_string()
    };
    let signing = install("signing");
    let authentication = install("authentication");
    let list = home.meter(["cert", "list", "--json"]).expect_code(0).json();
    assert_eq!(list[2]["uses"][0], "authentication");
    let doc = dir.join("contract.txt");
    std::fs::write(&doc, "I agree.").unwrap();
    let doc_s = doc.to_str().unwrap();
    home.meter(["--pin", pin, "cert", "sign", &signing, doc_s])
        .expect_code(0);
    let pem = dir.join("erin.pem");
    home.meter([
        "cert",
        "export",
        &signing,
        "--pem",
        "-o",
        pem.to_str().unwrap(),
    ])
    .expect_code(0);
    let ok = std::process::Command::new("openssl")
        .args(["dgst", "-sha256", "-verify"])
        .arg(&pem)
        .arg("-signature")
        .arg(dir.join("contract.txt.sig"))
        .arg(&doc)
        .output()
        .expect("openssl is installed by scripts/test");
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );

    let before = descending(&home);
    let refused = home.meter(["--pin", pin, "cert", "sign", &authentication, doc_s]);
    assert_eq!(refused.code, 2);
    assert_eq!(
        refused.stderr.trim().lines().count(),
        1,
        "{}",
        refused.stderr
    );
    assert!(refused.stderr.contains("6985"), "{}", refused.stderr);
    let challenge = "11".repeat(32);
    let answer = home
        .meter([
            "--pin",
            pin,
            "cert",
            "authenticate",
            &authentication,
            "--challenge",
            &challenge,
        ])
        .expect_code(0);
    let sig = hex::decode(answer.stdout.trim()).unwrap();
    let cert_file = dir.join("erin.cert");
    home.meter([
        "cert",
        "export",
        &authentication,
        "-o",
        cert_file.to_str().unwrap(),
    ])
    .expect_code(0);
    let cert = std::fs::read(&cert_file).unwrap();
    reader::holder::check_authentication(&cert, &[0x11; 32], &sig).unwrap();
    let refused = home.meter([
        "--pin",
        pin,
        "cert",
        "authenticate",
        &signing,
        "--challenge",
        &challenge,
    ]);
    assert_eq!(refused.code, 2);
    assert!(refused.stderr.contains("6985"), "{}", refused.stderr);
    let short = home.meter([
        "--pin",
        pin,
        "cert",
        "authenticate",
        &signing,
        "--challenge",
        "11",
    ]);
    assert_eq!(short.code, 2);
    assert!(short.stderr.contains("32 bytes"), "{}", short.stderr);
    assert_eq!(descending(&home), before, "using a key charges nothing");
}

/// `meter cert import`: the holder's own key file; the certificate listed
/// with the `imported` mark, exactly the fee charged.
#[test]
fn cert_import_through_the_cli() {
    let home = Home::personalized("PB-10", "20.00");
    let pin = certmeter_tests::OWNER_PIN;
    let code = home
        .meter(["authority", "enroll", "carol", "--json"])
        .expect_code(0)
        .json()["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let key = home.path().join("carol.key");
    std::fs::write(&key, format!("{}\n", "42".repeat(32))).unwrap();
    let before = descending(&home);
    let key_arg = key.to_str().unwrap();
    home.meter([
        "--pin", pin, "cert", "import", "--name", "carol", "--code", &code, "--key", key_arg,
    ])
    .expect_code(0);
    assert_eq!(descending(&home), before - 500);
    let list = home.meter(["cert", "list", "--json"]).expect_code(0).json();
    assert_eq!(list[1]["holder"], "carol");
    assert_eq!(list[1]["uses"], serde_json::json!(["signing", "imported"]));
    // A file that is not a key: refused before anything.
    std::fs::write(&key, "not a key").unwrap();
    let bad = home.meter([
        "--pin", pin, "cert", "import", "--name", "carol", "--code", &code, "--key", key_arg,
    ]);
    assert_ne!(bad.code, 0);
    assert!(bad.stderr.contains("64 hex digits"), "{}", bad.stderr);
    assert_eq!(descending(&home), before - 500);
}
