//! A whole-account read: orders, event groups with their events, and settlements.
//!
//! The sync task (and the benchmark) call this to pull everything in one go; the three
//! listings run concurrently because each has its own rate-limit bucket.

use chrono::{DateTime, Duration, Utc};
use futures::{StreamExt, TryStreamExt};
use std::collections::BTreeMap;

use super::Error;
use super::client::SpApiClient;
use super::finances::EventGroupsQuery;
use super::models::finances::{FinancialEventGroup, FinancialEvents};
use super::models::orders::Order;
use super::orders::{OrdersQuery, OrdersWindow};
use super::reports::{FetchedSettlement, ReportsQuery};

/// Amazon returns nothing for event-group windows wider than this.
pub const MAX_GROUP_WINDOW_DAYS: i64 = 180;

/// What to read.
#[derive(Debug, Clone)]
pub struct SnapshotSpec {
    pub marketplace_ids: Vec<String>,
    pub orders_created_after: DateTime<Utc>,
    pub orders_created_before: Option<DateTime<Utc>>,
    pub groups_started_after: DateTime<Utc>,
    pub groups_started_before: DateTime<Utc>,
    /// Keep only groups that ended by then (closed, stable groups); `None` keeps all.
    pub groups_ended_by: Option<DateTime<Utc>>,
    pub reports_created_since: Option<DateTime<Utc>>,
    pub reports_created_until: Option<DateTime<Utc>>,
    /// Event listings in flight at once (the limiter still paces them).
    pub concurrency: usize,
    /// Page size for orders, groups and events (1–100; 100 means fewest calls).
    pub page_size: u32,
}

/// Everything read, in a stable order (orders by id, groups by id, settlements by report id).
#[derive(Debug, Clone)]
pub struct AmazonSnapshot {
    pub orders: Vec<Order>,
    pub groups: Vec<FinancialEventGroup>,
    pub events: BTreeMap<String, FinancialEvents>,
    pub settlements: Vec<FetchedSettlement>,
}

/// Splits `[from, to)` into windows Amazon accepts for event groups.
pub fn group_windows(
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let mut out = Vec::new();
    let mut start = from;
    while start < to {
        let end = (start + Duration::days(MAX_GROUP_WINDOW_DAYS)).min(to);
        out.push((start, end));
        start = end;
    }
    out
}

impl SpApiClient {
    pub async fn snapshot(&self, spec: &SnapshotSpec) -> Result<AmazonSnapshot, Error> {
        let orders = async {
            let query = OrdersQuery {
                marketplace_ids: spec.marketplace_ids.clone(),
                window: OrdersWindow::Created {
                    after: spec.orders_created_after,
                    before: spec.orders_created_before,
                },
                order_statuses: Vec::new(),
                fulfillment_channels: Vec::new(),
                max_results_per_page: Some(spec.page_size),
            };
            let pages: Vec<_> = self.orders(query, None).try_collect().await?;
            let mut orders: Vec<Order> = pages.into_iter().flat_map(|p| p.items).collect();
            orders.sort_by(|a, b| a.amazon_order_id.cmp(&b.amazon_order_id));
            Ok::<_, Error>(orders)
        };
        let finances = async {
            let mut groups = Vec::new();
            for (after, before) in
                group_windows(spec.groups_started_after, spec.groups_started_before)
            {
                let query = EventGroupsQuery {
                    started_after: Some(after),
                    started_before: Some(before),
                    max_results_per_page: Some(spec.page_size),
                };
                let pages: Vec<_> = self
                    .financial_event_groups(query, None)
                    .try_collect()
                    .await?;
                groups.extend(pages.into_iter().flat_map(|p| p.items));
            }
            if let Some(limit) = spec.groups_ended_by {
                groups.retain(|g| {
                    g.end
                        .as_ref()
                        .and_then(|e| e.at())
                        .is_some_and(|e| e <= limit)
                });
            }
            groups.sort_by(|a, b| a.id.cmp(&b.id));
            groups.dedup_by(|a, b| a.id == b.id);
            let events: BTreeMap<String, FinancialEvents> =
                futures::stream::iter(groups.iter().map(|g| g.id.clone()))
                    .map(|id| async move {
                        self.all_events_of_group(&id, spec.page_size)
                            .await
                            .map(|e| (id, e))
                    })
                    .buffer_unordered(spec.concurrency.max(1))
                    .try_collect()
                    .await?;
            Ok::<_, Error>((groups, events))
        };
        let settlements = async {
            let query = ReportsQuery {
                marketplace_ids: spec.marketplace_ids.clone(),
                created_since: spec.reports_created_since,
                created_until: spec.reports_created_until,
                ..ReportsQuery::settlements()
            };
            let mut fetched = self.fetch_settlements(query, spec.concurrency).await?;
            fetched.sort_by(|a, b| a.report.report_id.cmp(&b.report.report_id));
            Ok::<_, Error>(fetched)
        };
        let (orders, finances, settlements) = futures::try_join!(orders, finances, settlements)?;
        Ok(AmazonSnapshot {
            orders,
            groups: finances.0,
            events: finances.1,
            settlements,
        })
    }
}
