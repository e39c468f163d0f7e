//! `ml-connector --headless [--once] [--report json]`: the unattended pipeline.
//!
//! Logs go to stderr as JSON lines (sync events and the run's counts as nested JSON
//! objects, never JSON strings inside JSON); the run report (with `--report json`) is one JSON
//! object on stdout; the exit code says how it went (see `sync::headless::exit`).

use std::path::Path;
use std::sync::Arc;

use crate::config::{Config, Paths};
use crate::store::Store;
use crate::sync::context::{SyncContext, SyncOptions};
use crate::sync::headless::{ErrorSystem, RunError, RunReport, exit, run_once};
use crate::sync::posting::PostingEngine;
use crate::sync::scheduler::{run_scheduled, stop_on_signals};
use crate::sync::{ProgressSink, SyncMsg};

/// Report formats of `--report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    Json,
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("ML_CONNECTOR_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // A closed stderr loses the logs, never the run (the default would panic).
        .log_internal_errors(false)
        .with_current_span(false)
        .try_init();
}

/// Prints the report (with `--report json`) and returns the process exit code: the run's,
/// or [`exit::OUTPUT`] when the run succeeded but its report could not be written.
pub fn print_report(report: &RunReport, format: Option<ReportFormat>) -> i32 {
    let code = report.exit_code;
    let Some(ReportFormat::Json) = format else {
        return code;
    };
    match serde_json::to_string(report) {
        Ok(s) => super::output::emit("report", &format!("{s}\n"), code),
        Err(e) => {
            tracing::error!(error = %e, "cannot render the run report");
            super::output::failed_code(code)
        }
    }
}

fn config_error(error: RunError, format: Option<ReportFormat>) -> i32 {
    tracing::error!(error = %error, "configuration");
    let report = RunReport::stopped(error, exit::CONFIGURATION, chrono::Utc::now());
    print_report(&report, format)
}

fn setup_error(operation: &str, e: impl std::fmt::Display) -> RunError {
    RunError::new(ErrorSystem::Config, operation, e.to_string())
}

/// Runs the unattended pipeline; returns the exit code.
pub fn run(
    config: Option<&Path>,
    data_dir: Option<&Path>,
    once: bool,
    format: Option<ReportFormat>,
    strict: bool,
) -> anyhow::Result<i32> {
    init_logging();
    let paths = match Paths::resolve(config, data_dir) {
        Ok(p) => p,
        Err(e) => return Ok(config_error(setup_error("configuration", e), format)),
    };
    let config = match Config::load(&paths.config_file) {
        Ok(c) => c,
        Err(e) => return Ok(config_error(setup_error("configuration", e), format)),
    };
    match crate::config::credentials::check_permissions(&config.credentials_path(), strict) {
        Ok(Some(warning)) => tracing::warn!(warning = %warning, "credentials"),
        Ok(None) => {}
        Err(e) => return Ok(config_error(setup_error("credentials", e), format)),
    }
    let creds = match config
        .unlock_without_prompt()
        .and_then(|u| config.load_credentials(&u))
    {
        Ok(c) => c,
        Err(e) => return Ok(config_error(setup_error("credentials", e), format)),
    };
    let store = match Store::open(&paths.data_dir, "ml-connector --headless") {
        Ok(s) => Arc::new(s),
        Err(e) => {
            tracing::error!(error = %e, "store");
            let report = RunReport::stopped(
                RunError::new(ErrorSystem::Store, "open", e.to_string()),
                exit::FAILURE,
                chrono::Utc::now(),
            );
            return Ok(print_report(&report, format));
        }
    };
    let every = config.schedule.every.0;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let options = SyncOptions {
            headless: true,
            ..SyncOptions::default()
        };
        let ctx = match SyncContext::new(Arc::new(config), &creds, store, options) {
            Ok(c) => c,
            Err(e) => {
                return Ok(config_error(
                    RunError::from_sync("configuration", &e),
                    format,
                ));
            }
        };
        drop(creds);
        let engine = (!ctx.ebs.is_empty()).then(|| PostingEngine::from_context(&ctx));
        let (sink, mut rx) = ProgressSink::channel();
        let logger = tokio::spawn(async move {
            while let Some(msg) = rx.recv().await {
                log_msg(&msg);
            }
        });
        // The context's token: a signal also ends the EBS clients' waits.
        let cancel = ctx.cancel.clone();
        let signals = stop_on_signals(cancel.clone());
        let result = if once {
            run_once(&ctx, engine.as_ref(), &sink, &cancel).await
        } else {
            let (_trigger_tx, triggers) = tokio::sync::mpsc::unbounded_channel();
            run_scheduled(&ctx, engine.as_ref(), &sink, &cancel, every, triggers).await
        };
        drop(sink);
        let _ = logger.await;
        signals.abort();
        let code = match result {
            Ok(report) => {
                log_json(
                    tracing::Level::INFO,
                    module_path!(),
                    tracing::enabled!(tracing::Level::INFO),
                    serde_json::json!({
                        "message": "run finished",
                        "exit_code": report.exit_code,
                        "counts": report.counts,
                        "settlement_counts": report.settlement_counts,
                    }),
                );
                print_report(&report, format)
            }
            Err(e) if e.is_configuration() => config_error(RunError::from_sync("run", &e), format),
            Err(e) => {
                tracing::error!(error = %e, "run failed");
                let report = RunReport::stopped(
                    RunError::from_sync("run", &e),
                    exit::FAILURE,
                    chrono::Utc::now(),
                );
                crate::sync::alerts::after_run(&ctx.config.alerts, &report, &ctx.store).await;
                print_report(&report, format)
            }
        };
        ctx.store.flush()?;
        Ok(code)
    })
}

fn log_msg(msg: &SyncMsg) {
    use tracing::Level;
    let (level, enabled) = match msg {
        SyncMsg::Error { .. } => (Level::WARN, tracing::enabled!(target: "sync", Level::WARN)),
        SyncMsg::Progress { .. } => (
            Level::DEBUG,
            tracing::enabled!(target: "sync", Level::DEBUG),
        ),
        _ => (Level::INFO, tracing::enabled!(target: "sync", Level::INFO)),
    };
    let event = serde_json::to_value(msg).unwrap_or_default();
    log_json(
        level,
        "sync",
        enabled,
        serde_json::json!({ "event": event }),
    );
}

/// Writes one log line in the `tracing` JSON layout (`timestamp`, `level`, `fields`,
/// `target`) with `fields` kept as a JSON object: the fmt layer can only record a field as
/// a string, which would put JSON inside a JSON string. `enabled`: what the level filter
/// (`ML_CONNECTOR_LOG`) says of this target and level.
fn log_json(level: tracing::Level, target: &str, enabled: bool, fields: serde_json::Value) {
    use std::io::Write;
    if !enabled {
        return;
    }
    let line = serde_json::json!({
        "timestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "level": level.as_str(),
        "fields": fields,
        "target": target,
    });
    // One write per line; a closed stderr loses the log, never the run.
    let _ = std::io::stderr()
        .lock()
        .write_all(format!("{line}\n").as_bytes());
}
