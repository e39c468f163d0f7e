//! `ml-connector store verify|export|import`: check, back up and restore the store.

use super::output::{errln, outln};
use std::io::{BufReader, BufWriter};
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Subcommand;

use crate::config::Paths;
use crate::store::Store;

#[derive(Debug, Subcommand)]
pub enum StoreCommand {
    /// Check integrity and cross-references; non-zero exit when anything is wrong.
    Verify,
    /// Write the whole store as JSON lines (to stdout unless --output).
    Export {
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Load an export into an empty data directory (`-` reads stdin).
    Import {
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
}

/// How this process names itself in the data directory's lock.
pub fn command_line() -> String {
    std::env::args().collect::<Vec<_>>().join(" ")
}

/// Opens the store of the resolved data directory.
pub fn open(config: Option<&Path>, data_dir: Option<&Path>) -> anyhow::Result<Store> {
    let paths = Paths::resolve(config, data_dir)?;
    Ok(Store::open(&paths.data_dir, &command_line())?)
}

pub fn run(
    cmd: StoreCommand,
    config: Option<&Path>,
    data_dir: Option<&Path>,
) -> anyhow::Result<i32> {
    let store = open(config, data_dir)?;
    match cmd {
        StoreCommand::Verify => {
            let report = store.verify()?;
            let total: usize = report.counts.values().sum();
            for issue in store.chain_issues(chrono::Utc::now())? {
                outln!("warning: {issue}")?;
            }
            if report.is_clean() {
                outln!(
                    "store {} is consistent: {total} entries in {} trees",
                    store.data_dir().display(),
                    report.counts.len()
                )?;
                Ok(0)
            } else {
                for problem in &report.problems {
                    outln!("problem: {problem}")?;
                }
                outln!(
                    "{} problem(s) in {}",
                    report.problems.len(),
                    store.data_dir().display()
                )?;
                Ok(1)
            }
        }
        StoreCommand::Export { output } => {
            let count = match &output {
                Some(path) => {
                    let file = std::fs::File::create(path)
                        .with_context(|| format!("cannot create {}", path.display()))?;
                    let mut out = BufWriter::new(file);
                    let count = store.export(&mut out)?;
                    out.into_inner()
                        .map_err(|e| e.into_error())
                        .and_then(|f| f.sync_all())
                        .with_context(|| format!("cannot write {}", path.display()))?;
                    count
                }
                None => store.export(&mut std::io::stdout().lock())?,
            };
            if let Some(path) = output {
                errln!("exported {count} entries to {}", path.display());
            }
            Ok(0)
        }
        StoreCommand::Import { file } => {
            let summary = if file == Path::new("-") {
                store.import(&mut std::io::stdin().lock())?
            } else {
                let f = std::fs::File::open(&file)
                    .with_context(|| format!("cannot open {}", file.display()))?;
                store.import(&mut BufReader::new(f))?
            };
            outln!(
                "imported {} entries (schema {}{}) into {}",
                summary.entries,
                summary.schema_version,
                if summary.migrated { ", migrated" } else { "" },
                store.data_dir().display()
            )?;
            Ok(0)
        }
    }
}
