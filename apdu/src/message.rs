//! Messages between the authority (Figure 2, remote facility 222) and the
//! card. Every message that changes the card is signed by the authority,
//! bound to this card (chip id and serial) and usable once (a card
//! challenge, or the next load number).
//!
//! ```text
//! 7F70 personalization                     authority -> card, once, blank card
//!   7F4E { 80 object type 7F70, 81 chip id, 82 card challenge, 5F20 serial,
//!          7F23 { 7F21 authority certificate by the issuer root },
//!          E1 rate table { 90 service||fee ... },
//!          83 time, 84 service deadline, 7F21 meter certificate }
//!   5F37 signature by the certified authority key
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
//!
//! Defined with their commands: [`crate::cmd::personalize`] (PERSONALIZE)
//! and [`crate::cmd::load_value`] (LOAD VALUE); re-exported here.

pub use crate::cmd::attestation::{Attestation, STATEMENT, StatementBody};
pub use crate::cmd::load_value::{
    AMOUNT, ASCENDING, DESCENDING, LOAD_NUMBER, LOAD_RECEIPT, LoadReceipt, LoadReceiptBody,
    REGISTER, VALUE_LOAD, VALUE_LOAD_MAX_LEN, ValueLoad, ValueLoadBody,
};
pub use crate::cmd::personalize::{
    AUTHORITY_CERTIFICATE, CHALLENGE, CHIP_ID, DEADLINE, OBJECT_TYPE, PERSONALIZATION,
    Personalization, PersonalizationBody, TIME, check_type, object_type,
};
pub use crate::cmd::sync::{POLICY, SYNC, ServicePolicy, Sync, SyncBody};
pub use crate::cmd::unblock::{UNBLOCK, Unblock, UnblockBody};
