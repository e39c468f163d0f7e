//! The store: the only code that touches sled.
//!
//! Typed trees (values serde_json-encoded, raw settlement bytes verbatim) under a
//! schema version with migrations; every write that matters is committed in one
//! transaction with its audit entry and flushed before the call returns. One
//! process owns a data directory (see [`lock`]). `verify`, `export` and `import`
//! keep the archive honest and movable.
//!
//! sled 0.34 does not promise to notice damage, so every commit is first appended to
//! an independent, hash-chained history journal ([`journal`]); opening checks the
//! store against it ([`open`]), `restore` rebuilds from it, and runs that changed
//! something leave rotating backups ([`backup`]).
//!
//! Layout of a data directory: `DIR/LOCK` (the owner), `DIR/store/` (sled),
//! `DIR/history/` (the journal and raw settlement bytes), `DIR/backups/`, and
//! `DIR/store.clean` (left by a clean close).
//!
//! This file holds the type, the trees and the one commit helper; each
//! kind of record adds its `impl Store` methods in its own submodule.

pub mod audit;
mod audit_trail;
mod backup;
mod batches;
pub mod chain;
mod chain_gaps;
mod cursors;
mod export;
mod guard;
mod journal;
pub mod lock;
mod mappings;
mod migrate;
mod model;
mod open;
mod proposals;
mod raw_files;
pub mod records;
mod restore;
mod settlements;
mod verify;

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::Utc;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError};

pub use audit::{AuditAction, AuditEntry, AuditFormat, NewAuditEntry};
pub use audit_trail::read_audit_by_scan;
pub use backup::{DEFAULT_BACKUP_INTERVAL, DEFAULT_BACKUPS};
pub use chain::{ChainIssue, ChainLink, Unpulled};
pub use export::ImportSummary;
pub use journal::Position;
pub use lock::Owner;
pub use migrate::{MIGRATIONS, Migration};
pub use open::{Inspected, OpenInfo};
pub use records::*;
pub use restore::{RestoreAction, RestoreReport};
pub use verify::VerifyReport;

use crate::ledger::state::BatchState;

/// The layout version this build reads and writes.
pub const SCHEMA_VERSION: u32 = 3;

/// Hex SHA-256 of bytes (the hash recorded for files, proposals and mappings).
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The trees of the current schema, in export order.
const TREES: [&str; 14] = [
    "meta",
    "raw_meta",
    "raw_bytes",
    "raw_superseded",
    "settlements",
    "event_groups",
    "orders",
    "reports",
    "mappings",
    "proposals",
    "batches",
    "intents",
    "cursors",
    "audit",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum T {
    Meta = 0,
    RawMeta,
    RawBytes,
    RawSuperseded,
    Settlements,
    EventGroups,
    Orders,
    Reports,
    Mappings,
    Proposals,
    Batches,
    Intents,
    Cursors,
    Audit,
}

/// Trees whose values are not JSON.
const BINARY_TREES: [&str; 1] = ["raw_bytes"];

const KEY_SCHEMA: &[u8] = b"schema_version";
const KEY_AUDIT_NEXT: &[u8] = b"audit_next";
/// Where the store is in its history journal ([`Position`]), written in the same
/// transaction as each change. Describes this directory, so exports leave it out.
const KEY_JOURNAL: &[u8] = b"journal";

/// Why the store could not do something.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("data directory {} is in use by {}", dir.display(), describe_holder(holder))]
    InUse { dir: PathBuf, holder: Option<Owner> },
    #[error("{0}")]
    Damaged(Box<Damage>),
    #[error("{} holds no ml-connector store", dir.display())]
    NoStore { dir: PathBuf },
    #[error(
        "{} holds data but no schema version: it is not an ml-connector store (or is damaged); restore it from a `store export`",
        dir.display()
    )]
    NotAStore { dir: PathBuf },
    #[error(
        "the store was written by a newer ml-connector (schema {found}; this build knows up to {supported}); upgrade ml-connector"
    )]
    NewerSchema { found: u32, supported: u32 },
    #[error("store migration from schema {from} failed: {reason}")]
    Migration { from: u32, reason: String },
    #[error("store error: {0}")]
    Sled(String),
    #[error(
        "damaged value in tree `{tree}` at key {key}: {reason}; run `ml-connector store verify`"
    )]
    Corrupt {
        tree: &'static str,
        key: String,
        reason: String,
    },
    #[error("batch {batch}: {from} cannot move to {to}")]
    IllegalTransition {
        batch: BatchKey,
        from: BatchState,
        to: BatchState,
    },
    #[error("{what} changed since it was read; read it again and retry")]
    Conflict { what: String },
    #[error("{0} not found in the store")]
    NotFound(String),
    #[error("the raw file for settlement {settlement_id} does not match its recorded hash")]
    HashMismatch { settlement_id: String },
    #[error("{what} `{value}` cannot be stored: it must be non-empty and free of NUL characters")]
    InvalidKey { what: &'static str, value: String },
    #[error("import needs an empty data directory; {} already holds data", dir.display())]
    ImportNotEmpty { dir: PathBuf },
    #[error("import line {line}: {reason}")]
    ImportFormat { line: usize, reason: String },
    #[error(
        "import refused: unknown tree(s) {}; this file is not an export of this ml-connector (nothing was imported)",
        names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
    )]
    ImportUnknownTrees { names: Vec<String> },
    #[error(
        "import refused: {what} of settlement {settlement_id} does not hash to its recorded sha256; the export was changed or damaged (nothing was imported)"
    )]
    ImportTampered {
        settlement_id: String,
        what: &'static str,
    },
}

/// How a data directory can be made whole again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DamageKind {
    /// The store lost or changed entries its history journal holds: rebuild the store.
    Store,
    /// The store reads well but its history journal is missing, cut short or broken:
    /// start a new journal from the store.
    History,
    /// The store is damaged and there is no journal to rebuild it from.
    NoHistory,
    /// A write reached the journal but not the store (this process must stop; the
    /// next open completes it).
    Interrupted,
}

/// A damaged store: what is wrong and what to do. Never used as if it were new.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    /// The data directory.
    pub path: PathBuf,
    pub kind: DamageKind,
    pub reason: String,
    /// What is missing or different, in plain words.
    pub details: Vec<String>,
    /// Whether the store's files were left exactly as they were found.
    pub untouched: bool,
}

/// Details shown in an error message (`store verify` lists them all).
const DETAILS_SHOWN: usize = 12;

impl Damage {
    pub fn what_to_do(&self) -> String {
        let dir = self.path.display();
        match self.kind {
            DamageKind::Store => format!(
                "Run `ml-connector --data-dir {dir} store restore`: it moves the damaged store aside (nothing is deleted) and rebuilds it from {dir}/history; the next sync checks in-flight batches with EBS."
            ),
            DamageKind::History => format!(
                "The store itself reads well: run `ml-connector --data-dir {dir} store restore` to start a new history journal from it (the damaged journal is kept beside it)."
            ),
            DamageKind::NoHistory => format!(
                "There is no history journal to rebuild it from: move {dir}/store aside, then run `ml-connector --data-dir {dir} store import FILE` with the newest file in {dir}/backups/ or your latest `store export`."
            ),
            DamageKind::Interrupted => "Stop ml-connector and start it again: opening the store completes the write from its history journal.".to_string(),
        }
    }
}

impl std::fmt::Display for Damage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "cannot open the store in {}: it is damaged: {}",
            self.path.display(),
            self.reason
        )?;
        for detail in self.details.iter().take(DETAILS_SHOWN) {
            write!(f, "\n  - {detail}")?;
        }
        if self.details.len() > DETAILS_SHOWN {
            write!(
                f,
                "\n  - … and {} more (`ml-connector store verify` lists them all)",
                self.details.len() - DETAILS_SHOWN
            )?;
        }
        if self.details.is_empty() {
            write!(f, ".")?;
        }
        if self.untouched {
            write!(
                f,
                "\nIts files were left as they were, and nothing was started over."
            )?;
        } else {
            write!(f, "\nNothing was started over.")?;
        }
        write!(f, " {}", self.what_to_do())
    }
}

impl From<Damage> for StoreError {
    fn from(damage: Damage) -> Self {
        StoreError::Damaged(Box::new(damage))
    }
}

impl StoreError {
    /// The damage, when this error is one.
    pub fn damage(&self) -> Option<&Damage> {
        match self {
            StoreError::Damaged(d) => Some(d),
            _ => None,
        }
    }
}

fn describe_holder(holder: &Option<Owner>) -> String {
    match holder {
        Some(o) => format!(
            "pid {} ({}) on {} since {}",
            o.pid,
            o.command,
            o.host,
            o.since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        ),
        None => "another process (it has not written its name yet)".into(),
    }
}

impl From<sled::Error> for StoreError {
    fn from(err: sled::Error) -> Self {
        StoreError::Sled(err.to_string())
    }
}

impl From<TransactionError<StoreError>> for StoreError {
    fn from(err: TransactionError<StoreError>) -> Self {
        match err {
            TransactionError::Abort(e) => e,
            TransactionError::Storage(e) => e.into(),
        }
    }
}

fn json<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("store records serialize")
}

/// Key parts are joined with NUL, so they must not contain one.
fn check_part(what: &'static str, value: &str) -> Result<(), StoreError> {
    if value.is_empty() || value.contains('\0') {
        return Err(StoreError::InvalidKey {
            what,
            value: value.replace('\0', "\\0"),
        });
    }
    Ok(())
}

fn check_batch_key(key: &BatchKey) -> Result<(), StoreError> {
    check_part("settlement id", &key.settlement_id)?;
    check_part("period", &key.period)
}

fn key_text(key: &[u8]) -> String {
    match std::str::from_utf8(key) {
        Ok(s) if !s.chars().any(char::is_control) => format!("`{s}`"),
        Ok(s) => format!("`{}`", s.replace('\0', "/")),
        Err(_) => hex::encode(key),
    }
}

/// An audit entry's index write (none without a settlement) and the index's new marker
/// (none when the index was behind: catching up fills it in order).
type IndexWrite = (Option<(Vec<u8>, Vec<u8>)>, Option<u64>);

/// One write inside a commit.
enum Op {
    Put(T, Vec<u8>, Vec<u8>),
    Del(T, Vec<u8>),
}

/// A precondition inside a commit: what the key must hold for the writes to apply.
struct Expect {
    tree: T,
    key: Vec<u8>,
    what: String,
    check: Check,
}

/// Decides whether a key's current bytes satisfy a precondition.
type Check = Box<dyn Fn(Option<&[u8]>) -> bool>;

impl Expect {
    /// The key holds nothing.
    fn absent(tree: T, key: Vec<u8>, what: String) -> Expect {
        Expect {
            tree,
            key,
            what,
            check: Box::new(|current| current.is_none()),
        }
    }

    /// The key holds a record equal to `value` (compared as records, not bytes,
    /// so records written by older versions or migrations compare by meaning).
    fn record<V: DeserializeOwned + PartialEq + 'static>(
        tree: T,
        key: Vec<u8>,
        value: Option<V>,
        what: String,
    ) -> Expect {
        Expect {
            tree,
            key,
            what,
            check: Box::new(move |current| match (current, &value) {
                (None, None) => true,
                (Some(bytes), Some(value)) => {
                    serde_json::from_slice::<V>(bytes).is_ok_and(|v| &v == value)
                }
                _ => false,
            }),
        }
    }
}

/// The open store of one data directory.
///
/// Field order matters: sled's handles close before `closer` records a clean close
/// (or puts a damaged store's original bytes back), and the lock goes last.
pub struct Store {
    db: sled::Db,
    trees: Vec<sled::Tree>,
    dir: PathBuf,
    /// The journal's appending end, and the commit lock (every write goes through
    /// [`Store::commit`] holding it, so journal order is commit order). `None` when
    /// the store was opened damaged.
    journal: Mutex<Option<journal::Journal>>,
    /// Why writes are refused (opened damaged, or a write reached the journal only).
    refusal: Mutex<Option<Damage>>,
    /// The journal position of the last backup (or of the open).
    backed_up: AtomicU64,
    info: OpenInfo,
    on_close: Arc<Mutex<guard::OnClose>>,
    _closer: guard::Closer,
    _lock: Arc<lock::DirLock>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("dir", &self.dir).finish()
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        let mut on_close = self.on_close.lock().unwrap_or_else(PoisonError::into_inner);
        if matches!(*on_close, guard::OnClose::PutBack(_)) {
            return;
        }
        let position = self.journal_position();
        *on_close = match position {
            Some(pos) if self.refused().is_none() && self.db.flush().is_ok() => {
                guard::OnClose::Clean(pos)
            }
            _ => guard::OnClose::Nothing,
        };
    }
}

impl Store {
    pub fn data_dir(&self) -> &Path {
        &self.dir
    }

    /// What opening found and did (clean close, journal created, a write completed).
    pub fn open_info(&self) -> &OpenInfo {
        &self.info
    }

    /// Where the store is in its history journal (`None` when opened damaged).
    pub fn journal_position(&self) -> Option<Position> {
        self.journal
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map(|j| j.position().clone())
    }

    /// Why writes are refused, if they are.
    pub fn refused(&self) -> Option<Damage> {
        self.refusal
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn tree(&self, t: T) -> &sled::Tree {
        &self.trees[t as usize]
    }

    pub fn schema_version(&self) -> Result<u32, StoreError> {
        Ok(self.get_json(T::Meta, KEY_SCHEMA)?.unwrap_or(0))
    }

    /// Makes everything written so far durable.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        Ok(())
    }

    fn get_json<V: DeserializeOwned>(&self, t: T, key: &[u8]) -> Result<Option<V>, StoreError> {
        match self.tree(t).get(key)? {
            None => Ok(None),
            Some(raw) => serde_json::from_slice(&raw)
                .map(Some)
                .map_err(|e| StoreError::Corrupt {
                    tree: TREES[t as usize],
                    key: key_text(key),
                    reason: e.to_string(),
                }),
        }
    }

    fn all_json<V: DeserializeOwned>(&self, t: T, prefix: &[u8]) -> Result<Vec<V>, StoreError> {
        self.tree(t)
            .scan_prefix(prefix)
            .map(|item| {
                let (k, v) = item?;
                serde_json::from_slice(&v).map_err(|e| StoreError::Corrupt {
                    tree: TREES[t as usize],
                    key: key_text(&k),
                    reason: e.to_string(),
                })
            })
            .collect()
    }

    /// Applies `ops` (after checking `expects`) and appends `audit`, atomically, then
    /// flushes. The writes are journaled (and fsynced) first: the journal is never
    /// behind the store.
    fn commit(
        &self,
        expects: &[Expect],
        ops: &[Op],
        audit: Option<&NewAuditEntry>,
    ) -> Result<Option<AuditEntry>, StoreError> {
        let mut journal = self.journal.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(damage) = self.refused() {
            return Err(damage.into());
        }
        let Some(journal) = journal.as_mut() else {
            return Err(StoreError::Sled("the store is not open for writing".into()));
        };
        // Every write holds the commit lock, so what is read here stays true.
        for expect in expects {
            let current = self.tree(expect.tree).get(&expect.key)?;
            if !(expect.check)(current.as_deref()) {
                return Err(StoreError::Conflict {
                    what: expect.what.clone(),
                });
            }
        }
        let entry = match audit {
            None => None,
            Some(new) => {
                let seq: u64 = self.audit_next()?;
                Some(AuditEntry::from_new(seq, new.clone()))
            }
        };
        // The entry is indexed with it; the marker moves only when the index was whole.
        let index = match &entry {
            Some(e) => {
                let write = audit_trail::index_write(
                    e.seq,
                    e.settlement_id.as_deref(),
                    e.period.as_deref(),
                );
                let whole = self.audit_indexed()? == e.seq;
                Some((write, whole.then_some(e.seq + 1)))
            }
            None => None,
        };
        let audit_ops: Vec<Op> = entry
            .iter()
            .flat_map(|e| {
                [
                    Op::Put(T::Audit, e.seq.to_be_bytes().to_vec(), json(e)),
                    Op::Put(T::Meta, KEY_AUDIT_NEXT.to_vec(), json(&(e.seq + 1))),
                ]
            })
            .collect();
        let all: Vec<&Op> = ops.iter().chain(audit_ops.iter()).collect();
        let Some(first) = all.first() else {
            return Ok(None);
        };
        for op in &all {
            if let Op::Put(T::RawBytes, k, v) = op {
                journal::archive_raw(&self.dir, &model::plain(k), &sha256_hex(v), v)?;
            }
        }
        let (kind, key) = match first {
            Op::Put(t, k, _) => model::label(TREES[*t as usize], k, false),
            Op::Del(t, k) => model::label(TREES[*t as usize], k, true),
        };
        let jops = all
            .iter()
            .map(|op| match op {
                Op::Put(t, k, v) => model::op(TREES[*t as usize], k, Some(v)),
                Op::Del(t, k) => model::op(TREES[*t as usize], k, None),
            })
            .collect();
        let pos = journal.append(kind, key, jops, Utc::now())?;
        if let Err(e) = self.apply(&all, index.as_ref(), &pos) {
            *self.refusal.lock().unwrap_or_else(PoisonError::into_inner) = Some(Damage {
                path: self.dir.clone(),
                kind: DamageKind::Interrupted,
                reason: format!(
                    "journal entry {} was written but the store could not take it ({e})",
                    pos.seq
                ),
                details: Vec::new(),
                untouched: false,
            });
            return Err(e);
        }
        Ok(entry)
    }

    /// Writes `ops`, the audit entry's index (its key and value, and the index's new
    /// marker; see [`audit_trail`]) and the journal position in one sled transaction,
    /// then flushes.
    fn apply(
        &self,
        ops: &[&Op],
        index: Option<&IndexWrite>,
        pos: &Position,
    ) -> Result<(), StoreError> {
        let mut trees: Vec<&sled::Tree> = self.trees.iter().collect();
        // sled's default tree, which holds the derived index.
        trees.push(&self.db);
        let default = trees.len() - 1;
        let pos = json(pos);
        trees.as_slice().transaction(
            |view| -> Result<(), ConflictableTransactionError<StoreError>> {
                for op in ops {
                    match op {
                        Op::Put(t, k, v) => {
                            view[*t as usize].insert(k.as_slice(), v.as_slice())?;
                        }
                        Op::Del(t, k) => {
                            view[*t as usize].remove(k.as_slice())?;
                        }
                    }
                }
                if let Some((write, marker)) = index {
                    if let Some((k, v)) = write {
                        view[default].insert(k.as_slice(), v.as_slice())?;
                    }
                    if let Some(next) = marker {
                        view[default]
                            .insert(audit_trail::KEY_AUDIT_INDEXED, &next.to_be_bytes())?;
                    }
                }
                view[T::Meta as usize].insert(KEY_JOURNAL, pos.as_slice())?;
                Ok(())
            },
        )?;
        self.flush()
    }
}
