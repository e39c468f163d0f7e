//! Resuming after a crash: compare the last persisted record with what EBS holds and say
//! which step runs next (never writes).

use crate::ebs::EbsClient;
use crate::ebs::context::Module;
use crate::ebs::error::EbsError;
use crate::ebs::idempotency::{Existing, Observation};
use crate::ebs::requests::RequestState;
use serde::{Deserialize, Serialize};

use super::{GlBatch, GlStatus, PostingRecord, PostingStep};

/// Where to resume after [`EbsClient::gl_reconcile`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NextStep {
    Check,
    Allocate,
    Stage,
    Submit,
    Await,
    Confirm,
    /// Confirmed and nothing changed.
    Done,
    /// The journals were imported and have since been deleted in EBS.
    Vanished,
}

/// Result of reconciliation: the record to persist and the step to run next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resume {
    pub record: PostingRecord,
    pub next: NextStep,
}

impl EbsClient {
    /// After a crash (or before any retry): compares the last persisted record with EBS and
    /// says where to resume. Never writes.
    pub async fn gl_reconcile(
        &self,
        batch: &GlBatch,
        last: Option<&PostingRecord>,
    ) -> Result<Resume, EbsError> {
        let obs = self.gl_existing(batch).await?;
        let request = match last.and_then(|r| r.request_id.as_deref()) {
            Some(id) => Some(self.request_status(Module::Gl, id).await?),
            None => None,
        };
        decide_resume(batch, last, &obs, request.as_ref())
    }
}

/// The pure part of [`EbsClient::gl_reconcile`].
pub fn decide_resume(
    batch: &GlBatch,
    last: Option<&PostingRecord>,
    obs: &Observation,
    request: Option<&RequestState>,
) -> Result<Resume, EbsError> {
    let base = || {
        last.cloned()
            .unwrap_or_else(|| PostingRecord::new(batch, PostingStep::Checked))
    };
    let resume = |record: PostingRecord, next| Ok(Resume { record, next });
    match obs.verdict(batch)? {
        Existing::Journals {
            group_id,
            request_id,
        } => {
            let mut rec = base();
            if let Some(l) = last
                && l.step == PostingStep::Confirmed
                && l.outcome
                    .as_ref()
                    .is_some_and(|o| o.status == GlStatus::Imported)
                && l.group_id == group_id
            {
                return resume(rec, NextStep::Done);
            }
            rec.step = PostingStep::Completed;
            rec.group_id = group_id;
            if rec.request_id.is_none() || request_id.is_some() {
                rec.request_id = request_id.or(rec.request_id);
            }
            resume(rec, NextStep::Confirm)
        }
        Existing::Staged { group_id, rows } => {
            let mut rec = base();
            let same_group = rec.group_id.as_deref() == Some(group_id.as_str());
            rec.group_id = Some(group_id);
            rec.rows_staged = rows;
            if same_group
                && rec.step >= PostingStep::Submitted
                && let Some(r) = request
                && !r.is_complete()
            {
                rec.step = PostingStep::Submitted;
                return resume(rec, NextStep::Await);
            }
            // Staged and not being imported: submit under a fresh control row.
            rec.step = PostingStep::Staged;
            rec.request_id = None;
            rec.request = None;
            rec.interface_run_id = None;
            resume(rec, NextStep::Submit)
        }
        Existing::Rejected { group_ids } => {
            let mut rec = base();
            let group = group_ids.last().cloned();
            let ours = rec.group_id.is_some() && rec.group_id == group;
            if !ours {
                rec.group_id = group;
                rec.request_id = obs.request_of(rec.group_id.as_deref());
            }
            rec.step = PostingStep::Completed;
            resume(rec, NextStep::Confirm)
        }
        Existing::Nothing => {
            let Some(l) = last else {
                return resume(base(), NextStep::Check);
            };
            let mut rec = l.clone();
            match l.step {
                PostingStep::Checked => resume(rec, NextStep::Allocate),
                PostingStep::GroupAllocated => resume(rec, NextStep::Stage),
                PostingStep::Staged | PostingStep::Submitted | PostingStep::Completed => {
                    if let Some(r) = request
                        && !r.is_complete()
                    {
                        rec.step = PostingStep::Submitted;
                        return resume(rec, NextStep::Await);
                    }
                    // Rows staged by us are gone and no journal holds them.
                    Err(EbsError::Inconsistent {
                        settlement_id: batch.settlement_id.clone(),
                        period: batch.period_name.clone(),
                        detail: format!(
                            "group {} was staged but EBS holds neither its rows nor its journals (deleted by someone in EBS?)",
                            l.group_id.as_deref().unwrap_or("?")
                        ),
                    })
                }
                PostingStep::Confirmed => {
                    if l.outcome
                        .as_ref()
                        .is_some_and(|o| o.status == GlStatus::Imported)
                    {
                        resume(rec, NextStep::Vanished)
                    } else {
                        // Rejected rows were cleaned up: post again from the checks.
                        rec.step = PostingStep::Checked;
                        resume(rec, NextStep::Check)
                    }
                }
            }
        }
    }
}
