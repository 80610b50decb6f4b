//! The authority's P-256 signing key: generation, the key file, and
//! signing objects in the shape `OUTER { 7F4E body, 5F37 signature }`
//! ([`apdu::signed`]).

use std::io::Write;
use std::path::Path;

use apdu::tlv::{Tag, TlvError, Writer};
use p256::ecdsa::{SigningKey, VerifyingKey};

use crate::AuthorityError;

/// Largest encoded signed object: a 65535-byte value under a two-byte tag
/// and a three-byte length.
const MAX_OBJECT_LEN: usize = 0xFFFF + 5;

/// A fresh key from the operating system's random number generator.
pub fn generate() -> Result<SigningKey, AuthorityError> {
    // A random 32-byte string is a valid scalar but for odds of about 2^-32.
    for _ in 0..16 {
        let mut d = [0u8; 32];
        getrandom::fill(&mut d).map_err(|e| AuthorityError::Entropy(e.to_string()))?;
        if let Ok(k) = SigningKey::from_slice(&d) {
            return Ok(k);
        }
    }
    Err(AuthorityError::Entropy(
        "the random number generator gives no valid keys".into(),
    ))
}

/// A key derived from `seed` alone (test vectors only: anyone can derive
/// it): the first valid scalar among SHA-256("certmeter authority key" ||
/// seed || counter), seed and counter big-endian.
pub fn from_seed(seed: u64) -> SigningKey {
    from_labelled_seed(b"certmeter authority key", seed)
}

/// The issuer root key derived from `seed` alone (test vectors only), as
/// [`from_seed`] with the label "certmeter issuer root": never the same key
/// as the operational one.
pub fn root_from_seed(seed: u64) -> SigningKey {
    from_labelled_seed(b"certmeter issuer root", seed)
}

/// A key derived from `seed` and `label` alone (test vectors only), as
/// [`from_seed`] with another label.
pub fn labelled_seed(label: &[u8], seed: u64) -> SigningKey {
    from_labelled_seed(label, seed)
}

fn from_labelled_seed(label: &[u8], seed: u64) -> SigningKey {
    let mut counter: u32 = 0;
    loop {
        let mut input = label.to_vec();
        input.extend_from_slice(&seed.to_be_bytes());
        input.extend_from_slice(&counter.to_be_bytes());
        if let Ok(k) = SigningKey::from_slice(&apdu::crypto::sha256(&input)) {
            return k;
        }
        counter = counter.wrapping_add(1);
    }
}

/// The uncompressed SEC1 encoding of a public key.
pub fn encode_public(key: &VerifyingKey) -> [u8; 65] {
    let mut out = [0u8; 65];
    let point = key.to_sec1_point(false);
    if let Some(dst) = out.get_mut(..point.as_bytes().len()) {
        dst.copy_from_slice(point.as_bytes());
    }
    out
}

/// Writes `key` to a new file at `path` (mode 0600 on Unix): the 32-byte
/// scalar in lower-case hex and a newline. Fails if the file exists.
pub fn write_key_file(path: &Path, key: &SigningKey) -> Result<(), AuthorityError> {
    let io = |e| AuthorityError::Io(path.to_path_buf(), e);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(io)?;
    let text = format!("{}\n", hex::encode(key.to_bytes()));
    file.write_all(text.as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)
}

/// Reads a key written by [`write_key_file`]. On Unix a file that group or
/// others may access (any of the mode bits 077) is refused, with the
/// `chmod` that fixes it.
pub fn read_key_file(path: &Path) -> Result<SigningKey, AuthorityError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .map_err(|e| AuthorityError::Io(path.to_path_buf(), e))?
            .permissions()
            .mode()
            & 0o7777;
        if mode & 0o077 != 0 {
            return Err(AuthorityError::KeyFileMode(path.to_path_buf(), mode));
        }
    }
    let text =
        std::fs::read_to_string(path).map_err(|e| AuthorityError::Io(path.to_path_buf(), e))?;
    let bytes = hex::decode(text.trim())
        .map_err(|_| AuthorityError::BadKeyFile(path.to_path_buf(), "not hexadecimal"))?;
    if bytes.len() != 32 {
        return Err(AuthorityError::BadKeyFile(
            path.to_path_buf(),
            "not 32 bytes",
        ));
    }
    SigningKey::from_slice(&bytes)
        .map_err(|_| AuthorityError::BadKeyFile(path.to_path_buf(), "not a P-256 private key"))
}

/// Encodes `kind { 7F4E { fields } 5F37 signature }`, signing the encoded
/// body object (tag, length, value) with `key`: ECDSA P-256 / SHA-256 with
/// RFC 6979 nonces, so the same input gives the same bytes.
pub fn signed_object(
    kind: Tag,
    key: &SigningKey,
    fields: impl FnOnce(&mut Writer<'_>) -> Result<(), TlvError>,
) -> Result<Vec<u8>, AuthorityError> {
    let mut buf = vec![0u8; MAX_OBJECT_LEN];
    let mut w = Writer::new(&mut buf);
    apdu::crypto::write_signed(&mut w, kind, key, fields).map_err(|_| {
        AuthorityError::InvalidRequest(format!("object {kind:X} does not fit the 65535-byte limit"))
    })?;
    let len = w.len();
    buf.truncate(len);
    Ok(buf)
}
