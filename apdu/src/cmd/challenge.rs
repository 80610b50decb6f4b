//! GET CHALLENGE (ISO 7816-4): `00 84 00 00 10`, answered by a fresh
//! [`CHALLENGE_LEN`]-byte card nonce (the personalization message answers it).

use super::Request;
use crate::command::Command;
use crate::status::StatusWord;

/// GET CHALLENGE.
pub const INS: u8 = 0x84;
/// Bytes of a GET CHALLENGE nonce.
pub const CHALLENGE_LEN: usize = 16;

pub(crate) fn parse<'a>(cmd: &Command<'a>) -> Result<Request<'a>, StatusWord> {
    super::p1p2_zero(cmd)?;
    super::no_data(cmd.data)?;
    if cmd.le != Some(CHALLENGE_LEN) {
        return Err(StatusWord::wrong_le(CHALLENGE_LEN));
    }
    Ok(Request::GetChallenge)
}

/// The GET CHALLENGE command.
pub fn command() -> Command<'static> {
    super::iso(INS, 0, 0, &[], Some(CHALLENGE_LEN))
}

/// Decodes the answer: exactly [`CHALLENGE_LEN`] bytes.
pub fn parse_answer(data: &[u8]) -> Option<&[u8; CHALLENGE_LEN]> {
    data.try_into().ok()
}
