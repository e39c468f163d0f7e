//! Login with Amazon: refresh-token exchange, access-token cache, single-flight refresh.
//!
//! A token is refreshed 60 s before it expires (as Amazon's own Java helper does); one
//! refresh runs at a time and every waiting task gets its result. `invalid_grant` means
//! the seller must re-authorise: it is reported once and never retried.

use chrono::{DateTime, Duration, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio_util::sync::CancellationToken;
use url::Url;

use super::Error;
use super::client::transport_problem;
use super::clock::ServerClock;
use super::region::Region;
use crate::retry::{Backoff, human, pause, watch};

/// Per-seller (and per-region) LWA credentials. `Debug` never shows them.
#[derive(Clone)]
pub struct LwaCredentials {
    pub client_id: SecretString,
    pub client_secret: SecretString,
    pub refresh_token: SecretString,
}

impl LwaCredentials {
    pub fn new(
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
        refresh_token: impl Into<String>,
    ) -> Self {
        LwaCredentials {
            client_id: SecretString::from(client_id.into()),
            client_secret: SecretString::from(client_secret.into()),
            refresh_token: SecretString::from(refresh_token.into()),
        }
    }
}

impl fmt::Debug for LwaCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LwaCredentials { client_id: [redacted], client_secret: [redacted], refresh_token: [redacted] }")
    }
}

/// Refresh this long before `expires_in` runs out.
pub const REFRESH_MARGIN_SECONDS: i64 = 60;

#[derive(Clone)]
struct CachedToken {
    token: SecretString,
    expires_at: DateTime<Utc>,
}

enum CacheState {
    Empty,
    Valid(CachedToken),
    /// `invalid_grant` seen: the stored refresh token is dead until replaced.
    Revoked(String),
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default, deserialize_with = "super::models::lenient_opt_i64")]
    expires_in: Option<i64>,
}

#[derive(Deserialize, Default)]
struct TokenError {
    #[serde(default)]
    error: String,
    #[serde(default)]
    error_description: String,
}

/// The token cache for one seller and region.
pub(crate) struct Lwa {
    http: reqwest::Client,
    token_url: Url,
    region: Region,
    credentials: LwaCredentials,
    clock: Arc<ServerClock>,
    retry: Backoff,
    time_scale: f64,
    /// Limit of one token exchange.
    timeout: std::time::Duration,
    state: tokio::sync::Mutex<CacheState>,
    exchanges: AtomicU64,
}

impl Lwa {
    pub(crate) fn new(
        http: reqwest::Client,
        token_url: Url,
        region: Region,
        credentials: LwaCredentials,
        clock: Arc<ServerClock>,
        retry: Backoff,
        time_scale: f64,
    ) -> Self {
        Lwa {
            http,
            token_url,
            region,
            credentials,
            clock,
            retry,
            time_scale,
            timeout: super::client::DEFAULT_TIMEOUTS.json,
            state: tokio::sync::Mutex::new(CacheState::Empty),
            exchanges: AtomicU64::new(0),
        }
    }

    /// Sets the limit of one token exchange.
    pub(crate) fn with_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How many token exchanges have been made (each is one POST that succeeded or failed finally).
    pub(crate) fn exchanges(&self) -> u64 {
        self.exchanges.load(Ordering::Relaxed)
    }

    /// A valid access token, from the cache or a fresh exchange. Holding the lock across
    /// the exchange is what makes the refresh single-flight. Its waits end when `cancel` fires.
    pub(crate) async fn access_token(
        &self,
        cancel: &CancellationToken,
    ) -> Result<SecretString, Error> {
        let mut state = self.state.lock().await;
        match &*state {
            CacheState::Valid(cached)
                if self.clock.now() + Duration::seconds(REFRESH_MARGIN_SECONDS)
                    < cached.expires_at =>
            {
                return Ok(cached.token.clone());
            }
            CacheState::Revoked(description) => {
                return Err(Error::ReauthoriseSeller {
                    region: self.region,
                    description: description.clone(),
                });
            }
            _ => {}
        }
        match self.exchange(cancel).await {
            Ok(fresh) => {
                let token = fresh.token.clone();
                *state = CacheState::Valid(fresh);
                Ok(token)
            }
            Err(Error::ReauthoriseSeller {
                region,
                description,
            }) => {
                *state = CacheState::Revoked(description.clone());
                Err(Error::ReauthoriseSeller {
                    region,
                    description,
                })
            }
            Err(e) => Err(e),
        }
    }

    /// Drops `stale` from the cache (SP-API said it is no longer valid); a newer token stays.
    pub(crate) async fn invalidate(&self, stale: &SecretString) {
        let mut state = self.state.lock().await;
        if let CacheState::Valid(cached) = &*state
            && cached.token.expose_secret() == stale.expose_secret()
        {
            *state = CacheState::Empty;
        }
    }

    async fn exchange(&self, cancel: &CancellationToken) -> Result<CachedToken, Error> {
        let form = [
            ("grant_type", "refresh_token"),
            (
                "refresh_token",
                self.credentials.refresh_token.expose_secret(),
            ),
            ("client_id", self.credentials.client_id.expose_secret()),
            (
                "client_secret",
                self.credentials.client_secret.expose_secret(),
            ),
        ];
        let mut failures = 0u32;
        loop {
            let request = self
                .http
                .post(self.token_url.clone())
                .form(&form)
                .timeout(self.timeout)
                .send();
            let why = format!("gives up after {}", human(self.timeout));
            let sent = watch(request, cancel, "LWA token", &why)
                .await
                .map_err(|_| Error::Cancelled)?;
            let last_problem = match sent {
                Err(e) => format!(
                    "token request failed: {}",
                    transport_problem(e, self.timeout)
                ),
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    if let Some(date) = resp
                        .headers()
                        .get(reqwest::header::DATE)
                        .and_then(|v| v.to_str().ok())
                    {
                        self.clock.observe_header(date);
                    }
                    let body = watch(resp.bytes(), cancel, "LWA token", &why)
                        .await
                        .map_err(|_| Error::Cancelled)?;
                    match body {
                        Err(e) => format!(
                            "token response unreadable: {}",
                            transport_problem(e, self.timeout)
                        ),
                        Ok(body) if (200..300).contains(&status) => {
                            self.exchanges.fetch_add(1, Ordering::Relaxed);
                            let parsed: TokenResponse =
                                serde_json::from_slice(&body).map_err(|e| Error::Lwa {
                                    status,
                                    code: "unreadable_response".into(),
                                    description: format!(
                                        "token response is not the documented JSON: {e}"
                                    ),
                                })?;
                            // `expires_in` counts wall seconds; "now" is server time.
                            let lifetime =
                                parsed.expires_in.unwrap_or(3600).max(0) as f64 * self.time_scale;
                            return Ok(CachedToken {
                                token: SecretString::from(parsed.access_token),
                                expires_at: self.clock.now()
                                    + Duration::milliseconds((lifetime * 1000.0) as i64),
                            });
                        }
                        Ok(body) => {
                            let err: TokenError = serde_json::from_slice(&body).unwrap_or_default();
                            let retryable = status == 429
                                || status >= 500
                                || matches!(
                                    err.error.as_str(),
                                    "server_error" | "temporarily_unavailable"
                                );
                            if err.error == "invalid_grant" {
                                self.exchanges.fetch_add(1, Ordering::Relaxed);
                                return Err(Error::ReauthoriseSeller {
                                    region: self.region,
                                    description: err.error_description,
                                });
                            }
                            if !retryable {
                                self.exchanges.fetch_add(1, Ordering::Relaxed);
                                return Err(Error::Lwa {
                                    status,
                                    code: if err.error.is_empty() {
                                        format!("http_{status}")
                                    } else {
                                        err.error
                                    },
                                    description: err.error_description,
                                });
                            }
                            format!("HTTP {status} {} {}", err.error, err.error_description)
                        }
                    }
                }
            };
            failures += 1;
            if !self.retry.allows_retry(failures) {
                self.exchanges.fetch_add(1, Ordering::Relaxed);
                return Err(Error::RetriesExhausted {
                    operation: "LWA token".into(),
                    attempts: failures,
                    last: last_problem,
                    request_id: None,
                });
            }
            tracing::info!(failures, problem = %last_problem, "LWA token exchange failed (attempt {failures}): {last_problem}; retrying");
            pause(
                self.retry.delay(failures).div_f64(self.time_scale),
                cancel,
                "LWA token",
                &format!("retry after attempt {failures} failed"),
            )
            .await
            .map_err(|_| Error::Cancelled)?;
        }
    }
}
