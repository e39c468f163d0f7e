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
        put(slots, cells, &mut extra, col, line, start, tab);
        col += 1;
        start = tab + 1;
        if col >= stop_after {
            return Split { count: col, extra };
        }
    }
    put(slots, cells, &mut extra, col, line, start, line.len());
    Split {
        count: col + 1,
        extra,
    }
}

/// Stores the cell `text[start..end]` of header column `col` where its field
/// goes; the text is sliced only for a field the slots keep.
#[inline(always)]
fn put<'a>(
    slots: &[u8],
    cells: &mut Cells<'a>,
    extra: &mut bool,
    col: usize,
    text: &'a str,
    start: usize,
    end: usize,
) {
    match slots.get(col) {
        Some(&s) if s != UNUSED => cells[usize::from(s)] = &text[start..end],
        Some(_) => {}
        None => *extra |= !text[start..end].trim().is_empty(),
    }
}

/// [`put`] for the last cell of a line, without the `\r` of a CRLF line end.
#[inline(always)]
fn put_last<'a>(
    slots: &[u8],
    cells: &mut Cells<'a>,
    extra: &mut bool,
    col: usize,
    text: &'a str,
    start: usize,
    end: usize,
) {
    match slots.get(col) {
        Some(&s) if s != UNUSED => cells[usize::from(s)] = last_cell(text, start, end),
        Some(_) => {}
        None => *extra |= !text[start..end].trim().is_empty(),
    }
}

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// High bit set in every byte of `w` equal to `b` (exact, no false positives).
#[inline(always)]
fn eq_mask(w: u64, b: u8) -> u64 {
    let x = w ^ (LO * u64::from(b));
    !(((x & !HI).wrapping_add(!HI)) | x) & HI
}

/// One bit per byte of `w` (bit k = byte k) from a high-bit-per-byte mask.
#[inline(always)]
fn gather(m: u64) -> u64 {
    // each high bit lands on its own bit of the top byte, no carries
    ((m >> 7).wrapping_mul(0x0102_0408_1020_4080)) >> 56
}

/// Separator (tab or newline) bits and newline bits for the (up to) 64 bytes
/// at the start of `b`.
#[inline(always)]
fn block_mask(b: &[u8]) -> (u64, u64) {
    if let Some(block) = b.first_chunk::<64>() {
        let mut seps = 0u64;
        let mut any_newline = 0u64;
        let mut words = [0u64; 8];
        for (k, word) in block.chunks_exact(8).enumerate() {
            let mut w = [0u8; 8];
            w.copy_from_slice(word);
            let w = u64::from_le_bytes(w);
            words[k] = w;
            let newline = eq_mask(w, b'\n');
            any_newline |= newline;
            seps |= gather(eq_mask(w, b'\t') | newline) << (8 * k);
        }
        // most blocks hold no line end; gather newlines only where one is
        let mut newlines = 0u64;
        if any_newline != 0 {
            for (k, &w) in words.iter().enumerate() {
                newlines |= gather(eq_mask(w, b'\n')) << (8 * k);
            }
        }
        (seps, newlines)
    } else {
        let mut seps = 0u64;
        let mut newlines = 0u64;
        for (k, c) in b.iter().enumerate() {
            match c {
                b'\t' => seps |= 1 << k,
                b'\n' => {
                    seps |= 1 << k;
                    newlines |= 1 << k;
                }
                _ => {}
            }
        }
        (seps, newlines)
    }
}

/// Streams lines of a text and splits them at tabs, classifying each byte once.
///
/// Tabs are dense (one every few bytes), so a SIMD search per cell costs more
/// than it saves; instead every 64-byte block becomes a bit mask of tabs and
/// newlines, eight bytes per step without branches, and cells are cut at its
/// set bits.
#[derive(Debug, Clone)]
pub(crate) struct Scanner<'a> {
    text: &'a str,
    /// Start of the block `mask` describes.
    base: usize,
    /// Separators in the block not consumed yet.
    mask: u64,
    /// Which of the block's separators are newlines.
    newlines: u64,
    /// Start of the next line.
    pos: usize,
}

impl<'a> Scanner<'a> {
    pub fn new(text: &'a str) -> Self {
        let (mask, newlines) = block_mask(text.as_bytes());
        Scanner {
            text,
            base: 0,
            mask,
            newlines,
            pos: 0,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.pos >= self.text.len()
    }

    /// Bytes not yet split.
    pub fn remaining(&self) -> usize {
        self.text.len().saturating_sub(self.pos)
    }

    /// The next tab or newline: its position and whether it is a newline.
    #[inline(always)]
    fn next_separator(&mut self) -> Option<(usize, bool)> {
        loop {
            if self.mask != 0 {
                let bit = self.mask & self.mask.wrapping_neg();
                let p = self.base + self.mask.trailing_zeros() as usize;
                self.mask &= self.mask - 1;
                return Some((p, self.newlines & bit != 0));
            }
            let next = self.base + 64;
            let rest = self.text.as_bytes().get(next..).filter(|r| !r.is_empty())?;
            self.base = next;
            (self.mask, self.newlines) = block_mask(rest);
        }
    }

    /// Splits the next line into `cells` by `slots`; returns the line (without
    /// `\n` and a trailing `\r`) and the split. Call only when not empty.
    #[inline]
    pub fn split_next(&mut self, slots: &[u8], cells: &mut Cells<'a>) -> (&'a str, Split) {
        let text = self.text;
        let line_start = self.pos;
        let mut start = line_start;
        let mut col = 0usize;
        let mut extra = false;
        // the block state in locals, stored back once per line
        let (mut base, mut mask, mut newlines) = (self.base, self.mask, self.newlines);
        let end = 'line: loop {
            while mask != 0 {
                let bit = mask & mask.wrapping_neg();
                let p = base + mask.trailing_zeros() as usize;
                mask &= mask - 1;
                if newlines & bit != 0 {
                    break 'line p;
                }
                put(slots, cells, &mut extra, col, text, start, p);
                col += 1;
                start = p + 1;
            }
            let next = base + 64;
            match text.as_bytes().get(next..).filter(|r| !r.is_empty()) {
                Some(rest) => {
                    base = next;
                    (mask, newlines) = block_mask(rest);
                }
                None => break text.len(),
            }
        };
        (self.base, self.mask, self.newlines) = (base, mask, newlines);
        self.pos = (end + 1).min(text.len());
        put_last(slots, cells, &mut extra, col, text, start, end);
        let line = &text[line_start..end];
        (
            line.strip_suffix('\r').unwrap_or(line),
            Split {
                count: col + 1,
                extra,
            },
        )
    }
}

impl<'a> Scanner<'a> {
    /// Like [`Scanner::split_next`] but stores only cells up to header column
    /// `last_col` and jumps to the line end after it (the pre-scan needs a few
    /// leading columns). Returns the line.
    #[inline]
    pub fn split_next_until(
        &mut self,
        slots: &[u8],
        cells: &mut Cells<'a>,
        last_col: usize,
    ) -> &'a str {
        let text = self.text;
        let bytes = text.as_bytes();
        let line_start = self.pos;
        let mut start = line_start;
        let mut col = 0usize;
        let mut extra = false;
        let end = loop {
            match self.next_separator() {
                Some((p, false)) => {
                    put(slots, cells, &mut extra, col, text, start, p);
                    if col >= last_col {
                        let from = p + 1;
                        let end =
                            memchr::memchr(b'\n', &bytes[from..]).map_or(text.len(), |i| from + i);
                        self.pos = (end + 1).min(text.len());
                        self.base = self.pos;
                        (self.mask, self.newlines) = block_mask(&bytes[self.pos..]);
                        let line = &text[line_start..end];
                        return line.strip_suffix('\r').unwrap_or(line);
                    }
                    col += 1;
                    start = p + 1;
                }
                Some((p, true)) => break p,
                None => break text.len(),
            }
        };
        self.pos = (end + 1).min(text.len());
        put_last(slots, cells, &mut extra, col, text, start, end);
        let line = &text[line_start..end];
        line.strip_suffix('\r').unwrap_or(line)
    }
}

/// The last cell of a line, without the `\r` of a CRLF line end.
#[inline(always)]
fn last_cell(text: &str, start: usize, end: usize) -> &str {
    let cell = &text[start..end];
    cell.strip_suffix('\r').unwrap_or(cell)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout() -> Vec<u8> {
        vec![Col::OrderId as u8, UNUSED, Col::Amount as u8]
    }

    #[test]
    fn scanner_splits_like_the_simple_splitter() {
        let slots = layout();
        let long = format!(
            "{}\t{}\tend\r\n\n{}\n",
            "x".repeat(63),
            "y".repeat(64),
            "z\t".repeat(40)
        );
        for text in [
            "a\tb\tc\nnext",
            "a\tb\tc\r\nnext\tb\r\n",
            "a\tb\tc",
            "a long first cell here\tb\t12.34   \n",
            "\t\t\n",
            "a\tb\tc\td\te\n",
            "a\tb\tc\t\t\n",
            "\n",
            "x",
            "caf\u{e9}\t\u{30c6}\u{30b9}\u{30c8}\tz\r\n\u{e9}",
            long.as_str(),
        ] {
            let mut scanner = Scanner::new(text);
            let mut expected = text.split('\n').collect::<Vec<_>>();
            if text.ends_with('\n') {
                expected.pop();
            }
            for want in expected {
                assert!(!scanner.is_empty(), "{text:?}");
                let want = want.strip_suffix('\r').unwrap_or(want);
                let mut c1: Cells<'_> = [""; NCOLS];
                let (line, s1) = scanner.split_next(&slots, &mut c1);
                assert_eq!(line, want, "{text:?}");
                let mut c2: Cells<'_> = [""; NCOLS];
                let s2 = split_line(line, &slots, &mut c2, usize::MAX);
                assert_eq!(c1, c2, "{text:?}");
                assert_eq!((s1.count, s1.extra), (s2.count, s2.extra), "{text:?}");
            }
            assert!(scanner.is_empty(), "{text:?}");
            // the pre-scan's variant sees the same lines and leading cells
            for last_col in 0..3 {
                let mut full = Scanner::new(text);
                let mut partial = Scanner::new(text);
                while !full.is_empty() {
                    let mut c1: Cells<'_> = [""; NCOLS];
                    let mut c2: Cells<'_> = [""; NCOLS];
                    let (line, _) = full.split_next(&slots, &mut c1);
                    assert_eq!(partial.split_next_until(&slots, &mut c2, last_col), line);
                    let kept = |c: &Cells<'_>| {
                        (0..=last_col)
                            .filter_map(|i| slots.get(i))
                            .filter(|s| **s != UNUSED)
                            .map(|s| c[usize::from(*s)].to_string())
                            .collect::<Vec<_>>()
                    };
                    assert_eq!(kept(&c1), kept(&c2), "{text:?} {last_col}");
                }
                assert!(partial.is_empty());
            }
        }
    }

    #[test]
    fn block_masks() {
        let mut text = vec![b'a'; 70];
        text[0] = b'\t';
        text[9] = b'\n';
        text[63] = b'\t';
        text[64] = b'\t';
        assert_eq!(block_mask(&text), (1 | 1 << 9 | 1 << 63, 1 << 9));
        assert_eq!(block_mask(&text[64..]), (1, 0));
        assert_eq!(block_mask(&[0x89, b'\t', 0x8a, b'\n']), (0b1010, 0b1000));
    }
}
