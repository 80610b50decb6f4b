//! Figure 8, a line of credit, card side. The holder's request went to
//! the creditor with a postmark (802, the POSTMARK flow); the creditor
//! decided (804/806) and issued the line-of-credit certificate (808,
//! Figure 7A). STORE CREDIT LINE receives it (810): the creditor
//! certificate must verify under the authority key the card holds and
//! allow lines of credit, the 7A under the creditor's key, and the 7A must
//! name this card (meter key, chip id, serial) and its next line number
//! (a replay finds it used: 6984). It is stored with its digest, and the
//! credit remaining set to the full line (812), in one transaction.
//! READ CREDIT LINE answers the line stored and its state.

use apdu::StatusWord;
use apdu::cmd::credit_line::{
    CREDITOR_ISSUES_LINES, CreditState, LINE_FILE_MAX_LEN, LINE_PAYS_MERCHANTS, LineFile,
};
use apdu::tlv::Writer;

use crate::context::Context;
use crate::error::Result;
use crate::layout::CHIP_ID;
use crate::platform::Platform;
use crate::{clock, credit, state};

/// STORE CREDIT LINE (810/812). The dispatcher checked Personalized and
/// the PIN. Everything is checked before anything is written.
pub fn store<P: Platform>(ctx: &mut Context<'_, P>, file: &[u8]) -> Result<usize> {
    let s = &mut *ctx.store;
    if file.len() > LINE_FILE_MAX_LEN {
        return Err(StatusWord::WRONG_LENGTH.into());
    }
    let f = LineFile::parse(file).map_err(|_| StatusWord::INCORRECT_DATA)?;
    let now = clock::now(s, &*ctx.platform)?;
    // 810: the chain authority -> creditor -> 7A.
    let authority = state::authority_key(s)?;
    let creditor = &f.creditor;
    if !apdu::crypto::verify_certificate(creditor, &authority)
        || !creditor.allows(CREDITOR_ISSUES_LINES)
    {
        return Err(StatusWord::SECURITY_STATUS_NOT_SATISFIED.into());
    }
    let creditor_key =
        apdu::crypto::public_key(creditor.public_key).ok_or(StatusWord::INCORRECT_DATA)?;
    let line = &f.line;
    if line.cert.issuer != creditor.holder
        || !apdu::crypto::verify_signed(&line.cert.signed, &creditor_key)
    {
        return Err(StatusWord::SECURITY_STATUS_NOT_SATISFIED.into());
    }
    // Bound to this card: its meter key, chip id and serial.
    let public = state::meter_public(s)?.ok_or(StatusWord::CONDITIONS_NOT_SATISFIED)?;
    if line.cert.public_key[..] != *public
        || CHIP_ID.read(s)? != line.chip_id
        || state::serial(s)? != line.cert.holder
    {
        return Err(StatusWord::INCORRECT_DATA.into());
    }
    if !line.cert.allows(LINE_PAYS_MERCHANTS) || line.amount == 0 {
        return Err(StatusWord::INCORRECT_DATA.into());
    }
    // Once: the card's count of lines plus one (a replay: 6984).
    let old = credit::read(s)?;
    if u64::from(line.number) != u64::from(old.number) + 1 {
        return Err(StatusWord::REFERENCE_DATA_NOT_USABLE.into());
    }
    // Within its dates, and the creditor's, by the card's clock.
    if !line.cert.valid_at(now) || !creditor.valid_at(now) {
        return Err(StatusWord::CONDITIONS_NOT_SATISFIED.into());
    }
    let digest = apdu::crypto::sha256(line.raw());
    let new = CreditState {
        number: line.number,
        line: line.amount,
        // 812: credit remaining = the full line.
        remaining: line.amount,
        payments: old.payments,
    };

    s.begin()?;
    credit::store(s, file, &digest)?;
    credit::write(s, &new)?;
    s.commit()?;
    Ok(0)
}

/// READ CREDIT LINE: the creditor certificate and the 7A as stored, then
/// the line number, line, credit remaining and payments made; 940E when
/// the card holds no line.
pub fn read<P: Platform>(ctx: &mut Context<'_, P>) -> Result<usize> {
    let s = &*ctx.store;
    let file = credit::file(s)?;
    let st = credit::read(s)?;
    let mut w = Writer::new(ctx.out);
    w.raw(file)?;
    st.write(&mut w)?;
    Ok(w.len())
}
