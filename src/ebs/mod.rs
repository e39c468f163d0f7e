//! Oracle EBS client over ISG REST: session, module context, staging, import confirmation.
//!
//! One [`EbsClient`] per customer instance. Everything it writes is keyed so that it can be
//! asked about again: GL lines carry the Amazon settlement, the period, a stable line key and
//! the revision in `REFERENCE21..25`, and every write is preceded by a look in EBS for those
//! keys. The GL posting is a chain of explicit steps ([`gl::PostingStep`]) whose records the
//! caller persists before the next EBS call; [`EbsClient::gl_reconcile`] tells where to
//! resume after a crash.
//!
//! Wire contract: reference `ebs/README.md` §1–8 and `docs/simulators/ebs.md`; aliases
//! and contexts are configuration ([`context::Aliases`], [`context::Contexts`]).

pub mod ap;
pub mod ar;
pub mod checks;
pub mod context;
pub mod error;
pub mod gl;
pub mod idempotency;
pub mod ledgers;
pub mod posted;
pub mod receipts;
pub mod requests;
pub mod session;
pub mod transport;
pub mod wire;

pub use crate::retry::Backoff;
pub use context::{Aliases, Contexts, GlContext, Module, OuContext, RestHeader};
pub use error::{EbsError, Fault};
pub use gl::{GlBatch, GlLine, GlOutcome, LineResult, PostingRecord, PostingStep};
pub use ledgers::{LedgerInfo, OperatingUnitInfo};
pub use session::{AuthMode, Credentials};
pub use transport::{DEFAULT_RETRY, StatsSnapshot};

use reqwest::Method;
use serde_json::{Map, Value};
use std::time::Duration;
use transport::{Call, Retry, Transport};

/// How concurrent requests are polled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollPolicy {
    pub initial: Duration,
    pub max: Duration,
    /// Give up waiting (the request keeps running in EBS) after this long.
    pub timeout: Duration,
}

impl Default for PollPolicy {
    fn default() -> Self {
        PollPolicy {
            initial: Duration::from_millis(500),
            max: Duration::from_secs(15),
            timeout: Duration::from_secs(3600),
        }
    }
}

/// Everything needed to talk to one customer instance.
#[derive(Debug, Clone)]
pub struct EbsConfig {
    /// `https://host:port` (plain `http://` only to loopback).
    pub instance_url: String,
    pub credentials: Credentials,
    pub auth: AuthMode,
    pub contexts: Contexts,
    pub aliases: Aliases,
    /// Calls in flight at most (default 2).
    pub concurrency: usize,
    pub retry: Backoff,
    pub poll: PollPolicy,
    /// How long an account / period read stays trusted.
    pub check_ttl: Duration,
    /// Limit of one small call (login, reads, service calls), answer included.
    pub http_timeout: Duration,
    /// TCP (and TLS) connect limit.
    pub connect_timeout: Duration,
    /// Extra time per MiB of request body (interface inserts of many rows).
    pub timeout_per_mib: Duration,
    /// Stops every wait of the client (backoff, polling, calls in flight) when it fires.
    pub cancel: tokio_util::sync::CancellationToken,
    /// FND user id written to `CREATED_BY`.
    pub created_by: String,
    /// Accounting flexfield delimiter (`-` in Vision).
    pub segment_delimiter: char,
    /// The ledger's time zone: "today" (`DATE_CREATED`) is its date there.
    pub time_zone: chrono_tz::Tz,
    /// Clock override (tests); `None` = the system clock.
    pub clock: Option<fn() -> chrono::DateTime<chrono::Utc>>,
}

impl EbsConfig {
    pub fn new(instance_url: &str, credentials: Credentials, contexts: Contexts) -> Self {
        EbsConfig {
            instance_url: instance_url.to_string(),
            credentials,
            auth: AuthMode::Token,
            contexts,
            aliases: Aliases::default(),
            concurrency: 2,
            retry: DEFAULT_RETRY,
            poll: PollPolicy::default(),
            check_ttl: Duration::from_secs(60),
            http_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            timeout_per_mib: Duration::from_secs(60),
            cancel: tokio_util::sync::CancellationToken::new(),
            created_by: "-1".to_string(),
            segment_delimiter: '-',
            time_zone: chrono_tz::UTC,
            clock: None,
        }
    }
}

/// The client of one EBS instance. Cheap to share behind an `Arc`.
pub struct EbsClient {
    transport: Transport,
    cfg: EbsConfig,
    cache: checks::CheckCache,
}

impl EbsClient {
    pub fn new(cfg: EbsConfig) -> Result<Self, EbsError> {
        let transport = Transport::new(
            &cfg.instance_url,
            cfg.credentials.clone(),
            cfg.auth,
            cfg.concurrency,
            cfg.retry,
            transport::Timeouts {
                connect: cfg.connect_timeout,
                call: cfg.http_timeout,
                per_mib: cfg.timeout_per_mib,
            },
            cfg.cancel.clone(),
        )?;
        Ok(EbsClient {
            transport,
            cache: checks::CheckCache::new(cfg.check_ttl),
            cfg,
        })
    }

    pub fn config(&self) -> &EbsConfig {
        &self.cfg
    }

    /// Requests made, retries, re-logins and the highest number of calls in flight.
    pub fn stats(&self) -> StatsSnapshot {
        self.transport.stats()
    }

    pub fn concurrency_limit(&self) -> usize {
        self.transport.limit()
    }

    /// Ends the EBS session (the token is invalidated server-side).
    pub async fn logout(&self) -> Result<(), EbsError> {
        self.transport.logout().await
    }

    /// Sleeps `wait` unless the client is cancelled (logged when long).
    pub(crate) async fn pause(
        &self,
        wait: Duration,
        what: &str,
        why: &str,
    ) -> Result<(), EbsError> {
        crate::retry::pause(wait, &self.cfg.cancel, what, why)
            .await
            .map_err(|_| EbsError::Cancelled { path: what.into() })
    }

    fn header(&self, module: Module) -> Result<&RestHeader, EbsError> {
        self.cfg.contexts.header(module).ok_or_else(|| {
            EbsError::Config(format!(
                "no {module:?} context configured (responsibility and operating unit)"
            ))
        })
    }

    fn alias(&self, module: Module) -> &str {
        match module {
            Module::Gl => &self.cfg.aliases.gl,
            Module::Ar => &self.cfg.aliases.ar,
            Module::Ap => &self.cfg.aliases.ap,
        }
    }

    /// POST to a PL/SQL / concurrent-program operation; returns `OutputParameters`.
    pub(crate) async fn post_op(
        &self,
        module: Module,
        alias: &str,
        method: &str,
        params: Value,
        retry: Retry,
    ) -> Result<Map<String, Value>, EbsError> {
        let path = format!("{alias}/{method}/");
        let body = wire::envelope(method, self.header(module)?, params);
        let v = self
            .transport
            .send(&Call {
                method: Method::POST,
                path: path.clone(),
                query: Vec::new(),
                body: Some(body),
                retry,
            })
            .await?;
        wire::output(&path, v)
    }

    /// A custom-package service (alias `custom`), run under `module`'s context.
    pub(crate) async fn custom(
        &self,
        module: Module,
        method: &str,
        params: Value,
        retry: Retry,
    ) -> Result<Map<String, Value>, EbsError> {
        let alias = self.cfg.aliases.custom.clone();
        self.post_op(module, &alias, method, params, retry).await
    }

    /// Inserts rows into an open interface table (one POST, one transaction).
    pub(crate) async fn insert_rows(
        &self,
        module: Module,
        table: &str,
        rows: Vec<Value>,
    ) -> Result<Map<String, Value>, EbsError> {
        let params = serde_json::json!({ format!("{table}_REC"): wire::table(&format!("{table}_REC"), rows) });
        let alias = self.alias(module).to_string();
        self.post_op(module, &alias, table, params, Retry::WriteOnce)
            .await
    }

    /// Submits a concurrent program through its module's alias (never retried blindly);
    /// returns the request id, which EBS reports as `0` when the submission failed.
    pub(crate) async fn submit_program(
        &self,
        module: Module,
        program: &str,
        args: Map<String, Value>,
    ) -> Result<String, EbsError> {
        let alias = self.alias(module);
        let out = self
            .post_op(
                module,
                alias,
                program,
                Value::Object(args),
                Retry::WriteOnce,
            )
            .await?;
        wire::str_of(&out, "REQUEST_ID")
            .filter(|r| r != "0")
            .ok_or_else(|| EbsError::Decode {
                path: program.into(),
                detail: "no REQUEST_ID".into(),
            })
    }

    /// GET or DELETE on an interface table; both are safe to repeat (deleting rejected
    /// rows twice deletes nothing more).
    async fn table_call(
        &self,
        method: Method,
        path: &str,
        query: Vec<(String, String)>,
    ) -> Result<Map<String, Value>, EbsError> {
        let v = self
            .transport
            .send(&Call {
                method,
                path: path.to_string(),
                query,
                body: None,
                retry: Retry::Safe,
            })
            .await?;
        wire::output(path, v)
    }

    /// Reads every matching row of an interface table (all pages).
    pub(crate) async fn read_rows(
        &self,
        module: Module,
        table: &str,
        filters: &[(&str, String)],
    ) -> Result<Vec<Map<String, Value>>, EbsError> {
        let path = format!("{}/{table}/", self.alias(module));
        let mut out = Vec::new();
        let limit = 1000usize;
        loop {
            let mut query: Vec<(String, String)> = filters
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect();
            query.push(("offset".into(), out.len().to_string()));
            query.push(("limit".into(), limit.to_string()));
            query.extend(self.header(module)?.to_query());
            let m = self.table_call(Method::GET, &path, query).await?;
            let page = wire::list(&m, &format!("{table}_REC"));
            let n = page.len();
            out.extend(page);
            let more = wire::str_of(&m, "X_HAS_MORE").as_deref() == Some("Y");
            if !more || n == 0 {
                return Ok(out);
            }
        }
    }

    /// Deletes rows of an interface table matching the filters; returns the count.
    pub(crate) async fn delete_rows(
        &self,
        module: Module,
        table: &str,
        filters: &[(&str, String)],
    ) -> Result<u64, EbsError> {
        let path = format!("{}/{table}/", self.alias(module));
        let mut query: Vec<(String, String)> = filters
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        query.extend(self.header(module)?.to_query());
        let m = self.table_call(Method::DELETE, &path, query).await?;
        Ok(wire::str_of(&m, "X_ROW_COUNT")
            .and_then(|s| s.parse().ok())
            .unwrap_or(0))
    }
}

/// `ARGUMENT1`..`ARGUMENTn`, all empty: concurrent programs take every argument by position.
pub(crate) fn blank_arguments(n: usize) -> Map<String, Value> {
    (1..=n)
        .map(|i| (format!("ARGUMENT{i}"), Value::String(String::new())))
        .collect()
}

/// The operating unit of an AR or AP context, or a configuration error naming the module.
pub(crate) fn ou_org(ctx: Option<&OuContext>, module: &str) -> Result<String, EbsError> {
    ctx.map(|c| c.org_id().to_string()).ok_or_else(|| {
        EbsError::Config(format!(
            "no {module} context (responsibility, operating unit) configured"
        ))
    })
}
