//! The settlement chain per marketplace, and Amazon's 90-day report retention.
//!
//! Pure: the caller passes the settlements it knows and "now". Each settlement
//! should start where the previous one of its marketplace ended; a hole means a
//! settlement was never pulled (or Amazon never made it), an overlap means two
//! files claim the same days.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use std::collections::BTreeMap;

/// Amazon keeps settlement reports this long after creating them.
pub const RETENTION_DAYS: i64 = 90;
/// Warn this long before a report disappears.
pub const RETENTION_WARN_DAYS: i64 = 14;
/// Boundaries this close together count as contiguous (files differ in how they
/// write the last second of a day).
pub const CONTIGUOUS_TOLERANCE_SECS: i64 = 1;

/// A pulled settlement's place in its marketplace's chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainLink {
    pub settlement_id: String,
    pub marketplace_id: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// A report Amazon listed that has not been pulled yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unpulled {
    pub report_id: String,
    pub settlement_id: Option<String>,
    pub marketplace_id: Option<String>,
    pub created: DateTime<Utc>,
}

/// Something wrong with the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChainIssue {
    /// Days no settlement covers.
    Gap {
        marketplace_id: String,
        previous: String,
        next: String,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    },
    /// Days two settlements both cover.
    Overlap {
        marketplace_id: String,
        previous: String,
        next: String,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    },
    /// An unpulled report close to Amazon deleting it (or already past).
    Retention {
        report_id: String,
        settlement_id: Option<String>,
        marketplace_id: Option<String>,
        expires: DateTime<Utc>,
        /// Negative once expired.
        days_left: i64,
    },
}

impl std::fmt::Display for ChainIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChainIssue::Gap {
                marketplace_id,
                previous,
                next,
                from,
                to,
            } => write!(
                f,
                "{marketplace_id}: no settlement covers {from} to {to} (between {previous} and {next}); pull the missing settlement"
            ),
            ChainIssue::Overlap {
                marketplace_id,
                previous,
                next,
                from,
                to,
            } => write!(
                f,
                "{marketplace_id}: settlements {previous} and {next} both cover {from} to {to}"
            ),
            ChainIssue::Retention {
                report_id,
                settlement_id,
                expires,
                days_left,
                ..
            } => {
                let what = settlement_id
                    .as_deref()
                    .map(|s| format!("settlement {s} (report {report_id})"))
                    .unwrap_or_else(|| format!("report {report_id}"));
                if *days_left < 0 {
                    write!(
                        f,
                        "{what} was never pulled and Amazon deleted it around {expires}"
                    )
                } else {
                    write!(
                        f,
                        "{what} is not pulled yet and Amazon deletes it around {expires} ({days_left} days left)"
                    )
                }
            }
        }
    }
}

/// Gaps and overlaps, per marketplace, in time order.
pub fn check_chain(links: &[ChainLink]) -> Vec<ChainIssue> {
    let mut by_market: BTreeMap<&str, Vec<&ChainLink>> = BTreeMap::new();
    for link in links {
        by_market
            .entry(link.marketplace_id.as_str())
            .or_default()
            .push(link);
    }
    let tolerance = Duration::seconds(CONTIGUOUS_TOLERANCE_SECS);
    let mut issues = Vec::new();
    for (market, mut chain) in by_market {
        chain.sort_by(|a, b| {
            (a.start, a.end, &a.settlement_id).cmp(&(b.start, b.end, &b.settlement_id))
        });
        for pair in chain.windows(2) {
            let (prev, next) = (pair[0], pair[1]);
            if next.start - prev.end > tolerance {
                issues.push(ChainIssue::Gap {
                    marketplace_id: market.to_string(),
                    previous: prev.settlement_id.clone(),
                    next: next.settlement_id.clone(),
                    from: prev.end,
                    to: next.start,
                });
            } else if prev.end - next.start > tolerance {
                issues.push(ChainIssue::Overlap {
                    marketplace_id: market.to_string(),
                    previous: prev.settlement_id.clone(),
                    next: next.settlement_id.clone(),
                    from: next.start,
                    to: prev.end.min(next.end),
                });
            }
        }
    }
    issues
}

/// Unpulled reports within [`RETENTION_WARN_DAYS`] of Amazon's 90-day deletion, or past it.
pub fn check_retention(unpulled: &[Unpulled], now: DateTime<Utc>) -> Vec<ChainIssue> {
    let mut issues: Vec<ChainIssue> = unpulled
        .iter()
        .filter_map(|report| {
            let expires = report.created + Duration::days(RETENTION_DAYS);
            let left = expires - now;
            (left <= Duration::days(RETENTION_WARN_DAYS)).then(|| ChainIssue::Retention {
                report_id: report.report_id.clone(),
                settlement_id: report.settlement_id.clone(),
                marketplace_id: report.marketplace_id.clone(),
                expires,
                days_left: if left < Duration::zero() {
                    left.num_days().min(-1)
                } else {
                    left.num_days()
                },
            })
        })
        .collect();
    issues.sort_by_key(|i| match i {
        ChainIssue::Retention { expires, .. } => *expires,
        _ => now,
    });
    issues
}
