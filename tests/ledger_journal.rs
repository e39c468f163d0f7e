//! Mapping, periods, journals and `settlement preview` / `mapping check`.
//!
//! Pure engine tests use hand-built rows; file and CLI tests go through the
//! parser and the real binary.

#[path = "common/require.rs"]
mod require;

use chrono::{NaiveDate, TimeZone, Utc};
use ml_connector::ledger::journal::{Engine, Journal, JournalError, LineKind, Proposal};
use ml_connector::ledger::mapping::Mapping;
use ml_connector::ledger::model::{PostedAt, RowRef, SettlementFormat, SettlementSummary};
use ml_connector::ledger::money::Currency;
use ml_connector::ledger::periods::{Calendar, PeriodError};
use ml_connector::ledger::preview::PreviewReport;
use rust_decimal::Decimal;

fn dec(s: &str) -> Decimal {
    Decimal::from_str_exact(s).unwrap()
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn summary(total: &str) -> SettlementSummary {
    SettlementSummary {
        settlement_id: "19870040121".into(),
        format: SettlementFormat::V2,
        start: Utc.with_ymd_and_hms(2025, 9, 24, 8, 0, 0).unwrap(),
        end: Utc.with_ymd_and_hms(2025, 10, 8, 8, 0, 0).unwrap(),
        deposit_date: Some(Utc.with_ymd_and_hms(2025, 10, 10, 8, 0, 0).unwrap()),
        total_amount: dec(total),
        currency: Currency::new("USD"),
    }
}

fn at(y: i32, m: u32, d: u32, h: u32) -> Option<PostedAt> {
    Some(PostedAt::Instant(
        Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap(),
    ))
}

fn on(y: i32, m: u32, d: u32) -> Option<PostedAt> {
    Some(PostedAt::Day(day(y, m, d)))
}

#[allow(clippy::too_many_arguments)]
fn row<'a>(
    line: u32,
    tt: &'a str,
    at: &'a str,
    desc: &'a str,
    amount: &str,
    marketplace: &'a str,
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
        marketplace_name: marketplace,
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

const ACCOUNTS: &str = r#"
[accounts]
clearing = "01-000-1190-0000-000"
"#;

const RULES: &str = r#"
[[rules]]
amount_type = "ItemPrice"
amount_description = "Principal"
account = "01-000-4010-0000-000"
label = "Amazon product sales"

[[rules]]
amount_type = "ItemPrice"
amount_description = "Tax"
account = "01-000-2310-0000-000"
label = "Sales tax payable"

[[rules]]
amount_type = "ItemFees"
account = "01-000-6110-0000-000"
label = "Amazon selling fees"
ap = true

[[rules]]
amount_description = "Subscription Fee"
account = "01-000-6140-0000-000"
label = "Subscription"
"#;

fn mapping(extra_accounts: &str) -> Mapping {
    Mapping::parse(&format!("{ACCOUNTS}{extra_accounts}{RULES}")).unwrap()
}

fn propose(
    mapping: &Mapping,
    s: &SettlementSummary,
    tz: chrono_tz::Tz,
    rows: Vec<RowRef<'_>>,
) -> Proposal {
    let engine = Engine::new(
        mapping,
        Engine::preview_calendar(s, tz),
        tz,
        s,
        Some("Amazon.com"),
    );
    engine.propose(rows).unwrap()
}

fn line<'p>(j: &'p Journal, account: &str) -> &'p ml_connector::ledger::journal::JournalLine {
    j.lines
        .iter()
        .find(|l| l.account == account && l.kind != LineKind::Clearing)
        .unwrap_or_else(|| panic!("no line for {account} in {j:#?}"))
}

fn clearing(j: &Journal) -> &ml_connector::ledger::journal::JournalLine {
    j.lines
        .iter()
        .find(|l| l.kind == LineKind::Clearing)
        .unwrap()
}

fn assert_sound(p: &Proposal) {
    for j in &p.journals {
        assert!(j.is_balanced(), "unbalanced {j:#?}");
        let debits: Decimal = j.lines.iter().map(|l| l.debit).sum();
        assert_eq!(debits, j.total_debit);
        for l in &j.lines {
            assert!(l.debit.is_zero() || l.credit.is_zero());
            assert!(!l.debit.is_sign_negative() && !l.credit.is_sign_negative());
        }
    }
}

#[test]
fn journals_balance_and_clearing_sums_to_total() {
    let m = mapping("");
    let s = summary("97.35");
    let p = propose(
        &m,
        &s,
        chrono_tz::UTC,
        vec![
            row(
                3,
                "Order",
                "ItemPrice",
                "Principal",
                "100.00",
                "Amazon.com",
                at(2025, 9, 28, 10),
            ),
            row(
                4,
                "Order",
                "ItemPrice",
                "Tax",
                "8.25",
                "Amazon.com",
                at(2025, 9, 28, 10),
            ),
            row(
                5,
                "Order",
                "ItemFees",
                "Commission",
                "-15.00",
                "Amazon.com",
                at(2025, 9, 28, 10),
            ),
            row(
                6,
                "Order",
                "ItemPrice",
                "Principal",
                "40.00",
                "Amazon.com",
                at(2025, 10, 3, 10),
            ),
            row(
                7,
                "Order",
                "ItemFees",
                "FBAPerUnitFulfillmentFee",
                "-3.81",
                "Amazon.com",
                at(2025, 10, 3, 10),
            ),
            row(
                8,
                "other-transaction",
                "other-transaction",
                "Subscription Fee",
                "-39.99",
                "",
                at(2025, 10, 5, 10),
            ),
            row(
                9,
                "Order",
                "ItemPrice",
                "Principal",
                "7.90",
                "Amazon.com",
                None,
            ),
        ],
    );
    assert_sound(&p);
    assert!(p.consistent && p.postable, "{:?}", p.blockers);
    assert_eq!(p.rows, 7);
    assert_eq!(p.rows_total, dec("97.35"));
    assert_eq!(p.clearing_total(), dec("97.35"));
    let periods: Vec<_> = p.journals.iter().map(|j| j.period.as_str()).collect();
    assert_eq!(periods, ["2025-09", "2025-10"]);
    let sep = &p.journals[0];
    assert_eq!(line(sep, "01-000-4010-0000-000").credit, dec("100.00"));
    assert_eq!(line(sep, "01-000-2310-0000-000").credit, dec("8.25"));
    let fees = line(sep, "01-000-6110-0000-000");
    assert_eq!((fees.debit, fees.credit), (dec("15.00"), Decimal::ZERO));
    assert!(fees.ap);
    assert_eq!(fees.rules, vec![2]);
    let c = clearing(sep);
    assert_eq!(
        (c.debit, c.credit, c.rows),
        (dec("93.25"), Decimal::ZERO, 3)
    );
    assert_eq!(c.account, "01-000-1190-0000-000");
    // clearing is the last line
    assert_eq!(sep.lines.last().unwrap().kind, LineKind::Clearing);
    let oct = &p.journals[1];
    // the undated row lands in the period holding the settlement end
    let sales = line(oct, "01-000-4010-0000-000");
    assert_eq!((sales.credit, sales.rows), (dec("47.90"), 2));
    // October nets negative: the clearing line is a credit
    let c = clearing(oct);
    assert_eq!((c.debit, c.credit), (dec("4.10"), Decimal::ZERO));
}

#[test]
fn negative_journal_credits_clearing() {
    let m = mapping("");
    let s = summary("-39.99");
    let p = propose(
        &m,
        &s,
        chrono_tz::UTC,
        vec![row(
            3,
            "other-transaction",
            "other-transaction",
            "Subscription Fee",
            "-39.99",
            "",
            at(2025, 10, 1, 1),
        )],
    );
    assert_sound(&p);
    let c = clearing(&p.journals[0]);
    assert_eq!((c.debit, c.credit), (Decimal::ZERO, dec("39.99")));
    assert_eq!(p.clearing_total(), dec("-39.99"));
}

#[test]
fn time_zone_moves_a_row_across_month_end() {
    let m = mapping("");
    let s = summary("100.00");
    // 2025-10-01 03:00 UTC is 2025-09-30 20:00 in Los Angeles
    let rows = || {
        vec![row(
            3,
            "Order",
            "ItemPrice",
            "Principal",
            "100.00",
            "Amazon.com",
            at(2025, 10, 1, 3),
        )]
    };
    let utc = propose(&m, &s, chrono_tz::UTC, rows());
    let la = propose(&m, &s, chrono_tz::America::Los_Angeles, rows());
    assert_eq!(utc.journals[0].period, "2025-10");
    assert_eq!(la.journals[0].period, "2025-09");
    assert_eq!(la.journals[0].accounting_date, day(2025, 9, 30));
    // a bare posted date is a calendar day in any zone
    let rows = || {
        vec![row(
            3,
            "Order",
            "ItemPrice",
            "Principal",
            "100.00",
            "Amazon.com",
            on(2025, 10, 1),
        )]
    };
    assert_eq!(
        propose(&m, &s, chrono_tz::America::Los_Angeles, rows()).journals[0].period,
        "2025-10"
    );
    assert_eq!(
        propose(&m, &s, chrono_tz::Asia::Tokyo, rows()).journals[0].period,
        "2025-10"
    );
}

#[test]
fn dating_rule_period_end_or_settlement_end() {
    let m = mapping("");
    let s = summary("30.00");
    let p = propose(
        &m,
        &s,
        chrono_tz::UTC,
        vec![
            row(
                3,
                "Order",
                "ItemPrice",
                "Principal",
                "10.00",
                "Amazon.com",
                at(2025, 9, 25, 0),
            ),
            row(
                4,
                "Order",
                "ItemPrice",
                "Principal",
                "10.00",
                "Amazon.com",
                at(2025, 10, 7, 0),
            ),
            // posted after the settlement end, in a later month
            row(
                5,
                "Order",
                "ItemPrice",
                "Principal",
                "10.00",
                "Amazon.com",
                at(2025, 11, 2, 0),
            ),
        ],
    );
    let dates: Vec<_> = p
        .journals
        .iter()
        .map(|j| (j.period.as_str(), j.accounting_date))
        .collect();
    assert_eq!(
        dates,
        [
            ("2025-09", day(2025, 9, 30)),
            ("2025-10", day(2025, 10, 8)),
            ("2025-11", day(2025, 11, 30)),
        ]
    );
    // the settlement end is converted to the zone: 2025-10-08 08:00 UTC is
    // 2025-10-08 17:00 in Tokyo and 2025-10-08 01:00 in Los Angeles
    let tokyo = propose(
        &m,
        &s,
        chrono_tz::Asia::Tokyo,
        vec![row(3, "Order", "ItemPrice", "Principal", "30.00", "", None)],
    );
    assert_eq!(tokyo.journals[0].accounting_date, day(2025, 10, 8));
    let mut late = summary("30.00");
    late.end = Utc.with_ymd_and_hms(2025, 10, 31, 23, 30, 0).unwrap();
    let p = propose(
        &m,
        &late,
        chrono_tz::Asia::Tokyo,
        vec![row(3, "Order", "ItemPrice", "Principal", "30.00", "", None)],
    );
    assert_eq!(
        (p.journals[0].period.as_str(), p.journals[0].accounting_date),
        ("2025-11", day(2025, 11, 1))
    );
}

#[test]
fn zero_net_groups_are_dropped_but_counted() {
    let m = mapping("");
    let s = summary("100.00");
    let p = propose(
        &m,
        &s,
        chrono_tz::UTC,
        vec![
            row(
                3,
                "Order",
                "ItemPrice",
                "Principal",
                "100.00",
                "Amazon.com",
                at(2025, 10, 1, 1),
            ),
            row(
                4,
                "Order",
                "ItemPrice",
                "Tax",
                "8.00",
                "Amazon.com",
                at(2025, 10, 1, 1),
            ),
            row(
                5,
                "Refund",
                "ItemPrice",
                "Tax",
                "-5.00",
                "Amazon.com",
                at(2025, 10, 2, 1),
            ),
            row(
                6,
                "Refund",
                "ItemPrice",
                "Tax",
                "-3.00",
                "Amazon.com",
                at(2025, 10, 2, 1),
            ),
        ],
    );
    assert_sound(&p);
    let j = &p.journals[0];
    assert!(j.lines.iter().all(|l| l.account != "01-000-2310-0000-000"));
    assert_eq!(j.zero_net.len(), 1);
    assert_eq!(j.zero_net[0].account, "01-000-2310-0000-000");
    assert_eq!(j.zero_net[0].rows, 3);
    assert_eq!(j.zero_net[0].rules, vec![1]);
    assert_eq!(clearing(j).rows, 4);
    assert_eq!(p.rows, 4);
    // a journal whose every group nets to zero has no clearing line at all
    let p = propose(
        &m,
        &summary("0"),
        chrono_tz::UTC,
        vec![
            row(
                3,
                "Order",
                "ItemPrice",
                "Principal",
                "10.00",
                "Amazon.com",
                at(2025, 10, 1, 1),
            ),
            row(
                4,
                "Refund",
                "ItemPrice",
                "Principal",
                "-10.00",
                "Amazon.com",
                at(2025, 10, 2, 1),
            ),
        ],
    );
    assert!(p.journals[0].lines.is_empty());
    assert_eq!(p.journals[0].zero_net[0].rows, 2);
    assert!(p.postable);
}

#[test]
fn unmapped_rows_listed_suspense_or_blocked() {
    let rows = || {
        vec![
            row(
                3,
                "Order",
                "ItemPrice",
                "Principal",
                "100.00",
                "Amazon.com",
                at(2025, 10, 1, 1),
            ),
            row(
                4,
                "Mystery",
                "NewThing",
                "Surprise",
                "-20.00",
                "Amazon.com",
                at(2025, 10, 1, 1),
            ),
            row(
                5,
                "Mystery",
                "NewThing",
                "Surprise",
                "-5.00",
                "Amazon.com",
                at(2025, 10, 2, 1),
            ),
            row(6, "Mystery", "Other", "", "1.00", "", at(2025, 10, 2, 1)),
        ]
    };
    let s = summary("76.00");
    // no suspense: listed, journals still balance, not postable, says why
    let p = propose(&mapping(""), &s, chrono_tz::UTC, rows());
    assert_sound(&p);
    assert!(!p.postable);
    assert!(p.consistent);
    assert_eq!(p.unmapped.len(), 2);
    let u = &p.unmapped[0];
    assert_eq!(
        (
            u.transaction_type.as_str(),
            u.amount_type.as_str(),
            u.amount_description.as_str(),
            u.amount,
            u.rows
        ),
        ("Mystery", "NewThing", "Surprise", dec("-25.00"), 2)
    );
    assert_eq!(p.blockers.len(), 1);
    assert!(
        p.blockers[0].contains("3 row(s) in 2 combination(s)"),
        "{:?}",
        p.blockers
    );
    assert!(p.blockers[0].contains("suspense"));
    // with suspense: a suspense line, still listed, postable
    let p = propose(
        &mapping("suspense = \"01-000-9990-0000-000\"\n"),
        &s,
        chrono_tz::UTC,
        rows(),
    );
    assert_sound(&p);
    assert!(p.postable, "{:?}", p.blockers);
    assert_eq!(p.unmapped.len(), 2);
    let susp = line(&p.journals[0], "01-000-9990-0000-000");
    assert_eq!(
        (susp.debit, susp.rows, susp.kind),
        (dec("24.00"), 3, LineKind::Suspense)
    );
    assert!(susp.rules.is_empty());
    assert_eq!(p.clearing_total(), dec("76.00"));
}

#[test]
fn inconsistent_file_and_difference_account() {
    let rows = || {
        vec![
            row(
                3,
                "Order",
                "ItemPrice",
                "Principal",
                "100.00",
                "Amazon.com",
                at(2025, 9, 30, 1),
            ),
            row(
                4,
                "Order",
                "ItemFees",
                "Commission",
                "-15.00",
                "Amazon.com",
                at(2025, 10, 2, 1),
            ),
        ]
    };
    // total 86.00 but rows sum to 85.00
    let s = summary("86.00");
    let p = propose(&mapping(""), &s, chrono_tz::UTC, rows());
    assert!(!p.consistent && !p.postable);
    assert_eq!(p.difference, dec("1.00"));
    assert!(
        p.blockers[0].contains("85.00") && p.blockers[0].contains("86.00"),
        "{:?}",
        p.blockers
    );
    assert!(p.blockers[0].contains("accounts.difference"));
    assert_sound(&p);
    assert_eq!(p.clearing_total(), dec("85.00"));

    let m = mapping("difference = \"01-000-9991-0000-000\"\n");
    let p = propose(&m, &s, chrono_tz::UTC, rows());
    assert!(!p.consistent);
    assert!(p.postable, "{:?}", p.blockers);
    assert_sound(&p);
    assert_eq!(p.clearing_total(), dec("86.00"));
    // positive difference: credit, in the journal holding the settlement end
    let oct = p.journals.iter().find(|j| j.period == "2025-10").unwrap();
    let d = line(oct, "01-000-9991-0000-000");
    assert_eq!(
        (d.debit, d.credit, d.rows, d.kind),
        (Decimal::ZERO, dec("1.00"), 0, LineKind::Difference)
    );
    // negative difference: debit; a journal is created for the end period if needed
    let s = summary("84.50");
    let only_sept = vec![
        row(
            3,
            "Order",
            "ItemPrice",
            "Principal",
            "100.00",
            "Amazon.com",
            at(2025, 9, 30, 1),
        ),
        row(
            4,
            "Order",
            "ItemFees",
            "Commission",
            "-15.00",
            "Amazon.com",
            at(2025, 9, 30, 1),
        ),
    ];
    let p = propose(&m, &s, chrono_tz::UTC, only_sept);
    assert_sound(&p);
    assert_eq!(p.journals.len(), 2);
    let oct = &p.journals[1];
    assert_eq!(line(oct, "01-000-9991-0000-000").debit, dec("0.50"));
    assert_eq!(clearing(oct).credit, dec("0.50"));
    assert_eq!(p.clearing_total(), dec("84.50"));
}

#[test]
fn closed_period_rolls_forward_keeping_original_period() {
    let m = mapping("");
    let s = summary("130.00");
    let mut cal = Calendar::months(day(2025, 8, 1), day(2025, 11, 30));
    cal.close("2025-09");
    let engine = Engine::new(&m, cal, chrono_tz::UTC, &s, Some("Amazon.com"));
    let p = engine
        .propose(vec![
            row(
                3,
                "Order",
                "ItemPrice",
                "Principal",
                "100.00",
                "Amazon.com",
                at(2025, 9, 29, 1),
            ),
            row(
                4,
                "Order",
                "ItemPrice",
                "Principal",
                "30.00",
                "Amazon.com",
                at(2025, 10, 2, 1),
            ),
        ])
        .unwrap();
    assert_sound(&p);
    assert_eq!(p.journals.len(), 1);
    let j = &p.journals[0];
    assert_eq!(
        (j.period.as_str(), j.accounting_date),
        ("2025-10", day(2025, 10, 8))
    );
    let sales: Vec<_> = j
        .lines
        .iter()
        .filter(|l| l.account == "01-000-4010-0000-000")
        .collect();
    assert_eq!(sales.len(), 2);
    let rolled = sales.iter().find(|l| l.original_period.is_some()).unwrap();
    assert_eq!(
        (rolled.original_period.as_deref(), rolled.credit),
        (Some("2025-09"), dec("100.00"))
    );
    let own = sales.iter().find(|l| l.original_period.is_none()).unwrap();
    assert_eq!(own.credit, dec("30.00"));
    assert_eq!(clearing(j).debit, dec("130.00"));

    // no open period after a closed one: an error naming the line
    let mut cal = Calendar::months(day(2025, 9, 1), day(2025, 10, 31));
    cal.close("2025-10");
    let engine = Engine::new(&m, cal, chrono_tz::UTC, &s, None);
    let err = engine
        .propose(vec![row(
            7,
            "Order",
            "ItemPrice",
            "Principal",
            "1.00",
            "",
            at(2025, 10, 2, 1),
        )])
        .unwrap_err();
    assert!(
        matches!(
            err,
            JournalError::Row {
                line: 7,
                source: PeriodError::NoOpenPeriod { .. }
            }
        ),
        "{err}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("line 7") && msg.contains("2025-10") && msg.contains("no open period"),
        "{msg}"
    );
    // outside the calendar
    let err = engine
        .propose(vec![row(
            9,
            "Order",
            "ItemPrice",
            "Principal",
            "1.00",
            "",
            at(2024, 1, 2, 1),
        )])
        .unwrap_err();
    assert!(
        err.to_string().contains("line 9") && err.to_string().contains("outside the calendar"),
        "{err}"
    );
}

#[test]
fn precedence_wildcards_and_marketplace_fallback() {
    let m = Mapping::parse(&format!(
        r#"{ACCOUNTS}
[[rules]]
transaction_type = "*"
amount_type = "ItemPrice"
amount_description = "Principal"
marketplace = "*"
account = "01-000-4010-0000-000"
label = "Sales"

[[rules]]
amount_type = "ItemPrice"
amount_description = "Principal"
marketplace = "Amazon.fr"
account = "01-000-4012-0000-000"
label = "Sales FR"

[[rules]]
amount_type = "ItemPrice"
amount_description = "Principal"
marketplace = "Amazon.de"
account = "01-000-4013-0000-000"
label = "Sales DE (first)"

[[rules]]
transaction_type = "ORDER"
amount_description = "PRINCIPAL"
marketplace = "amazon.de"
account = "01-000-4014-0000-000"
label = "Sales DE (tie, later)"

[[rules]]
amount_description = "Subscription Fee"
account = "01-000-6140-0000-000"
label = "Subscription"

[[rules]]
amount_description = "Subscription Fee"
marketplace = "Amazon.fr"
account = "01-000-6141-0000-000"
label = "Subscription FR"
"#
    ))
    .unwrap();
    // "*" counts as unset
    assert_eq!(m.rules[0].specificity(), 2);
    let s = summary("0");
    let engine = Engine::new(
        &m,
        Engine::preview_calendar(&s, chrono_tz::UTC),
        chrono_tz::UTC,
        &s,
        Some("Amazon.fr"),
    );
    let p = engine
        .propose(vec![
            row(
                3,
                "Order",
                "ItemPrice",
                "Principal",
                "10.00",
                "Amazon.com",
                at(2025, 10, 1, 1),
            ),
            row(
                4,
                "Order",
                "ItemPrice",
                "Principal",
                "20.00",
                "AMAZON.FR",
                at(2025, 10, 1, 1),
            ),
            row(
                5,
                "Order",
                "ItemPrice",
                "Principal",
                "40.00",
                "Amazon.de",
                at(2025, 10, 1, 1),
            ),
            // account-level row: empty marketplace takes the settlement's (Amazon.fr)
            row(
                6,
                "other-transaction",
                "other-transaction",
                "Subscription Fee",
                "-39.00",
                "",
                at(2025, 10, 1, 1),
            ),
        ])
        .unwrap();
    let j = &p.journals[0];
    assert_eq!(line(j, "01-000-4010-0000-000").credit, dec("10.00"));
    assert_eq!(line(j, "01-000-4012-0000-000").credit, dec("20.00"));
    assert_eq!(line(j, "01-000-4013-0000-000").credit, dec("40.00"));
    assert!(j.lines.iter().all(|l| l.account != "01-000-4014-0000-000"));
    assert_eq!(line(j, "01-000-6141-0000-000").debit, dec("39.00"));
    assert_eq!(line(j, "01-000-6141-0000-000").rules, vec![5]);
    // without a settlement marketplace the generic rule applies
    let engine = Engine::new(
        &m,
        Engine::preview_calendar(&s, chrono_tz::UTC),
        chrono_tz::UTC,
        &s,
        None,
    );
    let p = engine
        .propose(vec![row(
            6,
            "other-transaction",
            "other-transaction",
            "Subscription Fee",
            "-39.00",
            "",
            at(2025, 10, 1, 1),
        )])
        .unwrap();
    assert_eq!(
        line(&p.journals[0], "01-000-6140-0000-000").debit,
        dec("39.00")
    );
}

#[test]
fn mapping_errors_name_field_and_line() {
    let text = format!(
        "{ACCOUNTS}\n[[rules]]\namount_type = \"ItemPrice\"\naccount = \"01-000-4010-0000-000\"\nmarketplce = \"Amazon.fr\"\n"
    );
    let err = Mapping::parse(&text).unwrap_err();
    assert_eq!(err.problems[0].line, Some(8), "{err}");
    assert!(err.to_string().contains("marketplce"), "{err}");
    let err = Mapping::parse(&format!("{ACCOUNTS}\n[[rules]]\naccount = \"4010\"\n")).unwrap_err();
    assert_eq!(err.problems[0].line, Some(6), "{err}");
    assert!(err.to_string().contains("`4010`"), "{err}");
}

#[test]
fn default_mapping_covers_both_vocabularies() {
    let m = Mapping::default_mapping();
    let mut mt = m.matcher();
    let acct =
        |mt: &mut ml_connector::ledger::mapping::Matcher<'_>, tt: &str, at: &str, desc: &str| {
            mt.rule_for(tt, at, desc, "Amazon.com")
                .map(|r| m.rules[r].account[7..11].to_string())
        };
    let cases: &[(&str, &str, &str, &str)] = &[
        ("Order", "ItemPrice", "Principal", "4010"),
        ("Order", "ItemPrice", "Shipping", "4020"),
        ("Order", "ItemPrice", "GiftWrap", "4030"),
        ("Order", "ItemPrice", "Tax", "2310"),
        ("Order", "ItemPrice", "ShippingTax", "2310"),
        ("Order", "ItemPrice", "GiftWrapTax", "2310"),
        (
            "Order",
            "ItemWithheldTax",
            "MarketplaceFacilitatorTax-Principal",
            "2315",
        ),
        (
            "Refund",
            "ItemWithheldTax",
            "MarketplaceFacilitatorTax-Shipping",
            "2315",
        ),
        ("Order", "Promotion", "Principal", "4050"),
        ("Order", "Promotion", "Shipping", "4050"),
        ("Refund", "ItemPrice", "Principal", "4060"),
        ("Refund", "ItemPrice", "Shipping", "4060"),
        ("Refund", "ItemPrice", "Tax", "2310"),
        ("Refund", "ItemFees", "RefundCommission", "6110"),
        ("Refund", "ItemFees", "Commission", "6110"),
        ("Refund", "ItemPrice", "GiftWrap", "4060"),
        ("Refund", "ItemPrice", "SomethingElse", "4060"),
        ("Refund", "ItemPrice", "ShippingTax", "2310"),
        ("Chargeback", "ItemPrice", "Principal", "4070"),
        ("Chargeback", "ItemPrice", "Tax", "2310"),
        ("A-to-z Guarantee Claim", "ItemPrice", "Shipping", "4070"),
        ("A-to-z Guarantee Claim", "ItemPrice", "Principal", "4070"),
        ("Order", "ItemFees", "Commission", "6110"),
        ("Order", "ItemFees", "VariableClosingFee", "6110"),
        ("Order", "ItemFees", "FixedClosingFee", "6110"),
        ("Order", "ItemFees", "DigitalServicesFee", "6110"),
        ("Order", "ItemFees", "FBAPerUnitFulfillmentFee", "6120"),
        ("Order", "ItemFees", "FBAPerOrderFulfillmentFee", "6120"),
        ("Order", "ItemFees", "FBAWeightBasedFee", "6120"),
        ("Order", "ItemFees", "ShippingChargeback", "6160"),
        ("Order", "ItemFees", "GiftwrapChargeback", "6160"),
        ("Order", "ItemFees", "FBA transportation fee", "6160"),
        (
            "other-transaction",
            "other-transaction",
            "FBA Inbound Transportation Fee",
            "6160",
        ),
        (
            "other-transaction",
            "other-transaction",
            "Inbound Transportation Fee",
            "6160",
        ),
        (
            "other-transaction",
            "other-transaction",
            "Storage Fee",
            "6130",
        ),
        (
            "other-transaction",
            "other-transaction",
            "Subscription Fee",
            "6140",
        ),
        (
            "ServiceFee",
            "Cost of Advertising",
            "TransactionTotalAmount",
            "6150",
        ),
        ("ServiceFee", "Cost of Advertising", "TaxAmount", "6150"),
        ("ServiceFee", "ItemFees", "Cost of Advertising", "6150"),
        (
            "other-transaction",
            "other-transaction",
            "TaxAmount",
            "6150",
        ),
        (
            "other-transaction",
            "FBA Inventory Reimbursement",
            "WAREHOUSE_LOST",
            "4080",
        ),
        (
            "other-transaction",
            "other-transaction",
            "WAREHOUSE_DAMAGE",
            "4080",
        ),
        (
            "other-transaction",
            "other-transaction",
            "REVERSAL_REIMBURSEMENT",
            "4080",
        ),
        (
            "other-transaction",
            "other-transaction",
            "SAFE-T Reimbursement",
            "4080",
        ),
        (
            "other-transaction",
            "other-transaction",
            "Previous Reserve Amount Balance",
            "1195",
        ),
        (
            "other-transaction",
            "other-transaction",
            "Current Reserve Amount",
            "1195",
        ),
        (
            "other-transaction",
            "other-transaction",
            "Payable to Amazon",
            "1190",
        ),
        (
            "other-transaction",
            "other-transaction",
            "Successful charge",
            "2190",
        ),
        (
            "other-transaction",
            "other-transaction",
            "Micro Deposit",
            "1190",
        ),
    ];
    for (tt, at, desc, want) in cases {
        assert_eq!(
            acct(&mut mt, tt, at, desc).as_deref(),
            Some(*want),
            "{tt} / {at} / {desc}"
        );
    }
    // unknown values are not swallowed by a catch-all
    assert_eq!(acct(&mut mt, "Order", "ItemFees", "BrandNewFee"), None);
    assert_eq!(
        acct(
            &mut mt,
            "other-transaction",
            "other-transaction",
            "Something new"
        ),
        None
    );
}

#[test]
fn preview_json_is_stable() {
    let m = Mapping::default_mapping();
    let mut s = summary("4402.28");
    s.total_amount = dec("4402.28");
    let mut cal = Calendar::months(day(2025, 8, 1), day(2025, 11, 30));
    cal.close("2025-08");
    let engine = Engine::new(&m, cal, chrono_tz::UTC, &s, Some("Amazon.com"));
    let p = engine
        .propose(vec![
            row(
                3,
                "Order",
                "ItemPrice",
                "Principal",
                "1520.00",
                "Amazon.com",
                at(2025, 9, 25, 10),
            ),
            row(
                4,
                "Order",
                "ItemPrice",
                "Tax",
                "125.40",
                "Amazon.com",
                at(2025, 9, 25, 10),
            ),
            row(
                5,
                "Order",
                "ItemWithheldTax",
                "MarketplaceFacilitatorTax-Principal",
                "-125.40",
                "Amazon.com",
                at(2025, 9, 25, 10),
            ),
            row(
                6,
                "Order",
                "ItemFees",
                "Commission",
                "-228.00",
                "Amazon.com",
                at(2025, 9, 25, 10),
            ),
            row(
                7,
                "Order",
                "ItemPrice",
                "Principal",
                "3400.00",
                "Amazon.com",
                at(2025, 10, 3, 10),
            ),
            row(
                8,
                "Order",
                "ItemFees",
                "FBAPerUnitFulfillmentFee",
                "-89.72",
                "Amazon.com",
                at(2025, 10, 3, 10),
            ),
            row(
                9,
                "other-transaction",
                "other-transaction",
                "Subscription Fee",
                "-39.99",
                "",
                None,
            ),
            row(
                10,
                "Refund",
                "ItemPrice",
                "Principal",
                "-200.00",
                "Amazon.com",
                on(2025, 8, 30),
            ),
            row(
                11,
                "Weird",
                "Unknown",
                "Thing",
                "40.005",
                "Amazon.com",
                at(2025, 10, 4, 10),
            ),
        ])
        .unwrap();
    assert_sound(&p);
    let mut report = PreviewReport::new(&s, &p, "UTC");
    assert_eq!(report.mapping_hash, m.content_hash());
    // the hash moves with every default-mapping edit; the snapshot is about shape
    report.mapping_hash = "<mapping hash>".into();
    let json = report.to_json();
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    let keys: Vec<_> = value.as_object().unwrap().keys().cloned().collect();
    assert_eq!(
        keys[..12],
        [
            "settlement_id",
            "format",
            "currency",
            "start",
            "end",
            "deposit_date",
            "total_amount",
            "rows",
            "rows_total",
            "consistent",
            "journals",
            "unmapped"
        ]
    );
    insta::with_settings!({snapshot_path => concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots")}, {
        insta::assert_snapshot!("preview_json", json);
        insta::assert_snapshot!("preview_table", report.to_table());
        insta::assert_snapshot!("preview_csv", report.to_csv());
    });
}

// ---------------------------------------------------------------- files and CLI

use ml_connector::ledger::journal::propose_file;
use ml_connector::ledger::parse::{SettlementFile, decode};
use std::path::{Path, PathBuf};
use std::process::Command;

const V2_HEADER: &str = "settlement-id\tsettlement-start-date\tsettlement-end-date\tdeposit-date\ttotal-amount\tcurrency\ttransaction-type\torder-id\tmerchant-order-id\tadjustment-id\tshipment-id\tmarketplace-name\tamount-type\tamount-description\tamount\tfulfillment-id\tposted-date\tposted-date-time\torder-item-code\tmerchant-order-item-id\tmerchant-adjustment-item-id\tsku\tquantity-purchased\tpromotion-id";

/// A V2 file: `rows` are (transaction type, amount type, description, amount, posted-date-time).
fn v2_file(total: &str, rows: &[(&str, &str, &str, &str, &str)]) -> String {
    let mut s = format!(
        "{V2_HEADER}\n1001\t2025-09-24 08:00:00 UTC\t2025-10-08 08:00:00 UTC\t2025-10-10 08:00:00 UTC\t{total}\tUSD{}\n",
        "\t".repeat(18)
    );
    for (tt, at, desc, amount, posted) in rows {
        let (market, order) = if *tt == "other-transaction" {
            ("", "")
        } else {
            ("Amazon.com", "111-0000001-0000001")
        };
        let date = posted.get(..10).unwrap_or("");
        s.push_str(&format!(
            "1001\t\t\t\t\t\t{tt}\t{order}\t{order}\t\t\t{market}\t{at}\t{desc}\t{amount}\tAFN\t{date}\t{posted}\t\t\t\tSKU1\t1\t\n"
        ));
    }
    s
}

const GOOD_ROWS: &[(&str, &str, &str, &str, &str)] = &[
    (
        "Order",
        "ItemPrice",
        "Principal",
        "100.00",
        "2025-09-30 23:30:00 UTC",
    ),
    (
        "Order",
        "ItemPrice",
        "Tax",
        "8.00",
        "2025-09-30 23:30:00 UTC",
    ),
    (
        "Order",
        "ItemWithheldTax",
        "MarketplaceFacilitatorTax-Principal",
        "-8.00",
        "2025-09-30 23:30:00 UTC",
    ),
    (
        "Order",
        "ItemFees",
        "Commission",
        "-15.00",
        "2025-09-30 23:30:00 UTC",
    ),
    (
        "Order",
        "ItemPrice",
        "Principal",
        "50.00",
        "2025-10-03 10:00:00 UTC",
    ),
    (
        "other-transaction",
        "other-transaction",
        "Subscription Fee",
        "-39.99",
        "2025-10-05 10:00:00 UTC",
    ),
];

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn cli(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ml-connector"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn file_through_parser_both_thread_counts_agree() {
    let text = v2_file("95.01", GOOD_ROWS);
    let decoded = decode(text.as_bytes(), None).unwrap();
    let file = SettlementFile::parse(&decoded.text, decoded.charset).unwrap();
    let m = Mapping::default_mapping();
    let engine = Engine::new(
        &m,
        Engine::preview_calendar(&file.summary, chrono_tz::UTC),
        chrono_tz::UTC,
        &file.summary,
        file.dominant_marketplace(),
    );
    let one = propose_file(&file, &engine, 1).unwrap();
    let two = propose_file(&file, &engine, 2).unwrap();
    let four = propose_file(&file, &engine, 4).unwrap();
    assert_eq!(one, two);
    assert_eq!(one, four);
    assert_sound(&one);
    assert!(one.postable && one.consistent, "{:?}", one.blockers);
    assert_eq!(one.rows, 6);
    assert_eq!(one.clearing_total(), dec("95.01"));
    // a bad row in the last chunk is reported with its line, whatever the thread count
    let mut rows = GOOD_ROWS.to_vec();
    rows[5].3 = "abc";
    let text = v2_file("95.01", &rows);
    let bad = SettlementFile::parse(&text, "UTF-8").unwrap();
    for parts in [1, 2, 3] {
        let err = propose_file(&bad, &engine, parts).unwrap_err().to_string();
        assert!(
            err.contains("line 8") && err.contains("abc"),
            "{parts}: {err}"
        );
    }
    // 2025-09-30 23:30 UTC is October 1 in Tokyo
    let tokyo = Engine::new(
        &m,
        Engine::preview_calendar(&file.summary, chrono_tz::Asia::Tokyo),
        chrono_tz::Asia::Tokyo,
        &file.summary,
        None,
    );
    let p = propose_file(&file, &tokyo, 2).unwrap();
    assert_eq!(p.journals.len(), 1);
    assert_eq!(p.journals[0].period, "2025-10");
}

#[test]
fn cli_preview_formats_and_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let good = write(dir.path(), "good.txt", &v2_file("95.01", GOOD_ROWS));
    let g = good.to_str().unwrap();

    let (code, out, err) = cli(&["settlement", "preview", g, "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["settlement_id"], "1001");
    assert_eq!(v["rows"], 6);
    assert_eq!(v["rows_total"], "95.01");
    assert_eq!(v["consistent"], true);
    assert_eq!(v["journals"].as_array().unwrap().len(), 2);
    assert_eq!(v["journals"][0]["accounting_date"], "2025-09-30");
    assert_eq!(v["journals"][1]["accounting_date"], "2025-10-08");
    for j in v["journals"].as_array().unwrap() {
        assert_eq!(j["total_debit"], j["total_credit"]);
    }

    let (code, out, _) = cli(&["settlement", "preview", g]);
    assert_eq!(code, 0);
    assert!(out.contains("Verdict: BALANCED"), "{out}");
    assert!(out.contains("Journal 2025-09  dated 2025-09-30"), "{out}");

    let (code, out, _) = cli(&[
        "settlement",
        "preview",
        g,
        "--format",
        "csv",
        "--timezone",
        "Asia/Tokyo",
    ]);
    assert_eq!(code, 0);
    assert!(out.starts_with("settlement_id,period,accounting_date,account,label,debit,credit,rows,original_period,kind\n"));
    assert!(
        out.lines()
            .skip(1)
            .all(|l| l.starts_with("1001,2025-10,2025-10-08,")),
        "{out}"
    );

    // unmapped rows, mapping without suspense: previewed, not postable, exit 2
    let mapping = write(
        dir.path(),
        "m.toml",
        "[accounts]\nclearing = \"01-000-1190-0000-000\"\n",
    );
    let (code, out, _) = cli(&[
        "settlement",
        "preview",
        g,
        "--mapping",
        mapping.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("UNMAPPED: 6 row(s)") && out.contains("NOT postable"),
        "{out}"
    );

    // inconsistent without a difference account: exit 2
    let inconsistent = write(dir.path(), "inc.txt", &v2_file("96.00", GOOD_ROWS));
    let nodiff = write(
        dir.path(),
        "nodiff.toml",
        &ml_connector::ledger::mapping::DEFAULT_MAPPING
            .lines()
            .filter(|l| !l.starts_with("difference ="))
            .collect::<Vec<_>>()
            .join("\n"),
    );
    let (code, out, _) = cli(&[
        "settlement",
        "preview",
        inconsistent.to_str().unwrap(),
        "--mapping",
        nodiff.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("INCONSISTENT"), "{out}");
    // with the default mapping (difference account): postable, exit 0
    let (code, out, _) = cli(&["settlement", "preview", inconsistent.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("01-000-9991-0000-000"), "{out}");

    // bad amount: file, line and column named, exit 1
    let mut rows = GOOD_ROWS.to_vec();
    rows[2].3 = "12x.00";
    let bad = write(dir.path(), "bad.txt", &v2_file("95.01", &rows));
    let (code, out, err) = cli(&["settlement", "preview", bad.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(
        err.contains("bad.txt") && err.contains("line 5") && err.contains("amount"),
        "{err}"
    );

    let (code, _, err) = cli(&["settlement", "preview", g, "--timezone", "Mars/Olympus"]);
    assert_eq!(code, 1);
    assert!(err.contains("Mars/Olympus"), "{err}");
    let (code, _, err) = cli(&["settlement", "preview", "/nonexistent/file.txt"]);
    assert_eq!(code, 1);
    assert!(err.contains("/nonexistent/file.txt"), "{err}");
    let broken = write(
        dir.path(),
        "broken.toml",
        "[accounts]\nclearing = \"01-000-1190-0000-000\"\nsuspence = \"x\"\n",
    );
    let (code, _, err) = cli(&[
        "settlement",
        "preview",
        g,
        "--mapping",
        broken.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert!(
        err.contains("broken.toml: line 3") && err.contains("suspence"),
        "{err}"
    );
}

#[test]
fn cli_mapping_check() {
    let dir = tempfile::tempdir().unwrap();
    let good = write(dir.path(), "good.txt", &v2_file("95.01", GOOD_ROWS));
    let default = write(
        dir.path(),
        "default.toml",
        ml_connector::ledger::mapping::DEFAULT_MAPPING,
    );
    let (code, out, err) = cli(&["mapping", "check", default.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("ok"), "{out}");
    let (code, out, _) = cli(&[
        "mapping",
        "check",
        default.to_str().unwrap(),
        "--settlement",
        good.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("every row is covered"), "{out}");

    let partial = write(
        dir.path(),
        "partial.toml",
        "[accounts]\nclearing = \"01-000-1190-0000-000\"\n[[rules]]\namount_description = \"Principal\"\naccount = \"01-000-4010-0000-000\"\n",
    );
    let (code, out, _) = cli(&[
        "mapping",
        "check",
        partial.to_str().unwrap(),
        "--settlement",
        good.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("no rule covers transaction_type `Order`, amount_type `ItemFees`, amount_description `Commission`, marketplace `Amazon.com` (1 row(s), -15.00 USD)"), "{out}");
    // account-level rows show the settlement's marketplace
    assert!(
        out.contains("amount_description `Subscription Fee`, marketplace `Amazon.com`"),
        "{out}"
    );
    assert!(out.contains("4 combination(s) not covered"), "{out}");

    let bad = write(
        dir.path(),
        "bad.toml",
        "[accounts]\nclearing = \"01-000-1190-0000-000\"\n\n[[rules]]\naccount = \"01-000-4010-0000-000\"\nlable = \"typo\"\n",
    );
    let (code, out, _) = cli(&["mapping", "check", bad.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(
        out.contains("bad.toml: line 6") && out.contains("lable"),
        "{out}"
    );
    let accounts = write(
        dir.path(),
        "accounts.toml",
        "[accounts]\nclearing = \"1190\"\n\n[[rules]]\naccount = \"01-000-4010-0000-0000\"\n",
    );
    let (code, out, _) = cli(&["mapping", "check", accounts.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(
        out.contains("line 2") && out.contains("line 5") && out.contains("2 problem(s)"),
        "{out}"
    );
}

/// The genuine V1 samples (read-only, never copied): the default mapping maps
/// every row, sums equal totals, journals balance, clearing equals the total.
#[test]
fn genuine_v1_samples_map_fully() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let Some(dir) = ["../shared", "../../shared"]
        .iter()
        .map(|p| root.join(p).join("reference/sp-api/settlement-samples"))
        .find(|p| p.is_dir())
    else {
        require::missing("../shared/reference/sp-api/settlement-samples");
        return;
    };
    let m = Mapping::default_mapping();
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("txt") {
            continue;
        }
        seen += 1;
        let bytes = std::fs::read(&path).unwrap();
        let decoded = decode(&bytes, None).unwrap();
        let file = SettlementFile::parse(&decoded.text, decoded.charset).unwrap();
        for tz in [chrono_tz::UTC, chrono_tz::America::Toronto] {
            let engine = Engine::new(
                &m,
                Engine::preview_calendar(&file.summary, tz),
                tz,
                &file.summary,
                file.dominant_marketplace(),
            );
            let p = propose_file(&file, &engine, 2).unwrap();
            assert!(
                p.unmapped.is_empty(),
                "{}: unmapped {:#?}",
                path.display(),
                p.unmapped
            );
            assert!(
                p.consistent && p.postable,
                "{}: {:?}",
                path.display(),
                p.blockers
            );
            assert_sound(&p);
            assert_eq!(
                p.clearing_total(),
                file.summary.total_amount,
                "{}",
                path.display()
            );
            assert_eq!(p.rows_total, file.summary.total_amount);
        }
    }
    assert_eq!(seen, 4);
}

/// The bench's generated file is consistent, maps fully with the default
/// mapping and gives the same proposal on one and two threads (the command
/// fails otherwise). Speed is not checked here.
#[test]
fn cli_bench_small_file_maps_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = cli(&[
        "bench",
        "settlement",
        "--rows",
        "3000",
        "--no-python",
        "--repeat",
        "1",
        "--dir",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("2 journals") && out.contains("balanced"),
        "{out}"
    );
    let file = dir.path().join("ml-connector-bench-3000.txt");
    let (code, out, _) = cli(&[
        "mapping",
        "check",
        "assets/mapping.toml",
        "--settlement",
        file.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("3000 row(s)"), "{out}");
}

/// The proposal of a text parsed whole and as two parts cut at the line break
/// past the middle, with 1 and 2 threads.
fn assert_split_proposal_same(text: &str) -> Proposal {
    let m = Mapping::default_mapping();
    let whole = SettlementFile::parse(text, "UTF-8").unwrap();
    let engine_of = |file: &SettlementFile<'_>| {
        Engine::new(
            &m,
            Engine::preview_calendar(&file.summary, chrono_tz::UTC),
            chrono_tz::UTC,
            &file.summary,
            file.dominant_marketplace(),
        )
    };
    let expected = propose_file(&whole, &engine_of(&whole), 1).unwrap();
    let mid = text.len() / 2;
    let cut = mid + text[mid..].find('\n').unwrap() + 1;
    let (head, tail) = text.split_at(cut);
    let split = SettlementFile::parse_split(head, tail, "UTF-8").unwrap();
    for parts in [1, 2] {
        let p = propose_file(&split, &engine_of(&split), parts).unwrap();
        assert_eq!(p, expected, "{parts} thread(s)");
        let p = propose_file(&whole, &engine_of(&whole), parts).unwrap();
        assert_eq!(p, expected, "{parts} thread(s), whole text");
    }
    expected
}

#[test]
fn split_text_proposals_equal_whole_text_on_examples_and_a_generated_file() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/examples");
    let mut n = 0;
    for entry in std::fs::read_dir(examples).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        let p = assert_split_proposal_same(&text);
        assert!(p.rows > 0);
        n += 1;
    }
    assert_eq!(n, 3);
    // 6,000 rows over two periods; a bad amount in the second half is
    // reported at the same line for the whole and the split text
    let rows: Vec<_> = GOOD_ROWS.iter().copied().cycle().take(6_000).collect();
    let total = "95.01".parse::<Decimal>().unwrap() * Decimal::from(1_000);
    let text = v2_file(&total.to_string(), &rows);
    let p = assert_split_proposal_same(&text);
    assert_eq!(p.rows, 6_000);
    assert!(p.consistent && p.postable, "{:?}", p.blockers);
    let mut bad_rows = rows.clone();
    bad_rows[4_500].3 = "12x";
    let bad = v2_file(&total.to_string(), &bad_rows);
    let m = Mapping::default_mapping();
    let whole = SettlementFile::parse(&bad, "UTF-8").unwrap();
    let engine = Engine::new(
        &m,
        Engine::preview_calendar(&whole.summary, chrono_tz::UTC),
        chrono_tz::UTC,
        &whole.summary,
        whole.dominant_marketplace(),
    );
    let expected = propose_file(&whole, &engine, 1).unwrap_err().to_string();
    // header, summary, then row 4,500 (0-based) on line 4,503
    assert!(
        expected.contains("line 4503") && expected.contains("12x"),
        "{expected}"
    );
    let cut = bad.len() / 2 + bad[bad.len() / 2..].find('\n').unwrap() + 1;
    let split = SettlementFile::parse_split(&bad[..cut], &bad[cut..], "UTF-8").unwrap();
    for parts in [1, 2, 4] {
        let err = propose_file(&split, &engine, parts)
            .unwrap_err()
            .to_string();
        assert_eq!(err, expected, "{parts} thread(s)");
    }
}

#[test]
fn preview_of_a_large_file_reads_it_in_halves_with_the_same_result() {
    // over 4 MB: `settlement preview` reads, validates and parses it in two halves
    let dir = tempfile::tempdir().unwrap();
    let rows: Vec<_> = GOOD_ROWS.iter().copied().cycle().take(30_000).collect();
    let total = "95.01".parse::<Decimal>().unwrap() * Decimal::from(5_000);
    let text = v2_file(&total.to_string(), &rows);
    assert!(text.len() > 4 << 20);
    let path = write(dir.path(), "big.txt", &text);
    let (code, out, err) = cli(&[
        "settlement",
        "preview",
        path.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["rows"], 30_000);
    assert_eq!(json["rows_total"], total.to_string());
    // as Windows-1252 (the whole-text path) the report is the same but for the charset
    let (code, out_latin, err) = cli(&[
        "settlement",
        "preview",
        path.to_str().unwrap(),
        "--format",
        "json",
        "--charset",
        "windows-1252",
    ]);
    assert_eq!(code, 0, "{err}");
    let latin: serde_json::Value = serde_json::from_str(&out_latin).unwrap();
    assert_eq!(latin["journals"], json["journals"]);
    assert_eq!(latin["rows"], json["rows"]);
    // a bad amount late in the file: the line as the whole-text path reports it
    let mut bad_rows = rows.clone();
    bad_rows[29_000].3 = "9,9x";
    let bad = v2_file(&total.to_string(), &bad_rows);
    let path = write(dir.path(), "bad.txt", &bad);
    let (code, _, err) = cli(&["settlement", "preview", path.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("line 29003") && err.contains("9,9x"), "{err}");
    let (_, _, err_latin) = cli(&[
        "settlement",
        "preview",
        path.to_str().unwrap(),
        "--charset",
        "windows-1252",
    ]);
    assert_eq!(err, err_latin);
}

// ---------------------------------------------------------------- nothing panics on input (issue 14)

/// Amounts near the decimal's limit (7.9e28; the largest is 7.92e28): sums
/// that overflow are an error naming the settlement, a line, what overflowed
/// and what to do, whatever the thread count, never a panic.
#[test]
fn overflowing_sums_are_located_errors_not_panics() {
    const HUGE: &str = "79000000000000000000000000000";
    let posted = "2025-09-30 23:30:00 UTC";
    let m = Mapping::default_mapping();
    let check = |text: &str, want_line: Option<&str>| {
        let file = SettlementFile::parse(text, "UTF-8").unwrap();
        let engine = Engine::new(
            &m,
            Engine::preview_calendar(&file.summary, chrono_tz::UTC),
            chrono_tz::UTC,
            &file.summary,
            file.dominant_marketplace(),
        );
        for parts in [1, 2, 4] {
            let err = propose_file(&file, &engine, parts)
                .expect_err("an overflow")
                .to_string();
            assert!(
                err.contains("1001") && err.contains("overflow") && err.contains("check the file"),
                "{parts}: {err}"
            );
            if let Some(line) = want_line {
                assert!(err.contains(line), "{parts}: {err}");
            }
        }
    };
    // 38 rows of one combination (the simulator's HUGE fee)
    let rows: Vec<_> = (0..38)
        .map(|_| ("Order", "ItemPrice", "Principal", HUGE, posted))
        .collect();
    check(&v2_file(HUGE, &rows), Some("line"));
    // one row each in two combinations of one account: the account's sum
    let rows = [
        ("Order", "ItemPrice", "Principal", HUGE, posted),
        ("Order", "ItemPrice", "Shipping", HUGE, posted),
    ];
    check(&v2_file("0", &rows), None);
    // two accounts: the rows' total and the journal's net
    let rows = [
        ("Order", "ItemPrice", "Principal", HUGE, posted),
        ("Order", "ItemPrice", "Tax", HUGE, posted),
    ];
    check(&v2_file("0", &rows), None);
    // the difference between the total and the rows
    let rows = [("Order", "ItemPrice", "Principal", HUGE, posted)];
    check(&v2_file(&format!("-{HUGE}"), &rows), None);
    // unmapped rows summed per combination
    let rows = [
        ("Mystery", "Thing", "X", HUGE, posted),
        ("Mystery", "Thing", "X", HUGE, posted),
    ];
    check(&v2_file("0", &rows), None);
    // a total of debits: two fee rows (debits) and sales in two periods that net them
    let neg = format!("-{HUGE}");
    let rows = [
        ("Order", "ItemFees", "Commission", neg.as_str(), posted),
        (
            "Order",
            "ItemFees",
            "FBAPerUnitFulfillmentFee",
            neg.as_str(),
            posted,
        ),
        ("Order", "ItemPrice", "Principal", HUGE, posted),
        (
            "Order",
            "ItemPrice",
            "Principal",
            HUGE,
            "2025-10-02 10:00:00 UTC",
        ),
    ];
    check(&v2_file("0", &rows), None);

    // the CLI: exit 1 with the message, not a panic (101)
    let dir = tempfile::tempdir().unwrap();
    let rows: Vec<_> = (0..38)
        .map(|_| ("Order", "ItemPrice", "Principal", HUGE, posted))
        .collect();
    let huge = write(dir.path(), "huge.txt", &v2_file(HUGE, &rows));
    let (code, out, err) = cli(&["settlement", "preview", huge.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains("huge.txt") && err.contains("overflow"),
        "{err}"
    );
    let default = write(
        dir.path(),
        "default.toml",
        ml_connector::ledger::mapping::DEFAULT_MAPPING,
    );
    let (code, out, err) = cli(&[
        "mapping",
        "check",
        default.to_str().unwrap(),
        "--settlement",
        huge.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains("huge.txt") && err.contains("line 4") && err.contains("overflow"),
        "{err}"
    );
}

/// A summary row and nothing else: inconsistent and not postable, even when
/// the total is zero or a difference account could take it.
#[test]
fn a_settlement_without_body_rows_is_inconsistent() {
    let m = Mapping::default_mapping();
    assert!(m.difference.is_some());
    for total in ["0.00", "95.01"] {
        let text = v2_file(total, &[]);
        let file = SettlementFile::parse(&text, "UTF-8").unwrap();
        let engine = Engine::new(
            &m,
            Engine::preview_calendar(&file.summary, chrono_tz::UTC),
            chrono_tz::UTC,
            &file.summary,
            None,
        );
        let p = propose_file(&file, &engine, 2).unwrap();
        assert_eq!(p.rows, 0);
        assert!(!p.consistent, "{total}: {p:#?}");
        assert!(!p.postable, "{total}: {p:#?}");
        assert!(
            p.blockers.iter().any(|b| b.contains("no body rows")),
            "{total}: {:?}",
            p.blockers
        );
        // nothing is posted to the difference account
        assert!(
            p.journals.iter().all(|j| j.lines.is_empty()),
            "{total}: {p:#?}"
        );
        let report = PreviewReport::new(&file.summary, &p, "UTC");
        assert!(
            report.verdict().contains("INCONSISTENT") && report.verdict().contains("NOT postable"),
            "{}",
            report.verdict()
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let empty = write(dir.path(), "empty.txt", &v2_file("95.01", &[]));
    let (code, out, _) = cli(&["settlement", "preview", empty.to_str().unwrap()]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("INCONSISTENT") && out.contains("no body rows"),
        "{out}"
    );
}

/// Two rules that match the same rows but post to different accounts: only
/// the first could ever apply, so the file is refused, naming both lines.
#[test]
fn rules_with_the_same_criteria_and_other_accounts_name_both_lines() {
    let text = format!(
        "{ACCOUNTS}\n[[rules]]\namount_type = \"ItemPrice\"\namount_description = \"Principal\"\naccount = \"01-000-4010-0000-000\"\n\n[[rules]]\namount_description = \"principal\"\namount_type = \"ITEMPRICE\"\nmarketplace = \"*\"\naccount = \"01-000-4011-0000-000\"\n"
    );
    let err = Mapping::parse(&text).unwrap_err();
    let msg = err.to_string();
    assert_eq!(err.problems.len(), 1, "{msg}");
    assert_eq!(err.problems[0].line, Some(10), "{msg}");
    assert!(
        msg.contains("line 5") && msg.contains("line 10"),
        "both lines: {msg}"
    );
    assert!(
        msg.contains("01-000-4010-0000-000") && msg.contains("01-000-4011-0000-000"),
        "{msg}"
    );
    // the same account twice is harmless; another marketplace is another rule
    Mapping::parse(&format!(
        "{ACCOUNTS}\n[[rules]]\namount_type = \"ItemPrice\"\naccount = \"01-000-4010-0000-000\"\n[[rules]]\namount_type = \"ItemPrice\"\naccount = \"01-000-4010-0000-000\"\nlabel = \"again\"\n[[rules]]\namount_type = \"ItemPrice\"\nmarketplace = \"Amazon.fr\"\naccount = \"01-000-4012-0000-000\"\n"
    ))
    .unwrap();
    // `mapping check` says so too
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "dup.toml", &text);
    let (code, out, _) = cli(&["mapping", "check", path.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("dup.toml: line 10") && out.contains("line 5"),
        "{out}"
    );
}

/// A file that is not UTF-8 is read as Windows-1252: every form of the
/// preview says so; a UTF-8 file's report names its charset and adds no note.
#[test]
fn preview_says_which_charset_decoded_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let utf8 = v2_file("95.01", GOOD_ROWS).replace("SKU1", "SKU-Caf\u{e9}");
    let latin: Vec<u8> = utf8
        .chars()
        .map(|c| u8::try_from(u32::from(c)).unwrap())
        .collect();
    assert!(std::str::from_utf8(&latin).is_err());
    let latin_path = dir.path().join("latin.txt");
    std::fs::write(&latin_path, &latin).unwrap();
    let utf8_path = write(dir.path(), "utf8.txt", &utf8);
    let l = latin_path.to_str().unwrap();
    let u = utf8_path.to_str().unwrap();
    let note = "decoded as windows-1252: not valid UTF-8";

    let (code, out, err) = cli(&["settlement", "preview", l, "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["charset"], "windows-1252", "{out}");
    assert_eq!(v["notes"], serde_json::json!([note]), "{out}");
    let (code, out, _) = cli(&["settlement", "preview", u, "--format", "json"]);
    assert_eq!(code, 0);
    let w: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(w["charset"], "UTF-8", "{out}");
    assert_eq!(w["notes"], serde_json::json!([]), "{out}");
    // the rest of the contract is the same
    for key in [
        "settlement_id",
        "rows",
        "rows_total",
        "journals",
        "postable",
    ] {
        assert_eq!(v[key], w[key], "{key}");
    }

    let (_, out, _) = cli(&["settlement", "preview", l]);
    assert!(out.contains(note), "{out}");
    let (_, out, _) = cli(&["settlement", "preview", u]);
    assert!(!out.contains("decoded as"), "{out}");

    let (_, out, _) = cli(&["settlement", "preview", l, "--format", "csv"]);
    assert!(
        out.lines()
            .any(|r| r.starts_with("1001,") && r.contains(note) && r.ends_with(",note")),
        "{out}"
    );
    let (_, out, _) = cli(&["settlement", "preview", u, "--format", "csv"]);
    assert!(!out.contains(",note"), "{out}");

    // a charset given on the command line is named as given
    let (code, out, err) = cli(&[
        "settlement",
        "preview",
        u,
        "--format",
        "json",
        "--charset",
        "ISO-8859-1",
    ]);
    assert_eq!(code, 0, "{err}");
    let g: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(g["charset"], "windows-1252", "{out}");
    assert_eq!(
        g["notes"],
        serde_json::json!(["decoded as windows-1252: the charset given"]),
        "{out}"
    );
}
