//! World generation: catalogs, market offsets and, period by period, the orders,
//! account transactions and settlement totals of every marketplace.

use chrono::{DateTime, Datelike, Duration, TimeZone, Timelike, Utc};
use rand::Rng;
use rand::rngs::StdRng;
use rust_decimal::Decimal;

use super::seed::{
    ALNUM, UPPER_NUM, b64url, digits, hash_seed, money, pct_bp, rand_str, rng_for, round2,
};
use super::{
    AdjustmentFlavor, Channel, Comp, ItemLine, MARKETPLACES, Market, MarketplaceInfo, Order,
    OrderItem, PERIOD_DAYS, Period, Product, Txn, TxnKind, World, marketplace_by_code,
};
use crate::sim::amazon::{Scenario, SimError};

const PRODUCT_NAMES: &[&str] = &[
    "Stainless Water Bottle 750ml",
    "Bamboo Cutting Board",
    "Yoga Mat Non-Slip",
    "LED Desk Lamp",
    "Ceramic Pour-Over Set",
    "Wireless Charging Pad",
    "Cast Iron Skillet 10in",
    "Travel Backpack 30L",
    "Cotton Tea Towels (4)",
    "Silicone Baking Mats",
    "Hardcover Notebook A5",
    "Field Guide to Birds (Book)",
    "Espresso Tamper 58mm",
    "Insulated Lunch Box",
    "Garden Kneeler Pad",
    "Resistance Bands Set",
    "Spice Jar Labels",
    "Bike Phone Mount",
    "Wool Hiking Socks",
    "Cookbook: Weeknight Meals (Book)",
];

fn make_catalog(seed: u64, info: &MarketplaceInfo) -> Vec<Product> {
    let mut rng = rng_for(seed, info.code, 0, 0);
    PRODUCT_NAMES
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let sku = if info.code == "DE" && i == 4 {
                // A non-ASCII SKU: exercises the file's character set.
                "MÜSLI-SCHALE-4".to_string()
            } else {
                format!("SIM-{}-{:03}", info.code, i + 1)
            };
            let asin = format!("B0{}", rand_str(&mut rng, UPPER_NUM, 8));
            let fnsku = format!("X00{}", rand_str(&mut rng, UPPER_NUM, 7));
            let price = money(rng.random_range(899..=6999));
            let fba_fee = money(rng.random_range(322..=712));
            Product {
                sku,
                asin,
                fnsku,
                title: name.to_string(),
                price,
                fba_fee,
                media: name.contains("(Book)"),
            }
        })
        .collect()
}

fn market_offset(seed: u64, m: usize) -> Duration {
    let mut rng = rng_for(seed, "offset", m as u64, 0);
    let secs = rng.random_range(6 * 3600..13 * 86_400i64);
    Duration::seconds(secs)
}

/// A last closed-period end `E0` in `(start − 14 d, start)` such that the period
/// `[E0 − 14 d, E0)` contains a month start (so it spans a month end).
fn month_end_spanning_end(start: DateTime<Utc>, seed: u64, m: usize) -> DateTime<Utc> {
    let mut rng = rng_for(seed, "monthend", m as u64, 0);
    let lo = start - Duration::days(PERIOD_DAYS) + Duration::hours(1);
    let hi = start - Duration::hours(1);
    let mut probe = hi;
    for _ in 0..3 {
        let month_start = Utc
            .with_ymd_and_hms(probe.year(), probe.month(), 1, 0, 0, 0)
            .single()
            .unwrap_or(probe);
        let a = (month_start + Duration::hours(1)).max(lo);
        let b = (month_start + Duration::days(PERIOD_DAYS - 1)).min(hi);
        if b > a {
            let span = (b - a).num_seconds();
            return a + Duration::seconds(rng.random_range(0..span.max(1)));
        }
        probe = month_start - Duration::days(1);
    }
    // No month start within reach (e.g. start on 31 March): the period still ends
    // just after a month start one cycle earlier.
    hi
}

impl World {
    pub fn new(
        seed: u64,
        marketplaces: &[String],
        history_days: u32,
        start: DateTime<Utc>,
        scenarios: Vec<Scenario>,
    ) -> Result<World, SimError> {
        let mut infos: Vec<&'static MarketplaceInfo> = Vec::new();
        for code in marketplaces {
            let info = marketplace_by_code(code).ok_or_else(|| {
                SimError::Config(format!(
                    "unknown marketplace `{code}`: supported are {}",
                    MARKETPLACES
                        .iter()
                        .map(|m| m.code)
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?;
            if !infos.iter().any(|i| i.code == info.code) {
                infos.push(info);
            }
        }
        if infos.is_empty() {
            return Err(SimError::Config("no marketplace given".into()));
        }
        let closed = (history_days as i64 + PERIOD_DAYS - 1) / PERIOD_DAYS;
        let start = start.with_nanosecond(0).unwrap_or(start);
        let mut markets = Vec::new();
        for (m, info) in infos.iter().enumerate() {
            for sc in &scenarios {
                if sc.marketplace().eq_ignore_ascii_case(info.code) {
                    let needed = match sc {
                        Scenario::NegativeThenCleared { .. } => 2,
                        Scenario::ForeignDeposit { .. } => 0,
                        _ => 1,
                    };
                    if (closed as usize) < needed {
                        return Err(SimError::Config(format!(
                            "scenario {sc:?} needs at least {} days of history",
                            needed as i64 * PERIOD_DAYS
                        )));
                    }
                }
            }
            let month_end = scenarios.iter().any(|s| {
                matches!(s, Scenario::MonthEndSpan { marketplace } if marketplace.eq_ignore_ascii_case(info.code))
            });
            let last_end = if month_end {
                month_end_spanning_end(start, seed, m)
            } else {
                start - market_offset(seed, m)
            };
            let first_start = last_end - Duration::days(PERIOD_DAYS * closed);
            markets.push(Market {
                info,
                catalog: make_catalog(seed, info),
                first_start,
                closed_at_start: closed as usize,
                periods: Vec::new(),
                txns: Vec::new(),
                hold: Decimal::ZERO,
                deposit: scenarios.iter().find_map(|s| match s {
                    Scenario::ForeignDeposit {
                        marketplace,
                        currency,
                        rate,
                    } if marketplace.eq_ignore_ascii_case(info.code) => {
                        Some((currency.clone(), *rate))
                    }
                    _ => None,
                }),
            });
        }
        for sc in &scenarios {
            if !markets
                .iter()
                .any(|m| m.info.code.eq_ignore_ascii_case(sc.marketplace()))
            {
                return Err(SimError::Config(format!(
                    "scenario {sc:?} names a marketplace that is not simulated"
                )));
            }
        }
        let mut world = World {
            seed,
            markets,
            orders: Vec::new(),
            scenarios,
        };
        world.ensure(start);
        Ok(world)
    }

    /// Generates periods until every marketplace has one that contains `now`.
    pub fn ensure(&mut self, now: DateTime<Utc>) {
        for m in 0..self.markets.len() {
            loop {
                let market = &self.markets[m];
                let next = market.periods.len();
                let next_start = market.first_start + Duration::days(PERIOD_DAYS * next as i64);
                if next > 0 && next_start > now {
                    break;
                }
                self.generate_period(m, next);
            }
        }
    }

    fn scenario_applies(&self, m: usize, f: impl Fn(&Scenario) -> bool) -> bool {
        let code = self.markets[m].info.code;
        self.scenarios
            .iter()
            .any(|s| s.marketplace().eq_ignore_ascii_case(code) && f(s))
    }

    fn generate_period(&mut self, m: usize, i: usize) {
        let seed = self.seed;
        let start = self.markets[m].first_start + Duration::days(PERIOD_DAYS * i as i64);
        let end = start + Duration::days(PERIOD_DAYS);
        let mut rng = rng_for(seed, self.markets[m].info.code, i as u64, 1);
        self.generate_orders(m, i, start, end, &mut rng);
        self.generate_account_txns(m, start, end, &mut rng);
        self.finalize_period(m, i, start, end, &mut rng);
    }

    fn generate_orders(
        &mut self,
        m: usize,
        _i: usize,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        rng: &mut StdRng,
    ) {
        let info = self.markets[m].info;
        let count = match info.code {
            "US" => rng.random_range(40..70),
            "CA" => rng.random_range(15..30),
            _ => rng.random_range(25..45),
        };
        let span = (end - start).num_seconds();
        let mut purchases: Vec<i64> = (0..count).map(|_| rng.random_range(0..span)).collect();
        purchases.sort_unstable();
        for offset in purchases {
            let purchase = start + Duration::seconds(offset);
            self.generate_order(m, purchase, rng);
        }
    }

    fn generate_order(&mut self, m: usize, purchase: DateTime<Utc>, rng: &mut StdRng) {
        let info = self.markets[m].info;
        let prefix = info.order_prefixes[rng.random_range(0..info.order_prefixes.len())];
        let id = format!("{prefix}-{}-{}", digits(rng, 7), digits(rng, 7));
        let channel = if rng.random_bool(0.7) {
            Channel::Afn
        } else {
            Channel::Mfn
        };
        let n_items = match rng.random_range(0..100) {
            0..80 => 1,
            80..95 => 2,
            _ => 3,
        };
        let catalog_len = self.markets[m].catalog.len();
        let mut items = Vec::new();
        let free_shipping_promo = rng.random_bool(0.1);
        for _ in 0..n_items {
            let product = rng.random_range(0..catalog_len);
            let p = &self.markets[m].catalog[product];
            let qty = if rng.random_bool(0.85) {
                1
            } else {
                rng.random_range(2..4)
            };
            let principal = p.price * Decimal::from(qty);
            let buyer_pays_shipping = match channel {
                Channel::Mfn => rng.random_bool(0.6),
                Channel::Afn => rng.random_bool(0.15),
            };
            let shipping = if buyer_pays_shipping {
                money(499)
            } else {
                Decimal::ZERO
            };
            let gift_wrap = if rng.random_bool(0.03) {
                money(399)
            } else {
                Decimal::ZERO
            };
            let (tax, shipping_tax, gift_wrap_tax) = match info.tax_bp {
                Some(bp) => (
                    pct_bp(principal, bp),
                    pct_bp(shipping, bp),
                    pct_bp(gift_wrap, bp),
                ),
                None => (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO),
            };
            let coupon = rng.random_bool(0.12);
            let promo_principal = if coupon {
                pct_bp(principal, 1000)
            } else {
                Decimal::ZERO
            };
            let promo_shipping = if free_shipping_promo && !shipping.is_zero() {
                shipping
            } else {
                Decimal::ZERO
            };
            let promotion_id = if coupon {
                Some(format!("VPC-44-{}", digits(rng, 9)))
            } else if !promo_shipping.is_zero() {
                Some(format!("Free Shipping {}", purchase.format("%Y/%m/%d")))
            } else {
                None
            };
            items.push(OrderItem {
                order_item_id: digits(rng, 14),
                product,
                qty,
                principal,
                shipping,
                tax,
                shipping_tax,
                gift_wrap,
                gift_wrap_tax,
                promo_principal,
                promo_shipping,
                promotion_id,
            });
        }
        let canceled = rng.random_bool(0.03);
        let mut shipments = Vec::new();
        if !canceled {
            let first = purchase
                + Duration::seconds(match channel {
                    Channel::Afn => rng.random_range(4 * 3600..36 * 3600),
                    Channel::Mfn => rng.random_range(12 * 3600..72 * 3600),
                });
            if items.len() >= 2 && rng.random_bool(0.4) {
                let second = first + Duration::seconds(rng.random_range(86_400..4 * 86_400));
                shipments.push((first, vec![0]));
                shipments.push((second, (1..items.len()).collect()));
            } else {
                shipments.push((first, (0..items.len()).collect()));
            }
        }
        let order_index = self.orders.len();
        self.orders.push(Order {
            id,
            market: m,
            purchase,
            channel,
            items,
            canceled_at: canceled.then(|| purchase + Duration::minutes(20)),
            shipments: shipments.clone(),
            is_prime: channel == Channel::Afn && rng.random_bool(0.6),
            is_business: rng.random_bool(0.08),
        });
        let mut last_ship = purchase;
        for (posted, item_idx) in &shipments {
            last_ship = last_ship.max(*posted);
            let shipment_id = match channel {
                Channel::Afn => rand_str(rng, ALNUM, 9),
                Channel::Mfn => format!("D{}", rand_str(rng, ALNUM, 8)),
            };
            let lines = item_idx
                .iter()
                .map(|&k| self.shipment_line(m, order_index, k))
                .collect();
            self.markets[m].txns.push(Txn {
                posted: *posted,
                kind: TxnKind::Shipment {
                    order: order_index,
                    shipment_id,
                    items: lines,
                },
            });
        }
        if shipments.is_empty() {
            return;
        }
        // Refunds, chargebacks, A-to-z claims reverse one item of a shipped order.
        let roll = rng.random_range(0..1000);
        let flavor = match roll {
            0..60 => Some(AdjustmentFlavor::Refund),
            60..70 => Some(AdjustmentFlavor::Chargeback),
            70..80 => Some(AdjustmentFlavor::GuaranteeClaim),
            _ => None,
        };
        if let Some(flavor) = flavor {
            let k = rng.random_range(0..self.orders[order_index].items.len());
            let posted = last_ship
                + Duration::seconds(match flavor {
                    AdjustmentFlavor::Refund => rng.random_range(2 * 86_400..25 * 86_400),
                    _ => rng.random_range(10 * 86_400..40 * 86_400),
                });
            let adjustment_id = format!("amzn1:crow:{}", rand_str(rng, ALNUM, 22));
            let line = self.adjustment_line(m, order_index, k, flavor, digits(rng, 19));
            self.markets[m].txns.push(Txn {
                posted,
                kind: TxnKind::Adjustment {
                    flavor,
                    order: order_index,
                    adjustment_id: adjustment_id.clone(),
                    items: vec![line],
                },
            });
            if flavor == AdjustmentFlavor::Refund && rng.random_bool(0.2) {
                let item = &self.orders[order_index].items[k];
                let amount = round2(item.principal * Decimal::new(8, 1));
                self.markets[m].txns.push(Txn {
                    posted: posted + Duration::seconds(rng.random_range(20 * 86_400..45 * 86_400)),
                    kind: TxnKind::Reimbursement {
                        reason: "REVERSAL_REIMBURSEMENT",
                        product: item.product,
                        qty: item.qty,
                        amount,
                        order: Some(order_index),
                        adjustment_id: Some(adjustment_id),
                    },
                });
            }
        }
    }

    fn commission(item: &OrderItem) -> Decimal {
        let base = item.principal + item.shipping + item.gift_wrap
            - item.promo_principal
            - item.promo_shipping;
        pct_bp(base, 1500).max(money(30))
    }

    fn shipment_line(&self, m: usize, order: usize, k: usize) -> ItemLine {
        let o = &self.orders[order];
        let item = &o.items[k];
        let product = &self.markets[m].catalog[item.product];
        let mut comps: Vec<(Comp, Decimal)> = vec![(Comp::Charge("Principal"), item.principal)];
        let mfn_tax = self.markets[m].info.tax_bp.is_some();
        if mfn_tax {
            comps.push((Comp::Charge("Tax"), item.tax));
        }
        if !item.shipping.is_zero() {
            comps.push((Comp::Charge("Shipping"), item.shipping));
            if mfn_tax {
                comps.push((Comp::Charge("ShippingTax"), item.shipping_tax));
            }
        }
        if !item.gift_wrap.is_zero() {
            comps.push((Comp::Charge("GiftWrap"), item.gift_wrap));
            if mfn_tax {
                comps.push((Comp::Charge("GiftWrapTax"), item.gift_wrap_tax));
            }
        }
        if mfn_tax {
            comps.push((
                Comp::Withheld { shipping: false },
                -(item.tax + item.gift_wrap_tax),
            ));
            if !item.shipping.is_zero() {
                comps.push((Comp::Withheld { shipping: true }, -item.shipping_tax));
            }
        }
        if let Some(id) = &item.promotion_id {
            if !item.promo_principal.is_zero() {
                comps.push((
                    Comp::Promo {
                        shipping: false,
                        id: id.clone(),
                    },
                    -item.promo_principal,
                ));
            }
            if !item.promo_shipping.is_zero() {
                comps.push((
                    Comp::Promo {
                        shipping: true,
                        id: id.clone(),
                    },
                    -item.promo_shipping,
                ));
            }
        }
        comps.push((Comp::Fee("Commission".into()), -Self::commission(item)));
        if o.channel == Channel::Afn {
            comps.push((
                Comp::Fee("FBAPerUnitFulfillmentFee".into()),
                -(product.fba_fee * Decimal::from(item.qty)),
            ));
            if !item.shipping.is_zero() {
                comps.push((Comp::Fee("ShippingChargeback".into()), -item.shipping));
            }
        }
        if product.media {
            comps.push((
                Comp::Fee("VariableClosingFee".into()),
                -(money(180) * Decimal::from(item.qty)),
            ));
        }
        ItemLine {
            order_item_id: item.order_item_id.clone(),
            adjustment_item_id: None,
            product: item.product,
            qty: item.qty,
            comps,
        }
    }

    fn adjustment_line(
        &self,
        m: usize,
        order: usize,
        k: usize,
        flavor: AdjustmentFlavor,
        adjustment_item_id: String,
    ) -> ItemLine {
        let item = &self.orders[order].items[k];
        let taxed = self.markets[m].info.tax_bp.is_some();
        let mut comps: Vec<(Comp, Decimal)> = vec![(Comp::Charge("Principal"), -item.principal)];
        if taxed {
            comps.push((Comp::Charge("Tax"), -item.tax));
        }
        let with_shipping = flavor != AdjustmentFlavor::Chargeback && !item.shipping.is_zero();
        if with_shipping {
            comps.push((Comp::Charge("Shipping"), -item.shipping));
            if taxed {
                comps.push((Comp::Charge("ShippingTax"), -item.shipping_tax));
            }
        }
        if taxed {
            comps.push((Comp::Withheld { shipping: false }, item.tax));
            if with_shipping {
                comps.push((Comp::Withheld { shipping: true }, item.shipping_tax));
            }
        }
        if let Some(id) = &item.promotion_id
            && !item.promo_principal.is_zero()
        {
            comps.push((
                Comp::Promo {
                    shipping: false,
                    id: id.clone(),
                },
                item.promo_principal,
            ));
        }
        let commission = Self::commission(item);
        comps.push((Comp::Fee("Commission".into()), commission));
        if flavor != AdjustmentFlavor::Chargeback {
            let refund_commission = pct_bp(commission, 2000).min(money(500));
            comps.push((Comp::Fee("RefundCommission".into()), -refund_commission));
        }
        ItemLine {
            order_item_id: item.order_item_id.clone(),
            adjustment_item_id: Some(adjustment_item_id),
            product: item.product,
            qty: item.qty,
            comps,
        }
    }

    fn generate_account_txns(
        &mut self,
        m: usize,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        rng: &mut StdRng,
    ) {
        let info = self.markets[m].info;
        let market = &mut self.markets[m];
        // Monthly subscription on the 6th, monthly storage on the 8th.
        let mut day = start.date_naive();
        while day <= end.date_naive() {
            let at = |h: u32, mi: u32, s: u32| {
                Utc.from_utc_datetime(&day.and_hms_opt(h, mi, s).unwrap_or_default())
            };
            if day.day() == 6 {
                let posted = at(4, 9, 26);
                if posted >= start && posted < end {
                    let amount = match info.code {
                        "US" => money(-3999),
                        "CA" => money(-2999),
                        _ => money(-3900),
                    };
                    market.txns.push(Txn {
                        posted,
                        kind: TxnKind::ServiceFee {
                            description: "Subscription Fee".into(),
                            fee_type: "Subscription".into(),
                            amount,
                        },
                    });
                }
            }
            if day.day() == 8 {
                let posted = at(7, 41, 3);
                if posted >= start && posted < end {
                    market.txns.push(Txn {
                        posted,
                        kind: TxnKind::ServiceFee {
                            description: "Storage Fee".into(),
                            fee_type: "FBAStorageFee".into(),
                            amount: -money(rng.random_range(1000..15000)),
                        },
                    });
                }
            }
            day = day.succ_opt().unwrap_or(day);
            if day == end.date_naive() + Duration::days(1) {
                break;
            }
        }
        let span = (end - start).num_seconds();
        for _ in 0..rng.random_range(0..4) {
            market.txns.push(Txn {
                posted: start + Duration::seconds(rng.random_range(0..span)),
                kind: TxnKind::Advertising {
                    invoice_id: format!("TR{}", rand_str(rng, UPPER_NUM, 9)),
                    amount: -money(rng.random_range(2000..30000)),
                },
            });
        }
        if rng.random_bool(0.35) {
            let product = rng.random_range(0..market.catalog.len());
            let qty = rng.random_range(1..3u32);
            let amount =
                round2(market.catalog[product].price * Decimal::new(5, 1)) * Decimal::from(qty);
            market.txns.push(Txn {
                posted: start + Duration::seconds(rng.random_range(0..span)),
                kind: TxnKind::Reimbursement {
                    reason: "WAREHOUSE_DAMAGE",
                    product,
                    qty,
                    amount,
                    order: None,
                    adjustment_id: None,
                },
            });
        }
    }

    fn finalize_period(
        &mut self,
        m: usize,
        i: usize,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        rng: &mut StdRng,
    ) {
        let seed = self.seed;
        let closed_at_start = self.markets[m].closed_at_start;
        let force_negative = i + 2 == closed_at_start
            && self.scenario_applies(m, |s| matches!(s, Scenario::NegativeThenCleared { .. }));
        let unmapped: Option<(String, Decimal)> = if i + 1 == closed_at_start {
            let code = self.markets[m].info.code;
            self.scenarios.iter().find_map(|s| match s {
                Scenario::UnmappedFee {
                    marketplace,
                    description,
                    amount,
                } if marketplace.eq_ignore_ascii_case(code) => Some((description.clone(), *amount)),
                _ => None,
            })
        } else {
            None
        };
        let market = &mut self.markets[m];
        let prev = if i > 0 {
            Some(market.periods[i - 1].clone())
        } else {
            None
        };
        let payable = prev
            .as_ref()
            .map(|p| p.total.min(Decimal::ZERO))
            .unwrap_or(Decimal::ZERO);
        if payable < Decimal::ZERO {
            market.txns.push(Txn {
                posted: start + Duration::seconds(rng.random_range(600..5400)),
                kind: TxnKind::CardCharge {
                    amount: -payable,
                    cleared_period: i - 1,
                },
            });
        }
        if market.hold > Decimal::ZERO {
            market.txns.push(Txn {
                posted: start + Duration::seconds(1),
                kind: TxnKind::Reserve {
                    release: true,
                    amount: market.hold,
                },
            });
        }
        if let Some((description, amount)) = unmapped {
            let target = market.txns.iter().position(|t| {
                t.posted >= start && t.posted < end && matches!(t.kind, TxnKind::Shipment { .. })
            });
            match target.map(|t| &mut market.txns[t].kind) {
                Some(TxnKind::Shipment { items, .. }) => {
                    items[0].comps.push((Comp::Fee(description), amount));
                }
                _ => market.txns.push(Txn {
                    posted: start + Duration::hours(3),
                    kind: TxnKind::ServiceFee {
                        description: description.clone(),
                        fee_type: description,
                        amount,
                    },
                }),
            }
        }
        let in_period = |t: &Txn| t.posted >= start && t.posted < end;
        let running_of = |txns: &[Txn]| {
            payable
                + txns
                    .iter()
                    .filter(|t| in_period(t))
                    .map(Txn::amount)
                    .sum::<Decimal>()
        };
        let running = running_of(&market.txns);
        let natural_negative = rng.random_bool(0.08);
        if (force_negative || natural_negative) && running >= Decimal::ZERO {
            market.txns.push(Txn {
                posted: end - Duration::hours(5),
                kind: TxnKind::ServiceFee {
                    description: "Storage Fee".into(),
                    fee_type: "FBALongTermStorageFee".into(),
                    amount: -(running + money(rng.random_range(2500..30000))),
                },
            });
        }
        let running = running_of(&market.txns);
        market.hold = if running > Decimal::ZERO && rng.random_bool(0.6) {
            pct_bp(running, rng.random_range(500..1500))
        } else {
            Decimal::ZERO
        };
        if market.hold > Decimal::ZERO {
            market.txns.push(Txn {
                posted: end - Duration::seconds(1),
                kind: TxnKind::Reserve {
                    release: false,
                    amount: -market.hold,
                },
            });
        }
        let mut txns: Vec<usize> = (0..market.txns.len())
            .filter(|&t| in_period(&market.txns[t]))
            .collect();
        txns.sort_by_key(|&t| (market.txns[t].posted, t));
        let total = payable
            + txns
                .iter()
                .map(|&t| market.txns[t].amount())
                .sum::<Decimal>();
        let code = market.info.code;
        let id_hash = hash_seed(&[
            &seed.to_le_bytes(),
            code.as_bytes(),
            &(i as u64).to_le_bytes(),
        ]);
        let minutes = (start.timestamp() / 60).rem_euclid(10_000_000);
        let settlement_id = format!("2{:02}{:07}{}", seed % 100, minutes, m % 10);
        let report_minutes = (end.timestamp() / 60).rem_euclid(1_000_000_000);
        let report_id = format!("5{:09}{}", report_minutes, m % 10);
        let uuid = hex::encode(&id_hash[..16]);
        let document_id = format!(
            "amzn1.spdoc.1.4.{}.{}-{}-{}-{}-{}.T{}.{}",
            market.info.region.code(),
            &uuid[0..8],
            &uuid[8..12],
            &uuid[12..16],
            &uuid[16..20],
            &uuid[20..32],
            b64url(&id_hash[16..24])
                .to_ascii_uppercase()
                .replace(['-', '_'], "X"),
            1000 + (id_hash[24] as u32) * 10
        );
        let group_id = b64url(&hash_seed(&[&id_hash, b"group"]));
        let trace_id = hex::encode(&id_hash[24..32]).to_ascii_uppercase();
        market.periods.push(Period {
            start,
            end,
            settlement_id,
            group_id,
            report_id,
            document_id,
            txns,
            payable,
            total,
            trace_id,
        });
    }

    pub fn find_order(&self, id: &str) -> Option<usize> {
        self.orders.iter().position(|o| o.id == id)
    }

    pub fn find_group(&self, id: &str) -> Option<(usize, usize)> {
        for (m, market) in self.markets.iter().enumerate() {
            if let Some(p) = market.periods.iter().position(|p| p.group_id == id) {
                return Some((m, p));
            }
        }
        None
    }

    pub fn find_document(&self, id: &str) -> Option<(usize, usize)> {
        for (m, market) in self.markets.iter().enumerate() {
            if let Some(p) = market.periods.iter().position(|p| p.document_id == id) {
                return Some((m, p));
            }
        }
        None
    }
}
