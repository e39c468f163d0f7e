//! Sync rounds in the workstation (reconcile → pull → propose → refresh posted, never
//! posting), run at start, on a timer and on request, and the forwarding of sync
//! progress into the app's status bar and batch updates.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::app::Msg;
use crate::store::BatchKey;
use crate::sync::messages::{SyncError, SyncMsg};
use crate::sync::propose::propose_pending;

use super::Inner;
use super::effects::{refresh_requests, refresh_views, remember, send_batches};

/// Runs a round at start (when asked), every `every`, and on each trigger, until cancelled.
pub(super) async fn schedule(
    inner: Arc<Inner>,
    every: Option<Duration>,
    at_start: bool,
    mut triggers: mpsc::UnboundedReceiver<()>,
    cancel: CancellationToken,
) {
    let mut first = at_start;
    loop {
        if !first {
            let wait = async {
                match every {
                    Some(d) => tokio::time::sleep(d).await,
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                _ = wait => {}
                t = triggers.recv() => if t.is_none() { return },
                _ = cancel.cancelled() => return,
            }
        }
        first = false;
        round(&inner, &cancel).await;
        // requests made while the round ran are served by it
        while triggers.try_recv().is_ok() {}
        if cancel.is_cancelled() {
            return;
        }
    }
}

/// One workstation sync round: reconcile, pull, propose, refresh posted. Never posts.
async fn round(inner: &Arc<Inner>, cancel: &CancellationToken) {
    let ctx = &inner.ctx;
    let sink = &inner.sink;
    let mut errors: Vec<String> = Vec::new();
    let note = |scope: &str, e: &SyncError, errors: &mut Vec<String>| {
        sink.error(scope, e, false);
        errors.push(format!("{scope}: {e}"));
    };
    // Ledgers, periods and rates are read from EBS again in every round.
    ctx.ledgers.begin_run();
    if !ctx.ebs.is_empty()
        && let Err(e) = inner.engine.reconcile_in_flight(sink).await
    {
        note("reconcile", &e, &mut errors);
    }
    let mut pulled = 0usize;
    for seller in &ctx.sellers {
        if cancel.is_cancelled() {
            break;
        }
        match crate::sync::pull::pull_seller(ctx, seller, sink, cancel).await {
            Ok(s) => pulled += s.new_settlements.len(),
            Err(SyncError::Cancelled) => break,
            Err(e) => note(seller.name(), &e, &mut errors),
        }
    }
    let mut proposed = 0usize;
    if !cancel.is_cancelled() {
        let _guard = inner.propose_lock.lock().await;
        match propose_pending(ctx, sink, Utc::now()).await {
            Ok(s) => {
                proposed = s.proposed.len();
                for (id, why) in &s.failed {
                    errors.push(format!("settlement {id}: {why}"));
                }
            }
            Err(e) => note("propose", &e, &mut errors),
        }
    }
    if !cancel.is_cancelled()
        && !ctx.ebs.is_empty()
        && let Err(e) = inner.engine.refresh_posted(sink).await
    {
        note("refresh", &e, &mut errors);
    }
    let ok = errors.is_empty();
    let summary = if ok {
        format!("synced: {pulled} new settlement(s), {proposed} journal(s) proposed")
    } else {
        format!(
            "sync finished with {} problem(s): {}",
            errors.len(),
            errors.join("; ")
        )
    };
    sink.send(SyncMsg::RunFinished {
        at: Utc::now(),
        ok,
        summary,
    });
}

/// Turns sync messages into app messages (progress coalesced per burst).
pub(super) async fn forward(inner: Arc<Inner>, mut rx: mpsc::UnboundedReceiver<SyncMsg>) {
    let mut last: Option<(String, u64, Option<u64>)> = None;
    while let Some(first) = rx.recv().await {
        let mut burst = vec![first];
        while let Ok(m) = rx.try_recv() {
            burst.push(m);
        }
        let mut progress = None;
        let mut keys: BTreeSet<BatchKey> = BTreeSet::new();
        let mut out = Vec::new();
        let mut finished = None;
        for m in burst {
            match m {
                SyncMsg::Progress {
                    scope,
                    what,
                    done,
                    total,
                    detail,
                } => {
                    if scope == "ebs" {
                        // posting steps: "settlement/period: …"
                        if let Some(k) = detail
                            .as_deref()
                            .and_then(|d| d.split_once(": "))
                            .and_then(|(k, _)| k.split_once('/'))
                        {
                            keys.insert(BatchKey::new(k.0, k.1));
                        }
                        if let Ok(p) = inner.posting.lock() {
                            keys.extend(p.iter().cloned());
                        }
                    }
                    let what = match detail {
                        Some(d) => format!("{scope}: {what} ({d})"),
                        None => format!("{scope}: {what}"),
                    };
                    last = Some((what.clone(), done, total));
                    progress = Some(Msg::SyncProgress {
                        what,
                        done,
                        total,
                        waiting_on_rate_limit: None,
                    });
                }
                SyncMsg::RateLimited {
                    scope,
                    operation,
                    wait,
                } => {
                    let (what, done, total) = last
                        .clone()
                        .unwrap_or_else(|| (format!("{scope}: waiting"), 0, None));
                    progress = Some(Msg::SyncProgress {
                        what,
                        done,
                        total,
                        waiting_on_rate_limit: Some(format!(
                            "{operation} ({:.1}s)",
                            wait.as_secs_f64()
                        )),
                    });
                }
                SyncMsg::Batch { key, .. } => {
                    keys.insert(key);
                }
                SyncMsg::Error { scope, message, .. } => {
                    out.push(Msg::Error(format!("{scope}: {message}")));
                }
                SyncMsg::SettlementPulled { .. } => {}
                SyncMsg::RunFinished { at, ok, summary } => {
                    last = None;
                    // a post left half done (e.g. before the last quit) is said every round
                    let summary = match super::effects::unfinished_posts(&inner.ctx.store) {
                        Ok(list) if !list.is_empty() => {
                            format!("{summary}; unfinished post: {}", list.join("; "))
                        }
                        _ => summary,
                    };
                    finished = Some(Msg::SyncFinished { at, ok, summary });
                }
            }
        }
        if let Some(p) = progress
            && finished.is_none()
        {
            inner.say(p).await;
        }
        if !keys.is_empty() {
            let keys: Vec<BatchKey> = keys.into_iter().collect();
            send_batches(&inner, &keys).await;
        }
        for m in out {
            inner.say(m).await;
        }
        // the round's data first, then "synced": what the status bar says is on screen
        if let Some(done) = finished {
            if let Ok(all) = inner.blocking(|i| i.all_batches()).await {
                remember(&inner, &all);
                inner.say(Msg::BatchesLoaded(all.clone())).await;
                refresh_views(&inner).await;
                inner.say(done).await;
                refresh_requests(&inner, all).await;
            } else {
                refresh_views(&inner).await;
                inner.say(done).await;
            }
        }
    }
}
