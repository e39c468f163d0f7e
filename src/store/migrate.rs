//! Schema migrations, applied in order when an older store is opened or imported.
//!
//! Each migration is idempotent (a crash part-way re-runs it safely) and the
//! schema version is bumped only after its writes are flushed.

use super::{KEY_SCHEMA, SCHEMA_VERSION, StoreError, json};

/// One step from schema `from` to `to`.
pub struct Migration {
    pub from: u32,
    pub to: u32,
    pub description: &'static str,
    /// Trees of the older layout this step consumes (an import of an older export
    /// may hold them; any other unknown tree is refused).
    pub old_trees: &'static [&'static str],
    run: fn(&sled::Db) -> Result<(), String>,
}

/// The registry, oldest first.
pub const MIGRATIONS: &[Migration] = &[Migration {
    from: 1,
    to: 2,
    description: "posting state moves from tree `posting` (keys `settlement/period`) to `batches` (keys `settlement\\0period`) with revisions and per-line outcomes",
    old_trees: &["posting"],
    run: v1_to_v2,
}];

/// Brings a store at schema `found` up to [`SCHEMA_VERSION`].
pub(super) fn run(db: &sled::Db, mut found: u32) -> Result<(), StoreError> {
    let meta = db.open_tree("meta")?;
    while found < SCHEMA_VERSION {
        let step = MIGRATIONS
            .iter()
            .find(|m| m.from == found)
            .ok_or(StoreError::Migration {
                from: found,
                reason: "no migration from this schema (the store is too old for this build)"
                    .into(),
            })?;
        (step.run)(db).map_err(|reason| StoreError::Migration {
            from: found,
            reason,
        })?;
        db.flush()?;
        meta.insert(KEY_SCHEMA, json(&step.to))?;
        db.flush()?;
        found = step.to;
    }
    Ok(())
}

/// v1 kept posting state in `posting` under `settlement/period`, one revision only.
fn v1_to_v2(db: &sled::Db) -> Result<(), String> {
    let old = db.open_tree("posting").map_err(|e| e.to_string())?;
    let new = db.open_tree("batches").map_err(|e| e.to_string())?;
    for item in old.iter() {
        let (key, value) = item.map_err(|e| e.to_string())?;
        let key_text = String::from_utf8(key.to_vec())
            .map_err(|_| "a v1 posting key is not UTF-8".to_string())?;
        let (settlement, period) = key_text
            .split_once('/')
            .ok_or_else(|| format!("v1 posting key `{key_text}` is not settlement/period"))?;
        let mut record: serde_json::Value =
            serde_json::from_slice(&value).map_err(|e| format!("v1 posting `{key_text}`: {e}"))?;
        let object = record
            .as_object_mut()
            .ok_or_else(|| format!("v1 posting `{key_text}` is not an object"))?;
        object.insert("settlement_id".into(), settlement.into());
        object.insert("period".into(), period.into());
        object.entry("revision").or_insert(1.into());
        object
            .entry("line_outcomes")
            .or_insert(serde_json::json!([]));
        let mut new_key = settlement.as_bytes().to_vec();
        new_key.push(0);
        new_key.extend_from_slice(period.as_bytes());
        new.insert(new_key, json(&record))
            .map_err(|e| e.to_string())?;
    }
    db.flush().map_err(|e| e.to_string())?;
    db.drop_tree("posting").map_err(|e| e.to_string())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::state::BatchState;
    use crate::store::{BatchKey, Store};

    /// The store's sled database opened directly, as an older build left it.
    fn raw_db(root: &std::path::Path) -> sled::Db {
        sled::Config::new().path(root.join("store")).open().unwrap()
    }

    /// Builds a store as v1 wrote it, with raw sled, then opens it with this build.
    #[test]
    fn opens_a_v1_store_and_migrates_it() {
        let dir = tempfile::tempdir().unwrap();
        {
            let db = raw_db(dir.path());
            db.open_tree("meta")
                .unwrap()
                .insert(KEY_SCHEMA, b"1".to_vec())
                .unwrap();
            let posting = db.open_tree("posting").unwrap();
            posting
                .insert(
                    b"1234567/JUL-25",
                    br#"{"state":"staged","group_id":"MLC-1234567-JUL-25-1","journal_ids":[],"updated_at":"2025-07-05T10:00:00Z"}"#.to_vec(),
                )
                .unwrap();
            posting
                .insert(
                    b"1234567/AUG-25",
                    br#"{"state":"proposed","updated_at":"2025-08-01T00:00:00Z"}"#.to_vec(),
                )
                .unwrap();
            db.flush().unwrap();
        }
        let store = Store::open(dir.path(), "test").unwrap();
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
        let batch = store
            .batch(&BatchKey::new("1234567", "JUL-25"))
            .unwrap()
            .unwrap();
        assert_eq!(batch.state, BatchState::Staged);
        assert_eq!(batch.revision, 1);
        assert_eq!(batch.group_id.as_deref(), Some("MLC-1234567-JUL-25-1"));
        assert!(batch.line_outcomes.is_empty());
        assert_eq!(store.batches_for("1234567").unwrap().len(), 2);
        assert!(
            !store
                .db
                .tree_names()
                .iter()
                .any(|n| n.as_ref() == b"posting")
        );
        drop(store);
        // Re-opening a migrated store changes nothing.
        let store = Store::open(dir.path(), "test").unwrap();
        assert_eq!(store.batches().unwrap().len(), 2);
    }

    #[test]
    fn a_store_from_the_future_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        {
            let db = raw_db(dir.path());
            db.open_tree("meta")
                .unwrap()
                .insert(KEY_SCHEMA, b"99".to_vec())
                .unwrap();
            db.flush().unwrap();
        }
        let err = Store::open(dir.path(), "test").unwrap_err().to_string();
        assert!(
            err.contains("newer ml-connector") && err.contains("99"),
            "{err}"
        );
    }

    #[test]
    fn data_without_a_schema_is_not_started_over() {
        let dir = tempfile::tempdir().unwrap();
        {
            let db = raw_db(dir.path());
            db.open_tree("batches")
                .unwrap()
                .insert(b"x", b"{}".to_vec())
                .unwrap();
            db.flush().unwrap();
        }
        let err = Store::open(dir.path(), "test").unwrap_err().to_string();
        assert!(err.contains("not an ml-connector store"), "{err}");
    }
}
