//! The bridge between the workstation and the sync layer: runs the app's
//! [`Effect`]s against the store, the posting engine and EBS, and answers with
//! [`Msg`]s carrying the app's view models.
//!
//! It is one tokio task (plus short-lived workers it spawns), never the UI
//! task: every read, parse and network call happens here. Sync progress
//! ([`SyncMsg`]) is forwarded as status bar messages and batch updates, so the
//! import status moves live while a post or a sync round runs.
//!
//! A sync round in the workstation is reconcile → pull → propose → refresh
//! posted: unlike `--headless` it never approves or posts by itself (posting is
//! the accountant's confirmed decision). The mapping editor edits the mapping of
//! the settlement last opened for review (a marketplace may have its own file),
//! switching only while no draft is being edited.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use chrono::Utc;
use tokio::sync::{Mutex, mpsc};
use tokio_util::sync::CancellationToken;

use crate::app::view::{
    self, AccountCheck, AuditEntryView, BatchView, EventGroupLink, ExternalChecks, LineErrorView,
    MappingDraft, PostTarget, SettlementDetail, SettlementSummaryView,
};
use crate::app::{Effect, Msg};
use crate::ebs::checks::OpenPeriod;
use crate::ledger::journal::{Engine, Journal, Proposal, propose_file};
use crate::ledger::mapping::Mapping;
use crate::ledger::parse::{SettlementFile, decode};
use crate::ledger::periods::{Calendar, local_day};
use crate::ledger::state::BatchState;
use crate::store::{BatchKey, BatchRecord, SettlementRecord};

use super::context::SyncContext;
use super::messages::{ProgressSink, SyncError, SyncMsg};
use super::posting::PostingEngine;
use super::propose::{calendar_from_open, mapping_name, propose_pending, sync_mappings};

/// How the bridge runs.
#[derive(Debug, Clone)]
pub struct BridgeOptions {
    /// Background sync every this long (`None`: only on `r` / [`Effect::SyncNow`]).
    pub every: Option<Duration>,
    /// Run a sync round at start.
    pub sync_at_start: bool,
    /// Stops the bridge and its sync at the next safe point.
    pub cancel: CancellationToken,
}

impl Default for BridgeOptions {
    fn default() -> Self {
        BridgeOptions {
            every: None,
            sync_at_start: true,
            cancel: CancellationToken::new(),
        }
    }
}

fn app_key(k: &BatchKey) -> view::BatchKey {
    view::BatchKey::new(k.settlement_id.clone(), k.period.clone())
}

fn store_key(k: &view::BatchKey) -> BatchKey {
    BatchKey::new(k.settlement_id.clone(), k.period.clone())
}

/// Shared state of the bridge and its workers.
struct Inner {
    ctx: SyncContext,
    engine: PostingEngine,
    tx: mpsc::Sender<Msg>,
    sink: ProgressSink,
    /// Held by the propose step of a round and by a mapping save (a save and a
    /// round must not import mapping files against each other).
    propose_lock: Mutex<()>,
    /// Open periods per ledger (refreshed each sync round).
    periods: Mutex<BTreeMap<i64, Vec<OpenPeriod>>>,
    /// The last view sent per batch (only changes are re-sent).
    sent: StdMutex<HashMap<BatchKey, BatchView>>,
    /// Concurrent request phase/status per request id, as EBS last reported it.
    requests: StdMutex<HashMap<i64, (String, String)>>,
    /// Row counts per raw file hash.
    row_counts: StdMutex<HashMap<String, u64>>,
    /// The settlement last opened for review.
    focus: StdMutex<Option<String>>,
    /// The mapping the editor shows, and whether a draft of it is being edited.
    editing: StdMutex<(String, bool)>,
    /// Batches being posted from the workstation (posting progress refreshes them).
    posting: StdMutex<BTreeSet<BatchKey>>,
    /// The reversal plans last shown, per batch (a confirmed reversal sends exactly that).
    plans: StdMutex<HashMap<BatchKey, super::reversal::ReversalPlan>>,
}

/// Starts the bridge: executes every effect from `effects`, answers on `tx`.
/// Ends when `effects` closes, on [`Effect::Quit`] or when `options.cancel`
/// fires; in-flight work stops at its next safe point before the task ends.
pub fn spawn(
    ctx: SyncContext,
    engine: PostingEngine,
    tx: mpsc::Sender<Msg>,
    effects: mpsc::Receiver<Effect>,
    options: BridgeOptions,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(run(ctx, engine, tx, effects, options))
}

async fn run(
    ctx: SyncContext,
    engine: PostingEngine,
    tx: mpsc::Sender<Msg>,
    mut effects: mpsc::Receiver<Effect>,
    options: BridgeOptions,
) {
    let cancel = options.cancel.clone();
    let engine = engine.with_cancel(cancel.clone());
    let (sink, sync_rx) = ProgressSink::channel();
    let default_mapping = mapping_name(&ctx.config.mapping_path());
    let inner = Arc::new(Inner {
        ctx,
        engine,
        tx,
        sink,
        propose_lock: Mutex::new(()),
        periods: Mutex::new(BTreeMap::new()),
        sent: StdMutex::new(HashMap::new()),
        requests: StdMutex::new(HashMap::new()),
        row_counts: StdMutex::new(HashMap::new()),
        focus: StdMutex::new(None),
        editing: StdMutex::new((default_mapping, false)),
        posting: StdMutex::new(BTreeSet::new()),
        plans: StdMutex::new(HashMap::new()),
    });
    let forwarder = tokio::spawn(forward(inner.clone(), sync_rx));
    let (trigger_tx, trigger_rx) = mpsc::unbounded_channel::<()>();
    let scheduler = tokio::spawn(schedule(
        inner.clone(),
        options.every,
        options.sync_at_start,
        trigger_rx,
        cancel.clone(),
    ));
    let mut workers = tokio::task::JoinSet::new();
    loop {
        let effect = tokio::select! {
            e = effects.recv() => e,
            _ = cancel.cancelled() => None,
        };
        let Some(effect) = effect else { break };
        match effect {
            Effect::Quit => break,
            Effect::SyncNow => {
                let _ = trigger_tx.send(());
            }
            other => {
                let inner = inner.clone();
                workers.spawn(async move {
                    if let Err(e) = execute(&inner, other).await {
                        inner.say(Msg::Error(e)).await;
                    }
                });
            }
        }
        // reap finished workers
        while workers.try_join_next().is_some() {}
    }
    cancel.cancel();
    let _ = scheduler.await;
    while workers.join_next().await.is_some() {}
    forwarder.abort();
    let _ = inner.ctx.store.flush();
}

impl Inner {
    async fn say(&self, msg: Msg) {
        let _ = self.tx.send(msg).await;
    }

    /// Runs blocking work (store reads, parsing) off the async workers.
    async fn blocking<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&Inner) -> Result<T, String> + Send + 'static,
    ) -> Result<T, String> {
        let me = self.clone();
        tokio::task::spawn_blocking(move || f(&me))
            .await
            .map_err(|e| format!("internal error: {e}"))?
    }
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

// ------------------------------------------------------------------ effects

async fn execute(inner: &Arc<Inner>, effect: Effect) -> Result<(), String> {
    match effect {
        Effect::LoadSettlements => {
            let list = inner.blocking(|i| i.summaries()).await?;
            inner.say(Msg::SettlementsLoaded(list)).await;
        }
        Effect::LoadBatches => {
            let all = inner.blocking(|i| i.all_batches()).await?;
            remember(inner, &all);
            inner.say(Msg::BatchesLoaded(all.clone())).await;
            refresh_requests(inner, all).await;
        }
        Effect::LoadDetail(id) => load_detail(inner, id).await?,
        Effect::LoadMapping => {
            let draft = inner.blocking(|i| i.current_mapping()).await?;
            inner.say(Msg::MappingLoaded(draft)).await;
        }
        Effect::LoadAudit(id) => {
            let sid = id.clone();
            let entries = inner.blocking(move |i| i.audit(sid.as_deref())).await?;
            inner
                .say(Msg::AuditLoaded {
                    settlement_id: id,
                    entries,
                })
                .await;
        }
        Effect::Approve { batches, actor } => {
            let n = batches.len();
            let keys: Vec<BatchKey> = batches.iter().map(|a| store_key(&a.key)).collect();
            let result = inner
                .blocking(move |i| {
                    // The approval names the proposal the accountant saw.
                    for a in &batches {
                        let key = store_key(&a.key);
                        let current = i.ctx.store.proposal(&key).map_err(err)?;
                        if let (Some(seen), Some(p)) = (&a.proposal_hash, &current)
                            && seen != &p.proposal_hash
                        {
                            return Err(format!(
                                "{key}: its proposal changed since it was shown (new mapping?); review it again, nothing was approved"
                            ));
                        }
                    }
                    let keys: Vec<BatchKey> = batches.iter().map(|a| store_key(&a.key)).collect();
                    i.engine.approve(&keys, &actor, Utc::now()).map_err(err)
                })
                .await;
            send_batches(inner, &keys).await;
            result?;
            inner
                .say(Msg::Info(format!("approved {n} journal(s)")))
                .await;
        }
        Effect::Unapprove { batches, actor } => {
            let keys: Vec<BatchKey> = batches.iter().map(store_key).collect();
            let k = keys.clone();
            let result = inner
                .blocking(move |i| i.engine.unapprove(&k, &actor, Utc::now()).map_err(err))
                .await;
            send_batches(inner, &keys).await;
            result?;
            inner
                .say(Msg::Info(format!("withdrew {} approval(s)", keys.len())))
                .await;
        }
        Effect::Post { batches, .. } => post(inner, batches).await?,
        Effect::ValidateAccount(account) => {
            let result = validate_account(inner, &account).await;
            inner.say(Msg::MappingValidated { account, result }).await;
        }
        Effect::PreviewMapping(draft) => preview(inner, draft).await?,
        Effect::SaveMapping { draft, actor } => save_mapping(inner, draft, actor).await?,
        Effect::PlanReversal { key, into } => {
            let k = store_key(&key);
            let plan = inner
                .engine
                .plan_reversal(&k, into.as_deref())
                .await
                .map_err(err)?;
            let view = plan_view(&plan);
            if let Ok(mut p) = inner.plans.lock() {
                p.insert(k, plan);
            }
            inner.say(Msg::ReversalPlan(view)).await;
        }
        Effect::Reverse { key, into, actor } => reverse(inner, key, into, actor).await?,
        Effect::MayApprove { key, actor } => {
            let k = store_key(&key);
            let result = inner
                .blocking(move |i| {
                    Ok(i.engine.may_approve(&k, &actor).map_err(|r| {
                        // the version the maker recorded (the proposal names it)
                        let mapping_version = r
                            .maker
                            .as_ref()
                            .and_then(|_| i.ctx.store.proposal(&k).ok().flatten())
                            .map(|p| p.mapping.version);
                        view::ApprovalRefusal {
                            maker: r.maker.clone(),
                            mapping_version,
                            why: r.why.clone(),
                        }
                    }))
                })
                .await?;
            inner.say(Msg::MayApprove { key, result }).await;
        }
        Effect::LoadHistory(key) => {
            let k = key.clone();
            let history = inner.blocking(move |i| i.history(&k)).await?;
            inner.say(Msg::BatchHistory(history)).await;
        }
        Effect::ArchiveVanished { key, actor } => {
            let k = store_key(&key);
            let kk = k.clone();
            let result = inner
                .blocking(move |i| {
                    i.engine
                        .archive_vanished(&kk, &actor, Utc::now())
                        .map_err(err)
                })
                .await;
            send_batches(inner, &[k]).await;
            result?;
            inner
                .say(Msg::Info(format!(
                    "{key} archived: its vanished journal(s) are not re-posted"
                )))
                .await;
            refresh_views(inner).await;
        }
        Effect::SyncNow | Effect::Quit => {}
    }
    Ok(())
}

fn plan_view(plan: &super::reversal::ReversalPlan) -> view::ReversalPlanView {
    let (dr, cr) = plan.batch.entered_totals();
    view::ReversalPlanView {
        key: app_key(&plan.key),
        state: plan.state,
        original_revision: plan.original_revision,
        original_journal_ids: plan
            .original_journal_ids
            .iter()
            .map(|i| i.to_string())
            .collect(),
        journal_name: plan.batch.journal_name.clone(),
        period: plan.batch.period_name.clone(),
        accounting_date: plan.batch.accounting_date,
        reversal_revision: plan.reversal_revision,
        next_revision: plan.next_revision,
        line_count: plan.batch.lines.len() as u32,
        currency: crate::ledger::money::Currency::new(&plan.batch.currency),
        total_debit: dr,
        total_credit: cr,
    }
}

/// Sends the reversing journal shown for confirmation (planned again when not kept),
/// refreshing the batch as it moves.
async fn reverse(
    inner: &Arc<Inner>,
    key: view::BatchKey,
    into: Option<String>,
    actor: String,
) -> Result<(), String> {
    let k = store_key(&key);
    let shown = inner
        .plans
        .lock()
        .ok()
        .and_then(|mut p| p.remove(&k))
        .filter(|p| into.as_deref().is_none_or(|i| p.batch.period_name == i));
    let plan = match shown {
        Some(p) => p,
        None => inner
            .engine
            .plan_reversal(&k, into.as_deref())
            .await
            .map_err(err)?,
    };
    if let Ok(mut p) = inner.posting.lock() {
        p.insert(k.clone());
    }
    let sink = &inner.sink;
    let progress = |p: super::posting::PostingProgress| {
        sink.send(SyncMsg::Progress {
            scope: "ebs".into(),
            what: format!("reversal: {}", p.step),
            done: 0,
            total: None,
            detail: Some(format!("{}: {}", p.key, p.detail)),
        })
    };
    let result = inner.engine.reverse(&plan, &actor, &progress).await;
    if let Ok(mut p) = inner.posting.lock() {
        p.remove(&k);
    }
    send_batches(inner, std::slice::from_ref(&k)).await;
    let out = result.map_err(err)?;
    let text = format!(
        "{key}: {} (revision {}){}",
        out.state,
        out.revision,
        out.reason.map(|r| format!(": {r}")).unwrap_or_default()
    );
    if out.state == BatchState::Reversed {
        inner.say(Msg::Info(text)).await;
    } else {
        inner.say(Msg::Error(text)).await;
    }
    refresh_views(inner).await;
    Ok(())
}

/// Sends `BatchUpdated` for every key whose view changed.
async fn send_batches(inner: &Arc<Inner>, keys: &[BatchKey]) {
    let keys = keys.to_vec();
    let views = inner
        .blocking(move |i| {
            let mut out = Vec::new();
            for k in &keys {
                if let Some(rec) = i.ctx.store.batch(k).map_err(err)? {
                    out.push(i.batch_view(&rec)?);
                }
            }
            Ok(out)
        })
        .await
        .unwrap_or_default();
    for v in views {
        let key = store_key(&v.key);
        let changed = inner
            .sent
            .lock()
            .map(|mut s| {
                if s.get(&key) == Some(&v) {
                    false
                } else {
                    s.insert(key, v.clone());
                    true
                }
            })
            .unwrap_or(true);
        if changed {
            inner.say(Msg::BatchUpdated(v)).await;
        }
    }
}

fn remember(inner: &Inner, all: &[BatchView]) {
    if let Ok(mut s) = inner.sent.lock() {
        for v in all {
            s.insert(store_key(&v.key), v.clone());
        }
    }
}

/// Asks EBS for the phase and status of requests not known complete; re-sends changed batches.
async fn refresh_requests(inner: &Arc<Inner>, views: Vec<BatchView>) {
    let mut changed = Vec::new();
    for v in views {
        let Some(id) = v.request_id.as_deref().and_then(|r| r.parse::<i64>().ok()) else {
            continue;
        };
        let known_complete = inner
            .requests
            .lock()
            .ok()
            .and_then(|r| r.get(&id).cloned())
            .is_some_and(|(phase, _)| phase == "Completed");
        if known_complete {
            continue;
        }
        let Some(client) = inner.client_for(&v.key.settlement_id) else {
            continue;
        };
        if let Ok(st) = client
            .request_status(crate::ebs::context::Module::Gl, &id.to_string())
            .await
        {
            if let Ok(mut r) = inner.requests.lock() {
                r.insert(id, (st.dev_phase.clone(), st.dev_status.clone()));
            }
            changed.push(store_key(&v.key));
        }
    }
    if !changed.is_empty() {
        send_batches(inner, &changed).await;
    }
}

async fn load_detail(inner: &Arc<Inner>, id: String) -> Result<(), String> {
    if let Ok(mut f) = inner.focus.lock() {
        *f = Some(id.clone());
    }
    let rec = {
        let id = id.clone();
        inner
            .blocking(move |i| {
                i.ctx
                    .store
                    .settlement(&id)
                    .map_err(err)?
                    .ok_or_else(|| format!("settlement {id} is not in the store"))
            })
            .await?
    };
    let calendar = inner.calendar(&rec).await;
    let r = rec.clone();
    let mut detail = inner.blocking(move |i| i.detail(&r, calendar)).await?;
    inner.say(Msg::DetailLoaded(Box::new(detail.clone()))).await;
    // The mapping editor follows the settlement under review (when no draft is open).
    let name = inner.mapping_of(&rec);
    let switch = inner
        .editing
        .lock()
        .map(|mut e| {
            if e.0 != name && !e.1 {
                e.0 = name.clone();
                true
            } else {
                false
            }
        })
        .unwrap_or(false);
    if switch {
        let draft = inner.blocking(|i| i.current_mapping()).await?;
        inner.say(Msg::MappingLoaded(draft)).await;
        inner
            .say(Msg::Info(format!(
                "mapping editor (4) now shows {name}, the mapping of settlement {id}"
            )))
            .await;
    }
    // Then the checks against EBS: accounts and periods.
    if let Some(checks) = external_checks(inner, &rec, &detail).await {
        detail.checks = checks;
        detail.verdicts = detail.compute_verdicts();
        inner.say(Msg::DetailLoaded(Box::new(detail))).await;
    }
    Ok(())
}

async fn external_checks(
    inner: &Arc<Inner>,
    rec: &SettlementRecord,
    detail: &SettlementDetail,
) -> Option<ExternalChecks> {
    let route = inner.ctx.config.routing_for(&rec.marketplace_id)?;
    let client = inner.ctx.ebs.get(&route.ledger_id)?;
    let ledger = route.ledger_id.to_string();
    let open = inner.open_periods(route.ledger_id).await.ok()?;
    let mut invalid = BTreeSet::new();
    let mut problems = Vec::new();
    for j in &detail.proposal.journals {
        match open.iter().find(|p| p.name == j.period) {
            Some(p) if p.start <= j.accounting_date && j.accounting_date <= p.end => {}
            _ => problems.push(format!("{} is not open in EBS", j.period)),
        }
        for l in &j.lines {
            if invalid.contains(&l.account) {
                continue;
            }
            let info = super::context::ebs_read(|| client.account(&ledger, &l.account))
                .await
                .ok()?;
            if let Some(p) = info.problem_at(j.accounting_date) {
                invalid.insert(format!("{} ({}: {p:?})", l.account, p.ebs_code()));
            }
        }
    }
    Some(ExternalChecks {
        invalid_accounts: Some(invalid.into_iter().collect()),
        period_problems: Some(problems),
    })
}

async fn post(inner: &Arc<Inner>, batches: Vec<view::BatchKey>) -> Result<(), String> {
    let keys: Vec<BatchKey> = batches.iter().map(store_key).collect();
    if let Ok(mut p) = inner.posting.lock() {
        p.extend(keys.iter().cloned());
    }
    let result = inner.engine.post_batches(&keys, &inner.sink).await;
    if let Ok(mut p) = inner.posting.lock() {
        for k in &keys {
            p.remove(k);
        }
    }
    send_batches(inner, &keys).await;
    let outcomes = result.map_err(err)?;
    let views = inner
        .blocking({
            let keys = keys.clone();
            move |i| {
                keys.iter()
                    .filter_map(|k| i.ctx.store.batch(k).ok().flatten())
                    .map(|r| i.batch_view(&r))
                    .collect::<Result<Vec<_>, _>>()
            }
        })
        .await?;
    refresh_requests(inner, views).await;
    let mut counts: BTreeMap<BatchState, usize> = BTreeMap::new();
    for o in &outcomes {
        *counts.entry(o.state).or_default() += 1;
    }
    let text = counts
        .iter()
        .map(|(s, n)| format!("{n} {s}"))
        .collect::<Vec<_>>()
        .join(", ");
    let errors: Vec<String> = outcomes.iter().filter_map(|o| o.error.clone()).collect();
    if errors.is_empty() {
        inner.say(Msg::Info(format!("posted: {text}"))).await;
    } else {
        inner
            .say(Msg::Error(format!("posted: {text}; {}", errors.join("; "))))
            .await;
    }
    Ok(())
}

async fn validate_account(inner: &Arc<Inner>, account: &str) -> AccountCheck {
    let name = inner
        .editing
        .lock()
        .map(|e| e.0.clone())
        .unwrap_or_default();
    let cfg = &inner.ctx.config;
    let ledgers: BTreeSet<i64> = cfg
        .routing
        .iter()
        .filter(|r| mapping_name(&cfg.mapping_path_for(r.marketplace.as_str())) == name)
        .map(|r| r.ledger_id)
        .collect();
    let today = Utc::now().date_naive();
    let mut description = None;
    for ledger in &ledgers {
        let Some(client) = inner.ctx.ebs.get(ledger) else {
            continue;
        };
        let l = ledger.to_string();
        match super::context::ebs_read(|| client.account(&l, account)).await {
            Ok(info) => {
                if let Some(p) = info.problem_at(today) {
                    return AccountCheck::Invalid {
                        reason: format!("ledger {ledger}: {p:?} ({})", p.ebs_code()),
                    };
                }
                description.get_or_insert_with(|| {
                    info.message
                        .clone()
                        .filter(|m| !m.is_empty())
                        .unwrap_or_else(|| {
                            format!(
                                "enabled, detail posting{}",
                                info.ccid
                                    .map(|c| format!(" (ccid {c})"))
                                    .unwrap_or_default()
                            )
                        })
                });
            }
            Err(e) => {
                return AccountCheck::Unknown {
                    reason: e.to_string(),
                };
            }
        }
    }
    match description {
        Some(description) => AccountCheck::Valid { description },
        None => AccountCheck::Unknown {
            reason: "no EBS connection for the ledgers of this mapping".into(),
        },
    }
}

/// Settlements the mapping being edited applies to, with their calendars.
async fn editable_settlements(
    inner: &Arc<Inner>,
) -> Result<Vec<(SettlementRecord, Calendar)>, String> {
    let name = inner
        .editing
        .lock()
        .map(|e| e.0.clone())
        .unwrap_or_default();
    let recs = inner
        .blocking(move |i| {
            let mut out = Vec::new();
            for rec in i.ctx.store.settlements().map_err(err)? {
                if i.mapping_of(&rec) != name {
                    continue;
                }
                let open = i
                    .ctx
                    .store
                    .batches_for(&rec.summary.settlement_id)
                    .map_err(err)?
                    .iter()
                    .any(|b| reproposable(b.state));
                if open {
                    out.push(rec);
                }
            }
            Ok(out)
        })
        .await?;
    let mut out = Vec::new();
    for rec in recs {
        let cal = inner.calendar(&rec).await;
        out.push((rec, cal));
    }
    Ok(out)
}

fn reproposable(s: BatchState) -> bool {
    matches!(
        s,
        BatchState::Proposed
            | BatchState::NeedsMapping
            | BatchState::Inconsistent
            | BatchState::Approved
            | BatchState::Rejected
    )
}

async fn preview(inner: &Arc<Inner>, draft: MappingDraft) -> Result<(), String> {
    let after = draft
        .to_mapping()
        .map_err(|e| format!("mapping draft: {e}"))?;
    if let Ok(mut e) = inner.editing.lock() {
        e.1 = true;
    }
    let targets = editable_settlements(inner).await?;
    let msg = inner
        .blocking(move |i| {
            let before = i.current_mapping_parsed()?;
            let mut changes = Vec::new();
            let mut newly_mapped = Vec::new();
            let mut newly_unmapped = Vec::new();
            for (rec, cal) in targets {
                let id = rec.summary.settlement_id.clone();
                let open: BTreeSet<String> = i
                    .ctx
                    .store
                    .batches_for(&id)
                    .map_err(err)?
                    .into_iter()
                    .filter(|b| reproposable(b.state))
                    .map(|b| b.period)
                    .collect();
                let (_, p0) = i.propose(&rec, &before, cal.clone())?;
                let (_, p1) = i.propose(&rec, &after, cal)?;
                changes.extend(
                    view::diff_proposals(&p0, &p1)
                        .into_iter()
                        .filter(|c| open.contains(&c.period)),
                );
                match (p0.unmapped.is_empty(), p1.unmapped.is_empty()) {
                    (false, true) => newly_mapped.push(id),
                    (true, false) => newly_unmapped.push(id),
                    _ => {}
                }
            }
            Ok(Msg::ProposalDiff {
                mapping_hash: after.content_hash().to_string(),
                changes,
                newly_mapped,
                newly_unmapped,
            })
        })
        .await?;
    inner.say(msg).await;
    Ok(())
}

async fn save_mapping(
    inner: &Arc<Inner>,
    draft: MappingDraft,
    actor: String,
) -> Result<(), String> {
    draft
        .to_mapping()
        .map_err(|e| format!("mapping draft: {e}"))?;
    let text = draft.to_toml();
    let _guard = inner.propose_lock.lock().await;
    let version = inner
        .blocking(move |i| {
            let name = i.editing.lock().map(|e| e.0.clone()).map_err(err)?;
            let path = i.mapping_path(&name);
            let (v, _) = i
                .ctx
                .store
                .import_mapping(&name, &text, "tui", &actor, Utc::now())
                .map_err(err)?;
            // The file follows the store (sync imports the file when its hash changes).
            let tmp = path.with_extension("toml.tmp");
            std::fs::write(&tmp, &text)
                .and_then(|_| std::fs::rename(&tmp, &path))
                .map_err(|e| {
                    format!(
                        "mapping version {} stored, but {} could not be written: {e}",
                        v.version,
                        path.display()
                    )
                })?;
            if let Ok(mut e) = i.editing.lock() {
                e.1 = false;
            }
            Ok(v.version)
        })
        .await?;
    inner.say(Msg::MappingSaved { version }).await;
    let summary = propose_pending(&inner.ctx, &inner.sink, Utc::now())
        .await
        .map_err(err)?;
    drop(_guard);
    let keys: Vec<BatchKey> = summary.proposed.iter().map(|(k, _)| k.clone()).collect();
    send_batches(inner, &keys).await;
    refresh_views(inner).await;
    inner
        .say(Msg::Info(format!(
            "mapping v{version}: {} journal(s) proposed again, {} approval(s) lapsed",
            summary.proposed.len(),
            summary.lapsed.len()
        )))
        .await;
    Ok(())
}

/// Re-sends the settlement list and the open review.
async fn refresh_views(inner: &Arc<Inner>) {
    if let Ok(list) = inner.blocking(|i| i.summaries()).await {
        inner.say(Msg::SettlementsLoaded(list)).await;
    }
    let focus = inner.focus.lock().ok().and_then(|f| f.clone());
    if let Some(id) = focus
        && let Err(e) = reload_detail(inner, id).await
    {
        inner.say(Msg::Error(e)).await;
    }
}

async fn reload_detail(inner: &Arc<Inner>, id: String) -> Result<(), String> {
    let rec = {
        let id = id.clone();
        inner
            .blocking(move |i| i.ctx.store.settlement(&id).map_err(err))
            .await?
    };
    let Some(rec) = rec else { return Ok(()) };
    let calendar = inner.calendar(&rec).await;
    let r = rec.clone();
    let mut detail = inner.blocking(move |i| i.detail(&r, calendar)).await?;
    if let Some(checks) = external_checks(inner, &rec, &detail).await {
        detail.checks = checks;
        detail.verdicts = detail.compute_verdicts();
    }
    inner.say(Msg::DetailLoaded(Box::new(detail))).await;
    Ok(())
}

// ------------------------------------------------------------------ sync rounds

async fn schedule(
    inner: Arc<Inner>,
    every: Option<Duration>,
    at_start: bool,
    mut triggers: mpsc::UnboundedReceiver<()>,
    cancel: CancellationToken,
) {
    let mut first = at_start;
    loop {
        if !first {
            let wait = async {
                match every {
                    Some(d) => tokio::time::sleep(d).await,
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                _ = wait => {}
                t = triggers.recv() => if t.is_none() { return },
                _ = cancel.cancelled() => return,
            }
        }
        first = false;
        round(&inner, &cancel).await;
        // requests made while the round ran are served by it
        while triggers.try_recv().is_ok() {}
        if cancel.is_cancelled() {
            return;
        }
    }
}

/// One workstation sync round: reconcile, pull, propose, refresh posted. Never posts.
async fn round(inner: &Arc<Inner>, cancel: &CancellationToken) {
    let ctx = &inner.ctx;
    let sink = &inner.sink;
    let mut errors: Vec<String> = Vec::new();
    let note = |scope: &str, e: &SyncError, errors: &mut Vec<String>| {
        sink.error(scope, e, false);
        errors.push(format!("{scope}: {e}"));
    };
    if let Ok(mut p) = inner.periods.try_lock() {
        p.clear();
    }
    if !ctx.ebs.is_empty()
        && let Err(e) = inner.engine.reconcile_in_flight(sink).await
    {
        note("reconcile", &e, &mut errors);
    }
    let mut pulled = 0usize;
    for seller in &ctx.sellers {
        if cancel.is_cancelled() {
            break;
        }
        match super::pull::pull_seller(ctx, seller, sink, cancel).await {
            Ok(s) => pulled += s.new_settlements.len(),
            Err(SyncError::Cancelled) => break,
            Err(e) => note(seller.name(), &e, &mut errors),
        }
    }
    let mut proposed = 0usize;
    if !cancel.is_cancelled() {
        let _guard = inner.propose_lock.lock().await;
        match propose_pending(ctx, sink, Utc::now()).await {
            Ok(s) => {
                proposed = s.proposed.len();
                for (id, why) in &s.failed {
                    errors.push(format!("settlement {id}: {why}"));
                }
            }
            Err(e) => note("propose", &e, &mut errors),
        }
    }
    if !cancel.is_cancelled()
        && !ctx.ebs.is_empty()
        && let Err(e) = inner.engine.refresh_posted(sink).await
    {
        note("refresh", &e, &mut errors);
    }
    let ok = errors.is_empty();
    let summary = if ok {
        format!("synced: {pulled} new settlement(s), {proposed} journal(s) proposed")
    } else {
        format!(
            "sync finished with {} problem(s): {}",
            errors.len(),
            errors.join("; ")
        )
    };
    sink.send(SyncMsg::RunFinished {
        at: Utc::now(),
        ok,
        summary,
    });
}

/// Turns sync messages into app messages (progress coalesced per burst).
async fn forward(inner: Arc<Inner>, mut rx: mpsc::UnboundedReceiver<SyncMsg>) {
    let mut last: Option<(String, u64, Option<u64>)> = None;
    while let Some(first) = rx.recv().await {
        let mut burst = vec![first];
        while let Ok(m) = rx.try_recv() {
            burst.push(m);
        }
        let mut progress = None;
        let mut keys: BTreeSet<BatchKey> = BTreeSet::new();
        let mut out = Vec::new();
        let mut finished = None;
        for m in burst {
            match m {
                SyncMsg::Progress {
                    scope,
                    what,
                    done,
                    total,
                    detail,
                } => {
                    if scope == "ebs" {
                        // posting steps: "settlement/period: …"
                        if let Some(k) = detail
                            .as_deref()
                            .and_then(|d| d.split_once(": "))
                            .and_then(|(k, _)| k.split_once('/'))
                        {
                            keys.insert(BatchKey::new(k.0, k.1));
                        }
                        if let Ok(p) = inner.posting.lock() {
                            keys.extend(p.iter().cloned());
                        }
                    }
                    let what = match detail {
                        Some(d) => format!("{scope}: {what} ({d})"),
                        None => format!("{scope}: {what}"),
                    };
                    last = Some((what.clone(), done, total));
                    progress = Some(Msg::SyncProgress {
                        what,
                        done,
                        total,
                        waiting_on_rate_limit: None,
                    });
                }
                SyncMsg::RateLimited {
                    scope,
                    operation,
                    wait,
                } => {
                    let (what, done, total) = last
                        .clone()
                        .unwrap_or_else(|| (format!("{scope}: waiting"), 0, None));
                    progress = Some(Msg::SyncProgress {
                        what,
                        done,
                        total,
                        waiting_on_rate_limit: Some(format!(
                            "{operation} ({:.1}s)",
                            wait.as_secs_f64()
                        )),
                    });
                }
                SyncMsg::Batch { key, .. } => {
                    keys.insert(key);
                }
                SyncMsg::Error { scope, message, .. } => {
                    out.push(Msg::Error(format!("{scope}: {message}")));
                }
                SyncMsg::SettlementPulled { .. } => {}
                SyncMsg::RunFinished { at, ok, summary } => {
                    last = None;
                    finished = Some(Msg::SyncFinished { at, ok, summary });
                }
            }
        }
        if let Some(p) = progress
            && finished.is_none()
        {
            inner.say(p).await;
        }
        if !keys.is_empty() {
            let keys: Vec<BatchKey> = keys.into_iter().collect();
            send_batches(&inner, &keys).await;
        }
        for m in out {
            inner.say(m).await;
        }
        // the round's data first, then "synced": what the status bar says is on screen
        if let Some(done) = finished {
            if let Ok(all) = inner.blocking(|i| i.all_batches()).await {
                remember(&inner, &all);
                inner.say(Msg::BatchesLoaded(all.clone())).await;
                refresh_views(&inner).await;
                inner.say(done).await;
                refresh_requests(&inner, all).await;
            } else {
                refresh_views(&inner).await;
                inner.say(done).await;
            }
        }
    }
}

// ------------------------------------------------------------------ view models

impl Inner {
    fn mapping_of(&self, rec: &SettlementRecord) -> String {
        mapping_name(&self.ctx.config.mapping_path_for(&rec.marketplace_id))
    }

    fn mapping_path(&self, name: &str) -> PathBuf {
        let cfg = &self.ctx.config;
        cfg.mapping_paths()
            .into_iter()
            .find(|p| mapping_name(p) == name)
            .unwrap_or_else(|| cfg.mapping_path())
    }

    fn client_for(&self, settlement_id: &str) -> Option<Arc<crate::ebs::EbsClient>> {
        let rec = self.ctx.store.settlement(settlement_id).ok()??;
        let route = self.ctx.config.routing_for(&rec.marketplace_id)?;
        self.ctx.ebs.get(&route.ledger_id).cloned()
    }

    async fn open_periods(&self, ledger: i64) -> Result<Vec<OpenPeriod>, String> {
        let mut cache = self.periods.lock().await;
        if let Some(p) = cache.get(&ledger) {
            return Ok(p.clone());
        }
        let client = self
            .ctx
            .ebs
            .get(&ledger)
            .ok_or_else(|| format!("no EBS connection for ledger {ledger}"))?;
        let l = ledger.to_string();
        let open = super::context::ebs_read(|| client.open_periods(&l))
            .await
            .map_err(err)?;
        cache.insert(ledger, open.clone());
        Ok(open)
    }

    /// The calendar proposals of this settlement use (EBS's open periods, else months).
    async fn calendar(&self, rec: &SettlementRecord) -> Calendar {
        let route = self.ctx.config.routing_for(&rec.marketplace_id);
        let tz = route.map_or(chrono_tz::UTC, |r| r.timezone.0);
        let fallback = || Engine::preview_calendar(&rec.summary, tz);
        let Some(route) = route else {
            return fallback();
        };
        if !self.ctx.ebs.contains_key(&route.ledger_id) {
            return fallback();
        }
        match self.open_periods(route.ledger_id).await {
            Ok(open) => {
                let from = local_day(tz, rec.summary.start)
                    .checked_sub_months(chrono::Months::new(1))
                    .unwrap_or(chrono::NaiveDate::MIN);
                calendar_from_open(&open, from).unwrap_or_else(fallback)
            }
            Err(_) => fallback(),
        }
    }

    fn current_mapping_text(&self) -> Result<(String, Option<u32>), String> {
        let name = self.editing.lock().map(|e| e.0.clone()).map_err(err)?;
        let mut latest = self.ctx.store.latest_mapping(&name).map_err(err)?;
        if latest.is_none() {
            // Before the first sync: import the configured files now.
            let _ = sync_mappings(&self.ctx, Utc::now());
            latest = self.ctx.store.latest_mapping(&name).map_err(err)?;
        }
        match latest {
            Some(v) => Ok((v.text, Some(v.version))),
            None => {
                let path = self.mapping_path(&name);
                std::fs::read_to_string(&path)
                    .map(|t| (t, None))
                    .map_err(|e| format!("mapping {}: {e}", path.display()))
            }
        }
    }

    fn current_mapping_parsed(&self) -> Result<Mapping, String> {
        let (text, _) = self.current_mapping_text()?;
        Mapping::parse(&text).map_err(err)
    }

    fn current_mapping(&self) -> Result<MappingDraft, String> {
        let (text, version) = self.current_mapping_text()?;
        let m = Mapping::parse(&text).map_err(err)?;
        if let Ok(mut e) = self.editing.lock() {
            e.1 = false;
        }
        Ok(MappingDraft::from_mapping(&m, version))
    }

    fn row_count(&self, rec: &SettlementRecord) -> u64 {
        let Some(sha) = rec.raw_sha256.clone() else {
            return 0;
        };
        if let Some(n) = self
            .row_counts
            .lock()
            .ok()
            .and_then(|c| c.get(&sha).copied())
        {
            return n;
        }
        let n = match self.ctx.store.raw_settlement(&rec.summary.settlement_id) {
            Ok(Some((_, bytes))) => {
                // body lines: every non-empty line but the header and the summary row
                let lines = bytes
                    .split(|b| *b == b'\n')
                    .filter(|l| !l.iter().all(|b| b.is_ascii_whitespace()))
                    .count() as u64;
                lines.saturating_sub(2)
            }
            _ => 0,
        };
        if let Ok(mut c) = self.row_counts.lock() {
            c.insert(sha, n);
        }
        n
    }

    fn summary_view(
        &self,
        rec: &SettlementRecord,
        batches: &[BatchRecord],
    ) -> SettlementSummaryView {
        let status = BatchState::worst(batches.iter().map(|b| b.state))
            // not proposed (yet): it needs a person to look (routing, mapping)
            .unwrap_or(BatchState::NeedsMapping);
        let market = crate::config::MarketplaceId::try_from(rec.marketplace_id.clone())
            .ok()
            .and_then(|m| m.country())
            .map(|c| format!("Amazon {c}"))
            .unwrap_or_else(|| rec.marketplace_id.clone());
        SettlementSummaryView {
            settlement_id: rec.summary.settlement_id.clone(),
            seller: rec.seller.clone(),
            marketplace: market,
            start: rec.summary.start.date_naive(),
            end: rec.summary.end.date_naive(),
            deposit_date: rec.summary.deposit_date.map(|d| d.date_naive()),
            total: rec.summary.total_amount,
            currency: rec.summary.currency.clone(),
            status,
            gap_before: false,
            batches: batches.len() as u32,
            rows: self.row_count(rec),
        }
    }

    fn summaries(&self) -> Result<Vec<SettlementSummaryView>, String> {
        let mut by: BTreeMap<String, Vec<BatchRecord>> = BTreeMap::new();
        for b in self.ctx.store.batches().map_err(err)? {
            by.entry(b.settlement_id.clone()).or_default().push(b);
        }
        let mut list: Vec<SettlementSummaryView> = self
            .ctx
            .store
            .settlements()
            .map_err(err)?
            .iter()
            .map(|rec| {
                self.summary_view(
                    rec,
                    by.get(&rec.summary.settlement_id)
                        .map(Vec::as_slice)
                        .unwrap_or(&[]),
                )
            })
            .collect();
        // newest first, as an accountant reads them
        list.sort_by(|a, b| {
            b.end
                .cmp(&a.end)
                .then(a.settlement_id.cmp(&b.settlement_id))
        });
        SettlementSummaryView::mark_gaps(&mut list);
        Ok(list)
    }

    fn target(&self, marketplace: &str) -> PostTarget {
        match self.ctx.config.routing_for(marketplace) {
            Some(r) => PostTarget {
                ledger: format!("ledger {} ({})", r.ledger_id, r.je_source),
                operating_unit: format!("org {}", r.org_id),
            },
            None => PostTarget {
                ledger: "no [[routing]] entry".into(),
                operating_unit: "-".into(),
            },
        }
    }

    fn batch_view(&self, rec: &BatchRecord) -> Result<BatchView, String> {
        let key = rec.key();
        let settlement = self.ctx.store.settlement(&rec.settlement_id).map_err(err)?;
        let (target, currency) = match &settlement {
            Some(s) => (self.target(&s.marketplace_id), s.summary.currency.clone()),
            None => (self.target(""), crate::ledger::money::Currency::new("USD")),
        };
        let proposal = self.ctx.store.proposal(&key).map_err(err)?;
        let journal = proposal.as_ref().and_then(|p| {
            super::convert::journal_of(&key.settlement_id, &key.period, &p.lines).ok()
        });
        let (line_count, debit, credit) = match (&rec.totals, &journal) {
            (Some(t), _) => (rec.line_count.unwrap_or(0), t.debit, t.credit),
            (None, Some(j)) => (j.lines.len() as u32, j.total_debit, j.total_credit),
            _ => (0, Default::default(), Default::default()),
        };
        // per-line errors, with the staged line's account and description
        let mut line_errors = Vec::new();
        let rejected: Vec<_> = rec.line_outcomes.iter().filter(|o| !o.accepted).collect();
        if !rejected.is_empty() {
            let staged = self.engine.staged_batch(&key, rec.revision).ok().flatten();
            for o in rejected {
                let line = staged
                    .as_ref()
                    .and_then(|b| b.lines.iter().find(|l| l.line_key == o.reference));
                let mut ids = vec![rec.settlement_id.clone()];
                if let Some(l) = line {
                    ids.push(l.description.clone());
                }
                line_errors.push(LineErrorView {
                    line_key: o.reference.clone(),
                    account: line.map(|l| l.account.clone()).unwrap_or_default(),
                    ebs_code: o.code.clone().unwrap_or_else(|| "-".into()),
                    message: o.message.clone().unwrap_or_default(),
                    amazon_ids: ids,
                });
            }
        }
        let (phase, status) = match rec.request_id {
            Some(id) => self
                .requests
                .lock()
                .ok()
                .and_then(|r| r.get(&id).cloned())
                .map_or((None, None), |(p, s)| (Some(p), Some(s))),
            None => (None, None),
        };
        let reason = rec.reason.clone().or_else(|| {
            proposal
                .as_ref()
                .filter(|p| p.outcome != BatchState::Proposed)
                .and_then(|p| p.reason.clone())
        });
        Ok(BatchView {
            key: app_key(&key),
            state: rec.state,
            revision: rec.revision,
            ledger: target.ledger,
            operating_unit: target.operating_unit,
            currency,
            group_id: rec.group_id.clone(),
            request_id: rec.request_id.map(|r| r.to_string()),
            phase,
            status,
            line_count,
            total_debit: debit,
            total_credit: credit,
            proposal_hash: proposal.map(|p| p.proposal_hash),
            approved_by: rec.approval.as_ref().map(|a| a.who.clone()),
            reason,
            line_errors,
            updated_at: Some(rec.updated_at),
        })
    }

    fn all_batches(&self) -> Result<Vec<BatchView>, String> {
        self.ctx
            .store
            .batches()
            .map_err(err)?
            .iter()
            .map(|b| self.batch_view(b))
            .collect()
    }

    /// Re-parses the stored raw file and proposes it with `mapping` (in memory).
    fn propose(
        &self,
        rec: &SettlementRecord,
        mapping: &Mapping,
        calendar: Calendar,
    ) -> Result<(Vec<crate::ledger::model::SettlementRow>, Proposal), String> {
        let id = &rec.summary.settlement_id;
        let (meta, bytes) = self
            .ctx
            .store
            .raw_settlement(id)
            .map_err(err)?
            .ok_or_else(|| format!("settlement {id}: its raw file is not in the store"))?;
        let decoded =
            decode(&bytes, Some(&meta.charset)).map_err(|e| format!("settlement {id}: {e}"))?;
        let file = SettlementFile::parse(&decoded.text, decoded.charset)
            .map_err(|e| format!("settlement {id}: {e}"))?;
        let tz = self
            .ctx
            .config
            .routing_for(&rec.marketplace_id)
            .map_or(chrono_tz::UTC, |r| r.timezone.0);
        let market = (!rec.marketplace_id.is_empty()).then_some(rec.marketplace_id.as_str());
        let engine = Engine::new(mapping, calendar, tz, &rec.summary, market);
        let mut rows = Vec::with_capacity(file.body_lines());
        for r in file.rows() {
            rows.push(
                r.map_err(|e| format!("settlement {id}: {e}"))?
                    .to_owned_row(),
            );
        }
        let proposal =
            propose_file(&file, &engine, 1).map_err(|e| format!("settlement {id}: {e}"))?;
        Ok((rows, proposal))
    }

    /// The review model: the raw file re-parsed, the stored journals per period,
    /// the batches and the event group link.
    fn detail(
        &self,
        rec: &SettlementRecord,
        calendar: Calendar,
    ) -> Result<SettlementDetail, String> {
        let id = &rec.summary.settlement_id;
        let store = &self.ctx.store;
        let stored = store
            .proposals()
            .map_err(err)?
            .into_iter()
            .filter(|p| &p.batch.settlement_id == id)
            .collect::<Vec<_>>();
        // the mapping version the stored proposals were made with, else the current one
        let mapping = match stored.first() {
            Some(p) => match store
                .mapping(&p.mapping.name, p.mapping.version)
                .map_err(err)?
            {
                Some(v) => Mapping::parse(&v.text).map_err(err)?,
                None => self.current_mapping_parsed()?,
            },
            None => {
                let name = self.mapping_of(rec);
                match store.latest_mapping(&name).map_err(err)? {
                    Some(v) => Mapping::parse(&v.text).map_err(err)?,
                    None => Mapping::default_mapping(),
                }
            }
        };
        let (rows, mut proposal) = self.propose(rec, &mapping, calendar)?;
        // what is shown is what would be posted: the stored journals
        if !stored.is_empty() {
            let mut journals: Vec<Journal> = stored
                .iter()
                .filter_map(|p| super::convert::journal_of(id, &p.batch.period, &p.lines).ok())
                .collect();
            journals.sort_by_key(|j| j.accounting_date);
            proposal.journals = journals;
        }
        let batches = store
            .batches_for(id)
            .map_err(err)?
            .iter()
            .map(|b| self.batch_view(b))
            .collect::<Result<Vec<_>, _>>()?;
        let status_batches = store.batches_for(id).map_err(err)?;
        let summary = self.summary_view(rec, &status_batches);
        let event_group = match &rec.event_group_id {
            Some(g) => store.event_group(g).map_err(err)?.map(|e| EventGroupLink {
                group_id: e.group_id.clone(),
                // the client's model as stored (the raw SP-API shape as a fallback)
                total:
                    serde_json::from_value::<crate::amazon::models::finances::FinancialEventGroup>(
                        e.data.clone(),
                    )
                    .ok()
                    .and_then(|g| g.original_total.map(|m| m.amount))
                    .or_else(|| {
                        super::convert::event_group_totals(&e.data).map(|t| t.original_total)
                    })
                    .unwrap_or_default(),
            }),
            None => None,
        };
        Ok(SettlementDetail::new(
            summary,
            self.target(&rec.marketplace_id),
            rows,
            proposal,
            batches,
            event_group,
            ExternalChecks::default(),
        ))
    }

    /// A batch's history from the audit trail: when EBS imported it, its journals, and
    /// when they were found missing.
    fn history(&self, key: &view::BatchKey) -> Result<view::BatchHistoryView, String> {
        let entries: Vec<_> = self
            .ctx
            .store
            .audit_entries(Some(&key.settlement_id))
            .map_err(err)?
            .into_iter()
            .filter(|e| e.period.as_deref() == Some(key.period.as_str()))
            .collect();
        let status = |e: &crate::store::AuditEntry| {
            e.details
                .get("status")
                .and_then(|v| v.as_str())
                .map(str::to_string)
        };
        let outcome = crate::store::AuditAction::Outcome;
        let imported = entries
            .iter()
            .rev()
            .find(|e| e.action == outcome && status(e).as_deref() == Some("imported"));
        let missing = entries
            .iter()
            .rev()
            .find(|e| e.action == outcome && status(e).as_deref() == Some("vanished"));
        let mut journal_ids: Vec<String> = imported
            .and_then(|e| e.details.get("journals"))
            .and_then(|j| j.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|j| j.get("je_header_id"))
                    .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        if journal_ids.is_empty()
            && let Some(rec) = self.ctx.store.batch(&store_key(key)).map_err(err)?
        {
            journal_ids = rec.journal_ids.iter().map(|i| i.to_string()).collect();
        }
        Ok(view::BatchHistoryView {
            key: key.clone(),
            imported_at: imported.map(|e| e.time),
            journal_ids,
            missing_since: missing.map(|e| e.time),
            entries: entries
                .iter()
                .map(|e| AuditEntryView {
                    at: e.time,
                    actor: e.actor.clone(),
                    action: e.action.as_str().to_string(),
                    period: e.period.clone(),
                    detail: audit_detail(&e.details),
                })
                .collect(),
        })
    }

    fn audit(&self, id: Option<&str>) -> Result<Vec<AuditEntryView>, String> {
        Ok(self
            .ctx
            .store
            .audit_entries(id)
            .map_err(err)?
            .into_iter()
            .rev()
            .map(|e| AuditEntryView {
                at: e.time,
                actor: e.actor,
                action: e.action.as_str().to_string(),
                period: e.period,
                detail: audit_detail(&e.details),
            })
            .collect())
    }
}

/// A one-line reading of an audit entry's details (the batch body left out).
fn audit_detail(d: &serde_json::Value) -> String {
    match d {
        serde_json::Value::Object(m) => m
            .iter()
            .filter(|(k, _)| k.as_str() != "batch")
            .map(|(k, v)| match v {
                serde_json::Value::String(s) => format!("{k}={s}"),
                other => {
                    let t = other.to_string();
                    if t.chars().count() > 80 {
                        format!("{k}={}…", t.chars().take(80).collect::<String>())
                    } else {
                        format!("{k}={t}")
                    }
                }
            })
            .collect::<Vec<_>>()
            .join(" "),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audit_details_read_as_one_line_without_the_batch_body() {
        let d = serde_json::json!({
            "revision": 2,
            "group_id": "5001",
            "batch": {"lines": [1, 2, 3]},
            "lines": (0..40).collect::<Vec<_>>(),
        });
        let text = audit_detail(&d);
        assert!(
            text.starts_with("revision=2 group_id=5001 lines=[0,1,"),
            "{text}"
        );
        assert!(!text.contains("batch"), "{text}");
        assert!(text.ends_with('…'), "long values are cut: {text}");
        assert_eq!(audit_detail(&serde_json::Value::Null), "");
    }

    #[test]
    fn only_batches_not_yet_in_ebs_are_proposed_again() {
        use BatchState::*;
        for s in [Proposed, NeedsMapping, Inconsistent, Approved, Rejected] {
            assert!(reproposable(s), "{s}");
        }
        for s in [
            Staged, Submitted, Imported, Posted, Reversed, Archived, Vanished,
        ] {
            assert!(!reproposable(s), "{s}");
        }
    }

    #[test]
    fn batch_keys_convert_both_ways() {
        let k = BatchKey::new("123", "OCT-26");
        assert_eq!(store_key(&app_key(&k)), k);
    }
}
