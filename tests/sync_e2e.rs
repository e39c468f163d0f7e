//! End to end: the demo world (both simulators, faults on) and an unattended run.
//!
//! Every settlement must end exactly as designed: imported once with its clearing
//! movement equal to the simulator's truth (total minus carried balance), or waiting /
//! rejected for its designed reason. Also: no secret anywhere after a run, a restart
//! pulls nothing twice, and the real binary's `--headless --once --report json`.

mod common;

use std::path::Path;

use common::*;
use ml_connector::sim::world::DemoWorld;
use ml_connector::store::Store;
use ml_connector::sync::ProgressSink;
use ml_connector::sync::headless::exit;
use tokio_util::sync::CancellationToken;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headless_once_with_faults_gives_every_settlement_its_designed_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let world = DemoWorld::start(options(dir.path(), true)).await.unwrap();
    let ctx = context(&world, data.path());
    let report = headless_once(&ctx).await;
    let (imported, waiting, rejected) = check_outcomes(&world, &report);
    assert!(imported >= 3, "imported {imported}");
    assert_eq!(waiting, 1);
    assert!(rejected >= 1);
    assert_eq!(report.exit_code, exit::WAITING, "{:?}", report.errors);
    assert!(report.errors.is_empty(), "{:?}", report.errors);

    // A second run changes nothing: nothing pulled twice, nothing posted twice.
    let journals_before = world.ebs.gl_journals();
    let audit_pulls = |store: &Store| {
        store
            .audit_entries(None)
            .unwrap()
            .into_iter()
            .filter(|e| e.action.as_str() == "pull")
            .count()
    };
    let pulls_before = audit_pulls(&ctx.store);
    let again = headless_once(&ctx).await;
    assert_eq!(
        audit_pulls(&ctx.store),
        pulls_before,
        "a settlement was pulled twice"
    );
    assert_eq!(world.ebs.gl_journals(), journals_before);
    check_outcomes(&world, &again);
    assert!(ctx.store.verify().unwrap().is_clean());

    // No secret in the data directory, the config directory (but the encrypted file) or the report.
    let secrets = world.secrets();
    drop(ctx);
    let mut leaks = grep_secrets(data.path(), &secrets, &[]);
    leaks.extend(grep_secrets(dir.path(), &secrets, &["credentials.age"]));
    let text = serde_json::to_string(&again).unwrap();
    for s in &secrets {
        if text.contains(s.as_str()) {
            leaks.push(format!("report holds `{s}`"));
        }
    }
    assert!(leaks.is_empty(), "{leaks:?}");
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_resumes_from_cursors_and_pulls_nothing_twice() {
    let dir = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let world = DemoWorld::start(options(dir.path(), false)).await.unwrap();
    let sink = ProgressSink::noop();
    let cancel = CancellationToken::new();
    let first = {
        let ctx = context(&world, data.path());
        let mut n = 0;
        for s in &ctx.sellers {
            n += ml_connector::sync::pull::pull_seller(&ctx, s, &sink, &cancel)
                .await
                .unwrap()
                .settlements_downloaded;
        }
        assert!(ctx.store.cursor("reports:demo-na").unwrap().is_some());
        let groups = ctx.store.event_groups().unwrap();
        let with_events = groups
            .iter()
            .filter(|g| g.data.get(ml_connector::sync::pull::EVENTS_KEY).is_some())
            .count();
        assert!(
            with_events >= 6,
            "closed groups keep their events: {with_events}"
        );
        assert!(ctx.store.orders_count() > 0, "orders pulled");
        n
    };
    assert!(first >= 6, "first pull downloaded {first}");
    let stats_before = world.amazon.stats();
    // Restart: a new process would open the same data directory.
    let ctx = context(&world, data.path());
    let mut again = 0;
    for s in &ctx.sellers {
        again += ml_connector::sync::pull::pull_seller(&ctx, s, &sink, &cancel)
            .await
            .unwrap()
            .settlements_downloaded;
    }
    assert_eq!(again, 0, "a restart downloaded settlements again");
    let stats_after = world.amazon.stats();
    assert_ne!(stats_before, serde_json::Value::Null);
    assert_ne!(stats_after, serde_json::Value::Null);
    world.stop().await;
}

/// The real binary: `demo --sims-only` in one process, `--headless --once --report json` in another.
#[test]
fn binary_headless_once_against_demo_sims_only() {
    use std::io::BufRead;
    use std::process::{Command, Stdio};
    let bin = env!("CARGO_BIN_EXE_ml-connector");
    let world_dir = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let mut demo = Command::new(bin)
        .args(["demo", "--sims-only", "--time-scale", "60", "--data-dir"])
        .arg(world_dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("demo starts");
    let mut line = String::new();
    std::io::BufReader::new(demo.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let announce: serde_json::Value = serde_json::from_str(&line).expect("one JSON line");
    assert!(
        announce["amazon"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1:")
    );
    assert!(
        announce["ebs"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1:")
    );
    let config = announce["config"].as_str().unwrap().to_string();
    let passphrase = announce["passphrase"].as_str().unwrap().to_string();
    assert!(Path::new(&config).exists());
    assert!(
        !world_dir.path().join("store").exists(),
        "the demo dir holds no store"
    );

    let out = Command::new(bin)
        .args(["--headless", "--once", "--report", "json", "--config"])
        .arg(&config)
        .arg("--data-dir")
        .arg(data.path())
        .env("ML_CONNECTOR_PASSPHRASE", &passphrase)
        .output()
        .expect("headless runs");
    let _ = demo.kill();
    let _ = demo.wait();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(exit::WAITING), "stderr: {stderr}");
    let report: serde_json::Value = serde_json::from_str(stdout.trim()).expect("one JSON object");
    let settlements = report["settlements"].as_array().unwrap();
    assert!(settlements.len() >= 6, "{report}");
    assert!(
        report["counts"]["imported"].as_u64().unwrap() >= 3,
        "{report}"
    );
    assert!(
        report["counts"]["rejected"].as_u64().unwrap() >= 1,
        "{report}"
    );
    assert_eq!(
        report["counts"]["needs_mapping"].as_u64(),
        Some(1),
        "{report}"
    );
    for s in settlements {
        for b in s["batches"].as_array().unwrap() {
            let state = b["state"].as_str().unwrap();
            if matches!(state, "rejected" | "needs_mapping") {
                assert!(b["reason"].is_string(), "{s}");
            }
        }
    }
    for l in stderr.lines() {
        serde_json::from_str::<serde_json::Value>(l)
            .unwrap_or_else(|e| panic!("log line is not JSON ({e}): {l}"));
    }
    // No secret in the logs, the report or the data directory.
    let mut secrets = vec![
        passphrase,
        ml_connector::sim::amazon::DEFAULT_CLIENT_SECRET.to_string(),
        ml_connector::sim::amazon::DEFAULT_REFRESH_TOKEN.to_string(),
        "welcome1".to_string(),
    ];
    secrets.dedup();
    for s in &secrets {
        assert!(!stdout.contains(s.as_str()), "report leaks a secret");
        assert!(!stderr.contains(s.as_str()), "logs leak a secret");
    }
    let leaks = grep_secrets(data.path(), &secrets, &[]);
    assert!(leaks.is_empty(), "{leaks:?}");
}

/// Mapping versions: a new version re-proposes what is not staged; an approval survives
/// a version that does not change its proposal and lapses with one that does; fixing the
/// unmapped fee turns `needs_mapping` into `proposed`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_mapping_versions_repropose_and_approvals_lapse_only_on_change() {
    use ml_connector::ledger::state::BatchState;
    use ml_connector::sync::posting::PostingEngine;
    use ml_connector::sync::propose::propose_pending;
    let dir = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let mut opts = options(dir.path(), false);
    opts.auto_post = false;
    let world = DemoWorld::start(opts).await.unwrap();
    let ctx = context(&world, data.path());
    let report = headless_once(&ctx).await;
    assert_eq!(report.exit_code, exit::WAITING);
    assert_eq!(
        report.counts["imported"], 0,
        "auto_post = never posts nothing"
    );
    let us = report
        .settlements
        .iter()
        .find(|s| {
            s.marketplace == ml_connector::sim::world::US && s.status == Some(BatchState::Proposed)
        })
        .expect("a proposed US settlement");
    assert!(
        us.batches[0]
            .reason
            .as_deref()
            .unwrap_or("")
            .contains("auto_post"),
        "{us:?}"
    );
    let key = ml_connector::store::BatchKey::new(&us.settlement_id, &us.batches[0].period);
    let engine = PostingEngine::from_context(&ctx);
    engine
        .approve(std::slice::from_ref(&key), "jdoe", chrono::Utc::now())
        .unwrap();
    let version = |ctx: &ml_connector::sync::context::SyncContext| {
        ctx.store
            .latest_mapping("mapping.toml")
            .unwrap()
            .unwrap()
            .version
    };
    let v1 = version(&ctx);

    // A comment only: a new version, the same proposal: the approval holds.
    let path = dir.path().join("mapping.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, format!("{text}\n# reviewed\n")).unwrap();
    let sink = ProgressSink::noop();
    propose_pending(&ctx, &sink, chrono::Utc::now())
        .await
        .unwrap();
    assert_eq!(version(&ctx), v1 + 1);
    let b = ctx.store.batch(&key).unwrap().unwrap();
    assert_eq!(b.state, BatchState::Approved);
    assert_eq!(
        ctx.store.proposal(&key).unwrap().unwrap().mapping.version,
        v1 + 1,
        "re-proposed with the new version"
    );

    // A changed label (display text, issue 14): a new proposal with the same accounting,
    // so the approval holds.
    let relabelled = text.replace("Amazon product sales", "Amazon product sales (net)")
        + "\n[[rules]]\ntransaction_type = \"Order\"\namount_type = \"ItemFees\"\namount_description = \"NewFeeType2026\"\naccount = \"01-000-6160-0000-000\"\nlabel = \"New Amazon fee\"\n";
    std::fs::write(&path, &relabelled).unwrap();
    let s = propose_pending(&ctx, &sink, chrono::Utc::now())
        .await
        .unwrap();
    assert!(!s.lapsed.contains(&key), "{s:?}");
    assert_eq!(
        ctx.store.batch(&key).unwrap().unwrap().state,
        BatchState::Approved
    );
    let p = ctx.store.proposal(&key).unwrap().unwrap();
    assert!(
        p.lines
            .lines
            .iter()
            .any(|l| l.label == "Amazon product sales (net)"),
        "re-proposed with the new label"
    );

    // A changed account: the accounting changes, the approval lapses.
    let sales = "account = \"01-000-4010-0000-000\"\nlabel = \"Amazon product sales (net)\"";
    assert!(relabelled.contains(sales));
    let moved = relabelled.replace(
        sales,
        "account = \"01-000-4020-0000-000\"\nlabel = \"Amazon product sales (net)\"",
    );
    std::fs::write(&path, moved).unwrap();
    let s = propose_pending(&ctx, &sink, chrono::Utc::now())
        .await
        .unwrap();
    assert!(s.lapsed.contains(&key), "{s:?}");
    let b = ctx.store.batch(&key).unwrap().unwrap();
    assert_eq!(b.state, BatchState::Proposed);
    assert!(b.approval.is_none());
    // The DE settlement that needed a mapping is proposed now.
    let de_waiting: Vec<_> = ctx
        .store
        .batches()
        .unwrap()
        .into_iter()
        .filter(|b| b.state == BatchState::NeedsMapping)
        .collect();
    assert!(de_waiting.is_empty(), "{de_waiting:?}");
    world.stop().await;
}

/// The scheduler: a "sync now" starts the next run at once; cancelling stops it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduler_runs_on_trigger_and_stops_on_cancel() {
    use ml_connector::sync::SyncMsg;
    use ml_connector::sync::scheduler::{Trigger, run_scheduled};
    let dir = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let mut opts = options(dir.path(), false);
    opts.auto_post = false;
    let world = DemoWorld::start(opts).await.unwrap();
    let ctx = context(&world, data.path());
    let (sink, got) = ProgressSink::collecting();
    let cancel = CancellationToken::new();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let finished = |got: &ml_connector::sync::Collected| {
        got.snapshot()
            .iter()
            .filter(|m| matches!(m, SyncMsg::RunFinished { .. }))
            .count()
    };
    let driver = async {
        while finished(&got) < 1 {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        tx.send(Trigger::SyncNow).unwrap();
        while finished(&got) < 2 {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        cancel.cancel();
    };
    let (report, ()) = tokio::join!(
        run_scheduled(
            &ctx,
            None,
            &sink,
            &cancel,
            std::time::Duration::from_secs(24 * 3600),
            rx
        ),
        driver
    );
    let report = report.unwrap();
    assert_eq!(report.exit_code, exit::INTERRUPTED);
    assert_eq!(
        finished(&got),
        2,
        "exactly the scheduled run and the triggered one"
    );
    world.stop().await;
}

/// SIGTERM stops the scheduled binary at a safe point with exit code 5.
#[cfg(unix)]
#[test]
fn binary_stops_on_sigterm() {
    use std::io::BufRead;
    use std::process::{Command, Stdio};
    let bin = env!("CARGO_BIN_EXE_ml-connector");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let world = rt
        .block_on(DemoWorld::start(options(dir.path(), false)))
        .unwrap();
    let mut child = Command::new(bin)
        .args(["--headless", "--config"])
        .arg(&world.config_path)
        .arg("--data-dir")
        .arg(data.path())
        .env("ML_CONNECTOR_PASSPHRASE", PASSPHRASE)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut lines = stderr.lines();
    for line in lines.by_ref() {
        if line.unwrap().contains("run_finished") {
            break;
        }
    }
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let code = child.wait().unwrap().code();
    assert_eq!(code, Some(exit::INTERRUPTED), "{rest:?}");
    rt.block_on(world.stop());
}

/// Issue 14: the audit trail runs on one clock, the local one. Amazon's clock (a simulator
/// two hours ahead) only shapes the queries and is kept as data in the pull entries.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_trail_runs_on_the_local_clock_whatever_amazons_clock_says() {
    use ml_connector::store::AuditAction;
    let dir = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let world = DemoWorld::start(options(dir.path(), false)).await.unwrap();
    world
        .amazon
        .advance(std::time::Duration::from_secs(2 * 3600));
    let ctx = context(&world, data.path());
    let sink = ProgressSink::noop();
    let cancel = CancellationToken::new();
    let before = chrono::Utc::now();
    for s in &ctx.sellers {
        ml_connector::sync::pull::pull_seller(&ctx, s, &sink, &cancel)
            .await
            .unwrap();
    }
    ml_connector::sync::propose::propose_pending(&ctx, &sink, chrono::Utc::now())
        .await
        .unwrap();
    let after = chrono::Utc::now();
    let entries = ctx.store.audit_entries(None).unwrap();
    assert!(entries.iter().any(|e| e.action == AuditAction::Pull));
    assert!(entries.iter().any(|e| e.action == AuditAction::Proposal));
    for pair in entries.windows(2) {
        assert!(
            pair[0].time <= pair[1].time,
            "the trail runs backwards: #{} {} at {} then #{} {} at {}",
            pair[0].seq,
            pair[0].action,
            pair[0].time,
            pair[1].seq,
            pair[1].action,
            pair[1].time
        );
    }
    for e in &entries {
        assert!(
            before <= e.time && e.time <= after,
            "#{} {} at {} is outside the run ({before} .. {after})",
            e.seq,
            e.action,
            e.time
        );
    }
    let amazon_times: Vec<chrono::DateTime<chrono::Utc>> = entries
        .iter()
        .filter(|e| e.action == AuditAction::Pull)
        .filter_map(|e| serde_json::from_value(e.details.get("amazon_time")?.clone()).ok())
        .collect();
    assert!(!amazon_times.is_empty(), "Amazon's time is kept as data");
    assert!(
        amazon_times
            .iter()
            .all(|t| *t > after + chrono::Duration::hours(1)),
        "{amazon_times:?}"
    );
    world.stop().await;
}
