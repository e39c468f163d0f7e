//! The workstation: bare `ml-connector` on the configured system, and `ml-connector demo`
//! on a simulated world started in-process (`demo --headless` runs the unattended
//! pipeline against that world instead).
//!
//! The terminal belongs to the UI task; the workstation bridge (`workstation`) runs every
//! effect and the background sync. Quitting stops sync at its next safe point.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::config::{Config, Credentials, Paths};
use crate::sim::world::{DemoOptions, DemoWorld};
use crate::store::Store;
use crate::sync::ProgressSink;
use crate::sync::context::{SyncContext, SyncOptions};
use crate::sync::headless::{RunReport, run_once};
use crate::sync::posting::PostingEngine;
use crate::sync::scheduler::{run_scheduled, stop_on_signals};
use crate::workstation::{self, BridgeOptions};

use super::headless::ReportFormat;
use super::output::errln;

/// Bare `ml-connector`: the TUI on the configured system.
pub fn run(config: Option<&Path>, data_dir: Option<&Path>, strict: bool) -> anyhow::Result<i32> {
    let paths = Paths::resolve(config, data_dir)?;
    let config = Config::load(&paths.config_file)?;
    match crate::config::credentials::check_permissions(&config.credentials_path(), strict) {
        Ok(Some(warning)) => eprintln!("warning: {warning}"),
        Ok(None) => {}
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(crate::sync::headless::exit::CONFIGURATION);
        }
    }
    // asked before the alternate screen: the prompt needs the plain terminal
    let unlock = super::credentials::unlock_for(&config, false, false)?;
    let creds = config.load_credentials(&unlock)?;
    drop(unlock);
    let store = Store::open(&paths.data_dir, "ml-connector (workstation)")
        .with_context(|| format!("opening the store in {}", paths.data_dir.display()))?;
    let every = config.schedule.every.0;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(workstation(
        config,
        &creds,
        store,
        SyncOptions::default(),
        Some(every),
    ))?;
    Ok(0)
}

/// Wires the sync context and runs the TUI until `q`.
async fn workstation(
    config: Config,
    creds: &Credentials,
    store: Store,
    options: SyncOptions,
    every: Option<Duration>,
) -> anyhow::Result<()> {
    let ctx = SyncContext::new(Arc::new(config), creds, Arc::new(store), options)?;
    let engine = PostingEngine::from_context(&ctx);
    let actor = ctx.actor.clone();
    let store = ctx.store.clone();
    let (msg_tx, msg_rx) = mpsc::channel(1024);
    let (fx_tx, fx_rx) = mpsc::channel(64);
    let cancel = CancellationToken::new();
    let bridge = workstation::spawn(
        ctx,
        engine,
        msg_tx.clone(),
        fx_rx,
        BridgeOptions {
            every,
            sync_at_start: true,
            cancel: cancel.clone(),
        },
    );
    let result = crate::ui::run_terminal_app(actor, msg_tx, msg_rx, fx_tx).await;
    cancel.cancel();
    errln!("stopping sync at the next safe point…");
    let _ = bridge.await;
    // a post left half done is said at exit (and again at the next start)
    match workstation::unfinished_posts(&store) {
        Ok(list) => {
            for line in list {
                eprintln!(
                    "warning: {line}: the approved period(s) are not in EBS yet; post them (p) next time"
                );
            }
        }
        Err(e) => eprintln!("warning: could not check for unfinished posts: {e}"),
    }
    store.flush()?;
    // Leaving after changes leaves a rotating backup (issue 14).
    if let Err(e) = store.backup_if_changed(crate::store::DEFAULT_BACKUPS) {
        eprintln!("warning: store backup: {e}");
    }
    result?;
    Ok(())
}

/// A temporary directory removed when dropped (the demo's world and data).
struct Throwaway(PathBuf);

impl Throwaway {
    fn new() -> anyhow::Result<Throwaway> {
        use rand::Rng;
        let n: u64 = rand::rng().random();
        let dir = std::env::temp_dir().join(format!("ml-connector-demo-{n:016x}"));
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("creating the demo directory {}", dir.display()))?;
        Ok(Throwaway(dir))
    }
}

impl Drop for Throwaway {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// How `demo` runs (from its command line).
#[derive(Debug, Clone)]
pub struct DemoRun {
    pub seed: u64,
    pub time_scale: f64,
    pub fault_rate: f64,
    pub headless: bool,
    pub once: bool,
    pub report: Option<ReportFormat>,
}

async fn start_world(run: &DemoRun, dir: &Path, auto_post: bool) -> anyhow::Result<DemoWorld> {
    let mut opts = DemoOptions::new(dir.join("world"));
    opts.seed = run.seed;
    opts.time_scale = run.time_scale;
    opts.amazon_fault_rate = run.fault_rate;
    opts.ebs_fault_rate = run.fault_rate;
    opts.auto_post = auto_post;
    // throwaway credentials: a cheap key derivation keeps start-up instant
    opts.work_factor = Some(10);
    Ok(DemoWorld::start(opts).await?)
}

fn world_setup(world: &DemoWorld) -> anyhow::Result<(Config, Credentials)> {
    let config = Config::load(&world.config_path)?;
    let creds = config.load_credentials(&crate::config::Unlock::Passphrase(
        world.passphrase().clone(),
    ))?;
    Ok((config, creds))
}

/// `ml-connector demo` (without `--sims-only`).
pub fn demo(run: DemoRun) -> anyhow::Result<i32> {
    let dir = Throwaway::new()?;
    let runtime = tokio::runtime::Runtime::new()?;
    let code = runtime.block_on(async {
        let world = start_world(&run, &dir.0, run.headless).await?;
        let (config, creds) = world_setup(&world)?;
        let store = Store::open(&dir.0.join("data"), "ml-connector demo")?;
        let every = config.schedule.every.0;
        let code = if run.headless {
            demo_headless(&run, config, &creds, store).await
        } else {
            let options = SyncOptions {
                amazon_time_scale: run.time_scale,
                headless: false,
            };
            workstation(config, &creds, store, options, Some(every))
                .await
                .map(|_| 0)
        };
        world.stop().await;
        code
    });
    drop(runtime);
    drop(dir);
    code
}

async fn demo_headless(
    run: &DemoRun,
    config: Config,
    creds: &Credentials,
    store: Store,
) -> anyhow::Result<i32> {
    let every = config.schedule.every.0;
    let options = SyncOptions {
        amazon_time_scale: run.time_scale,
        headless: true,
    };
    let ctx = SyncContext::new(Arc::new(config), creds, Arc::new(store), options)?;
    let engine = PostingEngine::from_context(&ctx);
    let (sink, mut rx) = ProgressSink::channel();
    let logger = tokio::spawn(async move {
        while let Some(msg) = rx.recv().await {
            if let Ok(line) = serde_json::to_string(&msg) {
                errln!("{line}");
            }
        }
    });
    let cancel = ctx.cancel.clone();
    let signals = stop_on_signals(cancel.clone());
    let result = if run.once {
        run_once(&ctx, Some(&engine), &sink, &cancel).await
    } else {
        let (_keep, triggers) = mpsc::unbounded_channel();
        run_scheduled(&ctx, Some(&engine), &sink, &cancel, every, triggers).await
    };
    drop(sink);
    let _ = logger.await;
    signals.abort();
    ctx.store.flush()?;
    let report: RunReport = result?;
    Ok(super::headless::print_report(&report, run.report))
}
