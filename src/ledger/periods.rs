//! Accounting periods: which period (and so which journal) a row belongs to.
//!
//! A [`Calendar`] is a list of dated periods, open or closed, passed in by the
//! caller (calendar months for `settlement preview`, the EBS calendar later).
//! [`PeriodIndex`] compiles it for one time zone so a row's period is a binary
//! search on instants, without a time-zone conversion per row.

use chrono::{DateTime, Datelike, Days, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

use super::model::PostedAt;

/// One accounting period; `start` and `end` are inclusive calendar days.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Period {
    pub name: String,
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub open: bool,
}

/// Periods in date order, not overlapping (gaps are allowed: a row in a gap is an error).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Calendar {
    pub periods: Vec<Period>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    #[error("period `{name}` ends ({end}) before it starts ({start})")]
    Inverted {
        name: String,
        start: NaiveDate,
        end: NaiveDate,
    },
    #[error(
        "period `{second}` starts before period `{first}` ends: periods must be in date order without overlap"
    )]
    Overlap { first: String, second: String },
    #[error("the calendar has no periods")]
    Empty,
    #[error("{what} {date} lies outside the calendar ({first} .. {last}): extend the calendar")]
    OutsideCalendar {
        what: String,
        date: NaiveDate,
        first: NaiveDate,
        last: NaiveDate,
    },
    #[error(
        "{what} falls in closed period `{period}` and no open period follows it: open a period in the calendar"
    )]
    NoOpenPeriod { what: String, period: String },
}

fn month_start(d: NaiveDate) -> NaiveDate {
    d.with_day(1).expect("day 1 exists")
}

fn next_month(d: NaiveDate) -> NaiveDate {
    let (y, m) = if d.month() == 12 {
        (d.year() + 1, 1)
    } else {
        (d.year(), d.month() + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1).expect("first of month exists")
}

impl Calendar {
    /// Validates order and overlap.
    pub fn new(periods: Vec<Period>) -> Result<Calendar, PeriodError> {
        if periods.is_empty() {
            return Err(PeriodError::Empty);
        }
        for p in &periods {
            if p.end < p.start {
                return Err(PeriodError::Inverted {
                    name: p.name.clone(),
                    start: p.start,
                    end: p.end,
                });
            }
        }
        for w in periods.windows(2) {
            if w[1].start <= w[0].end {
                return Err(PeriodError::Overlap {
                    first: w[0].name.clone(),
                    second: w[1].name.clone(),
                });
            }
        }
        Ok(Calendar { periods })
    }

    /// Open calendar months (`YYYY-MM`) covering `from` ..= `to`.
    pub fn months(from: NaiveDate, to: NaiveDate) -> Calendar {
        let (from, to) = if to < from { (to, from) } else { (from, to) };
        let mut periods = Vec::new();
        let mut start = month_start(from);
        while start <= to {
            let next = next_month(start);
            periods.push(Period {
                name: format!("{:04}-{:02}", start.year(), start.month()),
                start,
                end: next.pred_opt().expect("day before the first exists"),
                open: true,
            });
            start = next;
        }
        Calendar { periods }
    }

    /// Marks a period closed; false when no period has that name.
    pub fn close(&mut self, name: &str) -> bool {
        match self.periods.iter_mut().find(|p| p.name == name) {
            Some(p) => {
                p.open = false;
                true
            }
            None => false,
        }
    }

    /// The index of the period holding a day.
    pub fn find(&self, day: NaiveDate) -> Option<usize> {
        let i = self.periods.partition_point(|p| p.end < day);
        (i < self.periods.len() && self.periods[i].start <= day).then_some(i)
    }
}

/// The instant a calendar day starts in a time zone (the first valid local
/// time when midnight is skipped by a DST change).
pub fn day_start_utc(tz: Tz, day: NaiveDate) -> DateTime<Utc> {
    let mut local = day.and_time(NaiveTime::MIN);
    for _ in 0..48 {
        match tz.from_local_datetime(&local) {
            LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => return t.with_timezone(&Utc),
            LocalResult::None => local += chrono::Duration::minutes(30),
        }
    }
    // no time zone skips a whole day; fall back to UTC midnight
    day.and_time(NaiveTime::MIN).and_utc()
}

/// The calendar day of an instant in a time zone.
pub fn local_day(tz: Tz, t: DateTime<Utc>) -> NaiveDate {
    t.with_timezone(&tz).date_naive()
}

/// A calendar compiled for one time zone.
#[derive(Debug, Clone)]
pub struct PeriodIndex {
    calendar: Calendar,
    tz: Tz,
    /// instant each period starts / the instant after it ends, in `tz`
    starts: Vec<DateTime<Utc>>,
    ends: Vec<DateTime<Utc>>,
    /// where rows of each period are posted: itself when open, else the first
    /// open period after it
    targets: Vec<Option<usize>>,
}

impl PeriodIndex {
    pub fn new(calendar: Calendar, tz: Tz) -> PeriodIndex {
        let starts = calendar
            .periods
            .iter()
            .map(|p| day_start_utc(tz, p.start))
            .collect();
        let ends = calendar
            .periods
            .iter()
            .map(|p| day_start_utc(tz, p.end.checked_add_days(Days::new(1)).unwrap_or(p.end)))
            .collect();
        let mut targets = vec![None; calendar.periods.len()];
        let mut next_open = None;
        for (i, p) in calendar.periods.iter().enumerate().rev() {
            if p.open {
                next_open = Some(i);
            }
            targets[i] = next_open;
        }
        PeriodIndex {
            calendar,
            tz,
            starts,
            ends,
            targets,
        }
    }

    pub fn calendar(&self) -> &Calendar {
        &self.calendar
    }

    pub fn tz(&self) -> Tz {
        self.tz
    }

    pub fn period(&self, i: usize) -> &Period {
        &self.calendar.periods[i]
    }

    /// The period holding an instant (in the index's time zone).
    pub fn of_instant(&self, t: DateTime<Utc>) -> Option<usize> {
        let i = self.ends.partition_point(|e| *e <= t);
        (i < self.starts.len() && self.starts[i] <= t).then_some(i)
    }

    /// The period holding a calendar day.
    pub fn of_day(&self, d: NaiveDate) -> Option<usize> {
        self.calendar.find(d)
    }

    /// The period of a posted date, or `fallback` when there is none.
    pub fn of_posted(&self, posted: Option<PostedAt>, fallback: Option<usize>) -> Option<usize> {
        match posted {
            Some(PostedAt::Instant(t)) => self.of_instant(t),
            Some(PostedAt::Day(d)) => self.of_day(d),
            None => fallback,
        }
    }

    /// Where rows of period `i` are posted (itself when open, else the first
    /// open period after it).
    pub fn target(&self, i: usize) -> Option<usize> {
        self.targets[i]
    }

    /// The local day of a posted date, for error messages.
    pub fn day_of(&self, posted: PostedAt) -> NaiveDate {
        match posted {
            PostedAt::Instant(t) => local_day(self.tz, t),
            PostedAt::Day(d) => d,
        }
    }

    /// The "outside the calendar" error for a day.
    pub fn outside(&self, what: String, date: NaiveDate) -> PeriodError {
        PeriodError::OutsideCalendar {
            what,
            date,
            first: self.calendar.periods.first().map_or(date, |p| p.start),
            last: self.calendar.periods.last().map_or(date, |p| p.end),
        }
    }
}

/// Sorts period names in calendar order: `NOV-26` < `DEC-26` < `JAN-27` (EBS's `MON-YY`),
/// `2025-09` < `2025-10`; a name that reads as neither sorts after, by name.
pub fn period_order_key(name: &str) -> (bool, i32, u32, String) {
    const MONTHS: [&str; 12] = [
        "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
    ];
    let parsed = name.split_once('-').and_then(|(a, b)| {
        let month_of = |m: &str| {
            MONTHS
                .iter()
                .position(|x| x.eq_ignore_ascii_case(m))
                .map(|i| i as u32 + 1)
        };
        let year_of = |y: &str| {
            let n: i32 = y.parse().ok()?;
            Some(if y.len() == 2 { 2000 + n } else { n })
        };
        match (month_of(a), year_of(b)) {
            (Some(m), Some(y)) => Some((y, m)),
            _ => Some((year_of(a)?, b.parse().ok()?)),
        }
    });
    let (y, m) = parsed.unwrap_or((i32::MAX, 0));
    (parsed.is_none(), y, m, name.to_string())
}

#[cfg(test)]
mod tests {

    #[test]
    fn period_names_sort_by_calendar() {
        let mut p = vec!["JAN-27", "NOV-26", "DEC-26", "2025-10", "2025-09", "ADJ"];
        p.sort_by_key(|n| period_order_key(n));
        assert_eq!(
            p,
            ["2025-09", "2025-10", "NOV-26", "DEC-26", "JAN-27", "ADJ"]
        );
    }
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn months_cover_range_and_year_end() {
        let c = Calendar::months(d(2025, 11, 15), d(2026, 2, 1));
        let names: Vec<_> = c.periods.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["2025-11", "2025-12", "2026-01", "2026-02"]);
        assert_eq!(c.periods[0].end, d(2025, 11, 30));
        assert_eq!(c.periods[3].end, d(2026, 2, 28));
        assert_eq!(c.find(d(2025, 12, 31)), Some(1));
        assert_eq!(c.find(d(2025, 10, 31)), None);
        assert_eq!(c.find(d(2026, 3, 1)), None);
    }

    #[test]
    fn calendar_validation() {
        let p = |name: &str, s, e| Period {
            name: name.into(),
            start: s,
            end: e,
            open: true,
        };
        assert!(matches!(
            Calendar::new(vec![
                p("a", d(2025, 1, 1), d(2025, 1, 31)),
                p("b", d(2025, 1, 31), d(2025, 2, 28))
            ]),
            Err(PeriodError::Overlap { .. })
        ));
        assert!(matches!(
            Calendar::new(vec![p("a", d(2025, 1, 2), d(2025, 1, 1))]),
            Err(PeriodError::Inverted { .. })
        ));
        assert_eq!(Calendar::new(vec![]), Err(PeriodError::Empty));
        // a gap is allowed; a day inside it has no period
        let c = Calendar::new(vec![
            p("a", d(2025, 1, 1), d(2025, 1, 10)),
            p("b", d(2025, 1, 20), d(2025, 1, 31)),
        ])
        .unwrap();
        assert_eq!(c.find(d(2025, 1, 15)), None);
        assert_eq!(c.find(d(2025, 1, 20)), Some(1));
    }

    #[test]
    fn instant_period_depends_on_time_zone() {
        let c = Calendar::months(d(2025, 9, 1), d(2025, 10, 31));
        // 2025-10-01 03:00 UTC is still September 30 in Los Angeles (UTC-7)
        let t = Utc.with_ymd_and_hms(2025, 10, 1, 3, 0, 0).unwrap();
        let utc = PeriodIndex::new(c.clone(), chrono_tz::UTC);
        let la = PeriodIndex::new(c, chrono_tz::America::Los_Angeles);
        assert_eq!(utc.of_instant(t), Some(1));
        assert_eq!(la.of_instant(t), Some(0));
        // boundaries: local midnight belongs to the new period
        let midnight_la = Utc.with_ymd_and_hms(2025, 10, 1, 7, 0, 0).unwrap();
        assert_eq!(la.of_instant(midnight_la), Some(1));
        assert_eq!(
            la.of_instant(midnight_la - chrono::Duration::seconds(1)),
            Some(0)
        );
        // a day is used as is, whatever the zone
        assert_eq!(la.of_day(d(2025, 10, 1)), Some(1));
        assert_eq!(la.of_posted(None, Some(0)), Some(0));
        assert_eq!(
            la.of_instant(Utc.with_ymd_and_hms(2025, 11, 1, 7, 0, 0).unwrap()),
            None
        );
    }

    #[test]
    fn closed_periods_roll_forward() {
        let mut c = Calendar::months(d(2025, 8, 1), d(2025, 11, 30));
        assert!(c.close("2025-08"));
        assert!(c.close("2025-09"));
        assert!(c.close("2025-11"));
        assert!(!c.close("2024-01"));
        let idx = PeriodIndex::new(c, chrono_tz::UTC);
        assert_eq!(idx.target(0), Some(2));
        assert_eq!(idx.target(1), Some(2));
        assert_eq!(idx.target(2), Some(2));
        assert_eq!(idx.target(3), None);
    }

    #[test]
    fn dst_gap_at_midnight() {
        // Santiago skipped 2022-09-11 00:00 local (clocks went to 01:00)
        let tz = chrono_tz::America::Santiago;
        let t = day_start_utc(tz, d(2022, 9, 11));
        assert_eq!(local_day(tz, t), d(2022, 9, 11));
        assert_eq!(
            local_day(tz, t - chrono::Duration::seconds(1)),
            d(2022, 9, 10)
        );
    }
}
