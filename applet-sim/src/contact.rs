//! The last authority contact and the service policy (layout v3,
//! [`crate::layout::CONTACT`]): every contact (personalization, load,
//! unblock, sync) carries authority-signed time, bound to this card, and
//! may set the authority's policy. Past the service days since the contact
//! the card warns; past the service and grace days, or once the allowed
//! charged operations are made, it refuses every debit (`9404`, `9405`)
//! until the next contact, whatever the host's clock says: the time is the
//! card's secure clock (never below the last authority time), and the count
//! of charged operations is the transaction sequence since the contact.

use apdu::StatusWord;
use apdu::message::ServicePolicy;
use apdu::meter::ServiceState;

use crate::error::Result;
use crate::layout::{CHIP_ID, CONTACT, CONTACT_LEN, SEQUENCE};
use crate::state;
use crate::store::Store;

/// Seconds in a day.
const DAY: u64 = 24 * 3600;

/// The contact record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Contact {
    /// Whether any contact set a policy (a card migrated from v2, before
    /// its first contact, has none and is never locked by it).
    pub set: bool,
    /// Authority time of the last contact.
    pub time: u64,
    /// The transaction sequence right after the last contact.
    pub sequence: u64,
    /// The policy in force.
    pub policy: ServicePolicy,
}

fn be(b: &[u8]) -> u64 {
    b.iter().fold(0u64, |a, &x| (a << 8) | u64::from(x))
}

impl Contact {
    /// The stored record.
    pub fn read(s: &Store) -> Result<Self> {
        let b = CONTACT.read(s)?;
        let get = |at: usize, len: usize| b.get(at..at + len).map(be).unwrap_or(0);
        Ok(Contact {
            set: get(0, 1) == 1,
            time: get(1, 8),
            sequence: get(9, 4),
            policy: ServicePolicy {
                service_days: get(13, 4) as u32,
                grace_days: get(17, 4) as u32,
                max_debits: get(21, 4) as u32,
            },
        })
    }

    /// Writes the record (inside an open transaction): one logical write.
    pub fn write(&self, s: &mut Store) -> Result<()> {
        let mut b = [0u8; CONTACT_LEN];
        let parts: [(usize, &[u8]); 6] = [
            (0, &[u8::from(self.set)]),
            (1, &self.time.to_be_bytes()),
            (9, &(self.sequence as u32).to_be_bytes()),
            (13, &self.policy.service_days.to_be_bytes()),
            (17, &self.policy.grace_days.to_be_bytes()),
            (21, &self.policy.max_debits.to_be_bytes()),
        ];
        for (at, bytes) in parts {
            b.get_mut(at..at + bytes.len())
                .ok_or(StatusWord::UNKNOWN)?
                .copy_from_slice(bytes);
        }
        CONTACT.write(s, &b)?;
        Ok(())
    }

    /// Charged operations since the contact, given the current sequence.
    pub fn debits(&self, sequence: u64) -> u64 {
        sequence.saturating_sub(self.sequence)
    }

    /// Where the card stands at `now` (its secure clock) with its
    /// transaction `sequence`.
    pub fn state(&self, now: u64, sequence: u64) -> ServiceState {
        if !self.set {
            return ServiceState::InService;
        }
        let p = self.policy;
        let elapsed = now.saturating_sub(self.time);
        let days = |d: u32| u64::from(d).saturating_mul(DAY);
        if p.service_days != 0 && elapsed > days(p.service_days).saturating_add(days(p.grace_days))
        {
            return ServiceState::LockedByTime;
        }
        if p.max_debits != 0 && self.debits(sequence) >= u64::from(p.max_debits) {
            return ServiceState::LockedByDebits;
        }
        if p.service_days != 0 && elapsed > days(p.service_days) {
            return ServiceState::Due;
        }
        ServiceState::InService
    }
}

/// The lock check of every charged command (the dispatcher's, from the
/// access policy): `9404` past the service and grace days, `9405` with the
/// charged operations used up. Touches nothing.
pub fn check(s: &Store, now: u64) -> Result<()> {
    match Contact::read(s)?.state(now, SEQUENCE.get(s)?) {
        ServiceState::LockedByTime => Err(StatusWord::LOCKED_BY_TIME.into()),
        ServiceState::LockedByDebits => Err(StatusWord::LOCKED_BY_DEBITS.into()),
        ServiceState::InService | ServiceState::Due => Ok(()),
    }
}

/// Records a contact at authority time `time` (inside the contact's open
/// transaction, after its counters are written): the sequence restarts the
/// count of charged operations, and `policy`, if the message carries one,
/// replaces the policy in force.
pub fn record(s: &mut Store, time: u64, policy: Option<ServicePolicy>) -> Result<()> {
    let mut c = Contact::read(s)?;
    c.time = time;
    c.sequence = SEQUENCE.get(s)?;
    if let Some(p) = policy {
        c.policy = p;
        c.set = true;
    }
    c.write(s)
}

/// Checks an authority message that answers a card challenge (SYNC,
/// unblock): it answers the challenge the dispatcher took out of RAM
/// (`6984` when there was none or it differs: constant-time compare),
/// names this chip and meter serial (`6A80`), and carries a valid signature
/// by the installed authority key (`6982`). Nothing is written.
pub fn check_addressed(
    s: &Store,
    challenge: Option<[u8; apdu::meter::CHALLENGE_LEN]>,
    answered: &[u8; apdu::meter::CHALLENGE_LEN],
    chip_id: &[u8; 8],
    serial: &[u8],
    signed: &apdu::signed::Signed<'_>,
) -> Result<()> {
    use subtle::ConstantTimeEq;
    let challenge = challenge.ok_or(StatusWord::REFERENCE_DATA_NOT_USABLE)?;
    if !bool::from(challenge.ct_eq(answered)) {
        return Err(StatusWord::REFERENCE_DATA_NOT_USABLE.into());
    }
    if CHIP_ID.read(s)? != chip_id || state::serial(s)? != serial {
        return Err(StatusWord::INCORRECT_DATA.into());
    }
    if !apdu::crypto::verify_signed(signed, &state::authority_key(s)?) {
        return Err(StatusWord::SECURITY_STATUS_NOT_SATISFIED.into());
    }
    Ok(())
}
