//! The typed meter API: one method per card command, answers decoded into
//! Rust types. Built on [`crate::exchange()`] and any [`Transport`].

use apdu::meter::{
    AID, Budget, CHALLENGE_LEN, DataObject, Lifecycle, PIN_MAX_LEN, PIN_MIN_LEN, PublicKeyTemplate,
    RateTable, RegisterId, RegisterValues, Request, Service, StatusTemplate, Verdict,
};
use serde::Serialize;

use crate::error::Error;
use crate::exchange::{check, exchange};
use crate::transport::Transport;

/// A meter card behind a transport.
pub struct Meter<T: Transport> {
    transport: T,
}

/// One value register (Figure 2: 244 postage, 250 certificate), in minor units.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct RegisterState {
    /// Everything ever charged.
    pub ascending: u64,
    /// Funds left.
    pub descending: u64,
    /// Ascending + descending: everything ever loaded.
    pub control_total: u64,
}

/// Both value registers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Registers {
    /// Postage register (244).
    pub postage: RegisterState,
    /// Certificate register (250).
    pub certificate: RegisterState,
}

/// Both piece counts (242, 248).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct PieceCounts {
    /// Postage pieces.
    pub postage: u32,
    /// Certificate pieces.
    pub certificate: u32,
}

/// Used and total of a fixed budget.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Usage {
    /// In use.
    pub used: u32,
    /// Capacity.
    pub capacity: u32,
}

/// What the card holds (GET DATA status).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Status {
    /// `blank`, `personalized` or `terminated`.
    pub lifecycle: String,
    /// Whether the authority has personalized the card.
    pub personalized: bool,
    /// The chip identifier, hex.
    pub chip_id: String,
    /// The meter serial (238), once personalized.
    pub serial: Option<String>,
    /// The secure clock (232), Unix seconds.
    pub clock: u64,
    /// Transaction sequence number.
    pub sequence: u32,
    /// Value registers.
    pub registers: Registers,
    /// Piece counts.
    pub piece_counts: PieceCounts,
    /// Owner PIN tries left.
    pub pin_tries: u8,
    /// Whether the meter key pair (246) exists.
    pub meter_key: bool,
    /// Authority public keys installed.
    pub authority_keys: u8,
    /// Certificate slots (252/254).
    pub certificate_slots: Usage,
    /// Persistent memory, bytes.
    pub memory: Usage,
    /// Value loads accepted.
    pub load_count: u32,
    /// Service deadline, Unix seconds (0: none); debits stop after it.
    pub deadline: u64,
    /// Postmarks signed.
    pub postmarks: u32,
    /// The owner PIN is still the transport PIN a new card comes with:
    /// nothing is spent or personalized until it is changed.
    pub transport_pin: bool,
    /// The authority's service policy and where the card stands in it,
    /// once a contact set one.
    pub service: Option<ServiceInfo>,
    /// The certificates stored on the card (filled by [`Meter::status`]).
    pub certificates: Vec<CertificateInfo>,
    /// Per certificate slot, the RFC 5280 reason of a certificate revoked
    /// on the card (Figure 6, 616); empty when none is.
    pub revoked: Vec<Option<u8>>,
}

/// The service template of the status: the last authority contact, the
/// policy, and the lock state the card computes from its own clock and
/// count of charged operations.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ServiceInfo {
    /// Authority time of the last contact, Unix seconds.
    pub last_contact: u64,
    /// Days of service after a contact before the card warns (0: none).
    pub service_days: u32,
    /// Days of grace after that before debits stop.
    pub grace_days: u32,
    /// Charged operations allowed between contacts (0: no limit).
    pub max_debits: u32,
    /// Charged operations since the last contact.
    pub debits_since_contact: u32,
    /// `in service`, `service due`, `locked: service overdue` or
    /// `locked: charged operations used up`.
    pub state: String,
    /// Whether debits are refused until the next contact.
    pub locked: bool,
}

impl Status {
    /// The meter serial and the chip id, as an authority contact names the
    /// card: refused when the card is not personalized.
    pub fn identity(&self) -> Result<(String, [u8; 8]), Error> {
        let serial = self.serial.clone().ok_or(Error::NotPersonalized)?;
        Ok((serial, self.chip_id_bytes()?))
    }

    /// The chip id as bytes.
    pub fn chip_id_bytes(&self) -> Result<[u8; 8], Error> {
        hex::decode(&self.chip_id)
            .ok()
            .and_then(|c| <[u8; 8]>::try_from(c).ok())
            .ok_or_else(|| Error::Malformed("chip id".into()))
    }
}

/// A certificate stored on the card.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CertificateInfo {
    /// Slot number.
    pub slot: u8,
    /// Certificate serial.
    pub serial: u64,
    /// Holder's unique name.
    pub holder: String,
    /// Issuer.
    pub issuer: String,
    /// Valid from, Unix seconds.
    pub effective: u64,
    /// Valid until, Unix seconds.
    pub expiry: u64,
    /// Authorized-use bits.
    pub usage: u8,
    /// Revoked on the card (Figure 6, 616), with this RFC 5280 reason.
    pub revoked: Option<u8>,
}

/// What VERIFY POSTMARK answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CardVerdict {
    /// `Ok` when valid (420), else the failed check.
    pub result: Result<(), apdu::crypto::Invalid>,
    /// The fee charged.
    pub fee: u64,
    /// The number of the revocation list the card consulted, if one was
    /// sent.
    pub crl: Option<u64>,
}

impl<T: Transport> Meter<T> {
    /// Wraps a transport; call [`Meter::select`] before anything else.
    pub fn new(transport: T) -> Self {
        Meter { transport }
    }

    /// The transport underneath.
    pub fn transport(&mut self) -> &mut T {
        &mut self.transport
    }

    /// Gives the transport back.
    pub fn into_transport(self) -> T {
        self.transport
    }

    /// Runs `f` with the card held exclusively ([`Transport::exclusive`]):
    /// the commands of one flow are not interleaved with another program's.
    pub fn exclusive<R>(
        &mut self,
        f: impl FnOnce(&mut Meter<&mut dyn Transport>) -> Result<R, Error>,
    ) -> Result<R, Error> {
        let mut f = Some(f);
        let mut out = None;
        self.transport.exclusive(&mut |t| {
            if let Some(f) = f.take() {
                out = Some(f(&mut Meter::new(t))?);
            }
            Ok(())
        })?;
        out.ok_or_else(|| Error::Malformed("the exclusive section did not run".into()))
    }

    /// Runs `f` with the owner PIN verified, for a flow that spends or
    /// changes keys: VERIFY and `f` run inside one exclusive section
    /// ([`Transport::exclusive_reset`]) that ends by resetting the card,
    /// so the verified PIN never outlives the flow (over PC/SC no other
    /// program gets the card while it is in force) and is not kept for a
    /// replay. `verified` is set once the card accepted the PIN.
    pub fn with_pin<R>(
        &mut self,
        pin: &[u8],
        verified: &mut bool,
        f: impl FnOnce(&mut Meter<&mut dyn Transport>) -> Result<R, Error>,
    ) -> Result<R, Error> {
        let mut f = Some(f);
        let mut out = None;
        self.transport.exclusive_reset(&mut |t| {
            if let Some(f) = f.take() {
                let mut m = Meter::new(t);
                m.verify_pin(pin)?;
                *verified = true;
                out = Some(f(&mut m)?);
            }
            Ok(())
        })?;
        out.ok_or_else(|| Error::Malformed("the exclusive section did not run".into()))
    }

    fn call(&mut self, req: Request<'_>) -> Result<Vec<u8>, Error> {
        check(exchange(&mut self.transport, &req.to_command())?)
    }

    /// SELECTs the meter application.
    pub fn select(&mut self) -> Result<(), Error> {
        self.call(Request::Select { aid: AID }).map(drop)
    }

    /// Reads and decodes the status template.
    pub fn status(&mut self) -> Result<Status, Error> {
        let data = self.call(Request::GetData(DataObject::Status))?;
        let mut status = parse_status(&data)?;
        if status.certificate_slots.used > 0 {
            status.certificates = self.certificates(status.certificate_slots.capacity)?;
        }
        for c in &mut status.certificates {
            c.revoked = status.revoked.get(usize::from(c.slot)).copied().flatten();
        }
        Ok(status)
    }

    /// VERIFY the owner PIN. A PIN the card could not hold is refused
    /// here, before a try is spent (an empty one would even be sent as the
    /// status query).
    pub fn verify_pin(&mut self, pin: &[u8]) -> Result<(), Error> {
        check_pin(pin)?;
        self.call(Request::Verify { pin: Some(pin) }).map(drop)
    }

    /// CHANGE REFERENCE DATA: replaces the owner PIN.
    pub fn change_pin(&mut self, old: &[u8], new: &[u8]) -> Result<(), Error> {
        // Checked here, before any try is spent on the card.
        check_pin(old)?;
        check_pin(new)?;
        let mut both = old.to_vec();
        both.resize(
            apdu::meter::PIN_MAX_LEN.max(old.len()),
            apdu::meter::PIN_PAD,
        );
        both.extend_from_slice(new);
        self.call(Request::ChangePin {
            old_then_new: &both,
        })
        .map(drop)
    }

    /// GET CHALLENGE: a fresh card nonce.
    pub fn challenge(&mut self) -> Result<[u8; CHALLENGE_LEN], Error> {
        let data = self.call(Request::GetChallenge)?;
        data.try_into()
            .map_err(|_| Error::Malformed("challenge of the wrong length".into()))
    }

    /// Generates the meter key pair on the card (blank card, PIN verified);
    /// returns the uncompressed public key.
    pub fn generate_meter_key(&mut self) -> Result<Vec<u8>, Error> {
        let data = self.call(Request::GenerateKey { generate: true })?;
        parse_public_key(&data)
    }

    /// The meter public key.
    pub fn meter_public_key(&mut self) -> Result<Vec<u8>, Error> {
        let data = self.call(Request::GenerateKey { generate: false })?;
        parse_public_key(&data)
    }

    /// READ ATTESTATION: the card's attestation public key (uncompressed
    /// SEC1) and its attestation certificate, if the factory stored one.
    pub fn read_attestation(&mut self) -> Result<([u8; 65], Option<Vec<u8>>), Error> {
        let data = self.call(Request::ReadAttestation)?;
        let bad = || Error::Malformed("attestation template".into());
        let inner = apdu::tlv::find(&data, apdu::cmd::attestation::ATTESTATION).ok_or_else(bad)?;
        let key = apdu::tlv::find(inner, apdu::meter::tag::PUBLIC_KEY)
            .and_then(|k| apdu::tlv::find(k, apdu::meter::tag::EC_POINT))
            .and_then(|k| <[u8; 65]>::try_from(k).ok())
            .ok_or_else(bad)?;
        let cert = apdu::tlv::find_object(inner, apdu::cert::CERTIFICATE).map(<[u8]>::to_vec);
        Ok((key, cert))
    }

    /// STORE ATTESTATION CERTIFICATE (the factory's step, once).
    pub fn store_attestation(&mut self, certificate: &[u8]) -> Result<(), Error> {
        self.call(Request::StoreAttestation { certificate })
            .map(drop)
    }

    /// ATTEST: the card's statement over its meter key and `nonce`, then its
    /// attestation certificate (blank card, PIN verified).
    pub fn attest(&mut self, nonce: &[u8; 16]) -> Result<Vec<u8>, Error> {
        self.call(Request::Attest { nonce })
    }

    /// RESET RETRY COUNTER: the authority's unblock `message`, then the new
    /// owner PIN.
    pub fn unblock(&mut self, message: &[u8], new_pin: &[u8]) -> Result<(), Error> {
        let data = zeroize::Zeroizing::new([message, new_pin].concat());
        self.call(Request::Unblock {
            message_then_pin: &data,
        })
        .map(drop)
    }

    /// CHANNEL KEY: the card's static channel key registration (`7F78`),
    /// signed by the meter key over the authority's `nonce`.
    pub fn channel_key(&mut self, nonce: &[u8; 16]) -> Result<Vec<u8>, Error> {
        self.call(Request::ChannelKey { nonce })
    }

    /// OPEN CHANNEL: the card's channel request (`7F77`).
    pub fn open_channel(&mut self) -> Result<Vec<u8>, Error> {
        self.call(Request::OpenChannel)
    }

    /// CHANNEL HELLO: the authority's hello (`7F76`) opens the channel.
    pub fn channel_hello(&mut self, hello: &[u8]) -> Result<(), Error> {
        self.call(Request::ChannelHello { hello }).map(drop)
    }

    /// CHANNEL MESSAGE: relays a sealed message; returns the card's sealed
    /// answer.
    pub fn channel_message(&mut self, sealed: &[u8]) -> Result<Vec<u8>, Error> {
        self.call(Request::ChannelMessage { sealed })
    }

    /// INSTALL KEY (Figure 5, 504-512): the sealed key request in, the
    /// sealed certificate request out.
    pub fn install_key(&mut self, sealed: &[u8]) -> Result<Vec<u8>, Error> {
        self.call(Request::InstallKey { sealed })
    }

    /// INSTALL CERTIFICATE (Figure 5, 518-520): the sealed certificate in,
    /// the sealed slot out.
    pub fn install_certificate(&mut self, sealed: &[u8]) -> Result<Vec<u8>, Error> {
        self.call(Request::InstallCertificate { sealed })
    }

    /// SIGN: `digest` signed with the key installed in `slot` (`r || s`).
    pub fn sign(&mut self, slot: u8, digest: &[u8; 32]) -> Result<Vec<u8>, Error> {
        self.call(Request::Sign {
            slot,
            digest,
            authenticate: false,
        })
    }

    /// AUTHENTICATE: the `challenge` answered with the key installed in
    /// `slot`, a signature (`r || s`) of
    /// [`apdu::cmd::install::authentication_digest`] of it.
    pub fn authenticate(&mut self, slot: u8, challenge: &[u8; 32]) -> Result<Vec<u8>, Error> {
        self.call(Request::Sign {
            slot,
            digest: challenge,
            authenticate: true,
        })
    }

    /// SYNC with the authority's signed time and policy.
    pub fn sync(&mut self, message: &[u8]) -> Result<(), Error> {
        self.call(Request::Sync { message }).map(drop)
    }

    /// RECHARGE REQUEST ([value] point 1): the card's signed request for
    /// `amount` minor units into `register`, over its state and the
    /// current challenge (not consumed).
    pub fn recharge_request(
        &mut self,
        register: RegisterId,
        amount: u64,
    ) -> Result<Vec<u8>, Error> {
        let amount = amount.to_be_bytes();
        self.call(Request::RechargeRequest {
            register,
            amount: &amount,
        })
    }

    /// RATE UPDATE ([value] point 2) with the authority's versioned table.
    pub fn rate_update(&mut self, message: &[u8]) -> Result<(), Error> {
        self.call(Request::RateUpdate { message }).map(drop)
    }

    /// AUDIT ([value] point 4): the card's signed, chained audit report
    /// over the current challenge (not consumed).
    pub fn audit(&mut self) -> Result<Vec<u8>, Error> {
        self.call(Request::Audit)
    }

    /// The rate table with its version (GET DATA `E1`).
    pub fn rate_table(&mut self) -> Result<(u32, Vec<(Service, u64)>), Error> {
        let data = self.call(Request::GetData(DataObject::RateTable))?;
        let table = RateTable::parse(&data).map_err(|_| malformed("rate table"))?;
        Ok((table.version(), table.iter().collect()))
    }

    /// REVOKE REQUEST (Figure 6, 602): the card's signed request to revoke
    /// the certificate in `slot` for RFC 5280 `reason`, over the current
    /// challenge (not consumed).
    pub fn revoke_request(&mut self, slot: u8, reason: u8) -> Result<Vec<u8>, Error> {
        self.call(Request::RevokeRequest { slot, reason })
    }

    /// KEY UPDATE with the authority's message carrying its next key.
    pub fn key_update(&mut self, message: &[u8]) -> Result<(), Error> {
        self.call(Request::KeyUpdate { message }).map(drop)
    }

    /// REVOKE with the authority's revocation message; returns the card's
    /// signed confirmation.
    pub fn revoke(&mut self, message: &[u8]) -> Result<Vec<u8>, Error> {
        self.call(Request::Revoke { message })
    }

    /// PERSONALIZE with the authority's message.
    pub fn personalize(&mut self, message: &[u8]) -> Result<(), Error> {
        self.call(Request::Personalize { message }).map(drop)
    }

    /// LOAD VALUE; returns the card's signed load receipt.
    pub fn load_value(&mut self, message: &[u8]) -> Result<Vec<u8>, Error> {
        self.call(Request::LoadValue { message })
    }

    /// HASH init: starts a new message on the card.
    pub fn hash_init(&mut self) -> Result<(), Error> {
        self.call(Request::HashInit).map(drop)
    }

    /// HASH update: the next part of the message.
    pub fn hash_update(&mut self, data: &[u8]) -> Result<(), Error> {
        self.call(Request::HashUpdate { data }).map(drop)
    }

    /// POSTMARK over the message hashed since [`Meter::hash_init`].
    pub fn postmark(&mut self) -> Result<Vec<u8>, Error> {
        self.call(Request::Postmark)
    }

    /// POSTAGE with the request's data
    /// ([`apdu::cmd::postage::PostageRequest`]); answers the indicium
    /// (`7F66`). [`crate::postage::postage`] builds the request.
    pub fn postage(&mut self, request: &[u8]) -> Result<Vec<u8>, Error> {
        self.call(Request::Postage { request })
    }

    /// VERIFY POSTMARK against the message hashed since [`Meter::hash_init`],
    /// with the authority's revocation list (`7F7F`) for the card to
    /// consult when `crl` is given.
    pub fn verify_postmark(
        &mut self,
        file: &[u8],
        crl: Option<&[u8]>,
    ) -> Result<CardVerdict, Error> {
        let data = match crl {
            Some(list) => self.call(Request::VerifyPostmark {
                file: &[file, list].concat(),
                with_crl: true,
            })?,
            None => self.call(Request::VerifyPostmark {
                file,
                with_crl: false,
            })?,
        };
        let v = Verdict::parse(&data).map_err(|_| malformed("verdict"))?;
        Ok(CardVerdict {
            result: v.result,
            fee: v.fee,
            crl: v.crl,
        })
    }

    /// READ CERTIFICATE in `slot`.
    pub fn read_certificate(&mut self, slot: u8) -> Result<Vec<u8>, Error> {
        self.call(Request::ReadCertificate { slot })
    }

    /// ISSUE CERTIFICATE (Figure 3A) with the request's data
    /// ([`apdu::cmd::issue_certificate::IssueRequest`]); answers the agent
    /// certificate and the sealed key. [`crate::agent::issue`] builds the
    /// request and the file.
    pub fn issue_certificate(&mut self, request: &[u8]) -> Result<Vec<u8>, Error> {
        self.call(Request::IssueCertificate { request })
    }

    /// STORE CREDIT LINE (Figure 8, 810/812) with the creditor certificate
    /// then the line-of-credit certificate (7A).
    pub fn store_credit_line(&mut self, file: &[u8]) -> Result<(), Error> {
        self.call(Request::StoreCreditLine { file }).map(drop)
    }

    /// READ CREDIT LINE: the line file stored (creditor certificate and
    /// 7A) and the line's state; `None` when the card holds no line (940E).
    pub fn read_credit_line(
        &mut self,
    ) -> Result<Option<(Vec<u8>, apdu::cmd::credit_line::CreditState)>, Error> {
        let data = match self.call(Request::ReadCreditLine) {
            Ok(d) => d,
            Err(Error::Card { sw }) if sw == apdu::StatusWord::NO_CREDIT_LINE => return Ok(None),
            Err(e) => return Err(e),
        };
        let (file, state) = apdu::cmd::credit_line::parse_read_answer(&data)
            .map_err(|_| malformed("credit line"))?;
        let (a, b) = file.bytes();
        Ok(Some(([a, b].concat(), state)))
    }

    /// PAY (Figure 9) with the request's data
    /// ([`apdu::cmd::pay::PayRequest`]); answers the payment certificate
    /// (7B). [`crate::pay::pay`] builds the request and the file.
    pub fn pay(&mut self, request: &[u8]) -> Result<Vec<u8>, Error> {
        self.call(Request::Pay { request })
    }

    /// The rate table: each priced service with its fee.
    pub fn rates(&mut self) -> Result<Vec<(Service, u64)>, Error> {
        let data = self.call(Request::GetData(DataObject::RateTable))?;
        let table = RateTable::parse(&data).map_err(|_| malformed("rate table"))?;
        Ok(table.iter().collect())
    }

    fn certificates(&mut self, slots: u32) -> Result<Vec<CertificateInfo>, Error> {
        let mut out = Vec::new();
        for slot in 0..slots.min(255) as u8 {
            let bytes = match self.read_certificate(slot) {
                Ok(b) => b,
                Err(Error::Card { sw }) if sw == apdu::StatusWord::REFERENCED_DATA_NOT_FOUND => {
                    continue;
                }
                Err(e) => return Err(e),
            };
            let c = apdu::cert::Certificate::parse(&bytes).map_err(|_| malformed("certificate"))?;
            out.push(CertificateInfo {
                slot,
                serial: c.serial,
                holder: String::from_utf8_lossy(c.holder).into_owned(),
                issuer: String::from_utf8_lossy(c.issuer).into_owned(),
                effective: c.effective,
                expiry: c.expiry,
                usage: c.usage,
                revoked: None,
            });
        }
        Ok(out)
    }
}

/// Refuses a PIN the card could not hold ([`apdu::meter::pin_well_formed`]).
fn check_pin(pin: &[u8]) -> Result<(), Error> {
    if apdu::meter::pin_well_formed(pin) {
        return Ok(());
    }
    Err(Error::Input(format!(
        "a PIN is {PIN_MIN_LEN} to {PIN_MAX_LEN} characters, without byte FF"
    )))
}

fn malformed(what: &str) -> Error {
    Error::Malformed(format!("the card's {what} is malformed"))
}

impl From<Budget> for Usage {
    fn from(b: Budget) -> Self {
        Usage {
            used: b.used,
            capacity: b.capacity,
        }
    }
}

fn parse_status(data: &[u8]) -> Result<Status, Error> {
    let what = "status";
    let t = StatusTemplate::parse(data).map_err(|_| malformed(what))?;
    let register = |r: RegisterValues| -> Result<RegisterState, Error> {
        Ok(RegisterState {
            ascending: r.ascending,
            descending: r.descending,
            control_total: r
                .ascending
                .checked_add(r.descending)
                .ok_or_else(|| malformed(what))?,
        })
    };
    Ok(Status {
        lifecycle: t.lifecycle.name().into(),
        personalized: t.lifecycle == Lifecycle::Personalized,
        chip_id: hex::encode_upper(t.chip_id),
        serial: t.serial.map(|s| String::from_utf8_lossy(s).into_owned()),
        clock: t.clock,
        sequence: t.sequence,
        registers: Registers {
            postage: register(t.postage)?,
            certificate: register(t.certificate)?,
        },
        piece_counts: PieceCounts {
            postage: t.postage_pieces,
            certificate: t.certificate_pieces,
        },
        pin_tries: t.pin_tries,
        meter_key: t.meter_key,
        authority_keys: t.authority_keys,
        certificate_slots: t.certificate_slots.into(),
        memory: t.memory.into(),
        load_count: t.load_count,
        deadline: t.deadline,
        postmarks: t.postmarks,
        transport_pin: t.transport_pin,
        service: t.service.map(|s| ServiceInfo {
            last_contact: s.last_contact,
            service_days: s.policy.service_days,
            grace_days: s.policy.grace_days,
            max_debits: s.policy.max_debits,
            debits_since_contact: s.debits,
            state: s.state.name().to_owned(),
            locked: matches!(
                s.state,
                apdu::meter::ServiceState::LockedByTime | apdu::meter::ServiceState::LockedByDebits
            ),
        }),
        certificates: Vec::new(),
        revoked: t
            .revoked
            .unwrap_or_default()
            .iter()
            .map(|&r| r.checked_sub(1))
            .collect(),
    })
}

fn parse_public_key(data: &[u8]) -> Result<Vec<u8>, Error> {
    PublicKeyTemplate::parse(data)
        .map(|t| t.point.to_vec())
        .map_err(|_| malformed("public key"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::MemoryTransport;
    use applet_sim::sim::{Card, SimConfig};

    #[test]
    fn status_of_a_blank_card() {
        let card = Card::manufacture(SimConfig::deterministic(1, 1_800_000_000)).unwrap();
        let mut m = Meter::new(MemoryTransport::new(card, false));
        m.select().unwrap();
        let s = m.status().unwrap();
        assert_eq!(s.lifecycle, "blank");
        assert!(!s.personalized && !s.meter_key);
        assert_eq!(s.serial, None);
        assert_eq!(s.clock, 1_800_000_000);
        assert_eq!(s.pin_tries, 3);
        assert_eq!(s.registers.postage.control_total, 0);
        assert_eq!(s.certificate_slots.capacity, 4);
        assert!(s.memory.used > 0 && s.memory.used <= s.memory.capacity);
    }

    #[test]
    fn pin_and_key_through_the_api() {
        let card = Card::manufacture(SimConfig::deterministic(1, 0)).unwrap();
        let mut m = Meter::new(MemoryTransport::new(card, false));
        m.select().unwrap();
        let e = m.verify_pin(b"0000").unwrap_err();
        assert_eq!(e.status().and_then(|s| s.tries_left()), Some(2));
        m.verify_pin(apdu::meter::DEFAULT_PIN).unwrap();
        assert!(m.status().unwrap().transport_pin);
        // The transport PIN generates no key.
        assert_eq!(
            m.generate_meter_key().unwrap_err(),
            Error::Card {
                sw: apdu::StatusWord::TRANSPORT_PIN
            }
        );
        let tries = |m: &mut Meter<MemoryTransport>| m.status().unwrap().pin_tries;
        assert!(matches!(
            m.change_pin(b"123456789", b"2468"),
            Err(Error::Input(_))
        ));
        assert!(matches!(
            m.change_pin(apdu::meter::DEFAULT_PIN, b"\xFF123"),
            Err(Error::Input(_))
        ));
        assert_eq!(
            tries(&mut m),
            3,
            "no try spent on input refused by the host"
        );
        m.change_pin(apdu::meter::DEFAULT_PIN, b"24680").unwrap();
        m.transport().reset().unwrap();
        m.select().unwrap();
        m.verify_pin(b"24680").unwrap();
        assert!(!m.status().unwrap().transport_pin);
        let k = m.generate_meter_key().unwrap();
        assert_eq!(k.len(), 65);
        assert_eq!(m.meter_public_key().unwrap(), k);
        assert_ne!(m.challenge().unwrap(), m.challenge().unwrap());
        assert!(m.status().unwrap().meter_key);
    }
}
