//! Figure 3A: the card as a certificate agent. The request (350) names the
//! holder, the receiver's public key, the usage and the validity; the card
//! checks that its meter certificate authorizes it as an agent (9408), then
//! the funds (358, 360: 9401, nothing touched), generates the holder's key
//! pair (351), and in one transaction deducts (362), assembles (356) and
//! signs (364) the certificate with the meter key and seals the private key
//! to the receiver (354: ECIES, AAD the hash of the signed body). The answer
//! (366) leaves only once the charge is committed. The private key and the
//! ephemeral key are dropped (zeroized) before the flow returns: the card
//! keeps neither.

use apdu::StatusWord;
use apdu::cert::{CertificateBody, usage};
use apdu::channel::decode_point;
use apdu::cmd::issue_certificate::{
    DAY, IssueRequest, SEALED_LEN, SealedKey, read_agent, write_agent,
};
use apdu::meter::METER_CERTIFICATE_SLOT;
use apdu::tlv::Writer;
use p256::SecretKey;
use zeroize::Zeroize;

use crate::context::Context;
use crate::error::Result;
use crate::keys::{encode_public, new_key};
use crate::layout::{AGENT_ISSUED, Register};
use crate::platform::Platform;
use crate::records::Counters;
use crate::{certificates, clock, funds, state};

/// ISSUE CERTIFICATE. The dispatcher checked Personalized and the PIN; the
/// service and register charged are the policy's.
pub fn issue_certificate<P: Platform>(ctx: &mut Context<'_, P>, request: &[u8]) -> Result<usize> {
    let charge = ctx.policy.charge.ok_or(StatusWord::UNKNOWN)?;
    let register = Register::from(charge.register);
    // 350: the request, whole, before anything else.
    let req = IssueRequest::parse(request).map_err(|_| StatusWord::INCORRECT_DATA)?;
    let receiver = decode_point(req.receiver).map_err(|_| StatusWord::INCORRECT_DATA)?;
    let s = &mut *ctx.store;
    let key = state::meter_signing_key(s, ctx.ram)?.ok_or(StatusWord::CONDITIONS_NOT_SATISFIED)?;
    let now = clock::now(s, &*ctx.platform)?;
    let meter = certificates::parsed(s, METER_CERTIFICATE_SLOT.into())?;
    // Only a meter the authority made an agent issues certificates.
    if !meter.allows(usage::ISSUE_CERTIFICATES) {
        return Err(StatusWord::NOT_AN_AGENT.into());
    }
    // Figure 6: a revoked meter certificate signs nothing more, agent
    // certificates included (9409, nothing charged or generated).
    certificates::check_not_revoked(s, METER_CERTIFICATE_SLOT.into())?;
    if !meter.valid_at(now) {
        return Err(StatusWord::CONDITIONS_NOT_SATISFIED.into());
    }
    // No certificate outlives the meter's own.
    let expiry = now
        .saturating_add(u64::from(req.days).saturating_mul(DAY))
        .min(meter.expiry);
    let mut counters = Counters::read(s)?;
    // The certificate's serial: the next number of this card's agent
    // counter; with the issuer name (the meter serial) unique per issuer.
    // At its end the card refuses rather than wrap (6A84, as every counter).
    let serial = AGENT_ISSUED
        .get(s)?
        .checked_add(1)
        .filter(|n| *n <= u64::from(u32::MAX))
        .ok_or(StatusWord::NOT_ENOUGH_MEMORY)?;
    // 358 / 360: funds, before anything is generated or written.
    let fee = funds::fee(s, charge.service)?;
    funds::check(s, now, register, fee)?;
    // 351: the holder's key pair, and the ephemeral key of the sealing.
    let holder_key = new_key(ctx.platform)?;
    let public = encode_public(holder_key.verifying_key());
    let ephemeral = SecretKey::from(new_key(ctx.platform)?);

    s.begin()?;
    // 362: deduct, and count the certificate.
    funds::debit(s, register, fee, &mut counters)?;
    counters.advance_clock(now);
    counters.write(s)?;
    AGENT_ISSUED.set(s, serial)?;
    let issuer = state::serial(s)?;
    // 356 / 364: assemble and sign.
    let body = CertificateBody {
        issuer,
        holder: req.holder,
        serial,
        public_key: &public,
        usage: req.usage,
        effective: now,
        expiry,
    };
    let mut w = Writer::new(ctx.out);
    write_agent(&body, &mut w, |b| apdu::crypto::sign(&key, b))?;
    let (certificate, _) = read_agent(w.written()).map_err(|_| StatusWord::UNKNOWN)?;
    let aad = apdu::cmd::issue_certificate::aad(&certificate);
    // 354: the private key, sealed to the receiver; the clear scalar wiped.
    let mut scalar: [u8; 32] = holder_key.to_bytes().into();
    drop(holder_key);
    let mut sealed = [0u8; SEALED_LEN];
    let sealing = apdu::ecies::seal(ephemeral, &receiver, &aad, &scalar, &mut sealed);
    scalar.zeroize();
    sealing.map_err(|_| StatusWord::UNKNOWN)?;
    SealedKey {
        serial,
        sealed: &sealed,
    }
    .write(&mut w)?;
    let len = w.len();
    // 366: out only once committed.
    s.commit()?;
    Ok(len)
}
