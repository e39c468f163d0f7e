//! The posting step machine: batches in period order per settlement, settlements in
//! settlement order per seller and marketplace, chains in parallel; each batch reconciled with EBS, then walked through check → allocate → stage →
//! submit → await → confirm, with an intent recorded before every EBS write.

use std::collections::BTreeMap;

use futures::StreamExt;
use serde_json::{Value, json};

use crate::ebs::context::Module;
use crate::ebs::gl::{GlStatus, NextStep, PostingRecord, PostingStep};
use crate::ebs::{EbsError, GlBatch};
use crate::ledger::state::BatchState;
use crate::store::{
    AuditAction, BatchKey, BatchRecord, IntentAction, IntentDetails, PostingIntent,
};

use super::transitions::{source_key, summarize_lines};
use super::{
    BatchOutcome, Claim, CrashPoint, PostingEngine, PostingError, PostingProgress, Progress,
    WaitMode, now, posting_record,
};
use crate::sync::messages::RunError;

impl PostingEngine {
    /// Posts the batches (approved ones; in-flight ones are reconciled and continued).
    pub async fn post_keys(
        &self,
        keys: &[BatchKey],
        progress: Progress<'_>,
    ) -> Result<Vec<BatchOutcome>, PostingError> {
        // Chain (seller, marketplace) → its batches in settlement order, each settlement's
        // in period (accounting date) order: a later settlement waits for the previous one.
        type Place = (chrono::DateTime<chrono::Utc>, String, chrono::NaiveDate);
        let mut groups: BTreeMap<(String, String), Vec<(Place, BatchKey)>> = BTreeMap::new();
        let unique: std::collections::BTreeSet<&BatchKey> = keys.iter().collect();
        for key in unique {
            // Only orders the batches: an unreadable proposal is reported by `post_one`.
            let date = match self.stored_proposal(key) {
                Ok(p) => p.map(|p| p.lines.accounting_date),
                Err(PostingError::Unreadable { .. }) => None,
                Err(e) => return Err(e),
            }
            .unwrap_or(chrono::NaiveDate::MIN);
            let (chain, start) = match self.store.settlement(&key.settlement_id)? {
                Some(s) => ((s.seller, s.marketplace_id), s.summary.start),
                None => (
                    (String::new(), key.settlement_id.clone()),
                    chrono::DateTime::<chrono::Utc>::MIN_UTC,
                ),
            };
            groups
                .entry(chain)
                .or_default()
                .push(((start, key.settlement_id.clone(), date), key.clone()));
        }
        let limit = self
            .clients
            .values()
            .map(|c| c.concurrency_limit())
            .max()
            .unwrap_or(1)
            .max(1);
        let results: Vec<Result<Vec<BatchOutcome>, PostingError>> =
            futures::stream::iter(groups.into_values().map(|mut batches| async move {
                batches.sort();
                let mut out = Vec::new();
                for (_, key) in batches {
                    // A stop request ends the run between batches (a safe point: every
                    // batch is at rest in the store and in EBS).
                    if self.cancel.as_ref().is_some_and(|c| c.is_cancelled()) {
                        break;
                    }
                    out.push(self.post_one(&key, progress).await?);
                }
                Ok(out)
            }))
            .buffer_unordered(limit)
            .collect()
            .await;
        let mut out = Vec::new();
        for r in results {
            out.extend(r?);
        }
        // periods in calendar order (`NOV-26` before `JAN-27`), not by name
        out.sort_by_key(|o| {
            (
                o.key.settlement_id.clone(),
                crate::ledger::periods::period_order_key(&o.key.period),
            )
        });
        Ok(out)
    }

    /// One batch; errors that only concern it are reported in its outcome. Store failures
    /// and the crash hook stop the run.
    pub(crate) async fn post_one(
        &self,
        key: &BatchKey,
        progress: Progress<'_>,
    ) -> Result<BatchOutcome, PostingError> {
        let claimed = self
            .busy
            .lock()
            .map(|mut b| b.insert(key.clone()))
            .unwrap_or(false);
        if !claimed {
            let mut o = BatchOutcome::of(&self.load(key)?);
            o.error = Some("another task is posting this batch right now".into());
            return Ok(o);
        }
        let _claim = Claim {
            busy: &self.busy,
            key: key.clone(),
        };
        match self.drive(key, progress).await {
            Ok(o) => Ok(o),
            Err(e @ (PostingError::Store(_) | PostingError::Aborted { .. })) => Err(e),
            Err(e) => {
                let rec = self.load(key)?;
                progress(PostingProgress {
                    key: key.clone(),
                    step: "error",
                    detail: e.to_string(),
                });
                // Recorded on the batch (the TUI and the run report show it): what a person
                // must fix (routing, FX, a bad proposal) is audited; EBS trouble is a failure
                // of this run, and the next run resumes from what EBS holds. Neither drops the
                // intent that says what may already be in EBS. An unreadable record is only
                // reported: nothing is written over it.
                let failure = match &e {
                    PostingError::Ebs(ebs) => Some(RunError::ebs(ebs, "post").for_batch(key)),
                    _ => None,
                };
                let why = match &failure {
                    Some(f) => format!(
                        "EBS failed during {} ({}); {}",
                        f.operation,
                        f.cause(),
                        if self.store.intent(key)?.is_some() {
                            "the next run resumes from the recorded intent"
                        } else {
                            "the next run compares with EBS and resumes"
                        }
                    ),
                    None => format!("cannot post: {e}"),
                };
                let rec = if rec.reason.as_deref() == Some(why.as_str())
                    || matches!(e, PostingError::Unreadable { .. })
                {
                    rec
                } else {
                    let mut after = rec.clone();
                    after.reason = Some(why.clone());
                    after.updated_at = now();
                    let audit = failure.is_none().then(|| {
                        self.audit(AuditAction::Outcome, &rec)
                            .details(json!({"waiting": why}))
                    });
                    self.store.annotate(&rec, &after, audit)?;
                    after
                };
                let mut o = BatchOutcome::of(&rec);
                o.error = Some(e.to_string());
                o.failure = failure;
                Ok(o)
            }
        }
    }

    async fn drive(
        &self,
        key: &BatchKey,
        progress: Progress<'_>,
    ) -> Result<BatchOutcome, PostingError> {
        let mut rec = self.load(key)?;
        if let Some(i) = self.stored_intent(key)?
            && i.action == IntentAction::Reverse
        {
            // A reversing journal is on its way: finish it first (see `reversal`).
            return self.continue_reversal(rec, i, progress).await;
        }
        if !matches!(
            rec.state,
            BatchState::Approved | BatchState::Staged | BatchState::Submitted
        ) {
            let mut o = BatchOutcome::of(&rec);
            if o.reason.is_none() && !rec.state.is_final() && rec.state != BatchState::Imported {
                o.reason = Some(format!("{} (not approved)", rec.state));
            }
            return Ok(o);
        }
        let say = |step: &'static str, detail: String| {
            progress(PostingProgress {
                key: key.clone(),
                step,
                detail,
            })
        };
        let intent = self.stored_intent(key)?;
        let batch = self.batch_for(&rec, intent.as_ref()).await?;
        let last = posting_record(&rec, intent.as_ref());
        say("reconcile", "comparing with EBS".into());
        let resume = match self.ebs(&batch)?.gl_reconcile(&batch, last.as_ref()).await {
            Ok(r) => r,
            Err(e @ (EbsError::OtherRevisionLive { .. } | EbsError::Inconsistent { .. })) => {
                return self.hold(&rec, e.to_string());
            }
            Err(e) => return Err(e.into()),
        };
        if let Some(i) = &intent {
            // A call was announced and not answered before the last stop.
            self.store
                .append_audit(self.audit(AuditAction::Replay, &rec).details(
                    json!({"reconciled": true, "store_state": rec.state,
                                    "intent": i.action, "intent_group": i.group_id,
                                    "resume_at": resume.next, "group_id": resume.record.group_id}),
                ))?;
        }
        // Nothing of the batch in EBS (at most an empty control row): start from the checks
        // with the current proposal.
        if !matches!(
            resume.next,
            NextStep::Check | NextStep::Allocate | NextStep::Stage
        ) {
            return self
                .continue_from(rec, batch, resume.record, resume.next, progress)
                .await;
        }
        if intent.is_some() {
            // EBS holds nothing of it: the announced call did not land.
            self.store.clear_intent(key)?;
        }
        if rec.state != BatchState::Approved {
            return self.hold(
                &rec,
                format!("store says {} but EBS holds nothing of it", rec.state),
            );
        }
        let proposal = self
            .stored_proposal(key)?
            .ok_or_else(|| PostingError::NoProposal(key.clone()))?;
        if !rec.approval_holds_for(&proposal) {
            rec = self.transition(
                &rec,
                self.audit(AuditAction::Unapproval, &rec)
                    .sha256(proposal.proposal_hash.clone())
                    .details(json!({"why": "lapsed: the proposal changed since it was approved"})),
                |r| {
                    r.state = BatchState::Proposed;
                    r.approval = None;
                    r.reason = Some(
                        "approval lapsed: the proposal changed since it was approved; review and approve again"
                            .into(),
                    );
                },
            )?;
            say("lapsed", "approval lapsed".into());
            return Ok(BatchOutcome::of(&rec));
        }
        // The batch of the current proposal, not of a stale intent.
        let batch = self.build_batch(key, rec.revision).await?;
        self.delete_rejected(&rec, &batch).await?;
        say("check", "accounts and period".into());
        let pr = match self.ebs(&batch)?.gl_check(&batch).await {
            Ok(r) => r,
            Err(EbsError::Checks(f)) => {
                let why = format!(
                    "blocked before staging: {}",
                    EbsError::Checks(f)
                        .to_string()
                        .trim_start_matches("batch cannot be staged: ")
                );
                return self.hold(&rec, why);
            }
            Err(e) => return Err(e.into()),
        };
        if let Some(held) = self.check_order(&rec)? {
            say("order", held.reason.clone().unwrap_or_default());
            return Ok(held);
        }
        self.continue_from(rec, batch, pr, NextStep::Allocate, progress)
            .await
    }

    /// Deletes rejected interface rows of earlier revisions before a new revision is staged.
    async fn delete_rejected(
        &self,
        rec: &BatchRecord,
        batch: &GlBatch,
    ) -> Result<(), PostingError> {
        if rec.revision <= 1 {
            return Ok(());
        }
        let key = rec.key();
        let obs = self.ebs(batch)?.gl_existing(batch).await?;
        let mut groups: Vec<String> = Vec::new();
        for r in &obs.rows {
            let s = |k: &str| {
                r.get(k).and_then(|v| match v {
                    Value::String(s) => Some(s.clone()),
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                })
            };
            let rev: Option<u32> = s("REFERENCE24").and_then(|v| v.trim().parse().ok());
            let status = s("STATUS").unwrap_or_default();
            if rev != Some(rec.revision)
                && status != "NEW"
                && status != "PROCESSED"
                && let Some(g) = s("GROUP_ID")
                && !groups.contains(&g)
            {
                groups.push(g);
            }
        }
        if groups.is_empty() {
            return Ok(());
        }
        self.store.record_intent(&PostingIntent {
            batch: key.clone(),
            revision: rec.revision,
            action: IntentAction::DeleteRejected,
            group_id: None,
            source_key: source_key(batch),
            written_at: now(),
            details: IntentDetails {
                groups: Some(groups.clone()),
                ..IntentDetails::default()
            },
        })?;
        self.crash_at(&key, CrashPoint::BeforeDeleteRejected)?;
        let mut deleted = 0u64;
        for g in &groups {
            deleted += self
                .ebs(batch)?
                .delete_rows(Module::Gl, "GL_INTERFACE", &[("GROUP_ID", g.clone())])
                .await?;
        }
        self.crash_at(&key, CrashPoint::AfterDeleteRejected)?;
        self.store.append_audit(
            self.audit(AuditAction::Replay, rec)
                .details(json!({"deleted_rejected_groups": groups, "rows": deleted,
                                "before_revision": rec.revision})),
        )?;
        self.store.clear_intent(&key)?;
        Ok(())
    }

    /// Runs the remaining steps from `next`.
    async fn continue_from(
        &self,
        mut rec: BatchRecord,
        batch: GlBatch,
        mut pr: PostingRecord,
        mut next: NextStep,
        progress: Progress<'_>,
    ) -> Result<BatchOutcome, PostingError> {
        let key = rec.key();
        let say = |step: &'static str, detail: String| {
            progress(PostingProgress {
                key: key.clone(),
                step,
                detail,
            })
        };
        let mut resubmits = 0u32;
        loop {
            match next {
                NextStep::Check => {
                    // Only reached through `drive`; a second check in one run means EBS
                    // lost what was staged: leave it for the next run.
                    return self.hold(
                        &rec,
                        "EBS lost the staged rows; posting again next run".into(),
                    );
                }
                NextStep::Allocate => {
                    self.intent(&rec, IntentAction::Stage, &batch, &pr)?;
                    self.crash_at(&key, CrashPoint::BeforeAllocate)?;
                    pr = self.ebs(&batch)?.gl_allocate(&batch, &pr).await?;
                    self.crash_at(&key, CrashPoint::AfterAllocate)?;
                    next = NextStep::Stage;
                }
                NextStep::Stage => {
                    self.intent(&rec, IntentAction::Stage, &batch, &pr)?;
                    self.crash_at(&key, CrashPoint::BeforeStage)?;
                    say(
                        "stage",
                        format!(
                            "{} lines, group {}",
                            batch.lines.len(),
                            pr.group_id.as_deref().unwrap_or("?")
                        ),
                    );
                    pr = self.ebs(&batch)?.gl_stage(&batch, &pr).await?;
                    self.crash_at(&key, CrashPoint::AfterStage)?;
                    if pr.step == PostingStep::Completed {
                        // Journals already existed: confirm them.
                        rec = self.catch_up(rec, BatchState::Submitted, &batch, &pr)?;
                        next = NextStep::Confirm;
                    } else {
                        rec = self.staged(&rec, &batch, &pr)?;
                        next = NextStep::Submit;
                    }
                }
                NextStep::Submit => {
                    rec = self.catch_up(rec, BatchState::Staged, &batch, &pr)?;
                    if rec.state == BatchState::Submitted {
                        // Resubmitting an import that found nothing to import.
                        resubmits += 1;
                        if resubmits > 1 {
                            return self.hold(
                                &rec,
                                format!(
                                    "Journal Import request {} completed without importing the rows; submitting again next run",
                                    pr.request_id.as_deref().unwrap_or("?")
                                ),
                            );
                        }
                    }
                    self.intent(&rec, IntentAction::Submit, &batch, &pr)?;
                    self.crash_at(&key, CrashPoint::BeforeSubmit)?;
                    say(
                        "submit",
                        format!(
                            "Journal Import of group {}",
                            pr.group_id.as_deref().unwrap_or("?")
                        ),
                    );
                    pr = self.ebs(&batch)?.gl_submit(&batch, &pr).await?;
                    self.crash_at(&key, CrashPoint::AfterSubmit)?;
                    rec = self.submitted(&rec, &pr)?;
                    next = NextStep::Await;
                }
                NextStep::Await => {
                    let id = pr.request_id.clone().unwrap_or_default();
                    say("await", format!("request {id}"));
                    match self.wait {
                        WaitMode::Poll => pr = self.ebs(&batch)?.gl_await(&batch, &pr).await?,
                        WaitMode::Once => {
                            let st = self.ebs(&batch)?.request_status(Module::Gl, &id).await?;
                            if !st.is_complete() {
                                return self.hold_with(
                                    &rec,
                                    format!(
                                        "waiting on Journal Import request {id} ({})",
                                        st.codes()
                                    ),
                                    false,
                                );
                            }
                            pr.step = PostingStep::Completed;
                            pr.request = Some(st);
                        }
                    }
                    next = NextStep::Confirm;
                }
                NextStep::Confirm => {
                    say("confirm", "reading interface and journals".into());
                    pr = self.ebs(&batch)?.gl_confirm(&batch, &pr).await?;
                    self.crash_at(&key, CrashPoint::AfterConfirm)?;
                    let Some(outcome) = pr.outcome.clone() else {
                        return self.hold(&rec, "EBS confirmation without outcome".into());
                    };
                    match outcome.status {
                        GlStatus::Imported => {
                            rec = self.catch_up(rec, BatchState::Submitted, &batch, &pr)?;
                            rec = self.imported(&rec, &pr, &outcome)?;
                            say("imported", format!("journals {:?}", rec.journal_ids));
                            return Ok(BatchOutcome::of(&rec));
                        }
                        GlStatus::Rejected => {
                            if rec.state == BatchState::Approved {
                                rec = self.catch_up(rec, BatchState::Staged, &batch, &pr)?;
                            }
                            rec = self.rejected(&rec, &pr, &outcome)?;
                            // EBS's account answers may have changed: ask again next time.
                            self.ebs(&batch)?
                                .forget_accounts(
                                    &batch.ledger_id,
                                    batch.lines.iter().map(|l| l.account.as_str()),
                                )
                                .await;
                            say("rejected", rec.reason.clone().unwrap_or_default());
                            return Ok(BatchOutcome::of(&rec));
                        }
                        GlStatus::NotImported => {
                            // The import ran without taking the rows (request error): submit again.
                            pr.step = PostingStep::Staged;
                            pr.interface_run_id = None;
                            pr.request = None;
                            next = NextStep::Submit;
                            if rec.state != BatchState::Submitted {
                                rec = self.catch_up(rec, BatchState::Submitted, &batch, &pr)?;
                            }
                        }
                        GlStatus::Inconsistent => {
                            return self.hold(
                                &rec,
                                format!(
                                    "EBS holds part of group {}: {}",
                                    outcome.group_id,
                                    summarize_lines(&outcome)
                                ),
                            );
                        }
                    }
                }
                NextStep::Done => return Ok(BatchOutcome::of(&rec)),
                NextStep::Vanished => {
                    return self.hold(&rec, "journals no longer found in EBS".into());
                }
            }
        }
    }
}
