//! The same suite through real pcscd as through the simulator: every test
//! vector and the CLI flows, the errors a user can act on, recovery after a
//! reset by another process and after pcscd restarts, and standard tools
//! (pcsc_scan, opensc-tool) against the virtual card.
//!
//! These tests start their own pcscd and virtual card and fail (never skip)
//! when they cannot.

use std::process::Command;
use std::time::Duration;

use apdu::meter::{AID, DEFAULT_PIN, Request};
use certmeter_tests::Home;
use certmeter_tests::pcsc_env::{self, Pcscd, READER, VirtualCard};
use reader::Transport;
use reader::pcsc::PcscTransport;

const PIN: &str = certmeter_tests::OWNER_PIN;

fn select_hex() -> String {
    hex::encode_upper(Request::Select { aid: AID }.to_command().to_vec().unwrap())
}

fn named() -> String {
    format!("pcsc:{READER}")
}

/// Status without the clock, which moves with the system time.
fn stable(mut s: serde_json::Value) -> serde_json::Value {
    s.as_object_mut().unwrap().remove("clock");
    s
}

/// A private home with an authority and a simulated card personalized as
/// `serial` with `funds`: the home, the card's state file and `sim:FILE`.
fn personalized_sim_card(serial: &str, funds: &str) -> (Home, std::path::PathBuf, String) {
    let home = Home::personalized(serial, funds);
    let (sim, state) = home.card();
    (home, state, sim)
}

#[test]
fn errors_a_user_can_act_on() {
    let _g = pcsc_env::lock();
    let home = Home::new();
    let expect = |args: &[&str], want: &str| {
        let run = home.meter(args).expect_code(2);
        assert!(run.stderr.contains(want), "{args:?}: {}", run.stderr);
        assert!(run.stderr.lines().count() <= 2, "{}", run.stderr);
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    };

    // pcscd not running.
    assert!(
        !pcsc_env::pcscd_answers(),
        "stop the system pcscd before the tests"
    );
    expect(&["--card", "pcsc", "status"], "pcscd is not running");
    expect(&["readers"], "pcscd is not running");

    // No reader at all.
    let pcscd = Pcscd::start_without_readers();
    expect(&["--card", "pcsc", "status"], "no smart card reader found");
    pcscd.stop();

    // Readers, but no card; a reader that does not exist.
    let pcscd = Pcscd::start();
    expect(&["--card", "pcsc", "status"], "no meter card found");
    expect(
        &["--card", &named(), "status"],
        "no card in reader `Virtual PCD 00 00`",
    );
    expect(
        &["--card", "pcsc:Nope", "status"],
        "reader `Nope` not found",
    );
    let run = home.meter(["readers"]).expect_code(0);
    assert!(
        run.stdout.contains("Virtual PCD 00 00: no card"),
        "{}",
        run.stdout
    );

    // A card that is not a meter: its application memory is erased. (A
    // card is made for an authority: it comes first.)
    home.meter(["authority", "init"]).expect_code(0);
    let state = home.path().join("other.sim");
    home.meter(["--card", &format!("sim:{}", state.display()), "card", "new"])
        .expect_code(0);
    let mut image = std::fs::read(&state).unwrap();
    image[8] = 0;
    applet_sim::sim::reseal(&mut image);
    std::fs::write(&state, image).unwrap();
    let card = VirtualCard::start(&state, &[]);
    expect(&["--card", "pcsc", "status"], "not a meter card");
    let run = home.meter(["--card", &named(), "status"]).expect_code(2);
    assert!(
        run.stderr.contains("6A82") && run.stderr.contains("is it a meter card"),
        "{}",
        run.stderr
    );
    let run = home.meter(["readers"]).expect_code(0);
    assert!(
        run.stdout.contains("a card that is not a meter"),
        "{}",
        run.stdout
    );

    // The card removed mid-session.
    let mut t = PcscTransport::connect(Some(READER), Duration::from_secs(1)).unwrap();
    t.transmit(&hex::decode(select_hex()).unwrap()).unwrap();
    card.pull();
    let e = t.transmit(&[0x00, 0xCA, 0x00, 0xE0, 0x00]).unwrap_err();
    assert_eq!(e, reader::TransportError::CardRemoved, "{e}");
    assert!(e.to_string().contains("removed"), "{e}");
    drop(t);
    pcscd.stop();
}

#[test]
fn cli_flows_give_the_same_results_as_the_simulator() {
    let _g = pcsc_env::lock();
    let (home, state, sim) = personalized_sim_card("PCSC-1", "5.00");
    let msg = home.path().join("letter");
    std::fs::write(&msg, vec![7u8; 300_000]).unwrap();
    let m = msg.to_str().unwrap();
    let sim_pm = home.path().join("sim.pm");
    let sim_pm = sim_pm.to_str().unwrap();
    home.meter(["--card", &sim, "--pin", PIN, "postmark", m, "-o", sim_pm])
        .expect_code(0);
    let via_sim = stable(
        home.meter(["--card", &sim, "status", "--json"])
            .expect_code(0)
            .json(),
    );

    let pcscd = Pcscd::start();
    let card = VirtualCard::start(&state, &[]);
    for spec in ["pcsc".to_owned(), named()] {
        let via_pcsc = stable(
            home.meter(["--card", &spec, "status", "--json"])
                .expect_code(0)
                .json(),
        );
        assert_eq!(via_pcsc, via_sim);
    }
    let run = home.meter(["readers"]).expect_code(0);
    assert!(
        run.stdout.contains("Virtual PCD 00 00: meter PCSC-1"),
        "{}",
        run.stdout
    );

    // Figure 3 and 4 through PC/SC.
    let pm = home.path().join("pcsc.pm");
    let p = pm.to_str().unwrap();
    home.meter(["--card", "pcsc", "--pin", PIN, "postmark", m, "-o", p])
        .expect_code(0);
    home.meter(["--card", "pcsc", "--pin", PIN, "verify", "--on-card", m, p])
        .expect_code(0);
    home.meter(["verify", m, p]).expect_code(0);
    home.meter([
        "--card",
        "pcsc",
        "--pin",
        PIN,
        "verify",
        "--on-card",
        m,
        sim_pm,
    ])
    .expect_code(0);
    let after_pcsc = stable(
        home.meter(["--card", "pcsc", "status", "--json"])
            .expect_code(0)
            .json(),
    );
    assert_eq!(
        after_pcsc["registers"]["certificate"]["ascending"]
            .as_u64()
            .unwrap(),
        via_sim["registers"]["certificate"]["ascending"]
            .as_u64()
            .unwrap()
            + 25
            + 10
            + 10
    );
    card.stop();
    // The simulator reads what PC/SC wrote: one card, two paths.
    let again = stable(
        home.meter(["--card", &sim, "status", "--json"])
            .expect_code(0)
            .json(),
    );
    assert_eq!(again, after_pcsc);
    pcscd.stop();
}

#[test]
fn every_vector_replays_through_pcscd() {
    let _g = pcsc_env::lock();
    let vectors = vectors::load_all();
    assert!(vectors.len() >= 7, "{} vectors", vectors.len());
    let pcscd = Pcscd::start();
    let dir = tempfile::tempdir().unwrap();
    for v in &vectors {
        let state = dir.path().join(format!("{}.sim", v.name));
        // The card the vector was recorded on: made with its issuer root
        // pinned, then (unless unattested) the factory's step, through
        // pcscd.
        let (seed, time) = (v.card.seed.to_string(), v.card.time.to_string());
        let root = v.card.sim_config().issuer_root.map(hex::encode_upper);
        let mut args = vec!["--seed", &seed, "--time", &time];
        if let Some(root) = &root {
            args.extend(["--issuer-root", root]);
        }
        let card = VirtualCard::start(&state, &args);
        let t = PcscTransport::connect(Some(READER), Duration::from_secs(1)).unwrap();
        let mut t = vectors::factory_step(&v.card, t)
            .unwrap_or_else(|e| panic!("{}: the factory's step: {e}", v.name));
        vectors::replay(v, &mut t).unwrap_or_else(|m| panic!("{}: {m}", v.name));
        drop(t);
        card.stop();
    }
    pcscd.stop();
}

#[test]
fn recovers_from_a_reset_by_another_process_and_a_pcscd_restart() {
    let _g = pcsc_env::lock();
    let home = Home::new();
    let state = home.path().join("card.sim");
    let pcscd = Pcscd::start();
    let card = VirtualCard::start(&state, &[]);
    let mut m = reader::Meter::new(reader::Session::new(
        PcscTransport::connect(Some(READER), Duration::from_secs(1)).unwrap(),
    ));
    m.select().unwrap();
    m.verify_pin(DEFAULT_PIN).unwrap();

    // Another program resets the card: the next command still works, with
    // the application selected and the PIN verified again.
    let mut other = PcscTransport::connect(Some(READER), Duration::from_secs(1)).unwrap();
    other.reset().unwrap();
    drop(other);
    assert_eq!(m.status().unwrap().lifecycle, "blank");
    let query = Request::Verify { pin: None }.to_command();
    let r = reader::exchange(m.transport(), &query).unwrap();
    assert_eq!(
        r.sw,
        apdu::StatusWord::OK,
        "PIN verification replayed after the reset"
    );

    // pcscd restarts under us.
    pcscd.stop();
    let pcscd = Pcscd::start();
    std::thread::sleep(Duration::from_millis(100));
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while !pcsc_env::card_present() {
        assert!(
            std::time::Instant::now() < deadline,
            "the card did not come back"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(m.status().unwrap().lifecycle, "blank");
    drop(m);
    card.stop();
    pcscd.stop();
}

#[test]
fn standard_tools_see_the_virtual_card() {
    let _g = pcsc_env::lock();
    let dir = tempfile::tempdir().unwrap();
    let pcscd = Pcscd::start();
    let card = VirtualCard::start(&dir.path().join("card.sim"), &[]);
    let scan = Command::new("pcsc_scan")
        .args(["-t", "2"])
        .output()
        .expect("pcsc_scan");
    let out = String::from_utf8_lossy(&scan.stdout);
    assert!(
        out.contains("3B 85 80 01 80 73 80 01 C0 B6"),
        "pcsc_scan:\n{out}"
    );
    let tool = Command::new("opensc-tool")
        .args(["-r", READER, "-s", &select_hex()])
        .output()
        .expect("opensc-tool");
    let out = String::from_utf8_lossy(&tool.stdout);
    assert!(
        out.contains("SW1=0x90, SW2=0x00"),
        "opensc-tool:\n{out}\n{}",
        String::from_utf8_lossy(&tool.stderr)
    );
    card.stop();
    pcscd.stop();
}

#[test]
fn a_flow_holds_the_card_exclusively() {
    let _g = pcsc_env::lock();
    let dir = tempfile::tempdir().unwrap();
    let pcscd = Pcscd::start();
    let card = VirtualCard::start(&dir.path().join("card.sim"), &[]);
    let mut mine = PcscTransport::connect(Some(READER), Duration::from_secs(1)).unwrap();
    let mut other = PcscTransport::connect(Some(READER), Duration::from_secs(1)).unwrap();
    let select = hex::decode(select_hex()).unwrap();
    // Another program sends a command when told to, and reports its answer.
    let (go, start) = std::sync::mpsc::channel::<()>();
    let (done, answer) = std::sync::mpsc::channel();
    let theirs = select.clone();
    let waiter = std::thread::spawn(move || {
        start.recv().unwrap();
        done.send(other.transmit(&theirs)).unwrap();
    });
    mine.exclusive(&mut |held| {
        held.transmit(&select)?;
        go.send(()).unwrap();
        std::thread::sleep(Duration::from_millis(300));
        assert!(
            answer.try_recv().is_err(),
            "another program's APDU came between the APDUs of a flow"
        );
        held.transmit(&[0x00, 0xCA, 0x00, 0xE0, 0x00])?;
        Ok(())
    })
    .unwrap();
    // Once the flow is over, the other program gets the card.
    let theirs = answer
        .recv_timeout(Duration::from_secs(10))
        .expect("the other program got the card");
    assert!(theirs.unwrap().ends_with(&[0x90, 0x00]));
    waiter.join().unwrap();
    drop(mine);
    card.stop();
    pcscd.stop();
}

/// `meter --card pcsc postmark` of a large (sparse, 512 MiB) message,
/// started and left running: thousands of HASH APDUs through pcscd, so a
/// fault can be put in the middle. Returns the process and the message.
fn postmark_a_large_file(home: &Home) -> (std::process::Child, std::path::PathBuf) {
    let big = home.path().join("big");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(512 << 20)
        .unwrap();
    let meter = Command::new(certmeter_tests::meter_bin())
        .args(["--card", "pcsc", "--pin", PIN, "postmark"])
        .arg(&big)
        .env("METER_HOME", home.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    (meter, big)
}

#[test]
fn a_card_pulled_mid_postmark_is_reported_and_charges_nothing() {
    let _g = pcsc_env::lock();
    let (home, state, sim) = personalized_sim_card("PULL-1", "1.00");
    let before = stable(
        home.meter(["--card", &sim, "status", "--json"])
            .expect_code(0)
            .json(),
    );
    let pcscd = Pcscd::start();
    let card = VirtualCard::start(&state, &[]);
    let (meter, big) = postmark_a_large_file(&home);
    std::thread::sleep(Duration::from_millis(400));
    card.pull();
    let out = meter.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("the card was removed"), "{stderr}");
    assert!(!big.with_extension("postmark").exists());
    pcscd.stop();
    // Nothing was charged: the POSTMARK command was never reached.
    let after = stable(
        home.meter(["--card", &sim, "status", "--json"])
            .expect_code(0)
            .json(),
    );
    assert_eq!(after, before);
}

/// [reliability] point 5: pcscd killed (SIGKILL) in the middle of a
/// postmark's thousands of HASH APDUs: one clear line, exit 2, nothing
/// charged and no postmark file; once pcscd is started again the same
/// postmark completes, charged once.
#[test]
fn pcscd_killed_mid_postmark_loses_nothing_and_the_next_run_completes() {
    let _g = pcsc_env::lock();
    let (home, state, sim) = personalized_sim_card("KILL-1", "1.00");
    let before = stable(
        home.meter(["--card", &sim, "status", "--json"])
            .expect_code(0)
            .json(),
    );
    let pcscd = Pcscd::start();
    let card = VirtualCard::start(&state, &[]);
    let (meter, big) = postmark_a_large_file(&home);
    std::thread::sleep(Duration::from_millis(400));
    pcscd.kill();
    let out = meter.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        stderr.lines().filter(|l| l.starts_with("meter:")).count() == 1,
        "one error line: {stderr}"
    );
    assert!(!big.with_extension("postmark").exists());
    card.stop();
    let after = stable(
        home.meter(["--card", &sim, "status", "--json"])
            .expect_code(0)
            .json(),
    );
    assert_eq!(after, before, "nothing charged");

    // pcscd again: the postmark completes and is charged once.
    let msg = home.path().join("m.txt");
    std::fs::write(&msg, "after the restart").unwrap();
    let pcscd = Pcscd::start();
    let card = VirtualCard::start(&state, &[]);
    home.meter([
        "--card",
        "pcsc",
        "--pin",
        PIN,
        "postmark",
        msg.to_str().unwrap(),
    ])
    .expect_code(0);
    card.stop();
    pcscd.stop();
    let after = home
        .meter(["--card", &sim, "status", "--json"])
        .expect_code(0)
        .json();
    assert_eq!(
        after["postmarks"],
        before["postmarks"].as_u64().unwrap() + 1
    );
    home.meter([
        "--card",
        &sim,
        "verify",
        msg.to_str().unwrap(),
        &format!("{}.postmark", msg.display()),
    ])
    .expect_code(0);
}

/// A verified PIN never outlives a spending flow: VERIFY and the spend run
/// in one PC/SC transaction that ends by resetting the card, so another
/// program, connected meanwhile and waiting for the card, gets it with no
/// PIN in force (and the application not even selected): it cannot spend
/// on the owner's PIN.
#[test]
fn a_verified_pin_never_outlives_a_spending_flow() {
    let _g = pcsc_env::lock();
    let (home, state, _) = personalized_sim_card("PCSC-PIN", "5.00");
    let msg = home.path().join("letter");
    std::fs::write(&msg, b"Dear Sir,").unwrap();
    let m = msg.to_str().unwrap();
    let pcscd = Pcscd::start();
    let card = VirtualCard::start(&state, &[]);
    let cmd = |r: Request<'_>| r.to_command().to_vec().unwrap();
    let sw = |a: &[u8]| u16::from_be_bytes([a[a.len() - 2], a[a.len() - 1]]);
    // Another program, connected all along. (A session, so that a reset
    // is reported by resending, not as an error.)
    let mut other =
        reader::Session::new(PcscTransport::connect(Some(READER), Duration::from_secs(1)).unwrap());
    // What it tries: the PIN state, then a postmark on the owner's PIN,
    // without SELECT (which would end the owner's security state itself).
    let attempt = |other: &mut reader::Session<PcscTransport>| {
        let query = other.transmit(&cmd(Request::Verify { pin: None })).unwrap();
        let hash = other.transmit(&cmd(Request::HashInit)).unwrap();
        let postmark = other.transmit(&cmd(Request::Postmark)).unwrap();
        [sw(&query), sw(&hash), sw(&postmark)]
    };
    let spent = |answers: [u16; 3]| {
        answers[0] == 0x9000 || answers[2] & 0xFF00 == 0x6100 || answers[2] == 0x9000
    };

    // The library flow the CLI runs, the owner's connection kept open.
    let mut owner = reader::Meter::new(reader::CardSpec::Pcsc(Some(READER.into())).open().unwrap());
    owner.select().unwrap();
    let mut verified = false;
    let mut message = std::io::Cursor::new(b"Dear Sir,".to_vec());
    owner
        .with_pin(PIN.as_bytes(), &mut verified, |m| {
            reader::postmark::postmark(m, &mut message)
        })
        .unwrap();
    let answers = attempt(&mut other);
    assert!(
        !spent(answers),
        "another program spent on the owner's PIN: {answers:04X?}"
    );
    // With SELECT: security status not satisfied.
    let select = hex::decode(select_hex()).unwrap();
    assert_eq!(sw(&other.transmit(&select).unwrap()), 0x9000);
    assert_eq!(
        sw(&other.transmit(&cmd(Request::HashInit)).unwrap()),
        0x9000
    );
    assert_eq!(
        sw(&other.transmit(&cmd(Request::Postmark)).unwrap()),
        0x6982
    );
    // The owner's session goes on (the selection comes back, not the PIN)
    // and its next flow verifies afresh.
    assert_eq!(owner.status().unwrap().postmarks, 1);
    let query = reader::exchange(
        owner.transport(),
        &Request::Verify { pin: None }.to_command(),
    )
    .unwrap();
    assert_ne!(query.sw, apdu::StatusWord::OK, "the PIN was replayed");
    let mut message = std::io::Cursor::new(b"Dear Sir,".to_vec());
    owner
        .with_pin(PIN.as_bytes(), &mut verified, |m| {
            reader::postmark::postmark(m, &mut message)
        })
        .unwrap();
    drop(owner);

    // Through the CLI: after `meter postmark` over PC/SC, nobody spends.
    let pm = home.path().join("letter.pm");
    home.meter([
        "--card",
        "pcsc",
        "--pin",
        PIN,
        "postmark",
        m,
        "-o",
        pm.to_str().unwrap(),
    ])
    .expect_code(0);
    let answers = attempt(&mut other);
    assert!(
        !spent(answers),
        "another program spent on the owner's PIN: {answers:04X?}"
    );
    let hash_hex = hex::encode_upper(cmd(Request::HashInit));
    let postmark_hex = hex::encode_upper(cmd(Request::Postmark));
    let run = home
        .meter([
            "--card",
            "pcsc",
            "apdu",
            &select_hex(),
            &hash_hex,
            &postmark_hex,
        ])
        .expect_code(0);
    assert!(
        run.stdout
            .lines()
            .last()
            .unwrap_or_default()
            .contains("6982"),
        "{}",
        run.stdout
    );
    let status = home
        .meter(["--card", "pcsc", "status", "--json"])
        .expect_code(0)
        .json();
    assert_eq!(status["postmarks"], 3);
    drop(other);
    card.stop();
    pcscd.stop();
}
