//! Unit tests of the posting engine's pure parts: store records as posting records,
//! the error mapping, reversed revisions.

use super::*;
use crate::ebs::gl::{PostingRecord, PostingStep};
use crate::store::{IntentAction, PostingIntent};
use crate::sync::messages::SyncError;
use serde_json::json;

fn rec(state: BatchState) -> BatchRecord {
    let mut r = BatchRecord::new(&BatchKey::new("1", "OCT-26"), state, Utc::now());
    r.revision = 2;
    r.group_id = Some("5001".into());
    r.request_id = Some(7000001);
    r.line_count = Some(3);
    r
}

#[test]
fn store_states_become_posting_records_for_reconciliation() {
    assert_eq!(posting_record(&rec(BatchState::Approved), None), None);
    let staged = posting_record(&rec(BatchState::Staged), None).expect("staged");
    assert_eq!(staged.step, PostingStep::Staged);
    assert_eq!(staged.group_id.as_deref(), Some("5001"));
    assert_eq!(staged.request_id, None);
    assert_eq!(staged.rows_staged, 3);
    assert_eq!(staged.revision, 2);
    let sub = posting_record(&rec(BatchState::Submitted), None).expect("submitted");
    assert_eq!(sub.step, PostingStep::Submitted);
    assert_eq!(sub.request_id.as_deref(), Some("7000001"));
    assert_eq!(posting_record(&rec(BatchState::Imported), None), None);
}

#[test]
fn an_allocation_intent_resumes_with_its_group() {
    let r = rec(BatchState::Approved);
    let pr = PostingRecord {
        settlement_id: "1".into(),
        period_name: "OCT-26".into(),
        revision: 2,
        step: PostingStep::GroupAllocated,
        group_id: Some("5002".into()),
        interface_run_id: Some("9".into()),
        request_id: None,
        rows_staged: 0,
        request: None,
        outcome: None,
        discarded_groups: vec![],
    };
    let mut intent = PostingIntent {
        batch: r.key(),
        revision: 2,
        action: IntentAction::Stage,
        group_id: Some("5002".into()),
        source_key: "1/OCT-26/r2".into(),
        written_at: Utc::now(),
        details: crate::store::IntentDetails {
            record: Some(pr.clone()),
            ..Default::default()
        },
    };
    assert_eq!(posting_record(&r, Some(&intent)), Some(pr.clone()));
    // An intent of an older revision says nothing about this one.
    intent.revision = 1;
    assert_eq!(posting_record(&r, Some(&intent)), None);
}

#[test]
fn errors_map_onto_the_sync_vocabulary() {
    let k = BatchKey::new("1", "OCT-26");
    let e: SyncError = PostingError::Refused {
        key: k.clone(),
        detail: "no".into(),
    }
    .into();
    assert!(matches!(e, SyncError::Ledger { ref settlement_id, .. } if settlement_id == "1"));
    let e: SyncError = PostingError::NoLedgerClient("3".into()).into();
    assert!(e.is_configuration());
    let e: SyncError = PostingError::Aborted {
        key: k,
        point: CrashPoint::AfterStage,
    }
    .into();
    assert!(matches!(e, SyncError::Cancelled));
}

#[test]
fn reversal_entries_list_the_reversed_revisions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(Store::open(dir.path(), "test").expect("store"));
    let client = EbsClient::new(crate::ebs::EbsConfig::new(
        "http://127.0.0.1:1",
        crate::ebs::Credentials {
            user: "U".into(),
            password: secrecy::SecretString::from("p".to_string()),
        },
        crate::ebs::Contexts::vision("1000", "1", "204"),
    ))
    .expect("client");
    let engine = PostingEngine::new(store.clone(), Arc::new(client), vec![], "t");
    let key = BatchKey::new("1", "OCT-26");
    let entry = |period: &str, rev: u32| {
        NewAuditEntry::new(Utc::now(), "t", AuditAction::Reversal)
            .settlement("1")
            .period(period)
            .details(json!({"revision": rev}))
    };
    assert!(engine.reversed_revisions(&key).unwrap().is_empty());
    store.append_audit(entry("OCT-26", 2)).unwrap();
    store.append_audit(entry("OCT-26", 1)).unwrap();
    store.append_audit(entry("NOV-26", 3)).unwrap();
    assert_eq!(engine.reversed_revisions(&key).unwrap(), [1, 2]);
}
