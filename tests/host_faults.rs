//! [reliability] point 5: the host under faults. The authority's database
//! locked by another connection, the authority's disk full, the output
//! disk full, and the card pulled mid-command (the `meter` process, which
//! holds the simulated card, killed while it works): each gives a clear
//! error, loses nothing (registers and records consistent, a charged
//! postmark recoverable), and the next run completes. pcscd killed and
//! restarted mid-flow is in tests/pcsc.rs.
//!
//! Disk full is a small tmpfs mounted under the test's temporary
//! directory (root is needed to mount it; without it the test fails with
//! that reason, it never skips), unmounted at the end.

use std::path::{Path, PathBuf};
use std::process::Command;

use certmeter_tests::{Home, OWNER_PIN, Run, meter_bin};

fn certificate_register(home: &Home) -> (u64, u64, u64) {
    let s = home.meter(["status", "--json"]).expect_code(0).json();
    let r = &s["registers"]["certificate"];
    (
        r["ascending"].as_u64().unwrap(),
        r["descending"].as_u64().unwrap(),
        s["load_count"].as_u64().unwrap(),
    )
}

/// The last line of stderr: the error a user reads.
fn error_line(run: &Run) -> &str {
    run.stderr.trim().lines().last().unwrap_or("")
}

/// A tmpfs of `kb` KiB mounted at `dir`, unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, kb: u32) -> Tmpfs {
        std::fs::create_dir_all(dir).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={kb}k"), "tmpfs"])
            .arg(dir)
            .output()
            .expect("running mount");
        assert!(
            out.status.success(),
            "mounting a {kb} KiB tmpfs at {} (needs root, for the disk-full tests): {}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        Tmpfs(dir.to_owned())
    }

    /// Fills the file system to the last byte.
    fn fill(&self) {
        let mut f = std::fs::File::create(self.0.join("fill")).unwrap();
        let block = vec![0u8; 4096];
        use std::io::Write;
        while f.write_all(&block).is_ok() {}
        while f.write_all(&block[..1]).is_ok() {}
        let _ = f.sync_all();
    }

    fn free(&self) {
        std::fs::remove_file(self.0.join("fill")).unwrap();
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// Another connection holds a write lock on the authority's database: the
/// load fails with one line, the card is not credited, and the same load
/// completes once the lock is gone.
#[test]
fn the_authority_database_locked() {
    let home = Home::personalized("HF-1", "10.00");
    let before = certificate_register(&home);
    let db = home.path().join("authority").join("authority.db");
    let lock = rusqlite::Connection::open(&db).unwrap();
    lock.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let mut faults = 0;
    for args in [&["load", "1.00"][..], &["sync"], &["audit"]] {
        let run = home.meter(args);
        assert_eq!(run.code, 2, "{args:?}: {}{}", run.stdout, run.stderr);
        assert_eq!(run.stderr.trim().lines().count(), 1, "{}", run.stderr);
        assert!(error_line(&run).contains("locked"), "{}", run.stderr);
        faults += 1;
    }
    assert_eq!(certificate_register(&home), before, "nothing credited");
    lock.execute_batch("ROLLBACK").unwrap();
    drop(lock);
    home.meter(["load", "1.00"]).expect_code(0);
    let (asc, desc, loads) = certificate_register(&home);
    assert_eq!((asc, desc, loads), (before.0, before.1 + 100, before.2 + 1));
    home.meter(["audit"]).expect_code(0);
    println!("authority database locked: {faults} commands refused, then completed");
}

/// The authority's disk full: loads, syncs and inspections fail with one
/// line; the card is not credited; once there is room, the next load and
/// inspection complete and the inspection reconciles (an inspection report
/// the authority could not record is noted as missing, not as tampering).
#[test]
fn the_authority_disk_full() {
    let home = Home::personalized("HF-2", "10.00");
    let before = certificate_register(&home);
    let dir = home.path().join("full-authority");
    let fs = Tmpfs::mount(&dir, 1024);
    for e in std::fs::read_dir(home.path().join("authority")).unwrap() {
        let p = e.unwrap().path();
        let to = dir.join(p.file_name().unwrap());
        std::fs::copy(&p, &to).unwrap();
    }
    let authority = dir.to_str().unwrap().to_owned();
    fs.fill();
    let mut faults = 0;
    for args in [&["load", "1.00"][..], &["audit"], &["load", "2.00"]] {
        let run = home.meter(["--authority", &authority].iter().chain(args));
        assert_eq!(run.code, 2, "{args:?}: {}{}", run.stdout, run.stderr);
        assert_eq!(run.stderr.trim().lines().count(), 1, "{}", run.stderr);
        assert!(error_line(&run).contains("full"), "{}", run.stderr);
        faults += 1;
    }
    assert_eq!(certificate_register(&home), before, "nothing credited");
    fs.free();
    home.meter(["--authority", &authority, "load", "1.00"])
        .expect_code(0);
    let run = home
        .meter(["--authority", &authority, "audit"])
        .expect_code(0);
    assert!(run.stdout.contains("agrees"), "{}", run.stdout);
    let (asc, desc, loads) = certificate_register(&home);
    assert_eq!((asc, desc, loads), (before.0, before.1 + 100, before.2 + 1));
    println!("authority disk full: {faults} commands refused, then completed");
}

/// The output disk full: the postmark is charged on the card, the file
/// cannot be written; the error says so in its last line, and the
/// postmark is not lost: its bytes are on stderr, and they verify. The
/// next postmark to a disk with room completes.
#[test]
fn the_output_disk_full() {
    let home = Home::personalized("HF-3", "10.00");
    let dir = home.path().join("out");
    let fs = Tmpfs::mount(&dir, 16);
    fs.fill();
    let letter = home.path().join("letter.txt");
    std::fs::write(&letter, "a letter").unwrap();
    let out = dir.join("letter.postmark");
    let run = home.meter([
        "--pin",
        OWNER_PIN,
        "postmark",
        letter.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        error_line(&run).contains("No space left on device"),
        "{}",
        run.stderr
    );
    assert!(!out.exists());
    // Charged once, and recoverable from stderr.
    let (asc, _, _) = certificate_register(&home);
    assert_eq!(asc, 25);
    let hex_line = run
        .stderr
        .lines()
        .find_map(|l| l.split("postmark (hex): ").nth(1))
        .unwrap_or_else(|| panic!("the postmark is not on stderr:\n{}", run.stderr));
    let saved = home.path().join("recovered.postmark");
    std::fs::write(&saved, hex::decode(hex_line.trim()).unwrap()).unwrap();
    home.meter(["verify", letter.to_str().unwrap(), saved.to_str().unwrap()])
        .expect_code(0);
    fs.free();
    home.meter([
        "--pin",
        OWNER_PIN,
        "postmark",
        letter.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ])
    .expect_code(0);
    assert_eq!(certificate_register(&home).0, 50);
}

/// The card pulled mid-command: the `meter` process (which holds the
/// simulated card and saves it after each command) killed while it
/// postmarks a large file, at several points of the run. Whatever the
/// point, the card is consistent (ascending + descending = loaded, at most
/// one postmark charged, the count following the charge) and the next
/// postmark completes.
#[test]
fn the_card_pulled_mid_command() {
    let home = Home::personalized("HF-4", "10.00");
    let big = home.path().join("big.bin");
    std::fs::write(&big, vec![0x5Au8; 48 << 20]).unwrap();
    let mut kills = 0;
    let mut charged = 0;
    for delay_ms in [10u64, 30, 80, 200, 400, 800] {
        let before = certificate_register(&home);
        let mut child = home
            .command(meter_bin())
            .args(["--pin", OWNER_PIN, "postmark", big.to_str().unwrap()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let finished = child.try_wait().unwrap().is_some();
        let _ = child.kill();
        let _ = child.wait();
        kills += usize::from(!finished);
        let (asc, desc, loads) = certificate_register(&home);
        assert_eq!(asc + desc, 1000, "after a kill at {delay_ms} ms");
        assert_eq!(loads, before.2);
        assert!(asc == before.0 || asc == before.0 + 25, "{asc}");
        charged += usize::from(asc != before.0);
        let s = home.meter(["status", "--json"]).expect_code(0).json();
        assert_eq!(
            s["postmarks"].as_u64().unwrap() * 25,
            asc,
            "the postmark count follows the charge"
        );
    }
    // Deterministically mid-flow: the message comes from a pipe, the
    // process is killed while it waits for more (HASH under way on the card).
    for sent in [0usize, 100_000, 1 << 20] {
        let before = certificate_register(&home);
        let fifo = home.path().join(format!("pipe-{sent}"));
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let mut child = home
            .command(meter_bin())
            .args(["--pin", OWNER_PIN, "postmark", fifo.to_str().unwrap()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut w = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
        use std::io::Write;
        w.write_all(&vec![0x41u8; sent]).unwrap();
        w.flush().unwrap();
        child.kill().unwrap();
        let status = child.wait().unwrap();
        assert!(!status.success(), "killed before the end of its message");
        drop(w);
        kills += 1;
        assert_eq!(certificate_register(&home), before, "nothing charged");
    }
    std::fs::write(home.path().join("l.txt"), "a letter").unwrap();
    home.meter([
        "--pin",
        OWNER_PIN,
        "postmark",
        home.path().join("l.txt").to_str().unwrap(),
    ])
    .expect_code(0);
    println!(
        "card pulled: {kills} runs killed mid-flow (3 while hashing from a pipe), {charged} of 6 timed runs had charged; all consistent"
    );
}
