//! Where the CLI writes a paid-for object (a postmark, later indicia and
//! certificates).
//!
//! `-` (and `/dev/stdout`) is standard output. A regular file is written
//! atomically: a temporary file created exclusively (random name, `O_EXCL`)
//! beside it, then a rename over the path, so a reader never sees half a
//! postmark and a link planted at the path meanwhile is replaced, never
//! followed. A path that is a symbolic link is refused: the CLI never
//! writes through a link. Anything else that already exists (`/dev/null`,
//! a FIFO, a terminal), and any path under `/dev` or `/proc`
//! (`/dev/stdout` may lead to a regular file through `/proc/self/fd`), is
//! opened and written in place (with `O_NOFOLLOW` outside `/dev` and
//! `/proc`): renaming over it would replace a device, a pipe or the
//! caller's redirection.
//!
//! An output onto a [`Guard`]ed file is refused before the card is asked
//! for anything: the simulated card's state file (and its `.lock` and
//! `.tmp`), and any file in the authority's directory, by name (after
//! resolving the directories) and by identity (device and inode, so a hard
//! link or `/dev/fd/N` is caught too).

use std::fs::{File, Metadata, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Files and directories no output may land on.
#[derive(Clone, Debug, Default)]
pub struct Guard {
    /// (path, what it is, for the message).
    files: Vec<(PathBuf, String)>,
    /// (directory, what it is).
    dirs: Vec<(PathBuf, String)>,
}

impl Guard {
    /// Guards a simulated card's state file, with its `.lock` and `.tmp`.
    pub fn card(mut self, state: &Path) -> Self {
        let what = format!("the simulated card's state file {}", state.display());
        self.files.push((state.to_path_buf(), what.clone()));
        for suffix in [".lock", ".tmp"] {
            let mut p = state.as_os_str().to_owned();
            p.push(suffix);
            self.files
                .push((PathBuf::from(p), format!("{what} ({suffix} file)")));
        }
        self
    }

    /// Guards every file in the authority's directory.
    pub fn authority(mut self, dir: &Path) -> Self {
        self.dirs.push((
            dir.to_path_buf(),
            format!("in the authority's directory {}", dir.display()),
        ));
        self
    }

    /// Refuses `path` (whose metadata, if it exists, is `meta`) when it is a
    /// guarded file or lies in a guarded directory.
    fn check(&self, path: &Path, meta: Option<&Metadata>) -> io::Result<()> {
        let refuse = |what: &str| {
            Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!("refusing to write there: it is {what}"),
            ))
        };
        let resolved = resolve(path);
        for (file, what) in &self.files {
            if resolved.is_some() && resolved == resolve(file) {
                return refuse(what);
            }
            if let (Some(m), Ok(g)) = (meta, std::fs::metadata(file))
                && same_file(m, &g)
            {
                return refuse(what);
            }
        }
        for (dir, what) in &self.dirs {
            if let (Some(r), Ok(d)) = (&resolved, std::fs::canonicalize(dir))
                && r.starts_with(&d)
            {
                return refuse(what);
            }
        }
        Ok(())
    }
}

/// `path` with its directory resolved (links, `..`) and its last component
/// as given: where a file created at `path` would be.
fn resolve(path: &Path) -> Option<PathBuf> {
    let name = path.file_name()?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    Some(std::fs::canonicalize(dir).ok()?.join(name))
}

#[cfg(unix)]
fn same_file(a: &Metadata, b: &Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    (a.dev(), a.ino()) == (b.dev(), b.ino())
}

#[cfg(not(unix))]
fn same_file(_: &Metadata, _: &Metadata) -> bool {
    false
}

/// An output opened before the card charges anything, so a paid object is
/// never lost to an unwritable path.
pub enum Sink {
    /// A new or regular file: written to a temporary file, renamed on finish.
    Atomic {
        temp: tempfile::NamedTempFile,
        target: PathBuf,
    },
    /// An existing special file, written in place.
    InPlace(File),
    /// Standard output (`-`).
    Stdout,
}

impl Sink {
    /// Opens `path` for writing without touching what is there yet;
    /// refuses a symbolic link and anything `guard` protects.
    pub fn open(path: &Path, guard: &Guard) -> io::Result<Self> {
        Self::open_with(path, guard, false)
    }

    /// [`Sink::open`] for a secret (a private key): a regular file is
    /// written with mode 0600, whatever the mode of a file it replaces.
    pub fn open_private(path: &Path, guard: &Guard) -> io::Result<Self> {
        Self::open_with(path, guard, true)
    }

    fn open_with(path: &Path, guard: &Guard, private: bool) -> io::Result<Self> {
        // Opened again, /dev/stdout would write at its own offset, over what
        // the process prints on its standard output.
        if path == Path::new("-") || path == Path::new("/dev/stdout") {
            return Ok(Sink::Stdout);
        }
        let system = path.starts_with("/dev") || path.starts_with("/proc");
        if system {
            // Devices and descriptors: followed, but what they lead to is
            // checked once open.
            let file = OpenOptions::new().write(true).open(path)?;
            guard.check(path, Some(&file.metadata()?))?;
            return Ok(Sink::InPlace(file));
        }
        match std::fs::symlink_metadata(path) {
            Ok(m) if m.file_type().is_symlink() => Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                "it is a symbolic link: refusing to write through it (remove it, or name the file it points to)",
            )),
            Ok(m) if m.is_dir() => Err(io::Error::new(
                io::ErrorKind::IsADirectory,
                "is a directory",
            )),
            Ok(m) if m.is_file() => {
                guard.check(path, Some(&m))?;
                Self::atomic(path.to_path_buf(), Some(&m), private)
            }
            Ok(_) => {
                let file = no_follow().open(path)?;
                guard.check(path, Some(&file.metadata()?))?;
                Ok(Sink::InPlace(file))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                guard.check(path, None)?;
                Self::atomic(path.to_path_buf(), None, private)
            }
            Err(e) => Err(e),
        }
    }

    /// Whether the object goes to standard output, so reports must not.
    pub fn is_stdout(&self) -> bool {
        matches!(self, Sink::Stdout)
    }

    fn atomic(target: PathBuf, existing: Option<&Metadata>, private: bool) -> io::Result<Self> {
        let dir = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let mut builder = tempfile::Builder::new();
        // A postmark is meant to be handed on: the mode a new file gets
        // (0666 less the umask), or the mode of the file it replaces.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            // A secret: 0600, never the mode of what it replaces.
            let mode = match existing {
                _ if private => 0o600,
                Some(m) => m.permissions().mode(),
                None => 0o666,
            };
            builder.permissions(std::fs::Permissions::from_mode(mode & 0o7777));
        }
        #[cfg(not(unix))]
        let _ = (existing, private);
        let temp = builder.tempfile_in(dir)?;
        Ok(Sink::Atomic { temp, target })
    }

    /// Writes `bytes` and makes them visible at the path.
    pub fn finish(self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Sink::Atomic { mut temp, target } => {
                temp.write_all(bytes)?;
                temp.as_file().sync_all()?;
                // rename(2) replaces the path itself: a link planted there
                // since `open` is replaced, not followed.
                temp.persist(&target).map_err(|e| e.error)?;
                Ok(())
            }
            Sink::InPlace(mut file) => {
                file.write_all(bytes)?;
                file.flush()
            }
            Sink::Stdout => {
                let mut out = io::stdout().lock();
                out.write_all(bytes)?;
                out.flush()
            }
        }
    }
}

/// Write access that does not follow a link in the last component.
fn no_follow() -> OpenOptions {
    let mut o = OpenOptions::new();
    o.write(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut o, libc::O_NOFOLLOW);
    o
}
