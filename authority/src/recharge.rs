//! Recharging ([value] point 1), the authority's side (steps R2 and R4):
//! the card's signed recharge request (`7F61`) is checked against the
//! meter's certified key and reconciled with the records
//! ([`crate::inspection::reconcile_state`]: every load the authority made,
//! the last receipts and inspection). A request that does not reconcile
//! flags the meter and gets nothing. Otherwise the loads the card counts
//! are confirmed, and the next one is issued bound to the request's
//! challenge: a value load (`7F71` with `82`) good for this card, this
//! request and one LOAD VALUE. The receipt comes back through
//! [`Authority::confirm_load`], which requires the same challenge.

use apdu::cmd::recharge::RechargeRequest;

use crate::inspection::{confirm_applied, flag, reconcile_state};
use crate::{Authority, AuthorityError, db, value};

impl Authority {
    /// Answers a recharge request (7F61) with the value load (7F71) for
    /// the card's next load number, bound to the request's challenge.
    /// Refused: a request not signed by the meter's certified key, for
    /// another chip, amount 0; a flagged meter; a request that does not
    /// reconcile (the meter is then flagged).
    pub fn recharge(&mut self, request: &[u8]) -> Result<Vec<u8>, AuthorityError> {
        let r = RechargeRequest::parse(request).map_err(|_| {
            AuthorityError::InvalidRequest("not a well-formed recharge request".into())
        })?;
        let b = r.body;
        let (serial, _) =
            self.signed_by_meter(&r.signed, b.serial, b.chip_id, "recharge request")?;
        let now = self.now();
        {
            let tx = db::begin(&mut self.conn)?;
            if let Some(reason) = value::flag(&tx, &serial)? {
                return Err(AuthorityError::Flagged { serial, reason });
            }
            if let Some(reason) = reconcile_state(&tx, &serial, &b.state)? {
                flag(&tx, &serial, now, &reason)?;
                tx.commit()?;
                return Err(AuthorityError::Flagged { serial, reason });
            }
            confirm_applied(&tx, &serial, b.state.load_count, now)?;
            tx.commit()?;
        }
        let number = b.state.load_count.checked_add(1).ok_or_else(|| {
            AuthorityError::InvalidRequest(format!("meter {serial} has used every load number"))
        })?;
        self.issue_load(&serial, b.register, b.amount, number, Some(b.challenge))
    }
}
