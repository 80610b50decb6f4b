//! APDU-level test vectors for every certmeter flow, and their runner.
//!
//! A [`Vector`] is one flow on one freshly manufactured deterministic card
//! (`SimConfig::deterministic(seed, time)`, see [`CardSpec`]): every command
//! APDU the PC sends, from the first SELECT on, with the card's exact answer
//! (data then SW1 SW2). The files live in `vectors/data/`, one JSON file per
//! flow, named after the vector:
//!
//! ```json
//! {
//!   "name": "fig3-postmark-funded",
//!   "figure": "Figure 3",
//!   "description": "...",
//!   "card": { "seed": 7, "time": 1780000000 },
//!   "steps": [
//!     {
//!       "description": "Figure 3, steps 306/308/312/314: ... (POSTMARK)",
//!       "command": "8030000000",
//!       "response": "7F60...9000"
//!     }
//!   ]
//! }
//! ```
//!
//! Bytes are upper-case hex without spaces. Every step's description names
//! the figure step it exercises, then the command in parentheses, then the
//! status word when it is not a success.
//!
//! * [`generate()`] runs the real flows (the `reader` crate's [`reader::Meter`],
//!   [`reader::personalize`], [`reader::value`] and [`reader::postmark`]
//!   functions, a deterministic [`authority::Authority`]) against a
//!   simulated card and records every APDU. The authority and the card are
//!   seeded and ECDSA signatures use RFC 6979 nonces, so the output is
//!   byte-identical run to run. `cargo run -p vectors --bin gen-vectors`
//!   rewrites `vectors/data/`.
//! * [`replay()`] sends a vector's commands over any [`Transport`] and
//!   compares the answers byte for byte; [`sim::fresh`] is the card a
//!   vector expects, in-process.
//!
//! The PC side was recorded without extended-length APDUs: long commands
//! are chained in short pieces (CLA bit `10`) and long answers fetched with
//! GET RESPONSE, so the vectors replay through any reader.

#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod fixture;
mod generate;
mod record;
mod runner;
mod sim;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use fixture::{FixtureError, Funded};
pub use generate::{GenerateError, generate, try_generate};
pub use reader::Transport;
pub use record::Recorder;
pub use runner::{Mismatch, replay};
pub use sim::{SimCard, attested, fresh, sim_transport};

/// One flow: the card it starts from and every APDU exchanged.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Vector {
    /// The vector's name, also its file name without `.json`.
    pub name: String,
    /// The patent figure the flow follows ("Figure 3", ...).
    pub figure: String,
    /// What the flow shows, for people.
    pub description: String,
    /// The freshly manufactured card the steps start from.
    pub card: CardSpec,
    /// Every command APDU, in order, with the card's answer.
    pub steps: Vec<Step>,
}

/// A deterministic simulated card: `SimConfig::deterministic(seed, time)`,
/// made with the issuer root of the deterministic authority of seed
/// `issuer_root` pinned (`authority::keys::root_from_seed`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CardSpec {
    /// The seed of the card's random number generator (chip id, keys, nonces).
    pub seed: u64,
    /// The card's platform clock, fixed, Unix seconds.
    pub time: u64,
    /// The seed of the deterministic authority whose issuer root the card
    /// is made with; `None`: no issuer root (nothing can personalize it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer_root: Option<u64>,
    /// The card is made without the factory's attestation certificate
    /// (with an issuer root, [`crate::fresh`] otherwise stores it).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unattested: bool,
}

impl CardSpec {
    /// The card's simulator settings.
    pub fn sim_config(&self) -> applet_sim::sim::SimConfig {
        let config = applet_sim::sim::SimConfig::deterministic(self.seed, self.time);
        match self.issuer_root {
            Some(seed) => {
                let root = authority::keys::root_from_seed(seed);
                config.with_issuer_root(authority::keys::encode_public(root.verifying_key()))
            }
            None => config,
        }
    }
}

/// One command APDU and the card's answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// The figure step this exercises, and the command.
    pub description: String,
    /// The command APDU exactly as sent.
    #[serde(with = "hex_bytes")]
    pub command: Vec<u8>,
    /// The answer exactly as received: data, then SW1 SW2.
    #[serde(with = "hex_bytes")]
    pub response: Vec<u8>,
}

impl Vector {
    /// The canonical file content: pretty JSON with a final newline.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_else(|e| {
            // Only strings, integers and sequences: serialization cannot fail.
            unreachable!("serializing a vector: {e}")
        });
        s.push('\n');
        s
    }

    /// Parses a vector file.
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// The file name of this vector: `NAME.json`.
    pub fn file_name(&self) -> String {
        format!("{}.json", self.name)
    }
}

/// Upper-case hex for people, without spaces; read back leniently (any
/// case, whitespace ignored).
mod hex_bytes {
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode_upper(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        hex::decode(&compact).map_err(|e| D::Error::custom(format!("bad hex {text:?}: {e}")))
    }
}

/// The committed vector files: `vectors/data/` in this crate's source tree.
pub fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data")
}

/// Why vector files could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// Reading the directory or a file failed.
    #[error("{path}: {1}", path = .0.display())]
    Io(PathBuf, #[source] std::io::Error),
    /// A file is not a vector.
    #[error("{path}: not a test vector: {1}", path = .0.display())]
    Parse(PathBuf, #[source] serde_json::Error),
    /// A file's name differs from the vector's name.
    #[error("{path}: holds vector {1:?}; the file must be named {1}.json", path = .0.display())]
    Name(PathBuf, String),
}

/// Every `*.json` vector in `dir`, in file-name order.
pub fn load_dir(dir: &Path) -> Result<Vec<Vector>, LoadError> {
    let entries = std::fs::read_dir(dir).map_err(|e| LoadError::Io(dir.to_path_buf(), e))?;
    let mut paths = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|e| LoadError::Io(dir.to_path_buf(), e))?
            .path();
        if path.extension().is_some_and(|x| x == "json") {
            paths.push(path);
        }
    }
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let text =
                std::fs::read_to_string(&path).map_err(|e| LoadError::Io(path.clone(), e))?;
            let v = Vector::from_json(&text).map_err(|e| LoadError::Parse(path.clone(), e))?;
            if path.file_name() != Some(v.file_name().as_ref()) {
                return Err(LoadError::Name(path, v.name));
            }
            Ok(v)
        })
        .collect()
}

/// Every committed vector (`vectors/data/*.json`), in file-name order.
///
/// # Panics
///
/// When a file cannot be read or is not a vector: the committed files are
/// part of the source tree.
pub fn load_all() -> Vec<Vector> {
    load_dir(&data_dir()).unwrap_or_else(|e| panic!("loading the committed test vectors: {e}"))
}

/// Writes `vectors` into `dir` (created if needed), one `NAME.json` each,
/// and returns the paths written.
pub fn write_all(dir: &Path, vectors: &[Vector]) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    vectors
        .iter()
        .map(|v| {
            let path = dir.join(v.file_name());
            std::fs::write(&path, v.to_json())?;
            Ok(path)
        })
        .collect()
}
