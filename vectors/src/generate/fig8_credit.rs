//! Figure 8, a line of credit: approved (802 -> 804 -> 808 -> 810/812),
//! refused by the creditor (806: more than its maximum line per holder),
//! and a replayed line-of-credit certificate (7A) refused by the card
//! (6984) without changing anything.

use apdu::StatusWord;
use apdu::meter::ins;

use super::{PREAMBLE, Result, Session, money, personalized};
use crate::Vector;

/// The line asked for in the vectors (500.00).
pub(super) const LINE: u64 = 50_000;

fn request_labels(s: &mut Session, credit_line_label: &str) {
    s.phase(
        "Figure 8",
        &[
            (
                ins::GET_DATA,
                "Figure 8, 802: the PC reads the card's status (serial and chip id for the request)",
            ),
            (
                ins::GENERATE_KEY,
                "Figure 8, 802: the PC reads the meter public key (the 7A will name it, 708)",
            ),
            (ins::CREDIT_LINE, credit_line_label),
            (
                ins::READ_CERTIFICATE,
                "Figure 8, 802: the meter certificate goes with the request's postmark",
            ),
            (
                ins::HASH,
                "Figure 8, 802: the card hashes the credit request (7F6A: serial, chip id, meter key, line number, amount)",
            ),
            (
                ins::POSTMARK,
                "Figure 8, 802: the card postmarks the request (Figure 3; the postmark fee is charged): the creditor sees it is this meter's",
            ),
        ],
    );
}

/// 802 -> 804 -> 808 -> 810 -> 812: the creditor approves, the card stores
/// the line and its remaining credit is the full line.
fn approved() -> Result<Vector> {
    let (mut s, mut authority) = personalized("fig8-credit-line-approved", 1_000)?;
    request_labels(
        &mut s,
        "Figure 8: READ CREDIT LINE (80 48 01) gives the card's line count (940E: no line yet) for the request; STORE CREDIT LINE (80 48 00, 810/812): the creditor certificate (7F6B) verifies under the authority key the card holds, the 7A (7F68) under the creditor key; it names this card's meter key, chip id, serial and next line number; stored with its digest, credit remaining = the full line; READ CREDIT LINE then shows it",
    );
    let line = reader::credit::request(&mut s.meter, &mut authority, LINE)?;
    s.ensure(
        (line.number, line.line, line.remaining) == (1, LINE, LINE),
        || format!("{line:?}"),
    )?;
    Ok(s.finish(
        "Figure 8",
        format!(
            "{PREAMBLE} with {}. The holder asks for a line of credit of {}: the PC assembles the credit request (7F6A), the card \
             postmarks it (802, the postmark fee), the creditor (its key certified by the authority, 7F6B) checks the postmark and \
             decides within its maximum line per holder (804) and issues the line-of-credit certificate of Figure 7A (808, 7F68). \
             STORE CREDIT LINE (80 48 00) verifies the chain authority -> creditor -> 7A and the binding to this card and stores it \
             (810); the credit remaining is the full line (812), as READ CREDIT LINE (80 48 01) shows.",
            money(1_000),
            money(LINE)
        ),
    ))
}

/// 804 -> 806: more than the creditor's maximum line: refused, nothing
/// stored (READ CREDIT LINE: 940E).
fn refused() -> Result<Vector> {
    let (mut s, mut authority) = personalized("fig8-credit-line-refused", 1_000)?;
    authority.set_max_line(LINE)?;
    request_labels(
        &mut s,
        "Figure 8: READ CREDIT LINE (80 48 01): no line yet (940E), so the request names line 1",
    );
    let r = reader::credit::request(&mut s.meter, &mut authority, LINE + 1);
    s.ensure(
        matches!(
            r,
            Err(reader::Error::Authority(
                authority::ServiceError::CreditRefused(_)
            ))
        ),
        || format!("{r:?}"),
    )?;
    s.phase(
        "Figure 8, 806: the creditor refused; the card holds no line (READ CREDIT LINE: 940E)",
        &[],
    );
    let none = s.meter.read_credit_line()?;
    s.ensure(none.is_none(), || "a line after a refusal".into())?;
    Ok(s.finish(
        "Figure 8",
        format!(
            "{PREAMBLE} with {}. The holder asks for {}, more than the creditor's maximum line per holder ({}): the request is \
             postmarked (802, the postmark fee charged), the creditor refuses (804 -> 806) and records the refusal; nothing is \
             stored, and READ CREDIT LINE answers 940E (no line of credit).",
            money(1_000),
            money(LINE + 1),
            money(LINE)
        ),
    ))
}

/// A 7A stored once and presented again: refused (6984, its line number
/// is used), the status and the line byte-identical.
fn replayed() -> Result<Vector> {
    let (mut s, mut authority) = personalized("fig8-credit-line-replayed", 1_000)?;
    request_labels(
        &mut s,
        "Figure 8: READ CREDIT LINE (940E: none yet), then 810/812: the line is stored (STORE CREDIT LINE) and read back",
    );
    let line = reader::credit::request(&mut s.meter, &mut authority, LINE)?;
    let (_, before) = s.funds("Figure 2: the status before the replay")?;
    s.phase(
        "Figure 8, 810: the same creditor certificate and 7A again: its line number is not the card's count plus one: refused (6984), nothing written",
        &[],
    );
    let r = s.meter.store_credit_line(&line.file);
    s.ensure(
        matches!(r, Err(reader::Error::Card { sw }) if sw == StatusWord::REFERENCE_DATA_NOT_USABLE),
        || format!("{r:?}"),
    )?;
    let (_, after) = s.funds("Figure 2: the status after: the same bytes")?;
    s.ensure(after == before, || "the replay changed the status".into())?;
    s.phase("Figure 8: the line and its remaining credit unchanged", &[]);
    let again = reader::credit::show(&mut s.meter)?;
    s.ensure(again.as_ref() == Some(&line), || format!("{again:?}"))?;
    Ok(s.finish(
        "Figure 8",
        format!(
            "{PREAMBLE} with {}, and a line of credit of {} stored (Figure 8). The same line-of-credit certificate presented again \
             (a replay, which would reset the credit remaining) is refused with 6984: the card takes only a 7A naming its count of \
             lines plus one. The status and the line are unchanged.",
            money(1_000),
            money(LINE)
        ),
    ))
}

/// Every Figure 8 vector.
pub(super) fn vectors() -> Result<Vec<Vector>> {
    Ok(vec![approved()?, refused()?, replayed()?])
}
