//! `meter authority`: create the local authority, print its public key.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use authority::{Authority, MeterSummary};
use clap::Subcommand;
use serde_json::json;

use crate::global::Global;
use crate::output::{time, write_output};

#[derive(Subcommand)]
pub enum AuthorityCommand {
    /// Create the authority: its key pair and its database.
    Init {
        /// The authority's name, written as issuer in its certificates.
        #[arg(long, default_value = "CERTMETER-CA")]
        name: String,
    },
    /// Set the service policy every contact (personalization, load, unblock,
    /// sync) carries: past D days since the last contact the card warns,
    /// past D+G it refuses debits, and it refuses them once N charged
    /// operations were made since the contact.
    Policy {
        /// Service days D (0: no time limit).
        #[arg(long, default_value_t = authority::DEFAULT_SERVICE_DAYS)]
        service_days: u32,
        /// Grace days G.
        #[arg(long, default_value_t = authority::DEFAULT_GRACE_DAYS)]
        grace_days: u32,
        /// Charged operations N between contacts (0: no limit).
        #[arg(long, default_value_t = authority::DEFAULT_MAX_DEBITS)]
        max_debits: u32,
    },
    /// Record that the holder of meter SERIAL was checked: the next `meter
    /// pin unblock` of that meter is signed.
    ApproveUnblock {
        /// The meter serial.
        serial: String,
    },
    /// Print the authority's public key (hex), for verifiers; with
    /// `--root`, its issuer root (what `card new` pins into cards).
    Key {
        /// The issuer root's public key instead of the operational key.
        #[arg(long)]
        root: bool,
        /// Write the key as a PEM SubjectPublicKeyInfo, as openssl reads it.
        #[arg(long)]
        pem: bool,
        /// Where to write the PEM (default: standard output).
        #[arg(short, long, requires = "pem")]
        output: Option<PathBuf>,
    },
    /// List the personalized meters with their state: `ok`, or `flagged`
    /// (a receipt did not reconcile with the records; no further loads) and why.
    Meters,
    /// Force the revocation of certificate CERT of meter METER (RFC 5280
    /// REASON): applied at the card's next contact, payment disabled. Or
    /// revoke certificate AGENT_CERT that meter METER issued as an agent
    /// (Figure 3A): listed in the next revocation list.
    #[command(group(clap::ArgGroup::new("which").required(true).args(["cert", "agent_cert"])))]
    Revoke {
        /// The meter serial.
        #[arg(long)]
        meter: String,
        /// The certificate serial (one the authority issued).
        #[arg(long)]
        cert: Option<u64>,
        /// The serial of a certificate the meter issued as an agent.
        #[arg(long)]
        agent_cert: Option<u64>,
        /// RFC 5280 reason: a name or code.
        #[arg(long)]
        reason: String,
    },
    /// Publish the signed revocation list (numbered one more than the last).
    Crl {
        /// Where to write it (default: standard output).
        #[arg(short, long, default_value = "-")]
        output: PathBuf,
    },
    /// Roll the authority's key over: a new key certified by the issuer
    /// root replaces the current one; cards take it at their next contact.
    Rollover,
    /// The postal operator's check of a postage indicium (its bytes or its
    /// printed PNG): verified against the meter certificate, recorded; a
    /// second indicium with the same device and ascending register is a
    /// copied stamp (exit 1).
    Scan {
        /// The indicium bytes, or the PNG `meter postage` printed.
        file: PathBuf,
    },
    /// The creditor (Figure 9): settle a payment file, paying its merchant
    /// once; a second presentation is refused.
    Settle {
        /// The payment file (`meter pay`).
        file: PathBuf,
    },
    /// The creditor's records: the payments settled and what each merchant
    /// was paid.
    Payments {
        /// Only this merchant's.
        #[arg(long)]
        merchant: Option<String>,
    },
    /// The creditor (Figure 8): the lines of credit issued, and its maximum
    /// line per holder (set with --max-line).
    Credit {
        /// A new maximum line per holder, e.g. 1000.00.
        #[arg(long)]
        max_line: Option<String>,
    },
    /// The authority's rate table and its version; `set SERVICE AMOUNT`
    /// makes a new version, which meters take at their next contact.
    Rates {
        #[command(subcommand)]
        command: Option<super::authority_rates::RatesCommand>,
    },
    /// The inspections (audits) of meter SERIAL and their verdicts.
    Inspections {
        /// The meter serial.
        serial: String,
    },
    /// Enroll a certificate holder: prints a one-time enrollment code the
    /// holder presents when installing a certificate (Figure 5, 514).
    Enroll {
        /// The holder's name, as it will appear in the certificate.
        name: String,
        /// Days the code stays valid.
        #[arg(long, default_value_t = 7)]
        valid_days: u32,
    },
}

pub fn run(g: &Global, command: &AuthorityCommand) -> Result<ExitCode> {
    let dir = g.authority_dir()?;
    let a = match command {
        AuthorityCommand::Init { name } => Authority::init(&dir, name)?,
        AuthorityCommand::Policy {
            service_days,
            grace_days,
            max_debits,
        } => {
            let policy = apdu::message::ServicePolicy {
                service_days: *service_days,
                grace_days: *grace_days,
                max_debits: *max_debits,
            };
            Authority::open(&dir)?.set_policy(policy)?;
            if g.json {
                println!(
                    "{}",
                    json!({ "service_days": service_days, "grace_days": grace_days, "max_debits": max_debits })
                );
            } else {
                println!(
                    "service policy: {service_days} days of service, {grace_days} of grace, {max_debits} charged operations between contacts"
                );
            }
            return Ok(ExitCode::SUCCESS);
        }
        AuthorityCommand::Rates { command } => {
            return super::authority_rates::run(g.json, &dir, command.as_ref());
        }
        AuthorityCommand::Inspections { serial } => {
            return super::authority_inspections::run(g.json, &dir, serial);
        }
        AuthorityCommand::Enroll { name, valid_days } => {
            return super::authority_enroll::run(g.json, &dir, name, *valid_days);
        }
        AuthorityCommand::ApproveUnblock { serial } => {
            Authority::open(&dir)?.approve_unblock(serial)?;
            if g.json {
                println!("{}", json!({ "unblock_approved": serial }));
            } else {
                println!("unblock of meter {serial} approved (holder checked)");
            }
            return Ok(ExitCode::SUCCESS);
        }
        AuthorityCommand::Key {
            pem: true,
            output,
            root,
        } => {
            let a = Authority::open(&dir)?;
            let key = if *root {
                a.issuer_root()
            } else {
                a.public_key()
            };
            let pem = reader::export::public_key_pem(&key)?;
            let out = output.clone().unwrap_or_else(|| "-".into());
            write_output(&out, pem.as_bytes(), &g.guard())?;
            return Ok(ExitCode::SUCCESS);
        }
        AuthorityCommand::Key {
            pem: false,
            root: true,
            ..
        } => {
            let a = Authority::open(&dir)?;
            authority(g.json, &dir, a.name(), &a.issuer_root());
            return Ok(ExitCode::SUCCESS);
        }
        AuthorityCommand::Key { pem: false, .. } => Authority::open(&dir)?,
        AuthorityCommand::Revoke {
            meter,
            cert,
            agent_cert,
            reason,
        } => {
            return match (cert, agent_cert) {
                (Some(cert), _) => super::authority_revoke::run(g.json, &dir, meter, *cert, reason),
                (None, Some(serial)) => {
                    super::authority_revoke::agent(g.json, &dir, meter, *serial, reason)
                }
                (None, None) => unreachable!("clap requires one of --cert and --agent-cert"),
            };
        }
        AuthorityCommand::Scan { file } => return super::authority_scan::run(g.json, &dir, file),
        AuthorityCommand::Crl { output } => return super::authority_crl::run(g, &dir, output),
        AuthorityCommand::Rollover => return super::authority_rollover::run(g.json, &dir),
        AuthorityCommand::Settle { file } => {
            return super::authority_credit::settle(g.json, &dir, file);
        }
        AuthorityCommand::Payments { merchant } => {
            return super::authority_credit::payments(g.json, &dir, merchant.as_deref());
        }
        AuthorityCommand::Credit { max_line } => {
            return super::authority_credit::credit(g.json, &dir, max_line.as_deref());
        }
        AuthorityCommand::Meters => {
            meters(g.json, &Authority::open(&dir)?.meters()?)?;
            return Ok(ExitCode::SUCCESS);
        }
    };
    authority(g.json, &dir, a.name(), &a.public_key());
    Ok(ExitCode::SUCCESS)
}

fn authority(json: bool, dir: &Path, name: &str, key: &[u8]) {
    if json {
        println!(
            "{}",
            json!({ "authority": dir, "name": name, "public_key": hex::encode_upper(key) })
        );
    } else {
        println!("authority {name} at {}", dir.display());
        println!("public key {}", hex::encode_upper(key));
    }
}

fn meters(json: bool, meters: &[MeterSummary]) -> Result<()> {
    if json {
        let v: Vec<_> = meters
            .iter()
            .map(|m| {
                json!({
                    "serial": m.serial,
                    "chip_id": m.chip_id,
                    "certificate_serial": m.certificate_serial,
                    "personalized_at": m.personalized_at,
                    "loads": m.loads,
                    "confirmed": m.confirmed,
                    "state": if m.flagged_at.is_some() { "flagged" } else { "ok" },
                    "flagged_at": m.flagged_at,
                    "flag_reason": m.flag_reason,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    if meters.is_empty() {
        println!("no meters personalized yet");
    }
    for m in meters {
        let state = match (m.flagged_at, &m.flag_reason) {
            (Some(at), reason) => format!(
                "FLAGGED at {}: {}",
                time(at),
                reason.as_deref().unwrap_or("no reason recorded")
            ),
            (None, _) => "ok".into(),
        };
        println!(
            "{} chip {} certificate {} personalized {} loads {} ({} confirmed) {state}",
            m.serial,
            m.chip_id,
            m.certificate_serial,
            time(m.personalized_at),
            m.loads,
            m.confirmed
        );
    }
    Ok(())
}
