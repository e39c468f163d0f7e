//! The GL batch to post: built from the current proposal, or the one already staged (its
//! `staging` audit entry) or announced (an outstanding intent), so a restart continues with
//! the very batch EBS holds.

use serde_json::Value;

use crate::ebs::GlBatch;
use crate::ledger::state::BatchState;
use crate::store::{AuditAction, BatchKey, BatchRecord, PostingIntent};
use crate::sync::batches::{self, BatchesError};
use crate::sync::convert;

use super::{PostingEngine, PostingError};

impl PostingEngine {
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
        let proposals: Vec<_> = if foreign {
            self.store
                .proposals()?
                .into_iter()
                .filter(|p| p.batch.settlement_id == key.settlement_id)
                .collect()
        } else {
            vec![
                self.store
                    .proposal(key)?
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
            journals.push((
                convert::journal_of(&p.batch.settlement_id, &p.batch.period, &p.lines)?,
                rev,
            ));
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

    /// Revisions of the batch reversed in EBS (audit `reversal` entries naming
    /// `details.revision`): they no longer block a later revision.
    pub(crate) fn reversed_revisions(&self, key: &BatchKey) -> Result<Vec<u32>, PostingError> {
        let mut out: Vec<u32> = self
            .store
            .audit_entries(Some(&key.settlement_id))?
            .iter()
            .filter(|e| {
                e.action == AuditAction::Reversal && e.period.as_deref() == Some(&key.period)
            })
            // The reversed revision and the reversing journal's own revision.
            .flat_map(|e| {
                ["revision", "reversal_revision"]
                    .into_iter()
                    .filter_map(|k| e.details.get(k).and_then(Value::as_u64))
                    .collect::<Vec<_>>()
            })
            .filter_map(|r| u32::try_from(r).ok())
            .collect();
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
        let entries = self.store.audit_entries(Some(&key.settlement_id))?;
        Ok(entries
            .iter()
            .rev()
            .filter(|e| {
                e.action == AuditAction::Staging && e.period.as_deref() == Some(&key.period)
            })
            .filter(|e| {
                e.details.get("revision").and_then(Value::as_u64) == Some(u64::from(revision))
            })
            .find_map(|e| serde_json::from_value(e.details.get("batch")?.clone()).ok()))
    }

    /// The batch to reconcile and continue: the one named by an outstanding intent, else the
    /// staged one, else a fresh build from the proposal.
    pub(crate) async fn batch_for(
        &self,
        rec: &BatchRecord,
        intent: Option<&PostingIntent>,
    ) -> Result<GlBatch, PostingError> {
        let key = rec.key();
        if let Some(b) = intent
            .filter(|i| i.revision == rec.revision)
            .and_then(|i| i.details.get("batch"))
            .and_then(|b| serde_json::from_value::<GlBatch>(b.clone()).ok())
        {
            return Ok(b);
        }
        if rec.state != BatchState::Approved
            && let Some(b) = self.staged_batch(&key, rec.revision)?
        {
            return Ok(b);
        }
        self.build_batch(&key, rec.revision).await
    }
}
