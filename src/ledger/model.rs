//! The settlement model: one vocabulary for V1 and V2 files.
//!
//! Rows borrow from the decoded file text ([`RowRef`]) so a million-row file is
//! mapped and summed without a per-row allocation; [`SettlementRow`] is the owned
//! form kept for review screens and the store.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::money::{Currency, DecimalMark};

/// Which flat-file layout a settlement came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SettlementFormat {
    /// `GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2`: one row per amount.
    V2,
    /// `GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE` (archived): one row per transaction
    /// with several amount columns; normalised into V2 rows.
    V1,
}

impl SettlementFormat {
    pub fn report_type(self) -> &'static str {
        match self {
            SettlementFormat::V2 => "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2",
            SettlementFormat::V1 => "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE",
        }
    }
}

/// The summary row (line 2 of every settlement file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettlementSummary {
    pub settlement_id: String,
    pub format: SettlementFormat,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// Empty on some summary rows (a settlement still open, or a seller charged).
    pub deposit_date: Option<DateTime<Utc>>,
    pub total_amount: Decimal,
    pub currency: Currency,
}

/// When a row was posted. Files carry either a timestamp or only a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PostedAt {
    /// `posted-date-time` (or a V1 ISO timestamp): an instant, converted to the
    /// ledger's time zone before choosing a period.
    Instant(DateTime<Utc>),
    /// Only `posted-date`: already a calendar day, used as is.
    Day(NaiveDate),
}

/// One money component, borrowed from the decoded file text.
///
/// For V1 files `amount_type` / `amount_description` may point at fixed
/// vocabulary strings (see the V1 normalisation table in `parse::v1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowRef<'a> {
    /// 1-based physical line in the file (for error messages and drill-down).
    pub line: u32,
    pub transaction_type: &'a str,
    pub amount_type: &'a str,
    pub amount_description: &'a str,
    pub amount: Decimal,
    pub order_id: &'a str,
    pub merchant_order_id: &'a str,
    pub adjustment_id: &'a str,
    pub shipment_id: &'a str,
    /// Empty for account-level rows; the settlement's marketplace applies then.
    pub marketplace_name: &'a str,
    pub fulfillment_id: &'a str,
    pub posted: Option<PostedAt>,
    pub order_item_code: &'a str,
    pub merchant_order_item_id: &'a str,
    pub merchant_adjustment_item_id: &'a str,
    pub sku: &'a str,
    pub quantity_purchased: Option<i64>,
    pub promotion_id: &'a str,
}

/// The owned form of [`RowRef`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettlementRow {
    pub line: u32,
    pub transaction_type: String,
    pub amount_type: String,
    pub amount_description: String,
    pub amount: Decimal,
    pub order_id: String,
    pub merchant_order_id: String,
    pub adjustment_id: String,
    pub shipment_id: String,
    pub marketplace_name: String,
    pub fulfillment_id: String,
    pub posted: Option<PostedAt>,
    pub order_item_code: String,
    pub merchant_order_item_id: String,
    pub merchant_adjustment_item_id: String,
    pub sku: String,
    pub quantity_purchased: Option<i64>,
    pub promotion_id: String,
}

impl RowRef<'_> {
    pub fn to_owned_row(&self) -> SettlementRow {
        SettlementRow {
            line: self.line,
            transaction_type: self.transaction_type.to_string(),
            amount_type: self.amount_type.to_string(),
            amount_description: self.amount_description.to_string(),
            amount: self.amount,
            order_id: self.order_id.to_string(),
            merchant_order_id: self.merchant_order_id.to_string(),
            adjustment_id: self.adjustment_id.to_string(),
            shipment_id: self.shipment_id.to_string(),
            marketplace_name: self.marketplace_name.to_string(),
            fulfillment_id: self.fulfillment_id.to_string(),
            posted: self.posted,
            order_item_code: self.order_item_code.to_string(),
            merchant_order_item_id: self.merchant_order_item_id.to_string(),
            merchant_adjustment_item_id: self.merchant_adjustment_item_id.to_string(),
            sku: self.sku.to_string(),
            quantity_purchased: self.quantity_purchased,
            promotion_id: self.promotion_id.to_string(),
        }
    }
}

impl SettlementRow {
    pub fn as_row_ref(&self) -> RowRef<'_> {
        RowRef {
            line: self.line,
            transaction_type: &self.transaction_type,
            amount_type: &self.amount_type,
            amount_description: &self.amount_description,
            amount: self.amount,
            order_id: &self.order_id,
            merchant_order_id: &self.merchant_order_id,
            adjustment_id: &self.adjustment_id,
            shipment_id: &self.shipment_id,
            marketplace_name: &self.marketplace_name,
            fulfillment_id: &self.fulfillment_id,
            posted: self.posted,
            order_item_code: &self.order_item_code,
            merchant_order_item_id: &self.merchant_order_item_id,
            merchant_adjustment_item_id: &self.merchant_adjustment_item_id,
            sku: &self.sku,
            quantity_purchased: self.quantity_purchased,
            promotion_id: &self.promotion_id,
        }
    }
}

/// Day/month order for short dates (`03.10.2025`, `10/03/25`), decided once per file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DayOrder {
    DayFirst,
    MonthFirst,
}

/// How the file was read: decided once per file and reported with the preview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileLocale {
    /// The character set the bytes were decoded with (`UTF-8`, `Shift_JIS`, `windows-1252`, …).
    pub charset: &'static str,
    pub decimal_mark: DecimalMark,
    /// Only set when the file has short dates whose order had to be chosen.
    pub day_order: Option<DayOrder>,
}

/// What a settlement row says about money between settlements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BalanceRow {
    /// A balance carried in from an earlier settlement: the released reserve ("Previous
    /// Reserve Amount Balance") or a negative settlement payable to Amazon ("Payable to
    /// Amazon").
    Carried,
    /// Reserve Amazon holds back from this settlement ("Current Reserve Amount").
    Reserve,
}

/// The one reading of carried-balance and reserve rows. Amazon names them in the amount
/// description (V2) or in the transaction type (some files, V1), in any case.
pub fn balance_row(transaction_type: &str, description: &str) -> Option<BalanceRow> {
    let named = |name: &str| {
        transaction_type.trim().eq_ignore_ascii_case(name)
            || description.trim().eq_ignore_ascii_case(name)
    };
    if named("Previous Reserve Amount Balance") || named("Payable to Amazon") {
        Some(BalanceRow::Carried)
    } else if named("Current Reserve Amount") {
        Some(BalanceRow::Reserve)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::{BalanceRow, balance_row};

    /// Amazon names balance rows in the description or in the transaction type, in any case.
    #[test]
    fn balance_rows_are_read_from_either_field() {
        assert_eq!(
            balance_row("other-transaction", "Previous Reserve Amount Balance"),
            Some(BalanceRow::Carried)
        );
        assert_eq!(
            balance_row("Payable to Amazon", ""),
            Some(BalanceRow::Carried)
        );
        assert_eq!(
            balance_row("other-transaction", " current reserve amount "),
            Some(BalanceRow::Reserve)
        );
        assert_eq!(balance_row("Order", "Principal"), None);
    }
}
