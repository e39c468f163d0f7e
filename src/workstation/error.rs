//! Why an effect of the workstation failed. The bridge shows it to the accountant as
//! an `app::Msg::Error` text, so every variant's Display is the exact message the
//! workstation has always shown (TUI snapshots and flow tests read it).

use std::path::PathBuf;

use crate::ebs::EbsError;
use crate::ledger::mapping::MappingError;
use crate::store::{BatchKey, StoreError};
use crate::sync::SyncError;
use crate::sync::posting::PostingError;

/// An effect that could not be carried out.
#[derive(Debug, thiserror::Error)]
pub enum WorkstationError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Sync(#[from] SyncError),
    #[error(transparent)]
    Posting(#[from] PostingError),
    #[error(transparent)]
    Ebs(#[from] EbsError),
    /// A stored or configured mapping that does not parse.
    #[error(transparent)]
    Mapping(#[from] MappingError),
    /// The editor's draft does not make a mapping.
    #[error("mapping draft: {0}")]
    MappingDraft(#[source] MappingError),
    /// A mapping file that could not be read (before the store had a version of it).
    #[error("mapping {}: {source}", path.display())]
    MappingRead {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The store took the new mapping version, the file beside the config did not.
    #[error("mapping version {version} stored, but {} could not be written: {source}", path.display())]
    MappingWrite {
        version: u32,
        path: PathBuf,
        source: std::io::Error,
    },
    /// The approval named a proposal that is no longer the current one.
    #[error(
        "{0}: its proposal changed since it was shown (new mapping?); review it again, nothing was approved"
    )]
    ProposalChanged(BatchKey),
    #[error("settlement {0} is not in the store")]
    UnknownSettlement(String),
    /// The batches of a settlement need EBS (ledger, periods, rates) and it could not help:
    /// nothing is guessed in its place.
    #[error("settlement {id}: cannot build the batches: {reason}")]
    CannotBuild { id: String, reason: String },
    /// A worker panicked or was cancelled.
    #[error("internal error: {0}")]
    Internal(#[from] tokio::task::JoinError),
    /// Another worker panicked while holding the bridge's state.
    #[error("poisoned lock: another task failed inside")]
    Poisoned,
}

impl<T> From<std::sync::PoisonError<T>> for WorkstationError {
    fn from(_: std::sync::PoisonError<T>) -> Self {
        WorkstationError::Poisoned
    }
}
