//! Figure 3A end to end: the card as a certificate agent. Each numbered
//! decision is a test with its own outcome, and after each the registers
//! show exactly the IssueCertificate fee deducted, or nothing.

use apdu::StatusWord;
use apdu::cert::{Certificate, usage};
use apdu::cmd::issue_certificate::{AGENT_CERTIFICATE, AgentFile, SEALED_LEN, read_agent};
use apdu::meter::{METER_CERTIFICATE_SLOT, Service};
use apdu::postmark::{POSTMARK, PostmarkFile};
use authority::Authority;
use p256::SecretKey;
use reader::agent::{self, Issue, Refused};
use reader::meter::Status;
use reader::sim::MemoryTransport;
use reader::{Error, Meter, Transport, TransportError};
use vectors::Funded;

const TIME: u64 = 1_800_000_000;
const FEE: u64 = 150;

const FUNDED: Funded = Funded {
    card: vectors::CardSpec {
        seed: 31,
        time: TIME,
        issuer_root: None,
        unattested: false,
    },
    authority: "CERTMETER-CA",
    authority_seed: 9,
    serial: "AGENT-1",
    funds: 1_000,
};

fn receiver(b: u8) -> SecretKey {
    SecretKey::from_slice(&[b; 32]).unwrap()
}

fn point(k: &SecretKey) -> [u8; 65] {
    apdu::channel::encode_point(&k.public_key())
}

fn request(to: &SecretKey) -> Issue {
    Issue {
        holder: "alice@example.org".into(),
        receiver: point(to),
        usage: usage::SIGNING,
        days: 365,
    }
}

fn authority_key(a: &Authority) -> p256::ecdsa::VerifyingKey {
    apdu::crypto::public_key(&a.public_key()).unwrap()
}

fn card_refuses(r: Result<Vec<u8>, Error>, sw: StatusWord) {
    match r {
        Err(Error::Card { sw: got }) => assert_eq!(got, sw),
        other => panic!("expected {sw}, got {other:?}"),
    }
}

/// The fees charged since `before`: ascending up by them, descending down
/// by them, one piece (and one transaction) more per fee; or nothing.
fn charged(m: &mut Meter<MemoryTransport>, before: &Status) -> u64 {
    let after = m.status().unwrap();
    let (a, b) = (&after.registers.certificate, &before.registers.certificate);
    let fee = a.ascending - b.ascending;
    assert_eq!(b.descending - a.descending, fee, "control total");
    let pieces = after.piece_counts.certificate - before.piece_counts.certificate;
    assert_eq!(fee % FEE, 0, "whole fees");
    let n = (fee / FEE) as u32;
    assert_eq!(pieces, n, "piece count");
    assert_eq!(after.sequence - before.sequence, n, "sequence");
    fee
}

/// 350, 351, 354, 356, 358 (funds ok), 362/364, 366: the whole flow, the
/// fee deducted once, the certificate as asked, its chain valid.
#[test]
fn issue_ok_charges_the_fee_and_verifies() {
    let (mut m, authority) = FUNDED.meter().unwrap();
    assert_eq!(authority.rate(Service::IssueCertificate), Some(FEE));
    let before = m.status().unwrap();
    let to = receiver(3);
    let file = agent::issue(&mut m, &request(&to)).unwrap();
    assert_eq!(charged(&mut m, &before), FEE);
    let info = agent::verify(&file, &authority_key(&authority)).unwrap();
    assert_eq!(info.holder, "alice@example.org");
    assert_eq!(info.issuer, "AGENT-1");
    assert_eq!(info.usage, usage::SIGNING);
    assert_eq!(info.effective, TIME);
    assert_eq!(info.expiry, TIME + 365 * 86_400);
    // The serial is the card's agent counter: the first certificate is 1.
    assert_eq!(info.serial, 1);
    let key = agent::open(&file, &to).unwrap();
    assert_eq!(hex::encode(point(&key)), info.public_key);
}

/// 350: a request the card cannot honour is refused whole (6A80), nothing
/// charged: a sub-agent usage, a receiver key off the curve, bad TLV.
#[test]
fn step_350_bad_requests_charge_nothing() {
    let (mut m, _) = FUNDED.meter().unwrap();
    let before = m.status().unwrap();
    let to = receiver(3);
    let good = request(&to).request().unwrap();
    let mut off_curve = good.clone();
    let at = off_curve.windows(2).position(|w| w == [0x86, 65]).unwrap() + 2 + 64;
    off_curve[at] ^= 1;
    let mut sub_agent = good.clone();
    let at = sub_agent
        .windows(3)
        .position(|w| w == [0x53, 1, usage::SIGNING])
        .unwrap()
        + 2;
    sub_agent[at] = usage::ISSUE_CERTIFICATES;
    for bad in [
        off_curve,
        sub_agent,
        vec![0x5F, 0x20, 0x05, b'a'],
        vec![0x00],
    ] {
        card_refuses(m.issue_certificate(&bad), StatusWord::INCORRECT_DATA);
    }
    assert_eq!(charged(&mut m, &before), 0);
}

/// 350: the PIN guards it (6982), nothing charged.
#[test]
fn step_350_needs_the_pin() {
    let (m, _) = FUNDED.meter().unwrap();
    let mut m = Meter::new(MemoryTransport::new(m.into_transport().into_card(), true));
    m.select().unwrap();
    let before = m.status().unwrap();
    let data = request(&receiver(3)).request().unwrap();
    card_refuses(
        m.issue_certificate(&data),
        StatusWord::SECURITY_STATUS_NOT_SATISFIED,
    );
    assert_eq!(charged(&mut m, &before), 0);
}

/// 351: each certificate gets a fresh key pair, not the meter key, and the
/// card keeps no copy of it: its persistent memory holds no byte string of
/// the private key.
#[test]
fn step_351_fresh_keys_not_kept() {
    let (mut m, _) = FUNDED.meter().unwrap();
    let before = m.status().unwrap();
    let to = receiver(3);
    let a = agent::issue(&mut m, &request(&to)).unwrap();
    let b = agent::issue(&mut m, &request(&to)).unwrap();
    assert_eq!(charged(&mut m, &before), 2 * FEE);
    let (ka, kb) = (agent::open(&a, &to).unwrap(), agent::open(&b, &to).unwrap());
    assert_ne!(ka.to_bytes(), kb.to_bytes());
    let meter_cert = m.read_certificate(METER_CERTIFICATE_SLOT).unwrap();
    let meter = Certificate::parse(&meter_cert).unwrap();
    assert_ne!(&point(&ka), meter.public_key);
    let image = m.transport().card().store().image().to_vec();
    for k in [ka, kb] {
        let d = k.to_bytes();
        assert!(
            !image.windows(16).any(|w| d.windows(16).any(|x| x == w)),
            "the card's memory holds part of a generated private key"
        );
    }
}

/// 354: the key opens only with the receiver's key; an altered sealed key,
/// an altered certificate (the AAD), or a sealed key moved to another
/// certificate do not open.
#[test]
fn step_354_sealed_to_the_receiver_only() {
    let (mut m, _) = FUNDED.meter().unwrap();
    let before = m.status().unwrap();
    let to = receiver(3);
    let file = agent::issue(&mut m, &request(&to)).unwrap();
    let other = agent::issue(&mut m, &request(&to)).unwrap();
    assert_eq!(charged(&mut m, &before), 2 * FEE);
    assert!(agent::open(&file, &to).is_ok());
    assert!(
        agent::open(&file, &receiver(4)).is_err(),
        "another receiver"
    );
    let f = AgentFile::parse(&file).unwrap();
    let cert_len = f.certificate.signed.raw.len();
    // A byte of the ciphertext (past the ephemeral key), then of the
    // certificate's body (its holder name).
    let sealed_at = cert_len + 4 + 10 + 3 + 65 + 5;
    let holder_at = file.windows(5).position(|w| w == b"alice").unwrap();
    for at in [sealed_at, holder_at, cert_len + 4 + 10 + 3 + SEALED_LEN - 1] {
        let mut bad = file.clone();
        bad[at] ^= 0x01;
        assert!(agent::open(&bad, &to).is_err(), "altered byte {at}");
    }
    // The sealed key of one certificate under another's.
    let o = AgentFile::parse(&other).unwrap();
    let mut swapped = f.certificate.signed.raw.to_vec();
    swapped.extend(&other[o.certificate.signed.raw.len()..]);
    assert!(agent::open(&swapped, &to).is_err());
}

/// 354: the generated private key never crosses the interface in clear:
/// every APDU of the flow, both ways, is recorded, and none holds the key
/// (learned afterwards by opening with the receiver's key).
#[test]
fn step_354_no_private_key_on_the_wire() {
    struct Recorder(MemoryTransport, Vec<Vec<u8>>);
    impl Transport for Recorder {
        fn transmit(&mut self, c: &[u8]) -> Result<Vec<u8>, TransportError> {
            self.1.push(c.to_vec());
            let r = self.0.transmit(c)?;
            self.1.push(r.clone());
            Ok(r)
        }
        fn supports_extended(&self) -> bool {
            false
        }
        fn atr(&self) -> &[u8] {
            self.0.atr()
        }
        fn reset(&mut self) -> Result<(), TransportError> {
            self.0.reset()
        }
        fn exclusive(&mut self, f: &mut reader::transport::Exclusive<'_>) -> Result<(), Error> {
            f(self)
        }
    }
    let (m, _) = FUNDED.meter().unwrap();
    let mut m = Meter::new(Recorder(m.into_transport(), Vec::new()));
    let to = receiver(3);
    let file = agent::issue(&mut m, &request(&to)).unwrap();
    let log = std::mem::take(&mut m.transport().1);
    // Short APDUs: the answer came in pieces (61xx, GET RESPONSE).
    assert!(log.len() >= 4, "{} APDUs", log.len());
    let key = agent::open(&file, &to).unwrap().to_bytes();
    let all: Vec<u8> = log.concat();
    for w in key.windows(8) {
        assert!(
            !all.windows(8).any(|x| x == w),
            "8 bytes of the private key on the wire"
        );
    }
}

/// 356: the certificate is assembled as asked, issued by the meter, and
/// never outlives the meter certificate.
#[test]
fn step_356_assembled_within_the_meter_validity() {
    let (mut m, authority) = FUNDED.meter().unwrap();
    let before = m.status().unwrap();
    let mut req = request(&receiver(3));
    req.days = 3650;
    req.usage = usage::POSTMARK | usage::SIGNING;
    let file = agent::issue(&mut m, &req).unwrap();
    assert_eq!(charged(&mut m, &before), FEE);
    let f = AgentFile::parse(&file).unwrap();
    assert_eq!(f.certificate.expiry, f.meter.expiry);
    assert!(f.certificate.expiry < TIME + 3650 * 86_400);
    assert_eq!(f.certificate.usage, usage::POSTMARK | usage::SIGNING);
    assert_eq!(f.certificate.issuer, f.meter.holder);
    assert!(agent::verify(&file, &authority_key(&authority)).is_ok());
}

/// 358 / 360: too little in the certificate register: 9401, nothing
/// charged, no certificate.
#[test]
fn step_360_no_funds_no_certificate() {
    let poor = Funded {
        funds: FEE - 1,
        ..FUNDED
    };
    let (mut m, _) = poor.meter().unwrap();
    let before = m.status().unwrap();
    let data = request(&receiver(3)).request().unwrap();
    card_refuses(m.issue_certificate(&data), StatusWord::INSUFFICIENT_FUNDS);
    assert_eq!(charged(&mut m, &before), 0);
}

/// 358: exactly the fee is enough (the register goes to zero).
#[test]
fn step_358_exact_funds_suffice() {
    let exact = Funded {
        funds: FEE,
        ..FUNDED
    };
    let (mut m, _) = exact.meter().unwrap();
    let before = m.status().unwrap();
    agent::issue(&mut m, &request(&receiver(3))).unwrap();
    assert_eq!(charged(&mut m, &before), FEE);
    assert_eq!(m.status().unwrap().registers.certificate.descending, 0);
}

/// 362 / 364: the deduction and the signature go together: the
/// certificate is signed by the meter key, and the fee it cost is in the
/// registers; a second certificate gets the next serial.
#[test]
fn step_362_364_deducted_and_signed_by_the_meter() {
    let (mut m, _) = FUNDED.meter().unwrap();
    let before = m.status().unwrap();
    let a = agent::issue(&mut m, &request(&receiver(3))).unwrap();
    assert_eq!(charged(&mut m, &before), FEE);
    let mid = m.status().unwrap();
    let b = agent::issue(&mut m, &request(&receiver(3))).unwrap();
    assert_eq!(charged(&mut m, &mid), FEE);
    let (fa, fb) = (AgentFile::parse(&a).unwrap(), AgentFile::parse(&b).unwrap());
    let meter_key = apdu::crypto::public_key(fa.meter.public_key).unwrap();
    assert!(apdu::crypto::verify_signed(
        &fa.certificate.signed,
        &meter_key
    ));
    assert!(apdu::crypto::verify_signed(
        &fb.certificate.signed,
        &meter_key
    ));
    assert_eq!(fb.certificate.serial, fa.certificate.serial + 1);
}

/// 366: what is sent is the certificate and the sealed key, nothing else;
/// the file adds the meter certificate.
#[test]
fn step_366_answer_is_certificate_and_sealed_key() {
    let (mut m, _) = FUNDED.meter().unwrap();
    let before = m.status().unwrap();
    let data = request(&receiver(3)).request().unwrap();
    let answer = m.issue_certificate(&data).unwrap();
    assert_eq!(charged(&mut m, &before), FEE);
    let (c, s) = AgentFile::parse_answer(&answer).unwrap();
    assert_eq!(s.serial, c.serial);
    let meter_cert = m.read_certificate(METER_CERTIFICATE_SLOT).unwrap();
    let mut file = answer.clone();
    file.extend(&meter_cert);
    AgentFile::parse(&file).unwrap();
}

/// The card refuses to act as an agent (9408) when the authority did not
/// give its meter certificate ISSUE_CERTIFICATES; nothing charged.
#[test]
fn not_an_agent_without_the_usage_bit() {
    let (mut m, authority) = not_agent();
    let before = m.status().unwrap();
    let data = request(&receiver(3)).request().unwrap();
    card_refuses(m.issue_certificate(&data), StatusWord::NOT_AN_AGENT);
    assert_eq!(charged(&mut m, &before), 0);
    drop(authority);
}

fn not_agent() -> (Meter<MemoryTransport>, Authority) {
    let f = Funded {
        serial: "PLAIN-1",
        ..FUNDED
    };
    let mut authority = f.authority().unwrap();
    authority.set_meter_usage(usage::POSTMARK | usage::METERING);
    let mut m = Meter::new(MemoryTransport::new(f.blank_card().unwrap(), true));
    f.personalize(&mut m, &mut authority).unwrap();
    (m, authority)
}

/// The chain check: a meter certificate by another authority, or one
/// without ISSUE_CERTIFICATES, or an agent certificate not by that meter,
/// is refused.
#[test]
fn chain_refusals() {
    let (mut m, authority) = FUNDED.meter().unwrap();
    let file = agent::issue(&mut m, &request(&receiver(3))).unwrap();
    let key = authority_key(&authority);
    assert!(agent::verify(&file, &key).is_ok());
    // Another authority.
    let other = Authority::deterministic("OTHER-CA", 77, TIME).unwrap();
    assert_eq!(
        agent::verify(&file, &authority_key(&other)),
        Err(Refused::MeterNotByAuthority)
    );
    let f = AgentFile::parse(&file).unwrap();
    let answer = &file[..file.len() - f.meter.signed.raw.len()];
    // The meter certificate of a meter that is no agent (same authority).
    let (mut plain, _) = not_agent();
    let plain_cert = plain.read_certificate(METER_CERTIFICATE_SLOT).unwrap();
    let mut spliced = answer.to_vec();
    spliced.extend(&plain_cert);
    assert_eq!(agent::verify(&spliced, &key), Err(Refused::NotAnAgent));
    // Another agent meter's certificate: not the issuer, not its key.
    let (mut m2, _) = Funded {
        serial: "AGENT-2",
        card: vectors::CardSpec {
            seed: 32,
            ..FUNDED.card
        },
        ..FUNDED
    }
    .meter()
    .unwrap();
    let mut spliced = answer.to_vec();
    spliced.extend(m2.read_certificate(METER_CERTIFICATE_SLOT).unwrap());
    assert_eq!(agent::verify(&spliced, &key), Err(Refused::WrongIssuer));
    // An altered certificate body.
    let mut bad = file.clone();
    let at = bad.windows(5).position(|w| w == b"alice").unwrap();
    bad[at] = b'A';
    assert_eq!(agent::verify(&bad, &key), Err(Refused::BadSignature));
}

/// The object type is signed: an agent certificate's signed body does not
/// pass for a postmark or a `7F21` certificate, and a postmark's body does
/// not pass for an agent certificate, whatever outer tag is put on it.
#[test]
fn object_type_is_signed() {
    let (mut m, authority) = FUNDED.meter().unwrap();
    let key = authority_key(&authority);
    let file = agent::issue(&mut m, &request(&receiver(3))).unwrap();
    let f = AgentFile::parse(&file).unwrap();
    let meter_cert = f.meter.signed.raw.to_vec();
    let agent_cert = f.certificate.signed.raw.to_vec();
    let retag = |obj: &[u8], tag: [u8; 2]| {
        let mut v = obj.to_vec();
        v[..2].copy_from_slice(&tag);
        v
    };
    // Agent certificate as a postmark (postmark file with the meter
    // certificate): not a postmark.
    let mut as_postmark = retag(&agent_cert, [0x7F, 0x60]);
    as_postmark.extend(&meter_cert);
    assert!(PostmarkFile::parse(&as_postmark).is_err());
    // Agent certificate as a 7F21 certificate: refused (its body names
    // another type).
    assert!(Certificate::parse(&retag(&agent_cert, [0x7F, 0x21])).is_err());

    // A postmark by the same meter key, as an agent certificate.
    vectors::fixture::open(&mut m).unwrap();
    m.hash_init().unwrap();
    m.hash_update(b"a letter").unwrap();
    let pm = m.postmark().unwrap();
    assert_eq!(u32::from_be_bytes([0, 0, pm[0], pm[1]]), POSTMARK);
    let mut forged = retag(&pm, [0x7F, 0x22]);
    forged.extend(&file[agent_cert.len()..]);
    assert_eq!(
        u32::from_be_bytes([0, 0, forged[0], forged[1]]),
        AGENT_CERTIFICATE
    );
    assert!(read_agent(&forged).is_err());
    // ... nor as a 7F21 certificate.
    assert!(Certificate::parse(&retag(&pm, [0x7F, 0x21])).is_err());
    assert_eq!(agent::verify(&forged, &key), Err(Refused::Malformed));
}

/// The CLI: `meter cert issue`, `meter verify-cert`, `meter cert open`
/// (the key written 0600 as PKCS#8 PEM; another receiver's key opens
/// nothing and writes nothing).
#[test]
fn cli_issue_verify_open() {
    use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
    let home = certmeter_tests::Home::personalized("CLI-AGENT-1", "10.00");
    let dir = home.path();
    let to = receiver(5);
    std::fs::write(
        dir.join("recv.pub.pem"),
        reader::export::public_key_pem(&point(&to)).unwrap(),
    )
    .unwrap();
    std::fs::write(
        dir.join("recv.pem"),
        to.to_pkcs8_pem(LineEnding::LF).unwrap().as_bytes(),
    )
    .unwrap();
    std::fs::write(
        dir.join("other.pem"),
        receiver(6).to_pkcs8_pem(LineEnding::LF).unwrap().as_bytes(),
    )
    .unwrap();
    let pin = ["--pin", certmeter_tests::OWNER_PIN];
    let status = |h: &certmeter_tests::Home| h.meter(["--json", "status"]).expect_code(0).json();
    let before = status(&home);
    let cert = dir.join("bob.agent");
    home.meter(
        pin.iter()
            .copied()
            .chain([
                "cert",
                "issue",
                "--for",
                "bob",
                "--usage",
                "signing,postmark",
            ])
            .chain(["--valid-days", "30", "--receiver-key"])
            .map(std::ffi::OsStr::new)
            .chain([
                dir.join("recv.pub.pem").as_os_str(),
                "-o".as_ref(),
                cert.as_os_str(),
            ]),
    )
    .expect_code(0);
    let after = status(&home);
    let asc = |s: &serde_json::Value| s["registers"]["certificate"]["ascending"].as_u64().unwrap();
    assert_eq!(asc(&after) - asc(&before), FEE);
    home.meter(["verify-cert".as_ref(), cert.as_os_str()])
        .expect_code(0);
    let key_out = dir.join("bob.key.pem");
    home.meter([
        "cert".as_ref(),
        "open".as_ref(),
        "--key".as_ref(),
        dir.join("other.pem").as_os_str(),
        "-i".as_ref(),
        cert.as_os_str(),
        "-o".as_ref(),
        key_out.as_os_str(),
    ])
    .expect_code(2);
    assert!(
        !key_out.exists(),
        "a key file written for the wrong receiver"
    );
    home.meter([
        "cert".as_ref(),
        "open".as_ref(),
        "--key".as_ref(),
        dir.join("recv.pem").as_os_str(),
        "-i".as_ref(),
        cert.as_os_str(),
        "-o".as_ref(),
        key_out.as_os_str(),
    ])
    .expect_code(0);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&key_out).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let pem = std::fs::read_to_string(&key_out).unwrap();
    let key = SecretKey::from_pkcs8_pem(&pem).unwrap();
    let file = std::fs::read(&cert).unwrap();
    let f = AgentFile::parse(&file).unwrap();
    assert_eq!(&point(&key), f.certificate.public_key);
    // Against another authority's key: invalid, exit 1.
    let other = Authority::deterministic("OTHER-CA", 77, TIME).unwrap();
    home.meter([
        "verify-cert".as_ref(),
        cert.as_os_str(),
        "--authority-key".as_ref(),
        std::ffi::OsStr::new(&hex::encode(other.public_key())),
    ])
    .expect_code(1);

    // Revoked by the authority (`--agent-cert`): the next list names it,
    // and `verify-cert --crl` reports it (exit 1); the list before does not.
    let f = AgentFile::parse(&file).unwrap();
    let serial = f.certificate.serial.to_string();
    let crl_before = dir.join("before.crl");
    let crl_after = dir.join("after.crl");
    home.meter([
        "authority".as_ref(),
        "crl".as_ref(),
        "-o".as_ref(),
        crl_before.as_os_str(),
    ])
    .expect_code(0);
    let run = home
        .meter([
            "verify-cert".as_ref(),
            cert.as_os_str(),
            "--crl".as_ref(),
            crl_before.as_os_str(),
        ])
        .expect_code(0);
    assert!(run.stdout.starts_with("valid"), "{}", run.stdout);
    home.meter([
        "authority",
        "revoke",
        "--meter",
        "CLI-AGENT-1",
        "--agent-cert",
        &serial,
        "--reason",
        "keyCompromise",
    ])
    .expect_code(0);
    // Twice: refused, one line.
    let again = home.meter([
        "authority",
        "revoke",
        "--meter",
        "CLI-AGENT-1",
        "--agent-cert",
        &serial,
        "--reason",
        "1",
    ]);
    assert_eq!(again.code, 2);
    assert!(again.stderr.contains("already revoked"), "{}", again.stderr);
    home.meter([
        "authority".as_ref(),
        "crl".as_ref(),
        "-o".as_ref(),
        crl_after.as_os_str(),
    ])
    .expect_code(0);
    let list = std::fs::read(&crl_after).unwrap();
    let list = apdu::cmd::revoke::Crl::parse(&list).unwrap();
    assert_eq!(
        list.find_agent(b"CLI-AGENT-1", f.certificate.serial)
            .map(|e| e.reason),
        Some(1)
    );
    assert_eq!(
        list.find(f.certificate.serial),
        None,
        "not an authority certificate entry"
    );
    let run = home
        .meter([
            "verify-cert".as_ref(),
            cert.as_os_str(),
            "--crl".as_ref(),
            crl_after.as_os_str(),
        ])
        .expect_code(1);
    assert!(
        run.stdout.contains(&format!(
            "certificate {serial} of meter CLI-AGENT-1 was revoked"
        )),
        "{}",
        run.stdout
    );
    // Neither --cert nor --agent-cert: a usage error.
    let run = home.meter([
        "authority",
        "revoke",
        "--meter",
        "CLI-AGENT-1",
        "--reason",
        "1",
    ]);
    assert_eq!(run.code, 2);

    // The issuing meter's certificate revoked for keyCompromise: every
    // certificate it issued is invalid against the list, even one issued
    // before the revocation.
    let carol = dir.join("carol.agent");
    home.meter(
        pin.iter()
            .copied()
            .chain(["cert", "issue", "--for", "carol", "--receiver-key"])
            .map(std::ffi::OsStr::new)
            .chain([
                dir.join("recv.pub.pem").as_os_str(),
                "-o".as_ref(),
                carol.as_os_str(),
            ]),
    )
    .expect_code(0);
    home.meter([
        "--pin",
        certmeter_tests::OWNER_PIN,
        "cert",
        "revoke",
        "0",
        "--reason",
        "keyCompromise",
    ])
    .expect_code(0);
    let crl_meter = dir.join("meter.crl");
    home.meter([
        "authority".as_ref(),
        "crl".as_ref(),
        "-o".as_ref(),
        crl_meter.as_os_str(),
    ])
    .expect_code(0);
    home.meter(["verify-cert".as_ref(), carol.as_os_str()])
        .expect_code(0);
    let run = home
        .meter([
            "verify-cert".as_ref(),
            carol.as_os_str(),
            "--crl".as_ref(),
            crl_meter.as_os_str(),
        ])
        .expect_code(1);
    assert!(
        run.stdout
            .contains("the certificate of meter CLI-AGENT-1 that issued it"),
        "{}",
        run.stdout
    );
}

/// Write figures: ISSUE CERTIFICATE writes what a postmark writes (the
/// register record and the counters record) and its agent counter, in one
/// transaction, within the postmark's budgets; a refused one writes
/// nothing.
#[test]
fn write_figures() {
    let (mut card, _) = FUNDED.card().unwrap();
    let send = |card: &mut applet_sim::sim::Card, r: apdu::meter::Request<'_>| {
        card.transmit(&r.to_command().to_vec().unwrap()).unwrap()
    };
    send(
        &mut card,
        apdu::meter::Request::Select {
            aid: apdu::meter::AID,
        },
    );
    send(
        &mut card,
        apdu::meter::Request::Verify {
            pin: Some(vectors::fixture::OWNER_PIN),
        },
    );
    let data = request(&receiver(3)).request().unwrap();
    let out = send(
        &mut card,
        apdu::meter::Request::IssueCertificate { request: &data },
    );
    assert_eq!(out[out.len() - 2], 0x61);
    let s = card.last_command_stats();
    eprintln!(
        "ISSUE CERTIFICATE: {} logical writes, {} raw writes, {} journal bytes",
        s.logical_writes, s.raw_writes, s.journal_bytes
    );
    assert_eq!(s.logical_writes, 3, "{s:?}");
    assert!(s.logical_writes <= applet_sim::budget::POSTMARK_LOGICAL_WRITES);
    assert!(s.journal_bytes <= applet_sim::budget::POSTMARK_JOURNAL_BYTES);
    let out = send(
        &mut card,
        apdu::meter::Request::IssueCertificate { request: &[0x00] },
    );
    assert_eq!(out, [0x6A, 0x80]);
    assert_eq!(card.last_command_stats(), Default::default());
}
