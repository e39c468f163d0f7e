//! HTTP to one customer's ISG: instance URL, concurrency limit, retries, fault parsing.
//!
//! Every request (login included) holds a semaphore permit, so the instance never sees more
//! than `concurrency` calls of ours at once. Reads are retried on 5xx / network errors with
//! the shared [`crate::retry::Backoff`]; writes only on 503 (the service did not run) — any
//! other failed write is returned, because its outcome must be checked in EBS first.

use crate::ebs::error::{EbsError, Fault};
use crate::ebs::session::{Auth, AuthMode, Credentials, Session};
use crate::retry::{Backoff, human, pause, watch};
use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use url::Url;

/// The EBS client's default: 5 attempts, waits from 200 ms up to 10 s.
pub const DEFAULT_RETRY: Backoff =
    Backoff::new(5, Duration::from_millis(200), Duration::from_secs(10));

/// Network limits of one call, sized by its payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    pub connect: Duration,
    /// A call with a small body, answer included.
    pub call: Duration,
    /// Added per MiB of request body (EBS inserts many rows in one transaction).
    pub per_mib: Duration,
}

impl Timeouts {
    /// The limit of a call whose request body is `body_len` bytes.
    pub fn for_body(&self, body_len: usize) -> Duration {
        let mib = body_len as f64 / (1024.0 * 1024.0);
        self.call + self.per_mib.mul_f64(mib)
    }
}

/// Counters for benchmarks and tests.
#[derive(Debug, Default)]
pub struct Stats {
    pub requests: AtomicU64,
    pub retries: AtomicU64,
    pub relogins: AtomicU64,
    pub in_flight: AtomicUsize,
    pub max_in_flight: AtomicUsize,
}

/// A snapshot of [`Stats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StatsSnapshot {
    pub requests: u64,
    pub retries: u64,
    pub relogins: u64,
    pub max_in_flight: usize,
}

/// Whether a failed call may simply be sent again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Reads and harmless repeats.
    Safe,
    /// Writes: retried only on 503.
    WriteOnce,
}

/// One HTTP call relative to `…/webservices/rest/`.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: Method,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub body: Option<Value>,
    pub retry: Retry,
}

pub struct Transport {
    http: reqwest::Client,
    base: Url,
    sem: Semaphore,
    limit: usize,
    retry: Backoff,
    timeouts: Timeouts,
    cancel: CancellationToken,
    session: Session,
    stats: Arc<Stats>,
}

/// Checks the instance URL: HTTPS, or plain HTTP only to a loopback host (tests, simulator).
pub fn instance_base(url: &str) -> Result<Url, EbsError> {
    let mut u = Url::parse(url.trim())
        .map_err(|e| EbsError::Config(format!("instance URL {url:?}: {e}")))?;
    match u.scheme() {
        "https" => {}
        "http" => {
            let loopback = match u.host() {
                Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
                Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                None => false,
            };
            if !loopback {
                return Err(EbsError::Config(format!(
                    "instance URL {url} uses plain HTTP to a non-loopback host: use https://"
                )));
            }
        }
        other => {
            return Err(EbsError::Config(format!(
                "instance URL {url}: scheme {other} is not supported, use https://"
            )));
        }
    }
    let path = u.path().trim_end_matches('/').to_string();
    let path = if path.ends_with("/webservices/rest") {
        format!("{path}/")
    } else {
        format!("{path}/webservices/rest/")
    };
    u.set_path(&path);
    u.set_query(None);
    Ok(u)
}

impl Transport {
    pub fn new(
        instance_url: &str,
        creds: Credentials,
        mode: AuthMode,
        concurrency: usize,
        retry: Backoff,
        timeouts: Timeouts,
        cancel: CancellationToken,
    ) -> Result<Self, EbsError> {
        let base = instance_base(instance_url)?;
        let http = reqwest::Client::builder()
            .connect_timeout(timeouts.connect)
            .build()
            .map_err(|e| EbsError::Config(format!("HTTP client: {e}")))?;
        let limit = concurrency.max(1);
        Ok(Transport {
            http,
            base,
            sem: Semaphore::new(limit),
            limit,
            retry,
            timeouts,
            cancel,
            session: Session::new(creds, mode),
            stats: Arc::new(Stats::default()),
        })
    }

    pub fn limit(&self) -> usize {
        self.limit
    }

    pub fn stats(&self) -> StatsSnapshot {
        StatsSnapshot {
            requests: self.stats.requests.load(Ordering::Relaxed),
            retries: self.stats.retries.load(Ordering::Relaxed),
            relogins: self.stats.relogins.load(Ordering::Relaxed),
            max_in_flight: self.stats.max_in_flight.load(Ordering::Relaxed),
        }
    }

    /// Sends a call: authenticates, re-logs in once on 401, retries per policy.
    pub async fn send(&self, call: &Call) -> Result<Value, EbsError> {
        // Failed attempts so far: a failure now is failure number `attempt + 1` of the Backoff.
        let mut attempt = 0u32;
        let mut relogged = false;
        loop {
            let auth = match self
                .session
                .auth(|basic| self.raw(Method::GET, "login", &[], None, Some(basic)))
                .await
            {
                Ok(auth) => auth,
                // Logging in writes nothing, so a transient failure is always safe to retry.
                Err(e) if e.is_transient() && self.retry.allows_retry(attempt + 1) => {
                    self.stats.retries.fetch_add(1, Ordering::Relaxed);
                    tracing::info!(attempt, error = %e, "EBS login failed: {e}; retrying");
                    self.backoff("login", attempt + 1).await?;
                    attempt += 1;
                    continue;
                }
                Err(e) => return Err(e),
            };
            let (cred, generation) = match &auth {
                Auth::Cookie { header, generation } => {
                    (Cred::Cookie(header.clone()), Some(*generation))
                }
                Auth::Basic(h) => (Cred::Basic(h.clone()), None),
            };
            let res = self
                .raw_with(
                    call.method.clone(),
                    &call.path,
                    &call.query,
                    call.body.as_ref(),
                    cred,
                )
                .await;
            match res {
                Err(e) if e.http_status() == Some(401) => {
                    if self.session.mode() == AuthMode::Basic || relogged {
                        return Err(EbsError::BadCredentials {
                            user: self.session.user().to_string(),
                            status: 401,
                            code: e
                                .code()
                                .unwrap_or("FND_SOA_AUTHENTICATION_FAILURE")
                                .to_string(),
                        });
                    }
                    relogged = true;
                    self.stats.relogins.fetch_add(1, Ordering::Relaxed);
                    if let Some(g) = generation {
                        self.session.invalidate(g).await;
                    }
                }
                Err(e) if e.is_transient() && self.retry.allows_retry(attempt + 1) => {
                    let retry = match call.retry {
                        Retry::Safe => true,
                        Retry::WriteOnce => e.http_status() == Some(503),
                    };
                    if !retry {
                        return Err(e);
                    }
                    self.stats.retries.fetch_add(1, Ordering::Relaxed);
                    tracing::info!(path = %call.path, attempt, error = %e, "EBS call failed: {e}; retrying");
                    self.backoff(&call.path, attempt + 1).await?;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// The backoff wait after failure number `failures`; cancellable, logged when long.
    async fn backoff(&self, path: &str, failures: u32) -> Result<(), EbsError> {
        let why = format!("retry after attempt {failures} failed");
        pause(
            self.retry.delay(failures),
            &self.cancel,
            &format!("EBS {path}"),
            &why,
        )
        .await
        .map_err(|_| EbsError::Cancelled { path: path.into() })
    }

    /// Logs out (invalidates the EBS session); a no-op without a token.
    pub async fn logout(&self) -> Result<(), EbsError> {
        if let Some(cookie) = self.session.take_cookie().await {
            self.raw_with(Method::GET, "logout", &[], None, Cred::Cookie(cookie))
                .await?;
        }
        Ok(())
    }

    async fn raw(
        &self,
        method: Method,
        path: &str,
        query: &[(String, String)],
        body: Option<&Value>,
        basic: Option<SecretString>,
    ) -> Result<Value, EbsError> {
        let cred = match basic {
            Some(b) => Cred::Basic(b),
            None => Cred::None,
        };
        self.raw_with(method, path, query, body, cred).await
    }

    async fn raw_with(
        &self,
        method: Method,
        path: &str,
        query: &[(String, String)],
        body: Option<&Value>,
        cred: Cred,
    ) -> Result<Value, EbsError> {
        let url = self
            .base
            .join(path)
            .map_err(|e| EbsError::Config(format!("service path {path:?}: {e}")))?;
        let mut req = self
            .http
            .request(method, url)
            .header(reqwest::header::ACCEPT, "application/json");
        if !query.is_empty() {
            req = req.query(query);
        }
        let mut body_len = 0;
        if let Some(b) = body {
            let bytes = serde_json::to_vec(b).map_err(|e| EbsError::Decode {
                path: path.to_string(),
                detail: format!("request body: {e}"),
            })?;
            body_len = bytes.len();
            req = req
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(bytes);
        }
        let limit = self.timeouts.for_body(body_len);
        req = req.timeout(limit);
        req = match &cred {
            Cred::Cookie(c) => req.header(reqwest::header::COOKIE, c.expose_secret()),
            Cred::Basic(b) => req.header(reqwest::header::AUTHORIZATION, b.expose_secret()),
            Cred::None => req,
        };
        let cancelled = || EbsError::Cancelled {
            path: path.to_string(),
        };
        let _permit = tokio::select! {
            permit = self.sem.acquire() => {
                permit.map_err(|_| EbsError::Config("transport closed".into()))?
            }
            _ = self.cancel.cancelled() => return Err(cancelled()),
        };
        let now = self.stats.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.stats.max_in_flight.fetch_max(now, Ordering::SeqCst);
        self.stats.requests.fetch_add(1, Ordering::Relaxed);
        let exchange = async {
            let resp = req.send().await.map_err(|e| network(path, e, limit))?;
            let status = resp.status().as_u16();
            let bytes = resp.bytes().await.map_err(|e| network(path, e, limit))?;
            Ok::<_, EbsError>((status, bytes))
        };
        let why = format!("gives up after {}", human(limit));
        let result = watch(exchange, &self.cancel, &format!("EBS {path}"), &why)
            .await
            .unwrap_or_else(|_| Err(cancelled()));
        self.stats.in_flight.fetch_sub(1, Ordering::SeqCst);
        let (status, bytes) = result?;
        decode(path, status, &bytes)
    }
}

/// A transport failure; a timeout names the limit that ran out.
fn network(path: &str, e: reqwest::Error, limit: Duration) -> EbsError {
    if e.is_timeout() {
        EbsError::Timeout {
            path: path.to_string(),
            limit: human(limit),
        }
    } else {
        EbsError::Network {
            path: path.to_string(),
            source: e.without_url(),
        }
    }
}

enum Cred {
    Cookie(SecretString),
    Basic(SecretString),
    None,
}

/// Decodes an answer: 2xx JSON, or an `ISGServiceFault`, or a plain HTTP error.
pub fn decode(path: &str, status: u16, bytes: &[u8]) -> Result<Value, EbsError> {
    let json: Option<Value> = serde_json::from_slice(bytes).ok();
    if (200..300).contains(&status) {
        return match json {
            Some(v) => Ok(v),
            None if bytes.is_empty() => Ok(Value::Null),
            None => Err(EbsError::Decode {
                path: path.to_string(),
                detail: format!("not JSON: {}", snippet(bytes)),
            }),
        };
    }
    if let Some(f) = json.as_ref().and_then(|v| v.get("ISGServiceFault")) {
        let s = |k: &str| f.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        return Err(EbsError::Fault {
            path: path.to_string(),
            fault: Fault {
                status,
                code: s("Code"),
                message: s("Message"),
                resolution: s("Resolution"),
            },
        });
    }
    Err(EbsError::Http {
        path: path.to_string(),
        status,
        snippet: snippet(bytes),
    })
}

fn snippet(bytes: &[u8]) -> String {
    let s = String::from_utf8_lossy(bytes);
    s.chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_urls() {
        assert_eq!(
            instance_base("https://ebs.example.com:4443")
                .expect("ok")
                .as_str(),
            "https://ebs.example.com:4443/webservices/rest/"
        );
        assert_eq!(
            instance_base("http://127.0.0.1:8000/webservices/rest")
                .expect("ok")
                .as_str(),
            "http://127.0.0.1:8000/webservices/rest/"
        );
        assert!(instance_base("http://localhost:1/").is_ok());
        assert!(instance_base("http://[::1]:1/").is_ok());
        let e = instance_base("http://ebs.example.com").expect_err("plain http");
        assert!(e.to_string().contains("https"), "{e}");
        assert!(instance_base("ftp://127.0.0.1").is_err());
    }

    #[test]
    fn call_limits_grow_with_the_payload() {
        let t = Timeouts {
            connect: Duration::from_secs(10),
            call: Duration::from_secs(30),
            per_mib: Duration::from_secs(60),
        };
        assert_eq!(t.for_body(0), Duration::from_secs(30));
        assert_eq!(t.for_body(1024 * 1024), Duration::from_secs(90));
        assert_eq!(t.for_body(10 * 1024 * 1024), Duration::from_secs(630));
    }

    #[test]
    fn fault_is_typed_with_code() {
        let body = br#"{"ISGServiceFault":{"Code":"ISG_DB_CONNECTION_ERROR","Message":"no connection","Resolution":"retry"}}"#;
        let e = decode("gljournal/GL_INTERFACE/", 500, body).expect_err("fault");
        assert_eq!(e.code(), Some("ISG_DB_CONNECTION_ERROR"));
        assert_eq!(e.http_status(), Some(500));
        assert!(e.is_transient());
        let e = decode("x/", 403, br#"{"ISGServiceFault":{"Code":"ISG_SERVICE_AUTH_FAILURE","Message":"m","Resolution":"r"}}"#)
            .expect_err("fault");
        assert!(!e.is_transient());
        let e = decode("x/", 502, b"<html>bad gateway</html>").expect_err("http");
        assert!(matches!(e, EbsError::Http { status: 502, .. }));
    }
}
