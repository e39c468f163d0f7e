//! Background sync: pulling from Amazon, proposing journals, posting into EBS exactly once.
//!
//! Everything here runs in tokio tasks and talks to its consumers (the TUI, the
//! headless logger) only through [`SyncMsg`]s sent to a [`ProgressSink`].
//!
//! One run ([`headless::run_once`], repeated by [`scheduler::run_scheduled`]):
//! 1. **Reconcile** ([`posting`], [`reconcile`]): every batch a previous process left in
//!    flight (staged, submitted, or with a recorded intent) is compared with EBS and
//!    continued from where EBS says, before anything new starts.
//! 2. **Pull** ([`pull`]), per seller with the seller's own rate limiter
//!    ([`context`]): settlement reports → download → raw bytes kept verbatim with
//!    charset and hash → parsed summary; financial event groups; orders. Each step
//!    resumes from a cursor in the store; a report already pulled is never fetched again.
//! 3. **Propose** ([`propose`]): a new settlement is linked to its event group and split
//!    into one journal batch per ledger period, with the store's mapping version (a
//!    changed mapping file is imported first), its marketplace's routing and what EBS
//!    says about the ledger ([`batches`]: calendar from open periods, closed periods roll
//!    forward; currency; a foreign settlement's rate).
//! 4. **Post** ([`posting`]): approved batches go to EBS with an intent written and
//!    flushed before each EBS call; `--headless` approves only what
//!    `[headless] auto_post` allows and records why everything else waits.
//!
//! State transitions of a batch (settlement × period; [`BatchState`](crate::ledger::state::BatchState)):
//!
//! ```text
//! (pulled) ──propose──▶ proposed | needs_mapping | inconsistent | needs_rate   (ends before cutover ──▶ archived)
//! needs_rate ──rate found by a later run──▶ proposed
//! proposed ──approve (who, when, proposal hash)──▶ approved
//! approved ──intent; insert interface rows──▶ staged (GROUP_ID, line count, totals)
//! staged ──intent; submit Journal Import──▶ submitted (request id)
//! submitted ──import ok──▶ imported (journal ids) ──seen posted──▶ posted
//! staged | submitted ──import failed──▶ rejected (per-line EBS codes)
//! rejected | vanished ──approve again──▶ approved (next revision, old rejected rows deleted first)
//! imported | posted ──journal gone from EBS──▶ vanished (never silently re-posted)
//! vanished ──archive (a person)──▶ archived
//! imported | posted ──reversing journal imported (see [`reversal`])──▶ reversed ──approve──▶ approved (next revision)
//! new mapping version: proposed | needs_mapping | inconsistent | approved | rejected ──▶ re-proposed
//!   (an approval lapses only if the proposal's hash changed; a rejected batch stays
//!   rejected until approved again unless the new proposal is itself blocked)
//! ```
//!
//! A settlement's status is its worst batch. [`SyncError`] is the one error type;
//! [`messages`] is the stable contract (additive changes only).

// Errors carry the client errors whole (codes, request ids) for the report; their size
// does not matter next to a network round trip.
#![allow(clippy::result_large_err)]

pub mod messages;

pub use messages::{Collected, ProgressSink, SyncError, SyncMsg};

pub mod alerts;
pub mod batches;
pub mod context;
pub mod headless;
pub mod propose;
pub mod pull;
pub mod scheduler;

pub mod controls;
pub mod convert;
pub mod posting;
pub mod reconcile;
pub mod replay;
pub mod reversal;
