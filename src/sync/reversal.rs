//! Corrections by the book (issue 10): a posted or imported batch is undone only by a
//! reversing journal, never by deleting anything in EBS.
//!
//! The reversing journal mirrors every line of the revision it reverses (debit ↔ credit,
//! accounted amounts too, so it nets to zero at the original rate), carries the
//! original's references (`REFERENCE21` settlement, `REFERENCE22` the batch's period even
//! when the reversal is dated later, `REFERENCE24` its own revision = the reversed one + 1)
//! and names the original journal and revision in its description. It is dated in the first
//! open period at or after the original's (or the period the accountant chose) and goes
//! through the same exactly-once path as any posting: an intent (`reverse`, with the
//! journal and the last EBS step) is written and flushed before every EBS call, and a
//! restart reconciles it with EBS first ([`PostingEngine::reconcile_in_flight`]).
//!
//! Once EBS has imported it, the batch becomes `reversed` (audit `reversal`, naming both
//! revisions, which from then on no longer block a later revision) and its corrected
//! proposal can be approved and posted as the next revision:
//!
//! ```text
//! posted r1 ──reverse──▶ reversed (journal r2 mirrors r1) ──approve──▶ approved r3 ──▶ … imported r3
//! ```

use chrono::NaiveDate;
use serde_json::json;

use crate::ebs::EbsError;
use crate::ebs::context::Module;
use crate::ebs::gl::{GlBatch, GlStatus, NextStep, PostingRecord, PostingStep, line_key};
use crate::ledger::state::BatchState;
use crate::store::{
    AuditAction, BatchKey, BatchRecord, IntentAction, IntentDetails, PostingIntent, ReversalDetails,
};

use super::posting::{
    BatchOutcome, CrashPoint, PostingEngine, PostingError, PostingProgress, Progress, WaitMode,
};

/// What a reversal will do (shown for confirmation before anything is sent).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReversalPlan {
    pub key: BatchKey,
    /// The batch's state now (`imported` or `posted`).
    pub state: BatchState,
    /// The revision reversed.
    pub original_revision: u32,
    /// The reversing journal's own revision (REFERENCE24).
    pub reversal_revision: u32,
    /// The revision the corrected batch will be posted as.
    pub next_revision: u32,
    /// EBS journals of the original.
    pub original_journal_ids: Vec<i64>,
    /// The reversing journal.
    pub batch: GlBatch,
}

impl ReversalPlan {
    /// A few lines for a person to confirm.
    pub fn describe(&self) -> String {
        let (dr, cr) = self.batch.entered_totals();
        let mut out = format!(
            "Reverse batch {} ({}, revision {}; EBS journal(s) {:?})\n  with journal `{}` dated {} in period {}, revision {}: {} lines, Dr {dr} Cr {cr} {}\n",
            self.key,
            self.state,
            self.original_revision,
            self.original_journal_ids,
            self.batch.journal_name,
            self.batch.accounting_date,
            self.batch.period_name,
            self.reversal_revision,
            self.batch.lines.len(),
            self.batch.currency,
        );
        for l in &self.batch.lines {
            let amount =
                |d: Option<rust_decimal::Decimal>| d.map(|v| v.to_string()).unwrap_or_default();
            out.push_str(&format!(
                "    {:<24} Dr {:>14} Cr {:>14}  {}\n",
                l.account,
                amount(l.entered_dr),
                amount(l.entered_cr),
                l.description
            ));
        }
        out.push_str(&format!(
            "  then approve the corrected proposal to post it as revision {}.\n",
            self.next_revision
        ));
        out
    }
}

/// Mirrors `original` into its reversing journal dated `date` in `period`.
pub fn reversing_batch(
    original: &GlBatch,
    original_journal_ids: &[i64],
    period: &str,
    date: NaiveDate,
    reversed_before: &[u32],
) -> GlBatch {
    let key_period = original.key_period().to_string();
    let orev = original.revision;
    let rrev = orev + 1;
    let sid = &original.settlement_id;
    let lines = original
        .lines
        .iter()
        .map(|l| crate::ebs::gl::GlLine {
            account: l.account.clone(),
            entered_dr: l.entered_cr,
            entered_cr: l.entered_dr,
            accounted_dr: l.accounted_cr,
            accounted_cr: l.accounted_dr,
            description: format!("Reversal of r{orev}: {}", l.description),
            line_key: line_key(
                sid,
                &key_period,
                &l.account,
                &format!("reversal r{rrev} of {}", l.line_key),
            ),
        })
        .collect();
    let mut reversed: Vec<u32> = reversed_before.to_vec();
    reversed.push(orev);
    reversed.sort_unstable();
    reversed.dedup();
    GlBatch {
        settlement_id: sid.clone(),
        ledger_id: original.ledger_id.clone(),
        period_name: period.to_string(),
        original_period: original.original_period.clone(),
        accounting_date: date,
        currency: original.currency.clone(),
        je_source: original.je_source.clone(),
        je_category: original.je_category.clone(),
        batch_name: format!("{} REV", original.batch_name),
        batch_description: format!("Reversal of {}", original.batch_description),
        journal_name: format!("AMZ {sid} {key_period} r{rrev} reverses r{orev}"),
        journal_description: format!(
            "Reversal of journal `{}` (settlement {sid}, period {key_period}, revision {orev}, EBS journal(s) {original_journal_ids:?})",
            original.journal_name
        ),
        revision: rrev,
        reversed_revisions: reversed,
        reference_period: Some(key_period),
        conversion: original.conversion.clone(),
        lines,
    }
}

impl PostingEngine {
    /// What reversing `key` would send (nothing is written). `period` chooses the open
    /// period to date the reversal in; by default the first open period at or after the
    /// original's.
    pub async fn plan_reversal(
        &self,
        key: &BatchKey,
        period: Option<&str>,
    ) -> Result<ReversalPlan, PostingError> {
        let rec = self.load(key)?;
        let refuse = |detail: String| PostingError::Refused {
            key: key.clone(),
            detail,
        };
        if let Some(i) = self.stored_intent(key)? {
            return Err(refuse(format!(
                "a {:?} call to EBS is outstanding for it (revision {}); reconcile first",
                i.action, i.revision
            )));
        }
        if !matches!(rec.state, BatchState::Imported | BatchState::Posted) {
            return Err(refuse(format!(
                "it is {}; only an imported or posted batch is reversed (anything earlier is corrected by approving again)",
                rec.state
            )));
        }
        let original = match self.staged_batch(key, rec.revision)? {
            Some(b) => b,
            None => self.build_batch(key, rec.revision).await?,
        };
        let ebs = self.ebs(&original)?;
        let mut open = ebs.open_periods(&original.ledger_id).await?;
        open.sort_by_key(|p| p.start);
        let target = match period {
            Some(name) => open
                .iter()
                .find(|p| p.name.eq_ignore_ascii_case(name))
                .ok_or_else(|| {
                    refuse(format!(
                        "period {name} is not open in ledger {} (open: {})",
                        original.ledger_id,
                        open.iter()
                            .map(|p| p.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                })?,
            None => open
                .iter()
                .find(|p| p.end >= original.accounting_date)
                .ok_or_else(|| {
                    refuse(format!(
                        "no open period at or after {} in ledger {}; open one in EBS or name one with --period",
                        original.accounting_date, original.ledger_id
                    ))
                })?,
        };
        if target.end < original.accounting_date {
            return Err(refuse(format!(
                "period {} ends before the original's accounting date {}; a reversal is never dated earlier",
                target.name, original.accounting_date
            )));
        }
        let date = if (target.start..=target.end).contains(&original.accounting_date) {
            original.accounting_date
        } else {
            target.start
        };
        let before = self.reversed_revisions(key)?;
        let batch = reversing_batch(&original, &rec.journal_ids, &target.name, date, &before);
        Ok(ReversalPlan {
            key: key.clone(),
            state: rec.state,
            original_revision: rec.revision,
            reversal_revision: batch.revision,
            next_revision: batch.revision + 1,
            original_journal_ids: rec.journal_ids.clone(),
            batch,
        })
    }

    /// Sends the reversing journal of `plan` (exactly once) and, once EBS imported it,
    /// marks the batch `reversed`. With [`WaitMode::Once`] a still-running import leaves the
    /// intent in place; the next call (or reconciliation) finishes it.
    pub async fn reverse(
        &self,
        plan: &ReversalPlan,
        actor: &str,
        progress: Progress<'_>,
    ) -> Result<BatchOutcome, PostingError> {
        let rec = self.load(&plan.key)?;
        if let Some(i) = self.stored_intent(&plan.key)? {
            return Err(PostingError::Refused {
                key: plan.key.clone(),
                detail: format!(
                    "a {:?} call to EBS is outstanding for it (revision {}); reconcile first",
                    i.action, i.revision
                ),
            });
        }
        if rec.state != plan.state || rec.revision != plan.original_revision {
            return Err(PostingError::Refused {
                key: plan.key.clone(),
                detail: format!(
                    "it changed since the reversal was shown (now {} revision {}); show it again",
                    rec.state, rec.revision
                ),
            });
        }
        let intent = PostingIntent {
            batch: plan.key.clone(),
            revision: plan.reversal_revision,
            action: IntentAction::Reverse,
            group_id: None,
            source_key: reversal_source_key(&plan.batch),
            written_at: chrono::Utc::now(),
            details: IntentDetails {
                batch: Some(plan.batch.clone()),
                record: None,
                original_revision: Some(plan.original_revision),
                original_journal_ids: Some(plan.original_journal_ids.clone()),
                actor: Some(actor.to_string()),
                ..IntentDetails::default()
            },
        };
        self.store.record_intent(&intent)?;
        self.continue_reversal(rec, intent, progress).await
    }

    /// Continues a reversal from its intent: compares with EBS, then runs the remaining
    /// steps (called by [`Self::reverse`] and by reconciliation after a restart).
    pub(crate) async fn continue_reversal(
        &self,
        rec: BatchRecord,
        intent: PostingIntent,
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
        let batch: GlBatch =
            intent
                .details
                .batch
                .clone()
                .ok_or_else(|| PostingError::Unreadable {
                    record: "posting intent".into(),
                    key: key.clone(),
                    reason: "its reverse intent holds no journal".into(),
                })?;
        let last: Option<PostingRecord> = intent.details.record.clone();
        let actor = intent
            .details
            .actor
            .clone()
            .unwrap_or_else(|| self.actor.clone());
        let ebs = self.ebs(&batch)?.clone();
        say("reconcile", "comparing the reversal with EBS".into());
        let resume = ebs.gl_reconcile(&batch, last.as_ref()).await?;
        let mut pr = resume.record;
        let mut next = resume.next;
        let mut resubmits = 0u32;
        let record = |pr: &PostingRecord| -> Result<(), PostingError> {
            let mut i = intent.clone();
            i.group_id = pr.group_id.clone();
            i.written_at = chrono::Utc::now();
            i.details.record = Some(pr.clone());
            self.store.record_intent(&i)?;
            Ok(())
        };
        loop {
            match next {
                NextStep::Check => {
                    say("check", "accounts and period of the reversal".into());
                    pr = match ebs.gl_check(&batch).await {
                        Ok(r) => r,
                        Err(EbsError::Checks(f)) => {
                            self.store.clear_intent(&key)?;
                            return Err(PostingError::Refused {
                                key: key.clone(),
                                detail: format!(
                                    "the reversing journal cannot be staged: {}",
                                    EbsError::Checks(f)
                                ),
                            });
                        }
                        Err(e) => return Err(e.into()),
                    };
                    next = NextStep::Allocate;
                }
                NextStep::Allocate => {
                    record(&pr)?;
                    self.crash_at(&key, CrashPoint::BeforeAllocate)?;
                    pr = ebs.gl_allocate(&batch, &pr).await?;
                    self.crash_at(&key, CrashPoint::AfterAllocate)?;
                    next = NextStep::Stage;
                }
                NextStep::Stage => {
                    record(&pr)?;
                    self.crash_at(&key, CrashPoint::BeforeStage)?;
                    say(
                        "stage",
                        format!(
                            "reversal: {} lines, period {}",
                            batch.lines.len(),
                            batch.period_name
                        ),
                    );
                    pr = ebs.gl_stage(&batch, &pr).await?;
                    self.crash_at(&key, CrashPoint::AfterStage)?;
                    next = if pr.step == PostingStep::Completed {
                        NextStep::Confirm
                    } else {
                        NextStep::Submit
                    };
                }
                NextStep::Submit => {
                    resubmits += 1;
                    if resubmits > 2 {
                        return Err(PostingError::Refused {
                            key: key.clone(),
                            detail: "Journal Import keeps completing without importing the reversal; retried next run".into(),
                        });
                    }
                    record(&pr)?;
                    self.crash_at(&key, CrashPoint::BeforeSubmit)?;
                    say("submit", "Journal Import of the reversal".into());
                    pr = ebs.gl_submit(&batch, &pr).await?;
                    self.crash_at(&key, CrashPoint::AfterSubmit)?;
                    record(&pr)?;
                    next = NextStep::Await;
                }
                NextStep::Await => {
                    let id = pr.request_id.clone().unwrap_or_default();
                    say("await", format!("reversal request {id}"));
                    match self.wait {
                        WaitMode::Poll => pr = ebs.gl_await(&batch, &pr).await?,
                        WaitMode::Once => {
                            let st = ebs.request_status(Module::Gl, &id).await?;
                            if !st.is_complete() {
                                let mut o = outcome(&self.load(&key)?);
                                o.reason = Some(format!(
                                    "reversal waiting on Journal Import request {id} ({})",
                                    st.codes()
                                ));
                                return Ok(o);
                            }
                            pr.step = PostingStep::Completed;
                            pr.request = Some(st);
                        }
                    }
                    next = NextStep::Confirm;
                }
                NextStep::Confirm | NextStep::Done => {
                    if next == NextStep::Confirm || pr.outcome.is_none() {
                        say("confirm", "reading the reversal back".into());
                        if pr.step < PostingStep::Completed {
                            pr.step = PostingStep::Completed;
                        }
                        pr = ebs.gl_confirm(&batch, &pr).await?;
                        self.crash_at(&key, CrashPoint::AfterConfirm)?;
                    }
                    let Some(o) = pr.outcome.clone() else {
                        return Err(PostingError::Refused {
                            key: key.clone(),
                            detail: "EBS confirmed the reversal without an outcome".into(),
                        });
                    };
                    match o.status {
                        GlStatus::Imported => {
                            let ids: Vec<i64> = o
                                .journals
                                .iter()
                                .filter_map(|j| j.je_header_id.parse().ok())
                                .collect();
                            // Reread: a refresh may have moved imported → posted meanwhile.
                            let rec = self.load(&key)?;
                            let orev = intent
                                .details
                                .original_revision
                                .unwrap_or(batch.revision - 1);
                            let audit = crate::store::NewAuditEntry::new(
                                chrono::Utc::now(),
                                actor.clone(),
                                AuditAction::Reversal,
                            )
                            .settlement(key.settlement_id.clone())
                            .period(key.period.clone())
                            .details(json!(ReversalDetails {
                                v: 1,
                                revision: orev,
                                reversal_revision: Some(batch.revision),
                                original_journal_ids: intent.details.original_journal_ids.clone(),
                                journal_ids: ids.clone(),
                                period_name: Some(batch.period_name.clone()),
                                accounting_date: Some(batch.accounting_date),
                                group_id: Some(o.group_id.clone()),
                                request_id: pr.request_id.clone(),
                                batch: Some(batch.clone()),
                            }));
                            let after = self.transition(&rec, audit, |r| {
                                r.state = BatchState::Reversed;
                                r.revision = batch.revision;
                                r.group_id = Some(o.group_id.clone());
                                r.request_id = pr.request_id.as_deref().and_then(|s| s.parse().ok());
                                r.journal_ids = ids.clone();
                                r.line_outcomes.clear();
                                r.approval = None;
                                r.reason = Some(format!(
                                    "revision {orev} reversed by journal(s) {ids:?} in {}; approve the corrected proposal to post revision {}",
                                    batch.period_name,
                                    batch.revision + 1
                                ));
                            })?;
                            say("reversed", after.reason.clone().unwrap_or_default());
                            return Ok(outcome(&after));
                        }
                        GlStatus::NotImported => {
                            pr.step = PostingStep::Staged;
                            pr.interface_run_id = None;
                            pr.request = None;
                            pr.outcome = None;
                            next = NextStep::Submit;
                        }
                        GlStatus::Rejected => {
                            // Its rejected rows go, so a later attempt starts clean; the batch
                            // keeps its state and the codes are in the audit trail.
                            let codes: Vec<String> = o
                                .rejected()
                                .map(|l| match &l.result {
                                    crate::ebs::gl::LineResult::Rejected { code, description } => {
                                        format!(
                                            "line {} account {} {code} ({description})",
                                            l.line, l.account
                                        )
                                    }
                                    _ => String::new(),
                                })
                                .collect();
                            ebs.delete_rows(
                                Module::Gl,
                                "GL_INTERFACE",
                                &[("GROUP_ID", o.group_id.clone())],
                            )
                            .await?;
                            let rec = self.load(&key)?;
                            self.store.append_audit(
                                self.audit(AuditAction::Outcome, &rec).details(json!({
                                    "reversal_revision": batch.revision,
                                    "status": "reversal rejected",
                                    "group_id": o.group_id,
                                    "lines": codes,
                                })),
                            )?;
                            self.store.clear_intent(&key)?;
                            return Err(PostingError::Refused {
                                key: key.clone(),
                                detail: format!(
                                    "Journal Import rejected the reversing journal: {}; the batch stays {}; fix the cause and reverse again",
                                    codes.join("; "),
                                    rec.state
                                ),
                            });
                        }
                        GlStatus::Inconsistent => {
                            return Err(PostingError::Refused {
                                key: key.clone(),
                                detail: format!(
                                    "Journal Import did not take the reversal (group {}, {:?}); the batch stays {}; see the interface rows in EBS",
                                    o.group_id, o.status, rec.state
                                ),
                            });
                        }
                    }
                }
                NextStep::Vanished => {
                    return Err(PostingError::Refused {
                        key: key.clone(),
                        detail:
                            "the reversing journal was imported and has since been deleted in EBS"
                                .into(),
                    });
                }
            }
        }
    }
}

/// `settlement/period/rREV` of a reversing journal (its batch's period, its own revision).
fn reversal_source_key(b: &GlBatch) -> String {
    format!("{}/{}/r{}", b.settlement_id, b.key_period(), b.revision)
}

fn outcome(rec: &BatchRecord) -> BatchOutcome {
    BatchOutcome {
        key: rec.key(),
        state: rec.state,
        revision: rec.revision,
        reason: rec.reason.clone(),
        error: None,
        failure: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::Decimal;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn every_line_is_mirrored_and_points_at_the_original() {
        let line = |acc: &str, dr: Option<&str>, cr: Option<&str>| crate::ebs::gl::GlLine {
            account: acc.into(),
            entered_dr: dr.map(d),
            entered_cr: cr.map(d),
            accounted_dr: None,
            accounted_cr: None,
            description: "x".into(),
            line_key: line_key("S", "OCT-26", acc, "x"),
        };
        let original = GlBatch {
            settlement_id: "S".into(),
            ledger_id: "1".into(),
            period_name: "OCT-26".into(),
            original_period: None,
            accounting_date: NaiveDate::from_ymd_opt(2026, 10, 8).unwrap(),
            currency: "USD".into(),
            je_source: "Amazon".into(),
            je_category: "Amazon Settlement".into(),
            batch_name: "AMZ S".into(),
            batch_description: "d".into(),
            journal_name: "AMZ S OCT-26 r1".into(),
            journal_description: "d".into(),
            revision: 1,
            reversed_revisions: vec![],
            reference_period: None,
            conversion: None,
            lines: vec![line("A", Some("90"), None), line("B", None, Some("90"))],
        };
        let r = reversing_batch(
            &original,
            &[5001],
            "NOV-26",
            NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
            &[],
        );
        assert_eq!(r.revision, 2);
        assert_eq!(r.reversed_revisions, [1]);
        assert_eq!(r.key_period(), "OCT-26");
        assert_eq!(r.period_name, "NOV-26");
        assert_eq!(r.lines[0].entered_cr, Some(d("90")));
        assert_eq!(r.lines[0].entered_dr, None);
        assert_eq!(r.lines[1].entered_dr, Some(d("90")));
        assert!(r.journal_description.contains("AMZ S OCT-26 r1"));
        assert!(
            r.lines
                .iter()
                .all(|l| original.lines.iter().all(|o| o.line_key != l.line_key))
        );
        assert!(r.shape_failures().is_empty());
    }
}
