//! `ml-connector bench amazon-sync`: the SP-API client against the in-process Amazon
//! simulator at a fixed time scale — 2,000 orders, every event group with its events and
//! the settlements of the last 90 days — timed against the token-bucket lower bound.
//!
//! The lower bound is, per operation, the time its bucket needs to refill for the calls
//! beyond its burst; the three listings run concurrently, so the sync's bound is the
//! largest of them. Run it on a release build: `cargo run --release -- bench amazon-sync`.

use super::output::outln;
use anyhow::{Context, Result};
use chrono::Duration as ChronoDuration;
use clap::Args;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use crate::amazon::limiter::lower_bound_seconds;
use crate::amazon::snapshot::SnapshotSpec;
use crate::amazon::{LwaCredentials, Operation, RateLimiter, Region, SpApiClient};
use crate::sim::amazon::{self as sim, AmazonSimConfig};

const US: &str = "ATVPDKIKX0DER";

#[derive(Debug, Args)]
pub struct AmazonSyncArgs {
    /// Orders to sync (the window is chosen to hold this many).
    #[arg(long, default_value_t = 2000)]
    pub orders: usize,
    /// Simulated seconds per real second.
    #[arg(long, default_value_t = 10.0)]
    pub time_scale: f64,
    /// Days of settlement history in the simulator (enough for the orders asked for).
    #[arg(long, default_value_t = 560)]
    pub history_days: u32,
    /// Event listings in flight at once.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
}

pub fn run(args: AmazonSyncArgs) -> Result<i32> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("tokio runtime")?;
    runtime.block_on(bench(args))
}

async fn bench(args: AmazonSyncArgs) -> Result<i32> {
    let scale = args.time_scale;
    let simulator = sim::spawn(AmazonSimConfig {
        seed: args.seed,
        marketplaces: vec!["US".into()],
        history_days: args.history_days,
        time_scale: scale,
        ..AmazonSimConfig::default()
    })
    .await
    .context("starting the Amazon simulator")?;
    let t0 = simulator.now();
    // The window holding the `orders` most recent orders placed before t0 − 1 day.
    let cutoff = t0 - ChronoDuration::days(1);
    let mut purchases: Vec<chrono::DateTime<chrono::Utc>> = simulator
        .truth()
        .orders
        .iter()
        .filter(|o| o.marketplace_id == US)
        .filter_map(|o| {
            chrono::DateTime::parse_from_rfc3339(&o.purchase_date)
                .ok()
                .map(|d| d.to_utc())
        })
        .filter(|d| *d < cutoff)
        .collect();
    purchases.sort_unstable_by(|a, b| b.cmp(a));
    let after = purchases
        .get(args.orders.saturating_sub(1))
        .or(purchases.last())
        .map(|d| *d - ChronoDuration::seconds(1))
        .context("the simulator has no orders")?;
    let spec = SnapshotSpec {
        marketplace_ids: vec![US.into()],
        orders_created_after: after,
        orders_created_before: Some(cutoff),
        groups_started_after: t0 - ChronoDuration::days(i64::from(args.history_days) + 30),
        groups_started_before: t0 - ChronoDuration::minutes(5),
        groups_ended_by: None,
        // Six 14-day settlement periods.
        reports_created_since: Some(t0 - ChronoDuration::days(84)),
        reports_created_until: None,
        concurrency: args.concurrency,
        page_size: 100,
    };
    let client = SpApiClient::builder(
        LwaCredentials::new(
            sim::DEFAULT_CLIENT_ID,
            sim::DEFAULT_CLIENT_SECRET,
            sim::DEFAULT_REFRESH_TOKEN,
        ),
        Region::NorthAmerica,
    )
    .base_url(simulator.endpoint(sim::Region::Na))
    .token_url(simulator.token_url())
    .time_scale(scale)
    .limiter(Arc::new(RateLimiter::with_time_scale(scale)))
    .build()?;

    let started = Instant::now();
    let snapshot = client.snapshot(&spec).await?;
    let wall = started.elapsed().as_secs_f64();
    let server_stats = simulator.stats();
    simulator.stop().await;

    let stats = client.stats();
    let events: usize = snapshot.events.values().map(|e| e.len()).sum();
    let mut bound_wall: f64 = 0.0;
    let mut bounds = BTreeMap::new();
    for (op, s) in &stats.operations {
        let plan = client.limiter().plan(*op);
        let b = lower_bound_seconds(plan, s.requests) / scale;
        bounds.insert(*op, b);
        bound_wall = bound_wall.max(b);
    }
    outln!(
        "Amazon sync against the simulator at time scale {scale}x (seed {})",
        args.seed
    )?;
    outln!(
        "  work: {} orders, {} event groups ({} events), {} settlements ({} rows)",
        snapshot.orders.len(),
        snapshot.groups.len(),
        events,
        snapshot.settlements.len(),
        snapshot
            .settlements
            .iter()
            .map(|s| s.parsed.rows.len())
            .sum::<usize>()
    )?;
    outln!(
        "  {:<32} {:>8} {:>12} {:>14}",
        "operation",
        "calls",
        "429 (server)",
        "bound (wall s)"
    )?;
    for (op, s) in &stats.operations {
        let throttled = server_stats["operations"][op.name()]["throttled"]
            .as_u64()
            .unwrap_or(0);
        outln!(
            "  {:<32} {:>8} {:>12} {:>14.2}",
            op.name(),
            s.requests,
            throttled,
            bounds[op]
        )?;
    }
    let total_429: u64 = Operation::ALL
        .iter()
        .map(|op| {
            server_stats["operations"][op.name()]["throttled"]
                .as_u64()
                .unwrap_or(0)
        })
        .sum();
    let ratio = if bound_wall > 0.0 {
        wall / bound_wall
    } else {
        f64::NAN
    };
    outln!(
        "  wall time {wall:.2} s; token-bucket lower bound {bound_wall:.2} s; ratio {ratio:.3} (target ≤ 1.10)"
    )?;
    outln!(
        "  429 answers: {total_429}; token exchanges: {}",
        stats.token_exchanges
    )?;
    Ok(if total_429 == 0 && ratio <= 1.10 {
        0
    } else {
        1
    })
}
