//! Issue 14: a server that stops answering must not hang a run, a stop request must end
//! every wait at once, and clock skew between us and Amazon must not break a first pull.
//!
//! Simulators and stalled listeners on 127.0.0.1:0. Long waits run on tokio's paused
//! clock; the few real-time tests use limits of a fraction of a second.

mod common;

use std::io::Write;
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::TimeZone;
use common::{SCALE, context, options};
use ml_connector::amazon::reports::ReportsQuery;
use ml_connector::amazon::{
    Backoff, DEFAULT_TIMEOUTS, Error, LwaCredentials, Operation, RateLimiter, RatePlan, Region,
    SpApiClient, Timeouts,
};
use ml_connector::config::{Config, Unlock};
use ml_connector::ebs::{Contexts, Credentials, EbsClient, EbsConfig, EbsError, Module};
use ml_connector::sim::amazon::{self as sim, AmazonSimConfig};
use ml_connector::sim::world::DemoWorld;
use ml_connector::sync::context::{SyncContext, sp_api_builder};
use ml_connector::sync::headless::{exit, run_once};
use ml_connector::sync::{ProgressSink, SyncError, SyncMsg};
use tokio_util::sync::CancellationToken;

// ---------------------------------------------------------------------------------------
// Helpers

/// A port that accepts connections (the kernel's backlog) and never answers: a server
/// that was SIGSTOPped. Keep the listener alive for the test's duration.
fn stalled() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    (listener, url)
}

async fn amazon_sim() -> sim::RunningAmazonSim {
    sim::spawn(AmazonSimConfig {
        seed: 7,
        marketplaces: vec!["US".into()],
        time_scale: 0.0,
        start_time: chrono::Utc
            .with_ymd_and_hms(2026, 11, 26, 12, 0, 0)
            .unwrap(),
        ..AmazonSimConfig::default()
    })
    .await
    .unwrap()
}

fn sim_credentials() -> LwaCredentials {
    LwaCredentials::new(
        sim::DEFAULT_CLIENT_ID,
        sim::DEFAULT_CLIENT_SECRET,
        sim::DEFAULT_REFRESH_TOKEN,
    )
}

/// A client of the simulator's LWA and `base_url`, with its own (fast) limiter.
fn client(sim: &sim::RunningAmazonSim, base_url: &str) -> ml_connector::amazon::SpApiClientBuilder {
    SpApiClient::builder(sim_credentials(), Region::NorthAmerica)
        .base_url(base_url)
        .token_url(sim.token_url())
        .limiter(Arc::new(RateLimiter::with_time_scale(1000.0)))
}

fn credentials(world: &DemoWorld) -> ml_connector::config::Credentials {
    let config = Config::load(&world.config_path).unwrap();
    config
        .load_credentials(&Unlock::Passphrase(world.passphrase().clone()))
        .unwrap()
}

/// The demo world's context with a limiter of its own per seller (the process-wide
/// limiters are shared by every test of this binary).
fn isolated(world: &DemoWorld, data: &Path) -> SyncContext {
    let mut ctx = context(world, data);
    let creds = credentials(world);
    for s in &mut ctx.sellers {
        s.client = sp_api_builder(&s.config, &creds)
            .unwrap()
            .time_scale(SCALE)
            .limiter(Arc::new(RateLimiter::with_time_scale(SCALE)))
            .build()
            .unwrap();
    }
    ctx
}

fn ebs_config(url: &str) -> EbsConfig {
    EbsConfig::new(
        url,
        Credentials {
            user: "OPERATIONS".into(),
            password: secrecy::SecretString::from("welcome1".to_string()),
        },
        Contexts::vision("1000", "1", "204"),
    )
}

/// Log lines written while the guard lives (this thread only: current-thread tests).
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    fn capture() -> (Logs, tracing::subscriber::DefaultGuard) {
        let logs = Logs::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .with_writer(move || writer.clone())
            .finish();
        (logs, tracing::subscriber::set_default(subscriber))
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).to_string()
    }
}

// ---------------------------------------------------------------------------------------
// 1. A server that stops answering

/// Amazon (LWA and SP-API) stopped answering: the call fails with a timeout within its
/// limits (30 s per attempt; it used to be 120 s).
#[tokio::test(start_paused = true)]
async fn stalled_amazon_times_out_within_its_limit() {
    // Paused time and real I/O race (the clock jumps whenever the runtime idles), so
    // both hosts are the stalled port: nothing has to answer for this test to work.
    let (_keep, url) = stalled();
    let client = SpApiClient::builder(sim_credentials(), Region::NorthAmerica)
        .base_url(&url)
        .token_url(format!("{url}/auth/o2/token"))
        .retry(Backoff::new(
            3,
            Duration::from_secs(1),
            Duration::from_secs(1),
        ))
        .build()
        .unwrap();
    let start = tokio::time::Instant::now();
    let e = client
        .reports_page(&ReportsQuery::settlements(), None)
        .await
        .expect_err("nobody answers");
    // Three attempts of 30 s each plus two waits of at most 1 s.
    assert!(
        start.elapsed() <= Duration::from_secs(3 * 30 + 2),
        "took {:?}",
        start.elapsed()
    );
    match &e {
        Error::RetriesExhausted { attempts, last, .. } => {
            assert_eq!(*attempts, 3);
            assert!(last.contains("timed out"), "{last}");
        }
        other => panic!("{other}"),
    }
}

/// An SP-API call without answer is a transport timeout: retried with the backoff,
/// counted, and named as a timeout in the final error.
#[tokio::test]
async fn stalled_sp_api_call_is_a_counted_transport_timeout() {
    let sim = amazon_sim().await;
    let (_keep, url) = stalled();
    let client = client(&sim, &url)
        .request_timeout(Duration::from_millis(200))
        .retry(Backoff::new(
            3,
            Duration::from_millis(1),
            Duration::from_millis(1),
        ))
        .build()
        .unwrap();
    let start = Instant::now();
    let e = client
        .reports_page(&ReportsQuery::settlements(), None)
        .await
        .expect_err("nobody answers");
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    match &e {
        Error::RetriesExhausted {
            operation,
            attempts,
            last,
            ..
        } => {
            assert_eq!(operation, "getReports");
            assert_eq!(*attempts, 3);
            assert!(last.contains("timed out"), "{last}");
        }
        other => panic!("{other}"),
    }
    let stats = client.stats();
    let ops = &stats.operations[&Operation::GetReports];
    assert_eq!((ops.requests, ops.transient_failures), (3, 3));
    sim.stop().await;
}

#[tokio::test(start_paused = true)]
async fn stalled_ebs_call_times_out_within_its_limit() {
    let (_keep, url) = stalled();
    let mut cfg = ebs_config(&url);
    cfg.retry = Backoff::new(2, Duration::ZERO, Duration::ZERO);
    let client = EbsClient::new(cfg).unwrap();
    let start = tokio::time::Instant::now();
    let e = client
        .request_status(Module::Gl, "1")
        .await
        .expect_err("nobody answers");
    // Two login attempts of 30 s each (the old limit: 120 s each).
    assert!(
        start.elapsed() <= Duration::from_secs(2 * 30),
        "{:?}",
        start.elapsed()
    );
    assert!(e.to_string().contains("timed out"), "{e}");
    assert!(e.is_transient());
}

#[test]
fn limits_are_sized_to_the_operation() {
    let t = DEFAULT_TIMEOUTS;
    assert_eq!(t.connect, Duration::from_secs(10));
    assert_eq!(t.json, Duration::from_secs(30));
    // A download gets time in proportion to its size, within a ceiling.
    assert!(t.download_for(Some(50 * 1024 * 1024)) > t.download_for(Some(1024)));
    assert_eq!(t.download_for(None), t.download_max);
    assert_eq!(t.download_for(Some(u64::MAX)), t.download_max);
    let cfg = ebs_config("http://127.0.0.1:1");
    assert_eq!(cfg.http_timeout, Duration::from_secs(30));
    assert_eq!(cfg.connect_timeout, Duration::from_secs(10));
    assert!(cfg.timeout_per_mib > Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn long_rate_limit_pause_logs_while_it_waits() {
    let (logs, _guard) = Logs::capture();
    let limiter = RateLimiter::new().with_margin(Duration::ZERO);
    // getReports: a burst of 10, then one per 45 s.
    for _ in 0..10 {
        limiter.acquire(Operation::GetReports).await;
    }
    let start = tokio::time::Instant::now();
    limiter.acquire(Operation::GetReports).await;
    assert!(start.elapsed() >= Duration::from_secs(45));
    let text = logs.text();
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("for getReports (rate limit)"))
        .collect();
    assert!(
        lines[0].contains("waiting 46s for getReports (rate limit)"),
        "{text}"
    );
    // Repeated while the wait lasts, at most every 30 s.
    assert_eq!(lines.len(), 2, "{text}");
}

#[tokio::test(start_paused = true)]
async fn a_call_without_answer_says_so_in_the_log() {
    let (logs, _guard) = Logs::capture();
    let (_keep, url) = stalled();
    let client = SpApiClient::builder(sim_credentials(), Region::NorthAmerica)
        .base_url(&url)
        .token_url(format!("{url}/auth/o2/token"))
        .retry(Backoff::new(1, Duration::ZERO, Duration::ZERO))
        .build()
        .unwrap();
    client
        .reports_page(&ReportsQuery::settlements(), None)
        .await
        .expect_err("nobody answers");
    let text = logs.text();
    assert!(
        text.contains("no answer from LWA token after 5s (gives up after 30s)"),
        "{text}"
    );
}

/// A stop request during a 60 s rate-limit pause ends the call at once.
#[tokio::test]
async fn cancel_ends_a_rate_limit_pause_at_once() {
    let sim = amazon_sim().await;
    let limiter = Arc::new(RateLimiter::new());
    limiter.set_plan(
        Operation::GetReports,
        RatePlan {
            rate: 1.0 / 60.0,
            burst: 1,
        },
    );
    limiter.reserve(Operation::GetReports);
    let cancel = CancellationToken::new();
    let client = SpApiClient::builder(sim_credentials(), Region::NorthAmerica)
        .base_url(sim.endpoint(sim::Region::Na))
        .token_url(sim.token_url())
        .limiter(limiter.clone())
        .build()
        .unwrap()
        .with_cancel(cancel.clone());
    client.authenticate().await.unwrap();
    let stopper = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        stopper.cancel();
    });
    let start = Instant::now();
    let got = client
        .reports_page(&ReportsQuery::settlements(), None)
        .await;
    assert!(matches!(got, Err(Error::Cancelled)), "{got:?}");
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
    // The call was not made: its token is back in the bucket.
    assert!(limiter.available(Operation::GetReports) > -0.5);
    sim.stop().await;
}

#[tokio::test(start_paused = true)]
async fn cancel_ends_an_ebs_call_in_flight_and_its_backoff() {
    let (_keep, url) = stalled();
    let cancel = CancellationToken::new();
    let mut cfg = ebs_config(&url);
    cfg.cancel = cancel.clone();
    cfg.retry = Backoff::new(5, Duration::from_secs(60), Duration::from_secs(60));
    let client = EbsClient::new(cfg).unwrap();
    let stopper = cancel.clone();
    tokio::spawn(async move {
        // After the first 30 s timeout, inside the 60 s backoff.
        tokio::time::sleep(Duration::from_secs(31)).await;
        stopper.cancel();
    });
    let start = tokio::time::Instant::now();
    let e = client
        .request_status(Module::Gl, "1")
        .await
        .expect_err("stopped");
    assert!(matches!(e, EbsError::Cancelled { .. }), "{e}");
    assert_eq!(start.elapsed(), Duration::from_secs(31));
}

/// SIGTERM while a pull waits out a 60 s rate-limit pause: the run stops at once and
/// reports exit 5 (it used to wait the pause out).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_during_a_rate_limit_pause_ends_the_run_with_exit_5() {
    let dir = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let world = DemoWorld::start(options(dir.path(), false)).await.unwrap();
    let ctx = isolated(&world, data.path());
    // One getReports per hour of Amazon time: the next call waits 60 s of wall time.
    let limiter = ctx.sellers[0].client.limiter();
    limiter.set_plan(
        Operation::GetReports,
        RatePlan {
            rate: 1.0 / 3600.0,
            burst: 1,
        },
    );
    limiter.reserve(Operation::GetReports);
    let (sink, got) = ProgressSink::collecting();
    let cancel = CancellationToken::new();
    let stopper = cancel.clone();
    let signal = async move {
        while !got
            .snapshot()
            .iter()
            .any(|m| matches!(m, SyncMsg::RateLimited { .. }))
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        stopper.cancel();
        Instant::now()
    };
    let (report, stopped_at) = tokio::join!(run_once(&ctx, None, &sink, &cancel), signal);
    let report = report.unwrap();
    let took = stopped_at.elapsed();
    assert!(took < Duration::from_secs(5), "stopping took {took:?}");
    assert_eq!(report.exit_code, exit::INTERRUPTED, "{:?}", report.errors);
    world.stop().await;
}

/// A seller whose SP-API stopped answering: its pull fails at the step's deadline with
/// an error naming the step, the run goes on and exits 4.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_pull_fails_at_its_deadline_and_the_run_exits_4() {
    let dir = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let world = DemoWorld::start(options(dir.path(), false)).await.unwrap();
    let mut ctx = isolated(&world, data.path());
    let (_keep, url) = stalled();
    let creds = credentials(&world);
    let stalled_seller = ctx.sellers[0].name().to_string();
    ctx.sellers[0].client = sp_api_builder(&ctx.sellers[0].config, &creds)
        .unwrap()
        .base_url(&url)
        .time_scale(SCALE)
        .limiter(Arc::new(RateLimiter::with_time_scale(SCALE)))
        // Requests that would wait an hour: only the step's deadline can end this.
        .timeouts(Timeouts {
            json: Duration::from_secs(3600),
            idle: Duration::from_secs(3600),
            ..DEFAULT_TIMEOUTS
        })
        .build()
        .unwrap();
    ctx.deadlines.pull_seller = Duration::from_millis(500);
    let direct = ml_connector::sync::pull::pull_seller(
        &ctx,
        &ctx.sellers[0],
        &ProgressSink::noop(),
        &CancellationToken::new(),
    )
    .await
    .expect_err("deadline");
    assert!(matches!(direct, SyncError::Deadline { .. }), "{direct}");
    // The other seller pulls normally; the stalled one is cut at its deadline.
    let started = Instant::now();
    ctx.deadlines.pull_seller = Duration::from_millis(1500);
    let report = run_once(&ctx, None, &ProgressSink::noop(), &CancellationToken::new())
        .await
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(60));
    assert_eq!(report.exit_code, exit::FAILURE, "{:?}", report.errors);
    let want =
        format!("pull of seller {stalled_seller} did not finish within its deadline of 1.5s");
    assert!(
        report.errors.iter().any(|e| e.message.contains(&want)),
        "{:?}",
        report.errors
    );
    world.stop().await;
}

// ---------------------------------------------------------------------------------------
// 2. Clock skew

/// A fresh data directory against an Amazon whose clock is `offset` away from ours:
/// every seller's pull succeeds and finds every settlement Amazon has.
async fn first_pull_with_skew(offset: chrono::Duration) {
    let dir = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let mut opts = options(dir.path(), false);
    opts.amazon_clock_offset = offset;
    let world = DemoWorld::start(opts).await.unwrap();
    let skew = world.amazon.now() - chrono::Utc::now();
    assert!((skew - offset).num_minutes().abs() < 5, "sim skew {skew}");
    let ctx = isolated(&world, data.path());
    let (sink, cancel) = (ProgressSink::noop(), CancellationToken::new());
    for s in &ctx.sellers {
        ml_connector::sync::pull::pull_seller(&ctx, s, &sink, &cancel)
            .await
            .unwrap_or_else(|e| panic!("{} with the sim {offset} away: {e}", s.name()));
    }
    let mut want: Vec<String> = world
        .amazon
        .truth()
        .settlements
        .into_iter()
        .filter(|s| s.report_status == "DONE")
        .map(|s| s.settlement_id)
        .collect();
    want.sort();
    let mut got: Vec<String> = ctx
        .store
        .settlements()
        .unwrap()
        .into_iter()
        .map(|s| s.summary.settlement_id)
        .collect();
    got.sort();
    assert!(!want.is_empty());
    assert_eq!(got, want);
    world.stop().await;
}

/// A day and five minutes: past the simulator's start rounded down to the minute and
/// Amazon's one-minute tolerance, so a window from our clock is surely refused.
fn a_day() -> chrono::Duration {
    chrono::Duration::days(1) + chrono::Duration::minutes(5)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_pull_against_an_amazon_a_day_ahead() {
    first_pull_with_skew(a_day()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_pull_against_an_amazon_a_day_behind() {
    first_pull_with_skew(-a_day()).await;
}

/// Without Amazon's clock known, a `createdSince` beyond its 90-day window is refused;
/// the client asks once more from inside the window (by Amazon's clock).
#[tokio::test]
async fn created_since_beyond_the_window_is_clamped_and_asked_again() {
    let sim = amazon_sim().await;
    let client = client(&sim, &sim.endpoint(sim::Region::Na))
        .build()
        .unwrap();
    let mut query = ReportsQuery::settlements();
    query.created_since = Some(sim.now() - chrono::Duration::days(95));
    let page = client
        .reports_page(&query, None)
        .await
        .expect("clamped and asked again");
    assert!(!page.items.is_empty());
    sim.stop().await;
}
