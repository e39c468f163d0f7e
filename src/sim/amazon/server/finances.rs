//! Finances API v0: financial event groups and financial events.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use super::Inner;
use super::dispatch::OpCall;
use super::orders::valid_order_id;
use super::query::{issue_page_token, markets_in, seeded_empty_page, take_page_token};
use super::response::{OpResult, invalid, not_found, ok_json};
use crate::sim::amazon::render;

pub(super) enum EventScope {
    Group,
    Order,
    All,
}

impl OpCall<'_> {
    pub(super) fn list_groups(&self, inner: &mut Inner) -> OpResult {
        let q = self.query;
        let page = q.page_size("MaxResultsPerPage", 10, 100)?;
        let after = q.date("FinancialEventGroupStartedAfter")?;
        let before = q.date("FinancialEventGroupStartedBefore")?;
        let latest = self.now - Duration::minutes(2);
        if let Some(b) = before {
            if let Some(a) = after
                && b <= a
            {
                return Err(invalid(
                    "FinancialEventGroupStartedBefore must be later than FinancialEventGroupStartedAfter",
                ));
            }
            if b > latest {
                return Err(invalid(
                    "FinancialEventGroupStartedBefore must be at least 2 minutes before the current time",
                ));
            }
        }
        if let Some(a) = after
            && a > latest
        {
            return Err(invalid(
                "FinancialEventGroupStartedAfter must be at least 2 minutes before the current time",
            ));
        }
        let fingerprint = q.fingerprint("NextToken");
        let (offset, bound) = match q.get("NextToken") {
            Some(t) => {
                take_page_token(inner, "listFinancialEventGroups", t, &fingerprint, self.now)?
            }
            None => (0, before.unwrap_or(self.now)),
        };
        let too_wide = matches!((after, before), (Some(a), Some(b)) if b - a > Duration::days(180));
        let world = &inner.world;
        let mut groups: Vec<(DateTime<Utc>, usize, usize)> = Vec::new();
        if !too_wide {
            for m in markets_in(world, self.region) {
                for (p, period) in world.markets[m].periods.iter().enumerate() {
                    if period.start <= self.now
                        && period.start < bound
                        && after.is_none_or(|a| period.start >= a)
                    {
                        groups.push((period.start, m, p));
                    }
                }
            }
        }
        groups.sort();
        let list: Vec<Value> = groups
            .iter()
            .skip(offset)
            .take(page)
            .map(|&(_, m, p)| {
                let market = &world.markets[m];
                render::group_json(market, &market.periods[p], self.now)
            })
            .collect();
        let mut payload = json!({"FinancialEventGroupList": list});
        if groups.len() > offset + page {
            let t = issue_page_token(
                inner,
                "listFinancialEventGroups",
                fingerprint,
                offset + page,
                bound,
                self.now,
                vec![],
            );
            payload["NextToken"] = json!(t);
        }
        ok_json(&json!({"payload": payload}))
    }

    pub(super) fn list_events(&self, inner: &mut Inner, scope: EventScope) -> OpResult {
        let q = self.query;
        let op = match scope {
            EventScope::Group => "listFinancialEventsByGroupId",
            EventScope::Order => "listFinancialEventsByOrderId",
            EventScope::All => "listFinancialEvents",
        };
        let page = q.page_size("MaxResultsPerPage", 100, 100)?;
        let after = q.date("PostedAfter")?;
        let before = q.date("PostedBefore")?;
        let latest = self.now - Duration::minutes(2);
        if before.is_some() && after.is_none() {
            return Err(invalid("PostedBefore requires PostedAfter"));
        }
        if let Some(a) = after
            && a > latest
        {
            return Err(invalid(
                "PostedAfter must be at least 2 minutes before the current time",
            ));
        }
        if let (Some(a), Some(b)) = (after, before) {
            if b <= a {
                return Err(invalid("PostedBefore must be later than PostedAfter"));
            }
            if b > latest {
                return Err(invalid(
                    "PostedBefore must be at least 2 minutes before the current time",
                ));
            }
        }
        let path_key = self.params.first().cloned().unwrap_or_default();
        let fingerprint = format!("{path_key}:{}", q.fingerprint("NextToken"));
        let default_bound = match scope {
            EventScope::All => latest,
            _ => self.now + Duration::seconds(1),
        };
        let token = q.get("NextToken");
        let (offset, bound) = match token {
            Some(t) => take_page_token(inner, op, t, &fingerprint, self.now)?,
            None => (0, before.unwrap_or(default_bound)),
        };
        let too_wide = matches!((after, before), (Some(a), Some(b)) if b - a > Duration::days(180));
        let world = &inner.world;
        let visible = |posted: DateTime<Utc>| {
            posted < bound && posted <= self.now && after.is_none_or(|a| posted >= a)
        };
        let mut events: Vec<(DateTime<Utc>, usize, usize)> = Vec::new();
        match scope {
            EventScope::Group => {
                let (m, p) = world
                    .find_group(&path_key)
                    .filter(|(m, p)| {
                        self.region
                            .is_none_or(|r| world.markets[*m].info.region == r)
                            && world.markets[*m].periods[*p].start <= self.now
                    })
                    .ok_or_else(|| {
                        not_found(format!("Financial event group {path_key} not found"))
                    })?;
                let market = &world.markets[m];
                for &t in &market.periods[p].txns {
                    if visible(market.txns[t].posted) {
                        events.push((market.txns[t].posted, m, t));
                    }
                }
            }
            EventScope::Order => {
                if !valid_order_id(&path_key) {
                    return Err(invalid(format!("Invalid orderId: {path_key}")));
                }
                let o = world
                    .find_order(&path_key)
                    .ok_or_else(|| not_found(format!("Order {path_key} not found")))?;
                let m = world.orders[o].market;
                let market = &world.markets[m];
                for (t, txn) in market.txns.iter().enumerate() {
                    if txn.order() == Some(o) && visible(txn.posted) {
                        events.push((txn.posted, m, t));
                    }
                }
            }
            EventScope::All => {
                if !too_wide {
                    for m in markets_in(world, self.region) {
                        let market = &world.markets[m];
                        for (t, txn) in market.txns.iter().enumerate() {
                            if visible(txn.posted) {
                                events.push((txn.posted, m, t));
                            }
                        }
                    }
                }
            }
        }
        if too_wide {
            events.clear();
        }
        events.sort();
        // Amazon may answer an empty page that still carries a token.
        let empty_first = token.is_none()
            && !events.is_empty()
            && seeded_empty_page(self.state.config.seed, &fingerprint);
        let (slice, next_offset) = if empty_first {
            (Vec::new(), Some(0))
        } else {
            let s: Vec<(usize, usize)> = events
                .iter()
                .skip(offset)
                .take(page)
                .map(|&(_, m, t)| (m, t))
                .collect();
            (s, (events.len() > offset + page).then_some(offset + page))
        };
        let mut payload = json!({"FinancialEvents": render::financial_events(world, &slice)});
        if let Some(next) = next_offset {
            let t = issue_page_token(inner, op, fingerprint, next, bound, self.now, vec![]);
            payload["NextToken"] = json!(t);
        }
        ok_json(&json!({"payload": payload}))
    }
}
