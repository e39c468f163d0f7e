//! Runs the sync on `[schedule] every`, on demand, until asked to stop.
//!
//! A run is never cut in the middle of a write: cancellation (SIGINT / SIGTERM, the
//! TUI quitting) is checked between items and between steps, and ends every wait at
//! once (rate-limit pauses, backoff, import polling, requests in flight: see
//! [`crate::retry`]); the loop ends at the next safe point. A "sync now" request starts
//! the next run at once.

use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::context::SyncContext;
use super::headless::{RunReport, run_once};
use super::messages::{ProgressSink, SyncError};
use super::posting::PostingEngine;

/// A request to the scheduler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// Run now instead of waiting for the next tick.
    SyncNow,
}

/// Cancels `cancel` on SIGINT or SIGTERM (the current step then ends at a safe point).
pub fn stop_on_signals(cancel: CancellationToken) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let term = signal(SignalKind::terminate());
            let int = signal(SignalKind::interrupt());
            match (term, int) {
                (Ok(mut term), Ok(mut int)) => {
                    tokio::select! {
                        _ = term.recv() => {}
                        _ = int.recv() => {}
                        _ = cancel.cancelled() => return,
                    }
                }
                _ => {
                    tokio::select! {
                        _ = tokio::signal::ctrl_c() => {}
                        _ = cancel.cancelled() => return,
                    }
                }
            }
        }
        #[cfg(not(unix))]
        {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = cancel.cancelled() => return,
            }
        }
        tracing::info!("stop requested; finishing at the next safe point");
        cancel.cancel();
    })
}

/// Aborts a helper task when the function that spawned it returns.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Runs [`run_once`] every `every` (or on a [`Trigger::SyncNow`]) until `cancel`
/// fires; returns the last run's report, its exit code then
/// [`exit::INTERRUPTED`](super::headless::exit::INTERRUPTED).
pub async fn run_scheduled(
    ctx: &SyncContext,
    engine: Option<&PostingEngine>,
    sink: &ProgressSink,
    cancel: &CancellationToken,
    every: Duration,
    mut triggers: mpsc::UnboundedReceiver<Trigger>,
) -> Result<RunReport, SyncError> {
    let stopped = |mut r: RunReport| {
        r.exit_code = super::headless::exit::INTERRUPTED;
        Ok(r)
    };
    // A stop ends the schedule for good, so it may also end the context's client waits.
    let link = {
        let (from, to) = (cancel.clone(), ctx.cancel.clone());
        tokio::spawn(async move {
            from.cancelled().await;
            to.cancel();
        })
    };
    let _unlink = AbortOnDrop(link);
    loop {
        let report = run_once(ctx, engine, sink, cancel).await?;
        if cancel.is_cancelled() {
            return stopped(report);
        }
        tracing::info!(
            exit_code = report.exit_code,
            "run finished; next run in {}s ([schedule] every) or on request",
            every.as_secs()
        );
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            t = triggers.recv() => {
                if t.is_none() {
                    // Nobody can trigger any more: keep the schedule alone.
                    tokio::select! {
                        _ = tokio::time::sleep(every) => {}
                        _ = cancel.cancelled() => return stopped(report),
                    }
                }
            }
            _ = cancel.cancelled() => return stopped(report),
        }
    }
}
