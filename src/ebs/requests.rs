//! Concurrent requests: status (with children) and polling to completion (reference §5).
//!
//! A request that completed is not a success by itself: imports end Normal while rejecting
//! rows, so callers always read the interface and created documents afterwards.

use crate::ebs::EbsClient;
use crate::ebs::context::Module;
use crate::ebs::error::EbsError;
use crate::ebs::transport::Retry;
use crate::ebs::wire::{list, str_of};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use std::time::Duration;

/// One `FND_CONCURRENT_REQUESTS` row as the status service shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestState {
    pub request_id: String,
    pub program: String,
    pub phase_code: String,
    pub status_code: String,
    pub dev_phase: String,
    pub dev_status: String,
    pub message: String,
    pub parent_request_id: Option<String>,
}

impl RequestState {
    /// Phase `C`: it will not change any more.
    pub fn is_complete(&self) -> bool {
        self.phase_code == "C"
    }

    /// Completed Normal or Warning (rows may still have been rejected).
    pub fn ran(&self) -> bool {
        self.is_complete() && matches!(self.status_code.as_str(), "C" | "G")
    }

    /// `P/I`-style short form for messages.
    pub fn codes(&self) -> String {
        format!("{}/{}", self.phase_code, self.status_code)
    }

    fn from_map(m: &Map<String, Value>, prefix: &str) -> Self {
        let g = |k: &str| str_of(m, &format!("{prefix}{k}")).unwrap_or_default();
        RequestState {
            request_id: g("REQUEST_ID"),
            program: g("PROGRAM"),
            phase_code: g("PHASE_CODE"),
            status_code: g("STATUS_CODE"),
            dev_phase: g("DEV_PHASE"),
            dev_status: g("DEV_STATUS"),
            message: {
                let m1 = g("MESSAGE");
                if m1.is_empty() {
                    g("COMPLETION_TEXT")
                } else {
                    m1
                }
            },
            parent_request_id: str_of(m, &format!("{prefix}PARENT_REQUEST_ID")),
        }
    }
}

/// A request with its children (RAXMTR → RAXTRX).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestTree {
    pub master: RequestState,
    pub children: Vec<RequestState>,
}

impl RequestTree {
    pub fn is_complete(&self) -> bool {
        self.master.is_complete() && self.children.iter().all(RequestState::is_complete)
    }
}

impl EbsClient {
    /// Status of one request (`get_request_status`).
    pub async fn request_status(
        &self,
        module: Module,
        request_id: &str,
    ) -> Result<RequestState, EbsError> {
        let out = self
            .custom(
                module,
                "get_request_status",
                json!({ "P_REQUEST_ID": request_id }),
                Retry::Safe,
            )
            .await?;
        let mut s = RequestState::from_map(&out, "X_");
        if s.request_id.is_empty() {
            s.request_id = request_id.to_string();
        }
        Ok(s)
    }

    /// Children of a request (`get_child_requests`).
    pub async fn child_requests(
        &self,
        module: Module,
        request_id: &str,
    ) -> Result<Vec<RequestState>, EbsError> {
        let out = self
            .custom(
                module,
                "get_child_requests",
                json!({ "P_REQUEST_ID": request_id }),
                Retry::Safe,
            )
            .await?;
        Ok(list(&out, "X_REQUESTS")
            .iter()
            .map(|m| RequestState::from_map(m, ""))
            .collect())
    }

    /// Polls until the request completes (backoff from `poll.initial` to `poll.max`).
    pub async fn await_request(
        &self,
        module: Module,
        request_id: &str,
    ) -> Result<RequestState, EbsError> {
        let tree = self.await_tree(module, request_id, false).await?;
        Ok(tree.master)
    }

    /// Polls until the request and all its children complete.
    pub async fn await_request_tree(
        &self,
        module: Module,
        request_id: &str,
    ) -> Result<RequestTree, EbsError> {
        self.await_tree(module, request_id, true).await
    }

    async fn await_tree(
        &self,
        module: Module,
        request_id: &str,
        with_children: bool,
    ) -> Result<RequestTree, EbsError> {
        let poll = self.cfg.poll;
        let started = tokio::time::Instant::now();
        let mut delay = poll.initial;
        let mut next_log = crate::retry::LOG_EVERY;
        loop {
            let master = self.request_status(module, request_id).await?;
            let children = if with_children {
                self.child_requests(module, request_id).await?
            } else {
                Vec::new()
            };
            let tree = RequestTree { master, children };
            if tree.is_complete() {
                return Ok(tree);
            }
            let waited = started.elapsed();
            if waited >= poll.timeout {
                return Err(EbsError::RequestTimeout {
                    request_id: request_id.to_string(),
                    waited_secs: waited.as_secs(),
                    phase: tree.master.phase_code,
                    status: tree.master.status_code,
                });
            }
            if waited >= next_log {
                // A long import is not a hang: say so now and then.
                tracing::info!(
                    request_id,
                    waited_secs = waited.as_secs(),
                    phase = %tree.master.phase_code,
                    status = %tree.master.status_code,
                    "waiting {}s so far for concurrent request {request_id} (phase {}, status {}; gives up after {}s)",
                    waited.as_secs(),
                    tree.master.phase_code,
                    tree.master.status_code,
                    poll.timeout.as_secs()
                );
                next_log = waited + crate::retry::LOG_EVERY;
            }
            crate::retry::sleep(delay, &self.cfg.cancel)
                .await
                .map_err(|_| EbsError::Cancelled {
                    path: format!("concurrent request {request_id}"),
                })?;
            delay = (delay * 2).min(poll.max).max(Duration::from_millis(1));
        }
    }
}
