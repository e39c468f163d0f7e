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
            SyncError::Config(_) | SyncError::Credentials(_) | SyncError::Setup(_)
        )
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
