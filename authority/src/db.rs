//! The records: SQLite schema, migrations and settings. The schema version
//! is `PRAGMA user_version`; [`migrate`] applies the missing steps of
//! [`MIGRATIONS`] in one transaction. Money, times and serials are INTEGER
//! columns holding `u64` values that fit `i64` (converted with checks).

use std::fs::OpenOptions;
use std::path::Path;

use apdu::meter::Service;
use rusqlite::types::{FromSql, ToSql};
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use crate::AuthorityError;

/// Settings key: the authority name (TEXT).
pub const NAME: &str = "name";
/// Settings key: the authority public key, uncompressed SEC1 in hex (TEXT).
pub const PUBLIC_KEY: &str = "public_key";
/// Settings key: the issuer root public key, uncompressed SEC1 in hex
/// (TEXT). Its private key is `issuer-root.key`, apart from the
/// operational key.
pub const ROOT_PUBLIC_KEY: &str = "root_public_key";
/// Settings key: the authority certificate (hex of the `7F21`, TEXT): the
/// operational key certified by the issuer root, carried by every
/// personalization.
pub const AUTHORITY_CERTIFICATE: &str = "authority_certificate";
/// Settings key: the service policy's service days (INTEGER).
pub const SERVICE_DAYS: &str = "policy.service_days";
/// Settings key: the service policy's grace days (INTEGER).
pub const GRACE_DAYS: &str = "policy.grace_days";
/// Settings key: the service policy's charged operations between contacts
/// (INTEGER).
pub const MAX_DEBITS: &str = "policy.max_debits";
/// Settings key: the next certificate serial (INTEGER, starts at 1).
pub const NEXT_CERTIFICATE_SERIAL: &str = "next_certificate_serial";
/// Settings key: the generation of the operational key (INTEGER, 0 for
/// the key made at `init`, +1 at each key switch).
pub const KEY_GENERATION: &str = "key_generation";
/// Settings key: the certificate of the next operational key, made by a
/// rollover and not yet switched to (hex of the `7F21`, TEXT).
pub const NEXT_KEY_CERTIFICATE: &str = "next_key_certificate";
/// Settings key: the public key (hex) of the operational key the last
/// switch replaced; it still signs key updates for cards that missed it.
pub const PREVIOUS_PUBLIC_KEY: &str = "previous_public_key";
/// Settings key: the certificate (hex) of the key the last switch replaced.
pub const PREVIOUS_CERTIFICATE: &str = "previous_certificate";

/// Settings key of a service's fee (INTEGER, minor units).
pub fn rate_key(service: Service) -> String {
    format!("rate.{}", service.name())
}

/// Schema steps; step `i` takes the database from version `i` to `i + 1`.
pub const MIGRATIONS: &[&str] = &[
    // 1: settings, certificates, meters, loads.
    "CREATE TABLE settings (
        key   TEXT PRIMARY KEY,
        value ANY NOT NULL
    ) STRICT;
    CREATE TABLE certificates (
        serial            INTEGER PRIMARY KEY CHECK (serial > 0),
        holder            TEXT NOT NULL,
        issuer            TEXT NOT NULL,
        public_key        BLOB NOT NULL CHECK (length(public_key) = 65),
        usage             INTEGER NOT NULL CHECK (usage BETWEEN 0 AND 255),
        effective         INTEGER NOT NULL,
        expiry            INTEGER NOT NULL,
        bytes             BLOB NOT NULL,
        issued_at         INTEGER NOT NULL,
        revoked_at        INTEGER,
        revocation_reason TEXT
    ) STRICT;
    CREATE INDEX certificates_holder ON certificates (holder);
    CREATE TABLE meters (
        serial             TEXT PRIMARY KEY,
        chip_id            BLOB NOT NULL UNIQUE CHECK (length(chip_id) = 8),
        public_key         BLOB NOT NULL UNIQUE CHECK (length(public_key) = 65),
        certificate_serial INTEGER NOT NULL REFERENCES certificates (serial),
        personalized_at    INTEGER NOT NULL
    ) STRICT;
    CREATE TABLE loads (
        meter        TEXT NOT NULL REFERENCES meters (serial),
        number       INTEGER NOT NULL CHECK (number BETWEEN 1 AND 4294967295),
        register     INTEGER NOT NULL CHECK (register IN (1, 2)),
        amount       INTEGER NOT NULL CHECK (amount > 0),
        issued_at    INTEGER NOT NULL,
        message      BLOB NOT NULL,
        confirmed_at INTEGER,
        receipt      BLOB,
        ascending    INTEGER,
        descending   INTEGER,
        card_time    INTEGER,
        UNIQUE (meter, number)
    ) STRICT;",
    // 2: a meter whose receipt did not reconcile is flagged (when, why).
    "ALTER TABLE meters ADD COLUMN flagged_at INTEGER;
    ALTER TABLE meters ADD COLUMN flag_reason TEXT;",
    // 3: PIN unblock approvals (the holder check), one pending per
    // meter, consumed when the unblock message is signed.
    "CREATE TABLE unblock_approvals (
        meter       TEXT PRIMARY KEY REFERENCES meters (serial),
        approved_at INTEGER NOT NULL
    ) STRICT;",
    // 4 (branch certs-revoke): Figure 6 revocations, one per certificate:
    // when requested and confirmed, the reason (RFC 5280 code), forced or
    // not, and the payment state ('none' forced, 'paid' 624, 'due' 620,
    // 'collected' at a later contact) with the fee. certificates.revoked_at
    // and revocation_reason are set at the confirmation (622).
    "CREATE TABLE revocations (
        certificate  INTEGER PRIMARY KEY REFERENCES certificates (serial),
        meter        TEXT NOT NULL REFERENCES meters (serial),
        slot         INTEGER NOT NULL CHECK (slot BETWEEN 0 AND 255),
        reason       INTEGER NOT NULL CHECK (reason BETWEEN 0 AND 10 AND reason <> 7),
        forced       INTEGER NOT NULL CHECK (forced IN (0, 1)),
        requested_at INTEGER NOT NULL,
        confirmed_at INTEGER,
        payment      TEXT CHECK (payment IN ('none', 'paid', 'due', 'collected')),
        fee          INTEGER,
        confirmation BLOB
    ) STRICT;",
    // 5 (branch certs-install): each meter's static channel key, as its
    // card registered it signed by the meter key; holder enrollments (the
    // SHA-256 of each one-time code, its expiry, when it was used).
    "CREATE TABLE channel_keys (
        meter         TEXT PRIMARY KEY REFERENCES meters (serial),
        public_key    BLOB NOT NULL CHECK (length(public_key) = 65),
        registered_at INTEGER NOT NULL
    ) STRICT;
    CREATE TABLE enrollments (
        holder      TEXT PRIMARY KEY,
        code_sha256 BLOB NOT NULL CHECK (length(code_sha256) = 32),
        enrolled_at INTEGER NOT NULL,
        expires_at  INTEGER NOT NULL,
        used_at     INTEGER
    ) STRICT;",
    // 6 (branch value-indicia): postage indicia scanned by the postal
    // operator, one per meter and ascending register (a second one with
    // the same pair is a copy: counted in `copies`, never stored twice).
    "CREATE TABLE indicia (
        meter              TEXT NOT NULL,
        ascending          INTEGER NOT NULL,
        certificate_serial INTEGER NOT NULL,
        pieces             INTEGER NOT NULL,
        postage            INTEGER NOT NULL,
        mailing_date       INTEGER NOT NULL,
        origin             TEXT NOT NULL,
        destination        TEXT NOT NULL,
        class              TEXT NOT NULL,
        sha256             BLOB NOT NULL CHECK (length(sha256) = 32),
        scanned_at         INTEGER NOT NULL,
        copies             INTEGER NOT NULL DEFAULT 0,
        last_copy_at       INTEGER,
        PRIMARY KEY (meter, ascending)
    ) STRICT;",
    // 7: [certs] key rollover: the generation of the authority key each
    // card holds (0: the key it was personalized with).
    // ... and the revocations of certificates a meter issued as the
    // authority's agent (Figure 3A), by issuing meter and serial: they are
    // listed in the revocation list (`A2` entries).
    "ALTER TABLE meters ADD COLUMN key_generation INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE agent_revocations (
        meter      TEXT NOT NULL REFERENCES meters (serial),
        serial     INTEGER NOT NULL,
        reason     INTEGER NOT NULL CHECK (reason BETWEEN 0 AND 10 AND reason != 7),
        revoked_at INTEGER NOT NULL,
        PRIMARY KEY (meter, serial)
    ) STRICT;",
    // 8 (branch value-credit): the creditor's records (Figures 7A, 8, 9):
    // the lines of credit it issued (808), the requests it refused (806),
    // and the payments it settled, once each (Figure 9, to the merchant).
    "CREATE TABLE credit_lines (
        serial           INTEGER PRIMARY KEY CHECK (serial > 0),
        holder           TEXT NOT NULL,
        chip_id          BLOB NOT NULL CHECK (length(chip_id) = 8),
        number           INTEGER NOT NULL CHECK (number BETWEEN 1 AND 4294967295),
        amount           INTEGER NOT NULL CHECK (amount > 0),
        digest           BLOB NOT NULL UNIQUE CHECK (length(digest) = 32),
        certificate      BLOB NOT NULL,
        request_postmark INTEGER NOT NULL,
        issued_at        INTEGER NOT NULL,
        effective        INTEGER NOT NULL,
        expiry           INTEGER NOT NULL,
        UNIQUE (holder, number)
    ) STRICT;
    CREATE TABLE credit_refusals (
        holder     TEXT NOT NULL,
        amount     INTEGER NOT NULL,
        reason     TEXT NOT NULL,
        refused_at INTEGER NOT NULL
    ) STRICT;
    CREATE TABLE credit_payments (
        holder      TEXT NOT NULL,
        serial      INTEGER NOT NULL CHECK (serial > 0),
        line        INTEGER NOT NULL REFERENCES credit_lines (serial),
        merchant    TEXT NOT NULL,
        amount      INTEGER NOT NULL CHECK (amount > 0),
        remaining   INTEGER NOT NULL,
        card_time   INTEGER NOT NULL,
        settled_at  INTEGER NOT NULL,
        certificate BLOB NOT NULL,
        PRIMARY KEY (holder, serial)
    ) STRICT;
    CREATE INDEX credit_payments_merchant ON credit_payments (merchant);",
    // 9 (branch value-recharge): a recharge's load is bound to the card's
    // challenge; the rate table's versions (each whole, as `E1` entries);
    // inspections (audit reports: the chain, the state, the verdict).
    "ALTER TABLE loads ADD COLUMN challenge BLOB CHECK (challenge IS NULL OR length(challenge) = 16);
    CREATE TABLE rate_tables (
        version    INTEGER PRIMARY KEY CHECK (version > 0),
        entries    BLOB NOT NULL,
        created_at INTEGER NOT NULL
    ) STRICT;
    CREATE TABLE inspections (
        id                     INTEGER PRIMARY KEY,
        meter                  TEXT NOT NULL REFERENCES meters (serial),
        number                 INTEGER NOT NULL CHECK (number BETWEEN 1 AND 4294967295),
        inspected_at           INTEGER NOT NULL,
        card_time              INTEGER NOT NULL,
        postage_ascending      INTEGER NOT NULL,
        postage_descending     INTEGER NOT NULL,
        certificate_ascending  INTEGER NOT NULL,
        certificate_descending INTEGER NOT NULL,
        postage_pieces         INTEGER NOT NULL,
        certificate_pieces     INTEGER NOT NULL,
        load_count             INTEGER NOT NULL,
        sequence               INTEGER NOT NULL,
        report                 BLOB NOT NULL,
        hash                   BLOB NOT NULL CHECK (length(hash) = 32),
        flag_reason            TEXT,
        note                   TEXT
    ) STRICT;
    CREATE INDEX inspections_meter ON inspections (meter, id);",
];

/// Takes the next certificate serial (inside the caller's transaction, so
/// a rolled-back issue gives its serial back): every certificate the
/// authority issues, meter or holder, draws from this one counter.
pub fn next_certificate_serial(tx: &Connection) -> Result<u64, AuthorityError> {
    let serial = match setting::<i64>(tx, NEXT_CERTIFICATE_SERIAL)? {
        Some(n) => from_int(n)?,
        None => 1,
    };
    let next = serial
        .checked_add(1)
        .ok_or_else(|| AuthorityError::Database("certificate serials exhausted".into()))?;
    set_setting(tx, NEXT_CERTIFICATE_SERIAL, to_int(next, "serial")?)?;
    Ok(serial)
}

/// Begins a write transaction at once (`BEGIN IMMEDIATE`): it takes the
/// write lock first, waiting up to the busy timeout for another writer,
/// instead of failing with "database is locked" when it upgrades from
/// reading (a deferred transaction cannot wait for that).
pub fn begin(conn: &mut Connection) -> Result<rusqlite::Transaction<'_>, AuthorityError> {
    Ok(conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?)
}

/// How long a connection waits for another writer before giving up.
pub const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Creates an empty database file, failing if the file exists.
pub fn create_file(path: &Path) -> std::io::Result<()> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map(drop)
}

/// Opens an existing database file (never creates one) and configures it.
pub fn open_file(path: &Path) -> Result<Connection, AuthorityError> {
    let flags = OpenFlags::default().difference(OpenFlags::SQLITE_OPEN_CREATE);
    let conn = Connection::open_with_flags(path, flags)?;
    configure(&conn)?;
    Ok(conn)
}

/// Opens an existing database file for reading only: nothing in its
/// directory is created or changed (no journal, no migration).
pub fn open_read_only(path: &Path) -> Result<Connection, AuthorityError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "query_only", true)?;
    Ok(conn)
}

/// Per-connection settings: foreign keys on, and wait for other writers.
pub fn configure(conn: &Connection) -> Result<(), AuthorityError> {
    conn.pragma_update(None, "foreign_keys", true)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    Ok(())
}

/// The schema version of the database.
pub fn version(conn: &Connection) -> Result<usize, AuthorityError> {
    let v: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    usize::try_from(v).map_err(|_| AuthorityError::Database(format!("bad schema version {v}")))
}

/// Brings the schema up to date; refuses a database newer than this program.
pub fn migrate(conn: &mut Connection) -> Result<(), AuthorityError> {
    if version(conn)? == MIGRATIONS.len() {
        return Ok(());
    }
    let tx = begin(conn)?;
    let current = version(&tx)?;
    if current > MIGRATIONS.len() {
        return Err(AuthorityError::Database(format!(
            "schema version {current} is newer than this program supports ({})",
            MIGRATIONS.len()
        )));
    }
    for step in MIGRATIONS.iter().skip(current) {
        tx.execute_batch(step)?;
    }
    tx.pragma_update(None, "user_version", MIGRATIONS.len() as i64)?;
    tx.commit()?;
    Ok(())
}

/// A setting, if present.
pub fn setting<T: FromSql>(conn: &Connection, key: &str) -> Result<Option<T>, AuthorityError> {
    Ok(conn
        .query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
            r.get(0)
        })
        .optional()?)
}

/// Sets a setting.
pub fn set_setting(conn: &Connection, key: &str, value: impl ToSql) -> Result<(), AuthorityError> {
    conn.execute(
        "INSERT INTO settings (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}

/// A `u64` for an INTEGER column; `what` names it in the error.
pub fn to_int(v: u64, what: &str) -> Result<i64, AuthorityError> {
    i64::try_from(v).map_err(|_| AuthorityError::InvalidRequest(format!("{what} {v} is too large")))
}

/// A `u64` from an INTEGER column.
pub fn from_int(v: i64) -> Result<u64, AuthorityError> {
    u64::try_from(v).map_err(|_| AuthorityError::Database(format!("negative value {v}")))
}

/// An optional `u64` from a nullable INTEGER column.
pub fn from_opt_int(v: Option<i64>) -> Result<Option<u64>, AuthorityError> {
    v.map(from_int).transpose()
}
