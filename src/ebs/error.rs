//! Typed errors of the EBS client: each says where (path, HTTP status, EBS code) and what to do.

use crate::ebs::checks::CheckFailure;

/// A fault body (`ISGServiceFault`) or an unexpected answer from ISG.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub status: u16,
    pub code: String,
    pub message: String,
    pub resolution: String,
}

#[derive(Debug, thiserror::Error)]
pub enum EbsError {
    #[error("EBS configuration: {0}")]
    Config(String),
    #[error("cannot reach EBS at {path}: {source}")]
    Network {
        path: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("EBS did not answer {path} within {limit} (timed out)")]
    Timeout { path: String, limit: String },
    #[error(
        "EBS refused the credentials of user {user} (HTTP {status}, {code}): check the user name and password in the configuration"
    )]
    BadCredentials {
        user: String,
        status: u16,
        code: String,
    },
    #[error("EBS {path} answered HTTP {}: {} — {}{}", .fault.status, .fault.code, .fault.message, resolution_suffix(&.fault.resolution))]
    Fault { path: String, fault: Fault },
    #[error("EBS {path} answered HTTP {status} without a fault body: {snippet}")]
    Http {
        path: String,
        status: u16,
        snippet: String,
    },
    #[error("EBS {path} answered something unreadable: {detail}")]
    Decode { path: String, detail: String },
    #[error("EBS {path} reported a business error: {message}")]
    Business { path: String, message: String },
    #[error("batch cannot be staged: {}", summarize_checks(.0))]
    Checks(Vec<CheckFailure>),
    #[error(
        "concurrent request {request_id} did not complete within {waited_secs}s (phase {phase}, status {status}); it keeps running in EBS — resume later, do not resubmit"
    )]
    RequestTimeout {
        request_id: String,
        waited_secs: u64,
        phase: String,
        status: String,
    },
    #[error(
        "settlement {settlement_id} period {period} revision {found_revision} is already in EBS ({place}); revision {revision} would duplicate it: reverse revision {found_revision} first"
    )]
    OtherRevisionLive {
        settlement_id: String,
        period: String,
        revision: u32,
        found_revision: u32,
        place: String,
    },
    #[error("EBS state of settlement {settlement_id} period {period} is inconsistent: {detail}")]
    Inconsistent {
        settlement_id: String,
        period: String,
        detail: String,
    },
    #[error("posting step called out of order: {0}")]
    Step(String),
    #[error("could not persist the posting record (nothing more was sent to EBS): {0}")]
    Persist(String),
    /// The run was asked to stop (SIGINT/SIGTERM) while a call waited; a write's outcome
    /// is checked in EBS by the next run's reconciliation.
    #[error("stopped on request while waiting for EBS ({path})")]
    Cancelled { path: String },
}

fn resolution_suffix(r: &str) -> String {
    if r.is_empty() {
        String::new()
    } else {
        format!(" ({r})")
    }
}

fn summarize_checks(f: &[CheckFailure]) -> String {
    let mut parts: Vec<String> = f.iter().take(5).map(|c| c.to_string()).collect();
    if f.len() > 5 {
        parts.push(format!("and {} more", f.len() - 5));
    }
    parts.join("; ")
}

impl EbsError {
    /// The EBS fault code, when EBS sent one.
    pub fn code(&self) -> Option<&str> {
        match self {
            EbsError::Fault { fault, .. } => Some(&fault.code),
            EbsError::BadCredentials { code, .. } => Some(code),
            _ => None,
        }
    }

    /// HTTP status, when there was one.
    pub fn http_status(&self) -> Option<u16> {
        match self {
            EbsError::Fault { fault, .. } => Some(fault.status),
            EbsError::Http { status, .. } | EbsError::BadCredentials { status, .. } => {
                Some(*status)
            }
            _ => None,
        }
    }

    /// Worth another try after a pause (5xx, 503, network): the outcome of a write is then
    /// unknown and must be checked in EBS before retrying it.
    pub fn is_transient(&self) -> bool {
        match self {
            EbsError::Network { .. } | EbsError::Timeout { .. } => true,
            EbsError::Fault { fault, .. } => fault.status >= 500,
            EbsError::Http { status, .. } => *status >= 500,
            _ => false,
        }
    }
}
