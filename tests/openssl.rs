//! openssl as an independent verifier: the steps docs/formats.md gives
//! ("Verifying a postmark with openssl") are run exactly as written, on a
//! postmark the `meter` CLI made, with the keys it exports as PEM.

use std::path::{Path, PathBuf};
use std::process::Command;

use certmeter_tests::{Home, Run};

const PIN: &str = certmeter_tests::OWNER_PIN;

/// The bash block under "## Verifying a postmark with openssl" in
/// docs/formats.md.
fn documented_script() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/formats.md");
    let doc = std::fs::read_to_string(&path).expect("docs/formats.md");
    let section = doc
        .split("\n## Verifying a postmark with openssl\n")
        .nth(1)
        .expect("formats.md has the openssl section");
    let block = section
        .split("\n```bash\n")
        .nth(1)
        .expect("the section has a bash block");
    block
        .split("\n```")
        .next()
        .expect("the bash block ends")
        .to_owned()
}

/// A personalized card that postmarked `letter.txt`, and the authority key
/// as PEM: (home, message, postmark file, authority.pem).
fn postmarked() -> (Home, PathBuf, PathBuf, PathBuf) {
    let home = Home::personalized("PB-7", "5.00");
    let msg = home.path().join("letter.txt");
    std::fs::write(&msg, "Dear Sir, the apples are on their way.\n").unwrap();
    home.meter(["--pin", PIN, "postmark", msg.to_str().unwrap()])
        .expect_code(0);
    let pem = home.path().join("authority.pem");
    home.meter(["authority", "key", "--pem", "-o", pem.to_str().unwrap()])
        .expect_code(0);
    let pm = home.path().join("letter.txt.postmark");
    (home, msg, pm, pem)
}

/// Runs the documented script in a new empty directory under `home`.
fn run_script(home: &Home, name: &str, msg: &Path, pm: &Path, pem: &Path) -> (Run, PathBuf) {
    let work = home.path().join(name);
    std::fs::create_dir(&work).unwrap();
    let script = work.join("verify-postmark.sh");
    std::fs::write(&script, documented_script()).unwrap();
    let out = Command::new("bash")
        .arg(&script)
        .args([msg, pm, pem])
        .current_dir(&work)
        .output()
        .expect("bash");
    (out.into(), work)
}

/// `meter cert export 0 --pem`: the meter key from the card's slot 0.
fn exported_meter_key(home: &Home) -> PathBuf {
    let pem = home.path().join("card.pem");
    home.meter(["cert", "export", "0", "--pem", "-o", pem.to_str().unwrap()])
        .expect_code(0);
    pem
}

/// `openssl dgst -sha256 -verify KEY -signature SIG BODY` succeeds.
fn openssl_verifies(key: &Path, signature: &Path, body: &Path) -> bool {
    Command::new("openssl")
        .args(["dgst", "-sha256", "-verify"])
        .arg(key)
        .arg("-signature")
        .arg(signature)
        .arg(body)
        .output()
        .expect("openssl")
        .status
        .success()
}

fn flip_bit(src: &Path, dst: &Path, at: usize) {
    let mut bytes = std::fs::read(src).unwrap();
    bytes[at] ^= 0x01;
    std::fs::write(dst, bytes).unwrap();
}

#[test]
fn openssl_verifies_both_signatures_as_documented() {
    let (home, msg, pm, pem) = postmarked();
    let pem_text = std::fs::read_to_string(&pem).unwrap();
    assert!(
        pem_text.starts_with("-----BEGIN PUBLIC KEY-----\n"),
        "{pem_text}"
    );

    let (run, work) = run_script(&home, "good", &msg, &pm, &pem);
    let run = run.expect_code(0);
    assert_eq!(
        run.stdout.matches("Verified OK").count(),
        2,
        "certificate and postmark: {}",
        run.stdout
    );
    assert!(
        run.stdout.ends_with("postmark verified\n"),
        "{}",
        run.stdout
    );

    // The key the script took from the certificate in the postmark file is
    // the one the card exports from its certificate slot 0.
    let card_pem = exported_meter_key(&home);
    assert_eq!(
        std::fs::read_to_string(&card_pem).unwrap(),
        std::fs::read_to_string(work.join("meter.pem")).unwrap()
    );
    // ... and that PEM is the certificate's own key: openssl checks the
    // postmark body with it directly.
    assert!(openssl_verifies(
        &card_pem,
        &work.join("postmark.sig.der"),
        &work.join("postmark.body")
    ));

    // Without --pem, the certificate itself: the 7F21 at the end of the
    // postmark file.
    let cert = home
        .command(certmeter_tests::meter_bin())
        .args(["cert", "export", "0"])
        .output()
        .unwrap();
    assert!(cert.status.success());
    assert_eq!(&cert.stdout[..2], b"\x7F\x21");
    assert!(std::fs::read(&pm).unwrap().ends_with(&cert.stdout));
}

#[test]
fn a_one_bit_change_makes_openssl_fail() {
    let (home, msg, pm, pem) = postmarked();
    // Byte 10 lies in the postmark body's digest field (7F60 L 7F4E L 90 20 ..).
    let altered = home.path().join("altered.postmark");
    flip_bit(&pm, &altered, 10);
    let (run, _) = run_script(&home, "body", &msg, &altered, &pem);
    assert_ne!(run.code, 0);
    assert!(
        run.stdout.contains("Verified OK\nVerification failure"),
        "the certificate still verifies, the postmark does not: {}",
        run.stdout
    );
    assert!(!run.stdout.contains("postmark verified"));

    // The certificate's body: the authority's signature fails first.
    let len = std::fs::read(&pm).unwrap().len();
    let cert_altered = home.path().join("cert-altered.postmark");
    flip_bit(&pm, &cert_altered, len - 80);
    let (run, _) = run_script(&home, "cert", &msg, &cert_altered, &pem);
    assert_ne!(run.code, 0);
    assert!(
        run.stdout.starts_with("Verification failure"),
        "{}",
        run.stdout
    );

    // The message: both signatures hold, the digest does not.
    let other = home.path().join("other.txt");
    flip_bit(&msg, &other, 3);
    let (run, _) = run_script(&home, "message", &other, &pm, &pem);
    assert_ne!(run.code, 0);
    assert_eq!(run.stdout.matches("Verified OK").count(), 2);
    assert!(
        run.stderr.contains("message digest differs"),
        "{}",
        run.stderr
    );
}

/// The postmark's signature replaced by its high-S twin (r, n - s): valid
/// ECDSA that openssl accepts, refused by the documented steps and by
/// `meter verify`, each naming the cause.
#[test]
fn high_s_twins_are_refused_with_their_cause() {
    use p256::ecdsa::Signature;
    let (home, msg, pm, pem) = postmarked();
    let bytes = std::fs::read(&pm).unwrap();
    let file = apdu::postmark::PostmarkFile::parse(&bytes).unwrap();
    let sig = Signature::from_slice(file.postmark.signed.signature).unwrap();
    let (r, s) = sig.split_scalars();
    let twin = Signature::from_scalars(r.to_bytes(), (-*s).to_bytes()).unwrap();
    // The signature sits at the end of the 7F60 object.
    let end = file.postmark.signed.raw.len();
    let mut high = bytes.clone();
    high[end - 64..end].copy_from_slice(&twin.to_bytes());
    let high_pm = home.path().join("high.postmark");
    std::fs::write(&high_pm, &high).unwrap();

    let (run, work) = run_script(&home, "high", &msg, &high_pm, &pem);
    assert_ne!(run.code, 0);
    assert!(
        run.stderr.contains("postmark signature: not low-S"),
        "{}",
        run.stderr
    );
    // openssl itself takes the twin: only the low-S rule refuses it.
    let der = work.join("twin.der");
    std::fs::write(&der, twin.to_der().as_bytes()).unwrap();
    let body = work.join("body");
    std::fs::write(&body, file.postmark.signed.signed_bytes).unwrap();
    let card_pem = exported_meter_key(&home);
    assert!(
        openssl_verifies(&card_pem, &der, &body),
        "openssl accepts high-S"
    );

    let run = home
        .meter(["verify", msg.to_str().unwrap(), high_pm.to_str().unwrap()])
        .expect_code(1);
    assert!(
        run.stdout
            .contains("invalid: the postmark signature is not in low-S form (s > n/2)"),
        "{}",
        run.stdout
    );
    let run = home
        .meter([
            "--json",
            "verify",
            msg.to_str().unwrap(),
            high_pm.to_str().unwrap(),
        ])
        .expect_code(1);
    let v = run.json();
    assert_eq!(v["valid"], false);
    assert_eq!(v["check"], 5);
    // The same file checked on the card: the card's verdict is 5, and the
    // CLI names the cause the same way.
    let run = home
        .meter([
            "--pin",
            PIN,
            "verify",
            "--on-card",
            msg.to_str().unwrap(),
            high_pm.to_str().unwrap(),
        ])
        .expect_code(1);
    assert!(run.stdout.contains("not in low-S form"), "{}", run.stdout);
    // The original still verifies: nothing else differs.
    home.meter(["verify", msg.to_str().unwrap(), pm.to_str().unwrap()])
        .expect_code(0);
}
