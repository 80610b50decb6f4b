//! Figure 9, paying from the line of credit: a payment within the credit
//! remaining (902 -> 904 -> 908 -> 910, the payment certificate 7B), and
//! one past it refused (904 -> 906, 940D) with nothing changed.

use apdu::StatusWord;
use apdu::cmd::pay::PaymentFile;
use apdu::meter::ins;

use super::fig8_credit::LINE;
use super::{PREAMBLE, Result, Session, money, personalized};
use crate::Vector;

/// The Payment fee of the authority's default rate table.
const PAYMENT_FEE: u64 = 20;
/// The payment of the vectors (123.45).
const AMOUNT: u64 = 12_345;
/// The merchant.
const MERCHANT: &str = "SHOP-0001";

fn with_line(name: &'static str) -> Result<Session> {
    let (mut s, mut authority) = personalized(name, 1_000)?;
    s.phase(
        "Figure 8: a line of credit requested (802, postmarked), approved (804/808) and stored (810/812)",
        &[],
    );
    reader::credit::request(&mut s.meter, &mut authority, LINE)?;
    Ok(s)
}

fn pay_labels(s: &mut Session, pay_label: &str) {
    s.phase(
        "Figure 9",
        &[
            (
                ins::READ_CERTIFICATE,
                "Figure 9: the meter certificate, which the payment file carries for the merchant",
            ),
            (
                ins::CREDIT_LINE,
                "Figure 9: READ CREDIT LINE: the creditor certificate and the 7A the payment file carries",
            ),
            (ins::PAY, pay_label),
        ],
    );
}

/// 902 -> 904 -> 908 -> 910.
fn paid() -> Result<Vector> {
    let mut s = with_line("fig9-pay")?;
    let (before, _) = s.funds("Figure 2, 250: the certificate register before the payment")?;
    pay_labels(
        &mut s,
        "Figure 9, 902-910: the request (amount, merchant); the credit remaining suffices (904); it is reduced by the amount (908), the Payment fee charged, and the payment certificate (7F69, Figure 7B: holder, serial, meter id, digest of the 7A, amount, credit remaining, merchant) signed with the meter key (910), in one transaction",
    );
    let file = reader::pay::pay(&mut s.meter, AMOUNT, MERCHANT)?;
    let p = PaymentFile::parse(&file).ok();
    s.ensure(
        p.is_some_and(|p| {
            p.payment.body.amount == AMOUNT
                && p.payment.body.remaining == LINE - AMOUNT
                && p.payment.body.serial == 1
                && p.payment.body.fee == PAYMENT_FEE
        }),
        || "the payment certificate".into(),
    )?;
    let (after, _) = s.funds("Figure 2, 248/250: the registers after: exactly the Payment fee")?;
    s.ensure(
        (after.ascending, after.descending, after.pieces)
            == (
                before.ascending + PAYMENT_FEE,
                before.descending - PAYMENT_FEE,
                before.pieces + 1,
            ),
        || format!("{before:?} -> {after:?}"),
    )?;
    s.phase("Figure 9, 908: the credit remaining, read back", &[]);
    let line = reader::credit::show(&mut s.meter)?;
    s.ensure(
        line.as_ref().map(|l| l.remaining) == Some(LINE - AMOUNT),
        || format!("{line:?}"),
    )?;
    Ok(s.finish(
        "Figure 9",
        format!(
            "{PREAMBLE} with {}, and a line of credit of {} (Figure 8). The holder pays {} to merchant {MERCHANT}: PAY (80 4A) \
             checks the credit remaining (904), subtracts the amount (908), charges the Payment fee {} to the certificate register \
             and answers the payment certificate of Figure 7B (910), which the merchant checks with the authority key alone \
             (`meter pay verify`) and the creditor settles once (`meter authority settle`).",
            money(1_000),
            money(LINE),
            money(AMOUNT),
            money(PAYMENT_FEE)
        ),
    ))
}

/// 904 -> 906: past the credit remaining: 940D, nothing changed.
fn refused() -> Result<Vector> {
    let mut s = with_line("fig9-pay-refused")?;
    let (_, before) = s.funds("Figure 2: the status before")?;
    pay_labels(
        &mut s,
        "Figure 9, 904 -> 906: the credit remaining is less than the amount: refused (940D), nothing written, nothing signed",
    );
    let r = reader::pay::pay(&mut s.meter, LINE + 1, MERCHANT);
    s.ensure(
        matches!(r, Err(reader::Error::Card { sw }) if sw == StatusWord::CREDIT_EXHAUSTED),
        || format!("{r:?}"),
    )?;
    let (_, after) = s.funds("Figure 2: the status after: the same bytes")?;
    s.ensure(after == before, || "the refusal changed the status".into())?;
    s.phase(
        "Figure 9, 906: the line and its remaining credit unchanged",
        &[],
    );
    let line = reader::credit::show(&mut s.meter)?;
    s.ensure(
        line.as_ref().map(|l| (l.remaining, l.payments)) == Some((LINE, 0)),
        || format!("{line:?}"),
    )?;
    Ok(s.finish(
        "Figure 9",
        format!(
            "{PREAMBLE} with {}, and a line of credit of {} (Figure 8). A payment of {} (more than the credit remaining) is \
             refused at 904 -> 906 with 940D (credit exhausted): no certificate, no fee, the credit remaining unchanged.",
            money(1_000),
            money(LINE),
            money(LINE + 1)
        ),
    ))
}

/// Every Figure 9 vector.
pub(super) fn vectors() -> Result<Vec<Vector>> {
    Ok(vec![paid()?, refused()?])
}
