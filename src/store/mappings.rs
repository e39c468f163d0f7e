//! Versioned mapping texts: each change is a new version, audited as `mapping_change`.

use chrono::{DateTime, Utc};

use super::{
    AuditAction, Expect, MappingVersion, NewAuditEntry, Op, Store, StoreError, T, check_part, json,
    key_text, sha256_hex,
};

impl Store {
    /// Also used by `verify` to check where each version is filed.
    pub(super) fn mapping_key(name: &str, version: u32) -> Vec<u8> {
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
}
