//! Unattended runs: reconcile, pull, propose, then post what `[headless] auto_post` allows.
//!
//! [`run_once`] is the library entry of `ml-connector --headless --once` (tests call it
//! directly). Auto-posting is conservative: a settlement is approved (as `headless`)
//! and posted only when every batch is `proposed` (consistent, fully mapped), every
//! journal balances, it is linked to a closed financial event group whose total equals
//! the settlement's, and every account is valid and every period open in EBS. Anything
//! else waits with its reason recorded on the batch; the [`RunReport`] lists it.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::amazon::models::finances::FinancialEventGroup;
use crate::config::AutoPost;
use crate::ledger::journal::Journal;
use crate::ledger::state::BatchState;
use crate::store::{BatchKey, BatchRecord, SettlementRecord};

use super::context::{SyncContext, within_deadline};
pub use super::messages::{ErrorSystem, RunError};
use super::messages::{ProgressSink, SyncError, SyncMsg};
use super::posting::{BatchOutcome, PostingEngine};
use super::propose::propose_pending;
use super::pull::pull_seller;

/// Exit codes of a headless run (documented in the README, "Headless runs").
pub mod exit {
    /// Everything is imported, posted or archived.
    pub const DONE: i32 = 0;
    /// The configuration or credentials must be fixed first.
    pub const CONFIGURATION: i32 = 2;
    /// The run went through; some work waits for a person (see the report's reasons).
    pub const WAITING: i32 = 3;
    /// Something failed (Amazon or EBS unreachable or answering errors, store error…): the
    /// report's `errors` say what, each unfinished batch its reason; the next run retries.
    pub const FAILURE: i32 = 4;
    /// Stopped by SIGINT / SIGTERM at a safe point.
    pub const INTERRUPTED: i32 = 5;
    /// The run's own code was 0 but its report could not be written (closed pipe, full
    /// disk); a non-zero run code is kept as it is.
    pub const OUTPUT: i32 = 1;
}

/// One batch in the run report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BatchReport {
    pub period: String,
    pub state: BatchState,
    pub revision: u32,
    /// Why it waits or was rejected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub journal_ids: Vec<i64>,
    /// The proposed journal's currency (the settlement's) and totals; `None` while the
    /// batch has no readable proposal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub debit: Option<Decimal>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credit: Option<Decimal>,
    /// Debit minus credit on the clearing account (the engine's net line and any mapped
    /// line on the same account, e.g. a carried reserve): the journal's movement there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clearing: Option<Decimal>,
    /// What was staged in EBS when it differs in currency from the proposal (a ledger in
    /// another currency): the staged currency and totals.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub staged_totals: Option<crate::store::Totals>,
    /// The EBS group id (GL_INTERFACE `GROUP_ID`) of its revision, once staged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
    /// The Journal Import concurrent request id, once submitted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<i64>,
    /// The journal names: EBS's once imported, else the name staged for this revision.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub journal_names: Vec<String>,
}

/// One settlement in the run report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SettlementReport {
    pub settlement_id: String,
    pub seller: String,
    pub marketplace: String,
    pub currency: String,
    #[serde(with = "rust_decimal::serde::str")]
    pub total: Decimal,
    /// The worst state of its batches.
    pub status: Option<BatchState>,
    pub batches: Vec<BatchReport>,
}

/// One ledger the run posts into, as EBS describes it (GL_LEDGERS, read this run).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LedgerReport {
    pub ledger_id: i64,
    /// `None` when EBS was not asked (no connection) or did not answer.
    pub name: Option<String>,
    pub currency: Option<String>,
    /// The marketplaces routed into it.
    pub marketplaces: Vec<String>,
}

/// What `--report json` prints: one object for the whole run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunReport {
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub ledgers: Vec<LedgerReport>,
    pub settlements: Vec<SettlementReport>,
    /// Batches (not settlements) per state, every state listed, zeros included.
    pub counts: BTreeMap<String, u64>,
    /// Settlements per status (their worst batch state), every state listed, plus
    /// `no_batches` for settlements not proposed yet.
    pub settlement_counts: BTreeMap<String, u64>,
    /// Failures of this run, one object each (system, operation, HTTP status / code or
    /// transport error, batch); empty unless the exit code is 2 or 4.
    pub errors: Vec<RunError>,
    pub exit_code: i32,
}

impl RunReport {
    /// The report of a run that could not start (configuration).
    pub fn configuration_error(message: String, now: DateTime<Utc>) -> RunReport {
        RunReport::stopped(
            RunError::new(ErrorSystem::Config, "configuration", message),
            exit::CONFIGURATION,
            now,
        )
    }

    /// The report of a run stopped by one error before it could report on the store.
    pub fn stopped(error: RunError, exit_code: i32, now: DateTime<Utc>) -> RunReport {
        RunReport {
            started_at: now,
            finished_at: now,
            ledgers: Vec::new(),
            settlements: Vec::new(),
            counts: zero_counts(),
            settlement_counts: zero_settlement_counts(),
            errors: vec![error],
            exit_code,
        }
    }
}

/// Every batch state with a zero count.
fn zero_counts() -> BTreeMap<String, u64> {
    BatchState::ALL
        .iter()
        .map(|s| (s.as_str().to_string(), 0))
        .collect()
}

/// Key of [`RunReport::settlement_counts`] for settlements without a batch.
pub const NO_BATCHES: &str = "no_batches";

fn zero_settlement_counts() -> BTreeMap<String, u64> {
    let mut c = zero_counts();
    c.insert(NO_BATCHES.to_string(), 0);
    c
}

/// One batch's report line: its record, its proposal's totals, and its journal names
/// from the audit trail (`audit`: the settlement's entries; `currency`: its currency).
fn batch_report(
    ctx: &SyncContext,
    b: &BatchRecord,
    audit: &[crate::store::AuditEntry],
    currency: &str,
) -> BatchReport {
    use crate::store::{AuditAction, StagingDetails};
    // An unreadable proposal is `store verify`'s to report; the run report goes on.
    let proposal = ctx.store.proposal(&b.key()).ok().flatten();
    let journal = proposal.as_ref().map(|p| &p.lines);
    let ours = |e: &&crate::store::AuditEntry| {
        e.period.as_deref() == Some(b.period.as_str())
            && e.details.get("revision").and_then(|r| r.as_u64()) == Some(u64::from(b.revision))
    };
    let imported: Option<Vec<String>> = audit
        .iter()
        .filter(ours)
        .rfind(|e| e.action == AuditAction::Outcome && e.details["status"] == "imported")
        .and_then(|e| e.details["journals"].as_array().cloned())
        .map(|js| {
            js.iter()
                .filter_map(|j| j["name"].as_str().map(str::to_string))
                .collect()
        });
    let journal_names = imported.unwrap_or_else(|| {
        audit
            .iter()
            .filter(ours)
            .rfind(|e| e.action == AuditAction::Staging)
            .and_then(|e| StagingDetails::of(e).ok())
            .map(|d| vec![d.batch.journal_name])
            .unwrap_or_default()
    });
    let currency = proposal.as_ref().map(|_| currency.to_string());
    let staged_totals = b
        .totals
        .clone()
        .filter(|t| Some(&t.currency) != currency.as_ref());
    BatchReport {
        period: b.period.clone(),
        state: b.state,
        revision: b.revision,
        reason: (!is_done(b.state)).then(|| b.reason.clone()).flatten(),
        journal_ids: b.journal_ids.clone(),
        currency,
        debit: journal.map(|j| j.total_debit),
        credit: journal.map(|j| j.total_credit),
        clearing: journal.map(clearing_movement),
        staged_totals,
        group_id: b.group_id.clone(),
        request_id: b.request_id,
        journal_names,
    }
}

/// Debit minus credit on the clearing account(s) (those of the engine's net line), every
/// line on them included: what the journal moves on the clearing account in EBS.
fn clearing_movement(j: &Journal) -> Decimal {
    use crate::ledger::journal::LineKind;
    let accounts: Vec<&str> = j
        .lines
        .iter()
        .filter(|l| l.kind == LineKind::Clearing)
        .map(|l| l.account.as_str())
        .collect();
    j.lines
        .iter()
        .filter(|l| accounts.contains(&l.account.as_str()))
        .fold(Decimal::ZERO, |sum, l| {
            sum.saturating_add(l.debit.saturating_sub(l.credit))
        })
}

/// States that need nothing more from this run or a person.
fn is_done(s: BatchState) -> bool {
    matches!(
        s,
        BatchState::Imported | BatchState::Posted | BatchState::Archived | BatchState::Reversed
    )
}

/// Builds the report from the store.
pub fn report(
    ctx: &SyncContext,
    started_at: DateTime<Utc>,
    errors: Vec<RunError>,
    interrupted: bool,
) -> Result<RunReport, SyncError> {
    let mut counts = zero_counts();
    let mut settlement_counts = zero_settlement_counts();
    let mut settlements = Vec::new();
    let mut waiting = false;
    for rec in ctx.store.settlements()? {
        let mut batches = ctx.store.batches_for(&rec.summary.settlement_id)?;
        // periods in calendar order (`NOV-26` before `JAN-27`), not by name
        batches.sort_by_key(|b| crate::ledger::periods::period_order_key(&b.period));
        for b in &batches {
            *counts.entry(b.state.as_str().to_string()).or_default() += 1;
            waiting |= !is_done(b.state);
        }
        waiting |= batches.is_empty();
        let status = BatchState::worst(batches.iter().map(|b| b.state));
        *settlement_counts
            .entry(status.map_or(NO_BATCHES, |s| s.as_str()).to_string())
            .or_default() += 1;
        let audit = ctx
            .store
            .audit_entries(Some(&rec.summary.settlement_id))
            .unwrap_or_default();
        let currency = rec.summary.currency.code().to_string();
        settlements.push(SettlementReport {
            settlement_id: rec.summary.settlement_id.clone(),
            seller: rec.seller.clone(),
            marketplace: rec.marketplace_id.clone(),
            batches: batches
                .iter()
                .map(|b| batch_report(ctx, b, &audit, &currency))
                .collect(),
            currency,
            total: rec.summary.total_amount,
            status,
        });
    }
    settlements.sort_by(|a, b| a.settlement_id.cmp(&b.settlement_id));
    let exit_code = if interrupted {
        exit::INTERRUPTED
    } else if !errors.is_empty() {
        exit::FAILURE
    } else if waiting {
        exit::WAITING
    } else {
        exit::DONE
    };
    let mut ledgers: BTreeMap<i64, LedgerReport> = BTreeMap::new();
    for r in &ctx.config.routing {
        let known = ctx.ledgers.known(&r.ledger_id.to_string());
        ledgers
            .entry(r.ledger_id)
            .or_insert_with(|| LedgerReport {
                ledger_id: r.ledger_id,
                name: known.as_ref().map(|l| l.name.clone()),
                currency: known.map(|l| l.currency),
                marketplaces: Vec::new(),
            })
            .marketplaces
            .push(r.marketplace.as_str().to_string());
    }
    Ok(RunReport {
        started_at,
        finished_at: Utc::now(),
        ledgers: ledgers.into_values().collect(),
        settlements,
        counts,
        settlement_counts,
        errors,
        exit_code,
    })
}

/// Records why a batch waits (same state, new reason) unless it already says so.
fn wait_with_reason(
    ctx: &SyncContext,
    b: &BatchRecord,
    reason: String,
    sink: &ProgressSink,
    now: DateTime<Utc>,
) -> Result<(), SyncError> {
    sink.batch(&b.key(), b.state, Some(reason.clone()));
    if b.reason.as_deref() == Some(reason.as_str()) {
        return Ok(());
    }
    let mut after = b.clone();
    after.reason = Some(reason);
    after.updated_at = now;
    ctx.store.transition(b, &after, None)?;
    Ok(())
}

/// Why a settlement may not be posted unattended, or `None` when it may.
async fn auto_post_blocker(
    ctx: &SyncContext,
    rec: &SettlementRecord,
    batches: &[BatchRecord],
) -> Result<Option<String>, SyncError> {
    if let Some(b) = batches.iter().find(|b| b.state != BatchState::Proposed) {
        return Ok(Some(format!(
            "period {} is {}{}",
            b.period,
            b.state,
            b.reason
                .as_deref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default()
        )));
    }
    let id = &rec.summary.settlement_id;
    let Some(group_id) = &rec.event_group_id else {
        return Ok(Some(
            "not linked to a financial event group yet (the deposit is not confirmed)".into(),
        ));
    };
    let group: Option<FinancialEventGroup> = ctx
        .store
        .event_group(group_id)?
        .and_then(|g| serde_json::from_value(g.data).ok());
    let Some(group) = group else {
        return Ok(Some(format!(
            "event group {group_id} is not readable in the store"
        )));
    };
    if group.end.is_none() {
        return Ok(Some(format!("event group {group_id} is still open")));
    }
    let group_total = group.original_total.as_ref().map(|m| m.amount);
    if group_total != Some(rec.summary.total_amount) {
        return Ok(Some(format!(
            "event group {group_id} total {} differs from the settlement total {}",
            group_total
                .map(|t| t.to_string())
                .unwrap_or_else(|| "(none)".into()),
            rec.summary.total_amount
        )));
    }
    let route = ctx.routing(&rec.marketplace_id)?;
    let ebs = ctx.ebs_for_ledger(route.ledger_id)?;
    let ledger = route.ledger_id.to_string();
    let open = ebs.open_periods(&ledger).await?;
    for b in batches {
        let proposal = ctx
            .store
            .proposal(&b.key())
            .map_err(|e| match e {
                crate::store::StoreError::Corrupt { reason, .. } => SyncError::ledger(
                    id,
                    format!("stored proposal for {} is unreadable: {reason}; run `ml-connector store verify`", b.key()),
                ),
                e => e.into(),
            })?
            .ok_or_else(|| SyncError::ledger(id, format!("batch {} has no proposal", b.key())))?;
        let journal: Journal = proposal.lines;
        if !journal.is_balanced() {
            return Ok(Some(format!(
                "period {}: journal does not balance (Dr {} Cr {})",
                b.period, journal.total_debit, journal.total_credit
            )));
        }
        if !open.iter().any(|p| p.name == journal.period) {
            return Ok(Some(format!(
                "period {} is not open in ledger {ledger}",
                journal.period
            )));
        }
        for line in &journal.lines {
            let info = ebs.account(&ledger, &line.account).await?;
            if let Some(problem) = info.problem_at(journal.accounting_date) {
                return Ok(Some(format!(
                    "period {}: account {} cannot take the line: {problem}",
                    b.period, line.account
                )));
            }
        }
    }
    Ok(None)
}

/// One unattended pass. Errors of one seller, settlement or batch are recorded (in the
/// report's `errors`, and as the reason of each batch they left unfinished) and the run
/// goes on; configuration errors stop it.
pub async fn run_once(
    ctx: &SyncContext,
    engine: Option<&PostingEngine>,
    sink: &ProgressSink,
    cancel: &CancellationToken,
) -> Result<RunReport, SyncError> {
    let started_at = Utc::now();
    // Ledgers, periods and rates are read from EBS again in every run.
    ctx.ledgers.begin_run();
    let mut errors: Vec<RunError> = Vec::new();
    let mut interrupted = false;
    let fail = |step: &str, scope: &str, e: &SyncError, errors: &mut Vec<RunError>| {
        sink.error(scope, e, false);
        tracing::warn!(scope, error = %e, "step failed");
        errors.push(RunError::from_sync(step, e));
    };
    // 1. Whatever a previous run left in flight is settled with EBS first.
    if let Some(engine) = engine {
        match engine.reconcile_in_flight(sink).await {
            Ok(s) => note_failures(&s.outcomes, &mut errors),
            Err(e) if e.is_configuration() => return Err(e),
            Err(e) => fail("reconcile", "reconcile", &e, &mut errors),
        }
    }
    // 2. Pull every seller.
    for seller in &ctx.sellers {
        if cancel.is_cancelled() {
            interrupted = true;
            break;
        }
        match pull_seller(ctx, seller, sink, cancel).await {
            Ok(s) => tracing::info!(seller = seller.name(), summary = ?s, "pulled"),
            Err(SyncError::Cancelled) => interrupted = true,
            Err(e) => fail("pull", seller.name(), &e, &mut errors),
        }
    }
    // 3. Propose.
    if !interrupted {
        let propose = propose_pending(ctx, sink, Utc::now());
        match within_deadline("propose", ctx.deadlines.propose, propose).await {
            Ok(s) => {
                for (id, why) in &s.failed {
                    let mut e = RunError::new(ErrorSystem::Ledger, "propose", why.clone());
                    e.settlement_id = Some(id.clone());
                    errors.push(e);
                }
            }
            Err(e) if e.is_configuration() => return Err(e),
            Err(e) => fail("propose", "propose", &e, &mut errors),
        }
    }
    // 4. Post what auto_post allows.
    if !interrupted
        && !cancel.is_cancelled()
        && let Err(e) = within_deadline(
            "post",
            ctx.deadlines.post,
            auto_post(ctx, engine, sink, &mut errors),
        )
        .await
    {
        if e.is_configuration() {
            return Err(e);
        }
        fail("post", "post", &e, &mut errors);
    }
    interrupted |= cancel.is_cancelled();
    let report = report(ctx, started_at, errors, interrupted)?;
    if !interrupted {
        // Failed runs, long waits and reports near Amazon's deletion reach a person.
        super::alerts::after_run(&ctx.config.alerts, &report, &ctx.store).await;
    }
    // A run that changed the store leaves a rotating backup, at most one a day (issue 14).
    if let Err(e) = ctx.store.backup_if_due(
        crate::store::DEFAULT_BACKUPS,
        crate::store::DEFAULT_BACKUP_INTERVAL,
    ) {
        tracing::warn!(error = %e, "store backup");
    }
    sink.send(SyncMsg::RunFinished {
        at: report.finished_at,
        ok: report.exit_code == exit::DONE || report.exit_code == exit::WAITING,
        summary: format!(
            "{} settlements; exit {}",
            report.settlements.len(),
            report.exit_code
        ),
    });
    Ok(report)
}

/// The failures of batches a posting step could not finish (their reasons are recorded).
fn note_failures(outcomes: &[BatchOutcome], errors: &mut Vec<RunError>) {
    for o in outcomes {
        if let Some(f) = &o.failure {
            tracing::warn!(batch = %o.key, error = %f, "batch left unfinished");
            if !errors.contains(f) {
                errors.push(f.clone());
            }
        }
    }
}

async fn auto_post(
    ctx: &SyncContext,
    engine: Option<&PostingEngine>,
    sink: &ProgressSink,
    errors: &mut Vec<RunError>,
) -> Result<(), SyncError> {
    let now = Utc::now();
    let mut to_post: Vec<BatchKey> = Vec::new();
    for rec in ctx.store.settlements()? {
        let batches = ctx.store.batches_for(&rec.summary.settlement_id)?;
        if batches.is_empty() || !batches.iter().all(|b| b.state == BatchState::Proposed) {
            continue;
        }
        let blocker = match (ctx.config.headless.auto_post, engine) {
            (AutoPost::Never, _) => Some(
                "waiting for approval ([headless] auto_post = \"never\"): approve it in the TUI"
                    .to_string(),
            ),
            (AutoPost::Reconciled, None) => Some("no EBS connection configured".to_string()),
            (AutoPost::Reconciled, Some(_)) => {
                match auto_post_blocker(ctx, &rec, &batches).await {
                    Ok(blocker) => blocker,
                    Err(e) if e.is_configuration() => return Err(e),
                    // EBS could not be asked (accounts, periods): this settlement waits with
                    // the failure as its reason, the others go on.
                    Err(e) => {
                        let id = &rec.summary.settlement_id;
                        tracing::warn!(settlement = %id, error = %e, "auto-post check failed");
                        sink.error(id, &e, false);
                        let mut failure = RunError::from_sync("post", &e);
                        failure.settlement_id.get_or_insert_with(|| id.clone());
                        errors.push(failure);
                        Some(format!(
                            "not posted: the checks before posting failed ({e}); the next run retries"
                        ))
                    }
                }
            }
        };
        match blocker {
            Some(reason) => {
                for b in &batches {
                    wait_with_reason(ctx, b, reason.clone(), sink, now)?;
                }
            }
            None => to_post.extend(batches.iter().map(|b| b.key())),
        }
    }
    // Approved batches of earlier runs (by a person, or interrupted) go too, but not one
    // EBS already failed on in this run (reconciling it).
    let failed: Vec<String> = errors.iter().filter_map(|e| e.batch.clone()).collect();
    for b in ctx.store.batches()? {
        if b.state == BatchState::Approved
            && !to_post.contains(&b.key())
            && !failed.contains(&b.key().to_string())
        {
            to_post.push(b.key());
        }
    }
    let Some(engine) = engine else {
        return Ok(());
    };
    let fresh: Vec<BatchKey> = to_post
        .iter()
        .filter(|k| {
            ctx.store
                .batch(k)
                .ok()
                .flatten()
                .is_some_and(|b| b.state == BatchState::Proposed)
        })
        .cloned()
        .collect();
    // Maker-checker: what this actor may not approve waits for a person, with the reason.
    let mut fresh_ok = Vec::new();
    for k in fresh {
        match engine.may_approve(&k, &ctx.actor) {
            Ok(()) => fresh_ok.push(k),
            Err(refusal) => {
                to_post.retain(|t| t != &k);
                if let Some(b) = ctx.store.batch(&k)? {
                    wait_with_reason(ctx, &b, refusal.to_string(), sink, now)?;
                }
            }
        }
    }
    if !fresh_ok.is_empty() {
        engine.approve(&fresh_ok, &ctx.actor, now)?;
    }
    if !to_post.is_empty() {
        let outcomes = engine.post_batches(&to_post, sink).await?;
        for o in &outcomes {
            tracing::info!(batch = %o.key, state = %o.state, reason = ?o.reason, error = ?o.error, "posted");
        }
        note_failures(&outcomes, errors);
    }
    let refreshed = engine.refresh_posted(sink).await?;
    note_failures(&refreshed, errors);
    Ok(())
}
