//! `store verify`: integrity and cross-reference checks over every tree, and the store
//! compared entry by entry with its history journal.

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine as _;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::model::{self, Replayed};
use super::{
    AuditEntry, BINARY_TREES, BatchRecord, CursorRecord, EventGroupRecord, KEY_AUDIT_NEXT,
    MappingVersion, OrderRecord, PostingIntent, Proposal, RawFileMeta, ReportRecord,
    SCHEMA_VERSION, SettlementRecord, Store, StoreError, SupersededRaw, T, TREES, key_text,
    sha256_hex,
};

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

impl Store {
    /// Everything [`Store::integrity`] checks, plus the history: the journal's chain
    /// holds, the store equals the journal replayed (each missing, different or
    /// unrecorded entry is a problem), the kept raw files match their hashes, and the
    /// store's recorded place is the journal's end.
    pub fn verify(&self) -> Result<VerifyReport, StoreError> {
        let mut report = self.integrity()?;
        let replayed = Replayed::load(&self.dir)?;
        let (model, scan) = replayed.into_full()?;
        let problems = &mut report.problems;
        if let Some(broken) = &scan.broken {
            problems.push(format!("history journal: {broken}"));
        }
        if scan.last.seq == 0 {
            problems.push("history journal: missing or empty".into());
        }
        let diff = model::compare(&self.db, &model)?;
        for line in model::describe(&diff) {
            problems.push(format!("compared with its history: {line}"));
        }
        problems.extend(model::check_raw_archive(&self.dir, &model));
        let stored: Option<super::Position> = self.get_json(T::Meta, super::KEY_JOURNAL)?;
        if scan.broken.is_none() && stored.as_ref() != Some(&scan.last) {
            problems.push(format!(
                "the store records change {} of its history journal, which ends at {}",
                stored.map_or(0, |p| p.seq),
                scan.last.seq
            ));
        }
        Ok(report)
    }

    /// Integrity and cross-references: every value readable, raw files match
    /// their hashes, every batch's settlement exists, every proposal's mapping
    /// version exists, intents point at batches, the audit sequence has no holes.
    pub fn integrity(&self) -> Result<VerifyReport, StoreError> {
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
            problems.extend(p.hash_problem());
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
            problems.extend(super::records::audit_details_problem(e));
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
}
