//! Oracle E-Business Suite R12.2 simulator behind ISG REST (`ml-connector sim ebs`).
//!
//! Faithful to `../shared/reference/ebs/README.md`: login/cookie sessions with expiry,
//! application context, open interface tables (GL, AR, AP), concurrent programs on a timed or
//! step scheduler, EBS-like validation, custom PL/SQL services, faults and world events.
//! The exact wire contract is `docs/simulators/ebs.md`.

pub mod ap;
pub mod ar;
mod control;
mod custom;
pub mod gl;
pub mod journals;
mod ledgers;
pub mod receipts;
pub mod requests;
pub mod seed;
mod server;
pub mod table;
pub mod wire;
pub mod world;

pub use requests::Transition;
pub use seed::{Seed, SeedError, WorldEvent};

use rand::SeedableRng;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Semaphore, watch};
use tokio_util::sync::CancellationToken;
use world::World;

/// How concurrent requests move through their phases.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scheduler {
    /// `R` at t1 after submission, `C` at t2 (simulated clock).
    Timed { t1: Duration, t2: Duration },
    /// Requests move only on `/_sim/step` (or [`RunningEbsSim::step`]).
    Step,
}

/// Faults to inject; counters are consumed one per call / submitted request.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Faults {
    pub db_error_next: u32,
    pub expire_sessions: bool,
    pub standby_next: u32,
    pub import_error_next: u32,
    pub hold_next: u32,
    pub fault_rate: Option<f64>,
}

impl Faults {
    /// Parses the `--faults` list: `db-error:N,expire-sessions,standby:N,import-error:N,hold:N`.
    pub fn parse_list(s: &str) -> Result<Faults, String> {
        let mut f = Faults::default();
        for item in s.split(',').map(str::trim).filter(|x| !x.is_empty()) {
            let (name, n) = match item.split_once(':') {
                Some((a, b)) => (
                    a,
                    b.parse::<u32>()
                        .map_err(|_| format!("fault {item}: count must be a number"))?,
                ),
                None => (item, 1),
            };
            match name {
                "db-error" => f.db_error_next = n,
                "expire-sessions" => f.expire_sessions = true,
                "standby" => f.standby_next = n,
                "import-error" => f.import_error_next = n,
                "hold" => f.hold_next = n,
                other => {
                    return Err(format!(
                        "unknown fault {other} (db-error:N, expire-sessions, standby:N, import-error:N, hold:N)"
                    ));
                }
            }
        }
        Ok(f)
    }
}

/// Everything the simulator needs to start.
#[derive(Debug, Clone)]
pub struct EbsSimConfig {
    pub seed: Seed,
    /// 0 = any free port on 127.0.0.1.
    pub port: u16,
    pub idle_timeout: Duration,
    pub absolute_timeout: Duration,
    pub concurrency_limit: usize,
    pub scheduler: Scheduler,
    /// Share of service calls answering 500 ISG_DB_CONNECTION_ERROR.
    pub fault_rate: f64,
    pub faults: Faults,
    pub rng_seed: u64,
    /// Simulated start instant (default: real now).
    pub start_time: Option<chrono::DateTime<chrono::Utc>>,
    /// Imports with rejected rows end C/G instead of C/C.
    pub warn_on_rejects: bool,
    /// HTTP status of `ISG_INVALID_ALIAS` / `ISG_INVALID_FUNCTION` (unconfirmed in EBS; 404).
    pub invalid_service_status: u16,
}

impl Default for EbsSimConfig {
    fn default() -> Self {
        EbsSimConfig {
            seed: Seed::default_seed(),
            port: 0,
            idle_timeout: Duration::from_secs(30 * 60),
            absolute_timeout: Duration::from_secs(8 * 3600),
            concurrency_limit: 4,
            scheduler: Scheduler::Timed {
                t1: Duration::from_secs(1),
                t2: Duration::from_secs(3),
            },
            fault_rate: 0.0,
            faults: Faults::default(),
            rng_seed: 42,
            start_time: None,
            warn_on_rejects: false,
            invalid_service_status: 404,
        }
    }
}

impl EbsSimConfig {
    /// Default config with the step scheduler (deterministic tests).
    pub fn step() -> Self {
        EbsSimConfig {
            scheduler: Scheduler::Step,
            ..Default::default()
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("EBS simulator could not bind 127.0.0.1:{port}: {source}")]
    Bind {
        port: u16,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Seed(#[from] SeedError),
}

pub(crate) struct FaultState {
    pub faults: Faults,
    pub fault_rate: f64,
    pub rng: rand::rngs::StdRng,
}

pub(crate) struct Shared {
    pub world: Mutex<World>,
    pub faults: Mutex<FaultState>,
    pub idle: chrono::Duration,
    pub absolute: chrono::Duration,
    pub scheduler: Scheduler,
    pub warn_on_rejects: bool,
    pub invalid_status: axum::http::StatusCode,
    pub sem: Arc<Semaphore>,
    pub held: watch::Sender<usize>,
    pub release: watch::Sender<u64>,
}

impl Shared {
    pub fn world(&self) -> std::sync::MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(|e| e.into_inner())
    }
    pub fn fault_state(&self) -> std::sync::MutexGuard<'_, FaultState> {
        self.faults.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn apply_faults(&self, f: &Faults) {
        if f.expire_sessions {
            self.world().sessions.clear();
        }
        let mut st = self.fault_state();
        st.faults.db_error_next += f.db_error_next;
        st.faults.standby_next += f.standby_next;
        st.faults.import_error_next += f.import_error_next;
        st.faults.hold_next += f.hold_next;
        if let Some(r) = f.fault_rate {
            st.fault_rate = r;
        }
    }

    pub fn step(&self, n: usize) -> Vec<Transition> {
        let mut w = self.world();
        (0..n)
            .flat_map(|_| requests::step(&mut w, self.warn_on_rejects))
            .collect()
    }

    pub fn run_until_idle(&self) -> Vec<Transition> {
        requests::run_until_idle(&mut self.world(), self.warn_on_rejects)
    }

    pub fn advance(&self, d: chrono::Duration) -> chrono::DateTime<chrono::Utc> {
        let mut w = self.world();
        w.clock.advance(d);
        requests::fire_time_events(&mut w);
        if let Scheduler::Timed { t1, t2 } = self.scheduler {
            requests::tick(&mut w, dur(t1), dur(t2), self.warn_on_rejects);
        }
        w.now()
    }

    pub fn release_held(&self) -> usize {
        let n = *self.held.borrow();
        self.release.send_modify(|g| *g += 1);
        n
    }

    pub async fn wait_held(&self, at_least: usize) -> usize {
        let mut rx = self.held.subscribe();
        match rx.wait_for(|n| *n >= at_least).await {
            Ok(n) => *n,
            Err(_) => 0,
        }
    }
}

pub(crate) fn dur(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or_else(|_| chrono::Duration::seconds(1))
}

/// A running simulator; dropping it stops the server.
pub struct RunningEbsSim {
    addr: SocketAddr,
    shared: Arc<Shared>,
    cancel: CancellationToken,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl RunningEbsSim {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }
    /// One scheduler step (step mode); returns the transitions.
    pub fn step(&self) -> Vec<Transition> {
        self.shared.step(1)
    }
    pub fn run_until_idle(&self) -> Vec<Transition> {
        self.shared.run_until_idle()
    }
    /// Advances the simulated clock (session expiry, time events, timed scheduler).
    pub fn advance_clock(&self, d: Duration) -> chrono::DateTime<chrono::Utc> {
        self.shared.advance(dur(d))
    }
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.shared.world().now()
    }
    pub fn inject(&self, f: &Faults) {
        self.shared.apply_faults(f)
    }
    pub fn release_held(&self) -> usize {
        self.shared.release_held()
    }
    pub async fn wait_held(&self, at_least: usize) -> usize {
        self.shared.wait_held(at_least).await
    }
    /// The `/_sim/gl/journals` contract as JSON.
    pub fn gl_journals(&self) -> serde_json::Value {
        let w = self.shared.world();
        serde_json::Value::Array(w.journals.iter().map(gl::journal_contract).collect())
    }
    /// Lines of every journal in EBS (what [`Self::gl_journals`] would list, counted).
    pub fn gl_journal_lines(&self) -> usize {
        let w = self.shared.world();
        w.journals.iter().map(|j| j.lines.len()).sum()
    }
    /// A GL user posts the journals of a group (status `P`); returns how many.
    pub fn post_journals(&self, group_id: i64) -> usize {
        let mut w = self.shared.world();
        let mut n = 0;
        for pos in w.journals.in_group(group_id).to_vec() {
            if w.journals.get(pos).is_some_and(|j| j.status != "P") {
                w.journals.set_status(pos, "P");
                n += 1;
            }
        }
        n
    }
    /// Deletes the unposted journals of a group; returns how many.
    pub fn delete_journals(&self, group_id: i64) -> usize {
        let mut w = self.shared.world();
        let mut n = 0;
        for pos in w.journals.in_group(group_id).to_vec() {
            if w.journals.get(pos).is_some_and(|j| j.status != "P") {
                w.journals.remove(pos);
                n += 1;
            }
        }
        n
    }
    /// The `/_sim/ar/transactions` contract as JSON (balances due after applications).
    pub fn ar_transactions(&self) -> serde_json::Value {
        receipts::transactions_contract(&self.shared.world())
    }
    /// The `/_sim/ar/receipts` contract as JSON.
    pub fn ar_receipts(&self) -> serde_json::Value {
        receipts::receipts_contract(&self.shared.world())
    }
    /// Sets a GL period's closing status (`O`, `F`, `C`, `N`) for a ledger.
    pub fn set_period_status(&self, ledger_id: i64, period: &str, status: &str) -> bool {
        self.shared
            .world()
            .set_period_status(ledger_id, period, status)
    }
    /// Phase/status of every concurrent request: (request id, program, phase, status).
    pub fn requests(&self) -> Vec<(i64, String, char, char)> {
        self.shared
            .world()
            .requests
            .values()
            .map(|r| (r.request_id, r.program.clone(), r.phase, r.status))
            .collect()
    }
    /// Stops the server and waits for it.
    pub async fn shutdown(mut self) {
        self.cancel.cancel();
        // Held calls would otherwise keep their connections (and the shutdown) open.
        self.shared.release_held();
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

impl Drop for RunningEbsSim {
    fn drop(&mut self) {
        self.cancel.cancel();
        self.shared.release_held();
    }
}

/// Binds 127.0.0.1:`config.port` and serves until the handle is dropped or shut down.
pub async fn spawn(config: EbsSimConfig) -> Result<RunningEbsSim, SimError> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", config.port))
        .await
        .map_err(|source| SimError::Bind {
            port: config.port,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| SimError::Bind {
        port: config.port,
        source,
    })?;
    let start = config.start_time.unwrap_or_else(chrono::Utc::now);
    let shared = Arc::new(Shared {
        world: Mutex::new(World::new(config.seed.clone(), start)),
        faults: Mutex::new(FaultState {
            faults: Faults::default(),
            fault_rate: config.fault_rate,
            rng: rand::rngs::StdRng::seed_from_u64(config.rng_seed),
        }),
        idle: dur(config.idle_timeout),
        absolute: dur(config.absolute_timeout),
        scheduler: config.scheduler,
        warn_on_rejects: config.warn_on_rejects,
        invalid_status: axum::http::StatusCode::from_u16(config.invalid_service_status)
            .unwrap_or(axum::http::StatusCode::NOT_FOUND),
        sem: Arc::new(Semaphore::new(config.concurrency_limit)),
        held: watch::channel(0).0,
        release: watch::channel(0).0,
    });
    shared.apply_faults(&config.faults);
    let cancel = CancellationToken::new();
    if let Scheduler::Timed { t1, t2 } = config.scheduler {
        let sh = shared.clone();
        let c = cancel.clone();
        tokio::spawn(async move {
            let mut iv = tokio::time::interval(Duration::from_millis(100));
            loop {
                tokio::select! {
                    _ = c.cancelled() => break,
                    _ = iv.tick() => {
                        let mut w = sh.world();
                        requests::tick(&mut w, dur(t1), dur(t2), sh.warn_on_rejects);
                    }
                }
            }
        });
    }
    let app = server::router(shared.clone());
    let c = cancel.clone();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move { c.cancelled().await })
            .await;
    });
    Ok(RunningEbsSim {
        addr,
        shared,
        cancel,
        task: Some(task),
    })
}
