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
fn only_batches_not_yet_in_ebs_are_proposed_again() {
    use BatchState::*;
    for s in [
        Proposed,
        NeedsMapping,
        NeedsRate,
        Inconsistent,
        Approved,
        Rejected,
    ] {
        assert!(reproposable(s), "{s}");
    }
    for s in [
        Staged, Submitted, Imported, Posted, Reversed, Archived, Vanished,
    ] {
        assert!(!reproposable(s), "{s}");
    }
}

#[test]
fn batch_keys_convert_both_ways() {
    let k = BatchKey::new("123", "OCT-26");
    assert_eq!(store_key(&app_key(&k)), k);
}
