//! Date cells in the forms Amazon ships, parsed by hand.
//!
//! A million-row file has a million date cells, so this never calls chrono's
//! format parser: it reads fixed digit groups and builds the value directly.
//! Forms: `2025-10-03 08:00:00 UTC`, `2025-10-03T08:00:00+00:00`,
//! `03.10.2025 08:00:00 UTC`, `2025/10/03 08:00:00 UTC`, and the short dates
//! `10/03/25`, `03.10.2025`, `2025-10-03`, `2025/10/03`. Forms that do not start
//! with a four-digit year are ambiguous and read with the file's [`DayOrder`].

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Utc};

use crate::ledger::model::{DayOrder, PostedAt};

/// A date cell split into its numbers, before the day/month order is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RawDate<'s> {
    pub year: i32,
    /// For year-first forms the month; otherwise the first number as written.
    pub first: u32,
    /// For year-first forms the day; otherwise the second number as written.
    pub second: u32,
    /// True when the cell does not start with the year (`03.10.2025`, `10/03/25`).
    pub ambiguous: bool,
    /// The separator between the date numbers (`-`, `/`, `.`).
    pub sep: u8,
    /// What follows the date (time and zone), possibly empty.
    pub rest: &'s [u8],
}

impl RawDate<'_> {
    /// The calendar day under `order` (ignored for year-first forms).
    pub fn date(&self, order: DayOrder) -> Option<NaiveDate> {
        let (month, day) = if !self.ambiguous {
            (self.first, self.second)
        } else {
            match order {
                DayOrder::DayFirst => (self.second, self.first),
                DayOrder::MonthFirst => (self.first, self.second),
            }
        };
        NaiveDate::from_ymd_opt(self.year, month, day)
    }
}

/// Day orders for ambiguous dates by separator: the file's decided order for
/// both, or, when the file needed no decision, each separator's convention.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Orders {
    /// `03.10.2025` (and `03-10-2025`)
    pub dot: DayOrder,
    /// `10/03/25`
    pub slash: DayOrder,
}

impl Orders {
    pub fn same(order: DayOrder) -> Self {
        Orders {
            dot: order,
            slash: order,
        }
    }
}

/// Reads 1..=max ASCII digits at `*i`.
#[inline]
fn digits(b: &[u8], i: &mut usize, max: usize) -> Option<(u32, usize)> {
    let start = *i;
    let mut value = 0u32;
    while *i < b.len() && *i - start < max && b[*i].is_ascii_digit() {
        value = value * 10 + u32::from(b[*i] - b'0');
        *i += 1;
    }
    let n = *i - start;
    (n > 0).then_some((value, n))
}

/// Splits the date part of a trimmed cell.
pub(crate) fn split_date(b: &[u8]) -> Option<RawDate<'_>> {
    let mut i = 0;
    let (n1, len1) = digits(b, &mut i, 4)?;
    let sep = *b.get(i)?;
    if !matches!(sep, b'-' | b'/' | b'.') {
        return None;
    }
    i += 1;
    let (n2, len2) = digits(b, &mut i, 2)?;
    if b.get(i) != Some(&sep) || len2 == 0 {
        return None;
    }
    i += 1;
    let (n3, len3) = digits(b, &mut i, 4)?;
    // A digit right after the groups means a longer number than any form allows.
    if b.get(i).is_some_and(u8::is_ascii_digit) {
        return None;
    }
    let rest = &b[i..];
    if len1 == 4 {
        if len3 > 2 {
            return None;
        }
        Some(RawDate {
            year: n1 as i32,
            first: n2,
            second: n3,
            ambiguous: false,
            sep,
            rest,
        })
    } else {
        if len1 > 2 {
            return None;
        }
        let year = match len3 {
            2 => 2000 + n3 as i32,
            4 => n3 as i32,
            _ => return None,
        };
        Some(RawDate {
            year,
            first: n1,
            second: n2,
            ambiguous: true,
            sep,
            rest,
        })
    }
}

/// Parses what follows a date: nothing, or ` HH:MM[:SS[.fff]][ zone]` / `THH:MM:SS+hh:mm`.
/// `Ok(None)` means a date only; the `i32` is the zone's offset east of UTC in seconds.
fn parse_time(rest: &[u8]) -> Result<Option<(NaiveTime, i32)>, ()> {
    if rest.is_empty() {
        return Ok(None);
    }
    let mut i = 0;
    match rest[0] {
        b'T' | b't' => i += 1,
        b' ' => {
            while i < rest.len() && rest[i] == b' ' {
                i += 1;
            }
        }
        _ => return Err(()),
    }
    let (hour, hl) = digits(rest, &mut i, 2).ok_or(())?;
    if hl != 2 || rest.get(i) != Some(&b':') {
        return Err(());
    }
    i += 1;
    let (minute, ml) = digits(rest, &mut i, 2).ok_or(())?;
    if ml != 2 {
        return Err(());
    }
    let mut second = 0;
    let mut nanos = 0u32;
    if rest.get(i) == Some(&b':') {
        i += 1;
        let (s, sl) = digits(rest, &mut i, 2).ok_or(())?;
        if sl != 2 {
            return Err(());
        }
        second = s;
        if rest.get(i) == Some(&b'.') {
            i += 1;
            let start = i;
            let mut scale = 100_000_000u32;
            while i < rest.len() && rest[i].is_ascii_digit() {
                nanos += u32::from(rest[i] - b'0') * scale;
                scale /= 10;
                i += 1;
            }
            if i == start || i - start > 9 {
                return Err(());
            }
        }
    }
    let time = NaiveTime::from_hms_nano_opt(hour, minute, second, nanos).ok_or(())?;
    let offset = parse_zone(&rest[i..])?;
    Ok(Some((time, offset)))
}

/// Zone suffix: empty (UTC), `Z`, `+hh:mm`, `+hhmm`, `+hh`, or an abbreviation.
fn parse_zone(z: &[u8]) -> Result<i32, ()> {
    let mut i = 0;
    while i < z.len() && z[i] == b' ' {
        i += 1;
    }
    let z = &z[i..];
    match z.first() {
        None => Ok(0),
        Some(b'Z' | b'z') if z.len() == 1 => Ok(0),
        Some(&sign @ (b'+' | b'-')) => {
            let mut i = 1;
            let (h, hl) = digits(z, &mut i, 2).ok_or(())?;
            if hl != 2 {
                return Err(());
            }
            if z.get(i) == Some(&b':') {
                i += 1;
            }
            let m = if i < z.len() {
                let (m, ml) = digits(z, &mut i, 2).ok_or(())?;
                if ml != 2 {
                    return Err(());
                }
                m
            } else {
                0
            };
            if i != z.len() || h > 23 || m > 59 {
                return Err(());
            }
            let secs = (h * 3600 + m * 60) as i32;
            Ok(if sign == b'-' { -secs } else { secs })
        }
        Some(_) => zone_abbreviation(z).ok_or(()),
    }
}

/// Offsets of the zone names seen in settlement exports.
fn zone_abbreviation(z: &[u8]) -> Option<i32> {
    let h = 3600;
    let upper = |s: &[u8]| -> [u8; 4] {
        let mut out = [0u8; 4];
        for (o, c) in out.iter_mut().zip(s) {
            *o = c.to_ascii_uppercase();
        }
        out
    };
    if z.len() > 4 {
        return None;
    }
    Some(match &upper(z)[..z.len()] {
        b"UTC" | b"GMT" | b"UT" => 0,
        b"PST" => -8 * h,
        b"PDT" | b"MST" => -7 * h,
        b"MDT" | b"CST" => -6 * h,
        b"CDT" | b"EST" => -5 * h,
        b"EDT" => -4 * h,
        b"BST" | b"CET" => h,
        b"CEST" => 2 * h,
        b"JST" => 9 * h,
        _ => return None,
    })
}

/// Parses a whole date cell (already trimmed, non-empty).
///
/// A cell with a time becomes an instant (offset applied); a bare date stays a day.
pub(crate) fn parse_date_cell(cell: &str, orders: Orders) -> Option<PostedAt> {
    let raw = split_date(cell.as_bytes())?;
    let order = if raw.sep == b'/' {
        orders.slash
    } else {
        orders.dot
    };
    let date = raw.date(order)?;
    match parse_time(raw.rest).ok()? {
        None => Some(PostedAt::Day(date)),
        Some((time, offset)) => {
            let local = NaiveDateTime::new(date, time);
            let utc = local.checked_sub_signed(TimeDelta::seconds(i64::from(offset)))?;
            Some(PostedAt::Instant(DateTime::from_naive_utc_and_offset(
                utc, Utc,
            )))
        }
    }
}

/// Parses a summary-row date (start, end, deposit): a bare date means midnight UTC.
pub(crate) fn parse_instant(cell: &str, order: DayOrder) -> Option<DateTime<Utc>> {
    match parse_date_cell(cell, Orders::same(order))? {
        PostedAt::Instant(t) => Some(t),
        PostedAt::Day(d) => Some(d.and_time(NaiveTime::MIN).and_utc()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instant(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn timestamp_forms() {
        let want = PostedAt::Instant(instant("2025-10-03T08:00:00Z"));
        for cell in [
            "2025-10-03 08:00:00 UTC",
            "2025-10-03T08:00:00+00:00",
            "2025-10-03T08:00:00Z",
            "2025-10-03T10:00:00+02:00",
            "2025-10-03T01:00:00-0700",
            "2025-10-03 01:00:00 PDT",
            "03.10.2025 08:00:00 UTC",
            "2025/10/03 08:00:00 UTC",
            "2025-10-03 08:00:00",
            "2025-10-03T08:00:00.000Z",
        ] {
            assert_eq!(
                parse_date_cell(cell, Orders::same(DayOrder::DayFirst)),
                Some(want),
                "{cell}"
            );
        }
        assert_eq!(
            parse_date_cell("2025-10-03 08:00 UTC", Orders::same(DayOrder::DayFirst)),
            Some(want)
        );
    }

    #[test]
    fn short_forms_and_order() {
        let oct3 = PostedAt::Day(NaiveDate::from_ymd_opt(2025, 10, 3).unwrap());
        assert_eq!(
            parse_date_cell("10/03/25", Orders::same(DayOrder::MonthFirst)),
            Some(oct3)
        );
        assert_eq!(
            parse_date_cell("03.10.2025", Orders::same(DayOrder::DayFirst)),
            Some(oct3)
        );
        assert_eq!(
            parse_date_cell("2025-10-03", Orders::same(DayOrder::MonthFirst)),
            Some(oct3)
        );
        assert_eq!(
            parse_date_cell("2025/10/03", Orders::same(DayOrder::MonthFirst)),
            Some(oct3)
        );
        assert_eq!(
            parse_date_cell("03/10/2025", Orders::same(DayOrder::DayFirst)),
            Some(oct3)
        );
        // year-first forms ignore the order
        assert_eq!(
            parse_date_cell("2025-10-03", Orders::same(DayOrder::DayFirst)),
            Some(oct3)
        );
        let raw = split_date(b"10/03/25").unwrap();
        assert!(raw.ambiguous);
        assert!(!split_date(b"2025-10-03").unwrap().ambiguous);
    }

    #[test]
    fn rejects_garbage() {
        for cell in [
            "",
            "abc",
            "2025-13-01",
            "2025-02-30",
            "2025-10-03 25:00:00 UTC",
            "2025-10-03 08:00:00 XYZ",
            "2025-10-03X08:00:00",
            "20251-10-03",
            "2025-10-03 08:00:00 UTC extra",
            "10/03",
            "13/13/25",
            "2025-10-03T08:00:00+25:00",
            "2025-10-033",
            "2025-10-03T08:00:00.1234567890Z",
        ] {
            assert_eq!(
                parse_date_cell(cell, Orders::same(DayOrder::MonthFirst)),
                None,
                "{cell}"
            );
        }
    }

    mod properties {
        use super::*;
        use chrono::{Datelike, Timelike};
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn every_timestamp_form_round_trips(secs in 946_684_800i64..4_102_444_800) {
                let t = DateTime::from_timestamp(secs, 0).unwrap();
                let (y, m, d) = (t.year(), t.month(), t.day());
                let (hh, mm, ss) = (t.hour(), t.minute(), t.second());
                let forms = [
                    format!("{y:04}-{m:02}-{d:02} {hh:02}:{mm:02}:{ss:02} UTC"),
                    format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}+00:00"),
                    format!("{d:02}.{m:02}.{y:04} {hh:02}:{mm:02}:{ss:02} UTC"),
                    format!("{y:04}/{m:02}/{d:02} {hh:02}:{mm:02}:{ss:02} UTC"),
                ];
                for cell in forms {
                    prop_assert_eq!(
                        parse_date_cell(&cell, Orders::same(DayOrder::DayFirst)),
                        Some(PostedAt::Instant(t)),
                        "{}", cell
                    );
                }
                let day = PostedAt::Day(t.date_naive());
                let yy = y % 100;
                prop_assert_eq!(parse_date_cell(&format!("{m:02}/{d:02}/{yy:02}"), Orders::same(DayOrder::MonthFirst)), Some(day));
                prop_assert_eq!(parse_date_cell(&format!("{d:02}.{m:02}.{y:04}"), Orders::same(DayOrder::DayFirst)), Some(day));
                prop_assert_eq!(parse_date_cell(&format!("{y:04}-{m:02}-{d:02}"), Orders::same(DayOrder::MonthFirst)), Some(day));
                prop_assert_eq!(parse_date_cell(&format!("{y:04}/{m:02}/{d:02}"), Orders::same(DayOrder::DayFirst)), Some(day));
            }

            #[test]
            fn date_cells_never_panic(cell in "[0-9./: TZUCtz+-]{0,30}") {
                let _ = parse_date_cell(&cell, Orders::same(DayOrder::DayFirst));
                let _ = parse_date_cell(&cell, Orders::same(DayOrder::MonthFirst));
            }
        }
    }
}
