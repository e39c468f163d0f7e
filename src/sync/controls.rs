//! Maker-checker on approvals (`[controls] distinct_approver`, issue 10).
//!
//! With the control on, whoever approves a batch must differ from the last person who
//! changed the mapping version its proposal was made with (the store's mapping versions
//! record who). [`PostingEngine::may_approve`] answers "may this person approve this
//! batch, and if not, why" for the TUI; [`PostingEngine::approve`] enforces the same rule.

use serde::Serialize;

use crate::ledger::state::BatchState;
use crate::store::{BatchKey, Proposal, Store, StoreError};

use super::posting::{PostingEngine, PostingError};

/// Why someone may not approve a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{actor} may not approve batch {batch}: {why}")]
pub struct Refusal {
    pub batch: BatchKey,
    /// Who asked to approve.
    pub actor: String,
    /// The last person who changed the mapping version (maker-checker), when that is the reason.
    pub maker: Option<String>,
    pub why: String,
}

/// The maker-checker rule alone: `actor` must not be who recorded the mapping version
/// `proposal` was made with.
pub(crate) fn check_maker_checker(
    store: &Store,
    key: &BatchKey,
    proposal: &Proposal,
    actor: &str,
) -> Result<(), PostingError> {
    let version = store
        .mapping(&proposal.mapping.name, proposal.mapping.version)?
        .ok_or_else(|| {
            StoreError::NotFound(format!(
                "mapping {} version {}",
                proposal.mapping.name, proposal.mapping.version
            ))
        })?;
    if version.who == actor {
        return Err(Refusal {
            batch: key.clone(),
            actor: actor.to_string(),
            maker: Some(version.who.clone()),
            why: format!(
                "{} last changed mapping {} (version {}, {}) that its proposal was made with; with [controls] distinct_approver = true someone else must approve",
                version.who,
                version.name,
                version.version,
                version.when.format("%Y-%m-%d %H:%M UTC")
            ),
        }
        .into());
    }
    Ok(())
}

impl PostingEngine {
    /// Whether `actor` may approve batch `key` now: its state and proposal allow an
    /// approval and, with `[controls] distinct_approver`, `actor` did not make the mapping
    /// version it was proposed with. Store failures are reported as a refusal too.
    pub fn may_approve(&self, key: &BatchKey, actor: &str) -> Result<(), Refusal> {
        let refusal = |why: String| Refusal {
            batch: key.clone(),
            actor: actor.to_string(),
            maker: None,
            why,
        };
        let rec = self
            .store
            .batch(key)
            .map_err(|e| refusal(e.to_string()))?
            .ok_or_else(|| refusal("no such batch in the store".into()))?;
        let proposal = self
            .store
            .proposal(key)
            .map_err(|e| refusal(e.to_string()))?
            .ok_or_else(|| refusal("it has no proposal yet".into()))?;
        if proposal.outcome != BatchState::Proposed {
            return Err(refusal(format!(
                "its proposal is {} ({})",
                proposal.outcome,
                proposal.reason.as_deref().unwrap_or("no reason recorded")
            )));
        }
        if !matches!(
            rec.state,
            BatchState::Proposed
                | BatchState::Approved
                | BatchState::Rejected
                | BatchState::Vanished
                | BatchState::Reversed
        ) {
            return Err(refusal(format!(
                "it is {}; only proposed, rejected, vanished or reversed batches can be approved",
                rec.state
            )));
        }
        if self.distinct_approver {
            match check_maker_checker(&self.store, key, &proposal, actor) {
                Ok(()) => {}
                Err(PostingError::NotAllowed(r)) => return Err(r),
                Err(e) => return Err(refusal(e.to_string())),
            }
        }
        Ok(())
    }

    /// A vanished journal (imported, then deleted in EBS) the accountant decides not to
    /// re-post: `archived`, audited with who and why. (Re-posting is approving it again,
    /// which posts it as the next revision.)
    pub fn archive_vanished(
        &self,
        key: &BatchKey,
        actor: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<crate::store::BatchRecord, PostingError> {
        let rec = self.load(key)?;
        if rec.state != BatchState::Vanished {
            return Err(PostingError::Refused {
                key: key.clone(),
                detail: format!(
                    "it is {}; only a vanished batch is archived this way",
                    rec.state
                ),
            });
        }
        let audit =
            crate::store::NewAuditEntry::new(now, actor, crate::store::AuditAction::Archive)
                .settlement(key.settlement_id.clone())
                .period(key.period.clone())
                .details(serde_json::json!({
                    "from": "vanished",
                    "revision": rec.revision,
                    "journal_ids": rec.journal_ids,
                }));
        self.transition(&rec, audit, |r| {
            r.state = BatchState::Archived;
            r.reason = Some(format!(
                "archived by {actor}: journal(s) {:?} (revision {}) were deleted in EBS and are not re-posted",
                rec.journal_ids, rec.revision
            ));
        })
    }

    /// Turns the maker-checker control on or off (from `[controls] distinct_approver`).
    pub fn with_distinct_approver(mut self, on: bool) -> Self {
        self.distinct_approver = on;
        self
    }
}
