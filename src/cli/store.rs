//! `ml-connector store verify|export|import|restore`: check, back up and restore the store.

use super::output::{errln, outln};
use std::io::{BufReader, BufWriter};
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Subcommand;

use crate::config::Paths;
use crate::store::{Damage, RestoreAction, Store, StoreError};

#[derive(Debug, Subcommand)]
pub enum StoreCommand {
    /// Check integrity, cross-references and the store against its history journal;
    /// non-zero exit when anything is wrong.
    Verify,
    /// Write the whole store as JSON lines (to stdout unless --output); a damaged store
    /// exports what it still holds.
    Export {
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Load an export into an empty data directory (`-` reads stdin).
    Import {
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// Rebuild a damaged store from its history journal (or a damaged journal from the
    /// store); the damaged files are moved aside, never deleted.
    Restore,
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

fn print_damage(damage: &Damage) -> anyhow::Result<()> {
    outln!("damaged: {}: {}", damage.path.display(), damage.reason)?;
    for detail in &damage.details {
        outln!("missing or different: {detail}")?;
    }
    outln!("what to do: {}", damage.what_to_do())?;
    Ok(())
}

fn verify(dir: &Path) -> anyhow::Result<i32> {
    let inspected = Store::inspect(dir, &command_line())?;
    if let Some(damage) = &inspected.damage {
        print_damage(damage)?;
        if let Some(store) = &inspected.store {
            for problem in store.integrity()?.problems {
                outln!("problem: {problem}")?;
            }
        }
        return Ok(1);
    }
    let store = inspected
        .store
        .ok_or_else(|| StoreError::Sled("the store did not open".into()))?;
    let report = store.verify()?;
    let total: usize = report.counts.values().sum();
    for issue in store.chain_issues(chrono::Utc::now())? {
        outln!("warning: {issue}")?;
    }
    if report.is_clean() {
        outln!(
            "store {} is consistent: {total} entries in {} trees, history journal at change {}",
            store.data_dir().display(),
            report.counts.len(),
            store.journal_position().map_or(0, |p| p.seq)
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

fn export(dir: &Path, output: Option<PathBuf>) -> anyhow::Result<i32> {
    let inspected = Store::inspect(dir, &command_line())?;
    let Some(store) = inspected.store else {
        let damage = inspected
            .damage
            .ok_or_else(|| StoreError::Sled("the store did not open".into()))?;
        return Err(StoreError::from(damage).into());
    };
    if let Some(damage) = &inspected.damage {
        errln!(
            "warning: the store is damaged ({}); exporting what it still holds",
            damage.reason
        );
    }
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
    Ok(if inspected.damage.is_some() { 1 } else { 0 })
}

fn restore(dir: &Path) -> anyhow::Result<i32> {
    let report = Store::restore(dir, &command_line())?;
    if let Some(damage) = &report.damage {
        outln!("was damaged: {}", damage.reason)?;
    }
    for path in &report.moved_aside {
        outln!("moved aside (kept): {}", path.display())?;
    }
    match report.action {
        RestoreAction::Nothing => outln!(
            "nothing to restore: the store in {} agrees with its history",
            dir.display()
        )?,
        RestoreAction::StoreFromHistory => outln!(
            "rebuilt the store in {} from its history journal",
            dir.display()
        )?,
        RestoreAction::HistoryFromStore => outln!(
            "started a new history journal in {} from the store",
            dir.display()
        )?,
    }
    for (tree, count) in &report.counts {
        outln!("  {tree:<15} {count}")?;
    }
    for note in &report.notes {
        outln!("note: {note}")?;
    }
    if report.action == RestoreAction::StoreFromHistory {
        outln!(
            "batches left staged or submitted are checked with EBS by the next sync (reconcile-first)"
        )?;
    }
    if report.verify.is_clean() {
        outln!("store verify: consistent")?;
        Ok(0)
    } else {
        for problem in &report.verify.problems {
            outln!("problem: {problem}")?;
        }
        Ok(1)
    }
}

pub fn run(
    cmd: StoreCommand,
    config: Option<&Path>,
    data_dir: Option<&Path>,
) -> anyhow::Result<i32> {
    let paths = Paths::resolve(config, data_dir)?;
    let dir = paths.data_dir;
    match cmd {
        StoreCommand::Verify => verify(&dir),
        StoreCommand::Export { output } => export(&dir, output),
        StoreCommand::Restore => restore(&dir),
        StoreCommand::Import { file } => {
            let store = Store::open(&dir, &command_line())?;
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
