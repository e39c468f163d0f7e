//! Exactly-once posting of approved journal batches into EBS (issue 8).
//!
//! One batch (settlement × period) walks
//! `approved → staged (GROUP_ID, lines, totals) → submitted (request id) → imported (journal
//! ids) → posted`, or ends `rejected` with per-line EBS codes. The rules that make a kill at
//! any instant harmless:
//!
//! - Before every EBS write (deleting old rejected rows, drawing a group, inserting rows,
//!   submitting the import) a [`PostingIntent`] naming the batch, revision, group and the
//!   exact [`GlBatch`] is written and flushed; after the call the store transition (one
//!   transaction with its audit entry) clears it.
//! - Every batch is first compared with EBS ([`EbsClient::gl_reconcile`]: interface rows and
//!   journals carrying its `REFERENCE21/22/24`, the request status) and only then continued
//!   from where EBS and the store say; rows found staged are submitted, journals found are
//!   confirmed, nothing is staged twice.
//! - The staged [`GlBatch`] is kept in the `staging` audit entry, so a restart rebuilds the very
//!   batch it staged even if configuration moved meanwhile.
//!
//! Choices: a batch whose accounts or period fail the pre-staging checks stays `approved`
//! with the reason recorded (blocked; the next run checks again) — the state machine has no
//! way back to `proposed` that keeps the approval, and the approval is still valid. An
//! approval lapses (back to `proposed`) only when the proposal it approved changed. A rejected
//! (or vanished) batch approved again is posted as the next revision; the rejected interface
//! rows of earlier revisions are deleted before the new revision is staged. The batches of one
//! settlement go in period order (by accounting date), each on its own (a blocked or rejected
//! period does not hold back the next); settlements run in parallel up to the EBS client's
//! concurrency limit; a cancelled engine stops between batches. What a person must fix
//! (routing, FX, a bad proposal) is recorded as the batch's reason; EBS trouble is reported and
//! retried next run. Revisions reversed in EBS (audit `reversal` entries: the reversed revision
//! and the reversing journal's) do not block a later revision; a batch with an outstanding
//! `reverse` intent is finished by [`super::reversal`] before anything else.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use serde_json::{Value, json};

use crate::ebs::context::Module;
use crate::ebs::gl::{GlOutcome, GlStatus, LineResult, NextStep, PostingRecord, PostingStep};
use crate::ebs::{EbsClient, EbsError, GlBatch};
use crate::ledger::state::BatchState;
use crate::store::{
    Approval, AuditAction, BatchKey, BatchRecord, IntentAction, LineOutcome, NewAuditEntry,
    PostingIntent, Store, StoreError, Totals,
};

use super::context::SyncContext;
use super::convert::{self, ConvertError, FxInputs, LedgerRoute};
use super::messages::{ProgressSink, SyncError, SyncMsg};

/// Where a simulated crash may happen (tests): just before an EBS write (its intent is
/// recorded) or just after it (before the store transition).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CrashPoint {
    BeforeDeleteRejected,
    AfterDeleteRejected,
    BeforeAllocate,
    AfterAllocate,
    BeforeStage,
    AfterStage,
    BeforeSubmit,
    AfterSubmit,
    AfterConfirm,
}

/// Test hook: return `true` to abort the engine at that point as if the process died.
pub type CrashHook = Arc<dyn Fn(&BatchKey, CrashPoint) -> bool + Send + Sync>;

/// How a submitted import is followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitMode {
    /// Poll the request to completion (the EBS client's poll policy).
    Poll,
    /// Look once; a request still running leaves the batch `submitted` for a later run.
    Once,
}

/// Why posting failed (beyond what is recorded on the batch).
#[derive(Debug, thiserror::Error)]
pub enum PostingError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Ebs(#[from] EbsError),
    #[error(transparent)]
    Convert(#[from] ConvertError),
    #[error("batch {0} does not exist in the store (propose its settlement first)")]
    NoBatch(BatchKey),
    #[error("batch {0} has no proposal (propose its settlement first)")]
    NoProposal(BatchKey),
    #[error("settlement {0} is not in the store")]
    NoSettlement(String),
    #[error(
        "settlement {settlement_id}: marketplace {marketplace} has no [[routing]] entry; add one to config.toml"
    )]
    NoRoute {
        settlement_id: String,
        marketplace: String,
    },
    #[error("no EBS connection for ledger {0}: configure [ebs] and store EBS credentials")]
    NoLedgerClient(String),
    #[error("batch {key}: {detail}")]
    Refused { key: BatchKey, detail: String },
    #[error(transparent)]
    NotAllowed(#[from] super::controls::Refusal),
    #[error("aborted at {point:?} of batch {key} (test crash hook)")]
    Aborted { key: BatchKey, point: CrashPoint },
}

/// What one batch came to in this run.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BatchOutcome {
    pub key: BatchKey,
    pub state: BatchState,
    pub revision: u32,
    /// Why it waits, was blocked or rejected (as recorded on the batch).
    pub reason: Option<String>,
    /// An error that stopped this batch in this run (EBS unreachable, …); retried next run.
    pub error: Option<String>,
}

impl BatchOutcome {
    fn of(rec: &BatchRecord) -> Self {
        BatchOutcome {
            key: rec.key(),
            state: rec.state,
            revision: rec.revision,
            reason: rec.reason.clone(),
            error: None,
        }
    }
}

/// Progress of one batch as the engine works (for the UI and headless logs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostingProgress {
    pub key: BatchKey,
    pub step: &'static str,
    pub detail: String,
}

/// Posts approved batches into EBS exactly once. Cheap to clone.
#[derive(Clone)]
pub struct PostingEngine {
    pub(crate) store: Arc<Store>,
    /// EBS client per ledger id (the GL context names the ledger).
    clients: Arc<BTreeMap<String, Arc<EbsClient>>>,
    routes: Arc<Vec<LedgerRoute>>,
    pub(crate) actor: String,
    pub(crate) wait: WaitMode,
    crash: Option<CrashHook>,
    cancel: Option<tokio_util::sync::CancellationToken>,
    /// Batches some task of this engine (or a clone) is working on: one at a time.
    busy: Arc<std::sync::Mutex<std::collections::HashSet<BatchKey>>>,
    /// `[controls] distinct_approver`: maker-checker on approvals (see [`super::controls`]).
    pub(crate) distinct_approver: bool,
}

/// Releases a batch claimed in [`PostingEngine::post_one`].
struct Claim<'a> {
    busy: &'a std::sync::Mutex<std::collections::HashSet<BatchKey>>,
    key: BatchKey,
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        if let Ok(mut b) = self.busy.lock() {
            b.remove(&self.key);
        }
    }
}

impl std::fmt::Debug for PostingEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostingEngine")
            .field("actor", &self.actor)
            .field("routes", &self.routes.len())
            .field("wait", &self.wait)
            .finish()
    }
}

pub type Progress<'a> = &'a (dyn Fn(PostingProgress) + Send + Sync);

fn now() -> DateTime<Utc> {
    Utc::now()
}

impl PostingEngine {
    /// One EBS client for every routed ledger; `actor` signs every audit entry of the
    /// engine's own steps (`headless`, a user name).
    pub fn new(
        store: Arc<Store>,
        ebs: Arc<EbsClient>,
        routes: Vec<LedgerRoute>,
        actor: impl Into<String>,
    ) -> Self {
        let clients = routes
            .iter()
            .map(|r| (r.ledger_id.clone(), ebs.clone()))
            .collect();
        PostingEngine {
            store,
            clients: Arc::new(clients),
            routes: Arc::new(routes),
            actor: actor.into(),
            wait: WaitMode::Poll,
            crash: None,
            cancel: None,
            busy: Arc::default(),
            distinct_approver: false,
        }
    }

    /// Uses `client` for the journals of `ledger_id` (one GL context per ledger).
    pub fn with_ledger_client(mut self, ledger_id: &str, client: Arc<EbsClient>) -> Self {
        Arc::make_mut(&mut self.clients).insert(ledger_id.to_string(), client);
        self
    }

    /// The EBS client of a batch's ledger.
    pub(crate) fn ebs(&self, batch: &GlBatch) -> Result<&Arc<EbsClient>, PostingError> {
        self.clients
            .get(&batch.ledger_id)
            .ok_or_else(|| PostingError::NoLedgerClient(batch.ledger_id.clone()))
    }

    /// Stops posting between batches once `cancel` fires (SIGINT/SIGTERM, UI quit).
    pub fn with_cancel(mut self, cancel: tokio_util::sync::CancellationToken) -> Self {
        self.cancel = Some(cancel);
        self
    }

    pub fn with_wait(mut self, wait: WaitMode) -> Self {
        self.wait = wait;
        self
    }

    /// Test hook simulating a kill at a step boundary.
    #[doc(hidden)]
    pub fn with_crash_hook(mut self, hook: CrashHook) -> Self {
        self.crash = Some(hook);
        self
    }

    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    pub(crate) fn crash_at(&self, key: &BatchKey, point: CrashPoint) -> Result<(), PostingError> {
        match &self.crash {
            Some(h) if h(key, point) => Err(PostingError::Aborted {
                key: key.clone(),
                point,
            }),
            _ => Ok(()),
        }
    }

    pub(crate) fn audit(&self, action: AuditAction, rec: &BatchRecord) -> NewAuditEntry {
        NewAuditEntry::new(now(), self.actor.clone(), action)
            .settlement(rec.settlement_id.clone())
            .period(rec.period.clone())
    }

    /// Stores `before` changed by `f` as one audited transition.
    pub(crate) fn transition(
        &self,
        before: &BatchRecord,
        audit: NewAuditEntry,
        f: impl FnOnce(&mut BatchRecord),
    ) -> Result<BatchRecord, PostingError> {
        let mut after = before.clone();
        f(&mut after);
        after.updated_at = audit.time;
        self.store.transition(before, &after, Some(audit))?;
        Ok(after)
    }

    pub(crate) fn load(&self, key: &BatchKey) -> Result<BatchRecord, PostingError> {
        self.store
            .batch(key)?
            .ok_or_else(|| PostingError::NoBatch(key.clone()))
    }

    // ------------------------------------------------------------ approvals

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
                .store
                .proposal(key)?
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
                super::controls::check_maker_checker(&self.store, key, &proposal, actor)?;
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
            if self.store.intent(key)?.is_some() {
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

    // ------------------------------------------------------------ building batches

    /// The GL batch of `key` at `revision`, from its current proposal (the settlement's
    /// journals are converted together for FX).
    pub(crate) fn build_batch(
        &self,
        key: &BatchKey,
        revision: u32,
    ) -> Result<GlBatch, PostingError> {
        let settlement = self
            .store
            .settlement(&key.settlement_id)?
            .ok_or_else(|| PostingError::NoSettlement(key.settlement_id.clone()))?;
        let route = self
            .routes
            .iter()
            .find(|r| r.marketplace_id == settlement.marketplace_id)
            .ok_or_else(|| PostingError::NoRoute {
                settlement_id: key.settlement_id.clone(),
                marketplace: settlement.marketplace_id.clone(),
            })?;
        let mut journals = Vec::new();
        let foreign = route
            .ledger_currency
            .as_deref()
            .is_some_and(|c| !c.eq_ignore_ascii_case(settlement.summary.currency.code()));
        let proposals: Vec<_> = if foreign {
            self.store
                .proposals()?
                .into_iter()
                .filter(|p| p.batch.settlement_id == key.settlement_id)
                .collect()
        } else {
            vec![
                self.store
                    .proposal(key)?
                    .ok_or_else(|| PostingError::NoProposal(key.clone()))?,
            ]
        };
        for p in &proposals {
            let rev = if &p.batch == key {
                revision
            } else {
                self.store.batch(&p.batch)?.map_or(1, |b| b.revision)
            };
            journals.push((
                convert::journal_of(&p.batch.settlement_id, &p.batch.period, &p.lines)?,
                rev,
            ));
        }
        let fx = if foreign {
            FxInputs {
                event_group: match &settlement.event_group_id {
                    Some(g) => self
                        .store
                        .event_group(g)?
                        .and_then(|e| convert::event_group_totals(&e.data)),
                    None => None,
                },
                corporate_rate: None,
            }
        } else {
            FxInputs::default()
        };
        let batches = convert::gl_batches(&settlement.summary, &journals, route, &fx)?;
        let mut batch = batches
            .into_iter()
            .zip(&proposals)
            .find(|(_, p)| &p.batch == key)
            .map(|(b, _)| b)
            .ok_or_else(|| PostingError::NoProposal(key.clone()))?;
        batch.reversed_revisions = self.reversed_revisions(key)?;
        Ok(batch)
    }

    /// Revisions of the batch reversed in EBS (audit `reversal` entries naming
    /// `details.revision`): they no longer block a later revision.
    pub(crate) fn reversed_revisions(&self, key: &BatchKey) -> Result<Vec<u32>, PostingError> {
        let mut out: Vec<u32> = self
            .store
            .audit_entries(Some(&key.settlement_id))?
            .iter()
            .filter(|e| {
                e.action == AuditAction::Reversal && e.period.as_deref() == Some(&key.period)
            })
            // The reversed revision and the reversing journal's own revision.
            .flat_map(|e| {
                ["revision", "reversal_revision"]
                    .into_iter()
                    .filter_map(|k| e.details.get(k).and_then(Value::as_u64))
                    .collect::<Vec<_>>()
            })
            .filter_map(|r| u32::try_from(r).ok())
            .collect();
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }

    /// The batch staged for this revision, as recorded in its `staging` audit entry.
    pub(crate) fn staged_batch(
        &self,
        key: &BatchKey,
        revision: u32,
    ) -> Result<Option<GlBatch>, PostingError> {
        let entries = self.store.audit_entries(Some(&key.settlement_id))?;
        Ok(entries
            .iter()
            .rev()
            .filter(|e| {
                e.action == AuditAction::Staging && e.period.as_deref() == Some(&key.period)
            })
            .filter(|e| {
                e.details.get("revision").and_then(Value::as_u64) == Some(u64::from(revision))
            })
            .find_map(|e| serde_json::from_value(e.details.get("batch")?.clone()).ok()))
    }

    /// The batch to reconcile and continue: the one named by an outstanding intent, else the
    /// staged one, else a fresh build from the proposal.
    pub(crate) fn batch_for(
        &self,
        rec: &BatchRecord,
        intent: Option<&PostingIntent>,
    ) -> Result<GlBatch, PostingError> {
        let key = rec.key();
        if let Some(b) = intent
            .filter(|i| i.revision == rec.revision)
            .and_then(|i| i.details.get("batch"))
            .and_then(|b| serde_json::from_value::<GlBatch>(b.clone()).ok())
        {
            return Ok(b);
        }
        if rec.state != BatchState::Approved
            && let Some(b) = self.staged_batch(&key, rec.revision)?
        {
            return Ok(b);
        }
        self.build_batch(&key, rec.revision)
    }

    // ------------------------------------------------------------ posting

    /// Posts the batches (approved ones; in-flight ones are reconciled and continued).
    pub async fn post_keys(
        &self,
        keys: &[BatchKey],
        progress: Progress<'_>,
    ) -> Result<Vec<BatchOutcome>, PostingError> {
        // Settlement → its batches in period (accounting date) order.
        let mut groups: BTreeMap<String, Vec<(chrono::NaiveDate, BatchKey)>> = BTreeMap::new();
        let unique: std::collections::BTreeSet<&BatchKey> = keys.iter().collect();
        for key in unique {
            let date = self
                .store
                .proposal(key)?
                .and_then(|p| convert::journal_of(&key.settlement_id, &key.period, &p.lines).ok())
                .map(|j| j.accounting_date)
                .unwrap_or(chrono::NaiveDate::MIN);
            groups
                .entry(key.settlement_id.clone())
                .or_default()
                .push((date, key.clone()));
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
        out.sort_by(|a, b| a.key.cmp(&b.key));
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
                // What a person must fix (routing, FX, a bad proposal) is recorded on the
                // batch; EBS trouble is only reported (the next run retries).
                let rec = if matches!(e, PostingError::Ebs(_)) {
                    rec
                } else {
                    let why = format!("cannot post: {e}");
                    let mut after = rec.clone();
                    if rec.reason.as_deref() != Some(why.as_str()) {
                        after.reason = Some(why.clone());
                        after.updated_at = now();
                        self.store.transition(
                            &rec,
                            &after,
                            Some(
                                self.audit(AuditAction::Outcome, &rec)
                                    .details(json!({"waiting": why})),
                            ),
                        )?;
                    }
                    after
                };
                let mut o = BatchOutcome::of(&rec);
                o.error = Some(e.to_string());
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
        if let Some(i) = self.store.intent(key)?
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
        let intent = self.store.intent(key)?;
        let batch = self.batch_for(&rec, intent.as_ref())?;
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
            .store
            .proposal(key)?
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
        let batch = self.build_batch(key, rec.revision)?;
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
        self.continue_from(rec, batch, pr, NextStep::Allocate, progress)
            .await
    }

    /// Records why the batch waits (same state), when it changed.
    fn hold(&self, rec: &BatchRecord, why: String) -> Result<BatchOutcome, PostingError> {
        self.hold_with(rec, why, true)
    }

    /// Like [`Self::hold`]; `audited = false` for routine waits (a request still running).
    fn hold_with(
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
            details: json!({"groups": groups}),
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

    fn intent(
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
            details: json!({"batch": batch, "record": pr}),
        })?;
        Ok(())
    }

    /// Moves the store along the legal chain up to `target` (after EBS showed the batch
    /// further along than the store knew, e.g. after a crash).
    fn catch_up(
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

    fn staged(
        &self,
        rec: &BatchRecord,
        batch: &GlBatch,
        pr: &PostingRecord,
    ) -> Result<BatchRecord, PostingError> {
        let (debit, credit) = batch.entered_totals();
        self.transition(
            rec,
            self.audit(AuditAction::Staging, rec).details(json!({
                "revision": rec.revision,
                "group_id": pr.group_id,
                "lines": batch.lines.len(),
                "discarded_groups": pr.discarded_groups,
                "batch": batch,
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

    fn submitted(
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

    fn imported(
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

    fn rejected(
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
fn source_key(b: &GlBatch) -> String {
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

fn summarize_lines(o: &GlOutcome) -> String {
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
            .and_then(|i| i.details.get("record"))
            .and_then(|r| serde_json::from_value::<PostingRecord>(r.clone()).ok())
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

impl From<PostingError> for SyncError {
    fn from(e: PostingError) -> Self {
        match e {
            PostingError::Store(e) => SyncError::Store(e),
            PostingError::Ebs(e) => SyncError::Ebs(e),
            PostingError::NoRoute { .. } | PostingError::NoLedgerClient(_) => {
                SyncError::Setup(e.to_string())
            }
            PostingError::Convert(ref c) => {
                let sid = match c {
                    ConvertError::BadProposal { settlement_id, .. }
                    | ConvertError::BadLine { settlement_id, .. }
                    | ConvertError::NoRoundingAccount { settlement_id, .. }
                    | ConvertError::Fx { settlement_id, .. }
                    | ConvertError::Apply { settlement_id, .. } => settlement_id.clone(),
                };
                SyncError::ledger(sid, c)
            }
            PostingError::NoBatch(ref k)
            | PostingError::NoProposal(ref k)
            | PostingError::Refused { key: ref k, .. } => {
                SyncError::ledger(k.settlement_id.clone(), &e)
            }
            PostingError::NoSettlement(ref s) => SyncError::ledger(s.clone(), &e),
            PostingError::NotAllowed(ref r) => SyncError::ledger(r.batch.settlement_id.clone(), &e),
            // Only the test hook aborts: like a stop at that instant.
            PostingError::Aborted { .. } => SyncError::Cancelled,
        }
    }
}

fn sink_progress(sink: &ProgressSink) -> impl Fn(PostingProgress) + Send + Sync + '_ {
    move |p: PostingProgress| {
        sink.send(SyncMsg::Progress {
            scope: "ebs".into(),
            what: format!("posting: {}", p.step),
            done: 0,
            total: None,
            detail: Some(format!("{}: {}", p.key, p.detail)),
        })
    }
}

fn report(sink: &ProgressSink, outcomes: &[BatchOutcome]) {
    for o in outcomes {
        sink.batch(
            &o.key,
            o.state,
            o.error.clone().or_else(|| o.reason.clone()),
        );
    }
}

/// The API the sync runner, the TUI and headless use (errors as [`SyncError`], progress as
/// [`SyncMsg`]: `Progress` per step, `Batch` per batch at the end of each call).
impl PostingEngine {
    /// Routes and per-ledger EBS clients of a wired sync context.
    pub fn from_context(ctx: &SyncContext) -> PostingEngine {
        let routes = ctx
            .config
            .routing
            .iter()
            .map(|r| LedgerRoute::from_config(r, ctx.config.ebs.as_ref(), None))
            .collect();
        PostingEngine {
            store: ctx.store.clone(),
            clients: Arc::new(
                ctx.ebs
                    .iter()
                    .map(|(id, c)| (id.to_string(), c.clone()))
                    .collect(),
            ),
            routes: Arc::new(routes),
            actor: ctx.actor.clone(),
            wait: WaitMode::Poll,
            crash: None,
            cancel: None,
            busy: Arc::default(),
            distinct_approver: ctx.config.controls.distinct_approver,
        }
    }

    /// Every batch in flight (staged, submitted, or with an outstanding intent) compared
    /// with EBS and continued. Run it before anything else after a start.
    pub async fn reconcile_in_flight(
        &self,
        progress: &ProgressSink,
    ) -> Result<super::reconcile::ReconcileSummary, SyncError> {
        let f = sink_progress(progress);
        let summary = self.reconcile_batches(&f).await?;
        report(progress, &summary.outcomes);
        Ok(summary)
    }

    /// Posts approved batches (in-flight ones are reconciled and continued), batches of one
    /// settlement in period order, settlements in parallel up to the EBS client's limit.
    pub async fn post_batches(
        &self,
        keys: &[BatchKey],
        progress: &ProgressSink,
    ) -> Result<Vec<BatchOutcome>, SyncError> {
        let f = sink_progress(progress);
        let out = self.post_keys(keys, &f).await?;
        report(progress, &out);
        Ok(out)
    }

    /// Approves the current proposals (see [`PostingEngine::approve_batches`]).
    #[allow(clippy::result_large_err)] // SyncError's size is the sync layer's choice
    pub fn approve(
        &self,
        keys: &[BatchKey],
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<(), SyncError> {
        Ok(self.approve_batches(keys, actor, now)?)
    }

    /// Withdraws approvals before staging (see [`PostingEngine::unapprove_batches`]).
    #[allow(clippy::result_large_err)] // SyncError's size is the sync layer's choice
    pub fn unapprove(
        &self,
        keys: &[BatchKey],
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<(), SyncError> {
        Ok(self.unapprove_batches(keys, actor, now)?)
    }

    /// Imported batches: posted in EBS → `posted`, deleted → `vanished`.
    pub async fn refresh_posted(
        &self,
        progress: &ProgressSink,
    ) -> Result<Vec<BatchOutcome>, SyncError> {
        let f = sink_progress(progress);
        let out = self.refresh_imported(&f).await?;
        report(progress, &out);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(state: BatchState) -> BatchRecord {
        let mut r = BatchRecord::new(&BatchKey::new("1", "OCT-26"), state, Utc::now());
        r.revision = 2;
        r.group_id = Some("5001".into());
        r.request_id = Some(7000001);
        r.line_count = Some(3);
        r
    }

    #[test]
    fn store_states_become_posting_records_for_reconciliation() {
        assert_eq!(posting_record(&rec(BatchState::Approved), None), None);
        let staged = posting_record(&rec(BatchState::Staged), None).expect("staged");
        assert_eq!(staged.step, PostingStep::Staged);
        assert_eq!(staged.group_id.as_deref(), Some("5001"));
        assert_eq!(staged.request_id, None);
        assert_eq!(staged.rows_staged, 3);
        assert_eq!(staged.revision, 2);
        let sub = posting_record(&rec(BatchState::Submitted), None).expect("submitted");
        assert_eq!(sub.step, PostingStep::Submitted);
        assert_eq!(sub.request_id.as_deref(), Some("7000001"));
        assert_eq!(posting_record(&rec(BatchState::Imported), None), None);
    }

    #[test]
    fn an_allocation_intent_resumes_with_its_group() {
        let r = rec(BatchState::Approved);
        let pr = PostingRecord {
            settlement_id: "1".into(),
            period_name: "OCT-26".into(),
            revision: 2,
            step: PostingStep::GroupAllocated,
            group_id: Some("5002".into()),
            interface_run_id: Some("9".into()),
            request_id: None,
            rows_staged: 0,
            request: None,
            outcome: None,
            discarded_groups: vec![],
        };
        let mut intent = PostingIntent {
            batch: r.key(),
            revision: 2,
            action: IntentAction::Stage,
            group_id: Some("5002".into()),
            source_key: "1/OCT-26/r2".into(),
            written_at: Utc::now(),
            details: json!({"record": pr}),
        };
        assert_eq!(posting_record(&r, Some(&intent)), Some(pr.clone()));
        // An intent of an older revision says nothing about this one.
        intent.revision = 1;
        assert_eq!(posting_record(&r, Some(&intent)), None);
    }

    #[test]
    fn errors_map_onto_the_sync_vocabulary() {
        let k = BatchKey::new("1", "OCT-26");
        let e: SyncError = PostingError::Refused {
            key: k.clone(),
            detail: "no".into(),
        }
        .into();
        assert!(matches!(e, SyncError::Ledger { ref settlement_id, .. } if settlement_id == "1"));
        let e: SyncError = PostingError::NoLedgerClient("3".into()).into();
        assert!(e.is_configuration());
        let e: SyncError = PostingError::Aborted {
            key: k,
            point: CrashPoint::AfterStage,
        }
        .into();
        assert!(matches!(e, SyncError::Cancelled));
    }

    #[test]
    fn reversal_entries_list_the_reversed_revisions() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Arc::new(Store::open(dir.path(), "test").expect("store"));
        let client = EbsClient::new(crate::ebs::EbsConfig::new(
            "http://127.0.0.1:1",
            crate::ebs::Credentials {
                user: "U".into(),
                password: secrecy::SecretString::from("p".to_string()),
            },
            crate::ebs::Contexts::vision("1000", "1", "204"),
        ))
        .expect("client");
        let engine = PostingEngine::new(store.clone(), Arc::new(client), vec![], "t");
        let key = BatchKey::new("1", "OCT-26");
        let entry = |period: &str, rev: u32| {
            NewAuditEntry::new(Utc::now(), "t", AuditAction::Reversal)
                .settlement("1")
                .period(period)
                .details(json!({"revision": rev}))
        };
        assert!(engine.reversed_revisions(&key).unwrap().is_empty());
        store.append_audit(entry("OCT-26", 2)).unwrap();
        store.append_audit(entry("OCT-26", 1)).unwrap();
        store.append_audit(entry("NOV-26", 3)).unwrap();
        assert_eq!(engine.reversed_revisions(&key).unwrap(), [1, 2]);
    }
}
