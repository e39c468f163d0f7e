//! The header row: which column holds which field, and which format the file is.
//!
//! Columns are found by name (case-insensitive, trimmed), never by position, so
//! a 23- or 24-column V2 file, a 33- or 36-column V1 file, or one with extra
//! columns Amazon adds later all read the same way.

use crate::ledger::model::SettlementFormat;

use super::{ParseError, ParseErrorKind};

macro_rules! columns {
    ($($variant:ident => $name:literal,)*) => {
        /// Every field either format carries.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[repr(u8)]
        pub(crate) enum Col { $($variant,)* }

        impl Col {
            pub const ALL: &'static [Col] = &[$(Col::$variant,)*];
            pub const fn name(self) -> &'static str {
                match self { $(Col::$variant => $name,)* }
            }
        }
    };
}

columns! {
    SettlementId => "settlement-id",
    Start => "settlement-start-date",
    End => "settlement-end-date",
    Deposit => "deposit-date",
    Total => "total-amount",
    Currency => "currency",
    TransactionType => "transaction-type",
    OrderId => "order-id",
    MerchantOrderId => "merchant-order-id",
    AdjustmentId => "adjustment-id",
    ShipmentId => "shipment-id",
    MarketplaceName => "marketplace-name",
    AmountType => "amount-type",
    AmountDescription => "amount-description",
    Amount => "amount",
    FulfillmentId => "fulfillment-id",
    PostedDate => "posted-date",
    PostedDateTime => "posted-date-time",
    OrderItemCode => "order-item-code",
    MerchantOrderItemId => "merchant-order-item-id",
    MerchantAdjustmentItemId => "merchant-adjustment-item-id",
    Sku => "sku",
    QuantityPurchased => "quantity-purchased",
    PromotionId => "promotion-id",
    ShipmentFeeType => "shipment-fee-type",
    ShipmentFeeAmount => "shipment-fee-amount",
    OrderFeeType => "order-fee-type",
    OrderFeeAmount => "order-fee-amount",
    PriceType => "price-type",
    PriceAmount => "price-amount",
    ItemRelatedFeeType => "item-related-fee-type",
    ItemRelatedFeeAmount => "item-related-fee-amount",
    MiscFeeAmount => "misc-fee-amount",
    OtherFeeAmount => "other-fee-amount",
    OtherFeeReasonDescription => "other-fee-reason-description",
    PromotionType => "promotion-type",
    PromotionAmount => "promotion-amount",
    DirectPaymentType => "direct-payment-type",
    DirectPaymentAmount => "direct-payment-amount",
    OtherAmount => "other-amount",
}

pub(crate) const NCOLS: usize = Col::ALL.len();
/// Marks a header column no field uses.
pub(crate) const UNUSED: u8 = u8::MAX;

/// Columns a V2 file cannot do without (besides a posted date of either kind).
const V2_REQUIRED: &[Col] = &[
    Col::SettlementId,
    Col::Start,
    Col::End,
    Col::Deposit,
    Col::Total,
    Col::Currency,
    Col::TransactionType,
    Col::AmountType,
    Col::AmountDescription,
    Col::Amount,
];

const V1_REQUIRED: &[Col] = &[
    Col::SettlementId,
    Col::Start,
    Col::End,
    Col::Deposit,
    Col::Total,
    Col::Currency,
    Col::TransactionType,
    Col::PostedDate,
];

/// Amount columns of a V1 file (any one of them makes a header V1).
pub(crate) const V1_AMOUNTS: &[Col] = &[
    Col::ShipmentFeeAmount,
    Col::OrderFeeAmount,
    Col::PriceAmount,
    Col::ItemRelatedFeeAmount,
    Col::MiscFeeAmount,
    Col::OtherFeeAmount,
    Col::PromotionAmount,
    Col::DirectPaymentAmount,
    Col::OtherAmount,
];

/// Where each field sits in a file.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    pub format: SettlementFormat,
    /// Header position → field (`UNUSED` for columns we ignore).
    pub slots: Vec<u8>,
    /// Field → header position, when present.
    pub position: [Option<usize>; NCOLS],
    /// Columns in the header.
    pub width: usize,
}

impl Layout {
    pub fn from_header(header: &str, line: u32) -> Result<Layout, ParseError> {
        let mut slots = Vec::new();
        let mut position = [None; NCOLS];
        for (i, name) in header.split('\t').enumerate() {
            let name = name.trim();
            let col = Col::ALL
                .iter()
                .copied()
                .find(|c| c.name().eq_ignore_ascii_case(name));
            match col {
                Some(c) if position[c as usize].is_none() => {
                    position[c as usize] = Some(i);
                    slots.push(c as u8);
                }
                _ => slots.push(UNUSED),
            }
        }
        let has = |c: Col| position[c as usize].is_some();
        let format = if has(Col::AmountType) || has(Col::Amount) || has(Col::AmountDescription) {
            SettlementFormat::V2
        } else if V1_AMOUNTS.iter().any(|&c| has(c)) {
            SettlementFormat::V1
        } else {
            SettlementFormat::V2
        };
        let required = match format {
            SettlementFormat::V2 => V2_REQUIRED,
            SettlementFormat::V1 => V1_REQUIRED,
        };
        let mut missing: Vec<String> = required
            .iter()
            .filter(|&&c| !has(c))
            .map(|c| c.name().to_string())
            .collect();
        if format == SettlementFormat::V2 && !has(Col::PostedDate) && !has(Col::PostedDateTime) {
            missing.push("posted-date-time".to_string());
        }
        if !missing.is_empty() {
            return Err(ParseError::at(
                line,
                ParseErrorKind::MissingColumns(missing),
            ));
        }
        Ok(Layout {
            format,
            width: slots.len(),
            slots,
            position,
        })
    }

    pub fn has(&self, c: Col) -> bool {
        self.position[c as usize].is_some()
    }

    /// Name of header column `i` for error messages.
    pub fn column_name(&self, i: usize) -> Option<&'static str> {
        let slot = *self.slots.get(i)?;
        Col::ALL.get(usize::from(slot)).map(|c| c.name())
    }
}

/// The cells of one line, by field; fields the header lacks stay empty.
pub(crate) type Cells<'a> = [&'a str; NCOLS];

/// Result of splitting one line.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Split {
    /// Cells found (tabs + 1), counted up to `stop_after` columns.
    pub count: usize,
    /// A cell beyond the header's width that is not blank.
    pub extra: bool,
}

/// Splits `line` at tabs into `cells` by the layout's slots, reading at most
/// `stop_after` columns (the rest of the line is not scanned then).
#[inline]
pub(crate) fn split_line<'a>(
    line: &'a str,
    slots: &[u8],
    cells: &mut Cells<'a>,
    stop_after: usize,
) -> Split {
    let bytes = line.as_bytes();
    let mut start = 0usize;
    let mut col = 0usize;
    let mut extra = false;
    for tab in memchr::memchr_iter(b'\t', bytes) {
        put(slots, cells, &mut extra, col, &line[start..tab]);
        col += 1;
        start = tab + 1;
        if col >= stop_after {
            return Split { count: col, extra };
        }
    }
    put(slots, cells, &mut extra, col, &line[start..]);
    Split {
        count: col + 1,
        extra,
    }
}

#[inline(always)]
fn put<'a>(slots: &[u8], cells: &mut Cells<'a>, extra: &mut bool, col: usize, cell: &'a str) {
    match slots.get(col) {
        Some(&s) if s != UNUSED => cells[usize::from(s)] = cell,
        Some(_) => {}
        None => *extra |= !cell.trim().is_empty(),
    }
}
