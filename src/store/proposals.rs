//! Proposals: the current proposed journal of each batch.

use super::{BatchKey, NewAuditEntry, Op, Proposal, Store, StoreError, T, check_batch_key, json};

impl Store {
    /// Replaces the batch's current proposal.
    pub fn put_proposal(
        &self,
        proposal: &Proposal,
        audit: Option<NewAuditEntry>,
    ) -> Result<(), StoreError> {
        check_batch_key(&proposal.batch)?;
        self.commit(
            &[],
            &[Op::Put(
                T::Proposals,
                proposal.batch.to_bytes(),
                json(proposal),
            )],
            audit.as_ref(),
        )?;
        Ok(())
    }

    pub fn proposal(&self, key: &BatchKey) -> Result<Option<Proposal>, StoreError> {
        self.get_json(T::Proposals, &key.to_bytes())
    }

    pub fn proposals(&self) -> Result<Vec<Proposal>, StoreError> {
        self.all_json(T::Proposals, b"")
    }

    /// The proposals of one settlement's batches, in period key order.
    pub fn proposals_for(&self, settlement_id: &str) -> Result<Vec<Proposal>, StoreError> {
        self.all_json(T::Proposals, &BatchKey::settlement_prefix(settlement_id))
    }
}
