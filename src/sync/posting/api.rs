//! The API the sync runner, the TUI and headless call: errors as [`SyncError`], progress as
//! [`SyncMsg`] on a [`ProgressSink`].

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::store::BatchKey;
use crate::sync::context::SyncContext;
use crate::sync::convert::{ConvertError, LedgerRoute};
use crate::sync::messages::{ProgressSink, SyncError, SyncMsg};

use super::{BatchOutcome, PostingEngine, PostingError, PostingProgress, WaitMode};

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
                    ConvertError::BadLine { settlement_id, .. }
                    | ConvertError::NoRoundingAccount { settlement_id, .. }
                    | ConvertError::Fx { settlement_id, .. }
                    | ConvertError::Apply { settlement_id, .. } => settlement_id.clone(),
                };
                SyncError::ledger(sid, c)
            }
            PostingError::NoBatch(ref k)
            | PostingError::NoProposal(ref k)
            | PostingError::Refused { key: ref k, .. }
            | PostingError::Unreadable { key: ref k, .. } => {
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
    /// Routes and per-ledger EBS clients of a wired sync context. The ledgers' currencies
    /// are read from EBS (`get_ledger`, once per run, through the context's ledger book).
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
            book: ctx.ledgers.clone(),
            order_override: None,
        }
    }

    /// Every batch in flight (staged, submitted, or with an outstanding intent) compared
    /// with EBS and continued. Run it before anything else after a start.
    pub async fn reconcile_in_flight(
        &self,
        progress: &ProgressSink,
    ) -> Result<crate::sync::reconcile::ReconcileSummary, SyncError> {
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
