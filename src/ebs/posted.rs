//! Imported is not posted: whether a GL user has since posted a journal, or deleted it.

use crate::ebs::EbsClient;
use crate::ebs::error::EbsError;
use crate::ebs::gl::{GlBatch, JournalRef};
use serde::{Deserialize, Serialize};

/// Where a batch's journals stand in EBS now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum JournalState {
    /// No journal carries the batch (never imported, or deleted).
    Absent,
    /// Imported and still unposted.
    Unposted(Vec<JournalRef>),
    /// Posted by a GL user (or AutoPost): final.
    Posted(Vec<JournalRef>),
    /// Some journals posted, some not.
    PartlyPosted(Vec<JournalRef>),
}

impl JournalState {
    /// Compared with what the client confirmed earlier: imported and now absent = deleted.
    pub fn deleted_since(&self, confirmed_imported: bool) -> bool {
        confirmed_imported && matches!(self, JournalState::Absent)
    }
}

impl EbsClient {
    /// Reads the batch's journals (by REFERENCE_1/2/4) and tells posted / unposted / absent.
    pub async fn gl_journal_state(&self, batch: &GlBatch) -> Result<JournalState, EbsError> {
        let journals = self
            .journals_by_reference(
                &batch.je_source,
                &batch.ledger_id,
                &batch.settlement_id,
                batch.key_period(),
                Some(batch.revision),
            )
            .await?;
        let heads: Vec<JournalRef> = journals.into_iter().map(|j| j.head).collect();
        Ok(classify(heads))
    }
}

fn classify(heads: Vec<JournalRef>) -> JournalState {
    if heads.is_empty() {
        return JournalState::Absent;
    }
    let posted = heads.iter().filter(|h| h.status == "P").count();
    if posted == heads.len() {
        JournalState::Posted(heads)
    } else if posted == 0 {
        JournalState::Unposted(heads)
    } else {
        JournalState::PartlyPosted(heads)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::Decimal;

    fn head(status: &str) -> JournalRef {
        JournalRef {
            je_batch_id: "1".into(),
            je_header_id: "2".into(),
            batch_name: "b".into(),
            journal_name: "j".into(),
            status: status.into(),
            group_id: None,
            request_id: None,
            total_dr: Decimal::ZERO,
            total_cr: Decimal::ZERO,
        }
    }

    #[test]
    fn classifies_posted_unposted_absent() {
        assert_eq!(classify(vec![]), JournalState::Absent);
        assert!(classify(vec![]).deleted_since(true));
        assert!(!classify(vec![]).deleted_since(false));
        assert!(matches!(classify(vec![head("P")]), JournalState::Posted(_)));
        assert!(matches!(
            classify(vec![head("U")]),
            JournalState::Unposted(_)
        ));
        assert!(matches!(
            classify(vec![head("U"), head("P")]),
            JournalState::PartlyPosted(_)
        ));
    }
}
