//! A simulated card kept in a file, like a real card keeps its EEPROM: the
//! persistent image is saved atomically (temporary file, fsync, rename)
//! after every command that wrote to it, and a lock file held for the
//! lifetime of the [`StateFile`] keeps other processes away.
//!
//! Format: an 8-byte header `CMSIMvNN`, NN the persistent layout version of
//! the image (today `CMSIMv03`), then the [`PERSISTENT_CAPACITY`]-byte image.
//! A `CMSIMv01` file (layout v1, no version byte) is opened, migrated by the
//! card at power-up ([`crate::migrate`]) and saved as `CMSIMv03` (a `CMSIMv02` file likewise). A newer
//! header or image version is refused ([`SimError::UnknownLayout`]) and the
//! file left untouched; a header that contradicts its image is refused too.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use super::{Card, SimConfig, SimError};
use crate::budget::PERSISTENT_CAPACITY;
use crate::layout::{self, Stored};
use crate::store::Store;

/// The header of a state file: `CMSIMv` and two digits, the version of
/// the persistent layout of the image that follows. Written: the current
/// layout ([`layout::VERSION`]).
const MAGIC: &[u8; 8] = b"CMSIMv03";
/// What every header starts with.
const MAGIC_PREFIX: &[u8; 6] = b"CMSIMv";

/// The layout version a state-file header names, if it is one.
fn header_version(magic: &[u8]) -> Option<u8> {
    let digits = magic.strip_prefix(MAGIC_PREFIX.as_slice())?;
    match digits {
        [a @ b'0'..=b'9', b @ b'0'..=b'9'] => Some((a - b'0') * 10 + (b - b'0')),
        _ => None,
    }
}

/// A simulated card bound to its state file.
pub struct StateFile {
    card: Card,
    path: PathBuf,
    _lock: File,
}

impl StateFile {
    /// Manufactures a new blank card at `path`; refuses to replace an
    /// existing one unless `force`.
    pub fn create(path: &Path, force: bool, config: SimConfig) -> Result<Self, SimError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir).map_err(|source| SimError::Io {
                path: path.display().to_string(),
                source,
            })?;
        }
        if path.is_dir() {
            return Err(SimError::BadStateFile(
                path.display().to_string(),
                "a directory",
            ));
        }
        let lock = lock(path)?;
        if path.exists() && !force {
            return Err(SimError::Exists(path.display().to_string()));
        }
        let card = Card::manufacture(config)?;
        let mut s = StateFile {
            card,
            path: path.to_owned(),
            _lock: lock,
        };
        s.save()?;
        Ok(s)
    }

    /// Opens the card at `path` and powers it on (which finishes recovery
    /// of a command the power was cut in).
    pub fn open(path: &Path, config: SimConfig) -> Result<Self, SimError> {
        let display = || path.display().to_string();
        let io = |e: std::io::Error| match e.kind() {
            std::io::ErrorKind::NotFound => SimError::NotFound(display()),
            _ => SimError::Io {
                path: display(),
                source: e,
            },
        };
        // Checked before the lock file is made, so that a wrong path leaves
        // no `PATH.lock` behind.
        if fs::metadata(path).map_err(io)?.is_dir() {
            return Err(SimError::BadStateFile(display(), "a directory"));
        }
        let lock = lock(path)?;
        let bytes = fs::read(path).map_err(io)?;
        let (magic, rest) = bytes
            .split_at_checked(MAGIC.len())
            .ok_or_else(|| SimError::BadStateFile(display(), "no certmeter header"))?;
        let version = header_version(magic)
            .filter(|&v| v >= 1)
            .ok_or_else(|| SimError::BadStateFile(display(), "no certmeter header"))?;
        let unknown = |version| SimError::UnknownLayout {
            what: display(),
            version,
            known: layout::VERSION,
        };
        if version > layout::VERSION {
            return Err(unknown(version));
        }
        let image: &[u8; PERSISTENT_CAPACITY] = rest
            .try_into()
            .map_err(|_| SimError::BadStateFile(display(), "wrong size"))?;
        // The header and the image must name the same layout (v1 images
        // have no version byte: 0 there).
        let in_image = match layout::stored(&Store::from_image(image)) {
            Stored::Erased => version,
            Stored::Known(v) => v,
            Stored::Unknown(v) => return Err(unknown(v)),
        };
        if in_image != version {
            return Err(SimError::BadStateFile(
                display(),
                "its header and its image name different layout versions",
            ));
        }
        // An older layout is migrated at power-up, and saved below.
        let card = Card::from_image(image, config).map_err(|e| match e {
            SimError::UnknownLayout { version, .. } => unknown(version),
            e => e,
        })?;
        // Power-up rolls back an interrupted transaction; it fails only when
        // the journal itself is damaged.
        if !card.is_powered() {
            return Err(SimError::BadStateFile(display(), "its journal is damaged"));
        }
        let mut s = StateFile {
            card,
            path: path.to_owned(),
            _lock: lock,
        };
        s.save_if_dirty()?;
        Ok(s)
    }

    /// The card.
    pub fn card(&mut self) -> &mut Card {
        &mut self.card
    }

    /// The state file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Sends one command and saves the card if the command wrote to it
    /// (also when the power was cut part way: the torn image is what the
    /// next power-up recovers from).
    pub fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, SimError> {
        let r = self.card.transmit(apdu);
        self.save_if_dirty()?;
        r
    }

    /// Saves the image if anything was written since the last save.
    pub fn save_if_dirty(&mut self) -> Result<(), SimError> {
        if self.card.store_mut().take_dirty() {
            self.save()?;
        }
        Ok(())
    }

    fn save(&mut self) -> Result<(), SimError> {
        let io = |source| SimError::Io {
            path: self.path.display().to_string(),
            source,
        };
        let mut tmp = self.path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        let mut f = File::create(&tmp).map_err(io)?;
        f.write_all(MAGIC).map_err(io)?;
        f.write_all(self.card.store().image()).map_err(io)?;
        f.sync_data().map_err(io)?;
        fs::rename(&tmp, &self.path).map_err(io)?;
        // Make the rename itself durable.
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            File::open(dir).and_then(|d| d.sync_all()).map_err(io)?;
        }
        Ok(())
    }
}

/// Takes the exclusive lock on `PATH.lock` without waiting.
fn lock(path: &Path) -> Result<File, SimError> {
    let display = || path.display().to_string();
    let mut lock_path = path.as_os_str().to_owned();
    lock_path.push(".lock");
    let f = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|source| SimError::Io {
            path: display(),
            source,
        })?;
    match f.try_lock() {
        Ok(()) => Ok(f),
        Err(std::fs::TryLockError::WouldBlock) => Err(SimError::Locked(display())),
        Err(std::fs::TryLockError::Error(source)) => Err(SimError::Io {
            path: display(),
            source,
        }),
    }
}
