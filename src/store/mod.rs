//! The store: the only code that touches sled.
//!
//! Typed trees (values serde_json-encoded, raw settlement bytes verbatim) under a
//! schema version with migrations; every write that matters is committed in one
//! transaction with its audit entry and flushed before the call returns. One
//! process owns a data directory (see [`lock`]). `verify`, `export` and `import`
//! keep the archive honest and movable.
//!
//! Layout of a data directory: `DIR/LOCK` (the owner), `DIR/store/` (sled).
//!
//! This file holds the type, opening, the trees and the one commit helper; each
//! kind of record adds its `impl Store` methods in its own submodule.

pub mod audit;
mod audit_trail;
mod batches;
pub mod chain;
mod chain_gaps;
mod cursors;
mod export;
pub mod lock;
mod mappings;
mod migrate;
mod proposals;
mod raw_files;
pub mod records;
mod settlements;
mod verify;

use std::path::{Path, PathBuf};

use chrono::Utc;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError};

pub use audit::{AuditAction, AuditEntry, AuditFormat, NewAuditEntry};
pub use chain::{ChainIssue, ChainLink, Unpulled};
pub use export::ImportSummary;
pub use lock::Owner;
pub use migrate::{MIGRATIONS, Migration};
pub use records::*;
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
    #[error(
        "cannot open the store in {}: {reason}. Nothing was changed and nothing is started over. To restore: move {} aside, then run `ml-connector --data-dir {} store import BACKUP.jsonl` with your latest `store export`",
        dir.display(), dir.join("store").display(), dir.display()
    )]
    Open { dir: PathBuf, reason: String },
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
pub struct Store {
    db: sled::Db,
    dir: PathBuf,
    trees: Vec<sled::Tree>,
    _lock: lock::DirLock,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("dir", &self.dir).finish()
    }
}

impl Store {
    /// Opens (or creates) the store in `data_dir`, taking the directory's lock.
    /// `command` names this process to anyone else trying to open it.
    pub fn open(data_dir: &Path, command: &str) -> Result<Store, StoreError> {
        if !data_dir.exists() {
            let mut builder = std::fs::DirBuilder::new();
            builder.recursive(true);
            #[cfg(unix)]
            {
                // Financial records: only the owner reads them.
                use std::os::unix::fs::DirBuilderExt;
                builder.mode(0o700);
            }
            builder.create(data_dir).map_err(|source| StoreError::Io {
                path: data_dir.to_path_buf(),
                source,
            })?;
        }
        let lock = lock::acquire(data_dir, command, Utc::now())?;
        let db_path = data_dir.join("store");
        let existed = db_path.exists();
        let db = sled::Config::new()
            .path(&db_path)
            .open()
            .map_err(|err| StoreError::Open {
                dir: data_dir.to_path_buf(),
                reason: err.to_string(),
            })?;
        let meta = db.open_tree("meta")?;
        match meta.get(KEY_SCHEMA)? {
            None => {
                let has_data = existed
                    && db
                        .tree_names()
                        .iter()
                        .filter_map(|n| db.open_tree(n).ok())
                        .any(|t| !t.is_empty());
                if has_data {
                    return Err(StoreError::NotAStore {
                        dir: data_dir.to_path_buf(),
                    });
                }
                meta.insert(KEY_SCHEMA, json(&SCHEMA_VERSION))?;
                db.flush()?;
            }
            Some(raw) => {
                let found: u32 = serde_json::from_slice(&raw).map_err(|e| StoreError::Corrupt {
                    tree: "meta",
                    key: "`schema_version`".into(),
                    reason: e.to_string(),
                })?;
                if found > SCHEMA_VERSION {
                    return Err(StoreError::NewerSchema {
                        found,
                        supported: SCHEMA_VERSION,
                    });
                }
                if found < SCHEMA_VERSION {
                    migrate::run(&db, found)?;
                }
            }
        }
        let trees = TREES
            .iter()
            .map(|name| db.open_tree(name))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Store {
            db,
            dir: data_dir.to_path_buf(),
            trees,
            _lock: lock,
        })
    }

    pub fn data_dir(&self) -> &Path {
        &self.dir
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

    /// Applies `ops` (after checking `expects`) and appends `audit`, atomically, then flushes.
    fn commit(
        &self,
        expects: &[Expect],
        ops: &[Op],
        audit: Option<&NewAuditEntry>,
    ) -> Result<Option<AuditEntry>, StoreError> {
        let trees: Vec<&sled::Tree> = self.trees.iter().collect();
        let entry = trees.as_slice().transaction(|view| {
            for expect in expects {
                let current = view[expect.tree as usize].get(&expect.key)?;
                if !(expect.check)(current.as_deref()) {
                    return Err(ConflictableTransactionError::Abort(StoreError::Conflict {
                        what: expect.what.clone(),
                    }));
                }
            }
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
            let Some(new) = audit else { return Ok(None) };
            let meta = &view[T::Meta as usize];
            let seq: u64 = match meta.get(KEY_AUDIT_NEXT)? {
                Some(raw) => serde_json::from_slice(&raw).map_err(|e| {
                    ConflictableTransactionError::Abort(StoreError::Corrupt {
                        tree: "meta",
                        key: "`audit_next`".into(),
                        reason: e.to_string(),
                    })
                })?,
                None => 1,
            };
            let entry = AuditEntry::from_new(seq, new.clone());
            view[T::Audit as usize].insert(&seq.to_be_bytes(), json(&entry))?;
            meta.insert(KEY_AUDIT_NEXT, json(&(seq + 1)))?;
            Ok(Some(entry))
        })?;
        self.flush()?;
        Ok(entry)
    }
}
