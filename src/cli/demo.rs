//! `ml-connector demo --sims-only --data-dir DIR`: the demo world for people and scripts.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use crate::sim::world::{DemoOptions, DemoWorld};

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Start only the simulators and write the client setup (without it: the workstation on the demo world).
    #[arg(long)]
    pub sims_only: bool,
    /// Run the unattended pipeline against the demo world instead of the workstation.
    #[arg(long, conflicts_with = "sims_only")]
    pub headless: bool,
    /// With --headless: one run, then exit.
    #[arg(long, requires = "headless")]
    pub once: bool,
    /// With --headless: print the run report on stdout at the end.
    #[arg(long, value_name = "FORMAT", requires = "headless")]
    pub report: Option<super::headless::ReportFormat>,
    /// Seed of the simulated world.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Simulated seconds per real second on the Amazon side.
    #[arg(long, default_value_t = 3600.0)]
    pub time_scale: f64,
    /// Share of Amazon and EBS requests answered with a fault.
    #[arg(long, default_value_t = 0.0)]
    pub fault_rate: f64,
}

pub fn run(args: DemoArgs, data_dir: Option<&std::path::Path>) -> anyhow::Result<i32> {
    if !args.sims_only {
        return super::tui::demo(super::tui::DemoRun {
            seed: args.seed,
            time_scale: args.time_scale,
            fault_rate: args.fault_rate,
            headless: args.headless,
            once: args.once,
            report: args.report,
        });
    }
    let dir: PathBuf = data_dir.map(PathBuf::from).ok_or_else(|| {
        anyhow::anyhow!("--data-dir DIR is required: the demo writes its config there")
    })?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let mut opts = DemoOptions::new(&dir);
        opts.seed = args.seed;
        opts.time_scale = args.time_scale;
        opts.amazon_fault_rate = args.fault_rate;
        opts.ebs_fault_rate = args.fault_rate;
        let world = DemoWorld::start(opts).await?;
        {
            let mut out = std::io::stdout().lock();
            writeln!(out, "{}", world.announce())?;
            out.flush()?;
        }
        let _ = tokio::signal::ctrl_c().await;
        world.stop().await;
        Ok(0)
    })
}
