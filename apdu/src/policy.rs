//! The access policy of every meter command, declared once: which life
//! cycles accept it, whether it needs the application selected and the owner
//! PIN verified, whether it consumes the card challenge, and which service
//! it charges to which register.
//!
//! The card checks a command's [`Policy`] once, before the command's own
//! code runs, in the order of `docs/apdu.md`, "Order of checks (which SW
//! wins)":
//!
//! 1. [`Policy::selected`]: not selected, `6986` (only SELECT runs without
//!    selection, before any other check: it reads the life cycle itself);
//! 2. the life-cycle byte is unreadable (erased): `6581`;
//! 3. [`Policy::challenge`]: the challenge is taken out of RAM, so that any
//!    attempt from here on consumes it, whatever its outcome;
//! 4. [`Policy::lifecycles`]: the life cycle is not allowed, `6985` (this is
//!    also where Terminated refuses everything but SELECT and GET DATA);
//! 5. [`Policy::pin`]: the owner PIN is not verified, `6982`;
//! 6. [`Policy::user_pin`]: the owner PIN is still the transport PIN a new
//!    card comes with, `9403` (change it first);
//! 7. [`Policy::unlocked`]: the card is locked out by its service policy:
//!    past the service and grace days since the last authority contact,
//!    `9404`; the charged operations allowed since then used up, `9405`.
//!
//! Then the command checks what only it knows (hash state, data, funds).
//! The funds check needs the computed fee, so it stays with the command, but
//! the service and register it uses are [`Policy::charge`].
//!
//! The table is `const`, `no_std` and heap-free. [`Request::policy`] matches
//! every variant without a wildcard: a new command does not compile without
//! its policy.

use crate::meter::{Lifecycle, RegisterId, Request, Service};

/// A set of life cycles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lifecycles(u8);

impl Lifecycles {
    /// No life cycle.
    pub const NONE: Lifecycles = Lifecycles(0);
    /// Blank only.
    pub const BLANK: Lifecycles = Lifecycles::NONE.with(Lifecycle::Blank);
    /// Personalized only.
    pub const PERSONALIZED: Lifecycles = Lifecycles::NONE.with(Lifecycle::Personalized);
    /// Blank or Personalized: not terminated.
    pub const NOT_TERMINATED: Lifecycles = Lifecycles::BLANK.with(Lifecycle::Personalized);
    /// Every life cycle, Terminated included.
    pub const ANY: Lifecycles = Lifecycles::NOT_TERMINATED.with(Lifecycle::Terminated);

    /// This set and `l`.
    pub const fn with(self, l: Lifecycle) -> Lifecycles {
        Lifecycles(self.0 | (1 << l as u8))
    }

    /// Whether `l` is in the set.
    pub const fn allows(self, l: Lifecycle) -> bool {
        self.0 & (1 << l as u8) != 0
    }
}

/// What a charged command debits: the service priced by the rate table
/// (Figure 2, 257) and the register that pays it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Charge {
    /// The service whose fee is charged.
    pub service: Service,
    /// The register debited.
    pub register: RegisterId,
}

/// The access policy of one command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    /// The meter application must be selected (`6986`). Only SELECT is
    /// `false`; it then runs before the life cycle is read, so its other
    /// fields must be the most permissive (checked by the tests).
    pub selected: bool,
    /// The life cycles in which the command runs (`6985` otherwise).
    pub lifecycles: Lifecycles,
    /// The owner PIN must be verified since the last power-up, reset or
    /// SELECT (`6982`).
    pub pin: bool,
    /// The owner PIN must have been changed from the transport PIN a new
    /// card comes with (`9403`): every command that spends or
    /// personalizes.
    pub user_pin: bool,
    /// The card must not be locked out by its service policy (`9404` by
    /// time, `9405` by charged operations): every command that charges.
    pub unlocked: bool,
    /// The command consumes the GET CHALLENGE nonce: it is taken out of RAM
    /// before the life-cycle and PIN checks, so any attempt uses it up.
    pub challenge: bool,
    /// The service and register the command charges, if it charges.
    pub charge: Option<Charge>,
}

impl Policy {
    /// Selected, not terminated, no PIN, no challenge, no charge: the
    /// baseline most commands share.
    const OPEN: Policy = Policy {
        selected: true,
        lifecycles: Lifecycles::NOT_TERMINATED,
        pin: false,
        user_pin: false,
        unlocked: false,
        challenge: false,
        charge: None,
    };
}

/// SELECT: no selection needed; every life cycle (it answers `6283` when
/// Terminated and `6A82` on erased memory itself).
pub const SELECT: Policy = Policy {
    selected: false,
    lifecycles: Lifecycles::ANY,
    ..Policy::OPEN
};
/// VERIFY: not terminated; it checks the PIN itself.
pub const VERIFY: Policy = Policy::OPEN;
/// CHANGE REFERENCE DATA: not terminated; it checks the old PIN itself.
pub const CHANGE_PIN: Policy = Policy::OPEN;
/// GET DATA: every life cycle, Terminated included.
pub const GET_DATA: Policy = Policy {
    lifecycles: Lifecycles::ANY,
    ..Policy::OPEN
};
/// GET CHALLENGE: not terminated.
pub const GET_CHALLENGE: Policy = Policy::OPEN;
/// GENERATE KEY `80` (generate): Blank, PIN.
pub const GENERATE_KEY: Policy = Policy {
    lifecycles: Lifecycles::BLANK,
    pin: true,
    user_pin: true,
    ..Policy::OPEN
};
/// GENERATE KEY `81` (read the public key): not terminated.
pub const READ_PUBLIC_KEY: Policy = Policy::OPEN;
/// PERSONALIZE: Blank, PIN, and it consumes the challenge.
pub const PERSONALIZE: Policy = Policy {
    lifecycles: Lifecycles::BLANK,
    pin: true,
    user_pin: true,
    challenge: true,
    ..Policy::OPEN
};
/// LOAD VALUE: Personalized, **no PIN** (the authority's signature is the
/// authorization), and it consumes the challenge (a recharge's value load
/// must answer it; a plain load ignores it). It credits the register its
/// message names; it charges nothing.
pub const LOAD_VALUE: Policy = Policy {
    lifecycles: Lifecycles::PERSONALIZED,
    challenge: true,
    ..Policy::OPEN
};
/// HASH init and update: not terminated.
pub const HASH: Policy = Policy::OPEN;
/// POSTMARK (Figure 3): Personalized, PIN; charges the postmark fee to the
/// certificate register.
pub const POSTMARK: Policy = Policy {
    lifecycles: Lifecycles::PERSONALIZED,
    pin: true,
    user_pin: true,
    unlocked: true,
    charge: Some(Charge {
        service: Service::Postmark,
        register: RegisterId::Certificate,
    }),
    ..Policy::OPEN
};
/// ISSUE CERTIFICATE (Figure 3A): Personalized, PIN; charges the
/// certificate fee to the certificate register.
pub const ISSUE_CERTIFICATE: Policy = Policy {
    lifecycles: Lifecycles::PERSONALIZED,
    pin: true,
    user_pin: true,
    unlocked: true,
    charge: Some(Charge {
        service: Service::IssueCertificate,
        register: RegisterId::Certificate,
    }),
    ..Policy::OPEN
};
/// VERIFY POSTMARK (Figure 4): Personalized, PIN; charges the verification
/// fee to the certificate register.
pub const VERIFY_POSTMARK: Policy = Policy {
    lifecycles: Lifecycles::PERSONALIZED,
    pin: true,
    user_pin: true,
    unlocked: true,
    charge: Some(Charge {
        service: Service::Verify,
        register: RegisterId::Certificate,
    }),
    ..Policy::OPEN
};
/// POSTAGE (a postage indicium): Personalized, PIN, refused while locked;
/// charges the Indicium fee of the rate table to the certificate register.
/// The postage itself, the amount of the request, is debited from the
/// postage register by the flow (it is the value of the stamp, not a
/// fee): both in the same transaction, one charged operation.
pub const POSTAGE: Policy = Policy {
    lifecycles: Lifecycles::PERSONALIZED,
    pin: true,
    user_pin: true,
    unlocked: true,
    charge: Some(Charge {
        service: Service::Indicium,
        register: RegisterId::Certificate,
    }),
    ..Policy::OPEN
};
/// READ CERTIFICATE: not terminated.
pub const READ_CERTIFICATE: Policy = Policy::OPEN;
/// STORE ATTESTATION CERTIFICATE: Blank, no PIN (the factory's step; the
/// certificate's signature by the pinned issuer root is the authorization,
/// and it is written once).
pub const STORE_ATTESTATION: Policy = Policy {
    lifecycles: Lifecycles::BLANK,
    ..Policy::OPEN
};
/// RESET RETRY COUNTER: Personalized, no PIN (it replaces a forgotten or
/// blocked one: the authority's signature is the authorization), and it
/// consumes the challenge.
pub const UNBLOCK: Policy = Policy {
    lifecycles: Lifecycles::PERSONALIZED,
    challenge: true,
    ..Policy::OPEN
};
/// SYNC: Personalized, no PIN (the authority's signature is the
/// authorization), works while locked, and consumes the challenge.
pub const SYNC: Policy = Policy {
    lifecycles: Lifecycles::PERSONALIZED,
    challenge: true,
    ..Policy::OPEN
};
/// READ ATTESTATION: not terminated.
pub const READ_ATTESTATION: Policy = Policy::OPEN;
/// ATTEST: Blank, PIN (the statement vouches for the key personalization
/// certifies).
pub const ATTEST: Policy = Policy {
    lifecycles: Lifecycles::BLANK,
    pin: true,
    user_pin: true,
    ..Policy::OPEN
};

/// REVOKE REQUEST (Figure 6, 602): Personalized, PIN; it signs over the
/// challenge without consuming it.
pub const REVOKE_REQUEST: Policy = Policy {
    lifecycles: Lifecycles::PERSONALIZED,
    pin: true,
    user_pin: true,
    ..Policy::OPEN
};
/// REVOKE (Figure 6, 608-624): Personalized, no PIN (the authority's
/// signature is the authorization: a forced revocation is applied at any
/// contact), consumes the challenge; charges the Revoke fee to the
/// certificate register when the message makes it payable.
pub const REVOKE: Policy = Policy {
    lifecycles: Lifecycles::PERSONALIZED,
    challenge: true,
    unlocked: true,
    charge: Some(Charge {
        service: Service::Revoke,
        register: RegisterId::Certificate,
    }),
    ..Policy::OPEN
};

/// KEY UPDATE ([certs] point 6): Personalized, no PIN (the current
/// authority key's signature and the issuer root's certificate authorize
/// it), works while locked, consumes the challenge.
pub const KEY_UPDATE: Policy = Policy {
    lifecycles: Lifecycles::PERSONALIZED,
    challenge: true,
    ..Policy::OPEN
};

/// CHANNEL KEY: Personalized, no PIN (it reads a public key, signed
/// over the authority's nonce; it writes nothing).
pub const CHANNEL_KEY: Policy = Policy {
    lifecycles: Lifecycles::PERSONALIZED,
    ..Policy::OPEN
};
/// OPEN CHANNEL, CHANNEL HELLO, CHANNEL MESSAGE: Personalized, no PIN
/// (transient state only; the commands carried inside check their own).
pub const CHANNEL: Policy = Policy {
    lifecycles: Lifecycles::PERSONALIZED,
    ..Policy::OPEN
};

/// INSTALL KEY: Personalized, PIN (not the transport PIN): the card
/// generates a key for the holder; it writes nothing.
pub const INSTALL_KEY: Policy = Policy {
    lifecycles: Lifecycles::PERSONALIZED,
    pin: true,
    user_pin: true,
    ..Policy::OPEN
};
/// INSTALL CERTIFICATE: Personalized, PIN, charges the InstallCertificate
/// fee to the certificate register, refused while locked.
pub const INSTALL_CERTIFICATE: Policy = Policy {
    lifecycles: Lifecycles::PERSONALIZED,
    pin: true,
    user_pin: true,
    unlocked: true,
    charge: Some(Charge {
        service: Service::InstallCertificate,
        register: RegisterId::Certificate,
    }),
    ..Policy::OPEN
};

/// RECHARGE REQUEST ([value] point 1): Personalized, no PIN (loading value
/// spends nothing; the authority decides), works while locked; it signs
/// over the challenge without consuming it (LOAD VALUE does).
pub const RECHARGE_REQUEST: Policy = Policy {
    lifecycles: Lifecycles::PERSONALIZED,
    ..Policy::OPEN
};
/// RATE UPDATE ([value] point 2): Personalized, no PIN (the authority's
/// signature is the authorization), works while locked, consumes the
/// challenge.
pub const RATE_UPDATE: Policy = Policy {
    lifecycles: Lifecycles::PERSONALIZED,
    challenge: true,
    ..Policy::OPEN
};
/// AUDIT ([value] point 4): Personalized, no PIN (an inspection must work
/// whatever the holder does), works while locked; it signs over the
/// challenge without consuming it (the authority's SYNC does).
pub const AUDIT: Policy = Policy {
    lifecycles: Lifecycles::PERSONALIZED,
    ..Policy::OPEN
};

/// SIGN: Personalized, PIN (not the transport PIN); not charged.
pub const SIGN: Policy = Policy {
    lifecycles: Lifecycles::PERSONALIZED,
    pin: true,
    user_pin: true,
    ..Policy::OPEN
};

/// STORE CREDIT LINE (Figure 8, 810/812): Personalized, PIN (the holder
/// takes the line); not charged. The creditor's signature, certified by
/// the authority, and the line number (the card's count plus one) are the
/// authorization and the replay protection.
pub const STORE_CREDIT_LINE: Policy = Policy {
    lifecycles: Lifecycles::PERSONALIZED,
    pin: true,
    user_pin: true,
    ..Policy::OPEN
};
/// READ CREDIT LINE: not terminated, no PIN (it reads what the status
/// shows of the line).
pub const READ_CREDIT_LINE: Policy = Policy::OPEN;
/// PAY (Figure 9): Personalized, PIN; charges the Payment fee to the
/// certificate register (the credit remaining is the flow's own check).
pub const PAY: Policy = Policy {
    lifecycles: Lifecycles::PERSONALIZED,
    pin: true,
    user_pin: true,
    unlocked: true,
    charge: Some(Charge {
        service: Service::Payment,
        register: RegisterId::Certificate,
    }),
    ..Policy::OPEN
};

impl Request<'_> {
    /// This command's access policy.
    pub const fn policy(&self) -> Policy {
        match self {
            Request::Select { .. } => SELECT,
            Request::Verify { .. } => VERIFY,
            Request::ChangePin { .. } => CHANGE_PIN,
            Request::GetData(_) => GET_DATA,
            Request::GetChallenge => GET_CHALLENGE,
            Request::GenerateKey { generate: true } => GENERATE_KEY,
            Request::GenerateKey { generate: false } => READ_PUBLIC_KEY,
            Request::Personalize { .. } => PERSONALIZE,
            Request::LoadValue { .. } => LOAD_VALUE,
            Request::HashInit | Request::HashUpdate { .. } => HASH,
            Request::Postmark => POSTMARK,
            Request::Postage { .. } => POSTAGE,
            Request::VerifyPostmark { .. } => VERIFY_POSTMARK,
            Request::ReadCertificate { .. } => READ_CERTIFICATE,
            Request::StoreAttestation { .. } => STORE_ATTESTATION,
            Request::ReadAttestation => READ_ATTESTATION,
            Request::Attest { .. } => ATTEST,
            Request::Unblock { .. } => UNBLOCK,
            Request::Sync { .. } => SYNC,
            Request::IssueCertificate { .. } => ISSUE_CERTIFICATE,
            Request::RevokeRequest { .. } => REVOKE_REQUEST,
            Request::Revoke { .. } => REVOKE,
            Request::KeyUpdate { .. } => KEY_UPDATE,
            Request::ChannelKey { .. } => CHANNEL_KEY,
            Request::OpenChannel
            | Request::ChannelHello { .. }
            | Request::ChannelMessage { .. } => CHANNEL,
            Request::InstallKey { .. } => INSTALL_KEY,
            Request::InstallCertificate { .. } => INSTALL_CERTIFICATE,
            Request::Sign { .. } => SIGN,
            Request::StoreCreditLine { .. } => STORE_CREDIT_LINE,
            Request::ReadCreditLine => READ_CREDIT_LINE,
            Request::Pay { .. } => PAY,
            Request::RechargeRequest { .. } => RECHARGE_REQUEST,
            Request::RateUpdate { .. } => RATE_UPDATE,
            Request::Audit => AUDIT,
        }
    }
}

/// `req.policy()`.
pub const fn policy(req: &Request<'_>) -> Policy {
    req.policy()
}

#[cfg(test)]
mod tests {
    use super::*;
    use Lifecycle::{Blank, Personalized, Terminated};

    /// Every request variant ([`crate::cmd::EXAMPLES`]).
    fn every_request() -> &'static [Request<'static>] {
        crate::cmd::EXAMPLES
    }

    /// The policy the docs give for each command (docs/apdu.md, "Life cycle
    /// and PIN at a glance"): (Blank, Personalized, Terminated, PIN,
    /// challenge, charge). No wildcard: a new variant fails to compile here.
    fn documented(r: &Request<'_>) -> ([bool; 3], bool, bool, Option<(Service, RegisterId)>) {
        const ALL: [bool; 3] = [true, true, true];
        const NOT_TERMINATED: [bool; 3] = [true, true, false];
        const BLANK: [bool; 3] = [true, false, false];
        const PERSONALIZED: [bool; 3] = [false, true, false];
        let certificate = RegisterId::Certificate;
        match r {
            Request::Select { .. } => (ALL, false, false, None),
            Request::Verify { .. } | Request::ChangePin { .. } => {
                (NOT_TERMINATED, false, false, None)
            }
            Request::GetData(_) => (ALL, false, false, None),
            Request::GetChallenge => (NOT_TERMINATED, false, false, None),
            Request::GenerateKey { generate: true } => (BLANK, true, false, None),
            Request::GenerateKey { generate: false } => (NOT_TERMINATED, false, false, None),
            Request::Personalize { .. } => (BLANK, true, true, None),
            Request::LoadValue { .. } => (PERSONALIZED, false, true, None),
            Request::HashInit | Request::HashUpdate { .. } => (NOT_TERMINATED, false, false, None),
            Request::Postmark => (
                PERSONALIZED,
                true,
                false,
                Some((Service::Postmark, certificate)),
            ),
            Request::Postage { .. } => (
                PERSONALIZED,
                true,
                false,
                Some((Service::Indicium, certificate)),
            ),
            Request::VerifyPostmark { .. } => (
                PERSONALIZED,
                true,
                false,
                Some((Service::Verify, certificate)),
            ),
            Request::ReadCertificate { .. } => (NOT_TERMINATED, false, false, None),
            Request::StoreAttestation { .. } => (BLANK, false, false, None),
            Request::ReadAttestation => (NOT_TERMINATED, false, false, None),
            Request::Attest { .. } => (BLANK, true, false, None),
            Request::Unblock { .. } => (PERSONALIZED, false, true, None),
            Request::Sync { .. } => (PERSONALIZED, false, true, None),
            Request::IssueCertificate { .. } => (
                PERSONALIZED,
                true,
                false,
                Some((Service::IssueCertificate, certificate)),
            ),
            Request::RevokeRequest { .. } => (PERSONALIZED, true, false, None),
            Request::Revoke { .. } => (
                PERSONALIZED,
                false,
                true,
                Some((Service::Revoke, certificate)),
            ),
            Request::KeyUpdate { .. } => (PERSONALIZED, false, true, None),
            Request::ChannelKey { .. }
            | Request::OpenChannel
            | Request::ChannelHello { .. }
            | Request::ChannelMessage { .. } => (PERSONALIZED, false, false, None),
            Request::InstallKey { .. } => (PERSONALIZED, true, false, None),
            Request::InstallCertificate { .. } => (
                PERSONALIZED,
                true,
                false,
                Some((Service::InstallCertificate, certificate)),
            ),
            Request::Sign { .. } => (PERSONALIZED, true, false, None),
            Request::StoreCreditLine { .. } => (PERSONALIZED, true, false, None),
            Request::ReadCreditLine => (NOT_TERMINATED, false, false, None),
            Request::Pay { .. } => (
                PERSONALIZED,
                true,
                false,
                Some((Service::Payment, certificate)),
            ),
            Request::RechargeRequest { .. } | Request::Audit => (PERSONALIZED, false, false, None),
            Request::RateUpdate { .. } => (PERSONALIZED, false, true, None),
        }
    }

    #[test]
    fn every_request_has_its_documented_policy() {
        for &r in every_request() {
            let p = r.policy();
            assert_eq!(p, policy(&r));
            let (lifecycles, pin, challenge, charge) = documented(&r);
            let allowed = [Blank, Personalized, Terminated].map(|l| p.lifecycles.allows(l));
            assert_eq!(allowed, lifecycles, "{r:?}");
            assert_eq!(p.pin, pin, "{r:?}");
            assert_eq!(p.challenge, challenge, "{r:?}");
            // Every PIN-protected command spends or personalizes: none
            // runs on the transport PIN.
            assert_eq!(p.user_pin, p.pin, "{r:?}");
            // Every charged command, and only those, stops when locked.
            assert_eq!(p.unlocked, p.charge.is_some(), "{r:?}");
            assert_eq!(p.charge.map(|c| (c.service, c.register)), charge, "{r:?}");
            // Only SELECT runs unselected, and then it may not lean on a
            // check the card skips for it.
            assert_eq!(p.selected, !matches!(r, Request::Select { .. }), "{r:?}");
            if !p.selected {
                assert_eq!(
                    (p.lifecycles, p.pin, p.challenge),
                    (Lifecycles::ANY, false, false)
                );
                assert_eq!(p.charge, None);
            }
            // A command that needs the PIN never runs Terminated.
            assert!(!(p.pin && p.lifecycles.allows(Terminated)), "{r:?}");
        }
    }

    #[test]
    fn lifecycle_sets() {
        assert!(!Lifecycles::NONE.allows(Blank));
        assert!(Lifecycles::ANY.allows(Terminated));
        assert!(!Lifecycles::NOT_TERMINATED.allows(Terminated));
        assert!(Lifecycles::BLANK.allows(Blank) && !Lifecycles::BLANK.allows(Personalized));
    }
}
