//! Messages between the authority (Figure 2, remote facility 222) and the
//! card. Every message that changes the card is signed by the authority,
//! bound to this card (chip id and serial) and usable once (a card
//! challenge, or the next load number).
//!
//! ```text
//! 7F70 personalization                     authority -> card, once, blank card
//!   7F4E { 81 chip id, 82 card challenge, 5F20 serial,
//!          7F49 { 86 authority public key }, E1 rate table { 90 service||fee ... },
//!          83 time, 84 service deadline, 7F21 meter certificate }
//!   5F37 signature by the authority key it carries
//!
//! 7F71 value load                          authority -> card
//!   7F4E { 81 chip id, 5F20 serial, 85 load number (card's count + 1),
//!          87 register, 88 amount, 83 time, 84 new service deadline }
//!   5F37 authority signature
//!
//! 7F72 load receipt                        card -> authority
//!   7F4E { 5F20 serial, 85 load number, 87 register, 88 amount,
//!          89 ascending, 8A descending, 83 time }
//!   5F37 meter signature
//! ```

use crate::cert::{self, Certificate};
use crate::meter::{RegisterId, tag as meter_tag};
use crate::signed::{FormatError, Signed};
use crate::tlv::Tag;

/// Personalization message.
pub const PERSONALIZATION: Tag = 0x7F70;
/// Value load message.
pub const VALUE_LOAD: Tag = 0x7F71;
/// Load receipt.
pub const LOAD_RECEIPT: Tag = 0x7F72;

/// Chip identifier (8 bytes).
pub const CHIP_ID: Tag = 0x81;
/// Card challenge (16 bytes).
pub const CHALLENGE: Tag = 0x82;
/// Authority time, Unix seconds (u64).
pub const TIME: Tag = 0x83;
/// Service deadline, Unix seconds (u64): debits stop after it.
pub const DEADLINE: Tag = 0x84;
/// Load number (u32).
pub const LOAD_NUMBER: Tag = 0x85;
/// Register (one byte, [`RegisterId`]).
pub const REGISTER: Tag = 0x87;
/// Amount, minor units (u64).
pub const AMOUNT: Tag = 0x88;
/// Ascending register (u64).
pub const ASCENDING: Tag = 0x89;
/// Descending register (u64).
pub const DESCENDING: Tag = 0x8A;

/// Longest value load message ([`VALUE_LOAD`]): 142 bytes, with a serial of
/// [`SERIAL_MAX_LEN`](crate::meter::SERIAL_MAX_LEN) bytes. It fits a short
/// `Lc`, so the host never sends LOAD VALUE extended or chained.
pub const VALUE_LOAD_MAX_LEN: usize = {
    use crate::meter::SERIAL_MAX_LEN;
    use crate::signed::SIGNATURE_LEN;
    // 81 chip id, 5F20 serial, 85 load number, 87 register, 88 amount,
    // 83 time, 84 deadline: tag, one length byte, value.
    let body = (1 + 1 + 8) + (2 + 1 + SERIAL_MAX_LEN) + (1 + 1 + 4) + (1 + 1 + 1) + 3 * (1 + 1 + 8);
    assert!(body < 0x80);
    // 7F4E body (one length byte), 5F37 signature (one length byte).
    let content = (2 + 1 + body) + (2 + 1 + SIGNATURE_LEN);
    assert!(content >= 0x80 && content <= 0xFF);
    // 7F71 81 content.
    2 + 2 + content
};
const _: () = assert!(VALUE_LOAD_MAX_LEN <= crate::command::SHORT_MAX_NC);

/// A parsed personalization message.
#[derive(Clone, Copy, Debug)]
pub struct Personalization<'a> {
    /// The signed object.
    pub signed: Signed<'a>,
    /// The card it is for.
    pub chip_id: &'a [u8; 8],
    /// The card challenge it answers.
    pub challenge: &'a [u8; 16],
    /// The meter serial to install.
    pub serial: &'a [u8],
    /// The authority public key to install.
    pub authority_key: &'a [u8; 65],
    /// The rate table: entries of service byte then fee u64.
    pub rates: &'a [u8],
    /// Authority time.
    pub time: u64,
    /// Service deadline.
    pub deadline: u64,
    /// The meter certificate.
    pub certificate: Certificate<'a>,
}

impl<'a> Personalization<'a> {
    /// Parses a personalization message.
    pub fn parse(input: &'a [u8]) -> Result<Self, FormatError> {
        let signed = Signed::parse(input, PERSONALIZATION)?;
        let authority_key = signed
            .nested(cert::PUBLIC_KEY, cert::EC_POINT)?
            .try_into()
            .map_err(|_| FormatError::MissingField(cert::EC_POINT))?;
        let rates = signed.field(meter_tag::RATE_TABLE)?;
        crate::tlv::validate(rates).map_err(|_| FormatError::Malformed)?;
        let certificate = crate::tlv::find_object(signed.fields, cert::CERTIFICATE)
            .ok_or(FormatError::MissingField(cert::CERTIFICATE))
            .and_then(Certificate::parse)?;
        Ok(Personalization {
            signed,
            chip_id: signed.array::<8>(CHIP_ID)?,
            challenge: signed.array::<16>(CHALLENGE)?,
            serial: signed.field(cert::HOLDER)?,
            authority_key,
            rates,
            time: signed.uint::<8>(TIME)?,
            deadline: signed.uint::<8>(DEADLINE)?,
            certificate,
        })
    }
}

/// A parsed value load.
#[derive(Clone, Copy, Debug)]
pub struct ValueLoad<'a> {
    /// The signed object.
    pub signed: Signed<'a>,
    /// The card it is for.
    pub chip_id: &'a [u8; 8],
    /// The meter serial it is for.
    pub serial: &'a [u8],
    /// Load number: the card accepts only its count + 1.
    pub number: u32,
    /// Which register.
    pub register: RegisterId,
    /// Amount to add, minor units.
    pub amount: u64,
    /// Authority time.
    pub time: u64,
    /// The new service deadline.
    pub deadline: u64,
}

impl<'a> ValueLoad<'a> {
    /// Parses a value load.
    pub fn parse(input: &'a [u8]) -> Result<Self, FormatError> {
        let signed = Signed::parse(input, VALUE_LOAD)?;
        Ok(ValueLoad {
            signed,
            chip_id: signed.array::<8>(CHIP_ID)?,
            serial: signed.field(cert::HOLDER)?,
            number: signed.uint::<4>(LOAD_NUMBER)? as u32,
            register: RegisterId::from_byte(signed.uint::<1>(REGISTER)? as u8)
                .ok_or(FormatError::MissingField(REGISTER))?,
            amount: signed.uint::<8>(AMOUNT)?,
            time: signed.uint::<8>(TIME)?,
            deadline: signed.uint::<8>(DEADLINE)?,
        })
    }
}

/// A parsed load receipt.
#[derive(Clone, Copy, Debug)]
pub struct LoadReceipt<'a> {
    /// The signed object.
    pub signed: Signed<'a>,
    /// Meter serial.
    pub serial: &'a [u8],
    /// Load number.
    pub number: u32,
    /// Register.
    pub register: RegisterId,
    /// Amount added.
    pub amount: u64,
    /// Ascending register after the load.
    pub ascending: u64,
    /// Descending register after the load.
    pub descending: u64,
    /// Card time.
    pub time: u64,
}

impl<'a> LoadReceipt<'a> {
    /// Parses a load receipt.
    pub fn parse(input: &'a [u8]) -> Result<Self, FormatError> {
        let signed = Signed::parse(input, LOAD_RECEIPT)?;
        Ok(LoadReceipt {
            signed,
            serial: signed.field(cert::HOLDER)?,
            number: signed.uint::<4>(LOAD_NUMBER)? as u32,
            register: RegisterId::from_byte(signed.uint::<1>(REGISTER)? as u8)
                .ok_or(FormatError::MissingField(REGISTER))?,
            amount: signed.uint::<8>(AMOUNT)?,
            ascending: signed.uint::<8>(ASCENDING)?,
            descending: signed.uint::<8>(DESCENDING)?,
            time: signed.uint::<8>(TIME)?,
        })
    }
}
