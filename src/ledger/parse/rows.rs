//! [`Rows`]: the body's lines split into cells and checked, one row at a time.

use std::fmt;
use std::sync::Arc;

use rust_decimal::Decimal;

use super::layout::{Cells, Col, NCOLS, Scanner};
use super::{Ctx, ParseError, ParseErrorKind, check_width, dates, is_blank, same_text, trim, v1};
use crate::ledger::model::{PostedAt, RowRef, SettlementFormat};
use crate::ledger::money::{AmountError, DecimalMark, parse_amount};

/// [`parse_amount`] with a fast path for the usual cell, `-1234.56` (a
/// point decimal mark, no thousands separator or blanks, at most 19
/// characters after the sign): the same value, sign and scale in one pass.
#[inline]
fn amount(cell: &str, mark: DecimalMark) -> Result<Decimal, AmountError> {
    if mark == DecimalMark::Point {
        let b = cell.as_bytes();
        let (negative, digits) = match b.split_first() {
            Some((b'-', rest)) => (true, rest),
            _ => (false, b),
        };
        if !digits.is_empty() && digits.len() <= 19 {
            let mut mantissa = 0u64;
            let mut scale = 0u32;
            let mut point = false;
            let mut plain = true;
            for &c in digits {
                match c {
                    b'0'..=b'9' => {
                        mantissa = mantissa * 10 + u64::from(c - b'0');
                        scale += u32::from(point);
                    }
                    b'.' if !point => point = true,
                    _ => {
                        plain = false;
                        break;
                    }
                }
            }
            // a digit besides the point
            if plain && digits.len() > usize::from(point) {
                let (lo, mid) = (mantissa as u32, (mantissa >> 32) as u32);
                return Ok(Decimal::from_parts(lo, mid, 0, negative, scale));
            }
        }
    }
    parse_amount(cell, mark)
}

/// The fields of a row the journal engine reads (see [`Rows::next_core`]): a
/// [`RowRef`] without the ids, SKU and quantity, which it does not need.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RowCore<'a> {
    pub line: u32,
    pub transaction_type: &'a str,
    pub amount_type: &'a str,
    pub amount_description: &'a str,
    /// Empty for account-level rows.
    pub marketplace_name: &'a str,
    pub amount: Decimal,
    pub posted: Option<PostedAt>,
}

impl<'a> From<&RowRef<'a>> for RowCore<'a> {
    fn from(row: &RowRef<'a>) -> Self {
        RowCore {
            line: row.line,
            transaction_type: row.transaction_type,
            amount_type: row.amount_type,
            amount_description: row.amount_description,
            marketplace_name: row.marketplace_name,
            amount: row.amount,
            posted: row.posted,
        }
    }
}

/// Body rows of a file (or of one chunk of it). `Iterator<Item = Result<RowRef, ParseError>>`.
///
/// A bad line yields one error and iteration goes on with the next line.
#[derive(Clone)]
pub struct Rows<'a> {
    scan: Scanner<'a>,
    /// Line number of the next line `scan` yields.
    line: u32,
    ctx: Arc<Ctx>,
    cells: Cells<'a>,
    /// Last date cell parsed and its value: rows of one order share it.
    date_cache: (&'a str, Option<PostedAt>),
    /// V1: the line being expanded and the next [`v1::TABLE`] entry to look at.
    v1_line: u32,
    v1_next: usize,
    v1_posted: Option<PostedAt>,
    v1_quantity: Option<i64>,
    /// The part of the body read after `scan` (its text and first line).
    pub(super) tail: Option<(&'a str, u32)>,
}

impl fmt::Debug for Rows<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rows")
            .field("next_line", &self.line)
            .field("remaining_bytes", &self.scan.remaining())
            .finish_non_exhaustive()
    }
}

impl<'a> Rows<'a> {
    pub(super) fn new(rest: &'a str, line: u32, ctx: Arc<Ctx>) -> Self {
        Rows {
            scan: Scanner::new(rest),
            line,
            ctx,
            cells: [""; NCOLS],
            date_cache: ("", None),
            v1_line: 0,
            v1_next: v1::TABLE.len(),
            v1_posted: None,
            v1_quantity: None,
            tail: None,
        }
    }

    fn cell(&self, col: Col) -> &'a str {
        trim(self.cells[col as usize])
    }

    /// Posted date: `posted-date-time` when filled, else `posted-date`.
    fn posted(&mut self, line: u32) -> Result<Option<PostedAt>, ParseError> {
        let dt = self.cell(Col::PostedDateTime);
        let (cell, col) = if dt.is_empty() {
            (self.cell(Col::PostedDate), Col::PostedDate)
        } else {
            (dt, Col::PostedDateTime)
        };
        if cell.is_empty() {
            return Ok(None);
        }
        if same_text(cell, self.date_cache.0) {
            return Ok(self.date_cache.1);
        }
        let value = dates::parse_date_cell(cell, self.ctx.orders).ok_or_else(|| {
            ParseError::in_column(line, col.name(), ParseErrorKind::BadDate(cell.to_string()))
        })?;
        self.date_cache = (cell, Some(value));
        Ok(Some(value))
    }

    /// A body row's settlement id and currency, when filled, must be the
    /// summary row's (Amazon leaves them empty or repeats them).
    fn same_settlement(&self, line: u32) -> Result<(), ParseError> {
        let id = self.cell(Col::SettlementId);
        if !id.is_empty() && !same_text(id, &self.ctx.settlement_id) {
            return Err(ParseError::in_column(
                line,
                Col::SettlementId.name(),
                ParseErrorKind::OtherSettlement {
                    found: id.to_string(),
                    expected: self.ctx.settlement_id.clone(),
                },
            ));
        }
        let currency = self.cell(Col::Currency);
        if !currency.is_empty() && !currency.eq_ignore_ascii_case(self.ctx.currency.code()) {
            return Err(ParseError::in_column(
                line,
                Col::Currency.name(),
                ParseErrorKind::OtherCurrency {
                    found: currency.to_string(),
                    expected: self.ctx.currency.code().to_string(),
                },
            ));
        }
        Ok(())
    }

    fn quantity(&self, line: u32) -> Result<Option<i64>, ParseError> {
        let cell = self.cell(Col::QuantityPurchased);
        if cell.is_empty() {
            return Ok(None);
        }
        cell.parse::<i64>().map(Some).map_err(|_| {
            ParseError::in_column(
                line,
                Col::QuantityPurchased.name(),
                ParseErrorKind::BadQuantity(cell.to_string()),
            )
        })
    }

    fn row(
        &self,
        line: u32,
        names: (&'a str, &'a str, &'a str),
        amount: Decimal,
        posted: Option<PostedAt>,
        quantity: Option<i64>,
    ) -> RowRef<'a> {
        RowRef {
            line,
            transaction_type: names.0,
            amount_type: names.1,
            amount_description: names.2,
            amount,
            order_id: self.cell(Col::OrderId),
            merchant_order_id: self.cell(Col::MerchantOrderId),
            adjustment_id: self.cell(Col::AdjustmentId),
            shipment_id: self.cell(Col::ShipmentId),
            marketplace_name: self.cell(Col::MarketplaceName),
            fulfillment_id: self.cell(Col::FulfillmentId),
            posted,
            order_item_code: self.cell(Col::OrderItemCode),
            merchant_order_item_id: self.cell(Col::MerchantOrderItemId),
            merchant_adjustment_item_id: self.cell(Col::MerchantAdjustmentItemId),
            sku: self.cell(Col::Sku),
            quantity_purchased: quantity,
            promotion_id: self.cell(Col::PromotionId),
        }
    }

    /// A V2 line's amount, posted date and quantity, checked in that order.
    fn v2_values(
        &mut self,
        line: u32,
    ) -> Result<(Decimal, Option<PostedAt>, Option<i64>), ParseError> {
        let amount = amount(self.cells[Col::Amount as usize], self.ctx.mark)
            .map_err(|e| ParseError::amount(line, Col::Amount, e))?;
        let posted = self.posted(line)?;
        let quantity = self.quantity(line)?;
        Ok((amount, posted, quantity))
    }

    /// Splits the next non-blank line into the cells and checks its width and
    /// settlement; its line number. `core`: store only the cells a
    /// [`RowCore`] needs (V2).
    #[inline]
    fn next_checked(&mut self, core: bool) -> Option<Result<u32, ParseError>> {
        loop {
            if self.scan.is_empty() {
                let (tail, line) = self.tail.take()?;
                self.scan = Scanner::new(tail);
                self.line = line;
                continue;
            }
            let slots = if core {
                &self.ctx.core_slots
            } else {
                &self.ctx.layout.slots
            };
            let (text, split) = self.scan.split_next(slots, &mut self.cells);
            let line = self.line;
            self.line = self.line.saturating_add(1);
            if is_blank(text) {
                continue;
            }
            return Some(
                check_width(split, &self.ctx.layout, line)
                    .and_then(|()| self.same_settlement(line))
                    .map(|()| line),
            );
        }
    }

    /// The next row as the journal engine reads it: what [`Iterator::next`]
    /// yields (rows, errors and their order are the same), without the
    /// cells the engine does not read.
    #[inline]
    pub fn next_core(&mut self) -> Option<Result<RowCore<'a>, ParseError>> {
        if self.ctx.layout.format == SettlementFormat::V1 {
            return self.next().map(|r| r.map(|row| RowCore::from(&row)));
        }
        let line = match self.next_checked(true)? {
            Ok(line) => line,
            Err(e) => return Some(Err(e)),
        };
        Some(self.v2_values(line).map(|(amount, posted, _)| RowCore {
            line,
            transaction_type: self.cell(Col::TransactionType),
            amount_type: self.cell(Col::AmountType),
            amount_description: self.cell(Col::AmountDescription),
            marketplace_name: self.cell(Col::MarketplaceName),
            amount,
            posted,
        }))
    }

    /// Line number of the next line to read.
    pub fn next_line(&self) -> u32 {
        self.line
    }

    /// The next row of the V1 line being expanded, if any amount cell is left.
    fn v1_pending(&mut self) -> Option<Result<RowRef<'a>, ParseError>> {
        while let Some(entry) = v1::TABLE.get(self.v1_next) {
            self.v1_next += 1;
            let cell = self.cells[entry.amount as usize];
            if trim(cell).is_empty() {
                continue;
            }
            let line = self.v1_line;
            return Some(match amount(cell, self.ctx.mark) {
                Ok(amount) => {
                    let names = v1::normalise(entry, &self.cells);
                    Ok(self.row(line, names, amount, self.v1_posted, self.v1_quantity))
                }
                Err(e) => Err(ParseError::amount(line, entry.amount, e)),
            });
        }
        None
    }
}

impl<'a> Iterator for Rows<'a> {
    type Item = Result<RowRef<'a>, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(pending) = self.v1_pending() {
            return Some(pending);
        }
        loop {
            let line = match self.next_checked(false)? {
                Ok(line) => line,
                Err(e) => return Some(Err(e)),
            };
            match self.ctx.layout.format {
                SettlementFormat::V2 => {
                    let (amount, posted, quantity) = match self.v2_values(line) {
                        Ok(v) => v,
                        Err(e) => return Some(Err(e)),
                    };
                    let names = (
                        self.cell(Col::TransactionType),
                        self.cell(Col::AmountType),
                        self.cell(Col::AmountDescription),
                    );
                    return Some(Ok(self.row(line, names, amount, posted, quantity)));
                }
                SettlementFormat::V1 => {
                    let posted = match self.posted(line) {
                        Ok(p) => p,
                        Err(e) => return Some(Err(e)),
                    };
                    let quantity = match self.quantity(line) {
                        Ok(q) => q,
                        Err(e) => return Some(Err(e)),
                    };
                    self.v1_line = line;
                    self.v1_posted = posted;
                    self.v1_quantity = quantity;
                    self.v1_next = 0;
                    if let Some(row) = self.v1_pending() {
                        return Some(row);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::parse::same_text;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn fast_amount_is_parse_amount(cell in "[-+]?[0-9.,() ]{0,24}") {
            for mark in [DecimalMark::Point, DecimalMark::Comma] {
                let fast = amount(&cell, mark).map(|d| d.serialize());
                let slow = parse_amount(&cell, mark).map(|d| d.serialize());
                prop_assert_eq!(fast, slow, "{:?}", cell);
            }
        }

        #[test]
        fn same_text_is_equality(a in "[abAB.-]{0,20}", b in "[abAB.-]{0,20}") {
            prop_assert_eq!(same_text(&a, &b), a == b);
            prop_assert!(same_text(&a, &a.clone()));
        }
    }

    #[test]
    fn fast_amounts() {
        for cell in [
            "-1234.56",
            "0.00",
            "-0.00",
            "5.",
            ".5",
            "1234567890123456789",
            "12.3456",
        ] {
            assert_eq!(
                amount(cell, DecimalMark::Point).map(|d| d.serialize()),
                parse_amount(cell, DecimalMark::Point).map(|d| d.serialize()),
                "{cell}"
            );
        }
    }
}
