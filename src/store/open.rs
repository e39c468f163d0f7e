//! Opening a data directory: the lock, sled behind its guard ([`super::guard`]), the
//! schema, and the store checked against its history journal ([`super::journal`]).
//! A store that lost entries, went back in time or cannot be read is reported as
//! damaged with what is missing, and never used as if it were new.
//!
//! After a clean close (a matching `store.clean`) only the positions are compared: the
//! store's `meta.journal` must be the journal's last line. Otherwise (a crash, or the
//! files changed since) every entry of the store is compared with the journal replayed.
//!
//! Crash windows. A commit appends its journal line and fsyncs it, then commits the
//! same writes to sled in one transaction with the new position, then flushes:
//! - killed during the append: the journal ends in a torn line (no newline), which
//!   never reached sled; it is cut off on the next open (kept in `history/torn-*.bin`);
//! - killed after the append, before sled's commit is durable: the journal is ahead by
//!   exactly that line and its `prev` is the store's position; the next open applies it
//!   (the journal is the record; whatever it announced to EBS, reconcile-first checks);
//! - a journal created from a store's contents (first open of a pre-journal store, an
//!   import, a rebuild) is written beside the old one and renamed into place; killed
//!   before the store records its position, the next open finds them equal and adopts it.
//!
//! Anything else (the store behind by more, ahead of the journal, entries missing or
//! different) is damage.

use std::path::Path;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

use chrono::Utc;

use super::guard::{self, OnClose};
use super::journal::{self, Entry, JOp, Journal, Position, Tail};
use super::model::{self, Diff, Replayed};
use super::{
    Damage, DamageKind, KEY_JOURNAL, KEY_SCHEMA, SCHEMA_VERSION, Store, StoreError, TREES, json,
    lock, migrate,
};

/// What opening found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpenInfo {
    /// The last close was clean and the files are as it left them (a cheap open).
    pub clean_close: bool,
    /// The journal was started from the store's contents (a new store, or one written
    /// before the journal existed).
    pub journal_started: bool,
    /// The journal entry whose write a crash interrupted, completed on this open.
    pub completed: Option<u64>,
}

/// A data directory opened to look at, damaged or not (`store verify`, `store export`).
/// A damaged store refuses writes, and its original bytes are put back when it closes.
#[derive(Debug)]
pub struct Inspected {
    /// `None` when sled could not open it at all.
    pub store: Option<Store>,
    pub damage: Option<Damage>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    Use,
    Inspect,
}

impl Store {
    /// Opens (or creates) the store in `data_dir`, taking the directory's lock.
    /// `command` names this process to anyone else trying to open it. A damaged store
    /// is an error ([`StoreError::Damaged`]) saying what is wrong and what to do.
    pub fn open(data_dir: &Path, command: &str) -> Result<Store, StoreError> {
        Self::open_with(data_dir, command, None)
    }

    pub(super) fn open_with(
        data_dir: &Path,
        command: &str,
        lock: Option<Arc<lock::DirLock>>,
    ) -> Result<Store, StoreError> {
        let inspected = open_dir(data_dir, command, Mode::Use, lock)?;
        match (inspected.store, inspected.damage) {
            (Some(store), None) => {
                // An index missing or behind (older build, import, restore) is filled now.
                store.index_audit()?;
                Ok(store)
            }
            (_, Some(damage)) => Err(damage.into()),
            (None, None) => Err(StoreError::Sled("the store did not open".into())),
        }
    }

    /// Opens an existing store to look at it even when damaged; creates nothing
    /// ([`StoreError::NoStore`] when `data_dir` holds no store).
    pub fn inspect(data_dir: &Path, command: &str) -> Result<Inspected, StoreError> {
        open_dir(data_dir, command, Mode::Inspect, None)
    }

    /// Whether `data_dir` holds a store (its sled files or its history journal).
    pub fn holds_store(data_dir: &Path) -> bool {
        data_dir.join("store").exists()
            || journal::journal_path(data_dir).exists()
            || data_dir.join(guard::PRE_OPEN).exists()
    }
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// sled's open and the schema read, run under [`guard::catch`].
fn open_sled(store_dir: &Path) -> Result<sled::Db, StoreError> {
    let db = sled::Config::new()
        .path(store_dir)
        .open()
        .map_err(|e| match e {
            sled::Error::Io(source) if source.kind() == std::io::ErrorKind::PermissionDenied => {
                StoreError::Io {
                    path: store_dir.to_path_buf(),
                    source,
                }
            }
            other => StoreError::Sled(other.to_string()),
        })?;
    db.open_tree("meta")?.get(KEY_SCHEMA)?;
    Ok(db)
}

/// What the checks concluded, sled still open.
struct Assessment {
    trees: Vec<sled::Tree>,
    journal: Option<Journal>,
    damage: Option<(DamageKind, String, Vec<String>)>,
    info: OpenInfo,
}

pub(super) fn open_dir(
    data_dir: &Path,
    command: &str,
    mode: Mode,
    lock: Option<Arc<lock::DirLock>>,
) -> Result<Inspected, StoreError> {
    if mode == Mode::Inspect && !Store::holds_store(data_dir) {
        return Err(StoreError::NoStore {
            dir: data_dir.to_path_buf(),
        });
    }
    if !data_dir.exists() {
        journal::create_dir_private(data_dir)?;
    }
    let lock = match lock {
        Some(lock) => lock,
        None => Arc::new(lock::acquire(data_dir, command, Utc::now())?),
    };
    let store_dir = data_dir.join("store");
    let copy_dir = data_dir.join(guard::PRE_OPEN);
    if !store_dir.exists() && copy_dir.exists() {
        // A put-back was interrupted: the original bytes are in the copy.
        std::fs::rename(&copy_dir, &store_dir).map_err(io(&store_dir))?;
    }
    let mut tail = journal::read_tail(data_dir)?;
    if let Some(at) = tail.torn_at.take()
        && mode == Mode::Use
    {
        journal::cut_torn_tail(data_dir, at)?;
    }
    let recorded = tail.last.as_ref().map_or(0, |p| p.seq);
    let store_present = std::fs::symlink_metadata(&store_dir).is_ok();
    let damage = |kind, reason: String, details: Vec<String>, untouched| Damage {
        path: data_dir.to_path_buf(),
        kind,
        reason,
        details,
        untouched,
    };
    if !store_present && (recorded > 1 || tail.broken.is_some()) {
        return Ok(Inspected {
            store: None,
            damage: Some(damage(
                DamageKind::Store,
                format!(
                    "{} is missing, but its history journal records {recorded} changes",
                    store_dir.display()
                ),
                Vec::new(),
                true,
            )),
        });
    }
    let clean = guard::take_clean_close(data_dir);
    let copy = match (&clean, store_present) {
        (None, true) => Some(guard::keep_copy(data_dir).map_err(io(&copy_dir))?),
        _ => None,
    };
    let put_back = |copy: &Option<std::path::PathBuf>| match copy {
        Some(copy) => guard::put_back(data_dir, copy).is_ok(),
        None => !store_present,
    };
    // What an unreadable store can be rebuilt from (a broken journal still has the
    // part before the break).
    let no_history = if tail.last.is_some() || tail.broken.is_some() {
        DamageKind::Store
    } else {
        DamageKind::NoHistory
    };

    let db = match guard::catch(|| open_sled(&store_dir)) {
        Ok(Ok(db)) => db,
        Ok(Err(e @ StoreError::Io { .. })) => {
            put_back(&copy);
            return Err(e);
        }
        Ok(Err(e)) => {
            let untouched = put_back(&copy);
            let reason = format!("sled cannot read {}: {e}", store_dir.display());
            let details = unreadable(data_dir, no_history);
            return Ok(Inspected {
                store: None,
                damage: Some(damage(no_history, reason, details, untouched)),
            });
        }
        Err(panic) => {
            let untouched = put_back(&copy);
            let details = unreadable(data_dir, no_history);
            return Ok(Inspected {
                store: None,
                damage: Some(damage(no_history, panic, details, untouched)),
            });
        }
    };

    let assessed =
        guard::catch(|| assess(&db, data_dir, &tail, clean.as_ref())).unwrap_or_else(|panic| {
            let details = unreadable(data_dir, no_history);
            Ok(damaged(Vec::new(), no_history, panic, details))
        });
    let assessment = match assessed {
        Ok(a) => a,
        Err(
            e @ (StoreError::NotAStore { .. }
            | StoreError::NewerSchema { .. }
            | StoreError::Migration { .. }
            | StoreError::Io { .. }),
        ) => {
            let _ = guard::catch(move || drop(db));
            put_back(&copy);
            return Err(e);
        }
        Err(e) => {
            // sled opened it but cannot read what it holds.
            let reason = format!("sled cannot read {}: {e}", store_dir.display());
            let details = unreadable(data_dir, no_history);
            damaged(Vec::new(), no_history, reason, details)
        }
    };
    let Assessment {
        trees,
        journal,
        damage: found,
        info,
    } = assessment;
    let on_close = Arc::new(Mutex::new(OnClose::Nothing));
    let refusal = match found {
        None => {
            guard::drop_copy(data_dir);
            None
        }
        Some((kind, reason, details)) => {
            if mode == Mode::Use || trees.len() != TREES.len() {
                let _ = guard::catch(move || drop((trees, db)));
                let untouched = put_back(&copy);
                return Ok(Inspected {
                    store: None,
                    damage: Some(damage(kind, reason, details, untouched)),
                });
            }
            if let Some(copy) = &copy {
                *on_close
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) =
                    OnClose::PutBack(copy.clone());
            }
            Some(damage(kind, reason, details, copy.is_some()))
        }
    };
    let seq = journal.as_ref().map_or(0, |j| j.position().seq);
    let store = Store {
        db,
        trees,
        dir: data_dir.to_path_buf(),
        journal: Mutex::new(journal),
        refusal: Mutex::new(refusal.clone()),
        backed_up: AtomicU64::new(seq),
        info,
        on_close: on_close.clone(),
        _closer: guard::Closer {
            data_dir: data_dir.to_path_buf(),
            on_close,
        },
        _lock: lock,
    };
    Ok(Inspected {
        store: Some(store),
        damage: refusal,
    })
}

/// What a store that cannot be read held, according to its journal.
fn unreadable(data_dir: &Path, kind: DamageKind) -> Vec<String> {
    if kind != DamageKind::Store {
        return Vec::new();
    }
    match Replayed::load(data_dir).and_then(Replayed::into_full) {
        Ok((model, _)) => model::inventory(&model)
            .into_iter()
            .map(|what| format!("{what} in the history journal, not in the store"))
            .collect(),
        Err(_) => Vec::new(),
    }
}

fn damaged(
    trees: Vec<sled::Tree>,
    kind: DamageKind,
    reason: String,
    details: Vec<String>,
) -> Assessment {
    Assessment {
        trees,
        journal: None,
        damage: Some((kind, reason, details)),
        info: OpenInfo::default(),
    }
}

fn healthy(trees: Vec<sled::Tree>, journal: Journal, info: OpenInfo) -> Assessment {
    Assessment {
        trees,
        journal: Some(journal),
        damage: None,
        info,
    }
}

/// Schema, migrations, and the store against its journal.
fn assess(
    db: &sled::Db,
    data_dir: &Path,
    tail: &Tail,
    clean: Option<&Position>,
) -> Result<Assessment, StoreError> {
    let meta = db.open_tree("meta")?;
    let recorded = tail.last.as_ref().map_or(0, |p| p.seq);
    let journal_file = journal::journal_path(data_dir);
    let mut info = OpenInfo {
        clean_close: clean.is_some(),
        ..OpenInfo::default()
    };
    let fresh = match meta.get(KEY_SCHEMA)? {
        None => {
            let has_data = db
                .tree_names()
                .iter()
                .filter_map(|n| db.open_tree(n).ok())
                .any(|t| !t.is_empty());
            if has_data {
                return Err(StoreError::NotAStore {
                    dir: data_dir.to_path_buf(),
                });
            }
            if recorded > 1 || tail.broken.is_some() {
                return Ok(damaged(
                    Vec::new(),
                    DamageKind::Store,
                    format!(
                        "sled found nothing in {}, but its history journal records {recorded} changes: the store lost everything",
                        data_dir.join("store").display()
                    ),
                    unreadable(data_dir, DamageKind::Store),
                ));
            }
            // Durable before the journal is started from it (see the crash windows).
            meta.insert(KEY_SCHEMA, json(&SCHEMA_VERSION))?;
            db.flush()?;
            true
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
                migrate::run(db, found)?;
            }
            false
        }
    };
    let trees = TREES
        .iter()
        .map(|name| db.open_tree(name))
        .collect::<Result<Vec<_>, _>>()?;
    let stored: Option<Position> = match meta.get(KEY_JOURNAL)? {
        None => None,
        Some(raw) => serde_json::from_slice(&raw).ok(),
    };
    if let Some(broken) = &tail.broken {
        return Ok(damaged(
            trees,
            DamageKind::History,
            format!(
                "its history journal {} is damaged: {broken}",
                journal_file.display()
            ),
            Vec::new(),
        ));
    }
    let Some(last) = tail.last.clone() else {
        if let Some(stored) = stored {
            return Ok(damaged(
                trees,
                DamageKind::History,
                format!(
                    "its history journal {} is missing (the store recorded {} changes in it)",
                    journal_file.display(),
                    stored.seq
                ),
                Vec::new(),
            ));
        }
        // A new store, or one written before the journal existed: the journal starts
        // from what the store holds, so existing users lose nothing.
        let label = if fresh { "new store" } else { "existing store" };
        let journal = start_journal(db, data_dir, label)?;
        info.journal_started = true;
        return Ok(healthy(trees, journal, info));
    };
    if clean == Some(&last) && stored.as_ref() == Some(&last) {
        return Ok(healthy(trees, Journal::open_append(data_dir, last)?, info));
    }

    // Not cleanly closed (or something moved): compare every entry.
    let replayed = Replayed::load(data_dir)?;
    if let Some(broken) = &replayed.scan.broken {
        return Ok(damaged(
            trees,
            DamageKind::History,
            format!(
                "its history journal {} is damaged: {broken}",
                journal_file.display()
            ),
            Vec::new(),
        ));
    }
    let end = replayed.scan.last.clone();
    if let Some(s) = &stored {
        if s.seq > end.seq {
            return Ok(damaged(
                trees,
                DamageKind::History,
                format!(
                    "its history journal ends at change {} but the store recorded {}: the journal lost its last {} line(s)",
                    end.seq,
                    s.seq,
                    s.seq - end.seq
                ),
                Vec::new(),
            ));
        }
        if s.seq == end.seq && s.hash != end.hash {
            return Ok(damaged(
                trees,
                DamageKind::History,
                format!(
                    "the store and its history journal disagree about change {}: they do not belong together",
                    s.seq
                ),
                Vec::new(),
            ));
        }
        if let Some(entry) = &replayed.last
            && s.seq + 1 == end.seq
            && entry.line.prev == s.hash
            && model::compare(db, &replayed.before_last)?.is_empty()
        {
            // The crash window: the last commit reached the journal, not sled.
            apply_entry(db, data_dir, entry)?;
            info.completed = Some(end.seq);
            tracing::warn!(
                seq = end.seq,
                kind = %entry.line.kind,
                key = %entry.line.key,
                "completed a write a crash interrupted, from the history journal"
            );
            return Ok(healthy(trees, Journal::open_append(data_dir, end)?, info));
        }
    }
    let (model, _) = replayed.into_full()?;
    let diff = model::compare(db, &model)?;
    if diff.is_empty() {
        if stored.as_ref() != Some(&end) {
            // A journal written from this store's contents whose position was not yet
            // recorded (see the crash windows above).
            meta.insert(KEY_JOURNAL, json(&end))?;
            db.flush()?;
        }
        return Ok(healthy(trees, Journal::open_append(data_dir, end)?, info));
    }
    let (kind, reason) = summarize(db, &diff, stored.as_ref(), &end);
    Ok(damaged(trees, kind, reason, model::describe(&diff)))
}

/// The headline of a damaged store.
fn summarize(
    db: &sled::Db,
    diff: &Diff,
    stored: Option<&Position>,
    end: &Position,
) -> (DamageKind, String) {
    if diff.missing.is_empty() && diff.differs.is_empty() {
        return (
            DamageKind::History,
            format!(
                "the store holds {} entries its history journal does not record (was it written by an older ml-connector?)",
                diff.unknown.len()
            ),
        );
    }
    let holds: usize = TREES
        .iter()
        .filter(|n| **n != "meta")
        .filter_map(|n| db.open_tree(n).ok())
        .map(|t| t.len())
        .sum();
    if holds == 0 {
        return (
            DamageKind::Store,
            format!(
                "the store lost everything its history journal records ({} changes)",
                end.seq
            ),
        );
    }
    let at = match stored {
        Some(s) if s.seq < end.seq => format!(
            "it went back to change {} of {} in its history journal; ",
            s.seq, end.seq
        ),
        Some(_) => String::new(),
        None => "it records no place in its history journal; ".into(),
    };
    (
        DamageKind::Store,
        format!(
            "{at}compared with that journal, {} entries are missing, {} differ and {} are not in it",
            diff.missing.len(),
            diff.differs.len(),
            diff.unknown.len()
        ),
    )
}

/// The value a journaled write puts (raw bytes read back from `history/raw/`).
pub(super) fn resolve(data_dir: &Path, op: &JOp) -> Result<Option<Vec<u8>>, StoreError> {
    if op.del {
        return Ok(None);
    }
    if let Some(value) = &op.value {
        return Ok(Some(value.get().as_bytes().to_vec()));
    }
    let sha = op.raw.as_deref().unwrap_or_default();
    let key = hex::decode(&op.key).unwrap_or_default();
    journal::read_raw(data_dir, &model::plain(&key), sha)
        .map(Some)
        .map_err(|reason| StoreError::Corrupt {
            tree: "history",
            key: format!("raw file {sha}"),
            reason,
        })
}

/// Applies one journal entry to sled, with its position, in one transaction.
fn apply_entry(db: &sled::Db, data_dir: &Path, entry: &Entry) -> Result<(), StoreError> {
    use sled::Transactional;
    let mut names: Vec<&str> = vec!["meta"];
    let mut writes = Vec::with_capacity(entry.line.ops.len());
    for op in &entry.line.ops {
        if !names.contains(&op.tree.as_str()) {
            names.push(&op.tree);
        }
        let index = names.iter().position(|n| *n == op.tree).unwrap_or(0);
        let key = hex::decode(&op.key).map_err(|_| StoreError::Corrupt {
            tree: "history",
            key: format!("seq {}", entry.line.seq),
            reason: "a key is not hex".into(),
        })?;
        writes.push((index, key, resolve(data_dir, op)?));
    }
    let trees = names
        .iter()
        .map(|n| db.open_tree(n))
        .collect::<Result<Vec<_>, _>>()?;
    let refs: Vec<&sled::Tree> = trees.iter().collect();
    let pos = json(&entry.position());
    refs.as_slice().transaction(
        |view| -> Result<(), sled::transaction::ConflictableTransactionError<StoreError>> {
            for (index, key, value) in &writes {
                match value {
                    Some(v) => view[*index].insert(key.as_slice(), v.as_slice())?,
                    None => view[*index].remove(key.as_slice())?,
                };
            }
            view[0].insert(KEY_JOURNAL, pos.as_slice())?;
            Ok(())
        },
    )?;
    db.flush()?;
    Ok(())
}

/// Starts a journal from everything the store holds (a genesis line, then one line
/// per entry) and records its position in the store.
pub(super) fn start_journal(
    db: &sled::Db,
    data_dir: &Path,
    label: &str,
) -> Result<Journal, StoreError> {
    let at = Utc::now();
    let mut names: Vec<String> = TREES.iter().map(|s| s.to_string()).collect();
    for name in db.tree_names() {
        let name = String::from_utf8_lossy(&name).into_owned();
        if name != "__sled__default" && !names.contains(&name) {
            names.push(name);
        }
    }
    let journal = Journal::create(data_dir, at, (label.into(), Vec::new()), |journal| {
        for name in &names {
            let tree = db.open_tree(name)?;
            let mut lines = Vec::new();
            for item in tree.iter() {
                let (k, v) = item?;
                if name == "meta" && k.as_ref() == KEY_JOURNAL {
                    continue;
                }
                if name == "raw_bytes" {
                    journal::archive_raw(data_dir, &model::plain(&k), &super::sha256_hex(&v), &v)?;
                }
                let (kind, key) = model::label(name, &k, false);
                lines.push((kind, key, vec![model::op(name, &k, Some(&v))]));
                if lines.len() >= 1000 {
                    journal.write_lines(std::mem::take(&mut lines), at)?;
                }
            }
            journal.write_lines(lines, at)?;
        }
        Ok(())
    })?;
    db.open_tree("meta")?
        .insert(KEY_JOURNAL, json(journal.position()))?;
    db.flush()?;
    Ok(journal)
}
