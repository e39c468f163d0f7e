//! Synthetic data for `bench tui`: a generated settlement of any size, its
//! review model, and a long settlement list.
//!
//! Built with the real parser and journal engine, so the benchmark measures
//! what the workstation draws for real data. The TUI tests use these too (the
//! large-settlement test and, via [`batches_of`], their fixture world).

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use rust_decimal::Decimal;
use sha2::{Digest, Sha256};

use crate::app::view::{
    BatchKey, BatchView, ExternalChecks, PostTarget, SettlementDetail, SettlementSummaryView,
};
use crate::ledger::journal::{Engine, Journal, Proposal};
use crate::ledger::mapping::Mapping;
use crate::ledger::money::Currency;
use crate::ledger::parse::{SettlementFile, decode};
use crate::ledger::state::BatchState;

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn at(d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 10, d, h, min, 0).unwrap()
}

/// A stable hash of one journal as proposed (what an approval refers to).
pub fn journal_hash(j: &Journal) -> String {
    let json = serde_json::to_string(j).unwrap_or_default();
    hex::encode(Sha256::digest(json.as_bytes()))[..16].to_string()
}

/// One batch per journal, in the state the proposal allows.
pub fn batches_of(p: &Proposal, target: &PostTarget) -> Vec<BatchView> {
    let state = if !p.consistent {
        BatchState::Inconsistent
    } else if !p.unmapped.is_empty() {
        BatchState::NeedsMapping
    } else {
        BatchState::Proposed
    };
    let reason = match state {
        BatchState::NeedsMapping => Some(format!("{} unmapped row group(s)", p.unmapped.len())),
        BatchState::Inconsistent => Some(format!("rows differ from total by {}", p.difference)),
        _ => None,
    };
    p.journals
        .iter()
        .map(|j| BatchView {
            key: BatchKey::new(&p.settlement_id, &j.period),
            state,
            revision: 1,
            ledger: target.ledger.clone(),
            operating_unit: target.operating_unit.clone(),
            currency: p.currency.clone(),
            group_id: None,
            request_id: None,
            phase: None,
            status: None,
            line_count: j.lines.len() as u32,
            total_debit: j.total_debit,
            total_credit: j.total_credit,
            proposal_hash: Some(journal_hash(j)),
            approved_by: None,
            reason: reason.clone(),
            line_errors: Vec::new(),
            updated_at: Some(at(11, 6, 0)),
        })
        .collect()
}

/// A V2 settlement file of `rows` body rows (for the benchmark): orders with
/// principal, tax, commission and FBA fee rows over two months, summing to its total.
pub fn generated_settlement_text(rows: usize) -> String {
    let mut body = String::with_capacity(rows * 190);
    let mut total = Decimal::ZERO;
    let kinds = [
        ("ItemPrice", "Principal", 2399i64),
        ("ItemPrice", "Tax", 198),
        ("ItemFees", "Commission", -360),
        ("ItemFees", "FBAPerUnitFulfillmentFee", -322),
    ];
    let start = day(2025, 9, 15);
    for i in 0..rows {
        let order = i / kinds.len();
        let (at_, desc, cents) = kinds[i % kinds.len()];
        let cents = cents + (order % 7) as i64;
        let amount = Decimal::new(cents, 2);
        total += amount;
        let d = start + chrono::Days::new((order % 28) as u64);
        let order_id = format!(
            "113-{:07}-{:07}",
            order % 10_000_000,
            (order * 7919) % 10_000_000
        );
        body.push_str(&format!(
            "9000000001\t\t\t\t\t\tOrder\t{order_id}\t{order_id}\t\tS{order:08}\tAmazon.com\t{at_}\t{desc}\t{amount}\tAFN\t{d}\t{d} 12:00:00 UTC\t{:014}\t\t\tSKU-{:05}\t1\t\n",
            order,
            order % 5000
        ));
    }
    format!(
        "settlement-id\tsettlement-start-date\tsettlement-end-date\tdeposit-date\ttotal-amount\tcurrency\ttransaction-type\torder-id\tmerchant-order-id\tadjustment-id\tshipment-id\tmarketplace-name\tamount-type\tamount-description\tamount\tfulfillment-id\tposted-date\tposted-date-time\torder-item-code\tmerchant-order-item-id\tmerchant-adjustment-item-id\tsku\tquantity-purchased\tpromotion-id\n\
         9000000001\t2025-09-15 08:00:00 UTC\t2025-10-13 08:00:00 UTC\t2025-10-15 08:00:00 UTC\t{total}\tUSD\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\n{body}"
    )
}

/// Parses and proposes a generated settlement into the review model, as sync
/// would on `LoadDetail`.
pub fn generated_detail(text: &str) -> SettlementDetail {
    let decoded = decode(text.as_bytes(), Some("UTF-8")).expect("generated text decodes");
    let file =
        SettlementFile::parse(&decoded.text, decoded.charset).expect("generated file parses");
    let mapping = Mapping::default_mapping();
    let summary = file.summary.clone();
    let cal = Engine::preview_calendar(&summary, chrono_tz::UTC);
    let engine = Engine::new(&mapping, cal, chrono_tz::UTC, &summary, Some("Amazon.com"));
    let mut rows = Vec::with_capacity(file.body_lines());
    let mut acc = engine.accumulator();
    for r in file.rows() {
        let r = r.expect("generated rows parse");
        acc.add(&r).expect("generated rows lie in the calendar");
        rows.push(r.to_owned_row());
    }
    let proposal = acc.finish().expect("generated proposal");
    let view = SettlementSummaryView {
        settlement_id: summary.settlement_id.clone(),
        seller: "Bench Seller".into(),
        marketplace: "Amazon.com".into(),
        start: summary.start.date_naive(),
        end: summary.end.date_naive(),
        deposit_date: summary.deposit_date.map(|d| d.date_naive()),
        total: summary.total_amount,
        currency: summary.currency.clone(),
        status: BatchState::Proposed,
        gap_before: false,
        batches: proposal.journals.len() as u32,
        rows: rows.len() as u64,
        carried: Decimal::ZERO,
        reserve: Decimal::ZERO,
    };
    let target = PostTarget {
        ledger: "US Primary Ledger".into(),
        operating_unit: "Vision Operations (204)".into(),
        ledger_currency: None,
    };
    let batches = batches_of(&proposal, &target);
    SettlementDetail::new(
        view,
        target,
        rows,
        proposal,
        batches,
        None,
        ExternalChecks::default(),
    )
}

/// `n` settlement summaries over four marketplaces (for the first-frame benchmark).
pub fn many_summaries(n: usize) -> Vec<SettlementSummaryView> {
    let mps = [
        ("Amazon.com", "USD"),
        ("Amazon.de", "EUR"),
        ("Amazon.ca", "CAD"),
        ("Amazon.co.uk", "GBP"),
    ];
    let mut list: Vec<SettlementSummaryView> = (0..n)
        .map(|i| {
            let (mp, cur) = mps[i % mps.len()];
            let k = (i / mps.len()) as u64;
            let start = day(2024, 1, 1) + chrono::Days::new(14 * k);
            SettlementSummaryView {
                settlement_id: format!("{}", 10_000_000_000u64 + i as u64 * 97),
                seller: "Acme Kitchen".into(),
                marketplace: mp.into(),
                start,
                end: start + chrono::Days::new(14),
                deposit_date: Some(start + chrono::Days::new(16)),
                total: Decimal::new(1_000_000 + (i as i64 * 7919) % 900_000, 2),
                currency: Currency::new(cur),
                status: BatchState::ALL[i % BatchState::ALL.len()],
                gap_before: false,
                batches: 2,
                rows: 2000,
                carried: Decimal::ZERO,
                reserve: Decimal::ZERO,
            }
        })
        .collect();
    SettlementSummaryView::mark_gaps(&mut list);
    list
}
