//! Pulling one seller: settlement reports, financial event groups, orders.
//!
//! Each step resumes from a cursor persisted in the store, so a restart asks
//! Amazon only for what it has not kept yet, and a report already pulled (its
//! [`ReportRecord::pulled_at`] set) is never downloaded again. A settlement file
//! is kept verbatim (bytes, charset, hash) before its parsed summary is stored,
//! so nothing that was proved with can be lost. Rate-limit waits and progress go
//! to the [`ProgressSink`]; nothing here prints.
//!
//! Time windows (`createdSince`, `PostedAfter`…) are computed from Amazon's clock,
//! learned before the first of them; every wait stops when the run's token fires; the
//! whole pull of a seller has a deadline
//! ([`StepDeadlines::pull_seller`](super::context::StepDeadlines::pull_seller)).
//!
//! Two clocks: Amazon's (the client's server-corrected clock) only for what Amazon
//! validates (query windows); every time this side records (audit entries, `fetched_at`,
//! `pulled_at`, cursor updates) is the local clock, so the audit trail runs on one clock.
//! Amazon's time of a download is kept as data (`amazon_time` in the pull entry).

use chrono::{DateTime, Duration, Utc};
use futures::TryStreamExt;
use tokio_util::sync::CancellationToken;

use crate::amazon::finances::EventGroupsQuery;
use crate::amazon::models::reports::ProcessingStatus;
use crate::amazon::orders::OrdersQuery;
use crate::amazon::reports::ReportsQuery;
use crate::amazon::{Operation, Page};
use crate::store::{
    AuditAction, EventGroupRecord, NewAuditEntry, OrderRecord, RawFileMeta, RawPut, ReportRecord,
    SettlementRecord,
};

use super::context::{SellerHandle, SyncContext, within_deadline};
use super::messages::{ProgressSink, SyncError, SyncMsg};

/// Amazon keeps reports 90 days; a first pull looks back this far.
pub const FIRST_LOOKBACK_DAYS: i64 = 89;
/// Cursors step back this much so late-listed items are not missed (keys dedupe).
pub const CURSOR_OVERLAP_HOURS: i64 = 48;

/// Key under which a closed group's financial events are kept in its record's `data`
/// (beside the group's own fields, as Amazon names them).
pub const EVENTS_KEY: &str = "FinancialEvents";

/// What one pull of one seller did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct PullSummary {
    pub reports_listed: u64,
    /// Settlement files downloaded (new or changed).
    pub settlements_downloaded: u64,
    /// Settlement ids newly stored.
    pub new_settlements: Vec<String>,
    pub event_groups: u64,
    pub orders: u64,
}

fn cursor_time(ctx: &SyncContext, name: &str) -> Result<Option<DateTime<Utc>>, SyncError> {
    Ok(ctx
        .store
        .cursor(name)?
        .and_then(|c| c.value.as_str().map(str::to_string))
        .and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
        .map(|t| t.with_timezone(&Utc)))
}

fn set_cursor_time(
    ctx: &SyncContext,
    name: &str,
    at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), SyncError> {
    ctx.store
        .set_cursor(name, serde_json::json!(at.to_rfc3339()), now)?;
    Ok(())
}

/// This side's clock (audit entries and fetch times).
fn local_now() -> DateTime<Utc> {
    Utc::now()
}

fn since(cursor: Option<DateTime<Utc>>, now: DateTime<Utc>) -> DateTime<Utc> {
    let floor = now - Duration::days(FIRST_LOOKBACK_DAYS);
    match cursor {
        Some(c) => (c - Duration::hours(CURSOR_OVERLAP_HOURS)).max(floor),
        None => floor,
    }
}

/// Reports the limiter's wait before a call when it is noticeable.
fn announce_wait(seller: &SellerHandle, sink: &ProgressSink, op: Operation) {
    let plan = seller.client.limiter().plan(op);
    if seller.client.limiter().available(op) < 1.0 && plan.rate > 0.0 {
        let secs = (1.0 / plan.rate) / seller.client.time_scale().max(f64::MIN_POSITIVE);
        sink.rate_limited(
            seller.name(),
            op.name(),
            std::time::Duration::from_secs_f64(secs.min(3600.0)),
        );
    }
}

/// An SP-API failure of a seller; a stop request stays a stop request.
fn amazon_error(seller: &str, e: crate::amazon::Error) -> SyncError {
    match e {
        crate::amazon::Error::Cancelled => SyncError::Cancelled,
        e => SyncError::amazon(seller, e),
    }
}

/// Pulls everything of one seller; stops between items, and in any wait, when `cancel`
/// fires. Fails with [`SyncError::Deadline`] past `ctx.deadlines.pull_seller`.
pub async fn pull_seller(
    ctx: &SyncContext,
    seller: &SellerHandle,
    sink: &ProgressSink,
    cancel: &CancellationToken,
) -> Result<PullSummary, SyncError> {
    let step = format!("pull of seller {}", seller.name());
    within_deadline(&step, ctx.deadlines.pull_seller, async {
        // The run's stop signal ends the client's waits too (pacing, backoff, requests).
        let seller = &SellerHandle {
            config: seller.config.clone(),
            client: seller.client.with_cancel(cancel.clone()),
        };
        // Amazon's clock before any window is computed from "now".
        seller
            .client
            .sync_clock()
            .await
            .map_err(|e| amazon_error(seller.name(), e))?;
        let mut summary = PullSummary::default();
        pull_settlements(ctx, seller, sink, cancel, &mut summary).await?;
        pull_event_groups(ctx, seller, sink, cancel, &mut summary).await?;
        pull_orders(ctx, seller, sink, cancel, &mut summary).await?;
        Ok(summary)
    })
    .await
}

async fn pull_settlements(
    ctx: &SyncContext,
    seller: &SellerHandle,
    sink: &ProgressSink,
    cancel: &CancellationToken,
    summary: &mut PullSummary,
) -> Result<(), SyncError> {
    let name = seller.name().to_string();
    let amz = |e| amazon_error(&name, e);
    let cursor_name = format!("reports:{name}");
    let now = seller.client.now();
    let mut query = ReportsQuery::settlements();
    query.created_since = Some(since(cursor_time(ctx, &cursor_name)?, now));
    announce_wait(seller, sink, Operation::GetReports);
    let pages: Vec<Page<_>> = seller
        .client
        .reports(query, None)
        .try_collect()
        .await
        .map_err(amz)?;
    let mut reports: Vec<_> = pages.into_iter().flat_map(|p| p.items).collect();
    reports.sort_by_key(|r| r.created_time.as_ref().and_then(|t| t.at()));
    summary.reports_listed = reports.len() as u64;
    let known: std::collections::BTreeMap<String, ReportRecord> = ctx
        .store
        .reports()?
        .into_iter()
        .map(|r| (r.report_id.clone(), r))
        .collect();
    let total = reports.len() as u64;
    let mut newest = cursor_time(ctx, &cursor_name)?;
    for (i, report) in reports.iter().enumerate() {
        if cancel.is_cancelled() {
            return Err(SyncError::Cancelled);
        }
        sink.progress(&name, "settlements", i as u64, Some(total));
        let created = report.created_time.as_ref().and_then(|t| t.at());
        let marketplace = report.marketplace_ids.first().cloned().or_else(|| {
            seller
                .config
                .marketplaces
                .first()
                .map(|m| m.as_str().to_string())
        });
        let done = report.processing_status == ProcessingStatus::Done;
        let previous = known.get(&report.report_id);
        if previous.is_some_and(|r| r.pulled_at.is_some()) {
            continue;
        }
        let mut record = ReportRecord {
            report_id: report.report_id.clone(),
            seller: name.clone(),
            marketplace_id: marketplace.clone(),
            settlement_id: previous.and_then(|p| p.settlement_id.clone()),
            created: created.unwrap_or(now),
            pulled_at: None,
        };
        if !done {
            // Listed, not ready: remembered for the retention warning, fetched later.
            ctx.store.put_report(&record)?;
            continue;
        }
        announce_wait(seller, sink, Operation::GetReportDocument);
        let fetched = seller.client.fetch_settlement(report).await.map_err(amz)?;
        let amazon_time = seller.client.now();
        let fetched_at = local_now();
        let settlement_id = fetched.parsed.summary.settlement_id.clone();
        let bytes = &fetched.document.bytes;
        let charset = fetched.parsed.locale.charset;
        let mut meta = RawFileMeta::describe(&settlement_id, charset, bytes, fetched_at);
        meta.report_id = Some(report.report_id.clone());
        meta.report_type = Some(report.report_type.clone());
        meta.seller = Some(name.clone());
        meta.marketplace_id = marketplace.clone();
        let audit = NewAuditEntry::new(fetched_at, &ctx.actor, AuditAction::Pull)
            .settlement(&settlement_id)
            .sha256(meta.sha256.clone())
            .details(serde_json::json!({
                "seller": name,
                "report_id": report.report_id,
                "charset": charset,
                "bytes": meta.len,
                "downloads": fetched.downloads,
                "total_matches": fetched.total_matches(),
                "amazon_time": amazon_time,
            }));
        let put = ctx.store.put_raw_settlement(&meta, bytes, Some(audit))?;
        summary.settlements_downloaded += 1;
        let existing = ctx.store.settlement(&settlement_id)?;
        let is_new = existing.is_none();
        if is_new || matches!(put, RawPut::Changed { .. }) {
            let rec = SettlementRecord {
                summary: fetched.parsed.summary.clone(),
                seller: name.clone(),
                marketplace_id: marketplace
                    .clone()
                    .or(fetched.parsed.dominant_marketplace.clone())
                    .unwrap_or_default(),
                raw_sha256: Some(meta.sha256.clone()),
                event_group_id: existing.and_then(|e| e.event_group_id),
                pulled_at: fetched_at,
            };
            ctx.store.put_settlement(&rec, None)?;
        }
        if is_new {
            summary.new_settlements.push(settlement_id.clone());
        }
        sink.send(SyncMsg::SettlementPulled {
            scope: name.clone(),
            settlement_id: settlement_id.clone(),
            new: is_new,
        });
        record.settlement_id = Some(settlement_id);
        record.pulled_at = Some(fetched_at);
        ctx.store.put_report(&record)?;
        if let Some(c) = created
            && newest.is_none_or(|n| c > n)
        {
            newest = Some(c);
            set_cursor_time(ctx, &cursor_name, c, fetched_at)?;
        }
    }
    sink.progress(&name, "settlements", total, Some(total));
    Ok(())
}

async fn pull_event_groups(
    ctx: &SyncContext,
    seller: &SellerHandle,
    sink: &ProgressSink,
    cancel: &CancellationToken,
    summary: &mut PullSummary,
) -> Result<(), SyncError> {
    let name = seller.name().to_string();
    let cursor_name = format!("groups:{name}");
    let now = seller.client.now();
    let query = EventGroupsQuery {
        started_after: Some(since(cursor_time(ctx, &cursor_name)?, now)),
        ..EventGroupsQuery::default()
    };
    announce_wait(seller, sink, Operation::ListFinancialEventGroups);
    let pages: Vec<Page<_>> = seller
        .client
        .financial_event_groups(query, None)
        .try_collect()
        .await
        .map_err(|e| amazon_error(&name, e))?;
    let groups: Vec<_> = pages.into_iter().flat_map(|p| p.items).collect();
    let total = groups.len() as u64;
    let mut newest_closed: Option<DateTime<Utc>> = None;
    let mut oldest_open: Option<DateTime<Utc>> = None;
    for (i, g) in groups.iter().enumerate() {
        if cancel.is_cancelled() {
            return Err(SyncError::Cancelled);
        }
        sink.progress(&name, "event groups", i as u64, Some(total));
        let existing = ctx.store.event_group(&g.id)?;
        let group_json = serde_json::to_value(g).unwrap_or(serde_json::Value::Null);
        let closed = g.end.is_some();
        if let Some(e) = &existing {
            let mut kept = e.data.clone();
            let had_events = kept
                .as_object_mut()
                .and_then(|o| o.remove(EVENTS_KEY))
                .is_some();
            if kept == group_json && (had_events || !closed) {
                continue;
            }
        }
        // A closed group's events are final: kept with it (an open group's still change).
        let mut data = group_json;
        if closed {
            announce_wait(seller, sink, Operation::ListFinancialEventsByGroupId);
            let events = seller
                .client
                .all_events_of_group(&g.id, 100)
                .await
                .map_err(|e| amazon_error(&name, e))?;
            if let Some(o) = data.as_object_mut() {
                o.insert(
                    EVENTS_KEY.into(),
                    serde_json::to_value(&events).unwrap_or(serde_json::Value::Null),
                );
            }
        }
        ctx.store.put_event_group(&EventGroupRecord {
            group_id: g.id.clone(),
            seller: name.clone(),
            settlement_id: existing.and_then(|e| e.settlement_id),
            fetched_at: local_now(),
            data,
        })?;
        summary.event_groups += 1;
        let start = g.start.as_ref().and_then(|t| t.at());
        if g.end.is_some() {
            newest_closed = newest_closed.max(start);
        } else if let Some(s) = start {
            oldest_open = Some(oldest_open.map_or(s, |o: DateTime<Utc>| o.min(s)));
        }
    }
    // Resume from the newest closed group, but never past a group still open.
    let cursor = match (newest_closed, oldest_open) {
        (Some(c), Some(o)) => Some(c.min(o)),
        (c, o) => c.or(o),
    };
    if let Some(c) = cursor {
        set_cursor_time(ctx, &cursor_name, c, local_now())?;
    }
    sink.progress(&name, "event groups", total, Some(total));
    Ok(())
}

async fn pull_orders(
    ctx: &SyncContext,
    seller: &SellerHandle,
    sink: &ProgressSink,
    cancel: &CancellationToken,
    summary: &mut PullSummary,
) -> Result<(), SyncError> {
    let name = seller.name().to_string();
    for marketplace in &seller.config.marketplaces {
        if cancel.is_cancelled() {
            return Err(SyncError::Cancelled);
        }
        let cursor_name = format!("orders:{name}:{}", marketplace.as_str());
        let now = seller.client.now();
        // getOrders wants LastUpdatedAfter at least two minutes in the past.
        let after = since(cursor_time(ctx, &cursor_name)?, now).min(now - Duration::minutes(3));
        let query = OrdersQuery::updated_after(marketplace.as_str(), after);
        announce_wait(seller, sink, Operation::GetOrders);
        let mut stream = seller.client.orders(query, None);
        let mut newest: Option<DateTime<Utc>> = None;
        while let Some(page) = stream
            .try_next()
            .await
            .map_err(|e| amazon_error(&name, e))?
        {
            let fetched_at = local_now();
            let records: Vec<OrderRecord> = page
                .items
                .iter()
                .map(|o| {
                    newest = newest.max(o.last_update_date.at());
                    OrderRecord {
                        order_id: o.amazon_order_id.clone(),
                        seller: name.clone(),
                        marketplace_id: Some(marketplace.as_str().to_string()),
                        fetched_at,
                        data: serde_json::to_value(o).unwrap_or(serde_json::Value::Null),
                    }
                })
                .collect();
            summary.orders += records.len() as u64;
            ctx.store.put_orders(&records)?;
            sink.progress(&name, "orders", summary.orders, None);
            if cancel.is_cancelled() {
                return Err(SyncError::Cancelled);
            }
        }
        if let Some(n) = newest {
            set_cursor_time(ctx, &cursor_name, n, local_now())?;
        }
    }
    Ok(())
}
