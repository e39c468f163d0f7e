//! Posting state: batch records, their audited transitions, and the posting intents
//! recorded before each EBS call (so a restart knows what may be in flight).

use std::collections::BTreeSet;

use super::{
    AuditEntry, BatchKey, BatchRecord, Expect, NewAuditEntry, Op, PostingIntent, Store, StoreError,
    T, check_batch_key, json,
};
use crate::ledger::state::BatchState;

impl Store {
    pub fn batch(&self, key: &BatchKey) -> Result<Option<BatchRecord>, StoreError> {
        self.get_json(T::Batches, &key.to_bytes())
    }

    pub fn batches(&self) -> Result<Vec<BatchRecord>, StoreError> {
        self.all_json(T::Batches, b"")
    }

    pub fn batches_for(&self, settlement_id: &str) -> Result<Vec<BatchRecord>, StoreError> {
        self.all_json(T::Batches, &BatchKey::settlement_prefix(settlement_id))
    }

    /// A settlement's status: the worst state of its batches (`None` without batches).
    pub fn settlement_status(&self, settlement_id: &str) -> Result<Option<BatchState>, StoreError> {
        Ok(BatchState::worst(
            self.batches_for(settlement_id)?
                .into_iter()
                .map(|b| b.state),
        ))
    }

    /// Batches whose EBS side may hold rows (staged, submitted) or with an
    /// outstanding intent: what a restart reconciles first.
    pub fn in_flight(&self) -> Result<Vec<BatchRecord>, StoreError> {
        // By key: an intent that does not read still marks its batch (posting reports it).
        let mut intents = BTreeSet::new();
        for k in self.tree(T::Intents).iter().keys() {
            intents.extend(BatchKey::from_bytes(&k?));
        }
        Ok(self
            .batches()?
            .into_iter()
            .filter(|b| b.state.in_flight() || intents.contains(&b.key()))
            .collect())
    }

    /// Creates a batch that does not exist yet.
    pub fn create_batch(
        &self,
        record: &BatchRecord,
        audit: Option<NewAuditEntry>,
    ) -> Result<(), StoreError> {
        let key = record.key();
        check_batch_key(&key)?;
        self.commit(
            &[Expect::absent(
                T::Batches,
                key.to_bytes(),
                format!("batch {key}"),
            )],
            &[Op::Put(T::Batches, key.to_bytes(), json(record))],
            audit.as_ref(),
        )?;
        Ok(())
    }

    /// Replaces `before` by `after` atomically with its audit entry, clearing the
    /// batch's posting intent (the call it announced has been answered).
    /// Fails if the stored record is no longer `before`, or if the state change
    /// is not a transition of [`BatchState`].
    pub fn transition(
        &self,
        before: &BatchRecord,
        after: &BatchRecord,
        audit: Option<NewAuditEntry>,
    ) -> Result<Option<AuditEntry>, StoreError> {
        let key = before.key();
        if after.key() != key {
            return Err(StoreError::Conflict {
                what: format!("batch {key} (a transition cannot rename it)"),
            });
        }
        if before.state != after.state && !before.state.can_move_to(after.state) {
            return Err(StoreError::IllegalTransition {
                batch: key,
                from: before.state,
                to: after.state,
            });
        }
        self.replace_batch(before, after, audit, true)
    }

    /// Records a new reason on a batch without moving it or dropping its intent: the
    /// intent still says what may already be in EBS, so the next run checks before any
    /// retry.
    pub fn annotate(
        &self,
        before: &BatchRecord,
        after: &BatchRecord,
        audit: Option<NewAuditEntry>,
    ) -> Result<Option<AuditEntry>, StoreError> {
        let key = before.key();
        if after.key() != key || after.state != before.state {
            return Err(StoreError::Conflict {
                what: format!("batch {key} (an annotation keeps its key and state)"),
            });
        }
        self.replace_batch(before, after, audit, false)
    }

    /// `after` in place of `before` (checked), with its audit entry; `clear_intent` also
    /// drops the batch's posting intent.
    fn replace_batch(
        &self,
        before: &BatchRecord,
        after: &BatchRecord,
        audit: Option<NewAuditEntry>,
        clear_intent: bool,
    ) -> Result<Option<AuditEntry>, StoreError> {
        let key = before.key();
        let mut ops = vec![Op::Put(T::Batches, key.to_bytes(), json(after))];
        if clear_intent {
            ops.push(Op::Del(T::Intents, key.to_bytes()));
        }
        self.commit(
            &[Expect::record(
                T::Batches,
                key.to_bytes(),
                Some(before.clone()),
                format!("batch {key}"),
            )],
            &ops,
            audit.as_ref(),
        )
    }

    // ------------------------------------------------------------ intents

    /// Records (and flushes) what is about to be asked of EBS. Call before the request.
    pub fn record_intent(&self, intent: &PostingIntent) -> Result<(), StoreError> {
        let key = intent.batch.to_bytes();
        if self.tree(T::Batches).get(&key)?.is_none() {
            return Err(StoreError::NotFound(format!("batch {}", intent.batch)));
        }
        self.commit(&[], &[Op::Put(T::Intents, key, json(intent))], None)?;
        Ok(())
    }

    pub fn intent(&self, key: &BatchKey) -> Result<Option<PostingIntent>, StoreError> {
        self.get_json(T::Intents, &key.to_bytes())
    }

    pub fn intents(&self) -> Result<Vec<PostingIntent>, StoreError> {
        self.all_json(T::Intents, b"")
    }

    /// Drops an intent without a transition (e.g. EBS confirmed nothing arrived).
    pub fn clear_intent(&self, key: &BatchKey) -> Result<(), StoreError> {
        self.commit(&[], &[Op::Del(T::Intents, key.to_bytes())], None)?;
        Ok(())
    }
}
