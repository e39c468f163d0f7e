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
use super::model::{RowRef, SettlementSummary};
use super::money::Currency;
use super::parse::{ParseError, SettlementFile};
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
    pub fn clearing_net(&self) -> Decimal {
        self.lines
            .iter()
            .filter(|l| l.kind == LineKind::Clearing)
            .map(|l| l.debit - l.credit)
            .sum()
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
    /// Sum of the clearing lines over all journals.
    pub fn clearing_total(&self) -> Decimal {
        self.journals.iter().map(Journal::clearing_net).sum()
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
}

impl Cell {
    #[inline]
    fn add(&mut self, amount: Decimal, rows: u64) {
        self.sum += amount;
        self.rows += rows;
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
}

/// Stands in for the settlement's marketplace until it is known (deferred
/// engines): a cell never holds a tab, so no row's marketplace is this.
const PENDING_MARKETPLACE: &str = "\t";

impl<'e> Accumulator<'e> {
    /// Adds one body row. Fails (naming the line) when its date lies outside the
    /// calendar or in a closed period with no open period after it.
    pub fn add(&mut self, row: &RowRef<'_>) -> Result<(), JournalError> {
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
        let period = match row.posted {
            Some(p) => e
                .index
                .of_posted(Some(p), None)
                .ok_or_else(|| row_err(e.index.outside("posted date".into(), e.index.day_of(p))))?,
            None => e
                .end_period_or_err("settlement end (row without posted date)")
                .map_err(row_err)?,
        };
        e.target_of(period, || "the row".into()).map_err(row_err)?;
        self.cell(period as u32, combo).add(row.amount, 1);
        self.rows += 1;
        Ok(())
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
            && m.0 == name
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
                self.cell(period, real).add(cell.sum, cell.rows);
            }
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
                self.cell(period, ids[combo]).add(cell.sum, cell.rows);
            }
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
        let mapping = e.mapping;
        let summary = &e.summary;
        let settlement_err = |source| JournalError::Settlement {
            settlement_id: summary.settlement_id.clone(),
            source,
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
            rows_total += cell.sum;
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
                    u.0 += cell.sum;
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
            g.sum += cell.sum;
            g.rows += cell.rows;
            g.kind = Some(g.kind.map_or(kind, |k| k.min(kind)));
            if let Some(r) = rule {
                g.rules.insert(r);
                g.ap |= mapping.rules[r].ap;
            }
        }

        let difference = summary.total_amount - rows_total;
        let consistent = difference.is_zero();
        let mut blockers = Vec::new();
        if !consistent {
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
                    g.sum += difference;
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
                net += g.sum;
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
            let total_debit = lines.iter().map(|l| l.debit).sum();
            let total_credit = lines.iter().map(|l| l.credit).sum();
            journals.push(Journal {
                period: period.name.clone(),
                accounting_date,
                lines,
                zero_net,
                total_debit,
                total_credit,
            });
        }

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
    fn run<'e, 'a>(
        engine: &'e Engine<'e>,
        rows: impl Iterator<Item = Result<RowRef<'a>, ParseError>>,
    ) -> Result<Accumulator<'e>, ProposeError> {
        let mut acc = engine.accumulator();
        for row in rows {
            acc.add(&row?)?;
        }
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
mod tests {
    use super::*;
    use crate::ledger::model::{PostedAt, SettlementFormat};
    use chrono::{TimeZone, Utc};

    fn dec(s: &str) -> Decimal {
        Decimal::from_str_exact(s).unwrap()
    }

    fn summary(total: &str) -> SettlementSummary {
        SettlementSummary {
            settlement_id: "S1".into(),
            format: SettlementFormat::V2,
            start: Utc.with_ymd_and_hms(2025, 9, 24, 8, 0, 0).unwrap(),
            end: Utc.with_ymd_and_hms(2025, 10, 8, 8, 0, 0).unwrap(),
            deposit_date: None,
            total_amount: dec(total),
            currency: Currency::new("USD"),
        }
    }

    fn row<'a>(
        line: u32,
        tt: &'a str,
        at: &'a str,
        desc: &'a str,
        amount: &str,
        posted: Option<PostedAt>,
    ) -> RowRef<'a> {
        RowRef {
            line,
            transaction_type: tt,
            amount_type: at,
            amount_description: desc,
            amount: dec(amount),
            order_id: "",
            merchant_order_id: "",
            adjustment_id: "",
            shipment_id: "",
            marketplace_name: "Amazon.com",
            fulfillment_id: "",
            posted,
            order_item_code: "",
            merchant_order_item_id: "",
            merchant_adjustment_item_id: "",
            sku: "",
            quantity_purchased: None,
            promotion_id: "",
        }
    }

    fn at(y: i32, m: u32, d: u32, h: u32) -> Option<PostedAt> {
        Some(PostedAt::Instant(
            Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap(),
        ))
    }

    #[test]
    fn rows_marketplace_equals_the_dominant_one() {
        let mapping = Mapping::default_mapping();
        let s = summary("0");
        let cal = Engine::preview_calendar(&s, chrono_tz::UTC);
        let posted = at(2025, 9, 30, 12);
        let mk = |line, mp: &'static str, tt, at, desc, amount| {
            let mut r = row(line, tt, at, desc, amount, posted);
            r.marketplace_name = mp;
            r
        };
        // Amazon.fr and Amazon.de tie at two rows: the first seen wins
        let rows = [
            mk(
                3,
                "",
                "other-transaction",
                "other-transaction",
                "Storage Fee",
                "-5.00",
            ),
            mk(4, "Amazon.fr", "Order", "ItemPrice", "Principal", "10.00"),
            mk(5, "Amazon.de", "Order", "ItemPrice", "Principal", "20.00"),
            mk(6, "", "Order", "ItemPrice", "Principal", "1.00"),
            mk(7, "Amazon.de", "Order", "ItemPrice", "Principal", "20.00"),
            mk(8, "Amazon.fr", "Order", "ItemFees", "Commission", "-1.50"),
            mk(9, "", "Mystery", "Thing", "X", "-2.00"),
        ];
        for dominant in [Some("Amazon.fr"), None] {
            let rows: Vec<RowRef<'_>> = match dominant {
                Some(_) => rows.to_vec(),
                None => rows
                    .iter()
                    .map(|r| RowRef {
                        marketplace_name: "",
                        ..*r
                    })
                    .collect(),
            };
            let known = Engine::new(&mapping, cal.clone(), chrono_tz::UTC, &s, dominant);
            let want = known.propose(rows.iter().copied()).unwrap();
            let counted = Engine::with_rows_marketplace(&mapping, cal.clone(), chrono_tz::UTC, &s);
            assert_eq!(counted.propose(rows.iter().copied()).unwrap(), want);
            for cut in 0..rows.len() {
                let mut a = counted.accumulator();
                let mut b = counted.accumulator();
                rows[..cut].iter().for_each(|r| a.add(r).unwrap());
                rows[cut..].iter().for_each(|r| b.add(r).unwrap());
                a.merge(b);
                assert_eq!(a.finish().unwrap(), want, "cut {cut}");
            }
        }
    }

    #[test]
    fn merge_equals_single_pass() {
        let mapping = Mapping::default_mapping();
        let s = summary("70.00");
        let engine = Engine::new(
            &mapping,
            Engine::preview_calendar(&s, chrono_tz::UTC),
            chrono_tz::UTC,
            &s,
            Some("Amazon.com"),
        );
        let rows = [
            row(
                3,
                "Order",
                "ItemPrice",
                "Principal",
                "100.00",
                at(2025, 9, 30, 12),
            ),
            row(
                4,
                "Order",
                "ItemFees",
                "Commission",
                "-15.00",
                at(2025, 9, 30, 12),
            ),
            row(
                5,
                "Order",
                "ItemPrice",
                "Principal",
                "20.00",
                at(2025, 10, 2, 12),
            ),
            row(
                6,
                "order",
                "itemfees",
                "commission",
                "-3.00",
                at(2025, 10, 2, 12),
            ),
            row(7, "Mystery", "Thing", "X", "-32.00", None),
        ];
        let single = engine.propose(rows).unwrap();
        let mut a = engine.accumulator();
        let mut b = engine.accumulator();
        for r in &rows[..2] {
            a.add(r).unwrap();
        }
        for r in &rows[2..] {
            b.add(r).unwrap();
        }
        a.merge(b);
        let merged = a.finish().unwrap();
        assert_eq!(single, merged);
        assert_eq!(single.rows, 5);
        assert_eq!(single.journals.len(), 2);
        assert_eq!(single.clearing_total(), dec("70.00"));
        assert!(single.journals.iter().all(Journal::is_balanced));
    }
}
