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
