//! Unit tests of the workstation bridge's pure helpers.

use super::*;
use crate::ledger::state::BatchState;

use super::mapping_editor::reproposable;
use super::views::audit_detail;

#[test]
fn audit_details_read_as_one_line_without_the_batch_body() {
    let d = serde_json::json!({
        "revision": 2,
        "group_id": "5001",
        "batch": {"lines": [1, 2, 3]},
        "lines": (0..40).collect::<Vec<_>>(),
    });
    let text = audit_detail(&d);
    assert!(
        text.starts_with("revision=2 group_id=5001 lines=[0,1,"),
        "{text}"
    );
    assert!(!text.contains("batch"), "{text}");
    assert!(text.ends_with('…'), "long values are cut: {text}");
    assert_eq!(audit_detail(&serde_json::Value::Null), "");
}

#[test]
fn only_batches_not_yet_in_ebs_or_reversed_are_proposed_again() {
    use BatchState::*;
    for s in [
        Proposed,
        NeedsMapping,
        NeedsRate,
        Inconsistent,
        Approved,
        Rejected,
        Reversed,
    ] {
        assert!(reproposable(s), "{s}");
    }
    for s in [Staged, Submitted, Imported, Posted, Archived, Vanished] {
        assert!(!reproposable(s), "{s}");
    }
}

#[test]
fn batch_keys_convert_both_ways() {
    let k = BatchKey::new("123", "OCT-26");
    assert_eq!(store_key(&app_key(&k)), k);
}

#[test]
fn a_half_done_post_is_named_with_its_periods_in_calendar_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = crate::store::Store::open(dir.path(), "test").unwrap();
    let now = chrono::Utc::now();
    for (sid, period, state) in [
        ("100", "JAN-27", BatchState::Approved),
        ("100", "DEC-26", BatchState::Imported),
        ("200", "DEC-26", BatchState::Imported),
        ("200", "JAN-27", BatchState::Imported),
        ("300", "DEC-26", BatchState::Approved),
    ] {
        let rec = crate::store::BatchRecord::new(&BatchKey::new(sid, period), state, now);
        store.create_batch(&rec, None).unwrap();
    }
    assert_eq!(
        unfinished_posts(&store).unwrap(),
        vec!["settlement 100 is half posted (DEC-26 imported, JAN-27 approved)".to_string()]
    );
}

/// A GL batch as staging records it (two lines, one journal name).
fn staged_batch(revision: u32, dr: &str, accounted: Option<(&str, &str)>) -> serde_json::Value {
    serde_json::json!({
        "settlement_id": "1001", "ledger_id": "1", "period_name": "OCT-26",
        "original_period": null, "accounting_date": "2026-10-31", "currency": "EUR",
        "je_source": "Amazon", "je_category": "Settlement",
        "batch_name": "AMZ 1001", "batch_description": "",
        "journal_name": format!("AMZ 1001 OCT-26 r{revision}"), "journal_description": "",
        "revision": revision, "reversed_revisions": [], "conversion": null,
        "lines": [
            {"account": "01-000-6100", "entered_dr": dr, "entered_cr": null,
             "accounted_dr": accounted.map(|a| a.0), "accounted_cr": null,
             "description": "fees", "line_key": "k1"},
            {"account": "01-000-1190", "entered_dr": null, "entered_cr": dr,
             "accounted_dr": null, "accounted_cr": accounted.map(|a| a.1),
             "description": "clearing", "line_key": "k2"}
        ]
    })
}

fn entry(
    seq: u64,
    action: crate::store::AuditAction,
    details: serde_json::Value,
) -> crate::store::AuditEntry {
    crate::store::AuditEntry {
        seq,
        time: chrono::DateTime::from_timestamp(1_790_000_000 + seq as i64, 0).unwrap(),
        actor: "headless".into(),
        action,
        settlement_id: Some("1001".into()),
        period: Some("OCT-26".into()),
        sha256: None,
        details,
    }
}

/// Issue 16: r1 imported, r2 the reversal of r1, r3 the correction: each with its journal
/// ids, name, totals and currency, read from the audit entries posting writes.
#[test]
fn revisions_come_from_staging_outcome_and_reversal_entries() {
    use crate::store::AuditAction::{Outcome, Reversal, Staging};
    let entries = vec![
        entry(
            1,
            Staging,
            serde_json::json!({"revision": 1, "batch": staged_batch(1, "10.00", None)}),
        ),
        entry(
            2,
            Outcome,
            serde_json::json!({"revision": 1, "status": "imported",
            "journals": [{"je_header_id": "40001", "name": "AMZ 1001 OCT-26 r1"}]}),
        ),
        entry(
            3,
            Reversal,
            serde_json::json!({"revision": 1, "reversal_revision": 2,
            "journal_ids": [40002], "batch": staged_batch(2, "10.00", None)}),
        ),
        entry(
            4,
            Staging,
            serde_json::json!({"revision": 3, "batch": staged_batch(3, "12.50", None)}),
        ),
    ];
    let revs = super::views::revisions(&entries);
    let line = |r: &crate::app::view::RevisionView| {
        format!(
            "r{} {} {:?} {} {} {} {}",
            r.revision, r.what, r.journal_ids, r.journal_name, r.debit, r.credit, r.currency
        )
    };
    let got: Vec<String> = revs.iter().map(line).collect();
    assert_eq!(
        got,
        vec![
            "r1 imported [\"40001\"] AMZ 1001 OCT-26 r1 10.00 10.00 EUR",
            "r2 reversal of r1 [\"40002\"] AMZ 1001 OCT-26 r2 10.00 10.00 EUR",
            "r3 staged [] AMZ 1001 OCT-26 r3 12.50 12.50 EUR",
        ]
    );
}

/// Accounted amounts pair with journal lines by position, and only on the same account.
#[test]
fn accounted_amounts_pair_by_position_and_account() {
    let journal: crate::ledger::journal::Journal = serde_json::from_value(serde_json::json!({
        "period": "OCT-26", "accounting_date": "2026-10-31",
        "lines": [
            {"account": "01-000-6100", "label": "fees", "debit": "10.00", "credit": "0",
             "rows": 1, "original_period": null, "kind": "mapped", "rules": [], "ap": false},
            {"account": "01-000-9999", "label": "other", "debit": "0", "credit": "10.00",
             "rows": 1, "original_period": null, "kind": "clearing", "rules": [], "ap": false}
        ],
        "zero_net": [], "total_debit": "10.00", "total_credit": "10.00"
    }))
    .unwrap();
    let gl: crate::ebs::gl::GlBatch =
        serde_json::from_value(staged_batch(1, "10.00", Some(("10.85", "10.85")))).unwrap();
    let got = super::views::accounted(&[journal], &[gl]);
    let d = |s: &str| s.parse::<rust_decimal::Decimal>().unwrap();
    assert_eq!(
        got,
        vec![vec![Some((d("10.85"), d("0"))), None]],
        "the second line's account differs from the GL line's: no pairing"
    );
}
