//! Appending to and reading the audit trail (the entry types live in [`super::audit`];
//! entries written with a record go through `Store::commit`).

use super::{AuditEntry, NewAuditEntry, Store, StoreError, T};

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
        let all: Vec<AuditEntry> = self.all_json(T::Audit, b"")?;
        Ok(match settlement_id {
            None => all,
            Some(id) => all
                .into_iter()
                .filter(|e| e.settlement_id.as_deref() == Some(id))
                .collect(),
        })
    }
}
