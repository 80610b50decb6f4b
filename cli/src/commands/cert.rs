//! `meter cert`: certificates on the card.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Subcommand;

use crate::global::Global;
use crate::sink::Sink;

#[derive(Subcommand)]
pub enum CertCommand {
    /// Export the certificate in a slot (slot 0: the meter certificate).
    Export {
        /// The certificate slot, 0 to 3.
        slot: u8,
        /// Write the certificate's public key as a PEM SubjectPublicKeyInfo
        /// (for openssl) instead of the certificate itself (7F21 bytes).
        #[arg(long)]
        pem: bool,
        /// Where to write it (default: standard output).
        #[arg(short, long, default_value = "-")]
        output: PathBuf,
    },
    /// Issue a certificate as the meter's agent (Figure 3A): a key pair made
    /// on the card for NAME, its private key sealed to the receiver's key.
    Issue(super::cert_issue::Args),
    /// Open the private key sealed in an agent certificate file with the
    /// receiver's private key.
    Open(super::cert_open::Args),
    /// Revoke the certificate in a slot (Figure 6; slot 0: the meter
    /// certificate, then no loads and no postmarks). Pays the Revoke fee,
    /// or records it as due at the next contact.
    Revoke {
        /// The certificate slot, 0 to 3.
        slot: u8,
        /// RFC 5280 reason: a name (keyCompromise, superseded, ...) or code.
        #[arg(long)]
        reason: String,
    },
    /// Apply the authority's forced revocations of this meter (payment
    /// disabled), as its next contact.
    ApplyRevocations,
    /// List the certificates on the card: slot, serial, holder, uses,
    /// validity and status by the card's clock (`--json` for JSON).
    List,
    /// Install a certificate for an enrolled holder (Figure 5): the card
    /// generates the key; the fee is charged to the certificate register.
    Install {
        /// The holder's name, as enrolled (`meter authority enroll NAME`).
        #[arg(long)]
        name: String,
        /// The holder's one-time enrollment code.
        #[arg(long)]
        code: String,
        /// Authorized uses: `signing`, `authentication` (repeat or separate
        /// with commas for both).
        #[arg(long = "usage", default_value = "signing", value_delimiter = ',')]
        usage: Vec<String>,
        /// Days the certificate is valid.
        #[arg(long, default_value_t = 365)]
        valid_days: u32,
    },
    /// Sign a file with the key of a holder certificate (Figure 5): the
    /// card signs its SHA-256 digest, only if the certificate allows
    /// `signing` and is within its dates. The DER signature goes to
    /// FILE.sig (or -o), for `openssl dgst -sha256 -verify KEY.pem
    /// -signature FILE.sig FILE` with `meter cert export SLOT --pem`.
    Sign {
        /// The certificate slot, 1 to 3.
        slot: u8,
        /// The file to sign.
        file: PathBuf,
        /// Where to write the signature (default FILE.sig).
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Answer a relying party's challenge with the key of a holder
    /// certificate that allows `authentication` (the card signs SHA-256 of
    /// "certmeter authentication v1\0" and the challenge). Prints the DER
    /// signature as hex, or writes it to -o.
    Authenticate {
        /// The certificate slot, 1 to 3.
        slot: u8,
        /// The challenge: 32 bytes as 64 hex digits.
        #[arg(long)]
        challenge: String,
        /// Where to write the signature (DER).
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Import a holder's own private key with a certificate (Figure 5,
    /// lower assurance): the key goes to the card only sealed over the
    /// channel; the certificate is marked imported.
    Import {
        /// The holder's name, as enrolled.
        #[arg(long)]
        name: String,
        /// The holder's one-time enrollment code.
        #[arg(long)]
        code: String,
        /// The private key file: 64 hex digits (keep it mode 0600).
        #[arg(long)]
        key: PathBuf,
        /// Days the certificate is valid.
        #[arg(long, default_value_t = 365)]
        valid_days: u32,
    },
}

pub fn run(g: &Global, command: &CertCommand) -> Result<ExitCode> {
    let (slot, pem, output) = match command {
        CertCommand::Export { slot, pem, output } => (slot, pem, output),
        CertCommand::Issue(args) => return super::cert_issue::run(g, args),
        CertCommand::Open(args) => return super::cert_open::run(g, args),
        CertCommand::Revoke { slot, reason } => return super::cert_revoke::run(g, *slot, reason),
        CertCommand::ApplyRevocations => return super::cert_revoke::apply(g),
        CertCommand::List => return super::cert_list::run(g),
        CertCommand::Sign { slot, file, output } => {
            return super::cert_sign::sign(g, *slot, file, output.as_ref());
        }
        CertCommand::Authenticate {
            slot,
            challenge,
            output,
        } => return super::cert_sign::authenticate(g, *slot, challenge, output.as_ref()),
        CertCommand::Install {
            name,
            code,
            usage,
            valid_days,
        } => return super::cert_install::run(g, name, code, usage, *valid_days),
        CertCommand::Import {
            name,
            code,
            key,
            valid_days,
        } => return super::cert_install::import(g, name, code, key, *valid_days),
    };
    let sink = Sink::open(output, &g.guard())
        .with_context(|| format!("cannot write {}", output.display()))?;
    let certificate = g
        .open_meter()?
        .read_certificate(*slot)
        .with_context(|| format!("reading the certificate in slot {slot}"))?;
    let bytes = if *pem {
        reader::export::certificate_key_pem(&certificate)?.into_bytes()
    } else {
        certificate
    };
    sink.finish(&bytes)
        .with_context(|| format!("cannot write {}", output.display()))?;
    Ok(ExitCode::SUCCESS)
}
