//! The GL batch to post: built from the current proposal, or the one already staged (its
//! `staging` audit entry) or announced (an outstanding intent), so a restart continues with
//! the very batch EBS holds.
//!
//! What recovery reads back is typed (proposal, intent, staging and reversal details): a
//! stored record that does not read stops its batch as it is ([`PostingError::Unreadable`],
//! reported in its outcome, nothing written over it), never a silent rebuild from the
//! current proposal.

use crate::ebs::GlBatch;
use crate::ledger::state::BatchState;
use crate::store::{
    AuditAction, AuditEntry, BatchKey, BatchRecord, IntentAction, PostingIntent, Proposal,
    ReversalDetails, StagingDetails, StoreError,
};
use crate::sync::batches::{self, BatchesError};
use crate::sync::convert;

use super::{PostingEngine, PostingError};

/// A store read of `record` for `key`: a damaged value stops the batch, other store
/// failures stop the run.
fn unreadable(record: &str, key: &BatchKey, e: StoreError) -> PostingError {
    match e {
        StoreError::Corrupt {
            key: at, reason, ..
        } => {
            let own = format!("`{key}`");
            PostingError::Unreadable {
                record: record.to_string(),
                key: key.clone(),
                reason: if at == own {
                    reason
                } else {
                    format!("{reason} (at key {at})")
                },
            }
        }
        e => PostingError::Store(e),
    }
}

fn unreadable_entry(e: &AuditEntry, key: &BatchKey, err: serde_json::Error) -> PostingError {
    PostingError::Unreadable {
        record: format!("{} audit entry #{}", e.action, e.seq),
        key: key.clone(),
        reason: err.to_string(),
    }
}

impl PostingEngine {
    /// The batch's proposal, typed.
    pub(crate) fn stored_proposal(&self, key: &BatchKey) -> Result<Option<Proposal>, PostingError> {
        self.store
            .proposal(key)
            .map_err(|e| unreadable("proposal", key, e))
    }

    /// The batch's outstanding intent, typed.
    pub(crate) fn stored_intent(
        &self,
        key: &BatchKey,
    ) -> Result<Option<PostingIntent>, PostingError> {
        self.store
            .intent(key)
            .map_err(|e| unreadable("posting intent", key, e))
    }

    /// The GL batch of `key` at `revision`, from its current proposal (the settlement's
    /// journals are converted together for FX, through [`batches::gl_batches`]: the ledger's
    /// currency and the rate come from EBS).
    pub(crate) async fn build_batch(
        &self,
        key: &BatchKey,
        revision: u32,
    ) -> Result<GlBatch, PostingError> {
        let settlement = self
            .store
            .settlement(&key.settlement_id)?
            .ok_or_else(|| PostingError::NoSettlement(key.settlement_id.clone()))?;
        let route = self
            .routes
            .iter()
            .find(|r| r.marketplace_id == settlement.marketplace_id)
            .ok_or_else(|| PostingError::NoRoute {
                settlement_id: key.settlement_id.clone(),
                marketplace: settlement.marketplace_id.clone(),
            })?;
        let client = self.clients.get(&route.ledger_id).map(|c| c.as_ref());
        let mut route = route.clone();
        if route.ledger_currency.is_none()
            && let Some(c) = client
        {
            route.ledger_currency = Some(self.book.ledger(c, &route.ledger_id).await?.currency);
        }
        let foreign = route
            .ledger_currency
            .as_deref()
            .is_none_or(|c| !c.eq_ignore_ascii_case(settlement.summary.currency.code()));
        // A foreign settlement is converted as a whole: every period of it.
        let proposals: Vec<Proposal> = if foreign {
            self.store
                .proposals_for(&key.settlement_id)
                .map_err(|e| unreadable("proposal", key, e))?
        } else {
            vec![
                self.stored_proposal(key)?
                    .ok_or_else(|| PostingError::NoProposal(key.clone()))?,
            ]
        };
        let mut journals = Vec::new();
        for p in &proposals {
            let rev = if &p.batch == key {
                revision
            } else {
                self.store.batch(&p.batch)?.map_or(1, |b| b.revision)
            };
            journals.push((p.lines.clone(), rev));
        }
        let event_group = match &settlement.event_group_id {
            Some(g) => self
                .store
                .event_group(g)?
                .and_then(|e| convert::event_group_totals(&e.data)),
            None => None,
        };
        let built = batches::gl_batches(
            &self.book,
            client,
            &route,
            &settlement.summary,
            event_group,
            &journals,
        )
        .await;
        let built = match built {
            Ok(b) => b,
            Err(BatchesError::Ebs(e)) => return Err(e.into()),
            Err(BatchesError::Convert(e)) => return Err(e.into()),
        };
        let mut batch = built
            .into_iter()
            .zip(&proposals)
            .find(|(_, p)| &p.batch == key)
            .map(|(b, _)| b)
            .ok_or_else(|| PostingError::NoProposal(key.clone()))?;
        batch.reversed_revisions = self.reversed_revisions(key)?;
        Ok(batch)
    }

    /// Revisions of the batch reversed in EBS (audit `reversal` entries: the reversed
    /// revision and the reversing journal's own): they no longer block a later revision.
    pub(crate) fn reversed_revisions(&self, key: &BatchKey) -> Result<Vec<u32>, PostingError> {
        let mut out = Vec::new();
        for e in self.store.audit_entries_for_batch(key)? {
            if e.action != AuditAction::Reversal || e.period.as_deref() != Some(&key.period) {
                continue;
            }
            let d = ReversalDetails::of(&e).map_err(|err| unreadable_entry(&e, key, err))?;
            out.push(d.revision);
            out.extend(d.reversal_revision);
        }
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }

    /// The batch staged for this revision, as recorded in its `staging` audit entry.
    pub(crate) fn staged_batch(
        &self,
        key: &BatchKey,
        revision: u32,
    ) -> Result<Option<GlBatch>, PostingError> {
        let entries = self.store.audit_entries_for_batch(key)?;
        for e in entries.iter().rev() {
            if e.action != AuditAction::Staging || e.period.as_deref() != Some(&key.period) {
                continue;
            }
            // An entry that does not read might be this revision's: stop rather than guess.
            let d = StagingDetails::of(e).map_err(|err| unreadable_entry(e, key, err))?;
            if d.revision == revision {
                return Ok(Some(d.batch));
            }
        }
        Ok(None)
    }

    /// The batch to reconcile and continue: the one named by an outstanding intent, else the
    /// staged one, else (nothing of this revision recorded) a fresh build from the proposal.
    pub(crate) async fn batch_for(
        &self,
        rec: &BatchRecord,
        intent: Option<&PostingIntent>,
    ) -> Result<GlBatch, PostingError> {
        let key = rec.key();
        if let Some(i) = intent.filter(|i| i.revision == rec.revision) {
            match (&i.details.batch, i.action) {
                (Some(b), _) => return Ok(b.clone()),
                // These announce a batch: one without it cannot say what EBS may hold.
                (None, IntentAction::Stage | IntentAction::Submit | IntentAction::Reverse) => {
                    return Err(PostingError::Unreadable {
                        record: "posting intent".into(),
                        key,
                        reason: format!("its {:?} intent holds no batch", i.action),
                    });
                }
                (None, IntentAction::DeleteRejected) => {}
            }
        }
        if rec.state != BatchState::Approved
            && let Some(b) = self.staged_batch(&key, rec.revision)?
        {
            return Ok(b);
        }
        self.build_batch(&key, rec.revision).await
    }
}
