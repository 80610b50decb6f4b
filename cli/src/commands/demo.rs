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
        .context("no meter certificate on the card")?;
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
    let (verdict, _) = postmark::verify_on_card(&mut card, &mut &message[..], &pm)?;
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
    let (verdict, _) = postmark::verify_on_card(&mut card, &mut &tampered[..], &pm)?;
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
