//! GET DATA (ISO 7816-4): `00 CA P1P2=tag 00` reads one data object: the
//! status template ([`StatusTemplate`], `E0`), the rate table
//! ([`RateTable`], `E1`) or the meter public key
//! ([`super::generate_key::PublicKeyTemplate`], `7F49`).
//!
//! ```text
//! E0 status
//!   80 life-cycle (1)  81 chip id (8)  [82 serial]  83 clock (u64)  84 sequence (u32)
//!   A5 { 80 ascending (u64), 81 descending (u64) }   postage register
//!   A6 { 80 ascending (u64), 81 descending (u64) }   certificate register
//!   87 postage pieces (u32)  88 certificate pieces (u32)  89 PIN tries (1)
//!   8A meter key (1)  8B authority keys (1)  8C slots used, total (1 + 1)
//!   8E loads (u32)  8F deadline (u64)  9F01 postmarks (u32)  9F02 transport PIN (1)
//!   8D memory used, capacity (u32 + u32)
//! E1 rate table
//!   90 service (1) || fee (u64) ...  [91 version (u32), when not 0]
//! ```

use super::{FormatError, Request};
use crate::command::Command;
use crate::status::StatusWord;
use crate::tlv::{self, Tag, TlvError, Writer};

/// GET DATA.
pub const INS: u8 = 0xCA;

/// Data object tags (GET DATA P1P2 and the objects inside the answers).
pub mod tag {
    use crate::tlv::Tag;
    /// GET DATA: the status template.
    pub const STATUS: Tag = 0xE0;
    /// GET DATA: the rate table.
    pub const RATE_TABLE: Tag = 0xE1;
    /// GET DATA / GENERATE KEY answer: the public key template
    /// (`7F49 { 86 point }`), as in certificates.
    pub use crate::cert::{EC_POINT, PUBLIC_KEY};

    /// Inside [`STATUS`]: life-cycle state, one byte ([`super::Lifecycle`]).
    pub const LIFECYCLE: Tag = 0x80;
    /// Inside [`STATUS`]: chip identifier, 8 bytes, random at manufacture.
    pub const CHIP_ID: Tag = 0x81;
    /// Inside [`STATUS`]: meter serial (Figure 2, 238), when personalized.
    pub const SERIAL: Tag = 0x82;
    /// Inside [`STATUS`]: secure clock (232), seconds since the Unix epoch, u64.
    pub const CLOCK: Tag = 0x83;
    /// Inside [`STATUS`]: transaction sequence number, u32.
    pub const SEQUENCE: Tag = 0x84;
    /// Inside [`STATUS`]: postage register template (244).
    pub const POSTAGE_REGISTER: Tag = 0xA5;
    /// Inside [`STATUS`]: certificate register template (250).
    pub const CERTIFICATE_REGISTER: Tag = 0xA6;
    /// Inside [`STATUS`]: postage piece count (242), u32.
    pub const POSTAGE_PIECES: Tag = 0x87;
    /// Inside [`STATUS`]: certificate piece count (248), u32.
    pub const CERTIFICATE_PIECES: Tag = 0x88;
    /// Inside [`STATUS`]: owner PIN tries left, one byte.
    pub const PIN_TRIES: Tag = 0x89;
    /// Inside [`STATUS`]: whether the meter key pair exists (246), one byte.
    pub const METER_KEY: Tag = 0x8A;
    /// Inside [`STATUS`]: number of authority public keys installed, one byte.
    pub const AUTHORITY_KEYS: Tag = 0x8B;
    /// Inside [`STATUS`]: certificate slots (252/254) used, then total, one byte each.
    pub const CERTIFICATE_SLOTS: Tag = 0x8C;
    /// Inside [`STATUS`]: persistent memory used, then capacity, u32 each.
    pub const MEMORY: Tag = 0x8D;
    /// Inside [`STATUS`]: value loads accepted so far, u32.
    pub const LOAD_COUNT: Tag = 0x8E;
    /// Inside [`STATUS`]: service deadline, Unix seconds, u64 (debits stop after it).
    pub const DEADLINE: Tag = 0x8F;
    /// Inside [`STATUS`]: postmarks signed so far, u32.
    pub const POSTMARKS: Tag = 0x9F01;
    /// Inside [`STATUS`]: the owner PIN is still the transport PIN (1) or
    /// was changed (0), one byte.
    pub const TRANSPORT_PIN: Tag = 0x9F02;
    /// Inside [`STATUS`]: the certificates revoked on the card (Figure 6,
    /// 616), one byte per slot: 0 not revoked, else the RFC 5280 reason
    /// code + 1. Present only when one is revoked.
    pub const REVOKED: Tag = 0x9F03;
    /// Inside [`STATUS`]: the service template, once an authority contact
    /// set a policy: `A7 { 80 last contact (u64), A8 policy, 84 charged
    /// operations since (u32), 85 state (1) }`.
    pub const SERVICE: Tag = 0xA7;
    /// Inside [`SERVICE`]: the authority time of the last contact, u64.
    pub const LAST_CONTACT: Tag = 0x80;
    /// Inside [`SERVICE`]: charged operations since the last contact, u32.
    pub const DEBITS_SINCE_CONTACT: Tag = 0x84;
    /// Inside [`SERVICE`]: the [`super::ServiceState`] byte.
    pub const SERVICE_STATE: Tag = 0x85;

    /// Inside a register template: ascending register (total used), u64.
    pub const ASCENDING: Tag = 0x80;
    /// Inside a register template: descending register (funds left), u64.
    pub const DESCENDING: Tag = 0x81;

    /// Inside [`RATE_TABLE`]: one entry, service byte then fee u64.
    pub const RATE: Tag = 0x90;
    /// Inside [`RATE_TABLE`] (GET DATA answer only, after the entries):
    /// the table's version, u32, when a RATE UPDATE installed one (absent:
    /// version 0, the table personalization installed).
    pub const RATE_VERSION: Tag = 0x91;
}

crate::byte_enum! {
    /// The meter's life-cycle state.
    pub enum Lifecycle {
        /// Manufactured: keys may be generated; not yet personalized.
        Blank = 1 => "blank",
        /// Personalized by the authority: in service.
        Personalized = 2 => "personalized",
        /// Terminated: the application answers only status.
        Terminated = 3 => "terminated",
    }
    /// A lower-case name for people.
    fn name;
}

crate::byte_enum! {
    /// The services the rate table prices (Figure 2, 257), one byte each on the wire.
    pub enum Service {
        /// Figure 3: sign a cryptographic postmark.
        Postmark = 1 => "postmark",
        /// Figure 4: validate a postmark on the card.
        Verify = 2 => "verify",
        /// Figure 3A: issue a certificate as an agent.
        IssueCertificate = 3 => "issue-certificate",
        /// Figure 5: install a CA certificate for a key made on the card.
        InstallCertificate = 4 => "install-certificate",
        /// Figure 6: revoke a certificate.
        Revoke = 5 => "revoke",
        /// A postage indicium (digital token).
        Indicium = 6 => "indicium",
        /// Figure 9: a payment certificate from the line of credit.
        Payment = 7 => "payment",
    }
    /// A lower-case name for people.
    fn name;
}

crate::byte_enum! {
    /// Where the card stands in its service policy (status `A7`/`85`).
    pub enum ServiceState {
        /// Within the service days and the charged operations allowed.
        InService = 0 => "in service",
        /// Past the service days: the card warns, debits still work.
        Due = 1 => "service due",
        /// Past the service and grace days: debits refused (9404).
        LockedByTime = 2 => "locked: service overdue",
        /// The charged operations allowed are used up: debits refused (9405).
        LockedByDebits = 3 => "locked: charged operations used up",
    }
    /// A lower-case name for people.
    fn name;
}

/// The service template of the status (`A7`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServiceStatus {
    /// Authority time of the last contact.
    pub last_contact: u64,
    /// The policy in force.
    pub policy: super::sync::ServicePolicy,
    /// Charged operations since the last contact.
    pub debits: u32,
    /// Where the card stands.
    pub state: ServiceState,
}

impl ServiceStatus {
    /// Writes the template.
    pub fn write(&self, w: &mut Writer<'_>) -> Result<(), TlvError> {
        w.nested(tag::SERVICE, |w| {
            w.put_u64(tag::LAST_CONTACT, self.last_contact)?;
            self.policy.write(w)?;
            w.put_u32(tag::DEBITS_SINCE_CONTACT, self.debits)?;
            w.put(tag::SERVICE_STATE, &[self.state as u8])
        })
    }

    fn parse(c: &[u8]) -> Result<Option<Self>, FormatError> {
        let Some(t) = tlv::find(c, tag::SERVICE) else {
            return Ok(None);
        };
        let p = tlv::find(t, super::sync::POLICY)
            .ok_or(FormatError::MissingField(super::sync::POLICY))?;
        let u32_in = |fields, t| super::uint(fields, t, u64::from(u32::MAX)).map(|v| v as u32);
        Ok(Some(ServiceStatus {
            last_contact: super::uint(t, tag::LAST_CONTACT, u64::MAX)?,
            policy: super::sync::ServicePolicy {
                service_days: u32_in(p, super::sync::SERVICE_DAYS)?,
                grace_days: u32_in(p, super::sync::GRACE_DAYS)?,
                max_debits: u32_in(p, super::sync::MAX_DEBITS)?,
            },
            debits: u32_in(t, tag::DEBITS_SINCE_CONTACT)?,
            state: super::uint(t, tag::SERVICE_STATE, 255)
                .ok()
                .and_then(|b| ServiceState::from_byte(b as u8))
                .ok_or(FormatError::MissingField(tag::SERVICE_STATE))?,
        }))
    }
}

/// A data object readable with GET DATA.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataObject {
    /// [`tag::STATUS`].
    Status,
    /// [`tag::RATE_TABLE`].
    RateTable,
    /// [`tag::PUBLIC_KEY`]: the meter public key.
    PublicKey,
}

impl DataObject {
    /// Every data object.
    pub const ALL: [DataObject; 3] = [Self::Status, Self::RateTable, Self::PublicKey];

    /// The tag, as sent in P1P2.
    pub fn tag(self) -> u16 {
        match self {
            DataObject::Status => tag::STATUS as u16,
            DataObject::RateTable => tag::RATE_TABLE as u16,
            DataObject::PublicKey => tag::PUBLIC_KEY as u16,
        }
    }

    fn from_p1p2(p1: u8, p2: u8) -> Option<Self> {
        let t = u32::from(u16::from_be_bytes([p1, p2]));
        Self::ALL.into_iter().find(|d| u32::from(d.tag()) == t)
    }
}

pub(crate) fn parse<'a>(cmd: &Command<'a>) -> Result<Request<'a>, StatusWord> {
    let obj = DataObject::from_p1p2(cmd.p1, cmd.p2).ok_or(StatusWord::REFERENCED_DATA_NOT_FOUND)?;
    super::no_data(cmd.data)?;
    Ok(Request::GetData(obj))
}

/// The GET DATA command for `obj`.
pub fn command(obj: DataObject) -> Command<'static> {
    let [p1, p2] = obj.tag().to_be_bytes();
    super::iso(INS, p1, p2, &[], Some(256))
}

/// Bytes of one rate-table entry ([`tag::RATE`]): the service byte, then
/// the fee as a big-endian u64 in minor units.
pub const RATE_ENTRY_LEN: usize = 9;

/// Encodes one rate-table entry.
pub fn rate_entry(service: Service, fee: u64) -> [u8; RATE_ENTRY_LEN] {
    let mut e = [0u8; RATE_ENTRY_LEN];
    let [s, f @ ..] = &mut e;
    *s = service as u8;
    *f = fee.to_be_bytes();
    e
}

/// Decodes one rate-table entry.
pub fn parse_rate_entry(entry: &[u8]) -> Option<(Service, u64)> {
    let (s, fee) = entry.split_first()?;
    let fee: &[u8; 8] = fee.try_into().ok()?;
    Some((Service::from_byte(*s)?, u64::from_be_bytes(*fee)))
}

/// The rate table `E1 { 90 service||fee ... }`: also the content of the
/// rate table inside the personalization message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateTable<'a> {
    /// The content of `E1`: the entries, each checked.
    pub entries: &'a [u8],
}

impl<'a> RateTable<'a> {
    /// Writes `E1` with `rates`.
    pub fn write(
        w: &mut Writer<'_>,
        rates: impl IntoIterator<Item = (Service, u64)>,
    ) -> Result<(), TlvError> {
        w.nested(tag::RATE_TABLE, |w| Self::write_entries(w, rates))
    }

    /// Writes `E1` with `rates` and, when not 0, the table's `version`
    /// (the card's GET DATA answer).
    pub fn write_versioned(
        w: &mut Writer<'_>,
        rates: impl IntoIterator<Item = (Service, u64)>,
        version: u32,
    ) -> Result<(), TlvError> {
        w.nested(tag::RATE_TABLE, |w| {
            Self::write_entries(w, rates)?;
            if version != 0 {
                w.put_u32(tag::RATE_VERSION, version)?;
            }
            Ok(())
        })
    }

    /// Writes the entries only (the content of `E1`).
    pub fn write_entries(
        w: &mut Writer<'_>,
        rates: impl IntoIterator<Item = (Service, u64)>,
    ) -> Result<(), TlvError> {
        rates
            .into_iter()
            .try_for_each(|(s, fee)| w.put(tag::RATE, &rate_entry(s, fee)))
    }

    /// Parses the whole `E1` object.
    pub fn parse(input: &'a [u8]) -> Result<Self, FormatError> {
        Self::from_entries(super::template(input, tag::RATE_TABLE)?)
    }

    /// Checks the content of `E1`: every object a [`tag::RATE`] entry of a
    /// known service.
    pub fn from_entries(entries: &'a [u8]) -> Result<Self, FormatError> {
        for t in tlv::iter(entries) {
            let t = t.map_err(|_| FormatError::Malformed)?;
            let version = t.tag == tag::RATE_VERSION && t.value.len() == 4;
            if !version && (t.tag != tag::RATE || parse_rate_entry(t.value).is_none()) {
                return Err(FormatError::MissingField(tag::RATE));
            }
        }
        Ok(RateTable { entries })
    }

    /// The entries: each service with its fee, in table order.
    pub fn iter(&self) -> impl Iterator<Item = (Service, u64)> + 'a {
        tlv::iter(self.entries)
            .map_while(Result::ok)
            .filter(|t| t.tag == tag::RATE)
            .filter_map(|t| parse_rate_entry(t.value))
    }

    /// The table's version ([`tag::RATE_VERSION`]; 0 when absent).
    pub fn version(&self) -> u32 {
        tlv::find(self.entries, tag::RATE_VERSION)
            .and_then(tlv::as_u64)
            .map_or(0, |v| v as u32)
    }
}

/// One value register in the status template.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RegisterValues {
    /// Everything ever charged.
    pub ascending: u64,
    /// Funds left.
    pub descending: u64,
}

impl RegisterValues {
    fn write(&self, w: &mut Writer<'_>, t: Tag) -> Result<(), TlvError> {
        w.nested(t, |w| {
            w.put_u64(tag::ASCENDING, self.ascending)?;
            w.put_u64(tag::DESCENDING, self.descending)
        })
    }

    fn parse(fields: &[u8], t: Tag) -> Result<Self, FormatError> {
        let r = super::field(fields, t)?;
        tlv::validate(r).map_err(|_| FormatError::Malformed)?;
        Ok(RegisterValues {
            ascending: super::uint(r, tag::ASCENDING, u64::MAX)?,
            descending: super::uint(r, tag::DESCENDING, u64::MAX)?,
        })
    }
}

/// Used and total of a fixed budget: one byte each on the wire when both
/// fit ([`tag::CERTIFICATE_SLOTS`]), else a u32 each ([`tag::MEMORY`]
/// always).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Budget {
    /// In use.
    pub used: u32,
    /// Capacity.
    pub capacity: u32,
}

impl Budget {
    fn write(&self, w: &mut Writer<'_>, t: Tag, short: bool) -> Result<(), TlvError> {
        match (u8::try_from(self.used), u8::try_from(self.capacity)) {
            (Ok(u), Ok(c)) if short => w.put(t, &[u, c]),
            _ => w.put_u64(t, (u64::from(self.used) << 32) | u64::from(self.capacity)),
        }
    }

    fn parse(fields: &[u8], t: Tag) -> Result<Self, FormatError> {
        match super::field(fields, t)? {
            [u, c] => Ok(Budget {
                used: u32::from(*u),
                capacity: u32::from(*c),
            }),
            [a, b, c, d, e, f, g, h] => Ok(Budget {
                used: u32::from_be_bytes([*a, *b, *c, *d]),
                capacity: u32::from_be_bytes([*e, *f, *g, *h]),
            }),
            _ => Err(FormatError::MissingField(t)),
        }
    }
}

/// The status template (GET DATA [`tag::STATUS`]): what the card holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatusTemplate<'a> {
    /// Life-cycle state.
    pub lifecycle: Lifecycle,
    /// Chip identifier.
    pub chip_id: &'a [u8],
    /// Meter serial (238), once personalized.
    pub serial: Option<&'a [u8]>,
    /// Secure clock (232), Unix seconds.
    pub clock: u64,
    /// Transaction sequence number.
    pub sequence: u32,
    /// Postage register (244).
    pub postage: RegisterValues,
    /// Certificate register (250).
    pub certificate: RegisterValues,
    /// Postage piece count (242).
    pub postage_pieces: u32,
    /// Certificate piece count (248).
    pub certificate_pieces: u32,
    /// Owner PIN tries left.
    pub pin_tries: u8,
    /// Whether the meter key pair (246) exists.
    pub meter_key: bool,
    /// Authority public keys installed.
    pub authority_keys: u8,
    /// Certificate slots (252/254).
    pub certificate_slots: Budget,
    /// Persistent memory, bytes.
    pub memory: Budget,
    /// Value loads accepted.
    pub load_count: u32,
    /// Service deadline, Unix seconds (0: none).
    pub deadline: u64,
    /// Postmarks signed.
    pub postmarks: u32,
    /// The owner PIN is still the transport PIN (absent: false).
    pub transport_pin: bool,
    /// The service policy and where the card stands in it, once an
    /// authority contact set one.
    pub service: Option<ServiceStatus>,
    /// Per certificate slot, 0 or the revocation reason + 1 ([`tag::REVOKED`]),
    /// when a certificate is revoked.
    pub revoked: Option<&'a [u8]>,
}

impl<'a> StatusTemplate<'a> {
    /// Writes the template, in the card's field order.
    pub fn write(&self, w: &mut Writer<'_>) -> Result<(), TlvError> {
        w.nested(tag::STATUS, |w| {
            w.put(tag::LIFECYCLE, &[self.lifecycle as u8])?;
            w.put(tag::CHIP_ID, self.chip_id)?;
            if let Some(serial) = self.serial {
                w.put(tag::SERIAL, serial)?;
            }
            w.put_u64(tag::CLOCK, self.clock)?;
            w.put_u32(tag::SEQUENCE, self.sequence)?;
            self.postage.write(w, tag::POSTAGE_REGISTER)?;
            self.certificate.write(w, tag::CERTIFICATE_REGISTER)?;
            w.put_u32(tag::POSTAGE_PIECES, self.postage_pieces)?;
            w.put_u32(tag::CERTIFICATE_PIECES, self.certificate_pieces)?;
            w.put(tag::PIN_TRIES, &[self.pin_tries])?;
            w.put(tag::METER_KEY, &[u8::from(self.meter_key)])?;
            w.put(tag::AUTHORITY_KEYS, &[self.authority_keys])?;
            self.certificate_slots
                .write(w, tag::CERTIFICATE_SLOTS, true)?;
            w.put_u32(tag::LOAD_COUNT, self.load_count)?;
            w.put_u64(tag::DEADLINE, self.deadline)?;
            w.put_u32(tag::POSTMARKS, self.postmarks)?;
            w.put(tag::TRANSPORT_PIN, &[u8::from(self.transport_pin)])?;
            if let Some(service) = &self.service {
                service.write(w)?;
            }
            if let Some(revoked) = self.revoked {
                w.put(tag::REVOKED, revoked)?;
            }
            // Used bytes in the upper half, capacity in the lower.
            self.memory.write(w, tag::MEMORY, false)
        })
    }

    /// Parses a status template. Integers may come in one to eight bytes.
    pub fn parse(input: &'a [u8]) -> Result<Self, FormatError> {
        let c = super::template(input, tag::STATUS)?;
        let u32_field = |t| super::uint(c, t, u64::from(u32::MAX)).map(|v| v as u32);
        let u8_field = |t| super::uint(c, t, u64::from(u8::MAX)).map(|v| v as u8);
        let lifecycle = Lifecycle::from_byte(u8_field(tag::LIFECYCLE)?)
            .ok_or(FormatError::MissingField(tag::LIFECYCLE))?;
        Ok(StatusTemplate {
            lifecycle,
            chip_id: super::field(c, tag::CHIP_ID)?,
            serial: tlv::find(c, tag::SERIAL),
            clock: super::uint(c, tag::CLOCK, u64::MAX)?,
            sequence: u32_field(tag::SEQUENCE)?,
            postage: RegisterValues::parse(c, tag::POSTAGE_REGISTER)?,
            certificate: RegisterValues::parse(c, tag::CERTIFICATE_REGISTER)?,
            postage_pieces: u32_field(tag::POSTAGE_PIECES)?,
            certificate_pieces: u32_field(tag::CERTIFICATE_PIECES)?,
            pin_tries: u8_field(tag::PIN_TRIES)?,
            meter_key: super::uint(c, tag::METER_KEY, u64::MAX)? == 1,
            authority_keys: u8_field(tag::AUTHORITY_KEYS)?,
            certificate_slots: Budget::parse(c, tag::CERTIFICATE_SLOTS)?,
            memory: Budget::parse(c, tag::MEMORY)?,
            load_count: u32_field(tag::LOAD_COUNT)?,
            deadline: super::uint(c, tag::DEADLINE, u64::MAX)?,
            postmarks: u32_field(tag::POSTMARKS)?,
            transport_pin: tlv::find(c, tag::TRANSPORT_PIN) == Some(&[1][..]),
            service: ServiceStatus::parse(c)?,
            revoked: tlv::find(c, tag::REVOKED),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn service() -> impl Strategy<Value = Service> {
        proptest::sample::select(Service::ALL.to_vec())
    }

    fn register() -> impl Strategy<Value = RegisterValues> {
        (any::<u64>(), any::<u64>()).prop_map(|(ascending, descending)| RegisterValues {
            ascending,
            descending,
        })
    }

    fn budget() -> impl Strategy<Value = Budget> {
        prop_oneof![(0u32..256, 0u32..256), (any::<u32>(), any::<u32>())]
            .prop_map(|(used, capacity)| Budget { used, capacity })
    }

    #[test]
    fn byte_enums() {
        assert_eq!(Service::from_byte(3), Some(Service::IssueCertificate));
        assert_eq!(Service::IssueCertificate.name(), "issue-certificate");
        assert_eq!(Service::from_byte(0), None);
        assert_eq!(Service::ALL.len(), 7);
        assert_eq!(
            Lifecycle::ALL,
            [
                Lifecycle::Blank,
                Lifecycle::Personalized,
                Lifecycle::Terminated
            ]
        );
        for l in Lifecycle::ALL {
            assert_eq!(Lifecycle::from_byte(l as u8), Some(l));
        }
    }

    proptest! {
        #[test]
        fn rate_table_round_trip(rates in proptest::collection::vec((service(), any::<u64>()), 0..8)) {
            let mut buf = [0u8; 128];
            let mut w = Writer::new(&mut buf);
            RateTable::write(&mut w, rates.iter().copied()).unwrap();
            let t = RateTable::parse(w.written()).unwrap();
            prop_assert_eq!(t.iter().collect::<Vec<_>>(), rates);
        }

        #[test]
        fn rate_table_parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(t) = RateTable::parse(&bytes) {
                let _ = t.iter().count();
            }
        }

        #[test]
        fn status_round_trip(
            lifecycle in proptest::sample::select(Lifecycle::ALL.to_vec()),
            chip_id in proptest::collection::vec(any::<u8>(), 8),
            serial in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..=16)),
            (clock, sequence, deadline) in (any::<u64>(), any::<u32>(), any::<u64>()),
            (postage, certificate) in (register(), register()),
            (postage_pieces, certificate_pieces, load_count, postmarks) in
                (any::<u32>(), any::<u32>(), any::<u32>(), any::<u32>()),
            (pin_tries, meter_key, authority_keys) in (any::<u8>(), any::<bool>(), any::<u8>()),
            transport_pin in any::<bool>(),
            service in proptest::option::of((any::<u64>(), any::<[u32; 4]>(), 0u8..4)),
            revoked in proptest::option::of(any::<[u8; 4]>()),
            (certificate_slots, memory) in (budget(), budget()),
        ) {
            let s = StatusTemplate {
                lifecycle,
                chip_id: &chip_id,
                serial: serial.as_deref(),
                clock,
                sequence,
                postage,
                certificate,
                postage_pieces,
                certificate_pieces,
                pin_tries,
                meter_key,
                authority_keys,
                certificate_slots,
                memory,
                load_count,
                deadline,
                postmarks,
                transport_pin,
                service: service.map(|(last_contact, [d, g, n, debits], state)| ServiceStatus {
                    last_contact,
                    policy: crate::cmd::sync::ServicePolicy { service_days: d, grace_days: g, max_debits: n },
                    debits,
                    state: ServiceState::from_byte(state).unwrap(),
                }),
                revoked: revoked.as_ref().map(|r| &r[..]),
            };
            let mut buf = [0u8; 256];
            let mut w = Writer::new(&mut buf);
            s.write(&mut w).unwrap();
            prop_assert_eq!(StatusTemplate::parse(w.written()), Ok(s));
        }

        #[test]
        fn status_parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = StatusTemplate::parse(&bytes);
        }
    }
}
