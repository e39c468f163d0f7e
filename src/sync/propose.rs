//! Proposing: a pulled settlement becomes one journal batch per ledger period.
//!
//! Inputs, all read fresh each run: the mapping version the store holds (a mapping
//! file whose hash changed is imported first as a new, audited version: the store
//! is authoritative), the marketplace's routing (ledger, time zone, mapping
//! override) and what EBS says about the ledger, through
//! [`batches::settlement_batches`] (the one path from a settlement to its journals and
//! GL batches): its calendar from the periods EBS reports open (a gap between open
//! periods is a closed period: its rows roll into the first open period after it, their
//! own period kept on the line), its currency and, for a settlement in another currency,
//! the rate.
//!
//! Rules:
//! - a settlement ending before `[cutover] date` is archived, never proposed;
//! - a new settlement is linked to its financial event group and proposed at once;
//! - a new mapping version re-proposes every batch not yet staged, and every
//!   rejected one (which stays rejected until approved again, unless the new
//!   proposal is itself blocked);
//! - an approved batch whose proposal changed loses its approval (back to its
//!   proposal's state); an unchanged proposal keeps it;
//! - a foreign-currency settlement whose rate is not there yet waits as `needs_rate`
//!   (naming type, currency pair and date) and is proposed again by every run until it is.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};

use crate::amazon::link::{LinkOutcome, link_settlement};
use crate::amazon::models::finances::FinancialEventGroup;
use crate::ledger::mapping::Mapping;
use crate::ledger::periods::{Calendar, Period, local_day};
use crate::ledger::proposal_hash::{PROPOSAL_HASH_VERSION, proposal_hash};
use crate::ledger::state::BatchState;
use crate::store::{
    AuditAction, BatchKey, BatchRecord, MappingRef, MappingVersion, NewAuditEntry, Proposal,
    SettlementRecord,
};

use super::batches::{self, Gl};
use super::context::SyncContext;
use super::messages::{ProgressSink, SyncError};

/// What one proposing pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ProposeSummary {
    /// Batches created or whose proposal changed, with their state.
    pub proposed: Vec<(BatchKey, BatchState)>,
    pub archived: Vec<String>,
    /// Settlements linked to their event group in this pass.
    pub linked: Vec<(String, String)>,
    /// Approvals that lapsed because the proposal changed.
    pub lapsed: Vec<BatchKey>,
    /// Settlements that could not be proposed, with why (without the settlement id: they
    /// wait; nothing is lost).
    pub failed: Vec<(String, String)>,
}

/// The name a mapping file is kept under in the store (its file name).
pub fn mapping_name(path: &std::path::Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// Imports every configured mapping file whose hash changed; returns the version in
/// force per mapping name. A missing file keeps the stored version.
pub fn sync_mappings(
    ctx: &SyncContext,
    now: DateTime<Utc>,
) -> Result<BTreeMap<String, MappingVersion>, SyncError> {
    let mut out = BTreeMap::new();
    for path in ctx.config.mapping_paths() {
        let name = mapping_name(&path);
        let version = match std::fs::read_to_string(&path) {
            Ok(text) => {
                // A broken file is a configuration problem of its own, never a new version.
                Mapping::parse(&text).map_err(|e| SyncError::Mapping {
                    path: path.display().to_string(),
                    problem: e.to_string(),
                })?;
                let (v, _new) = ctx.store.import_mapping(
                    &name,
                    &text,
                    &path.display().to_string(),
                    &ctx.actor,
                    now,
                )?;
                Some(v)
            }
            Err(_) => ctx.store.latest_mapping(&name)?,
        };
        if let Some(v) = version {
            out.insert(name, v);
        }
    }
    Ok(out)
}

/// EBS-style period name (`JUL-25`) of a month.
fn month_name(d: NaiveDate) -> String {
    d.format("%b-%y").to_string().to_uppercase()
}

fn closed_months(from: NaiveDate, to: NaiveDate, out: &mut Vec<Period>) {
    let mut start = from;
    while start <= to {
        let next_month = NaiveDate::from_ymd_opt(start.year(), start.month(), 1)
            .and_then(|d| d.checked_add_months(Months::new(1)))
            .unwrap_or(to.succ_opt().unwrap_or(to));
        let end = next_month.pred_opt().unwrap_or(to).min(to);
        out.push(Period {
            name: month_name(start),
            start,
            end,
            open: false,
        });
        match end.succ_opt() {
            Some(n) => start = n,
            None => break,
        }
    }
}

/// A calendar from the open periods EBS reports, with every gap before and between
/// them (back to `from`) filled by closed periods, one per calendar month.
pub fn calendar_from_open(
    open: &[crate::ebs::checks::OpenPeriod],
    from: NaiveDate,
) -> Option<Calendar> {
    let mut open: Vec<_> = open.to_vec();
    open.sort_by_key(|p| p.start);
    open.dedup_by_key(|p| p.start);
    let first = open.first()?;
    let mut periods = Vec::new();
    if from < first.start {
        closed_months(from, first.start.pred_opt()?, &mut periods);
    }
    let mut prev_end: Option<NaiveDate> = None;
    for p in &open {
        if let Some(e) = prev_end
            && p.start > e.succ_opt()?
        {
            closed_months(e.succ_opt()?, p.start.pred_opt()?, &mut periods);
        }
        periods.push(Period {
            name: p.name.clone(),
            start: p.start,
            end: p.end,
            open: true,
        });
        prev_end = Some(p.end);
    }
    Calendar::new(periods).ok()
}

fn batch_state_of(p: &crate::ledger::journal::Proposal) -> (BatchState, Option<String>) {
    if !p.consistent {
        return (BatchState::Inconsistent, Some(p.blockers.join("; ")));
    }
    if !p.unmapped.is_empty() {
        let list: Vec<String> = p
            .unmapped
            .iter()
            .map(|u| {
                format!(
                    "{}/{}/{} ({} rows, {})",
                    u.transaction_type, u.amount_type, u.amount_description, u.rows, u.amount
                )
            })
            .collect();
        return (
            BatchState::NeedsMapping,
            Some(format!("unmapped: {}", list.join(", "))),
        );
    }
    if !p.postable {
        return (BatchState::NeedsMapping, Some(p.blockers.join("; ")));
    }
    (BatchState::Proposed, None)
}

/// Links unlinked settlements to their event group (exactly one candidate fits).
fn link_groups(
    ctx: &SyncContext,
    now: DateTime<Utc>,
    summary: &mut ProposeSummary,
) -> Result<(), SyncError> {
    let groups = ctx.store.event_groups()?;
    let taken: BTreeSet<String> = groups
        .iter()
        .filter(|g| g.settlement_id.is_some())
        .map(|g| g.group_id.clone())
        .collect();
    for rec in ctx.store.settlements()? {
        if rec.event_group_id.is_some() {
            continue;
        }
        let candidates: Vec<FinancialEventGroup> = groups
            .iter()
            .filter(|g| g.seller == rec.seller && !taken.contains(&g.group_id))
            .filter_map(|g| serde_json::from_value(g.data.clone()).ok())
            .collect();
        let market = (!rec.marketplace_id.is_empty()).then_some(rec.marketplace_id.as_str());
        if let LinkOutcome::Linked(c) = link_settlement(&rec.summary, market, &candidates) {
            let audit = NewAuditEntry::new(now, &ctx.actor, AuditAction::Pull)
                .settlement(&rec.summary.settlement_id)
                .details(serde_json::json!({ "linked_event_group": c.group_id }));
            ctx.store
                .link_event_group(&rec.summary.settlement_id, &c.group_id, Some(audit))?;
            summary
                .linked
                .push((rec.summary.settlement_id.clone(), c.group_id));
        }
    }
    Ok(())
}

/// Proposes what is new or changed: new settlements, every batch whose mapping
/// version is older than the one in force (not yet staged, or rejected), and
/// archives settlements before the cutover.
pub async fn propose_pending(
    ctx: &SyncContext,
    sink: &ProgressSink,
    now: DateTime<Utc>,
) -> Result<ProposeSummary, SyncError> {
    let mut summary = ProposeSummary::default();
    let mappings = sync_mappings(ctx, now)?;
    link_groups(ctx, now, &mut summary)?;
    let settlements = ctx.store.settlements()?;
    let total = settlements.len() as u64;
    for (i, rec) in settlements.iter().enumerate() {
        sink.progress("propose", "settlements", i as u64, Some(total));
        let id = rec.summary.settlement_id.clone();
        match propose_one(ctx, rec, &mappings, now, sink, &mut summary).await {
            Ok(()) => {}
            Err(SyncError::Ledger { reason, .. }) => {
                sink.error(&format!("settlement {id}"), &reason, false);
                summary.failed.push((id, reason));
            }
            Err(e @ SyncError::Setup(_)) => {
                sink.error(&format!("settlement {id}"), &e, false);
                summary.failed.push((id, e.to_string()));
            }
            Err(e) => return Err(e),
        }
    }
    sink.progress("propose", "settlements", total, Some(total));
    Ok(summary)
}

async fn propose_one(
    ctx: &SyncContext,
    rec: &SettlementRecord,
    mappings: &BTreeMap<String, MappingVersion>,
    now: DateTime<Utc>,
    sink: &ProgressSink,
    summary: &mut ProposeSummary,
) -> Result<(), SyncError> {
    let id = &rec.summary.settlement_id;
    let existing = ctx.store.batches_for(id)?;
    let route = batches::routing_of(ctx, rec)?;
    let tz = route.timezone.0;
    // Cutover: archived once, never proposed.
    if let Some(cutover) = ctx.config.cutover.date
        && local_day(tz, rec.summary.end) < cutover
    {
        if existing.is_empty() {
            let end = local_day(tz, rec.summary.end);
            let key = BatchKey::new(id, month_name(end));
            let mut b = BatchRecord::new(&key, BatchState::Archived, now);
            b.reason = Some(format!(
                "settlement ends {end}, before the cutover {cutover}"
            ));
            let audit = NewAuditEntry::new(now, &ctx.actor, AuditAction::Archive)
                .settlement(id)
                .details(serde_json::json!({ "cutover": cutover.to_string() }));
            ctx.store.create_batch(&b, Some(audit))?;
            sink.batch(&key, BatchState::Archived, b.reason.clone());
            summary.archived.push(id.clone());
        }
        return Ok(());
    }
    let name = mapping_name(&ctx.config.mapping_path_for(&rec.marketplace_id));
    let mapping = mappings.get(&name).ok_or_else(|| {
        SyncError::ledger(
            id,
            format!("mapping `{name}` is neither in the store nor readable on disk"),
        )
    })?;
    let mref = MappingRef {
        name: mapping.name.clone(),
        version: mapping.version,
    };
    // Anything to do? New settlement, a batch that a newer mapping re-proposes, or one
    // waiting for its conversion rate (looked for again every run).
    let stale = |b: &BatchRecord| -> Result<bool, SyncError> {
        if b.state == BatchState::NeedsRate {
            return Ok(true);
        }
        let reproposable = matches!(
            b.state,
            BatchState::Proposed
                | BatchState::NeedsMapping
                | BatchState::Inconsistent
                | BatchState::Approved
                | BatchState::Rejected
                | BatchState::Reversed
        );
        Ok(reproposable
            && ctx
                .store
                .proposal(&b.key())?
                .is_none_or(|p| p.mapping != mref))
    };
    let mut any_stale = false;
    for b in &existing {
        if stale(b)? {
            any_stale = true;
        }
    }
    if !existing.is_empty() && !any_stale {
        return Ok(());
    }
    let parsed = Mapping::parse(&mapping.text).map_err(|e| SyncError::Mapping {
        path: format!(
            "{} version {} (kept in the store, from {})",
            mapping.name, mapping.version, mapping.source
        ),
        problem: e.to_string(),
    })?;
    let by_key: BTreeMap<BatchKey, BatchRecord> =
        existing.into_iter().map(|b| (b.key(), b)).collect();
    let revision_of = |period: &str| {
        by_key
            .get(&BatchKey::new(id, period))
            .map_or(1, |b| b.revision)
    };
    // The one path from a stored settlement to its journals and GL batches.
    let built = batches::settlement_batches(ctx, rec, &parsed, revision_of, false).await?;
    let proposal = built.proposal;
    let (mut state, mut reason) = batch_state_of(&proposal);
    if state == BatchState::Proposed {
        match built.gl {
            Gl::NeedsRate(wanted) => {
                state = BatchState::NeedsRate;
                reason = Some(wanted.to_string());
            }
            Gl::Invalid(why) => {
                state = BatchState::NeedsMapping;
                reason = Some(format!(
                    "cannot be converted into the ledger currency: {why}"
                ));
            }
            Gl::Batches(_) | Gl::NotPostable | Gl::NoEbs => {}
        }
    }
    for journal in &proposal.journals {
        let key = BatchKey::new(id, &journal.period);
        let hash = proposal_hash(id, rec.summary.currency.code(), state, journal);
        let mut reason = reason.clone();
        if state == BatchState::Proposed && !journal.is_balanced() {
            reason = Some(format!(
                "journal does not balance (Dr {} Cr {})",
                journal.total_debit, journal.total_credit
            ));
        }
        let stored = Proposal {
            batch: key.clone(),
            mapping: mref.clone(),
            proposal_hash: hash.clone(),
            hash_version: PROPOSAL_HASH_VERSION,
            legacy_hash: None,
            created_at: now,
            outcome: state,
            reason: reason.clone(),
            lines: journal.clone(),
        };
        let old = ctx.store.proposal(&key)?;
        // A batch still waiting for its rate, unchanged: nothing to record.
        if let Some(b) = by_key.get(&key)
            && b.state == state
            && b.reason == reason
            && old
                .as_ref()
                .is_some_and(|p| p.proposal_hash == hash && p.mapping == mref)
        {
            continue;
        }
        let audit = NewAuditEntry::new(now, &ctx.actor, AuditAction::Proposal)
            .settlement(id)
            .period(&journal.period)
            .sha256(hash.clone())
            .details(serde_json::json!({
                "mapping": mref.name, "mapping_version": mref.version, "outcome": state,
                "previous_sha256": old.as_ref().map(|p| p.proposal_hash.clone()),
            }));
        match by_key.get(&key) {
            None => {
                ctx.store.put_proposal(&stored, Some(audit))?;
                let mut b = BatchRecord::new(&key, state, now);
                b.reason = reason.clone();
                ctx.store.create_batch(&b, None)?;
                sink.batch(&key, state, reason.clone());
                summary.proposed.push((key, state));
            }
            Some(b) if stale(b)? => {
                ctx.store.put_proposal(&stored, Some(audit))?;
                let mut after = b.clone();
                after.updated_at = now;
                after.reason = reason.clone();
                let mut lapse = None;
                match b.state {
                    BatchState::Approved => {
                        if !b.approval_holds_for(&stored) {
                            after.state = state;
                            after.approval = None;
                            lapse = Some(
                                NewAuditEntry::new(now, &ctx.actor, AuditAction::Unapproval)
                                    .settlement(id)
                                    .period(&journal.period)
                                    .sha256(hash.clone())
                                    .details(serde_json::json!({
                                        "reason": "the proposal changed (new mapping version)"
                                    })),
                            );
                            summary.lapsed.push(key.clone());
                        }
                    }
                    BatchState::Rejected if state == BatchState::Proposed => {
                        after.reason = Some(format!(
                            "re-proposed with mapping {} v{}; approve to post as revision {}",
                            mref.name,
                            mref.version,
                            b.revision + 1
                        ));
                    }
                    // Reversed stays reversed until approved (its next revision follows the
                    // reversing journal's); the reason says what the new proposal is.
                    BatchState::Reversed => {
                        after.reason = Some(if state == BatchState::Proposed {
                            format!(
                                "reversed; re-proposed with mapping {} v{}: approve to post the correction as revision {}",
                                mref.name,
                                mref.version,
                                b.revision + 1
                            )
                        } else {
                            format!(
                                "reversed; re-proposed with mapping {} v{}: {state}{}",
                                mref.name,
                                mref.version,
                                reason
                                    .as_deref()
                                    .map(|r| format!(" ({r})"))
                                    .unwrap_or_default()
                            )
                        });
                    }
                    _ => after.state = state,
                }
                if &after != b {
                    ctx.store.transition(b, &after, lapse)?;
                }
                sink.batch(&key, after.state, after.reason.clone());
                summary.proposed.push((key, after.state));
            }
            Some(_) => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ebs::checks::OpenPeriod;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn calendar_fills_gaps_with_closed_months() {
        let open = vec![
            OpenPeriod {
                name: "SEP-25".into(),
                start: d("2025-09-01"),
                end: d("2025-09-30"),
                status: "O".into(),
            },
            OpenPeriod {
                name: "JUL-25".into(),
                start: d("2025-07-01"),
                end: d("2025-07-31"),
                status: "O".into(),
            },
        ];
        let cal = calendar_from_open(&open, d("2025-05-15")).unwrap();
        let got: Vec<(String, bool)> = cal
            .periods
            .iter()
            .map(|p| (p.name.clone(), p.open))
            .collect();
        assert_eq!(
            got,
            vec![
                ("MAY-25".into(), false),
                ("JUN-25".into(), false),
                ("JUL-25".into(), true),
                ("AUG-25".into(), false),
                ("SEP-25".into(), true),
            ]
        );
        assert_eq!(cal.periods[0].start, d("2025-05-15"));
        assert_eq!(cal.periods[3].end, d("2025-08-31"));
        assert!(calendar_from_open(&[], d("2025-01-01")).is_none());
    }
}
