//! What the host flows (personalization, value loads) ask of the authority,
//! the trusted third party of Figure 2 (remote facility 222), as the
//! [`AuthorityService`] trait, with the messages it exchanges and its typed
//! errors ([`ServiceError`]).
//!
//! The SQLite authority (crate `authority`) implements it; a client of an
//! authority reached over the network can too. This crate holds no
//! storage and no keys.
#![deny(unsafe_code)]
#![warn(missing_docs)]

use apdu::meter::{RegisterId, Service};

/// The length of an uncompressed SEC1 P-256 public key (`04 || X || Y`).
pub const PUBLIC_KEY_LEN: usize = 65;

/// What a blank card tells the authority, and the serial to give it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PersonalizationRequest {
    /// The card's chip id (status tag 81).
    pub chip_id: [u8; 8],
    /// A fresh GET CHALLENGE answer from the card.
    pub challenge: [u8; 16],
    /// The meter public key the card generated, uncompressed SEC1.
    pub meter_public_key: [u8; PUBLIC_KEY_LEN],
    /// The serial to assign: 1 to 16 printable ASCII characters, no spaces.
    pub serial: String,
    /// The card's ATTEST answer: its statement over the meter public key
    /// and the authority's nonce ([`AuthorityService::attestation_nonce`]),
    /// signed by its attestation key, then its attestation certificate.
    pub attestation: Vec<u8>,
}

/// The authority's answer to a [`PersonalizationRequest`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Personalization {
    /// The signed personalization message for the card (7F70), carrying
    /// the meter certificate.
    pub message: Vec<u8>,
    /// The serial of the meter certificate it carries.
    pub certificate_serial: u64,
}

/// A value load, as the authority records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadRecord {
    /// Meter serial.
    pub serial: String,
    /// Load number on that meter (the first is 1).
    pub number: u32,
    /// Register credited.
    pub register: RegisterId,
    /// Amount, minor units.
    pub amount: u64,
    /// When the load message was (last) issued, Unix seconds.
    pub issued_at: u64,
    /// When the receipt was accepted; `None` while pending.
    pub confirmed_at: Option<u64>,
    /// From the receipt: the register's ascending value after the load.
    pub ascending: Option<u64>,
    /// From the receipt: the register's descending value (funds) after the load.
    pub descending: Option<u64>,
    /// From the receipt: the card's time.
    pub card_time: Option<u64>,
}

/// An inspection ([value] point 4), as the authority records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inspection {
    /// Meter serial.
    pub serial: String,
    /// The report's number on the card (its chain position).
    pub number: u32,
    /// When the authority received it, Unix seconds.
    pub inspected_at: u64,
    /// The card's clock in the report.
    pub card_time: u64,
    /// Postage register: ascending, descending.
    pub postage: (u64, u64),
    /// Certificate register: ascending, descending.
    pub certificate: (u64, u64),
    /// Piece counts: postage, certificate.
    pub pieces: (u32, u32),
    /// Value loads the card accepted.
    pub load_count: u32,
    /// The card's transaction sequence.
    pub sequence: u32,
    /// Why the report did not reconcile (possible tampering): the meter is
    /// flagged. `None`: the report agrees with the records.
    pub flag: Option<String>,
    /// A note that is no mismatch (e.g. reports the authority never saw).
    pub note: Option<String>,
}

/// The authority's answer to an audit report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditAnswer {
    /// The recorded inspection.
    pub inspection: Inspection,
    /// The contact for the card (a SYNC `7F75` answering the report's
    /// challenge), when the inspection passed; `None` when it flagged.
    pub contact: Option<Vec<u8>>,
}

/// Why the authority refused or could not serve a request.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ServiceError {
    /// No meter with this serial.
    #[error("unknown meter {0}")]
    UnknownMeter(String),
    /// A meter with this serial is already personalized.
    #[error("meter serial {0} is already in use")]
    DuplicateSerial(String),
    /// A card with this chip id (hex) is already personalized.
    #[error("chip {0} is already personalized")]
    DuplicateChip(String),
    /// This card was certified but has not finished personalization.
    #[error(
        "this card (chip {chip}) was certified as meter {serial} but has not finished personalization: run personalize again with --serial {serial}"
    )]
    PendingPersonalization {
        /// The chip id, hex.
        chip: String,
        /// The serial it was certified as.
        serial: String,
    },
    /// A load receipt is not acceptable (the reason says why).
    #[error("load receipt refused: {0}")]
    BadReceipt(String),
    /// The meter is flagged: one of its receipts did not reconcile with
    /// the authority's records (registers, counters or clock), and it gets
    /// no further loads.
    #[error(
        "meter {serial} is flagged by the authority ({reason}); it gets no further loads: see `meter authority meters`"
    )]
    Flagged {
        /// The meter serial.
        serial: String,
        /// Why it was flagged.
        reason: String,
    },
    /// The request is not acceptable (the reason says why).
    #[error("{0}")]
    InvalidRequest(String),
    /// Figure 8, 806: the creditor refused the line of credit (the reason
    /// says why).
    #[error("credit refused: {0}")]
    CreditRefused(String),
    /// The meter key is not attested by a card of this issuer for this
    /// chip (the reason says why): it is not certified.
    #[error("the meter key is not attested by the card: {0}")]
    Unattested(String),
    /// The authority could not serve the request: its records, its key,
    /// its files or the way to it failed (the text says what).
    #[error("{0}")]
    Unavailable(String),
}

/// The authority as the host flows use it.
///
/// Personalization: [`check_personalization`](Self::check_personalization)
/// before the card is touched, then [`personalize`](Self::personalize) with
/// the card's key and challenge. A value load:
/// [`value_load`](Self::value_load) for the card's next load number, then
/// [`confirm_load`](Self::confirm_load) with the card's receipt.
pub trait AuthorityService {
    /// The authority's name (the issuer of its certificates).
    fn name(&self) -> Result<String, ServiceError>;

    /// The authority's public key, uncompressed SEC1: what verifiers of
    /// postmarks need.
    fn public_key(&self) -> Result<[u8; PUBLIC_KEY_LEN], ServiceError>;

    /// The rate table the authority installs into meters, in
    /// [`Service::ALL`] order, minor units.
    fn rates(&self) -> Result<Vec<(Service, u64)>, ServiceError>;

    /// The issuer root public key, uncompressed SEC1: pinned into cards at
    /// manufacture, it certifies the authority keys they accept.
    fn issuer_root(&self) -> Result<[u8; PUBLIC_KEY_LEN], ServiceError>;

    /// As the card manufacturer (the issuer): certifies the attestation key
    /// a new card made, bound to its chip id, with the issuer root. The
    /// certificate goes into the card (STORE ATTESTATION CERTIFICATE).
    fn certify_card(
        &mut self,
        chip_id: &[u8; 8],
        attestation_key: &[u8; PUBLIC_KEY_LEN],
    ) -> Result<Vec<u8>, ServiceError>;

    /// A fresh nonce for chip `chip_id`'s attestation of its meter key
    /// (ATTEST), usable by one [`personalize`](Self::personalize) request.
    fn attestation_nonce(&mut self, chip_id: &[u8; 8]) -> Result<[u8; 16], ServiceError>;

    /// The signed unblock message (7F74) for meter `serial` on chip
    /// `chip_id`, answering the card's `challenge`; only once the authority
    /// has checked the holder.
    fn unblock(
        &mut self,
        serial: &str,
        chip_id: &[u8; 8],
        challenge: &[u8; 16],
    ) -> Result<Vec<u8>, ServiceError>;

    /// The signed sync message (7F75) for meter `serial` on chip `chip_id`,
    /// answering the card's `challenge`: the authority's time and service
    /// policy, a contact that does nothing else.
    fn sync(
        &mut self,
        serial: &str,
        chip_id: &[u8; 8],
        challenge: &[u8; 16],
    ) -> Result<Vec<u8>, ServiceError>;

    /// Checks everything about personalizing chip `chip_id` as meter
    /// `serial` with initial `funds` that needs no card key. Changes nothing.
    fn check_personalization(
        &mut self,
        chip_id: &[u8; 8],
        serial: &str,
        funds: u64,
    ) -> Result<(), ServiceError>;

    /// Certifies the card's meter key and builds the signed
    /// personalization message answering its challenge.
    fn personalize(
        &mut self,
        request: &PersonalizationRequest,
    ) -> Result<Personalization, ServiceError>;

    /// Issues load `number` of `amount` minor units into `register` of
    /// meter `serial`: the signed value-load message (7F71) for the card.
    fn value_load(
        &mut self,
        serial: &str,
        register: RegisterId,
        amount: u64,
        number: u32,
    ) -> Result<Vec<u8>, ServiceError>;

    /// Confirms a load with the card's signed receipt; returns the load.
    fn confirm_load(&mut self, receipt: &[u8]) -> Result<LoadRecord, ServiceError>;

    /// [value] recharging: reconciles the card's signed recharge request
    /// (7F61) with the records and answers the value load (7F71) for its
    /// next load number, bound to the request's challenge. A request that
    /// does not reconcile flags the meter ([`ServiceError::Flagged`]).
    fn recharge(&mut self, request: &[u8]) -> Result<Vec<u8>, ServiceError>;

    /// [value] the rate table's current version (0: the table
    /// personalization installs, never changed).
    fn rate_version(&self) -> Result<u32, ServiceError>;

    /// [value] the signed rate update (7F62) of the current version for
    /// meter `serial` on chip `chip_id`, answering the card's `challenge`;
    /// returns the version and the message.
    fn rate_update(
        &mut self,
        serial: &str,
        chip_id: &[u8; 8],
        challenge: &[u8; 16],
    ) -> Result<(u32, Vec<u8>), ServiceError>;

    /// [value] inspection: verifies the card's signed audit report (7F63),
    /// its chain and its reconciliation with the records, and records it;
    /// a passed inspection is a contact (the answer carries a SYNC).
    fn audit(&mut self, report: &[u8]) -> Result<AuditAnswer, ServiceError>;

    /// Figure 6, 604-608: verifies the card's signed revocation request
    /// (7F7C) and answers the signed revocation message (7F7D) bound to the
    /// card, the certificate and the card's challenge.
    fn revocation_message(&mut self, request: &[u8]) -> Result<Vec<u8>, ServiceError>;

    /// Figure 6, 622: records the card's signed revocation confirmation
    /// (7F7E): time, reason and payment state.
    fn confirm_revocation(&mut self, confirmation: &[u8]) -> Result<(), ServiceError>;

    /// [certs] point 6: the key update meter `serial` on chip `chip_id`
    /// needs after a rollover, answering its `challenge` (`7F51`, signed
    /// by the key the card holds), or `None` when it holds the current key.
    fn key_update_for(
        &mut self,
        serial: &str,
        chip_id: &[u8; 8],
        challenge: &[u8; 16],
    ) -> Result<Option<Vec<u8>>, ServiceError>;

    /// Records that meter `serial` took the key update: it holds the
    /// current key.
    fn key_updated(&mut self, serial: &str) -> Result<(), ServiceError>;

    /// Figure 8, 804-808: the creditor (certified by the authority) takes
    /// the credit request file (request 7F6A, the card's postmark over it,
    /// the meter certificate), decides, and answers the creditor
    /// certificate (7F6B) then the line-of-credit certificate (7F68, Figure
    /// 7A); a refusal (806) is [`ServiceError::CreditRefused`].
    fn credit_line(&mut self, request: &[u8]) -> Result<Vec<u8>, ServiceError>;

    // [certs] the card-authority channel (Figure 5, 508).

    /// A fresh nonce for meter `serial`'s channel key registration.
    fn channel_nonce(&mut self, serial: &str) -> Result<[u8; 16], ServiceError>;

    /// Records meter `serial`'s static channel key from the card's
    /// registration `7F78` (signed by its meter key over the nonce).
    fn register_channel_key(
        &mut self,
        serial: &str,
        registration: &[u8],
    ) -> Result<(), ServiceError>;

    /// Answers the card's channel request `7F77`: the channel's id (kept by
    /// the authority for this request) and the signed hello `7F76`.
    fn open_channel(
        &mut self,
        serial: &str,
        request: &[u8],
    ) -> Result<(u64, Vec<u8>), ServiceError>;

    /// Key confirmation: a sealed message for the card.
    fn channel_confirm(&mut self, channel: u64) -> Result<Vec<u8>, ServiceError>;

    /// Key confirmation: checks the card's sealed answer; returns the
    /// meter's serial.
    fn channel_confirmed(&mut self, channel: u64, answer: &[u8]) -> Result<String, ServiceError>;

    /// Figure 5: the sealed key request for `holder` with `uses`.
    fn install_key_request(
        &mut self,
        channel: u64,
        holder: &str,
        uses: u8,
    ) -> Result<Vec<u8>, ServiceError>;

    /// Figure 5: checks the card's sealed certificate request and the
    /// holder's one-time enrollment `code`; the sealed certificate.
    fn install_issue(
        &mut self,
        channel: u64,
        request: &[u8],
        code: &str,
        valid_days: u32,
    ) -> Result<Vec<u8>, ServiceError>;

    /// Figure 5: the card's sealed install answer; the slot.
    fn install_confirm(&mut self, channel: u64, answer: &[u8]) -> Result<u8, ServiceError>;

    /// Figure 5, lower assurance: the sealed key request carrying the
    /// holder's own `private_key` (the certificate will be marked imported).
    fn install_key_request_imported(
        &mut self,
        channel: u64,
        holder: &str,
        uses: u8,
        private_key: &[u8; 32],
    ) -> Result<Vec<u8>, ServiceError>;
}

macro_rules! forward {
    ($($ty:ty),*) => {$(
        impl<A: AuthorityService + ?Sized> AuthorityService for $ty {
            fn name(&self) -> Result<String, ServiceError> {
                (**self).name()
            }

            fn public_key(&self) -> Result<[u8; PUBLIC_KEY_LEN], ServiceError> {
                (**self).public_key()
            }

            fn rates(&self) -> Result<Vec<(Service, u64)>, ServiceError> {
                (**self).rates()
            }

            fn issuer_root(&self) -> Result<[u8; PUBLIC_KEY_LEN], ServiceError> {
                (**self).issuer_root()
            }

            fn certify_card(
                &mut self,
                chip_id: &[u8; 8],
                attestation_key: &[u8; PUBLIC_KEY_LEN],
            ) -> Result<Vec<u8>, ServiceError> {
                (**self).certify_card(chip_id, attestation_key)
            }

            fn attestation_nonce(&mut self, chip_id: &[u8; 8]) -> Result<[u8; 16], ServiceError> {
                (**self).attestation_nonce(chip_id)
            }

            fn unblock(
                &mut self,
                serial: &str,
                chip_id: &[u8; 8],
                challenge: &[u8; 16],
            ) -> Result<Vec<u8>, ServiceError> {
                (**self).unblock(serial, chip_id, challenge)
            }

            fn sync(
                &mut self,
                serial: &str,
                chip_id: &[u8; 8],
                challenge: &[u8; 16],
            ) -> Result<Vec<u8>, ServiceError> {
                (**self).sync(serial, chip_id, challenge)
            }

            fn check_personalization(
                &mut self,
                chip_id: &[u8; 8],
                serial: &str,
                funds: u64,
            ) -> Result<(), ServiceError> {
                (**self).check_personalization(chip_id, serial, funds)
            }

            fn personalize(
                &mut self,
                request: &PersonalizationRequest,
            ) -> Result<Personalization, ServiceError> {
                (**self).personalize(request)
            }

            fn value_load(
                &mut self,
                serial: &str,
                register: RegisterId,
                amount: u64,
                number: u32,
            ) -> Result<Vec<u8>, ServiceError> {
                (**self).value_load(serial, register, amount, number)
            }

            fn confirm_load(&mut self, receipt: &[u8]) -> Result<LoadRecord, ServiceError> {
                (**self).confirm_load(receipt)
            }

            fn revocation_message(&mut self, request: &[u8]) -> Result<Vec<u8>, ServiceError> {
                (**self).revocation_message(request)
            }

            fn recharge(&mut self, request: &[u8]) -> Result<Vec<u8>, ServiceError> {
                (**self).recharge(request)
            }

            fn rate_version(&self) -> Result<u32, ServiceError> {
                (**self).rate_version()
            }

            fn rate_update(
                &mut self,
                serial: &str,
                chip_id: &[u8; 8],
                challenge: &[u8; 16],
            ) -> Result<(u32, Vec<u8>), ServiceError> {
                (**self).rate_update(serial, chip_id, challenge)
            }

            fn audit(&mut self, report: &[u8]) -> Result<AuditAnswer, ServiceError> {
                (**self).audit(report)
            }

            fn confirm_revocation(&mut self, confirmation: &[u8]) -> Result<(), ServiceError> {
                (**self).confirm_revocation(confirmation)
            }

            fn key_update_for(
                &mut self,
                serial: &str,
                chip_id: &[u8; 8],
                challenge: &[u8; 16],
            ) -> Result<Option<Vec<u8>>, ServiceError> {
                (**self).key_update_for(serial, chip_id, challenge)
            }

            fn key_updated(&mut self, serial: &str) -> Result<(), ServiceError> {
                (**self).key_updated(serial)
            }

            fn credit_line(&mut self, request: &[u8]) -> Result<Vec<u8>, ServiceError> {
                (**self).credit_line(request)
            }

            fn channel_nonce(&mut self, serial: &str) -> Result<[u8; 16], ServiceError> {
                (**self).channel_nonce(serial)
            }

            fn register_channel_key(
                &mut self,
                serial: &str,
                registration: &[u8],
            ) -> Result<(), ServiceError> {
                (**self).register_channel_key(serial, registration)
            }

            fn open_channel(
                &mut self,
                serial: &str,
                request: &[u8],
            ) -> Result<(u64, Vec<u8>), ServiceError> {
                (**self).open_channel(serial, request)
            }

            fn channel_confirm(&mut self, channel: u64) -> Result<Vec<u8>, ServiceError> {
                (**self).channel_confirm(channel)
            }

            fn channel_confirmed(
                &mut self,
                channel: u64,
                answer: &[u8],
            ) -> Result<String, ServiceError> {
                (**self).channel_confirmed(channel, answer)
            }

            fn install_key_request(
                &mut self,
                channel: u64,
                holder: &str,
                uses: u8,
            ) -> Result<Vec<u8>, ServiceError> {
                (**self).install_key_request(channel, holder, uses)
            }

            fn install_issue(
                &mut self,
                channel: u64,
                request: &[u8],
                code: &str,
                valid_days: u32,
            ) -> Result<Vec<u8>, ServiceError> {
                (**self).install_issue(channel, request, code, valid_days)
            }

            fn install_confirm(&mut self, channel: u64, answer: &[u8]) -> Result<u8, ServiceError> {
                (**self).install_confirm(channel, answer)
            }

            fn install_key_request_imported(
                &mut self,
                channel: u64,
                holder: &str,
                uses: u8,
                private_key: &[u8; 32],
            ) -> Result<Vec<u8>, ServiceError> {
                (**self).install_key_request_imported(channel, holder, uses, private_key)
            }
        }
    )*};
}

forward!(&mut A, Box<A>);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_one_line() {
        for e in [
            ServiceError::UnknownMeter("PB-1".into()),
            ServiceError::DuplicateSerial("PB-1".into()),
            ServiceError::DuplicateChip("0011".into()),
            ServiceError::PendingPersonalization {
                chip: "0011".into(),
                serial: "PB-1".into(),
            },
            ServiceError::BadReceipt("bad signature".into()),
            ServiceError::Flagged {
                serial: "PB-1".into(),
                reason: "the clock went back".into(),
            },
            ServiceError::InvalidRequest("amount 0".into()),
            ServiceError::Unattested("no nonce".into()),
            ServiceError::Unavailable("authority database: locked".into()),
        ] {
            let s = e.to_string();
            assert!(!s.is_empty() && !s.contains('\n'), "{s:?}");
        }
        assert_eq!(
            ServiceError::BadReceipt("bad signature".into()).to_string(),
            "load receipt refused: bad signature"
        );
    }

    #[test]
    fn is_object_safe() {
        fn _takes(_: &mut dyn AuthorityService) {}
    }
}
