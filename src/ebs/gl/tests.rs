//! Unit tests of the GL steps' pure parts (rows, keys, resume decisions, outcomes); `batch()`
//! is also the fixture of the FX test in `sync::convert`.

use super::outcome::build_outcome;
use super::*;
use crate::ebs::idempotency::{Existing, Observation};
use crate::ebs::requests::RequestState;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde_json::{Map, Value, json};
use std::str::FromStr;

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).expect("dec")
}

pub(crate) fn batch() -> GlBatch {
    let l = |acct: &str, dr: Option<&str>, cr: Option<&str>, label: &str| GlLine {
        account: acct.into(),
        entered_dr: dr.map(d),
        entered_cr: cr.map(d),
        accounted_dr: None,
        accounted_cr: None,
        description: label.into(),
        line_key: line_key("123", "OCT-26", acct, label),
    };
    GlBatch {
        settlement_id: "123".into(),
        ledger_id: "1".into(),
        period_name: "OCT-26".into(),
        original_period: None,
        accounting_date: NaiveDate::from_ymd_opt(2026, 10, 31).expect("date"),
        currency: "USD".into(),
        je_source: "Amazon".into(),
        je_category: "Amazon Settlement".into(),
        batch_name: "AMZ 123".into(),
        batch_description: "Amazon settlement 123".into(),
        journal_name: "AMZ 123 OCT-26".into(),
        journal_description: "Amazon settlement 123, October".into(),
        revision: 1,
        reversed_revisions: vec![],
        reference_period: None,
        conversion: None,
        lines: vec![
            l("01-000-1190-0000-000", Some("90.00"), None, "Clearing"),
            l("01-000-6110-0000-000", Some("10.00"), None, "Fees"),
            l("01-000-4010-0000-000", None, Some("100.00"), "Sales"),
        ],
    }
}

fn row(group: &str, rev: &str, status: &str, key: &str) -> Map<String, Value> {
    json!({"GROUP_ID": group, "REFERENCE21": "123", "REFERENCE22": "OCT-26", "REFERENCE23": key,
           "REFERENCE24": rev, "STATUS": status, "REQUEST_ID": "7000001"})
    .as_object()
    .expect("obj")
    .clone()
}

fn journal(rev: &str, status: &str, keys: &[String]) -> EbsJournal {
    EbsJournal {
        head: JournalRef {
            je_batch_id: "10".into(),
            je_header_id: "20".into(),
            batch_name: "b".into(),
            journal_name: "j".into(),
            status: status.into(),
            group_id: Some("5001".into()),
            request_id: Some("7000001".into()),
            total_dr: d("100"),
            total_cr: d("100"),
        },
        period_name: "OCT-26".into(),
        lines: keys
            .iter()
            .enumerate()
            .map(|(i, k)| EbsJournalLine {
                je_line_num: (i + 1).to_string(),
                account: "x".into(),
                references: [
                    Some("123".into()),
                    Some("OCT-26".into()),
                    Some(k.clone()),
                    Some(rev.into()),
                    None,
                ],
            })
            .collect(),
    }
}

fn req(phase: &str) -> RequestState {
    RequestState {
        request_id: "7000001".into(),
        program: "GLLEZL".into(),
        phase_code: phase.into(),
        status_code: if phase == "C" { "C".into() } else { "I".into() },
        dev_phase: String::new(),
        dev_status: String::new(),
        message: String::new(),
        parent_request_id: None,
    }
}

fn keys(b: &GlBatch) -> Vec<String> {
    b.lines.iter().map(|l| l.line_key.clone()).collect()
}

#[test]
fn shape_checks_catch_unbalanced_and_two_sided_lines() {
    let mut b = batch();
    assert!(b.shape_failures().is_empty());
    b.lines[0].entered_dr = Some(d("91.00"));
    b.lines[1].entered_cr = Some(d("5"));
    let f = b.shape_failures();
    assert!(f.iter().any(|f| f.ebs_code() == "EU02"), "{f:?}");
    assert!(f.iter().any(|f| f.line == Some(2)), "{f:?}");
}

#[test]
fn rows_carry_references_segments_and_no_accounted_in_ledger_currency() {
    let b = batch();
    let client = crate::ebs::EbsClient::new(crate::ebs::EbsConfig::new(
        "http://127.0.0.1:1",
        crate::ebs::Credentials {
            user: "U".into(),
            password: secrecy::SecretString::from("p".to_string()),
        },
        crate::ebs::Contexts::vision("1000", "1", "204"),
    ))
    .expect("client");
    let rows = client.gl_rows(&b, "5001");
    let r = rows[2].as_object().expect("row");
    assert_eq!(r["STATUS"], "NEW");
    assert_eq!(r["ACTUAL_FLAG"], "A");
    assert_eq!(r["GROUP_ID"], "5001");
    assert_eq!(r["SEGMENT3"], "4010");
    assert_eq!(r["SEGMENT5"], "000");
    assert_eq!(r["ENTERED_CR"], "100");
    assert!(r.get("ENTERED_DR").is_none());
    assert!(r.get("ACCOUNTED_CR").is_none());
    assert_eq!(r["REFERENCE21"], "123");
    assert_eq!(r["REFERENCE22"], "OCT-26");
    assert_eq!(r["REFERENCE23"], b.lines[2].line_key.as_str());
    assert_eq!(r["REFERENCE24"], "1");
    assert!(r.get("REFERENCE25").is_none());
    assert_eq!(r["REFERENCE1"], "AMZ 123");
    assert_eq!(r["REFERENCE4"], "AMZ 123 OCT-26");
    assert_eq!(r["REFERENCE10"], "Sales");
}

#[test]
fn line_keys_are_stable_and_distinct() {
    let a = line_key("1", "OCT-26", "01-000-1190-0000-000", "Sales");
    assert_eq!(a, line_key("1", "OCT-26", "01-000-1190-0000-000", "Sales"));
    assert_ne!(a, line_key("1", "OCT-26", "01-000-1190-0000-000", "Fees"));
    assert_ne!(line_key("1", "2", "3", "45"), line_key("1", "2", "34", "5"));
    assert_eq!(a.len(), 32);
}

#[test]
fn resume_from_nothing_starts_with_checks_or_continues_the_record() {
    let b = batch();
    let obs = Observation::default();
    assert_eq!(
        decide_resume(&b, None, &obs, None).expect("r").next,
        NextStep::Check
    );
    let mut rec = PostingRecord::new(&b, PostingStep::GroupAllocated);
    rec.group_id = Some("5001".into());
    assert_eq!(
        decide_resume(&b, Some(&rec), &obs, None).expect("r").next,
        NextStep::Stage
    );
    rec.step = PostingStep::Staged;
    let e = decide_resume(&b, Some(&rec), &obs, Some(&req("C"))).expect_err("vanished rows");
    assert!(matches!(e, EbsError::Inconsistent { .. }));
}

#[test]
fn crash_after_staging_resubmits_under_a_fresh_run() {
    let b = batch();
    let obs = Observation {
        journals: vec![],
        rows: keys(&b)
            .iter()
            .map(|k| row("5001", "1", "NEW", k))
            .collect(),
    };
    // Record says only "allocated": the insert landed before the crash.
    let mut rec = PostingRecord::new(&b, PostingStep::GroupAllocated);
    rec.group_id = Some("5001".into());
    rec.interface_run_id = Some("900001".into());
    let r = decide_resume(&b, Some(&rec), &obs, None).expect("resume");
    assert_eq!(r.next, NextStep::Submit);
    assert_eq!(r.record.group_id.as_deref(), Some("5001"));
    assert_eq!(r.record.interface_run_id, None);
    assert_eq!(r.record.rows_staged, 3);
    // Submitted and still pending: wait for it, don't resubmit.
    rec.step = PostingStep::Submitted;
    rec.request_id = Some("7000001".into());
    let r = decide_resume(&b, Some(&rec), &obs, Some(&req("P"))).expect("resume");
    assert_eq!(r.next, NextStep::Await);
}

#[test]
fn imported_journals_mean_confirm_and_other_live_revision_blocks() {
    let b = batch();
    let obs = Observation {
        journals: vec![journal("1", "U", &keys(&b))],
        rows: vec![],
    };
    let r = decide_resume(&b, None, &obs, None).expect("resume");
    assert_eq!(r.next, NextStep::Confirm);
    assert_eq!(r.record.group_id.as_deref(), Some("5001"));
    assert_eq!(r.record.request_id.as_deref(), Some("7000001"));

    let mut b2 = batch();
    b2.revision = 2;
    let e = decide_resume(&b2, None, &obs, None).expect_err("revision 1 live");
    assert!(
        matches!(
            e,
            EbsError::OtherRevisionLive {
                found_revision: 1,
                ..
            }
        ),
        "{e}"
    );
    b2.reversed_revisions = vec![1];
    assert_eq!(
        decide_resume(&b2, None, &obs, None).expect("ok").next,
        NextStep::Check
    );
}

#[test]
fn rejected_rows_lead_to_confirm_then_restage_after_cleanup() {
    let b = batch();
    let ks = keys(&b);
    let obs = Observation {
        journals: vec![],
        rows: vec![
            row("5001", "1", "P", &ks[0]),
            row("5001", "1", "EF01", &ks[1]),
            row("5001", "1", "P", &ks[2]),
        ],
    };
    let r = decide_resume(&b, None, &obs, None).expect("resume");
    assert_eq!(r.next, NextStep::Confirm);
    assert_eq!(r.record.request_id.as_deref(), Some("7000001"));
    assert_eq!(
        obs.verdict(&b).expect("v"),
        Existing::Rejected {
            group_ids: vec!["5001".into()]
        }
    );
    let outcome = build_outcome(&b, "5001", None, &obs.rows, &[]);
    assert_eq!(outcome.status, GlStatus::Rejected);
    assert_eq!(
        outcome.lines[1].result,
        LineResult::Rejected {
            code: "EF01".into(),
            description: String::new()
        }
    );
    assert_eq!(
        outcome.lines[0].result,
        LineResult::HeldBack { code: "P".into() }
    );
}

#[test]
fn partial_staging_is_inconsistent() {
    let b = batch();
    let ks = keys(&b);
    let obs = Observation {
        journals: vec![],
        rows: vec![row("5001", "1", "NEW", &ks[0])],
    };
    assert!(matches!(
        obs.verdict(&b),
        Err(EbsError::Inconsistent { .. })
    ));
}

#[test]
fn outcome_imported_maps_each_line_to_its_journal_line() {
    let b = batch();
    let j = journal("1", "U", &keys(&b));
    let o = build_outcome(&b, "5001", None, &[], &[j]);
    assert_eq!(o.status, GlStatus::Imported);
    assert_eq!(o.request_id.as_deref(), Some("7000001"));
    assert_eq!(o.journals.len(), 1);
    assert_eq!(
        o.lines[2].result,
        LineResult::Imported {
            je_header_id: "20".into(),
            je_line_num: "3".into()
        }
    );
}
