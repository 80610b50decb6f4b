//! READ CERTIFICATE (proprietary): `80 3C slot 00 00`, answered by the
//! certificate in that slot ([`crate::cert::Certificate`], encoded by
//! [`crate::cert::CertificateBody`]).

use super::Request;
use crate::command::Command;
use crate::status::StatusWord;

pub use crate::cert::{Certificate, CertificateBody};

/// READ CERTIFICATE.
pub const INS: u8 = 0x3C;
/// The certificate slot that holds the meter certificate.
pub const METER_CERTIFICATE_SLOT: u8 = 0;

pub(crate) fn parse<'a>(cmd: &Command<'a>) -> Result<Request<'a>, StatusWord> {
    if cmd.p2 != 0 {
        return Err(StatusWord::INCORRECT_P1P2);
    }
    super::no_data(cmd.data)?;
    Ok(Request::ReadCertificate { slot: cmd.p1 })
}

/// The READ CERTIFICATE command for `slot`.
pub fn command(slot: u8) -> Command<'static> {
    super::prop(INS, slot, &[], Some(256))
}
