//! Feeds the stored settlements and report listings to the pure [`super::chain`] checks.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use super::{ChainIssue, ChainLink, Store, StoreError, Unpulled, chain};

impl Store {
    /// Gaps and overlaps in each marketplace's settlement chain, and unpulled
    /// reports near Amazon's 90-day deletion, as of `now`.
    pub fn chain_issues(&self, now: DateTime<Utc>) -> Result<Vec<ChainIssue>, StoreError> {
        let settlements = self.settlements()?;
        let links: Vec<ChainLink> = settlements
            .iter()
            .map(|s| ChainLink {
                settlement_id: s.summary.settlement_id.clone(),
                marketplace_id: s.marketplace_id.clone(),
                start: s.summary.start,
                end: s.summary.end,
            })
            .collect();
        let pulled: BTreeSet<&str> = settlements
            .iter()
            .map(|s| s.summary.settlement_id.as_str())
            .collect();
        let unpulled: Vec<Unpulled> = self
            .reports()?
            .into_iter()
            .filter(|r| r.pulled_at.is_none())
            .filter(|r| {
                r.settlement_id
                    .as_deref()
                    .is_none_or(|s| !pulled.contains(s))
            })
            .map(|r| Unpulled {
                report_id: r.report_id,
                settlement_id: r.settlement_id,
                marketplace_id: r.marketplace_id,
                created: r.created,
            })
            .collect();
        let mut issues = chain::check_chain(&links);
        issues.extend(chain::check_retention(&unpulled, now));
        Ok(issues)
    }
}
