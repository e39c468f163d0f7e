//! Sync cursors: where each poll left off.

use chrono::{DateTime, Utc};

use super::{CursorRecord, Op, Store, StoreError, T, json};

impl Store {
    pub fn cursor(&self, name: &str) -> Result<Option<CursorRecord>, StoreError> {
        self.get_json(T::Cursors, name.as_bytes())
    }

    pub fn set_cursor(
        &self,
        name: &str,
        value: serde_json::Value,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let record = CursorRecord {
            value,
            updated_at: now,
        };
        self.commit(
            &[],
            &[Op::Put(T::Cursors, name.as_bytes().to_vec(), json(&record))],
            None,
        )?;
        Ok(())
    }
}
