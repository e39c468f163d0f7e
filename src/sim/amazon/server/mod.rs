//! HTTP side of the Amazon simulator: the shared server state and the
//! connection loop. Routing, LWA, each SP-API family, documents and the
//! `/_sim` inspection routes live in the submodules.
//!
//! Connections are served with hyper directly (not `axum::serve`) so the `reset`
//! fault can close a connection without writing any response.

mod dispatch;
mod documents;
mod finances;
mod inspection;
mod lwa;
mod orders;
mod query;
mod reports;
mod response;
mod sellers;

use chrono::{DateTime, Utc};
use rand::SeedableRng;
use rand::rngs::StdRng;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio_util::sync::CancellationToken;

use super::buckets::{self, Buckets};
use super::clock::SimClock;
use super::world::{Region, World};
use super::{AmazonSimConfig, SimError};
use dispatch::dispatch;
use documents::Document;
use reports::CreatedReport;

pub use inspection::{stats_json, truth};

// Shared state lives here so every submodule can read its private fields.

struct PageToken {
    op: &'static str,
    fingerprint: String,
    offset: usize,
    expires: DateTime<Utc>,
    /// Upper time bound fixed by the first page so later pages see the same list.
    bound: DateTime<Utc>,
    /// For getReports: the original query (the token must be sent alone).
    query: Vec<(String, String)>,
}

struct Inner {
    world: World,
    /// One set per host: the all-marketplace root, `/na`, `/eu` (Amazon's regional
    /// endpoints have separate usage plans).
    buckets: HashMap<Option<Region>, Buckets>,
    tokens: HashMap<String, (DateTime<Utc>, bool)>,
    page_tokens: HashMap<String, PageToken>,
    reports: Vec<CreatedReport>,
    documents: HashMap<String, Arc<Document>>,
    rng: StdRng,
}

#[derive(Default)]
struct Stats {
    operations: BTreeMap<&'static str, (u64, u64)>,
    faults: BTreeMap<&'static str, u64>,
    token_requests: u64,
    downloads: u64,
}

pub struct State {
    pub config: AmazonSimConfig,
    pub clock: SimClock,
    inner: Mutex<Inner>,
    fault_rng: Mutex<StdRng>,
    stats: Mutex<Stats>,
    request_counter: AtomicU64,
    url_secret: [u8; 32],
    /// `http://127.0.0.1:PORT`, set once bound (presigned URLs point here).
    pub base: std::sync::OnceLock<String>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl State {
    pub fn new(config: AmazonSimConfig) -> Result<State, SimError> {
        let world = World::new(
            config.seed,
            &config.marketplaces,
            config.history_days,
            config.start_time,
            config.scenarios.clone(),
        )?;
        let mut stats = Stats::default();
        for op in buckets::OPERATIONS {
            stats.operations.insert(op.name, (0, 0));
        }
        let url_secret: [u8; 32] = Sha256::digest(format!("url-secret-{}", config.seed)).into();
        Ok(State {
            clock: SimClock::new(config.start_time, config.time_scale),
            inner: Mutex::new(Inner {
                world,
                buckets: HashMap::new(),
                tokens: HashMap::new(),
                page_tokens: HashMap::new(),
                reports: Vec::new(),
                documents: HashMap::new(),
                rng: StdRng::seed_from_u64(config.seed ^ 0x5eed_70c3),
            }),
            fault_rng: Mutex::new(StdRng::seed_from_u64(config.seed ^ 0xfa17_fa17)),
            stats: Mutex::new(stats),
            request_counter: AtomicU64::new(0),
            url_secret,
            base: std::sync::OnceLock::new(),
            config,
        })
    }

    fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    fn request_id(&self) -> String {
        let n = self.request_counter.fetch_add(1, Ordering::Relaxed);
        let h = hex::encode(Sha256::digest(format!("{}-{n}", self.config.seed)));
        format!(
            "{}-{}-{}-{}-{}",
            &h[0..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..32]
        )
    }
}

#[derive(Debug)]
struct ResetConnection;

impl std::fmt::Display for ResetConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("simulated connection reset")
    }
}

impl std::error::Error for ResetConnection {}

#[derive(Clone, Copy)]
struct ResetMarker;

pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<State>,
    cancel: CancellationToken,
) {
    loop {
        let accepted = tokio::select! {
            _ = cancel.cancelled() => return,
            a = listener.accept() => a,
        };
        let Ok((stream, _)) = accepted else { continue };
        let state = state.clone();
        let cancel = cancel.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let state = state.clone();
                async move {
                    let resp = dispatch(&state, req).await;
                    if resp.extensions().get::<ResetMarker>().is_some() {
                        Err(ResetConnection)
                    } else {
                        Ok(resp)
                    }
                }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
            tokio::select! {
                _ = conn => {}
                _ = cancel.cancelled() => {}
            }
        });
    }
}
