//! Exactly-once posting of approved journal batches into EBS (issue 8).
//!
//! One batch (settlement × period) walks
//! `approved → staged (GROUP_ID, lines, totals) → submitted (request id) → imported (journal
//! ids) → posted`, or ends `rejected` with per-line EBS codes. The rules that make a kill at
//! any instant harmless:
//!
//! - Before every EBS write (deleting old rejected rows, drawing a group, inserting rows,
//!   submitting the import) a [`PostingIntent`](crate::store::PostingIntent) naming the
//!   batch, revision, group and the exact [`GlBatch`] is written and flushed; after the call
//!   the store transition (one transaction with its audit entry) clears it.
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
//! period does not hold back the next); the settlements of one seller and marketplace go in
//! settlement order, a later one waiting until the previous one is in EBS ([`order`]); chains
//! run in parallel up to the EBS client's concurrency limit; a cancelled engine stops between batches. What a person must fix
//! (routing, FX, a bad proposal) is recorded as the batch's reason; EBS trouble is reported and
//! retried next run. Revisions reversed in EBS (audit `reversal` entries: the reversed revision
//! and the reversing journal's) do not block a later revision; a batch with an outstanding
//! `reverse` intent is finished by [`super::reversal`] before anything else.

mod api;
mod approve;
mod build;
mod drive;
mod order;
#[cfg(test)]
mod tests;
mod transitions;

pub use order::{WAITING_FOR_PREVIOUS, order_settled};
pub(crate) use transitions::posting_record;

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::ebs::{EbsClient, EbsError, GlBatch};
use crate::ledger::state::BatchState;
use crate::store::{AuditAction, BatchKey, BatchRecord, NewAuditEntry, Store, StoreError};

use super::convert::{ConvertError, LedgerRoute};
use super::messages::RunError;

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
    /// A stored record recovery needs does not read as its type: the batch stops as it is.
    #[error("stored {record} for {key} is unreadable: {reason}; run `ml-connector store verify`")]
    Unreadable {
        record: String,
        key: BatchKey,
        reason: String,
    },
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
    /// The same, structured, when a system failed (EBS answered an error or did not answer):
    /// the run report lists it and the run exits 4.
    pub failure: Option<RunError>,
}

impl BatchOutcome {
    fn of(rec: &BatchRecord) -> Self {
        BatchOutcome {
            key: rec.key(),
            state: rec.state,
            revision: rec.revision,
            reason: rec.reason.clone(),
            error: None,
            failure: None,
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
    /// What EBS said about the ledgers in this run (shared with the sync context).
    pub(crate) book: Arc<super::batches::LedgerBook>,
    /// Who overrode the settlement order for this post (`None`: order is kept; see [`order`]).
    pub(crate) order_override: Option<String>,
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
            book: Arc::default(),
            order_override: None,
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
}
