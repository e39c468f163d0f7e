//! `store restore`: makes a damaged data directory whole again, deleting nothing.
//!
//! - The store lost or changed entries: the damaged `store/` is moved aside to
//!   `store.damaged-<time>/` and a new one is built by replaying the history journal,
//!   raw settlement bytes coming from `history/raw/`.
//! - The journal is missing, cut short or broken but the store reads well and passes
//!   its own checks: the journal is moved aside (`history/journal.damaged-<time>.jsonl`)
//!   and a new one starts from the store's contents.
//!
//! What only EBS knows is not guessed: batches left `staged` or `submitted`, or with a
//! posting intent, are checked with EBS by the next sync (reconcile-first).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::Utc;

use super::journal::{self, sync_dir};
use super::model::{MVal, Replayed, plain};
use super::open::{Mode, open_dir, start_journal};
use super::{Damage, DamageKind, KEY_JOURNAL, Store, StoreError, VerifyReport, guard, json, lock};

/// What `store restore` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestoreAction {
    /// Store and history agree: nothing to do.
    Nothing,
    /// The store was rebuilt from the history journal.
    StoreFromHistory,
    /// A new history journal was started from the store.
    HistoryFromStore,
}

#[derive(Debug, Clone)]
pub struct RestoreReport {
    pub action: RestoreAction,
    /// What was wrong before.
    pub damage: Option<Damage>,
    /// Damaged files moved aside (never deleted).
    pub moved_aside: Vec<PathBuf>,
    /// Anything that could not be brought back, in plain words.
    pub notes: Vec<String>,
    /// Entries per tree after the restore.
    pub counts: BTreeMap<String, usize>,
    /// `store verify` after the restore.
    pub verify: VerifyReport,
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A free name beside `path`: `NAME.damaged-<time>[-n]EXT`.
fn aside(path: &Path, ext: &str) -> PathBuf {
    let stamp = Utc::now().format("%Y%m%dT%H%M%SZ");
    let base = path.with_extension("");
    let base = base.to_string_lossy();
    let mut candidate = PathBuf::from(format!("{base}.damaged-{stamp}{ext}"));
    let mut n = 2;
    while candidate.exists() {
        candidate = PathBuf::from(format!("{base}.damaged-{stamp}-{n}{ext}"));
        n += 1;
    }
    candidate
}

impl Store {
    /// Restores the store of `data_dir` (see the module doc); then verifies it.
    pub fn restore(data_dir: &Path, command: &str) -> Result<RestoreReport, StoreError> {
        if !Store::holds_store(data_dir) {
            return Err(StoreError::NoStore {
                dir: data_dir.to_path_buf(),
            });
        }
        let lock = Arc::new(lock::acquire(data_dir, command, Utc::now())?);
        let inspected = open_dir(data_dir, command, Mode::Inspect, Some(lock.clone()))?;
        let mut report = RestoreReport {
            action: RestoreAction::Nothing,
            damage: inspected.damage.clone(),
            moved_aside: Vec::new(),
            notes: Vec::new(),
            counts: BTreeMap::new(),
            verify: VerifyReport::default(),
        };
        match inspected.damage.clone() {
            None => {
                let store = inspected
                    .store
                    .ok_or_else(|| StoreError::Sled("the store did not open".into()))?;
                report.verify = store.verify()?;
                report.counts = report.verify.counts.clone();
                return Ok(report);
            }
            Some(damage) => match damage.kind {
                DamageKind::NoHistory => {
                    drop(inspected);
                    return Err(damage.into());
                }
                DamageKind::Store | DamageKind::Interrupted => {
                    // Closing puts the damaged files back as they were found.
                    drop(inspected);
                    report.action = RestoreAction::StoreFromHistory;
                    rebuild_store(data_dir, &mut report)?;
                }
                DamageKind::History => {
                    let store_ok = match &inspected.store {
                        Some(store) => store.integrity()?.is_clean(),
                        None => false,
                    };
                    drop(inspected);
                    if store_ok {
                        report.action = RestoreAction::HistoryFromStore;
                        rebuild_journal(data_dir, &mut report, "rebuilt from the store")?;
                    } else {
                        report.notes.push(
                            "the store fails its own checks too: it is rebuilt from the part of its history journal that checks out".into(),
                        );
                        report.action = RestoreAction::StoreFromHistory;
                        rebuild_store(data_dir, &mut report)?;
                    }
                }
            },
        }
        let store = Store::open_with(data_dir, command, Some(lock))?;
        report.verify = store.verify()?;
        report.counts = report.verify.counts.clone();
        Ok(report)
    }
}

/// Replays the journal into a new sled database, then swaps it in for the damaged one.
fn rebuild_store(data_dir: &Path, report: &mut RestoreReport) -> Result<(), StoreError> {
    let (model, scan) = Replayed::load(data_dir)?.into_full()?;
    if model.count() == 0 {
        return Err(StoreError::NotFound(format!(
            "a history to restore from in {}",
            journal::journal_path(data_dir).display()
        )));
    }
    let mut restart_journal = false;
    if let Some(broken) = &scan.broken {
        report.notes.push(format!(
            "the history journal breaks ({broken}): changes after change {} could not be trusted and are not restored",
            scan.last.seq
        ));
        restart_journal = true;
    }
    let tmp = data_dir.join("store.restoring");
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(io(&tmp))?;
    }
    {
        let db = sled::Config::new().path(&tmp).open()?;
        for (name, entries) in &model.trees {
            let tree = db.open_tree(name)?;
            let mut batch = sled::Batch::default();
            for (key, value) in entries {
                match value {
                    MVal::Json(raw) => batch.insert(key.as_slice(), raw.get().as_bytes()),
                    MVal::Raw(sha) => match journal::read_raw(data_dir, &plain(key), sha) {
                        Ok(bytes) => batch.insert(key.as_slice(), bytes),
                        Err(why) => {
                            report.notes.push(format!(
                                "the bytes of settlement {}'s raw file are lost ({why}); pull it again while Amazon still has it",
                                plain(key)
                            ));
                            restart_journal = true;
                        }
                    },
                }
            }
            tree.apply_batch(batch)?;
        }
        db.open_tree("meta")?
            .insert(KEY_JOURNAL, json(&scan.last))?;
        db.flush()?;
    }
    let store_dir = data_dir.join("store");
    if std::fs::symlink_metadata(&store_dir).is_ok() {
        let to = aside(&store_dir, "");
        std::fs::rename(&store_dir, &to).map_err(io(&to))?;
        report.moved_aside.push(to);
    }
    std::fs::rename(&tmp, &store_dir).map_err(io(&store_dir))?;
    let _ = std::fs::remove_file(data_dir.join(guard::CLEAN_MARKER));
    guard::drop_copy(data_dir);
    sync_dir(data_dir);
    if restart_journal {
        // The journal must describe the store as it now is.
        rebuild_journal(data_dir, report, "rebuilt after a partial restore")?;
    }
    Ok(())
}

/// Moves the journal aside and starts a new one from the store's contents.
fn rebuild_journal(
    data_dir: &Path,
    report: &mut RestoreReport,
    label: &str,
) -> Result<(), StoreError> {
    let path = journal::journal_path(data_dir);
    if path.exists() {
        let to = aside(&path, ".jsonl");
        std::fs::rename(&path, &to).map_err(io(&to))?;
        report.moved_aside.push(to);
    }
    let store_dir = data_dir.join("store");
    let started = guard::catch(|| -> Result<(), StoreError> {
        let db = sled::Config::new().path(&store_dir).open()?;
        start_journal(&db, data_dir, label)?;
        Ok(())
    });
    match started {
        Ok(result) => result,
        Err(panic) => Err(StoreError::Sled(panic)),
    }?;
    let _ = std::fs::remove_file(data_dir.join(guard::CLEAN_MARKER));
    Ok(())
}
