//! The settlement file `bench settlement` times: a generated Flat File V2 with
//! the mix of a real North American FBA seller's settlement (see [`generate`]).

use anyhow::{Context, Result};
use chrono::{NaiveDate, NaiveDateTime};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

const HEADER: &str = "settlement-id\tsettlement-start-date\tsettlement-end-date\tdeposit-date\ttotal-amount\tcurrency\ttransaction-type\torder-id\tmerchant-order-id\tadjustment-id\tshipment-id\tmarketplace-name\tamount-type\tamount-description\tamount\tfulfillment-id\tposted-date\tposted-date-time\torder-item-code\tmerchant-order-item-id\tmerchant-adjustment-item-id\tsku\tquantity-purchased\tpromotion-id";

const SETTLEMENT_ID: &str = "19870040121";

/// Marketplaces of the unified account with their share of orders (percent)
/// and order-id prefix.
const MARKETPLACES: [(&str, u32, &str); 3] = [
    ("Amazon.com", 88, "11"),
    ("Amazon.ca", 8, "70"),
    ("Amazon.com.mx", 4, "70"),
];

/// Product names of the SKU catalogue (with a size suffix each).
const PRODUCTS: [&str; 16] = [
    "CAST-IRON",
    "SALT-LAMP",
    "YOGA-MAT",
    "TEA-KETTLE",
    "DESK-LAMP",
    "PHONE-CASE",
    "BIKE-LIGHT",
    "WATER-BOTTLE",
    "CUTTING-BOARD",
    "DOG-LEASH",
    "CANDLE-SET",
    "BATH-TOWEL",
    "STAND-MIXER-PRO",
    "KITCHEN-SCALE",
    "ESPRESSO-TAMPER",
    "GARDEN-HOSE",
];

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// One body row: names and amount in cents, and which item it belongs to.
struct GenRow {
    amount_type: &'static str,
    description: &'static str,
    cents: i64,
    /// Index into the event's items; `None` for account-level rows.
    item: Option<usize>,
    /// `quantity-purchased` is written on an order's Principal row only.
    qty: bool,
    promotion: &'static str,
}

struct Item {
    code: u64,
    sku: usize,
    qty: i64,
    price: i64,
}

/// An order, refund, claim or account-level entry: rows sharing ids and a date.
struct Event {
    transaction_type: &'static str,
    marketplace: &'static str,
    order_id: String,
    adjustment_id: String,
    shipment_id: String,
    fba: bool,
    posted: NaiveDateTime,
    items: Vec<Item>,
    rows: Vec<GenRow>,
}

fn alnum(rng: &mut StdRng, n: usize, out: &mut String) {
    for _ in 0..n {
        out.push(char::from(ALNUM[rng.random_range(0..ALNUM.len())]));
    }
}

fn row(amount_type: &'static str, description: &'static str, cents: i64, item: usize) -> GenRow {
    GenRow {
        amount_type,
        description,
        cents,
        item: Some(item),
        qty: false,
        promotion: "",
    }
}

fn account_row(amount_type: &'static str, description: &'static str, cents: i64) -> GenRow {
    GenRow {
        amount_type,
        description,
        cents,
        item: None,
        qty: false,
        promotion: "",
    }
}

/// Sales tax in cents at a rate in basis points.
fn tax_of(cents: i64, rate_bp: i64) -> i64 {
    cents * rate_bp / 10_000
}

struct Generator {
    rng: StdRng,
    /// SKU catalogue: name and unit price in cents.
    catalogue: Vec<(String, i64)>,
    start: NaiveDateTime,
    window_secs: i64,
    events: u64,
}

impl Generator {
    fn new(seed: u64) -> Generator {
        let mut rng = StdRng::seed_from_u64(seed);
        let catalogue = (0..240)
            .map(|i| {
                let name = format!("{}-{:02}", PRODUCTS[i % PRODUCTS.len()], i / PRODUCTS.len());
                (name, rng.random_range(499..24_999i64))
            })
            .collect();
        let start = NaiveDate::from_ymd_opt(2025, 9, 24)
            .and_then(|d| d.and_hms_opt(8, 0, 0))
            .expect("valid date");
        Generator {
            rng,
            catalogue,
            start,
            // 14 days from 2025-09-24 08:00 UTC, across the month end
            window_secs: 14 * 86_400,
            events: 0,
        }
    }

    fn event(&mut self, transaction_type: &'static str, marketplace: &'static str) -> Event {
        self.events += 1;
        let offset = self.rng.random_range(0..self.window_secs);
        Event {
            transaction_type,
            marketplace,
            order_id: String::new(),
            adjustment_id: String::new(),
            shipment_id: String::new(),
            fba: false,
            posted: self.start + chrono::Duration::seconds(offset),
            items: Vec::new(),
            rows: Vec::new(),
        }
    }

    /// An order-level event (order, refund, claim) with its ids and items.
    fn order_event(&mut self, transaction_type: &'static str, max_items: usize) -> Event {
        let pick = self.rng.random_range(0..100);
        let mut acc = 0;
        let (marketplace, prefix) = MARKETPLACES
            .iter()
            .find(|m| {
                acc += m.1;
                pick < acc
            })
            .map_or(("Amazon.com", "11"), |m| (m.0, m.2));
        let mut e = self.event(transaction_type, marketplace);
        let digit = self.rng.random_range(1..10);
        let (a, b) = (
            self.rng.random_range(0..10_000_000),
            self.rng.random_range(0..10_000_000),
        );
        e.order_id = format!("{prefix}{digit}-{a:07}-{b:07}");
        e.fba = self.rng.random_bool(0.85);
        if transaction_type == "Order" {
            alnum(&mut self.rng, 9, &mut e.shipment_id);
        } else {
            e.adjustment_id.push_str("amzn1:crow:");
            alnum(&mut self.rng, 22, &mut e.adjustment_id);
        }
        let n = match self.rng.random_range(0..100) {
            0..=74 => 1,
            75..=94 => 2,
            _ => 3,
        }
        .min(max_items);
        for _ in 0..n {
            let sku = self.rng.random_range(0..self.catalogue.len());
            let qty = if self.rng.random_bool(0.9) { 1 } else { 2 };
            e.items.push(Item {
                code: self
                    .rng
                    .random_range(10_000_000_000_000..99_999_999_999_999),
                sku,
                qty,
                price: self.catalogue[sku].1 * qty,
            });
        }
        e
    }

    fn order(&mut self) -> Event {
        let mut e = self.order_event("Order", 3);
        // marketplace-facilitator sales tax: most US states
        let taxed = self.rng.random_bool(0.85);
        let rate = self.rng.random_range(400..1_000);
        let shipping = self.rng.random_bool(0.35);
        for i in 0..e.items.len() {
            let price = e.items[i].price;
            let mut principal = row("ItemPrice", "Principal", price, i);
            principal.qty = true;
            e.rows.push(principal);
            let tax = if taxed { tax_of(price, rate) } else { 0 };
            if taxed {
                e.rows.push(row("ItemPrice", "Tax", tax, i));
            }
            if shipping {
                let ship = self.rng.random_range(299..1_299);
                e.rows.push(row("ItemPrice", "Shipping", ship, i));
                if taxed {
                    let ship_tax = tax_of(ship, rate);
                    e.rows.push(row("ItemPrice", "ShippingTax", ship_tax, i));
                    e.rows.push(row(
                        "ItemWithheldTax",
                        "MarketplaceFacilitatorTax-Shipping",
                        -ship_tax,
                        i,
                    ));
                }
                if self.rng.random_bool(0.6) {
                    let mut promo = row("Promotion", "Shipping", -ship, i);
                    promo.promotion = "Core Free Shipping Promotion 7071";
                    e.rows.push(promo);
                }
                if e.fba {
                    e.rows
                        .push(row("ItemFees", "ShippingChargeback", -(ship * 3 / 4), i));
                }
            }
            if taxed {
                e.rows.push(row(
                    "ItemWithheldTax",
                    "MarketplaceFacilitatorTax-Principal",
                    -tax,
                    i,
                ));
            }
            if self.rng.random_bool(0.08) {
                let mut promo = row("Promotion", "Principal", -(price / 10), i);
                promo.promotion = "PCT10-4417";
                e.rows.push(promo);
            }
            if self.rng.random_bool(0.01) {
                let wrap = 399;
                e.rows.push(row("ItemPrice", "GiftWrap", wrap, i));
                if taxed {
                    e.rows
                        .push(row("ItemPrice", "GiftWrapTax", tax_of(wrap, rate), i));
                }
                e.rows.push(row("ItemFees", "GiftwrapChargeback", -wrap, i));
            }
            e.rows.push(row(
                "ItemFees",
                "Commission",
                -(price * 15 / 100).max(30),
                i,
            ));
            if e.fba {
                let fee = self.rng.random_range(307..1_089) * e.items[i].qty;
                e.rows
                    .push(row("ItemFees", "FBAPerUnitFulfillmentFee", -fee, i));
            }
            if self.rng.random_bool(0.1) {
                e.rows.push(row("ItemFees", "VariableClosingFee", -180, i));
            }
        }
        e
    }

    fn refund(&mut self) -> Event {
        let mut e = self.order_event("Refund", 2);
        let taxed = self.rng.random_bool(0.85);
        let rate = self.rng.random_range(400..1_000);
        for i in 0..e.items.len() {
            let price = e.items[i].price;
            e.rows.push(row("ItemPrice", "Principal", -price, i));
            if taxed {
                let tax = tax_of(price, rate);
                e.rows.push(row("ItemPrice", "Tax", -tax, i));
                e.rows.push(row(
                    "ItemWithheldTax",
                    "MarketplaceFacilitatorTax-Principal",
                    tax,
                    i,
                ));
            }
            if self.rng.random_bool(0.2) {
                let ship = self.rng.random_range(299..1_299);
                e.rows.push(row("ItemPrice", "Shipping", -ship, i));
                if taxed {
                    let ship_tax = tax_of(ship, rate);
                    e.rows.push(row("ItemPrice", "ShippingTax", -ship_tax, i));
                    e.rows.push(row(
                        "ItemWithheldTax",
                        "MarketplaceFacilitatorTax-Shipping",
                        ship_tax,
                        i,
                    ));
                }
            }
            if self.rng.random_bool(0.1) {
                let mut promo = row("Promotion", "Principal", price / 10, i);
                promo.promotion = "PCT10-4417";
                e.rows.push(promo);
            }
            let commission = (price * 15 / 100).max(30);
            e.rows.push(row("ItemFees", "Commission", commission, i));
            e.rows.push(row(
                "ItemFees",
                "RefundCommission",
                -(commission / 5).min(500),
                i,
            ));
        }
        e
    }

    /// A card chargeback or an A-to-z Guarantee claim granted to the buyer.
    fn claim(&mut self, transaction_type: &'static str) -> Event {
        let mut e = self.order_event(transaction_type, 1);
        let price = e.items[0].price;
        let tax = tax_of(price, 725);
        e.rows.push(row("ItemPrice", "Principal", -price, 0));
        e.rows.push(row("ItemPrice", "Tax", -tax, 0));
        e.rows.push(row(
            "ItemWithheldTax",
            "MarketplaceFacilitatorTax-Principal",
            tax,
            0,
        ));
        if transaction_type == "Chargeback" {
            let commission = (price * 15 / 100).max(30);
            e.rows.push(row("ItemFees", "Commission", commission, 0));
            e.rows.push(row(
                "ItemFees",
                "RefundCommission",
                -(commission / 5).min(500),
                0,
            ));
        }
        e
    }

    /// Account-level rows: service fees, storage, inbound transport,
    /// reimbursements.
    fn account(&mut self) -> Event {
        let rng = &mut self.rng;
        let (tt, marketplace, at, desc, cents) = match rng.random_range(0..100) {
            0..=39 => (
                "ServiceFee",
                "",
                "Cost of Advertising",
                "TransactionTotalAmount",
                -rng.random_range(2_500..60_000),
            ),
            40..=59 => (
                "other-transaction",
                "",
                "other-transaction",
                "Storage Fee",
                -rng.random_range(100..50_000),
            ),
            60..=74 => (
                "other-transaction",
                "",
                "other-transaction",
                "FBA Inbound Transportation Fee",
                -rng.random_range(1_000..20_000),
            ),
            75..=84 => (
                "other-transaction",
                "Amazon.com",
                "FBA Inventory Reimbursement",
                "WAREHOUSE_DAMAGE",
                rng.random_range(500..5_000),
            ),
            85..=92 => (
                "other-transaction",
                "Amazon.com",
                "FBA Inventory Reimbursement",
                "WAREHOUSE_LOST",
                rng.random_range(500..9_000),
            ),
            93..=97 => (
                "other-transaction",
                "Amazon.com",
                "FBA Inventory Reimbursement",
                "CUSTOMER_RETURN",
                rng.random_range(500..5_000),
            ),
            _ => (
                "other-transaction",
                "Amazon.com",
                "FBA Inventory Reimbursement",
                "REVERSAL_REIMBURSEMENT",
                -rng.random_range(500..5_000),
            ),
        };
        let mut e = self.event(tt, marketplace);
        e.rows.push(account_row(at, desc, cents));
        e
    }

    /// The settlement's opening rows: the reserve carried in and the reserve
    /// held back, and the monthly subscription.
    fn opening(&mut self) -> Vec<Event> {
        let mut out = Vec::new();
        for (desc, cents) in [
            ("Previous Reserve Amount Balance", 184_215),
            ("Current Reserve Amount", -191_877),
            ("Subscription Fee", -3_999),
        ] {
            let mut e = self.event("other-transaction", "");
            e.posted = self.start;
            e.rows.push(account_row("other-transaction", desc, cents));
            out.push(e);
        }
        out
    }

    fn next_event(&mut self) -> Event {
        match self.rng.random_range(0..1_000) {
            0..=869 => self.order(),
            870..=939 => self.refund(),
            940..=944 => self.claim("Chargeback"),
            945..=947 => self.claim("A-to-z Guarantee Claim"),
            _ => self.account(),
        }
    }

    /// Appends the event's rows as text lines; returns the rows written (at
    /// most `room`) and their sum in cents.
    fn write(&self, e: &Event, room: usize, buf: &mut String) -> (usize, i64) {
        let posted_date = e.posted.format("%m/%d/%y").to_string();
        let posted_time = e.posted.format("%Y-%m-%d %H:%M:%S UTC").to_string();
        let mut sum = 0;
        let mut n = 0;
        for r in e.rows.iter().take(room) {
            let item = r.item.map(|i| &e.items[i]);
            let cents = r.cents;
            let sign = if cents < 0 { "-" } else { "" };
            let _ = write!(
                buf,
                "{SETTLEMENT_ID}\t\t\t\t\t\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{sign}{}.{:02}\t{}\t{posted_date}\t{posted_time}\t",
                e.transaction_type,
                e.order_id,
                e.order_id,
                e.adjustment_id,
                e.shipment_id,
                e.marketplace,
                r.amount_type,
                r.description,
                cents.abs() / 100,
                cents.abs() % 100,
                match (item, e.fba) {
                    (None, _) => "",
                    (Some(_), true) => "AFN",
                    (Some(_), false) => "MFN",
                },
            );
            if let Some(it) = item {
                let _ = write!(buf, "{}\t\t", it.code);
                if !e.adjustment_id.is_empty() {
                    let _ = write!(buf, "{}", it.code * 7 % 10_000_000_000_000_000_000);
                }
                let _ = write!(buf, "\t{}\t", self.catalogue[it.sku].0);
                if r.qty {
                    let _ = write!(buf, "{}", it.qty);
                }
            } else {
                buf.push_str("\t\t\t\t");
            }
            buf.push('\t');
            buf.push_str(r.promotion);
            buf.push('\n');
            sum += cents;
            n += 1;
        }
        (n, sum)
    }
}

/// Writes `rows` body rows of a settlement of a North American FBA seller on
/// the unified account (USD), deterministic for a seed. Calls `out` with
/// chunks of whole lines; returns the total in cents.
///
/// The mix, per 1,000 events (an event is rows sharing an order or
/// adjustment, a posted date and time):
/// - 870 orders (88% Amazon.com, 8% Amazon.ca, 4% Amazon.com.mx; 85% FBA;
///   1 item 75%, 2 items 20%, 3 items 5%), per item: `ItemPrice` Principal
///   (with the quantity), Tax and `ItemWithheldTax`
///   MarketplaceFacilitatorTax-Principal (85% of orders are taxed);
///   Shipping, ShippingTax, MarketplaceFacilitatorTax-Shipping, `ItemFees`
///   ShippingChargeback (FBA) and in 60% a `Promotion` Shipping (35% of
///   orders); `Promotion` Principal (8%); GiftWrap, GiftWrapTax and
///   GiftwrapChargeback (1%); `ItemFees` Commission, FBAPerUnitFulfillmentFee
///   (FBA) and VariableClosingFee (10%): about 6 rows per item, 8 per order;
/// - 70 refunds (1 or 2 items): Principal, Tax, MarketplaceFacilitatorTax,
///   Shipping with its taxes (20%), a promotion reversal (10%), Commission
///   back and RefundCommission;
/// - 5 `Chargeback`s and 3 `A-to-z Guarantee Claim`s;
/// - 52 account-level rows: `ServiceFee` / Cost of Advertising (40%),
///   Storage Fee, FBA Inbound Transportation Fee, `FBA Inventory
///   Reimbursement`s (WAREHOUSE_DAMAGE, WAREHOUSE_LOST, CUSTOMER_RETURN,
///   REVERSAL_REIMBURSEMENT);
///
/// and first the Previous Reserve Amount Balance, the Current Reserve Amount
/// and the Subscription Fee. Posted dates are `mm/dd/yy` (`posted-date`, as
/// the US file ships them) beside an ISO `posted-date-time`, over 14 days
/// across a month end. About 195 bytes per row.
pub fn generate(rows: usize, seed: u64, mut out: impl FnMut(&str) -> Result<()>) -> Result<i64> {
    let mut g = Generator::new(seed);
    let mut buf = String::with_capacity(64 << 10);
    let mut total = 0i64;
    let mut written = 0usize;
    let mut pending = g.opening().into_iter();
    while written < rows {
        let e = match pending.next() {
            Some(e) => e,
            None => g.next_event(),
        };
        let (n, sum) = g.write(&e, rows - written, &mut buf);
        written += n;
        total += sum;
        if buf.len() > 60 << 10 {
            out(&buf)?;
            buf.clear();
        }
    }
    out(&buf)?;
    Ok(total)
}

/// Generates the file (two passes: the total first, for the summary row).
pub fn write_file(path: &Path, rows: usize) -> Result<u64> {
    let seed = 2025;
    let total = generate(rows, seed, |_| Ok(()))?;
    let f =
        std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut w = std::io::BufWriter::with_capacity(1 << 20, f);
    writeln!(w, "{HEADER}")?;
    let sign = if total < 0 { "-" } else { "" };
    writeln!(
        w,
        "{SETTLEMENT_ID}\t2025-09-24 08:00:00 UTC\t2025-10-08 08:00:00 UTC\t2025-10-10 08:00:00 UTC\t{sign}{}.{:02}\tUSD\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t",
        total.abs() / 100,
        total.abs() % 100
    )?;
    generate(rows, seed, |l| Ok(w.write_all(l.as_bytes())?))?;
    w.flush()?;
    Ok(std::fs::metadata(path)?.len())
}
