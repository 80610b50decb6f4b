//! Helpers for the end-to-end tests: the `meter` binary, run as a user
//! would, in a private `METER_HOME`.

pub mod pcsc_env;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// A new card's owner PIN (the transport PIN), as the CLI takes it.
pub const DEFAULT_PIN: &str = "123456";
/// The owner PIN [`Home::personalized`] sets in place of the transport PIN.
pub const OWNER_PIN: &str = "13579";

/// The `meter` binary, built once per test run (same profile as the tests).
pub fn meter_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let mut build = escargot::CargoBuild::new()
            .package("certmeter-cli")
            .bin("meter");
        if !cfg!(debug_assertions) {
            build = build.release();
        }
        let run = build
            .run()
            .unwrap_or_else(|e| panic!("building meter: {e}"));
        run.path().to_path_buf()
    })
}

/// The result of one `meter` run.
pub struct Run {
    /// Exit code (-1 when killed by a signal).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Self {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Run {
    /// Panics with the whole output unless the exit code is `code`.
    pub fn expect_code(self, code: i32) -> Self {
        assert_eq!(
            self.code, code,
            "exit code\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// Parses stdout as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }
}

/// A private data directory for one test.
pub struct Home {
    dir: tempfile::TempDir,
}

impl Default for Home {
    fn default() -> Self {
        Self::new()
    }
}

impl Home {
    /// A new, empty `METER_HOME`.
    pub fn new() -> Self {
        Home {
            dir: tempfile::tempdir().expect("temporary directory"),
        }
    }

    /// A new `METER_HOME` with a local authority and its simulated card
    /// (`card.sim`) personalized as `serial` with `funds` (e.g. `"10.00"`)
    /// through the CLI, as a user does it: the fixture of the CLI tests.
    pub fn personalized(serial: &str, funds: &str) -> Self {
        let home = Home::new();
        home.meter(["authority", "init"]).expect_code(0);
        home.meter(["card", "new"]).expect_code(0);
        home.meter(["--pin", DEFAULT_PIN, "pin", "change", "--new", OWNER_PIN])
            .expect_code(0);
        home.meter([
            "--pin",
            OWNER_PIN,
            "personalize",
            "--serial",
            serial,
            "--funds",
            funds,
        ])
        .expect_code(0);
        home
    }

    /// `sim:PATH` of the card [`Home::personalized`] made, and its state file.
    pub fn card(&self) -> (String, PathBuf) {
        let state = self.path().join("card.sim");
        (format!("sim:{}", state.display()), state)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `program` set up to run with `METER_HOME` set to this directory (and
    /// no `METER_CARD` from the caller), for runs that need their own
    /// standard streams.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new(program);
        c.env("METER_HOME", self.path()).env_remove("METER_CARD");
        c
    }

    /// Runs `meter ARGS` with `METER_HOME` set to this directory.
    pub fn meter<I, S>(&self, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.command(meter_bin())
            .args(args)
            .output()
            .expect("running meter")
            .into()
    }
}
