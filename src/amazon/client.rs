//! The HTTP core: one paced, retried, authorised SP-API call at a time, for any task.

use chrono::{DateTime, Utc};
use secrecy::ExposeSecret;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use url::Url;

use super::Error;
use super::clock::{Clock, ServerClock, SystemClock};
use super::limiter::{Operation, RateLimiter};
use super::lwa::{Lwa, LwaCredentials};
use super::models::{ApiErrorEntry, Envelope, parse_error_body};
use super::region::{LWA_TOKEN_URL, Region, check_url_allowed};
use super::retry::{DEFAULT_RETRY, is_retryable_status};
use crate::retry::{Backoff, human, pause, watch};

/// How long the client waits on the network, by kind of request. Wall-clock time (not
/// scaled with a simulator's time scale). A request that runs out of time is a transport
/// failure: retried with the [`Backoff`] and counted in `transient_failures`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// TCP (and TLS) connect.
    pub connect: Duration,
    /// A whole small JSON exchange: every SP-API operation and the LWA token.
    pub json: Duration,
    /// No byte for this long fails any request, downloads included.
    pub idle: Duration,
    /// A report download's body may take `json` plus its size at this rate (bytes/s)…
    pub download_min_rate: u64,
    /// …and never longer than this (also the limit when the size is not announced).
    pub download_max: Duration,
}

/// Connect 10 s, JSON calls 30 s, downloads 30 s + 64 KiB/s of body (at most 15 min).
pub const DEFAULT_TIMEOUTS: Timeouts = Timeouts {
    connect: Duration::from_secs(10),
    json: Duration::from_secs(30),
    idle: Duration::from_secs(30),
    download_min_rate: 64 * 1024,
    download_max: Duration::from_secs(15 * 60),
};

impl Timeouts {
    /// How long the body of a download of `len` bytes (when announced) may take.
    pub fn download_for(&self, len: Option<u64>) -> Duration {
        match len {
            Some(len) => {
                let rate = self.download_min_rate.max(1) as f64;
                (self.json + Duration::from_secs_f64(len as f64 / rate)).min(self.download_max)
            }
            None => self.download_max,
        }
    }
}

impl Default for Timeouts {
    fn default() -> Self {
        DEFAULT_TIMEOUTS
    }
}

/// Counters per operation, for the sync screen and the benchmark.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct OperationStats {
    /// HTTP requests sent (retries included).
    pub requests: u64,
    /// 429 answers.
    pub throttled: u64,
    /// 5xx answers and transport failures (resets, timeouts).
    pub transient_failures: u64,
}

/// Counters for one client (and its clones).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ClientStats {
    pub operations: BTreeMap<Operation, OperationStats>,
    /// Successful or final LWA token exchanges.
    pub token_exchanges: u64,
    /// Report-document URLs re-fetched because the previous one had expired.
    pub document_url_refreshes: u64,
    /// Report downloads repeated because the body was cut short or unreadable.
    pub download_retries: u64,
}

impl ClientStats {
    pub fn total_throttled(&self) -> u64 {
        self.operations.values().map(|s| s.throttled).sum()
    }
}

/// Builds an [`SpApiClient`]. Only credentials and region are required.
pub struct SpApiClientBuilder {
    credentials: LwaCredentials,
    region: Region,
    seller: String,
    base_url: Option<String>,
    token_url: Option<String>,
    limiter: Option<Arc<RateLimiter>>,
    clock: Option<Arc<dyn Clock>>,
    retry: Backoff,
    time_scale: f64,
    app_name: String,
    app_version: String,
    timeouts: Timeouts,
    cancel: Option<CancellationToken>,
}

impl SpApiClientBuilder {
    /// A label for the seller (not a secret): selects the shared rate limiter.
    pub fn seller(mut self, seller: impl Into<String>) -> Self {
        self.seller = seller.into();
        self
    }

    /// Overrides the SP-API host (sandbox, simulator). Plain http only to loopback.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// Overrides the LWA token URL (simulator). Plain http only to loopback.
    pub fn token_url(mut self, url: impl Into<String>) -> Self {
        self.token_url = Some(url.into());
        self
    }

    /// Uses this limiter instead of the process-wide one for the seller and region.
    pub fn limiter(mut self, limiter: Arc<RateLimiter>) -> Self {
        self.limiter = Some(limiter);
        self
    }

    /// The clock whose "now" is corrected by server `Date` headers (default: system clock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    pub fn retry(mut self, retry: Backoff) -> Self {
        self.retry = retry;
        self
    }

    /// Server seconds per wall second: 1 for Amazon, N for a simulator running N× faster.
    /// Scales rate-limit pacing, backoff waits and (with the default clock) "now".
    pub fn time_scale(mut self, scale: f64) -> Self {
        self.time_scale = scale;
        self
    }

    /// Application name and version for the documented `user-agent`.
    pub fn app(mut self, name: impl Into<String>, version: impl Into<String>) -> Self {
        self.app_name = name.into();
        self.app_version = version.into();
        self
    }

    /// The limit of one small JSON call (see [`Timeouts::json`]).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.timeouts.json = timeout;
        self.timeouts.idle = timeout;
        self
    }

    /// Every network limit at once (default [`DEFAULT_TIMEOUTS`]).
    pub fn timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// Stops every wait of the client (pacing, backoff, requests in flight) when this
    /// fires; the call then fails with [`Error::Cancelled`]. See also [`SpApiClient::with_cancel`].
    pub fn cancel(mut self, cancel: CancellationToken) -> Self {
        self.cancel = Some(cancel);
        self
    }

    pub fn build(self) -> Result<SpApiClient, Error> {
        let scale = if self.time_scale.is_finite() && self.time_scale > 0.0 {
            self.time_scale
        } else {
            1.0
        };
        let base_text = self
            .base_url
            .unwrap_or_else(|| self.region.production_url().to_string());
        let base_url = Url::parse(base_text.trim_end_matches('/'))
            .map_err(|e| Error::Config(format!("base URL {base_text:?}: {e}")))?;
        check_url_allowed(&base_url)?;
        let token_text = self.token_url.unwrap_or_else(|| LWA_TOKEN_URL.to_string());
        let token_url = Url::parse(&token_text)
            .map_err(|e| Error::Config(format!("token URL {token_text:?}: {e}")))?;
        check_url_allowed(&token_url)?;
        let user_agent = user_agent(&self.app_name, &self.app_version);
        let http = reqwest::Client::builder()
            .user_agent(user_agent.clone())
            .connect_timeout(self.timeouts.connect)
            .read_timeout(self.timeouts.idle)
            .build()
            .map_err(|e| Error::Config(format!("HTTP client: {e}")))?;
        let clock =
            Arc::new(ServerClock::new(self.clock.unwrap_or_else(|| {
                Arc::new(SystemClock::scaled(scale)) as Arc<dyn Clock>
            })));
        let limiter = self
            .limiter
            .unwrap_or_else(|| RateLimiter::shared(&self.seller, self.region, scale));
        let lwa = Lwa::new(
            http.clone(),
            token_url,
            self.region,
            self.credentials,
            clock.clone(),
            self.retry,
            scale,
        )
        .with_timeout(self.timeouts.json);
        Ok(SpApiClient {
            cancel: self.cancel.unwrap_or_default(),
            inner: Arc::new(Inner {
                http,
                base_url,
                region: self.region,
                user_agent,
                lwa,
                limiter,
                clock,
                retry: self.retry,
                time_scale: scale,
                timeouts: self.timeouts,
                stats: Mutex::new(ClientStats::default()),
            }),
        })
    }
}

/// `AppName/Version (Language=Rust; Platform=<os>/<arch>)`, as the developer guide asks.
pub fn user_agent(app: &str, version: &str) -> String {
    let clean = |s: &str| {
        s.chars()
            .filter(|c| c.is_ascii_graphic() && *c != '/')
            .collect::<String>()
    };
    let ua = format!(
        "{}/{} (Language=Rust; Platform={}/{})",
        clean(app),
        clean(version),
        std::env::consts::OS,
        std::env::consts::ARCH
    );
    ua.chars().take(500).collect()
}

struct Inner {
    http: reqwest::Client,
    base_url: Url,
    region: Region,
    user_agent: String,
    lwa: Lwa,
    limiter: Arc<RateLimiter>,
    clock: Arc<ServerClock>,
    retry: Backoff,
    time_scale: f64,
    timeouts: Timeouts,
    stats: Mutex<ClientStats>,
}

/// The SP-API client for one seller in one region. Clone it freely: clones share the
/// token cache, the limiter and the counters (and the cancellation token, unless
/// [`with_cancel`](Self::with_cancel) gives a clone its own).
#[derive(Clone)]
pub struct SpApiClient {
    inner: Arc<Inner>,
    cancel: CancellationToken,
}

impl std::fmt::Debug for SpApiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpApiClient")
            .field("region", &self.inner.region)
            .field("base_url", &self.inner.base_url.as_str())
            .finish_non_exhaustive()
    }
}

/// A successful answer: the body and Amazon's request id.
pub(crate) struct Reply {
    pub body: Vec<u8>,
    pub request_id: Option<String>,
}

impl SpApiClient {
    pub fn builder(credentials: LwaCredentials, region: Region) -> SpApiClientBuilder {
        SpApiClientBuilder {
            credentials,
            region,
            seller: "default".to_string(),
            base_url: None,
            token_url: None,
            limiter: None,
            clock: None,
            retry: DEFAULT_RETRY,
            time_scale: 1.0,
            app_name: "ml-connector".to_string(),
            app_version: env!("CARGO_PKG_VERSION").to_string(),
            timeouts: DEFAULT_TIMEOUTS,
            cancel: None,
        }
    }

    /// A clone (same token cache, limiter and counters) whose waits end when `cancel`
    /// fires: one run's stop signal for a client that outlives the run.
    pub fn with_cancel(&self, cancel: CancellationToken) -> SpApiClient {
        SpApiClient {
            inner: self.inner.clone(),
            cancel,
        }
    }

    /// The token that stops this client's waits.
    pub fn cancel_token(&self) -> &CancellationToken {
        &self.cancel
    }

    pub fn timeouts(&self) -> Timeouts {
        self.inner.timeouts
    }

    pub fn region(&self) -> Region {
        self.inner.region
    }

    /// The SP-API host this client calls.
    pub fn base_url(&self) -> &str {
        self.inner.base_url.as_str()
    }

    pub fn user_agent(&self) -> &str {
        &self.inner.user_agent
    }

    /// Server time as best known (injected clock corrected by `Date` headers).
    pub fn now(&self) -> DateTime<Utc> {
        self.inner.clock.now()
    }

    pub fn server_clock(&self) -> &ServerClock {
        &self.inner.clock
    }

    pub fn limiter(&self) -> &Arc<RateLimiter> {
        &self.inner.limiter
    }

    pub fn time_scale(&self) -> f64 {
        self.inner.time_scale
    }

    pub fn retry_policy(&self) -> Backoff {
        self.inner.retry
    }

    /// The HTTP client for pre-signed downloads (no SP-API headers are ever added to it).
    pub(crate) fn http_for_download(&self) -> &reqwest::Client {
        &self.inner.http
    }

    pub fn stats(&self) -> ClientStats {
        let mut stats = self
            .inner
            .stats
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        stats.token_exchanges = self.inner.lwa.exchanges();
        stats
    }

    pub(crate) fn bump(&self, f: impl FnOnce(&mut ClientStats)) {
        f(&mut self.inner.stats.lock().unwrap_or_else(|p| p.into_inner()));
    }

    fn bump_op(&self, op: Operation, f: impl FnOnce(&mut OperationStats)) {
        self.bump(|s| f(s.operations.entry(op).or_default()));
    }

    /// Sleeps a server-time duration (logged when long), unless the client is cancelled.
    pub(crate) async fn pause_server(
        &self,
        d: Duration,
        what: &str,
        why: &str,
    ) -> Result<(), Error> {
        pause(d.div_f64(self.inner.time_scale), &self.cancel, what, why)
            .await
            .map_err(|_| Error::Cancelled)
    }

    /// Runs a request in flight: cancellable, and logged while it has no answer.
    pub(crate) async fn in_flight<T>(
        &self,
        work: impl Future<Output = T>,
        what: &str,
        limit: Duration,
    ) -> Result<T, Error> {
        let why = format!("gives up after {}", human(limit));
        watch(work, &self.cancel, what, &why)
            .await
            .map_err(|_| Error::Cancelled)
    }

    /// Checks a token up front: exchanges the refresh token if none is cached.
    pub async fn authenticate(&self) -> Result<(), Error> {
        self.inner.lwa.access_token(&self.cancel).await.map(|_| ())
    }

    /// Makes "now" the server's before a caller derives a time window from it (Amazon
    /// checks `createdSince` and friends against its own clock): without a server `Date`
    /// seen yet, exchanges the token, whose answer carries one.
    pub async fn sync_clock(&self) -> Result<(), Error> {
        if !self.inner.clock.is_learned() {
            self.authenticate().await?;
        }
        Ok(())
    }

    fn url(&self, path: &str) -> Result<Url, Error> {
        let mut base = self
            .inner
            .base_url
            .as_str()
            .trim_end_matches('/')
            .to_string();
        base.push_str(path);
        Url::parse(&base).map_err(|e| Error::Config(format!("bad request path {path:?}: {e}")))
    }

    /// One GET against SP-API: paced by the limiter, authorised, retried on 429/5xx/
    /// transport failures with full-jitter backoff, other errors surfaced with Amazon's
    /// code and request id.
    pub(crate) async fn call(
        &self,
        op: Operation,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<Reply, Error> {
        let url = self.url(path)?;
        let mut failures = 0u32;
        let mut reauthorised = false;
        loop {
            // Token first: a slow exchange between the limiter slot and the send would
            // let later calls overtake this one at the server.
            self.inner.lwa.access_token(&self.cancel).await?;
            self.inner
                .limiter
                .acquire_until(op, &self.cancel)
                .await
                .map_err(|_| Error::Cancelled)?;
            let token = self.inner.lwa.access_token(&self.cancel).await?;
            let amz_date = self.now().format("%Y%m%dT%H%M%SZ").to_string();
            self.bump_op(op, |s| s.requests += 1);
            let limit = self.inner.timeouts.json;
            let request = self
                .inner
                .http
                .get(url.clone())
                .query(query)
                .header("x-amz-access-token", token.expose_secret())
                .header("x-amz-date", amz_date)
                .header(reqwest::header::ACCEPT, "application/json")
                .timeout(limit);
            let exchange = async {
                let resp = request.send().await?;
                let status = resp.status().as_u16();
                let headers = resp.headers().clone();
                Ok::<_, reqwest::Error>((status, headers, resp.bytes().await))
            };
            let (problem, request_id) = match self.in_flight(exchange, op.name(), limit).await? {
                Err(e) => (transport_problem(e, limit), None),
                Ok((status, headers, body)) => {
                    let headers = &headers;
                    if let Some(date) = headers
                        .get(reqwest::header::DATE)
                        .and_then(|v| v.to_str().ok())
                    {
                        self.inner.clock.observe_header(date);
                    }
                    let request_id = header_text(headers, "x-amzn-requestid");
                    if let Some(rate) = header_text(headers, "x-amzn-ratelimit-limit")
                        .and_then(|r| r.trim().parse::<f64>().ok())
                    {
                        self.inner.limiter.observe_rate(op, rate);
                    }
                    match body {
                        Err(e) => (
                            format!("HTTP {status}, body cut: {}", transport_problem(e, limit)),
                            request_id,
                        ),
                        Ok(body) if (200..300).contains(&status) => {
                            return Ok(Reply {
                                body: body.to_vec(),
                                request_id,
                            });
                        }
                        Ok(body) => {
                            let errors = parse_error_body(&body);
                            let first = errors.first().cloned().unwrap_or_default();
                            if status == 429 {
                                self.inner.limiter.on_throttled(op);
                                self.bump_op(op, |s| s.throttled += 1);
                            } else if is_retryable_status(status) {
                                self.bump_op(op, |s| s.transient_failures += 1);
                            } else if status == 403
                                && !reauthorised
                                && first.code.eq_ignore_ascii_case("Unauthorized")
                            {
                                // An access token Amazon no longer accepts: drop it and retry once.
                                reauthorised = true;
                                self.inner.lwa.invalidate(&token).await;
                                continue;
                            } else {
                                return Err(api_error(op, status, first, &body, request_id));
                            }
                            (format!("HTTP {status} {}", describe(&first)), request_id)
                        }
                    }
                }
            };
            if problem.starts_with("transport") || problem.contains("body cut") {
                self.bump_op(op, |s| s.transient_failures += 1);
            }
            failures += 1;
            if !self.inner.retry.allows_retry(failures) {
                return Err(Error::RetriesExhausted {
                    operation: op.name().to_string(),
                    attempts: failures,
                    last: problem,
                    request_id,
                });
            }
            tracing::info!(operation = op.name(), failures, %problem, "{} failed (attempt {failures}): {problem}; retrying", op.name());
            let why = format!("retry after attempt {failures} failed");
            self.pause_server(self.inner.retry.delay(failures), op.name(), &why)
                .await?;
        }
    }

    /// A call whose body is the object itself (the dated APIs).
    pub(crate) async fn get_json<T: DeserializeOwned>(
        &self,
        op: Operation,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<T, Error> {
        let reply = self.call(op, path, query).await?;
        decode(op, &reply)
    }

    /// A call whose body is the v0 `{"payload": …}` envelope.
    pub(crate) async fn get_payload<T: DeserializeOwned>(
        &self,
        op: Operation,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<T, Error> {
        let reply = self.call(op, path, query).await?;
        let envelope: Envelope<T> = decode(op, &reply)?;
        match envelope.payload {
            Some(payload) => {
                for warning in &envelope.errors {
                    tracing::warn!(operation = op.name(), code = %warning.code, message = %warning.message, "SP-API returned errors beside a payload");
                }
                Ok(payload)
            }
            None => match envelope.errors.into_iter().next() {
                Some(first) => Err(api_error(op, 200, first, &[], reply.request_id)),
                None => Err(Error::Decode {
                    operation: op.name().to_string(),
                    message: "neither payload nor errors in the response".to_string(),
                    request_id: reply.request_id,
                }),
            },
        }
    }
}

/// A transport failure in words; a timeout says which limit ran out.
pub(crate) fn transport_problem(e: reqwest::Error, limit: Duration) -> String {
    let e = &e.without_url();
    if e.is_timeout() {
        format!("transport: timed out (no answer within {})", human(limit))
    } else if e.is_connect() {
        format!("transport: cannot connect: {}", error_chain(e))
    } else {
        format!("transport: {}", error_chain(e))
    }
}

/// An error and its sources, without any URL (pre-signed URLs carry credentials).
fn error_chain(e: &reqwest::Error) -> String {
    use std::error::Error as _;
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text
}

fn header_text(headers: &reqwest::header::HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

fn describe(e: &ApiErrorEntry) -> String {
    if e.code.is_empty() && e.message.is_empty() {
        "(no error body)".to_string()
    } else {
        format!("{}: {}", e.code, e.message)
    }
}

fn api_error(
    op: Operation,
    status: u16,
    first: ApiErrorEntry,
    body: &[u8],
    request_id: Option<String>,
) -> Error {
    let (code, message) = if first.code.is_empty() && first.message.is_empty() {
        let text = String::from_utf8_lossy(body);
        let snippet: String = text.chars().take(200).collect();
        (
            format!("HTTP{status}"),
            if snippet.is_empty() {
                "no error body".to_string()
            } else {
                snippet
            },
        )
    } else {
        (first.code, first.message)
    };
    Error::Api {
        operation: op.name().to_string(),
        status,
        code,
        message,
        details: first.details,
        request_id,
    }
}

/// Parses a reply body; a body that does not parse names the operation and request id.
fn decode<T: DeserializeOwned>(op: Operation, reply: &Reply) -> Result<T, Error> {
    serde_json::from_slice(&reply.body).map_err(|e| Error::Decode {
        operation: op.name().to_string(),
        message: e.to_string(),
        request_id: reply.request_id.clone(),
    })
}
