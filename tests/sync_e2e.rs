//! End to end: the demo world (both simulators, faults on) and an unattended run.
//!
//! Every settlement must end exactly as designed: imported once with its clearing
//! movement equal to the simulator's truth (total minus carried balance), or waiting /
//! rejected for its designed reason. Also: no secret anywhere after a run, a restart
//! pulls nothing twice, and the real binary's `--headless --once --report json`.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use ml_connector::config::{Config, Unlock};
use ml_connector::ledger::state::BatchState;
use ml_connector::sim::world::{self, DemoOptions, DemoWorld};
use ml_connector::store::Store;
use ml_connector::sync::ProgressSink;
use ml_connector::sync::context::{SyncContext, SyncOptions};
use ml_connector::sync::headless::{RunReport, exit, run_once};
use ml_connector::sync::posting::PostingEngine;
use rust_decimal::Decimal;
use tokio_util::sync::CancellationToken;

const CLEARING: &str = "01-000-1190-0000-000";
const PASSPHRASE: &str = "e2e-passphrase-7f3a";
const SCALE: f64 = 60.0;

fn options(dir: &Path, faults: bool) -> DemoOptions {
    let mut o = DemoOptions::new(dir);
    o.time_scale = SCALE;
    o.work_factor = Some(2);
    o.passphrase = Some(PASSPHRASE.into());
    if faults {
        o.amazon_fault_rate = 0.05;
        o.ebs_fault_rate = 0.05;
    }
    o
}

fn context(world: &DemoWorld, data: &Path) -> SyncContext {
    let config = Config::load(&world.config_path).expect("demo config loads");
    let creds = config
        .load_credentials(&Unlock::Passphrase(world.passphrase().clone()))
        .expect("demo credentials decrypt");
    let store = Arc::new(Store::open(data, "sync_e2e").expect("store opens"));
    SyncContext::new(
        Arc::new(config),
        &creds,
        store,
        SyncOptions {
            amazon_time_scale: SCALE,
            headless: true,
        },
    )
    .expect("context wires")
}

async fn headless_once(ctx: &SyncContext) -> RunReport {
    let engine = PostingEngine::from_context(ctx);
    run_once(
        ctx,
        Some(&engine),
        &ProgressSink::noop(),
        &CancellationToken::new(),
    )
    .await
    .expect("run completes")
}

fn dec(v: &serde_json::Value) -> Decimal {
    v.as_str().map(|s| s.parse().unwrap()).unwrap_or_default()
}

/// Checks every pulled settlement against the world's design; returns (imported, waiting, rejected).
fn check_outcomes(world: &DemoWorld, report: &RunReport) -> (usize, usize, usize) {
    let truth = world.amazon.truth();
    let journals = world.ebs.gl_journals();
    let journals = journals.as_array().unwrap();
    // The latest DE settlement carries the unmapped fee.
    let latest_de = truth
        .settlements
        .iter()
        .filter(|s| s.marketplace_id == world::DE && s.report_status == "DONE")
        .max_by_key(|s| s.end.clone())
        .map(|s| s.settlement_id.clone())
        .expect("DE has settlements");
    let (mut imported, mut waiting, mut rejected) = (0, 0, 0);
    for t in truth
        .settlements
        .iter()
        .filter(|s| s.report_status == "DONE")
    {
        let rep = report
            .settlements
            .iter()
            .find(|r| r.settlement_id == t.settlement_id)
            .unwrap_or_else(|| panic!("settlement {} missing from the report", t.settlement_id));
        assert!(
            !rep.batches.is_empty(),
            "{} has no batches; errors: {:?}",
            t.settlement_id,
            report.errors
        );
        assert_eq!(rep.total, t.total_amount, "{} total", t.settlement_id);
        // Journals in EBS for this settlement, per period.
        let mut per_period: BTreeMap<String, usize> = BTreeMap::new();
        let mut clearing = Decimal::ZERO;
        for j in journals {
            let lines = j["lines"].as_array().unwrap();
            if !lines
                .iter()
                .any(|l| l["reference_1"].as_str() == Some(t.settlement_id.as_str()))
            {
                continue;
            }
            *per_period
                .entry(j["period_name"].as_str().unwrap().to_string())
                .or_default() += 1;
            for l in lines.iter().filter(|l| l["account"] == CLEARING) {
                clearing += dec(&l["entered_dr"]) - dec(&l["entered_cr"]);
            }
        }
        if t.marketplace_id == world::CA {
            for b in &rep.batches {
                assert_eq!(
                    b.state,
                    BatchState::Rejected,
                    "CA {} {b:?}",
                    t.settlement_id
                );
                assert!(b.reason.is_some(), "rejected without a reason: {b:?}");
            }
            assert!(per_period.is_empty(), "a rejected CA journal was created");
            rejected += 1;
        } else if t.settlement_id == latest_de {
            assert!(
                rep.batches
                    .iter()
                    .all(|b| b.state == BatchState::NeedsMapping),
                "DE latest: {rep:?}"
            );
            let reason = rep.batches[0].reason.clone().unwrap_or_default();
            assert!(reason.contains(world::UNMAPPED_FEE), "reason: {reason}");
            assert!(per_period.is_empty());
            waiting += 1;
        } else {
            for b in &rep.batches {
                assert!(
                    matches!(b.state, BatchState::Imported | BatchState::Posted),
                    "{} {b:?}",
                    t.settlement_id
                );
                assert_eq!(
                    per_period.get(&b.period),
                    Some(&1),
                    "{} period {} must be in EBS exactly once: {per_period:?}",
                    t.settlement_id,
                    b.period
                );
            }
            assert_eq!(per_period.len(), rep.batches.len());
            assert_eq!(
                clearing,
                t.total_amount - t.carried_balance,
                "clearing movement of {}",
                t.settlement_id
            );
            imported += 1;
        }
    }
    (imported, waiting, rejected)
}

fn grep_secrets(root: &Path, secrets: &[String], skip: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(p) = stack.pop() {
        if p.is_dir() {
            for e in std::fs::read_dir(&p).unwrap() {
                stack.push(e.unwrap().path());
            }
            continue;
        }
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        if skip.contains(&name.as_str()) {
            continue;
        }
        let bytes = std::fs::read(&p).unwrap();
        for s in secrets {
            if memchr::memmem::find(&bytes, s.as_bytes()).is_some() {
                found.push(format!("{} holds `{s}`", p.display()));
            }
        }
    }
    found
}

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
