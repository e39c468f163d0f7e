//! An order's data as Amazon reported it, shown beside its settlement rows
//! (a view model of its own: `view.rs` holds the rest).

/// An order as Amazon reported it, as the review shows it beside its rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderView {
    pub order_id: String,
    pub purchased: Option<String>,
    pub status: Option<String>,
    pub items: Option<i64>,
    pub total: Option<String>,
    pub ship_to: Option<String>,
}

impl OrderView {
    /// From the stored SP-API `Order` body (fields missing stay `None`).
    pub fn from_json(order_id: &str, v: &serde_json::Value) -> OrderView {
        let s = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
        let n = |k: &str| v.get(k).and_then(|x| x.as_i64());
        let items = match (n("NumberOfItemsShipped"), n("NumberOfItemsUnshipped")) {
            (None, None) => None,
            (a, b) => Some(a.unwrap_or(0) + b.unwrap_or(0)),
        };
        let total = v.get("OrderTotal").and_then(|t| {
            Some(format!(
                "{} {}",
                t.get("Amount")?.as_str()?,
                t.get("CurrencyCode")?.as_str()?
            ))
        });
        let ship_to = v.get("ShippingAddress").and_then(|a| {
            let parts: Vec<&str> = ["City", "StateOrRegion", "CountryCode"]
                .iter()
                .filter_map(|k| a.get(*k).and_then(|x| x.as_str()))
                .collect();
            (!parts.is_empty()).then(|| parts.join(", "))
        });
        OrderView {
            order_id: order_id.to_string(),
            purchased: s("PurchaseDate"),
            status: s("OrderStatus"),
            items,
            total,
            ship_to,
        }
    }

    /// One line: purchased when, status, items, total, ship-to region.
    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        if let Some(p) = &self.purchased {
            // the day is what matters beside settlement rows
            parts.push(format!("ordered {}", p.get(..10).unwrap_or(p)));
        }
        if let Some(s) = &self.status {
            parts.push(s.clone());
        }
        if let Some(n) = self.items {
            parts.push(format!("{n} item(s)"));
        }
        if let Some(t) = &self.total {
            parts.push(t.clone());
        }
        parts.push(match &self.ship_to {
            Some(to) => format!("ship to {to}"),
            None => "ship-to not reported".into(),
        });
        parts.join(" · ")
    }
}
