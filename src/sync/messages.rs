//! What the sync tasks tell the world: progress, batch updates, errors, run end.
//!
//! The TUI and the headless logger both consume [`SyncMsg`] from a channel fed
//! through a [`ProgressSink`]; sync code never prints. [`SyncError`] is the one
//! error type of the sync layer. This API is shared with the posting engine:
//! change it only by adding.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::mpsc;

use crate::ledger::state::BatchState;
use crate::store::BatchKey;

/// One message from a sync task.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SyncMsg {
    /// A step started or advanced: `what` (e.g. `settlements`), for whom, how far.
    Progress {
        /// The seller account name, or `ebs` for posting steps.
        scope: String,
        what: String,
        done: u64,
        /// Known total, if any.
        total: Option<u64>,
        detail: Option<String>,
    },
    /// A call waits for its rate-limit bucket.
    RateLimited {
        scope: String,
        /// The throttled operation (e.g. `getReports`).
        operation: String,
        #[serde(with = "duration_ms")]
        wait: Duration,
    },
    /// A batch changed state (or was re-examined and keeps its state with a reason).
    Batch {
        key: BatchKey,
        state: BatchState,
        /// Why it waits / was rejected / what happened, in plain words.
        detail: Option<String>,
    },
    /// Something failed; the run goes on where it can.
    Error {
        scope: String,
        message: String,
        /// Whether it stops this scope for the rest of the run.
        fatal: bool,
    },
    /// A settlement was pulled and stored (new or re-downloaded identical).
    SettlementPulled {
        scope: String,
        settlement_id: String,
        new: bool,
    },
    /// A sync run ended.
    RunFinished {
        at: DateTime<Utc>,
        ok: bool,
        summary: String,
    },
}

mod duration_ms {
    use serde::Serializer;
    use std::time::Duration;
    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_millis() as u64)
    }
}

#[derive(Clone)]
enum SinkInner {
    Channel(mpsc::UnboundedSender<SyncMsg>),
    Collect(Arc<Mutex<Vec<SyncMsg>>>),
    Discard,
}

/// Where sync tasks send their messages. Cheap to clone; never blocks; a
/// closed receiver is not an error (the UI may have quit first).
#[derive(Clone)]
pub struct ProgressSink {
    inner: SinkInner,
}

impl std::fmt::Debug for ProgressSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.inner {
            SinkInner::Channel(_) => "channel",
            SinkInner::Collect(_) => "collect",
            SinkInner::Discard => "discard",
        };
        f.debug_struct("ProgressSink").field("kind", &kind).finish()
    }
}

impl ProgressSink {
    /// A sink feeding an unbounded tokio channel, and its receiver.
    pub fn channel() -> (ProgressSink, mpsc::UnboundedReceiver<SyncMsg>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (ProgressSink::from_sender(tx), rx)
    }

    pub fn from_sender(tx: mpsc::UnboundedSender<SyncMsg>) -> ProgressSink {
        ProgressSink {
            inner: SinkInner::Channel(tx),
        }
    }

    /// A sink that drops everything.
    pub fn noop() -> ProgressSink {
        ProgressSink {
            inner: SinkInner::Discard,
        }
    }

    /// A sink that keeps every message (tests); read them with [`Collected::take`].
    pub fn collecting() -> (ProgressSink, Collected) {
        let store = Arc::new(Mutex::new(Vec::new()));
        (
            ProgressSink {
                inner: SinkInner::Collect(store.clone()),
            },
            Collected(store),
        )
    }

    pub fn send(&self, msg: SyncMsg) {
        match &self.inner {
            SinkInner::Channel(tx) => {
                let _ = tx.send(msg);
            }
            SinkInner::Collect(v) => {
                if let Ok(mut v) = v.lock() {
                    v.push(msg);
                }
            }
            SinkInner::Discard => {}
        }
    }

    pub fn progress(&self, scope: &str, what: &str, done: u64, total: Option<u64>) {
        self.send(SyncMsg::Progress {
            scope: scope.to_string(),
            what: what.to_string(),
            done,
            total,
            detail: None,
        });
    }

    pub fn batch(&self, key: &BatchKey, state: BatchState, detail: Option<String>) {
        self.send(SyncMsg::Batch {
            key: key.clone(),
            state,
            detail,
        });
    }

    pub fn error(&self, scope: &str, err: &dyn std::fmt::Display, fatal: bool) {
        self.send(SyncMsg::Error {
            scope: scope.to_string(),
            message: err.to_string(),
            fatal,
        });
    }

    pub fn rate_limited(&self, scope: &str, operation: &str, wait: Duration) {
        self.send(SyncMsg::RateLimited {
            scope: scope.to_string(),
            operation: operation.to_string(),
            wait,
        });
    }
}

/// The messages a [`ProgressSink::collecting`] sink has seen.
#[derive(Clone, Debug)]
pub struct Collected(Arc<Mutex<Vec<SyncMsg>>>);

impl Collected {
    /// Everything collected so far, emptying the buffer.
    pub fn take(&self) -> Vec<SyncMsg> {
        self.0
            .lock()
            .map(|mut v| std::mem::take(&mut *v))
            .unwrap_or_default()
    }

    /// A copy of everything collected so far.
    pub fn snapshot(&self) -> Vec<SyncMsg> {
        self.0.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

/// Everything the sync layer can fail with. Messages never carry secrets.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("Amazon ({scope}): {source}")]
    Amazon {
        /// The seller account.
        scope: String,
        #[source]
        source: crate::amazon::Error,
    },
    #[error(transparent)]
    Ebs(#[from] crate::ebs::EbsError),
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Credentials(#[from] crate::config::credentials::CredentialsError),
    /// A settlement or mapping could not be turned into journals.
    #[error("settlement {settlement_id}: {reason}")]
    Ledger {
        settlement_id: String,
        reason: String,
    },
    /// A configuration problem found while wiring the sync (no routing, unknown seller…).
    #[error("configuration: {0}")]
    Setup(String),
    /// A mapping file that does not parse: `problem` names the line and column.
    #[error("mapping file {path}: {problem}")]
    Mapping { path: String, problem: String },
    /// Stopped on request (SIGINT/SIGTERM, UI quit) at a safe point.
    #[error("stopped on request")]
    Cancelled,
    /// A run step did not finish in time (a server that stopped answering…); the run
    /// goes on with the next step and the next run starts it again.
    #[error("{step} did not finish within its deadline of {}", crate::retry::human(*.deadline))]
    Deadline { step: String, deadline: Duration },
}

impl SyncError {
    pub fn amazon(scope: impl Into<String>, source: crate::amazon::Error) -> SyncError {
        SyncError::Amazon {
            scope: scope.into(),
            source,
        }
    }

    pub fn ledger(settlement_id: impl Into<String>, reason: impl std::fmt::Display) -> SyncError {
        SyncError::Ledger {
            settlement_id: settlement_id.into(),
            reason: reason.to_string(),
        }
    }

    /// Configuration and credential problems: a person must fix something before a rerun helps.
    pub fn is_configuration(&self) -> bool {
        matches!(
            self,
            SyncError::Config(_)
                | SyncError::Credentials(_)
                | SyncError::Setup(_)
                | SyncError::Mapping { .. }
        )
    }
}

/// The system a [`RunError`] came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorSystem {
    Ebs,
    Amazon,
    Store,
    Config,
    Ledger,
}

/// One failure of a run as the run report lists it (`errors`) and the alert command gets
/// it: which system, which call, what it answered (HTTP status and code, or the transport
/// error when nothing answered), and which batch or settlement it stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunError {
    pub system: ErrorSystem,
    /// The call or step that failed (`get_request_status`, `GL_INTERFACE`, `getReports`,
    /// `propose`, `pull`…).
    pub operation: String,
    pub http_status: Option<u16>,
    /// The system's error code (`ISG_DB_CONNECTION_ERROR`, `QuotaExceeded`…).
    pub code: Option<String>,
    /// Why no answer came (connection refused, timeout…).
    pub transport: Option<String>,
    /// `SETTLEMENT/PERIOD` of the batch it left unfinished.
    pub batch: Option<String>,
    pub settlement_id: Option<String>,
    pub message: String,
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.batch, &self.settlement_id) {
            (Some(b), _) => write!(f, "batch {b}: {}", self.message),
            (None, Some(s)) => write!(f, "settlement {s}: {}", self.message),
            (None, None) => f.write_str(&self.message),
        }
    }
}

impl RunError {
    pub fn new(
        system: ErrorSystem,
        operation: impl Into<String>,
        message: impl Into<String>,
    ) -> RunError {
        RunError {
            system,
            operation: operation.into(),
            http_status: None,
            code: None,
            transport: None,
            batch: None,
            settlement_id: None,
            message: message.into(),
        }
    }

    /// The same error, naming the batch it stopped.
    pub fn for_batch(mut self, key: &BatchKey) -> RunError {
        self.batch = Some(key.to_string());
        self.settlement_id = Some(key.settlement_id.clone());
        self
    }

    /// An EBS failure; `step` names the operation when the error does not (no HTTP call).
    pub fn ebs(e: &crate::ebs::EbsError, step: &str) -> RunError {
        use crate::ebs::EbsError as E;
        let operation = match e {
            E::Network { path, .. }
            | E::Fault { path, .. }
            | E::Http { path, .. }
            | E::Decode { path, .. }
            | E::Business { path, .. } => operation_of_path(path).unwrap_or(step),
            E::BadCredentials { .. } => "login",
            E::RequestTimeout { .. } => "get_request_status",
            _ => step,
        };
        let mut out = RunError::new(ErrorSystem::Ebs, operation, e.to_string());
        out.http_status = e.http_status();
        out.code = e.code().map(str::to_string);
        if let E::Network { source, .. } = e {
            out.transport = Some(transport_of(source));
        }
        out
    }

    /// An Amazon failure of a seller; `step` names the operation when the error does not.
    pub fn amazon(e: &crate::amazon::Error, scope: &str, step: &str) -> RunError {
        use crate::amazon::Error as E;
        let (operation, status) = match e {
            E::Api {
                operation, status, ..
            } => (operation.as_str(), Some(*status)),
            E::RetriesExhausted { operation, .. } | E::Decode { operation, .. } => {
                (operation.as_str(), None)
            }
            E::Lwa { status, .. } => ("login_with_amazon", Some(*status)),
            E::ReauthoriseSeller { .. } => ("login_with_amazon", None),
            E::Download { .. } => ("download", None),
            _ => (step, None),
        };
        let mut out = RunError::new(
            ErrorSystem::Amazon,
            operation,
            format!("Amazon ({scope}): {e}"),
        );
        out.http_status = status;
        out.code = e.amazon_code().map(str::to_string);
        out
    }

    /// Any sync-layer failure of `step` (`reconcile`, `pull`, `propose`, `post`…).
    pub fn from_sync(step: &str, e: &SyncError) -> RunError {
        match e {
            SyncError::Ebs(e) => RunError::ebs(e, step),
            SyncError::Amazon { scope, source } => RunError::amazon(source, scope, step),
            SyncError::Store(_) => RunError::new(ErrorSystem::Store, step, e.to_string()),
            SyncError::Ledger {
                settlement_id,
                reason,
            } => {
                let mut out = RunError::new(ErrorSystem::Ledger, step, reason.clone());
                out.settlement_id = Some(settlement_id.clone());
                out
            }
            SyncError::Mapping { .. } => {
                RunError::new(ErrorSystem::Config, "mapping", e.to_string())
            }
            // A step that ran out of time: the system it was waiting on.
            SyncError::Deadline { step: which, .. } => {
                let system = if which.starts_with("pull") {
                    ErrorSystem::Amazon
                } else if which.starts_with("post") || which.starts_with("reconcile") {
                    ErrorSystem::Ebs
                } else {
                    ErrorSystem::Ledger
                };
                let mut out = RunError::new(system, step, e.to_string());
                out.transport = Some("deadline exceeded".into());
                out
            }
            SyncError::Config(_)
            | SyncError::Credentials(_)
            | SyncError::Setup(_)
            | SyncError::Cancelled => RunError::new(ErrorSystem::Config, step, e.to_string()),
        }
    }

    /// "HTTP 500 ISG_DB_CONNECTION_ERROR", the transport error, or the message: what went
    /// wrong in a few words (for a batch's reason).
    pub fn cause(&self) -> String {
        match (&self.http_status, &self.code, &self.transport) {
            (Some(s), Some(c), _) => format!("HTTP {s} {c}"),
            (Some(s), None, _) => format!("HTTP {s}"),
            (None, _, Some(t)) => t.clone(),
            _ => self.message.clone(),
        }
    }
}

/// `xxmlc/get_request_status/` → `get_request_status` (the service method or table).
fn operation_of_path(path: &str) -> Option<&str> {
    let path = path.split('?').next().unwrap_or(path);
    path.trim_end_matches('/')
        .rsplit('/')
        .next()
        .filter(|s| !s.is_empty())
}

/// What the transport said when no answer came: the kind, then the innermost cause.
fn transport_of(e: &reqwest::Error) -> String {
    let kind = if e.is_connect() {
        "cannot connect"
    } else if e.is_timeout() {
        "timed out"
    } else if e.is_body() || e.is_decode() {
        "broken response"
    } else {
        "request failed"
    };
    let mut inner: Option<&dyn std::error::Error> = std::error::Error::source(e);
    let mut last = None;
    while let Some(i) = inner {
        last = Some(i);
        inner = i.source();
    }
    match last {
        Some(cause) => format!("{kind}: {cause}"),
        None => kind.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collecting_sink_keeps_messages_in_order() {
        let (sink, got) = ProgressSink::collecting();
        let clone = sink.clone();
        sink.progress("acme-na", "settlements", 1, Some(3));
        clone.batch(&BatchKey::new("123", "JUL-25"), BatchState::Proposed, None);
        let msgs = got.take();
        assert_eq!(msgs.len(), 2);
        assert!(matches!(msgs[0], SyncMsg::Progress { done: 1, .. }));
        assert!(matches!(
            msgs[1],
            SyncMsg::Batch {
                state: BatchState::Proposed,
                ..
            }
        ));
        assert!(got.take().is_empty());
    }

    #[tokio::test]
    async fn channel_sink_survives_a_closed_receiver() {
        let (sink, mut rx) = ProgressSink::channel();
        sink.rate_limited("acme-na", "getReports", Duration::from_millis(1500));
        let m = rx.recv().await.unwrap();
        assert_eq!(
            serde_json::to_value(&m).unwrap(),
            serde_json::json!({"kind":"rate_limited","scope":"acme-na","operation":"getReports","wait":1500})
        );
        drop(rx);
        sink.progress("x", "y", 0, None);
    }
}
