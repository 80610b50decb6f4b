//! The meter's command set: the one definition of CLA, INS, P1/P2 and data
//! object tags that the card ([`Request::parse`]) and the host
//! ([`Request::to_command`]) share. docs/apdu.md documents every command.

use crate::command::{CLA_CHAINING, Command};
use crate::status::StatusWord;

/// The meter application's AID: proprietary RID `F0`, "CERTMETER", version 1.
pub const AID: &[u8] = &[
    0xF0, 0x43, 0x45, 0x52, 0x54, 0x4D, 0x45, 0x54, 0x45, 0x52, 0x01,
];

/// Longest AID SELECT accepts, in bytes (ISO 7816-4: 1 to 16).
pub const AID_MAX_LEN: usize = 16;

/// Interindustry class (ISO commands).
pub const CLA_ISO: u8 = 0x00;
/// Proprietary class (meter commands).
pub const CLA_PROPRIETARY: u8 = 0x80;

/// Whether the meter answers commands of class `cla`, the chaining bit
/// aside: [`CLA_ISO`] and [`CLA_PROPRIETARY`]. Any other class, chained or
/// not, answers 6E00.
pub const fn class_supported(cla: u8) -> bool {
    matches!(cla & !CLA_CHAINING, CLA_ISO | CLA_PROPRIETARY)
}

/// Instruction bytes.
pub mod ins {
    /// SELECT (ISO 7816-4).
    pub const SELECT: u8 = 0xA4;
    /// GET RESPONSE (ISO 7816-4), answered by the card OS.
    pub const GET_RESPONSE: u8 = 0xC0;
    /// VERIFY (ISO 7816-4): the owner PIN.
    pub const VERIFY: u8 = 0x20;
    /// CHANGE REFERENCE DATA (ISO 7816-4): change the owner PIN.
    pub const CHANGE_REFERENCE_DATA: u8 = 0x24;
    /// GET DATA (ISO 7816-4): read a data object.
    pub const GET_DATA: u8 = 0xCA;
    /// GET CHALLENGE (ISO 7816-4): a fresh card nonce.
    pub const GET_CHALLENGE: u8 = 0x84;
    /// GENERATE ASYMMETRIC KEY PAIR (ISO 7816-8): the meter key.
    pub const GENERATE_KEY: u8 = 0x47;
    /// PERSONALIZE (proprietary): install the authority's personalization message.
    pub const PERSONALIZE: u8 = 0xE0;
    /// LOAD VALUE (proprietary): add funds from a signed value message.
    pub const LOAD_VALUE: u8 = 0x52;
    /// HASH (proprietary): start (P1 00) or continue (P1 01) hashing a message on the card.
    pub const HASH: u8 = 0x2A;
    /// POSTMARK (proprietary): charge and sign a postmark over the hashed message (Figure 3).
    pub const POSTMARK: u8 = 0x30;
    /// VERIFY POSTMARK (proprietary): charge and validate a postmark (Figure 4).
    pub const VERIFY_POSTMARK: u8 = 0x32;
    /// READ CERTIFICATE (proprietary): the certificate in slot P1.
    pub const READ_CERTIFICATE: u8 = 0x3C;
    /// Every instruction the meter answers: the ISO ones (CLA 00), then the
    /// proprietary ones (CLA 80).
    pub const ALL: [u8; 13] = [
        SELECT,
        GET_RESPONSE,
        VERIFY,
        CHANGE_REFERENCE_DATA,
        GET_DATA,
        GET_CHALLENGE,
        GENERATE_KEY,
        PERSONALIZE,
        LOAD_VALUE,
        HASH,
        POSTMARK,
        VERIFY_POSTMARK,
        READ_CERTIFICATE,
    ];
}

/// P1 of HASH: start a new message.
pub const HASH_P1_INIT: u8 = 0x00;
/// P1 of HASH: add data to the message.
pub const HASH_P1_UPDATE: u8 = 0x01;
/// The certificate slot that holds the meter certificate.
pub const METER_CERTIFICATE_SLOT: u8 = 0;

/// P2 of VERIFY / CHANGE REFERENCE DATA naming the owner PIN.
pub const PIN_REFERENCE: u8 = 0x81;
/// P1 of GENERATE KEY: generate a new meter key pair.
pub const GENERATE_P1_NEW: u8 = 0x80;
/// P1 of GENERATE KEY: read the existing meter public key.
pub const GENERATE_P1_READ: u8 = 0x81;
/// Shortest owner PIN, in bytes.
pub const PIN_MIN_LEN: usize = 4;
/// Longest owner PIN, in bytes.
pub const PIN_MAX_LEN: usize = 8;
/// Padding of the current PIN in CHANGE REFERENCE DATA.
pub const PIN_PAD: u8 = 0xFF;
/// Shortest CHANGE REFERENCE DATA data: the old PIN padded to
/// [`PIN_MAX_LEN`], then the shortest new PIN.
pub const CHANGE_PIN_MIN_LEN: usize = PIN_MAX_LEN + PIN_MIN_LEN;
/// Longest CHANGE REFERENCE DATA data: the padded old PIN, then the longest
/// new PIN.
pub const CHANGE_PIN_MAX_LEN: usize = 2 * PIN_MAX_LEN;
/// Whether `pin` can be an owner PIN: [`PIN_MIN_LEN`] to [`PIN_MAX_LEN`]
/// bytes without [`PIN_PAD`] (the card could not tell it from padding).
pub fn pin_well_formed(pin: &[u8]) -> bool {
    (PIN_MIN_LEN..=PIN_MAX_LEN).contains(&pin.len()) && !pin.contains(&PIN_PAD)
}
/// Longest meter serial, in bytes (Figure 2, 238).
pub const SERIAL_MAX_LEN: usize = 16;
/// Whether `serial` can be a meter serial: 1 to [`SERIAL_MAX_LEN`]
/// printable ASCII characters without spaces.
pub fn serial_well_formed(serial: &[u8]) -> bool {
    (1..=SERIAL_MAX_LEN).contains(&serial.len()) && serial.iter().all(u8::is_ascii_graphic)
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
/// PIN tries after a successful verification.
pub const PIN_MAX_TRIES: u8 = 3;
/// The PIN of a newly manufactured card.
pub const DEFAULT_PIN: &[u8] = b"123456";
/// Bytes of a GET CHALLENGE nonce.
pub const CHALLENGE_LEN: usize = 16;
/// Length of an uncompressed SEC1 P-256 public key.
pub const PUBLIC_KEY_LEN: usize = 65;

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

    /// VERIFY POSTMARK answer: the verdict template.
    pub const VERDICT_TEMPLATE: Tag = 0xE2;
    /// Inside [`VERDICT_TEMPLATE`]: 0 valid, else [`crate::postmark`] reject code.
    pub const VERDICT: Tag = 0x80;
    /// Inside [`VERDICT_TEMPLATE`]: the fee charged, u64.
    pub const FEE: Tag = 0x81;

    /// Inside a register template: ascending register (total used), u64.
    pub const ASCENDING: Tag = 0x80;
    /// Inside a register template: descending register (funds left), u64.
    pub const DESCENDING: Tag = 0x81;

    /// Inside [`RATE_TABLE`]: one entry, service byte then fee u64.
    pub const RATE: Tag = 0x90;
}

/// The meter's life-cycle state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Lifecycle {
    /// Manufactured: keys may be generated; not yet personalized.
    Blank = 1,
    /// Personalized by the authority: in service.
    Personalized = 2,
    /// Terminated: the application answers only status.
    Terminated = 3,
}

impl Lifecycle {
    /// Decodes the byte stored on the card.
    pub fn from_byte(b: u8) -> Option<Self> {
        match b {
            1 => Some(Self::Blank),
            2 => Some(Self::Personalized),
            3 => Some(Self::Terminated),
            _ => None,
        }
    }

    /// A lower-case name for people.
    pub fn name(self) -> &'static str {
        match self {
            Self::Blank => "blank",
            Self::Personalized => "personalized",
            Self::Terminated => "terminated",
        }
    }
}

/// A value register, as named on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum RegisterId {
    /// Postage register (Figure 2, 244): postage indicia.
    Postage = 1,
    /// Certificate register (250): certificate and security services.
    Certificate = 2,
}

impl RegisterId {
    /// Decodes a register byte.
    pub fn from_byte(b: u8) -> Option<Self> {
        match b {
            1 => Some(Self::Postage),
            2 => Some(Self::Certificate),
            _ => None,
        }
    }

    /// A lower-case name for people.
    pub fn name(self) -> &'static str {
        match self {
            Self::Postage => "postage",
            Self::Certificate => "certificate",
        }
    }
}

/// The services the rate table prices (Figure 2, 257), one byte each on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Service {
    /// Figure 3: sign a cryptographic postmark.
    Postmark = 1,
    /// Figure 4: validate a postmark on the card.
    Verify = 2,
    /// Figure 3A: issue a certificate as an agent.
    IssueCertificate = 3,
    /// Figure 5: install a CA certificate for a key made on the card.
    InstallCertificate = 4,
    /// Figure 6: revoke a certificate.
    Revoke = 5,
    /// A postage indicium (digital token).
    Indicium = 6,
}

impl Service {
    /// Every service, in wire order.
    pub const ALL: [Service; 6] = [
        Service::Postmark,
        Service::Verify,
        Service::IssueCertificate,
        Service::InstallCertificate,
        Service::Revoke,
        Service::Indicium,
    ];

    /// Decodes a service byte.
    pub fn from_byte(b: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|s| *s as u8 == b)
    }

    /// A lower-case name for people.
    pub fn name(self) -> &'static str {
        match self {
            Service::Postmark => "postmark",
            Service::Verify => "verify",
            Service::IssueCertificate => "issue-certificate",
            Service::InstallCertificate => "install-certificate",
            Service::Revoke => "revoke",
            Service::Indicium => "indicium",
        }
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
        [Self::Status, Self::RateTable, Self::PublicKey]
            .into_iter()
            .find(|d| u32::from(d.tag()) == t)
    }
}

/// A command for the meter application, parsed and validated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request<'a> {
    /// SELECT by DF name: `00 A4 04 00|0C Lc AID [Le]`; the host sends `Le` `00`.
    Select {
        /// The AID asked for.
        aid: &'a [u8],
    },
    /// VERIFY: `00 20 00 81 [Lc PIN]`; no data asks for the tries left.
    Verify {
        /// The PIN, or `None` to query the tries left.
        pin: Option<&'a [u8]>,
    },
    /// CHANGE REFERENCE DATA: `00 24 00 81 Lc old||new`.
    ChangePin {
        /// The current PIN padded to [`PIN_MAX_LEN`] bytes with [`PIN_PAD`]
        /// (so its length is not revealed by the split), then the new PIN.
        old_then_new: &'a [u8],
    },
    /// GET DATA: `00 CA P1P2=tag 00`.
    GetData(DataObject),
    /// GET CHALLENGE: `00 84 00 00 10`.
    GetChallenge,
    /// GENERATE ASYMMETRIC KEY PAIR: `00 47 80 00 00` (new) or `00 47 81 00 00` (read).
    GenerateKey {
        /// `true` to generate, `false` to read the existing public key.
        generate: bool,
    },
    /// PERSONALIZE: `80 E0 00 00 00 Lc1 Lc2 7F70...` (the message is always
    /// longer than 255 bytes: extended, or chained short APDUs).
    Personalize {
        /// The personalization message ([`crate::message::Personalization`]).
        message: &'a [u8],
    },
    /// LOAD VALUE: `80 52 00 00 Lc 7F71... 00` (the message fits a short
    /// `Lc`: [`crate::message::VALUE_LOAD_MAX_LEN`]); answers a load receipt.
    LoadValue {
        /// The value load message ([`crate::message::ValueLoad`]).
        message: &'a [u8],
    },
    /// HASH init: `80 2A 00 00`.
    HashInit,
    /// HASH update: `80 2A 01 00 Lc data`, or `80 2A 01 00 00 Lc1 Lc2 data`
    /// over 255 bytes.
    HashUpdate {
        /// The next part of the message.
        data: &'a [u8],
    },
    /// POSTMARK: `80 30 00 00 00`; answers the postmark.
    Postmark,
    /// VERIFY POSTMARK: `80 32 00 00 00 Lc1 Lc2 postmark-file 01 00` (the
    /// file is always longer than 255 bytes, so `Lc` and `Le` are extended);
    /// answers a verdict.
    VerifyPostmark {
        /// A postmark file: postmark then signer certificate.
        file: &'a [u8],
    },
    /// READ CERTIFICATE: `80 3C slot 00 00`.
    ReadCertificate {
        /// The slot.
        slot: u8,
    },
}

impl<'a> Request<'a> {
    /// Parses and fully validates a command for the meter application.
    /// Unknown classes answer 6E00, unknown instructions 6D00, bad P1/P2
    /// 6A86 and bad lengths 6700.
    pub fn parse(cmd: &Command<'a>) -> Result<Self, StatusWord> {
        let cla = cmd.cla & !CLA_CHAINING;
        let (p1, p2) = (cmd.p1, cmd.p2);
        let data = cmd.data;
        match (cla, cmd.ins) {
            (CLA_ISO, ins::SELECT) => {
                if p1 != 0x04 || !matches!(p2, 0x00 | 0x0C) {
                    return Err(StatusWord::INCORRECT_P1P2);
                }
                if data.is_empty() || data.len() > AID_MAX_LEN {
                    return Err(StatusWord::WRONG_LENGTH);
                }
                Ok(Request::Select { aid: data })
            }
            (CLA_ISO, ins::VERIFY) => {
                if (p1, p2) != (0x00, PIN_REFERENCE) {
                    return Err(StatusWord::INCORRECT_P1P2);
                }
                match data.len() {
                    0 => Ok(Request::Verify { pin: None }),
                    PIN_MIN_LEN..=PIN_MAX_LEN => Ok(Request::Verify { pin: Some(data) }),
                    _ => Err(StatusWord::WRONG_LENGTH),
                }
            }
            (CLA_ISO, ins::CHANGE_REFERENCE_DATA) => {
                if (p1, p2) != (0x00, PIN_REFERENCE) {
                    return Err(StatusWord::INCORRECT_P1P2);
                }
                if !(CHANGE_PIN_MIN_LEN..=CHANGE_PIN_MAX_LEN).contains(&data.len()) {
                    return Err(StatusWord::WRONG_LENGTH);
                }
                Ok(Request::ChangePin { old_then_new: data })
            }
            (CLA_ISO, ins::GET_DATA) => {
                let obj =
                    DataObject::from_p1p2(p1, p2).ok_or(StatusWord::REFERENCED_DATA_NOT_FOUND)?;
                no_data(data)?;
                Ok(Request::GetData(obj))
            }
            (CLA_ISO, ins::GET_CHALLENGE) => {
                if (p1, p2) != (0, 0) {
                    return Err(StatusWord::INCORRECT_P1P2);
                }
                no_data(data)?;
                if cmd.le != Some(CHALLENGE_LEN) {
                    return Err(StatusWord::wrong_le(CHALLENGE_LEN));
                }
                Ok(Request::GetChallenge)
            }
            (CLA_ISO, ins::GENERATE_KEY) => {
                let generate = match (p1, p2) {
                    (GENERATE_P1_NEW, 0) => true,
                    (GENERATE_P1_READ, 0) => false,
                    _ => return Err(StatusWord::INCORRECT_P1P2),
                };
                no_data(data)?;
                Ok(Request::GenerateKey { generate })
            }
            (CLA_PROPRIETARY, ins::PERSONALIZE) => {
                p1p2_zero(p1, p2)?;
                some_data(data)?;
                Ok(Request::Personalize { message: data })
            }
            (CLA_PROPRIETARY, ins::LOAD_VALUE) => {
                p1p2_zero(p1, p2)?;
                some_data(data)?;
                Ok(Request::LoadValue { message: data })
            }
            (CLA_PROPRIETARY, ins::HASH) => match (p1, p2) {
                (HASH_P1_INIT, 0) => no_data(data).map(|()| Request::HashInit),
                (HASH_P1_UPDATE, 0) => some_data(data).map(|()| Request::HashUpdate { data }),
                _ => Err(StatusWord::INCORRECT_P1P2),
            },
            (CLA_PROPRIETARY, ins::POSTMARK) => {
                p1p2_zero(p1, p2)?;
                no_data(data)?;
                Ok(Request::Postmark)
            }
            (CLA_PROPRIETARY, ins::VERIFY_POSTMARK) => {
                p1p2_zero(p1, p2)?;
                some_data(data)?;
                Ok(Request::VerifyPostmark { file: data })
            }
            (CLA_PROPRIETARY, ins::READ_CERTIFICATE) => {
                if p2 != 0 {
                    return Err(StatusWord::INCORRECT_P1P2);
                }
                no_data(data)?;
                Ok(Request::ReadCertificate { slot: p1 })
            }
            (CLA_ISO | CLA_PROPRIETARY, _) => Err(StatusWord::INS_NOT_SUPPORTED),
            _ => Err(StatusWord::CLA_NOT_SUPPORTED),
        }
    }

    /// The command APDU for this request, in the shortest form. Requests
    /// with response data ask for up to 256 bytes; longer answers come with
    /// 61xx and GET RESPONSE.
    pub fn to_command(&self) -> Command<'a> {
        let iso = |ins, p1, p2, data: &'a [u8], le| Command::new(CLA_ISO, ins, p1, p2, data, le);
        match *self {
            Request::Select { aid } => iso(ins::SELECT, 0x04, 0x00, aid, Some(256)),
            Request::Verify { pin } => iso(ins::VERIFY, 0, PIN_REFERENCE, pin.unwrap_or(&[]), None),
            Request::ChangePin { old_then_new } => iso(
                ins::CHANGE_REFERENCE_DATA,
                0,
                PIN_REFERENCE,
                old_then_new,
                None,
            ),
            Request::GetData(obj) => {
                let [p1, p2] = obj.tag().to_be_bytes();
                iso(ins::GET_DATA, p1, p2, &[], Some(256))
            }
            Request::GetChallenge => iso(ins::GET_CHALLENGE, 0, 0, &[], Some(CHALLENGE_LEN)),
            Request::GenerateKey { generate } => {
                let p1 = if generate {
                    GENERATE_P1_NEW
                } else {
                    GENERATE_P1_READ
                };
                iso(ins::GENERATE_KEY, p1, 0, &[], Some(256))
            }
            Request::Personalize { message } => prop(ins::PERSONALIZE, 0, message, None),
            Request::LoadValue { message } => prop(ins::LOAD_VALUE, 0, message, Some(256)),
            Request::HashInit => prop(ins::HASH, HASH_P1_INIT, &[], None),
            Request::HashUpdate { data } => prop(ins::HASH, HASH_P1_UPDATE, data, None),
            Request::Postmark => prop(ins::POSTMARK, 0, &[], Some(256)),
            Request::VerifyPostmark { file } => prop(ins::VERIFY_POSTMARK, 0, file, Some(256)),
            Request::ReadCertificate { slot } => prop(ins::READ_CERTIFICATE, slot, &[], Some(256)),
        }
    }
}

fn prop(ins: u8, p1: u8, data: &[u8], le: Option<usize>) -> Command<'_> {
    Command::new(CLA_PROPRIETARY, ins, p1, 0, data, le)
}

fn p1p2_zero(p1: u8, p2: u8) -> Result<(), StatusWord> {
    if (p1, p2) == (0, 0) {
        Ok(())
    } else {
        Err(StatusWord::INCORRECT_P1P2)
    }
}

fn some_data(data: &[u8]) -> Result<(), StatusWord> {
    if data.is_empty() {
        Err(StatusWord::WRONG_LENGTH)
    } else {
        Ok(())
    }
}

fn no_data(data: &[u8]) -> Result<(), StatusWord> {
    if data.is_empty() {
        Ok(())
    } else {
        Err(StatusWord::WRONG_LENGTH)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `ins::ALL` lists exactly the instructions `Request::parse` knows
    /// (GET RESPONSE is the card OS's, not the application's).
    #[test]
    fn all_lists_every_instruction() {
        for ins in 0..=u8::MAX {
            let known = [CLA_ISO, CLA_PROPRIETARY].into_iter().any(|cla| {
                Request::parse(&Command::new(cla, ins, 0, 0, &[], None))
                    != Err(StatusWord::INS_NOT_SUPPORTED)
            });
            let listed = ins::ALL.contains(&ins) && ins != ins::GET_RESPONSE;
            assert_eq!(known, listed, "INS {ins:02X}");
        }
    }

    #[test]
    fn requests_round_trip() {
        let pin = b"123456";
        let both = b"123456\xFF\xFF87654321";
        for r in [
            Request::Select { aid: AID },
            Request::Verify { pin: None },
            Request::Verify { pin: Some(pin) },
            Request::ChangePin { old_then_new: both },
            Request::GetData(DataObject::Status),
            Request::GetData(DataObject::RateTable),
            Request::GetData(DataObject::PublicKey),
            Request::GetChallenge,
            Request::GenerateKey { generate: true },
            Request::GenerateKey { generate: false },
            Request::Personalize { message: both },
            Request::LoadValue { message: both },
            Request::HashInit,
            Request::HashUpdate { data: both },
            Request::Postmark,
            Request::VerifyPostmark { file: both },
            Request::ReadCertificate { slot: 2 },
        ] {
            assert_eq!(Request::parse(&r.to_command()), Ok(r));
        }
    }

    #[test]
    fn precise_status_words() {
        let c = |cla, ins, p1, p2, data: &'static [u8]| Command::new(cla, ins, p1, p2, data, None);
        assert_eq!(
            Request::parse(&c(0x00, 0x01, 0, 0, &[])),
            Err(StatusWord::INS_NOT_SUPPORTED)
        );
        assert_eq!(
            Request::parse(&c(0x80, 0x01, 0, 0, &[])),
            Err(StatusWord::INS_NOT_SUPPORTED)
        );
        assert_eq!(
            Request::parse(&c(0x40, 0xA4, 4, 0, AID)),
            Err(StatusWord::CLA_NOT_SUPPORTED)
        );
        assert_eq!(
            Request::parse(&c(0x00, 0xA4, 0, 0, AID)),
            Err(StatusWord::INCORRECT_P1P2)
        );
        assert_eq!(
            Request::parse(&c(0x00, 0x20, 0, 0x81, b"12")),
            Err(StatusWord::WRONG_LENGTH)
        );
        assert_eq!(
            Request::parse(&c(0x00, 0xCA, 0, 0x42, &[])),
            Err(StatusWord::REFERENCED_DATA_NOT_FOUND)
        );
        assert_eq!(
            Request::parse(&c(0x00, 0xCA, 0, 0xE0, &[1])),
            Err(StatusWord::WRONG_LENGTH)
        );
    }
}
