//! Issue 14, "Failures must be failures": a run that could not finish because a system
//! failed exits 4 and says what failed (system, operation, HTTP status or transport error,
//! batch) on every batch it left unfinished; a broken mapping file is a configuration
//! problem (exit 2) naming its file, line and column; a closed pipe or a full disk never
//! panics and never loses the run's exit code.
//!
//! Both simulators run in this process on 127.0.0.1; faults come from the EBS simulator's
//! controls, never from timing.

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use chrono::Utc;
use common::*;
use ml_connector::ledger::state::BatchState;
use ml_connector::sim::ebs::Faults;
use ml_connector::sim::world::DemoWorld;
use ml_connector::sync::ProgressSink;
use ml_connector::sync::headless::exit;
use ml_connector::sync::posting::{PostingEngine, WaitMode};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_ml-connector");

/// Appends `[controls]`/`[alerts]` so `headless` may not approve (nothing posts in the first
/// run) and every alert lands in `alert.json`.
#[cfg(unix)]
fn with_alerts(world: &DemoWorld, dir: &Path) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let script = dir.join("notify.sh");
    std::fs::write(&script, "#!/bin/sh\ncat > \"$1\"\n").unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let got = dir.join("alert.json");
    let text = std::fs::read_to_string(&world.config_path).unwrap();
    std::fs::write(
        &world.config_path,
        format!(
            "{text}\n[controls]\ndistinct_approver = true\n[alerts]\non_failure = \"{} {}\"\n",
            script.display(),
            got.display()
        ),
    )
    .unwrap();
    got
}

/// `SETTLEMENT/PERIOD` → (state, reason) of every batch in a JSON run report.
fn batches(report: &Value) -> Vec<(String, String, Option<String>)> {
    report["settlements"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| {
            let sid = s["settlement_id"].as_str().unwrap().to_string();
            s["batches"].as_array().unwrap().iter().map(move |b| {
                (
                    format!("{sid}/{}", b["period"].as_str().unwrap()),
                    b["state"].as_str().unwrap().to_string(),
                    b["reason"].as_str().map(str::to_string),
                )
            })
        })
        .collect()
}

fn errors(report: &Value) -> &Vec<Value> {
    report["errors"].as_array().expect("errors is a list")
}

/// EBS answering 500 `ISG_DB_CONNECTION_ERROR` to every call, then not answering at all,
/// while batches are in flight (`submitted`) or approved and posted: exit 4, one error per batch with system, operation,
/// status and code (or the transport error), the reason on each batch, `on_failure` fired.
/// Once EBS is back, the next run posts them.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ebs_failing_while_posting_is_a_failure_with_structured_errors_and_reasons() {
    let dir = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let world = DemoWorld::start(options(dir.path(), false)).await.unwrap();
    let alert = with_alerts(&world, dir.path());

    // 1. Nothing posts: every postable batch waits for a second person.
    let ctx = context(&world, data.path());
    let first = headless_once(&ctx).await;
    assert_eq!(first.exit_code, exit::WAITING, "{:?}", first.errors);
    let proposed: Vec<_> = ctx
        .store
        .batches()
        .unwrap()
        .into_iter()
        .filter(|b| b.state == BatchState::Proposed)
        .map(|b| b.key())
        .collect();
    assert!(proposed.len() >= 3, "{proposed:?}");
    let engine = PostingEngine::from_context(&ctx).with_wait(WaitMode::Once);
    engine
        .approve(&proposed, "alice", Utc::now())
        .expect("alice approves");
    let approved: Vec<String> = proposed.iter().map(|k| k.to_string()).collect();
    // Posted without waiting for Journal Import: they stay `submitted` (in flight).
    let out = engine
        .post_batches(&proposed, &ProgressSink::noop())
        .await
        .expect("posted");
    assert!(
        out.iter().any(|o| o.state == BatchState::Submitted),
        "{out:?}"
    );
    drop(engine);

    // 2. EBS fails every call.
    world.ebs.inject(&Faults {
        fault_rate: Some(1.0),
        ..Faults::default()
    });
    let _ = std::fs::remove_file(&alert);
    let report = serde_json::to_value(headless_once(&ctx).await).unwrap();
    assert_eq!(report["exit_code"], exit::FAILURE, "{report:#}");
    let errs = errors(&report);
    assert_eq!(errs.len(), approved.len(), "{errs:#?}");
    for e in errs {
        assert_eq!(e["system"], "ebs", "{e}");
        assert_eq!(e["http_status"], 500, "{e}");
        assert_eq!(e["code"], "ISG_DB_CONNECTION_ERROR", "{e}");
        assert!(e["transport"].is_null(), "{e}");
        assert!(!e["operation"].as_str().unwrap().is_empty(), "{e}");
        let batch = e["batch"].as_str().expect("names its batch");
        assert!(approved.iter().any(|a| a == batch), "{e}");
        assert_eq!(e["settlement_id"].as_str(), batch.split('/').next(), "{e}");
        assert!(
            e["message"]
                .as_str()
                .unwrap()
                .contains("ISG_DB_CONNECTION_ERROR")
        );
    }
    let mut submitted = 0;
    for (key, state, reason) in batches(&report) {
        if approved.contains(&key) {
            assert!(matches!(state.as_str(), "approved" | "submitted"), "{key}");
            submitted += usize::from(state == "submitted");
            let reason = reason.unwrap_or_else(|| panic!("{key} has no reason"));
            assert!(
                reason.starts_with("EBS failed during ")
                    && reason.contains("(HTTP 500 ISG_DB_CONNECTION_ERROR)")
                    && reason.contains("the next run"),
                "{key}: {reason}"
            );
        }
    }
    assert!(submitted > 0, "{report:#}");
    // The TUI reads the same reason from the batch record.
    let key = &proposed[0];
    let rec = ctx.store.batch(key).unwrap().unwrap();
    assert!(
        rec.reason
            .as_deref()
            .unwrap_or("")
            .starts_with("EBS failed during "),
        "{rec:?}"
    );
    let sent: Value =
        serde_json::from_str(&std::fs::read_to_string(&alert).expect("[alerts] on_failure ran"))
            .expect("report JSON on stdin");
    assert_eq!(sent["exit_code"], exit::FAILURE);
    let failed = sent["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["kind"] == "run_failed")
        .expect("a run_failed alert");
    assert_eq!(failed["errors"], report["errors"], "{failed}");
    drop(ctx);

    // 3. EBS does not answer at all (the simulator's port is closed).
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let text = std::fs::read_to_string(&world.config_path).unwrap();
    let live = format!("base_url = \"{}\"", world.ebs.base_url());
    let dead = format!("base_url = \"{dead}\"");
    assert!(text.contains(&live));
    std::fs::write(&world.config_path, text.replace(&live, &dead)).unwrap();
    let ctx = context(&world, data.path());
    let report = serde_json::to_value(headless_once(&ctx).await).unwrap();
    assert_eq!(report["exit_code"], exit::FAILURE, "{report:#}");
    let errs = errors(&report);
    assert_eq!(errs.len(), approved.len(), "{errs:#?}");
    for e in errs {
        assert_eq!(e["system"], "ebs", "{e}");
        assert!(e["http_status"].is_null(), "{e}");
        let transport = e["transport"].as_str().expect("a transport error");
        assert!(transport.starts_with("cannot connect"), "{e}");
        assert!(e["batch"].is_string(), "{e}");
    }
    for (key, _, reason) in batches(&report) {
        if approved.contains(&key) {
            let reason = reason.unwrap_or_default();
            assert!(
                reason.starts_with("EBS failed during ") && reason.contains("cannot connect"),
                "{key}: {reason}"
            );
        }
    }
    drop(ctx);

    // 4. EBS is back: the next run posts what waited, and says nothing failed.
    let text = std::fs::read_to_string(&world.config_path).unwrap();
    std::fs::write(&world.config_path, text.replace(&dead, &live)).unwrap();
    world.ebs.inject(&Faults {
        fault_rate: Some(0.0),
        ..Faults::default()
    });
    let ctx = context(&world, data.path());
    let report = serde_json::to_value(headless_once(&ctx).await).unwrap();
    assert!(errors(&report).is_empty(), "{report:#}");
    assert_eq!(report["exit_code"], exit::WAITING);
    for (key, state, reason) in batches(&report) {
        if approved.contains(&key) {
            // Imported, or rejected / blocked for the CA world's designed cause.
            assert_ne!(state, "submitted", "{key} {reason:?}");
            assert!(
                !reason.clone().unwrap_or_default().starts_with("EBS failed"),
                "{key} {state} {reason:?}"
            );
        }
    }
    drop(ctx);
    world.stop().await;
}

/// A settlement that cannot be proposed is named once (`settlement X: why`, not
/// `settlement X: settlement X: why`), with its settlement id in the error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_settlement_that_cannot_be_proposed_is_named_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let world = DemoWorld::start(options(dir.path(), false)).await.unwrap();
    // The CA routing's own mapping file is gone (and was never imported).
    std::fs::remove_file(dir.path().join("mapping-ca.toml")).unwrap();
    let ctx = context(&world, data.path());
    let report = headless_once(&ctx).await;
    assert_eq!(report.exit_code, exit::FAILURE);
    let json = serde_json::to_value(&report).unwrap();
    let errs = errors(&json);
    assert!(!errs.is_empty());
    for (e, typed) in errs.iter().zip(&report.errors) {
        let sid = e["settlement_id"].as_str().expect("names its settlement");
        assert_eq!(e["system"], "ledger", "{e}");
        assert_eq!(e["operation"], "propose", "{e}");
        let message = e["message"].as_str().unwrap();
        assert!(message.contains("mapping-ca.toml"), "{e}");
        assert!(!message.contains("settlement"), "{e}");
        assert_eq!(typed.to_string(), format!("settlement {sid}: {message}"));
    }
    drop(ctx);
    world.stop().await;
}

fn headless_binary(config: &Path, data: &Path, stdout: Stdio, stderr: Stdio) -> Output {
    Command::new(BIN)
        .args(["--headless", "--once", "--report", "json", "--config"])
        .arg(config)
        .arg("--data-dir")
        .arg(data)
        .env("ML_CONNECTOR_PASSPHRASE", PASSPHRASE)
        .env("RUST_BACKTRACE", "1")
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .output()
        .expect("ml-connector runs")
}

/// A mapping file broken mid-way is a configuration error: exit 2, the file, line and
/// column named, the broken text never stored as a new mapping version.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_mapping_file_is_a_configuration_error_naming_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let world = DemoWorld::start(options(dir.path(), false)).await.unwrap();
    let mapping = dir.path().join("mapping.toml");
    let mut text = std::fs::read_to_string(&mapping).unwrap();
    let line = text.lines().count() + 1;
    text.push_str("[[rule]\n");
    std::fs::write(&mapping, text).unwrap();
    let (config, data_dir) = (world.config_path.clone(), data.path().to_path_buf());
    let out = tokio::task::spawn_blocking(move || {
        headless_binary(&config, &data_dir, Stdio::piped(), Stdio::piped())
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(exit::CONFIGURATION),
        "{stdout}\n{stderr}"
    );
    let report: Value = serde_json::from_str(stdout.trim()).expect("the report");
    let errs = errors(&report);
    assert_eq!(errs.len(), 1, "{report:#}");
    let e = &errs[0];
    assert_eq!(e["system"], "config", "{e}");
    let message = e["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("mapping file {}", mapping.display()))
            && message.contains(&format!("line {line}, column ")),
        "{message}"
    );
    assert!(e["settlement_id"].is_null() && e["batch"].is_null(), "{e}");
    // The store never took the broken text as a mapping version.
    let store = ml_connector::store::Store::open(data.path(), "failures").unwrap();
    for v in store.mapping_versions("mapping.toml").unwrap() {
        assert!(
            !v.text.contains("[[rule]\n"),
            "broken version {}",
            v.version
        );
    }
    drop(store);
    world.stop().await;
}

/// A pipe whose reader is already gone.
fn closed_pipe() -> Stdio {
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    Stdio::from(writer)
}

fn dev_full() -> Stdio {
    Stdio::from(
        std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .expect("/dev/full"),
    )
}

fn no_panic(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_ne!(out.status.code(), Some(101), "{stderr}");
    stderr
}

fn preview(stdout: Stdio, stderr: Stdio, file: &str) -> Output {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/settlements");
    Command::new(BIN)
        .args(["settlement", "preview", "--format", "json"])
        .arg(fixture.join(file))
        .env("RUST_BACKTRACE", "1")
        .stdout(stdout)
        .stderr(stderr)
        .output()
        .expect("ml-connector runs")
}

/// A command's result into a full disk or a closed pipe: one line on stderr, exit 1 (the
/// command's own code when that is not 0), never a panic; a closed stderr changes nothing.
#[cfg(target_os = "linux")]
#[test]
fn output_to_a_full_disk_or_a_closed_pipe_is_an_error_not_a_panic() {
    let ok = preview(Stdio::piped(), Stdio::piped(), "v2-us-24col.txt");
    assert_eq!(ok.status.code(), Some(0), "{}", no_panic(&ok));

    let full = preview(dev_full(), Stdio::piped(), "v2-us-24col.txt");
    let stderr = no_panic(&full);
    assert_eq!(full.status.code(), Some(1), "{stderr}");
    assert_eq!(
        stderr.trim(),
        "cannot write the output: No space left on device"
    );

    let closed = preview(closed_pipe(), Stdio::piped(), "v2-us-24col.txt");
    let stderr = no_panic(&closed);
    assert_eq!(closed.status.code(), Some(1), "{stderr}");
    assert!(stderr.starts_with("cannot write the output: "), "{stderr}");

    // An error with nowhere to say it: still exit 1, not a panic (101).
    let missing = preview(Stdio::piped(), dev_full(), "no-such-file.txt");
    assert_eq!(missing.status.code(), Some(1));
}

/// The headless run's report into a full disk or a closed pipe keeps the run's exit code;
/// logs into a full disk lose the logs, not the run.
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_that_cannot_be_written_keeps_the_runs_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let world = DemoWorld::start(options(dir.path(), false)).await.unwrap();
    let run = |stdout: fn() -> Stdio, stderr: fn() -> Stdio| {
        let (config, data) = (world.config_path.clone(), data.path().to_path_buf());
        tokio::task::spawn_blocking(move || headless_binary(&config, &data, stdout(), stderr()))
    };

    let full = run(dev_full, Stdio::piped).await.unwrap();
    let stderr = no_panic(&full);
    assert_eq!(full.status.code(), Some(exit::WAITING), "{stderr}");
    assert!(
        stderr
            .lines()
            .any(|l| l == "cannot write the report: No space left on device"),
        "{stderr}"
    );

    let closed = run(closed_pipe, Stdio::piped).await.unwrap();
    let stderr = no_panic(&closed);
    assert_eq!(closed.status.code(), Some(exit::WAITING), "{stderr}");
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with("cannot write the report: ")),
        "{stderr}"
    );

    let quiet = run(Stdio::piped, dev_full).await.unwrap();
    assert_eq!(quiet.status.code(), Some(exit::WAITING));
    let report: Value =
        serde_json::from_slice(&quiet.stdout).expect("the report, whole, on stdout");
    assert_eq!(report["exit_code"], exit::WAITING);
    world.stop().await;
}
