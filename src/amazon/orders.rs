//! Orders v0 calls: `getOrders` as a paged stream, `getOrder`, `getOrderItems` (on demand).

use chrono::{DateTime, Utc};
use futures::stream::BoxStream;

use super::client::SpApiClient;
use super::limiter::Operation;
use super::models::orders::{Order, OrderItem, OrderItemsList, OrdersList};
use super::{Error, Page, page_stream};

/// Which dates bound a `getOrders` listing (Amazon requires exactly one kind).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrdersWindow {
    Created {
        after: DateTime<Utc>,
        before: Option<DateTime<Utc>>,
    },
    LastUpdated {
        after: DateTime<Utc>,
        before: Option<DateTime<Utc>>,
    },
}

/// Filters for `getOrders`. Repeated with every `NextToken`, as Amazon requires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrdersQuery {
    pub marketplace_ids: Vec<String>,
    pub window: OrdersWindow,
    pub order_statuses: Vec<String>,
    pub fulfillment_channels: Vec<String>,
    /// 1–100; Amazon's default is 100.
    pub max_results_per_page: Option<u32>,
}

impl OrdersQuery {
    pub fn created_after(marketplace_id: impl Into<String>, after: DateTime<Utc>) -> Self {
        OrdersQuery {
            marketplace_ids: vec![marketplace_id.into()],
            window: OrdersWindow::Created {
                after,
                before: None,
            },
            order_statuses: Vec::new(),
            fulfillment_channels: Vec::new(),
            max_results_per_page: None,
        }
    }

    pub fn updated_after(marketplace_id: impl Into<String>, after: DateTime<Utc>) -> Self {
        OrdersQuery {
            window: OrdersWindow::LastUpdated {
                after,
                before: None,
            },
            ..Self::created_after(marketplace_id, after)
        }
    }

    fn params(&self, next_token: Option<&str>) -> Vec<(&'static str, String)> {
        let mut q = vec![("MarketplaceIds", self.marketplace_ids.join(","))];
        match &self.window {
            OrdersWindow::Created { after, before } => {
                q.push(("CreatedAfter", iso(*after)));
                if let Some(b) = before {
                    q.push(("CreatedBefore", iso(*b)));
                }
            }
            OrdersWindow::LastUpdated { after, before } => {
                q.push(("LastUpdatedAfter", iso(*after)));
                if let Some(b) = before {
                    q.push(("LastUpdatedBefore", iso(*b)));
                }
            }
        }
        if !self.order_statuses.is_empty() {
            q.push(("OrderStatuses", self.order_statuses.join(",")));
        }
        if !self.fulfillment_channels.is_empty() {
            q.push(("FulfillmentChannels", self.fulfillment_channels.join(",")));
        }
        if let Some(n) = self.max_results_per_page {
            q.push(("MaxResultsPerPage", n.clamp(1, 100).to_string()));
        }
        if let Some(t) = next_token {
            q.push(("NextToken", t.to_string()));
        }
        q
    }
}

/// ISO 8601 as Amazon prints it (`2026-03-01T12:00:00Z`).
pub(crate) fn iso(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Treats `""` as "no token" (some servers send it at the end).
pub(crate) fn token(t: Option<String>) -> Option<String> {
    t.filter(|t| !t.trim().is_empty())
}

impl SpApiClient {
    /// One `getOrders` page.
    pub async fn orders_page(
        &self,
        query: &OrdersQuery,
        next_token: Option<&str>,
    ) -> Result<Page<Order>, Error> {
        let list: OrdersList = self
            .get_payload(
                Operation::GetOrders,
                "/orders/v0/orders",
                &query.params(next_token),
            )
            .await?;
        Ok(Page {
            items: list.orders,
            next_token: token(list.next_token),
        })
    }

    /// Every `getOrders` page from `resume` (a saved `next_token`) or the start.
    pub fn orders(
        &self,
        query: OrdersQuery,
        resume: Option<String>,
    ) -> BoxStream<'static, Result<Page<Order>, Error>> {
        let client = self.clone();
        page_stream(
            resume,
            move |cursor| {
                let (client, query) = (client.clone(), query.clone());
                async move { client.orders_page(&query, cursor.as_deref()).await }
            },
            |page| page.next_token.clone(),
        )
    }

    pub async fn order(&self, order_id: &str) -> Result<Order, Error> {
        let path = format!("/orders/v0/orders/{}", path_segment(order_id));
        self.get_payload(Operation::GetOrder, &path, &[]).await
    }

    /// All items of one order (paged internally). Call only when the lines are needed:
    /// its bucket is separate but it is one call per order.
    pub async fn order_items(&self, order_id: &str) -> Result<Vec<OrderItem>, Error> {
        let path = format!("/orders/v0/orders/{}/orderItems", path_segment(order_id));
        let mut items = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let query: Vec<(&str, String)> =
                next.iter().map(|t| ("NextToken", t.clone())).collect();
            let list: OrderItemsList = self
                .get_payload(Operation::GetOrderItems, &path, &query)
                .await?;
            items.extend(list.order_items);
            next = token(list.next_token);
            if next.is_none() {
                return Ok(items);
            }
        }
    }
}

/// Percent-encodes one path segment (ids are plain, but never trust that).
pub(crate) fn path_segment(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}
