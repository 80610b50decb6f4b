//! GET DATA: what the card holds (Figure 2: serial 238, secure clock 232,
//! registers 244/250, piece counts 242/248, keys 240/246, certificate data
//! 252, rate table 257), as BER-TLV ([`apdu::meter::tag`]); personalization
//! step P1 and value-load step V1 read it.

use apdu::meter::{DataObject, tag};
use apdu::tlv::Writer;

use crate::budget::{CERTIFICATE_SLOTS, DATA_CAPACITY, RATE_TABLE_ENTRIES};
use crate::context::Context;
use crate::error::Result;
use crate::layout::{
    self, AUTHORITY_KEY_COUNT, CHIP_ID, DEADLINE, LIFECYCLE, LOAD_COUNT, METER_KEY_PRESENT,
    POSTMARK_COUNT, RATE_ENTRY_LEN, RATE_TABLE, Register, SEQUENCE,
};
use crate::platform::Platform;
use crate::state;
use crate::store::Store;
use crate::{certificates, clock, contact};

/// GET DATA: writes the data object into the response, returning its length.
pub fn get_data<P: Platform>(ctx: &mut Context<'_, P>, obj: DataObject) -> Result<usize> {
    let s: &Store = ctx.store;
    let mut w = Writer::new(ctx.out);
    match obj {
        DataObject::Status => status(s, &*ctx.platform, &mut w)?,
        DataObject::RateTable => rate_table(s, &mut w)?,
        DataObject::PublicKey => match state::meter_public(s)? {
            Some(k) => w.nested(tag::PUBLIC_KEY, |w| w.put(tag::EC_POINT, k))?,
            None => return Err(apdu::StatusWord::REFERENCED_DATA_NOT_FOUND.into()),
        },
    }
    Ok(w.len())
}

fn status(s: &Store, p: &impl Platform, w: &mut Writer<'_>) -> Result<()> {
    let serial = state::serial(s)?;
    let service = contact::Contact::read(s).ok().filter(|c| c.set).map(|c| {
        let now = clock::now(s, p).unwrap_or(0);
        let sequence = SEQUENCE.get(s).unwrap_or(0);
        apdu::meter::ServiceStatus {
            last_contact: c.time,
            policy: c.policy,
            debits: c.debits(sequence).min(u64::from(u32::MAX)) as u32,
            state: c.state(now, sequence),
        }
    });
    let used_slots = certificates::used(s) as u8;
    w.nested(tag::STATUS, |w| {
        w.put(tag::LIFECYCLE, &[LIFECYCLE.get(s).unwrap_or(0) as u8])?;
        w.put(tag::CHIP_ID, CHIP_ID.read(s).unwrap_or(&[]))?;
        if !serial.is_empty() {
            w.put(tag::SERIAL, serial)?;
        }
        w.put_u64(tag::CLOCK, clock::now(s, p).unwrap_or(0))?;
        w.put_u32(tag::SEQUENCE, SEQUENCE.get(s).unwrap_or(0) as u32)?;
        for (t, r) in [
            (tag::POSTAGE_REGISTER, Register::Postage),
            (tag::CERTIFICATE_REGISTER, Register::Certificate),
        ] {
            w.nested(t, |w| {
                w.put_u64(tag::ASCENDING, r.ascending().get(s).unwrap_or(0))?;
                w.put_u64(tag::DESCENDING, r.descending().get(s).unwrap_or(0))
            })?;
        }
        w.put_u32(
            tag::POSTAGE_PIECES,
            Register::Postage.pieces().get(s).unwrap_or(0) as u32,
        )?;
        w.put_u32(
            tag::CERTIFICATE_PIECES,
            Register::Certificate.pieces().get(s).unwrap_or(0) as u32,
        )?;
        w.put(tag::PIN_TRIES, &[state::pin_tries(s).unwrap_or(0)])?;
        w.put(
            tag::METER_KEY,
            &[METER_KEY_PRESENT.get(s).unwrap_or(0) as u8],
        )?;
        w.put(
            tag::AUTHORITY_KEYS,
            &[AUTHORITY_KEY_COUNT.get(s).unwrap_or(0) as u8],
        )?;
        w.put(
            tag::CERTIFICATE_SLOTS,
            &[used_slots, CERTIFICATE_SLOTS as u8],
        )?;
        w.put_u32(tag::LOAD_COUNT, LOAD_COUNT.get(s).unwrap_or(0) as u32)?;
        w.put_u64(tag::DEADLINE, DEADLINE.get(s).unwrap_or(0))?;
        w.put_u32(tag::POSTMARKS, POSTMARK_COUNT.get(s).unwrap_or(0) as u32)?;
        let transport = state::transport_pin(s).unwrap_or(false);
        w.put(tag::TRANSPORT_PIN, &[u8::from(transport)])?;
        if let Some(service) = &service {
            service.write(w)?;
        }
        let revoked = layout::REVOKED.read(s).unwrap_or(&[]);
        if revoked.iter().any(|&r| r != 0) {
            w.put(tag::REVOKED, revoked)?;
        }
        // Used bytes in the upper half, capacity in the lower.
        w.put_u64(
            tag::MEMORY,
            ((layout::END as u64) << 32) | DATA_CAPACITY as u64,
        )
    })?;
    Ok(())
}

fn rate_table(s: &Store, w: &mut Writer<'_>) -> Result<()> {
    let table = RATE_TABLE.read(s)?;
    w.nested(tag::RATE_TABLE, |w| {
        for entry in table.chunks_exact(RATE_ENTRY_LEN).take(RATE_TABLE_ENTRIES) {
            if entry.first().copied().unwrap_or(0) != 0 {
                w.put(tag::RATE, entry)?;
            }
        }
        let version = layout::RATE_VERSION.get(s).unwrap_or(0) as u32;
        if version != 0 {
            w.put_u32(tag::RATE_VERSION, version)?;
        }
        Ok(())
    })?;
    Ok(())
}
