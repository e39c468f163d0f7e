//! The passes over the body before rows are read: the locale pre-scan
//! (decimal mark, day order) and the census (body lines, dominant
//! marketplace), each over line-aligned parts, in parallel when large.

use chrono::{DateTime, TimeDelta, Utc};

use super::layout::{self, Cells, Col, Layout, NCOLS, Scanner};
use super::{dates, is_blank, locale, trim};
use crate::ledger::model::{DayOrder, SettlementFormat};
use crate::ledger::money::{Currency, DecimalMark};

/// Bodies larger than this are scanned in two halves on two threads.
const PARALLEL_PRESCAN_BYTES: usize = 8 << 20;

/// Runs `scan` over the body, in two line-aligned halves on two threads when
/// it is large; parts in file order.
fn scan_halves<'a>(
    body: &'a str,
    scan: impl Fn(&'a str) -> PartScan<'a> + Sync,
) -> Vec<PartScan<'a>> {
    if body.len() <= PARALLEL_PRESCAN_BYTES {
        return vec![scan(body)];
    }
    let half = body.len() / 2;
    let cut = memchr::memchr(b'\n', &body.as_bytes()[half..]).map_or(body.len(), |i| half + i + 1);
    let (first, second) = body.split_at(cut);
    std::thread::scope(|scope| {
        let other = scope.spawn(|| scan(second));
        let mine = scan(first);
        match other.join() {
            Ok(theirs) => vec![mine, theirs],
            // scan_part does not panic; if it ever did, scan on this thread
            Err(_) => vec![mine, scan(second)],
        }
    })
}

/// The pre-scan's decisions; `settled`: the body was one part whose scan
/// stopped deciding before its end, so more body lines after it could not
/// change the decisions of a full pass (see [`SettlementFile::locale_final`](super::SettlementFile::locale_final)).
pub(super) struct Prescan {
    pub mark: Option<DecimalMark>,
    pub day_order: Option<DayOrder>,
    pub settled: bool,
}

/// Decides the decimal mark and the day order. Each half stops reading once
/// both are settled for it, so the decisions equal those of a full pass.
pub(super) fn prescan(
    body: [&str; 2],
    layout: &Layout,
    currency: &Currency,
    total_cell: &str,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Prescan {
    let zero_scale = currency.scale() == 0;
    let slack = TimeDelta::days(1);
    let vote = locale::DayOrderVote::new((start - slack).date_naive(), (end + slack).date_naive());
    let total_mark = locale::mark_evidence(total_cell, zero_scale);
    let parts = body.into_iter().flat_map(|b| {
        scan_halves(b, |part| {
            scan_part(part, layout, zero_scale, total_mark, vote.clone(), false)
        })
    });
    let parts: Vec<PartScan<'_>> = parts.collect();
    // one part (the body is not split, there is no tail) that stopped early
    let settled = body[0].len() <= PARALLEL_PRESCAN_BYTES
        && body[1].is_empty()
        && parts.first().is_some_and(|p| p.settled);
    let mut merged_vote = vote;
    let mut mark = total_mark;
    for part in parts {
        mark = mark.or(part.mark);
        merged_vote.merge(&part.vote);
    }
    Prescan {
        mark,
        day_order: merged_vote.decide(currency),
        settled,
    }
}

/// Non-blank body lines and the most frequent non-empty marketplace-name
/// (ties: the first seen).
pub(super) fn census<'a>(body: [&'a str; 2], layout: &Layout) -> (usize, Option<&'a str>) {
    let day = chrono::NaiveDate::MIN;
    let parts = body.into_iter().flat_map(|b| {
        scan_halves(b, |part| {
            scan_part(
                part,
                layout,
                false,
                Some(DecimalMark::Point),
                locale::DayOrderVote::new(day, day),
                true,
            )
        })
    });
    let mut markets: Vec<(&'a str, usize)> = Vec::new();
    let mut body_lines = 0;
    for part in parts {
        body_lines += part.body_lines;
        for (name, n) in part.markets {
            match markets.iter_mut().find(|m| m.0 == name) {
                Some(m) => m.1 += n,
                None => markets.push((name, n)),
            }
        }
    }
    // max_by_key keeps the last maximum; reverse so ties go to the first seen
    let dominant = markets.iter().rev().max_by_key(|m| m.1).map(|m| m.0);
    (body_lines, dominant)
}

/// Rightmost header position of the amount columns the pre-scan reads.
fn amount_cols_pos(layout: &Layout) -> usize {
    let cols: &[Col] = match layout.format {
        SettlementFormat::V2 => &[Col::Amount],
        SettlementFormat::V1 => layout::V1_AMOUNTS,
    };
    cols.iter()
        .filter_map(|&c| layout.position[c as usize])
        .max()
        .unwrap_or(0)
}

/// What one part of the body shows.
struct PartScan<'a> {
    body_lines: usize,
    mark: Option<DecimalMark>,
    vote: locale::DayOrderVote,
    /// Marketplace names with their row counts, in order of first appearance.
    markets: Vec<(&'a str, usize)>,
    /// The pre-scan decided both mark and day order and read no further.
    settled: bool,
}

fn scan_part<'a>(
    body: &'a str,
    layout: &Layout,
    zero_scale: bool,
    mut mark: Option<DecimalMark>,
    mut vote: locale::DayOrderVote,
    census: bool,
) -> PartScan<'a> {
    let amount_cols: &[Col] = match layout.format {
        SettlementFormat::V2 => &[Col::Amount],
        SettlementFormat::V1 => layout::V1_AMOUNTS,
    };
    let amount_cols: Vec<usize> = amount_cols
        .iter()
        .filter(|&&c| layout.has(c))
        .map(|&c| c as usize)
        .collect();
    let pos = |c: Col| layout.position[c as usize].unwrap_or(0);
    let market_col = pos(Col::MarketplaceName);
    let amount_col = amount_cols_pos(layout);
    let date_col = pos(Col::PostedDate).max(pos(Col::PostedDateTime));
    // Amazon writes a file's dates with one formatter: when the first date is
    // unambiguous (ISO), no later one needs a vote.
    let mut vote_live = !census;
    let mut markets: Vec<(&'a str, usize)> = Vec::new();
    let mut last_market: usize = usize::MAX;
    let mut cells: Cells<'a> = [""; NCOLS];
    let mut body_lines = 0usize;
    let mut scanner = Scanner::new(body);
    while !scanner.is_empty() {
        if !census && mark.is_some() && !vote_live {
            break;
        }
        let mut last_col = if census { market_col } else { 0 };
        if mark.is_none() {
            last_col = last_col.max(amount_col);
        }
        if vote_live {
            last_col = last_col.max(date_col);
        }
        let line = scanner.split_next_until(&layout.slots, &mut cells, last_col);
        if is_blank(line) {
            continue;
        }
        body_lines += 1;
        if mark.is_none() {
            mark = amount_cols
                .iter()
                .find_map(|&c| locale::mark_evidence(cells[c], zero_scale));
        }
        if vote_live {
            let dt = trim(cells[Col::PostedDateTime as usize]);
            let cell = if dt.is_empty() {
                trim(cells[Col::PostedDate as usize])
            } else {
                dt
            };
            match dates::split_date(cell.as_bytes()) {
                Some(raw) if raw.ambiguous => vote.add(&raw),
                Some(_) if !vote.seen() => vote_live = false,
                _ => {}
            }
            if vote.settled() {
                vote_live = false;
            }
        }
        let market = trim(cells[Col::MarketplaceName as usize]);
        if census && !market.is_empty() {
            match markets.get_mut(last_market) {
                Some(entry) if entry.0 == market => entry.1 += 1,
                _ => match markets.iter().position(|m| m.0 == market) {
                    Some(i) => {
                        markets[i].1 += 1;
                        last_market = i;
                    }
                    None => {
                        markets.push((market, 1));
                        last_market = markets.len() - 1;
                    }
                },
            }
        }
    }
    PartScan {
        settled: !census && mark.is_some() && !vote_live,
        body_lines,
        mark,
        vote,
        markets,
    }
}
