//! Command-line wiring: parses arguments and hands off to the layers below.
//!
//! Each command family lives in its own file; this module only routes.

use clap::{Parser, Subcommand};

pub mod sim_ebs;
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
    /// Run a local simulator (Amazon SP-API or Oracle EBS).
    Sim(SimArgs),
}

#[derive(Debug, clap::Args)]
pub struct SimArgs {
    #[command(subcommand)]
    pub command: SimCommand,
}

#[derive(Debug, Subcommand)]
pub enum SimCommand {
    /// Oracle E-Business Suite R12.2 behind ISG REST.
    Ebs(sim_ebs::SimEbsArgs),
}

/// Runs the parsed command; returns the process exit code.
pub fn run(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        None => {
            use clap::CommandFactory;
            Cli::command().print_help()?;
            Ok(0)
        }
        Some(Command::Sim(SimArgs {
            command: SimCommand::Ebs(args),
        })) => sim_ebs::run(args),
    }
}
