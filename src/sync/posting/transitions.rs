//! Store transitions of a batch (each one audited): waits, intents, staged, submitted,
//! imported, rejected; and the store's view of a batch as the EBS client's posting record.

use serde_json::json;

use crate::ebs::GlBatch;
use crate::ebs::gl::{GlOutcome, LineResult, PostingRecord, PostingStep};
use crate::ledger::state::BatchState;
use crate::store::{
    AuditAction, BatchRecord, IntentAction, IntentDetails, LineOutcome, PostingIntent,
    StagingDetails, Totals,
};

use super::{BatchOutcome, PostingEngine, PostingError, now};

impl PostingEngine {
    /// Records why the batch waits (same state), when it changed.
    pub(super) fn hold(
        &self,
        rec: &BatchRecord,
        why: String,
    ) -> Result<BatchOutcome, PostingError> {
        self.hold_with(rec, why, true)
    }

    /// Like [`Self::hold`]; `audited = false` for routine waits (a request still running).
    pub(super) fn hold_with(
        &self,
        rec: &BatchRecord,
        why: String,
        audited: bool,
    ) -> Result<BatchOutcome, PostingError> {
        if rec.reason.as_deref() == Some(why.as_str()) {
            return Ok(BatchOutcome::of(rec));
        }
        let mut after = rec.clone();
        after.reason = Some(why.clone());
        after.updated_at = now();
        let audit = audited.then(|| {
            self.audit(AuditAction::Outcome, rec)
                .details(json!({"waiting": why}))
        });
        self.store.transition(rec, &after, audit)?;
        Ok(BatchOutcome::of(&after))
    }

    pub(super) fn intent(
        &self,
        rec: &BatchRecord,
        action: IntentAction,
        batch: &GlBatch,
        pr: &PostingRecord,
    ) -> Result<(), PostingError> {
        self.store.record_intent(&PostingIntent {
            batch: rec.key(),
            revision: rec.revision,
            action,
            group_id: pr.group_id.clone(),
            source_key: source_key(batch),
            written_at: now(),
            details: IntentDetails {
                batch: Some(batch.clone()),
                record: Some(pr.clone()),
                ..IntentDetails::default()
            },
        })?;
        Ok(())
    }

    /// Moves the store along the legal chain up to `target` (after EBS showed the batch
    /// further along than the store knew, e.g. after a crash).
    pub(super) fn catch_up(
        &self,
        mut rec: BatchRecord,
        target: BatchState,
        batch: &GlBatch,
        pr: &PostingRecord,
    ) -> Result<BatchRecord, PostingError> {
        if rec.state == BatchState::Approved && target != BatchState::Approved {
            rec = self.staged(&rec, batch, pr)?;
        }
        if rec.state == BatchState::Staged && target == BatchState::Submitted {
            rec = self.submitted(&rec, pr)?;
        }
        Ok(rec)
    }

    pub(super) fn staged(
        &self,
        rec: &BatchRecord,
        batch: &GlBatch,
        pr: &PostingRecord,
    ) -> Result<BatchRecord, PostingError> {
        let (debit, credit) = batch.entered_totals();
        self.transition(
            rec,
            self.audit(AuditAction::Staging, rec)
                .details(json!(StagingDetails {
                    v: 1,
                    revision: rec.revision,
                    group_id: pr.group_id.clone(),
                    lines: batch.lines.len(),
                    discarded_groups: pr.discarded_groups.clone(),
                    batch: batch.clone(),
                })),
            |r| {
                r.state = BatchState::Staged;
                r.group_id = pr.group_id.clone();
                r.line_count = Some(batch.lines.len() as u32);
                r.totals = Some(Totals {
                    currency: batch.currency.clone(),
                    debit,
                    credit,
                });
                r.request_id = None;
                r.journal_ids.clear();
                r.line_outcomes.clear();
                r.reason = None;
            },
        )
    }

    pub(super) fn submitted(
        &self,
        rec: &BatchRecord,
        pr: &PostingRecord,
    ) -> Result<BatchRecord, PostingError> {
        self.transition(
            rec,
            self.audit(AuditAction::Submission, rec).details(json!({
                "revision": rec.revision,
                "group_id": pr.group_id,
                "request_id": pr.request_id,
            })),
            |r| {
                r.state = BatchState::Submitted;
                r.group_id = pr.group_id.clone().or(r.group_id.clone());
                r.request_id = pr.request_id.as_deref().and_then(|s| s.parse().ok());
                r.reason = None;
            },
        )
    }

    pub(super) fn imported(
        &self,
        rec: &BatchRecord,
        pr: &PostingRecord,
        outcome: &GlOutcome,
    ) -> Result<BatchRecord, PostingError> {
        let ids: Vec<i64> = outcome
            .journals
            .iter()
            .filter_map(|j| j.je_header_id.parse().ok())
            .collect();
        self.transition(
            rec,
            self.audit(AuditAction::Outcome, rec).details(json!({
                "revision": rec.revision,
                "status": "imported",
                "group_id": outcome.group_id,
                "request_id": pr.request_id,
                "journals": outcome.journals.iter().map(|j| json!({
                    "je_header_id": j.je_header_id, "name": j.journal_name,
                    "dr": j.total_dr, "cr": j.total_cr})).collect::<Vec<_>>(),
            })),
            |r| {
                r.state = BatchState::Imported;
                r.journal_ids = ids.clone();
                r.request_id = pr
                    .request_id
                    .as_deref()
                    .and_then(|s| s.parse().ok())
                    .or(r.request_id);
                r.group_id = Some(outcome.group_id.clone());
                r.line_outcomes = line_outcomes(outcome);
                r.reason = None;
            },
        )
    }

    pub(super) fn rejected(
        &self,
        rec: &BatchRecord,
        pr: &PostingRecord,
        outcome: &GlOutcome,
    ) -> Result<BatchRecord, PostingError> {
        let why = format!(
            "Journal Import rejected the batch: {}; fix the cause (mapping, account, period), then approve again to post revision {}",
            summarize_lines(outcome),
            rec.revision + 1
        );
        self.transition(
            rec,
            self.audit(AuditAction::Outcome, rec).details(json!({
                "revision": rec.revision,
                "status": "rejected",
                "group_id": outcome.group_id,
                "request_id": pr.request_id,
                "lines": line_outcomes(outcome),
            })),
            |r| {
                r.state = BatchState::Rejected;
                r.group_id = Some(outcome.group_id.clone());
                r.request_id = pr
                    .request_id
                    .as_deref()
                    .and_then(|s| s.parse().ok())
                    .or(r.request_id);
                r.line_outcomes = line_outcomes(outcome);
                r.approval = None;
                r.reason = Some(why.clone());
            },
        )
    }
}

/// `settlement/period/rREV`: the key EBS rows carry (REFERENCE21/22/24).
pub(super) fn source_key(b: &GlBatch) -> String {
    format!("{}/{}/r{}", b.settlement_id, b.period_name, b.revision)
}

fn line_outcomes(o: &GlOutcome) -> Vec<LineOutcome> {
    o.lines
        .iter()
        .map(|l| {
            let (accepted, code, message) = match &l.result {
                LineResult::Imported {
                    je_header_id,
                    je_line_num,
                } => (
                    true,
                    None,
                    Some(format!("journal {je_header_id} line {je_line_num}")),
                ),
                LineResult::Rejected { code, description } => {
                    (false, Some(code.clone()), Some(description.clone()))
                }
                LineResult::HeldBack { code } => (
                    false,
                    Some(code.clone()),
                    Some("not imported: another line of the batch was rejected".into()),
                ),
                LineResult::Pending => (false, None, Some("still waiting in GL_INTERFACE".into())),
                LineResult::Missing => (false, None, Some("not found in EBS".into())),
            };
            LineOutcome {
                reference: l.line_key.clone(),
                accepted,
                code,
                message,
            }
        })
        .collect()
}

pub(super) fn summarize_lines(o: &GlOutcome) -> String {
    let mut parts: Vec<String> = o
        .rejected()
        .take(5)
        .map(|l| match &l.result {
            LineResult::Rejected { code, description } => {
                format!(
                    "line {} account {} {code} ({description})",
                    l.line, l.account
                )
            }
            _ => String::new(),
        })
        .collect();
    let n = o.rejected().count();
    if n > 5 {
        parts.push(format!("and {} more", n - 5));
    }
    if parts.is_empty() {
        let missing = o
            .lines
            .iter()
            .filter(|l| !matches!(l.result, LineResult::Imported { .. }))
            .count();
        return format!("{missing} of {} line(s) not imported", o.lines.len());
    }
    parts.join("; ")
}

/// What the store knows, as the EBS client's posting record (for reconciliation).
pub(crate) fn posting_record(
    rec: &BatchRecord,
    intent: Option<&PostingIntent>,
) -> Option<PostingRecord> {
    let base = |step| PostingRecord {
        settlement_id: rec.settlement_id.clone(),
        period_name: rec.period.clone(),
        revision: rec.revision,
        step,
        group_id: rec.group_id.clone(),
        interface_run_id: None,
        request_id: rec.request_id.map(|r| r.to_string()),
        rows_staged: rec.line_count.unwrap_or(0) as usize,
        request: None,
        outcome: None,
        discarded_groups: Vec::new(),
    };
    match rec.state {
        BatchState::Approved => intent
            .filter(|i| i.revision == rec.revision && i.action == IntentAction::Stage)
            .and_then(|i| i.details.record.clone())
            .filter(|r| r.step <= PostingStep::GroupAllocated),
        BatchState::Staged => {
            let mut r = base(PostingStep::Staged);
            r.request_id = None;
            Some(r)
        }
        BatchState::Submitted => Some(base(PostingStep::Submitted)),
        _ => None,
    }
}
