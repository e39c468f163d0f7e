//! Schema migrations, applied in order when an older store is opened or imported.
//!
//! Each migration is idempotent (a crash part-way re-runs it safely) and the
//! schema version is bumped only after its writes are flushed.

use sled::Transactional;

use super::{BatchKey, KEY_SCHEMA, SCHEMA_VERSION, SettlementRecord, StoreError, json, sha256_hex};
use crate::ledger::journal::Journal;
use crate::ledger::proposal_hash::{PROPOSAL_HASH_VERSION, proposal_hash};
use crate::ledger::state::BatchState;

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
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        from: 1,
        to: 2,
        description: "posting state moves from tree `posting` (keys `settlement/period`) to `batches` (keys `settlement\\0period`) with revisions and per-line outcomes",
        old_trees: &["posting"],
        run: v1_to_v2,
    },
    Migration {
        from: 2,
        to: 3,
        description: "proposal hashes cover only accounting fields (`ledger::proposal_hash` v1): a proposal whose journal still matches its old hash gets the new one (`hash_version` 1, the old one kept as `legacy_hash`) and an approval naming the old hash names the new one; a proposal that no longer matches its old hash stays at version 0 (`store verify` lists it; it is re-proposed before it can be approved)",
        old_trees: &[],
        run: v2_to_v3,
    },
];

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

/// The proposal hash before schema 3: SHA-256 of the journal's serde form and the outcome
/// (`{"journal": …, "state": …}`, keys in that order, as the stored JSON keeps them).
pub(super) fn legacy_proposal_hash(
    lines: &serde_json::Value,
    outcome: &serde_json::Value,
) -> String {
    let body = serde_json::json!({ "journal": lines, "state": outcome });
    sha256_hex(body.to_string().as_bytes())
}

/// Re-hashes proposals with hash v1 and upgrades the approvals that named their old hash.
///
/// Neither lapses nor passes silently: an approval moves to the new hash only when the
/// stored journal still gives exactly the old hash it names (so it approved this very
/// journal); otherwise both stay at version 0, where no approval holds (posting lapses it
/// with an audit entry; approving again needs a re-proposal), and `store verify` says so.
/// One transaction per batch, skipping proposals already at version 1: re-running is safe.
fn v2_to_v3(db: &sled::Db) -> Result<(), String> {
    let err = |e: sled::Error| e.to_string();
    let proposals = db.open_tree("proposals").map_err(err)?;
    let batches = db.open_tree("batches").map_err(err)?;
    let settlements = db.open_tree("settlements").map_err(err)?;
    for item in proposals.iter() {
        let (key, value) = item.map_err(err)?;
        // Unreadable values are left for `store verify` to report.
        let Ok(mut proposal) = serde_json::from_slice::<serde_json::Value>(&value) else {
            continue;
        };
        let Some(obj) = proposal.as_object_mut() else {
            continue;
        };
        if obj
            .get("hash_version")
            .and_then(|v| v.as_u64())
            .unwrap_or(0)
            > 0
        {
            continue;
        }
        let (Some(old), Some(lines), Some(outcome)) = (
            obj.get("proposal_hash")
                .and_then(|h| h.as_str())
                .map(str::to_string),
            obj.get("lines"),
            obj.get("outcome"),
        ) else {
            continue;
        };
        if legacy_proposal_hash(lines, outcome) != old {
            continue;
        }
        let (Ok(journal), Ok(state), Some(batch)) = (
            serde_json::from_value::<Journal>(lines.clone()),
            serde_json::from_value::<BatchState>(outcome.clone()),
            BatchKey::from_bytes(&key),
        ) else {
            continue;
        };
        let Some(settlement) = settlements
            .get(batch.settlement_id.as_bytes())
            .map_err(err)?
            .and_then(|raw| serde_json::from_slice::<SettlementRecord>(&raw).ok())
        else {
            continue;
        };
        let new = proposal_hash(
            &batch.settlement_id,
            settlement.summary.currency.code(),
            state,
            &journal,
        );
        obj.insert("proposal_hash".into(), new.clone().into());
        obj.insert("hash_version".into(), PROPOSAL_HASH_VERSION.into());
        obj.insert("legacy_hash".into(), old.clone().into());
        let mut record = match batches.get(&key).map_err(err)? {
            Some(raw) => serde_json::from_slice::<serde_json::Value>(&raw).ok(),
            None => None,
        };
        let approval = record
            .as_mut()
            .and_then(|r| r.get_mut("approval"))
            .and_then(|a| a.as_object_mut())
            .filter(|a| {
                a.get("proposal_hash").and_then(|h| h.as_str()) == Some(old.as_str())
                    && a.get("hash_version").and_then(|v| v.as_u64()).unwrap_or(0) == 0
            });
        let upgraded = match approval {
            Some(a) => {
                a.insert("proposal_hash".into(), new.into());
                a.insert("hash_version".into(), PROPOSAL_HASH_VERSION.into());
                record.as_ref().map(json)
            }
            None => None,
        };
        let proposal = json(&proposal);
        (&proposals, &batches)
            .transaction(|(p, b)| {
                p.insert(key.as_ref(), proposal.as_slice())?;
                if let Some(r) = &upgraded {
                    b.insert(key.as_ref(), r.as_slice())?;
                }
                Ok::<(), sled::transaction::ConflictableTransactionError<()>>(())
            })
            .map_err(|e| format!("{e:?}"))?;
    }
    db.flush().map_err(err)?;
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

    /// Schema 2 → 3: an approval of the very journal stored moves to the new hash; one
    /// whose proposal no longer matches its old hash neither passes nor is dropped.
    #[test]
    fn proposal_hashes_move_to_v1_and_approvals_follow_only_when_they_match() {
        use crate::ledger::journal::{Journal, JournalLine, LineKind};
        use crate::ledger::model::{SettlementFormat, SettlementSummary};
        use crate::ledger::money::Currency;
        use crate::store::{BatchRecord, SettlementRecord};
        use chrono::{NaiveDate, TimeZone, Utc};
        use serde_json::json;

        let at = Utc.with_ymd_and_hms(2025, 8, 1, 0, 0, 0).unwrap();
        let journal = |period: &str, amount: &str| Journal {
            period: period.into(),
            accounting_date: NaiveDate::from_ymd_opt(2025, 7, 31).unwrap(),
            lines: ["01-000-4010", "01-000-1190"]
                .iter()
                .enumerate()
                .map(|(i, account)| JournalLine {
                    account: (*account).into(),
                    label: "x".into(),
                    debit: if i == 1 {
                        amount.parse().unwrap()
                    } else {
                        0.into()
                    },
                    credit: if i == 0 {
                        amount.parse().unwrap()
                    } else {
                        0.into()
                    },
                    rows: 1,
                    original_period: None,
                    kind: LineKind::Mapped,
                    rules: vec![],
                    ap: false,
                })
                .collect(),
            zero_net: vec![],
            total_debit: amount.parse().unwrap(),
            total_credit: amount.parse().unwrap(),
        };
        let dir = tempfile::tempdir().unwrap();
        let intact = BatchKey::new("111", "JUL-25");
        let tampered = BatchKey::new("111", "AUG-25");
        let old_hash = |j: &Journal| legacy_proposal_hash(&json!(j), &json!("proposed"));
        {
            let db = raw_db(dir.path());
            db.open_tree("meta")
                .unwrap()
                .insert(KEY_SCHEMA, b"2".to_vec())
                .unwrap();
            let settlement = SettlementRecord {
                summary: SettlementSummary {
                    settlement_id: "111".into(),
                    format: SettlementFormat::V2,
                    start: at,
                    end: at,
                    deposit_date: None,
                    total_amount: 10.into(),
                    currency: Currency::new("EUR"),
                },
                seller: "s".into(),
                marketplace_id: "m".into(),
                raw_sha256: None,
                event_group_id: None,
                pulled_at: at,
            };
            db.open_tree("settlements")
                .unwrap()
                .insert(b"111", json(&settlement))
                .unwrap();
            for (key, hashed, stored) in [
                (&intact, journal("JUL-25", "10"), journal("JUL-25", "10")),
                // Changed after it was hashed (and approved): no longer the approved journal.
                (&tampered, journal("AUG-25", "10"), journal("AUG-25", "99")),
            ] {
                let proposal = json!({
                    "batch": key, "mapping": {"name": "mapping.toml", "version": 1},
                    "proposal_hash": old_hash(&hashed), "created_at": at,
                    "outcome": "proposed", "reason": null, "lines": stored,
                });
                db.open_tree("proposals")
                    .unwrap()
                    .insert(key.to_bytes(), json(&proposal))
                    .unwrap();
                let mut batch = json!(BatchRecord::new(key, BatchState::Approved, at));
                batch["approval"] =
                    json!({"who": "alice", "when": at, "proposal_hash": old_hash(&hashed)});
                db.open_tree("batches")
                    .unwrap()
                    .insert(key.to_bytes(), json(&batch))
                    .unwrap();
            }
            db.flush().unwrap();
        }
        for _ in 0..2 {
            // The second open finds nothing left to do.
            let store = Store::open(dir.path(), "test").unwrap();
            assert_eq!(store.schema_version().unwrap(), 3);
            let p = store.proposal(&intact).unwrap().unwrap();
            let want = proposal_hash("111", "EUR", BatchState::Proposed, &journal("JUL-25", "10"));
            assert_eq!(p.proposal_hash, want);
            assert_eq!(p.hash_version, PROPOSAL_HASH_VERSION);
            assert_eq!(p.legacy_hash, Some(old_hash(&journal("JUL-25", "10"))));
            let b = store.batch(&intact).unwrap().unwrap();
            assert_eq!(b.approval.as_ref().unwrap().proposal_hash, want);
            assert!(b.approval_holds_for(&p));

            let p = store.proposal(&tampered).unwrap().unwrap();
            assert_eq!(p.hash_version, 0);
            assert_eq!(p.proposal_hash, old_hash(&journal("AUG-25", "10")));
            let b = store.batch(&tampered).unwrap().unwrap();
            assert_eq!(b.approval.as_ref().unwrap().hash_version, 0);
            assert!(
                !b.approval_holds_for(&p),
                "an unverified approval never passes"
            );
            let v = store.verify().unwrap();
            assert!(
                v.problems
                    .iter()
                    .any(|p| p.contains("proposal for 111/AUG-25: its hash is version 0")),
                "{v:?}"
            );
            assert!(
                !v.problems.iter().any(|p| p.contains("JUL-25: its hash")),
                "{v:?}"
            );
        }
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
