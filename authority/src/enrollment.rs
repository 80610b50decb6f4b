//! Holder enrollment (Figure 5, identity check 514/516): before a holder
//! installs a certificate, the authority enrolls the holder's name and
//! hands out a one-time enrollment code (`meter authority enroll NAME`),
//! which the holder presents with the request. A wrong, expired or
//! reused code is refused. The database keeps only the code's SHA-256,
//! never the code.

use rusqlite::{OptionalExtension, params};

use crate::{Authority, AuthorityError, db};

/// How long an enrollment code is valid by default: 7 days.
pub const DEFAULT_VALIDITY: u64 = 7 * 86_400;

/// Digits of an enrollment code (grouped as `XXXX-XXXX-XXXX-XXXX` from a
/// 32-letter alphabet without look-alikes: 80 bits).
const CODE_LETTERS: &[u8; 32] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789_";

/// Why a presented code was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodeRefusal {
    /// No holder of that name is enrolled, or the code is not theirs.
    Wrong,
    /// The code's validity has passed.
    Expired,
    /// The code was already used.
    Reused,
}

impl std::fmt::Display for CodeRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CodeRefusal::Wrong => "wrong enrollment code",
            CodeRefusal::Expired => {
                "expired enrollment code: ask the authority to enroll the holder again"
            }
            CodeRefusal::Reused => {
                "enrollment code already used: ask the authority to enroll the holder again"
            }
        })
    }
}

fn digest(code: &str) -> Vec<u8> {
    let normalized: String = code
        .chars()
        .filter(|c| *c != '-' && !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    apdu::crypto::sha256(normalized.as_bytes()).to_vec()
}

fn new_code() -> Result<String, AuthorityError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| AuthorityError::Entropy(e.to_string()))?;
    let mut out = String::new();
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 && i % 4 == 0 {
            out.push('-');
        }
        let letter = CODE_LETTERS
            .get(usize::from(b & 0x1F))
            .copied()
            .unwrap_or(b'A');
        out.push(char::from(letter));
    }
    Ok(out)
}

impl Authority {
    /// Enrolls `holder` (a certificate holder name, 1 to 64 bytes, no
    /// control characters) with a fresh one-time code valid for
    /// `validity` seconds; returns the code. A new enrollment replaces an
    /// unused earlier one.
    pub fn enroll(&mut self, holder: &str, validity: u64) -> Result<String, AuthorityError> {
        if holder.is_empty() || holder.len() > 64 || holder.chars().any(char::is_control) {
            return Err(AuthorityError::InvalidRequest(
                "a holder name has 1 to 64 bytes and no control characters".into(),
            ));
        }
        let code = new_code()?;
        let now = self.now();
        let expires = now.saturating_add(validity);
        self.conn.execute(
            "INSERT INTO enrollments (holder, code_sha256, enrolled_at, expires_at, used_at)
             VALUES (?1, ?2, ?3, ?4, NULL)
             ON CONFLICT (holder) DO UPDATE SET code_sha256 = ?2, enrolled_at = ?3,
                 expires_at = ?4, used_at = NULL",
            params![
                holder,
                digest(&code),
                db::to_int(now, "time")?,
                db::to_int(expires, "time")?
            ],
        )?;
        Ok(code)
    }

    /// Checks `code` for `holder` without using it up.
    pub fn check_enrollment(&self, holder: &str, code: &str) -> Result<(), CodeRefusal> {
        let row: Option<(Vec<u8>, i64, Option<i64>)> = self
            .conn
            .query_row(
                "SELECT code_sha256, expires_at, used_at FROM enrollments WHERE holder = ?1",
                [holder],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
            .map_err(|_| CodeRefusal::Wrong)?;
        let Some((stored, expires, used)) = row else {
            return Err(CodeRefusal::Wrong);
        };
        let presented = digest(code);
        let same = subtle_eq(&stored, &presented);
        if !same {
            return Err(CodeRefusal::Wrong);
        }
        if used.is_some() {
            return Err(CodeRefusal::Reused);
        }
        let expires = db::from_int(expires).map_err(|_| CodeRefusal::Wrong)?;
        if self.now() > expires {
            return Err(CodeRefusal::Expired);
        }
        Ok(())
    }

    /// Checks `code` for `holder` and uses it up (one transaction): the
    /// identity check of Figure 5 (514 ok, 516 refused).
    pub fn redeem_enrollment(&mut self, holder: &str, code: &str) -> Result<(), AuthorityError> {
        self.check_enrollment(holder, code)
            .map_err(|r| AuthorityError::InvalidRequest(r.to_string()))?;
        let now = db::to_int(self.now(), "time")?;
        let n = self.conn.execute(
            "UPDATE enrollments SET used_at = ?2 WHERE holder = ?1 AND used_at IS NULL",
            params![holder, now],
        )?;
        if n != 1 {
            return Err(AuthorityError::InvalidRequest(
                CodeRefusal::Reused.to_string(),
            ));
        }
        Ok(())
    }
}

/// Compares two digests without an early exit.
fn subtle_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn authority() -> Authority {
        Authority::deterministic("CA", 1, 1_800_000_000).unwrap()
    }

    #[test]
    fn a_code_is_accepted_once() {
        let mut a = authority();
        let code = a.enroll("alice", DEFAULT_VALIDITY).unwrap();
        assert_eq!(code.len(), 19);
        a.redeem_enrollment("alice", &code).unwrap();
        assert_eq!(a.check_enrollment("alice", &code), Err(CodeRefusal::Reused));
        let e = a.redeem_enrollment("alice", &code).unwrap_err();
        assert!(e.to_string().contains("already used"), "{e}");
    }

    #[test]
    fn a_code_is_read_without_dashes_or_case() {
        let mut a = authority();
        let code = a.enroll("alice", DEFAULT_VALIDITY).unwrap();
        let sloppy = code.replace('-', " ").to_ascii_lowercase();
        a.redeem_enrollment("alice", &sloppy).unwrap();
    }

    #[test]
    fn a_wrong_code_is_refused_and_leaves_the_right_one_usable() {
        let mut a = authority();
        let code = a.enroll("alice", DEFAULT_VALIDITY).unwrap();
        let other = a.enroll("bob", DEFAULT_VALIDITY).unwrap();
        assert_eq!(a.check_enrollment("alice", &other), Err(CodeRefusal::Wrong));
        assert_eq!(
            a.check_enrollment("alice", "AAAA-AAAA-AAAA-AAAA"),
            Err(CodeRefusal::Wrong)
        );
        assert_eq!(a.check_enrollment("carol", &code), Err(CodeRefusal::Wrong));
        assert!(a.redeem_enrollment("alice", "AAAA-AAAA-AAAA-AAAA").is_err());
        a.redeem_enrollment("alice", &code).unwrap();
    }

    #[test]
    fn an_expired_code_is_refused() {
        let mut a = authority();
        let code = a.enroll("alice", 60).unwrap();
        a.set_clock(Some(1_800_000_061));
        assert_eq!(
            a.check_enrollment("alice", &code),
            Err(CodeRefusal::Expired)
        );
        let e = a.redeem_enrollment("alice", &code).unwrap_err();
        assert!(e.to_string().contains("expired"), "{e}");
    }

    #[test]
    fn a_new_enrollment_replaces_the_old_code() {
        let mut a = authority();
        let old = a.enroll("alice", DEFAULT_VALIDITY).unwrap();
        let new = a.enroll("alice", DEFAULT_VALIDITY).unwrap();
        assert_ne!(old, new);
        assert_eq!(a.check_enrollment("alice", &old), Err(CodeRefusal::Wrong));
        a.redeem_enrollment("alice", &new).unwrap();
    }

    #[test]
    fn holder_names_are_checked() {
        let mut a = authority();
        assert!(a.enroll("", 60).is_err());
        assert!(a.enroll(&"x".repeat(65), 60).is_err());
        assert!(a.enroll("a\nb", 60).is_err());
    }
}
