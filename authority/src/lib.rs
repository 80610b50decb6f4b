//! The certmeter authority: the trusted third party of Figure 2 (remote
//! facility 222). It certifies meter keys (Figure 1 certificates),
//! personalizes blank cards, provides value (signed loads, confirmed by the
//! card's signed receipts) and keeps the records in SQLite.
//!
//! An authority lives in a directory: `authority.db` (the records) and
//! `authority.key` (its P-256 signing key, hex, mode 0600). Money is in
//! integer minor units throughout.
#![deny(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

pub mod certificate;
pub mod channel;
pub mod credit;
pub mod db;
pub mod enrollment;
pub mod indicium;
pub mod inspection;
pub mod install;
pub mod key_update;
pub mod keys;
pub mod personalization;
pub mod rates;
pub mod recharge;
pub mod revocation;
pub mod service;
pub mod sync;
pub mod unblock;
pub mod value;

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use apdu::meter::Service;
use p256::ecdsa::SigningKey;
use rusqlite::Connection;

pub use authority_api::{AuditAnswer, AuthorityService, Inspection, Personalization, ServiceError};
pub use personalization::{MeterRecord, MeterSummary, PersonalizationRequest};
pub use value::LoadRecord;

/// Days of service after a contact before the card warns (default policy).
pub const DEFAULT_SERVICE_DAYS: u32 = 90;
/// Days of grace after that before the card refuses debits (default policy).
pub const DEFAULT_GRACE_DAYS: u32 = 30;
/// Charged operations between two contacts (default policy).
pub const DEFAULT_MAX_DEBITS: u32 = 10_000;
/// The default policy.
pub const DEFAULT_POLICY: apdu::message::ServicePolicy = apdu::message::ServicePolicy {
    service_days: DEFAULT_SERVICE_DAYS,
    grace_days: DEFAULT_GRACE_DAYS,
    max_debits: DEFAULT_MAX_DEBITS,
};
/// How long a contact keeps the meter in service under the default
/// policy: service and grace days (120). Every contact message carries the
/// policy and a service deadline of the authority's time plus the policy's
/// service and grace days (the certificate's expiry at the latest).
pub const SERVICE_INTERVAL: u64 =
    (DEFAULT_SERVICE_DAYS as u64 + DEFAULT_GRACE_DAYS as u64) * 24 * 3600;
/// Validity of a meter certificate (5 years of 365 days).
pub const CERTIFICATE_VALIDITY: u64 = 5 * 365 * 24 * 3600;
/// The database file inside an authority directory.
pub const DB_FILE: &str = "authority.db";
/// The signing key file inside an authority directory.
pub const KEY_FILE: &str = "authority.key";
/// The issuer root key file inside an authority directory (mode 0600): the
/// key pinned into cards at manufacture, which certifies the operational
/// key. Kept apart from it: it signs only at `init`, at a key rollover and
/// when a card is manufactured; it can be moved offline in between.
pub const ROOT_KEY_FILE: &str = "issuer-root.key";
/// Validity of the authority certificate (the operational key certified by
/// the issuer root): 10 years of 365 days.
pub const AUTHORITY_KEY_VALIDITY: u64 = 10 * 365 * 24 * 3600;
/// Validity of a card's attestation certificate: 20 years of 365 days.
pub const ATTESTATION_VALIDITY: u64 = 20 * 365 * 24 * 3600;
/// Longest authority name, in bytes.
pub const NAME_MAX_LEN: usize = 64;
/// Default rates, minor units.
pub const DEFAULT_RATES: [(Service, u64); 7] = [
    (Service::Postmark, 25),
    (Service::Verify, 10),
    (Service::IssueCertificate, 150),
    (Service::InstallCertificate, 500),
    (Service::Revoke, 100),
    (Service::Indicium, 55),
    (Service::Payment, 20),
];

/// Why an authority operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AuthorityError {
    /// `init` found an authority already there.
    #[error("an authority already exists at {}", .0.display())]
    AlreadyExists(PathBuf),
    /// `open` found no authority.
    #[error("no authority at {}; create one with `meter authority init`", .0.display())]
    NotFound(PathBuf),
    /// The database failed or holds unexpected data.
    #[error("authority database: {0}")]
    Database(String),
    /// No meter with this serial.
    #[error("unknown meter {0}")]
    UnknownMeter(String),
    /// A meter with this serial is already personalized.
    #[error("meter serial {0} is already in use")]
    DuplicateSerial(String),
    /// A card with this chip id (hex) is already personalized.
    #[error("chip {0} is already personalized")]
    DuplicateChip(String),
    /// This card was certified but has not finished personalization.
    #[error(
        "this card (chip {chip}) was certified as meter {serial} but has not finished personalization: run personalize again with --serial {serial}"
    )]
    PendingPersonalization {
        /// The chip id, hex.
        chip: String,
        /// The serial it was certified as.
        serial: String,
    },
    /// A load receipt is not acceptable.
    #[error("load receipt refused: {0}")]
    BadReceipt(&'static str),
    /// The meter is flagged: a receipt of its did not reconcile with the
    /// authority's records. No further load is issued to it.
    #[error(
        "meter {serial} is flagged by the authority ({reason}); it gets no further loads: see `meter authority meters`"
    )]
    Flagged {
        /// The meter serial.
        serial: String,
        /// Why it was flagged.
        reason: String,
    },
    /// The request is not acceptable (the reason says why).
    #[error("{0}")]
    InvalidRequest(String),
    /// Figure 8, 806: the creditor refused the line of credit (the reason
    /// says why); the refusal is recorded.
    #[error("credit refused: {0}")]
    CreditRefused(String),
    /// Figure 9: the payment certificate was settled before (a second
    /// presentation); nothing is paid.
    #[error("{0}")]
    AlreadySettled(String),
    /// The meter key is not attested by a card of this issuer for this chip.
    #[error("the meter key is not attested by the card: {0}")]
    Unattested(&'static str),
    /// The key file does not hold this authority's key.
    #[error("key file {path}: {1}", path = .0.display())]
    BadKeyFile(PathBuf, &'static str),
    /// The key file can be read or written by group or others.
    #[error(
        "key file {path} is accessible by group or others (mode {mode:03o}); restrict it with `chmod 600 {path}`",
        path = .0.display(),
        mode = .1
    )]
    KeyFileMode(PathBuf, u32),
    /// The operating system has no random number source.
    #[error("no random number source: {0}")]
    Entropy(String),
    /// Reading or writing a file failed.
    #[error("{path}: {1}", path = .0.display())]
    Io(PathBuf, #[source] std::io::Error),
}

impl From<rusqlite::Error> for AuthorityError {
    fn from(e: rusqlite::Error) -> Self {
        AuthorityError::Database(e.to_string())
    }
}

/// The authority: its records, its signing key and its clock.
pub struct Authority {
    conn: Connection,
    key: SigningKey,
    /// The issuer root's private key, when its file is present.
    root: Option<SigningKey>,
    /// The issuer root public key.
    root_public: [u8; 65],
    /// The operational key's certificate by the issuer root (`7F21`).
    authority_certificate: Vec<u8>,
    name: String,
    rates: Vec<(Service, u64)>,
    clock: Option<u64>,
    /// Attestation nonces issued and not yet used, by chip id.
    nonces: std::collections::HashMap<[u8; 8], [u8; 16]>,
    /// Nonces issued by this instance (an input to the next one).
    nonce_count: u64,
    /// The usage bits of the meter certificates this instance issues.
    meter_usage: u8,
    /// The card-authority channels open here, and channel key nonces.
    channels: channel::Channels,
    /// The operational key the last rollover replaced, and its
    /// certificate: it signs only key updates for cards that still hold it.
    previous: Option<(SigningKey, Vec<u8>)>,
    /// The creditor's key (Figures 7A, 8, 9; [`credit`]), when present.
    creditor: Option<SigningKey>,
}

impl fmt::Debug for Authority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authority")
            .field("name", &self.name)
            .field("public_key", &hex::encode(self.public_key()))
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

impl Authority {
    /// Creates a new authority in `dir` (created if needed): `authority.db`
    /// and a fresh signing key in `authority.key` (mode 0600, 32 bytes in
    /// hex). Refuses if either file exists.
    pub fn init(dir: &Path, name: &str) -> Result<Self, AuthorityError> {
        check_name(name)?;
        let (db_path, key_path) = (dir.join(DB_FILE), dir.join(KEY_FILE));
        if db_path.exists() || key_path.exists() {
            return Err(AuthorityError::AlreadyExists(dir.to_path_buf()));
        }
        std::fs::create_dir_all(dir).map_err(|e| AuthorityError::Io(dir.to_path_buf(), e))?;
        let key = keys::generate()?;
        let root = keys::generate()?;
        let root_path = dir.join(ROOT_KEY_FILE);
        // Claim the files exclusively, so two concurrent inits cannot share them.
        db::create_file(&db_path).map_err(|e| exists_or_io(dir, &db_path, e))?;
        let written = keys::write_key_file(&key_path, &key).and_then(|()| {
            keys::write_key_file(&root_path, &root).inspect_err(|_| {
                let _ = std::fs::remove_file(&key_path);
            })
        });
        if let Err(e) = written {
            let _ = std::fs::remove_file(&db_path);
            return Err(match e {
                AuthorityError::Io(p, e) => exists_or_io(dir, &p, e),
                e => e,
            });
        }
        let created = db::open_file(&db_path)
            .and_then(|conn| Self::setup(conn, key, root, name, now_or_zero()))
            .and_then(|mut a| {
                a.creditor = Some(credit::load_or_create_key(dir)?);
                Ok(a)
            });
        if created.is_err() {
            let _ = std::fs::remove_file(&db_path);
            let _ = std::fs::remove_file(&key_path);
            let _ = std::fs::remove_file(&root_path);
        }
        created
    }

    /// Opens the authority in `dir`, upgrading its database schema if needed.
    pub fn open(dir: &Path) -> Result<Self, AuthorityError> {
        let (db_path, key_path) = (dir.join(DB_FILE), dir.join(KEY_FILE));
        if !db_path.is_file() {
            return Err(AuthorityError::NotFound(dir.to_path_buf()));
        }
        // The key first: a key file others can read is refused before
        // anything is written.
        let mut key = keys::read_key_file(&key_path)?;
        let mut conn = db::open_file(&db_path)?;
        db::migrate(&mut conn)?;
        let stored: Option<String> = db::setting(&conn, db::PUBLIC_KEY)?;
        let matches = |k: &SigningKey| {
            stored.as_deref() == Some(hex::encode(keys::encode_public(k.verifying_key())).as_str())
        };
        // A rollover cut after its database step: finish its last one.
        let next_path = dir.join(key_update::NEXT_KEY_FILE);
        if !matches(&key) && next_path.exists() && matches(&keys::read_key_file(&next_path)?) {
            key_update::finish_rollover(dir)?;
            key = keys::read_key_file(&key_path)?;
        }
        if !matches(&key) {
            return Err(AuthorityError::BadKeyFile(
                key_path,
                "not the key of the authority in authority.db",
            ));
        }
        let root_path = dir.join(ROOT_KEY_FILE);
        let stored_root: Option<String> = db::setting(&conn, db::ROOT_PUBLIC_KEY)?;
        let root = match stored_root {
            // An authority made before issuer roots: it gets one now, once.
            None => {
                let root = keys::generate()?;
                keys::write_key_file(&root_path, &root)?;
                Self::certify_operational_key(&conn, &key, &root, now_or_zero())?;
                Some(root)
            }
            Some(public) => {
                if !root_path.exists() {
                    None
                } else {
                    let root = keys::read_key_file(&root_path)?;
                    if public != hex::encode(keys::encode_public(root.verifying_key())) {
                        return Err(AuthorityError::BadKeyFile(
                            root_path,
                            "not the issuer root of the authority in authority.db",
                        ));
                    }
                    Some(root)
                }
            }
        };
        let mut authority = Self::load(conn, key, root)?;
        authority.previous = authority.load_previous(dir)?;
        authority.creditor = Some(credit::load_or_create_key(dir)?);
        Ok(authority)
    }

    /// The key the last rollover replaced, when its file is there and is
    /// the one the database names.
    fn load_previous(&self, dir: &Path) -> Result<Option<(SigningKey, Vec<u8>)>, AuthorityError> {
        let public: Option<String> = db::setting(&self.conn, db::PREVIOUS_PUBLIC_KEY)?;
        let certificate: Option<String> = db::setting(&self.conn, db::PREVIOUS_CERTIFICATE)?;
        let (Some(public), Some(certificate)) = (public, certificate) else {
            return Ok(None);
        };
        let path = dir.join(key_update::PREVIOUS_KEY_FILE);
        if !path.exists() {
            return Ok(None);
        }
        let key = keys::read_key_file(&path)?;
        if public != hex::encode(keys::encode_public(key.verifying_key())) {
            return Err(AuthorityError::BadKeyFile(
                path,
                "not the previous key of the authority in authority.db",
            ));
        }
        let certificate = hex::decode(certificate)
            .map_err(|_| AuthorityError::Database("the previous certificate is not hex".into()))?;
        Ok(Some((key, certificate)))
    }

    /// Stores the issuer root's public key and a fresh certificate of the
    /// operational `key` by `root` (usage AUTHORITY, effective now, valid
    /// [`AUTHORITY_KEY_VALIDITY`]).
    fn certify_operational_key(
        conn: &Connection,
        key: &SigningKey,
        root: &SigningKey,
        now: u64,
    ) -> Result<(), AuthorityError> {
        let name: String = db::setting(conn, db::NAME)?
            .ok_or_else(|| AuthorityError::Database("the authority name is missing".into()))?;
        let cert = certificate::build(
            root,
            &certificate::Fields {
                issuer: &name,
                holder: &name,
                serial: 0,
                public_key: &keys::encode_public(key.verifying_key()),
                usage: apdu::cert::usage::AUTHORITY,
                effective: now.saturating_sub(24 * 3600),
                expiry: now.saturating_add(AUTHORITY_KEY_VALIDITY),
            },
        )?;
        db::set_setting(
            conn,
            db::ROOT_PUBLIC_KEY,
            hex::encode(keys::encode_public(root.verifying_key())),
        )?;
        db::set_setting(conn, db::AUTHORITY_CERTIFICATE, hex::encode(cert))?;
        Ok(())
    }

    /// The public key of the authority in `dir`, read without opening it
    /// for writing: the database is opened read-only (no migration, no
    /// journal, nothing created or changed in `dir`) and the private key
    /// file is not read. What an off-card verifier needs.
    pub fn read_public_key(dir: &Path) -> Result<[u8; 65], AuthorityError> {
        let db_path = dir.join(DB_FILE);
        if !db_path.is_file() {
            return Err(AuthorityError::NotFound(dir.to_path_buf()));
        }
        let conn = db::open_read_only(&db_path)?;
        if db::version(&conn)? == 0 {
            return Err(AuthorityError::NotFound(dir.to_path_buf()));
        }
        let stored: Option<String> = db::setting(&conn, db::PUBLIC_KEY)?;
        stored
            .and_then(|k| hex::decode(k).ok())
            .and_then(|k| <[u8; 65]>::try_from(k).ok())
            .ok_or_else(|| AuthorityError::Database("the authority public key is missing".into()))
    }

    /// The authority's public keys for verifiers: the current one, then the
    /// one the last rollover replaced (its certificates and postmarks
    /// verify until they expire). Reads the database only.
    pub fn read_public_keys(dir: &Path) -> Result<Vec<[u8; 65]>, AuthorityError> {
        let mut keys = vec![Self::read_public_key(dir)?];
        let conn = db::open_read_only(&dir.join(DB_FILE))?;
        let previous: Option<String> = db::setting(&conn, db::PREVIOUS_PUBLIC_KEY)?;
        if let Some(k) = previous
            .and_then(|k| hex::decode(k).ok())
            .and_then(|k| <[u8; 65]>::try_from(k).ok())
        {
            keys.push(k);
        }
        Ok(keys)
    }

    /// An authority in memory with a key derived from `seed` and a clock
    /// fixed at `time`: the same inputs give byte-identical messages (test
    /// vectors).
    pub fn deterministic(name: &str, seed: u64, time: u64) -> Result<Self, AuthorityError> {
        check_name(name)?;
        let conn = Connection::open_in_memory()?;
        db::configure(&conn)?;
        let mut a = Self::setup(
            conn,
            keys::from_seed(seed),
            keys::root_from_seed(seed),
            name,
            time,
        )?;
        a.clock = Some(time);
        a.creditor = Some(credit::key_from_seed(seed));
        Ok(a)
    }

    /// Fixes the clock at `time` (Unix seconds); `None` uses the system clock.
    pub fn set_clock(&mut self, time: Option<u64>) {
        self.clock = time;
    }

    /// The authority's time, Unix seconds.
    pub fn now(&self) -> u64 {
        self.clock.unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0)
        })
    }

    /// The issuer name written into certificates (tag 42).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The authority public key, uncompressed SEC1.
    pub fn public_key(&self) -> [u8; 65] {
        keys::encode_public(self.key.verifying_key())
    }

    /// The issuer root public key, uncompressed SEC1: what `meter card new`
    /// pins into the cards made for this authority.
    pub fn issuer_root(&self) -> [u8; 65] {
        self.root_public
    }

    /// The operational key's certificate by the issuer root (`7F21`).
    pub fn authority_certificate(&self) -> &[u8] {
        &self.authority_certificate
    }

    /// As the card manufacturer: certifies the attestation key a new card
    /// generated (uncompressed SEC1), bound to its chip id: a `7F21` by
    /// the issuer root, holder the chip id in 16 lower-case hex digits,
    /// usage ATTESTATION, valid [`ATTESTATION_VALIDITY`] from now. Needs
    /// the issuer root key file.
    pub fn certify_attestation(
        &self,
        chip_id: &[u8; 8],
        attestation_key: &[u8; 65],
    ) -> Result<Vec<u8>, AuthorityError> {
        if apdu::crypto::public_key(attestation_key).is_none() {
            return Err(AuthorityError::InvalidRequest(
                "the attestation key is not an uncompressed P-256 point".into(),
            ));
        }
        let now = self.now();
        certificate::build(
            self.root_key()?,
            &certificate::Fields {
                issuer: &self.name,
                holder: &hex::encode(chip_id),
                serial: 0,
                public_key: attestation_key,
                usage: apdu::cert::usage::ATTESTATION,
                effective: now.saturating_sub(24 * 3600),
                expiry: now.saturating_add(ATTESTATION_VALIDITY),
            },
        )
    }

    /// A fresh nonce for chip `chip_id`'s attestation (ATTEST), replacing
    /// any earlier one for that chip; [`Authority::personalize`] consumes
    /// it. Derived from the operational private key, the chip id, the
    /// clock and a counter: unpredictable without the key, reproducible for
    /// a deterministic authority.
    pub fn attestation_nonce(&mut self, chip_id: &[u8; 8]) -> [u8; 16] {
        self.nonce_count = self.nonce_count.wrapping_add(1);
        let mut input = b"certmeter attestation nonce".to_vec();
        input.extend_from_slice(&self.key.to_bytes());
        input.extend_from_slice(chip_id);
        input.extend_from_slice(&self.now().to_be_bytes());
        input.extend_from_slice(&self.nonce_count.to_be_bytes());
        let mut nonce = [0u8; 16];
        let digest = apdu::crypto::sha256(&input);
        if let Some(d) = digest.get(..16) {
            nonce.copy_from_slice(d);
        }
        self.nonces.insert(*chip_id, nonce);
        nonce
    }

    /// The issuer root's private key, if its file is here.
    pub(crate) fn root_key(&self) -> Result<&SigningKey, AuthorityError> {
        self.root.as_ref().ok_or_else(|| {
            AuthorityError::InvalidRequest(format!(
                "the issuer root key ({ROOT_KEY_FILE}) is not in the authority directory"
            ))
        })
    }

    /// The service policy every contact message carries.
    pub fn policy(&self) -> Result<apdu::message::ServicePolicy, AuthorityError> {
        let get = |key: &str, default: u32| -> Result<u32, AuthorityError> {
            match db::setting::<i64>(&self.conn, key)? {
                Some(v) => u32::try_from(v)
                    .map_err(|_| AuthorityError::Database(format!("{key} {v} out of range"))),
                None => Ok(default),
            }
        };
        Ok(apdu::message::ServicePolicy {
            service_days: get(db::SERVICE_DAYS, DEFAULT_SERVICE_DAYS)?,
            grace_days: get(db::GRACE_DAYS, DEFAULT_GRACE_DAYS)?,
            max_debits: get(db::MAX_DEBITS, DEFAULT_MAX_DEBITS)?,
        })
    }

    /// Sets the service policy for the contacts from now on (0 service days:
    /// no time limit; 0 max debits: no count limit).
    pub fn set_policy(&mut self, p: apdu::message::ServicePolicy) -> Result<(), AuthorityError> {
        let tx = db::begin(&mut self.conn)?;
        db::set_setting(&tx, db::SERVICE_DAYS, i64::from(p.service_days))?;
        db::set_setting(&tx, db::GRACE_DAYS, i64::from(p.grace_days))?;
        db::set_setting(&tx, db::MAX_DEBITS, i64::from(p.max_debits))?;
        tx.commit()?;
        Ok(())
    }

    /// The service deadline of a contact at `now` under `p`: service and
    /// grace days later (no time limit: none before `u64::MAX`; callers cap
    /// it at the certificate's expiry).
    pub fn service_deadline(now: u64, p: &apdu::message::ServicePolicy) -> u64 {
        if p.service_days == 0 {
            return u64::MAX;
        }
        let days = u64::from(p.service_days) + u64::from(p.grace_days);
        now.saturating_add(days.saturating_mul(24 * 3600))
    }

    /// The rate table installed into meters, in [`Service::ALL`] order.
    pub fn rates(&self) -> Vec<(Service, u64)> {
        self.rates.clone()
    }

    /// The fee for `service` in the rate table, minor units.
    pub fn rate(&self, service: Service) -> Option<u64> {
        self.rates
            .iter()
            .find(|(s, _)| *s == service)
            .map(|&(_, fee)| fee)
    }

    /// Sets the fee for `service` (minor units): a new version of the rate
    /// table ([`Authority::rate_version`]), installed by personalization
    /// from now on and sent to personalized meters at their next contact
    /// ([`Authority::rate_update`]). Returns the new version.
    pub fn set_rate(&mut self, service: Service, fee: u64) -> Result<u32, AuthorityError> {
        let value = db::to_int(fee, "fee")?;
        let mut rates = self.rates.clone();
        if let Some(entry) = rates.iter_mut().find(|(s, _)| *s == service) {
            entry.1 = fee;
        }
        let now = db::to_int(self.now(), "time")?;
        let tx = db::begin(&mut self.conn)?;
        db::set_setting(&tx, &db::rate_key(service), value)?;
        let version = rates::record_version(&tx, &rates, now)?;
        tx.commit()?;
        self.rates = rates;
        Ok(version)
    }

    /// Migrates a fresh database and stores the authority's settings, the
    /// issuer root and the operational key's certificate (made at `now`).
    fn setup(
        mut conn: Connection,
        key: SigningKey,
        root: SigningKey,
        name: &str,
        now: u64,
    ) -> Result<Self, AuthorityError> {
        db::migrate(&mut conn)?;
        let tx = db::begin(&mut conn)?;
        db::set_setting(&tx, db::NAME, name)?;
        db::set_setting(
            &tx,
            db::PUBLIC_KEY,
            hex::encode(keys::encode_public(key.verifying_key())),
        )?;
        db::set_setting(&tx, db::NEXT_CERTIFICATE_SERIAL, 1i64)?;
        for (service, fee) in DEFAULT_RATES {
            db::set_setting(&tx, &db::rate_key(service), db::to_int(fee, "fee")?)?;
        }
        Self::certify_operational_key(&tx, &key, &root, now)?;
        tx.commit()?;
        Self::load(conn, key, Some(root))
    }

    /// Reads the cached settings.
    fn load(
        conn: Connection,
        key: SigningKey,
        root: Option<SigningKey>,
    ) -> Result<Self, AuthorityError> {
        let root_public = db::setting::<String>(&conn, db::ROOT_PUBLIC_KEY)?
            .and_then(|k| hex::decode(k).ok())
            .and_then(|k| <[u8; 65]>::try_from(k).ok())
            .ok_or_else(|| AuthorityError::Database("the issuer root is missing".into()))?;
        let authority_certificate = db::setting::<String>(&conn, db::AUTHORITY_CERTIFICATE)?
            .and_then(|c| hex::decode(c).ok())
            .ok_or_else(|| {
                AuthorityError::Database("the authority certificate is missing".into())
            })?;
        let name: String = db::setting(&conn, db::NAME)?
            .ok_or_else(|| AuthorityError::Database("the authority name is missing".into()))?;
        let mut rates = Vec::with_capacity(Service::ALL.len());
        for (service, default) in DEFAULT_RATES {
            let fee = match db::setting::<i64>(&conn, &db::rate_key(service))? {
                Some(v) => db::from_int(v)?,
                None => default,
            };
            rates.push((service, fee));
        }
        Ok(Authority {
            conn,
            key,
            root,
            root_public,
            authority_certificate,
            name,
            rates,
            clock: None,
            nonces: std::collections::HashMap::new(),
            nonce_count: 0,
            meter_usage: personalization::METER_USAGE,
            channels: channel::Channels::default(),
            previous: None,
            creditor: None,
        })
    }
}

fn now_or_zero() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn check_name(name: &str) -> Result<(), AuthorityError> {
    if name.is_empty() || name.len() > NAME_MAX_LEN || name.chars().any(char::is_control) {
        return Err(AuthorityError::InvalidRequest(format!(
            "the authority name must be 1 to {NAME_MAX_LEN} bytes without control characters"
        )));
    }
    Ok(())
}

fn exists_or_io(dir: &Path, path: &Path, e: std::io::Error) -> AuthorityError {
    if e.kind() == std::io::ErrorKind::AlreadyExists {
        AuthorityError::AlreadyExists(dir.to_path_buf())
    } else {
        AuthorityError::Io(path.to_path_buf(), e)
    }
}
