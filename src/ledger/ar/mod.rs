//! Receivables from a settlement (issue 17, the pure half): AR invoices per
//! order shipment, credit memos per refund / chargeback / A-to-z claim /
//! SAFE-T reimbursement, the receipt, and the rows left for the GL journal.
//!
//! Carried balance: the rows a previous settlement left in this one
//! ("Previous Reserve Amount Balance", "Payable to Amazon"); they stay in the
//! GL rows and are summed in [`ArPlan::carried_balance`].
//!
//! The `[[sku]]` table (`sku`, `item`, optional `marketplace`) and
//! `[ar] memo_line` of the mapping file name what principal lines sell.
//!
//! No IO: the AR calendar, the cut-over date and "does this invoice exist in
//! EBS" are passed in. Same input, same plan (trx numbers, flexfields, order).

mod classify;
mod plan;
pub(crate) mod sku;

use chrono::NaiveDate;
use chrono_tz::Tz;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::model::{SettlementRow, SettlementSummary};
use super::money::Currency;
use super::periods::Calendar;

pub use plan::plan_ar;

/// Default transaction flexfield context.
pub const DEFAULT_CONTEXT: &str = "AMAZON";

/// Invoice or credit memo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ArClass {
    Inv,
    Cm,
}

/// What a credit memo credits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum CmKind {
    Refund,
    Chargeback,
    AtoZ,
    SafeT,
}

impl CmKind {
    /// ATTRIBUTE5 prefix of its lines and letter of its trx number.
    pub fn prefix(self) -> (&'static str, char) {
        match self {
            CmKind::Refund => ("REFUND", 'R'),
            CmKind::Chargeback => ("CHARGEBACK", 'C'),
            CmKind::AtoZ => ("ATOZ", 'A'),
            CmKind::SafeT => ("SAFET", 'S'),
        }
    }
}

/// EBS `LINE_TYPE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ArLineKind {
    Line,
    Freight,
    Tax,
}

/// What a `LINE` sells: an inventory item (from `[[sku]]`) or a memo line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ArItem {
    Item(String),
    Memo(String),
    /// Freight and tax lines, and a principal with neither (a problem is recorded).
    None,
}

/// One interface line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArLine {
    pub kind: ArLineKind,
    pub item: ArItem,
    pub sku: String,
    /// Invoices: a positive count; credit memos: negative (units credited).
    pub quantity: Decimal,
    /// `amount / quantity`, unrounded.
    pub unit_price: Decimal,
    pub amount: Decimal,
    /// Index (in this document's `lines`) of the line a tax or promotion belongs to.
    pub link_to: Option<usize>,
    /// ATTRIBUTE1..5: order id, shipment or adjustment id, settlement id,
    /// order item code, line kind (`PRINCIPAL`, `SHIPPING`, `TAX`,
    /// `PROMOTION <id>`, `REFUND PRINCIPAL`, …).
    pub flexfield: [String; 5],
    /// Credit memo lines: the flexfield of the invoice line credited, when known.
    pub reference: Option<[String; 5]>,
    /// Settlement file lines summed into this line.
    pub source_lines: Vec<u32>,
}

/// An invoice a credit memo can apply to (one of this plan's, or one the
/// caller found in EBS).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceRef {
    pub trx_number: String,
    pub gl_date: NaiveDate,
    /// The transaction flexfields of its lines (to credit line by line).
    pub lines: Vec<[String; 5]>,
}

/// One AR transaction (invoice or credit memo).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArInvoice {
    /// The order id; `ORDERID-N` for the N-th shipment of an order split in
    /// this settlement; credit memos `ORDERID-<R|C|A|S>N`.
    pub trx_number: String,
    pub class: ArClass,
    pub cm_kind: Option<CmKind>,
    pub order_id: String,
    pub marketplace: String,
    pub org_id: Option<i64>,
    pub currency: Currency,
    /// Flexfield context (`AMAZON` unless configured).
    pub context: String,
    pub gl_date: NaiveDate,
    /// The posted day in the ledger's time zone, before any roll out of a closed period.
    pub original_gl_date: NaiveDate,
    pub lines: Vec<ArLine>,
    /// Credit memos: the invoice credited; `None` = on account.
    pub applies_to: Option<InvoiceRef>,
    /// Why a credit memo is on account.
    pub on_account_reason: Option<String>,
}

impl ArInvoice {
    pub fn total(&self) -> Decimal {
        self.lines.iter().map(|l| l.amount).sum()
    }
}

/// Something AR could not do cleanly; located at a file line when there is one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArProblem {
    pub line: Option<u32>,
    pub message: String,
}

/// Everything AR does with one settlement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArPlan {
    pub settlement_id: String,
    pub invoices: Vec<ArInvoice>,
    pub credit_memos: Vec<ArInvoice>,
    /// invoices + credit memos (negative), when positive; else zero.
    pub receipt_amount: Decimal,
    /// What stays negative after credit memos are applied against invoices
    /// (a refund activity against clearing); zero or negative.
    pub refund_activity: Decimal,
    /// Sum of the carried-balance rows ("Previous Reserve Amount Balance",
    /// "Payable to Amazon"): they do not move clearing.
    pub carried_balance: Decimal,
    /// The rows AR did not take, in file order: the GL journal books these
    /// (fees, reserves, carried balances, adjustments, facilitator tax, MCF).
    pub gl_rows_remaining: Vec<SettlementRow>,
    /// Multi-channel fulfilment orders: never invoiced, their rows stay in the GL.
    pub excluded_mcf_orders: Vec<String>,
    pub problems: Vec<ArProblem>,
}

impl ArPlan {
    /// Net of AR: `receipt_amount + refund_activity`.
    pub fn ar_total(&self) -> Decimal {
        self.receipt_amount + self.refund_activity
    }

    /// The summary the GL journal of [`Self::gl_rows_remaining`] is proposed
    /// with: the settlement total less what AR took, so the journal engine
    /// sees a consistent file and its clearing lines plus the receipt and
    /// refund activity move clearing by the settlement total (less the
    /// carried balance where the mapping books that to clearing).
    pub fn gl_summary(&self, summary: &SettlementSummary) -> Result<SettlementSummary, ArError> {
        let total = summary
            .total_amount
            .checked_sub(self.ar_total())
            .ok_or_else(|| ArError::Overflow {
                settlement_id: summary.settlement_id.clone(),
                line: None,
                what: "the GL total".into(),
            })?;
        Ok(SettlementSummary {
            total_amount: total,
            ..summary.clone()
        })
    }
}

/// How to plan: flexfield context, the ledger's time zone, AR periods,
/// cut-over, operating units and the EBS invoice look-up.
pub struct ArOptions<'a> {
    pub context: String,
    pub tz: Tz,
    /// AR periods, open or closed.
    pub calendar: &'a Calendar,
    /// Refunds of orders invoiced before this day go on account.
    pub cutover: Option<NaiveDate>,
    /// Operating unit per marketplace name (case-insensitive); empty = not known yet.
    pub org_ids: BTreeMap<String, i64>,
    /// The existing EBS invoice of an order id, if any.
    pub invoice_lookup: &'a dyn Fn(&str) -> Option<InvoiceRef>,
}

impl<'a> ArOptions<'a> {
    /// Context `AMAZON`, UTC, no cut-over, no operating units.
    pub fn new(
        calendar: &'a Calendar,
        invoice_lookup: &'a dyn Fn(&str) -> Option<InvoiceRef>,
    ) -> Self {
        ArOptions {
            context: DEFAULT_CONTEXT.to_string(),
            tz: Tz::UTC,
            calendar,
            cutover: None,
            org_ids: BTreeMap::new(),
            invoice_lookup,
        }
    }
}

/// Sums that do not fit a decimal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArError {
    #[error("settlement {settlement_id}: {what} overflows a decimal{}", line.map_or(String::new(), |l| format!(" (line {l})")))]
    Overflow {
        settlement_id: String,
        line: Option<u32>,
        what: String,
    },
}

#[cfg(test)]
mod tests;
