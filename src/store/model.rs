//! What the store should hold according to its history journal (every journaled write
//! replayed in memory), how the store differs from it, and those differences in plain
//! words ("batch 2079…/NOV-26 state imported r1 missing; 37 audit entries missing").

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::value::RawValue;

use super::journal::{self, Entry, JOp, Position, Scan};
use super::{BatchKey, BatchRecord, KEY_JOURNAL, StoreError, key_text, sha256_hex};

/// A value as the journal has it.
#[derive(Debug, Clone)]
pub(super) enum MVal {
    Json(Box<RawValue>),
    /// Raw settlement bytes, by hash (the bytes are in `history/raw/`).
    Raw(String),
}

/// Every tree's entries as the journal says they are.
#[derive(Debug, Default)]
pub(super) struct Model {
    pub trees: BTreeMap<String, BTreeMap<Vec<u8>, MVal>>,
    pub last: Position,
}

impl Model {
    pub fn apply(&mut self, entry: &Entry) -> Result<(), StoreError> {
        for op in &entry.line.ops {
            let key = hex::decode(&op.key).map_err(|_| StoreError::Corrupt {
                tree: "history journal",
                key: format!("seq {}", entry.line.seq),
                reason: format!("key `{}` is not hex", op.key),
            })?;
            let tree = self.trees.entry(op.tree.clone()).or_default();
            match (op.del, &op.value, &op.raw) {
                (true, _, _) => {
                    tree.remove(&key);
                }
                (false, Some(v), _) => {
                    tree.insert(key, MVal::Json(v.clone()));
                }
                (false, None, Some(sha)) => {
                    tree.insert(key, MVal::Raw(sha.clone()));
                }
                (false, None, None) => {
                    return Err(StoreError::Corrupt {
                        tree: "history journal",
                        key: format!("seq {}", entry.line.seq),
                        reason: "a write without a value".into(),
                    });
                }
            }
        }
        self.last = entry.position();
        Ok(())
    }

    pub fn count(&self) -> usize {
        self.trees.values().map(BTreeMap::len).sum()
    }
}

/// The journal replayed: the model of every line but the last, the last line apart
/// (so a caller can tell "behind by exactly the last commit"), and how the read ended.
pub(super) struct Replayed {
    pub before_last: Model,
    pub last: Option<Entry>,
    pub scan: Scan,
}

impl Replayed {
    pub fn load(data_dir: &Path) -> Result<Replayed, StoreError> {
        let mut model = Model::default();
        let mut pending: Option<Entry> = None;
        let scan = journal::scan(data_dir, |entry| {
            if let Some(previous) = pending.replace(entry) {
                model.apply(&previous)?;
            }
            Ok(())
        })?;
        Ok(Replayed {
            before_last: model,
            last: pending,
            scan,
        })
    }

    /// The model of the whole (good part of the) journal.
    pub fn into_full(self) -> Result<(Model, Scan), StoreError> {
        let mut model = self.before_last;
        if let Some(last) = &self.last {
            model.apply(last)?;
        }
        Ok((model, self.scan))
    }
}

/// How the store differs from the journal's model.
#[derive(Debug, Default)]
pub(super) struct Diff {
    /// In the journal, not in the store.
    pub missing: Vec<(String, Vec<u8>, MVal)>,
    /// In the store, not in the journal.
    pub unknown: Vec<(String, Vec<u8>, Vec<u8>)>,
    /// Both, with different values: (tree, key, journal's, store's).
    pub differs: Vec<(String, Vec<u8>, MVal, Vec<u8>)>,
}

impl Diff {
    pub fn is_empty(&self) -> bool {
        self.missing.is_empty() && self.unknown.is_empty() && self.differs.is_empty()
    }
}

fn same(model: &MVal, stored: &[u8]) -> bool {
    match model {
        MVal::Raw(sha) => sha256_hex(stored) == *sha,
        MVal::Json(raw) => {
            raw.get().as_bytes() == stored
                || match (
                    serde_json::from_str::<serde_json::Value>(raw.get()),
                    serde_json::from_slice::<serde_json::Value>(stored),
                ) {
                    (Ok(a), Ok(b)) => a == b,
                    _ => false,
                }
        }
    }
}

/// Compares every tree of `db` with `model`, entry by entry (the store's own
/// bookkeeping key `meta.journal` aside). Reads only: opens no tree that does not exist.
pub(super) fn compare(db: &sled::Db, model: &Model) -> Result<Diff, StoreError> {
    let mut diff = Diff::default();
    let mut names: Vec<String> = db
        .tree_names()
        .iter()
        .map(|n| String::from_utf8_lossy(n).into_owned())
        .filter(|n| n != "__sled__default")
        .collect();
    for name in model.trees.keys() {
        if !names.contains(name) {
            names.push(name.clone());
        }
    }
    let empty = BTreeMap::new();
    for name in names {
        let expected = model.trees.get(&name).unwrap_or(&empty);
        let exists = db
            .tree_names()
            .iter()
            .any(|n| n.as_ref() == name.as_bytes());
        let mut want = expected.iter().peekable();
        if exists {
            let tree = db.open_tree(&name)?;
            for item in tree.iter() {
                let (k, v) = item?;
                if name == "meta" && k.as_ref() == KEY_JOURNAL {
                    continue;
                }
                while let Some((wk, wv)) = want.next_if(|(wk, _)| wk.as_slice() < k.as_ref()) {
                    diff.missing.push((name.clone(), wk.clone(), wv.clone()));
                }
                match want.next_if(|(wk, _)| wk.as_slice() == k.as_ref()) {
                    Some((_, wv)) => {
                        if !same(wv, &v) {
                            diff.differs
                                .push((name.clone(), k.to_vec(), wv.clone(), v.to_vec()));
                        }
                    }
                    None => diff.unknown.push((name.clone(), k.to_vec(), v.to_vec())),
                }
            }
        }
        for (wk, wv) in want {
            diff.missing.push((name.clone(), wk.clone(), wv.clone()));
        }
    }
    Ok(diff)
}

fn batch_words(key: &[u8], value: Option<&[u8]>) -> String {
    let name = BatchKey::from_bytes(key).map_or_else(|| key_text(key), |k| k.to_string());
    match value.and_then(|v| serde_json::from_slice::<BatchRecord>(v).ok()) {
        Some(b) => format!("batch {name} state {} r{}", b.state, b.revision),
        None => format!("batch {name}"),
    }
}

pub(super) fn plain(key: &[u8]) -> String {
    match std::str::from_utf8(key) {
        Ok(s) if !s.chars().any(char::is_control) => s.to_string(),
        Ok(s) => s.replace('\0', "/"),
        Err(_) => hex::encode(key),
    }
}

/// One entry in plain words.
fn words(tree: &str, key: &[u8], value: Option<&[u8]>) -> String {
    let batch = || BatchKey::from_bytes(key).map_or_else(|| key_text(key), |k| k.to_string());
    match tree {
        "batches" => batch_words(key, value),
        "proposals" => format!("proposal for {}", batch()),
        "intents" => format!("posting intent for {}", batch()),
        "mappings" if key.len() > 5 && key[key.len() - 5] == 0 => {
            let (name, version) = key.split_at(key.len() - 4);
            let version = u32::from_be_bytes(version.try_into().unwrap_or([0; 4]));
            format!(
                "mapping {} version {version}",
                plain(&name[..name.len() - 1])
            )
        }
        "raw_meta" => format!("raw file of settlement {}", plain(key)),
        "raw_bytes" => format!("bytes of the raw file of settlement {}", plain(key)),
        "raw_superseded" => format!("superseded file of settlement {}", plain(key)),
        "settlements" => format!("settlement {}", plain(key)),
        "event_groups" => format!("event group {}", plain(key)),
        "orders" => format!("order {}", plain(key)),
        "reports" => format!("report {}", plain(key)),
        "cursors" => format!("cursor {}", plain(key)),
        "meta" => format!("meta `{}`", plain(key)),
        "audit" if key.len() == 8 => format!(
            "audit entry {}",
            u64::from_be_bytes(key.try_into().unwrap_or([0; 8]))
        ),
        other => format!("entry {} of tree `{other}`", key_text(key)),
    }
}

fn model_bytes(value: &MVal) -> Option<&[u8]> {
    match value {
        MVal::Json(raw) => Some(raw.get().as_bytes()),
        MVal::Raw(_) => None,
    }
}

/// `12–48, 50`.
fn ranges(mut seqs: Vec<u64>) -> String {
    seqs.sort_unstable();
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < seqs.len() {
        let start = seqs[i];
        let mut end = start;
        while i + 1 < seqs.len() && seqs[i + 1] == end + 1 {
            i += 1;
            end = seqs[i];
        }
        out.push(if start == end {
            start.to_string()
        } else {
            format!("{start}–{end}")
        });
        i += 1;
    }
    out.join(", ")
}

/// Trees whose entries are counted rather than listed one by one.
const COUNTED: [(&str, &str); 4] = [
    ("audit", "audit entries"),
    ("orders", "orders"),
    ("event_groups", "event groups"),
    ("reports", "report listings"),
];

/// The differences in plain words, the most telling first.
pub(super) fn describe(diff: &Diff) -> Vec<String> {
    let mut out = Vec::new();
    let mut counted: BTreeMap<(&str, &str), Vec<u64>> = BTreeMap::new();
    let count = |tree: &str, key: &[u8], how: &'static str, counted: &mut BTreeMap<_, _>| {
        let Some((_, label)) = COUNTED.iter().find(|(t, _)| *t == tree) else {
            return false;
        };
        let n = if tree == "audit" && key.len() == 8 {
            u64::from_be_bytes(key.try_into().unwrap_or([0; 8]))
        } else {
            0
        };
        counted
            .entry((*label, how))
            .or_insert_with(Vec::new)
            .push(n);
        true
    };
    for (tree, key, value) in &diff.missing {
        // The bytes of a missing raw file are implied by its description.
        if tree == "raw_bytes"
            && diff
                .missing
                .iter()
                .any(|(t, k, _)| t == "raw_meta" && k == key)
        {
            continue;
        }
        if !count(tree, key, "missing", &mut counted) {
            out.push(format!("{} missing", words(tree, key, model_bytes(value))));
        }
    }
    for (tree, key, theirs, ours) in &diff.differs {
        if count(tree, key, "different", &mut counted) {
            continue;
        }
        out.push(match tree.as_str() {
            "batches" => format!(
                "{}: the store has {}",
                batch_words(key, model_bytes(theirs)),
                batch_words(key, Some(ours))
                    .split_once(" state ")
                    .map_or("another version".to_string(), |(_, s)| format!("state {s}"))
            ),
            _ => format!(
                "{}: the store holds another version than its history",
                words(tree, key, None)
            ),
        });
    }
    for (tree, key, value) in &diff.unknown {
        if !count(tree, key, "not in the history", &mut counted) {
            out.push(format!(
                "{} is in the store but not in its history",
                words(tree, key, Some(value))
            ));
        }
    }
    // Counts first: an error message shows only the first few lines.
    let mut summary: Vec<String> = counted
        .into_iter()
        .map(|((label, how), seqs)| {
            let n = seqs.len();
            if label == "audit entries" {
                format!("{n} {label} {how} (seq {})", ranges(seqs))
            } else {
                format!("{n} {label} {how}")
            }
        })
        .collect();
    summary.extend(out);
    summary
}

/// What the model holds, counted per kind of record ("80 batch records").
pub(super) fn inventory(model: &Model) -> Vec<String> {
    const WORDS: [(&str, &str, &str); 12] = [
        ("batches", "batch record", "batch records"),
        ("proposals", "proposal", "proposals"),
        ("mappings", "mapping version", "mapping versions"),
        ("audit", "audit entry", "audit entries"),
        ("settlements", "settlement", "settlements"),
        ("raw_meta", "raw settlement file", "raw settlement files"),
        (
            "raw_superseded",
            "superseded raw file",
            "superseded raw files",
        ),
        ("intents", "posting intent", "posting intents"),
        ("event_groups", "event group", "event groups"),
        ("orders", "order", "orders"),
        ("reports", "report listing", "report listings"),
        ("cursors", "sync cursor", "sync cursors"),
    ];
    WORDS
        .iter()
        .filter_map(
            |(tree, one, many)| match model.trees.get(*tree).map_or(0, BTreeMap::len) {
                0 => None,
                1 => Some(format!("1 {one}")),
                n => Some(format!("{n} {many}")),
            },
        )
        .collect()
}

/// The raw settlement files the model refers to, checked on disk.
pub(super) fn check_raw_archive(data_dir: &Path, model: &Model) -> Vec<String> {
    let mut problems = Vec::new();
    if let Some(raws) = model.trees.get("raw_bytes") {
        for (key, value) in raws {
            if let MVal::Raw(sha) = value
                && let Err(why) = journal::read_raw(data_dir, &plain(key), sha)
            {
                problems.push(format!(
                    "history: the kept bytes of settlement {}: {why}",
                    plain(key)
                ));
            }
        }
    }
    problems
}

/// A journal op from a store write (`raw_bytes` values become references to the
/// archived file, which the caller has written).
pub(super) fn op(tree: &str, key: &[u8], value: Option<&[u8]>) -> JOp {
    let hex_key = hex::encode(key);
    match value {
        None => JOp {
            tree: tree.into(),
            key: hex_key,
            value: None,
            raw: None,
            del: true,
        },
        Some(bytes) if tree == "raw_bytes" => JOp {
            tree: tree.into(),
            key: hex_key,
            value: None,
            raw: Some(sha256_hex(bytes)),
            del: false,
        },
        Some(bytes) => {
            let raw = std::str::from_utf8(bytes)
                .ok()
                .and_then(|s| RawValue::from_string(s.to_string()).ok())
                .unwrap_or_else(|| {
                    // Not JSON (should not happen outside raw_bytes): keep it as a string.
                    RawValue::from_string(
                        serde_json::to_string(&String::from_utf8_lossy(bytes)).unwrap_or_default(),
                    )
                    .expect("a JSON string")
                });
            JOp {
                tree: tree.into(),
                key: hex_key,
                value: Some(raw),
                raw: None,
                del: false,
            }
        }
    }
}

/// The journal line's `kind` and `key` for a commit whose first write is `(tree, key)`.
pub(super) fn label(tree: &str, key: &[u8], deleting: bool) -> (String, String) {
    let kind = match tree {
        "batches" => "batch",
        "proposals" => "proposal",
        "intents" if deleting => "intent_cleared",
        "intents" => "intent",
        "mappings" => "mapping",
        "raw_meta" | "raw_bytes" | "raw_superseded" => "raw_file",
        "settlements" => "settlement",
        "event_groups" => "event_group",
        "orders" => "orders",
        "reports" => "report",
        "cursors" => "cursor",
        "audit" => "audit",
        other => other,
    };
    let text = match tree {
        "batches" | "proposals" | "intents" => {
            BatchKey::from_bytes(key).map_or_else(|| plain(key), |k| k.to_string())
        }
        "mappings" => words(tree, key, None).replacen("mapping ", "", 1),
        "audit" => words(tree, key, None).replacen("audit entry ", "", 1),
        _ => plain(key),
    };
    (kind.to_string(), text)
}
