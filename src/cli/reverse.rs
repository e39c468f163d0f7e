//! `ml-connector reverse SETTLEMENT [--period P] [--into P] [--yes]`: undo an imported or
//! posted batch by a reversing journal (never by deleting), after showing what will be
//! reversed and asking for confirmation.

use super::output::{errln, out, outln};
use std::io::BufRead;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::Args;

use crate::config::{Config, Paths};
use crate::ledger::state::BatchState;
use crate::store::{BatchKey, Store};
use crate::sync::context::{SyncContext, SyncOptions};
use crate::sync::posting::{PostingEngine, PostingProgress};

#[derive(Debug, Args)]
pub struct ReverseArgs {
    /// The settlement whose batch is reversed.
    pub settlement: String,
    /// The batch's period (default: every imported or posted batch of the settlement).
    #[arg(long, value_name = "PERIOD")]
    pub period: Option<String>,
    /// Date the reversal in this open period (default: the first open period at or after
    /// the original's).
    #[arg(long, value_name = "PERIOD")]
    pub into: Option<String>,
    /// Do not ask for confirmation.
    #[arg(long)]
    pub yes: bool,
}

/// The wired sync context and posting engine of a command run by a person.
pub(crate) fn wire(
    config: Option<&Path>,
    data_dir: Option<&Path>,
    command: &str,
) -> anyhow::Result<(SyncContext, PostingEngine)> {
    let paths = Paths::resolve(config, data_dir)?;
    let config = Config::load(&paths.config_file)?;
    if let Some(warning) =
        crate::config::credentials::permission_warning(&config.credentials_path())
    {
        super::output::errln!("warning: {warning}");
    }
    let creds = config
        .unlock_without_prompt()
        .and_then(|u| config.load_credentials(&u))
        .context("opening the credentials (set ML_CONNECTOR_PASSPHRASE or configure `identity`)")?;
    let store = Arc::new(Store::open(&paths.data_dir, command)?);
    let ctx = SyncContext::new(Arc::new(config), &creds, store, SyncOptions::default())?;
    if ctx.ebs.is_empty() {
        bail!("no EBS connection: configure [ebs] and store EBS credentials");
    }
    let engine = PostingEngine::from_context(&ctx);
    Ok((ctx, engine))
}

pub(crate) fn confirm(question: &str) -> anyhow::Result<bool> {
    super::output::stderr_text(format_args!("{question} [y/N] "));
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "YES"))
}

pub(crate) fn say(p: PostingProgress) {
    errln!("  {}: {} {}", p.key, p.step, p.detail);
}

pub fn run(
    args: ReverseArgs,
    config: Option<&Path>,
    data_dir: Option<&Path>,
) -> anyhow::Result<i32> {
    let (ctx, engine) = wire(config, data_dir, "ml-connector reverse")?;
    let keys: Vec<BatchKey> = match &args.period {
        Some(p) => vec![BatchKey::new(args.settlement.clone(), p.clone())],
        None => ctx
            .store
            .batches_for(&args.settlement)?
            .into_iter()
            .filter(|b| matches!(b.state, BatchState::Imported | BatchState::Posted))
            .map(|b| b.key())
            .collect(),
    };
    if keys.is_empty() {
        bail!(
            "settlement {} has no imported or posted batch to reverse",
            args.settlement
        );
    }
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let mut code = 0;
        for key in keys {
            let plan = engine.plan_reversal(&key, args.into.as_deref()).await?;
            out!("{}", plan.describe())?;
            if !args.yes && !confirm("Send this reversing journal to EBS?")? {
                errln!("{key}: not reversed");
                code = 3;
                continue;
            }
            let out = engine.reverse(&plan, &ctx.actor, &say).await?;
            outln!(
                "{key}: {} (revision {}){}",
                out.state,
                out.revision,
                out.reason.map(|r| format!(": {r}")).unwrap_or_default()
            )?;
            if out.state != BatchState::Reversed {
                code = 3;
            }
        }
        ctx.store.flush()?;
        Ok(code)
    })
}
