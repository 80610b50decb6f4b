//! VERIFY POSTMARK (proprietary): `80 32 00 00 Lc postmark-file 00` charges
//! the certificate register and validates a postmark file on the card
//! against the message hashed since HASH init (Figure 4); the answer is the
//! verdict template `E2 { 80 verdict, 81 fee (u64) [, 82 list number] }`,
//! the verdict 0 for valid, else an [`Invalid`] byte.
//!
//! With P1 = [`P1_WITH_CRL`] the postmark file is followed by the
//! authority's signed revocation list (`7F7F`, [`super::revoke::Crl`]): the
//! card checks the list under its authority key (current or previous) and
//! answers [`Invalid::Revoked`] for a postmark dated after its
//! certificate's revocation, and names the list it consulted (`82`).

use super::{FormatError, Request};
use crate::command::Command;
use crate::status::StatusWord;
use crate::tlv::{TlvError, Writer};

/// VERIFY POSTMARK.
pub const INS: u8 = 0x32;

/// Tags of the answer.
pub mod tag {
    use crate::tlv::Tag;
    /// VERIFY POSTMARK answer: the verdict template.
    pub const VERDICT_TEMPLATE: Tag = 0xE2;
    /// Inside [`VERDICT_TEMPLATE`]: 0 valid, else an [`super::Invalid`] byte.
    pub const VERDICT: Tag = 0x80;
    /// Inside [`VERDICT_TEMPLATE`]: the fee charged, u64.
    pub const FEE: Tag = 0x81;
    /// Inside [`VERDICT_TEMPLATE`]: the number of the revocation list
    /// consulted, u64 (only when one was sent).
    pub const CRL_NUMBER: Tag = 0x82;
}

/// P1 of VERIFY POSTMARK when a revocation list follows the postmark file.
pub const P1_WITH_CRL: u8 = 0x01;

/// The verdict byte of a valid postmark.
pub const VALID: u8 = 0;

crate::byte_enum! {
    /// Why a postmark is not valid (Figure 4's reject branches).
    pub enum Invalid {
        /// 412: the certificate is not signed by the authority.
        CertificateSignature = 1 => "the signer's certificate is not signed by this authority",
        /// 412: the postmark time lies outside the certificate's validity.
        CertificateExpired = 2 => "the postmark time is outside the certificate's validity",
        /// 412: the certificate does not authorize postmarks.
        CertificateUsage = 3 => "the certificate does not authorize postmarks",
        /// 412: certificate and postmark name different meters or certificates.
        CertificateMismatch = 4 => "the postmark and the certificate name different meters",
        /// The postmark is not signed by the certificate's key.
        PostmarkSignature = 5 => "the postmark signature does not match the certificate's key",
        /// 418: the message digest differs (the message was altered).
        DigestMismatch = 6 => "the message does not match the postmark's digest (altered message)",
        /// The postmark is dated ahead of the verifier's clock by more than
        /// the allowed skew: no meter can have signed it yet.
        FutureDated = 7 => "the postmark is dated ahead of the verifier's clock by more than the allowed skew",
        /// The revocation list sent with the postmark lists its
        /// certificate as revoked before the postmark's date.
        Revoked = 8 => "the signer's certificate was revoked before the postmark's date",
    }
    /// What failed, for people.
    fn reason;
}

pub(crate) fn parse<'a>(cmd: &Command<'a>) -> Result<Request<'a>, StatusWord> {
    let with_crl = match (cmd.p1, cmd.p2) {
        (0, 0) => false,
        (P1_WITH_CRL, 0) => true,
        _ => return Err(StatusWord::INCORRECT_P1P2),
    };
    super::some_data(cmd.data)?;
    Ok(Request::VerifyPostmark {
        file: cmd.data,
        with_crl,
    })
}

/// The VERIFY POSTMARK command carrying a postmark file, followed by a
/// revocation list when `with_crl`.
pub fn command(file: &[u8], with_crl: bool) -> Command<'_> {
    super::prop(INS, if with_crl { P1_WITH_CRL } else { 0 }, file, Some(256))
}

/// Splits the data of VERIFY POSTMARK with a list: the postmark file (the
/// postmark and the certificate, two objects) and what follows it (the
/// list).
pub fn split(data: &[u8]) -> Result<(&[u8], &[u8]), FormatError> {
    let (_, rest) = crate::tlv::read(data).map_err(|_| FormatError::Malformed)?;
    let (_, rest) = crate::tlv::read(rest).map_err(|_| FormatError::Malformed)?;
    let file_len = data.len() - rest.len();
    Ok(data.split_at(file_len))
}

/// The verdict template.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// `Ok` when valid (420), else the failed check.
    pub result: Result<(), Invalid>,
    /// The fee charged.
    pub fee: u64,
    /// The number of the revocation list the card consulted, if one was
    /// sent.
    pub crl: Option<u64>,
}

impl Verdict {
    /// The verdict byte: [`VALID`] or the [`Invalid`] byte.
    pub fn byte(&self) -> u8 {
        match self.result {
            Ok(()) => VALID,
            Err(i) => i as u8,
        }
    }

    /// Writes the template.
    pub fn write(&self, w: &mut Writer<'_>) -> Result<(), TlvError> {
        w.nested(tag::VERDICT_TEMPLATE, |w| {
            w.put(tag::VERDICT, &[self.byte()])?;
            w.put_u64(tag::FEE, self.fee)?;
            match self.crl {
                Some(number) => w.put_u64(tag::CRL_NUMBER, number),
                None => Ok(()),
            }
        })
    }

    /// Parses a template.
    pub fn parse(input: &[u8]) -> Result<Self, FormatError> {
        let c = super::template(input, tag::VERDICT_TEMPLATE)?;
        let result = match super::uint(c, tag::VERDICT, u64::from(u8::MAX))? as u8 {
            VALID => Ok(()),
            b => Err(Invalid::from_byte(b).ok_or(FormatError::MissingField(tag::VERDICT))?),
        };
        Ok(Verdict {
            result,
            fee: super::uint(c, tag::FEE, u64::MAX)?,
            crl: match crate::tlv::find(c, tag::CRL_NUMBER) {
                Some(_) => Some(super::uint(c, tag::CRL_NUMBER, u64::MAX)?),
                None => None,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn verdict_round_trip(v in proptest::option::of(proptest::sample::select(Invalid::ALL.to_vec())),
                              fee in any::<u64>(), crl in any::<Option<u64>>()) {
            let verdict = Verdict { result: v.map_or(Ok(()), Err), fee, crl };
            let mut buf = [0u8; 32];
            let mut w = Writer::new(&mut buf);
            verdict.write(&mut w).unwrap();
            prop_assert_eq!(Verdict::parse(w.written()), Ok(verdict));
        }

        #[test]
        fn verdict_parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            let _ = Verdict::parse(&bytes);
        }
    }
}
