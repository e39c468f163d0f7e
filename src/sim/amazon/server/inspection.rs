//! The `/_sim` inspection routes: request/fault counters and the ground truth
//! tests compare the connector's output against.

use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::reports::settlement_status;
use super::{State, lock};
use crate::sim::amazon::render::{self, iso};
use crate::sim::amazon::{Truth, TruthGroup, TruthMarketplace, TruthOrder, TruthSettlement};

pub fn stats_json(state: &State) -> Value {
    let stats = lock(&state.stats);
    let ops: serde_json::Map<String, Value> = stats
        .operations
        .iter()
        .map(|(k, (r, t))| (k.to_string(), json!({"requests": r, "throttled": t})))
        .collect();
    json!({
        "operations": ops,
        "faults": stats.faults,
        "token_requests": stats.token_requests,
        "downloads": stats.downloads,
    })
}

pub fn truth(state: &State) -> Truth {
    let now = state.now();
    let mut inner = lock(&state.inner);
    inner.world.ensure(now);
    let world = &inner.world;
    let mut settlements = Vec::new();
    let mut event_groups = Vec::new();
    for market in &world.markets {
        for period in &market.periods {
            if period.start > now {
                continue;
            }
            let closed = period.end <= now;
            let visible: Vec<&usize> = period
                .txns
                .iter()
                .filter(|&&t| market.txns[t].posted <= now)
                .collect();
            event_groups.push(TruthGroup {
                financial_event_group_id: period.group_id.clone(),
                marketplace_id: market.info.id.into(),
                currency: market.info.currency.into(),
                processing_status: if closed { "Closed" } else { "Open" }.into(),
                start: iso(period.start),
                end: closed.then(|| iso(period.end)),
                original_total: render::group_total(market, period, now),
                beginning_balance: period.payable,
                converted_total: render::converted(
                    market,
                    period,
                    render::group_total(market, period, now),
                )
                .1,
                converted_currency: render::converted(market, period, Decimal::ZERO).0,
                event_count: visible.len(),
            });
            if closed {
                settlements.push(TruthSettlement {
                    settlement_id: period.settlement_id.clone(),
                    financial_event_group_id: period.group_id.clone(),
                    marketplace_id: market.info.id.into(),
                    currency: market.info.currency.into(),
                    total_amount: period.total,
                    carried_balance: period.payable,
                    converted_total: render::converted(market, period, period.total).1,
                    converted_currency: render::converted(market, period, Decimal::ZERO).0,
                    deposit_amount: period.deposit_amount(),
                    start: iso(period.start),
                    end: iso(period.end),
                    deposit_date: iso(period.deposit_date()),
                    report_id: period.report_id.clone(),
                    report_document_id: period.document_id.clone(),
                    report_status: settlement_status(period, now)
                        .unwrap_or("NOT_YET_CREATED")
                        .into(),
                    row_count: render::row_count(market, period),
                });
            }
        }
    }
    settlements.sort_by(|a, b| {
        a.end
            .cmp(&b.end)
            .then(a.marketplace_id.cmp(&b.marketplace_id))
    });
    event_groups.sort_by(|a, b| a.start.cmp(&b.start));
    let orders = world
        .orders
        .iter()
        .filter(|o| o.purchase <= now)
        .map(|o| {
            let info = world.markets[o.market].info;
            TruthOrder {
                amazon_order_id: o.id.clone(),
                marketplace_id: info.id.into(),
                purchase_date: iso(o.purchase),
                status: o.status(now).as_str().into(),
                fulfillment_channel: o.channel.code().into(),
                currency: info.currency.into(),
                order_total: o.items.iter().map(|i| i.buyer_total()).sum::<Decimal>(),
            }
        })
        .collect();
    let marketplaces = world
        .markets
        .iter()
        .map(|m| TruthMarketplace {
            code: m.info.code.into(),
            marketplace_id: m.info.id.into(),
            currency: m.info.currency.into(),
            region: m.info.region,
        })
        .collect();
    Truth {
        now: iso(now),
        marketplaces,
        settlements,
        event_groups,
        orders,
    }
}
