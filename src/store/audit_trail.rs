//! Appending to and reading the audit trail (the entry types live in [`super::audit`];
//! entries written with a record go through `Store::commit`).
//!
//! Reading one settlement's (or one batch's) history goes through a derived index, so
//! posting does not slow down as the trail grows: keys `audit_index \0 settlement \0 seq`
//! (seq big-endian), value the entry's period, in sled's default tree. That tree is not
//! one of the store's trees: it is not journaled, exported, verified or compared with
//! the history journal (which leave the default tree out by design, older builds
//! included), because everything in it can be rebuilt from the audit tree. A marker
//! (`audit_indexed`, the first sequence number not yet indexed) says how far it goes;
//! each commit indexes its entry in the same transaction, and whatever was written
//! without it (a store from an older build, an import, a restore, a write completed
//! from the journal on open) is indexed on open or on the next read. When the index
//! cannot be brought up to date (a store opened damaged), reads scan the whole trail.

use std::sync::PoisonError;

use serde::Deserialize;

use super::{AuditEntry, BatchKey, NewAuditEntry, Store, StoreError, T, key_text};

/// Prefix of the index keys in the default tree.
const INDEX_PREFIX: &[u8] = b"audit_index\0";
/// The first sequence number the index does not cover yet (u64 big-endian).
pub(super) const KEY_AUDIT_INDEXED: &[u8] = b"audit_indexed";
static SCAN_ONLY: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// From now on, in this process, reads scan the whole trail as before the index (the
/// index is still kept up to date): what `bench store --scan-audit` measures.
#[doc(hidden)]
pub fn read_audit_by_scan() {
    SCAN_ONLY.store(true, std::sync::atomic::Ordering::Relaxed);
}

fn scan_only() -> bool {
    SCAN_ONLY.load(std::sync::atomic::Ordering::Relaxed)
}

/// Entries indexed per sled batch when catching up.
const CATCH_UP_CHUNK: usize = 50_000;

/// The fields of an entry the index needs.
#[derive(Deserialize)]
struct Indexed {
    #[serde(default)]
    settlement_id: Option<String>,
    #[serde(default)]
    period: Option<String>,
}

fn index_prefix(settlement_id: &str) -> Vec<u8> {
    let mut key = INDEX_PREFIX.to_vec();
    key.extend_from_slice(settlement_id.as_bytes());
    key.push(0);
    key
}

/// The index key and value of an entry (`None` for entries without a settlement).
pub(super) fn index_write(
    seq: u64,
    settlement_id: Option<&str>,
    period: Option<&str>,
) -> Option<(Vec<u8>, Vec<u8>)> {
    let id = settlement_id?;
    let mut key = index_prefix(id);
    key.extend_from_slice(&seq.to_be_bytes());
    let value = match period {
        None => vec![0],
        Some(p) => [&[1u8][..], p.as_bytes()].concat(),
    };
    Some((key, value))
}

fn period_of(value: &[u8]) -> Option<&[u8]> {
    match value.split_first() {
        Some((1, p)) => Some(p),
        _ => None,
    }
}

impl Store {
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
        match settlement_id {
            None => self.all_json(T::Audit, b""),
            Some(id) => self.indexed_entries(id, None),
        }
    }

    /// One batch's audit entries (its settlement's entries naming its period), in
    /// sequence order: what posting reads back.
    pub fn audit_entries_for_batch(&self, key: &BatchKey) -> Result<Vec<AuditEntry>, StoreError> {
        self.indexed_entries(&key.settlement_id, Some(&key.period))
    }

    fn indexed_entries(
        &self,
        id: &str,
        period: Option<&str>,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let wanted = |e: &AuditEntry| {
            e.settlement_id.as_deref() == Some(id)
                && period.is_none_or(|p| e.period.as_deref() == Some(p))
        };
        if id.contains('\0') || !self.index_audit()? || scan_only() {
            let all: Vec<AuditEntry> = self.all_json(T::Audit, b"")?;
            return Ok(all.into_iter().filter(wanted).collect());
        }
        let prefix = index_prefix(id);
        let mut out = Vec::new();
        for item in self.db.scan_prefix(&prefix) {
            let (k, v) = item?;
            let Ok(seq) = <[u8; 8]>::try_from(&k[prefix.len()..]) else {
                continue; // a settlement id that extends this one past a NUL
            };
            if period.is_some_and(|p| period_of(&v) != Some(p.as_bytes())) {
                continue;
            }
            if let Some(e) = self.get_json::<AuditEntry>(T::Audit, &seq)?
                && wanted(&e)
            {
                out.push(e);
            }
        }
        Ok(out)
    }

    pub(super) fn audit_indexed(&self) -> Result<u64, StoreError> {
        Ok(match self.db.get(KEY_AUDIT_INDEXED)? {
            Some(raw) => <[u8; 8]>::try_from(raw.as_ref()).map_or(1, u64::from_be_bytes),
            None => 1,
        })
    }

    pub(super) fn audit_next(&self) -> Result<u64, StoreError> {
        Ok(self.get_json(T::Meta, super::KEY_AUDIT_NEXT)?.unwrap_or(1))
    }

    /// Brings the audit index up to date with the trail; `false` when it cannot be
    /// (the store is not open for writing, or an entry does not read), and reads
    /// must scan the whole trail.
    pub(super) fn index_audit(&self) -> Result<bool, StoreError> {
        if self.audit_indexed()? >= self.audit_next()? {
            return Ok(true);
        }
        // The commit lock: nothing is appended while the index catches up.
        let journal = self.journal.lock().unwrap_or_else(PoisonError::into_inner);
        if journal.is_none() || self.refused().is_some() {
            return Ok(false);
        }
        let mut from = self.audit_indexed()?;
        let audit = self.tree(T::Audit);
        loop {
            let mut batch = sled::Batch::default();
            let mut count = 0;
            let mut last = None;
            for item in audit.range(from.to_be_bytes()..) {
                let (k, v) = item?;
                let Ok(seq) = <[u8; 8]>::try_from(k.as_ref()).map(u64::from_be_bytes) else {
                    return Ok(false);
                };
                let Ok(e) = serde_json::from_slice::<Indexed>(&v) else {
                    tracing::warn!(key = %key_text(&k), "an audit entry does not read; not indexed");
                    return Ok(false);
                };
                if let Some((key, value)) =
                    index_write(seq, e.settlement_id.as_deref(), e.period.as_deref())
                {
                    batch.insert(key, value);
                }
                last = Some(seq);
                count += 1;
                if count == CATCH_UP_CHUNK {
                    break;
                }
            }
            let Some(last) = last else { break };
            from = last + 1;
            batch.insert(KEY_AUDIT_INDEXED, &from.to_be_bytes());
            self.db.apply_batch(batch)?;
            if count < CATCH_UP_CHUNK {
                break;
            }
        }
        // Everything there is indexed (a hole in the sequence is `store verify`'s to report).
        let next = self.audit_next()?;
        if from < next {
            self.db.insert(KEY_AUDIT_INDEXED, &next.to_be_bytes())?;
        }
        self.db.flush()?;
        drop(journal);
        Ok(self.audit_indexed()? >= self.audit_next()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::AuditAction;
    use chrono::{TimeZone, Utc};

    fn entry(settlement: Option<&str>, period: Option<&str>, n: u32) -> NewAuditEntry {
        let mut e = NewAuditEntry::new(
            Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, n % 60).unwrap(),
            "test",
            AuditAction::Pull,
        );
        e.settlement_id = settlement.map(str::to_string);
        e.period = period.map(str::to_string);
        e.details = serde_json::json!({ "n": n });
        e
    }

    /// Several settlements (one a prefix of another), some periods, some entries
    /// without a settlement, interleaved.
    fn fill(store: &Store, from: u32, to: u32) {
        let ids = [Some("111"), Some("1111"), None, Some("222"), Some("111")];
        let periods = [Some("JAN-26"), None, Some("FEB-26")];
        for n in from..to {
            let id = ids[n as usize % ids.len()];
            let period = periods[n as usize % periods.len()];
            store.append_audit(entry(id, period, n)).unwrap();
        }
    }

    /// What the full scan returns, the reference the index must match.
    fn scanned(store: &Store, id: &str, period: Option<&str>) -> Vec<AuditEntry> {
        store
            .audit_entries(None)
            .unwrap()
            .into_iter()
            .filter(|e| e.settlement_id.as_deref() == Some(id))
            .filter(|e| period.is_none_or(|p| e.period.as_deref() == Some(p)))
            .collect()
    }

    fn assert_matches_scan(store: &Store) {
        for id in ["111", "1111", "222", "333"] {
            let by_index = store.audit_entries(Some(id)).unwrap();
            assert_eq!(by_index, scanned(store, id, None), "settlement {id}");
            for period in ["JAN-26", "FEB-26", "MAR-26"] {
                let key = BatchKey::new(id, period);
                assert_eq!(
                    store.audit_entries_for_batch(&key).unwrap(),
                    scanned(store, id, Some(period)),
                    "batch {key}"
                );
            }
        }
        assert!(!store.audit_entries(Some("111")).unwrap().is_empty());
        assert!(
            store
                .audit_entries(None)
                .unwrap()
                .iter()
                .any(|e| e.settlement_id.is_none())
        );
    }

    fn index_keys(store: &Store) -> usize {
        store.db.scan_prefix(INDEX_PREFIX).count()
    }

    #[test]
    fn the_index_returns_exactly_what_the_full_scan_returns() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), "test").unwrap();
        fill(&store, 0, 40);
        assert_eq!(store.audit_indexed().unwrap(), 41);
        // 40 entries, 8 without a settlement.
        assert_eq!(index_keys(&store), 32);
        assert_matches_scan(&store);
        drop(store);
        let store = Store::open(dir.path(), "test").unwrap();
        assert_matches_scan(&store);
        assert!(store.verify().unwrap().is_clean());
    }

    #[test]
    fn a_store_without_the_index_gets_it_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), "test").unwrap();
        fill(&store, 0, 30);
        // As an older build left it: no index at all.
        let keys: Vec<_> = store
            .db
            .scan_prefix(INDEX_PREFIX)
            .keys()
            .map(Result::unwrap)
            .collect();
        for k in keys {
            store.db.remove(k).unwrap();
        }
        store.db.remove(KEY_AUDIT_INDEXED).unwrap();
        drop(store);
        let store = Store::open(dir.path(), "test").unwrap();
        assert_eq!(store.audit_indexed().unwrap(), 31);
        assert_eq!(index_keys(&store), 24);
        assert_matches_scan(&store);
        // An index left behind (entries appended by an older build) catches up, and
        // new entries are indexed with their commit from then on.
        store
            .db
            .insert(KEY_AUDIT_INDEXED, &11u64.to_be_bytes())
            .unwrap();
        let keys: Vec<_> = store
            .db
            .scan_prefix(INDEX_PREFIX)
            .keys()
            .map(Result::unwrap)
            .filter(|k| u64::from_be_bytes(k[k.len() - 8..].try_into().unwrap()) >= 11)
            .collect();
        for k in keys {
            store.db.remove(k).unwrap();
        }
        fill(&store, 30, 35);
        assert_eq!(store.audit_indexed().unwrap(), 11, "behind: not moved");
        assert_matches_scan(&store);
        assert_eq!(store.audit_indexed().unwrap(), 36);
        fill(&store, 35, 40);
        assert_eq!(store.audit_indexed().unwrap(), 41);
        assert_eq!(index_keys(&store), 32);
        assert_matches_scan(&store);
        assert!(store.verify().unwrap().is_clean());
        // The index is not part of an export.
        let mut out = Vec::new();
        store.export(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(!text.contains("audit_index"));
    }
}
