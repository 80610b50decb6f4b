//! Every signed-message and answer parser of `apdu`, each given the same
//! bytes: value load and load receipt, sync, unblock, personalization,
//! revocation request / message / confirmation and list (CRL), key update,
//! channel registration, request and hello, and the sealed channel
//! messages, install certificate request, agent issue request and agent
//! file, rate update, recharge request, audit report, postage request and
//! indicium, postmark and postmark file, verdict, credit line (7A line
//! certificate, line file, creditor certificate, 7B payment certificate and
//! file, credit request), PAY request, attestation, FCI, status template,
//! rate table, public-key template, PIN change data, challenge answer,
//! ECIES. No input may panic; what `read` leaves is a strict suffix.
#![no_main]

use apdu::cmd::{
    attestation, audit, challenge, channel, credit_line, generate_key, get_data, install,
    issue_certificate, key_update, load_value, pay, personalize, pin, postage, postmark,
    rate_update, recharge, revoke, select, sync, unblock, verify_postmark,
};
use libfuzzer_sys::fuzz_target;

fn suffix<T>(data: &[u8], r: Result<(T, &[u8]), apdu::signed::FormatError>) {
    if let Ok((_, rest)) = r {
        assert!(rest.len() < data.len(), "read consumed nothing");
    }
}

fuzz_target!(|data: &[u8]| {
    let _ = load_value::ValueLoad::parse(data);
    let _ = load_value::LoadReceipt::parse(data);
    let _ = sync::Sync::parse(data);
    let _ = unblock::Unblock::parse(data);
    let _ = personalize::Personalization::parse(data);
    let _ = revoke::RevocationRequest::parse(data);
    let _ = revoke::RevocationMessage::parse(data);
    let _ = revoke::RevocationConfirmation::parse(data);
    let _ = revoke::Crl::parse(data);
    let _ = key_update::KeyUpdate::parse(data);
    let _ = channel::Registration::parse(data);
    let _ = install::CertificateRequest::parse(data);
    let _ = issue_certificate::IssueRequest::parse(data);
    suffix(data, issue_certificate::read_agent(data));
    suffix(data, issue_certificate::SealedKey::read(data));
    let _ = issue_certificate::AgentFile::parse_answer(data);
    let _ = issue_certificate::AgentFile::parse(data);
    let _ = rate_update::RateUpdate::parse(data);
    if let Ok(s) = apdu::signed::Signed::parse(data, 0x7F71) {
        let _ = recharge::MeterState::read(&s);
    }
    if let Ok((outer, _)) = apdu::tlv::read(data)
        && let Ok(s) = apdu::signed::Signed::parse(data, outer.tag)
    {
        let _ = recharge::MeterState::read(&s);
    }
    let _ = recharge::RechargeRequest::parse(data);
    let _ = audit::AuditReport::parse(data);
    let _ = postage::PostageRequest::parse(data);
    let _ = postage::Indicium::parse(data);
    suffix(data, postmark::Postmark::read(data));
    let _ = postmark::Postmark::parse(data);
    let _ = postmark::PostmarkFile::parse(data);
    let _ = verify_postmark::Verdict::parse(data);
    suffix(data, credit_line::read_creditor(data));
    suffix(data, credit_line::LineCertificate::read(data));
    let _ = credit_line::LineCertificate::parse(data);
    suffix(data, credit_line::LineFile::read(data));
    let _ = credit_line::LineFile::parse(data);
    if let Ok((_, raw, rest)) = credit_line::CreditRequest::read(data) {
        assert!(rest.len() < data.len());
        assert_eq!(raw.len() + rest.len(), data.len());
    }
    let _ = credit_line::CreditRequestFile::parse(data);
    let _ = credit_line::CreditState::parse(data);
    let _ = credit_line::parse_read_answer(data);
    let _ = pay::PayRequest::parse(data);
    suffix(data, pay::PaymentCertificate::read(data));
    let _ = pay::PaymentCertificate::parse(data);
    let _ = pay::PaymentFile::parse(data);
    let _ = attestation::Attestation::parse(data);
    let _ = generate_key::PublicKeyTemplate::parse(data);
    let _ = select::Fci::parse(data);
    let _ = get_data::StatusTemplate::parse(data);
    let _ = get_data::RateTable::parse(data);
    let _ = get_data::parse_rate_entry(data);
    let _ = pin::decode_change(data);
    let _ = pin::pin_well_formed(data);
    let _ = challenge::parse_answer(data);
    certmeter_fuzz::channel_and_ecies(data);
});
