//! Orders API v0: getOrders, getOrder, getOrderItems.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use super::Inner;
use super::dispatch::OpCall;
use super::query::{issue_page_token, market_ids, take_page_token};
use super::response::{ApiError, OpResult, invalid, not_found, ok_json};
use crate::sim::amazon::render::{self, iso};

pub(super) fn valid_order_id(id: &str) -> bool {
    let parts: Vec<&str> = id.split('-').collect();
    parts.len() == 3
        && [3, 7, 7]
            .iter()
            .zip(&parts)
            .all(|(n, p)| p.len() == *n && p.bytes().all(|b| b.is_ascii_digit()))
}

impl OpCall<'_> {
    fn order_index(&self, inner: &Inner) -> Result<usize, ApiError> {
        let id = &self.params[0];
        if !valid_order_id(id) {
            return Err(invalid(format!("Invalid orderId: {id}")));
        }
        let world = &inner.world;
        world
            .find_order(id)
            .filter(|&o| {
                let order = &world.orders[o];
                order.purchase <= self.now
                    && self
                        .region
                        .is_none_or(|r| world.markets[order.market].info.region == r)
            })
            .ok_or_else(|| not_found(format!("Order {id} not found")))
    }

    pub(super) fn get_orders(&self, inner: &mut Inner) -> OpResult {
        let q = self.query;
        let ids = q.list("MarketplaceIds");
        if ids.is_empty() {
            return Err(invalid("Missing required parameter: MarketplaceIds"));
        }
        if ids.len() > 50 {
            return Err(invalid("MarketplaceIds accepts at most 50 values"));
        }
        let markets = market_ids(&inner.world, self.region, &ids)?;
        let created_after = q.date("CreatedAfter")?;
        let created_before = q.date("CreatedBefore")?;
        let updated_after = q.date("LastUpdatedAfter")?;
        let updated_before = q.date("LastUpdatedBefore")?;
        let latest = self.now - Duration::minutes(2);
        let by_created = match (created_after, updated_after) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "CreatedAfter and LastUpdatedAfter cannot both be specified",
                ));
            }
            (None, None) => {
                return Err(invalid(
                    "Either CreatedAfter or LastUpdatedAfter must be specified",
                ));
            }
            (Some(_), None) => {
                if updated_before.is_some() {
                    return Err(invalid(
                        "LastUpdatedBefore cannot be combined with CreatedAfter",
                    ));
                }
                true
            }
            (None, Some(_)) => {
                if created_before.is_some() {
                    return Err(invalid(
                        "CreatedBefore cannot be combined with LastUpdatedAfter",
                    ));
                }
                false
            }
        };
        let after = created_after.or(updated_after).unwrap_or(self.now);
        if after > latest {
            return Err(invalid(if by_created {
                "CreatedAfter must be at least 2 minutes before the current time"
            } else {
                "LastUpdatedAfter must be at least 2 minutes before the current time"
            }));
        }
        let before_param = if by_created {
            created_before
        } else {
            updated_before
        };
        if let Some(b) = before_param {
            if b < after {
                return Err(invalid(if by_created {
                    "CreatedBefore must be later than CreatedAfter"
                } else {
                    "LastUpdatedBefore must be later than LastUpdatedAfter"
                }));
            }
            if b > latest {
                return Err(invalid(if by_created {
                    "CreatedBefore must be at least 2 minutes before the current time"
                } else {
                    "LastUpdatedBefore must be at least 2 minutes before the current time"
                }));
            }
        }
        let page = q.page_size("MaxResultsPerPage", 100, 100)?;
        let statuses = q.list("OrderStatuses");
        for s in &statuses {
            if ![
                "Pending",
                "Unshipped",
                "PartiallyShipped",
                "Shipped",
                "Canceled",
                "Unfulfillable",
                "InvoiceUnconfirmed",
                "PendingAvailability",
            ]
            .contains(&s.as_str())
            {
                return Err(invalid(format!("Invalid OrderStatuses value: {s}")));
            }
        }
        let channels = q.list("FulfillmentChannels");
        for c in &channels {
            if c != "AFN" && c != "MFN" {
                return Err(invalid(format!("Invalid FulfillmentChannels value: {c}")));
            }
        }
        let order_ids = q.list("AmazonOrderIds");
        if order_ids.len() > 50 {
            return Err(invalid("AmazonOrderIds accepts at most 50 values"));
        }
        let payment = q.list("PaymentMethods");
        let fingerprint = format!("{:?}", q.fingerprint("NextToken"));
        let (offset, bound) = match q.get("NextToken") {
            Some(t) => take_page_token(inner, "getOrders", t, &fingerprint, self.now)?,
            None => (0, before_param.unwrap_or(latest)),
        };
        let now = self.now;
        let world = &inner.world;
        let mut matched: Vec<(DateTime<Utc>, usize)> = world
            .orders
            .iter()
            .enumerate()
            .filter(|(_, o)| markets.contains(&o.market) && o.purchase <= now)
            .filter_map(|(i, o)| {
                let key = if by_created {
                    o.purchase
                } else {
                    o.last_update(now)
                };
                (key >= after && key < bound).then_some((key, i))
            })
            .filter(|&(_, i)| {
                let o = &world.orders[i];
                (statuses.is_empty() || statuses.iter().any(|s| s == o.status(now).as_str()))
                    && (channels.is_empty() || channels.iter().any(|c| c == o.channel.code()))
                    && (order_ids.is_empty() || order_ids.contains(&o.id))
                    && (payment.is_empty() || payment.iter().any(|p| p == "Other"))
            })
            .collect();
        matched.sort();
        let orders: Vec<Value> = matched
            .iter()
            .skip(offset)
            .take(page)
            .map(|&(_, i)| render::order_json(world, &world.orders[i], now))
            .collect();
        let more = matched.len() > offset + page;
        let mut payload = json!({"Orders": orders});
        if by_created {
            payload["CreatedBefore"] = json!(iso(bound));
        } else {
            payload["LastUpdatedBefore"] = json!(iso(bound));
        }
        if more {
            let t = issue_page_token(
                inner,
                "getOrders",
                fingerprint,
                offset + page,
                bound,
                now,
                vec![],
            );
            payload["NextToken"] = json!(t);
        }
        ok_json(&json!({"payload": payload}))
    }

    pub(super) fn get_order(&self, inner: &mut Inner) -> OpResult {
        let o = self.order_index(inner)?;
        let world = &inner.world;
        ok_json(&json!({"payload": render::order_json(world, &world.orders[o], self.now)}))
    }

    pub(super) fn get_order_items(&self, inner: &mut Inner) -> OpResult {
        let o = self.order_index(inner)?;
        if let Some(t) = self.query.get("NextToken") {
            let fp = format!("{}:{}", self.params[0], self.query.fingerprint("NextToken"));
            take_page_token(inner, "getOrderItems", t, &fp, self.now)?;
        }
        let world = &inner.world;
        let order = &world.orders[o];
        let items: Vec<Value> = (0..order.items.len())
            .map(|k| render::order_item_json(world, order, k, self.now))
            .collect();
        ok_json(&json!({"payload": {"AmazonOrderId": order.id, "OrderItems": items}}))
    }
}
