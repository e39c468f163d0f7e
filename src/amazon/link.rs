//! Linking a settlement to its financial event group: a pure function.
//!
//! A settlement and its group agree on currency, period and total. When more than one
//! group fits, nothing is picked: the candidates are returned for a person to choose.

use chrono::{DateTime, Duration, Utc};
use rust_decimal::Decimal;
use serde::Serialize;

use super::models::finances::FinancialEventGroup;
use super::region::marketplace;
use crate::ledger::model::SettlementSummary;

/// How far apart the period bounds may be and still count as the same period
/// (group bounds and settlement dates are stamped by different systems).
pub const PERIOD_TOLERANCE_HOURS: i64 = 24;

/// A group considered for a settlement, with what matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupCandidate {
    pub group_id: String,
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
    pub currency: Option<String>,
    pub total: Option<Decimal>,
    pub currency_matches: bool,
    pub period_matches: bool,
    pub total_matches: bool,
    /// Sum of the distances between the period bounds, in seconds (for ordering).
    pub period_gap_seconds: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum LinkOutcome {
    /// Exactly one group fits.
    Linked(GroupCandidate),
    /// Several fit: listed closest period first; a person chooses.
    Ambiguous(Vec<GroupCandidate>),
    /// None fits; `near` lists groups matching on two of the three criteria.
    Unmatched { near: Vec<GroupCandidate> },
    /// The marketplace's currency differs from the settlement's: wrong seller/region data.
    MarketplaceMismatch {
        marketplace_currency: String,
        settlement_currency: String,
    },
}

/// Links `settlement` (from `marketplace_id` when known) to one of `groups`.
pub fn link_settlement(
    settlement: &SettlementSummary,
    marketplace_id: Option<&str>,
    groups: &[FinancialEventGroup],
) -> LinkOutcome {
    if let Some(info) = marketplace_id.and_then(marketplace)
        && !info
            .currency
            .eq_ignore_ascii_case(settlement.currency.code())
    {
        return LinkOutcome::MarketplaceMismatch {
            marketplace_currency: info.currency.to_string(),
            settlement_currency: settlement.currency.code().to_string(),
        };
    }
    let tolerance = Duration::hours(PERIOD_TOLERANCE_HOURS);
    let mut candidates: Vec<GroupCandidate> = groups
        .iter()
        .map(|g| {
            let start = g.start.as_ref().and_then(|t| t.at());
            let end = g.end.as_ref().and_then(|t| t.at());
            let currency = g
                .original_total
                .as_ref()
                .map(|m| m.currency.code().to_string());
            let total = g.original_total.as_ref().map(|m| m.amount);
            let start_gap = start.map(|s| (s - settlement.start).abs());
            let end_gap = end.map(|e| (e - settlement.end).abs());
            let period_matches =
                start_gap.is_some_and(|d| d <= tolerance) && end_gap.is_none_or(|d| d <= tolerance);
            let period_gap_seconds = start_gap.unwrap_or(Duration::days(36_500)).num_seconds()
                + end_gap.unwrap_or(Duration::zero()).num_seconds();
            GroupCandidate {
                group_id: g.id.clone(),
                start,
                end,
                currency_matches: currency
                    .as_deref()
                    .is_some_and(|c| c.eq_ignore_ascii_case(settlement.currency.code())),
                currency,
                total_matches: total == Some(settlement.total_amount),
                total,
                period_matches,
                period_gap_seconds,
            }
        })
        .collect();
    candidates.sort_by(|a, b| {
        a.period_gap_seconds
            .cmp(&b.period_gap_seconds)
            .then_with(|| a.group_id.cmp(&b.group_id))
    });
    let fits: Vec<GroupCandidate> = candidates
        .iter()
        .filter(|c| c.currency_matches && c.period_matches && c.total_matches)
        .cloned()
        .collect();
    match fits.len() {
        1 => LinkOutcome::Linked(fits.into_iter().next().expect("one element")),
        0 => LinkOutcome::Unmatched {
            near: candidates
                .into_iter()
                .filter(|c| {
                    u8::from(c.currency_matches)
                        + u8::from(c.period_matches)
                        + u8::from(c.total_matches)
                        == 2
                })
                .take(5)
                .collect(),
        },
        _ => LinkOutcome::Ambiguous(fits),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::amazon::models::{AmazonTime, Money};
    use crate::ledger::model::SettlementFormat;
    use crate::ledger::money::Currency;
    use chrono::TimeZone;
    use std::str::FromStr;

    fn at(d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, d, 0, 0, 0).unwrap()
    }

    fn group(id: &str, start: u32, end: u32, total: &str, currency: &str) -> FinancialEventGroup {
        FinancialEventGroup {
            id: id.into(),
            processing_status: None,
            fund_transfer_status: None,
            original_total: Some(Money {
                currency: Currency::new(currency),
                amount: Decimal::from_str(total).unwrap(),
            }),
            converted_total: None,
            fund_transfer_date: None,
            trace_id: None,
            account_tail: None,
            beginning_balance: None,
            start: Some(AmazonTime::At(at(start))),
            end: Some(AmazonTime::At(at(end))),
        }
    }

    fn settlement(total: &str) -> SettlementSummary {
        SettlementSummary {
            settlement_id: "S1".into(),
            format: SettlementFormat::V2,
            start: at(1),
            end: at(15),
            deposit_date: None,
            total_amount: Decimal::from_str(total).unwrap(),
            currency: Currency::new("USD"),
        }
    }

    #[test]
    fn links_unique_match_and_lists_ambiguity() {
        let groups = vec![
            group("A", 1, 15, "100.00", "USD"),
            group("B", 15, 29, "100.00", "USD"),
            group("C", 1, 15, "99.99", "USD"),
            group("D", 1, 15, "100.00", "CAD"),
        ];
        match link_settlement(&settlement("100.00"), Some("ATVPDKIKX0DER"), &groups) {
            LinkOutcome::Linked(c) => assert_eq!(c.group_id, "A"),
            other => panic!("expected link, got {other:?}"),
        }
        let mut twice = groups.clone();
        twice.push(group("E", 1, 15, "100.0", "USD"));
        match link_settlement(&settlement("100.00"), None, &twice) {
            LinkOutcome::Ambiguous(c) => {
                assert_eq!(
                    c.iter().map(|c| c.group_id.as_str()).collect::<Vec<_>>(),
                    ["A", "E"]
                )
            }
            other => panic!("expected ambiguity, got {other:?}"),
        }
        match link_settlement(&settlement("55.00"), None, &groups) {
            LinkOutcome::Unmatched { near } => {
                assert!(near.iter().any(|c| c.group_id == "A" && !c.total_matches));
                assert!(!near.iter().any(|c| c.group_id == "B"));
            }
            other => panic!("expected no match, got {other:?}"),
        }
        assert!(matches!(
            link_settlement(&settlement("100.00"), Some("A1F83G8C2ARO7P"), &groups),
            LinkOutcome::MarketplaceMismatch { .. }
        ));
    }
}
