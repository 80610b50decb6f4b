//! Every signed object's outer tag is its type, and verifiers tell objects
//! apart by it: no two object kinds may share one. A new message takes a
//! tag not in this list (and joins it).

use std::collections::BTreeMap;

use apdu::cmd::{
    attestation, audit, channel as channel_cmd, install, issue_certificate, key_update, load_value,
    personalize, postmark, rate_update, recharge, revoke, sync, unblock,
};
use apdu::{cert, channel};

#[test]
fn every_object_kind_has_its_own_outer_tag() {
    let kinds = [
        ("certificate", cert::CERTIFICATE),
        (
            "authority certificate (in personalization)",
            personalize::AUTHORITY_CERTIFICATE,
        ),
        ("postmark", postmark::POSTMARK),
        ("personalization", personalize::PERSONALIZATION),
        ("value load", load_value::VALUE_LOAD),
        ("load receipt", load_value::LOAD_RECEIPT),
        ("attestation statement", attestation::STATEMENT),
        ("unblock", unblock::UNBLOCK),
        ("sync", sync::SYNC),
        ("channel hello", channel::HELLO),
        ("channel request", channel::REQUEST),
        ("agent certificate", issue_certificate::AGENT_CERTIFICATE),
        ("sealed key", issue_certificate::SEALED_KEY),
        ("revocation request", revoke::REQUEST),
        ("revocation message", revoke::MESSAGE),
        ("revocation confirmation", revoke::CONFIRMATION),
        ("revocation list", revoke::CRL),
        ("key update", key_update::KEY_UPDATE),
        ("channel key registration", channel_cmd::REGISTRATION),
        ("certificate request", install::CERTIFICATE_REQUEST),
        ("recharge request", recharge::REQUEST),
        ("rate update", rate_update::RATE_UPDATE),
        ("audit report", audit::REPORT),
    ];
    let mut seen = BTreeMap::new();
    for (name, tag) in kinds {
        if let Some(other) = seen.insert(tag, name) {
            panic!("{name} and {other} share the outer tag {tag:04X}");
        }
    }
    assert_eq!(seen.len(), kinds.len());
}
