//! HTTP side of the Amazon simulator: connection loop, routing, LWA, auth,
//! buckets, faults, and every SP-API operation's parameter rules and paging.
//!
//! Connections are served with hyper directly (not `axum::serve`) so the `reset`
//! fault can close a connection without writing any response.

use axum::body::{Body, Bytes};
use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};
use hyper::{Request, Response, StatusCode, header};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio_util::sync::CancellationToken;

use super::buckets::{self, Buckets, OpSpec};
use super::clock::SimClock;
use super::render::{self, iso, to_json_text};
use super::world::{self, MarketplaceInfo, Region, World};
use super::{AmazonSimConfig, Fault, SimError, Truth};

/// Lifetime (simulated) of access tokens, presigned URLs and paging tokens.
const ACCESS_TOKEN_SECS: i64 = 3600;
const URL_SECS: i64 = 300;
const NEXT_TOKEN_SECS: i64 = 3600;
const SETTLEMENT_PREFIX: &str = "GET_V2_SETTLEMENT_REPORT_DATA_";
const CREATABLE_REPORTS: &[&str] = &[
    "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL",
    "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL",
    "GET_MERCHANT_LISTINGS_ALL_DATA",
];
const REPORT_STATUSES: &[&str] = &["CANCELLED", "DONE", "FATAL", "IN_PROGRESS", "IN_QUEUE"];

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

struct CreatedReport {
    id: String,
    report_type: String,
    marketplace_ids: Vec<String>,
    region: Option<Region>,
    data_start: DateTime<Utc>,
    data_end: DateTime<Utc>,
    created: DateTime<Utc>,
    cancelled: bool,
    document_id: String,
    content: Arc<String>,
    has_data: bool,
}

impl CreatedReport {
    fn status(&self, now: DateTime<Utc>) -> &'static str {
        if self.cancelled {
            "CANCELLED"
        } else if now < self.created + Duration::seconds(30) {
            "IN_QUEUE"
        } else if now < self.created + Duration::seconds(60) {
            "IN_PROGRESS"
        } else if self.has_data {
            "DONE"
        } else {
            "CANCELLED"
        }
    }
}

struct Document {
    bytes: Bytes,
    content_type: &'static str,
    gzip: bool,
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

// ---------------------------------------------------------------- connection loop

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

// ---------------------------------------------------------------- responses

struct Ctx {
    request_id: String,
    now: DateTime<Utc>,
}

fn base_response(ctx: &Ctx, status: StatusCode, content_type: &str, body: Body) -> Response<Body> {
    let mut resp = Response::new(body);
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    if let Ok(v) = content_type.parse() {
        h.insert(header::CONTENT_TYPE, v);
    }
    if let Ok(v) = ctx.request_id.parse() {
        h.insert("x-amzn-RequestId", v);
    }
    let date: std::time::SystemTime = ctx.now.into();
    if let Ok(v) = httpdate::fmt_http_date(date).parse() {
        h.insert(header::DATE, v);
    }
    resp
}

fn error_body(code: &str, message: &str, details: &str) -> String {
    json!({"errors": [{"code": code, "message": message, "details": details}]}).to_string()
}

#[derive(Debug)]
struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    details: String,
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError {
        status: StatusCode::BAD_REQUEST,
        code: "InvalidInput",
        message: message.into(),
        details: String::new(),
    }
}

fn not_found(message: impl Into<String>) -> ApiError {
    ApiError {
        status: StatusCode::NOT_FOUND,
        code: "NotFound",
        message: message.into(),
        details: String::new(),
    }
}

type OpResult = Result<(StatusCode, String), ApiError>;

fn ok_json(v: &Value) -> OpResult {
    Ok((StatusCode::OK, to_json_text(v)))
}

fn xml_error(
    ctx: &Ctx,
    status: StatusCode,
    code: &str,
    message: &str,
    extra: &str,
) -> Response<Body> {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message>{extra}<RequestId>{}</RequestId><HostId>{}</HostId></Error>",
        &ctx.request_id[..16].to_ascii_uppercase().replace('-', ""),
        hex::encode(Sha256::digest(ctx.request_id.as_bytes()))
    );
    let mut resp = base_response(ctx, status, "application/xml", Body::from(body));
    if let Ok(v) = ctx.request_id.parse() {
        resp.headers_mut().insert("x-amz-request-id", v);
    }
    resp
}

// ---------------------------------------------------------------- query helpers

struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    fn parse(q: &str) -> Query {
        Query {
            pairs: url::form_urlencoded::parse(q.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        }
    }
    fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    fn list(&self, name: &str) -> Vec<String> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == name)
            .flat_map(|(_, v)| v.split(',').map(|s| s.trim().to_string()))
            .filter(|s| !s.is_empty())
            .collect()
    }
    fn fingerprint(&self, exclude: &str) -> String {
        let mut p: Vec<String> = self
            .pairs
            .iter()
            .filter(|(k, _)| k != exclude)
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        p.sort();
        p.join("&")
    }
    fn date(&self, name: &str) -> Result<Option<DateTime<Utc>>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => parse_date(v)
                .map(Some)
                .ok_or_else(|| invalid(format!("Invalid {name}: `{v}` is not an ISO 8601 date"))),
        }
    }
    fn page_size(&self, name: &str, default: usize, max: usize) -> Result<usize, ApiError> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => match v.parse::<usize>() {
                Ok(n) if (1..=max).contains(&n) => Ok(n),
                _ => Err(invalid(format!("{name} must be between 1 and {max}"))),
            },
        }
    }
}

fn parse_date(v: &str) -> Option<DateTime<Utc>> {
    if let Ok(d) = DateTime::parse_from_rfc3339(v) {
        return Some(d.with_timezone(&Utc));
    }
    for f in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(d) = NaiveDateTime::parse_from_str(v, f) {
            return Some(d.and_utc());
        }
    }
    NaiveDate::parse_from_str(v, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc())
}

fn new_token(inner: &mut Inner, len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    (0..len)
        .map(|_| ALPHABET[inner.rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

fn issue_page_token(
    inner: &mut Inner,
    op: &'static str,
    fingerprint: String,
    offset: usize,
    bound: DateTime<Utc>,
    now: DateTime<Utc>,
    query: Vec<(String, String)>,
) -> String {
    if inner.page_tokens.len() > 10_000 {
        inner.page_tokens.retain(|_, t| t.expires >= now);
    }
    let token = new_token(inner, 64);
    inner.page_tokens.insert(
        token.clone(),
        PageToken {
            op,
            fingerprint,
            offset,
            expires: now + Duration::seconds(NEXT_TOKEN_SECS),
            bound,
            query,
        },
    );
    token
}

/// Resolves a NextToken for `op` whose other parameters must repeat the original ones.
fn take_page_token(
    inner: &Inner,
    op: &'static str,
    token: &str,
    fingerprint: &str,
    now: DateTime<Utc>,
) -> Result<(usize, DateTime<Utc>), ApiError> {
    let t = inner
        .page_tokens
        .get(token)
        .filter(|t| t.op == op)
        .ok_or_else(|| invalid("Invalid NextToken"))?;
    if t.expires < now {
        return Err(invalid(
            "The NextToken has expired. Start again without a NextToken.",
        ));
    }
    if t.fingerprint != fingerprint {
        return Err(invalid(
            "NextToken must be sent with the same parameters as the request that returned it",
        ));
    }
    Ok((t.offset, t.bound))
}

fn markets_in(world: &World, region: Option<Region>) -> Vec<usize> {
    world
        .markets
        .iter()
        .enumerate()
        .filter(|(_, m)| region.is_none_or(|r| m.info.region == r))
        .map(|(i, _)| i)
        .collect()
}

fn market_ids(
    world: &World,
    region: Option<Region>,
    ids: &[String],
) -> Result<Vec<usize>, ApiError> {
    let allowed = markets_in(world, region);
    ids.iter()
        .map(|id| {
            allowed
                .iter()
                .copied()
                .find(|&m| world.markets[m].info.id == id)
                .ok_or_else(|| invalid(format!("Invalid MarketplaceId: {id}")))
        })
        .collect()
}

fn seeded_empty_page(seed: u64, key: &str) -> bool {
    Sha256::digest(format!("{seed}-empty-{key}"))[0] % 3 == 0
}

// ---------------------------------------------------------------- dispatch

enum Route {
    Stats,
    Truth,
    Token,
    Download {
        doc: String,
    },
    Op {
        spec: &'static OpSpec,
        params: Vec<String>,
    },
    NotFound,
}

fn route(method: &hyper::Method, path: &str) -> (Option<Region>, Route) {
    let (region, path) = if let Some(rest) = path.strip_prefix("/na/") {
        (Some(Region::Na), format!("/{rest}"))
    } else if let Some(rest) = path.strip_prefix("/eu/") {
        (Some(Region::Eu), format!("/{rest}"))
    } else {
        (None, path.to_string())
    };
    let segs: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
    let get = method == hyper::Method::GET;
    let post = method == hyper::Method::POST;
    let op = |name: &str, params: Vec<&str>| match buckets::spec(name) {
        Some(spec) => Route::Op {
            spec,
            params: params.into_iter().map(String::from).collect(),
        },
        None => Route::NotFound,
    };
    let r = match (segs.as_slice(), get, post) {
        (["_sim", "stats"], true, _) => Route::Stats,
        (["_sim", "truth"], true, _) => Route::Truth,
        (["auth", "o2", "token"], _, true) => Route::Token,
        ([bucket, doc], true, _) if bucket.starts_with("tortuga-prod-") => Route::Download {
            doc: doc.to_string(),
        },
        (["orders", "v0", "orders"], true, _) => op("getOrders", vec![]),
        (["orders", "v0", "orders", id], true, _) => op("getOrder", vec![id]),
        (["orders", "v0", "orders", id, "orderItems"], true, _) => op("getOrderItems", vec![id]),
        (["finances", "v0", "financialEventGroups"], true, _) => {
            op("listFinancialEventGroups", vec![])
        }
        (
            [
                "finances",
                "v0",
                "financialEventGroups",
                id,
                "financialEvents",
            ],
            true,
            _,
        ) => op("listFinancialEventsByGroupId", vec![id]),
        (["finances", "v0", "orders", id, "financialEvents"], true, _) => {
            op("listFinancialEventsByOrderId", vec![id])
        }
        (["finances", "v0", "financialEvents"], true, _) => op("listFinancialEvents", vec![]),
        (["reports", "2021-06-30", "reports"], true, _) => op("getReports", vec![]),
        (["reports", "2021-06-30", "reports"], _, true) => op("createReport", vec![]),
        (["reports", "2021-06-30", "reports", id], true, _) => op("getReport", vec![id]),
        (["reports", "2021-06-30", "reports", id], _, _) if method == hyper::Method::DELETE => {
            op("cancelReport", vec![id])
        }
        (["reports", "2021-06-30", "documents", id], true, _) => op("getReportDocument", vec![id]),
        (["sellers", "v1", "marketplaceParticipations"], true, _) => {
            op("getMarketplaceParticipations", vec![])
        }
        _ => Route::NotFound,
    };
    (region, r)
}

fn pick_fault(state: &State, applicable: &[Fault]) -> Option<Fault> {
    let cfg = &state.config;
    if cfg.fault_rate <= 0.0 || cfg.faults.is_empty() {
        return None;
    }
    let candidates: Vec<Fault> = cfg
        .faults
        .iter()
        .copied()
        .filter(|f| applicable.contains(f))
        .collect();
    let mut rng = lock(&state.fault_rng);
    let u: f64 = rng.random();
    let k: usize = rng.random_range(0..1000);
    if candidates.is_empty() || u >= cfg.fault_rate {
        return None;
    }
    let fault = candidates[k % candidates.len()];
    *lock(&state.stats).faults.entry(fault.name()).or_default() += 1;
    Some(fault)
}

fn reset_response() -> Response<Body> {
    let mut resp = Response::new(Body::empty());
    resp.extensions_mut().insert(ResetMarker);
    resp
}

async fn dispatch(state: &Arc<State>, req: Request<hyper::body::Incoming>) -> Response<Body> {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(Body::new(body), 4 << 20)
        .await
        .unwrap_or_default();
    let path = parts.uri.path().to_string();
    let query = Query::parse(parts.uri.query().unwrap_or(""));
    let ctx = Ctx {
        request_id: state.request_id(),
        now: state.now(),
    };
    let (region, route) = route(&parts.method, &path);
    match route {
        Route::Stats => {
            let v = stats_json(state);
            base_response(
                &ctx,
                StatusCode::OK,
                "application/json",
                Body::from(v.to_string()),
            )
        }
        Route::Truth => {
            let v = serde_json::to_string(&truth(state)).unwrap_or_default();
            base_response(&ctx, StatusCode::OK, "application/json", Body::from(v))
        }
        Route::NotFound => base_response(
            &ctx,
            StatusCode::NOT_FOUND,
            "application/json",
            Body::from(error_body("NotFound", "Resource not found", "")),
        ),
        Route::Token => {
            lock(&state.stats).token_requests += 1;
            let fault = pick_fault(
                state,
                &[
                    Fault::ServerError,
                    Fault::Unavailable,
                    Fault::Reset,
                    Fault::Slow,
                ],
            );
            match fault {
                Some(Fault::Reset) => return reset_response(),
                Some(Fault::Slow) => tokio::time::sleep(state.config.slow_delay).await,
                Some(Fault::ServerError) => {
                    return lwa_error(
                        &ctx,
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "server_error",
                        "Internal server error",
                    );
                }
                Some(Fault::Unavailable) => {
                    return lwa_error(
                        &ctx,
                        StatusCode::SERVICE_UNAVAILABLE,
                        "temporarily_unavailable",
                        "The service is temporarily unavailable",
                    );
                }
                _ => {}
            }
            let content_type = parts
                .headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_ascii_lowercase();
            token_endpoint(state, &ctx, &content_type, &body)
        }
        Route::Download { doc } => {
            lock(&state.stats).downloads += 1;
            let fault = pick_fault(
                state,
                &[
                    Fault::ServerError,
                    Fault::Unavailable,
                    Fault::Reset,
                    Fault::Slow,
                    Fault::Truncate,
                ],
            );
            match fault {
                Some(Fault::Reset) => return reset_response(),
                Some(Fault::Slow) => tokio::time::sleep(state.config.slow_delay).await,
                Some(Fault::ServerError) => {
                    return xml_error(
                        &ctx,
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "InternalError",
                        "We encountered an internal error. Please try again.",
                        "",
                    );
                }
                Some(Fault::Unavailable) => {
                    return xml_error(
                        &ctx,
                        StatusCode::SERVICE_UNAVAILABLE,
                        "SlowDown",
                        "Please reduce your request rate.",
                        "",
                    );
                }
                _ => {}
            }
            download(state, &ctx, &doc, &query, fault == Some(Fault::Truncate))
        }
        Route::Op { spec, params } => {
            {
                let mut stats = lock(&state.stats);
                stats.operations.entry(spec.name).or_default().0 += 1;
            }
            let mut applicable = vec![
                Fault::Throttle,
                Fault::ServerError,
                Fault::Unavailable,
                Fault::Reset,
                Fault::Slow,
            ];
            if spec.name == "getReportDocument" {
                applicable.push(Fault::ExpiredUrl);
            }
            let fault = pick_fault(state, &applicable);
            let json_err = |status: StatusCode, code: &str, msg: &str| {
                base_response(
                    &ctx,
                    status,
                    "application/json",
                    Body::from(error_body(code, msg, "")),
                )
            };
            match fault {
                Some(Fault::Reset) => return reset_response(),
                Some(Fault::Slow) => tokio::time::sleep(state.config.slow_delay).await,
                Some(Fault::Throttle) => {
                    lock(&state.stats)
                        .operations
                        .entry(spec.name)
                        .or_default()
                        .1 += 1;
                    return json_err(
                        StatusCode::TOO_MANY_REQUESTS,
                        "QuotaExceeded",
                        "You exceeded your quota for the requested resource.",
                    );
                }
                Some(Fault::ServerError) => {
                    return json_err(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "InternalFailure",
                        "We encountered an internal error. Please try again.",
                    );
                }
                Some(Fault::Unavailable) => {
                    return json_err(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "ServiceUnavailable",
                        "Service is temporarily unavailable. Please try again.",
                    );
                }
                _ => {}
            }
            let token = parts
                .headers
                .get("x-amz-access-token")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            let mut inner = lock(&state.inner);
            if let Err(msg) = check_token(&inner, token, ctx.now) {
                return json_err(StatusCode::FORBIDDEN, "Unauthorized", msg);
            }
            if !inner.buckets.entry(region).or_default().take(spec, ctx.now) {
                drop(inner);
                lock(&state.stats)
                    .operations
                    .entry(spec.name)
                    .or_default()
                    .1 += 1;
                return json_err(
                    StatusCode::TOO_MANY_REQUESTS,
                    "QuotaExceeded",
                    "You exceeded your quota for the requested resource.",
                );
            }
            inner.world.ensure(ctx.now);
            let content_type = parts
                .headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            let op = OpCall {
                state,
                now: ctx.now,
                region,
                query: &query,
                params: &params,
                body: &body,
                content_type,
                expired_url: fault == Some(Fault::ExpiredUrl),
            };
            let result = op.run(&mut inner, spec.name);
            drop(inner);
            let rate = buckets::rate_header(spec, state.clock.scale());
            let (status, text) = match result {
                Ok(ok) => ok,
                Err(e) => (e.status, error_body(e.code, &e.message, &e.details)),
            };
            let mut resp = base_response(&ctx, status, "application/json", Body::from(text));
            // Amazon sends the limit on 2xx, 400 and 404 only.
            if (status.is_success()
                || status == StatusCode::BAD_REQUEST
                || status == StatusCode::NOT_FOUND)
                && let Ok(v) = rate.parse()
            {
                resp.headers_mut().insert("x-amzn-RateLimit-Limit", v);
            }
            if status == StatusCode::BAD_REQUEST
                && let Ok(v) = "ValidationException".parse()
            {
                resp.headers_mut().insert("x-amzn-ErrorType", v);
            }
            resp
        }
    }
}

// ---------------------------------------------------------------- LWA

fn lwa_error(ctx: &Ctx, status: StatusCode, error: &str, description: &str) -> Response<Body> {
    let body = json!({"error_description": description, "error": error}).to_string();
    let mut resp = base_response(
        ctx,
        status,
        "application/json;charset=UTF-8",
        Body::from(body),
    );
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    resp
}

fn token_endpoint(state: &State, ctx: &Ctx, content_type: &str, body: &[u8]) -> Response<Body> {
    let fields: HashMap<String, String> = if content_type.contains("json") {
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(map)) => map
                .into_iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k, s.to_string())))
                .collect(),
            _ => {
                return lwa_error(
                    ctx,
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "The request body is not valid JSON",
                );
            }
        }
    } else {
        url::form_urlencoded::parse(body)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    };
    let cfg = &state.config;
    let grant = fields.get("grant_type").map(String::as_str).unwrap_or("");
    let (Some(client_id), Some(client_secret)) =
        (fields.get("client_id"), fields.get("client_secret"))
    else {
        return lwa_error(
            ctx,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The request is missing a required parameter : client_id or client_secret",
        );
    };
    if grant.is_empty() {
        return lwa_error(
            ctx,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The request is missing a required parameter : grant_type",
        );
    }
    if client_id != &cfg.client_id || client_secret != cfg.client_secret.expose_secret() {
        return lwa_error(
            ctx,
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client authentication failed",
        );
    }
    let grantless = match grant {
        "refresh_token" => {
            let Some(refresh) = fields.get("refresh_token") else {
                return lwa_error(
                    ctx,
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "The request is missing a required parameter : refresh_token",
                );
            };
            if refresh != cfg.refresh_token.expose_secret() {
                return lwa_error(
                    ctx,
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "The request has an invalid grant parameter : refresh_token",
                );
            }
            false
        }
        "client_credentials" => {
            if !fields.contains_key("scope") {
                return lwa_error(
                    ctx,
                    StatusCode::BAD_REQUEST,
                    "invalid_scope",
                    "The request has an invalid parameter : scope",
                );
            }
            true
        }
        _ => {
            return lwa_error(
                ctx,
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "The authorization grant type is not supported by the authorization server",
            );
        }
    };
    let mut inner = lock(&state.inner);
    if inner.tokens.len() > 10_000 {
        let now = ctx.now;
        inner.tokens.retain(|_, (exp, _)| *exp > now);
    }
    let token = format!("Atza|{}", new_token(&mut inner, 120));
    inner.tokens.insert(
        token.clone(),
        (ctx.now + Duration::seconds(ACCESS_TOKEN_SECS), grantless),
    );
    drop(inner);
    let mut body = json!({
        "access_token": token,
        "token_type": "bearer",
        "expires_in": state.clock.real_seconds(ACCESS_TOKEN_SECS),
    });
    if grantless {
        body["scope"] = json!(fields.get("scope"));
    } else {
        body["refresh_token"] = json!(cfg.refresh_token.expose_secret());
    }
    let mut resp = base_response(
        ctx,
        StatusCode::OK,
        "application/json;charset=UTF-8",
        Body::from(body.to_string()),
    );
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    resp
}

fn check_token(inner: &Inner, token: &str, now: DateTime<Utc>) -> Result<(), &'static str> {
    match inner.tokens.get(token) {
        None => Err("Access to requested resource is denied."),
        Some((_, true)) => Err("Access to requested resource is denied."),
        Some((exp, false)) if *exp <= now => {
            Err("The security token included in the request is expired")
        }
        Some(_) => Ok(()),
    }
}

// ---------------------------------------------------------------- operations

struct OpCall<'a> {
    state: &'a State,
    now: DateTime<Utc>,
    region: Option<Region>,
    query: &'a Query,
    params: &'a [String],
    body: &'a [u8],
    content_type: &'a str,
    expired_url: bool,
}

fn valid_order_id(id: &str) -> bool {
    let parts: Vec<&str> = id.split('-').collect();
    parts.len() == 3
        && [3, 7, 7]
            .iter()
            .zip(&parts)
            .all(|(n, p)| p.len() == *n && p.bytes().all(|b| b.is_ascii_digit()))
}

impl OpCall<'_> {
    fn run(&self, inner: &mut Inner, op: &str) -> OpResult {
        match op {
            "getOrders" => self.get_orders(inner),
            "getOrder" => self.get_order(inner),
            "getOrderItems" => self.get_order_items(inner),
            "listFinancialEventGroups" => self.list_groups(inner),
            "listFinancialEventsByGroupId" => self.list_events(inner, EventScope::Group),
            "listFinancialEventsByOrderId" => self.list_events(inner, EventScope::Order),
            "listFinancialEvents" => self.list_events(inner, EventScope::All),
            "getReports" => self.get_reports(inner),
            "getReport" => self.get_report(inner),
            "createReport" => self.create_report(inner),
            "cancelReport" => self.cancel_report(inner),
            "getReportDocument" => self.get_report_document(inner),
            "getMarketplaceParticipations" => self.participations(inner),
            _ => Err(not_found("Resource not found")),
        }
    }

    fn order_index(&self, inner: &Inner) -> Result<usize, ApiError> {
        let id = &self.params[0];
        if !valid_order_id(id) {
            return Err(invalid(format!("Invalid orderId: {id}")));
        }
        let world = &inner.world;
        world
            .find_order(id)
            .filter(|&o| {
                let order = &world.orders[o];
                order.purchase <= self.now
                    && self
                        .region
                        .is_none_or(|r| world.markets[order.market].info.region == r)
            })
            .ok_or_else(|| not_found(format!("Order {id} not found")))
    }

    fn get_orders(&self, inner: &mut Inner) -> OpResult {
        let q = self.query;
        let ids = q.list("MarketplaceIds");
        if ids.is_empty() {
            return Err(invalid("Missing required parameter: MarketplaceIds"));
        }
        if ids.len() > 50 {
            return Err(invalid("MarketplaceIds accepts at most 50 values"));
        }
        let markets = market_ids(&inner.world, self.region, &ids)?;
        let created_after = q.date("CreatedAfter")?;
        let created_before = q.date("CreatedBefore")?;
        let updated_after = q.date("LastUpdatedAfter")?;
        let updated_before = q.date("LastUpdatedBefore")?;
        let latest = self.now - Duration::minutes(2);
        let by_created = match (created_after, updated_after) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "CreatedAfter and LastUpdatedAfter cannot both be specified",
                ));
            }
            (None, None) => {
                return Err(invalid(
                    "Either CreatedAfter or LastUpdatedAfter must be specified",
                ));
            }
            (Some(_), None) => {
                if updated_before.is_some() {
                    return Err(invalid(
                        "LastUpdatedBefore cannot be combined with CreatedAfter",
                    ));
                }
                true
            }
            (None, Some(_)) => {
                if created_before.is_some() {
                    return Err(invalid(
                        "CreatedBefore cannot be combined with LastUpdatedAfter",
                    ));
                }
                false
            }
        };
        let after = created_after.or(updated_after).unwrap_or(self.now);
        if after > latest {
            return Err(invalid(if by_created {
                "CreatedAfter must be at least 2 minutes before the current time"
            } else {
                "LastUpdatedAfter must be at least 2 minutes before the current time"
            }));
        }
        let before_param = if by_created {
            created_before
        } else {
            updated_before
        };
        if let Some(b) = before_param {
            if b < after {
                return Err(invalid(if by_created {
                    "CreatedBefore must be later than CreatedAfter"
                } else {
                    "LastUpdatedBefore must be later than LastUpdatedAfter"
                }));
            }
            if b > latest {
                return Err(invalid(if by_created {
                    "CreatedBefore must be at least 2 minutes before the current time"
                } else {
                    "LastUpdatedBefore must be at least 2 minutes before the current time"
                }));
            }
        }
        let page = q.page_size("MaxResultsPerPage", 100, 100)?;
        let statuses = q.list("OrderStatuses");
        for s in &statuses {
            if ![
                "Pending",
                "Unshipped",
                "PartiallyShipped",
                "Shipped",
                "Canceled",
                "Unfulfillable",
                "InvoiceUnconfirmed",
                "PendingAvailability",
            ]
            .contains(&s.as_str())
            {
                return Err(invalid(format!("Invalid OrderStatuses value: {s}")));
            }
        }
        let channels = q.list("FulfillmentChannels");
        for c in &channels {
            if c != "AFN" && c != "MFN" {
                return Err(invalid(format!("Invalid FulfillmentChannels value: {c}")));
            }
        }
        let order_ids = q.list("AmazonOrderIds");
        if order_ids.len() > 50 {
            return Err(invalid("AmazonOrderIds accepts at most 50 values"));
        }
        let payment = q.list("PaymentMethods");
        let fingerprint = format!("{:?}", q.fingerprint("NextToken"));
        let (offset, bound) = match q.get("NextToken") {
            Some(t) => take_page_token(inner, "getOrders", t, &fingerprint, self.now)?,
            None => (0, before_param.unwrap_or(latest)),
        };
        let now = self.now;
        let world = &inner.world;
        let mut matched: Vec<(DateTime<Utc>, usize)> = world
            .orders
            .iter()
            .enumerate()
            .filter(|(_, o)| markets.contains(&o.market) && o.purchase <= now)
            .filter_map(|(i, o)| {
                let key = if by_created {
                    o.purchase
                } else {
                    o.last_update(now)
                };
                (key >= after && key < bound).then_some((key, i))
            })
            .filter(|&(_, i)| {
                let o = &world.orders[i];
                (statuses.is_empty() || statuses.iter().any(|s| s == o.status(now).as_str()))
                    && (channels.is_empty() || channels.iter().any(|c| c == o.channel.code()))
                    && (order_ids.is_empty() || order_ids.contains(&o.id))
                    && (payment.is_empty() || payment.iter().any(|p| p == "Other"))
            })
            .collect();
        matched.sort();
        let orders: Vec<Value> = matched
            .iter()
            .skip(offset)
            .take(page)
            .map(|&(_, i)| render::order_json(world, &world.orders[i], now))
            .collect();
        let more = matched.len() > offset + page;
        let mut payload = json!({"Orders": orders});
        if by_created {
            payload["CreatedBefore"] = json!(iso(bound));
        } else {
            payload["LastUpdatedBefore"] = json!(iso(bound));
        }
        if more {
            let t = issue_page_token(
                inner,
                "getOrders",
                fingerprint,
                offset + page,
                bound,
                now,
                vec![],
            );
            payload["NextToken"] = json!(t);
        }
        ok_json(&json!({"payload": payload}))
    }

    fn get_order(&self, inner: &mut Inner) -> OpResult {
        let o = self.order_index(inner)?;
        let world = &inner.world;
        ok_json(&json!({"payload": render::order_json(world, &world.orders[o], self.now)}))
    }

    fn get_order_items(&self, inner: &mut Inner) -> OpResult {
        let o = self.order_index(inner)?;
        if let Some(t) = self.query.get("NextToken") {
            let fp = format!("{}:{}", self.params[0], self.query.fingerprint("NextToken"));
            take_page_token(inner, "getOrderItems", t, &fp, self.now)?;
        }
        let world = &inner.world;
        let order = &world.orders[o];
        let items: Vec<Value> = (0..order.items.len())
            .map(|k| render::order_item_json(world, order, k, self.now))
            .collect();
        ok_json(&json!({"payload": {"AmazonOrderId": order.id, "OrderItems": items}}))
    }

    fn list_groups(&self, inner: &mut Inner) -> OpResult {
        let q = self.query;
        let page = q.page_size("MaxResultsPerPage", 10, 100)?;
        let after = q.date("FinancialEventGroupStartedAfter")?;
        let before = q.date("FinancialEventGroupStartedBefore")?;
        let latest = self.now - Duration::minutes(2);
        if let Some(b) = before {
            if let Some(a) = after
                && b <= a
            {
                return Err(invalid(
                    "FinancialEventGroupStartedBefore must be later than FinancialEventGroupStartedAfter",
                ));
            }
            if b > latest {
                return Err(invalid(
                    "FinancialEventGroupStartedBefore must be at least 2 minutes before the current time",
                ));
            }
        }
        if let Some(a) = after
            && a > latest
        {
            return Err(invalid(
                "FinancialEventGroupStartedAfter must be at least 2 minutes before the current time",
            ));
        }
        let fingerprint = q.fingerprint("NextToken");
        let (offset, bound) = match q.get("NextToken") {
            Some(t) => {
                take_page_token(inner, "listFinancialEventGroups", t, &fingerprint, self.now)?
            }
            None => (0, before.unwrap_or(self.now)),
        };
        let too_wide = matches!((after, before), (Some(a), Some(b)) if b - a > Duration::days(180));
        let world = &inner.world;
        let mut groups: Vec<(DateTime<Utc>, usize, usize)> = Vec::new();
        if !too_wide {
            for m in markets_in(world, self.region) {
                for (p, period) in world.markets[m].periods.iter().enumerate() {
                    if period.start <= self.now
                        && period.start < bound
                        && after.is_none_or(|a| period.start >= a)
                    {
                        groups.push((period.start, m, p));
                    }
                }
            }
        }
        groups.sort();
        let list: Vec<Value> = groups
            .iter()
            .skip(offset)
            .take(page)
            .map(|&(_, m, p)| {
                let market = &world.markets[m];
                render::group_json(market, &market.periods[p], self.now)
            })
            .collect();
        let mut payload = json!({"FinancialEventGroupList": list});
        if groups.len() > offset + page {
            let t = issue_page_token(
                inner,
                "listFinancialEventGroups",
                fingerprint,
                offset + page,
                bound,
                self.now,
                vec![],
            );
            payload["NextToken"] = json!(t);
        }
        ok_json(&json!({"payload": payload}))
    }

    fn list_events(&self, inner: &mut Inner, scope: EventScope) -> OpResult {
        let q = self.query;
        let op = match scope {
            EventScope::Group => "listFinancialEventsByGroupId",
            EventScope::Order => "listFinancialEventsByOrderId",
            EventScope::All => "listFinancialEvents",
        };
        let page = q.page_size("MaxResultsPerPage", 100, 100)?;
        let after = q.date("PostedAfter")?;
        let before = q.date("PostedBefore")?;
        let latest = self.now - Duration::minutes(2);
        if before.is_some() && after.is_none() {
            return Err(invalid("PostedBefore requires PostedAfter"));
        }
        if let Some(a) = after
            && a > latest
        {
            return Err(invalid(
                "PostedAfter must be at least 2 minutes before the current time",
            ));
        }
        if let (Some(a), Some(b)) = (after, before) {
            if b <= a {
                return Err(invalid("PostedBefore must be later than PostedAfter"));
            }
            if b > latest {
                return Err(invalid(
                    "PostedBefore must be at least 2 minutes before the current time",
                ));
            }
        }
        let path_key = self.params.first().cloned().unwrap_or_default();
        let fingerprint = format!("{path_key}:{}", q.fingerprint("NextToken"));
        let default_bound = match scope {
            EventScope::All => latest,
            _ => self.now + Duration::seconds(1),
        };
        let token = q.get("NextToken");
        let (offset, bound) = match token {
            Some(t) => take_page_token(inner, op, t, &fingerprint, self.now)?,
            None => (0, before.unwrap_or(default_bound)),
        };
        let too_wide = matches!((after, before), (Some(a), Some(b)) if b - a > Duration::days(180));
        let world = &inner.world;
        let visible = |posted: DateTime<Utc>| {
            posted < bound && posted <= self.now && after.is_none_or(|a| posted >= a)
        };
        let mut events: Vec<(DateTime<Utc>, usize, usize)> = Vec::new();
        match scope {
            EventScope::Group => {
                let (m, p) = world
                    .find_group(&path_key)
                    .filter(|(m, p)| {
                        self.region
                            .is_none_or(|r| world.markets[*m].info.region == r)
                            && world.markets[*m].periods[*p].start <= self.now
                    })
                    .ok_or_else(|| {
                        not_found(format!("Financial event group {path_key} not found"))
                    })?;
                let market = &world.markets[m];
                for &t in &market.periods[p].txns {
                    if visible(market.txns[t].posted) {
                        events.push((market.txns[t].posted, m, t));
                    }
                }
            }
            EventScope::Order => {
                if !valid_order_id(&path_key) {
                    return Err(invalid(format!("Invalid orderId: {path_key}")));
                }
                let o = world
                    .find_order(&path_key)
                    .ok_or_else(|| not_found(format!("Order {path_key} not found")))?;
                let m = world.orders[o].market;
                let market = &world.markets[m];
                for (t, txn) in market.txns.iter().enumerate() {
                    if txn.order() == Some(o) && visible(txn.posted) {
                        events.push((txn.posted, m, t));
                    }
                }
            }
            EventScope::All => {
                if !too_wide {
                    for m in markets_in(world, self.region) {
                        let market = &world.markets[m];
                        for (t, txn) in market.txns.iter().enumerate() {
                            if visible(txn.posted) {
                                events.push((txn.posted, m, t));
                            }
                        }
                    }
                }
            }
        }
        if too_wide {
            events.clear();
        }
        events.sort();
        // Amazon may answer an empty page that still carries a token.
        let empty_first = token.is_none()
            && !events.is_empty()
            && seeded_empty_page(self.state.config.seed, &fingerprint);
        let (slice, next_offset) = if empty_first {
            (Vec::new(), Some(0))
        } else {
            let s: Vec<(usize, usize)> = events
                .iter()
                .skip(offset)
                .take(page)
                .map(|&(_, m, t)| (m, t))
                .collect();
            (s, (events.len() > offset + page).then_some(offset + page))
        };
        let mut payload = json!({"FinancialEvents": render::financial_events(world, &slice)});
        if let Some(next) = next_offset {
            let t = issue_page_token(inner, op, fingerprint, next, bound, self.now, vec![]);
            payload["NextToken"] = json!(t);
        }
        ok_json(&json!({"payload": payload}))
    }

    fn all_reports(&self, inner: &Inner) -> Vec<Value> {
        let world = &inner.world;
        let mut out: Vec<(DateTime<Utc>, Value)> = Vec::new();
        for m in markets_in(world, self.region) {
            let market = &world.markets[m];
            for period in &market.periods {
                if let Some(v) = settlement_report_json(market.info, period, self.now) {
                    out.push((period.report_created(), v));
                }
            }
        }
        for r in &inner.reports {
            if self.region.is_none() || r.region == self.region || r.region.is_none() {
                out.push((r.created, created_report_json(r, self.now)));
            }
        }
        out.sort_by_key(|(created, _)| std::cmp::Reverse(*created));
        out.into_iter().map(|(_, v)| v).collect()
    }

    fn get_reports(&self, inner: &mut Inner) -> OpResult {
        let q = self.query;
        let (query, offset) = if let Some(t) = q.get("nextToken") {
            if q.pairs.len() > 1 {
                return Err(invalid(
                    "nextToken must be the only parameter when it is specified",
                ));
            }
            let tok = inner
                .page_tokens
                .get(t)
                .filter(|p| p.op == "getReports")
                .ok_or_else(|| invalid("Invalid nextToken"))?;
            if tok.expires < self.now {
                return Err(invalid("The nextToken has expired"));
            }
            (
                Query {
                    pairs: tok.query.clone(),
                },
                tok.offset,
            )
        } else {
            (
                Query {
                    pairs: q.pairs.clone(),
                },
                0,
            )
        };
        let types = query.list("reportTypes");
        if types.is_empty() {
            return Err(invalid("reportTypes or nextToken is required"));
        }
        if types.len() > 10 {
            return Err(invalid("reportTypes accepts 1 to 10 values"));
        }
        let statuses = query.list("processingStatuses");
        for s in &statuses {
            if !REPORT_STATUSES.contains(&s.as_str()) {
                return Err(ApiError {
                    details: format!("Invalid input in processing status: {s}"),
                    ..invalid("Invalid input")
                });
            }
        }
        let mp = query.list("marketplaceIds");
        if mp.len() > 10 {
            return Err(invalid("marketplaceIds accepts 1 to 10 values"));
        }
        market_ids(&inner.world, self.region, &mp)?;
        let page = query.page_size("pageSize", 10, 100)?;
        let since = query.date("createdSince")?;
        let oldest = self.now - Duration::days(90);
        if since.is_some_and(|s| s < oldest - Duration::minutes(1)) {
            return Err(invalid(
                "createdSince cannot be more than 90 days in the past",
            ));
        }
        let since = since.unwrap_or(oldest);
        let until = query.date("createdUntil")?.unwrap_or(self.now);
        let reports: Vec<Value> = self
            .all_reports(inner)
            .into_iter()
            .filter(|r| {
                let ty = r["reportType"].as_str().unwrap_or("");
                let st = r["processingStatus"].as_str().unwrap_or("");
                let created = r["createdTime"]
                    .as_str()
                    .and_then(parse_date)
                    .unwrap_or(self.now);
                let mps: Vec<&str> = r["marketplaceIds"]
                    .as_array()
                    .map(|a| a.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                types.iter().any(|t| t == ty)
                    && (statuses.is_empty() || statuses.iter().any(|s| s == st))
                    && (mp.is_empty() || mps.iter().any(|m| mp.iter().any(|x| x == m)))
                    && created >= since
                    && created <= until
            })
            .collect();
        let more = reports.len() > offset + page;
        let slice: Vec<Value> = reports.into_iter().skip(offset).take(page).collect();
        let mut body = json!({"reports": slice});
        if more {
            let t = issue_page_token(
                inner,
                "getReports",
                String::new(),
                offset + page,
                self.now,
                self.now,
                query.pairs.clone(),
            );
            body["nextToken"] = json!(t);
        }
        ok_json(&body)
    }

    fn find_report(&self, inner: &Inner, id: &str) -> Option<Value> {
        self.all_reports(inner)
            .into_iter()
            .find(|r| r["reportId"].as_str() == Some(id))
    }

    fn get_report(&self, inner: &mut Inner) -> OpResult {
        let id = &self.params[0];
        match self.find_report(inner, id) {
            Some(r) => ok_json(&r),
            None => Err(not_found(format!("Report {id} not found"))),
        }
    }

    fn create_report(&self, inner: &mut Inner) -> OpResult {
        if !self.content_type.is_empty() && !self.content_type.to_ascii_lowercase().contains("json")
        {
            return Err(ApiError {
                status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
                code: "UnsupportedMediaType",
                message: "The request's Content-Type header is invalid".into(),
                details: String::new(),
            });
        }
        let spec: Value = serde_json::from_slice(self.body)
            .map_err(|e| invalid(format!("Request body is not valid JSON: {e}")))?;
        let report_type = spec["reportType"]
            .as_str()
            .ok_or_else(|| invalid("reportType is required"))?
            .to_string();
        let ids: Vec<String> = spec["marketplaceIds"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        if ids.is_empty() || ids.len() > 25 {
            return Err(invalid("marketplaceIds must hold 1 to 25 marketplace ids"));
        }
        let markets = market_ids(&inner.world, self.region, &ids)?;
        if report_type.starts_with(SETTLEMENT_PREFIX) {
            return Err(invalid(format!(
                "Report type {report_type} cannot be requested: settlement reports are generated automatically; use getReports"
            )));
        }
        if !CREATABLE_REPORTS.contains(&report_type.as_str()) {
            return Err(invalid(format!("Invalid report type {report_type}")));
        }
        let date = |name: &str| -> Result<Option<DateTime<Utc>>, ApiError> {
            match spec[name].as_str() {
                None => Ok(None),
                Some(s) => parse_date(s)
                    .map(Some)
                    .ok_or_else(|| invalid(format!("Invalid {name}: {s}"))),
            }
        };
        let start = date("dataStartTime")?.unwrap_or(self.now - Duration::days(30));
        let end = date("dataEndTime")?.unwrap_or(self.now);
        if start > self.now || end > self.now + Duration::minutes(1) {
            return Err(invalid(
                "dataStartTime and dataEndTime cannot be in the future",
            ));
        }
        if end < start {
            return Err(invalid("dataEndTime must be later than dataStartTime"));
        }
        let (content, rows) =
            report_content(&inner.world, &report_type, &markets, start, end, self.now);
        let n = inner.reports.len() as u64;
        let id = format!(
            "6{:010}",
            (self.state.config.seed % 1000) * 10_000_000 + n + 1
        );
        let document_id = format!(
            "amzn1.spdoc.1.4.{}.{}",
            self.region
                .unwrap_or(inner.world.markets[markets[0]].info.region)
                .code(),
            hex::encode(&Sha256::digest(format!("doc-{id}"))[..16])
        );
        inner.reports.push(CreatedReport {
            id: id.clone(),
            report_type,
            marketplace_ids: ids,
            region: self.region,
            data_start: start,
            data_end: end,
            created: self.now,
            cancelled: false,
            document_id,
            content: Arc::new(content),
            has_data: rows > 0,
        });
        Ok((StatusCode::ACCEPTED, json!({"reportId": id}).to_string()))
    }

    fn cancel_report(&self, inner: &mut Inner) -> OpResult {
        let id = &self.params[0];
        let now = self.now;
        if let Some(r) = inner.reports.iter_mut().find(|r| &r.id == id) {
            if r.status(now) != "IN_QUEUE" {
                return Err(invalid("Only reports in IN_QUEUE can be cancelled"));
            }
            r.cancelled = true;
            return Ok((StatusCode::OK, String::new()));
        }
        if self.find_report(inner, id).is_some() {
            return Err(invalid("Only reports in IN_QUEUE can be cancelled"));
        }
        Err(not_found(format!("Report {id} not found")))
    }

    fn get_report_document(&self, inner: &mut Inner) -> OpResult {
        let id = self.params[0].clone();
        let region;
        if let Some((m, p)) = inner.world.find_document(&id) {
            let market = &inner.world.markets[m];
            let period = &market.periods[p];
            if self.region.is_some_and(|r| r != market.info.region)
                || settlement_status(period, self.now) != Some("DONE")
            {
                return Err(not_found(format!("Report document {id} not found")));
            }
            region = market.info.region;
            if !inner.documents.contains_key(&id) {
                let text = render::settlement_file(&inner.world, market, period);
                let doc = encode_document(&text, market.info.eu_locale, self.state.config.gzip);
                inner.documents.insert(id.clone(), Arc::new(doc));
            }
        } else if let Some(r) = inner.reports.iter().find(|r| r.document_id == id) {
            if r.status(self.now) != "DONE" {
                return Err(not_found(format!("Report document {id} not found")));
            }
            region = self.region.unwrap_or(Region::Na);
            if !inner.documents.contains_key(&id) {
                let doc = encode_document(&r.content, false, self.state.config.gzip);
                inner.documents.insert(id.clone(), Arc::new(doc));
            }
        } else {
            return Err(not_found(format!("Report document {id} not found")));
        }
        let issued = if self.expired_url {
            self.now - Duration::seconds(URL_SECS + 1)
        } else {
            self.now
        };
        // Asked for, S3 serves a GZIP document with `Content-Encoding: gzip`.
        let content_encoding = self.state.config.gzip
            && self.query.get("enableContentEncodingUrlHeader") == Some("true");
        let url = presign(self.state, region, &id, issued, content_encoding);
        let mut body = json!({"reportDocumentId": id, "url": url});
        if self.state.config.gzip {
            body["compressionAlgorithm"] = json!("GZIP");
        }
        ok_json(&body)
    }

    fn participations(&self, inner: &mut Inner) -> OpResult {
        let world = &inner.world;
        let list: Vec<Value> = markets_in(world, self.region)
            .into_iter()
            .map(|m| {
                let info = world.markets[m].info;
                json!({
                    "marketplace": {
                        "id": info.id,
                        "name": info.name,
                        "countryCode": info.code,
                        "defaultCurrencyCode": info.currency,
                        "defaultLanguageCode": info.language,
                        "domainName": info.domain,
                    },
                    "participation": {"isParticipating": true, "hasSuspendedListings": false},
                    "storeName": "Sim Seller Store",
                })
            })
            .collect();
        ok_json(&json!({"payload": list}))
    }
}

enum EventScope {
    Group,
    Order,
    All,
}

fn settlement_status(period: &world::Period, now: DateTime<Utc>) -> Option<&'static str> {
    let created = period.report_created();
    if now < created {
        None
    } else if now < created + Duration::minutes(world::REPORT_QUEUE_MIN) {
        Some("IN_QUEUE")
    } else if now < created + Duration::minutes(world::REPORT_QUEUE_MIN + world::REPORT_PROCESS_MIN)
    {
        Some("IN_PROGRESS")
    } else {
        Some("DONE")
    }
}

fn settlement_report_json(
    info: &MarketplaceInfo,
    period: &world::Period,
    now: DateTime<Utc>,
) -> Option<Value> {
    let status = settlement_status(period, now)?;
    let created = period.report_created();
    let mut v = json!({
        "reportType": "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2",
        "processingEndTime": iso(created + Duration::minutes(world::REPORT_QUEUE_MIN + world::REPORT_PROCESS_MIN)),
        "processingStatus": status,
        "marketplaceIds": [info.id],
        "reportDocumentId": period.document_id,
        "reportId": period.report_id,
        "dataEndTime": iso(period.end),
        "createdTime": iso(created),
        "processingStartTime": iso(created + Duration::minutes(world::REPORT_QUEUE_MIN)),
        "dataStartTime": iso(period.start),
    });
    let obj = v.as_object_mut().expect("object literal");
    if status != "DONE" {
        obj.remove("reportDocumentId");
        obj.remove("processingEndTime");
    }
    if status == "IN_QUEUE" {
        obj.remove("processingStartTime");
    }
    Some(v)
}

fn created_report_json(r: &CreatedReport, now: DateTime<Utc>) -> Value {
    let status = r.status(now);
    let mut v = json!({
        "reportId": r.id,
        "reportType": r.report_type,
        "marketplaceIds": r.marketplace_ids,
        "dataStartTime": iso(r.data_start),
        "dataEndTime": iso(r.data_end),
        "createdTime": iso(r.created),
        "processingStatus": status,
    });
    if status != "IN_QUEUE" && !r.cancelled {
        v["processingStartTime"] = json!(iso(r.created + Duration::seconds(30)));
    }
    if status == "DONE" || (status == "CANCELLED" && !r.cancelled) {
        v["processingEndTime"] = json!(iso(r.created + Duration::seconds(60)));
    }
    if status == "DONE" {
        v["reportDocumentId"] = json!(r.document_id);
    }
    v
}

fn report_content(
    world: &World,
    report_type: &str,
    markets: &[usize],
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    now: DateTime<Utc>,
) -> (String, usize) {
    let mut out = String::new();
    let mut rows = 0;
    if report_type == "GET_MERCHANT_LISTINGS_ALL_DATA" {
        out.push_str(
            "item-name\tseller-sku\tprice\tquantity\tasin1\tfulfillment-channel\tstatus\n",
        );
        for &m in markets {
            for p in &world.markets[m].catalog {
                out.push_str(&format!(
                    "{}\t{}\t{}\t{}\t{}\tAMAZON_NA\tActive\n",
                    p.title, p.sku, p.price, 10, p.asin
                ));
                rows += 1;
            }
        }
        return (out, rows);
    }
    let by_update = report_type.contains("LAST_UPDATE");
    out.push_str("amazon-order-id\tmerchant-order-id\tpurchase-date\tlast-updated-date\torder-status\tfulfillment-channel\tsales-channel\tsku\tasin\tquantity\tcurrency\titem-price\titem-tax\tshipping-price\tshipping-tax\titem-promotion-discount\n");
    for o in &world.orders {
        if !markets.contains(&o.market) || o.purchase > now {
            continue;
        }
        let key = if by_update {
            o.last_update(now)
        } else {
            o.purchase
        };
        if key < start || key > end {
            continue;
        }
        let market = &world.markets[o.market];
        for item in &o.items {
            let p = &market.catalog[item.product];
            out.push_str(&format!(
                "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
                o.id,
                o.id,
                iso(o.purchase),
                iso(o.last_update(now)),
                o.status(now).as_str(),
                if o.channel == world::Channel::Afn {
                    "Amazon"
                } else {
                    "Merchant"
                },
                market.info.name,
                p.sku,
                p.asin,
                item.qty,
                market.info.currency,
                item.principal,
                item.tax,
                item.shipping,
                item.shipping_tax,
                -item.promo_principal
            ));
            rows += 1;
        }
    }
    (out, rows)
}

fn encode_document(text: &str, eu: bool, gzip: bool) -> Document {
    let (bytes, content_type) = if eu {
        let (b, _, _) = encoding_rs::WINDOWS_1252.encode(text);
        (b.into_owned(), "text/plain;charset=Cp1252")
    } else {
        (text.as_bytes().to_vec(), "text/plain;charset=UTF-8")
    };
    let bytes = if gzip {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        let _ = enc.write_all(&bytes);
        enc.finish().unwrap_or_default()
    } else {
        bytes
    };
    Document {
        bytes: Bytes::from(bytes),
        content_type,
        gzip,
    }
}

fn amz_date(t: DateTime<Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

fn signature(state: &State, doc: &str, date: &str, expires: &str, encoding: &str) -> String {
    let mut h = Sha256::new();
    h.update(encoding.as_bytes());
    h.update(state.url_secret);
    h.update(doc.as_bytes());
    h.update(b"\n");
    h.update(date.as_bytes());
    h.update(b"\n");
    h.update(expires.as_bytes());
    hex::encode(h.finalize())
}

fn presign(
    state: &State,
    region: Region,
    doc: &str,
    issued: DateTime<Utc>,
    content_encoding: bool,
) -> String {
    let date = amz_date(issued);
    let expires = state.clock.real_seconds(URL_SECS).to_string();
    let encoding = if content_encoding { "gzip" } else { "" };
    let sig = signature(state, doc, &date, &expires, encoding);
    let extra = if content_encoding {
        "&response-content-encoding=gzip"
    } else {
        ""
    };
    let encoded: String = url::form_urlencoded::byte_serialize(doc.as_bytes()).collect();
    format!(
        "{base}/tortuga-prod-{r}/{encoded}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date={date}&X-Amz-SignedHeaders=host&X-Amz-Expires={expires}&X-Amz-Credential=ASIASIMULATOR%2F{day}%2Fus-east-1%2Fs3%2Faws4_request{extra}&X-Amz-Signature={sig}",
        base = state.base_url(),
        r = region.code(),
        day = &date[..8],
    )
}

impl State {
    fn base_url(&self) -> String {
        self.base.get().cloned().unwrap_or_default()
    }
}

fn download(state: &State, ctx: &Ctx, doc: &str, q: &Query, truncate: bool) -> Response<Body> {
    let doc = url::form_urlencoded::parse(format!("d={doc}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    let (Some(date), Some(expires), Some(sig)) = (
        q.get("X-Amz-Date"),
        q.get("X-Amz-Expires"),
        q.get("X-Amz-Signature"),
    ) else {
        return xml_error(
            ctx,
            StatusCode::FORBIDDEN,
            "AccessDenied",
            "Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters",
            "",
        );
    };
    let encoding = q.get("response-content-encoding").unwrap_or("");
    if signature(state, &doc, date, expires, encoding) != sig {
        return xml_error(
            ctx,
            StatusCode::FORBIDDEN,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.",
            "",
        );
    }
    let issued = NaiveDateTime::parse_from_str(date, "%Y%m%dT%H%M%SZ")
        .map(|d| d.and_utc())
        .unwrap_or(ctx.now);
    let expiry = issued + Duration::seconds(URL_SECS);
    if ctx.now > expiry {
        let extra = format!(
            "<X-Amz-Expires>{expires}</X-Amz-Expires><Expires>{}</Expires><ServerTime>{}</ServerTime>",
            iso(expiry),
            iso(ctx.now)
        );
        return xml_error(
            ctx,
            StatusCode::FORBIDDEN,
            "AccessDenied",
            "Request has expired",
            &extra,
        );
    }
    let document = lock(&state.inner).documents.get(&doc).cloned();
    let Some(document) = document else {
        return xml_error(
            ctx,
            StatusCode::NOT_FOUND,
            "NoSuchKey",
            "The specified key does not exist.",
            &format!("<Key>{doc}</Key>"),
        );
    };
    let len = document.bytes.len();
    let body = if truncate && len > 1 {
        let half = document.bytes.slice(..len / 2);
        // Pause before failing so the head and the first half reach the client.
        let stream = futures::stream::unfold(Some(half), |chunk| async move {
            match chunk {
                Some(c) => Some((Ok::<Bytes, std::io::Error>(c), None)),
                None => {
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                    Some((
                        Err(std::io::Error::new(
                            std::io::ErrorKind::ConnectionAborted,
                            "simulated truncation",
                        )),
                        None,
                    ))
                }
            }
        });
        Body::from_stream(stream)
    } else {
        Body::from(document.bytes.clone())
    };
    let mut resp = base_response(ctx, StatusCode::OK, document.content_type, body);
    let h = resp.headers_mut();
    h.insert(header::CONTENT_LENGTH, header::HeaderValue::from(len));
    if let Ok(v) = ctx.request_id.parse() {
        h.insert("x-amz-request-id", v);
    }
    if let Ok(v) = format!(
        "\"{}\"",
        hex::encode(&Sha256::digest(&document.bytes)[..16])
    )
    .parse()
    {
        h.insert(header::ETAG, v);
    }
    if document.gzip && encoding == "gzip" {
        h.insert(
            header::CONTENT_ENCODING,
            header::HeaderValue::from_static("gzip"),
        );
    }
    resp
}

// ---------------------------------------------------------------- inspection

pub fn stats_json(state: &State) -> Value {
    let stats = lock(&state.stats);
    let ops: serde_json::Map<String, Value> = stats
        .operations
        .iter()
        .map(|(k, (r, t))| (k.to_string(), json!({"requests": r, "throttled": t})))
        .collect();
    json!({
        "operations": ops,
        "faults": stats.faults,
        "token_requests": stats.token_requests,
        "downloads": stats.downloads,
    })
}

pub fn truth(state: &State) -> Truth {
    let now = state.now();
    let mut inner = lock(&state.inner);
    inner.world.ensure(now);
    let world = &inner.world;
    let mut settlements = Vec::new();
    let mut event_groups = Vec::new();
    for market in &world.markets {
        for period in &market.periods {
            if period.start > now {
                continue;
            }
            let closed = period.end <= now;
            let visible: Vec<&usize> = period
                .txns
                .iter()
                .filter(|&&t| market.txns[t].posted <= now)
                .collect();
            event_groups.push(super::TruthGroup {
                financial_event_group_id: period.group_id.clone(),
                marketplace_id: market.info.id.into(),
                currency: market.info.currency.into(),
                processing_status: if closed { "Closed" } else { "Open" }.into(),
                start: iso(period.start),
                end: closed.then(|| iso(period.end)),
                original_total: render::group_total(market, period, now),
                beginning_balance: period.payable,
                event_count: visible.len(),
            });
            if closed {
                settlements.push(super::TruthSettlement {
                    settlement_id: period.settlement_id.clone(),
                    financial_event_group_id: period.group_id.clone(),
                    marketplace_id: market.info.id.into(),
                    currency: market.info.currency.into(),
                    total_amount: period.total,
                    carried_balance: period.payable,
                    deposit_amount: period.deposit_amount(),
                    start: iso(period.start),
                    end: iso(period.end),
                    deposit_date: iso(period.deposit_date()),
                    report_id: period.report_id.clone(),
                    report_document_id: period.document_id.clone(),
                    report_status: settlement_status(period, now)
                        .unwrap_or("NOT_YET_CREATED")
                        .into(),
                    row_count: render::row_count(market, period),
                });
            }
        }
    }
    settlements.sort_by(|a, b| {
        a.end
            .cmp(&b.end)
            .then(a.marketplace_id.cmp(&b.marketplace_id))
    });
    event_groups.sort_by(|a, b| a.start.cmp(&b.start));
    let orders = world
        .orders
        .iter()
        .filter(|o| o.purchase <= now)
        .map(|o| {
            let info = world.markets[o.market].info;
            super::TruthOrder {
                amazon_order_id: o.id.clone(),
                marketplace_id: info.id.into(),
                purchase_date: iso(o.purchase),
                status: o.status(now).as_str().into(),
                fulfillment_channel: o.channel.code().into(),
                currency: info.currency.into(),
                order_total: o.items.iter().map(|i| i.buyer_total()).sum::<Decimal>(),
            }
        })
        .collect();
    let marketplaces = world
        .markets
        .iter()
        .map(|m| super::TruthMarketplace {
            code: m.info.code.into(),
            marketplace_id: m.info.id.into(),
            currency: m.info.currency.into(),
            region: m.info.region,
        })
        .collect();
    Truth {
        now: iso(now),
        marketplaces,
        settlements,
        event_groups,
        orders,
    }
}
