//! The one fixture of the tests, the vectors and the benchmarks: a
//! deterministic authority, a deterministic card, and that card selected,
//! unlocked and personalized with funds through the real host flows
//! (`reader::personalize`). When personalization changes, this is the one
//! place that follows it.

use apdu::meter::DEFAULT_PIN;
use applet_sim::sim::{Card, SimConfig};
use authority::{Authority, AuthorityError};
use reader::sim::MemoryTransport;
use reader::{Meter, Transport};

use crate::CardSpec;

/// A personalized, funded card: who made it, its serial and its funds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Funded {
    /// The card's seed and fixed clock.
    pub card: CardSpec,
    /// The authority's name (its certificates' issuer).
    pub authority: &'static str,
    /// The seed of the authority's key.
    pub authority_seed: u64,
    /// The meter serial.
    pub serial: &'static str,
    /// Minor units loaded into the certificate register.
    pub funds: u64,
}

/// Why the fixture could not be made.
#[derive(Debug, thiserror::Error)]
pub enum FixtureError {
    /// The authority could not be made.
    #[error("authority: {0}")]
    Authority(#[from] AuthorityError),
    /// The card could not be made.
    #[error("simulated card: {0}")]
    Sim(#[from] applet_sim::sim::SimError),
    /// A host flow failed.
    #[error("{0}")]
    Reader(#[from] reader::Error),
}

impl Funded {
    /// The deterministic authority, its clock at the card's time.
    pub fn authority(&self) -> Result<Authority, FixtureError> {
        Ok(Authority::deterministic(
            self.authority,
            self.authority_seed,
            self.card.time,
        )?)
    }

    /// The deterministic blank card.
    pub fn blank_card(&self) -> Result<Card, FixtureError> {
        let card = Card::manufacture(self.sim_config())?;
        Ok(crate::sim::attested(
            card,
            self.authority_seed,
            self.card.time,
        )?)
    }

    /// The card's simulator settings (seed and fixed clock), manufacturing
    /// cards with the authority's issuer root pinned.
    pub fn sim_config(&self) -> SimConfig {
        CardSpec {
            issuer_root: Some(self.authority_seed),
            unattested: false,
            ..self.card
        }
        .sim_config()
    }

    /// Personalizes the blank card behind `meter` with [`Self::funds`]:
    /// SELECT, the default PIN, then `reader::personalize`.
    pub fn personalize<T: Transport>(
        &self,
        meter: &mut Meter<T>,
        authority: &mut Authority,
    ) -> Result<(), FixtureError> {
        open(meter)?;
        reader::personalize::personalize(meter, authority, self.serial, self.funds)?;
        Ok(())
    }

    /// The card personalized in memory, selected and unlocked, with its
    /// authority.
    pub fn meter(&self) -> Result<(Meter<MemoryTransport>, Authority), FixtureError> {
        let mut authority = self.authority()?;
        let mut meter = Meter::new(MemoryTransport::new(self.blank_card()?, true));
        self.personalize(&mut meter, &mut authority)?;
        Ok((meter, authority))
    }

    /// The personalized card itself (for power cuts, images and raw
    /// APDUs), with its authority.
    pub fn card(&self) -> Result<(Card, Authority), FixtureError> {
        let (meter, authority) = self.meter()?;
        Ok((meter.into_transport().into_card(), authority))
    }
}

/// The owner PIN the fixtures give a card in place of its transport PIN.
pub const OWNER_PIN: &[u8] = b"13579";

/// SELECT the meter application and VERIFY the owner PIN: on a card still
/// holding its transport PIN, VERIFY that and change it to [`OWNER_PIN`]
/// (which leaves it verified).
pub fn open<T: Transport>(meter: &mut Meter<T>) -> Result<(), reader::Error> {
    meter.select()?;
    if meter.status()?.transport_pin {
        meter.verify_pin(DEFAULT_PIN)?;
        meter.change_pin(DEFAULT_PIN, OWNER_PIN)
    } else {
        meter.verify_pin(OWNER_PIN)
    }
}

/// An authority that does not check the card's attestation (it signs with
/// [`Authority::personalize_unattested`]) and otherwise is the one inside:
/// a rogue authority, for the refusals the card makes on its own.
pub struct Rogue(pub Authority);

impl authority::AuthorityService for Rogue {
    fn name(&self) -> Result<String, authority::ServiceError> {
        Ok(self.0.name().to_owned())
    }

    fn public_key(&self) -> Result<[u8; 65], authority::ServiceError> {
        Ok(self.0.public_key())
    }

    fn rates(&self) -> Result<Vec<(apdu::meter::Service, u64)>, authority::ServiceError> {
        Ok(self.0.rates())
    }

    fn issuer_root(&self) -> Result<[u8; 65], authority::ServiceError> {
        Ok(self.0.issuer_root())
    }

    fn certify_card(
        &mut self,
        chip_id: &[u8; 8],
        key: &[u8; 65],
    ) -> Result<Vec<u8>, authority::ServiceError> {
        Ok(self.0.certify_attestation(chip_id, key)?)
    }

    fn attestation_nonce(
        &mut self,
        chip_id: &[u8; 8],
    ) -> Result<[u8; 16], authority::ServiceError> {
        Ok(self.0.attestation_nonce(chip_id))
    }

    fn unblock(
        &mut self,
        serial: &str,
        chip_id: &[u8; 8],
        challenge: &[u8; 16],
    ) -> Result<Vec<u8>, authority::ServiceError> {
        Ok(self.0.unblock(serial, chip_id, challenge)?)
    }

    fn sync(
        &mut self,
        serial: &str,
        chip_id: &[u8; 8],
        challenge: &[u8; 16],
    ) -> Result<Vec<u8>, authority::ServiceError> {
        Ok(self.0.sync(serial, chip_id, challenge)?)
    }

    fn check_personalization(
        &mut self,
        chip_id: &[u8; 8],
        serial: &str,
        funds: u64,
    ) -> Result<(), authority::ServiceError> {
        Ok(self.0.check_personalization(chip_id, serial, funds)?)
    }

    fn personalize(
        &mut self,
        request: &authority::PersonalizationRequest,
    ) -> Result<authority::Personalization, authority::ServiceError> {
        let message = self.0.personalize_unattested(request)?;
        Ok(authority::Personalization {
            message,
            certificate_serial: 0,
        })
    }

    fn value_load(
        &mut self,
        serial: &str,
        register: apdu::meter::RegisterId,
        amount: u64,
        number: u32,
    ) -> Result<Vec<u8>, authority::ServiceError> {
        authority::AuthorityService::value_load(&mut self.0, serial, register, amount, number)
    }

    fn confirm_load(
        &mut self,
        receipt: &[u8],
    ) -> Result<authority::LoadRecord, authority::ServiceError> {
        authority::AuthorityService::confirm_load(&mut self.0, receipt)
    }

    fn revocation_message(&mut self, request: &[u8]) -> Result<Vec<u8>, authority::ServiceError> {
        authority::AuthorityService::revocation_message(&mut self.0, request)
    }

    fn recharge(&mut self, request: &[u8]) -> Result<Vec<u8>, authority::ServiceError> {
        authority::AuthorityService::recharge(&mut self.0, request)
    }

    fn rate_version(&self) -> Result<u32, authority::ServiceError> {
        authority::AuthorityService::rate_version(&self.0)
    }

    fn rate_update(
        &mut self,
        serial: &str,
        chip_id: &[u8; 8],
        challenge: &[u8; 16],
    ) -> Result<(u32, Vec<u8>), authority::ServiceError> {
        authority::AuthorityService::rate_update(&mut self.0, serial, chip_id, challenge)
    }

    fn audit(&mut self, report: &[u8]) -> Result<authority::AuditAnswer, authority::ServiceError> {
        authority::AuthorityService::audit(&mut self.0, report)
    }

    fn confirm_revocation(&mut self, confirmation: &[u8]) -> Result<(), authority::ServiceError> {
        authority::AuthorityService::confirm_revocation(&mut self.0, confirmation)
    }

    fn key_update_for(
        &mut self,
        serial: &str,
        chip_id: &[u8; 8],
        challenge: &[u8; 16],
    ) -> Result<Option<Vec<u8>>, authority::ServiceError> {
        authority::AuthorityService::key_update_for(&mut self.0, serial, chip_id, challenge)
    }

    fn key_updated(&mut self, serial: &str) -> Result<(), authority::ServiceError> {
        authority::AuthorityService::key_updated(&mut self.0, serial)
    }

    fn channel_nonce(&mut self, serial: &str) -> Result<[u8; 16], authority::ServiceError> {
        authority::AuthorityService::channel_nonce(&mut self.0, serial)
    }

    fn register_channel_key(
        &mut self,
        serial: &str,
        registration: &[u8],
    ) -> Result<(), authority::ServiceError> {
        authority::AuthorityService::register_channel_key(&mut self.0, serial, registration)
    }

    fn open_channel(
        &mut self,
        serial: &str,
        request: &[u8],
    ) -> Result<(u64, Vec<u8>), authority::ServiceError> {
        authority::AuthorityService::open_channel(&mut self.0, serial, request)
    }

    fn channel_confirm(&mut self, channel: u64) -> Result<Vec<u8>, authority::ServiceError> {
        authority::AuthorityService::channel_confirm(&mut self.0, channel)
    }

    fn channel_confirmed(
        &mut self,
        channel: u64,
        answer: &[u8],
    ) -> Result<String, authority::ServiceError> {
        authority::AuthorityService::channel_confirmed(&mut self.0, channel, answer)
    }

    fn install_key_request(
        &mut self,
        channel: u64,
        holder: &str,
        uses: u8,
    ) -> Result<Vec<u8>, authority::ServiceError> {
        authority::AuthorityService::install_key_request(&mut self.0, channel, holder, uses)
    }

    fn install_issue(
        &mut self,
        channel: u64,
        request: &[u8],
        code: &str,
        valid_days: u32,
    ) -> Result<Vec<u8>, authority::ServiceError> {
        authority::AuthorityService::install_issue(&mut self.0, channel, request, code, valid_days)
    }

    fn install_confirm(
        &mut self,
        channel: u64,
        answer: &[u8],
    ) -> Result<u8, authority::ServiceError> {
        authority::AuthorityService::install_confirm(&mut self.0, channel, answer)
    }

    fn install_key_request_imported(
        &mut self,
        channel: u64,
        holder: &str,
        uses: u8,
        private_key: &[u8; 32],
    ) -> Result<Vec<u8>, authority::ServiceError> {
        authority::AuthorityService::install_key_request_imported(
            &mut self.0,
            channel,
            holder,
            uses,
            private_key,
        )
    }

    fn credit_line(&mut self, request: &[u8]) -> Result<Vec<u8>, authority::ServiceError> {
        authority::AuthorityService::credit_line(&mut self.0, request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fixture_is_personalized_and_funded() {
        let f = Funded {
            card: CardSpec {
                seed: 3,
                time: 1_800_000_000,
                issuer_root: None,
                unattested: false,
            },
            authority: "CERTMETER-CA",
            authority_seed: 4,
            serial: "FIX-1",
            funds: 1234,
        };
        let (mut meter, authority) = f.meter().unwrap();
        let status = meter.status().unwrap();
        assert_eq!(status.serial.as_deref(), Some("FIX-1"));
        assert_eq!(status.registers.certificate.descending, 1234);
        assert_eq!(status.registers.certificate.ascending, 0);
        // Unlocked: a postmark goes through without another VERIFY.
        reader::postmark::postmark(&mut meter, &mut &b"x"[..]).unwrap();
        assert_eq!(meter.status().unwrap().registers.certificate.ascending, 25);
        // The same inputs make the same card.
        let (card, _) = f.card().unwrap();
        let (again, _) = f.card().unwrap();
        assert_eq!(card.store().image(), again.store().image());
        assert_eq!(authority.name(), "CERTMETER-CA");
    }
}
