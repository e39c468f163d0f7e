//! Client-side token buckets, one per SP-API operation, shared per seller and region.
//!
//! Amazon throttles per operation with a token bucket (rate/s, burst). Pacing calls on
//! our side with the same bucket means a healthy sync never earns a 429. Defaults are
//! the documented usage plans; `x-amzn-RateLimit-Limit` adjusts the rate; a 429 empties
//! our bucket (the server told us it is empty).

use serde::Serialize;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::region::Region;
use crate::retry::{Cancelled, pause};

/// The SP-API operations this client calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Operation {
    GetOrders,
    GetOrder,
    GetOrderItems,
    ListFinancialEventGroups,
    ListFinancialEventsByGroupId,
    ListFinancialEventsByOrderId,
    ListFinancialEvents,
    GetReports,
    GetReport,
    GetReportDocument,
    GetMarketplaceParticipations,
}

/// A usage plan: `rate` tokens per second refill a bucket of `burst` tokens.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RatePlan {
    pub rate: f64,
    pub burst: u32,
}

impl Operation {
    pub const ALL: [Operation; 11] = [
        Operation::GetOrders,
        Operation::GetOrder,
        Operation::GetOrderItems,
        Operation::ListFinancialEventGroups,
        Operation::ListFinancialEventsByGroupId,
        Operation::ListFinancialEventsByOrderId,
        Operation::ListFinancialEvents,
        Operation::GetReports,
        Operation::GetReport,
        Operation::GetReportDocument,
        Operation::GetMarketplaceParticipations,
    ];

    /// Amazon's operation id.
    pub fn name(self) -> &'static str {
        match self {
            Operation::GetOrders => "getOrders",
            Operation::GetOrder => "getOrder",
            Operation::GetOrderItems => "getOrderItems",
            Operation::ListFinancialEventGroups => "listFinancialEventGroups",
            Operation::ListFinancialEventsByGroupId => "listFinancialEventsByGroupId",
            Operation::ListFinancialEventsByOrderId => "listFinancialEventsByOrderId",
            Operation::ListFinancialEvents => "listFinancialEvents",
            Operation::GetReports => "getReports",
            Operation::GetReport => "getReport",
            Operation::GetReportDocument => "getReportDocument",
            Operation::GetMarketplaceParticipations => "getMarketplaceParticipations",
        }
    }

    /// The documented default usage plan (models' "Usage Plan" tables).
    pub fn default_plan(self) -> RatePlan {
        let (rate, burst) = match self {
            Operation::GetOrders => (0.0167, 20),
            Operation::GetOrder | Operation::GetOrderItems => (0.5, 30),
            Operation::ListFinancialEventGroups
            | Operation::ListFinancialEventsByGroupId
            | Operation::ListFinancialEventsByOrderId
            | Operation::ListFinancialEvents => (0.5, 30),
            Operation::GetReports => (0.0222, 10),
            Operation::GetReport => (2.0, 15),
            Operation::GetReportDocument => (0.0167, 15),
            Operation::GetMarketplaceParticipations => (0.016, 15),
        };
        RatePlan { rate, burst }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug)]
struct Bucket {
    plan: RatePlan,
    /// May go negative: callers that reserved a future token.
    tokens: f64,
    updated: Instant,
}

impl Bucket {
    fn new(plan: RatePlan, now: Instant) -> Self {
        Bucket {
            plan,
            tokens: f64::from(plan.burst),
            updated: now,
        }
    }

    fn refill(&mut self, now: Instant, scale: f64) {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64() * scale;
        self.tokens = (self.tokens + elapsed * self.plan.rate).min(f64::from(self.plan.burst));
        self.updated = now;
    }
}

/// Token buckets for one seller in one region. Share it (`Arc`) across every task.
#[derive(Debug)]
pub struct RateLimiter {
    buckets: Mutex<HashMap<Operation, Bucket>>,
    /// Server seconds per wall second (1 against Amazon; N against a simulator at N×).
    time_scale: f64,
    /// Extra wall time added to every paced wait. A call reaches the server one network
    /// latency after its slot; if an earlier call took longer to arrive than this one, the
    /// server would see them closer than the rate allows. The margin absorbs that jitter.
    /// It shifts the paced schedule once; it does not accumulate.
    margin: Duration,
}

/// Default for [`RateLimiter::with_margin`].
pub const DEFAULT_MARGIN: Duration = Duration::from_millis(25);

impl Default for RateLimiter {
    fn default() -> Self {
        Self::new()
    }
}

impl RateLimiter {
    pub fn new() -> Self {
        Self::with_time_scale(1.0)
    }

    /// For a server whose clock runs `time_scale` times faster than ours.
    pub fn with_time_scale(time_scale: f64) -> Self {
        RateLimiter {
            buckets: Mutex::new(HashMap::new()),
            time_scale: if time_scale.is_finite() && time_scale > 0.0 {
                time_scale
            } else {
                1.0
            },
            margin: DEFAULT_MARGIN,
        }
    }

    /// Sets the jitter margin added to paced waits (wall time).
    pub fn with_margin(mut self, margin: Duration) -> Self {
        self.margin = margin;
        self
    }

    /// The process-wide limiter for a seller in a region: every client built for the
    /// same pair gets the same buckets.
    pub fn shared(seller: &str, region: Region, time_scale: f64) -> Arc<RateLimiter> {
        type Registry = Mutex<HashMap<(String, Region), Arc<RateLimiter>>>;
        static REGISTRY: OnceLock<Registry> = OnceLock::new();
        let registry = REGISTRY.get_or_init(|| Mutex::new(HashMap::new()));
        let mut map = registry.lock().unwrap_or_else(|p| p.into_inner());
        map.entry((seller.to_string(), region))
            .or_insert_with(|| Arc::new(RateLimiter::with_time_scale(time_scale)))
            .clone()
    }

    pub fn time_scale(&self) -> f64 {
        self.time_scale
    }

    fn with_bucket<R>(&self, op: Operation, f: impl FnOnce(&mut Bucket, Instant) -> R) -> R {
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let bucket = buckets
            .entry(op)
            .or_insert_with(|| Bucket::new(op.default_plan(), now));
        bucket.refill(now, self.time_scale);
        f(bucket, now)
    }

    /// Takes one token for `op` and returns how long to wait before using it.
    pub fn reserve(&self, op: Operation) -> Duration {
        let scale = self.time_scale;
        self.with_bucket(op, |bucket, _| {
            bucket.tokens -= 1.0;
            if bucket.tokens >= 0.0 {
                Duration::ZERO
            } else {
                Duration::from_secs_f64(-bucket.tokens / (bucket.plan.rate * scale))
            }
        })
    }

    /// Waits until a call to `op` fits in the bucket (plus the jitter margin when paced).
    /// A long wait is logged (`waiting Ns for <op> (rate limit)`).
    pub async fn acquire(&self, op: Operation) {
        // A token nobody cancels: the wait always runs to its end.
        let _ = self.acquire_until(op, &CancellationToken::new()).await;
    }

    /// [`acquire`](Self::acquire) that gives up when `cancel` fires; the token taken for
    /// the call is then given back (the call will not be made).
    pub async fn acquire_until(
        &self,
        op: Operation,
        cancel: &CancellationToken,
    ) -> Result<(), Cancelled> {
        if cancel.is_cancelled() {
            return Err(Cancelled);
        }
        let wait = self.reserve(op);
        if wait.is_zero() {
            return Ok(());
        }
        let paused = pause(wait + self.margin, cancel, op.name(), "rate limit").await;
        if paused.is_err() {
            self.with_bucket(op, |bucket, _| {
                bucket.tokens = (bucket.tokens + 1.0).min(f64::from(bucket.plan.burst));
            });
        }
        paused
    }

    /// Applies a rate from `x-amzn-RateLimit-Limit`. The header counts requests per
    /// *wall* second, so against a time-scaled server it is divided by the scale to get
    /// the plan's rate. Nonsense values are ignored.
    pub fn observe_rate(&self, op: Operation, wall_rate: f64) {
        let rate = wall_rate / self.time_scale;
        if !(rate.is_finite() && rate > 0.0 && wall_rate < 1_000_000.0) {
            return;
        }
        self.with_bucket(op, |bucket, _| {
            if (bucket.plan.rate - rate).abs() > f64::EPSILON * rate.max(1.0) {
                bucket.plan.rate = rate;
            }
        });
    }

    /// A 429: the server's bucket is empty, so ours must be too.
    pub fn on_throttled(&self, op: Operation) {
        self.with_bucket(op, |bucket, _| bucket.tokens = bucket.tokens.min(0.0));
    }

    /// Replaces the plan for `op` (e.g. a granted higher limit); the bucket keeps its level.
    pub fn set_plan(&self, op: Operation, plan: RatePlan) {
        self.with_bucket(op, |bucket, _| {
            bucket.plan = plan;
            bucket.tokens = bucket.tokens.min(f64::from(plan.burst));
        });
    }

    /// The plan in force for `op`.
    pub fn plan(&self, op: Operation) -> RatePlan {
        self.with_bucket(op, |bucket, _| bucket.plan)
    }

    /// Tokens currently available for `op` (negative: callers queued).
    pub fn available(&self, op: Operation) -> f64 {
        self.with_bucket(op, |bucket, _| bucket.tokens)
    }
}

/// The least server time `calls` calls of `op` can take from a full bucket.
pub fn lower_bound_seconds(plan: RatePlan, calls: u64) -> f64 {
    let extra = calls.saturating_sub(u64::from(plan.burst));
    extra as f64 / plan.rate
}
