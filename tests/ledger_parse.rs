//! Settlement parsing: every format, locale and quirk on hand-written fixtures,
//! the genuine V1 samples in `../shared` (when present), and mutation property tests.

#[path = "common/require.rs"]
mod require;

use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};
use ml_connector::ledger::model::{DayOrder, PostedAt, RowRef, SettlementFormat};
use ml_connector::ledger::money::DecimalMark;
use ml_connector::ledger::parse::{
    ParseErrorKind, SettlementFile, decode, decode_owned, parse_settlement,
};
use rust_decimal::Decimal;

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/settlements")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn dec(s: &str) -> Decimal {
    Decimal::from_str_exact(s).unwrap()
}

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn day(y: i32, m: u32, d: u32) -> PostedAt {
    PostedAt::Day(NaiveDate::from_ymd_opt(y, m, d).unwrap())
}

/// Parses a fixture through the streaming API and checks rows sum to the total.
fn rows_of(
    bytes: &[u8],
    charset: Option<&str>,
) -> (
    SettlementFileOwned,
    Vec<ml_connector::ledger::model::SettlementRow>,
) {
    let decoded = decode(bytes, charset).unwrap();
    let file = SettlementFile::parse(&decoded.text, decoded.charset).unwrap();
    let rows: Vec<_> = file
        .rows()
        .map(|r| r.map(|r: RowRef<'_>| r.to_owned_row()))
        .collect::<Result<_, _>>()
        .unwrap();
    let sum: Decimal = rows.iter().map(|r| r.amount).sum();
    assert_eq!(sum, file.summary.total_amount, "rows sum to the total");
    let owned = SettlementFileOwned {
        summary: file.summary.clone(),
        locale: file.locale.clone(),
        dominant: file.dominant_marketplace().map(str::to_string),
        body_lines: file.body_lines(),
    };
    (owned, rows)
}

struct SettlementFileOwned {
    summary: ml_connector::ledger::model::SettlementSummary,
    locale: ml_connector::ledger::model::FileLocale,
    dominant: Option<String>,
    body_lines: usize,
}

#[test]
fn v2_us_24_columns() {
    let (file, rows) = rows_of(&fixture("v2-us-24col.txt"), None);
    let s = &file.summary;
    assert_eq!(s.settlement_id, "19870040121");
    assert_eq!(s.format, SettlementFormat::V2);
    assert_eq!(s.start, utc("2025-09-24T08:00:00Z"));
    assert_eq!(s.end, utc("2025-10-08T08:00:00Z"));
    assert_eq!(s.deposit_date, Some(utc("2025-10-10T08:00:00Z")));
    assert_eq!(s.total_amount, dec("947.61"));
    assert_eq!(s.currency.code(), "USD");
    assert_eq!(file.locale.charset, "UTF-8");
    assert_eq!(file.locale.decimal_mark, DecimalMark::Point);
    // posted-date-time is preferred, so the short dates needed no decision
    assert_eq!(file.locale.day_order, None);
    assert_eq!(file.dominant.as_deref(), Some("Amazon.com"));
    assert_eq!(file.body_lines, rows.len());
    assert_eq!(rows.len(), 15);

    let first = &rows[0];
    assert_eq!(first.line, 3);
    assert_eq!(
        (
            first.transaction_type.as_str(),
            first.amount_type.as_str(),
            first.amount_description.as_str()
        ),
        ("Order", "ItemPrice", "Principal")
    );
    assert_eq!(first.amount, dec("25.00"));
    assert_eq!(first.order_id, "112-0000001-0000001");
    assert_eq!(first.marketplace_name, "Amazon.com");
    assert_eq!(
        first.posted,
        Some(PostedAt::Instant(utc("2025-09-29T14:03:11Z")))
    );
    assert_eq!(first.quantity_purchased, Some(1));
    assert_eq!(first.sku, "SKU-A");
    assert_eq!(first.fulfillment_id, "AFN");
    // thousands separator in a point file
    assert!(
        rows.iter()
            .any(|r| r.amount == dec("1234.50") && r.quantity_purchased == Some(2))
    );
    let refund = rows
        .iter()
        .find(|r| r.amount_description == "RefundCommission")
        .unwrap();
    assert_eq!(refund.transaction_type, "Refund");
    assert_eq!(refund.adjustment_id, "amzn1:crow:abc");
    let promo = rows.iter().find(|r| r.amount_type == "Promotion").unwrap();
    assert_eq!(promo.promotion_id, "PROMO-1");
    let sub = rows
        .iter()
        .find(|r| r.amount_description == "Subscription Fee")
        .unwrap();
    assert_eq!(sub.marketplace_name, "");
    assert_eq!(sub.amount, dec("-39.99"));
}

#[test]
fn v2_23_columns_crlf_bom_trailing_spaces() {
    let (file, rows) = rows_of(&fixture("v2-ca-23col-crlf-bom.txt"), None);
    assert_eq!(file.summary.currency.code(), "CAD");
    assert_eq!(file.summary.total_amount, dec("23.26"));
    assert_eq!(file.summary.start, utc("2025-09-30T22:07:18Z"));
    assert_eq!(rows.len(), 3);
    assert!(rows.iter().all(|r| r.promotion_id.is_empty()));
    assert_eq!(
        rows[0].posted,
        Some(PostedAt::Instant(utc("2025-10-03T08:00:00Z")))
    );
    // no `\r` leaks into the last column
    assert!(
        rows.iter()
            .all(|r| !r.sku.contains('\r') && !r.order_id.contains('\r'))
    );
}

#[test]
fn v2_de_comma_decimals_and_dot_dates() {
    let (file, rows) = rows_of(&fixture("v2-de-comma-dotdates.txt"), None);
    assert_eq!(file.locale.decimal_mark, DecimalMark::Comma);
    assert_eq!(file.locale.day_order, Some(DayOrder::DayFirst));
    assert_eq!(file.summary.total_amount, dec("1134.72"));
    assert_eq!(file.summary.start, utc("2025-09-24T08:00:00Z"));
    assert_eq!(file.summary.currency.code(), "EUR");
    assert_eq!(rows[0].amount, dec("1234.56"));
    assert_eq!(rows[0].posted, Some(day(2025, 10, 3)));
    assert_eq!(rows[4].posted, Some(day(2025, 9, 30)));
    assert_eq!(file.dominant.as_deref(), Some("Amazon.de"));
}

#[test]
fn v2_us_short_dates_month_first_from_window() {
    let (file, rows) = rows_of(&fixture("v2-us-shortdates-nodeposit.txt"), None);
    assert_eq!(file.locale.day_order, Some(DayOrder::MonthFirst));
    assert_eq!(file.summary.deposit_date, None);
    assert_eq!(file.summary.start, utc("2025-09-24T08:00:00Z"));
    assert_eq!(rows[0].posted, Some(day(2025, 10, 3)));
    assert_eq!(rows[2].posted, Some(day(2025, 9, 30)));
}

#[test]
fn v2_uk_slash_dates_day_first_from_window() {
    let (file, rows) = rows_of(&fixture("v2-uk-dayfirst-slash.txt"), None);
    assert_eq!(file.locale.day_order, Some(DayOrder::DayFirst));
    assert_eq!(rows[0].posted, Some(day(2025, 10, 3)));
    assert_eq!(rows[1].posted, Some(day(2025, 10, 13)));
}

#[test]
fn v2_jpy_shift_jis_no_decimals() {
    let bytes = fixture("v2-jp-shiftjis.txt");
    let (file, rows) = rows_of(&bytes, None);
    assert_eq!(file.locale.charset, "Shift_JIS");
    assert_eq!(file.summary.total_amount, dec("-3625"));
    assert_eq!(rows[0].sku, "\u{30c6}\u{30b9}\u{30c8}");
    assert_eq!(
        rows[0].posted,
        Some(PostedAt::Instant(utc("2025-10-03T08:00:00Z")))
    );
    // the Content-Type wins when given
    let (file, _) = rows_of(&bytes, Some("text/plain; charset=Shift_JIS"));
    assert_eq!(file.locale.charset, "Shift_JIS");
}

#[test]
fn v2_latin1_download() {
    let bytes = fixture("v2-fr-latin1.txt");
    let (file, rows) = rows_of(&bytes, Some("ISO-8859-1"));
    assert_eq!(file.locale.charset, "windows-1252");
    assert_eq!(rows[0].sku, "CAF\u{c9}-cr\u{e8}me");
    assert_eq!(file.locale.decimal_mark, DecimalMark::Comma);
    // sniffed the same way without a Content-Type
    let (file, rows) = rows_of(&bytes, None);
    assert_eq!(file.locale.charset, "windows-1252");
    assert_eq!(rows[0].amount, dec("95.00"));
}

#[test]
fn v2_columns_by_name_with_unknown_extras() {
    let (file, rows) = rows_of(&fixture("v2-extra-columns.txt"), None);
    assert_eq!(file.summary.total_amount, dec("12.34"));
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].amount_description, "Principal");
    assert_eq!(rows[0].order_item_code, "");
}

#[test]
fn parse_settlement_convenience() {
    let parsed = parse_settlement(&fixture("v2-us-24col.txt"), None).unwrap();
    assert_eq!(parsed.rows.len(), 15);
    assert_eq!(parsed.dominant_marketplace.as_deref(), Some("Amazon.com"));
    assert_eq!(parsed.summary.total_amount, dec("947.61"));
}

#[test]
fn split_rows_covers_every_row_once() {
    let bytes = fixture("v2-us-24col.txt");
    let text = std::str::from_utf8(&bytes).unwrap();
    let file = SettlementFile::parse(text, "UTF-8").unwrap();
    let all: Vec<_> = file.rows().map(Result::unwrap).collect();
    for parts in [1, 2, 3, 5, 16, 100] {
        let chunks = file.split_rows(parts);
        assert!(!chunks.is_empty() && chunks.len() <= parts);
        let joined: Vec<_> = chunks.into_iter().flatten().map(Result::unwrap).collect();
        assert_eq!(joined, all, "{parts} parts");
    }
}

// ---- errors -------------------------------------------------------------

const V2_HEADER: &str = "settlement-id\tsettlement-start-date\tsettlement-end-date\tdeposit-date\ttotal-amount\tcurrency\ttransaction-type\torder-id\tmerchant-order-id\tadjustment-id\tshipment-id\tmarketplace-name\tamount-type\tamount-description\tamount\tfulfillment-id\tposted-date\tposted-date-time\torder-item-code\tmerchant-order-item-id\tmerchant-adjustment-item-id\tsku\tquantity-purchased\tpromotion-id";

fn v2_line(cells: &[(usize, &str)]) -> String {
    let mut row = vec![""; 24];
    for &(i, v) in cells {
        row[i] = v;
    }
    row.join("\t")
}

fn summary_line(total: &str) -> String {
    v2_line(&[
        (0, "1"),
        (1, "2025-09-24 08:00:00 UTC"),
        (2, "2025-10-08 08:00:00 UTC"),
        (3, "2025-10-10 08:00:00 UTC"),
        (4, total),
        (5, "USD"),
    ])
}

fn body_line(amount: &str, posted: &str) -> String {
    v2_line(&[
        (0, "1"),
        (6, "Order"),
        (11, "Amazon.com"),
        (12, "ItemPrice"),
        (13, "Principal"),
        (14, amount),
        (17, posted),
    ])
}

fn first_error(text: &str) -> ml_connector::ledger::parse::ParseError {
    match SettlementFile::parse(text, "UTF-8") {
        Err(e) => e,
        Ok(file) => file.rows().find_map(Result::err).expect("an error"),
    }
}

#[test]
fn located_errors() {
    let ok = "2025-10-01 00:00:00 UTC";
    let text = format!(
        "{V2_HEADER}\n{}\n{}\n{}\n",
        summary_line("1.00"),
        body_line("1.00", ok),
        body_line("abc", ok)
    );
    let e = first_error(&text);
    assert_eq!(e.line, Some(4));
    assert_eq!(e.column.as_deref(), Some("amount"));
    assert_eq!(e.kind, ParseErrorKind::NotANumber("abc".into()));
    assert_eq!(
        e.to_string(),
        "line 4, column `amount`: `abc` is not a number"
    );

    let text = format!(
        "{V2_HEADER}\n{}\n{}\n",
        summary_line("1.00"),
        body_line("1.00", "yesterday")
    );
    let e = first_error(&text);
    assert_eq!(
        (e.line, e.column.as_deref()),
        (Some(3), Some("posted-date-time"))
    );
    assert!(matches!(e.kind, ParseErrorKind::BadDate(_)));

    let text = format!(
        "{V2_HEADER}\n{}\n{}\n",
        summary_line("1.00"),
        body_line("", ok)
    );
    let e = first_error(&text);
    assert_eq!((e.line, e.kind), (Some(3), ParseErrorKind::EmptyAmount));

    // truncated last line
    let full = format!(
        "{V2_HEADER}\n{}\n{}",
        summary_line("1.00"),
        body_line("1.00", ok)
    );
    let cut = &full[..full.len() - 30];
    let e = first_error(cut);
    assert_eq!(e.line, Some(3));
    assert!(
        matches!(e.kind, ParseErrorKind::Truncated { expected: 24, .. }),
        "{e}"
    );

    // a stray tab
    let text = format!(
        "{V2_HEADER}\n{}\n{}\tx\n",
        summary_line("1.00"),
        body_line("1.00", ok)
    );
    let e = first_error(&text);
    assert_eq!(e.line, Some(3));
    assert!(matches!(
        e.kind,
        ParseErrorKind::TooManyColumns {
            found: 25,
            expected: 24
        }
    ));

    // header problems
    let e = first_error("settlement-id\tfoo\tbar\n1\t2\t3\n");
    assert_eq!(e.line, Some(1));
    assert!(
        matches!(e.kind, ParseErrorKind::MissingColumns(ref m) if m.contains(&"amount".to_string()))
    );
    let e = first_error(&format!("{V2_HEADER}\n\n\n"));
    assert_eq!((e.line, e.kind), (Some(2), ParseErrorKind::NoSummaryRow));
    let e = first_error("\n \n");
    assert_eq!(e.kind, ParseErrorKind::Empty);
    let e = first_error(&format!("{V2_HEADER}\n{}\n", summary_line("")));
    assert_eq!(
        (e.line, e.column.as_deref()),
        (Some(2), Some("total-amount"))
    );
    assert_eq!(e.kind, ParseErrorKind::MissingValue);

    let e = decode(b"\x1f\x8b\x08\x00", None).unwrap_err();
    assert_eq!(e.kind, ParseErrorKind::Compressed);
    let e = decode(format!("{V2_HEADER}\n\0\0\0").as_bytes(), None).unwrap_err();
    assert_eq!((e.line, e.kind), (Some(2), ParseErrorKind::Binary));
}

#[test]
fn a_bad_line_does_not_stop_the_rest() {
    let ok = "2025-10-01 00:00:00 UTC";
    let text = format!(
        "{V2_HEADER}\n{}\n{}\n{}\n{}\n",
        summary_line("3.00"),
        body_line("1.00", ok),
        body_line("x", ok),
        body_line("2.00", ok)
    );
    let file = SettlementFile::parse(&text, "UTF-8").unwrap();
    let results: Vec<_> = file.rows().collect();
    assert_eq!(results.len(), 3);
    assert!(results[0].is_ok() && results[1].is_err() && results[2].is_ok());
}

// ---- genuine samples -----------------------------------------------------

fn samples_dir() -> Option<PathBuf> {
    // `../shared` is the documented place; a worktree one level deeper finds it at `../../shared`.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = ["../shared", "../../shared"]
        .iter()
        .map(|p| root.join(p).join("reference/sp-api/settlement-samples"))
        .find(|p| p.is_dir());
    if dir.is_none() {
        require::missing("../shared/reference/sp-api/settlement-samples");
    }
    dir
}

#[test]
fn genuine_v1_samples_sum_to_their_totals() {
    let Some(dir) = samples_dir() else { return };
    let expected = [
        ("ca-v1-flatfile-50011020300.txt", "-321.69", 3),
        ("ca-v1-flatfile-50018020314.txt", "-62.31", 0),
        ("ca-v1-flatfile-50034020328.txt", "1016.08", 0),
        ("ca-v1-flatfile-50044020356.txt", "4630.23", 0),
    ];
    for (name, total, min_rows) in expected {
        let bytes = std::fs::read(dir.join(name)).unwrap();
        let (file, rows) = rows_of(&bytes, None);
        assert_eq!(file.summary.format, SettlementFormat::V1, "{name}");
        assert_eq!(file.summary.total_amount, dec(total), "{name}");
        assert_eq!(file.summary.currency.code(), "CAD");
        assert!(rows.len() >= min_rows.max(1), "{name}");
        assert!(rows.iter().all(|r| r.posted.is_some()), "{name}");
    }
}

// ---- V1 -------------------------------------------------------------------

fn names(r: &ml_connector::ledger::model::SettlementRow) -> (&str, &str, &str, Decimal) {
    (
        r.transaction_type.as_str(),
        r.amount_type.as_str(),
        r.amount_description.as_str(),
        r.amount,
    )
}

#[test]
fn v1_33_columns_every_amount_column_normalised() {
    let (file, rows) = rows_of(&fixture("v1-de-33col.txt"), None);
    assert_eq!(file.summary.format, SettlementFormat::V1);
    assert_eq!(file.locale.decimal_mark, DecimalMark::Comma);
    assert_eq!(file.locale.day_order, Some(DayOrder::DayFirst));
    assert_eq!(file.summary.total_amount, dec("1021.48"));
    assert_eq!(file.body_lines, 8);
    let got: Vec<_> = rows.iter().map(names).collect();
    let want = vec![
        ("Order", "ItemPrice", "Principal", dec("1234.56")),
        ("Order", "ItemFees", "FBA transportation fee", dec("-2.10")),
        (
            "Order",
            "ItemFees",
            "FBAPerOrderFulfillmentFee",
            dec("-1.00"),
        ),
        ("Order", "ItemFees", "Commission", dec("-185.18")),
        ("Order", "other-transaction", "Order", dec("-0.50")),
        (
            "other-transaction",
            "other-transaction",
            "Storage Fee",
            dec("-12.40"),
        ),
        (
            "ServiceFee",
            "ItemFees",
            "Cost of Advertising",
            dec("-10.00"),
        ),
        (
            "other-transaction",
            "other-transaction",
            "TaxAmount",
            dec("-1.90"),
        ),
        (
            "other-transaction",
            "other-transaction",
            "Micro Deposit",
            dec("-0.01"),
        ),
        (
            "other-transaction",
            "other-transaction",
            "Successful charge",
            dec("0.01"),
        ),
    ];
    assert_eq!(got, want);
    // the row keeps its physical line and the line's identifiers
    assert_eq!(rows[0].line, 4);
    assert_eq!(rows[0].order_id, "302-1");
    assert_eq!(rows[0].posted, Some(day(2025, 10, 3)));
    assert_eq!(rows[5].line, 7);
    assert_eq!(rows[5].marketplace_name, "");
    assert_eq!(file.dominant.as_deref(), Some("Amazon.de"));
}

#[test]
fn genuine_v1_vocabulary() {
    let Some(dir) = samples_dir() else { return };
    let bytes = std::fs::read(dir.join("ca-v1-flatfile-50018020314.txt")).unwrap();
    let (file, rows) = rows_of(&bytes, None);
    assert_eq!(file.summary.start, utc("2025-07-31T22:07:18Z"));
    assert_eq!(file.dominant.as_deref(), Some("Amazon.ca"));
    let got: Vec<_> = rows.iter().map(names).collect();
    for want in [
        ("Order", "ItemPrice", "Principal", dec("35.00")),
        ("Order", "ItemFees", "DigitalServicesFee", dec("-0.17")),
        ("Order", "Promotion", "Shipping", dec("-6.99")),
        ("Refund", "ItemFees", "RefundCommission", dec("-1.93")),
        (
            "other-transaction",
            "other-transaction",
            "Payable to Amazon",
            dec("-321.69"),
        ),
        (
            "other-transaction",
            "other-transaction",
            "Subscription Fee",
            dec("-32.09"),
        ),
        (
            "ServiceFee",
            "ItemFees",
            "Cost of Advertising",
            dec("-1.16"),
        ),
        (
            "other-transaction",
            "other-transaction",
            "TaxAmount",
            dec("-0.14"),
        ),
        (
            "other-transaction",
            "other-transaction",
            "Successful charge",
            dec("321.69"),
        ),
    ] {
        assert!(got.contains(&want), "{want:?} in {got:?}");
    }
    let refund = rows
        .iter()
        .find(|r| r.transaction_type == "Refund")
        .unwrap();
    assert_eq!(refund.adjustment_id, "amzn1:crow:0UcGz5LNTCm+rGIQEkAv5g");
    assert_eq!(
        refund.posted,
        Some(PostedAt::Instant(utc("2025-08-14T20:59:25Z")))
    );
    // 33-column sample: trailing spaces and no promotion columns
    let bytes = std::fs::read(dir.join("ca-v1-flatfile-50011020300.txt")).unwrap();
    let (file, rows) = rows_of(&bytes, None);
    assert_eq!(file.body_lines, 3);
    assert_eq!(file.dominant, None);
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[2].amount, dec("32.09"));
}

// ---- bundled examples ----------------------------------------------------

fn example(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("assets/examples")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn example_v2_us() {
    let (file, rows) = rows_of(&example("settlement-v2-us.txt"), None);
    assert_eq!(file.summary.currency.code(), "USD");
    assert!((300..=800).contains(&rows.len()), "{}", rows.len());
    assert_eq!(file.locale.decimal_mark, DecimalMark::Point);
    assert_eq!(file.dominant.as_deref(), Some("Amazon.com"));
    let september = NaiveDate::from_ymd_opt(2025, 9, 30).unwrap();
    let days: Vec<_> = rows
        .iter()
        .filter_map(|r| match r.posted {
            Some(PostedAt::Instant(t)) => Some(t.date_naive()),
            _ => None,
        })
        .collect();
    assert_eq!(days.len(), rows.len(), "every row has posted-date-time");
    assert!(days.iter().any(|d| *d <= september) && days.iter().any(|d| *d > september));
    for description in [
        "Principal",
        "Tax",
        "Shipping",
        "ShippingTax",
        "Commission",
        "FBAPerUnitFulfillmentFee",
        "MarketplaceFacilitatorTax-Principal",
        "RefundCommission",
        "Storage Fee",
        "Subscription Fee",
        "Previous Reserve Amount Balance",
        "Current Reserve Amount",
        "TransactionTotalAmount",
        "WAREHOUSE_DAMAGE",
    ] {
        assert!(
            rows.iter().any(|r| r.amount_description == description),
            "{description}"
        );
    }
    assert!(rows.iter().any(|r| r.amount_type == "Promotion"));
    assert!(rows.iter().any(|r| r.transaction_type == "Refund"));
}

#[test]
fn example_v2_de() {
    let (file, rows) = rows_of(&example("settlement-v2-de.txt"), None);
    assert_eq!(file.summary.currency.code(), "EUR");
    assert_eq!(file.locale.decimal_mark, DecimalMark::Comma);
    assert_eq!(file.summary.start, utc("2025-09-24T08:00:00Z"));
    assert!(rows.iter().any(|r| r.amount >= dec("1000")));
    let text = String::from_utf8(example("settlement-v2-de.txt")).unwrap();
    assert!(
        text.contains("\t1.389,00\t"),
        "a thousands separator in the file"
    );
}

#[test]
fn example_v1_ca() {
    let (file, rows) = rows_of(&example("settlement-v1-ca.txt"), None);
    assert_eq!(file.summary.format, SettlementFormat::V1);
    assert!(file.summary.total_amount < Decimal::ZERO);
    let text = String::from_utf8(example("settlement-v1-ca.txt")).unwrap();
    assert_eq!(text.lines().next().unwrap().split('\t').count(), 36);
    for description in [
        "Payable to Amazon",
        "Successful charge",
        "Subscription Fee",
        "TaxAmount",
    ] {
        assert!(
            rows.iter().any(
                |r| r.amount_type == "other-transaction" && r.amount_description == description
            ),
            "{description}"
        );
    }
}

// ---- property tests: mutated files never panic and errors are located ----

mod mutations {
    use super::*;
    use proptest::prelude::*;

    /// Runs the whole pipeline the way callers do; every error must name a line.
    fn check(bytes: &[u8]) {
        for charset in [
            None,
            Some("windows-1252"),
            Some("ISO-8859-8"),
            Some("Shift_JIS"),
        ] {
            assert_owned_decode_same(bytes, charset);
        }
        let located = |e: &ml_connector::ledger::parse::ParseError| {
            assert!(e.line.is_some(), "unlocated error: {e:?}");
            assert!(!e.to_string().is_empty());
        };
        let decoded = match decode(bytes, None) {
            Ok(d) => d,
            Err(e) => return located(&e),
        };
        let file = match SettlementFile::parse(&decoded.text, decoded.charset) {
            Ok(f) => f,
            Err(e) => return located(&e),
        };
        let mut streamed = Vec::new();
        for row in file.rows() {
            match row {
                Ok(r) => streamed.push(r),
                Err(e) => located(&e),
            }
        }
        let chunked: Vec<_> = file
            .split_rows(3)
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .collect();
        assert_eq!(chunked, streamed, "chunks see the same rows");
        if let Err(e) = parse_settlement(bytes, None) {
            located(&e);
        }
    }

    fn base_files() -> Vec<Vec<u8>> {
        let mut files: Vec<Vec<u8>> = [
            "v2-us-24col.txt",
            "v2-ca-23col-crlf-bom.txt",
            "v2-de-comma-dotdates.txt",
            "v2-jp-shiftjis.txt",
            "v1-de-33col.txt",
        ]
        .iter()
        .map(|n| fixture(n))
        .collect();
        files.push(example("settlement-v1-ca.txt"));
        files
    }

    #[derive(Debug, Clone)]
    enum Mutation {
        Truncate(usize),
        Flip(usize, u8),
        DeleteTab(usize),
        DuplicateTab(usize),
        Insert(usize, Vec<u8>),
    }

    fn mutation() -> impl Strategy<Value = Mutation> {
        prop_oneof![
            any::<usize>().prop_map(Mutation::Truncate),
            (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Flip(i, b)),
            any::<usize>().prop_map(Mutation::DeleteTab),
            any::<usize>().prop_map(Mutation::DuplicateTab),
            (
                any::<usize>(),
                prop_oneof![
                    proptest::collection::vec(any::<u8>(), 1..12),
                    Just(b"\t".to_vec()),
                    Just(b"\n".to_vec()),
                    Just(b"\r\n\r\n".to_vec()),
                    Just(b"-".to_vec()),
                    Just(b",".to_vec()),
                    Just(b"99999999999999999999999999999999".to_vec()),
                    Just("\u{feff}".as_bytes().to_vec()),
                    Just(b"\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\n".to_vec()),
                ]
            )
                .prop_map(|(i, g)| Mutation::Insert(i, g)),
        ]
    }

    fn apply(mut bytes: Vec<u8>, m: &Mutation) -> Vec<u8> {
        let tabs: Vec<usize> = bytes
            .iter()
            .enumerate()
            .filter(|(_, b)| **b == b'\t')
            .map(|(i, _)| i)
            .collect();
        match *m {
            Mutation::Truncate(i) => bytes.truncate(i % (bytes.len() + 1)),
            Mutation::Flip(i, b) => {
                if !bytes.is_empty() {
                    let at = i % bytes.len();
                    bytes[at] ^= b;
                }
            }
            Mutation::DeleteTab(i) => {
                if !tabs.is_empty() {
                    bytes.remove(tabs[i % tabs.len()]);
                }
            }
            Mutation::DuplicateTab(i) => {
                if !tabs.is_empty() {
                    bytes.insert(tabs[i % tabs.len()], b'\t');
                }
            }
            Mutation::Insert(i, ref g) => {
                let at = i % (bytes.len() + 1);
                bytes.splice(at..at, g.iter().copied());
            }
        }
        bytes
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        #[test]
        fn mutated_files_never_panic(
            which in 0usize..6,
            mutations in proptest::collection::vec(mutation(), 1..4),
        ) {
            let mut bytes = base_files().swap_remove(which);
            for m in &mutations {
                bytes = apply(bytes, m);
            }
            check(&bytes);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            check(&bytes);
        }

        #[test]
        fn header_then_garbage_never_panics(tail in "[0-9a-zA-Z.,:/ \\-\\t\\r\\n]{0,300}") {
            let text = format!("{V2_HEADER}\n{tail}");
            check(text.as_bytes());
        }
    }
}

/// A body above the parallel pre-scan threshold: both halves' evidence counts.
#[test]
fn large_file_prescan_merges_both_halves() {
    let header = V2_HEADER.replace("\tposted-date-time", "\tposted-date-time-unused");
    let mut text = format!("{header}\n{}\n", summary_line("0"));
    let pad = "x".repeat(120);
    let rows = 70_000;
    let mut total = Decimal::ZERO;
    for i in 0..rows {
        // first half: Amazon.ca, dates that fit either order; second half: more
        // Amazon.com rows and a 10/13/25 that only month-first can place
        let (market, date) = if i < rows / 2 - 1_000 {
            ("Amazon.ca", "10/03/25")
        } else {
            ("Amazon.com", "10/13/25")
        };
        let amount = format!("{}.{:02}", i % 50, i % 100);
        total += dec(&amount);
        text.push_str(&v2_line(&[
            (0, "1"),
            (6, "Order"),
            (11, market),
            (12, "ItemPrice"),
            (13, "Principal"),
            (14, &amount),
            (16, date),
            (21, &pad),
        ]));
        text.push('\n');
    }
    let text = text.replacen("\t0\tUSD", &format!("\t{total}\tUSD"), 1);
    let text = text
        .replace("2025-09-24 08:00:00 UTC", "2025-09-30 08:00:00 UTC")
        .replace("2025-10-08 08:00:00 UTC", "2025-10-14 08:00:00 UTC");
    assert!(text.len() > 9 << 20, "{}", text.len());
    let file = SettlementFile::parse(&text, "UTF-8").unwrap();
    assert_eq!(file.body_lines(), rows);
    assert_eq!(file.dominant_marketplace(), Some("Amazon.com"));
    assert_eq!(file.locale.day_order, Some(DayOrder::MonthFirst));
    assert_eq!(file.locale.decimal_mark, DecimalMark::Point);
    let sum: Decimal = file
        .split_rows(4)
        .into_iter()
        .flatten()
        .map(|r| r.unwrap().amount)
        .sum();
    assert_eq!(sum, file.summary.total_amount);
}

mod amounts {
    use super::*;
    use ml_connector::ledger::money::parse_amount;
    use proptest::prelude::*;

    /// Writes `value` the way a file with `mark` would, with or without grouping.
    fn render(value: Decimal, mark: DecimalMark, group: bool, trailing_spaces: usize) -> String {
        let plain = value.abs().to_string();
        let (int, frac) = plain.split_once('.').unwrap_or((plain.as_str(), ""));
        let (dec_mark, sep) = match mark {
            DecimalMark::Point => ('.', ','),
            DecimalMark::Comma => (',', '.'),
        };
        let mut grouped = String::new();
        for (i, c) in int.chars().enumerate() {
            if group && i > 0 && (int.len() - i) % 3 == 0 {
                grouped.push(sep);
            }
            grouped.push(c);
        }
        let mut out = String::new();
        if value.is_sign_negative() && !value.is_zero() {
            out.push('-');
        }
        out.push_str(&grouped);
        if !frac.is_empty() {
            out.push(dec_mark);
            out.push_str(frac);
        }
        out.push_str(&" ".repeat(trailing_spaces));
        out
    }

    proptest! {
        #[test]
        fn amounts_round_trip_in_both_locales(
            units in -10_000_000_000i64..10_000_000_000,
            scale in 0u32..4,
            group in any::<bool>(),
            comma in any::<bool>(),
            spaces in 0usize..4,
        ) {
            let value = Decimal::new(units, scale);
            let mark = if comma { DecimalMark::Comma } else { DecimalMark::Point };
            let cell = render(value, mark, group, spaces);
            prop_assert_eq!(parse_amount(&cell, mark).unwrap(), value, "{}", cell);
            // the same digits keep their scale (`1.50` stays two places)
            prop_assert_eq!(parse_amount(&cell, mark).unwrap().scale(), value.scale());
        }

        #[test]
        fn parse_amount_never_panics(cell in "\\PC{0,40}", comma in any::<bool>()) {
            let mark = if comma { DecimalMark::Comma } else { DecimalMark::Point };
            let _ = parse_amount(&cell, mark);
        }
    }
}

#[test]
fn short_dates_after_unambiguous_ones_follow_their_separator_convention() {
    let row = |posted_date: &str, posted_date_time: &str| {
        v2_line(&[
            (0, "1"),
            (6, "other-transaction"),
            (12, "other-transaction"),
            (13, "Storage Fee"),
            (14, "-1.00"),
            (16, posted_date),
            (17, posted_date_time),
        ])
    };
    let text = format!(
        "{V2_HEADER}\n{}\n{}\n{}\n{}\n",
        summary_line("-3.00"),
        row("", "2025-10-01 00:00:00 UTC"),
        row("03.10.2025", ""),
        row("10/04/25", "")
    );
    let file = SettlementFile::parse(&text, "UTF-8").unwrap();
    assert_eq!(file.locale.day_order, None);
    let rows: Vec<_> = file.rows().map(Result::unwrap).collect();
    assert_eq!(rows[1].posted, Some(day(2025, 10, 3)));
    assert_eq!(rows[2].posted, Some(day(2025, 10, 4)));
}

#[test]
fn rows_can_move_to_other_threads() {
    fn send<T: Send>() {}
    send::<ml_connector::ledger::parse::Rows<'static>>();
    send::<SettlementFile<'static>>();
}

#[test]
fn v1_errors_name_the_amount_column() {
    let text = String::from_utf8(fixture("v1-de-33col.txt")).unwrap();
    let bad = text.replacen("\t-185,18\t", "\t-18x,18\t", 1);
    let file = SettlementFile::parse(&bad, "UTF-8").unwrap();
    let results: Vec<_> = file.rows().collect();
    let errors: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].line, Some(6));
    assert_eq!(errors[0].column.as_deref(), Some("item-related-fee-amount"));
    // the misc fee on the same line still comes through
    assert!(
        results
            .iter()
            .flatten()
            .any(|r| r.line == 6 && r.amount == dec("-0.50"))
    );
    let bad = text.replacen("\t03.10.2025\t", "\t33.33.2025\t", 1);
    let e = SettlementFile::parse(&bad, "UTF-8")
        .unwrap()
        .rows()
        .find_map(Result::err)
        .unwrap();
    assert_eq!(
        (e.line, e.column.as_deref()),
        (Some(3), Some("posted-date"))
    );
}

#[test]
fn charset_edge_cases() {
    let bytes = fixture("v2-ca-23col-crlf-bom.txt");
    assert!(bytes.starts_with(b"\xef\xbb\xbf"));
    // a BOM with a declared charset: still read as UTF-8, BOM dropped
    let d = decode(&bytes, Some("windows-1252")).unwrap();
    assert_eq!(d.charset, "UTF-8");
    assert!(d.text.starts_with("settlement-id"));
    // an unknown label falls back to sniffing
    let d = decode(&bytes, Some("x-unknown")).unwrap();
    assert_eq!(d.charset, "UTF-8");
    // a declared UTF-8 that is not: located error
    let mut bad = fixture("v2-us-24col.txt");
    let third_line = bad
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .nth(1)
        .unwrap()
        .0;
    bad[third_line + 3] = 0xff;
    let e = decode(&bad, Some("UTF-8")).unwrap_err();
    assert_eq!(e.line, Some(3));
    assert_eq!(e.kind, ParseErrorKind::BadEncoding("UTF-8"));
    assert_eq!(e.to_string(), "line 3: bytes that are not valid UTF-8");
}

#[test]
fn split_rows_edge_cases() {
    let text = format!("{V2_HEADER}\n{}\n", summary_line("0"));
    let file = SettlementFile::parse(&text, "UTF-8").unwrap();
    assert_eq!(file.body_lines(), 0);
    let chunks = file.split_rows(0);
    assert_eq!(chunks.len(), 1);
    assert_eq!(chunks.into_iter().flatten().count(), 0);
    assert_eq!(file.summary.total_amount, Decimal::ZERO);
    assert_eq!(file.dominant_marketplace(), None);
}

// ---- two-part texts (parse_split) ----------------------------------------

/// Every cut at a line break after the summary row: [`SettlementFile::parse_split`]
/// gives the summary, locale, rows, errors and census of [`SettlementFile::parse`].
fn assert_split_same(text: &str) {
    let whole = SettlementFile::parse(text, "UTF-8").unwrap();
    let rows: Vec<_> = whole.rows().collect();
    let newlines: Vec<usize> = text.match_indices('\n').map(|(i, _)| i).collect();
    assert!(newlines.len() >= 2, "a header and a summary row");
    for &nl in &newlines[1..] {
        let (head, tail) = text.split_at(nl + 1);
        let split = SettlementFile::parse_split(head, tail, "UTF-8").unwrap();
        assert_eq!(split.summary, whole.summary, "cut at {nl}");
        assert_eq!(split.locale, whole.locale, "cut at {nl}");
        assert_eq!(split.rows().collect::<Vec<_>>(), rows, "cut at {nl}");
        for parts in [1, 2, 3, 5] {
            let chunks = split.split_rows(parts);
            assert!(!chunks.is_empty() && chunks.len() <= parts.max(2));
            let joined: Vec<_> = chunks.into_iter().flatten().collect();
            assert_eq!(joined, rows, "cut at {nl}, {parts} parts");
        }
        assert_eq!(split.body_lines(), whole.body_lines(), "cut at {nl}");
        assert_eq!(
            split.dominant_marketplace(),
            whole.dominant_marketplace(),
            "cut at {nl}"
        );
    }
}

#[test]
fn parse_split_equals_whole_text_on_utf8_fixtures() {
    let mut tested = 0;
    for name in [
        "v1-de-33col.txt",
        "v2-ca-23col-crlf-bom.txt",
        "v2-de-comma-dotdates.txt",
        "v2-extra-columns.txt",
        "v2-uk-dayfirst-slash.txt",
        "v2-us-24col.txt",
        "v2-us-shortdates-nodeposit.txt",
    ] {
        let bytes = fixture(name);
        let text = std::str::from_utf8(&bytes).unwrap();
        assert_split_same(text);
        tested += 1;
    }
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/examples");
    for entry in std::fs::read_dir(examples).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        assert_split_same(std::str::from_utf8(&bytes).unwrap());
        tested += 1;
    }
    assert!(tested >= 10);
}

#[test]
fn parse_split_locates_errors_in_the_tail_as_the_whole_text() {
    // short dates decided by a later row, blank lines, a bad amount, a bad
    // date and a truncated row, all after the first cut
    let mut text = format!("{V2_HEADER}\n{}\n", summary_line("1.00"));
    for i in 0..12 {
        text.push_str(&body_line("1.00", "2025-10-01 08:00:00 UTC"));
        text.push('\n');
        if i == 4 {
            text.push_str("  \n");
        }
    }
    let bad_amount_line = text.lines().count() as u32 + 1;
    text.push_str(&body_line("1,2x", "2025-10-01 08:00:00 UTC"));
    text.push('\n');
    text.push_str(&body_line("1.00", "not a date"));
    text.push_str("\r\n");
    text.push_str("1\t\t\tOrder\n");
    assert_split_same(&text);
    let e = first_error(&text);
    assert_eq!(e.line, Some(bad_amount_line));
    assert_eq!(e.column.as_deref(), Some("amount"));
    let (head, tail) =
        text.split_at(text.len() / 2 + text[text.len() / 2..].find('\n').unwrap() + 1);
    let split = SettlementFile::parse_split(head, tail, "UTF-8").unwrap();
    let errors: Vec<_> = split.rows().filter_map(Result::err).collect();
    assert_eq!(errors.len(), 3);
    assert_eq!(errors[0], e);
    assert_eq!(errors[1].line, Some(bad_amount_line + 1));
    assert_eq!(errors[1].column.as_deref(), Some("posted-date-time"));
    assert_eq!(errors[2].line, Some(bad_amount_line + 2));
}

#[test]
fn parse_split_decides_the_locale_from_the_tail_too() {
    // the head's body has no amount with a decimal mark nor an ambiguous date:
    // the tail's `1.234,56` and `13.10.2025` decide, as in the whole text
    let mut text = format!("{V2_HEADER}\n{}\n", {
        let mut s = v2_line(&[
            (0, "1"),
            (1, "24.09.2025 08:00:00 UTC"),
            (2, "08.10.2025 08:00:00 UTC"),
            (3, ""),
            (4, "1234"),
            (5, "EUR"),
        ]);
        s.push_str("");
        s
    });
    text.push_str(&v2_line(&[(0, "1"), (6, "Order"), (14, "1"), (16, "")]));
    text.push('\n');
    let cut = text.len();
    text.push_str(&v2_line(&[
        (0, "1"),
        (6, "Order"),
        (14, "1.234,56"),
        (16, "13.10.2025"),
    ]));
    text.push('\n');
    text.push_str(&v2_line(&[
        (0, "1"),
        (6, "Order"),
        (14, "-1,56"),
        (16, "01.10.2025"),
    ]));
    text.push('\n');
    let whole = SettlementFile::parse(&text, "UTF-8").unwrap();
    assert_eq!(whole.locale.decimal_mark, DecimalMark::Comma);
    let (head, tail) = text.split_at(cut);
    let split = SettlementFile::parse_split(head, tail, "UTF-8").unwrap();
    assert_eq!(split.locale, whole.locale);
    assert_eq!(split.summary, whole.summary);
    assert_eq!(
        split.rows().collect::<Vec<_>>(),
        whole.rows().collect::<Vec<_>>()
    );
    assert_split_same(&text);
}

/// [`decode_owned`] gives what [`decode`] gives: text, charset, or error.
fn assert_owned_decode_same(bytes: &[u8], charset: Option<&str>) {
    let borrowed = decode(bytes, charset).map(|d| (d.text.into_owned(), d.charset));
    let owned = decode_owned(bytes.to_vec(), charset).map(|d| (d.text.into_owned(), d.charset));
    assert_eq!(owned, borrowed, "{charset:?}");
}

/// Decoding bytes handed over (the preview's path, which converts
/// single-byte charsets in place) reads every fixture as decoding borrowed
/// bytes does, under every charset label.
#[test]
fn owned_decoding_equals_borrowed_decoding() {
    let mut files: Vec<Vec<u8>> = [
        "v2-us-24col.txt",
        "v2-ca-23col-crlf-bom.txt",
        "v2-de-comma-dotdates.txt",
        "v2-fr-latin1.txt",
        "v2-jp-shiftjis.txt",
        "v1-de-33col.txt",
    ]
    .iter()
    .map(|n| fixture(n))
    .collect();
    let all_bytes: Vec<u8> = (1u8..=255).collect();
    files.push(format!("{V2_HEADER}\n").into_bytes());
    files.push([b"a\tb\n".as_slice(), &all_bytes, b"\n\xe9\xe9\xe9"].concat());
    files.push(b"\xef\xbb\xbfcaf\xc3\xa9\n".to_vec());
    files.push(b"\xff\xfea\x00\n\x00".to_vec());
    files.push(b"caf\xe9\ncaf\xe9\n\x80\x9f\xff".to_vec());
    for bytes in &files {
        for charset in [
            None,
            Some("UTF-8"),
            Some("windows-1252"),
            Some("ISO-8859-1"),
            Some("ISO-8859-8"),
            Some("KOI8-R"),
            Some("Shift_JIS"),
            Some("UTF-16LE"),
        ] {
            assert_owned_decode_same(bytes, charset);
        }
    }
    let latin = fixture("v2-fr-latin1.txt");
    let d = decode_owned(latin, None).unwrap();
    assert_eq!(d.charset, "windows-1252");
    assert!(d.text.contains("CAF\u{c9}-cr\u{e8}me"));
}

// ---- rows that belong to another settlement (issue 14) --------------------

/// A body row in another currency than the summary row's, or with another
/// settlement id, is a located error naming what was found and what was
/// expected; so is a summary row whose start is after its end. Empty cells
/// (the usual body row) are fine.
#[test]
fn rows_of_another_settlement_or_currency_and_reversed_periods_are_located_errors() {
    let ok = "2025-10-01 00:00:00 UTC";
    let row = |id: &str, currency: &str| {
        v2_line(&[
            (0, id),
            (5, currency),
            (6, "Order"),
            (11, "Amazon.com"),
            (12, "ItemPrice"),
            (13, "Principal"),
            (14, "1.00"),
            (17, ok),
        ])
    };
    // the usual rows: same id (or none), same currency (any case, or none)
    let text = format!(
        "{V2_HEADER}\n{}\n{}\n{}\n{}\n{}\n",
        summary_line("4.00"),
        row("1", ""),
        row("1", "USD"),
        row("", ""),
        row(" 1 ", "usd"),
    );
    let file = SettlementFile::parse(&text, "UTF-8").unwrap();
    assert!(file.rows().all(|r| r.is_ok()));

    let text = format!(
        "{V2_HEADER}\n{}\n{}\n{}\n",
        summary_line("2.00"),
        row("1", "USD"),
        row("1", "EUR"),
    );
    let e = first_error(&text);
    assert_eq!(e.line, Some(4), "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains("line 4") && msg.contains("EUR") && msg.contains("USD"),
        "{msg}"
    );

    let text = format!(
        "{V2_HEADER}\n{}\n{}\n{}\n",
        summary_line("2.00"),
        row("1", ""),
        row("2", ""),
    );
    let e = first_error(&text);
    assert_eq!(e.line, Some(4), "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains("line 4") && msg.contains("`2`") && msg.contains("`1`"),
        "{msg}"
    );
    // every chunk finds it too
    let file = SettlementFile::parse(&text, "UTF-8").unwrap();
    let errors: Vec<_> = file
        .split_rows(2)
        .into_iter()
        .flatten()
        .filter_map(Result::err)
        .collect();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].line, Some(4));

    // V1: the same check on a line that expands into several rows
    let v1 = String::from_utf8(fixture("v1-de-33col.txt")).unwrap();
    let mut lines: Vec<String> = v1.lines().map(str::to_string).collect();
    let body = lines
        .iter()
        .position(|l| l.starts_with("42\t") && !l.contains("EUR"))
        .unwrap();
    lines[body] = lines[body].replacen("42\t", "43\t", 1);
    let e = first_error(&lines.join("\n"));
    assert_eq!(e.line, Some(body as u32 + 1), "{e}");
    assert!(e.to_string().contains("`43`"), "{e}");

    // a summary row whose period ends before it starts
    let reversed = v2_line(&[
        (0, "1"),
        (1, "2025-10-08 08:00:00 UTC"),
        (2, "2025-09-24 08:00:00 UTC"),
        (3, "2025-10-10 08:00:00 UTC"),
        (4, "1.00"),
        (5, "USD"),
    ]);
    let text = format!("{V2_HEADER}\n{reversed}\n{}\n", row("1", ""));
    let e = SettlementFile::parse(&text, "UTF-8").unwrap_err();
    assert_eq!(e.line, Some(2), "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains("2025-10-08") && msg.contains("2025-09-24") && msg.contains("after"),
        "{msg}"
    );
    assert!(parse_settlement(text.as_bytes(), None).is_err());
}

/// The probe the next test runs in a child process (does nothing in a normal run).
#[test]
fn require_probe() {
    if std::env::var_os("MLC_REQUIRE_PROBE").is_some() {
        require::missing("a dependency of the probe");
    }
}

/// Issue 14: a test whose outside dependency is missing skips on a developer machine and
/// fails under CI, never passes silently there.
#[test]
fn a_missing_dependency_fails_under_ci_and_skips_elsewhere() {
    let run = |ci: Option<&str>| {
        let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
        cmd.args([
            "--exact",
            "require_probe",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("MLC_REQUIRE_PROBE", "1")
        .env_remove("CI");
        if let Some(v) = ci {
            cmd.env("CI", v);
        }
        let out = cmd.output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, err) = run(Some("true"));
    assert!(!ok, "passed under CI: {err}");
    assert!(
        err.contains("a dependency of the probe is missing and CI is set"),
        "{err}"
    );
    for quiet in [None, Some(""), Some("false"), Some("0")] {
        let (ok, err) = run(quiet);
        assert!(ok, "CI={quiet:?}: {err}");
        assert!(
            err.contains("skipping: a dependency of the probe is missing"),
            "{err}"
        );
    }
}
