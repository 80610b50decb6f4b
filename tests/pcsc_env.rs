//! The PC/SC test environment: a pcscd of our own in the foreground and the
//! virtual card (`applet-sim` connected to vsmartcard's vpcd), both started
//! and stopped by PID. pcscd is one per machine, so tests that use it take
//! [`lock`] first.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

/// The vpcd reader that port 35963 serves.
pub const READER: &str = "Virtual PCD 00 00";
/// Its TCP port.
pub const VPCD_ADDR: &str = "127.0.0.1:35963";

/// Serializes the tests that use pcscd (one daemon per machine).
pub fn lock() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// The `applet-sim` binary.
pub fn applet_sim_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let mut build = escargot::CargoBuild::new()
            .package("applet-sim")
            .bin("applet-sim");
        if !cfg!(debug_assertions) {
            build = build.release();
        }
        build
            .run()
            .unwrap_or_else(|e| panic!("building applet-sim: {e}"))
            .path()
            .to_path_buf()
    })
}

fn sigterm(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

fn wait_until(what: &str, timeout: Duration, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Whether any pcscd answers.
pub fn pcscd_answers() -> bool {
    pcsc::Context::establish(pcsc::Scope::User).is_ok_and(|c| c.list_readers_owned().is_ok())
        || matches!(
            pcsc::Context::establish(pcsc::Scope::User).map(|c| c.list_readers_owned()),
            Ok(Err(pcsc::Error::NoReadersAvailable))
        )
}

/// A pcscd we started.
pub struct Pcscd {
    child: Child,
    _config: Option<tempfile::TempDir>,
}

impl Pcscd {
    /// Starts `pcscd -f` with the system's reader configuration (which
    /// holds vpcd) and waits until it answers. Fails, never skips, when it
    /// cannot.
    pub fn start() -> Self {
        Self::spawn(None)
    }

    /// Starts pcscd with an empty reader configuration: no reader at all.
    pub fn start_without_readers() -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        Self::spawn(Some(dir))
    }

    fn spawn(config: Option<tempfile::TempDir>) -> Self {
        assert!(
            !pcscd_answers(),
            "a pcscd is already running; stop it (the tests start their own)"
        );
        let mut cmd = Command::new("pcscd");
        cmd.arg("-f");
        if let Some(dir) = &config {
            cmd.arg("-c").arg(dir.path());
        }
        let child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start pcscd ({e}); install it with ./scripts/test (Debian pcscd)")
            });
        let mut p = Pcscd {
            child,
            _config: config,
        };
        let started = Instant::now();
        while !pcscd_answers() {
            if let Ok(Some(status)) = p.child.try_wait() {
                panic!(
                    "pcscd exited at start ({status}); is another one running, or are we not root?"
                );
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "pcscd did not come up"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        p
    }

    /// Stops it (SIGTERM) and waits until it is gone.
    pub fn stop(mut self) {
        self.halt();
    }

    /// Kills it (SIGKILL: no clean-up of its own) and waits until it no
    /// longer answers.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        wait_until("pcscd to die", Duration::from_secs(10), || !pcscd_answers());
    }

    fn halt(&mut self) {
        sigterm(&mut self.child);
        wait_until("pcscd to stop", Duration::from_secs(10), || {
            !pcscd_answers()
        });
    }
}

impl Drop for Pcscd {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.halt();
        }
    }
}

/// Whether `READER` holds a card.
pub fn card_present() -> bool {
    reader::pcsc::list_readers()
        .map(|rs| rs.iter().any(|r| r.name == READER && r.card_present))
        .unwrap_or(false)
}

/// The virtual card: `applet-sim` on a state file, connected to vpcd.
pub struct VirtualCard {
    child: Child,
}

impl VirtualCard {
    /// Starts `applet-sim --state STATE --create EXTRA...` and waits until
    /// pcscd sees the card.
    pub fn start(state: &Path, extra: &[&str]) -> Self {
        let child = Command::new(applet_sim_bin())
            .arg("--state")
            .arg(state)
            .args(["--vpcd", VPCD_ADDR, "--create"])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting applet-sim");
        let mut v = VirtualCard { child };
        let started = Instant::now();
        while !card_present() {
            if let Ok(Some(status)) = v.child.try_wait() {
                panic!("applet-sim exited ({status})");
            }
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "the virtual card did not appear"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        v
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Stops it cleanly (SIGTERM: the state file is saved and unlocked)
    /// and waits until the reader is empty.
    pub fn stop(mut self) {
        self.halt();
    }

    /// Kills it at once (SIGKILL), as pulling the card out.
    pub fn pull(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        wait_until(
            "the card to leave the reader",
            Duration::from_secs(10),
            || !card_present(),
        );
    }

    fn halt(&mut self) {
        sigterm(&mut self.child);
        wait_until(
            "the card to leave the reader",
            Duration::from_secs(10),
            || !card_present(),
        );
    }
}

impl Drop for VirtualCard {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            sigterm(&mut self.child);
        }
    }
}
