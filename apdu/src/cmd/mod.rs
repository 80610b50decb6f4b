//! The meter's command set, one module per flow. Each module holds its
//! instruction and parameter bytes, the parsing and encoding of its command
//! (one arm of [`Request`]), its answer types with a heap-free encoder
//! beside their parser, and the signed messages it carries.
//!
//! | module | command | answer |
//! | --- | --- | --- |
//! | [`select`] | SELECT `00 A4` | FCI |
//! | [`pin`] | VERIFY `00 20`, CHANGE REFERENCE DATA `00 24` | - |
//! | [`get_data`] | GET DATA `00 CA` | status template, rate table, public key |
//! | [`challenge`] | GET CHALLENGE `00 84` | nonce |
//! | [`generate_key`] | GENERATE ASYMMETRIC KEY PAIR `00 47` | public key template |
//! | [`personalize`] | PERSONALIZE `80 E0` (personalization message) | - |
//! | [`load_value`] | LOAD VALUE `80 52` (value load message) | load receipt |
//! | [`hash`] | HASH `80 2A` | - |
//! | [`postmark`] | POSTMARK `80 30` | postmark (Figure 3) |
//! | [`postage`] | POSTAGE `80 34` (request) | postage indicium `7F66` |
//! | [`verify_postmark`] | VERIFY POSTMARK `80 32` (postmark file) | verdict template |
//! | [`read_certificate`] | READ CERTIFICATE `80 3C` | certificate ([`crate::cert`]) |
//! | [`issue_certificate`] | ISSUE CERTIFICATE `80 36` (request) | agent certificate, sealed key (Figure 3A) |
//! | [`install`] | INSTALL KEY / INSTALL CERTIFICATE `80 EC` | sealed request `7F79`, sealed slot |
//! | [`channel`] | CHANNEL KEY `80 E6`, OPEN CHANNEL `80 E8`, CHANNEL MESSAGE `80 EA` | registration `7F78`, request `7F77`, sealed answer |
//! | [`credit_line`] | STORE CREDIT LINE `80 48 00`, READ CREDIT LINE `80 48 01` | - , the line and its state (Figure 8) |
//! | [`pay`] | PAY `80 4A` (request) | payment certificate `7F69` (Figure 9) |
//! | [`recharge`] | RECHARGE REQUEST `80 56` | recharge request `7F61` (answered by LOAD VALUE) |
//! | [`rate_update`] | RATE UPDATE `80 58` (rate update `7F62`) | - |
//! | [`audit`] | AUDIT `80 5A` | audit report `7F63` |
//!
//! [`crate::meter`] re-exports all of it under its historical names.

use crate::command::{CLA_CHAINING, Command};
use crate::status::StatusWord;

pub mod attestation;
pub mod audit;
pub mod challenge;
pub mod channel;
pub mod credit_line;
pub mod generate_key;
pub mod get_data;
pub mod hash;
pub mod install;
pub mod issue_certificate;
pub mod key_update;
pub mod load_value;
pub mod pay;
pub mod personalize;
pub mod pin;
pub mod postage;
pub mod postmark;
pub mod rate_update;
pub mod read_certificate;
pub mod recharge;
pub mod revoke;
pub mod select;
pub mod sync;
pub mod unblock;
pub mod verify_postmark;

pub use crate::signed::FormatError;
pub use get_data::DataObject;

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

/// GET RESPONSE (ISO 7816-4), answered by the card OS, not the application.
pub const INS_GET_RESPONSE: u8 = 0xC0;

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
        /// The current PIN padded to [`pin::PIN_MAX_LEN`] bytes with
        /// [`pin::PIN_PAD`] (so its length is not revealed by the split),
        /// then the new PIN.
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
        /// The personalization message ([`personalize::Personalization`]).
        message: &'a [u8],
    },
    /// LOAD VALUE: `80 52 00 00 Lc 7F71... 00` (the message fits a short
    /// `Lc`: [`crate::message::VALUE_LOAD_MAX_LEN`]); answers a load receipt.
    LoadValue {
        /// The value load message ([`load_value::ValueLoad`]).
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
    /// POSTAGE: a postage indicium ([`postage::PostageRequest`], checked by the card).
    Postage {
        /// The request's data.
        request: &'a [u8],
    },
    /// VERIFY POSTMARK: `80 32 00 00 00 Lc1 Lc2 postmark-file 01 00` (the
    /// file is always longer than 255 bytes, so `Lc` and `Le` are extended);
    /// answers a verdict.
    VerifyPostmark {
        /// A postmark file: postmark then signer certificate; then, when
        /// `with_crl`, the authority's revocation list.
        file: &'a [u8],
        /// P1 = 01: a revocation list follows the file.
        with_crl: bool,
    },
    /// READ CERTIFICATE: `80 3C slot 00 00`.
    ReadCertificate {
        /// The slot.
        slot: u8,
    },
    /// STORE ATTESTATION CERTIFICATE: `80 E2 00 00 Lc 7F21...` (at the
    /// factory, once).
    StoreAttestation {
        /// The attestation certificate by the issuer root.
        certificate: &'a [u8],
    },
    /// READ ATTESTATION: `80 E4 00 00 00`; answers the attestation key and
    /// certificate (`E3`).
    ReadAttestation,
    /// ATTEST: `80 E4 01 00 10 nonce 00`; answers the attestation statement
    /// over the meter key and the nonce, then the attestation certificate.
    Attest {
        /// The authority's nonce.
        nonce: &'a [u8; attestation::NONCE_LEN],
    },
    /// SYNC: `80 54 00 00 Lc 7F75...`, the authority's signed time and
    /// service policy ([`sync::Sync`]), a contact that does nothing else.
    Sync {
        /// The sync message.
        message: &'a [u8],
    },
    /// RESET RETRY COUNTER: `00 2C 00 81 Lc message||PIN`, the authority's
    /// unblock message ([`unblock::Unblock`]) then the new owner PIN.
    Unblock {
        /// The message, then the new PIN.
        message_then_pin: &'a [u8],
    },
    /// ISSUE CERTIFICATE: `80 36 00 00 Lc request 00` (Figure 3A), the
    /// request of [`issue_certificate::IssueRequest`]; answers the agent
    /// certificate and the sealed private key.
    IssueCertificate {
        /// The request's data.
        request: &'a [u8],
    },
    /// REVOKE REQUEST: `80 3E slot reason 00`; answers the card's signed
    /// revocation request ([`revoke::RevocationRequest`], Figure 6, 602).
    RevokeRequest {
        /// The certificate slot.
        slot: u8,
        /// RFC 5280 reason code.
        reason: u8,
    },
    /// REVOKE: `80 40 00 00 Lc 7F7D... 00`, the authority's revocation
    /// message ([`revoke::RevocationMessage`]); answers the card's
    /// confirmation ([`revoke::RevocationConfirmation`]).
    Revoke {
        /// The revocation message.
        message: &'a [u8],
    },
    /// KEY UPDATE: `80 42 00 00 Lc 7F51...`, the next authority key
    /// ([`key_update::KeyUpdate`]), signed by the current one.
    KeyUpdate {
        /// The key update message.
        message: &'a [u8],
    },
    /// CHANNEL KEY: the channel key registration over the authority's nonce.
    ChannelKey {
        /// The authority's nonce.
        nonce: &'a [u8; channel::NONCE_LEN],
    },
    /// OPEN CHANNEL: a fresh handshake (the channel request).
    OpenChannel,
    /// CHANNEL HELLO: the authority's hello opens the channel.
    ChannelHello {
        /// The hello `7F76`.
        hello: &'a [u8],
    },
    /// CHANNEL MESSAGE: a sealed message from the authority.
    ChannelMessage {
        /// `counter || ciphertext || tag`.
        sealed: &'a [u8],
    },
    /// INSTALL KEY (Figure 5, 504-512): a sealed key request.
    InstallKey {
        /// `counter || ciphertext || tag`.
        sealed: &'a [u8],
    },
    /// INSTALL CERTIFICATE (Figure 5, 518-520): a sealed certificate.
    InstallCertificate {
        /// `counter || ciphertext || tag`.
        sealed: &'a [u8],
    },
    /// RECHARGE REQUEST: `80 56 register 00 08 amount 00`; answers the
    /// card's signed recharge request ([`recharge::RechargeRequest`]).
    RechargeRequest {
        /// The register to load.
        register: load_value::RegisterId,
        /// The amount asked for, big-endian minor units.
        amount: &'a [u8; 8],
    },
    /// RATE UPDATE: `80 58 00 00 Lc 7F62...`, the authority's versioned
    /// rate table ([`rate_update::RateUpdate`]).
    RateUpdate {
        /// The rate update message.
        message: &'a [u8],
    },
    /// AUDIT: `80 5A 00 00 00`; answers the card's signed, chained audit
    /// report ([`audit::AuditReport`]).
    Audit,
    /// SIGN: a digest signed with an installed holder key (P1 `02`), or
    /// AUTHENTICATE: a challenge answered with it (P1 `03`).
    Sign {
        /// The certificate slot.
        slot: u8,
        /// The SHA-256 digest, or the challenge.
        digest: &'a [u8; install::DIGEST_LEN],
        /// AUTHENTICATE: the certificate must allow AUTHENTICATION, and
        /// the card signs [`install::authentication_digest`] of `digest`.
        authenticate: bool,
    },
    /// STORE CREDIT LINE: `80 48 00 00 Lc 7F6B...7F68...` (Figure 8,
    /// 810/812), the creditor certificate then the line of credit
    /// ([`credit_line::LineFile`]).
    StoreCreditLine {
        /// The creditor certificate, then the 7A.
        file: &'a [u8],
    },
    /// READ CREDIT LINE: `80 48 01 00 00`; answers the line stored and its
    /// state ([`credit_line::parse_read_answer`]).
    ReadCreditLine,
    /// PAY: `80 4A 00 00 Lc request 00` (Figure 9), the request of
    /// [`pay::PayRequest`]; answers the payment certificate (7B).
    Pay {
        /// The request's data.
        request: &'a [u8],
    },
}

/// One request of every variant (both forms where P1 or a flag makes two:
/// GENERATE KEY, HASH, GET DATA's objects, VERIFY POSTMARK with and without
/// a list, SIGN and AUTHENTICATE), with placeholder data that is not a
/// valid message: for tests that must cover every command (the access
/// policy's documented table, the docs' sections).
pub const EXAMPLES: &[Request<'static>] = &[
    Request::Select {
        aid: crate::meter::AID,
    },
    Request::Verify { pin: None },
    Request::ChangePin {
        old_then_new: &[0xFF; crate::meter::CHANGE_PIN_MIN_LEN],
    },
    Request::GetData(DataObject::Status),
    Request::GetChallenge,
    Request::GenerateKey { generate: true },
    Request::GenerateKey { generate: false },
    Request::Personalize { message: b"m" },
    Request::LoadValue { message: b"m" },
    Request::HashInit,
    Request::HashUpdate { data: b"d" },
    Request::Postmark,
    Request::Postage { request: b"r" },
    Request::VerifyPostmark {
        file: b"f",
        with_crl: false,
    },
    Request::VerifyPostmark {
        file: b"f",
        with_crl: true,
    },
    Request::ReadCertificate { slot: 0 },
    Request::StoreAttestation { certificate: b"c" },
    Request::ReadAttestation,
    Request::Attest {
        nonce: &[0; attestation::NONCE_LEN],
    },
    Request::Sync { message: b"m" },
    Request::RevokeRequest { slot: 0, reason: 0 },
    Request::Revoke { message: b"m" },
    Request::KeyUpdate { message: b"m" },
    Request::Unblock {
        message_then_pin: b"m",
    },
    Request::IssueCertificate { request: b"r" },
    Request::ChannelKey { nonce: &[0; 16] },
    Request::OpenChannel,
    Request::ChannelHello { hello: b"h" },
    Request::ChannelMessage { sealed: b"s" },
    Request::InstallKey { sealed: b"s" },
    Request::InstallCertificate { sealed: b"s" },
    Request::Sign {
        slot: 1,
        digest: &[0; 32],
        authenticate: false,
    },
    Request::Sign {
        slot: 1,
        digest: &[0; 32],
        authenticate: true,
    },
    Request::StoreCreditLine { file: b"f" },
    Request::Pay { request: b"r" },
    Request::RechargeRequest {
        register: load_value::RegisterId::Postage,
        amount: &[0; 8],
    },
    Request::RateUpdate { message: b"m" },
    Request::Audit,
    Request::ReadCreditLine,
];

impl<'a> Request<'a> {
    /// Parses and fully validates a command for the meter application.
    /// Unknown classes answer 6E00, unknown instructions 6D00, bad P1/P2
    /// 6A86 and bad lengths 6700.
    pub fn parse(cmd: &Command<'a>) -> Result<Self, StatusWord> {
        let cla = cmd.cla & !CLA_CHAINING;
        match (cla, cmd.ins) {
            (CLA_ISO, select::INS) => select::parse(cmd),
            (CLA_ISO, pin::INS_VERIFY) => pin::parse_verify(cmd),
            (CLA_ISO, pin::INS_CHANGE) => pin::parse_change(cmd),
            (CLA_ISO, get_data::INS) => get_data::parse(cmd),
            (CLA_ISO, challenge::INS) => challenge::parse(cmd),
            (CLA_ISO, generate_key::INS) => generate_key::parse(cmd),
            (CLA_ISO, unblock::INS) => unblock::parse(cmd),
            (CLA_PROPRIETARY, personalize::INS) => personalize::parse(cmd),
            (CLA_PROPRIETARY, load_value::INS) => load_value::parse(cmd),
            (CLA_PROPRIETARY, hash::INS) => hash::parse(cmd),
            (CLA_PROPRIETARY, postmark::INS) => postmark::parse(cmd),
            (CLA_PROPRIETARY, postage::INS) => postage::parse(cmd),
            (CLA_PROPRIETARY, verify_postmark::INS) => verify_postmark::parse(cmd),
            (CLA_PROPRIETARY, read_certificate::INS) => read_certificate::parse(cmd),
            (CLA_PROPRIETARY, attestation::INS_STORE) => attestation::parse_store(cmd),
            (CLA_PROPRIETARY, sync::INS) => sync::parse(cmd),
            (CLA_PROPRIETARY, attestation::INS_ATTEST) => attestation::parse_attest(cmd),
            (CLA_PROPRIETARY, issue_certificate::INS) => issue_certificate::parse(cmd),
            (CLA_PROPRIETARY, revoke::INS_REQUEST) => revoke::parse_request(cmd),
            (CLA_PROPRIETARY, revoke::INS_REVOKE) => revoke::parse_revoke(cmd),
            (CLA_PROPRIETARY, key_update::INS) => key_update::parse(cmd),
            (CLA_PROPRIETARY, channel::INS_KEY) => channel::parse_key(cmd),
            (CLA_PROPRIETARY, channel::INS_OPEN) => channel::parse_open(cmd),
            (CLA_PROPRIETARY, channel::INS_MESSAGE) => channel::parse_message(cmd),
            (CLA_PROPRIETARY, install::INS) => install::parse(cmd),
            (CLA_PROPRIETARY, credit_line::INS) => credit_line::parse(cmd),
            (CLA_PROPRIETARY, pay::INS) => pay::parse(cmd),
            (CLA_PROPRIETARY, recharge::INS) => recharge::parse(cmd),
            (CLA_PROPRIETARY, rate_update::INS) => rate_update::parse(cmd),
            (CLA_PROPRIETARY, audit::INS) => audit::parse(cmd),
            (CLA_ISO | CLA_PROPRIETARY, _) => Err(StatusWord::INS_NOT_SUPPORTED),
            _ => Err(StatusWord::CLA_NOT_SUPPORTED),
        }
    }

    /// The command APDU for this request, in the shortest form. Requests
    /// with response data ask for up to 256 bytes; longer answers come with
    /// 61xx and GET RESPONSE.
    pub fn to_command(&self) -> Command<'a> {
        match *self {
            Request::Select { aid } => select::command(aid),
            Request::Verify { pin } => pin::verify_command(pin),
            Request::ChangePin { old_then_new } => pin::change_command(old_then_new),
            Request::GetData(obj) => get_data::command(obj),
            Request::GetChallenge => challenge::command(),
            Request::GenerateKey { generate } => generate_key::command(generate),
            Request::Personalize { message } => personalize::command(message),
            Request::LoadValue { message } => load_value::command(message),
            Request::HashInit => hash::init_command(),
            Request::HashUpdate { data } => hash::update_command(data),
            Request::Postmark => postmark::command(),
            Request::Postage { request } => postage::command(request),
            Request::VerifyPostmark { file, with_crl } => verify_postmark::command(file, with_crl),
            Request::ReadCertificate { slot } => read_certificate::command(slot),
            Request::StoreAttestation { certificate } => attestation::store_command(certificate),
            Request::ReadAttestation => attestation::read_command(),
            Request::Attest { nonce } => attestation::attest_command(nonce),
            Request::Unblock { message_then_pin } => unblock::command(message_then_pin),
            Request::Sync { message } => sync::command(message),
            Request::IssueCertificate { request } => issue_certificate::command(request),
            Request::RevokeRequest { slot, reason } => revoke::request_command(slot, reason),
            Request::Revoke { message } => revoke::revoke_command(message),
            Request::KeyUpdate { message } => key_update::command(message),
            Request::ChannelKey { nonce } => channel::key_command(nonce),
            Request::OpenChannel => channel::open_command(),
            Request::ChannelHello { hello } => channel::hello_command(hello),
            Request::ChannelMessage { sealed } => channel::message_command(sealed),
            Request::InstallKey { sealed } => install::key_command(sealed),
            Request::InstallCertificate { sealed } => install::certificate_command(sealed),
            Request::Sign {
                slot,
                digest,
                authenticate,
            } => install::sign_command(slot, digest, authenticate),
            Request::StoreCreditLine { file } => credit_line::store_command(file),
            Request::ReadCreditLine => credit_line::read_command(),
            Request::Pay { request } => pay::command(request),
            Request::RechargeRequest { register, amount } => recharge::command(register, amount),
            Request::RateUpdate { message } => rate_update::command(message),
            Request::Audit => audit::command(),
        }
    }

    /// The command's name for people, as test vectors and logs describe it
    /// ("SELECT the meter application", "HASH update, 40 bytes",
    /// "READ CERTIFICATE slot 0"...). Heap-free: format it with `{}`.
    pub fn name(&self) -> Name<'a> {
        Name(*self)
    }
}

/// [`Request::name`]: a request's name for people, written by [`Display`](core::fmt::Display).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Name<'a>(Request<'a>);

impl core::fmt::Display for Name<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self.0 {
            Request::Select { .. } => "SELECT the meter application",
            Request::Verify { pin: Some(_) } => "VERIFY the owner PIN",
            Request::Verify { pin: None } => "VERIFY: owner PIN state",
            Request::ChangePin { .. } => "CHANGE REFERENCE DATA",
            Request::GetData(DataObject::Status) => "GET DATA status",
            Request::GetData(DataObject::RateTable) => "GET DATA rate table",
            Request::GetData(DataObject::PublicKey) => "GET DATA meter public key",
            Request::GetChallenge => "GET CHALLENGE",
            Request::GenerateKey { generate: true } => "GENERATE ASYMMETRIC KEY PAIR",
            Request::GenerateKey { generate: false } => "GENERATE KEY: read the public key",
            Request::Personalize { .. } => "PERSONALIZE",
            Request::LoadValue { .. } => "LOAD VALUE",
            Request::HashInit => "HASH init",
            Request::HashUpdate { data } => {
                return write!(f, "HASH update, {} bytes", data.len());
            }
            Request::Postmark => "POSTMARK",
            Request::Postage { .. } => "POSTAGE",
            Request::VerifyPostmark { .. } => "VERIFY POSTMARK",
            Request::ReadCertificate { slot } => {
                return write!(f, "READ CERTIFICATE slot {slot}");
            }
            Request::StoreAttestation { .. } => "STORE ATTESTATION CERTIFICATE",
            Request::ReadAttestation => "READ ATTESTATION",
            Request::Attest { .. } => "ATTEST the meter key",
            Request::Unblock { .. } => "RESET RETRY COUNTER",
            Request::Sync { .. } => "SYNC",
            Request::IssueCertificate { .. } => "ISSUE CERTIFICATE",
            Request::RevokeRequest { slot, reason } => {
                return write!(f, "REVOKE REQUEST slot {slot} reason {reason}");
            }
            Request::Revoke { .. } => "REVOKE",
            Request::KeyUpdate { .. } => "KEY UPDATE",
            Request::ChannelKey { .. } => "CHANNEL KEY registration",
            Request::OpenChannel => "OPEN CHANNEL",
            Request::ChannelHello { .. } => "CHANNEL HELLO",
            Request::ChannelMessage { .. } => "CHANNEL MESSAGE",
            Request::InstallKey { .. } => "INSTALL KEY",
            Request::InstallCertificate { .. } => "INSTALL CERTIFICATE",
            Request::Sign {
                slot,
                authenticate: false,
                ..
            } => {
                return write!(f, "SIGN with the key of slot {slot}");
            }
            Request::Sign {
                slot,
                authenticate: true,
                ..
            } => {
                return write!(f, "AUTHENTICATE with the key of slot {slot}");
            }
            Request::StoreCreditLine { .. } => "STORE CREDIT LINE",
            Request::ReadCreditLine => "READ CREDIT LINE",
            Request::Pay { .. } => "PAY",
            Request::RechargeRequest { register, .. } => {
                return write!(f, "RECHARGE REQUEST, {} register", register.name());
            }
            Request::RateUpdate { .. } => "RATE UPDATE",
            Request::Audit => "AUDIT",
        })
    }
}

pub(crate) fn iso<'a>(ins: u8, p1: u8, p2: u8, data: &'a [u8], le: Option<usize>) -> Command<'a> {
    Command::new(CLA_ISO, ins, p1, p2, data, le)
}

pub(crate) fn prop(ins: u8, p1: u8, data: &[u8], le: Option<usize>) -> Command<'_> {
    Command::new(CLA_PROPRIETARY, ins, p1, 0, data, le)
}

pub(crate) fn p1p2_zero(cmd: &Command<'_>) -> Result<(), StatusWord> {
    if (cmd.p1, cmd.p2) == (0, 0) {
        Ok(())
    } else {
        Err(StatusWord::INCORRECT_P1P2)
    }
}

pub(crate) fn some_data(data: &[u8]) -> Result<(), StatusWord> {
    if data.is_empty() {
        Err(StatusWord::WRONG_LENGTH)
    } else {
        Ok(())
    }
}

pub(crate) fn no_data(data: &[u8]) -> Result<(), StatusWord> {
    if data.is_empty() {
        Ok(())
    } else {
        Err(StatusWord::WRONG_LENGTH)
    }
}

/// Reads the one object `tag` that is the whole of `input` and returns its
/// value, checked to be well-formed BER-TLV objects.
pub(crate) fn template(input: &[u8], tag: crate::tlv::Tag) -> Result<&[u8], FormatError> {
    let (t, rest) = crate::tlv::read(input).map_err(|_| FormatError::Malformed)?;
    if t.tag != tag {
        return Err(FormatError::WrongType);
    }
    if !rest.is_empty() {
        return Err(FormatError::Malformed);
    }
    crate::tlv::validate(t.value).map_err(|_| FormatError::Malformed)?;
    Ok(t.value)
}

/// A mandatory primitive field among `fields`.
pub(crate) fn field(fields: &[u8], tag: crate::tlv::Tag) -> Result<&[u8], FormatError> {
    crate::tlv::find(fields, tag).ok_or(FormatError::MissingField(tag))
}

/// A mandatory unsigned field of one to eight bytes, at most `max`.
pub(crate) fn uint(fields: &[u8], tag: crate::tlv::Tag, max: u64) -> Result<u64, FormatError> {
    field(fields, tag)
        .ok()
        .and_then(crate::tlv::as_u64)
        .filter(|v| *v <= max)
        .ok_or(FormatError::MissingField(tag))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meter::{AID, ins};
    use proptest::prelude::*;

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
            Request::Select {
                aid: crate::meter::AID,
            },
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
            Request::Postage { request: both },
            Request::VerifyPostmark {
                file: both,
                with_crl: false,
            },
            Request::VerifyPostmark {
                file: both,
                with_crl: true,
            },
            Request::ReadCertificate { slot: 2 },
            Request::StoreAttestation { certificate: both },
            Request::ReadAttestation,
            Request::Attest { nonce: &[7; 16] },
            Request::Unblock {
                message_then_pin: both,
            },
            Request::Sync { message: both },
            Request::IssueCertificate { request: both },
            Request::ChannelKey { nonce: &[9; 16] },
            Request::OpenChannel,
            Request::ChannelHello { hello: both },
            Request::ChannelMessage { sealed: both },
            Request::InstallKey { sealed: both },
            Request::InstallCertificate { sealed: both },
            Request::Sign {
                slot: 1,
                digest: &[3; 32],
                authenticate: false,
            },
            Request::Sign {
                slot: 1,
                digest: &[3; 32],
                authenticate: true,
            },
            Request::StoreCreditLine { file: both },
            Request::ReadCreditLine,
            Request::Pay { request: both },
        ] {
            assert_eq!(Request::parse(&r.to_command()), Ok(r));
        }
    }

    #[test]
    fn names() {
        let name = |r: Request<'_>| r.name().to_string();
        assert_eq!(
            name(Request::Select { aid: AID }),
            "SELECT the meter application"
        );
        assert_eq!(
            name(Request::HashUpdate { data: &[0; 40] }),
            "HASH update, 40 bytes"
        );
        assert_eq!(
            name(Request::ReadCertificate { slot: 3 }),
            "READ CERTIFICATE slot 3"
        );
        assert_eq!(
            name(Request::GetData(DataObject::PublicKey)),
            "GET DATA meter public key"
        );
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

    /// The request of kind `kind` (0..24) over `data` (16 bytes or more, no FF).
    fn request(kind: u8, data: &[u8], n: u8) -> Request<'_> {
        let len = |lo: usize, hi: usize| &data[..lo + usize::from(n) % (hi - lo + 1)];
        match kind {
            0 => Request::Select { aid: len(1, 16) },
            1 => Request::Verify { pin: None },
            2 => Request::Verify {
                pin: Some(len(4, 8)),
            },
            3 => Request::ChangePin {
                old_then_new: len(12, 16),
            },
            4 => Request::GetData(DataObject::Status),
            5 => Request::GetData(DataObject::RateTable),
            6 => Request::GetData(DataObject::PublicKey),
            7 => Request::GetChallenge,
            8 => Request::GenerateKey {
                generate: n.is_multiple_of(2),
            },
            9 => Request::Personalize { message: data },
            10 => Request::LoadValue { message: data },
            11 => Request::HashInit,
            12 => Request::HashUpdate { data },
            13 => Request::Postmark,
            14 => Request::VerifyPostmark {
                file: data,
                with_crl: n.is_multiple_of(2),
            },
            15 => Request::ReadCertificate { slot: n },
            16 => Request::StoreAttestation { certificate: data },
            17 => Request::ReadAttestation,
            18 => Request::Unblock {
                message_then_pin: data,
            },
            19 => Request::Sync { message: data },
            20 => Request::IssueCertificate { request: data },
            21 => Request::RevokeRequest {
                slot: n % 4,
                reason: [0, 1, 2, 3, 4, 5, 6, 8, 9, 10][usize::from(n) % 10],
            },
            22 => Request::Revoke { message: data },
            23 => Request::KeyUpdate { message: data },
            _ => Request::Attest {
                nonce: data[..16].try_into().unwrap(),
            },
        }
    }

    proptest! {
        #[test]
        fn request_round_trip(kind in 0u8..24,
                              data in proptest::collection::vec(0u8..0x7F, 16..600),
                              n in any::<u8>()) {
            let r = request(kind, &data, n);
            let cmd = r.to_command();
            prop_assert_eq!(Request::parse(&cmd), Ok(r));
            let bytes = cmd.to_vec().unwrap();
            prop_assert_eq!(Request::parse(&Command::parse(&bytes).unwrap()), Ok(r));
        }

        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            if let Ok(r) = Command::parse(&bytes).map_err(drop).and_then(|c| Request::parse(&c).map_err(drop)) {
                let _ = r.name().to_string();
                prop_assert_eq!(Request::parse(&r.to_command()), Ok(r));
            }
        }
    }
}
