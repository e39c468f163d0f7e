//! Rotating backups: after a run that changed the store, `DIR/backups/store-<time>.jsonl`
//! (a `store export`), keeping the newest few.

use std::io::Write;
use std::path::PathBuf;
use std::sync::PoisonError;
use std::sync::atomic::Ordering;

use chrono::Utc;

use super::journal::{create_dir_private, sync_dir};
use super::{Store, StoreError};

/// How many backups are kept (a constant for now: the configuration has no `[store]`
/// section yet).
pub const DEFAULT_BACKUPS: usize = 7;

/// Unattended runs back up at most this often: a scheduled run every few minutes moves
/// cursors and orders each time, and a full export per run would cost more than the run
/// (the history journal already records every change between backups).
pub const DEFAULT_BACKUP_INTERVAL: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

const BACKUP_DIR: &str = "backups";

impl Store {
    /// [`Store::backup_if_changed`], unless the newest backup is younger than
    /// `min_interval` (by its file time).
    pub fn backup_if_due(
        &self,
        keep: usize,
        min_interval: std::time::Duration,
    ) -> Result<Option<PathBuf>, StoreError> {
        let newest = std::fs::read_dir(self.dir.join(BACKUP_DIR))
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_str().is_some_and(is_backup_name))
            .filter_map(|e| e.metadata().ok()?.modified().ok())
            .max();
        if let Some(at) = newest
            && at.elapsed().is_ok_and(|age| age < min_interval)
        {
            return Ok(None);
        }
        self.backup_if_changed(keep)
    }

    /// Writes a backup when the store changed since it was opened (or since the last
    /// backup), then keeps only the newest `keep` (at least one). Returns the file
    /// written, if any.
    pub fn backup_if_changed(&self, keep: usize) -> Result<Option<PathBuf>, StoreError> {
        // Holding the commit lock: the export is one consistent state.
        let journal = self.journal.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(seq) = journal.as_ref().map(|j| j.position().seq) else {
            return Ok(None);
        };
        if self.refused().is_some() || seq <= self.backed_up.load(Ordering::SeqCst) {
            return Ok(None);
        }
        let dir = self.dir.join(BACKUP_DIR);
        create_dir_private(&dir)?;
        let name = format!("store-{}.jsonl", Utc::now().format("%Y%m%dT%H%M%S%.3fZ"));
        let path = dir.join(&name);
        let tmp = dir.join(format!("{name}.tmp"));
        let io = |path: &PathBuf| {
            let path = path.clone();
            move |source| StoreError::Io { path, source }
        };
        let file = std::fs::File::create(&tmp).map_err(io(&tmp))?;
        let mut out = std::io::BufWriter::new(file);
        self.export(&mut out)?;
        out.flush().map_err(io(&tmp))?;
        out.into_inner()
            .map_err(|e| e.into_error())
            .and_then(|f| f.sync_all())
            .map_err(io(&tmp))?;
        std::fs::rename(&tmp, &path).map_err(io(&path))?;
        sync_dir(&dir);
        self.backed_up.store(seq, Ordering::SeqCst);
        drop(journal);

        let mut all: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map_err(io(&dir))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(is_backup_name)
            })
            .collect();
        all.sort();
        let excess = all.len().saturating_sub(keep.max(1));
        for old in &all[..excess] {
            if let Err(e) = std::fs::remove_file(old) {
                tracing::warn!(file = %old.display(), error = %e, "could not remove an old backup");
            }
        }
        Ok(Some(path))
    }
}

fn is_backup_name(name: &str) -> bool {
    name.starts_with("store-") && name.ends_with(".jsonl")
}
