//! The store: the only code that touches sled.
//!
//! Typed trees (values serde_json-encoded, raw settlement bytes verbatim) under a
//! schema version with migrations; every write that matters is committed in one
//! transaction with its audit entry and flushed before the call returns. One
//! process owns a data directory (see [`lock`]). `verify`, `export` and `import`
//! keep the archive honest and movable.
//!
//! Layout of a data directory: `DIR/LOCK` (the owner), `DIR/store/` (sled).

pub mod audit;
pub mod chain;
pub mod lock;
mod migrate;
pub mod records;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError};

pub use audit::{AuditAction, AuditEntry, AuditFormat, NewAuditEntry};
pub use chain::{ChainIssue, ChainLink, Unpulled};
pub use lock::Owner;
pub use migrate::{MIGRATIONS, Migration};
pub use records::*;

use crate::ledger::state::BatchState;

/// The layout version this build reads and writes.
pub const SCHEMA_VERSION: u32 = 2;

/// Hex SHA-256 of bytes (the hash recorded for files, proposals and mappings).
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

const EXPORT_FORMAT: &str = "ml-connector-store";

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

/// What `store verify` found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// Entries checked per tree.
    pub counts: BTreeMap<String, usize>,
    /// Every problem, in plain words.
    pub problems: Vec<String>,
}

impl VerifyReport {
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }
}

/// What an import brought in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportSummary {
    pub entries: usize,
    pub schema_version: u32,
    pub migrated: bool,
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

    // ------------------------------------------------------------ audit trail

    /// Appends one audit entry (flushed); returns it with its sequence number.
    pub fn append_audit(&self, entry: NewAuditEntry) -> Result<AuditEntry, StoreError> {
        Ok(self
            .commit(&[], &[], Some(&entry))?
            .expect("an audit entry was appended"))
    }

    /// The audit trail in sequence order, optionally for one settlement.
    pub fn audit_entries(
        &self,
        settlement_id: Option<&str>,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let all: Vec<AuditEntry> = self.all_json(T::Audit, b"")?;
        Ok(match settlement_id {
            None => all,
            Some(id) => all
                .into_iter()
                .filter(|e| e.settlement_id.as_deref() == Some(id))
                .collect(),
        })
    }

    // ------------------------------------------------------------ raw files

    /// Keeps a settlement file's bytes verbatim with their charset and hash.
    /// `meta.sha256` and `meta.len` must describe `bytes` (see [`RawFileMeta::describe`]).
    pub fn put_raw_settlement(
        &self,
        meta: &RawFileMeta,
        bytes: &[u8],
        audit: Option<NewAuditEntry>,
    ) -> Result<RawPut, StoreError> {
        check_part("settlement id", &meta.settlement_id)?;
        if sha256_hex(bytes) != meta.sha256 || meta.len != bytes.len() as u64 {
            return Err(StoreError::HashMismatch {
                settlement_id: meta.settlement_id.clone(),
            });
        }
        let key = meta.settlement_id.as_bytes().to_vec();
        let previous: Option<RawFileMeta> = self.get_json(T::RawMeta, &key)?;
        let outcome = match &previous {
            None => RawPut::New,
            Some(p) if p.sha256 == meta.sha256 => return Ok(RawPut::Unchanged),
            Some(p) => RawPut::Changed {
                previous_sha256: p.sha256.clone(),
            },
        };
        let expect = Expect::record(
            T::RawMeta,
            key.clone(),
            previous.clone(),
            format!("raw file of settlement {}", meta.settlement_id),
        );
        let mut ops = Vec::with_capacity(3);
        if let Some(previous) = previous {
            // Nothing is lost: the replaced file is archived with its own hash.
            let old_bytes = self.tree(T::RawBytes).get(&key)?.unwrap_or_default();
            let mut old_key = key.clone();
            old_key.push(0);
            old_key.extend_from_slice(previous.sha256.as_bytes());
            let superseded = SupersededRaw {
                meta: previous,
                superseded_at: meta.fetched_at,
                bytes: base64::engine::general_purpose::STANDARD.encode(&old_bytes),
            };
            ops.push(Op::Put(T::RawSuperseded, old_key, json(&superseded)));
        }
        ops.push(Op::Put(T::RawMeta, key.clone(), json(meta)));
        ops.push(Op::Put(T::RawBytes, key, bytes.to_vec()));
        self.commit(&[expect], &ops, audit.as_ref())?;
        Ok(outcome)
    }

    /// Earlier files of a settlement that Amazon later replaced, oldest first.
    pub fn superseded_raw(&self, settlement_id: &str) -> Result<Vec<SupersededRaw>, StoreError> {
        let mut prefix = settlement_id.as_bytes().to_vec();
        prefix.push(0);
        let mut all: Vec<SupersededRaw> = self.all_json(T::RawSuperseded, &prefix)?;
        all.sort_by_key(|s| s.superseded_at);
        Ok(all)
    }

    pub fn raw_settlement_meta(
        &self,
        settlement_id: &str,
    ) -> Result<Option<RawFileMeta>, StoreError> {
        self.get_json(T::RawMeta, settlement_id.as_bytes())
    }

    /// The kept bytes, checked against their recorded hash.
    pub fn raw_settlement(
        &self,
        settlement_id: &str,
    ) -> Result<Option<(RawFileMeta, Vec<u8>)>, StoreError> {
        let Some(meta) = self.raw_settlement_meta(settlement_id)? else {
            return Ok(None);
        };
        let bytes = self
            .tree(T::RawBytes)
            .get(settlement_id.as_bytes())?
            .ok_or_else(|| {
                StoreError::NotFound(format!("raw bytes of settlement {settlement_id}"))
            })?;
        if sha256_hex(&bytes) != meta.sha256 {
            return Err(StoreError::HashMismatch {
                settlement_id: settlement_id.into(),
            });
        }
        Ok(Some((meta, bytes.to_vec())))
    }

    // ------------------------------------------------------------ settlements, groups, orders, reports

    pub fn put_settlement(
        &self,
        record: &SettlementRecord,
        audit: Option<NewAuditEntry>,
    ) -> Result<(), StoreError> {
        check_part("settlement id", &record.summary.settlement_id)?;
        let key = record.summary.settlement_id.as_bytes().to_vec();
        self.commit(
            &[],
            &[Op::Put(T::Settlements, key, json(record))],
            audit.as_ref(),
        )?;
        Ok(())
    }

    pub fn settlement(&self, settlement_id: &str) -> Result<Option<SettlementRecord>, StoreError> {
        self.get_json(T::Settlements, settlement_id.as_bytes())
    }

    pub fn settlements(&self) -> Result<Vec<SettlementRecord>, StoreError> {
        self.all_json(T::Settlements, b"")
    }

    /// Links a settlement and its financial event group, both sides in one commit.
    pub fn link_event_group(
        &self,
        settlement_id: &str,
        group_id: &str,
        audit: Option<NewAuditEntry>,
    ) -> Result<(), StoreError> {
        let settlement = self
            .settlement(settlement_id)?
            .ok_or_else(|| StoreError::NotFound(format!("settlement {settlement_id}")))?;
        let group = self
            .event_group(group_id)?
            .ok_or_else(|| StoreError::NotFound(format!("event group {group_id}")))?;
        let mut linked_settlement = settlement.clone();
        linked_settlement.event_group_id = Some(group_id.into());
        let mut linked_group = group.clone();
        linked_group.settlement_id = Some(settlement_id.into());
        self.commit(
            &[
                Expect::record(
                    T::Settlements,
                    settlement_id.as_bytes().to_vec(),
                    Some(settlement),
                    format!("settlement {settlement_id}"),
                ),
                Expect::record(
                    T::EventGroups,
                    group_id.as_bytes().to_vec(),
                    Some(group),
                    format!("event group {group_id}"),
                ),
            ],
            &[
                Op::Put(
                    T::Settlements,
                    settlement_id.as_bytes().to_vec(),
                    json(&linked_settlement),
                ),
                Op::Put(
                    T::EventGroups,
                    group_id.as_bytes().to_vec(),
                    json(&linked_group),
                ),
            ],
            audit.as_ref(),
        )?;
        Ok(())
    }

    pub fn put_event_group(&self, record: &EventGroupRecord) -> Result<(), StoreError> {
        let key = record.group_id.as_bytes().to_vec();
        self.commit(&[], &[Op::Put(T::EventGroups, key, json(record))], None)?;
        Ok(())
    }

    pub fn event_group(&self, group_id: &str) -> Result<Option<EventGroupRecord>, StoreError> {
        self.get_json(T::EventGroups, group_id.as_bytes())
    }

    pub fn event_groups(&self) -> Result<Vec<EventGroupRecord>, StoreError> {
        self.all_json(T::EventGroups, b"")
    }

    /// Stores many orders in one commit (one flush).
    pub fn put_orders(&self, records: &[OrderRecord]) -> Result<(), StoreError> {
        let ops: Vec<Op> = records
            .iter()
            .map(|r| Op::Put(T::Orders, r.order_id.as_bytes().to_vec(), json(r)))
            .collect();
        self.commit(&[], &ops, None)?;
        Ok(())
    }

    pub fn order(&self, order_id: &str) -> Result<Option<OrderRecord>, StoreError> {
        self.get_json(T::Orders, order_id.as_bytes())
    }

    pub fn orders_count(&self) -> usize {
        self.tree(T::Orders).len()
    }

    pub fn put_report(&self, record: &ReportRecord) -> Result<(), StoreError> {
        let key = record.report_id.as_bytes().to_vec();
        self.commit(&[], &[Op::Put(T::Reports, key, json(record))], None)?;
        Ok(())
    }

    pub fn reports(&self) -> Result<Vec<ReportRecord>, StoreError> {
        self.all_json(T::Reports, b"")
    }

    // ------------------------------------------------------------ chain

    /// Gaps and overlaps in each marketplace's settlement chain, and unpulled
    /// reports near Amazon's 90-day deletion, as of `now`.
    pub fn chain_issues(&self, now: DateTime<Utc>) -> Result<Vec<ChainIssue>, StoreError> {
        let settlements = self.settlements()?;
        let links: Vec<ChainLink> = settlements
            .iter()
            .map(|s| ChainLink {
                settlement_id: s.summary.settlement_id.clone(),
                marketplace_id: s.marketplace_id.clone(),
                start: s.summary.start,
                end: s.summary.end,
            })
            .collect();
        let pulled: BTreeSet<&str> = settlements
            .iter()
            .map(|s| s.summary.settlement_id.as_str())
            .collect();
        let unpulled: Vec<Unpulled> = self
            .reports()?
            .into_iter()
            .filter(|r| r.pulled_at.is_none())
            .filter(|r| {
                r.settlement_id
                    .as_deref()
                    .is_none_or(|s| !pulled.contains(s))
            })
            .map(|r| Unpulled {
                report_id: r.report_id,
                settlement_id: r.settlement_id,
                marketplace_id: r.marketplace_id,
                created: r.created,
            })
            .collect();
        let mut issues = chain::check_chain(&links);
        issues.extend(chain::check_retention(&unpulled, now));
        Ok(issues)
    }

    // ------------------------------------------------------------ mappings

    fn mapping_key(name: &str, version: u32) -> Vec<u8> {
        let mut key = name.as_bytes().to_vec();
        key.push(0);
        key.extend_from_slice(&version.to_be_bytes());
        key
    }

    fn mapping_prefix(name: &str) -> Vec<u8> {
        let mut key = name.as_bytes().to_vec();
        key.push(0);
        key
    }

    /// The latest version of mapping `name`.
    pub fn latest_mapping(&self, name: &str) -> Result<Option<MappingVersion>, StoreError> {
        match self
            .tree(T::Mappings)
            .scan_prefix(Self::mapping_prefix(name))
            .next_back()
        {
            None => Ok(None),
            Some(item) => {
                let (k, v) = item?;
                serde_json::from_slice(&v)
                    .map(Some)
                    .map_err(|e| StoreError::Corrupt {
                        tree: "mappings",
                        key: key_text(&k),
                        reason: e.to_string(),
                    })
            }
        }
    }

    pub fn mapping(&self, name: &str, version: u32) -> Result<Option<MappingVersion>, StoreError> {
        self.get_json(T::Mappings, &Self::mapping_key(name, version))
    }

    /// Every version of mapping `name`, oldest first.
    pub fn mapping_versions(&self, name: &str) -> Result<Vec<MappingVersion>, StoreError> {
        self.all_json(T::Mappings, &Self::mapping_prefix(name))
    }

    /// Records mapping text as the next version of `name` when its hash differs
    /// from the latest (audited as `mapping_change`); returns the version now in
    /// force and whether it is new.
    pub fn import_mapping(
        &self,
        name: &str,
        text: &str,
        source: &str,
        who: &str,
        when: DateTime<Utc>,
    ) -> Result<(MappingVersion, bool), StoreError> {
        check_part("mapping name", name)?;
        let sha = sha256_hex(text.as_bytes());
        let latest = self.latest_mapping(name)?;
        if let Some(latest) = &latest
            && latest.sha256 == sha
        {
            return Ok((latest.clone(), false));
        }
        let version = latest.as_ref().map_or(1, |l| l.version + 1);
        let record = MappingVersion {
            name: name.into(),
            version,
            sha256: sha.clone(),
            text: text.into(),
            source: source.into(),
            who: who.into(),
            when,
        };
        let audit = NewAuditEntry::new(when, who, AuditAction::MappingChange)
            .sha256(sha)
            .details(serde_json::json!({
                "mapping": name,
                "version": version,
                "source": source,
                "previous_version": latest.as_ref().map(|l| l.version),
                "previous_sha256": latest.as_ref().map(|l| l.sha256.clone()),
            }));
        let key = Self::mapping_key(name, version);
        self.commit(
            &[Expect::absent(
                T::Mappings,
                key.clone(),
                format!("mapping {name} version {version}"),
            )],
            &[Op::Put(T::Mappings, key, json(&record))],
            Some(&audit),
        )?;
        Ok((record, true))
    }

    // ------------------------------------------------------------ proposals

    /// Replaces the batch's current proposal.
    pub fn put_proposal(
        &self,
        proposal: &Proposal,
        audit: Option<NewAuditEntry>,
    ) -> Result<(), StoreError> {
        check_batch_key(&proposal.batch)?;
        self.commit(
            &[],
            &[Op::Put(
                T::Proposals,
                proposal.batch.to_bytes(),
                json(proposal),
            )],
            audit.as_ref(),
        )?;
        Ok(())
    }

    pub fn proposal(&self, key: &BatchKey) -> Result<Option<Proposal>, StoreError> {
        self.get_json(T::Proposals, &key.to_bytes())
    }

    pub fn proposals(&self) -> Result<Vec<Proposal>, StoreError> {
        self.all_json(T::Proposals, b"")
    }

    // ------------------------------------------------------------ posting state

    pub fn batch(&self, key: &BatchKey) -> Result<Option<BatchRecord>, StoreError> {
        self.get_json(T::Batches, &key.to_bytes())
    }

    pub fn batches(&self) -> Result<Vec<BatchRecord>, StoreError> {
        self.all_json(T::Batches, b"")
    }

    pub fn batches_for(&self, settlement_id: &str) -> Result<Vec<BatchRecord>, StoreError> {
        self.all_json(T::Batches, &BatchKey::settlement_prefix(settlement_id))
    }

    /// A settlement's status: the worst state of its batches (`None` without batches).
    pub fn settlement_status(&self, settlement_id: &str) -> Result<Option<BatchState>, StoreError> {
        Ok(BatchState::worst(
            self.batches_for(settlement_id)?
                .into_iter()
                .map(|b| b.state),
        ))
    }

    /// Batches whose EBS side may hold rows (staged, submitted) or with an
    /// outstanding intent: what a restart reconciles first.
    pub fn in_flight(&self) -> Result<Vec<BatchRecord>, StoreError> {
        let intents: BTreeSet<BatchKey> = self.intents()?.into_iter().map(|i| i.batch).collect();
        Ok(self
            .batches()?
            .into_iter()
            .filter(|b| b.state.in_flight() || intents.contains(&b.key()))
            .collect())
    }

    /// Creates a batch that does not exist yet.
    pub fn create_batch(
        &self,
        record: &BatchRecord,
        audit: Option<NewAuditEntry>,
    ) -> Result<(), StoreError> {
        let key = record.key();
        check_batch_key(&key)?;
        self.commit(
            &[Expect::absent(
                T::Batches,
                key.to_bytes(),
                format!("batch {key}"),
            )],
            &[Op::Put(T::Batches, key.to_bytes(), json(record))],
            audit.as_ref(),
        )?;
        Ok(())
    }

    /// Replaces `before` by `after` atomically with its audit entry, clearing the
    /// batch's posting intent (the call it announced has been answered).
    /// Fails if the stored record is no longer `before`, or if the state change
    /// is not a transition of [`BatchState`].
    pub fn transition(
        &self,
        before: &BatchRecord,
        after: &BatchRecord,
        audit: Option<NewAuditEntry>,
    ) -> Result<Option<AuditEntry>, StoreError> {
        let key = before.key();
        if after.key() != key {
            return Err(StoreError::Conflict {
                what: format!("batch {key} (a transition cannot rename it)"),
            });
        }
        if before.state != after.state && !before.state.can_move_to(after.state) {
            return Err(StoreError::IllegalTransition {
                batch: key,
                from: before.state,
                to: after.state,
            });
        }
        self.commit(
            &[Expect::record(
                T::Batches,
                key.to_bytes(),
                Some(before.clone()),
                format!("batch {key}"),
            )],
            &[
                Op::Put(T::Batches, key.to_bytes(), json(after)),
                Op::Del(T::Intents, key.to_bytes()),
            ],
            audit.as_ref(),
        )
    }

    // ------------------------------------------------------------ intents

    /// Records (and flushes) what is about to be asked of EBS. Call before the request.
    pub fn record_intent(&self, intent: &PostingIntent) -> Result<(), StoreError> {
        let key = intent.batch.to_bytes();
        if self.tree(T::Batches).get(&key)?.is_none() {
            return Err(StoreError::NotFound(format!("batch {}", intent.batch)));
        }
        self.commit(&[], &[Op::Put(T::Intents, key, json(intent))], None)?;
        Ok(())
    }

    pub fn intent(&self, key: &BatchKey) -> Result<Option<PostingIntent>, StoreError> {
        self.get_json(T::Intents, &key.to_bytes())
    }

    pub fn intents(&self) -> Result<Vec<PostingIntent>, StoreError> {
        self.all_json(T::Intents, b"")
    }

    /// Drops an intent without a transition (e.g. EBS confirmed nothing arrived).
    pub fn clear_intent(&self, key: &BatchKey) -> Result<(), StoreError> {
        self.commit(&[], &[Op::Del(T::Intents, key.to_bytes())], None)?;
        Ok(())
    }

    // ------------------------------------------------------------ cursors

    pub fn cursor(&self, name: &str) -> Result<Option<CursorRecord>, StoreError> {
        self.get_json(T::Cursors, name.as_bytes())
    }

    pub fn set_cursor(
        &self,
        name: &str,
        value: serde_json::Value,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let record = CursorRecord {
            value,
            updated_at: now,
        };
        self.commit(
            &[],
            &[Op::Put(T::Cursors, name.as_bytes().to_vec(), json(&record))],
            None,
        )?;
        Ok(())
    }

    // ------------------------------------------------------------ verify

    /// Integrity and cross-references: every value readable, raw files match
    /// their hashes, every batch's settlement exists, every proposal's mapping
    /// version exists, intents point at batches, the audit sequence has no holes.
    pub fn verify(&self) -> Result<VerifyReport, StoreError> {
        let mut report = VerifyReport::default();
        let problems = &mut report.problems;

        match self.schema_version() {
            Ok(SCHEMA_VERSION) => {}
            Ok(v) => problems.push(format!("schema version is {v}, expected {SCHEMA_VERSION}")),
            Err(e) => problems.push(e.to_string()),
        }

        // Every JSON value parses as JSON at least; typed reads follow.
        for (i, name) in TREES.iter().enumerate() {
            let tree = &self.trees[i];
            report.counts.insert((*name).to_string(), tree.len());
            if BINARY_TREES.contains(name) {
                continue;
            }
            for item in tree.iter() {
                let (k, v) = item?;
                if serde_json::from_slice::<serde_json::Value>(&v).is_err() {
                    problems.push(format!(
                        "tree {name}: value at key {} is not JSON",
                        key_text(&k)
                    ));
                }
            }
        }

        fn typed<V: DeserializeOwned>(
            store: &Store,
            t: T,
            problems: &mut Vec<String>,
        ) -> Vec<(Vec<u8>, V)> {
            let mut out = Vec::new();
            for item in store.tree(t).iter() {
                let Ok((k, v)) = item else { continue };
                match serde_json::from_slice::<V>(&v) {
                    Ok(value) => out.push((k.to_vec(), value)),
                    Err(e) => problems.push(format!(
                        "tree {}: key {} does not read as its record: {e}",
                        TREES[t as usize],
                        key_text(&k)
                    )),
                }
            }
            out
        }

        // Raw files: meta and bytes pair up and hashes match.
        let raw_meta: Vec<(Vec<u8>, RawFileMeta)> = typed(self, T::RawMeta, problems);
        let mut raw_by_id = BTreeMap::new();
        for (k, meta) in &raw_meta {
            if k.as_slice() != meta.settlement_id.as_bytes() {
                problems.push(format!(
                    "raw file {} is filed under key {}",
                    meta.settlement_id,
                    key_text(k)
                ));
            }
            match self.tree(T::RawBytes).get(k)? {
                None => problems.push(format!(
                    "raw file of settlement {} has no bytes",
                    meta.settlement_id
                )),
                Some(bytes) => {
                    if sha256_hex(&bytes) != meta.sha256 {
                        problems.push(format!(
                            "raw file of settlement {}: bytes do not match the recorded sha256 {}",
                            meta.settlement_id, meta.sha256
                        ));
                    }
                }
            }
            raw_by_id.insert(meta.settlement_id.clone(), meta.sha256.clone());
        }
        for item in self.tree(T::RawBytes).iter() {
            let (k, _) = item?;
            if self.tree(T::RawMeta).get(&k)?.is_none() {
                problems.push(format!(
                    "raw bytes under key {} have no description",
                    key_text(&k)
                ));
            }
        }

        let superseded: Vec<(Vec<u8>, SupersededRaw)> = typed(self, T::RawSuperseded, problems);
        for (_, old) in &superseded {
            let ok = base64::engine::general_purpose::STANDARD
                .decode(&old.bytes)
                .is_ok_and(|b| sha256_hex(&b) == old.meta.sha256);
            if !ok {
                problems.push(format!(
                    "superseded file {} of settlement {}: bytes do not match its sha256",
                    old.meta.sha256, old.meta.settlement_id
                ));
            }
        }

        let settlements: Vec<(Vec<u8>, SettlementRecord)> = typed(self, T::Settlements, problems);
        let settlement_ids: BTreeSet<String> = settlements
            .iter()
            .map(|(_, s)| s.summary.settlement_id.clone())
            .collect();
        for (_, s) in &settlements {
            let id = &s.summary.settlement_id;
            if let Some(sha) = &s.raw_sha256 {
                match raw_by_id.get(id) {
                    None => problems.push(format!("settlement {id} was parsed from a raw file the store does not hold")),
                    Some(kept) if kept != sha => problems.push(format!(
                        "settlement {id} was parsed from a file with sha256 {sha}, but the kept file has {kept}"
                    )),
                    Some(_) => {}
                }
            }
            if let Some(group) = &s.event_group_id
                && self.tree(T::EventGroups).get(group.as_bytes())?.is_none()
            {
                problems.push(format!("settlement {id} is linked to event group {group}, which the store does not hold"));
            }
        }
        let _: Vec<(Vec<u8>, EventGroupRecord)> = typed(self, T::EventGroups, problems);
        let _: Vec<(Vec<u8>, OrderRecord)> = typed(self, T::Orders, problems);
        let _: Vec<(Vec<u8>, ReportRecord)> = typed(self, T::Reports, problems);
        let _: Vec<(Vec<u8>, CursorRecord)> = typed(self, T::Cursors, problems);

        let mappings: Vec<(Vec<u8>, MappingVersion)> = typed(self, T::Mappings, problems);
        let mut versions: BTreeMap<String, Vec<u32>> = BTreeMap::new();
        for (k, m) in &mappings {
            if k.as_slice() != Self::mapping_key(&m.name, m.version).as_slice() {
                problems.push(format!(
                    "mapping {} version {} is filed under another key",
                    m.name, m.version
                ));
            }
            if sha256_hex(m.text.as_bytes()) != m.sha256 {
                problems.push(format!(
                    "mapping {} version {}: text does not match its sha256",
                    m.name, m.version
                ));
            }
            versions.entry(m.name.clone()).or_default().push(m.version);
        }
        for (name, list) in &versions {
            let expected: Vec<u32> = (1..=list.len() as u32).collect();
            if list != &expected {
                problems.push(format!(
                    "mapping {name}: versions {list:?} are not 1..{}",
                    list.len()
                ));
            }
        }

        let batches: Vec<(Vec<u8>, BatchRecord)> = typed(self, T::Batches, problems);
        let batch_keys: BTreeSet<Vec<u8>> = batches.iter().map(|(k, _)| k.clone()).collect();
        for (k, b) in &batches {
            if k.as_slice() != b.key().to_bytes().as_slice() {
                problems.push(format!(
                    "batch {} is filed under key {}",
                    b.key(),
                    key_text(k)
                ));
            }
            if !settlement_ids.contains(&b.settlement_id) {
                problems.push(format!(
                    "batch {}: settlement {} does not exist",
                    b.key(),
                    b.settlement_id
                ));
            }
            if b.revision == 0 {
                problems.push(format!("batch {}: revision 0", b.key()));
            }
        }

        let proposals: Vec<(Vec<u8>, Proposal)> = typed(self, T::Proposals, problems);
        for (k, p) in &proposals {
            if k.as_slice() != p.batch.to_bytes().as_slice() {
                problems.push(format!(
                    "proposal for {} is filed under key {}",
                    p.batch,
                    key_text(k)
                ));
            }
            if !settlement_ids.contains(&p.batch.settlement_id) {
                problems.push(format!(
                    "proposal for {}: settlement does not exist",
                    p.batch
                ));
            }
            if self
                .tree(T::Mappings)
                .get(Self::mapping_key(&p.mapping.name, p.mapping.version))?
                .is_none()
            {
                problems.push(format!(
                    "proposal for {}: mapping {} version {} does not exist",
                    p.batch, p.mapping.name, p.mapping.version
                ));
            }
        }

        let intents: Vec<(Vec<u8>, PostingIntent)> = typed(self, T::Intents, problems);
        for (k, i) in &intents {
            if !batch_keys.contains(k) {
                problems.push(format!(
                    "posting intent for {}: the batch does not exist",
                    i.batch
                ));
            }
        }

        let audit: Vec<(Vec<u8>, AuditEntry)> = typed(self, T::Audit, problems);
        let mut expected_seq = 1u64;
        for (k, e) in &audit {
            if k.as_slice() != e.seq.to_be_bytes().as_slice() {
                problems.push(format!(
                    "audit entry {} is filed under another sequence number",
                    e.seq
                ));
            }
            if e.seq != expected_seq {
                problems.push(format!(
                    "audit sequence jumps from {} to {}",
                    expected_seq - 1,
                    e.seq
                ));
            }
            expected_seq = e.seq + 1;
        }
        let next: u64 = self.get_json(T::Meta, KEY_AUDIT_NEXT)?.unwrap_or(1);
        if next != expected_seq {
            problems.push(format!(
                "audit counter is {next} but the last entry is {}",
                expected_seq - 1
            ));
        }
        Ok(report)
    }

    // ------------------------------------------------------------ export / import

    /// Writes every tree as JSON lines: a header, then one line per entry
    /// (`{"tree", "key" (hex), "value"}` or `"bytes"` (base64) for raw data).
    /// Deterministic: the same store exports the same bytes.
    pub fn export(&self, out: &mut dyn Write) -> Result<usize, StoreError> {
        let io = |source| StoreError::Io {
            path: PathBuf::from("export"),
            source,
        };
        let header = serde_json::json!({
            "format": EXPORT_FORMAT,
            "schema_version": self.schema_version()?,
        });
        writeln!(out, "{header}").map_err(io)?;
        let mut count = 0;
        let mut names: Vec<String> = TREES.iter().map(|s| s.to_string()).collect();
        // Trees from older layouts kept by a partial migration are exported too.
        for name in self.db.tree_names() {
            let name = String::from_utf8_lossy(&name).into_owned();
            if name != "__sled__default" && !names.contains(&name) {
                names.push(name);
            }
        }
        for name in &names {
            let tree = self.db.open_tree(name)?;
            for item in tree.iter() {
                let (k, v) = item?;
                let parsed = if BINARY_TREES.contains(&name.as_str()) {
                    None
                } else {
                    serde_json::from_slice::<serde_json::Value>(&v).ok()
                };
                let line = match parsed {
                    Some(value) => {
                        serde_json::json!({"tree": name, "key": hex::encode(&k), "value": value})
                    }
                    None => serde_json::json!({
                        "tree": name,
                        "key": hex::encode(&k),
                        "bytes": base64::engine::general_purpose::STANDARD.encode(&v),
                    }),
                };
                writeln!(out, "{line}").map_err(io)?;
                count += 1;
            }
        }
        out.flush().map_err(io)?;
        Ok(count)
    }

    /// Loads an export into this store, which must be empty; migrates it if it
    /// came from an older schema, then flushes.
    pub fn import(&self, input: &mut dyn BufRead) -> Result<ImportSummary, StoreError> {
        let has_data = self.trees.iter().enumerate().any(|(i, t)| {
            if i == T::Meta as usize {
                t.len() > 1
            } else {
                !t.is_empty()
            }
        });
        if has_data {
            return Err(StoreError::ImportNotEmpty {
                dir: self.dir.clone(),
            });
        }
        let bad = |line: usize, reason: String| StoreError::ImportFormat { line, reason };
        let mut lines = input.lines().enumerate();
        let (_, header) = lines.next().ok_or_else(|| {
            bad(
                1,
                "empty file; expected an ml-connector store export".into(),
            )
        })?;
        let header: serde_json::Value = header
            .map_err(|e| bad(1, e.to_string()))
            .and_then(|h| serde_json::from_str(&h).map_err(|e| bad(1, e.to_string())))?;
        if header["format"] != EXPORT_FORMAT {
            return Err(bad(
                1,
                "not an ml-connector store export (no format header)".into(),
            ));
        }
        let version = header["schema_version"]
            .as_u64()
            .and_then(|v| u32::try_from(v).ok())
            .ok_or_else(|| bad(1, "header has no schema_version".into()))?;
        if version > SCHEMA_VERSION {
            return Err(StoreError::NewerSchema {
                found: version,
                supported: SCHEMA_VERSION,
            });
        }
        let mut entries = 0;
        let mut batch_per_tree: BTreeMap<String, sled::Batch> = BTreeMap::new();
        for (index, line) in lines {
            let n = index + 1;
            let line = line.map_err(|e| bad(n, e.to_string()))?;
            if line.trim().is_empty() {
                continue;
            }
            let value: serde_json::Value =
                serde_json::from_str(&line).map_err(|e| bad(n, e.to_string()))?;
            let tree = value["tree"]
                .as_str()
                .ok_or_else(|| bad(n, "no `tree`".into()))?
                .to_string();
            let key = value["key"]
                .as_str()
                .and_then(|k| hex::decode(k).ok())
                .ok_or_else(|| bad(n, "no hex `key`".into()))?;
            let bytes = if let Some(b64) = value["bytes"].as_str() {
                base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .map_err(|e| bad(n, format!("bad base64: {e}")))?
            } else if let Some(v) = value.get("value") {
                json(v)
            } else {
                return Err(bad(n, "neither `value` nor `bytes`".into()));
            };
            batch_per_tree.entry(tree).or_default().insert(key, bytes);
            entries += 1;
        }
        for (tree, batch) in batch_per_tree {
            self.db.open_tree(tree)?.apply_batch(batch)?;
        }
        self.flush()?;
        let migrated = version < SCHEMA_VERSION;
        if migrated {
            migrate::run(&self.db, version)?;
        }
        Ok(ImportSummary {
            entries,
            schema_version: version,
            migrated,
        })
    }
}

impl RawFileMeta {
    /// Describes `bytes` (hash and length) for [`Store::put_raw_settlement`].
    pub fn describe(
        settlement_id: &str,
        charset: &str,
        bytes: &[u8],
        fetched_at: DateTime<Utc>,
    ) -> Self {
        RawFileMeta {
            settlement_id: settlement_id.into(),
            report_id: None,
            report_type: None,
            seller: None,
            marketplace_id: None,
            charset: charset.into(),
            sha256: sha256_hex(bytes),
            len: bytes.len() as u64,
            fetched_at,
        }
    }
}
