//! Command-line wiring: parses arguments and hands off to the layers below.
//!
//! Each command family lives in its own file; this module only routes.

use clap::{Parser, Subcommand};

pub mod bench_tui;
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
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Measure how fast things are.
    #[command(subcommand)]
    Bench(BenchCommand),
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Frame render time of the review screen on a 1,000,000-row settlement,
    /// first frame with 100 settlements, peak memory.
    Tui(bench_tui::BenchTuiArgs),
}

/// Runs the parsed command; returns the process exit code.
pub fn run(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        None => {
            use clap::CommandFactory;
            Cli::command().print_help()?;
            Ok(0)
        }
        Some(Command::Bench(BenchCommand::Tui(args))) => bench_tui::run(args),
    }
}
