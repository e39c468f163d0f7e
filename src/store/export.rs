//! `store export` / `store import`: the whole store as deterministic JSON lines, and back.
//!
//! The store's place in its history journal (`meta.journal`) describes one data
//! directory, so it is not exported; an import starts the directory's journal afresh
//! from what it brought in. An import refuses unknown trees and raw files whose bytes
//! do not hash to their recorded sha256, before writing anything.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::path::PathBuf;

use base64::Engine as _;

use super::{
    BINARY_TREES, KEY_JOURNAL, KEY_SCHEMA, MIGRATIONS, RawFileMeta, SCHEMA_VERSION, Store,
    StoreError, SupersededRaw, T, TREES, json, migrate, open, sha256_hex,
};

const EXPORT_FORMAT: &str = "ml-connector-store";

/// An export read into memory: each tree's (key, value) pairs.
type Entries = BTreeMap<String, Vec<(Vec<u8>, Vec<u8>)>>;

/// What an import brought in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportSummary {
    pub entries: usize,
    pub schema_version: u32,
    pub migrated: bool,
}

impl Store {
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
                if name == "meta" && k.as_ref() == KEY_JOURNAL {
                    continue;
                }
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
    /// came from an older schema, then flushes and starts the history journal from it.
    pub fn import(&self, input: &mut dyn BufRead) -> Result<ImportSummary, StoreError> {
        let mut journal = self
            .journal
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(damage) = self.refused() {
            return Err(damage.into());
        }
        let has_data = self.trees.iter().enumerate().any(|(i, t)| {
            if i == T::Meta as usize {
                t.iter()
                    .keys()
                    .any(|k| k.is_ok_and(|k| k != KEY_SCHEMA && k != KEY_JOURNAL))
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
        let mut per_tree: Entries = BTreeMap::new();
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
            if tree == "meta" && key == KEY_JOURNAL {
                // Another directory's place in its own journal.
                continue;
            }
            per_tree.entry(tree).or_default().push((key, bytes));
            entries += 1;
        }
        check_import(&per_tree)?;
        for (tree, items) in per_tree {
            let mut batch = sled::Batch::default();
            for (k, v) in items {
                batch.insert(k, v);
            }
            self.db.open_tree(tree)?.apply_batch(batch)?;
        }
        self.flush()?;
        let migrated = version < SCHEMA_VERSION;
        if migrated {
            migrate::run(&self.db, version)?;
        }
        *journal = Some(open::start_journal(&self.db, &self.dir, "import")?);
        Ok(ImportSummary {
            entries,
            schema_version: version,
            migrated,
        })
    }
}

/// Refuses trees this build does not know and raw files whose bytes do not hash to
/// their recorded sha256, naming them.
fn check_import(per_tree: &Entries) -> Result<(), StoreError> {
    let unknown: Vec<String> = per_tree
        .keys()
        .filter(|t| {
            !TREES.contains(&t.as_str())
                && !MIGRATIONS.iter().any(|m| m.old_trees.contains(&t.as_str()))
        })
        .cloned()
        .collect();
    if !unknown.is_empty() {
        return Err(StoreError::ImportUnknownTrees { names: unknown });
    }
    let empty = Vec::new();
    let bytes: BTreeMap<&[u8], &[u8]> = per_tree
        .get("raw_bytes")
        .unwrap_or(&empty)
        .iter()
        .map(|(k, v)| (k.as_slice(), v.as_slice()))
        .collect();
    for (key, value) in per_tree.get("raw_meta").unwrap_or(&empty) {
        let id = String::from_utf8_lossy(key).into_owned();
        let Ok(meta) = serde_json::from_slice::<RawFileMeta>(value) else {
            continue; // `store verify` names values that do not read as their record
        };
        let matches = bytes
            .get(key.as_slice())
            .is_some_and(|b| sha256_hex(b) == meta.sha256 && b.len() as u64 == meta.len);
        if !matches {
            return Err(StoreError::ImportTampered {
                settlement_id: id,
                what: "the raw file",
            });
        }
    }
    for (_, value) in per_tree.get("raw_superseded").unwrap_or(&empty) {
        let Ok(old) = serde_json::from_slice::<SupersededRaw>(value) else {
            continue;
        };
        let matches = base64::engine::general_purpose::STANDARD
            .decode(&old.bytes)
            .is_ok_and(|b| sha256_hex(&b) == old.meta.sha256);
        if !matches {
            return Err(StoreError::ImportTampered {
                settlement_id: old.meta.settlement_id,
                what: "a superseded raw file",
            });
        }
    }
    Ok(())
}
