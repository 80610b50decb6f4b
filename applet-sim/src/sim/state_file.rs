//! A simulated card kept in a file, like a real card keeps its EEPROM: the
//! persistent image is saved atomically after every command that wrote to
//! it, and a lock file held for the lifetime of the [`StateFile`] keeps
//! other processes away.
//!
//! Format (written): an 8-byte header `CMSIMiNN`, NN the persistent layout
//! version of the image (two digits, today `CMSIMi03`), then the
//! [`PERSISTENT_CAPACITY`]-byte image, then a 32-byte integrity tag, the
//! SHA-256 of the header and the image. A flipped byte anywhere, a file cut
//! short or extended is refused ([`SimError::Damaged`]) and never read. The
//! tag is a checksum against accidents, not a MAC: whoever can write the
//! file can recompute it (docs/security.md).
//!
//! Older files, read: `CMSIMvNN` (NN = 01 or 02), the header and the image
//! without a tag. They are accepted as they are (they have nothing to
//! check) and get the tag at their next save, the first command that
//! writes; a `CMSIMv01` card is migrated by the card at power-up
//! ([`crate::migrate`]) and so saved at once. A newer header or image
//! version is refused ([`SimError::UnknownLayout`]) and the file left
//! untouched; a header that contradicts its image is refused too.
//!
//! The file holds the meter's private key and PIN: it is made with mode
//! 0600, and one that other users can read or write is refused
//! ([`SimError::TooOpen`]), as ssh refuses a private key. A symbolic link
//! at the path (or at `PATH.lock`) is refused, never followed
//! ([`SimError::Symlink`]). Saving writes a new, randomly named file
//! (`PATH.XXXXXX.tmp`, created exclusively, mode 0600) in the same
//! directory, syncs it, renames it over `PATH` and syncs the directory.

use std::fs::{self, File, Metadata, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::{Card, SimConfig, SimError};
use crate::budget::PERSISTENT_CAPACITY;
use crate::layout::{self, Stored};
use crate::store::Store;

/// What every header starts with.
const MAGIC_PREFIX: &[u8; 5] = b"CMSIM";
/// The header of the format written today: `CMSIMi` and two digits, the
/// layout version of the image; an integrity tag follows the image.
const TAGGED: &[u8; 6] = b"CMSIMi";
/// The header of the older format, read only: `CMSIMv` and two digits;
/// no integrity tag.
const UNTAGGED: &[u8; 6] = b"CMSIMv";
/// The header's length.
const HEADER_LEN: usize = 8;
/// The integrity tag's length (SHA-256).
const TAG_LEN: usize = 32;
/// A file of the current format: header, image, tag.
const TAGGED_LEN: usize = HEADER_LEN + PERSISTENT_CAPACITY + TAG_LEN;
/// A file of the older format: header, image.
const UNTAGGED_LEN: usize = HEADER_LEN + PERSISTENT_CAPACITY;
/// Group and other permission bits: none may be set on a state file.
const OTHERS: u32 = 0o077;

/// The two header formats.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Format {
    /// `CMSIMiNN`: an integrity tag follows the image (written today).
    Tagged,
    /// `CMSIMvNN`: no integrity tag (read only).
    Untagged,
}

/// The format and layout version a state-file header names, if it is one.
fn parse_header(magic: &[u8]) -> Option<(Format, u8)> {
    let (format, digits) = if let Some(d) = magic.strip_prefix(TAGGED.as_slice()) {
        (Format::Tagged, d)
    } else {
        (Format::Untagged, magic.strip_prefix(UNTAGGED.as_slice())?)
    };
    match digits {
        [a @ b'0'..=b'9', b @ b'0'..=b'9'] => Some((format, (a - b'0') * 10 + (b - b'0'))),
        _ => None,
    }
}

/// The integrity tag of a state file's header and image.
fn tag(header_and_image: &[u8]) -> [u8; TAG_LEN] {
    Sha256::digest(header_and_image).into()
}

/// The whole state file of `image`, in the current format.
fn encode(image: &[u8; PERSISTENT_CAPACITY]) -> Vec<u8> {
    let mut file = Vec::with_capacity(TAGGED_LEN);
    file.extend_from_slice(TAGGED);
    file.push(b'0' + layout::VERSION / 10);
    file.push(b'0' + layout::VERSION % 10);
    file.extend_from_slice(image);
    let t = tag(&file);
    file.extend_from_slice(&t);
    file
}

/// Recomputes the integrity tag of a state file's bytes (a `CMSIMi` file
/// of the right size; anything else is left as it is), as anyone who can
/// write the file can: for tests that alter a card on purpose, e.g. erase
/// its application memory.
pub fn reseal(file: &mut [u8]) {
    if file.len() == TAGGED_LEN && file.starts_with(TAGGED) {
        let (content, t) = file.split_at_mut(UNTAGGED_LEN);
        t.copy_from_slice(&tag(content));
    }
}

/// Checks a state file's bytes: header, size and integrity tag; returns
/// the layout version its header names and the image. `display` names the
/// file in errors.
fn decode<'a>(
    display: &dyn Fn() -> String,
    bytes: &'a [u8],
) -> Result<(u8, &'a [u8; PERSISTENT_CAPACITY]), SimError> {
    let unknown = |version| SimError::UnknownLayout {
        what: display(),
        version,
        known: layout::VERSION,
    };
    let damaged = |why| SimError::Damaged(display(), why);
    let no_header = || SimError::BadStateFile(display(), "no certmeter header");
    let size = |expected: usize| {
        if bytes.len() < expected {
            damaged("it is shorter than a card: cut short")
        } else {
            damaged("it is longer than a card: extended")
        }
    };
    if bytes.is_empty() {
        return Err(damaged("it is empty"));
    }
    // A file of the current size is checked first: a flipped byte in its
    // header is then reported as damage too, not as a foreign file.
    if bytes.len() == TAGGED_LEN {
        let (content, t) = bytes.split_at(UNTAGGED_LEN);
        if tag(content) != t {
            return Err(damaged(
                "its integrity check fails: a byte was changed since certmeter saved it",
            ));
        }
    }
    let Some(magic) = bytes.get(..HEADER_LEN) else {
        // Cut inside the header?
        return Err(
            if MAGIC_PREFIX.starts_with(bytes) || bytes.starts_with(MAGIC_PREFIX) {
                size(HEADER_LEN)
            } else {
                no_header()
            },
        );
    };
    let (format, version) = parse_header(magic)
        .filter(|&(_, v)| v >= 1)
        .ok_or_else(|| {
            if magic.starts_with(MAGIC_PREFIX) {
                damaged("its header is not one certmeter writes")
            } else {
                no_header()
            }
        })?;
    if version > layout::VERSION {
        return Err(unknown(version));
    }
    let expected = match format {
        Format::Tagged => TAGGED_LEN,
        Format::Untagged => UNTAGGED_LEN,
    };
    if bytes.len() != expected {
        return Err(size(expected));
    }
    bytes
        .get(HEADER_LEN..UNTAGGED_LEN)
        .and_then(|i| i.try_into().ok())
        .map(|image| (version, image))
        .ok_or_else(|| size(expected))
}

/// Refuses a state file that other users can read or change.
fn check_private(display: &dyn Fn() -> String, meta: &Metadata) -> Result<(), SimError> {
    let mode = meta.permissions().mode() & 0o7777;
    if mode & OTHERS != 0 {
        return Err(SimError::TooOpen {
            path: display(),
            mode,
        });
    }
    Ok(())
}

/// Opens `path` for reading without following a symbolic link.
fn open_nofollow(path: &Path, opts: &mut OpenOptions) -> Result<File, SimError> {
    opts.custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ELOOP) => SimError::Symlink(path.display().to_string()),
            _ if e.kind() == std::io::ErrorKind::NotFound => {
                SimError::NotFound(path.display().to_string())
            }
            _ => SimError::Io {
                path: path.display().to_string(),
                source: e,
            },
        })
}

/// A simulated card bound to its state file.
pub struct StateFile {
    card: Card,
    path: PathBuf,
    _lock: File,
}

impl StateFile {
    /// Manufactures a new blank card at `path`; refuses to replace an
    /// existing one unless `force` (and a symbolic link always).
    pub fn create(path: &Path, force: bool, config: SimConfig) -> Result<Self, SimError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir).map_err(|source| SimError::Io {
                path: path.display().to_string(),
                source,
            })?;
        }
        let existing = || fs::symlink_metadata(path).ok();
        match existing() {
            Some(m) if m.file_type().is_symlink() => {
                return Err(SimError::Symlink(path.display().to_string()));
            }
            Some(m) if m.is_dir() => {
                return Err(SimError::BadStateFile(
                    path.display().to_string(),
                    "a directory",
                ));
            }
            _ => {}
        }
        let lock = lock(path)?;
        if existing().is_some() && !force {
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
        let before = fs::symlink_metadata(path).map_err(io)?;
        if before.file_type().is_symlink() {
            return Err(SimError::Symlink(display()));
        }
        if before.is_dir() {
            return Err(SimError::BadStateFile(display(), "a directory"));
        }
        if !before.is_file() {
            return Err(SimError::BadStateFile(display(), "not a regular file"));
        }
        let lock = lock(path)?;
        // The file itself, never a link put in its place since.
        let file = open_nofollow(path, OpenOptions::new().read(true))?;
        let meta = file.metadata().map_err(io)?;
        if !meta.is_file() {
            return Err(SimError::BadStateFile(display(), "not a regular file"));
        }
        check_private(&display, &meta)?;
        // One byte more than a card tells a longer file, without reading
        // all of a large one.
        let mut bytes = Vec::with_capacity(TAGGED_LEN + 1);
        file.take(TAGGED_LEN as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(io)?;
        let (version, image) = decode(&display, &bytes)?;
        let unknown = |version| SimError::UnknownLayout {
            what: display(),
            version,
            known: layout::VERSION,
        };
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

    /// Writes the whole file anew: a randomly named file created
    /// exclusively (O_EXCL, mode 0600) next to the state file, synced, then
    /// renamed over it (a link at the path would be replaced, not
    /// followed), and the directory synced so that the rename lasts.
    fn save(&mut self) -> Result<(), SimError> {
        let io = |source| SimError::Io {
            path: self.path.display().to_string(),
            source,
        };
        let dir = match self.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let mut prefix = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        prefix.push('.');
        let mut tmp = tempfile::Builder::new()
            .prefix(&prefix)
            .suffix(".tmp")
            .permissions(fs::Permissions::from_mode(0o600))
            .tempfile_in(dir)
            .map_err(io)?;
        tmp.write_all(&encode(self.card.store().image()))
            .map_err(io)?;
        tmp.as_file().sync_all().map_err(io)?;
        tmp.persist(&self.path).map_err(|e| io(e.error))?;
        File::open(dir).and_then(|d| d.sync_all()).map_err(io)?;
        Ok(())
    }
}

/// Takes the exclusive lock on `PATH.lock` without waiting (a link there is
/// refused, not followed).
fn lock(path: &Path) -> Result<File, SimError> {
    let display = || path.display().to_string();
    let mut lock_path = path.as_os_str().to_owned();
    lock_path.push(".lock");
    let lock_path = PathBuf::from(lock_path);
    let f = open_nofollow(
        &lock_path,
        OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600),
    )
    .map_err(|e| match e {
        SimError::Symlink(_) => e,
        SimError::NotFound(_) => SimError::NotFound(display()),
        SimError::Io { source, .. } => SimError::Io {
            path: display(),
            source,
        },
        e => e,
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
