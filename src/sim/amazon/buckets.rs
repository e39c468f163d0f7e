//! Per-operation token buckets with Amazon's documented default usage plans.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use std::collections::HashMap;
use std::str::FromStr;

/// One operation's usage plan (reference README §4).
#[derive(Debug, Clone, Copy)]
pub struct OpSpec {
    pub name: &'static str,
    /// Requests per second, as Amazon prints it.
    pub rate: &'static str,
    pub burst: u32,
}

pub const OPERATIONS: &[OpSpec] = &[
    OpSpec {
        name: "getOrders",
        rate: "0.0167",
        burst: 20,
    },
    OpSpec {
        name: "getOrder",
        rate: "0.5",
        burst: 30,
    },
    OpSpec {
        name: "getOrderItems",
        rate: "0.5",
        burst: 30,
    },
    OpSpec {
        name: "listFinancialEventGroups",
        rate: "0.5",
        burst: 30,
    },
    OpSpec {
        name: "listFinancialEventsByGroupId",
        rate: "0.5",
        burst: 30,
    },
    OpSpec {
        name: "listFinancialEventsByOrderId",
        rate: "0.5",
        burst: 30,
    },
    OpSpec {
        name: "listFinancialEvents",
        rate: "0.5",
        burst: 30,
    },
    OpSpec {
        name: "createReport",
        rate: "0.0167",
        burst: 15,
    },
    OpSpec {
        name: "getReports",
        rate: "0.0222",
        burst: 10,
    },
    OpSpec {
        name: "getReport",
        rate: "2",
        burst: 15,
    },
    OpSpec {
        name: "cancelReport",
        rate: "0.0222",
        burst: 10,
    },
    OpSpec {
        name: "getReportDocument",
        rate: "0.0167",
        burst: 15,
    },
    OpSpec {
        name: "getMarketplaceParticipations",
        rate: "0.016",
        burst: 15,
    },
];

pub fn spec(name: &str) -> Option<&'static OpSpec> {
    OPERATIONS.iter().find(|s| s.name == name)
}

/// The `x-amzn-RateLimit-Limit` value: the plan's rate in real requests per second.
pub fn rate_header(spec: &OpSpec, scale: f64) -> String {
    let rate = Decimal::from_str(spec.rate).unwrap_or(Decimal::ONE);
    if scale <= 0.0 {
        return rate.normalize().to_string();
    }
    let factor = Decimal::from_f64_retain(scale)
        .map(|d| d.round_dp(6))
        .unwrap_or(Decimal::ONE);
    (rate * factor).normalize().to_string()
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    last: DateTime<Utc>,
}

/// All buckets of one simulated seller/application pair, refilled on the simulated clock.
#[derive(Debug, Default)]
pub struct Buckets {
    buckets: HashMap<&'static str, Bucket>,
}

impl Buckets {
    /// Takes one token; `false` means the caller must answer 429.
    pub fn take(&mut self, spec: &OpSpec, now: DateTime<Utc>) -> bool {
        let rate: f64 = spec.rate.parse().unwrap_or(1.0);
        let bucket = self.buckets.entry(spec.name).or_insert(Bucket {
            tokens: spec.burst as f64,
            last: now,
        });
        let elapsed = (now - bucket.last).num_microseconds().unwrap_or(0) as f64 / 1e6;
        if elapsed > 0.0 {
            bucket.tokens = (bucket.tokens + elapsed * rate).min(spec.burst as f64);
            bucket.last = now;
        }
        // Tolerate float dust: 60 s × 0.0167/s must buy one call.
        if bucket.tokens >= 1.0 - 1e-6 {
            bucket.tokens = (bucket.tokens - 1.0).max(0.0);
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn scaled_rate_header_and_refill() {
        let get_orders = spec("getOrders").unwrap();
        assert_eq!(rate_header(get_orders, 1.0), "0.0167");
        assert_eq!(rate_header(get_orders, 10.0), "0.167");
        assert_eq!(rate_header(get_orders, 0.0), "0.0167");
        let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let mut b = Buckets::default();
        for _ in 0..20 {
            assert!(b.take(get_orders, t0));
        }
        assert!(!b.take(get_orders, t0));
        assert!(b.take(get_orders, t0 + chrono::Duration::seconds(60)));
        assert!(!b.take(get_orders, t0 + chrono::Duration::seconds(60)));
    }
}
