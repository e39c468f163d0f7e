//! The world's data model: catalog products, orders and their items, money
//! movements (transactions and their components) and settlement periods.

use chrono::{DateTime, Duration, Utc};
use rust_decimal::Decimal;

use super::{DEPOSIT_DELAY_DAYS, REPORT_DELAY_MIN};

#[derive(Debug, Clone)]
pub struct Product {
    pub sku: String,
    pub asin: String,
    pub fnsku: String,
    pub title: String,
    pub price: Decimal,
    pub fba_fee: Decimal,
    pub media: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Afn,
    Mfn,
}

impl Channel {
    pub fn code(self) -> &'static str {
        match self {
            Channel::Afn => "AFN",
            Channel::Mfn => "MFN",
        }
    }
}

#[derive(Debug, Clone)]
pub struct OrderItem {
    pub order_item_id: String,
    pub product: usize,
    pub qty: u32,
    pub principal: Decimal,
    pub shipping: Decimal,
    pub tax: Decimal,
    pub shipping_tax: Decimal,
    pub gift_wrap: Decimal,
    pub gift_wrap_tax: Decimal,
    /// Seller-funded discounts, positive here (rows carry them negative).
    pub promo_principal: Decimal,
    pub promo_shipping: Decimal,
    pub promotion_id: Option<String>,
}

impl OrderItem {
    pub fn buyer_total(&self) -> Decimal {
        self.principal
            + self.shipping
            + self.tax
            + self.shipping_tax
            + self.gift_wrap
            + self.gift_wrap_tax
            - self.promo_principal
            - self.promo_shipping
    }
}

#[derive(Debug, Clone)]
pub struct Order {
    pub id: String,
    pub market: usize,
    pub purchase: DateTime<Utc>,
    pub channel: Channel,
    pub items: Vec<OrderItem>,
    pub canceled_at: Option<DateTime<Utc>>,
    /// (posted time, item indexes) per shipment.
    pub shipments: Vec<(DateTime<Utc>, Vec<usize>)>,
    pub is_prime: bool,
    pub is_business: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderStatus {
    Pending,
    Unshipped,
    PartiallyShipped,
    Shipped,
    Canceled,
}

impl OrderStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Pending => "Pending",
            OrderStatus::Unshipped => "Unshipped",
            OrderStatus::PartiallyShipped => "PartiallyShipped",
            OrderStatus::Shipped => "Shipped",
            OrderStatus::Canceled => "Canceled",
        }
    }
}

const PENDING_MINUTES: i64 = 30;

impl Order {
    pub fn status(&self, now: DateTime<Utc>) -> OrderStatus {
        if let Some(c) = self.canceled_at
            && c <= now
        {
            return OrderStatus::Canceled;
        }
        if now < self.purchase + Duration::minutes(PENDING_MINUTES) || self.canceled_at.is_some() {
            return OrderStatus::Pending;
        }
        let shipped = self.shipments.iter().filter(|(t, _)| *t <= now).count();
        if shipped == 0 {
            OrderStatus::Unshipped
        } else if shipped == self.shipments.len() {
            OrderStatus::Shipped
        } else {
            OrderStatus::PartiallyShipped
        }
    }

    pub fn last_update(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        let mut last = self.purchase;
        let mut consider = |t: DateTime<Utc>| {
            if t <= now && t > last {
                last = t;
            }
        };
        consider(self.purchase + Duration::minutes(PENDING_MINUTES));
        if let Some(c) = self.canceled_at {
            consider(c);
        }
        for (t, _) in &self.shipments {
            consider(*t);
        }
        last
    }

    pub fn items_shipped(&self, now: DateTime<Utc>) -> u32 {
        self.shipments
            .iter()
            .filter(|(t, _)| *t <= now)
            .flat_map(|(_, items)| items.iter().map(|i| self.items[*i].qty))
            .sum()
    }
}

/// One money component of an item line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Comp {
    /// ItemPrice: Principal, Shipping, Tax, ShippingTax, GiftWrap, GiftWrapTax.
    Charge(&'static str),
    /// ItemFees: Commission, FBAPerUnitFulfillmentFee, … (open vocabulary).
    Fee(String),
    Promo {
        shipping: bool,
        id: String,
    },
    /// ItemWithheldTax: MarketplaceFacilitatorTax-Principal / -Shipping.
    Withheld {
        shipping: bool,
    },
}

#[derive(Debug, Clone)]
pub struct ItemLine {
    pub order_item_id: String,
    pub adjustment_item_id: Option<String>,
    pub product: usize,
    pub qty: u32,
    pub comps: Vec<(Comp, Decimal)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdjustmentFlavor {
    Refund,
    Chargeback,
    GuaranteeClaim,
}

impl AdjustmentFlavor {
    pub fn transaction_type(self) -> &'static str {
        match self {
            AdjustmentFlavor::Refund => "Refund",
            AdjustmentFlavor::Chargeback => "Chargeback",
            AdjustmentFlavor::GuaranteeClaim => "A-to-z Guarantee Claim",
        }
    }
    pub fn event_list(self) -> &'static str {
        match self {
            AdjustmentFlavor::Refund => "RefundEventList",
            AdjustmentFlavor::Chargeback => "ChargebackEventList",
            AdjustmentFlavor::GuaranteeClaim => "GuaranteeClaimEventList",
        }
    }
}

#[derive(Debug, Clone)]
pub enum TxnKind {
    Shipment {
        order: usize,
        shipment_id: String,
        items: Vec<ItemLine>,
    },
    Adjustment {
        flavor: AdjustmentFlavor,
        order: usize,
        adjustment_id: String,
        items: Vec<ItemLine>,
    },
    /// other-transaction rows billed as Finances `ServiceFeeEvent`s.
    ServiceFee {
        description: String,
        fee_type: String,
        amount: Decimal,
    },
    Advertising {
        invoice_id: String,
        amount: Decimal,
    },
    Reimbursement {
        reason: &'static str,
        product: usize,
        qty: u32,
        amount: Decimal,
        order: Option<usize>,
        adjustment_id: Option<String>,
    },
    Reserve {
        release: bool,
        amount: Decimal,
    },
    /// The card charge that clears a previous negative balance.
    CardCharge {
        amount: Decimal,
        cleared_period: usize,
    },
}

#[derive(Debug, Clone)]
pub struct Txn {
    pub posted: DateTime<Utc>,
    pub kind: TxnKind,
}

impl Txn {
    pub fn amount(&self) -> Decimal {
        match &self.kind {
            TxnKind::Shipment { items, .. } | TxnKind::Adjustment { items, .. } => items
                .iter()
                .flat_map(|l| l.comps.iter().map(|(_, a)| *a))
                .sum(),
            TxnKind::ServiceFee { amount, .. }
            | TxnKind::Advertising { amount, .. }
            | TxnKind::Reimbursement { amount, .. }
            | TxnKind::Reserve { amount, .. }
            | TxnKind::CardCharge { amount, .. } => *amount,
        }
    }

    pub fn order(&self) -> Option<usize> {
        match &self.kind {
            TxnKind::Shipment { order, .. } | TxnKind::Adjustment { order, .. } => Some(*order),
            TxnKind::Reimbursement { order, .. } => *order,
            _ => None,
        }
    }
}

/// One settlement period = one financial event group = one settlement report.
#[derive(Debug, Clone)]
pub struct Period {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub settlement_id: String,
    pub group_id: String,
    pub report_id: String,
    pub document_id: String,
    /// Transactions posted in `[start, end)`, in posting order.
    pub txns: Vec<usize>,
    /// The previous settlement's negative total carried in ("Payable to Amazon"), else 0.
    pub payable: Decimal,
    pub total: Decimal,
    pub trace_id: String,
}

impl Period {
    pub fn deposit_date(&self) -> DateTime<Utc> {
        self.end + Duration::days(DEPOSIT_DELAY_DAYS)
    }
    pub fn report_created(&self) -> DateTime<Utc> {
        self.end + Duration::minutes(REPORT_DELAY_MIN)
    }
    pub fn deposit_amount(&self) -> Decimal {
        if self.total > Decimal::ZERO {
            self.total
        } else {
            Decimal::ZERO
        }
    }
}
