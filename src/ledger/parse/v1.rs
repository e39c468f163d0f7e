//! Flat File V1 → V2 vocabulary.
//!
//! A V1 line is one transaction with several amount columns; every non-empty
//! amount cell becomes one row in V2 terms so one set of mapping rules serves
//! both formats:
//!
//! | V1 amount column          | transaction_type     | amount_type         | amount_description |
//! |---------------------------|----------------------|---------------------|--------------------|
//! | `price-amount`            | V1 transaction-type  | `ItemPrice`         | `price-type` |
//! | `item-related-fee-amount` | V1 transaction-type  | `ItemFees`          | `item-related-fee-type` |
//! | `shipment-fee-amount`     | V1 transaction-type  | `ItemFees`          | `shipment-fee-type` |
//! | `order-fee-amount`        | V1 transaction-type  | `ItemFees`          | `order-fee-type` |
//! | `promotion-amount`        | V1 transaction-type  | `Promotion`         | `promotion-type` |
//! | `misc-fee-amount`         | `other-transaction`* | `other-transaction` | V1 transaction-type |
//! | `other-fee-amount`        | `other-transaction`* | `other-transaction` | `other-fee-reason-description`, else V1 transaction-type |
//! | `direct-payment-amount`   | `other-transaction`* | `other-transaction` | `direct-payment-type`, else V1 transaction-type |
//! | `other-amount`            | `other-transaction`* | `other-transaction` | V1 transaction-type |
//!
//! \* Order-level transaction types ([`ORDER_LEVEL`]: `Order`, `Refund`,
//! chargebacks, A-to-z claims) keep their own transaction type there too.
//!
//! So `Subscription Fee` / `Storage Fee` / `Payable to Amazon` /
//! `Successful charge` / `WAREHOUSE_DAMAGE` … with money in `other-amount` become
//! `other-transaction / other-transaction / <V1 type>`, and a `ServiceFee` line
//! with `Cost of Advertising` -1.16 and `other-fee-amount` -0.14 (`TaxAmount`)
//! becomes `ServiceFee / ItemFees / Cost of Advertising` and
//! `other-transaction / other-transaction / TaxAmount`.
//! Lines with no amount (V1's quantity lines) yield no row.

use super::layout::{Cells, Col};

/// What one V1 amount column becomes.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind {
    /// Keeps the transaction type; the type column names the amount.
    Typed {
        amount_type: &'static str,
        type_col: Col,
    },
    /// Account-level money: `other-transaction` unless the line is order-level.
    Other { reason_col: Option<Col> },
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Entry {
    pub amount: Col,
    pub kind: Kind,
}

/// In V1 column order, so rows come out in the order the file shows them.
pub(crate) const TABLE: &[Entry] = &[
    typed(Col::ShipmentFeeAmount, "ItemFees", Col::ShipmentFeeType),
    typed(Col::OrderFeeAmount, "ItemFees", Col::OrderFeeType),
    typed(Col::PriceAmount, "ItemPrice", Col::PriceType),
    typed(
        Col::ItemRelatedFeeAmount,
        "ItemFees",
        Col::ItemRelatedFeeType,
    ),
    other(Col::MiscFeeAmount, None),
    other(Col::OtherFeeAmount, Some(Col::OtherFeeReasonDescription)),
    typed(Col::PromotionAmount, "Promotion", Col::PromotionType),
    other(Col::DirectPaymentAmount, Some(Col::DirectPaymentType)),
    other(Col::OtherAmount, None),
];

const fn typed(amount: Col, amount_type: &'static str, type_col: Col) -> Entry {
    Entry {
        amount,
        kind: Kind::Typed {
            amount_type,
            type_col,
        },
    }
}

const fn other(amount: Col, reason_col: Option<Col>) -> Entry {
    Entry {
        amount,
        kind: Kind::Other { reason_col },
    }
}

/// The V2 vocabulary for account-level money.
pub const OTHER_TRANSACTION: &str = "other-transaction";

/// V1 transaction types that describe an order (they keep their type on every row).
pub const ORDER_LEVEL: &[&str] = &[
    "Order",
    "Refund",
    "Chargeback",
    "Chargeback Refund",
    "A-to-z Guarantee Claim",
    "A-to-z Guarantee Refund",
    "GuaranteeClaim",
];

fn is_order_level(transaction_type: &str) -> bool {
    ORDER_LEVEL
        .iter()
        .any(|t| t.eq_ignore_ascii_case(transaction_type))
}

/// `(transaction_type, amount_type, amount_description)` for one amount cell.
pub(crate) fn normalise<'a>(entry: &Entry, cells: &Cells<'a>) -> (&'a str, &'a str, &'a str) {
    let transaction_type = cells[Col::TransactionType as usize].trim();
    match entry.kind {
        Kind::Typed {
            amount_type,
            type_col,
        } => (
            transaction_type,
            amount_type,
            cells[type_col as usize].trim(),
        ),
        Kind::Other { reason_col } => {
            let reason = reason_col.map_or("", |c| cells[c as usize].trim());
            let description = if reason.is_empty() {
                transaction_type
            } else {
                reason
            };
            let kept = if is_order_level(transaction_type) {
                transaction_type
            } else {
                OTHER_TRANSACTION
            };
            (kept, OTHER_TRANSACTION, description)
        }
    }
}
