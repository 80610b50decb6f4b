//! The SQLite authority behind [`AuthorityService`], the interface the host
//! flows use, and its errors as [`ServiceError`]s.

use apdu::meter::{RegisterId, Service};
use authority_api::{
    AuthorityService, LoadRecord, PUBLIC_KEY_LEN, Personalization, PersonalizationRequest,
    ServiceError,
};

use crate::{Authority, AuthorityError};

impl From<AuthorityError> for ServiceError {
    fn from(e: AuthorityError) -> Self {
        match e {
            AuthorityError::UnknownMeter(s) => ServiceError::UnknownMeter(s),
            AuthorityError::DuplicateSerial(s) => ServiceError::DuplicateSerial(s),
            AuthorityError::DuplicateChip(c) => ServiceError::DuplicateChip(c),
            AuthorityError::PendingPersonalization { chip, serial } => {
                ServiceError::PendingPersonalization { chip, serial }
            }
            AuthorityError::BadReceipt(why) => ServiceError::BadReceipt(why.to_owned()),
            AuthorityError::Flagged { serial, reason } => ServiceError::Flagged { serial, reason },
            AuthorityError::InvalidRequest(why) | AuthorityError::AlreadySettled(why) => {
                ServiceError::InvalidRequest(why)
            }
            AuthorityError::CreditRefused(why) => ServiceError::CreditRefused(why),
            AuthorityError::Unattested(why) => ServiceError::Unattested(why.to_owned()),
            e @ (AuthorityError::AlreadyExists(_)
            | AuthorityError::NotFound(_)
            | AuthorityError::Database(_)
            | AuthorityError::BadKeyFile(..)
            | AuthorityError::KeyFileMode(..)
            | AuthorityError::Entropy(_)
            | AuthorityError::Io(..)) => ServiceError::Unavailable(e.to_string()),
        }
    }
}

impl AuthorityService for Authority {
    fn name(&self) -> Result<String, ServiceError> {
        Ok(Authority::name(self).to_owned())
    }

    fn public_key(&self) -> Result<[u8; PUBLIC_KEY_LEN], ServiceError> {
        Ok(Authority::public_key(self))
    }

    fn rates(&self) -> Result<Vec<(Service, u64)>, ServiceError> {
        Ok(Authority::rates(self))
    }

    fn issuer_root(&self) -> Result<[u8; PUBLIC_KEY_LEN], ServiceError> {
        Ok(Authority::issuer_root(self))
    }

    fn certify_card(
        &mut self,
        chip_id: &[u8; 8],
        attestation_key: &[u8; PUBLIC_KEY_LEN],
    ) -> Result<Vec<u8>, ServiceError> {
        Ok(Authority::certify_attestation(
            self,
            chip_id,
            attestation_key,
        )?)
    }

    fn attestation_nonce(&mut self, chip_id: &[u8; 8]) -> Result<[u8; 16], ServiceError> {
        Ok(Authority::attestation_nonce(self, chip_id))
    }

    fn unblock(
        &mut self,
        serial: &str,
        chip_id: &[u8; 8],
        challenge: &[u8; 16],
    ) -> Result<Vec<u8>, ServiceError> {
        Ok(Authority::unblock(self, serial, chip_id, challenge)?)
    }

    fn sync(
        &mut self,
        serial: &str,
        chip_id: &[u8; 8],
        challenge: &[u8; 16],
    ) -> Result<Vec<u8>, ServiceError> {
        Ok(Authority::sync(self, serial, chip_id, challenge)?)
    }

    fn check_personalization(
        &mut self,
        chip_id: &[u8; 8],
        serial: &str,
        funds: u64,
    ) -> Result<(), ServiceError> {
        Ok(Authority::check_personalization(
            self, chip_id, serial, funds,
        )?)
    }

    fn personalize(
        &mut self,
        request: &PersonalizationRequest,
    ) -> Result<Personalization, ServiceError> {
        let message = Authority::personalize(self, request)?;
        let certificate_serial = self
            .meter(&request.serial)?
            .map(|m| m.certificate_serial)
            .unwrap_or_default();
        Ok(Personalization {
            message,
            certificate_serial,
        })
    }

    fn value_load(
        &mut self,
        serial: &str,
        register: RegisterId,
        amount: u64,
        number: u32,
    ) -> Result<Vec<u8>, ServiceError> {
        Ok(Authority::value_load(
            self, serial, register, amount, number,
        )?)
    }

    fn confirm_load(&mut self, receipt: &[u8]) -> Result<LoadRecord, ServiceError> {
        Ok(Authority::confirm_load(self, receipt)?)
    }

    fn recharge(&mut self, request: &[u8]) -> Result<Vec<u8>, ServiceError> {
        Ok(Authority::recharge(self, request)?)
    }

    fn rate_version(&self) -> Result<u32, ServiceError> {
        Ok(Authority::rate_version(self)?)
    }

    fn rate_update(
        &mut self,
        serial: &str,
        chip_id: &[u8; 8],
        challenge: &[u8; 16],
    ) -> Result<(u32, Vec<u8>), ServiceError> {
        Ok(Authority::rate_update(self, serial, chip_id, challenge)?)
    }

    fn audit(&mut self, report: &[u8]) -> Result<authority_api::AuditAnswer, ServiceError> {
        Ok(Authority::audit(self, report)?)
    }

    fn revocation_message(&mut self, request: &[u8]) -> Result<Vec<u8>, ServiceError> {
        Ok(Authority::revocation_message(self, request)?)
    }

    fn confirm_revocation(&mut self, confirmation: &[u8]) -> Result<(), ServiceError> {
        Authority::confirm_revocation(self, confirmation)?;
        Ok(())
    }

    fn key_update_for(
        &mut self,
        serial: &str,
        chip_id: &[u8; 8],
        challenge: &[u8; 16],
    ) -> Result<Option<Vec<u8>>, ServiceError> {
        Ok(Authority::key_update_for(self, serial, chip_id, challenge)?)
    }

    fn key_updated(&mut self, serial: &str) -> Result<(), ServiceError> {
        Ok(Authority::key_updated(self, serial)?)
    }

    fn credit_line(&mut self, request: &[u8]) -> Result<Vec<u8>, ServiceError> {
        Ok(Authority::credit_line(self, request)?)
    }

    fn channel_nonce(&mut self, serial: &str) -> Result<[u8; 16], ServiceError> {
        Ok(Authority::channel_nonce(self, serial)?)
    }

    fn register_channel_key(
        &mut self,
        serial: &str,
        registration: &[u8],
    ) -> Result<(), ServiceError> {
        Ok(Authority::register_channel_key(self, serial, registration)?)
    }

    fn open_channel(
        &mut self,
        serial: &str,
        request: &[u8],
    ) -> Result<(u64, Vec<u8>), ServiceError> {
        Ok(Authority::open_channel(self, serial, request)?)
    }

    fn channel_confirm(&mut self, channel: u64) -> Result<Vec<u8>, ServiceError> {
        Ok(Authority::channel_confirm(self, channel)?)
    }

    fn channel_confirmed(&mut self, channel: u64, answer: &[u8]) -> Result<String, ServiceError> {
        Ok(Authority::channel_confirmed(self, channel, answer)?)
    }

    fn install_key_request(
        &mut self,
        channel: u64,
        holder: &str,
        uses: u8,
    ) -> Result<Vec<u8>, ServiceError> {
        Ok(Authority::install_key_request(self, channel, holder, uses)?)
    }

    fn install_issue(
        &mut self,
        channel: u64,
        request: &[u8],
        code: &str,
        valid_days: u32,
    ) -> Result<Vec<u8>, ServiceError> {
        Ok(Authority::install_issue(
            self, channel, request, code, valid_days,
        )?)
    }

    fn install_confirm(&mut self, channel: u64, answer: &[u8]) -> Result<u8, ServiceError> {
        Ok(Authority::install_confirm(self, channel, answer)?)
    }

    fn install_key_request_imported(
        &mut self,
        channel: u64,
        holder: &str,
        uses: u8,
        private_key: &[u8; 32],
    ) -> Result<Vec<u8>, ServiceError> {
        Ok(Authority::install_key_request_imported(
            self,
            channel,
            holder,
            uses,
            private_key,
        )?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The interface gives the same messages as the authority's errors.
    #[test]
    fn errors_read_the_same() {
        for e in [
            AuthorityError::UnknownMeter("PB-1".into()),
            AuthorityError::DuplicateSerial("PB-1".into()),
            AuthorityError::DuplicateChip("00".into()),
            AuthorityError::PendingPersonalization {
                chip: "00".into(),
                serial: "PB-1".into(),
            },
            AuthorityError::BadReceipt("no such load was issued"),
            AuthorityError::Flagged {
                serial: "PB-1".into(),
                reason: "the clock went back".into(),
            },
            AuthorityError::InvalidRequest("amount 0".into()),
            AuthorityError::Database("locked".into()),
            AuthorityError::NotFound("/x".into()),
        ] {
            let text = e.to_string();
            assert_eq!(ServiceError::from(e).to_string(), text);
        }
    }

    #[test]
    fn serves_through_the_trait() {
        let mut a = Authority::deterministic("CA", 1, 1_700_000_000).unwrap();
        let service: &mut dyn AuthorityService = &mut a;
        assert_eq!(service.name().unwrap(), "CA");
        assert_eq!(service.rates().unwrap(), crate::DEFAULT_RATES.to_vec());
        assert_eq!(service.public_key().unwrap()[0], 0x04);
        assert!(matches!(
            service.value_load("NOPE", RegisterId::Postage, 100, 1),
            Err(ServiceError::UnknownMeter(s)) if s == "NOPE"
        ));
    }
}
