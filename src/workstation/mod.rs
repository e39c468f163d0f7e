//! The workstation bridge: runs the app's [`Effect`]s against the store, the
//! posting engine and EBS, and answers with [`Msg`]s carrying the app's view models.
//!
//! It sits above both `sync` and `app` (it speaks both), which is why it is its own
//! module rather than part of `sync`. It is one tokio task (plus short-lived workers
//! it spawns), never the UI task: every read, parse and network call happens here.
//! Sync progress ([`SyncMsg`](crate::sync::SyncMsg)) is forwarded as status bar
//! messages and batch updates, so the import status moves live while a post or a sync
//! round runs.
//!
//! - [`effects`]: one app effect → store, posting engine, EBS → app messages.
//! - [`mapping_editor`]: the mapping editor's effects (validate, preview, save).
//! - [`rounds`]: sync rounds and the forwarding of their progress.
//! - [`views`]: store records → the app's view models.
//!
//! A sync round in the workstation is reconcile → pull → propose → refresh
//! posted: unlike `--headless` it never approves or posts by itself (posting is
//! the accountant's confirmed decision). The mapping editor edits the mapping of
//! the settlement last opened for review (a marketplace may have its own file),
//! switching only while no draft is being edited.

// Errors carry the sync layer's errors whole (codes, request ids); their size does
// not matter next to a network round trip.
#![allow(clippy::result_large_err)]

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use tokio::sync::{Mutex, mpsc};
use tokio_util::sync::CancellationToken;

use crate::app::view::{self, BatchView};
use crate::app::{Effect, Msg};
use crate::store::BatchKey;
use crate::sync::context::SyncContext;
use crate::sync::messages::ProgressSink;
use crate::sync::posting::PostingEngine;
use crate::sync::propose::mapping_name;
use crate::sync::reversal::ReversalPlan;

mod effects;
mod error;
mod mapping_editor;
mod rounds;
mod views;

#[cfg(test)]
mod tests;

pub use effects::unfinished_posts;
pub use error::WorkstationError;

/// How the bridge runs.
#[derive(Debug, Clone)]
pub struct BridgeOptions {
    /// Background sync every this long (`None`: only on `r` / [`Effect::SyncNow`]).
    pub every: Option<Duration>,
    /// Run a sync round at start.
    pub sync_at_start: bool,
    /// Stops the bridge and its sync at the next safe point.
    pub cancel: CancellationToken,
}

impl Default for BridgeOptions {
    fn default() -> Self {
        BridgeOptions {
            every: None,
            sync_at_start: true,
            cancel: CancellationToken::new(),
        }
    }
}

fn app_key(k: &BatchKey) -> view::BatchKey {
    view::BatchKey::new(k.settlement_id.clone(), k.period.clone())
}

fn store_key(k: &view::BatchKey) -> BatchKey {
    BatchKey::new(k.settlement_id.clone(), k.period.clone())
}

/// Shared state of the bridge and its workers.
struct Inner {
    ctx: SyncContext,
    engine: PostingEngine,
    tx: mpsc::Sender<Msg>,
    sink: ProgressSink,
    /// Held by the propose step of a round and by a mapping save (a save and a
    /// round must not import mapping files against each other).
    propose_lock: Mutex<()>,
    /// The last view sent per batch (only changes are re-sent).
    sent: StdMutex<HashMap<BatchKey, BatchView>>,
    /// Concurrent request phase/status per request id, as EBS last reported it.
    requests: StdMutex<HashMap<i64, (String, String)>>,
    /// Row counts, carried balance and reserve per raw file hash.
    row_counts: StdMutex<HashMap<String, views::RawFigures>>,
    /// The settlement last opened for review.
    focus: StdMutex<Option<String>>,
    /// The mapping the editor shows, and whether a draft of it is being edited.
    editing: StdMutex<(String, bool)>,
    /// Batches being posted from the workstation (posting progress refreshes them).
    posting: StdMutex<BTreeSet<BatchKey>>,
    /// The reversal plans last shown, per batch (a confirmed reversal sends exactly that).
    plans: StdMutex<HashMap<BatchKey, ReversalPlan>>,
}

/// Starts the bridge: executes every effect from `effects`, answers on `tx`.
/// Ends when `effects` closes, on [`Effect::Quit`] or when `options.cancel`
/// fires; in-flight work stops at its next safe point before the task ends.
pub fn spawn(
    ctx: SyncContext,
    engine: PostingEngine,
    tx: mpsc::Sender<Msg>,
    effects: mpsc::Receiver<Effect>,
    options: BridgeOptions,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(run(ctx, engine, tx, effects, options))
}

async fn run(
    ctx: SyncContext,
    engine: PostingEngine,
    tx: mpsc::Sender<Msg>,
    mut effects: mpsc::Receiver<Effect>,
    options: BridgeOptions,
) {
    let cancel = options.cancel.clone();
    let engine = engine.with_cancel(cancel.clone());
    let (sink, sync_rx) = ProgressSink::channel();
    let default_mapping = mapping_name(&ctx.config.mapping_path());
    let inner = Arc::new(Inner {
        ctx,
        engine,
        tx,
        sink,
        propose_lock: Mutex::new(()),
        sent: StdMutex::new(HashMap::new()),
        requests: StdMutex::new(HashMap::new()),
        row_counts: StdMutex::new(HashMap::new()),
        focus: StdMutex::new(None),
        editing: StdMutex::new((default_mapping, false)),
        posting: StdMutex::new(BTreeSet::new()),
        plans: StdMutex::new(HashMap::new()),
    });
    if let Ok(list) = effects::unfinished_posts(&inner.ctx.store)
        && !list.is_empty()
    {
        inner
            .say(Msg::Error(format!(
                "unfinished post from before: {}; post the approved periods (p) to finish",
                list.join("; ")
            )))
            .await;
    }
    let forwarder = tokio::spawn(rounds::forward(inner.clone(), sync_rx));
    let (trigger_tx, trigger_rx) = mpsc::unbounded_channel::<()>();
    let scheduler = tokio::spawn(rounds::schedule(
        inner.clone(),
        options.every,
        options.sync_at_start,
        trigger_rx,
        cancel.clone(),
    ));
    let mut workers = tokio::task::JoinSet::new();
    loop {
        let effect = tokio::select! {
            e = effects.recv() => e,
            _ = cancel.cancelled() => None,
        };
        let Some(effect) = effect else { break };
        match effect {
            Effect::Quit => break,
            Effect::SyncNow => {
                // `r` also means: ask EBS again about accounts and periods
                for c in inner.ctx.ebs.values() {
                    c.clear_check_cache().await;
                }
                let _ = trigger_tx.send(());
            }
            Effect::LoadOrder(order_id) => {
                let inner = inner.clone();
                workers.spawn(async move {
                    let id = order_id.clone();
                    let order = inner
                        .blocking(move |i| Ok(i.ctx.store.order(&id)?))
                        .await
                        .ok()
                        .flatten()
                        .map(|o| crate::app::view::OrderView::from_json(&order_id, &o.data));
                    inner.say(Msg::OrderLoaded { order_id, order }).await;
                });
            }
            Effect::Export { file, contents } => {
                let inner = inner.clone();
                workers.spawn(async move {
                    let msg = match write_export(&file, &contents).await {
                        Ok(path) => Msg::Info(format!("exported to {}", path.display())),
                        Err(e) => Msg::Error(format!("export {file} failed: {e}")),
                    };
                    inner.say(msg).await;
                });
            }
            other => {
                let inner = inner.clone();
                workers.spawn(async move {
                    if let Err(e) = effects::execute(&inner, other).await {
                        inner.say(Msg::Error(e.to_string())).await;
                    }
                });
            }
        }
        // reap finished workers
        while workers.try_join_next().is_some() {}
    }
    cancel.cancel();
    let _ = scheduler.await;
    while workers.join_next().await.is_some() {}
    forwarder.abort();
    let _ = inner.ctx.store.flush();
}

/// Where `x` writes: `$ML_CONNECTOR_EXPORT_DIR` when set, else the current directory.
pub fn export_dir() -> std::path::PathBuf {
    std::env::var_os("ML_CONNECTOR_EXPORT_DIR")
        .filter(|d| !d.is_empty())
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from("."))
}

/// Writes an export (through a temporary file, so a reader never sees half of it).
async fn write_export(file: &str, contents: &str) -> std::io::Result<std::path::PathBuf> {
    let dir = export_dir();
    tokio::fs::create_dir_all(&dir).await?;
    let path = dir.join(file);
    let tmp = dir.join(format!(".{file}.tmp"));
    tokio::fs::write(&tmp, contents).await?;
    tokio::fs::rename(&tmp, &path).await?;
    Ok(std::fs::canonicalize(&path).unwrap_or(path))
}

impl Inner {
    async fn say(&self, msg: Msg) {
        let _ = self.tx.send(msg).await;
    }

    /// Runs blocking work (store reads, parsing) off the async workers.
    async fn blocking<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&Inner) -> Result<T, WorkstationError> + Send + 'static,
    ) -> Result<T, WorkstationError> {
        let me = self.clone();
        tokio::task::spawn_blocking(move || f(&me)).await?
    }
}
