//! View models: what the screens show, fed by messages from the sync layer.
//!
//! They are deliberately independent of the store and the clients so the UI can
//! be built, tested and benchmarked alone; the sync layer translates its records
//! into these. Everything expensive (grouping a million rows) happens once in a
//! constructor, never per frame.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use std::collections::{BTreeMap, HashMap};

use crate::ledger::journal::Proposal;
use crate::ledger::mapping::Mapping;

pub use super::mapping_draft::{MappingDraft, MappingRuleView, rule_changes};
use crate::ledger::model::SettlementRow;
use crate::ledger::money::{Currency, format_amount};
use crate::ledger::periods::PeriodIndex;

pub use super::order::OrderView;
use crate::ledger::state::BatchState;

/// One journal batch: a settlement × an accounting period.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BatchKey {
    pub settlement_id: String,
    pub period: String,
}

impl BatchKey {
    pub fn new(settlement_id: impl Into<String>, period: impl Into<String>) -> BatchKey {
        BatchKey {
            settlement_id: settlement_id.into(),
            period: period.into(),
        }
    }
}

impl std::fmt::Display for BatchKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.settlement_id, self.period)
    }
}

/// A row of the settlements list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettlementSummaryView {
    pub settlement_id: String,
    pub seller: String,
    pub marketplace: String,
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub deposit_date: Option<NaiveDate>,
    pub total: Decimal,
    pub currency: Currency,
    /// The worst state of its batches.
    pub status: BatchState,
    /// The previous settlement of this seller and marketplace ends before this one starts.
    pub gap_before: bool,
    pub batches: u32,
    pub rows: u64,
    /// Balance carried in from earlier settlements ("Previous Reserve Amount
    /// Balance", "Payable to Amazon" rows).
    pub carried: Decimal,
    /// Reserve Amazon holds back from this settlement ("Current Reserve Amount").
    pub reserve: Decimal,
}

impl SettlementSummaryView {
    /// What reached the bank: the total when positive, else nothing.
    pub fn deposited(&self) -> Decimal {
        self.total.max(Decimal::ZERO)
    }

    /// The carried balance and the reserve of a settlement, summed from its rows
    /// given as (transaction type, amount description, amount).
    pub fn balances<'a>(
        rows: impl IntoIterator<Item = (&'a str, &'a str, Decimal)>,
    ) -> (Decimal, Decimal) {
        use crate::ledger::model::{BalanceRow, balance_row};
        let (mut carried, mut reserve) = (Decimal::ZERO, Decimal::ZERO);
        for (tt, desc, amount) in rows {
            match balance_row(tt, desc) {
                // A display figure: saturate rather than panic on absurd amounts.
                Some(BalanceRow::Carried) => carried = carried.saturating_add(amount),
                Some(BalanceRow::Reserve) => reserve = reserve.saturating_add(amount),
                None => {}
            }
        }
        (carried, reserve)
    }

    /// Sets `gap_before` on every settlement whose chain (seller, marketplace)
    /// has a hole of more than a day before it. Amazon settlements of one
    /// marketplace follow each other without gaps.
    pub fn mark_gaps(list: &mut [SettlementSummaryView]) {
        let mut chains: HashMap<(&str, &str), Vec<usize>> = HashMap::new();
        for (i, s) in list.iter().enumerate() {
            chains
                .entry((s.seller.as_str(), s.marketplace.as_str()))
                .or_default()
                .push(i);
        }
        let mut gaps = vec![false; list.len()];
        for idx in chains.values_mut() {
            idx.sort_by_key(|&i| list[i].start);
            for w in idx.windows(2) {
                let (prev, next) = (&list[w[0]], &list[w[1]]);
                gaps[w[1]] = (next.start - prev.end).num_days() > 1;
            }
        }
        for (s, gap) in list.iter_mut().zip(gaps) {
            s.gap_before = gap;
        }
    }

    /// Lower-cased text the `/` search looks in.
    pub fn matches(&self, needle_lower: &str) -> bool {
        if needle_lower.is_empty() {
            return true;
        }
        [
            self.settlement_id.as_str(),
            self.seller.as_str(),
            self.marketplace.as_str(),
            self.status.as_str(),
            self.currency.code(),
        ]
        .iter()
        .any(|f| f.to_lowercase().contains(needle_lower))
    }
}

/// Where a settlement's journals go in EBS.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PostTarget {
    pub ledger: String,
    pub operating_unit: String,
    /// The ledger's currency as EBS holds it, once read.
    pub ledger_currency: Option<Currency>,
}

/// One EBS interface line error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineErrorView {
    /// The connector's stable key of the journal line (its GL_INTERFACE reference).
    pub line_key: String,
    pub account: String,
    /// The EBS status code (`EF04`, `EP01`, …).
    pub ebs_code: String,
    pub message: String,
    /// Settlement id, order ids, … behind the line.
    pub amazon_ids: Vec<String>,
}

/// EBS's code for lines not imported because another line of the group failed.
pub const NOT_IMPORTED_CODE: &str = "P";

impl LineErrorView {
    /// The EBS code in words, the code kept in brackets for the manual.
    pub fn code_in_words(&self) -> String {
        let words = match self.ebs_code.as_str() {
            "EF01" => match first_date(&self.message) {
                Some(d) => format!("account end-dated {d}"),
                None => "account end-dated or not yet active".into(),
            },
            "EF02" => "no detail posting to this account".into(),
            "EF03" => "account disabled".into(),
            "EF04" => "account not found".into(),
            "EF05" => "no account with this id".into(),
            "EP01" => "date not in an open period".into(),
            "EP02" => "no open period in the ledger".into(),
            "EC08" => "unknown currency".into(),
            "EC06" => "no conversion rate".into(),
            "EU02" => "journal unbalanced".into(),
            "EM03" => "ledger not found".into(),
            NOT_IMPORTED_CODE => return "not imported: another line was rejected".into(),
            "" | "-" => return "rejected".into(),
            other => return other.to_string(),
        };
        format!("{words} ({})", self.ebs_code)
    }

    /// The Amazon order ids behind the line (the settlement id left out).
    pub fn order_ids(&self, settlement_id: &str) -> Vec<&str> {
        self.amazon_ids
            .iter()
            .map(String::as_str)
            .filter(|id| *id != settlement_id)
            .collect()
    }
}

/// The first `YYYY-MM-DD` in a text.
fn first_date(text: &str) -> Option<&str> {
    let b = text.as_bytes();
    (0..b.len().saturating_sub(9)).find_map(|i| {
        let s = text.get(i..i + 10)?;
        NaiveDate::parse_from_str(s, "%Y-%m-%d").ok().map(|_| s)
    })
}

/// A row of the EBS errors pane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorRow<'a> {
    /// A line EBS rejected.
    Rejected(&'a LineErrorView),
    /// Lines not imported only because another line was rejected, as one row.
    NotImported(Vec<&'a LineErrorView>),
}

/// One journal batch as EBS and the connector see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchView {
    pub key: BatchKey,
    pub state: BatchState,
    pub revision: u32,
    pub ledger: String,
    pub operating_unit: String,
    pub currency: Currency,
    /// GL_INTERFACE GROUP_ID once staged.
    pub group_id: Option<String>,
    /// Journal Import concurrent request id once submitted.
    pub request_id: Option<String>,
    /// Concurrent request phase and status as EBS reports them.
    pub phase: Option<String>,
    pub status: Option<String>,
    pub line_count: u32,
    pub total_debit: Decimal,
    pub total_credit: Decimal,
    /// Hash of the proposal an approval applies to.
    pub proposal_hash: Option<String>,
    pub approved_by: Option<String>,
    /// Why the batch waits (needs mapping, inconsistent, …).
    pub reason: Option<String>,
    pub line_errors: Vec<LineErrorView>,
    pub updated_at: Option<DateTime<Utc>>,
}

impl BatchView {
    /// The errors pane's rows: the lines EBS rejected first, then the lines
    /// it did not import because of them, collapsed into one.
    pub fn error_rows(&self) -> Vec<ErrorRow<'_>> {
        let (waiting, rejected): (Vec<_>, Vec<_>) = self
            .line_errors
            .iter()
            .partition(|e| e.ebs_code == NOT_IMPORTED_CODE);
        let mut rows: Vec<ErrorRow<'_>> = rejected.into_iter().map(ErrorRow::Rejected).collect();
        if !waiting.is_empty() {
            rows.push(ErrorRow::NotImported(waiting));
        }
        rows
    }

    pub fn matches(&self, needle_lower: &str) -> bool {
        needle_lower.is_empty()
            || [
                self.key.settlement_id.as_str(),
                self.key.period.as_str(),
                self.state.as_str(),
                self.group_id.as_deref().unwrap_or(""),
                self.request_id.as_deref().unwrap_or(""),
            ]
            .iter()
            .any(|f| f.to_lowercase().contains(needle_lower))
    }
}

/// Rows sharing (transaction type, amount type, description).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowGroup {
    pub transaction_type: String,
    pub amount_type: String,
    pub amount_description: String,
    pub total: Decimal,
    pub rows: u64,
    /// Start of this group's rows in [`SettlementDetail::row_order`].
    pub first: usize,
    /// No mapping rule matched these rows.
    pub unmapped: bool,
}

/// Which of `journals` a row lands in: its posted date's period in `index`
/// (rows without one: the period of `end`), moved on past a closed period, as
/// the engine does. When the calendar's names are not the journals' (stored
/// journals named after EBS periods, a month calendar here), by date: the
/// first journal dated on or after the row's day, else the last.
pub fn journal_of_row<'a>(
    journals: &'a [crate::ledger::journal::Journal],
    index: &'a PeriodIndex,
    end: DateTime<Utc>,
) -> impl Fn(&SettlementRow) -> Option<usize> + 'a {
    let names: HashMap<&str, usize> = journals
        .iter()
        .enumerate()
        .map(|(i, j)| (j.period.as_str(), i))
        .collect();
    let end_period = index.of_instant(end);
    let end_day = crate::ledger::periods::local_day(index.tz(), end);
    move |r: &SettlementRow| {
        let named = index
            .of_posted(r.posted, end_period)
            .and_then(|p| index.target(p))
            .and_then(|t| names.get(index.period(t).name.as_str()).copied());
        named.or_else(|| {
            let day = r.posted.map_or(end_day, |p| index.day_of(p));
            journals
                .iter()
                .position(|j| j.accounting_date >= day)
                .or_else(|| journals.len().checked_sub(1))
        })
    }
}

/// The rows of one group that land in one journal (period).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeriodGroup {
    /// Index into [`SettlementDetail::groups`].
    pub group: usize,
    /// Start of these rows in [`SettlementDetail::row_order`].
    pub first: usize,
    pub rows: u64,
    pub total: Decimal,
}

/// The AR flow's lines (shown when that flow is on).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArLineView {
    pub period: String,
    pub customer: String,
    pub description: String,
    pub amount: Decimal,
}

/// The settlement's link to its financial event group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventGroupLink {
    pub group_id: String,
    pub total: Decimal,
}

/// Checks made against EBS (accounts, periods) by the sync layer.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExternalChecks {
    /// `None` until EBS was asked.
    pub invalid_accounts: Option<Vec<String>>,
    /// `None` until EBS was asked; otherwise the problems (closed periods, …).
    pub period_problems: Option<Vec<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerdictLevel {
    Ok,
    Warn,
    Fail,
    /// Not known yet (EBS not asked, no event group yet).
    Pending,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub label: &'static str,
    pub level: VerdictLevel,
    pub detail: String,
}

/// Everything the review screen needs for one settlement, precomputed once.
#[derive(Debug, Clone, PartialEq)]
pub struct SettlementDetail {
    pub summary: SettlementSummaryView,
    pub target: PostTarget,
    pub rows: Vec<SettlementRow>,
    /// Row indexes ordered by group, then file line: a group's rows are the
    /// window `row_order[g.first .. g.first + g.rows]`.
    pub row_order: Vec<u32>,
    pub groups: Vec<RowGroup>,
    pub proposal: Proposal,
    /// One per journal period, in period order.
    pub batches: Vec<BatchView>,
    pub ar_lines: Option<Vec<ArLineView>>,
    pub event_group: Option<EventGroupLink>,
    pub checks: ExternalChecks,
    pub verdicts: Vec<Verdict>,
    /// Per journal (index into `proposal.journals`), its groups; empty until
    /// [`SettlementDetail::assign_periods`] ran (then the review shows the rows
    /// of the selected period only).
    pub period_groups: Vec<Vec<PeriodGroup>>,
    /// Per group, the mapping rule its rows follow (empty: not known, then a
    /// journal line cannot be followed to its rows).
    pub group_rules: Vec<Option<usize>>,
    /// Per journal (index into `proposal.journals`), per line, the accounted debit and
    /// credit in the ledger currency; empty when the ledger currency is the settlement's.
    pub accounted: Vec<Vec<Option<(Decimal, Decimal)>>>,
}

fn amount(a: Decimal, c: &Currency) -> String {
    format_amount(a, c.scale())
}

impl SettlementDetail {
    /// Groups the rows (one pass plus a counting sort) and computes the verdicts.
    pub fn new(
        summary: SettlementSummaryView,
        target: PostTarget,
        rows: Vec<SettlementRow>,
        proposal: Proposal,
        batches: Vec<BatchView>,
        event_group: Option<EventGroupLink>,
        checks: ExternalChecks,
    ) -> SettlementDetail {
        let mut ids: HashMap<(&str, &str, &str), u32> = HashMap::new();
        let mut keys: Vec<(&str, &str, &str)> = Vec::new();
        let mut sums: Vec<(Decimal, u64)> = Vec::new();
        let mut group_of = Vec::with_capacity(rows.len());
        for r in &rows {
            let key = (
                r.transaction_type.as_str(),
                r.amount_type.as_str(),
                r.amount_description.as_str(),
            );
            let id = *ids.entry(key).or_insert_with(|| {
                keys.push(key);
                sums.push((Decimal::ZERO, 0));
                (keys.len() - 1) as u32
            });
            let s = &mut sums[id as usize];
            s.0 += r.amount;
            s.1 += 1;
            group_of.push(id);
        }
        // display order: by names
        let mut order: Vec<u32> = (0..keys.len() as u32).collect();
        order.sort_by(|a, b| keys[*a as usize].cmp(&keys[*b as usize]));
        let mut rank = vec![0u32; keys.len()];
        for (pos, id) in order.iter().enumerate() {
            rank[*id as usize] = pos as u32;
        }
        let mut groups = Vec::with_capacity(keys.len());
        let mut first = 0usize;
        let mut starts = vec![0usize; keys.len()];
        for id in &order {
            let (tt, at, desc) = keys[*id as usize];
            let (total, n) = sums[*id as usize];
            starts[rank[*id as usize] as usize] = first;
            let unmapped = proposal.unmapped.iter().any(|u| {
                u.transaction_type == tt && u.amount_type == at && u.amount_description == desc
            });
            groups.push(RowGroup {
                transaction_type: tt.to_string(),
                amount_type: at.to_string(),
                amount_description: desc.to_string(),
                total,
                rows: n,
                first,
                unmapped,
            });
            first += n as usize;
        }
        let mut next = starts;
        let mut row_order = vec![0u32; rows.len()];
        for (i, id) in group_of.iter().enumerate() {
            let g = rank[*id as usize] as usize;
            row_order[next[g]] = i as u32;
            next[g] += 1;
        }
        drop(ids);
        drop(keys);
        let mut detail = SettlementDetail {
            summary,
            target,
            rows,
            row_order,
            groups,
            proposal,
            batches,
            ar_lines: None,
            event_group,
            checks,
            verdicts: Vec::new(),
            period_groups: Vec::new(),
            group_rules: Vec::new(),
            accounted: Vec::new(),
        };
        detail.verdicts = detail.compute_verdicts();
        detail
    }

    /// Assigns every row to the journal it lands in, as the engine does: its
    /// posted date's period in `index` (rows without one: the period of
    /// `end`), moved on to the open period after a closed one. Orders each
    /// group's rows by journal so a group's rows of one period are a window.
    pub fn assign_periods(&mut self, index: &PeriodIndex, end: DateTime<Utc>) {
        let of = journal_of_row(&self.proposal.journals, index, end);
        let journal_of: Vec<u16> = self
            .rows
            .iter()
            .map(|r| of(r).map_or(u16::MAX, |j| j as u16))
            .collect();
        let n = self.proposal.journals.len();
        let mut per: Vec<Vec<PeriodGroup>> = vec![Vec::new(); n];
        for (g, group) in self.groups.iter().enumerate() {
            let window = &mut self.row_order[group.first..group.first + group.rows as usize];
            window.sort_by_key(|i| (journal_of[*i as usize], *i));
            let mut k = 0;
            while k < window.len() {
                let j = journal_of[window[k] as usize];
                let start = k;
                let mut total = Decimal::ZERO;
                while k < window.len() && journal_of[window[k] as usize] == j {
                    total += self.rows[window[k] as usize].amount;
                    k += 1;
                }
                if let Some(list) = per.get_mut(j as usize) {
                    list.push(PeriodGroup {
                        group: g,
                        first: group.first + start,
                        rows: (k - start) as u64,
                        total,
                    });
                }
            }
        }
        self.period_groups = per;
    }

    /// Notes the rule of every group under `mapping` (the proposal's), rows
    /// without a marketplace standing for `marketplace`, as the engine does.
    pub fn set_group_rules(&mut self, mapping: &Mapping, marketplace: &str) {
        self.group_rules = (0..self.groups.len())
            .map(|g| {
                let group = &self.groups[g];
                let first = self.group_rows(g).first().map(|i| &self.rows[*i as usize]);
                let market = first
                    .map(|r| r.marketplace_name.as_str())
                    .filter(|m| !m.is_empty())
                    .unwrap_or(marketplace);
                mapping.best_rule(
                    &group.transaction_type,
                    &group.amount_type,
                    &group.amount_description,
                    market,
                )
            })
            .collect();
    }

    /// The rows behind line `line` of journal `period`, in file order: the
    /// rows of the period whose rule is one of the line's (suspense: the
    /// unmapped ones; clearing: all). `None` when rules or periods are unknown.
    pub fn line_rows(&self, period: usize, line: usize) -> Option<Vec<u32>> {
        use crate::ledger::journal::LineKind;
        if self.group_rules.is_empty() || self.period_groups.is_empty() {
            return None;
        }
        let l = self.proposal.journals.get(period)?.lines.get(line)?;
        let behind = |g: usize| match l.kind {
            LineKind::Clearing => true,
            LineKind::Suspense => self.groups[g].unmapped,
            _ => self.group_rules[g].is_some_and(|r| l.rules.contains(&r)),
        };
        let mut rows: Vec<u32> = self
            .shown_groups(period)
            .iter()
            .filter(|pg| behind(pg.group))
            .flat_map(|pg| self.period_group_rows(pg).iter().copied())
            .collect();
        rows.sort_by_key(|i| self.rows[*i as usize].line);
        Some(rows)
    }

    /// The groups the review lists for journal `period`: its own when rows
    /// were assigned to periods, else every group over the whole settlement.
    pub fn shown_groups(&self, period: usize) -> Vec<PeriodGroup> {
        match self.period_groups.get(period) {
            Some(list) if !self.period_groups.is_empty() => list.clone(),
            _ => self
                .groups
                .iter()
                .enumerate()
                .map(|(g, x)| PeriodGroup {
                    group: g,
                    first: x.first,
                    rows: x.rows,
                    total: x.total,
                })
                .collect(),
        }
    }

    /// The rows of one shown group (indexes into `rows`).
    pub fn period_group_rows(&self, pg: &PeriodGroup) -> &[u32] {
        &self.row_order[pg.first..pg.first + pg.rows as usize]
    }

    /// The rows of group `g` (indexes into `rows`).
    pub fn group_rows(&self, g: usize) -> &[u32] {
        match self.groups.get(g) {
            Some(group) => &self.row_order[group.first..group.first + group.rows as usize],
            None => &[],
        }
    }

    /// Every row of one order, in file order (one scan, on demand).
    pub fn order_rows(&self, order_id: &str) -> Vec<u32> {
        if order_id.is_empty() {
            return Vec::new();
        }
        self.rows
            .iter()
            .enumerate()
            .filter(|(_, r)| r.order_id == order_id)
            .map(|(i, _)| i as u32)
            .collect()
    }

    pub fn batch(&self, period: &str) -> Option<&BatchView> {
        self.batches.iter().find(|b| b.key.period == period)
    }

    /// Recomputes the verdicts (after checks or the event group changed).
    pub fn compute_verdicts(&self) -> Vec<Verdict> {
        let c = &self.summary.currency;
        let p = &self.proposal;
        let mut v = Vec::with_capacity(5);
        v.push(if p.consistent {
            Verdict {
                label: "rows vs total",
                level: VerdictLevel::Ok,
                detail: format!("{} rows sum to {}", p.rows, amount(p.rows_total, c)),
            }
        } else {
            Verdict {
                label: "rows vs total",
                level: VerdictLevel::Fail,
                detail: format!(
                    "rows {} ≠ total {} (difference {})",
                    amount(p.rows_total, c),
                    amount(p.total_amount, c),
                    amount(p.difference, c)
                ),
            }
        });
        let unbalanced: Vec<&str> = p
            .journals
            .iter()
            .filter(|j| !j.is_balanced())
            .map(|j| j.period.as_str())
            .collect();
        v.push(if unbalanced.is_empty() {
            Verdict {
                label: "journal balance",
                level: VerdictLevel::Ok,
                detail: format!(
                    "{} journal(s) balance; clearing {}",
                    p.journals.len(),
                    amount(p.clearing_total(), c)
                ),
            }
        } else {
            Verdict {
                label: "journal balance",
                level: VerdictLevel::Fail,
                detail: format!("unbalanced: {}", unbalanced.join(", ")),
            }
        });
        v.push(match &self.event_group {
            None => Verdict {
                label: "event group",
                level: VerdictLevel::Pending,
                detail: "no financial event group linked yet".into(),
            },
            Some(g) if g.total == p.total_amount => Verdict {
                label: "event group",
                level: VerdictLevel::Ok,
                detail: format!("{} total {}", g.group_id, amount(g.total, c)),
            },
            Some(g) => Verdict {
                label: "event group",
                level: VerdictLevel::Fail,
                detail: format!(
                    "{} total {} ≠ settlement {}",
                    g.group_id,
                    amount(g.total, c),
                    amount(p.total_amount, c)
                ),
            },
        });
        let unmapped_rows: u64 = p.unmapped.iter().map(|u| u.rows).sum();
        v.push(match (&self.checks.invalid_accounts, unmapped_rows) {
            (_, n) if n > 0 => Verdict {
                label: "accounts",
                level: VerdictLevel::Fail,
                detail: format!("{n} unmapped row(s) in {} group(s)", p.unmapped.len()),
            },
            (None, _) => Verdict {
                label: "accounts",
                level: VerdictLevel::Pending,
                detail: "all rows mapped; not yet checked against EBS".into(),
            },
            (Some(bad), _) if bad.is_empty() => Verdict {
                label: "accounts",
                level: VerdictLevel::Ok,
                detail: "all rows mapped; accounts valid in EBS".into(),
            },
            (Some(bad), _) => Verdict {
                label: "accounts",
                level: VerdictLevel::Fail,
                detail: format!("invalid in EBS: {}", bad.join(", ")),
            },
        });
        v.push(match &self.checks.period_problems {
            None => Verdict {
                label: "periods",
                level: VerdictLevel::Pending,
                detail: "not yet checked against EBS".into(),
            },
            Some(problems) if problems.is_empty() => Verdict {
                label: "periods",
                level: VerdictLevel::Ok,
                detail: format!(
                    "{} open",
                    p.journals
                        .iter()
                        .map(|j| j.period.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            },
            Some(problems) => Verdict {
                label: "periods",
                level: VerdictLevel::Fail,
                detail: problems.join("; "),
            },
        });
        v
    }
}

/// What EBS says about an account typed in the mapping editor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountCheck {
    Valid {
        description: String,
    },
    Invalid {
        reason: String,
    },
    /// EBS could not be asked (offline, rate limited …).
    Unknown {
        reason: String,
    },
}

/// How one journal line's net (credit minus debit) changes under a new mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProposalChange {
    pub settlement_id: String,
    pub period: String,
    pub account: String,
    pub label: String,
    pub currency: Currency,
    pub before: Decimal,
    pub after: Decimal,
}

impl ProposalChange {
    pub fn delta(&self) -> Decimal {
        self.after - self.before
    }
}

/// The lines whose net differs between two proposals of one settlement
/// (lines present in only one count as zero in the other).
pub fn diff_proposals(before: &Proposal, after: &Proposal) -> Vec<ProposalChange> {
    type Key = (String, String, String);
    fn nets(p: &Proposal) -> BTreeMap<Key, Decimal> {
        let mut m = BTreeMap::new();
        for j in &p.journals {
            for l in &j.lines {
                *m.entry((j.period.clone(), l.account.clone(), l.label.clone()))
                    .or_insert(Decimal::ZERO) += l.credit - l.debit;
            }
        }
        m
    }
    let (b, a) = (nets(before), nets(after));
    let mut keys: Vec<&Key> = b.keys().chain(a.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter_map(|k| {
            let x = b.get(k).copied().unwrap_or_default();
            let y = a.get(k).copied().unwrap_or_default();
            (x != y).then(|| ProposalChange {
                settlement_id: after.settlement_id.clone(),
                period: k.0.clone(),
                account: k.1.clone(),
                label: k.2.clone(),
                currency: after.currency.clone(),
                before: x,
                after: y,
            })
        })
        .collect()
}

/// One entry of a settlement's audit trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntryView {
    /// The settlement the entry is about (none: mapping changes and the like).
    pub settlement_id: Option<String>,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub period: Option<String>,
    pub detail: String,
    /// A mapping change: its rule differences from the version before (`+`, `-`, `~`).
    pub changes: Vec<String>,
}

/// What a reversal will send (answer to `Effect::PlanReversal`), shown for confirmation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReversalPlanView {
    pub key: BatchKey,
    /// The batch's state now (imported or posted).
    pub state: BatchState,
    pub original_revision: u32,
    /// The EBS journals being reversed.
    pub original_journal_ids: Vec<String>,
    /// The reversing journal's name, its period and accounting date.
    pub journal_name: String,
    pub period: String,
    pub accounting_date: NaiveDate,
    pub reversal_revision: u32,
    /// The revision the corrected batch will be posted as.
    pub next_revision: u32,
    pub line_count: u32,
    pub currency: Currency,
    pub total_debit: Decimal,
    pub total_credit: Decimal,
}

/// Why someone may not approve a batch (answer to `Effect::MayApprove`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalRefusal {
    /// Who last changed the mapping version (maker-checker), when that is the reason.
    pub maker: Option<String>,
    /// That mapping's version, when known.
    pub mapping_version: Option<u32>,
    /// The full reason as the engine gives it.
    pub why: String,
}

impl ApprovalRefusal {
    /// One line for a pane title or a dialog.
    pub fn summary(&self) -> String {
        match (&self.maker, self.mapping_version) {
            (Some(m), Some(v)) => {
                format!("{m} changed the mapping (version {v}); someone else must approve")
            }
            (Some(m), None) => format!("{m} changed the mapping; someone else must approve"),
            _ => self.why.clone(),
        }
    }
}

/// A batch's own history from the audit trail (shown for a vanished batch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchHistoryView {
    pub key: BatchKey,
    /// When EBS imported the revision that vanished.
    pub imported_at: Option<DateTime<Utc>>,
    pub journal_ids: Vec<String>,
    /// When the connector found the journal(s) missing in EBS.
    pub missing_since: Option<DateTime<Utc>>,
    /// The batch's audit entries, oldest first.
    pub entries: Vec<AuditEntryView>,
    /// Each revision sent to EBS (original, reversal, correction), oldest first.
    pub revisions: Vec<RevisionView>,
}

/// One revision of a batch as staged for EBS, from the audit trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevisionView {
    pub revision: u32,
    /// `imported`, `staged`, or `reversal of rN`.
    pub what: String,
    pub journal_ids: Vec<String>,
    pub journal_name: String,
    pub debit: Decimal,
    pub credit: Decimal,
    pub currency: String,
}

/// What the sync layer is doing right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncProgressView {
    pub what: String,
    pub done: u64,
    pub total: Option<u64>,
    /// The rate limit being waited on (an SP-API operation name).
    pub waiting_on_rate_limit: Option<String>,
}

#[cfg(test)]
#[path = "view_tests.rs"]
mod tests;
