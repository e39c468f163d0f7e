//! `ml-connector replay ID` (re-run a failed step from the stored inputs) and
//! `ml-connector vanished SETTLEMENT --period P --repost|--archive` (a journal deleted in
//! EBS after import: post it again as the next revision, or archive it).

use super::output::{emit, outln};
use std::path::Path;

use clap::Args;

use crate::ledger::state::BatchState;
use crate::store::BatchKey;
use crate::sync::ProgressSink;
use crate::sync::replay::{ReplayTarget, replay_with_context};

use super::reverse::{say, wire};

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// An audit entry's sequence number (`ml-connector audit`) or a batch SETTLEMENT/PERIOD.
    #[arg(value_parser = parse_target)]
    pub id: ReplayTarget,
}

fn parse_target(s: &str) -> Result<ReplayTarget, String> {
    s.parse()
}

pub fn run(
    args: ReplayArgs,
    config: Option<&Path>,
    data_dir: Option<&Path>,
) -> anyhow::Result<i32> {
    let (ctx, engine) = wire(config, data_dir, "ml-connector replay")?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let out = replay_with_context(&ctx, &engine, &args.id, &ProgressSink::noop()).await?;
        ctx.store.flush()?;
        let code = match &out.batch {
            Some(b) if b.error.is_some() => 4,
            _ => 0,
        };
        Ok(emit(
            "output",
            &format!("{}\n", serde_json::to_string(&out)?),
            code,
        ))
    })
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("choice").required(true).args(["repost", "archive"])))]
pub struct VanishedArgs {
    pub settlement: String,
    #[arg(long, value_name = "PERIOD")]
    pub period: String,
    /// Approve it again and post it as the next revision.
    #[arg(long)]
    pub repost: bool,
    /// Keep it out of EBS: archived, with who and why in the audit trail.
    #[arg(long)]
    pub archive: bool,
}

pub fn run_vanished(
    args: VanishedArgs,
    config: Option<&Path>,
    data_dir: Option<&Path>,
) -> anyhow::Result<i32> {
    let (ctx, engine) = wire(config, data_dir, "ml-connector vanished")?;
    let key = BatchKey::new(args.settlement.clone(), args.period.clone());
    let now = chrono::Utc::now();
    if args.archive {
        let rec = engine.archive_vanished(&key, &ctx.actor, now)?;
        outln!("{key}: {}", rec.state)?;
        return Ok(0);
    }
    let rec = ctx
        .store
        .batch(&key)?
        .ok_or_else(|| anyhow::anyhow!("batch {key} is not in the store"))?;
    if rec.state != BatchState::Vanished {
        anyhow::bail!("batch {key} is {}, not vanished", rec.state);
    }
    engine.approve_batches(std::slice::from_ref(&key), &ctx.actor, now)?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let out = engine.post_keys(std::slice::from_ref(&key), &say).await?;
        ctx.store.flush()?;
        let code = if out.iter().all(|o| o.error.is_none()) {
            0
        } else {
            4
        };
        let text: String = out
            .iter()
            .map(|o| {
                format!(
                    "{}: {} (revision {}){}\n",
                    o.key,
                    o.state,
                    o.revision,
                    o.error
                        .clone()
                        .or(o.reason.clone())
                        .map(|r| format!(": {r}"))
                        .unwrap_or_default()
                )
            })
            .collect();
        Ok(emit("output", &text, code))
    })
}
