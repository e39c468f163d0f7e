//! Renderings of the world: Orders/Finances JSON shapes and the Flat File V2
//! settlement file in each marketplace's locale.
//!
//! Finances money is a JSON *number*; it is written from the decimal's text by
//! [`to_json_text`] (a `Value` walker) so it never passes through `f64`.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde_json::{Map, Value, json};

use super::world::{Comp, ItemLine, Market, Order, OrderStatus, Period, TxnKind, World};

const DEC_MARK: char = '\u{0}';

/// A JSON number written verbatim from the decimal (see [`to_json_text`]).
pub fn num(d: Decimal) -> Value {
    Value::String(format!("{DEC_MARK}{}", d.normalize_keep_scale()))
}

trait KeepScale {
    fn normalize_keep_scale(self) -> String;
}

impl KeepScale for Decimal {
    fn normalize_keep_scale(self) -> String {
        let mut d = self;
        if d.is_zero() {
            d = Decimal::ZERO;
        }
        if d.scale() < 2 {
            d.rescale(2);
        }
        d.to_string()
    }
}

/// Serializes `v`, writing [`num`] markers as bare JSON numbers.
pub fn to_json_text(v: &Value) -> String {
    let mut out = String::with_capacity(1024);
    write_value(v, &mut out);
    out
}

fn write_value(v: &Value, out: &mut String) {
    match v {
        Value::String(s) if s.starts_with(DEC_MARK) => out.push_str(&s[1..]),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                write_value(item, out);
            }
            out.push('}');
        }
        other => out.push_str(&other.to_string()),
    }
}

pub fn iso(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn orders_money(currency: &str, d: Decimal) -> Value {
    let mut d = d;
    d.rescale(2);
    json!({"CurrencyCode": currency, "Amount": d.to_string()})
}

fn fin_money(currency: &str, d: Decimal) -> Value {
    json!({"CurrencyCode": currency, "CurrencyAmount": num(d)})
}

/// Orders v0 `Order`.
pub fn order_json(world: &World, o: &Order, now: DateTime<Utc>) -> Value {
    let market = &world.markets[o.market];
    let info = market.info;
    let status = o.status(now);
    let mut v = json!({
        "AmazonOrderId": o.id,
        "SellerOrderId": o.id,
        "PurchaseDate": iso(o.purchase),
        "LastUpdateDate": iso(o.last_update(now)),
        "OrderStatus": status.as_str(),
        "FulfillmentChannel": o.channel.code(),
        "SalesChannel": info.name,
        "ShipServiceLevel": if o.channel == super::world::Channel::Afn { "Expedited" } else { "Std Domestic" },
    });
    let obj = v.as_object_mut().expect("object literal");
    let shipped = o.items_shipped(now);
    let total_qty: u32 = o.items.iter().map(|i| i.qty).sum();
    if status != OrderStatus::Pending && status != OrderStatus::Canceled {
        let total: Decimal = o.items.iter().map(|i| i.buyer_total()).sum();
        obj.insert("OrderTotal".into(), orders_money(info.currency, total));
    }
    obj.insert("NumberOfItemsShipped".into(), json!(shipped));
    obj.insert(
        "NumberOfItemsUnshipped".into(),
        json!(if status == OrderStatus::Canceled {
            0
        } else {
            total_qty - shipped
        }),
    );
    obj.insert("PaymentMethod".into(), json!("Other"));
    obj.insert("PaymentMethodDetails".into(), json!(["Standard"]));
    obj.insert("MarketplaceId".into(), json!(info.id));
    obj.insert("ShipmentServiceLevelCategory".into(), json!("Standard"));
    obj.insert("OrderType".into(), json!("StandardOrder"));
    obj.insert("EarliestShipDate".into(), json!(iso(o.purchase)));
    obj.insert(
        "LatestShipDate".into(),
        json!(iso(o.purchase + chrono::Duration::days(3))),
    );
    obj.insert("IsBusinessOrder".into(), json!(o.is_business));
    obj.insert("IsPrime".into(), json!(o.is_prime));
    obj.insert("IsPremiumOrder".into(), json!(false));
    obj.insert("IsGlobalExpressEnabled".into(), json!(false));
    obj.insert("IsReplacementOrder".into(), json!(false));
    obj.insert("IsSoldByAB".into(), json!(false));
    obj.insert("IsISPU".into(), json!(false));
    obj.insert("IsAccessPointOrder".into(), json!(false));
    v
}

/// Orders v0 `OrderItem`.
pub fn order_item_json(world: &World, o: &Order, k: usize, now: DateTime<Utc>) -> Value {
    let market = &world.markets[o.market];
    let cur = market.info.currency;
    let item = &o.items[k];
    let product = &market.catalog[item.product];
    let status = o.status(now);
    let shipped: u32 = o
        .shipments
        .iter()
        .filter(|(t, items)| *t <= now && items.contains(&k))
        .map(|_| item.qty)
        .sum();
    let mut v = json!({
        "ASIN": product.asin,
        "SellerSKU": product.sku,
        "OrderItemId": item.order_item_id,
        "Title": product.title,
        "QuantityOrdered": item.qty,
        "QuantityShipped": shipped,
        "ProductInfo": {"NumberOfItems": "1"},
    });
    let obj = v.as_object_mut().expect("object literal");
    // While an order is Pending, prices, taxes and promotions are not returned.
    if status != OrderStatus::Pending && status != OrderStatus::Canceled {
        obj.insert("ItemPrice".into(), orders_money(cur, item.principal));
        obj.insert("ShippingPrice".into(), orders_money(cur, item.shipping));
        obj.insert("ItemTax".into(), orders_money(cur, item.tax));
        obj.insert("ShippingTax".into(), orders_money(cur, item.shipping_tax));
        obj.insert(
            "ShippingDiscount".into(),
            orders_money(cur, item.promo_shipping),
        );
        obj.insert(
            "PromotionDiscount".into(),
            orders_money(cur, item.promo_principal),
        );
        if let Some(id) = &item.promotion_id {
            obj.insert("PromotionIds".into(), json!([id]));
        }
        if market.info.tax_bp.is_some() && market.info.code == "US" {
            obj.insert(
                "TaxCollection".into(),
                json!({"Model": "MarketplaceFacilitator", "ResponsibleParty": "Amazon Services, Inc."}),
            );
        }
    }
    obj.insert(
        "IsGift".into(),
        json!(if item.gift_wrap.is_zero() {
            "false"
        } else {
            "true"
        }),
    );
    obj.insert("ConditionId".into(), json!("New"));
    obj.insert("ConditionSubtypeId".into(), json!("New"));
    obj.insert("IsTransparency".into(), json!(false));
    obj.insert("SerialNumberRequired".into(), json!(false));
    v
}

fn finance_charge_type(name: &str) -> &str {
    match name {
        "Shipping" => "ShippingCharge",
        other => other,
    }
}

fn item_json(market: &Market, line: &ItemLine, adjustment: bool) -> Value {
    let cur = market.info.currency;
    let mut charges = Vec::new();
    let mut fees = Vec::new();
    let mut promos = Vec::new();
    let mut withheld = Vec::new();
    for (comp, amount) in &line.comps {
        match comp {
            Comp::Charge(name) => charges.push(json!({
                "ChargeType": finance_charge_type(name),
                "ChargeAmount": fin_money(cur, *amount),
            })),
            Comp::Fee(name) => fees.push(json!({
                "FeeType": name,
                "FeeAmount": fin_money(cur, *amount),
            })),
            Comp::Promo { shipping, id } => promos.push(json!({
                "PromotionType": if *shipping { "Shipping" } else { "Principal" },
                "PromotionId": id,
                "PromotionAmount": fin_money(cur, *amount),
            })),
            Comp::Withheld { shipping } => withheld.push(json!({
                "ChargeType": if *shipping { "MarketplaceFacilitatorTax-Shipping" } else { "MarketplaceFacilitatorTax-Principal" },
                "ChargeAmount": fin_money(cur, *amount),
            })),
        }
    }
    let product = &market.catalog[line.product];
    let mut v = Map::new();
    v.insert("SellerSKU".into(), json!(product.sku));
    v.insert("OrderItemId".into(), json!(line.order_item_id));
    if let Some(adj) = &line.adjustment_item_id {
        v.insert("OrderAdjustmentItemId".into(), json!(adj));
    }
    v.insert("QuantityShipped".into(), json!(line.qty));
    let (ck, fk, pk) = if adjustment {
        (
            "ItemChargeAdjustmentList",
            "ItemFeeAdjustmentList",
            "PromotionAdjustmentList",
        )
    } else {
        ("ItemChargeList", "ItemFeeList", "PromotionList")
    };
    v.insert(ck.into(), Value::Array(charges));
    v.insert(fk.into(), Value::Array(fees));
    if !withheld.is_empty() {
        v.insert(
            "ItemTaxWithheldList".into(),
            json!([{"TaxCollectionModel": "MarketplaceFacilitator", "TaxesWithheld": withheld}]),
        );
    }
    if !promos.is_empty() {
        v.insert(pk.into(), Value::Array(promos));
    }
    Value::Object(v)
}

/// One transaction as a Finances v0 event: `(list name, event)`.
pub fn event_json(world: &World, market: &Market, t: usize) -> (&'static str, Value) {
    let txn = &market.txns[t];
    let cur = market.info.currency;
    let posted = iso(txn.posted);
    match &txn.kind {
        TxnKind::Shipment { order, items, .. } => {
            let o = &world.orders[*order];
            (
                "ShipmentEventList",
                json!({
                    "AmazonOrderId": o.id,
                    "SellerOrderId": o.id,
                    "MarketplaceName": market.info.name,
                    "PostedDate": posted,
                    "ShipmentItemList": items.iter().map(|l| item_json(market, l, false)).collect::<Vec<_>>(),
                }),
            )
        }
        TxnKind::Adjustment {
            flavor,
            order,
            items,
            ..
        } => {
            let o = &world.orders[*order];
            (
                flavor.event_list(),
                json!({
                    "AmazonOrderId": o.id,
                    "SellerOrderId": o.id,
                    "MarketplaceName": market.info.name,
                    "PostedDate": posted,
                    "ShipmentItemAdjustmentList": items.iter().map(|l| item_json(market, l, true)).collect::<Vec<_>>(),
                }),
            )
        }
        TxnKind::ServiceFee {
            description,
            fee_type,
            amount,
        } => (
            "ServiceFeeEventList",
            json!({
                "FeeDescription": description,
                "FeeList": [{"FeeType": fee_type, "FeeAmount": fin_money(cur, *amount)}],
            }),
        ),
        TxnKind::Advertising { invoice_id, amount } => (
            "ProductAdsPaymentEventList",
            json!({
                "postedDate": posted,
                "transactionType": "Charge",
                "invoiceId": invoice_id,
                "baseValue": fin_money(cur, *amount),
                "taxValue": fin_money(cur, Decimal::ZERO),
                "transactionValue": fin_money(cur, *amount),
            }),
        ),
        TxnKind::Reimbursement {
            reason,
            product,
            qty,
            amount,
            ..
        } => {
            let p = &market.catalog[*product];
            let per_unit = (*amount / Decimal::from(*qty)).round_dp(2);
            (
                "AdjustmentEventList",
                json!({
                    "AdjustmentType": if *reason == "WAREHOUSE_DAMAGE" { "FBAInventoryReimbursement" } else { "ReversalReimbursement" },
                    "PostedDate": posted,
                    "AdjustmentAmount": fin_money(cur, *amount),
                    "AdjustmentItemList": [{
                        "Quantity": qty.to_string(),
                        "PerUnitAmount": fin_money(cur, per_unit),
                        "TotalAmount": fin_money(cur, *amount),
                        "SellerSKU": p.sku,
                        "FnSKU": p.fnsku,
                        "ProductDescription": p.title,
                        "ASIN": p.asin,
                    }],
                }),
            )
        }
        TxnKind::Reserve { release, amount } => (
            "AdjustmentEventList",
            json!({
                "AdjustmentType": if *release { "ReserveCredit" } else { "ReserveDebit" },
                "PostedDate": posted,
                "AdjustmentAmount": fin_money(cur, *amount),
            }),
        ),
        TxnKind::CardCharge {
            amount,
            cleared_period,
        } => {
            let cleared = &market.periods[*cleared_period];
            (
                "DebtRecoveryEventList",
                json!({
                    "DebtRecoveryType": "DebtPayment",
                    "RecoveryAmount": fin_money(cur, *amount),
                    "DebtRecoveryItemList": [{
                        "RecoveryAmount": fin_money(cur, *amount),
                        "OriginalAmount": fin_money(cur, -*amount),
                        "GroupBeginDate": iso(cleared.start),
                        "GroupEndDate": iso(cleared.end),
                    }],
                    "ChargeInstrumentList": [{
                        "Description": "Visa",
                        "Tail": "1111",
                        "Amount": fin_money(cur, *amount),
                    }],
                }),
            )
        }
    }
}

/// Groups events into the `FinancialEvents` object.
pub fn financial_events(world: &World, events: &[(usize, usize)]) -> Value {
    let mut map = Map::new();
    for &(m, t) in events {
        let market = &world.markets[m];
        let (list, event) = event_json(world, market, t);
        map.entry(list.to_string())
            .or_insert_with(|| Value::Array(Vec::new()))
            .as_array_mut()
            .expect("array")
            .push(event);
    }
    Value::Object(map)
}

/// The group's running total: beginning balance plus events posted by `now`.
pub fn group_total(market: &Market, period: &Period, now: DateTime<Utc>) -> Decimal {
    if period.end <= now {
        return period.total;
    }
    period.payable
        + period
            .txns
            .iter()
            .filter(|&&t| market.txns[t].posted <= now)
            .map(|&t| market.txns[t].amount())
            .sum::<Decimal>()
}

/// What Amazon transfers for `total` of a period: `(currency, amount)`, converted at
/// Amazon's rate of that settlement when the marketplace deposits in another currency
/// (the base rate moved by up to ±0.005, fixed per settlement).
pub fn converted(market: &Market, period: &Period, total: Decimal) -> (String, Decimal) {
    match &market.deposit {
        None => (market.info.currency.to_string(), total),
        Some((currency, base)) => {
            use sha2::Digest;
            let h = sha2::Sha256::digest(format!("{}/fx", period.group_id).as_bytes());
            let bp = i64::from(u16::from_le_bytes([h[0], h[1]]) % 101) - 50;
            let rate = base + Decimal::new(bp, 4);
            let amount = (total * rate)
                .round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
            (currency.clone(), amount)
        }
    }
}

/// Finances v0 `FinancialEventGroup`.
pub fn group_json(market: &Market, period: &Period, now: DateTime<Utc>) -> Value {
    let cur = market.info.currency;
    let closed = period.end <= now;
    let total = group_total(market, period, now);
    let mut v = Map::new();
    v.insert("FinancialEventGroupId".into(), json!(period.group_id));
    v.insert(
        "ProcessingStatus".into(),
        json!(if closed { "Closed" } else { "Open" }),
    );
    if closed {
        let transferred = period.deposit_date() <= now;
        v.insert(
            "FundTransferStatus".into(),
            json!(if transferred {
                "Succeeded"
            } else {
                "Processing"
            }),
        );
    }
    v.insert("OriginalTotal".into(), fin_money(cur, total));
    let (to, amount) = converted(market, period, total);
    v.insert("ConvertedTotal".into(), fin_money(&to, amount));
    if closed {
        v.insert("FundTransferDate".into(), json!(iso(period.deposit_date())));
        v.insert("TraceId".into(), json!(period.trace_id));
        v.insert("AccountTail".into(), json!("042"));
    }
    v.insert("BeginningBalance".into(), fin_money(cur, period.payable));
    v.insert("FinancialEventGroupStart".into(), json!(iso(period.start)));
    if closed {
        v.insert("FinancialEventGroupEnd".into(), json!(iso(period.end)));
    }
    Value::Object(v)
}

// ---------------------------------------------------------------- settlement file

/// Settlement Flat File V2 header (24 columns, promotion-id last).
pub const V2_HEADER: [&str; 24] = [
    "settlement-id",
    "settlement-start-date",
    "settlement-end-date",
    "deposit-date",
    "total-amount",
    "currency",
    "transaction-type",
    "order-id",
    "merchant-order-id",
    "adjustment-id",
    "shipment-id",
    "marketplace-name",
    "amount-type",
    "amount-description",
    "amount",
    "fulfillment-id",
    "posted-date",
    "posted-date-time",
    "order-item-code",
    "merchant-order-item-id",
    "merchant-adjustment-item-id",
    "sku",
    "quantity-purchased",
    "promotion-id",
];

fn fmt_amount(d: Decimal, eu: bool) -> String {
    let mut d = d;
    d.rescale(2);
    let text = d.abs().to_string();
    let (int, frac) = text.split_once('.').unwrap_or((&text, "00"));
    let neg = d.is_sign_negative() && !d.is_zero();
    if !eu {
        return format!("{}{int}.{frac}", if neg { "-" } else { "" });
    }
    let mut grouped = String::new();
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push('.');
        }
        grouped.push(ch);
    }
    format!("{}{grouped},{frac}", if neg { "-" } else { "" })
}

fn fmt_datetime(t: DateTime<Utc>, eu: bool) -> String {
    if eu {
        t.format("%d.%m.%Y %H:%M:%S UTC").to_string()
    } else {
        t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
    }
}

fn fmt_date(t: DateTime<Utc>, eu: bool) -> String {
    if eu {
        t.format("%d.%m.%Y").to_string()
    } else {
        t.format("%Y-%m-%d").to_string()
    }
}

#[derive(Default)]
struct Row {
    transaction_type: String,
    order_id: String,
    adjustment_id: String,
    shipment_id: String,
    marketplace_name: String,
    amount_type: String,
    amount_description: String,
    amount: Decimal,
    fulfillment_id: String,
    posted: Option<DateTime<Utc>>,
    order_item_code: String,
    merchant_adjustment_item_id: String,
    sku: String,
    quantity: Option<u32>,
    promotion_id: String,
}

fn comp_row(comp: &Comp) -> (&'static str, String, String) {
    match comp {
        Comp::Charge(name) => ("ItemPrice", name.to_string(), String::new()),
        Comp::Fee(name) => ("ItemFees", name.clone(), String::new()),
        Comp::Promo { shipping, id } => (
            "Promotion",
            if *shipping { "Shipping" } else { "Principal" }.into(),
            id.clone(),
        ),
        Comp::Withheld { shipping } => (
            "ItemWithheldTax",
            if *shipping {
                "MarketplaceFacilitatorTax-Shipping"
            } else {
                "MarketplaceFacilitatorTax-Principal"
            }
            .into(),
            String::new(),
        ),
    }
}

fn other_row(posted: DateTime<Utc>, amount_type: &str, description: &str, amount: Decimal) -> Row {
    Row {
        transaction_type: "other-transaction".into(),
        amount_type: amount_type.into(),
        amount_description: description.into(),
        amount,
        posted: Some(posted),
        ..Row::default()
    }
}

fn txn_rows(world: &World, market: &Market, t: usize, out: &mut Vec<Row>) {
    let txn = &market.txns[t];
    let item_rows = |tt: &str,
                     order: usize,
                     shipment_id: &str,
                     adjustment_id: &str,
                     items: &[ItemLine],
                     out: &mut Vec<Row>| {
        let o = &world.orders[order];
        for line in items {
            let sku = market.catalog[line.product].sku.clone();
            for (comp, amount) in &line.comps {
                let (amount_type, description, promotion_id) = comp_row(comp);
                out.push(Row {
                    transaction_type: tt.into(),
                    order_id: o.id.clone(),
                    adjustment_id: adjustment_id.into(),
                    shipment_id: shipment_id.into(),
                    marketplace_name: market.info.name.into(),
                    quantity: (*comp == Comp::Charge("Principal")).then_some(line.qty),
                    amount_type: amount_type.into(),
                    amount_description: description,
                    amount: *amount,
                    fulfillment_id: o.channel.code().into(),
                    posted: Some(txn.posted),
                    order_item_code: line.order_item_id.clone(),
                    merchant_adjustment_item_id: line
                        .adjustment_item_id
                        .clone()
                        .unwrap_or_default(),
                    sku: sku.clone(),
                    promotion_id,
                });
            }
        }
    };
    match &txn.kind {
        TxnKind::Shipment {
            order,
            shipment_id,
            items,
        } => item_rows("Order", *order, shipment_id, "", items, out),
        TxnKind::Adjustment {
            flavor,
            order,
            adjustment_id,
            items,
        } => item_rows(
            flavor.transaction_type(),
            *order,
            "",
            adjustment_id,
            items,
            out,
        ),
        TxnKind::ServiceFee {
            description,
            amount,
            ..
        } => out.push(other_row(
            txn.posted,
            "other-transaction",
            description,
            *amount,
        )),
        TxnKind::Advertising { amount, .. } => {
            let mut row = other_row(
                txn.posted,
                "Cost of Advertising",
                "TransactionTotalAmount",
                *amount,
            );
            row.transaction_type = "ServiceFee".into();
            out.push(row);
        }
        TxnKind::Reimbursement {
            reason,
            product,
            qty,
            amount,
            order,
            adjustment_id,
        } => {
            let mut row = other_row(txn.posted, "FBA Inventory Reimbursement", reason, *amount);
            row.sku = market.catalog[*product].sku.clone();
            row.quantity = Some(*qty);
            if let Some(o) = order {
                row.order_id = world.orders[*o].id.clone();
                row.marketplace_name = market.info.name.into();
            }
            row.adjustment_id = adjustment_id.clone().unwrap_or_default();
            out.push(row);
        }
        TxnKind::Reserve { release, amount } => out.push(other_row(
            txn.posted,
            "other-transaction",
            if *release {
                "Previous Reserve Amount Balance"
            } else {
                "Current Reserve Amount"
            },
            *amount,
        )),
        TxnKind::CardCharge { amount, .. } => out.push(other_row(
            txn.posted,
            "other-transaction",
            "Successful charge",
            *amount,
        )),
    }
}

/// Body rows of the settlement file, counted without rendering it.
pub fn row_count(market: &Market, period: &Period) -> usize {
    let per_txn = |t: &usize| match &market.txns[*t].kind {
        TxnKind::Shipment { items, .. } | TxnKind::Adjustment { items, .. } => {
            items.iter().map(|l| l.comps.len()).sum()
        }
        _ => 1,
    };
    usize::from(!period.payable.is_zero()) + period.txns.iter().map(per_txn).sum::<usize>()
}

/// The settlement's Flat File V2 text (before character encoding).
pub fn settlement_file(world: &World, market: &Market, period: &Period) -> String {
    let eu = market.info.eu_locale;
    let mut rows = Vec::new();
    if !period.payable.is_zero() {
        rows.push(other_row(
            period.start,
            "other-transaction",
            "Payable to Amazon",
            period.payable,
        ));
    }
    for &t in &period.txns {
        txn_rows(world, market, t, &mut rows);
    }
    let mut out = String::with_capacity(rows.len() * 160);
    out.push_str(&V2_HEADER.join("\t"));
    out.push('\n');
    let summary = [
        period.settlement_id.clone(),
        fmt_datetime(period.start, eu),
        fmt_datetime(period.end, eu),
        fmt_datetime(period.deposit_date(), eu),
        fmt_amount(period.total, eu),
        market.info.currency.to_string(),
    ];
    out.push_str(&summary.join("\t"));
    for _ in summary.len()..V2_HEADER.len() {
        out.push('\t');
    }
    out.push('\n');
    for r in rows {
        let cols: [String; 24] = [
            period.settlement_id.clone(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            r.transaction_type,
            r.order_id.clone(),
            r.order_id,
            r.adjustment_id,
            r.shipment_id,
            r.marketplace_name,
            r.amount_type,
            r.amount_description,
            fmt_amount(r.amount, eu),
            r.fulfillment_id,
            r.posted.map(|p| fmt_date(p, eu)).unwrap_or_default(),
            r.posted.map(|p| fmt_datetime(p, eu)).unwrap_or_default(),
            r.order_item_code,
            String::new(),
            r.merchant_adjustment_item_id,
            r.sku,
            r.quantity.map(|q| q.to_string()).unwrap_or_default(),
            r.promotion_id,
        ];
        out.push_str(&cols.join("\t"));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn locale_amounts() {
        assert_eq!(fmt_amount(d("1234567.5"), true), "1.234.567,50");
        assert_eq!(fmt_amount(d("-1234.56"), true), "-1.234,56");
        assert_eq!(fmt_amount(d("-999.99"), true), "-999,99");
        assert_eq!(fmt_amount(d("0"), true), "0,00");
        assert_eq!(fmt_amount(d("-1234.5"), false), "-1234.50");
        assert_eq!(fmt_amount(d("-0.00"), false), "0.00");
    }

    #[test]
    fn finance_numbers_are_written_from_the_decimal() {
        let v = json!({"a": num(d("-0.5")), "b": [num(d("12345678901234567.89"))], "c": "x\u{1}"});
        assert_eq!(
            to_json_text(&v),
            r#"{"a":-0.50,"b":[12345678901234567.89],"c":"x\u0001"}"#
        );
    }
}
