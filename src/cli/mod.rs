//! Command-line wiring: parses arguments and hands off to the layers below.
//!
//! Each command family lives in its own file; this module only routes.

pub mod audit;
pub mod bench;
pub mod bench_amazon;
pub mod bench_ebs;
pub mod bench_store;
pub mod bench_tui;
pub mod credentials;
pub mod demo;
pub mod doctor;
pub mod headless;
pub mod mapping;
pub mod output;
pub mod replay;
pub mod reverse;
pub mod settlement;
pub mod sim_amazon;
pub mod sim_ebs;
pub mod store;
pub mod tui;

use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "ml-connector",
    version,
    about = "Moves Amazon Seller Central money into Oracle E-Business Suite and proves it got there"
)]
pub struct Cli {
    /// Configuration file (default: config.toml in the user's config directory).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Data directory holding the store (default: the user's data directory).
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Refuse (exit code 2) instead of warning when the credentials file can be read by
    /// other users (headless, the workstation, doctor, `credentials check`).
    #[arg(long, global = true)]
    pub strict: bool,
    /// Run unattended: sync, then post what `[headless] auto_post` allows.
    #[arg(long)]
    pub headless: bool,
    /// With --headless: one run, then exit (default: run on `[schedule] every`).
    #[arg(long, requires = "headless")]
    pub once: bool,
    /// With --headless: print the run report on stdout at the end.
    #[arg(long, value_name = "FORMAT", requires = "headless")]
    pub report: Option<headless::ReportFormat>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Settlement files: preview the GL journals they become.
    Settlement(settlement::SettlementArgs),
    /// Mapping files: check rules and accounts.
    Mapping(mapping::MappingArgs),
    /// Benchmarks (run on a release build).
    Bench(bench::BenchArgs),
    /// Run a simulator of an external system (for tests, demos, first steps).
    Sim {
        #[command(subcommand)]
        command: SimCommand,
    },
    /// Write or check the encrypted credentials file.
    #[command(subcommand)]
    Credentials(credentials::CredentialsCommand),
    /// Verify, export or import the store.
    #[command(subcommand)]
    Store(store::StoreCommand),
    /// Show the audit trail.
    Audit(audit::AuditArgs),
    /// Check the configuration against Amazon and EBS: does it fit?
    Doctor(doctor::DoctorArgs),
    /// Undo an imported or posted batch by a reversing journal (shows it, asks first).
    Reverse(reverse::ReverseArgs),
    /// Re-run a failed step (audit sequence number or SETTLEMENT/PERIOD) from the stored inputs.
    Replay(replay::ReplayArgs),
    /// A journal deleted in EBS after import: --repost as the next revision, or --archive.
    Vanished(replay::VanishedArgs),
    /// The demo: the workstation on a simulated world (`--headless --once`: the unattended run; `--sims-only --data-dir DIR`: only the simulators and a ready config).
    Demo(demo::DemoArgs),
}

#[derive(Debug, Subcommand)]
pub enum SimCommand {
    /// Amazon SP-API + Login with Amazon simulator; serves until killed.
    Amazon(sim_amazon::SimAmazonArgs),
    /// Oracle E-Business Suite R12.2 behind ISG REST; serves until killed.
    Ebs(sim_ebs::SimEbsArgs),
}

/// Runs the parsed command; returns the process exit code.
pub fn run(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        None if cli.headless => headless::run(
            cli.config.as_deref(),
            cli.data_dir.as_deref(),
            cli.once,
            cli.report,
            cli.strict,
        ),
        None => tui::run(cli.config.as_deref(), cli.data_dir.as_deref(), cli.strict),
        Some(Command::Settlement(args)) => {
            settlement::run(args, cli.config.as_deref(), cli.data_dir.as_deref())
        }
        Some(Command::Mapping(args)) => mapping::run(args),
        Some(Command::Bench(args)) => bench::run(args),
        Some(Command::Sim { command }) => match command {
            SimCommand::Amazon(args) => sim_amazon::run(args),
            SimCommand::Ebs(args) => sim_ebs::run(args),
        },
        Some(Command::Credentials(cmd)) => credentials::run(
            cmd,
            cli.config.as_deref(),
            cli.data_dir.as_deref(),
            cli.strict,
        ),
        Some(Command::Store(cmd)) => {
            store::run(cmd, cli.config.as_deref(), cli.data_dir.as_deref())
        }
        Some(Command::Audit(args)) => {
            audit::run(args, cli.config.as_deref(), cli.data_dir.as_deref())
        }
        Some(Command::Doctor(args)) => doctor::run(args, cli.config.as_deref(), cli.strict),
        Some(Command::Reverse(args)) => {
            reverse::run(args, cli.config.as_deref(), cli.data_dir.as_deref())
        }
        Some(Command::Replay(args)) => {
            replay::run(args, cli.config.as_deref(), cli.data_dir.as_deref())
        }
        Some(Command::Vanished(args)) => {
            replay::run_vanished(args, cli.config.as_deref(), cli.data_dir.as_deref())
        }
        Some(Command::Demo(args)) => demo::run(args, cli.data_dir.as_deref()),
    }
}
