//! Issue 14's fault-and-damage suite, and issue 16's run report and log format.
//!
//! The real binary (`--headless --once --report json`) runs against the demo world: with
//! half of all Amazon and EBS requests failing, with the simulators (a child
//! `demo --sims-only` process) SIGKILLed or SIGSTOPped while it posts, and with its store
//! cut to half or one byte flipped between runs. Each run's exit code must be one the
//! README documents (a 4 always lists its errors), nothing may be posted twice in EBS
//! (one journal per settlement, period and revision: `REFERENCE21/22/24`), and no history
//! may be lost without `store verify` saying so.
//!
//! "Mid-run" is the first posting step of a staged batch (`posting: submit` / `await`
//! progress events, logged with `ML_CONNECTOR_LOG=info,sync=debug`) on the run's stderr,
//! never a sleep. The slow scenarios are `#[ignore]`d (see each); run them with
//! `cargo test --test faults -- --ignored`.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::*;
use ml_connector::sim::world::DemoWorld;
use ml_connector::store::{AuditAction, Store};
use ml_connector::sync::headless::exit;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_ml-connector");

/// What one headless run left: its exit code, its JSON report and its stderr lines.
struct Run {
    code: i32,
    report: Value,
    stderr: Vec<String>,
    took: Duration,
}

fn headless_cmd(config: &Path, data: &Path, passphrase: &str) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(["--headless", "--once", "--report", "json", "--config"])
        .arg(config)
        .arg("--data-dir")
        .arg(data)
        .env("ML_CONNECTOR_PASSPHRASE", passphrase)
        .env_remove("ML_CONNECTOR_LOG")
        .stdin(Stdio::null());
    cmd
}

fn finish(out: Output, took: Duration) -> Run {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!(
            "the report is one JSON object ({e}): {stdout}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let run = Run {
        code: out.status.code().expect("exited, not killed"),
        report,
        stderr: String::from_utf8_lossy(&out.stderr)
            .lines()
            .map(str::to_string)
            .collect(),
        took,
    };
    check_documented(&run);
    run
}

fn headless(config: &Path, data: &Path, passphrase: &str) -> Run {
    let started = Instant::now();
    let out = headless_cmd(config, data, passphrase)
        .output()
        .expect("headless runs");
    finish(out, started.elapsed())
}

/// Exit codes as the README documents them: the report says the same code, a 4 lists its
/// errors (each with system, operation and message), anything else lists none, and no
/// run panics.
fn check_documented(run: &Run) {
    let errors = run.report["errors"].as_array().expect("errors is a list");
    assert_eq!(run.report["exit_code"], run.code, "{:#}", run.report);
    assert!(
        [exit::DONE, exit::WAITING, exit::FAILURE].contains(&run.code),
        "exit {}: {:#}\n{}",
        run.code,
        run.report,
        run.stderr.join("\n")
    );
    if run.code == exit::FAILURE {
        assert!(!errors.is_empty(), "exit 4 lists its errors");
        for e in errors {
            assert!(e["system"].is_string() && e["operation"].is_string(), "{e}");
            assert!(!e["message"].as_str().unwrap_or_default().is_empty(), "{e}");
        }
    } else {
        assert!(
            errors.is_empty(),
            "exit {} with errors: {errors:#?}",
            run.code
        );
    }
    assert!(
        !run.stderr.iter().any(|l| l.contains("panicked")),
        "{}",
        run.stderr.join("\n")
    );
}

/// Every unfinished batch of a failed run says why.
fn unfinished_have_reasons(report: &Value) {
    for s in report["settlements"].as_array().unwrap() {
        for b in s["batches"].as_array().unwrap() {
            let done = ["imported", "posted", "archived", "reversed"];
            if !done.contains(&b["state"].as_str().unwrap()) {
                assert!(
                    b["reason"].is_string(),
                    "no reason: {b} in {s}; errors {:#}",
                    report["errors"]
                );
            }
        }
    }
}

/// At most one journal per ledger, settlement, period and revision in one EBS instance
/// (`REFERENCE21`, `22`, `24` of its lines); returns how many there are.
fn nothing_posted_twice(journals: &Value) -> usize {
    let mut seen: BTreeMap<(String, String, String, String), usize> = BTreeMap::new();
    for j in journals.as_array().unwrap() {
        let line = &j["lines"][0];
        let key = (
            j["ledger_id"].as_str().unwrap_or_default().to_string(),
            line["reference_1"].as_str().unwrap_or_default().to_string(),
            line["reference_2"].as_str().unwrap_or_default().to_string(),
            line["reference_4"].as_str().unwrap_or_default().to_string(),
        );
        *seen.entry(key).or_default() += 1;
    }
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "posted twice: {twice:?}");
    seen.len()
}

/// The store's own record: one `imported` outcome per batch revision, and every journal
/// id held by one batch only.
fn store_imported_each_revision_once(data: &Path) {
    let store = Store::open(data, "faults-test").expect("store opens");
    let mut outcomes: BTreeMap<(String, String, u64), usize> = BTreeMap::new();
    for e in store.audit_entries(None).unwrap() {
        if e.action == AuditAction::Outcome && e.details["status"] == "imported" {
            let key = (
                e.settlement_id.clone().unwrap_or_default(),
                e.period.clone().unwrap_or_default(),
                e.details["revision"].as_u64().unwrap_or_default(),
            );
            *outcomes.entry(key).or_default() += 1;
        }
    }
    let twice: Vec<_> = outcomes.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "imported twice in the store: {twice:?}");
    let mut ids: BTreeMap<i64, String> = BTreeMap::new();
    for b in store.batches().unwrap() {
        for id in &b.journal_ids {
            if let Some(other) = ids.insert(*id, b.key().to_string()) {
                panic!("journal {id} held by {other} and {}", b.key());
            }
        }
    }
}

fn cli(config: &Path, data: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .arg("--config")
        .arg(config)
        .arg("--data-dir")
        .arg(data)
        .env_remove("ML_CONNECTOR_PASSPHRASE")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn said(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn verify_clean(config: &Path, data: &Path) {
    let out = cli(config, data, &["store", "verify"]);
    assert!(out.status.success(), "store verify: {}", said(&out));
}

/// Runs until a run ends with nothing failing (at most `max` runs); returns them all.
fn until_done(config: &Path, data: &Path, passphrase: &str, max: usize) -> Vec<Run> {
    let mut runs = Vec::new();
    for _ in 0..max {
        let run = headless(config, data, passphrase);
        let code = run.code;
        if code == exit::FAILURE {
            unfinished_have_reasons(&run.report);
        }
        runs.push(run);
        if code != exit::FAILURE {
            return runs;
        }
    }
    let codes: Vec<i32> = runs.iter().map(|r| r.code).collect();
    panic!(
        "no run finished in {max}: {codes:?}; last errors {:#}",
        runs.last().unwrap().report["errors"]
    );
}

fn summary(runs: &[Run]) -> String {
    runs.iter()
        .map(|r| format!("{}({:.1}s)", r.code, r.took.as_secs_f64()))
        .collect::<Vec<_>>()
        .join(" ")
}

// ---------------------------------------------------------------------------------------
// The simulators in a child process, to kill or freeze.

/// `ml-connector demo --sims-only` in a child process, killed when dropped.
struct ChildSims {
    child: Child,
    config: PathBuf,
    ebs: String,
    passphrase: String,
}

impl ChildSims {
    fn start(dir: &Path, fault_rate: f64) -> ChildSims {
        let mut child = Command::new(BIN)
            .args(["demo", "--sims-only", "--time-scale", &SCALE.to_string()])
            .args(["--fault-rate", &fault_rate.to_string(), "--data-dir"])
            .arg(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the simulators start");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let announce: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("`demo --sims-only` announces itself ({e}): {line}"));
        ChildSims {
            child,
            config: PathBuf::from(announce["config"].as_str().unwrap()),
            ebs: announce["ebs"]
                .as_str()
                .unwrap()
                .trim_end_matches('/')
                .into(),
            passphrase: announce["passphrase"].as_str().unwrap().into(),
        }
    }

    fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill {sig}");
    }

    async fn journals(&self) -> Value {
        reqwest::get(format!("{}/_sim/gl/journals", self.ebs))
            .await
            .expect("the EBS simulator answers")
            .json()
            .await
            .unwrap()
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ChildSims {
    fn drop(&mut self) {
        // A frozen child cannot die until it goes on.
        let _ = Command::new("kill")
            .args(["-CONT", &self.child.id().to_string()])
            .stderr(Stdio::null())
            .status();
        self.kill();
    }
}

/// A headless run whose stderr is read as it comes.
struct Streaming {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
    started: Instant,
}

impl Streaming {
    fn start(config: &Path, data: &Path, passphrase: &str) -> Streaming {
        // Posting steps are `debug` progress events of the `sync` target.
        let mut child = headless_cmd(config, data, passphrase)
            .env("ML_CONNECTOR_LOG", "info,sync=debug")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Streaming {
            child,
            lines,
            seen: Vec::new(),
            started: Instant::now(),
        }
    }

    /// Waits for the first posting step of a staged batch (`submit`: staged, Journal
    /// Import being submitted; `await`: submitted, in flight); false when the run ended
    /// (or `limit` passed) without one.
    fn wait_for_posting(&mut self, limit: Duration) -> bool {
        let end = Instant::now() + limit;
        while let Some(left) = end.checked_duration_since(Instant::now()) {
            let Ok(line) = self.lines.recv_timeout(left) else {
                return false;
            };
            let event = serde_json::from_str::<Value>(&line)
                .ok()
                .map(|v| v["fields"]["event"].clone());
            self.seen.push(line);
            if let Some(e) = event
                && e["kind"] == "progress"
                && (e["what"] == "posting: submit" || e["what"] == "posting: await")
            {
                return true;
            }
        }
        false
    }

    /// Waits for the run to end (killed past `limit`).
    fn finish(mut self, limit: Duration) -> Run {
        let end = Instant::now() + limit;
        loop {
            if self.child.try_wait().unwrap().is_some() {
                break;
            }
            if Instant::now() > end {
                let _ = self.child.kill();
                panic!(
                    "the run did not end within {limit:?}:\n{}",
                    self.seen.join("\n")
                );
            }
            while let Ok(l) = self.lines.try_recv() {
                self.seen.push(l);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let took = self.started.elapsed();
        let mut out = self.child.wait_with_output().unwrap();
        // The reader thread ends at EOF: collect what it still holds.
        while let Ok(l) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.seen.push(l);
        }
        out.stderr = self.seen.join("\n").into_bytes();
        finish(out, took)
    }
}

// ---------------------------------------------------------------------------------------
// Issue 14: the fault-and-damage suite.

/// (a) Half of all Amazon and EBS requests fail: runs repeat until one finishes; every run
/// exits as documented, and in the end every settlement has its designed outcome, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "slow (~7 min in a debug build): cargo test --test faults -- --ignored"]
async fn half_of_all_requests_failing_ends_with_everything_posted_once() {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let mut opts = options(dir.path(), false);
    opts.amazon_fault_rate = 0.5;
    opts.ebs_fault_rate = 0.5;
    let world = DemoWorld::start(opts).await.unwrap();
    let runs = until_done(&world.config_path, data.path(), PASSPHRASE, 30);
    assert_eq!(runs.last().unwrap().code, exit::WAITING);
    nothing_posted_twice(&world.ebs.gl_journals());
    store_imported_each_revision_once(data.path());
    verify_clean(&world.config_path, data.path());
    let store = Store::open(data.path(), "faults-test").unwrap();
    drop(store);
    let ctx = context(&world, data.path());
    let report =
        ml_connector::sync::headless::report(&ctx, chrono::Utc::now(), Vec::new(), false).unwrap();
    let (imported, waiting, rejected) = check_outcomes(&world, &report);
    assert!(imported >= 3 && waiting == 1 && rejected >= 1);
    eprintln!(
        "50% faults: runs {} in {:.1}s",
        summary(&runs),
        started.elapsed().as_secs_f64()
    );
    world.stop().await;
}

/// (b) The simulators are SIGKILLed while a run posts: the run fails (exit 4) with its
/// errors and every unfinished batch's reason. The world restarts (a fresh EBS instance:
/// the simulators keep no state), and the next runs post nothing twice in it, nor twice
/// in the store's own record, and `store verify` stays clean.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulators_killed_while_posting_fail_the_run_and_lose_nothing() {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let mut sims = ChildSims::start(dir.path(), 0.0);
    let mut run = Streaming::start(&sims.config, data.path(), &sims.passphrase);
    assert!(
        run.wait_for_posting(Duration::from_secs(600)),
        "no batch was staged:\n{}",
        run.seen.join("\n")
    );
    let before = sims.journals().await;
    nothing_posted_twice(&before);
    sims.kill();
    let killed = run.finish(Duration::from_secs(600));
    assert_eq!(killed.code, exit::FAILURE, "{:#}", killed.report);
    unfinished_have_reasons(&killed.report);
    assert!(
        killed.report["errors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["system"] == "ebs"),
        "{:#}",
        killed.report["errors"]
    );
    verify_clean(&sims.config, data.path());
    store_imported_each_revision_once(data.path());

    let sims = ChildSims::start(dir.path(), 0.0);
    let runs = until_done(&sims.config, data.path(), &sims.passphrase, 5);
    nothing_posted_twice(&sims.journals().await);
    store_imported_each_revision_once(data.path());
    verify_clean(&sims.config, data.path());
    eprintln!(
        "killed: the run ended {:.1}s after it started; then {} ({:.1}s in all)",
        killed.took.as_secs_f64(),
        summary(&runs),
        started.elapsed().as_secs_f64()
    );
}

/// (c) The simulators are frozen (SIGSTOP) while a run posts: the run ends by its
/// timeouts with exit 4 in bounded time (EBS calls time out after 30 s, 5 attempts each),
/// then the simulators go on (SIGCONT) and the next runs finish posting, nothing twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "slow: EBS calls wait out their 30 s timeouts (not configurable): cargo test --test faults -- --ignored"]
async fn simulators_frozen_while_posting_end_the_run_by_timeouts() {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let sims = ChildSims::start(dir.path(), 0.0);
    let mut run = Streaming::start(&sims.config, data.path(), &sims.passphrase);
    assert!(
        run.wait_for_posting(Duration::from_secs(600)),
        "no batch was staged:\n{}",
        run.seen.join("\n")
    );
    sims.signal("-STOP");
    let frozen = run.finish(Duration::from_secs(15 * 60));
    sims.signal("-CONT");
    assert_eq!(frozen.code, exit::FAILURE, "{:#}", frozen.report);
    unfinished_have_reasons(&frozen.report);
    let transport = frozen.report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["transport"].is_string() || e["operation"] == "post");
    assert!(transport, "{:#}", frozen.report["errors"]);
    let runs = until_done(&sims.config, data.path(), &sims.passphrase, 5);
    nothing_posted_twice(&sims.journals().await);
    store_imported_each_revision_once(data.path());
    verify_clean(&sims.config, data.path());
    eprintln!(
        "frozen: the run ended {:.1}s after it started; then {} ({:.1}s in all)",
        frozen.took.as_secs_f64(),
        summary(&runs),
        started.elapsed().as_secs_f64()
    );
}

/// Overwrites `store/db` with `damage` applied to it.
fn damage_db(data: &Path, damage: impl Fn(&mut Vec<u8>)) {
    let db = data.join("store").join("db");
    let mut bytes = std::fs::read(&db).unwrap();
    damage(&mut bytes);
    std::fs::write(&db, &bytes).unwrap();
}

/// (d) The store cut to half, then one byte flipped, between runs: the next run refuses
/// (exit 4, "damaged"), `store verify` lists what is missing, `store restore` brings back
/// exactly what was there, and the run after it posts nothing twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_store_is_refused_listed_restored_and_nothing_posts_twice() {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let world = DemoWorld::start(options(dir.path(), false)).await.unwrap();
    let config = world.config_path.clone();
    let first = until_done(&config, data.path(), PASSPHRASE, 3);
    let posted = nothing_posted_twice(&world.ebs.gl_journals());
    assert!(posted >= 3, "the first run posts: {posted}");

    let cut: &dyn Fn(&mut Vec<u8>) = &|b| b.truncate(b.len() / 2);
    // One bit of a record: in the last `imported` written (sled files also hold
    // slack, where a flip touches nothing; that case is covered below too).
    let flip: &dyn Fn(&mut Vec<u8>) = &|b| {
        let n = memchr::memmem::rfind(b, b"imported").expect("a batch record") + 2;
        b[n] ^= 0x10;
    };
    let mut outcomes = Vec::new();
    for (what, damage) in [("cut to half", cut), ("one bit flipped", flip)] {
        let export = cli(&config, data.path(), &["store", "export"]);
        assert!(export.status.success(), "{}", said(&export));
        damage_db(data.path(), damage);

        let verify = cli(&config, data.path(), &["store", "verify"]);
        if verify.status.success() {
            // Not noticed: then nothing may be lost (the bit was in no record).
            assert!(what != "cut to half", "{}", said(&verify));
            let same = cli(&config, data.path(), &["store", "export"]);
            assert!(
                same.stdout == export.stdout,
                "{what}: history changed and `store verify` did not say so: {}",
                said(&verify)
            );
            outcomes.push(format!("{what}: no record touched, verify clean"));
        } else {
            assert!(
                said(&verify).contains("damaged"),
                "{what}: {}",
                said(&verify)
            );
            if what == "cut to half" {
                assert!(
                    said(&verify).contains("missing"),
                    "{what}: verify lists what is missing: {}",
                    said(&verify)
                );
            }
            let refused = headless(&config, data.path(), PASSPHRASE);
            assert_eq!(refused.code, exit::FAILURE, "{what}: {:#}", refused.report);
            let error = &refused.report["errors"][0];
            assert_eq!(error["system"], "store", "{what}: {error}");
            assert!(
                error["message"].as_str().unwrap().contains("damaged"),
                "{what}: {error}"
            );

            let restore = cli(&config, data.path(), &["store", "restore"]);
            assert!(restore.status.success(), "{what}: {}", said(&restore));
            verify_clean(&config, data.path());
            let again = cli(&config, data.path(), &["store", "export"]);
            assert!(
                again.stdout == export.stdout,
                "{what}: the restored store holds exactly what was there"
            );
            outcomes.push(format!("{what}: refused, listed, restored"));
        }

        let after = headless(&config, data.path(), PASSPHRASE);
        assert_eq!(after.code, first.last().unwrap().code, "{what}");
        assert_eq!(
            nothing_posted_twice(&world.ebs.gl_journals()),
            posted,
            "{what}: the run after the restore posts nothing again"
        );
        store_imported_each_revision_once(data.path());
    }
    eprintln!(
        "damaged store: {outcomes:?}, {:.1}s in all",
        started.elapsed().as_secs_f64()
    );
    world.stop().await;
}

// ---------------------------------------------------------------------------------------
// Issue 16: the run report per batch, counts, and the stderr log format.

/// Per batch: debit and credit totals, clearing amount, currency, EBS group id, request id
/// and journal names; `counts` (batches) and `settlement_counts` add up; every stderr line
/// is one JSON object whose sync events are objects, not JSON strings.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_run_report_and_the_log_lines_are_complete_json() {
    let dir = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let world = DemoWorld::start(options(dir.path(), false)).await.unwrap();
    let run = headless(&world.config_path, data.path(), PASSPHRASE);
    assert_eq!(run.code, exit::WAITING, "{:#}", run.report);
    let report = &run.report;
    let settlements = report["settlements"].as_array().unwrap();

    let journals = world.ebs.gl_journals();
    let mut imported = 0;
    let mut batches = 0;
    for s in settlements {
        for b in s["batches"].as_array().unwrap() {
            batches += 1;
            if b["state"] == "needs_mapping" {
                continue;
            }
            assert_eq!(b["currency"], s["currency"], "{b}");
            let debit = dec(&b["debit"]);
            assert!(debit > rust_decimal::Decimal::ZERO, "{b}");
            assert_eq!(debit, dec(&b["credit"]), "a proposed journal balances: {b}");
            assert!(b["clearing"].is_string(), "{b}");
            if b["state"] != "imported" {
                continue;
            }
            imported += 1;
            let group = b["group_id"].as_str().expect("group id");
            assert!(b["request_id"].as_i64().is_some(), "{b}");
            let names: Vec<&str> = b["journal_names"]
                .as_array()
                .expect("journal names")
                .iter()
                .map(|n| n.as_str().unwrap())
                .collect();
            // The same journal in EBS: its group, its name, its clearing movement.
            let ebs: Vec<&Value> = journals
                .as_array()
                .unwrap()
                .iter()
                .filter(|j| {
                    j["lines"][0]["reference_1"] == s["settlement_id"]
                        && j["period_name"] == b["period"]
                })
                .collect();
            assert_eq!(ebs.len(), 1, "{b}");
            assert_eq!(ebs[0]["group_id"], group, "{b}");
            assert_eq!(names, vec![ebs[0]["journal_name"].as_str().unwrap()], "{b}");
            if ebs[0]["currency"] == s["currency"] {
                let clearing = ebs[0]["lines"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|l| l["account"] == CLEARING)
                    .map(|l| dec(&l["entered_dr"]) - dec(&l["entered_cr"]))
                    .sum::<rust_decimal::Decimal>();
                assert_eq!(clearing, dec(&b["clearing"]), "{b}");
            }
        }
    }
    assert!(imported >= 3, "{report:#}");

    let sum = |v: &Value| {
        v.as_object()
            .unwrap()
            .values()
            .map(|n| n.as_u64().unwrap())
            .sum::<u64>()
    };
    assert_eq!(sum(&report["counts"]), batches, "counts counts batches");
    assert_eq!(
        sum(&report["settlement_counts"]),
        settlements.len() as u64,
        "settlement_counts counts settlements"
    );
    assert_eq!(report["settlement_counts"]["needs_mapping"], 1);
    assert!(report["settlement_counts"]["no_batches"].is_u64());

    // Every stderr line is one JSON object; sync events are nested objects.
    let mut events = 0;
    for line in &run.stderr {
        let v: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
        assert!(v["fields"].is_object() && v["level"].is_string(), "{line}");
        if v["target"] == "sync" {
            let event = &v["fields"]["event"];
            assert!(event.is_object(), "an object, not a string: {line}");
            assert!(event["kind"].is_string(), "{line}");
            events += 1;
        }
        if v["fields"]["message"] == "run finished" {
            assert!(v["fields"]["counts"].is_object(), "{line}");
            assert!(v["fields"]["settlement_counts"].is_object(), "{line}");
        }
    }
    assert!(events > 0, "{}", run.stderr.join("\n"));
    assert!(
        run.stderr
            .iter()
            .any(|l| l.contains(r#""kind":"batch""#) && l.contains(r#""state":"imported""#)),
        "{}",
        run.stderr.join("\n")
    );
    world.stop().await;
}
