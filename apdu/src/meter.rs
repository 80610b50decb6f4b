//! The meter's command set: the one definition of CLA, INS, P1/P2 and data
//! object tags that the card ([`Request::parse`]) and the host
//! ([`Request::to_command`]) share. docs/apdu.md documents every command.
//!
//! Each flow is defined in its own module of [`crate::cmd`]; this module
//! gathers them under one roof.

pub use crate::cmd::challenge::CHALLENGE_LEN;
pub use crate::cmd::generate_key::{
    P1_NEW as GENERATE_P1_NEW, P1_READ as GENERATE_P1_READ, PUBLIC_KEY_LEN, PublicKeyTemplate,
};
pub use crate::cmd::get_data::{
    Budget, DataObject, Lifecycle, RATE_ENTRY_LEN, RateTable, RegisterValues, Service,
    ServiceState, ServiceStatus, StatusTemplate, parse_rate_entry, rate_entry,
};
pub use crate::cmd::hash::{P1_INIT as HASH_P1_INIT, P1_UPDATE as HASH_P1_UPDATE};
pub use crate::cmd::load_value::RegisterId;
pub use crate::cmd::personalize::{SERIAL_MAX_LEN, serial_well_formed};
pub use crate::cmd::pin::{
    CHANGE_MAX_LEN as CHANGE_PIN_MAX_LEN, CHANGE_MIN_LEN as CHANGE_PIN_MIN_LEN, DEFAULT_PIN,
    PIN_MAX_LEN, PIN_MAX_TRIES, PIN_MIN_LEN, PIN_PAD, PIN_REFERENCE, pin_well_formed,
};
pub use crate::cmd::read_certificate::METER_CERTIFICATE_SLOT;
pub use crate::cmd::select::{AID, AID_MAX_LEN, Fci};
pub use crate::cmd::verify_postmark::{Invalid, Verdict};
pub use crate::cmd::{CLA_ISO, CLA_PROPRIETARY, Name, Request, class_supported};

/// Instruction bytes.
pub mod ins {
    use crate::cmd;
    /// SELECT (ISO 7816-4).
    pub const SELECT: u8 = cmd::select::INS;
    /// GET RESPONSE (ISO 7816-4), answered by the card OS.
    pub const GET_RESPONSE: u8 = cmd::INS_GET_RESPONSE;
    /// VERIFY (ISO 7816-4): the owner PIN.
    pub const VERIFY: u8 = cmd::pin::INS_VERIFY;
    /// CHANGE REFERENCE DATA (ISO 7816-4): change the owner PIN.
    pub const CHANGE_REFERENCE_DATA: u8 = cmd::pin::INS_CHANGE;
    /// GET DATA (ISO 7816-4): read a data object.
    pub const GET_DATA: u8 = cmd::get_data::INS;
    /// GET CHALLENGE (ISO 7816-4): a fresh card nonce.
    pub const GET_CHALLENGE: u8 = cmd::challenge::INS;
    /// GENERATE ASYMMETRIC KEY PAIR (ISO 7816-8): the meter key.
    pub const GENERATE_KEY: u8 = cmd::generate_key::INS;
    /// PERSONALIZE (proprietary): install the authority's personalization message.
    pub const PERSONALIZE: u8 = cmd::personalize::INS;
    /// LOAD VALUE (proprietary): add funds from a signed value message.
    pub const LOAD_VALUE: u8 = cmd::load_value::INS;
    /// HASH (proprietary): start (P1 00) or continue (P1 01) hashing a message on the card.
    pub const HASH: u8 = cmd::hash::INS;
    /// POSTMARK (proprietary): charge and sign a postmark over the hashed message (Figure 3).
    pub const POSTMARK: u8 = cmd::postmark::INS;
    /// POSTAGE (proprietary): debit the postage register and sign a postage indicium.
    pub const POSTAGE: u8 = cmd::postage::INS;
    /// VERIFY POSTMARK (proprietary): charge and validate a postmark (Figure 4).
    pub const VERIFY_POSTMARK: u8 = cmd::verify_postmark::INS;
    /// READ CERTIFICATE (proprietary): the certificate in slot P1.
    pub const READ_CERTIFICATE: u8 = cmd::read_certificate::INS;
    /// STORE ATTESTATION CERTIFICATE (proprietary): the factory installs the
    /// attestation certificate.
    pub const STORE_ATTESTATION: u8 = cmd::attestation::INS_STORE;
    /// READ ATTESTATION / ATTEST (proprietary): the attestation key, or a
    /// signed statement over the meter key.
    pub const ATTEST: u8 = cmd::attestation::INS_ATTEST;
    /// RESET RETRY COUNTER (ISO 7816-4): unblock the owner PIN with the
    /// authority's signed message.
    pub const RESET_RETRY_COUNTER: u8 = cmd::unblock::INS;
    /// SYNC (proprietary): the authority's signed time and service policy.
    pub const SYNC: u8 = cmd::sync::INS;
    /// ISSUE CERTIFICATE (proprietary): the card as a certificate agent (Figure 3A).
    pub const ISSUE_CERTIFICATE: u8 = cmd::issue_certificate::INS;
    /// REVOKE REQUEST (proprietary): the card's signed revocation request.
    pub const REVOKE_REQUEST: u8 = cmd::revoke::INS_REQUEST;
    /// REVOKE (proprietary): the authority's revocation message.
    pub const REVOKE: u8 = cmd::revoke::INS_REVOKE;
    /// KEY UPDATE (proprietary): the next authority key.
    pub const KEY_UPDATE: u8 = cmd::key_update::INS;
    /// CHANNEL KEY (proprietary): the static channel key, signed by the
    /// meter key for the authority.
    pub const CHANNEL_KEY: u8 = cmd::channel::INS_KEY;
    /// OPEN CHANNEL / CHANNEL HELLO (proprietary): the channel handshake.
    pub const OPEN_CHANNEL: u8 = cmd::channel::INS_OPEN;
    /// CHANNEL MESSAGE (proprietary): a sealed message over the channel.
    pub const CHANNEL_MESSAGE: u8 = cmd::channel::INS_MESSAGE;
    /// INSTALL KEY / INSTALL CERTIFICATE (proprietary): Figure 5 over the
    /// channel.
    pub const INSTALL: u8 = cmd::install::INS;
    /// STORE CREDIT LINE / READ CREDIT LINE (proprietary): Figure 8, the
    /// line of credit (7A) stored, or read with its state.
    pub const CREDIT_LINE: u8 = cmd::credit_line::INS;
    /// PAY (proprietary): Figure 9, a payment certificate (7B) from the line.
    pub const PAY: u8 = cmd::pay::INS;
    /// RECHARGE REQUEST (proprietary): the card's signed recharge request.
    pub const RECHARGE_REQUEST: u8 = cmd::recharge::INS;
    /// RATE UPDATE (proprietary): the authority's versioned rate table.
    pub const RATE_UPDATE: u8 = cmd::rate_update::INS;
    /// AUDIT (proprietary): the card's signed, chained audit report.
    pub const AUDIT: u8 = cmd::audit::INS;
    /// Every instruction the meter answers: the ISO ones (CLA 00), then the
    /// proprietary ones (CLA 80).
    pub const ALL: [u8; 31] = [
        SELECT,
        GET_RESPONSE,
        VERIFY,
        CHANGE_REFERENCE_DATA,
        GET_DATA,
        GET_CHALLENGE,
        GENERATE_KEY,
        RESET_RETRY_COUNTER,
        PERSONALIZE,
        LOAD_VALUE,
        HASH,
        POSTMARK,
        POSTAGE,
        VERIFY_POSTMARK,
        READ_CERTIFICATE,
        STORE_ATTESTATION,
        ATTEST,
        SYNC,
        ISSUE_CERTIFICATE,
        REVOKE_REQUEST,
        REVOKE,
        KEY_UPDATE,
        CHANNEL_KEY,
        OPEN_CHANNEL,
        CHANNEL_MESSAGE,
        INSTALL,
        CREDIT_LINE,
        PAY,
        RECHARGE_REQUEST,
        RATE_UPDATE,
        AUDIT,
    ];
}

/// Data object tags (GET DATA P1P2 and the objects inside the answers).
pub mod tag {
    pub use crate::cmd::get_data::tag::*;
    pub use crate::cmd::verify_postmark::tag::{
        CRL_NUMBER as VERDICT_CRL_NUMBER, FEE, VERDICT, VERDICT_TEMPLATE,
    };
}
