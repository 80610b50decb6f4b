//! GENERATE ASYMMETRIC KEY PAIR: the key generator (Figure 2, 235) makes
//! the meter key pair (246) on the card (personalization step P2); the
//! private key never leaves it. Also reads the public key back.

use apdu::StatusWord;
use apdu::tlv::Writer;

use crate::context::Context;
use crate::error::Result;
use crate::keys::{encode_public, new_key};
use crate::layout::{METER_KEY_PRESENT, METER_PRIVATE_KEY, METER_PUBLIC_KEY};
use crate::platform::Platform;
use crate::state;

/// GENERATE KEY `80`: a new meter key pair, stored in one transaction;
/// answers the public key.
pub fn generate<P: Platform>(ctx: &mut Context<'_, P>) -> Result<usize> {
    ctx.ram.meter_key = None;
    let key = new_key(ctx.platform)?;
    let public = encode_public(key.verifying_key());
    ctx.store.begin()?;
    // The flag last, so no torn write pairs a flag with a half-written key
    // (the transaction makes it all-or-nothing regardless).
    METER_PRIVATE_KEY.write(ctx.store, &key.to_bytes())?;
    METER_PUBLIC_KEY.write(ctx.store, &public)?;
    METER_KEY_PRESENT.set(ctx.store, 1)?;
    ctx.store.commit()?;
    public_key_answer(&public, ctx.out)
}

/// GENERATE KEY `81`: the meter public key; 6A88 before one was generated.
pub fn read<P: Platform>(ctx: &mut Context<'_, P>) -> Result<usize> {
    let key = state::meter_public(ctx.store)?.ok_or(StatusWord::REFERENCED_DATA_NOT_FOUND)?;
    public_key_answer(key, ctx.out)
}

fn public_key_answer(key: &[u8], out: &mut [u8]) -> Result<usize> {
    let mut w = Writer::new(out);
    w.nested(apdu::meter::tag::PUBLIC_KEY, |w| {
        w.put(apdu::meter::tag::EC_POINT, key)
    })?;
    Ok(w.len())
}
