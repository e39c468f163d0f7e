//! Crash test (kept out of the default run): `cargo test --test crash -- --ignored`.
//!
//! The demo world runs in this process (faults on); the real binary runs
//! `--headless --once` against it and is SIGKILLed at 30 seeded instants, restarted after
//! each. Then one run goes to the end and every settlement must have exactly its designed
//! outcome (nothing lost, nothing twice in EBS) and `store verify` must be clean.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use ml_connector::sim::world::DemoWorld;
use ml_connector::store::Store;
use rand::{Rng, SeedableRng};

const KILLS: usize = 30;
const SEED: u64 = 20261126;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "slow: run with `cargo test --test crash -- --ignored`"]
async fn sigkill_at_thirty_instants_loses_and_duplicates_nothing() {
    let bin = env!("CARGO_BIN_EXE_ml-connector");
    let dir = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let mut opts = options(dir.path(), true);
    opts.history_days = 56; // more settlements: more work to interrupt
    let world = DemoWorld::start(opts).await.unwrap();
    let run = || {
        Command::new(bin)
            .args(["--headless", "--once", "--config"])
            .arg(&world.config_path)
            .arg("--data-dir")
            .arg(data.path())
            .env("ML_CONNECTOR_PASSPHRASE", PASSPHRASE)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("headless starts")
    };
    let mut rng = rand::rngs::StdRng::seed_from_u64(SEED);
    let (mut killed, mut finished) = (0, 0);
    let started = Instant::now();
    // Until 30 kills have landed in a running process (bounded).
    for _ in 0..KILLS * 4 {
        if killed == KILLS {
            break;
        }
        let at = Duration::from_millis(rng.random_range(20..2500));
        let mut child = run();
        let deadline = Instant::now() + at;
        let mut exited = false;
        while Instant::now() < deadline {
            if child.try_wait().unwrap().is_some() {
                exited = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        if exited {
            child.wait().unwrap();
            finished += 1;
        } else {
            child.kill().unwrap(); // SIGKILL on Unix
            child.wait().unwrap();
            killed += 1;
        }
    }
    assert_eq!(killed, KILLS, "only {killed} kills landed");
    let status = run().wait().unwrap();
    assert_eq!(
        status.code(),
        Some(3),
        "the final run ends with work waiting"
    );
    let verify = Command::new(bin)
        .args(["store", "verify", "--config"])
        .arg(&world.config_path)
        .arg("--data-dir")
        .arg(data.path())
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "store verify: {}",
        String::from_utf8_lossy(&verify.stdout)
    );
    let store = Store::open(data.path(), "crash-test").unwrap();
    let ctx_report = {
        let ctx = ml_connector::sync::context::SyncContext::new(
            std::sync::Arc::new(ml_connector::config::Config::load(&world.config_path).unwrap()),
            &ml_connector::config::Config::load(&world.config_path)
                .unwrap()
                .load_credentials(&ml_connector::config::Unlock::Passphrase(
                    world.passphrase().clone(),
                ))
                .unwrap(),
            std::sync::Arc::new(store),
            Default::default(),
        )
        .unwrap();
        ml_connector::sync::headless::report(&ctx, chrono::Utc::now(), Vec::new(), false).unwrap()
    };
    let (imported, waiting, rejected) = check_outcomes(&world, &ctx_report);
    eprintln!(
        "crash test: {killed} SIGKILLs, {finished} runs ended before their instant, {:.1}s; \
         outcomes: {imported} imported once, {waiting} waiting, {rejected} rejected",
        started.elapsed().as_secs_f64()
    );
    assert_eq!(waiting, 1);
    assert!(imported >= 3 && rejected >= 1);
    world.stop().await;
}
