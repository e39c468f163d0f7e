//! Runs one app [`Effect`] against the store, the posting engine and EBS, and answers
//! with the [`Msg`]s the app expects (batches re-sent only when their view changed).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::Utc;

use crate::app::view::{self, BatchView, ExternalChecks, SettlementDetail};
use crate::app::{Effect, Msg};
use crate::ledger::state::BatchState;
use crate::store::{BatchKey, SettlementRecord};
use crate::sync::messages::SyncMsg;
use crate::sync::reversal::ReversalPlan;

use super::mapping_editor::{preview, save_mapping, validate_account};
use super::{Inner, WorkstationError, app_key, store_key};

/// Carries out `effect`; what fails is shown to the accountant as an error message.
pub(super) async fn execute(inner: &Arc<Inner>, effect: Effect) -> Result<(), WorkstationError> {
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
                        let current = i.ctx.store.proposal(&key)?;
                        if let (Some(seen), Some(p)) = (&a.proposal_hash, &current)
                            && seen != &p.proposal_hash
                        {
                            return Err(WorkstationError::ProposalChanged(key));
                        }
                    }
                    let keys: Vec<BatchKey> = batches.iter().map(|a| store_key(&a.key)).collect();
                    i.engine
                        .approve(&keys, &actor, Utc::now())
                        .map_err(WorkstationError::from)
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
                .blocking(move |i| {
                    i.engine
                        .unapprove(&k, &actor, Utc::now())
                        .map_err(WorkstationError::from)
                })
                .await;
            send_batches(inner, &keys).await;
            result?;
            inner
                .say(Msg::Info(format!("withdrew {} approval(s)", keys.len())))
                .await;
        }
        Effect::Post {
            batches,
            actor,
            override_order,
        } => post(inner, batches, override_order.then_some(actor)).await?,
        Effect::ValidateAccount(account) => {
            let result = validate_account(inner, &account).await;
            inner.say(Msg::MappingValidated { account, result }).await;
        }
        Effect::PreviewMapping(draft) => preview(inner, draft).await?,
        Effect::SaveMapping { draft, actor } => save_mapping(inner, draft, actor).await?,
        Effect::PlanReversal { key, into } => {
            let k = store_key(&key);
            let plan = inner.engine.plan_reversal(&k, into.as_deref()).await?;
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
        Effect::LoadPostedDiff(key) => {
            let k = store_key(&key);
            let (revision, changes) = inner.blocking(move |i| posted_diff(i, &k)).await?;
            inner
                .say(Msg::PostedDiff {
                    key,
                    revision,
                    changes,
                })
                .await;
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
                        .map_err(WorkstationError::from)
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
        // handled by the dispatch loop (mod.rs)
        Effect::SyncNow | Effect::Quit | Effect::Export { .. } | Effect::LoadOrder(_) => {}
    }
    Ok(())
}

fn plan_view(plan: &ReversalPlan) -> view::ReversalPlanView {
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
) -> Result<(), WorkstationError> {
    let k = store_key(&key);
    let shown = inner
        .plans
        .lock()
        .ok()
        .and_then(|mut p| p.remove(&k))
        .filter(|p| into.as_deref().is_none_or(|i| p.batch.period_name == i));
    let plan = match shown {
        Some(p) => p,
        None => inner.engine.plan_reversal(&k, into.as_deref()).await?,
    };
    if let Ok(mut p) = inner.posting.lock() {
        p.insert(k.clone());
    }
    let sink = &inner.sink;
    let progress = |p: crate::sync::posting::PostingProgress| {
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
    let out = result?;
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
pub(super) async fn send_batches(inner: &Arc<Inner>, keys: &[BatchKey]) {
    let keys = keys.to_vec();
    let views = inner
        .blocking(move |i| {
            let mut out = Vec::new();
            for k in &keys {
                if let Some(rec) = i.ctx.store.batch(k)? {
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

pub(super) fn remember(inner: &Inner, all: &[BatchView]) {
    if let Ok(mut s) = inner.sent.lock() {
        for v in all {
            s.insert(store_key(&v.key), v.clone());
        }
    }
}

/// Asks EBS for the phase and status of requests not known complete; re-sends changed batches.
pub(super) async fn refresh_requests(inner: &Arc<Inner>, views: Vec<BatchView>) {
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

async fn load_detail(inner: &Arc<Inner>, id: String) -> Result<(), WorkstationError> {
    if let Ok(mut f) = inner.focus.lock() {
        *f = Some(id.clone());
    }
    let rec = {
        let id = id.clone();
        inner
            .blocking(move |i| {
                i.ctx
                    .store
                    .settlement(&id)?
                    .ok_or_else(|| WorkstationError::UnknownSettlement(id.clone()))
            })
            .await?
    };
    let mut detail = review(inner, &rec).await?;
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

/// The review of a settlement: its rows, proposal and batches through the one shared path
/// (`sync::batches`); without EBS it cannot be built, and the error says so.
async fn review(
    inner: &Arc<Inner>,
    rec: &SettlementRecord,
) -> Result<SettlementDetail, WorkstationError> {
    let r = rec.clone();
    let mapping = inner.blocking(move |i| i.review_mapping(&r)).await?;
    let built = inner.build(rec, &mapping, true).await?;
    let r = rec.clone();
    inner.blocking(move |i| i.detail(&r, &mapping, built)).await
}

async fn external_checks(
    inner: &Arc<Inner>,
    rec: &SettlementRecord,
    detail: &SettlementDetail,
) -> Option<ExternalChecks> {
    let route = inner.ctx.config.routing_for(&rec.marketplace_id)?;
    let client = inner.ctx.ebs.get(&route.ledger_id)?;
    let ledger = route.ledger_id.to_string();
    let open = inner.ctx.ledgers.open_periods(client, &ledger).await.ok()?;
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
            let info = client.account(&ledger, &l.account).await.ok()?;
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

/// Posts the confirmed batches; `override_by`: the accountant who overrode the settlement
/// order in the confirmation (each batch posted out of order is audited under that name).
async fn post(
    inner: &Arc<Inner>,
    batches: Vec<view::BatchKey>,
    override_by: Option<String>,
) -> Result<(), WorkstationError> {
    let keys: Vec<BatchKey> = batches.iter().map(store_key).collect();
    if let Ok(mut p) = inner.posting.lock() {
        p.extend(keys.iter().cloned());
    }
    let engine = match override_by {
        Some(by) => inner.engine.clone().with_order_override(by),
        None => inner.engine.clone(),
    };
    let result = engine.post_batches(&keys, &inner.sink).await;
    if let Ok(mut p) = inner.posting.lock() {
        for k in &keys {
            p.remove(k);
        }
    }
    send_batches(inner, &keys).await;
    let outcomes = result?;
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
    let mut errors: Vec<String> = outcomes.iter().filter_map(|o| o.error.clone()).collect();
    // held back by settlement order: say which settlement it waits for
    errors.extend(
        outcomes
            .iter()
            .filter(|o| o.error.is_none())
            .filter_map(|o| o.reason.as_ref().map(|r| (o, r)))
            .filter(|(_, r)| r.starts_with(crate::sync::posting::WAITING_FOR_PREVIOUS))
            .map(|(o, r)| format!("{}: {r}", o.key)),
    );
    if errors.is_empty() {
        inner.say(Msg::Info(format!("posted: {text}"))).await;
    } else {
        inner
            .say(Msg::Error(format!("posted: {text}; {}", errors.join("; "))))
            .await;
    }
    // the review's account and period checks follow what EBS said
    refresh_views(inner).await;
    Ok(())
}

/// Settlements whose post is half done: some periods in EBS (staged or later), others
/// still only approved. Said at the workstation's start and when it exits.
pub fn unfinished_posts(store: &crate::store::Store) -> Result<Vec<String>, WorkstationError> {
    let mut by: BTreeMap<String, Vec<(String, BatchState)>> = BTreeMap::new();
    for b in store.batches()? {
        by.entry(b.settlement_id.clone())
            .or_default()
            .push((b.period.clone(), b.state));
    }
    let mut out = Vec::new();
    for (id, mut list) in by {
        let sent = list.iter().any(|(_, s)| {
            matches!(
                s,
                BatchState::Staged
                    | BatchState::Submitted
                    | BatchState::Imported
                    | BatchState::Posted
            )
        });
        let waiting = list.iter().any(|(_, s)| *s == BatchState::Approved);
        if sent && waiting {
            list.sort_by_key(|(p, _)| crate::ledger::periods::period_order_key(p));
            let what = list
                .iter()
                .map(|(p, s)| format!("{p} {s}"))
                .collect::<Vec<_>>()
                .join(", ");
            out.push(format!("settlement {id} is half posted ({what})"));
        }
    }
    Ok(out)
}

/// Re-sends the settlement list and the open review.
pub(super) async fn refresh_views(inner: &Arc<Inner>) {
    if let Ok(list) = inner.blocking(|i| i.summaries()).await {
        inner.say(Msg::SettlementsLoaded(list)).await;
    }
    let focus = inner.focus.lock().ok().and_then(|f| f.clone());
    if let Some(id) = focus
        && let Err(e) = reload_detail(inner, id).await
    {
        inner.say(Msg::Error(e.to_string())).await;
    }
}

async fn reload_detail(inner: &Arc<Inner>, id: String) -> Result<(), WorkstationError> {
    let rec = {
        let id = id.clone();
        inner
            .blocking(move |i| i.ctx.store.settlement(&id).map_err(WorkstationError::from))
            .await?
    };
    let Some(rec) = rec else { return Ok(()) };
    let mut detail = review(inner, &rec).await?;
    if let Some(checks) = external_checks(inner, &rec, &detail).await {
        detail.checks = checks;
        detail.verdicts = detail.compute_verdicts();
    }
    inner.say(Msg::DetailLoaded(Box::new(detail))).await;
    Ok(())
}

/// The last revision of `key` that was posted and then reversed, and per account how the
/// current proposal's net (credit − debit) differs from what that revision sent to EBS.
fn posted_diff(
    i: &Inner,
    key: &BatchKey,
) -> Result<(u32, Vec<view::ProposalChange>), WorkstationError> {
    use crate::store::{AuditAction, ReversalDetails, StagingDetails};
    use rust_decimal::Decimal;
    let entries = i.ctx.store.audit_entries_for_batch(key)?;
    let Some(reversed) = entries
        .iter()
        .rev()
        .filter(|e| e.action == AuditAction::Reversal)
        .find_map(|e| ReversalDetails::of(e).ok())
        .map(|d| d.revision)
    else {
        return Ok((0, Vec::new()));
    };
    let Some(sent) = entries
        .iter()
        .rev()
        .filter(|e| e.action == AuditAction::Staging)
        .filter_map(|e| StagingDetails::of(e).ok())
        .find(|d| d.revision == reversed)
        .map(|d| d.batch)
    else {
        return Ok((0, Vec::new()));
    };
    let mut nets: BTreeMap<String, (Decimal, Decimal)> = BTreeMap::new();
    for l in &sent.lines {
        nets.entry(l.account.clone()).or_default().0 +=
            l.entered_cr.unwrap_or_default() - l.entered_dr.unwrap_or_default();
    }
    if let Some(p) = i.ctx.store.proposal(key)? {
        for l in &p.lines.lines {
            nets.entry(l.account.clone()).or_default().1 += l.credit - l.debit;
        }
    }
    let currency = crate::ledger::money::Currency::new(&sent.currency);
    let changes = nets
        .into_iter()
        .filter(|(_, (before, after))| before != after)
        .map(|(account, (before, after))| view::ProposalChange {
            settlement_id: key.settlement_id.clone(),
            period: key.period.clone(),
            label: account.clone(),
            account,
            currency: currency.clone(),
            before,
            after,
        })
        .collect();
    Ok((reversed, changes))
}
