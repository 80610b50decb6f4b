//! The invariants the tearing campaign checks after every power-up
//! (`tests/tearing_campaign.rs`, `tests/tearing_random.rs`), read straight
//! from the card's persistent store.
//!
//! * [`View`]: what a power cut must never take back or invent: registers,
//!   piece counts, the counters of the counters record, the [trust],
//!   [certs] and [value] counters, the credit record, the slots.
//! * [`consistent`]: no key without its certificate or the reverse, each
//!   certificate's key matching it, the credit remaining within the line.
//! * [`never_back`]: every monotone counter of `after` is at least the one
//!   of `before`.

#![allow(dead_code)]

use applet_sim::Store;
use applet_sim::budget::{CERTIFICATE_SLOT_SIZE, CERTIFICATE_SLOTS, DATA_CAPACITY};
use applet_sim::layout::{self, Field, Register};
use p256::ecdsa::SigningKey;

/// Lifecycle byte values (`apdu::cmd::get_data::Lifecycle`).
pub const BLANK: u64 = 1;
/// Personalized.
pub const PERSONALIZED: u64 = 2;

/// One certificate slot: the certificate's length and whether a private
/// key is kept with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slot {
    /// Length of the stored certificate (0: empty).
    pub cert_len: u64,
    /// The slot's key bytes are not all zero.
    pub key: bool,
}

/// The card's persistent state, as far as the invariants look at it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct View {
    /// Life cycle byte.
    pub lifecycle: u64,
    /// Ascending register, per register (postage, certificate).
    pub ascending: [u64; 2],
    /// Descending register, per register.
    pub descending: [u64; 2],
    /// Piece counts, per register.
    pub pieces: [u64; 2],
    /// Transaction sequence number.
    pub sequence: u64,
    /// Postmarks signed.
    pub postmarks: u64,
    /// The secure clock.
    pub clock: u64,
    /// Value loads accepted.
    pub load_count: u64,
    /// Agent certificates issued (Figure 3A).
    pub agent_issued: u64,
    /// Audit reports signed.
    pub audit_count: u64,
    /// The rate table's version.
    pub rate_version: u64,
    /// Credit lines stored (the current line's number).
    pub credit_number: u64,
    /// The current line.
    pub credit_line: u64,
    /// Credit remaining.
    pub credit_remaining: u64,
    /// Payments made.
    pub credit_payments: u64,
    /// PIN tries left.
    pub pin_tries: u64,
    /// The PIN is still the transport PIN.
    pub transport_pin: u64,
    /// Authority keys installed.
    pub authority_keys: u64,
    /// The meter key pair exists.
    pub meter_key: u64,
    /// The attestation key pair exists.
    pub attestation_key: u64,
    /// Length of the attestation certificate (0: none yet).
    pub attestation_cert_len: u64,
    /// The certificate slots.
    pub slots: [Slot; CERTIFICATE_SLOTS],
    /// Per slot, 0 or the revocation reason plus one.
    pub revoked: Vec<u8>,
    /// Revoke fees due.
    pub revocation_due: u64,
    /// The last authority contact's time (the contact record).
    pub contact_time: u64,
}

fn get(s: &Store, f: Field) -> u64 {
    f.get(s).unwrap_or_else(|e| panic!("reading {f:?}: {e:?}"))
}

fn read(s: &Store, f: Field) -> &[u8] {
    f.read(s).unwrap_or_else(|e| panic!("reading {f:?}: {e:?}"))
}

fn slot_field(i: usize) -> Field {
    layout::CERTIFICATES.part(i, CERTIFICATE_SLOTS)
}

const KEY_AT: usize = applet_sim::certificates::KEY_AT;

impl View {
    /// The state stored in `s`.
    pub fn of(s: &Store) -> View {
        let reg = |r: Register| {
            (
                get(s, r.ascending()),
                get(s, r.descending()),
                get(s, r.pieces()),
            )
        };
        let (pa, pd, pp) = reg(Register::Postage);
        let (ca, cd, cp) = reg(Register::Certificate);
        let slots = std::array::from_fn(|i| {
            let f = slot_field(i);
            Slot {
                cert_len: get(s, f.sub(0, 2)),
                key: read(s, f.sub(2 + KEY_AT, 32)).iter().any(|&b| b != 0),
            }
        });
        View {
            lifecycle: get(s, layout::LIFECYCLE),
            ascending: [pa, ca],
            descending: [pd, cd],
            pieces: [pp, cp],
            sequence: get(s, layout::SEQUENCE),
            postmarks: get(s, layout::POSTMARK_COUNT),
            clock: get(s, layout::CLOCK),
            load_count: get(s, layout::LOAD_COUNT),
            agent_issued: get(s, layout::AGENT_ISSUED),
            audit_count: get(s, layout::AUDIT_COUNT),
            rate_version: get(s, layout::RATE_VERSION),
            credit_number: get(s, layout::CREDIT_LINE_NUMBER),
            credit_line: get(s, layout::CREDIT_LINE),
            credit_remaining: get(s, layout::CREDIT_REMAINING),
            credit_payments: get(s, layout::CREDIT_PAYMENTS),
            pin_tries: get(s, layout::PIN_TRIES),
            transport_pin: get(s, layout::PIN_TRANSPORT),
            authority_keys: get(s, layout::AUTHORITY_KEY_COUNT),
            meter_key: get(s, layout::METER_KEY_PRESENT),
            attestation_key: get(s, layout::ATTESTATION_KEY_PRESENT),
            attestation_cert_len: get(s, layout::ATTESTATION_CERTIFICATE.sub(0, 2)),
            slots,
            revoked: read(s, layout::REVOKED).to_vec(),
            revocation_due: get(s, layout::REVOCATION_DUE),
            contact_time: get(s, layout::CONTACT.sub(1, 8)),
        }
    }

    /// Ascending + descending, per register: the control totals.
    pub fn totals(&self) -> [u64; 2] {
        [
            self.ascending[0] + self.descending[0],
            self.ascending[1] + self.descending[1],
        ]
    }

    /// The counters that never go back, by name.
    pub fn monotone(&self) -> [(&'static str, u64); 16] {
        [
            ("lifecycle", self.lifecycle),
            ("postage pieces", self.pieces[0]),
            ("certificate pieces", self.pieces[1]),
            ("postage ascending", self.ascending[0]),
            ("certificate ascending", self.ascending[1]),
            ("sequence", self.sequence),
            ("postmark count", self.postmarks),
            ("clock", self.clock),
            ("load count", self.load_count),
            ("agent certificates issued", self.agent_issued),
            ("audit count", self.audit_count),
            ("rate table version", self.rate_version),
            ("credit line number", self.credit_number),
            ("payment count", self.credit_payments),
            ("attestation certificate", self.attestation_cert_len.min(1)),
            ("last contact", self.contact_time),
        ]
    }
}

/// Every monotone counter of `after` is at least that of `before`; the
/// credit remaining of the same line never grows.
pub fn never_back(before: &View, after: &View) -> Result<(), String> {
    for ((name, b), (_, a)) in before.monotone().iter().zip(after.monotone()) {
        if a < *b {
            return Err(format!("{name} went back from {b} to {a}"));
        }
    }
    if after.credit_number == before.credit_number
        && after.credit_remaining > before.credit_remaining
    {
        return Err(format!(
            "credit remaining grew from {} to {} on line {}",
            before.credit_remaining, after.credit_remaining, after.credit_number
        ));
    }
    Ok(())
}

/// Every monotone counter of `view` is at most that of `bound` (nothing
/// beyond what the command does when it completes).
pub fn not_beyond(view: &View, bound: &View) -> Result<(), String> {
    for ((name, v), (_, b)) in view.monotone().iter().zip(bound.monotone()) {
        if *v > b {
            return Err(format!("{name} is {v}, beyond the completed command's {b}"));
        }
    }
    Ok(())
}

fn public_of(private: &[u8]) -> Option<[u8; 65]> {
    let key = SigningKey::from_slice(private).ok()?;
    let point = key.verifying_key().to_sec1_point(false);
    point.as_bytes().try_into().ok()
}

fn certificate(s: &Store, i: usize, len: u64) -> Result<apdu::cert::Certificate<'_>, String> {
    let len = usize::try_from(len).map_err(|_| "length".to_string())?;
    if len > CERTIFICATE_SLOT_SIZE {
        return Err(format!(
            "slot {i}: certificate length {len} beyond the slot"
        ));
    }
    let bytes = read(s, slot_field(i).sub(2, len));
    apdu::cert::Certificate::parse(bytes)
        .map_err(|e| format!("slot {i}: the certificate does not parse: {e:?}"))
}

/// The structural invariants of one stored state: no key without its
/// certificate or metadata, or the reverse; each certificate's key is its
/// key; the credit remaining within the line; an empty journal.
pub fn consistent(s: &Store) -> Result<(), String> {
    let v = View::of(s);
    let journal = &s.image()[DATA_CAPACITY..DATA_CAPACITY + 2];
    if journal != [0, 0] || s.in_transaction() {
        return Err(format!("the journal is not empty: {journal:02X?}"));
    }
    if !matches!(v.lifecycle, 1..=3) {
        return Err(format!("life cycle byte {}", v.lifecycle));
    }
    // The meter key: present flag, private and public key together.
    let meter_public = read(s, layout::METER_PUBLIC_KEY);
    if v.meter_key == 1 {
        let private = read(s, layout::METER_PRIVATE_KEY);
        if public_of(private).as_ref().map(|p| &p[..]) != Some(meter_public) {
            return Err("the meter key's public half is not its private half's".into());
        }
    } else if v.meter_key != 0 {
        return Err(format!("meter key flag {}", v.meter_key));
    }
    // Slot 0: the meter certificate, on a personalized card only, for the
    // meter key.
    let personalized = v.lifecycle != BLANK;
    let meter_cert = v.slots[0].cert_len > 0;
    if personalized != meter_cert {
        return Err(format!(
            "life cycle {} with{} a meter certificate",
            v.lifecycle,
            if meter_cert { "" } else { "out" }
        ));
    }
    if meter_cert {
        if v.meter_key != 1 {
            return Err("a meter certificate without the meter key".into());
        }
        let cert = certificate(s, 0, v.slots[0].cert_len)?;
        if &cert.public_key[..] != meter_public {
            return Err("the meter certificate is for another key".into());
        }
        if v.authority_keys == 0 {
            return Err("personalized without an authority key".into());
        }
        if v.slots[0].key {
            return Err("slot 0 keeps a private key".into());
        }
    }
    // Slots 1..: a certificate installed with its key, never one without
    // the other, and the key is the certificate's.
    for i in 1..CERTIFICATE_SLOTS {
        let slot = v.slots[i];
        match (slot.cert_len > 0, slot.key) {
            (false, false) => {}
            (true, true) => {
                let cert = certificate(s, i, slot.cert_len)?;
                let f = slot_field(i).sub(2 + KEY_AT, 32);
                if public_of(read(s, f)).as_ref() != Some(cert.public_key) {
                    return Err(format!("slot {i}: the key is not the certificate's"));
                }
            }
            (true, false) => return Err(format!("slot {i}: a certificate without its key")),
            (false, true) => return Err(format!("slot {i}: a key without its certificate")),
        }
        if slot.cert_len == 0 && v.revoked.get(i).is_some_and(|&r| r != 0) {
            return Err(format!("slot {i}: an empty slot marked revoked"));
        }
    }
    // The attestation key and its certificate.
    if v.attestation_cert_len > 0 && v.attestation_key != 1 {
        return Err("an attestation certificate without its key".into());
    }
    if v.attestation_key == 1 {
        let private = read(s, layout::ATTESTATION_PRIVATE_KEY);
        let public = read(s, layout::ATTESTATION_PUBLIC_KEY);
        if public_of(private).as_ref().map(|p| &p[..]) != Some(public) {
            return Err("the attestation key's halves differ".into());
        }
    }
    // The credit record.
    if v.credit_remaining > v.credit_line {
        return Err(format!(
            "credit remaining {} above the line {}",
            v.credit_remaining, v.credit_line
        ));
    }
    if v.credit_number == 0 && (v.credit_line, v.credit_remaining) != (0, 0) {
        return Err("a line of credit without a line number".into());
    }
    if v.credit_number > 0 {
        let len = get(s, layout::CREDIT_FILE.sub(0, 2));
        if len == 0 {
            return Err("a line of credit without its line file".into());
        }
    }
    Ok(())
}
