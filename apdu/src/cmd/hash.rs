//! HASH (proprietary): `80 2A 00 00` starts a message, `80 2A 01 00 Lc data`
//! adds to it; the card keeps the SHA-256 state for POSTMARK and VERIFY
//! POSTMARK.

use super::Request;
use crate::command::Command;
use crate::status::StatusWord;

/// HASH.
pub const INS: u8 = 0x2A;
/// P1 of HASH: start a new message.
pub const P1_INIT: u8 = 0x00;
/// P1 of HASH: add data to the message.
pub const P1_UPDATE: u8 = 0x01;

pub(crate) fn parse<'a>(cmd: &Command<'a>) -> Result<Request<'a>, StatusWord> {
    let data = cmd.data;
    match (cmd.p1, cmd.p2) {
        (P1_INIT, 0) => super::no_data(data).map(|()| Request::HashInit),
        (P1_UPDATE, 0) => super::some_data(data).map(|()| Request::HashUpdate { data }),
        _ => Err(StatusWord::INCORRECT_P1P2),
    }
}

/// The HASH init command.
pub fn init_command() -> Command<'static> {
    super::prop(INS, P1_INIT, &[], None)
}

/// The HASH update command with the next part of the message.
pub fn update_command(data: &[u8]) -> Command<'_> {
    super::prop(INS, P1_UPDATE, data, None)
}
