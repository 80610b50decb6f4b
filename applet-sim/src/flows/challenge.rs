//! GET CHALLENGE: a fresh nonce from the card's random number generator,
//! kept in RAM for the one PERSONALIZE that must answer it (personalization
//! step P3).

use apdu::meter::CHALLENGE_LEN;

use crate::context::Context;
use crate::error::Result;
use crate::platform::Platform;

/// GET CHALLENGE: 16 random bytes, also kept in [`crate::state::Transient::challenge`].
pub fn get_challenge<P: Platform>(ctx: &mut Context<'_, P>) -> Result<usize> {
    let mut nonce = [0u8; CHALLENGE_LEN];
    ctx.platform.fill_random(&mut nonce);
    ctx.ram.challenge = Some(nonce);
    ctx.answer(&nonce)
}
