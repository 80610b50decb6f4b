//! Personalization, PC side: the PC carries messages between the blank card
//! and the authority (Figure 2: ports 216/234 and the modem to 222). The
//! card generates its meter key itself (235/246); the authority certifies
//! it in a Figure 1 certificate and answers the card's challenge with a
//! signed personalization message; then the initial funds are loaded.

use apdu::meter::RegisterId;
use authority_api::{AuthorityService, PersonalizationRequest};

use crate::error::Error;
use crate::meter::Meter;
use crate::transport::Transport;
use crate::value;

/// What personalization did.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Personalized {
    /// The meter serial.
    pub serial: String,
    /// The meter certificate's serial.
    pub certificate_serial: u64,
    /// Funds loaded into the certificate register, minor units.
    pub funds: u64,
}

/// Personalizes a blank card as meter `serial` and loads `funds` (minor
/// units, may be 0) into its certificate register. The owner PIN must have
/// been verified. `authority` is any [`AuthorityService`]: the local SQLite
/// authority, or a client of a remote one.
pub fn personalize<T: Transport, A: AuthorityService + ?Sized>(
    meter: &mut Meter<T>,
    authority: &mut A,
    serial: &str,
    funds: u64,
) -> Result<Personalized, Error> {
    meter.exclusive(|m| personalize_held(m, authority, serial, funds))
}

fn personalize_held<A: AuthorityService + ?Sized>(
    meter: &mut Meter<&mut dyn Transport>,
    authority: &mut A,
    serial: &str,
    funds: u64,
) -> Result<Personalized, Error> {
    let status = meter.status()?;
    if status.personalized {
        return Err(Error::AlreadyPersonalized {
            serial: status.serial.unwrap_or_default(),
        });
    }
    let chip_id = status.chip_id_bytes()?;
    // Everything the authority can refuse without the card's key is checked
    // before the card is touched.
    authority.check_personalization(&chip_id, serial, funds)?;
    // A card whose earlier personalization did not complete keeps its key:
    // the authority re-issues only for the key it already certified.
    let key = if status.meter_key {
        meter.meter_public_key()?
    } else {
        meter.generate_meter_key()?
    };
    let meter_public_key = key
        .try_into()
        .map_err(|_| Error::Malformed("meter public key".into()))?;
    // The card vouches for its key under its attestation key, with the
    // authority's fresh nonce.
    let nonce = authority.attestation_nonce(&chip_id)?;
    let attestation = meter.attest(&nonce)?;
    let challenge = meter.challenge()?;
    let answer = authority.personalize(&PersonalizationRequest {
        chip_id,
        challenge,
        meter_public_key,
        serial: serial.to_owned(),
        attestation,
    })?;
    meter.personalize(&answer.message)?;
    if funds > 0 {
        value::load(meter, authority, RegisterId::Certificate, funds).map_err(|e| match e {
            // Credited: only the authority's record is behind.
            e @ Error::Unconfirmed { .. } => e,
            e => Error::FundsNotLoaded {
                serial: serial.to_owned(),
                source: Box::new(e),
            },
        })?;
    }
    Ok(Personalized {
        serial: serial.to_owned(),
        certificate_serial: answer.certificate_serial,
        funds,
    })
}

#[cfg(test)]
mod tests {
    use apdu::meter::Service;
    use applet_sim::sim::{Card, SimConfig};
    use authority_api::{LoadRecord, Personalization, ServiceError};

    use super::*;
    use crate::sim::MemoryTransport;

    /// An authority that refuses every request, and counts them: the flows
    /// take any [`AuthorityService`].
    #[derive(Default)]
    struct Refusing {
        asked: usize,
    }

    impl Refusing {
        fn refuse<T>(&mut self) -> Result<T, ServiceError> {
            self.asked += 1;
            Err(ServiceError::DuplicateSerial("PB-1".into()))
        }
    }

    impl AuthorityService for Refusing {
        fn name(&self) -> Result<String, ServiceError> {
            Ok("REFUSING".into())
        }

        fn public_key(&self) -> Result<[u8; 65], ServiceError> {
            Err(ServiceError::Unavailable("no key".into()))
        }

        fn rates(&self) -> Result<Vec<(Service, u64)>, ServiceError> {
            Ok(Vec::new())
        }

        fn issuer_root(&self) -> Result<[u8; 65], ServiceError> {
            Err(ServiceError::Unavailable("no key".into()))
        }

        fn certify_card(&mut self, _: &[u8; 8], _: &[u8; 65]) -> Result<Vec<u8>, ServiceError> {
            self.refuse()
        }

        fn attestation_nonce(&mut self, _: &[u8; 8]) -> Result<[u8; 16], ServiceError> {
            self.refuse()
        }

        fn unblock(&mut self, _: &str, _: &[u8; 8], _: &[u8; 16]) -> Result<Vec<u8>, ServiceError> {
            self.refuse()
        }

        fn sync(&mut self, _: &str, _: &[u8; 8], _: &[u8; 16]) -> Result<Vec<u8>, ServiceError> {
            self.refuse()
        }

        fn check_personalization(
            &mut self,
            _: &[u8; 8],
            _: &str,
            _: u64,
        ) -> Result<(), ServiceError> {
            self.refuse()
        }

        fn personalize(
            &mut self,
            _: &PersonalizationRequest,
        ) -> Result<Personalization, ServiceError> {
            self.refuse()
        }

        fn value_load(
            &mut self,
            _: &str,
            _: RegisterId,
            _: u64,
            _: u32,
        ) -> Result<Vec<u8>, ServiceError> {
            self.refuse()
        }

        fn confirm_load(&mut self, _: &[u8]) -> Result<LoadRecord, ServiceError> {
            self.refuse()
        }

        fn revocation_message(&mut self, _: &[u8]) -> Result<Vec<u8>, ServiceError> {
            self.refuse()
        }

        fn recharge(&mut self, _: &[u8]) -> Result<Vec<u8>, ServiceError> {
            self.refuse()
        }

        fn rate_version(&self) -> Result<u32, ServiceError> {
            Ok(0)
        }

        fn rate_update(
            &mut self,
            _: &str,
            _: &[u8; 8],
            _: &[u8; 16],
        ) -> Result<(u32, Vec<u8>), ServiceError> {
            self.refuse()
        }

        fn audit(&mut self, _: &[u8]) -> Result<authority_api::AuditAnswer, ServiceError> {
            self.refuse()
        }

        fn confirm_revocation(&mut self, _: &[u8]) -> Result<(), ServiceError> {
            self.refuse()
        }

        fn key_update_for(
            &mut self,
            _serial: &str,
            _chip_id: &[u8; 8],
            _challenge: &[u8; 16],
        ) -> Result<Option<Vec<u8>>, ServiceError> {
            self.refuse()
        }

        fn key_updated(&mut self, _serial: &str) -> Result<(), ServiceError> {
            self.refuse()
        }

        fn channel_nonce(&mut self, _serial: &str) -> Result<[u8; 16], ServiceError> {
            self.refuse()
        }

        fn register_channel_key(
            &mut self,
            _serial: &str,
            _registration: &[u8],
        ) -> Result<(), ServiceError> {
            self.refuse()
        }

        fn open_channel(
            &mut self,
            _serial: &str,
            _request: &[u8],
        ) -> Result<(u64, Vec<u8>), ServiceError> {
            self.refuse()
        }

        fn channel_confirm(&mut self, _channel: u64) -> Result<Vec<u8>, ServiceError> {
            self.refuse()
        }

        fn channel_confirmed(
            &mut self,
            _channel: u64,
            _answer: &[u8],
        ) -> Result<String, ServiceError> {
            self.refuse()
        }

        fn install_key_request(
            &mut self,
            _channel: u64,
            _holder: &str,
            _uses: u8,
        ) -> Result<Vec<u8>, ServiceError> {
            self.refuse()
        }

        fn install_issue(
            &mut self,
            _channel: u64,
            _request: &[u8],
            _code: &str,
            _valid_days: u32,
        ) -> Result<Vec<u8>, ServiceError> {
            self.refuse()
        }

        fn install_confirm(&mut self, _channel: u64, _answer: &[u8]) -> Result<u8, ServiceError> {
            self.refuse()
        }

        fn install_key_request_imported(
            &mut self,
            _channel: u64,
            _holder: &str,
            _uses: u8,
            _private_key: &[u8; 32],
        ) -> Result<Vec<u8>, ServiceError> {
            self.refuse()
        }

        fn credit_line(&mut self, _: &[u8]) -> Result<Vec<u8>, ServiceError> {
            self.refuse()
        }
    }

    fn blank() -> Meter<MemoryTransport> {
        let card = Card::manufacture(SimConfig::deterministic(1, 1_800_000_000)).unwrap();
        let mut m = Meter::new(MemoryTransport::new(card, true));
        m.select().unwrap();
        m.verify_pin(apdu::meter::DEFAULT_PIN).unwrap();
        m
    }

    #[test]
    fn a_refusal_is_typed_and_leaves_the_card_blank() {
        let mut m = blank();
        let mut authority = Refusing::default();
        let e = personalize(&mut m, &mut authority, "PB-1", 100).unwrap_err();
        assert_eq!(
            e,
            Error::Authority(ServiceError::DuplicateSerial("PB-1".into()))
        );
        assert_eq!(authority.asked, 1);
        let s = m.status().unwrap();
        assert!(!s.personalized && !s.meter_key, "the card was touched");
    }

    #[test]
    fn a_blank_card_takes_no_load() {
        let mut m = blank();
        let mut authority = Refusing::default();
        let dynamic: &mut dyn AuthorityService = &mut authority;
        let e = value::load(&mut m, dynamic, RegisterId::Postage, 100).unwrap_err();
        assert_eq!(e, Error::NotPersonalized);
        assert_eq!(authority.asked, 0, "the authority was asked");
    }
}
