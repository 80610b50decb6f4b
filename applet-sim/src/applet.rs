//! The dispatcher: every APDU is parsed into a typed [`Request`], its
//! access policy ([`apdu::policy`]) is checked once, then one flow
//! ([`crate::flows`]) validates the rest of the command before it touches
//! any state and executes it. A failed command rolls back its open
//! transaction.

use apdu::meter::{DEFAULT_PIN, Lifecycle, Request};
use apdu::{Command, StatusWord};

use crate::context::Context;
use crate::error::{Error, Result};
use crate::flows::{
    attestation, audit, challenge, channel, credit_line, generate_key, get_data, hash, install,
    issue_certificate, key_update, load_value, pay, personalize, pin, postage, postmark,
    rate_update, read_certificate, recharge, revoke, select, sign, sync, unblock, verify_postmark,
};
use crate::keys;
use crate::layout::{self, CHIP_ID, LAYOUT_VERSION, LIFECYCLE};
use crate::migrate;
use crate::platform::Platform;
use crate::state::{self, Transient};
use crate::store::Store;
use crate::{clock, contact};

/// How a command ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// `len` response bytes were written, then this status word.
    Reply {
        /// Response data length.
        len: usize,
        /// Status word.
        sw: StatusWord,
    },
    /// The power was cut: no answer; the card needs a power-up.
    PowerLost,
}

/// The meter applet: its persistent store and transient RAM.
#[derive(Clone, Default)]
pub struct Applet {
    /// Persistent memory.
    pub store: Store,
    /// Volatile memory.
    pub ram: Transient,
}

impl Applet {
    /// Manufactures a blank card into erased memory: the current layout
    /// version, life cycle `Blank`, a random chip id, the default PIN with
    /// full tries (a transport PIN: it must be changed before anything is
    /// spent or personalized), and the issuer root `issuer_root` pinned (uncompressed
    /// SEC1; the card then accepts only authority keys it certifies), and
    /// a fresh attestation key pair (its certificate comes from the factory
    /// with STORE ATTESTATION CERTIFICATE).
    /// Without one (or with bytes that are not a P-256 point) the card is
    /// made without a root and refuses personalization.
    pub fn manufacture(
        p: &mut impl Platform,
        issuer_root: Option<&[u8; apdu::meter::PUBLIC_KEY_LEN]>,
    ) -> core::result::Result<Self, Error> {
        let mut a = Applet::default();
        let mut chip = [0u8; 8];
        p.fill_random(&mut chip);
        let attestation = keys::new_key(p)?;
        a.store.begin()?;
        LAYOUT_VERSION.set(&mut a.store, u64::from(layout::VERSION))?;
        CHIP_ID.write(&mut a.store, &chip)?;
        state::set_pin(&mut a.store, DEFAULT_PIN)?;
        layout::PIN_TRANSPORT.set(&mut a.store, 1)?;
        layout::ATTESTATION_PRIVATE_KEY.write(&mut a.store, &attestation.to_bytes())?;
        layout::ATTESTATION_PUBLIC_KEY.write(
            &mut a.store,
            &keys::encode_public(attestation.verifying_key()),
        )?;
        layout::ATTESTATION_KEY_PRESENT.set(&mut a.store, 1)?;
        if let Some(root) = issuer_root.filter(|r| apdu::crypto::public_key(&r[..]).is_some()) {
            layout::ISSUER_ROOT.write(&mut a.store, root)?;
            layout::ISSUER_ROOT_PRESENT.set(&mut a.store, 1)?;
        }
        LIFECYCLE.set(&mut a.store, Lifecycle::Blank as u64)?;
        a.store.commit()?;
        Ok(a)
    }

    /// Power-up or reset: volatile state cleared, an interrupted transaction
    /// undone, then an image of an older layout migrated to the current one
    /// ([`crate::migrate`]; a cut during the migration is undone at the next
    /// power-up, which migrates again).
    pub fn power_up(&mut self) -> Outcome {
        self.ram = Transient::default();
        if self.store.recover().is_err() {
            return Outcome::PowerLost;
        }
        match migrate::migrate(&mut self.store) {
            Ok(()) => {}
            Err(Error::PowerLost) => return Outcome::PowerLost,
            // Not migrated (it cannot fail with today's layouts): the card
            // stays in its old layout, which it does not read (SELECT 6A82).
            Err(Error::Status(_)) => {
                if self.store.in_transaction() && self.store.abort().is_err() {
                    return Outcome::PowerLost;
                }
            }
        }
        Outcome::Reply {
            len: 0,
            sw: StatusWord::OK,
        }
    }

    /// The life-cycle state, if the memory holds a manufactured card.
    pub fn lifecycle(&self) -> Option<Lifecycle> {
        state::lifecycle(&self.store)
    }

    /// Processes one complete command APDU, writing response data into `out`.
    pub fn process(&mut self, p: &mut impl Platform, command: &[u8], out: &mut [u8]) -> Outcome {
        match Command::parse(command) {
            Ok(cmd) => self.process_command(p, &cmd, out),
            Err(e) => Outcome::Reply {
                len: 0,
                sw: e.status(),
            },
        }
    }

    /// Processes one parsed command (chained parts already reassembled).
    pub fn process_command(
        &mut self,
        p: &mut impl Platform,
        cmd: &Command<'_>,
        out: &mut [u8],
    ) -> Outcome {
        let result = Request::parse(cmd)
            .map_err(Error::Status)
            .and_then(|req| self.execute(p, req, out));
        match result {
            Ok(len) => Outcome::Reply {
                len,
                sw: StatusWord::OK,
            },
            Err(Error::PowerLost) => Outcome::PowerLost,
            Err(Error::Status(sw)) => {
                if self.store.in_transaction() && self.store.abort().is_err() {
                    return Outcome::PowerLost;
                }
                Outcome::Reply { len: 0, sw }
            }
        }
    }

    /// Checks the request's access policy, in the order of docs/apdu.md
    /// "Order of checks", then runs its flow.
    fn execute<P: Platform>(
        &mut self,
        platform: &mut P,
        req: Request<'_>,
        out: &mut [u8],
    ) -> Result<usize> {
        let policy = req.policy();
        let mut challenge = None;
        if policy.selected {
            // 6: selection.
            if !self.ram.selected {
                return Err(StatusWord::COMMAND_NOT_ALLOWED.into());
            }
            // 7: a readable life cycle.
            let lifecycle = self.lifecycle().ok_or(StatusWord::MEMORY_FAILURE)?;
            // A challenge is used up by any attempt that gets this far.
            if policy.challenge {
                challenge = self.ram.challenge.take();
            }
            // 8-10: the life cycle (GET DATA: any; Terminated refuses the
            // rest), then the PIN.
            if !policy.lifecycles.allows(lifecycle) {
                return Err(StatusWord::CONDITIONS_NOT_SATISFIED.into());
            }
            if policy.pin && !self.ram.pin_verified {
                return Err(StatusWord::SECURITY_STATUS_NOT_SATISFIED.into());
            }
            // 11: the transport PIN a new card comes with spends nothing.
            if policy.user_pin && state::transport_pin(&self.store)? {
                return Err(StatusWord::TRANSPORT_PIN.into());
            }
            // 12: a card locked by its service policy charges nothing.
            if policy.unlocked {
                let now = clock::now(&self.store, platform)?;
                contact::check(&self.store, now)?;
            }
        }
        let ctx = &mut Context {
            store: &mut self.store,
            ram: &mut self.ram,
            platform,
            out,
            policy,
            challenge,
        };
        match req {
            Request::Select { aid } => select::select(ctx, aid),
            Request::GetData(obj) => get_data::get_data(ctx, obj),
            Request::Verify { pin } => pin::verify(ctx, pin),
            Request::ChangePin { old_then_new } => pin::change(ctx, old_then_new),
            Request::GetChallenge => challenge::get_challenge(ctx),
            Request::GenerateKey { generate: false } => generate_key::read(ctx),
            Request::GenerateKey { generate: true } => generate_key::generate(ctx),
            Request::Personalize { message } => personalize::personalize(ctx, message),
            Request::LoadValue { message } => load_value::load_value(ctx, message),
            Request::HashInit => hash::init(ctx),
            Request::HashUpdate { data } => hash::update(ctx, data),
            Request::Postmark => postmark::postmark(ctx),
            Request::Postage { request } => postage::postage(ctx, request),
            Request::VerifyPostmark { file, with_crl } => {
                verify_postmark::verify_postmark(ctx, file, with_crl)
            }
            Request::ReadCertificate { slot } => read_certificate::read_certificate(ctx, slot),
            Request::StoreAttestation { certificate } => attestation::store(ctx, certificate),
            Request::ReadAttestation => attestation::read(ctx),
            Request::Attest { nonce } => attestation::attest(ctx, nonce),
            Request::Unblock { message_then_pin } => unblock::unblock(ctx, message_then_pin),
            Request::Sync { message } => sync::sync(ctx, message),
            Request::RechargeRequest { register, amount } => {
                recharge::request(ctx, register, amount)
            }
            Request::RateUpdate { message } => rate_update::rate_update(ctx, message),
            Request::Audit => audit::audit(ctx),
            Request::IssueCertificate { request } => {
                issue_certificate::issue_certificate(ctx, request)
            }
            Request::RevokeRequest { slot, reason } => revoke::request(ctx, slot, reason),
            Request::Revoke { message } => revoke::revoke(ctx, message),
            Request::KeyUpdate { message } => key_update::key_update(ctx, message),
            Request::ChannelKey { nonce } => channel::key(ctx, nonce),
            Request::OpenChannel => channel::open(ctx),
            Request::ChannelHello { hello } => channel::hello(ctx, hello),
            Request::ChannelMessage { sealed } => channel::message(ctx, sealed),
            Request::InstallKey { sealed } => install::key(ctx, sealed),
            Request::InstallCertificate { sealed } => install::install(ctx, sealed),
            Request::Sign {
                slot,
                digest,
                authenticate,
            } => sign::sign(ctx, slot, digest, authenticate),
            Request::StoreCreditLine { file } => credit_line::store(ctx, file),
            Request::ReadCreditLine => credit_line::read(ctx),
            Request::Pay { request } => pay::pay(ctx, request),
        }
    }
}
