//! Journals: settlement rows become balanced GL journals, one per accounting period.
//!
//! An [`Engine`] holds what is fixed for one settlement (mapping, calendar in a
//! time zone, summary). Rows stream into an [`Accumulator`] that keeps one sum per
//! (period, row combination), so a million rows cost a hash lookup and a
//! `Decimal` add each; accumulators of parallel chunks [`merge`](Accumulator::merge)
//! and [`finish`](Accumulator::finish) into a [`Proposal`].
//!
//! Rules of the proposal (issue 2):
//! - a row's period is its posted date in the time zone (a bare date as is; no
//!   date: the period holding the settlement end); a closed period rolls to the
//!   first open period after it, the original period kept on the line;
//! - one journal per period, dated the period's last day, or the settlement end
//!   date in the period holding it;
//! - mapped amounts grouped by (account, label, original period); a positive net
//!   is a credit, a negative one a debit; zero nets are dropped but listed with
//!   their row counts; one clearing line per journal takes the net (a debit when
//!   the net is positive), so every journal balances and the clearing lines sum
//!   to the settlement total;
//! - unmapped rows go to suspense when configured and are always listed;
//! - rows that do not sum to the total make the settlement inconsistent; the
//!   difference goes to the difference account when configured.
//!
//! Nothing is rounded.

use chrono::NaiveDate;
use chrono_tz::Tz;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

use super::mapping::{Combo, Mapping, Matcher};
use super::model::{PostedAt, RowRef, SettlementSummary};
use super::money::Currency;
use super::parse::{ParseError, RowCore, Rows, SettlementFile, same_text};
use super::periods::{Calendar, PeriodError, PeriodIndex, local_day};

/// Label of the engine's net line on the clearing account.
pub const CLEARING_LABEL: &str = "Amazon settlement clearing";
/// Label of unmapped rows sent to the suspense account.
pub const SUSPENSE_LABEL: &str = "Unmapped settlement rows (suspense)";
/// Label of the unexplained rest of an inconsistent settlement.
pub const DIFFERENCE_LABEL: &str = "Settlement total minus rows (unexplained)";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JournalError {
    #[error("line {line}: {source}")]
    Row {
        line: u32,
        #[source]
        source: PeriodError,
    },
    #[error("settlement {settlement_id}: {source}")]
    Settlement {
        settlement_id: String,
        #[source]
        source: PeriodError,
    },
    /// A sum of the file's amounts beyond what a decimal holds (about ±7.9e28).
    #[error(
        "settlement {settlement_id}{}: {what} overflows a decimal (more than {} in absolute value): \
         amounts this large are no real settlement; check the file (download it again) and \
         report it if Amazon sent it so",
        line.map(|l| format!(", line {l}")).unwrap_or_default(),
        Decimal::MAX
    )]
    Overflow {
        settlement_id: String,
        /// The row whose amount overflowed the sum, or the first row of the
        /// sum; none for totals over many rows.
        line: Option<u32>,
        what: String,
    },
}

impl JournalError {
    /// A sum of `what` that overflowed (see [`JournalError::Overflow`]).
    pub fn overflow(settlement_id: &str, line: Option<u32>, what: impl Into<String>) -> Self {
        JournalError::Overflow {
            settlement_id: settlement_id.to_string(),
            line,
            what: what.into(),
        }
    }
}

/// What a journal line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LineKind {
    /// Rows matched by mapping rules.
    Mapped,
    /// Unmapped rows on the suspense account.
    Suspense,
    /// The unexplained rest of an inconsistent settlement.
    Difference,
    /// The engine's net line on the clearing account.
    Clearing,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalLine {
    pub account: String,
    pub label: String,
    pub debit: Decimal,
    pub credit: Decimal,
    /// Settlement rows behind the line (for the clearing line: all rows of the journal).
    pub rows: u64,
    /// Set when the rows were posted in a closed period and rolled into this one.
    pub original_period: Option<String>,
    pub kind: LineKind,
    /// Indexes into `Mapping::rules` of the rules behind the line (drill-down).
    pub rules: Vec<usize>,
    /// Any rule behind the line is an Amazon fee paid through Payables.
    pub ap: bool,
}

/// A group that netted to zero: no line, but its rows are accounted for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZeroNetGroup {
    pub account: String,
    pub label: String,
    pub rows: u64,
    pub original_period: Option<String>,
    pub rules: Vec<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Journal {
    pub period: String,
    pub accounting_date: NaiveDate,
    pub lines: Vec<JournalLine>,
    pub zero_net: Vec<ZeroNetGroup>,
    pub total_debit: Decimal,
    pub total_credit: Decimal,
}

impl Journal {
    pub fn is_balanced(&self) -> bool {
        self.total_debit == self.total_credit
    }

    /// Debit minus credit on the clearing line(s): what this journal moves
    /// into clearing.
    ///
    /// Saturates rather than panics; [`Accumulator::finish`] checked that
    /// the journals it builds fit.
    pub fn clearing_net(&self) -> Decimal {
        self.lines
            .iter()
            .filter(|l| l.kind == LineKind::Clearing)
            .fold(Decimal::ZERO, |sum, l| {
                sum.saturating_add(l.debit.saturating_sub(l.credit))
            })
    }
}

/// Rows no rule matched, grouped by (transaction type, amount type, description).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnmappedGroup {
    pub transaction_type: String,
    pub amount_type: String,
    pub amount_description: String,
    pub amount: Decimal,
    pub rows: u64,
}

/// The journals proposed for one settlement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proposal {
    pub settlement_id: String,
    pub currency: Currency,
    pub total_amount: Decimal,
    pub mapping_hash: String,
    pub journals: Vec<Journal>,
    pub unmapped: Vec<UnmappedGroup>,
    /// Body rows seen.
    pub rows: u64,
    /// Their sum.
    pub rows_total: Decimal,
    /// `total_amount - rows_total`; zero when consistent.
    pub difference: Decimal,
    pub consistent: bool,
    pub postable: bool,
    /// Why the proposal is not postable (empty when it is).
    pub blockers: Vec<String>,
}

impl Proposal {
    /// Sum of the clearing lines over all journals. Saturates rather than
    /// panics; [`Accumulator::finish`] checked that it fits.
    pub fn clearing_total(&self) -> Decimal {
        self.journals
            .iter()
            .fold(Decimal::ZERO, |sum, j| sum.saturating_add(j.clearing_net()))
    }
}

/// What is fixed while proposing one settlement.
#[derive(Debug, Clone)]
pub struct Engine<'m> {
    mapping: &'m Mapping,
    index: PeriodIndex,
    summary: SettlementSummary,
    marketplace: String,
    /// The settlement's marketplace is the rows' most frequent one, counted
    /// while they stream (see [`Engine::with_rows_marketplace`]).
    deferred: bool,
    /// the settlement end as a local day, and the period holding it
    end_day: NaiveDate,
    end_period: Option<usize>,
}

impl<'m> Engine<'m> {
    /// `marketplace` is the settlement's marketplace (the one the report was
    /// pulled for, else the file's most frequent `marketplace-name`): it stands
    /// in for account-level rows whose marketplace is empty.
    pub fn new(
        mapping: &'m Mapping,
        calendar: Calendar,
        tz: Tz,
        summary: &SettlementSummary,
        marketplace: Option<&str>,
    ) -> Engine<'m> {
        let index = PeriodIndex::new(calendar, tz);
        let end_day = local_day(tz, summary.end);
        let end_period = index.of_day(end_day);
        Engine {
            mapping,
            index,
            summary: summary.clone(),
            marketplace: marketplace.unwrap_or("").to_string(),
            deferred: false,
            end_day,
            end_period,
        }
    }

    /// Like [`Engine::new`] with the settlement's marketplace taken from the
    /// rows themselves: the most frequent non-empty `marketplace-name` (ties:
    /// the first seen), counted while the rows stream instead of in a pass of
    /// its own. For a V2 file this is `Engine::new(…,
    /// file.dominant_marketplace())` without the extra read of the body (a V1
    /// line expands into several rows, so V1 files take `Engine::new`).
    pub fn with_rows_marketplace(
        mapping: &'m Mapping,
        calendar: Calendar,
        tz: Tz,
        summary: &SettlementSummary,
    ) -> Engine<'m> {
        let mut engine = Engine::new(mapping, calendar, tz, summary, None);
        engine.deferred = true;
        engine
    }

    /// Calendar months in `tz` from ten years before the settlement start to ten
    /// years after its end: `settlement preview`'s calendar (every month open;
    /// a row dated far off shows as its own journal rather than an error).
    pub fn preview_calendar(summary: &SettlementSummary, tz: Tz) -> Calendar {
        let start = local_day(tz, summary.start);
        let end = local_day(tz, summary.end);
        Calendar::months(
            start
                .checked_sub_months(chrono::Months::new(12))
                .unwrap_or(start),
            end.checked_add_months(chrono::Months::new(12))
                .unwrap_or(end),
        )
    }

    pub fn mapping(&self) -> &'m Mapping {
        self.mapping
    }

    pub fn periods(&self) -> &PeriodIndex {
        &self.index
    }

    pub fn summary(&self) -> &SettlementSummary {
        &self.summary
    }

    /// The settlement end as a day in the engine's time zone.
    pub fn end_day(&self) -> NaiveDate {
        self.end_day
    }

    pub fn accumulator(&self) -> Accumulator<'_> {
        Accumulator {
            engine: self,
            matcher: self.mapping.matcher(),
            cells: Vec::new(),
            rows: 0,
            markets: Vec::new(),
            last_market: 0,
            last_posted: None,
            overflow: None,
        }
    }

    /// Proposes journals for rows already in memory (single thread).
    pub fn propose<'r>(
        &self,
        rows: impl IntoIterator<Item = RowRef<'r>>,
    ) -> Result<Proposal, JournalError> {
        let mut acc = self.accumulator();
        for row in rows {
            acc.add(&row)?;
        }
        acc.finish()
    }

    fn end_period_or_err(&self, what: &str) -> Result<usize, PeriodError> {
        self.end_period
            .ok_or_else(|| self.index.outside(what.to_string(), self.end_day))
    }

    fn target_of(
        &self,
        period: usize,
        what: impl FnOnce() -> String,
    ) -> Result<usize, PeriodError> {
        self.index
            .target(period)
            .ok_or_else(|| PeriodError::NoOpenPeriod {
                what: what(),
                period: self.index.period(period).name.clone(),
            })
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct Cell {
    sum: Decimal,
    rows: u64,
    /// Line of the cell's first row (for overflow errors).
    first_line: u32,
}

impl Cell {
    /// Adds rows summing to `amount`, the first on `first_line`; `false`
    /// (and no change) when the sum would overflow.
    #[inline]
    fn add(&mut self, amount: Decimal, rows: u64, first_line: u32) -> bool {
        let Some(sum) = self.sum.checked_add(amount) else {
            return false;
        };
        if self.rows == 0 || first_line < self.first_line {
            self.first_line = first_line;
        }
        self.sum = sum;
        self.rows += rows;
        true
    }
}

/// Sums rows by (period, combination); see the module docs.
pub struct Accumulator<'e> {
    engine: &'e Engine<'e>,
    matcher: Matcher<'e>,
    /// per combination id: (original period, sum); a combination rarely spans
    /// more than two or three periods, so a short vector beats a hash map
    cells: Vec<Vec<(u32, Cell)>>,
    rows: u64,
    /// Deferred engines: marketplace names with their row counts, in order
    /// of first appearance, and the index of the last one seen.
    markets: Vec<(String, u64)>,
    last_market: usize,
    /// The last posted date and its (checked) period: rows of one order share it.
    last_posted: Option<(PostedAt, usize)>,
    /// A sum that overflowed while merging: reported by [`Self::finish`].
    overflow: Option<JournalError>,
}

/// Stands in for the settlement's marketplace until it is known (deferred
/// engines): a cell never holds a tab, so no row's marketplace is this.
const PENDING_MARKETPLACE: &str = "\t";

impl<'e> Accumulator<'e> {
    /// Adds one body row. Fails (naming the line) when its date lies outside the
    /// calendar or in a closed period with no open period after it.
    pub fn add(&mut self, row: &RowRef<'_>) -> Result<(), JournalError> {
        self.add_core(&RowCore::from(row))
    }

    /// [`Self::add`] of the fields the engine reads.
    #[inline]
    pub fn add_core(&mut self, row: &RowCore<'_>) -> Result<(), JournalError> {
        let e = self.engine;
        let marketplace = if row.marketplace_name.is_empty() {
            if e.deferred {
                PENDING_MARKETPLACE
            } else {
                e.marketplace.as_str()
            }
        } else {
            if e.deferred {
                self.count_market(row.marketplace_name);
            }
            row.marketplace_name
        };
        let combo = self.matcher.combo_id(
            row.transaction_type,
            row.amount_type,
            row.amount_description,
            marketplace,
        );
        let row_err = |source| JournalError::Row {
            line: row.line,
            source,
        };
        let period = match (row.posted, self.last_posted) {
            (Some(p), Some((last, period))) if p == last => period,
            (posted, _) => {
                let period = match posted {
                    Some(p) => e.index.of_posted(Some(p), None).ok_or_else(|| {
                        row_err(e.index.outside("posted date".into(), e.index.day_of(p)))
                    })?,
                    None => e
                        .end_period_or_err("settlement end (row without posted date)")
                        .map_err(row_err)?,
                };
                e.target_of(period, || "the row".into()).map_err(row_err)?;
                if let Some(p) = posted {
                    self.last_posted = Some((p, period));
                }
                period
            }
        };
        let cell = self.cell(period as u32, combo);
        let earlier = cell.rows;
        if !cell.add(row.amount, 1, row.line) {
            return Err(JournalError::overflow(
                &e.summary.settlement_id,
                Some(row.line),
                format!(
                    "the amount {} added to the {earlier} earlier row(s) of {} / {} / {}",
                    row.amount, row.transaction_type, row.amount_type, row.amount_description
                ),
            ));
        }
        self.rows += 1;
        Ok(())
    }

    /// Adds every row of `rows` (see [`Rows::next_core`]); stops at the first
    /// bad one.
    pub fn add_rows(&mut self, rows: &mut Rows<'_>) -> Result<(), ProposeError> {
        while let Some(row) = rows.next_core() {
            self.add_core(&row?)?;
        }
        Ok(())
    }

    /// Adds a partial sum of a combination (merging, or moving rows to their
    /// marketplace); an overflow is kept for [`Self::finish`].
    fn add_cell(&mut self, period: u32, combo: u32, from: Cell) {
        if !self
            .cell(period, combo)
            .add(from.sum, from.rows, from.first_line)
            && self.overflow.is_none()
        {
            let c = self.matcher.combo(combo);
            let what = format!(
                "the sum of the rows of {} / {} / {}",
                c.transaction_type, c.amount_type, c.amount_description
            );
            self.overflow = Some(JournalError::overflow(
                &self.engine.summary.settlement_id,
                Some(from.first_line),
                what,
            ));
        }
    }

    #[inline]
    fn cell(&mut self, period: u32, combo: u32) -> &mut Cell {
        let combo = combo as usize;
        if combo >= self.cells.len() {
            self.cells.resize_with(combo + 1, Vec::new);
        }
        let periods = &mut self.cells[combo];
        let i = match periods.iter().position(|(p, _)| *p == period) {
            Some(i) => i,
            None => {
                periods.push((period, Cell::default()));
                periods.len() - 1
            }
        };
        &mut periods[i].1
    }

    #[inline]
    fn count_market(&mut self, name: &str) {
        if let Some(m) = self.markets.get_mut(self.last_market)
            && same_text(&m.0, name)
        {
            m.1 += 1;
            return;
        }
        match self.markets.iter().position(|m| m.0 == name) {
            Some(i) => {
                self.markets[i].1 += 1;
                self.last_market = i;
            }
            None => {
                self.markets.push((name.to_string(), 1));
                self.last_market = self.markets.len() - 1;
            }
        }
    }

    /// Deferred engines: moves the rows that waited for the settlement's
    /// marketplace to their combinations with the most frequent one.
    fn resolve_marketplace(&mut self) {
        // max_by_key keeps the last maximum; reverse so ties go to the first seen
        let dominant = self
            .markets
            .iter()
            .rev()
            .max_by_key(|m| m.1)
            .map_or(String::new(), |m| m.0.clone());
        let pending: Vec<(u32, Combo)> = self
            .matcher
            .combos()
            .enumerate()
            .filter(|(_, (c, _))| c.marketplace == PENDING_MARKETPLACE)
            .map(|(id, (c, _))| (id as u32, c.clone()))
            .collect();
        for (id, combo) in pending {
            let Some(periods) = self.cells.get_mut(id as usize).map(std::mem::take) else {
                continue;
            };
            let real = self.matcher.combo_id(
                &combo.transaction_type,
                &combo.amount_type,
                &combo.amount_description,
                &dominant,
            );
            for (period, cell) in periods {
                self.add_cell(period, real, cell);
            }
        }
    }

    /// Moves the line numbers this accumulator keeps `by` lines down: for rows
    /// read numbered from the start of a later part of the file, before the
    /// lines in front of it were counted.
    pub fn offset_lines(&mut self, by: u32) {
        for (_, cell) in self.cells.iter_mut().flatten() {
            cell.first_line = cell.first_line.saturating_add(by);
        }
    }

    /// Rows added so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Folds in the accumulator of another chunk of the same settlement.
    pub fn merge(&mut self, other: Accumulator<'_>) {
        let mut ids = Vec::with_capacity(other.matcher.combos().count());
        for (combo, _) in other.matcher.combos() {
            ids.push(self.matcher.combo_id_of(combo));
        }
        for (combo, periods) in other.cells.into_iter().enumerate() {
            for (period, cell) in periods {
                self.add_cell(period, ids[combo], cell);
            }
        }
        if self.overflow.is_none() {
            self.overflow = other.overflow;
        }
        self.rows += other.rows;
        for (name, n) in other.markets {
            match self.markets.iter_mut().find(|m| m.0 == name) {
                Some(m) => m.1 += n,
                None => self.markets.push((name, n)),
            }
        }
    }

    /// Builds the journals.
    pub fn finish(mut self) -> Result<Proposal, JournalError> {
        let e = self.engine;
        if e.deferred {
            self.resolve_marketplace();
        }
        if let Some(overflow) = self.overflow.take() {
            return Err(overflow);
        }
        let mapping = e.mapping;
        let summary = &e.summary;
        let settlement_err = |source| JournalError::Settlement {
            settlement_id: summary.settlement_id.clone(),
            source,
        };
        // every sum below adds amounts from the file: checked, never `+`
        let overflow = |line: Option<u32>, what: String| {
            JournalError::overflow(&summary.settlement_id, line, what)
        };

        #[derive(Default)]
        struct Group {
            sum: Decimal,
            rows: u64,
            rules: BTreeSet<usize>,
            kind: Option<LineKind>,
            ap: bool,
        }
        // (target period, account, label, original period if rolled)
        type Key = (usize, String, String, Option<usize>);
        let mut groups: BTreeMap<Key, Group> = BTreeMap::new();
        let mut unmapped: BTreeMap<(String, String, String), (Decimal, u64)> = BTreeMap::new();
        let mut rows_per_target: BTreeMap<usize, u64> = BTreeMap::new();

        let cells = self.cells.iter().enumerate().flat_map(|(combo, periods)| {
            periods
                .iter()
                .map(move |(period, cell)| (combo as u32, *period, cell))
        });
        let mut rows_total = Decimal::ZERO;
        for (combo, period, cell) in cells {
            rows_total = rows_total
                .checked_add(cell.sum)
                .ok_or_else(|| overflow(None, "the sum of all rows".into()))?;
            let period = period as usize;
            // checked in `add`
            let target = e
                .target_of(period, || "a row".into())
                .map_err(settlement_err)?;
            *rows_per_target.entry(target).or_default() += cell.rows;
            let original = (period != target).then_some(period);
            let (account, label, kind, rule) = match self.matcher.rule_of(combo) {
                Some(r) => {
                    let rule = &mapping.rules[r];
                    (
                        rule.account.as_str(),
                        rule.label.as_str(),
                        LineKind::Mapped,
                        Some(r),
                    )
                }
                None => {
                    let c = self.matcher.combo(combo);
                    let u = unmapped
                        .entry((
                            c.transaction_type.clone(),
                            c.amount_type.clone(),
                            c.amount_description.clone(),
                        ))
                        .or_default();
                    u.0 = u.0.checked_add(cell.sum).ok_or_else(|| {
                        overflow(
                            Some(cell.first_line),
                            format!(
                                "the sum of the unmapped rows of {} / {} / {}",
                                c.transaction_type, c.amount_type, c.amount_description
                            ),
                        )
                    })?;
                    u.1 += cell.rows;
                    match &mapping.suspense {
                        Some(s) => (s.as_str(), SUSPENSE_LABEL, LineKind::Suspense, None),
                        None => continue,
                    }
                }
            };
            let g = groups
                .entry((target, account.to_string(), label.to_string(), original))
                .or_default();
            g.sum = g.sum.checked_add(cell.sum).ok_or_else(|| {
                overflow(
                    Some(cell.first_line),
                    format!("the sum of the rows on account {account} ({label})"),
                )
            })?;
            g.rows += cell.rows;
            g.kind = Some(g.kind.map_or(kind, |k| k.min(kind)));
            if let Some(r) = rule {
                g.rules.insert(r);
                g.ap |= mapping.rules[r].ap;
            }
        }

        let difference = summary
            .total_amount
            .checked_sub(rows_total)
            .ok_or_else(|| {
                overflow(
                    None,
                    format!(
                        "the settlement total {} minus the rows' sum {rows_total}",
                        summary.total_amount
                    ),
                )
            })?;
        // A summary row alone explains nothing: no rows to post, and a total
        // that cannot be checked (nor sent to the difference account).
        let no_rows = self.rows == 0;
        let consistent = difference.is_zero() && !no_rows;
        let mut blockers = Vec::new();
        if no_rows {
            blockers.push(format!(
                "inconsistent: the file has no body rows, only its summary row (total {}); \
                 download it again, or ask Amazon why the settlement lists no transactions",
                summary.total_amount
            ));
            // one empty journal where the settlement ends, so the settlement
            // still shows (as inconsistent) wherever its journals are listed
            if let Some(end) = e.end_period.and_then(|p| e.index.target(p)) {
                rows_per_target.entry(end).or_default();
            }
        } else if !consistent {
            match &mapping.difference {
                // The difference is posted like a row of that amount: positive
                // (Amazon paid more than the rows explain) is a credit to the
                // difference account, negative a debit; either way the clearing
                // lines then sum to the settlement total.
                Some(account) => {
                    let end = e
                        .end_period_or_err("settlement end (difference line)")
                        .and_then(|p| e.target_of(p, || "the settlement end".into()))
                        .map_err(settlement_err)?;
                    rows_per_target.entry(end).or_default();
                    let g = groups
                        .entry((end, account.clone(), DIFFERENCE_LABEL.to_string(), None))
                        .or_default();
                    g.sum = g.sum.checked_add(difference).ok_or_else(|| {
                        overflow(
                            None,
                            format!("the difference {difference} added to account {account}"),
                        )
                    })?;
                    g.kind = Some(LineKind::Difference);
                }
                None => blockers.push(format!(
                    "inconsistent: the rows sum to {} but the settlement total is {} (difference {}); \
                     set accounts.difference in the mapping to post the difference",
                    rows_total, summary.total_amount, difference
                )),
            }
        }
        if !unmapped.is_empty() && mapping.suspense.is_none() {
            let rows: u64 = unmapped.values().map(|u| u.1).sum();
            blockers.push(format!(
                "unmapped: {rows} row(s) in {} combination(s) match no mapping rule and no suspense \
                 account is set; add rules or set accounts.suspense",
                unmapped.len()
            ));
        }

        let mut journals = Vec::new();
        for (&target, &journal_rows) in &rows_per_target {
            let period = e.index.period(target);
            let accounting_date = if period.start <= e.end_day && e.end_day <= period.end {
                e.end_day
            } else {
                period.end
            };
            let mut lines = Vec::new();
            let mut zero_net = Vec::new();
            let mut net = Decimal::ZERO;
            for ((_, account, label, original), g) in groups
                .range((target, String::new(), String::new(), None)..)
                .take_while(|(k, _)| k.0 == target)
            {
                let original_period = original.map(|p| e.index.period(p).name.clone());
                let rules: Vec<usize> = g.rules.iter().copied().collect();
                net = net
                    .checked_add(g.sum)
                    .ok_or_else(|| overflow(None, format!("the net of journal {}", period.name)))?;
                if g.sum.is_zero() {
                    zero_net.push(ZeroNetGroup {
                        account: account.clone(),
                        label: label.clone(),
                        rows: g.rows,
                        original_period,
                        rules,
                    });
                    continue;
                }
                let (debit, credit) = if g.sum.is_sign_negative() {
                    (-g.sum, Decimal::ZERO)
                } else {
                    (Decimal::ZERO, g.sum)
                };
                lines.push(JournalLine {
                    account: account.clone(),
                    label: label.clone(),
                    debit,
                    credit,
                    rows: g.rows,
                    original_period,
                    kind: g.kind.unwrap_or(LineKind::Mapped),
                    rules,
                    ap: g.ap,
                });
            }
            if !net.is_zero() {
                let (debit, credit) = if net.is_sign_positive() {
                    (net, Decimal::ZERO)
                } else {
                    (Decimal::ZERO, -net)
                };
                lines.push(JournalLine {
                    account: mapping.clearing.clone(),
                    label: CLEARING_LABEL.to_string(),
                    debit,
                    credit,
                    rows: journal_rows,
                    original_period: None,
                    kind: LineKind::Clearing,
                    rules: Vec::new(),
                    ap: false,
                });
            }
            let total = |side: fn(&JournalLine) -> Decimal, name: &str| {
                lines
                    .iter()
                    .try_fold(Decimal::ZERO, |sum, l| sum.checked_add(side(l)))
                    .ok_or_else(|| overflow(None, format!("the {name} of journal {}", period.name)))
            };
            let total_debit = total(|l| l.debit, "debits")?;
            let total_credit = total(|l| l.credit, "credits")?;
            journals.push(Journal {
                period: period.name.clone(),
                accounting_date,
                lines,
                zero_net,
                total_debit,
                total_credit,
            });
        }

        // what `Proposal::clearing_total` adds up, in its order
        journals
            .iter()
            .try_fold(Decimal::ZERO, |sum, j| sum.checked_add(j.clearing_net()))
            .ok_or_else(|| overflow(None, "the clearing lines of all journals".into()))?;

        let unmapped = unmapped
            .into_iter()
            .map(
                |((transaction_type, amount_type, amount_description), (amount, rows))| {
                    UnmappedGroup {
                        transaction_type,
                        amount_type,
                        amount_description,
                        amount,
                        rows,
                    }
                },
            )
            .collect();
        Ok(Proposal {
            settlement_id: summary.settlement_id.clone(),
            currency: summary.currency.clone(),
            total_amount: summary.total_amount,
            mapping_hash: mapping.content_hash().to_string(),
            journals,
            unmapped,
            rows: self.rows,
            rows_total,
            difference,
            consistent,
            postable: blockers.is_empty(),
            blockers,
        })
    }
}

/// Why a file could not be proposed: a bad row or a period problem.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProposeError {
    #[error(transparent)]
    Parse(#[from] ParseError),
    #[error(transparent)]
    Journal(#[from] JournalError),
}

/// Streams a parsed file's rows through the engine on `parts` threads (line-aligned
/// chunks, one accumulator each, merged in file order). Rows are never collected.
/// On bad rows, the error of the earliest chunk is returned.
pub fn propose_file(
    file: &SettlementFile<'_>,
    engine: &Engine<'_>,
    parts: usize,
) -> Result<Proposal, ProposeError> {
    fn run<'e>(
        engine: &'e Engine<'e>,
        mut rows: Rows<'_>,
    ) -> Result<Accumulator<'e>, ProposeError> {
        let mut acc = engine.accumulator();
        acc.add_rows(&mut rows)?;
        Ok(acc)
    }
    let mut chunks = file.split_rows(parts.max(1));
    if chunks.len() == 1 {
        let rows = chunks.pop().expect("one chunk");
        return Ok(run(engine, rows)?.finish()?);
    }
    let results: Vec<Result<Accumulator<'_>, ProposeError>> = std::thread::scope(|s| {
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|rows| s.spawn(move || run(engine, rows)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    let mut merged: Option<Accumulator<'_>> = None;
    for r in results {
        let acc = r?;
        match merged.as_mut() {
            Some(m) => m.merge(acc),
            None => merged = Some(acc),
        }
    }
    let acc = merged.unwrap_or_else(|| engine.accumulator());
    Ok(acc.finish()?)
}

#[cfg(test)]
mod tests;
