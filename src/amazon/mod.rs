//! SP-API client: Login with Amazon, regional hosts, paced and paged calls, settlement downloads.
//!
//! Built to run in background tokio tasks against real Amazon: [`SpApiClient`] is cheap to
//! clone and `Send + Sync`; one [`limiter::RateLimiter`] per seller and region paces every
//! task; paged results come as streams of [`Page`]s whose `next_token` is a resume cursor.
//! It shares no code with the simulator in `crate::sim::amazon` on purpose.

pub mod client;
pub mod clock;
pub mod finances;
pub mod limiter;
pub mod link;
pub mod lwa;
pub mod models;
pub mod orders;
pub mod region;
pub mod reports;
pub mod retry;
pub mod sellers;
pub mod snapshot;

pub use crate::retry::Backoff;
pub use client::{
    ClientStats, DEFAULT_TIMEOUTS, OperationStats, SpApiClient, SpApiClientBuilder, Timeouts,
};
pub use clock::{Clock, ManualClock, ServerClock, SystemClock};
pub use limiter::{Operation, RateLimiter, RatePlan};
pub use lwa::LwaCredentials;
pub use region::Region;
pub use retry::DEFAULT_RETRY;

use futures::StreamExt;
use futures::stream::BoxStream;
use serde::{Deserialize, Serialize};

/// One page of a paged operation. `next_token` resumes *after* this page (persist it);
/// `None` means the listing is complete.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_token: Option<String>,
}

/// Walks a paged listing from `resume` (a saved next token) or the start, one `fetch` per
/// page, until a page names no next token. Every paged call shares this loop.
pub(crate) fn page_stream<P, Fut>(
    resume: Option<String>,
    fetch: impl Fn(Option<String>) -> Fut + Send + 'static,
    next_token: fn(&P) -> Option<String>,
) -> BoxStream<'static, Result<P, Error>>
where
    P: Send + 'static,
    Fut: Future<Output = Result<P, Error>> + Send + 'static,
{
    futures::stream::try_unfold(Some(resume), move |state| {
        let page = state.map(&fetch);
        async move {
            let Some(page) = page else { return Ok(None) };
            let page = page.await?;
            let next = next_token(&page).map(Some);
            Ok(Some((page, next)))
        }
    })
    .boxed()
}

/// Everything the client can fail with. No variant ever carries a secret
/// (tokens, client secret, pre-signed URLs).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "Amazon refused the seller's refresh token for region {region} (invalid_grant: {description}). \
         Re-authorise the seller in Seller Central and store the new refresh token; \
         calls will not be retried until then."
    )]
    ReauthoriseSeller { region: Region, description: String },

    #[error(
        "Login with Amazon failed: HTTP {status}, {code}: {description}. Check the app's client id and secret."
    )]
    Lwa {
        status: u16,
        code: String,
        description: String,
    },

    #[error(
        "{operation}: HTTP {status} {code}: {message}{}{}",
        details.as_deref().filter(|d| !d.is_empty()).map(|d| format!(" ({d})")).unwrap_or_default(),
        request_id.as_deref().map(|r| format!(" [x-amzn-RequestId {r}]")).unwrap_or_default()
    )]
    Api {
        operation: String,
        status: u16,
        code: String,
        message: String,
        details: Option<String>,
        request_id: Option<String>,
    },

    #[error(
        "{operation}: gave up after {attempts} attempts; last failure: {last}{}",
        request_id.as_deref().map(|r| format!(" [x-amzn-RequestId {r}]")).unwrap_or_default()
    )]
    RetriesExhausted {
        operation: String,
        attempts: u32,
        last: String,
        request_id: Option<String>,
    },

    #[error(
        "{operation}: response is not the documented JSON: {message}{}",
        request_id.as_deref().map(|r| format!(" [x-amzn-RequestId {r}]")).unwrap_or_default()
    )]
    Decode {
        operation: String,
        message: String,
        request_id: Option<String>,
    },

    #[error("report document {report_document_id}: {message}")]
    Download {
        report_document_id: String,
        message: String,
    },

    #[error("settlement report {report_id}: {message}")]
    Settlement { report_id: String, message: String },

    #[error("configuration: {0}")]
    Config(String),

    /// The run was asked to stop (SIGINT/SIGTERM) while the call waited.
    #[error("stopped on request")]
    Cancelled,
}

impl Error {
    /// Amazon's error code, when the failure came from an SP-API error body.
    pub fn amazon_code(&self) -> Option<&str> {
        match self {
            Error::Api { code, .. } => Some(code),
            Error::Lwa { code, .. } => Some(code),
            _ => None,
        }
    }

    pub fn request_id(&self) -> Option<&str> {
        match self {
            Error::Api { request_id, .. }
            | Error::RetriesExhausted { request_id, .. }
            | Error::Decode { request_id, .. } => request_id.as_deref(),
            _ => None,
        }
    }

    /// True when only a person can fix it (re-authorisation, wrong app credentials).
    pub fn needs_user_action(&self) -> bool {
        matches!(
            self,
            Error::ReauthoriseSeller { .. } | Error::Lwa { .. } | Error::Config(_)
        )
    }
}
