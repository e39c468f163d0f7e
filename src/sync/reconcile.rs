//! After a restart, and on every run: what EBS holds decides, not what the store hoped.
//!
//! - [`PostingEngine::reconcile_batches`]: every batch in flight (staged, submitted, or with an
//!   outstanding intent) is compared with EBS and continued to its next resting point before
//!   anything new is posted.
//! - [`PostingEngine::refresh_imported`]: imported journals are looked up again; posted ones
//!   become `posted`, deleted ones `vanished` (never silently re-posted: a person approves a
//!   vanished batch again, which posts it as the next revision).

use serde_json::json;

use crate::ebs::posted::JournalState;
use crate::ledger::state::BatchState;
use crate::store::{AuditAction, BatchKey};

use super::messages::RunError;
use super::posting::{BatchOutcome, PostingEngine, PostingError, PostingProgress, Progress};

/// What a reconciliation pass found.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ReconcileSummary {
    /// Batches that were in flight.
    pub in_flight: usize,
    pub outcomes: Vec<BatchOutcome>,
}

impl PostingEngine {
    /// Reconciles and continues every batch in flight.
    pub async fn reconcile_batches(
        &self,
        progress: Progress<'_>,
    ) -> Result<ReconcileSummary, PostingError> {
        let keys: Vec<BatchKey> = self
            .store
            .in_flight()?
            .into_iter()
            .map(|b| b.key())
            .collect();
        let outcomes = self.post_keys(&keys, progress).await?;
        Ok(ReconcileSummary {
            in_flight: keys.len(),
            outcomes,
        })
    }

    /// Imported batches: posted in EBS → `posted`; gone from EBS → `vanished`.
    pub async fn refresh_imported(
        &self,
        progress: Progress<'_>,
    ) -> Result<Vec<BatchOutcome>, PostingError> {
        let mut out = Vec::new();
        for rec in self.store.batches()? {
            if rec.state != BatchState::Imported {
                continue;
            }
            let key = rec.key();
            let staged = match self.staged_batch(&key, rec.revision) {
                Ok(b) => b,
                Err(e @ PostingError::Unreadable { .. }) => {
                    let mut o = outcome(&rec);
                    o.error = Some(e.to_string());
                    out.push(o);
                    continue;
                }
                Err(e) => return Err(e),
            };
            let batch = match staged {
                Some(b) => b,
                None => match self.build_batch(&key, rec.revision).await {
                    Ok(b) => b,
                    Err(e) => {
                        let mut o = outcome(&rec);
                        o.error = Some(e.to_string());
                        out.push(o);
                        continue;
                    }
                },
            };
            let state = match async {
                self.ebs(&batch)?
                    .gl_journal_state(&batch)
                    .await
                    .map_err(PostingError::from)
            }
            .await
            {
                Ok(s) => s,
                Err(e) => {
                    let mut o = outcome(&rec);
                    o.error = Some(e.to_string());
                    if let PostingError::Ebs(ebs) = &e {
                        o.failure = Some(RunError::ebs(ebs, "refresh").for_batch(&key));
                    }
                    out.push(o);
                    continue;
                }
            };
            let (next, why) = match &state {
                JournalState::Posted(_) => (BatchState::Posted, None),
                JournalState::Absent => (
                    BatchState::Vanished,
                    Some(format!(
                        "journal(s) {:?} were deleted in EBS after import; approve again to re-post as revision {}, or archive",
                        rec.journal_ids,
                        rec.revision + 1
                    )),
                ),
                JournalState::Unposted(_) | JournalState::PartlyPosted(_) => {
                    out.push(outcome(&rec));
                    continue;
                }
            };
            let audit = crate::store::NewAuditEntry::new(
                chrono::Utc::now(),
                self.actor.clone(),
                AuditAction::Outcome,
            )
            .settlement(rec.settlement_id.clone())
            .period(rec.period.clone())
            .details(
                json!({"revision": rec.revision, "status": next, "journals": rec.journal_ids}),
            );
            let mut after = rec.clone();
            after.state = next;
            after.reason = why;
            after.updated_at = audit.time;
            self.store.transition(&rec, &after, Some(audit))?;
            progress(PostingProgress {
                key,
                step: next.as_str(),
                detail: after.reason.clone().unwrap_or_default(),
            });
            out.push(outcome(&after));
        }
        Ok(out)
    }
}

fn outcome(rec: &crate::store::BatchRecord) -> BatchOutcome {
    BatchOutcome {
        key: rec.key(),
        state: rec.state,
        revision: rec.revision,
        reason: rec.reason.clone(),
        error: None,
        failure: None,
    }
}
