//! Settlement order: a settlement may carry a balance from the previous one of its seller
//! and marketplace ("Payable to Amazon", reserves), so it is staged only once the previous
//! one is in EBS (imported, posted or archived). Otherwise it stays `approved` with the
//! reason `waiting_for_previous: …`, unless a person overrode the order explicitly (audited).
//! Headless runs never override.

use serde_json::json;

use crate::ledger::state::BatchState;
use crate::store::{AuditAction, BatchRecord, NewAuditEntry, SettlementRecord};

use super::{PostingEngine, PostingError, now};

/// The reason prefix of a batch held back by settlement order.
pub const WAITING_FOR_PREVIOUS: &str = "waiting_for_previous";

/// Whether a batch of the previous settlement no longer holds the next one back.
pub fn order_settled(s: BatchState) -> bool {
    matches!(
        s,
        BatchState::Imported | BatchState::Posted | BatchState::Archived
    )
}

impl PostingEngine {
    /// Posts out of settlement order, as `actor` decided (each overridden batch audited).
    pub fn with_order_override(mut self, actor: impl Into<String>) -> Self {
        self.order_override = Some(actor.into());
        self
    }

    /// The settlement before `settlement_id` in its seller's marketplace chain (by start).
    pub(crate) fn previous_settlement(
        &self,
        settlement_id: &str,
    ) -> Result<Option<SettlementRecord>, PostingError> {
        let Some(me) = self.store.settlement(settlement_id)? else {
            return Ok(None);
        };
        // Strictly earlier: a settlement starting at the same instant is a duplicate or an
        // overlap (the chain check reports it), not a predecessor.
        let at = |s: &SettlementRecord| (s.summary.start, s.summary.settlement_id.clone());
        Ok(self
            .store
            .settlements()?
            .into_iter()
            .filter(|s| {
                s.seller == me.seller
                    && s.marketplace_id == me.marketplace_id
                    && s.summary.start < me.summary.start
            })
            .max_by_key(at))
    }

    /// Why `rec` must wait for the previous settlement, if it must.
    pub(crate) fn waiting_for_previous(
        &self,
        rec: &BatchRecord,
    ) -> Result<Option<String>, PostingError> {
        let Some(prev) = self.previous_settlement(&rec.settlement_id)? else {
            return Ok(None);
        };
        let id = &prev.summary.settlement_id;
        let batches = self.store.batches_for(id)?;
        let open: Vec<String> = batches
            .iter()
            .filter(|b| !order_settled(b.state))
            .map(|b| format!("{} {}", b.period, b.state))
            .collect();
        let what = if batches.is_empty() {
            "not proposed yet".to_string()
        } else if open.is_empty() {
            return Ok(None);
        } else {
            open.join(", ")
        };
        Ok(Some(format!(
            "{WAITING_FOR_PREVIOUS}: previous settlement {id} of {} is not in EBS yet ({what}); post it first, or override the settlement order in the post confirmation",
            prev.marketplace_id
        )))
    }

    /// Holds `rec` when settlement order says so; with an override, records who overrode
    /// it and lets it go. `Ok(None)`: go on.
    pub(super) fn check_order(
        &self,
        rec: &BatchRecord,
    ) -> Result<Option<super::BatchOutcome>, PostingError> {
        let Some(why) = self.waiting_for_previous(rec)? else {
            return Ok(None);
        };
        match &self.order_override {
            Some(by) => {
                self.store.append_audit(
                    NewAuditEntry::new(now(), by.clone(), AuditAction::Approval)
                        .settlement(rec.settlement_id.clone())
                        .period(rec.period.clone())
                        .details(json!({"order_override": true, "waived": why})),
                )?;
                Ok(None)
            }
            None => self.hold(rec, why).map(Some),
        }
    }
}
