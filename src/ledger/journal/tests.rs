//! Unit tests of the journal engine: merging chunks, the deferred marketplace.

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
