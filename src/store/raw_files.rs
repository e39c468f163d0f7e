//! Raw settlement files: kept verbatim with their hash; a replaced file is archived, never lost.

use base64::Engine as _;
use chrono::{DateTime, Utc};

use super::{
    Expect, NewAuditEntry, Op, RawFileMeta, RawPut, Store, StoreError, SupersededRaw, T,
    check_part, json, sha256_hex,
};

impl Store {
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
