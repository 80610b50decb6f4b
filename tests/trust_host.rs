//! What the host and the authority hold against a dishonest host or a
//! busy authority (issue "[trust]", points 5 and 7), in process: parallel
//! operations on one authority directory, and the confirmation of a load
//! the card credited.

use std::path::Path;

use apdu::meter::{RegisterId, Service};
use applet_sim::sim::{Card, SimConfig};
use authority::PersonalizationRequest;
use authority::{Authority, AuthorityService, LoadRecord, Personalization, ServiceError};
use certmeter_tests::Home;
use reader::Meter;
use reader::sim::MemoryTransport;

/// A blank in-memory card made for `issuer` (its root pinned, its
/// attestation key certified), selected, its transport PIN changed and the
/// owner PIN verified.
fn blank<A: AuthorityService + ?Sized>(issuer: &mut A, seed: u64) -> Meter<MemoryTransport> {
    let config = SimConfig {
        seed: Some(seed),
        fixed_time: None,
        issuer_root: Some(issuer.issuer_root().unwrap()),
    };
    let mut m = Meter::new(MemoryTransport::new(
        Card::manufacture(config).unwrap(),
        true,
    ));
    reader::manufacture::certify_attestation(&mut m, issuer).unwrap();
    vectors::fixture::open(&mut m).unwrap();
    m
}

/// One client: its own connection to the authority in `dir`, its own
/// card; personalizes it, then loads `loads` times.
fn client(dir: &Path, n: u64, loads: u32) -> Result<(), String> {
    let mut a = Authority::open(dir).map_err(|e| format!("client {n}: open: {e}"))?;
    let mut m = blank(&mut a, 1000 + n);
    let serial = format!("PAR-{n}");
    reader::personalize::personalize(&mut m, &mut a, &serial, 100)
        .map_err(|e| format!("client {n}: personalize: {e}"))?;
    for i in 0..loads {
        let register = if i % 2 == 0 {
            RegisterId::Postage
        } else {
            RegisterId::Certificate
        };
        reader::value::load(&mut m, &mut a, register, 10 + u64::from(i))
            .map_err(|e| format!("client {n}: load {i}: {e}"))?;
    }
    Ok(())
}

/// Many personalizations and loads at once on one authority directory:
/// every one succeeds (immediate transactions wait for each other instead
/// of failing with "database is locked"), and every load is confirmed.
#[test]
fn parallel_personalizations_and_loads_all_succeed() {
    const CLIENTS: u64 = 12;
    const LOADS: u32 = 4;
    let dir = tempfile::tempdir().unwrap();
    Authority::init(dir.path(), "CA").unwrap();
    let barrier = std::sync::Barrier::new(CLIENTS as usize);
    let failures: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..CLIENTS)
            .map(|n| {
                let (dir, barrier) = (dir.path(), &barrier);
                s.spawn(move || {
                    barrier.wait();
                    client(dir, n, LOADS)
                })
            })
            .collect();
        handles
            .into_iter()
            .filter_map(|h| h.join().unwrap().err())
            .collect()
    });
    assert!(failures.is_empty(), "{failures:#?}");
    let a = Authority::open(dir.path()).unwrap();
    let meters = a.meters().unwrap();
    assert_eq!(meters.len(), CLIENTS as usize);
    for m in meters {
        // The initial funds, then LOADS loads, all confirmed, none flagged.
        assert_eq!(
            (m.loads, m.confirmed),
            (u64::from(LOADS) + 1, u64::from(LOADS) + 1)
        );
        assert_eq!(m.flagged_at, None, "{:?}", m.flag_reason);
    }
}

/// The SQLite authority whose first `fail` confirmations cannot be served
/// (as when its database stays locked).
struct Busy {
    inner: Authority,
    fail: usize,
    asked: usize,
}

impl AuthorityService for Busy {
    fn name(&self) -> Result<String, ServiceError> {
        AuthorityService::name(&self.inner)
    }

    fn public_key(&self) -> Result<[u8; 65], ServiceError> {
        AuthorityService::public_key(&self.inner)
    }

    fn rates(&self) -> Result<Vec<(Service, u64)>, ServiceError> {
        AuthorityService::rates(&self.inner)
    }

    fn issuer_root(&self) -> Result<[u8; 65], ServiceError> {
        AuthorityService::issuer_root(&self.inner)
    }

    fn certify_card(
        &mut self,
        chip_id: &[u8; 8],
        attestation_key: &[u8; 65],
    ) -> Result<Vec<u8>, ServiceError> {
        AuthorityService::certify_card(&mut self.inner, chip_id, attestation_key)
    }

    fn attestation_nonce(&mut self, chip_id: &[u8; 8]) -> Result<[u8; 16], ServiceError> {
        AuthorityService::attestation_nonce(&mut self.inner, chip_id)
    }

    fn unblock(
        &mut self,
        serial: &str,
        chip_id: &[u8; 8],
        challenge: &[u8; 16],
    ) -> Result<Vec<u8>, ServiceError> {
        AuthorityService::unblock(&mut self.inner, serial, chip_id, challenge)
    }

    fn sync(
        &mut self,
        serial: &str,
        chip_id: &[u8; 8],
        challenge: &[u8; 16],
    ) -> Result<Vec<u8>, ServiceError> {
        AuthorityService::sync(&mut self.inner, serial, chip_id, challenge)
    }

    fn check_personalization(
        &mut self,
        chip_id: &[u8; 8],
        serial: &str,
        funds: u64,
    ) -> Result<(), ServiceError> {
        AuthorityService::check_personalization(&mut self.inner, chip_id, serial, funds)
    }

    fn personalize(
        &mut self,
        request: &PersonalizationRequest,
    ) -> Result<Personalization, ServiceError> {
        AuthorityService::personalize(&mut self.inner, request)
    }

    fn value_load(
        &mut self,
        serial: &str,
        register: RegisterId,
        amount: u64,
        number: u32,
    ) -> Result<Vec<u8>, ServiceError> {
        AuthorityService::value_load(&mut self.inner, serial, register, amount, number)
    }

    fn confirm_load(&mut self, receipt: &[u8]) -> Result<LoadRecord, ServiceError> {
        self.asked += 1;
        if self.fail > 0 {
            self.fail -= 1;
            return Err(ServiceError::Unavailable(
                "authority database: database is locked".into(),
            ));
        }
        AuthorityService::confirm_load(&mut self.inner, receipt)
    }

    fn revocation_message(&mut self, request: &[u8]) -> Result<Vec<u8>, ServiceError> {
        AuthorityService::revocation_message(&mut self.inner, request)
    }

    fn recharge(&mut self, request: &[u8]) -> Result<Vec<u8>, ServiceError> {
        AuthorityService::recharge(&mut self.inner, request)
    }

    fn rate_version(&self) -> Result<u32, ServiceError> {
        AuthorityService::rate_version(&self.inner)
    }

    fn rate_update(
        &mut self,
        serial: &str,
        chip_id: &[u8; 8],
        challenge: &[u8; 16],
    ) -> Result<(u32, Vec<u8>), ServiceError> {
        AuthorityService::rate_update(&mut self.inner, serial, chip_id, challenge)
    }

    fn audit(&mut self, report: &[u8]) -> Result<authority::AuditAnswer, ServiceError> {
        AuthorityService::audit(&mut self.inner, report)
    }

    fn confirm_revocation(&mut self, confirmation: &[u8]) -> Result<(), ServiceError> {
        AuthorityService::confirm_revocation(&mut self.inner, confirmation)
    }

    fn key_update_for(
        &mut self,
        serial: &str,
        chip_id: &[u8; 8],
        challenge: &[u8; 16],
    ) -> Result<Option<Vec<u8>>, ServiceError> {
        AuthorityService::key_update_for(&mut self.inner, serial, chip_id, challenge)
    }

    fn key_updated(&mut self, serial: &str) -> Result<(), ServiceError> {
        AuthorityService::key_updated(&mut self.inner, serial)
    }

    fn channel_nonce(&mut self, serial: &str) -> Result<[u8; 16], ServiceError> {
        AuthorityService::channel_nonce(&mut self.inner, serial)
    }

    fn register_channel_key(
        &mut self,
        serial: &str,
        registration: &[u8],
    ) -> Result<(), ServiceError> {
        AuthorityService::register_channel_key(&mut self.inner, serial, registration)
    }

    fn open_channel(
        &mut self,
        serial: &str,
        request: &[u8],
    ) -> Result<(u64, Vec<u8>), ServiceError> {
        AuthorityService::open_channel(&mut self.inner, serial, request)
    }

    fn channel_confirm(&mut self, channel: u64) -> Result<Vec<u8>, ServiceError> {
        AuthorityService::channel_confirm(&mut self.inner, channel)
    }

    fn channel_confirmed(&mut self, channel: u64, answer: &[u8]) -> Result<String, ServiceError> {
        AuthorityService::channel_confirmed(&mut self.inner, channel, answer)
    }

    fn install_key_request(
        &mut self,
        channel: u64,
        holder: &str,
        uses: u8,
    ) -> Result<Vec<u8>, ServiceError> {
        AuthorityService::install_key_request(&mut self.inner, channel, holder, uses)
    }

    fn install_issue(
        &mut self,
        channel: u64,
        request: &[u8],
        code: &str,
        valid_days: u32,
    ) -> Result<Vec<u8>, ServiceError> {
        AuthorityService::install_issue(&mut self.inner, channel, request, code, valid_days)
    }

    fn install_confirm(&mut self, channel: u64, answer: &[u8]) -> Result<u8, ServiceError> {
        AuthorityService::install_confirm(&mut self.inner, channel, answer)
    }

    fn install_key_request_imported(
        &mut self,
        channel: u64,
        holder: &str,
        uses: u8,
        private_key: &[u8; 32],
    ) -> Result<Vec<u8>, ServiceError> {
        AuthorityService::install_key_request_imported(
            &mut self.inner,
            channel,
            holder,
            uses,
            private_key,
        )
    }

    fn credit_line(&mut self, request: &[u8]) -> Result<Vec<u8>, ServiceError> {
        AuthorityService::credit_line(&mut self.inner, request)
    }
}

fn personalized_busy() -> (Meter<MemoryTransport>, Busy) {
    // Made now and kept on the system clock, as the card is: an authority
    // made at a later time would sign with a certificate not yet in force.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut a = Busy {
        inner: Authority::deterministic("CA", 1, now).unwrap(),
        fail: 0,
        asked: 0,
    };
    a.inner.set_clock(None);
    let mut m = blank(&mut a, 7);
    reader::personalize::personalize(&mut m, &mut a, "BUSY-1", 100).unwrap();
    (m, a)
}

/// A confirmation that fails after the card credited is retried: a
/// passing lock is not a failed load.
#[test]
fn a_confirmation_that_fails_after_the_card_credited_is_retried() {
    let (mut m, mut a) = personalized_busy();
    a.fail = 2;
    a.asked = 0;
    let record = reader::value::load(&mut m, &mut a, RegisterId::Postage, 500).unwrap();
    assert_eq!((record.number, record.amount), (2, 500));
    assert!(record.confirmed_at.is_some());
    assert_eq!(a.asked, 3);
}

/// An authority that stays unavailable: the load is reported as credited
/// (one line, saying so), and the next load confirms it.
#[test]
fn a_confirmation_that_keeps_failing_says_the_card_was_credited() {
    let (mut m, mut a) = personalized_busy();
    a.fail = usize::MAX;
    let e = reader::value::load(&mut m, &mut a, RegisterId::Postage, 500).unwrap_err();
    assert!(
        matches!(
            e,
            reader::Error::Unconfirmed {
                number: 2,
                amount: 500,
                ..
            }
        ),
        "{e}"
    );
    let text = e.to_string();
    assert!(
        text.contains("the card was credited") && text.contains("the next load confirms it"),
        "{text}"
    );
    assert!(!text.contains('\n'));
    assert_eq!(m.status().unwrap().registers.postage.control_total, 500);
    a.fail = 0;
    reader::value::load(&mut m, &mut a, RegisterId::Postage, 300).unwrap();
    let loads = a.inner.loads("BUSY-1").unwrap();
    assert!(loads.iter().all(|l| l.confirmed_at.is_some()), "{loads:?}");
    assert_eq!(
        a.inner.total_loaded("BUSY-1", RegisterId::Postage).unwrap(),
        800
    );
}

/// A flagged meter through the CLI: an authority restored from a backup
/// taken before a load sees the card's next receipt hold more than its
/// records: the load is reported in one line naming the meter and the
/// reason, `meter authority meters` shows the flag, and no further load
/// is issued to the meter.
#[test]
fn a_receipt_that_does_not_reconcile_is_reported_and_listed() {
    let home = Home::personalized("PB-42", "10.00");
    let backup = home.path().join("backup");
    std::fs::create_dir(&backup).unwrap();
    for f in ["authority.db", "authority.key"] {
        std::fs::copy(home.path().join("authority").join(f), backup.join(f)).unwrap();
    }
    home.meter(["load", "5.00"]).expect_code(0);
    let b = backup.to_str().unwrap();

    let run = home
        .meter(["--authority", b, "load", "3.00"])
        .expect_code(2);
    let first = run.stderr.lines().next().unwrap_or_default();
    assert!(
        first.contains("meter PB-42 is flagged")
            && first.contains("the loads into it add up to 1300"),
        "{}",
        run.stderr
    );
    let list = home
        .meter(["--authority", b, "authority", "meters"])
        .expect_code(0);
    assert!(
        list.stdout.contains("PB-42") && list.stdout.contains("FLAGGED"),
        "{}",
        list.stdout
    );
    let json = home
        .meter(["--authority", b, "--json", "authority", "meters"])
        .expect_code(0)
        .json();
    assert_eq!(json[0]["state"], "flagged");
    assert!(
        json[0]["flag_reason"]
            .as_str()
            .unwrap()
            .contains("add up to 1300")
    );
    // Refused before the card is touched.
    let before = home.meter(["status", "--json"]).expect_code(0).json()["load_count"].clone();
    let again = home
        .meter(["--authority", b, "load", "1.00"])
        .expect_code(2);
    assert!(again.stderr.contains("flagged"), "{}", again.stderr);
    assert_eq!(
        home.meter(["status", "--json"]).expect_code(0).json()["load_count"],
        before
    );
    // The up-to-date authority is not concerned.
    let ok = home
        .meter(["--json", "authority", "meters"])
        .expect_code(0)
        .json();
    assert_eq!(ok[0]["state"], "ok");
}

/// The owner PIN of the card [`Home::personalized`] makes.
const PIN: &str = certmeter_tests::OWNER_PIN;

/// A personalized default card with funds, and a message to postmark.
fn funded() -> (Home, std::path::PathBuf) {
    let home = Home::personalized("PB-7", "10.00");
    let msg = home.path().join("letter.txt");
    std::fs::write(&msg, "Dear Sir,").unwrap();
    (home, msg)
}

fn postmarks(home: &Home) -> u64 {
    home.meter(["status", "--json"]).expect_code(0).json()["postmarks"]
        .as_u64()
        .unwrap()
}

/// A `FILE.postmark` (or `-o PATH`) planted as a symbolic link is refused
/// before the card charges: the link's target is left as it was.
#[cfg(unix)]
#[test]
fn a_planted_output_link_is_never_written_through() {
    let (home, msg) = funded();
    let victim = home.path().join("victim");
    std::fs::write(&victim, "precious").unwrap();
    let planted = home.path().join("letter.txt.postmark");
    std::os::unix::fs::symlink(&victim, &planted).unwrap();
    let run = home
        .meter(["--pin", PIN, "postmark", msg.to_str().unwrap()])
        .expect_code(2);
    assert!(run.stderr.contains("symbolic link"), "{}", run.stderr);
    assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    assert_eq!(postmarks(&home), 0, "nothing was charged");
    // A dangling link too (it would create the file it names).
    let nowhere = home.path().join("created-through-a-link");
    let dangling = home.path().join("out.pm");
    std::os::unix::fs::symlink(&nowhere, &dangling).unwrap();
    home.meter([
        "--pin",
        PIN,
        "postmark",
        msg.to_str().unwrap(),
        "-o",
        dangling.to_str().unwrap(),
    ])
    .expect_code(2);
    assert!(!nowhere.exists());
    // A regular file is replaced as before.
    let out = home.path().join("real.pm");
    std::fs::write(&out, "old").unwrap();
    home.meter([
        "--pin",
        PIN,
        "postmark",
        msg.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ])
    .expect_code(0);
    assert!(std::fs::read(&out).unwrap().starts_with(&[0x7F, 0x60]));
}

/// An output onto the card's state file (by name, through `..`, or by a
/// hard link), its lock file, or a file of the authority is refused before
/// the card charges; the card and the authority are intact.
#[cfg(unix)]
#[test]
fn an_output_onto_the_card_or_the_authority_is_refused() {
    let (home, msg) = funded();
    let card = home.path().join("card.sim");
    let before = std::fs::read(&card).unwrap();
    let hard = home.path().join("hard-link");
    std::fs::hard_link(&card, &hard).unwrap();
    let sub = home.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    let dotdot = sub.join("../card.sim");
    let explicit = home.path().join("other.sim");
    std::fs::copy(&card, &explicit).unwrap();
    let explicit_card = format!("sim:{}", explicit.display());
    let auth = home.path().join("authority");
    let db = std::fs::read(auth.join("authority.db")).unwrap();
    let key = std::fs::read(auth.join("authority.key")).unwrap();
    let m = msg.to_str().unwrap();
    for (card_arg, out, what) in [
        (None, card.clone(), "state file"),
        (None, dotdot, "state file"),
        (None, hard.clone(), "state file"),
        (None, home.path().join("card.sim.lock"), "state file"),
        (Some(explicit_card.as_str()), explicit.clone(), "state file"),
        (None, auth.join("authority.db"), "authority"),
        (None, auth.join("authority.key"), "authority"),
        (None, auth.join("new-file"), "authority"),
    ] {
        let mut args = vec!["--pin", PIN];
        if let Some(c) = card_arg {
            args.extend(["--card", c]);
        }
        args.extend(["postmark", m, "-o", out.to_str().unwrap()]);
        let run = home.meter(&args).expect_code(2);
        assert!(
            run.stderr.contains("refusing to write there") && run.stderr.contains(what),
            "{}: {}",
            out.display(),
            run.stderr
        );
    }
    let pem = home
        .meter([
            "authority",
            "key",
            "--pem",
            "-o",
            auth.join("authority.key").to_str().unwrap(),
        ])
        .expect_code(2);
    assert!(pem.stderr.contains("refusing"), "{}", pem.stderr);
    let cert = home
        .meter(["cert", "export", "0", "-o", card.to_str().unwrap()])
        .expect_code(2);
    assert!(cert.stderr.contains("refusing"), "{}", cert.stderr);
    assert_eq!(std::fs::read(&card).unwrap(), before);
    assert_eq!(std::fs::read(auth.join("authority.db")).unwrap(), db);
    assert_eq!(std::fs::read(auth.join("authority.key")).unwrap(), key);
    assert_eq!(postmarks(&home), 0);
    assert!(!auth.join("new-file").exists());
}

/// A postmark file argument is read with a size limit: a huge file or
/// `/dev/zero` is refused at once, not read until memory runs out.
#[cfg(unix)]
#[test]
fn a_postmark_file_is_read_with_a_size_limit() {
    let (home, msg) = funded();
    let m = msg.to_str().unwrap();
    let huge = home.path().join("huge.postmark");
    std::fs::File::create(&huge)
        .unwrap()
        .set_len(64 << 20)
        .unwrap();
    for pm in [huge.to_str().unwrap(), "/dev/zero"] {
        let run = home.meter(["verify", m, pm]).expect_code(2);
        assert!(
            run.stderr.contains("at most 4096 bytes"),
            "{pm}: {}",
            run.stderr
        );
    }
    // A real one still verifies.
    home.meter(["--pin", PIN, "postmark", m]).expect_code(0);
    home.meter(["verify", m, &format!("{m}.postmark")])
        .expect_code(0);
}

/// Runs `meter ARGS` in `home`, killed after `secs` (a hang is a failure).
fn meter_within(home: &Home, args: &[&str], secs: u64) -> certmeter_tests::Run {
    let mut child = home
        .command(certmeter_tests::meter_bin())
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("meter {args:?} still running after {secs} s");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    child.wait_with_output().unwrap().into()
}

/// `--card sim:PATH` where PATH is a FIFO, a directory or a device is
/// refused with one line, instead of hanging or reading forever.
#[cfg(unix)]
#[test]
fn a_card_that_is_not_a_regular_file_is_refused() {
    let home = Home::new();
    let fifo = home.path().join("fifo");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let dir = home.path().join("dir");
    std::fs::create_dir(&dir).unwrap();
    for (path, kind) in [
        (fifo.to_str().unwrap(), "a FIFO"),
        (dir.to_str().unwrap(), "a directory"),
        ("/dev/zero", "a device"),
    ] {
        let card = format!("sim:{path}");
        let run = meter_within(&home, &["--card", &card, "status"], 10).expect_code(2);
        let first = run.stderr.lines().next().unwrap_or_default();
        assert!(
            first.contains("not a regular file") && first.contains(kind),
            "{path}: {}",
            run.stderr
        );
        meter_within(&home, &["--card", &card, "card", "new", "--force"], 10).expect_code(2);
    }
    assert!(!home.path().join("fifo.lock").exists());
}
