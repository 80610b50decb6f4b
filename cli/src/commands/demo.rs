//! `meter demo`: every flow that exists so far, narrated step by step, on a
//! fresh simulated card and a fresh local authority in a temporary
//! directory. It checks what it narrates and fails (exit 2) if the meter
//! does not behave.

use std::process::ExitCode;

use anyhow::{Context, Result, ensure};
use apdu::StatusWord;
use apdu::meter::{DEFAULT_PIN, RegisterId};

/// The owner PIN the demo sets in place of the transport PIN.
const OWNER_PIN: &[u8] = b"2468";
use authority::Authority;
use reader::meter::{RegisterState, Status};
use reader::postmark::{self, VerifyError};
use reader::sim::SimTransport;
use reader::{Meter, Transport, money};

type Card = Meter<Box<dyn Transport>>;

struct Narrator {
    step: u32,
}

impl Narrator {
    fn step(&mut self, title: &str) {
        self.step += 1;
        println!("\n{}. {title}", self.step);
    }

    fn say(&self, line: impl AsRef<str>) {
        println!("   {}", line.as_ref());
    }
}

fn registers(n: &Narrator, s: &Status) {
    let show = |name: &str, r: &RegisterState, pieces: u32| {
        n.say(format!(
            "{name:<11} ascending {:>6}  descending {:>6}  control total {:>6}  pieces {pieces}",
            money::format(r.ascending),
            money::format(r.descending),
            money::format(r.control_total)
        ))
    };
    show("postage", &s.registers.postage, s.piece_counts.postage);
    show(
        "certificate",
        &s.registers.certificate,
        s.piece_counts.certificate,
    );
}

pub fn run(_json: bool) -> Result<ExitCode> {
    let dir = tempfile::tempdir().context("creating a temporary directory")?;
    let mut n = Narrator { step: 0 };
    println!("certmeter demo: a postage and certificate meter, every flow, on a simulated card");
    println!("(working in {}; removed at the end)", dir.path().display());

    n.step("The authority (Figure 2, remote facility 222) creates its key pair and database");
    let mut authority = Authority::init(&dir.path().join("authority"), "CERTMETER-CA")?;
    n.say(format!(
        "authority {} with public key {}…",
        authority.name(),
        &hex::encode_upper(authority.public_key())[..24]
    ));
    for (service, fee) in authority.rates() {
        n.say(format!(
            "rate: {:<20} {}",
            service.name(),
            money::format(fee)
        ));
    }

    n.step("A blank card is manufactured (Figure 2, meter 218)");
    let card_path = dir.path().join("card.sim");
    let transport = SimTransport::create(&card_path, false, Some(authority.issuer_root()))?;
    let mut card: Card = Meter::new(Box::new(transport));
    reader::manufacture::certify_attestation(&mut card, &mut authority)?;
    n.say(
        "the card is made with the authority's issuer root pinned, and its attestation key is certified for its chip id",
    );
    card.select()?;
    let s = card.status()?;
    n.say(format!(
        "chip id {}, life cycle {}, PIN tries {}",
        s.chip_id, s.lifecycle, s.pin_tries
    ));

    n.step("The owner changes the transport PIN the card came with");
    card.verify_pin(DEFAULT_PIN)?;
    match card.generate_meter_key() {
        Err(reader::Error::Card { sw }) if sw == apdu::StatusWord::TRANSPORT_PIN => n.say(format!(
            "with the transport PIN {} the card refuses to make a key ({sw}: {})",
            String::from_utf8_lossy(DEFAULT_PIN),
            sw.description()
        )),
        other => anyhow::bail!("the transport PIN was not refused: {other:?}"),
    }
    card.change_pin(DEFAULT_PIN, OWNER_PIN)?;
    n.say(format!(
        "meter pin change: the owner PIN is now {}; the card personalizes and spends from here on",
        String::from_utf8_lossy(OWNER_PIN)
    ));

    n.step("Personalization: the card makes its meter key, attests it under its attestation key, the authority certifies it (Figure 1) and loads 1.00");
    let p = reader::personalize::personalize(&mut card, &mut authority, "PB-000001", 100)?;
    let s = card.status()?;
    let cert = s
        .certificates
        .first()
        .context("no meter certificate on the card")?
        .clone();
    n.say(format!(
        "meter {} holds certificate {} issued by {} for {}",
        p.serial, cert.serial, cert.issuer, cert.holder
    ));
    n.say("the private key was generated on the card and never left it");
    registers(&n, &s);

    n.step("Figure 3: a cryptographic postmark");
    let message = b"Invoice 2026-117: 3 crates of apples, due 2026-12-24.".to_vec();
    let pm = postmark::postmark(&mut card, &mut &message[..])?;
    let info = postmark::PostmarkInfo::parse(&pm)?;
    n.say(format!(
        "304 the card hashed the {}-byte message itself: {}…",
        message.len(),
        &info.digest[..16]
    ));
    n.say(format!(
        "306 content: digest, secure-clock time {}, serial {}, postmark {}",
        info.time, info.meter, info.sequence
    ));
    n.say(format!("308 funds? yes; 312 deducted {}; 314 signed; 316 postmark out ({} bytes with the certificate)", money::format(info.fee), pm.len()));
    registers(&n, &card.status()?);

    n.step("Figure 4 off the card: anyone with the authority's public key verifies it, free");
    let key = authority.public_key();
    let ok = postmark::verify_offline(
        &mut &message[..],
        &pm,
        &key,
        authority.now(),
        apdu::crypto::DEFAULT_SKEW,
    )?;
    n.say(format!(
        "408 certificate signed by the authority; 414/416 digests equal; 420 valid (postmark {})",
        ok.sequence
    ));

    n.step("Figure 4 on the card: the card verifies it for its fee");
    let (verdict, _) = postmark::verify_on_card(&mut card, &mut &message[..], &pm, None)?;
    ensure!(verdict.result.is_ok(), "the card rejected a valid postmark");
    n.say(format!(
        "404 funds? yes; 408 certificate ok; 414/416 digests equal; 420 valid; charged {}",
        money::format(verdict.fee)
    ));

    n.step("A tampered message is rejected");
    let mut tampered = message.clone();
    tampered[8] ^= 0x01;
    match postmark::verify_offline(
        &mut &tampered[..],
        &pm,
        &key,
        authority.now(),
        apdu::crypto::DEFAULT_SKEW,
    ) {
        Err(VerifyError::Invalid(why)) => {
            n.say(format!("off the card: 418 invalid: {}", why.reason()))
        }
        other => anyhow::bail!("a tampered message was not rejected: {other:?}"),
    }
    let (verdict, _) = postmark::verify_on_card(&mut card, &mut &tampered[..], &pm, None)?;
    let why = verdict
        .result
        .err()
        .context("the card accepted a tampered message")?;
    n.say(format!(
        "on the card:  418 invalid: {} (charged {})",
        why.reason(),
        money::format(verdict.fee)
    ));
    let other = Authority::deterministic("OTHER-CA", 99, info.time)?;
    match postmark::verify_offline(
        &mut &message[..],
        &pm,
        &other.public_key(),
        authority.now(),
        apdu::crypto::DEFAULT_SKEW,
    ) {
        Err(VerifyError::Invalid(why)) => n.say(format!(
            "against another authority: 412 invalid: {}",
            why.reason()
        )),
        other => anyhow::bail!("another authority's key was accepted: {other:?}"),
    }

    n.step("Spending down: a postmark is refused when the funds run short (Figure 3, 310)");
    loop {
        let before = card.status()?;
        match postmark::postmark(&mut card, &mut &message[..]) {
            Ok(pm) => {
                let info = postmark::PostmarkInfo::parse(&pm)?;
                n.say(format!(
                    "postmark {} charged {}; {} left",
                    info.sequence,
                    money::format(info.fee),
                    money::format(before.registers.certificate.descending - info.fee)
                ));
            }
            Err(reader::Error::Card { sw }) if sw == StatusWord::INSUFFICIENT_FUNDS => {
                let after = card.status()?;
                ensure!(
                    after.registers == before.registers
                        && after.piece_counts == before.piece_counts,
                    "a refused postmark changed the registers"
                );
                n.say(format!(
                    "310 rejected with {sw}: {} left, registers and piece counts unchanged",
                    money::format(after.registers.certificate.descending)
                ));
                break;
            }
            Err(e) => return Err(e.into()),
        }
    }

    n.step("The authority loads 20.00 more into the certificate register (Figure 2, 250)");
    let loaded = reader::value::load(&mut card, &mut authority, RegisterId::Certificate, 2_000)?;
    n.say(format!(
        "load {} of {}: signed by the authority, the card answers a signed receipt",
        loaded.number,
        money::format(loaded.amount)
    ));
    n.step("SYNC and the lock by charged operations: the authority allows 2 between contacts");
    let policy = authority.policy()?;
    authority.set_policy(apdu::message::ServicePolicy {
        max_debits: 2,
        ..policy
    })?;
    reader::sync::sync(&mut card, &mut authority)?;
    n.say("222/232 meter sync: the authority's signed time and policy; the count of charged operations starts at 0");
    for _ in 0..2 {
        let pm = postmark::postmark(&mut card, &mut &message[..])?;
        let info = postmark::PostmarkInfo::parse(&pm)?;
        n.say(format!(
            "postmark {} charged {}",
            info.sequence,
            money::format(info.fee)
        ));
    }
    let before = card.status()?;
    match postmark::postmark(&mut card, &mut &message[..]) {
        Err(reader::Error::Card { sw }) if sw == StatusWord::LOCKED_BY_DEBITS => {
            let after = card.status()?;
            ensure!(
                after.registers == before.registers && after.piece_counts == before.piece_counts,
                "a refused postmark changed the registers"
            );
            n.say(format!(
                "310 the third is refused with {sw}; registers unchanged"
            ))
        }
        other => anyhow::bail!("the third charged operation was not refused: {other:?}"),
    }
    authority.set_policy(policy)?;
    reader::sync::sync(&mut card, &mut authority)?;
    n.say("meter sync: an authority contact lifts the lock (and restores the default policy)");

    let meter_serial = cert.serial;
    certificate_flows(
        &mut n,
        &mut card,
        &mut authority,
        &message,
        &pm,
        meter_serial,
    )?;
    credit_flows(&mut n, &mut card, &mut authority)?;

    postage_flow(&mut n, &mut card, &mut authority, dir.path())?;

    n.step("CA key update: the authority rolls its key over; the card takes the new key at its next contact");
    let old_public = authority.public_key();
    let generation = authority.rollover(&dir.path().join("authority"))?;
    let updated = reader::key_update::update(&mut card, &mut authority)?;
    ensure!(updated, "the card did not take the new key");
    let keys = card.status()?.authority_keys;
    ensure!(keys == 2, "the card holds {keys} authority keys");
    n.say(format!(
        "generation {generation}: KEY UPDATE signed by the old key, the new key certified by the issuer root; the card holds both"
    ));
    reader::sync::sync(&mut card, &mut authority)?;
    n.say("a SYNC signed by the new key: accepted");
    let ok = postmark::verify_offline(
        &mut &message[..],
        &pm,
        &old_public,
        authority.now(),
        apdu::crypto::DEFAULT_SKEW,
    )?;
    n.say(format!(
        "postmark {} made under the old key still verifies until its certificate expires",
        ok.sequence
    ));

    value_flows(&mut n, &mut card, &mut authority, &message)?;

    n.step("Final registers: ascending + descending = everything the authority loaded");
    let s = card.status()?;
    registers(&n, &s);
    let serial = s.serial.clone().unwrap_or_default();
    for (id, r) in [
        (RegisterId::Postage, s.registers.postage),
        (RegisterId::Certificate, s.registers.certificate),
    ] {
        let loaded = authority.total_loaded(&serial, id)?;
        ensure!(
            r.control_total == loaded,
            "{} register: {} + {} != {} loaded",
            id.name(),
            r.ascending,
            r.descending,
            loaded
        );
        n.say(format!(
            "{:<11} {} + {} = {} = loaded by the authority",
            id.name(),
            money::format(r.ascending),
            money::format(r.descending),
            money::format(loaded)
        ));
    }
    println!("\ndemo complete: every flow behaved.");
    Ok(ExitCode::SUCCESS)
}

/// Figures 7A, 8 and 9: a line of credit, refused and approved; a replayed
/// 7A; a payment, a refused one, the merchant's check and the settlement.
fn credit_flows(n: &mut Narrator, card: &mut Card, authority: &mut Authority) -> Result<()> {
    use apdu::meter::Service;
    let postmark_fee = fee_of(authority, Service::Postmark)?;
    let payment_fee = fee_of(authority, Service::Payment)?;

    n.step("Figure 8: the holder asks a creditor for a line of credit of 5000.00: refused (806)");
    let max = authority.max_line()?;
    let before = cert_funds(card)?;
    match reader::credit::request(card, authority, 500_000) {
        Err(reader::Error::Authority(authority::ServiceError::CreditRefused(why))) => {
            n.say(format!(
                "802 the card postmarks the request (charged {}); 804 the creditor's maximum line is {}: 806 refused: {why}",
                money::format(postmark_fee),
                money::format(max)
            ))
        }
        other => anyhow::bail!("a line over the maximum was not refused: {other:?}"),
    }
    charged(card, before, postmark_fee, "the refused request's postmark")?;
    ensure!(
        reader::credit::show(card)?.is_none(),
        "a line was stored after a refusal"
    );

    n.step("Figure 8: a line of credit of 500.00 (Figure 7A), approved and stored");
    let before = cert_funds(card)?;
    let line = reader::credit::request(card, authority, 50_000)?;
    charged(card, before, postmark_fee, "the request's postmark")?;
    ensure!(
        (line.line, line.remaining) == (50_000, 50_000),
        "the line: {line:?}"
    );
    n.say(format!(
        "802 request postmarked; 804 the creditor approves; 808 it issues line {} (certificate {}, {})",
        line.number, line.certificate_serial, line.creditor
    ));
    n.say(format!(
        "810 the card verifies authority -> creditor -> 7A and that it names this card, and stores it; 812 credit remaining {}",
        money::format(line.remaining)
    ));
    match card.store_credit_line(&line.file) {
        Err(reader::Error::Card { sw }) if sw == StatusWord::REFERENCE_DATA_NOT_USABLE => {
            n.say(format!(
                "the same 7A again (a replay) is refused ({sw}): the remaining credit is not reset"
            ))
        }
        other => anyhow::bail!("a replayed 7A was not refused: {other:?}"),
    }

    n.step("Figure 9: paying a merchant from the line (payment certificate, Figure 7B)");
    let before = cert_funds(card)?;
    let file = reader::pay::pay(card, 12_345, "SHOP-0001")?;
    charged(card, before, payment_fee, "the payment")?;
    let key = authority.public_key();
    let info = reader::pay::verify(&file, &key, Some("SHOP-0001"))
        .map_err(|e| anyhow::anyhow!("the payment does not verify: {e}"))?;
    n.say(format!(
        "902 request 123.45 to {}; 904 enough credit; 908 subtracted: {} remaining; 910 payment certificate {} (fee {})",
        info.merchant,
        money::format(info.remaining),
        info.serial,
        money::format(payment_fee)
    ));
    n.say("the merchant checks authority -> creditor -> 7A -> 7B -> meter with the authority's key alone: valid");
    let before = cert_funds(card)?;
    match reader::pay::pay(card, 40_000, "SHOP-0002") {
        Err(reader::Error::Card { sw }) if sw == StatusWord::CREDIT_EXHAUSTED => n.say(format!(
            "904 a payment of 400.00: 906 refused ({sw}); nothing charged or signed"
        )),
        other => anyhow::bail!("a payment past the line was not refused: {other:?}"),
    }
    ensure!(cert_funds(card)? == before, "a refused payment charged");

    n.step("The creditor settles the payment once and records what the merchant was paid");
    let settled = authority.settle(&file)?;
    n.say(format!(
        "payment {} of meter {} settled: {} paid to {}",
        settled.serial,
        settled.holder,
        money::format(settled.amount),
        settled.merchant
    ));
    match authority.settle(&file) {
        Err(authority::AuthorityError::AlreadySettled(_)) => {
            n.say("presented a second time: refused, nothing paid")
        }
        other => anyhow::bail!("a second presentation was not refused: {other:?}"),
    }
    let paid: u64 = authority
        .payments(Some("SHOP-0001"))?
        .iter()
        .map(|p| p.amount)
        .sum();
    n.say(format!(
        "the creditor's records: SHOP-0001 was paid {}",
        money::format(paid)
    ));
    Ok(())
}

/// [value]: recharging, the rate table at a contact, inspection.
fn value_flows(
    n: &mut Narrator,
    card: &mut Card,
    authority: &mut Authority,
    message: &[u8],
) -> Result<()> {
    n.step("Recharging: the card signs a request over its state, the authority reconciles it");
    let r = reader::recharge::recharge(card, authority, RegisterId::Postage, 500)?;
    ensure!(
        r.control_after == r.control_before + 500,
        "the control total did not grow by exactly the load"
    );
    n.say(format!(
        "R1-R4 meter recharge 5.00 --register postage: load {} bound to the card's request, applied once; control total {} -> {}",
        r.load.number,
        money::format(r.control_before),
        money::format(r.control_after)
    ));

    n.step("The rate table (Figure 2, 257): a new version, taken at the next contact");
    let version = authority.set_rate(apdu::meter::Service::Postmark, 30)?;
    n.say(format!(
        "meter authority rates set postmark 0.30: the authority's table is now version {version}"
    ));
    reader::sync::sync(card, authority)?;
    let (card_version, rates) = card.rate_table()?;
    let fee = rates
        .iter()
        .find(|(s, _)| *s == apdu::meter::Service::Postmark)
        .map(|&(_, f)| f)
        .context("the card's table has no postmark fee")?;
    ensure!(
        card_version == version && fee == 30,
        "the card did not take the new table"
    );
    n.say(format!(
        "257 meter sync: the card installed version {card_version} (a signed RATE UPDATE bound to it and a fresh challenge); an older or equal one is refused (940A)"
    ));
    card.verify_pin(OWNER_PIN)?;
    let before = cert_funds(card)?;
    postmark::postmark(card, &mut &message[..])?;
    charged(card, before, fee, "a postmark at the new rate")?;
    n.say(format!(
        "a postmark is charged {} from the card's own table",
        money::format(fee)
    ));

    n.step("Inspection: the card signs a chained audit report, the authority reconciles it");
    let a = reader::audit::audit(card, authority)?;
    ensure!(
        a.contact && a.inspection.flag.is_none(),
        "the inspection did not pass: {:?}",
        a.inspection.flag
    );
    n.say(format!(
        "meter audit: report {} agrees with every load the authority made; the inspection is a contact (meter authority inspections {})",
        a.inspection.number, a.inspection.serial
    ));
    Ok(())
}

/// The certificate register's descending value and piece count now.
fn cert_funds(card: &mut Card) -> Result<(u64, u32)> {
    let s = card.status()?;
    Ok((
        s.registers.certificate.descending,
        s.piece_counts.certificate,
    ))
}

/// Exactly `fee` and one piece were charged between `before` and now.
fn charged(card: &mut Card, before: (u64, u32), fee: u64, what: &str) -> Result<()> {
    let after = cert_funds(card)?;
    ensure!(
        after.0 + fee == before.0 && after.1 == before.1 + 1,
        "{what}: the certificate register went from {before:?} to {after:?}, not exactly {fee} and one piece"
    );
    Ok(())
}

fn fee_of(authority: &Authority, service: apdu::meter::Service) -> Result<u64> {
    authority
        .rates()
        .into_iter()
        .find(|(s, _)| *s == service)
        .map(|(_, fee)| fee)
        .context("the rate table has no such service")
}

/// Figures 5, 3A and 6, SIGN and the revocation list.
fn certificate_flows(
    n: &mut Narrator,
    card: &mut Card,
    authority: &mut Authority,
    message: &[u8],
    pm: &[u8],
    meter_serial: u64,
) -> Result<()> {
    use apdu::cert::usage;
    use apdu::meter::Service;
    use p256::ecdsa::signature::hazmat::PrehashVerifier;
    use p256::elliptic_curve::sec1::ToSec1Point;
    use reader::revoke::CrlStatus;

    n.step("Figure 5: the authority enrolls a holder, and the card installs a certificate for her over the channel");
    let code = authority.enroll("alice", 86_400)?;
    n.say("the authority enrolls alice and gives her a one-time code");
    reader::channel::register(card, authority)?;
    n.say("the card registers its channel key with the authority, signed by its meter key");
    let fee = fee_of(authority, Service::InstallCertificate)?;
    let before = cert_funds(card)?;
    let slot = reader::install::install(card, authority, "alice", &code, 365)?;
    charged(card, before, fee, "the installation")?;
    let installed = card.read_certificate(slot)?;
    let installed = apdu::cert::Certificate::parse(&installed)
        .map_err(|e| anyhow::anyhow!("the installed certificate: {e:?}"))?;
    let installed_serial = installed.serial;
    let installed_key = apdu::crypto::public_key(installed.public_key)
        .context("the installed certificate's key")?;
    n.say("504 funds? yes; 508 channel opened; 510/512 the card makes alice's key pair and signs the request, sealed");
    n.say(format!(
        "514 code accepted; 518 certificate {installed_serial} issued; 520 installed in slot {slot}, charged {}",
        money::format(fee)
    ));

    n.step("SIGN: alice's key on the card signs a digest; a wrong use is refused");
    let digest = apdu::crypto::sha256(b"a contract for alice to sign");
    let before = cert_funds(card)?;
    let sig = card.sign(slot, &digest)?;
    ensure!(cert_funds(card)? == before, "SIGN charged");
    let sig = p256::ecdsa::Signature::from_slice(&sig)
        .map_err(|_| anyhow::anyhow!("SIGN answered no signature"))?;
    installed_key
        .verify_prehash(&digest, &sig)
        .map_err(|_| anyhow::anyhow!("the signature does not verify with the certificate's key"))?;
    n.say(format!(
        "slot {slot}: the signature verifies with certificate {installed_serial}'s key; nothing charged"
    ));
    match card.sign(apdu::meter::METER_CERTIFICATE_SLOT, &digest) {
        Err(reader::Error::Card { sw }) if sw == StatusWord::REFERENCED_DATA_NOT_FOUND => n.say(format!(
            "slot 0, the meter certificate: refused ({sw}): the meter key signs postmarks, never a digest"
        )),
        other => anyhow::bail!("SIGN with the meter certificate was not refused: {other:?}"),
    }

    n.step(
        "Figure 3A: the meter, as the authority's agent, issues a certificate for a receiver's key",
    );
    let receiver = p256::SecretKey::from_slice(&apdu::crypto::sha256(b"certmeter demo receiver"))
        .map_err(|_| anyhow::anyhow!("the receiver key"))?;
    let point = receiver.public_key().to_sec1_point(false);
    let receiver_public: [u8; 65] = point
        .as_bytes()
        .try_into()
        .map_err(|_| anyhow::anyhow!("the receiver key"))?;
    n.say(
        "350 the receiver makes a key pair; only its public key goes to the meter with the request",
    );
    let fee = fee_of(authority, Service::IssueCertificate)?;
    let before = cert_funds(card)?;
    let request = reader::agent::Issue {
        holder: "bob".into(),
        receiver: receiver_public,
        usage: usage::SIGNING,
        days: 30,
    };
    let file = reader::agent::issue(card, &request)?;
    charged(card, before, fee, "the agent issue")?;
    n.say(format!(
        "351 the card makes bob's key pair; 354 seals its private key to the receiver; 356 assembles; 358 funds? yes; 362 deducted {}; 364 signed with the meter key; 366 sent",
        money::format(fee)
    ));
    let key = apdu::crypto::public_key(&authority.public_key()).context("the authority key")?;
    let info = reader::agent::verify(&file, &key)
        .map_err(|e| anyhow::anyhow!("the agent certificate does not verify: {e}"))?;
    let opened = reader::agent::open(&file, &receiver)?;
    let opened_public = opened.public_key().to_sec1_point(false);
    ensure!(
        hex::encode(opened_public.as_bytes()) == info.public_key,
        "the opened key is not the certified one"
    );
    n.say(format!(
        "the receiver opens its key; chain verified: authority -> meter {} -> certificate {} for {}",
        info.issuer, info.serial, info.holder
    ));

    n.step("Figure 6: alice's certificate is revoked, and the card pays the fee (624)");
    let fee = fee_of(authority, Service::Revoke)?;
    let before = cert_funds(card)?;
    let revoked = reader::revoke::revoke(card, authority, slot, 1)?;
    ensure!(
        revoked.payment == apdu::cmd::revoke::PaymentState::Paid
            && revoked.certificate_serial == installed_serial
            && revoked.fee == fee,
        "the revocation: {revoked:?}"
    );
    charged(card, before, fee, "the revocation")?;
    n.say("602 the card signs the request over a fresh challenge; 604/606/608 the authority checks it and signs the revocation");
    n.say(format!(
        "610/612/614 the card verifies it; 616 certificate {installed_serial} revoked; 618 funds? yes; 624 confirmation + payment {}; 622 recorded",
        money::format(revoked.fee)
    ));

    n.step("The revocation list: signed by the authority; the postmark checked against it");
    let crl = authority.crl()?;
    let public = authority.public_key();
    let (number, status) =
        reader::revoke::crl_status(&crl, &public, installed_serial, authority.now() + 1)?;
    ensure!(
        matches!(status, CrlStatus::Revoked { reason: 1, .. }),
        "certificate {installed_serial} is not listed: {status:?}"
    );
    n.say(format!(
        "list {number}: certificate {installed_serial} revoked (keyCompromise)"
    ));
    let ok = postmark::verify_offline(
        &mut &message[..],
        pm,
        &public,
        authority.now(),
        apdu::crypto::DEFAULT_SKEW,
    )?;
    ensure!(
        ok.certificate_serial == meter_serial,
        "the postmark names certificate {}",
        ok.certificate_serial
    );
    let (_, status) = reader::revoke::crl_status(&crl, &public, meter_serial, ok.time)?;
    ensure!(
        status == CrlStatus::Good,
        "the meter certificate is listed: {status:?}"
    );
    n.say(format!(
        "postmark {} valid, and its meter certificate {meter_serial} is not on the list: good",
        ok.sequence
    ));
    Ok(())
}

/// A postage indicium: loaded postage, the indicium printed (bytes, PNG,
/// SVG), read back from the PNG, verified, scanned by the postal operator,
/// and its copy flagged; a back-dated one refused.
fn postage_flow(
    n: &mut Narrator,
    card: &mut Card,
    authority: &mut Authority,
    dir: &std::path::Path,
) -> Result<()> {
    use reader::postage::{self, IndiciumInfo, PostageOrder};
    use reader::postage_print;

    n.step("Postage indicia: the postage register pays, the card signs, the postal operator scans");
    reader::value::load(card, authority, RegisterId::Postage, 500)?;
    n.say("244 the authority loads 5.00 into the postage register");
    let order = PostageOrder {
        postage: 55,
        origin: "10001".into(),
        destination: "94105".into(),
        class: postage::DEFAULT_CLASS.into(),
        date: None,
    };
    let indicium = postage::postage(card, &order)?;
    let info = IndiciumInfo::parse(&indicium)?;
    n.say(format!(
        "indicium {} of meter {}: postage {} on {}, postage register {} used, {} left ({} bytes, fee {} from the certificate register)",
        info.pieces,
        info.device,
        money::format(info.postage),
        postage::date_text(info.date),
        money::format(info.ascending),
        money::format(info.descending),
        indicium.len(),
        money::format(authority.rate(apdu::meter::Service::Indicium).unwrap_or(0)),
    ));
    let png = postage_print::png(&indicium, &info)?;
    let svg = postage_print::svg(&indicium, &info)?;
    std::fs::write(dir.join("stamp.png"), &png)?;
    std::fs::write(dir.join("stamp.svg"), &svg)?;
    let read = postage_print::decode_png(&png)?;
    ensure!(
        read == indicium,
        "the printed Data Matrix does not hold the indicium"
    );
    n.say(format!(
        "printed: a Data Matrix beside the fields, PNG ({} bytes) and SVG; read back from the PNG byte for byte",
        png.len()
    ));
    let cert = authority.meter_certificate(&info.device)?;
    postage::verify(&read, &cert, &authority.public_key())?;
    n.say("verified with the meter certificate and the authority's key");
    let first = authority.scan_indicium(&read)?;
    ensure!(
        first.outcome == authority::indicium::ScanOutcome::Recorded,
        "the first scan: {:?}",
        first.outcome
    );
    n.say("the postal operator scans it: valid, recorded by device and ascending register");
    match authority.scan_indicium(&indicium)?.outcome {
        authority::indicium::ScanOutcome::Copy { .. } => {
            n.say("a second scan of the same stamp: flagged as a COPIED INDICIUM")
        }
        other => anyhow::bail!("a copy was not flagged: {other:?}"),
    }
    let yesterday = info.date - 86_400;
    let before = card.status()?;
    match postage::postage(
        card,
        &PostageOrder {
            date: Some(yesterday),
            ..order
        },
    ) {
        Err(reader::Error::Card { sw }) if sw == StatusWord::DATE_REFUSED => {
            let after = card.status()?;
            ensure!(
                after.registers == before.registers,
                "a refused indicium changed the registers"
            );
            n.say(format!(
                "a back-dated indicium ({}) is refused with {sw}; nothing charged",
                postage::date_text(yesterday)
            ))
        }
        other => anyhow::bail!("a back-dated indicium was not refused: {other:?}"),
    }
    registers(n, &card.status()?);
    Ok(())
}
