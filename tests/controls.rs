//! Corrections and controls (issue 10) against the in-process EBS simulator (step
//! scheduler, no sleeps): maker-checker refuses then allows; the alert command receives the
//! run report; a posted batch is reversed and its correction re-posted (original, reversal,
//! correction in EBS, netting correctly), with a kill at every step of the reversal; a
//! vanished journal is re-posted once or archived; failed steps are replayed; a headless run
//! over the demo world leaves maker-checker batches waiting and alerts about them.

mod common;

use chrono::Utc;
use ml_connector::ledger::state::BatchState;
use ml_connector::sim::ebs::Faults;
use ml_connector::store::{AuditAction, BatchKey};
use ml_connector::sync::posting::{BatchOutcome, CrashPoint, PostingEngine};
use ml_connector::sync::{ProgressSink, SyncError};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::posting_world::*;

#[tokio::test]
async fn maker_checker_refuses_the_mapping_author_then_allows_another_person() {
    let w = world().await;
    // `tester` recorded the mapping version the proposal was made with.
    let keys = w.propose("3101", &[oct(FEES)]);
    let engine = w.engine().with_distinct_approver(true);
    let refusal = engine.may_approve(&keys[0], "tester").expect_err("maker");
    assert_eq!(refusal.maker.as_deref(), Some("tester"));
    assert!(
        refusal.to_string().contains("tester may not approve"),
        "{refusal}"
    );
    assert!(refusal.why.contains("mapping.toml"), "{refusal}");
    let err = engine
        .approve(&keys, "tester", Utc::now())
        .expect_err("refused");
    assert!(err.to_string().contains("distinct_approver"), "{err}");
    assert_eq!(w.state(&keys[0]).state, BatchState::Proposed);
    // Someone else may.
    engine.may_approve(&keys[0], "alice").expect("checker");
    engine.approve(&keys, "alice", Utc::now()).expect("approve");
    let rec = w.state(&keys[0]);
    assert_eq!(rec.state, BatchState::Approved);
    assert_eq!(rec.approval.unwrap().who, "alice");
    // Without the control the author may approve (another batch).
    let other = w.propose("3102", &[oct(FEES)]);
    w.engine()
        .approve(&other, "tester", Utc::now())
        .expect("no control");
    // Not approvable for another reason: said so, whoever asks.
    let r = engine.may_approve(&keys[0], "bob");
    assert!(
        r.is_ok(),
        "re-approving the same proposal is harmless: {r:?}"
    );
}

// ------------------------------------------------------------------ alerts

#[cfg(unix)]
#[tokio::test]
async fn the_alert_command_receives_the_run_report_on_stdin() {
    use ml_connector::config::AlertsConfig;
    use ml_connector::config::HumanDuration;
    use ml_connector::store::ReportRecord;
    use ml_connector::sync::alerts::{Alert, Notified, alerts_for, notify};
    use ml_connector::sync::headless::{RunReport, exit};
    use std::os::unix::fs::PermissionsExt;

    let w = world().await;
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("notify.sh");
    std::fs::write(&script, "#!/bin/sh\ncat >> \"$1\"\necho \"$2\" >> \"$1\"\n").unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = dir.path().join("got.jsonl");
    let command = format!("{} {} 'end of alert'", script.display(), out.display());

    // A failed run, a batch waiting since long ago, a report near Amazon's deletion.
    let keys = w.propose("3201", &[oct(FEES)]);
    let mut rec = w.state(&keys[0]);
    let before = rec.clone();
    rec.updated_at = Utc::now() - chrono::Duration::days(5);
    rec.reason = Some("waiting for approval".into());
    w.store().transition(&before, &rec, None).unwrap();
    w.store()
        .put_report(&ReportRecord {
            report_id: "R-OLD".into(),
            seller: "seller".into(),
            marketplace_id: Some(MARKETPLACE.into()),
            settlement_id: None,
            created: Utc::now() - chrono::Duration::days(80),
            pulled_at: None,
        })
        .unwrap();
    let mut report = RunReport::configuration_error("ebs: unreachable".into(), Utc::now());
    report.exit_code = exit::FAILURE;
    let config = AlertsConfig {
        on_failure: Some(command.clone().into()),
        waiting_after: HumanDuration::from_secs(3 * 86_400),
    };
    let alerts = alerts_for(
        &report,
        w.store(),
        config.waiting_after.as_duration(),
        Utc::now(),
    )
    .unwrap();
    assert!(matches!(alerts[0], Alert::RunFailed { .. }), "{alerts:?}");
    assert!(
        alerts
            .iter()
            .any(|a| matches!(a, Alert::Waiting { settlement_id, .. } if settlement_id == "3201"))
    );
    assert!(
        alerts
            .iter()
            .any(|a| matches!(a, Alert::Retention { message, .. } if message.contains("R-OLD")))
    );
    let n = notify(Some(&command.clone().into()), &report, &alerts, w.store())
        .await
        .expect("notify");
    assert_eq!(n, Notified::Sent(3));
    let text = std::fs::read_to_string(&out).unwrap();
    let mut lines = text.lines();
    let got: Value = serde_json::from_str(lines.next().unwrap()).expect("report JSON");
    assert_eq!(got["exit_code"], 4);
    assert_eq!(got["errors"][0]["system"], "config");
    assert_eq!(got["errors"][0]["message"], "ebs: unreachable");
    assert_eq!(got["alerts"].as_array().unwrap().len(), 3);
    assert_eq!(got["alerts"][1]["kind"], "waiting");
    // Arguments were split without a shell: the quoted one arrives whole.
    assert_eq!(lines.next(), Some("end of alert"));

    // Waiting and retention alone, unchanged since they were sent: not sent again.
    let mut ok = report.clone();
    ok.exit_code = exit::WAITING;
    let again = alerts_for(
        &ok,
        w.store(),
        config.waiting_after.as_duration(),
        Utc::now(),
    )
    .unwrap();
    assert_eq!(again.len(), 2);
    assert_eq!(
        notify(Some(&command.clone().into()), &ok, &again, w.store())
            .await
            .unwrap(),
        Notified::AlreadySent
    );
    // A command that fails is an error to log, not a panic.
    let e = notify(
        Some(&"/nonexistent/notify".into()),
        &report,
        &alerts,
        w.store(),
    )
    .await
    .expect_err("cannot run");
    assert!(e.to_string().contains("/nonexistent/notify"), "{e}");
    // Nothing waiting long enough and no failure: nothing at all.
    let none = alerts_for(
        &ok,
        w.store(),
        std::time::Duration::from_secs(30 * 86_400),
        Utc::now() - chrono::Duration::days(60),
    )
    .unwrap();
    assert!(none.is_empty(), "{none:?}");
}

// ------------------------------------------------------------------ reversal

/// Net (debit − credit) per account over every journal of the settlement in EBS.
fn net_by_account(js: &[Value]) -> std::collections::BTreeMap<String, Decimal> {
    let mut out = std::collections::BTreeMap::new();
    for j in js {
        for l in j["lines"].as_array().unwrap() {
            let v = |k: &str| l[k].as_str().map(d).unwrap_or_default();
            *out.entry(l["account"].as_str().unwrap().to_string())
                .or_insert(Decimal::ZERO) += v("entered_dr") - v("entered_cr");
        }
    }
    out.retain(|_, v| !v.is_zero());
    out
}

/// Reverses until the reversal is imported (the step scheduler runs between calls).
async fn reverse_until_done(
    w: &World,
    engine: &PostingEngine,
    key: &BatchKey,
    period: Option<&str>,
) -> BatchOutcome {
    let plan = engine.plan_reversal(key, period).await.expect("plan");
    let mut out = engine
        .reverse(&plan, "alice", &quiet)
        .await
        .expect("reverse");
    for _ in 0..4 {
        if out.state == BatchState::Reversed {
            break;
        }
        w.sim.run_until_idle();
        let r = engine
            .reconcile_in_flight(&ProgressSink::noop())
            .await
            .expect("reconcile");
        out = r
            .outcomes
            .into_iter()
            .find(|o| &o.key == key)
            .expect("outcome");
    }
    out
}

#[tokio::test]
async fn a_posted_batch_is_reversed_and_its_correction_posted_as_the_next_revision() {
    let w = world().await;
    let keys = w.propose("3301", &[oct(FEES)]);
    approve(&w, &keys);
    let engine = w.engine();
    settle(&w, &engine, &keys).await.expect("post");
    let g = w.state(&keys[0]).group_id.unwrap();
    w.sim_post(json!({"group_id": g})).await;
    engine.refresh_posted(&ProgressSink::noop()).await.unwrap();
    assert_eq!(w.state(&keys[0]).state, BatchState::Posted);

    // Nothing else can be reversed, and no reversal is dated before the original.
    let other = w.propose("3302", &[oct(FEES)]);
    assert!(engine.plan_reversal(&other[0], None).await.is_err());
    let early = engine.plan_reversal(&keys[0], Some("SEP-26")).await;
    assert!(
        early
            .unwrap_err()
            .to_string()
            .contains("never dated earlier")
    );

    // What will be reversed, shown before anything is sent.
    let plan = engine
        .plan_reversal(&keys[0], Some("NOV-26"))
        .await
        .expect("plan");
    assert_eq!(
        (
            plan.original_revision,
            plan.reversal_revision,
            plan.next_revision
        ),
        (1, 2, 3)
    );
    let shown = plan.describe();
    assert!(shown.contains("NOV-26") && shown.contains(FEES), "{shown}");
    assert_eq!(w.journals("3301").len(), 1, "planning sends nothing");

    let out = reverse_until_done(&w, &engine, &keys[0], Some("NOV-26")).await;
    assert_eq!(
        (out.state, out.revision),
        (BatchState::Reversed, 2),
        "{out:?}"
    );
    let js = w.journals("3301");
    assert_eq!(js.len(), 2);
    let rev = js
        .iter()
        .find(|j| j["period_name"] == "NOV-26")
        .expect("reversal dated in NOV-26");
    let lines = rev["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 3);
    assert!(lines.iter().all(|l| l["reference_1"] == "3301"
        && l["reference_2"] == "OCT-26"
        && l["reference_4"] == "2"));
    assert!(
        net_by_account(&js).is_empty(),
        "original and reversal net to zero"
    );
    let entry = w
        .store()
        .audit_entries(Some("3301"))
        .unwrap()
        .into_iter()
        .find(|e| e.action == AuditAction::Reversal)
        .expect("reversal audited");
    assert_eq!(entry.actor, "alice");
    assert_eq!(entry.details["revision"], 1);
    assert_eq!(entry.details["reversal_revision"], 2);
    // A reversed batch is not reversed twice.
    assert!(engine.plan_reversal(&keys[0], None).await.is_err());

    // The corrected proposal is approved and posted as revision 3.
    let keys = w.propose("3301", &[oct(FEES_FIXED)]);
    approve(&w, &keys);
    assert_eq!(w.state(&keys[0]).revision, 3);
    let out = settle(&w, &engine, &keys).await.expect("post correction");
    assert_eq!(
        (out[0].state, out[0].revision),
        (BatchState::Imported, 3),
        "{out:?}"
    );
    let js = w.journals("3301");
    assert_eq!(js.len(), 3, "original, reversal, correction");
    let net = net_by_account(&js);
    let want: std::collections::BTreeMap<String, Decimal> = [
        (SALES.to_string(), d("-100")),
        (FEES_FIXED.to_string(), d("10")),
        (CLEARING.to_string(), d("90")),
    ]
    .into_iter()
    .collect();
    assert_eq!(net, want);
    assert!(w.store().intents().unwrap().is_empty());
    assert!(w.store().verify().unwrap().is_clean());
}

/// Reverses an imported batch with a kill at the n-th step boundary, restarts, finishes.
async fn reversal_crash_run(n: usize, into: Option<&str>) -> Option<CrashPoint> {
    let mut w = world().await;
    let sid = "3401";
    let keys = w.propose(sid, &[oct(FEES)]);
    approve(&w, &keys);
    settle(&w, &w.engine(), &keys).await.expect("post");
    assert_eq!(w.state(&keys[0]).state, BatchState::Imported);
    let count = Arc::new(AtomicUsize::new(0));
    let hit = Arc::new(std::sync::Mutex::new(None));
    let (c, h) = (count.clone(), hit.clone());
    let crashing = w.engine().with_crash_hook(Arc::new(move |_, p| {
        let i = c.fetch_add(1, Ordering::SeqCst);
        if i == n {
            *h.lock().unwrap() = Some(p);
            true
        } else {
            false
        }
    }));
    let plan = crashing.plan_reversal(&keys[0], into).await.expect("plan");
    assert_eq!(
        plan.batch.period_name,
        into.unwrap_or("OCT-26"),
        "by default the original's period (open)"
    );
    let mut first = crashing.reverse(&plan, "alice", &quiet).await;
    for _ in 0..3 {
        match &first {
            Ok(o) if o.state != BatchState::Reversed => {
                w.sim.run_until_idle();
                first = crashing
                    .reconcile_in_flight(&ProgressSink::noop())
                    .await
                    .map(|r| r.outcomes[0].clone())
                    .map_err(|e| match e {
                        SyncError::Cancelled => {
                            ml_connector::sync::posting::PostingError::Aborted {
                                key: keys[0].clone(),
                                point: CrashPoint::AfterConfirm,
                            }
                        }
                        other => panic!("{other}"),
                    });
            }
            _ => break,
        }
    }
    let point = *hit.lock().unwrap();
    match first {
        Err(ml_connector::sync::posting::PostingError::Aborted { .. }) => {
            drop(crashing);
            w.reopen();
            let engine = w.engine();
            let mut state = w.state(&keys[0]).state;
            for _ in 0..4 {
                let r = engine
                    .reconcile_in_flight(&ProgressSink::noop())
                    .await
                    .expect("reconcile after restart");
                state = w.state(&keys[0]).state;
                if state == BatchState::Reversed || r.in_flight == 0 {
                    break;
                }
                w.sim.run_until_idle();
            }
            assert_eq!(state, BatchState::Reversed, "after {point:?}");
        }
        Ok(o) => {
            assert!(point.is_none());
            assert_eq!(o.state, BatchState::Reversed);
        }
        Err(e) => panic!("unexpected error {e}"),
    }
    let js = w.journals(sid);
    assert_eq!(js.len(), 2, "after {point:?}: {js:#?}");
    assert!(
        js.iter().all(|j| j["lines"].as_array().unwrap().len() == 3),
        "no line twice"
    );
    assert!(net_by_account(&js).is_empty());
    assert!(w.store().intents().unwrap().is_empty());
    let rec = w.state(&keys[0]);
    assert_eq!((rec.state, rec.revision), (BatchState::Reversed, 2));
    let v = w.store().verify().unwrap();
    assert!(v.is_clean(), "{v:?}");
    point
}

#[tokio::test]
async fn a_kill_at_every_step_of_a_reversal_neither_loses_nor_duplicates() {
    let mut seen = Vec::new();
    for into in [None, Some("NOV-26")] {
        for n in 0.. {
            match reversal_crash_run(n, into).await {
                Some(p) => seen.push(p),
                None => break,
            }
        }
    }
    use CrashPoint::*;
    for p in [
        BeforeAllocate,
        BeforeStage,
        AfterStage,
        BeforeSubmit,
        AfterSubmit,
        AfterConfirm,
    ] {
        assert!(seen.contains(&p), "{p:?} not reached: {seen:?}");
    }
}

// ------------------------------------------------------------------ vanished journals

#[tokio::test]
async fn a_vanished_journal_is_reposted_once_or_archived() {
    let w = world().await;
    let keys = w.propose("3501", &[oct(FEES)]);
    let gone = w.propose("3502", &[oct(FEES)]);
    let both = [keys.clone(), gone.clone()].concat();
    approve(&w, &both);
    let engine = w.engine();
    settle(&w, &engine, &both).await.expect("post");
    for k in &both {
        let g = w.state(k).group_id.unwrap();
        assert_eq!(w.sim_delete(json!({"group_id": g})).await["deleted"], 1);
    }
    engine.refresh_imported(&quiet).await.expect("refresh");
    assert_eq!(w.state(&keys[0]).state, BatchState::Vanished);
    // Archive is only for vanished batches.
    let e = engine
        .archive_vanished(&BatchKey::new("nope", "OCT-26"), "alice", Utc::now())
        .expect_err("no batch");
    assert!(e.to_string().contains("nope"), "{e}");
    // One is archived: stays out of EBS, with who and why.
    let rec = engine
        .archive_vanished(&gone[0], "alice", Utc::now())
        .expect("archive");
    assert_eq!(rec.state, BatchState::Archived);
    assert!(rec.reason.unwrap().contains("alice"));
    // The other is re-posted: revision 2, exactly once however often posting runs.
    engine.approve(&keys, "alice", Utc::now()).expect("approve");
    let out = settle(&w, &engine, &both).await.expect("post");
    assert_eq!(
        (out[0].state, out[0].revision),
        (BatchState::Imported, 2),
        "{out:?}"
    );
    settle(&w, &engine, &both).await.expect("again");
    assert_eq!(w.journals("3501").len(), 1);
    assert!(w.journals("3502").is_empty());
    assert_eq!(w.state(&gone[0]).state, BatchState::Archived);
    assert!(
        w.store()
            .audit_entries(Some("3502"))
            .unwrap()
            .iter()
            .any(|e| e.action == AuditAction::Archive && e.actor == "alice")
    );
}

// ------------------------------------------------------------------ replay

fn seq_of(w: &World, sid: &str, action: AuditAction) -> u64 {
    w.store()
        .audit_entries(Some(sid))
        .unwrap()
        .into_iter()
        .rev()
        .find(|e| e.action == action)
        .map(|e| e.seq)
        .unwrap_or_else(|| panic!("no {action} entry for {sid}"))
}

#[tokio::test]
async fn failed_staging_submission_and_confirmation_are_replayed_exactly_once() {
    use ml_connector::sync::replay::{ReplayKind, ReplayTarget};
    let w = world().await;

    // Staging failed (EBS down): replayed from the approval entry, then by batch.
    let keys = w.propose("3601", &[oct(FEES)]);
    approve(&w, &keys);
    let engine = w.engine();
    w.sim.inject(&Faults {
        db_error_next: 5,
        ..Faults::default()
    });
    let out = engine.post_keys(&keys, &quiet).await.expect("post");
    assert!(out[0].error.is_some(), "{out:?}");
    assert_eq!(w.state(&keys[0]).state, BatchState::Approved);
    let approval = seq_of(&w, "3601", AuditAction::Approval);
    let r = engine
        .replay(&ReplayTarget::Audit(approval), "alice", &quiet)
        .await
        .expect("replay staging");
    assert_eq!(r.kind, ReplayKind::Posting);
    assert_eq!(
        r.batch.as_ref().unwrap().state,
        BatchState::Submitted,
        "{r:?}"
    );
    // Confirmation: the import ran since; replayed by batch key.
    w.sim.run_until_idle();
    let r = engine
        .replay(&"3601/OCT-26".parse().unwrap(), "alice", &quiet)
        .await
        .expect("replay confirmation");
    assert_eq!(
        r.batch.as_ref().unwrap().state,
        BatchState::Imported,
        "{r:?}"
    );
    assert_eq!(w.journals("3601").len(), 1);
    let replays: Vec<_> = w
        .store()
        .audit_entries(Some("3601"))
        .unwrap()
        .into_iter()
        .filter(|e| e.action == AuditAction::Replay && e.details.get("kind").is_some())
        .collect();
    assert_eq!(replays.len(), 2);
    assert_eq!(replays[0].details["replayed_seq"], approval);
    assert_eq!(replays[0].actor, "alice");

    // Submission cut off (killed right after it reached EBS): replayed from the staging entry.
    let keys = w.propose("3602", &[oct(FEES)]);
    approve(&w, &keys);
    let crashing = w
        .engine()
        .with_crash_hook(Arc::new(|_, p| p == CrashPoint::AfterSubmit));
    let e = crashing.post_keys(&keys, &quiet).await.expect_err("killed");
    assert!(e.to_string().contains("AfterSubmit"), "{e}");
    assert_eq!(w.state(&keys[0]).state, BatchState::Staged);
    assert!(!w.store().intents().unwrap().is_empty());
    w.sim.run_until_idle();
    let staging = seq_of(&w, "3602", AuditAction::Staging);
    let mut last = None;
    for _ in 0..3 {
        let r = engine
            .replay(&ReplayTarget::Audit(staging), "alice", &quiet)
            .await
            .expect("replay submission");
        last = r.batch.map(|b| b.state);
        if last == Some(BatchState::Imported) {
            break;
        }
        w.sim.run_until_idle();
    }
    assert_eq!(last, Some(BatchState::Imported));
    let js = w.journals("3602");
    assert_eq!(js.len(), 1);
    assert_eq!(js[0]["lines"].as_array().unwrap().len(), 3, "no line twice");
    assert!(w.store().intents().unwrap().is_empty());

    // What is not a step cannot be replayed.
    let mapping = w
        .store()
        .audit_entries(None)
        .unwrap()
        .into_iter()
        .find(|e| e.action == AuditAction::MappingChange)
        .unwrap()
        .seq;
    let e = engine
        .replay(&ReplayTarget::Audit(mapping), "alice", &quiet)
        .await
        .expect_err("not a step");
    assert!(e.to_string().contains("mapping_change"), "{e}");
    assert!(
        engine
            .replay(&ReplayTarget::Audit(999_999), "alice", &quiet)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn a_failed_pull_is_replayed_from_the_kept_file() {
    use ml_connector::ledger::parse::parse_settlement;
    use ml_connector::store::{NewAuditEntry, RawFileMeta};
    use ml_connector::sync::replay::{ReplayKind, ReplayTarget};
    let w = world().await;
    let bytes = std::fs::read("assets/examples/settlement-v2-us.txt").expect("example file");
    let parsed = parse_settlement(&bytes, None).expect("parses");
    let sid = parsed.summary.settlement_id.clone();
    // The file was kept, then the pull stopped before its summary was stored.
    let mut meta = RawFileMeta::describe(&sid, "UTF-8", &bytes, Utc::now());
    meta.seller = Some("seller".into());
    meta.marketplace_id = Some(MARKETPLACE.into());
    w.store()
        .put_raw_settlement(
            &meta,
            &bytes,
            Some(NewAuditEntry::new(Utc::now(), "headless", AuditAction::Pull).settlement(&sid)),
        )
        .unwrap();
    assert!(w.store().settlement(&sid).unwrap().is_none());
    let seq = seq_of(&w, &sid, AuditAction::Pull);
    let r = w
        .engine()
        .replay(&ReplayTarget::Audit(seq), "alice", &quiet)
        .await
        .expect("replay pull");
    assert_eq!(r.kind, ReplayKind::Pull);
    let rec = w.store().settlement(&sid).unwrap().expect("stored");
    assert_eq!(rec.summary, parsed.summary);
    assert_eq!(rec.raw_sha256.as_deref(), Some(meta.sha256.as_str()));
    assert_eq!(rec.marketplace_id, MARKETPLACE);
    // Again: nothing changes, and it says so.
    let r = w
        .engine()
        .replay(&ReplayTarget::Audit(seq), "alice", &quiet)
        .await
        .expect("again");
    assert!(r.detail.contains("already matches"), "{r:?}");
    // A proposal replay needs the configuration.
    let p = w
        .store()
        .append_audit(
            NewAuditEntry::new(Utc::now(), "headless", AuditAction::Proposal)
                .settlement(&sid)
                .period("OCT-26"),
        )
        .unwrap();
    let e = w
        .engine()
        .replay(&ReplayTarget::Audit(p.seq), "alice", &quiet)
        .await
        .expect_err("needs the configuration");
    assert!(e.to_string().contains("configuration"), "{e}");
}

// ------------------------------------------------------------------ headless: both simulators

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_headless_run_leaves_maker_checker_batches_waiting_and_alerts_about_them() {
    use ml_connector::sim::world::DemoWorld;
    use ml_connector::sync::headless::exit;
    use std::os::unix::fs::PermissionsExt;

    let dir = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let world = DemoWorld::start(common::options(dir.path(), false))
        .await
        .unwrap();
    let script = dir.path().join("notify.sh");
    std::fs::write(&script, "#!/bin/sh\ncat > \"$1\"\n").unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let got = dir.path().join("alert.json");
    let text = std::fs::read_to_string(&world.config_path).unwrap();
    std::fs::write(
        &world.config_path,
        format!(
            "{text}\n[controls]\ndistinct_approver = true\n[alerts]\non_failure = \"{} {}\"\nwaiting_after = \"0s\"\n",
            script.display(),
            got.display()
        ),
    )
    .unwrap();
    let ctx = common::context(&world, data.path());
    let report = common::headless_once(&ctx).await;
    assert_eq!(report.exit_code, exit::WAITING, "{:?}", report.errors);
    // `headless` recorded the mapping versions, so `headless` may not approve: nothing posted.
    assert_eq!(world.ebs.gl_journals().as_array().unwrap().len(), 0);
    let reasons: Vec<String> = report
        .settlements
        .iter()
        .flat_map(|s| s.batches.iter().filter_map(|b| b.reason.clone()))
        .collect();
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("headless may not approve")),
        "{reasons:?}"
    );
    // The alert command got the run report with the waiting batches.
    let alert: Value = serde_json::from_str(&std::fs::read_to_string(&got).expect("alert ran"))
        .expect("report JSON on stdin");
    assert_eq!(alert["exit_code"], exit::WAITING);
    assert_eq!(
        alert["settlements"].as_array().unwrap().len(),
        report.settlements.len()
    );
    assert!(
        alert["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["kind"] == "waiting"),
        "{alert}"
    );
    world.stop().await;
}

/// The real binary: `reverse SETTLEMENT --yes` then `replay SETTLEMENT/PERIOD` and `audit`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_reverse_and_replay_against_the_demo_world() {
    use ml_connector::sim::world::DemoWorld;
    let dir = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let world = DemoWorld::start(common::options(dir.path(), false))
        .await
        .unwrap();
    let key = {
        let ctx = common::context(&world, data.path());
        common::headless_once(&ctx).await;
        let b = ctx
            .store
            .batches()
            .unwrap()
            .into_iter()
            .find(|b| b.state == BatchState::Imported)
            .expect("an imported batch");
        b.key()
    };
    let before = world.ebs.gl_journals().as_array().unwrap().len();
    let bin = env!("CARGO_BIN_EXE_ml-connector");
    let cfg = world.config_path.clone();
    let data_path = data.path().to_path_buf();
    let data_path2 = data_path.clone();
    let run = move |args: Vec<String>| {
        let out = std::process::Command::new(bin)
            .arg("--config")
            .arg(&cfg)
            .arg("--data-dir")
            .arg(&data_path)
            .args(&args)
            .env("ML_CONNECTOR_PASSPHRASE", common::PASSPHRASE)
            .stdin(std::process::Stdio::null())
            .output()
            .expect("binary runs");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let k = key.clone();
    let (code, out, err) = tokio::task::spawn_blocking({
        let run = run.clone();
        move || {
            run(vec![
                "reverse".into(),
                k.settlement_id.clone(),
                "--period".into(),
                k.period.clone(),
                "--yes".into(),
            ])
        }
    })
    .await
    .unwrap();
    assert_eq!(code, Some(0), "{out}\n{err}");
    assert!(
        out.contains("Reverse batch") && out.contains("reversed (revision 2)"),
        "{out}"
    );
    assert_eq!(
        world.ebs.gl_journals().as_array().unwrap().len(),
        before + 1
    );
    // Without --yes and nothing on stdin: nothing is sent (here: nothing left to reverse).
    let k = key.clone();
    let (code, _, err) = tokio::task::spawn_blocking({
        let run = run.clone();
        move || {
            run(vec![
                "reverse".into(),
                k.settlement_id.clone(),
                "--period".into(),
                k.period.clone(),
            ])
        }
    })
    .await
    .unwrap();
    assert_ne!(code, Some(0));
    assert!(err.contains("reversed"), "{err}");
    // Replaying the batch changes nothing in EBS, and says so in the audit trail.
    let target = format!("{}/{}", key.settlement_id, key.period);
    let (code, out, err) = tokio::task::spawn_blocking({
        let run = run.clone();
        move || run(vec!["replay".into(), target])
    })
    .await
    .unwrap();
    assert_eq!(code, Some(0), "{out}\n{err}");
    let got: Value = serde_json::from_str(out.trim()).expect("replay JSON");
    assert_eq!(got["kind"], "posting");
    assert_eq!(
        world.ebs.gl_journals().as_array().unwrap().len(),
        before + 1
    );
    // A proposal and a pull, replayed from the stored inputs (needs the configuration).
    let (proposal_seq, pull_seq) = {
        let store = ml_connector::store::Store::open(&data_path2, "test").unwrap();
        let entries = store.audit_entries(Some(&key.settlement_id)).unwrap();
        let seq = |a: AuditAction| {
            entries
                .iter()
                .find(|e| e.action == a)
                .map(|e| e.seq)
                .unwrap()
        };
        (seq(AuditAction::Proposal), seq(AuditAction::Pull))
    };
    for (seq, kind, says) in [
        (proposal_seq, "proposal", "proposed"),
        (pull_seq, "pull", "already matches"),
    ] {
        let (code, out, err) = tokio::task::spawn_blocking({
            let run = run.clone();
            move || run(vec!["replay".into(), seq.to_string()])
        })
        .await
        .unwrap();
        assert_eq!(code, Some(0), "{out}\n{err}");
        let got: Value = serde_json::from_str(out.trim()).expect("replay JSON");
        assert_eq!(got["kind"], kind, "{got}");
        assert!(got["detail"].as_str().unwrap().contains(says), "{got}");
    }
    assert_eq!(
        world.ebs.gl_journals().as_array().unwrap().len(),
        before + 1
    );
    let (_, audit, _) = tokio::task::spawn_blocking(move || {
        run(vec![
            "audit".into(),
            "--settlement".into(),
            key.settlement_id.clone(),
            "--format".into(),
            "csv".into(),
        ])
    })
    .await
    .unwrap();
    assert!(
        audit.contains(",reversal,") && audit.contains(",replay,"),
        "{audit}"
    );
    world.stop().await;
}

#[tokio::test]
async fn a_rejected_reversal_leaves_the_batch_as_it_was_and_can_be_sent_again() {
    let w = world().await;
    let keys = w.propose("3701", &[oct(FEES)]);
    approve(&w, &keys);
    let engine = w.engine();
    settle(&w, &engine, &keys).await.expect("post");
    let plan = engine
        .plan_reversal(&keys[0], Some("NOV-26"))
        .await
        .expect("plan");
    let out = engine.reverse(&plan, "alice", &quiet).await.expect("sent");
    assert_eq!(
        out.state,
        BatchState::Imported,
        "waiting on the import: {out:?}"
    );
    // NOV-26 closes before Journal Import runs: the reversal is rejected (EP01).
    assert!(w.sim.set_period_status(1, "NOV-26", "C"));
    w.sim.run_until_idle();
    let r = engine
        .reconcile_in_flight(&ProgressSink::noop())
        .await
        .expect("reconcile");
    let err = r.outcomes[0].error.as_deref().expect("rejected");
    assert!(err.contains("rejected the reversing journal"), "{err}");
    assert!(w.store().intents().unwrap().is_empty());
    assert_eq!(w.state(&keys[0]).state, BatchState::Imported);
    assert_eq!(w.journals("3701").len(), 1);
    // Reopened, the reversal goes through once.
    assert!(w.sim.set_period_status(1, "NOV-26", "O"));
    let out = reverse_until_done(&w, &engine, &keys[0], Some("NOV-26")).await;
    assert_eq!(out.state, BatchState::Reversed, "{out:?}");
    let js = w.journals("3701");
    assert_eq!(js.len(), 2);
    assert!(net_by_account(&js).is_empty());
}
