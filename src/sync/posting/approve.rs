//! Approving and withdrawing approvals: the human gate before anything is sent to EBS
//! (maker-checker when `[controls] distinct_approver` is set).

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::ledger::state::BatchState;
use crate::store::{Approval, AuditAction, BatchKey, NewAuditEntry};

use super::{PostingEngine, PostingError};

impl PostingEngine {
    /// Approves the current proposal of each batch (records who, when and its hash). A
    /// rejected or vanished batch is approved as its next revision. All or nothing is checked
    /// first; each approval is its own audited transition.
    pub fn approve_batches(
        &self,
        keys: &[BatchKey],
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<(), PostingError> {
        let mut plan = Vec::new();
        for key in keys {
            let rec = self.load(key)?;
            let proposal = self
                .stored_proposal(key)?
                .ok_or_else(|| PostingError::NoProposal(key.clone()))?;
            let refuse = |detail: String| PostingError::Refused {
                key: key.clone(),
                detail,
            };
            if proposal.outcome != BatchState::Proposed {
                return Err(refuse(format!(
                    "its proposal is {} ({}); only a postable proposal can be approved",
                    proposal.outcome,
                    proposal.reason.as_deref().unwrap_or("no reason recorded")
                )));
            }
            if !proposal.hash_is_current() {
                return Err(refuse(
                    "its stored proposal does not match the hash it was stored with (the schema 3 migration could not re-hash it); run `ml-connector store verify`, then re-propose it with a new mapping version".into(),
                ));
            }
            let ok = match rec.state {
                BatchState::Proposed
                | BatchState::Rejected
                | BatchState::Vanished
                | BatchState::Reversed => true,
                // Re-approving the same proposal changes nothing; another one replaces it.
                BatchState::Approved => !rec.approval_holds_for(&proposal),
                _ => false,
            };
            if rec.state == BatchState::Approved && !ok {
                continue;
            }
            if !ok {
                return Err(refuse(format!(
                    "it is {}; only proposed, rejected, vanished or reversed batches can be approved",
                    rec.state
                )));
            }
            if self.distinct_approver {
                crate::sync::controls::check_maker_checker(&self.store, key, &proposal, actor)?;
            }
            plan.push((rec, proposal));
        }
        for (rec, proposal) in plan {
            let next_revision = matches!(
                rec.state,
                BatchState::Rejected | BatchState::Vanished | BatchState::Reversed
            );
            let audit = NewAuditEntry::new(now, actor, AuditAction::Approval)
                .settlement(rec.settlement_id.clone())
                .period(rec.period.clone())
                .sha256(proposal.proposal_hash.clone())
                .details(json!({
                    "from": rec.state,
                    "revision": rec.revision + u32::from(next_revision),
                    "mapping": proposal.mapping,
                }));
            self.transition(&rec, audit, |r| {
                r.state = BatchState::Approved;
                if next_revision {
                    r.revision += 1;
                }
                r.approval = Some(Approval {
                    who: actor.to_string(),
                    when: now,
                    proposal_hash: proposal.proposal_hash.clone(),
                    hash_version: proposal.hash_version,
                });
                r.reason = None;
            })?;
        }
        Ok(())
    }

    /// Withdraws approvals (only before staging).
    pub fn unapprove_batches(
        &self,
        keys: &[BatchKey],
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<(), PostingError> {
        let mut recs = Vec::new();
        for key in keys {
            let rec = self.load(key)?;
            if rec.state != BatchState::Approved {
                return Err(PostingError::Refused {
                    key: key.clone(),
                    detail: format!(
                        "it is {}; only an approved batch not yet staged can be unapproved",
                        rec.state
                    ),
                });
            }
            if self.stored_intent(key)?.is_some() {
                return Err(PostingError::Refused {
                    key: key.clone(),
                    detail: "a call to EBS is outstanding for it; reconcile first".into(),
                });
            }
            recs.push(rec);
        }
        for rec in recs {
            let audit = NewAuditEntry::new(now, actor, AuditAction::Unapproval)
                .settlement(rec.settlement_id.clone())
                .period(rec.period.clone())
                .details(json!({"why": "withdrawn"}));
            self.transition(&rec, audit, |r| {
                r.state = BatchState::Proposed;
                r.approval = None;
                r.reason = None;
            })?;
        }
        Ok(())
    }
}
