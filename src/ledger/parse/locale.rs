//! Locale decisions made once per file: decimal mark and day/month order.
//!
//! A cell like `1.234` reads as 1234 in a German file and 1.234 in a US one, so
//! no cell is read alone: the whole file votes first (see
//! [`SettlementFile::parse`](super::SettlementFile::parse)), then every cell is
//! read the same way.

use chrono::NaiveDate;

use crate::ledger::model::DayOrder;
use crate::ledger::money::{Currency, DecimalMark};

use super::dates::RawDate;

/// What one amount cell proves about the file's decimal mark.
pub(crate) fn mark_evidence(cell: &str, zero_scale: bool) -> Option<DecimalMark> {
    let b = cell.as_bytes();
    let mut commas = 0usize;
    let mut points = 0usize;
    let mut last_comma = 0usize;
    let mut last_point = 0usize;
    let mut end = 0usize;
    for (i, &c) in b.iter().enumerate() {
        match c {
            b',' => {
                commas += 1;
                last_comma = i;
            }
            b'.' => {
                points += 1;
                last_point = i;
            }
            b'0'..=b'9' => end = i + 1,
            _ => {}
        }
    }
    match (commas, points) {
        (0, 0) => None,
        (_, 0) if commas > 1 => Some(DecimalMark::Point), // 1,234,567
        (0, _) if points > 1 => Some(DecimalMark::Comma), // 1.234.567
        (1, 0) => single_separator(end.saturating_sub(last_comma + 1), zero_scale, true),
        (0, 1) => single_separator(end.saturating_sub(last_point + 1), zero_scale, false),
        // both present: the last one is the decimal mark
        _ if last_comma > last_point => Some(DecimalMark::Comma),
        _ => Some(DecimalMark::Point),
    }
}

/// One separator followed by `after` digits: three digits could be a thousands
/// group either way, anything else is a decimal mark.
fn single_separator(after: usize, zero_scale: bool, is_comma: bool) -> Option<DecimalMark> {
    let (as_decimal, as_thousands) = if is_comma {
        (DecimalMark::Comma, DecimalMark::Point)
    } else {
        (DecimalMark::Point, DecimalMark::Comma)
    };
    if after != 3 {
        Some(as_decimal)
    } else if zero_scale {
        // JPY has no minor unit: `1,234` / `1.234` can only be thousands.
        Some(as_thousands)
    } else {
        None
    }
}

/// The mark a file uses when no cell settles it.
pub(crate) fn conventional_mark(currency: &Currency) -> DecimalMark {
    if currency.conventionally_uses_decimal_comma() {
        DecimalMark::Comma
    } else {
        DecimalMark::Point
    }
}

/// The day/month order a marketplace writes ambiguous dates in: dot dates are
/// day-first everywhere; slash dates are month-first (Amazon's documented
/// `MM/DD/YY`, the US form) except for currencies whose marketplaces write
/// day-first.
pub(crate) fn conventional_order(sep: u8, currency: &Currency) -> DayOrder {
    if sep == b'/' {
        match currency.code() {
            "GBP" | "EUR" | "INR" | "AUD" | "SGD" | "AED" | "SAR" | "BRL" | "MXN" | "TRY"
            | "EGP" | "PLN" | "SEK" | "ZAR" => DayOrder::DayFirst,
            _ => DayOrder::MonthFirst,
        }
    } else {
        DayOrder::DayFirst
    }
}

/// Votes on the day/month order from every ambiguous date in the body: an order
/// survives while every date it yields lies inside the settlement window.
#[derive(Debug, Clone)]
pub(crate) struct DayOrderVote {
    low: NaiveDate,
    high: NaiveDate,
    seen: bool,
    day_first_fits: bool,
    month_first_fits: bool,
    /// Separator of the first ambiguous date (for the convention fallback).
    sep: u8,
}

impl DayOrderVote {
    /// `low`/`high`: the settlement window with a day of slack on each side.
    pub fn new(low: NaiveDate, high: NaiveDate) -> Self {
        DayOrderVote {
            low,
            high,
            seen: false,
            day_first_fits: true,
            month_first_fits: true,
            sep: b'.',
        }
    }

    pub fn add(&mut self, raw: &RawDate<'_>) {
        if !raw.ambiguous {
            return;
        }
        if !self.seen {
            self.seen = true;
            self.sep = raw.sep;
        }
        let fits = |order| {
            raw.date(order)
                .is_some_and(|d| d >= self.low && d <= self.high)
        };
        if self.day_first_fits && !fits(DayOrder::DayFirst) {
            self.day_first_fits = false;
        }
        if self.month_first_fits && !fits(DayOrder::MonthFirst) {
            self.month_first_fits = false;
        }
    }

    /// Folds in the votes of another part of the same file (`self` comes first).
    pub fn merge(&mut self, later: &DayOrderVote) {
        if !self.seen && later.seen {
            self.sep = later.sep;
        }
        self.seen |= later.seen;
        self.day_first_fits &= later.day_first_fits;
        self.month_first_fits &= later.month_first_fits;
    }

    /// Whether an ambiguous date was seen.
    pub fn seen(&self) -> bool {
        self.seen
    }

    /// Whether further dates can still change the outcome.
    pub fn settled(&self) -> bool {
        !self.day_first_fits && !self.month_first_fits
    }

    /// `None` when the file has no ambiguous date at all.
    pub fn decide(&self, currency: &Currency) -> Option<DayOrder> {
        if !self.seen {
            return None;
        }
        Some(match (self.day_first_fits, self.month_first_fits) {
            (true, false) => DayOrder::DayFirst,
            (false, true) => DayOrder::MonthFirst,
            _ => conventional_order(self.sep, currency),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::parse::dates::split_date;

    #[test]
    fn evidence() {
        use DecimalMark::*;
        assert_eq!(mark_evidence("95,00", false), Some(Comma));
        assert_eq!(mark_evidence("-1.234,56", false), Some(Comma));
        assert_eq!(mark_evidence("1,234.56", false), Some(Point));
        assert_eq!(mark_evidence("12.34 ", false), Some(Point));
        assert_eq!(mark_evidence("1234", false), None);
        assert_eq!(mark_evidence("1,234", false), None);
        assert_eq!(mark_evidence("1.234", false), None);
        assert_eq!(mark_evidence("1.234.567", false), Some(Comma));
        assert_eq!(mark_evidence("1,234,567", false), Some(Point));
        assert_eq!(mark_evidence("1,234", true), Some(Point));
        assert_eq!(mark_evidence("1.234", true), Some(Comma));
        assert_eq!(mark_evidence("(5.5)", false), Some(Point));
    }

    #[test]
    fn day_order_vote() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        let usd = Currency::new("USD");
        let mut vote = DayOrderVote::new(d(2025, 9, 23), d(2025, 10, 9));
        assert_eq!(vote.decide(&usd), None);
        vote.add(&split_date(b"10/03/25").unwrap());
        assert_eq!(vote.decide(&usd), Some(DayOrder::MonthFirst));
        vote.add(&split_date(b"09/30/25").unwrap());
        assert_eq!(vote.decide(&usd), Some(DayOrder::MonthFirst));
        // a date no order can place: convention
        vote.add(&split_date(b"01/01/25").unwrap());
        assert!(vote.settled());
        assert_eq!(vote.decide(&usd), Some(DayOrder::MonthFirst));
        let eur = Currency::new("EUR");
        let mut vote = DayOrderVote::new(d(2025, 9, 23), d(2025, 10, 9));
        vote.add(&split_date(b"03.10.2025").unwrap());
        assert_eq!(vote.decide(&eur), Some(DayOrder::DayFirst));
        // 10/10 fits both: convention of the separator and currency
        let mut vote = DayOrderVote::new(d(2025, 9, 23), d(2025, 10, 19));
        vote.add(&split_date(b"10/10/25").unwrap());
        assert_eq!(vote.decide(&usd), Some(DayOrder::MonthFirst));
        assert_eq!(vote.decide(&Currency::new("GBP")), Some(DayOrder::DayFirst));
    }
}
