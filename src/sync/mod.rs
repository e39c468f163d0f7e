//! Background tokio tasks: pulling, proposing, posting; they report through messages.
//!
//! The design is described in full below as the modules land; [`messages`] is the
//! only contract between the sync tasks and their consumers (TUI, headless logger).

pub mod messages;

pub use messages::{Collected, ProgressSink, SyncError, SyncMsg};
pub mod context;
pub mod propose;
pub mod pull;

pub mod convert;
pub mod headless;
pub mod posting;
pub mod reconcile;
pub mod scheduler;
