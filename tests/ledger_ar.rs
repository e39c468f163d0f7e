//! AR planning (issue 17): invoices, credit memos, receipt and the GL rest,
//! from small V2 fixtures (`tests/fixtures/settlements/ar-*.txt`).

use std::collections::BTreeSet;

use chrono::NaiveDate;
use chrono_tz::Tz;
use ml_connector::ledger::ar::{
    ArClass, ArItem, ArLineKind, ArOptions, ArPlan, CmKind, InvoiceRef, plan_ar,
};
use ml_connector::ledger::mapping::Mapping;
use ml_connector::ledger::parse::{ParsedSettlement, parse_settlement};
use ml_connector::ledger::periods::Calendar;
use rust_decimal::Decimal;

const MAPPING: &str = r#"
[accounts]
clearing = "01-000-1190-0000-000"

[ar]
memo_line = "Amazon sales"

[[sku]]
sku = "SKU-A"
item = "ITEM-A"

[[sku]]
sku = "SKU-B"
item = "ITEM-B-US"
marketplace = "amazon.com"

[[sku]]
sku = "SKU-B"
item = "ITEM-B"
"#;

fn dec(s: &str) -> Decimal {
    Decimal::from_str_exact(s).unwrap()
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn fixture(name: &str) -> ParsedSettlement {
    let path = format!(
        "{}/tests/fixtures/settlements/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    parse_settlement(&std::fs::read(path).unwrap(), None).unwrap()
}

fn calendar() -> Calendar {
    Calendar::months(day(2025, 6, 1), day(2025, 12, 31))
}

fn no_invoice(_: &str) -> Option<InvoiceRef> {
    None
}

fn plan_with(name: &str, opts: &ArOptions<'_>) -> (ParsedSettlement, ArPlan) {
    let s = fixture(name);
    let mapping = Mapping::parse(MAPPING).unwrap();
    let plan = plan_ar(&s.summary, &s.rows, "Amazon.com", &mapping, opts).unwrap();
    (s, plan)
}

fn plan(name: &str) -> (ParsedSettlement, ArPlan) {
    let cal = calendar();
    plan_with(name, &ArOptions::new(&cal, &no_invoice))
}

fn sum(it: impl Iterator<Item = Decimal>) -> Decimal {
    it.fold(Decimal::ZERO, |a, b| a.checked_add(b).unwrap())
}

fn is_revenue(r: &ml_connector::ledger::model::SettlementRow) -> bool {
    let d = r.amount_description.as_str();
    r.amount_type == "ItemPrice" && matches!(d, "Principal" | "Shipping")
        || r.amount_type == "Promotion"
}

/// The invariants every plan keeps.
fn check_invariants(s: &ParsedSettlement, p: &ArPlan) {
    let inv = sum(p.invoices.iter().map(|i| i.total()));
    let cms = sum(p.credit_memos.iter().map(|i| i.total()));
    // sum(invoices) - |sum(credit memos)| = receipt + refund activity
    assert_eq!(inv + cms, p.receipt_amount + p.refund_activity);
    assert!(p.receipt_amount >= Decimal::ZERO && p.refund_activity <= Decimal::ZERO);
    assert!(p.receipt_amount.is_zero() || p.refund_activity.is_zero());
    // AR + GL rows (carried balance excluded) = settlement total - carried balance
    let gl = sum(p.gl_rows_remaining.iter().map(|r| r.amount));
    assert_eq!(
        p.ar_total() + gl - p.carried_balance,
        s.summary.total_amount - p.carried_balance
    );
    // every row is taken exactly once: by AR or by the GL
    let mut seen: Vec<u32> = p
        .invoices
        .iter()
        .chain(&p.credit_memos)
        .flat_map(|d| d.lines.iter().flat_map(|l| l.source_lines.iter().copied()))
        .chain(p.gl_rows_remaining.iter().map(|r| r.line))
        .collect();
    seen.sort();
    let all: Vec<u32> = s.rows.iter().map(|r| r.line).collect();
    assert_eq!(seen, all);
    // revenue goes to AR only (MCF orders have no revenue rows in these files)
    for r in &p.gl_rows_remaining {
        assert!(
            !is_revenue(r),
            "revenue row left for the GL: line {}",
            r.line
        );
    }
    // the transaction flexfield is unique per interface line, and CMs are negative here
    let mut flex = BTreeSet::new();
    for d in p.invoices.iter().chain(&p.credit_memos) {
        assert_eq!(d.context, "AMAZON");
        for l in &d.lines {
            assert_eq!(l.flexfield[2], p.settlement_id);
            assert!(
                flex.insert(l.flexfield.clone()),
                "duplicate {:?}",
                l.flexfield
            );
        }
    }
    let trx: BTreeSet<_> = p
        .invoices
        .iter()
        .chain(&p.credit_memos)
        .map(|d| &d.trx_number)
        .collect();
    assert_eq!(trx.len(), p.invoices.len() + p.credit_memos.len());
}

#[test]
fn mixed_settlement_invoices_lines_and_invariants() {
    let (s, p) = plan("ar-us-mixed.txt");
    check_invariants(&s, &p);
    assert!(p.problems.is_empty(), "{:?}", p.problems);
    let trx: Vec<_> = p.invoices.iter().map(|i| i.trx_number.as_str()).collect();
    assert_eq!(
        trx,
        [
            "111-0000001-0000001",
            "111-0000002-0000002-1",
            "111-0000002-0000002-2"
        ]
    );
    let a = &p.invoices[0];
    assert_eq!(a.class, ArClass::Inv);
    assert_eq!(a.gl_date, day(2025, 9, 29));
    let labels: Vec<_> = a.lines.iter().map(|l| l.flexfield[4].as_str()).collect();
    assert_eq!(
        labels,
        [
            "PRINCIPAL",
            "SHIPPING",
            "TAX",
            "SHIPPING_TAX",
            "PROMOTION PROMO-10OFF"
        ]
    );
    let kinds: Vec<_> = a.lines.iter().map(|l| l.kind).collect();
    use ArLineKind::*;
    assert_eq!(kinds, [Line, Freight, Tax, Tax, Line]);
    let principal = &a.lines[0];
    assert_eq!(principal.item, ArItem::Item("ITEM-A".into()));
    assert_eq!(
        (principal.quantity, principal.unit_price, principal.amount),
        (dec("2"), dec("20"), dec("40.00"))
    );
    assert_eq!(
        principal.flexfield,
        [
            "111-0000001-0000001",
            "SA1",
            "24000000001",
            "OIC-A1",
            "PRINCIPAL"
        ]
        .map(String::from)
    );
    // tax hangs on its line; the promotion is a negative line linked to its item
    assert_eq!(a.lines[2].link_to, Some(0));
    assert_eq!(a.lines[3].link_to, Some(1));
    let promo = &a.lines[4];
    assert_eq!((promo.amount, promo.link_to), (dec("-4.00"), Some(0)));
    assert_eq!(promo.item, ArItem::Item("ITEM-A".into()));
    assert_eq!(a.total(), dec("45.05"));
    // marketplace-facilitator tax is not a TAX line: it stays in the GL, both sides
    let b1 = &p.invoices[1];
    assert!(b1.lines.iter().all(|l| l.kind != Tax));
    assert_eq!(b1.lines[0].item, ArItem::Item("ITEM-B-US".into()));
    let mf: Vec<_> = p
        .gl_rows_remaining
        .iter()
        .filter(|r| r.order_item_code == "OIC-B1" && r.amount_type != "ItemFees")
        .map(|r| r.amount)
        .collect();
    assert_eq!(mf, [dec("1.80"), dec("-1.80")]);
    // an unmapped SKU sells through the memo line
    assert_eq!(
        p.invoices[2].lines[0].item,
        ArItem::Memo("Amazon sales".into())
    );
    // MCF: excluded, its fee stays in the GL
    assert_eq!(p.excluded_mcf_orders, ["MCF-0001"]);
    assert!(p.gl_rows_remaining.iter().any(|r| r.order_id == "MCF-0001"));
    assert!(!p.invoices.iter().any(|i| i.order_id == "MCF-0001"));
    // totals
    assert_eq!(p.receipt_amount, dec("58.25"));
    assert_eq!(p.refund_activity, Decimal::ZERO);
    assert_eq!(p.carried_balance, dec("50.00"));
}

#[test]
fn credit_memos_apply_to_known_invoices_else_on_account() {
    let (_, p) = plan("ar-us-mixed.txt");
    let trx: Vec<_> = p
        .credit_memos
        .iter()
        .map(|c| c.trx_number.as_str())
        .collect();
    assert_eq!(trx, ["111-0000001-0000001-R1", "111-0000009-0000009-R1"]);
    let a = &p.credit_memos[0];
    assert_eq!((a.class, a.cm_kind), (ArClass::Cm, Some(CmKind::Refund)));
    assert_eq!(
        a.applies_to.as_ref().unwrap().trx_number,
        "111-0000001-0000001"
    );
    assert_eq!(a.lines[0].flexfield[4], "REFUND PRINCIPAL");
    assert_eq!(a.lines[0].flexfield[1], "ADJ-A1");
    assert_eq!(
        (a.lines[0].quantity, a.lines[0].amount),
        (dec("-1"), dec("-20.00"))
    );
    assert_eq!(a.lines[0].reference.as_ref().unwrap()[4], "PRINCIPAL");
    assert_eq!(a.lines[1].reference.as_ref().unwrap()[4], "TAX");
    assert_eq!(a.lines[1].link_to, Some(0));
    let u = &p.credit_memos[1];
    assert_eq!(u.applies_to, None);
    assert!(u.on_account_reason.is_some());
    assert!(u.lines.iter().all(|l| l.reference.is_none()));
}

#[test]
fn refunds_outweighing_sales_give_a_zero_receipt_and_a_refund_activity() {
    let cal = calendar();
    let ebs = |order: &str| {
        (order == "111-0000008-0000008").then(|| InvoiceRef {
            trx_number: order.to_string(),
            gl_date: day(2025, 6, 15),
            lines: vec![
                ["111-0000008-0000008", "SO1", "1", "OIC-O1", "PRINCIPAL"].map(String::from),
                ["111-0000008-0000008", "SO1", "1", "OIC-O1", "SHIPPING"].map(String::from),
            ],
        })
    };
    let mut opts = ArOptions::new(&cal, &ebs);
    opts.cutover = Some(day(2025, 7, 1));
    let (s, p) = plan_with("ar-refunds-outweigh.txt", &opts);
    check_invariants(&s, &p);
    assert_eq!(p.receipt_amount, Decimal::ZERO);
    assert_eq!(p.refund_activity, dec("-34.00"));
    assert_eq!(p.carried_balance, dec("-12.00"));
    let kinds: Vec<_> = p
        .credit_memos
        .iter()
        .map(|c| (c.trx_number.as_str(), c.cm_kind.unwrap()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("111-0000003-0000003-C1", CmKind::Chargeback),
            ("111-0000008-0000008-R1", CmKind::Refund),
            ("111-0000008-0000008-A1", CmKind::AtoZ),
            ("111-0000008-0000008-S1", CmKind::SafeT),
        ]
    );
    // chargeback of this settlement's own invoice applies to it
    assert_eq!(
        p.credit_memos[0].applies_to.as_ref().unwrap().trx_number,
        "111-0000003-0000003"
    );
    // invoiced in EBS before the cut-over: on account
    for cm in &p.credit_memos[1..] {
        assert_eq!(cm.applies_to, None, "{}", cm.trx_number);
        assert!(
            cm.on_account_reason
                .as_deref()
                .unwrap()
                .contains("cut-over")
        );
    }
    // without a cut-over the EBS invoice is credited line by line
    let opts = ArOptions::new(&cal, &ebs);
    let (_, p) = plan_with("ar-refunds-outweigh.txt", &opts);
    let r = &p.credit_memos[1];
    assert_eq!(r.applies_to.as_ref().unwrap().gl_date, day(2025, 6, 15));
    assert_eq!(r.lines[1].flexfield[4], "REFUND SHIPPING");
    assert_eq!(r.lines[1].reference.as_ref().unwrap()[4], "SHIPPING");
}

#[test]
fn gl_date_is_local_and_rolls_out_of_a_closed_period() {
    let mut cal = calendar();
    assert!(cal.close("2025-09"));
    let mut opts = ArOptions::new(&cal, &no_invoice);
    opts.tz = Tz::America__Los_Angeles;
    let (s, p) = plan_with("ar-us-mixed.txt", &opts);
    check_invariants(&s, &p);
    // shipment 2 posted 2025-10-01 02:00 UTC is September 30 in Los Angeles
    let b2 = &p.invoices[2];
    assert_eq!(b2.original_gl_date, day(2025, 9, 30));
    assert_eq!(b2.gl_date, day(2025, 10, 1));
    // refunds in October keep their day
    assert_eq!(
        p.credit_memos[0].gl_date,
        p.credit_memos[0].original_gl_date
    );
    // a calendar without an open period after it is a located problem, not a drop
    let mut closed = calendar();
    for m in ["2025-09", "2025-10", "2025-11", "2025-12"] {
        closed.close(m);
    }
    let (_, p) = plan_with("ar-us-mixed.txt", &ArOptions::new(&closed, &no_invoice));
    assert_eq!(p.invoices.len(), 3);
    assert!(
        p.problems
            .iter()
            .any(|x| x.line.is_some() && x.message.contains("closed"))
    );
}

#[test]
fn same_input_same_plan_whatever_the_row_order() {
    let (_, p1) = plan("ar-us-mixed.txt");
    let (_, p2) = plan("ar-us-mixed.txt");
    assert_eq!(p1, p2);
    let mut s = fixture("ar-us-mixed.txt");
    s.rows.reverse();
    let mapping = Mapping::parse(MAPPING).unwrap();
    let cal = calendar();
    let p3 = plan_ar(
        &s.summary,
        &s.rows,
        "Amazon.com",
        &mapping,
        &ArOptions::new(&cal, &no_invoice),
    )
    .unwrap();
    let keys = |p: &ArPlan| -> BTreeSet<(String, [String; 5], Decimal)> {
        p.invoices
            .iter()
            .chain(&p.credit_memos)
            .flat_map(|d| {
                d.lines
                    .iter()
                    .map(|l| (d.trx_number.clone(), l.flexfield.clone(), l.amount))
            })
            .collect()
    };
    assert_eq!(keys(&p1), keys(&p3));
}

#[test]
fn missing_memo_line_and_operating_units_are_located_problems() {
    let s = fixture("ar-us-mixed.txt");
    let mapping = Mapping::parse("[accounts]\nclearing = \"01-000-1190-0000-000\"\n").unwrap();
    let cal = calendar();
    let mut opts = ArOptions::new(&cal, &no_invoice);
    opts.org_ids.insert("Amazon.ca".into(), 204);
    let p = plan_ar(&s.summary, &s.rows, "Amazon.com", &mapping, &opts).unwrap();
    check_invariants(&s, &p);
    assert!(
        p.problems
            .iter()
            .any(|x| x.line == Some(3) && x.message.contains("SKU `SKU-A`"))
    );
    assert!(
        p.problems
            .iter()
            .any(|x| x.message.contains("operating unit"))
    );
    opts.org_ids.insert("amazon.com".into(), 101);
    let p = plan_ar(&s.summary, &s.rows, "Amazon.com", &mapping, &opts).unwrap();
    assert!(p.invoices.iter().all(|i| i.org_id == Some(101)));
}

#[test]
fn sku_table_is_parsed_and_validated() {
    let m = Mapping::parse(MAPPING).unwrap();
    assert_eq!(m.item_for_sku("SKU-B", "Amazon.com"), Some("ITEM-B-US"));
    assert_eq!(m.item_for_sku("SKU-B", "Amazon.ca"), Some("ITEM-B"));
    assert_eq!(m.item_for_sku("sku-a", "Amazon.com"), None);
    assert_eq!(m.ar_memo_line.as_deref(), Some("Amazon sales"));
    let plain = "[accounts]\nclearing = \"01-000-1190-0000-000\"\n";
    let with = format!("{plain}\n[[sku]]\nsku = \"X\"\nitem = \"I\"\n");
    assert_ne!(
        Mapping::parse(plain).unwrap().content_hash(),
        Mapping::parse(&with).unwrap().content_hash()
    );
    let dup = format!("{with}\n[[sku]]\nsku = \"X\"\nitem = \"J\"\n");
    let e = Mapping::parse(&dup).unwrap_err();
    assert_eq!(e.problems.len(), 1);
    assert_eq!(e.problems[0].line, Some(8));
    assert!(
        e.problems[0].message.contains("lines 4 and 8"),
        "{}",
        e.problems[0].message
    );
    let empty = format!("{plain}[[sku]]\nsku = \"X\"\nitem = \"\"\n");
    let e = Mapping::parse(&empty).unwrap_err();
    assert_eq!(
        (e.problems[0].line, e.problems[0].column),
        (Some(5), Some(8))
    );
    let unknown = format!("{plain}[[sku]]\nsku = \"X\"\nitem = \"I\"\nprice = 1\n");
    assert!(Mapping::parse(&unknown).is_err());
}

/// The GL journal of the rows AR left, with the receipt, moves clearing by the
/// settlement total less the carried balance the mapping books to clearing.
#[test]
fn receipt_plus_gl_journal_move_clearing_by_total_less_carried_balance() {
    use ml_connector::ledger::journal::{Engine, LineKind};
    let mapping = Mapping::default_mapping();
    for name in ["ar-us-mixed.txt", "ar-refunds-outweigh.txt"] {
        let (s, p) = plan(name);
        let gl = p.gl_summary(&s.summary).unwrap();
        let engine = Engine::new(&mapping, calendar(), Tz::UTC, &gl, Some("Amazon.com"));
        let proposal = engine
            .propose(p.gl_rows_remaining.iter().map(|r| r.as_row_ref()))
            .unwrap();
        assert!(proposal.consistent, "{name}");
        assert!(
            proposal.unmapped.is_empty(),
            "{name}: {:?}",
            proposal.unmapped
        );
        assert!(proposal.journals.iter().all(|j| j.is_balanced()));
        // no revenue account is credited by the GL journal
        for j in &proposal.journals {
            assert!(
                j.lines.iter().all(|l| !l.account.contains("-4010-")),
                "{name}"
            );
        }
        let carried_to_clearing: Decimal = proposal
            .journals
            .iter()
            .flat_map(|j| &j.lines)
            .filter(|l| l.kind == LineKind::Mapped && l.account == mapping.clearing)
            .map(|l| l.debit - l.credit)
            .sum();
        // debit minus credit on the clearing account: receipt, journal clearing lines, carried rows
        let moved = p.ar_total() + proposal.clearing_total() + carried_to_clearing;
        let expected = s.summary.total_amount
            - if name == "ar-refunds-outweigh.txt" {
                p.carried_balance // "Payable to Amazon": to clearing in the default mapping
            } else {
                Decimal::ZERO // the released reserve goes to the reserve asset
            };
        assert_eq!(moved, expected, "{name}");
    }
}
