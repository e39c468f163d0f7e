//! GL journals through GL_INTERFACE and Journal Import, as explicit resumable steps.
//!
//! ```text
//! check ─▶ allocate group ─▶ stage ─▶ submit ─▶ await ─▶ confirm
//! ```
//!
//! Each step takes the last [`PostingRecord`] and returns the next one; the caller persists it
//! before calling the next step, so after a crash
//! [`EbsClient::gl_reconcile`](crate::ebs::EbsClient::gl_reconcile) can compare the record with
//! what EBS holds (interface rows and journals carrying the batch's `REFERENCE21/22/24`) and
//! say where to resume without losing or duplicating a line.

mod batch;
mod keys;
mod outcome;
mod resume;
mod rows;
mod steps;
#[cfg(test)]
pub(crate) mod tests;

pub use batch::{GlBatch, GlLine};
pub use keys::line_key;
pub(crate) use outcome::parse_journals;
pub use outcome::{
    EbsJournal, EbsJournalLine, GlOutcome, GlStatus, JournalRef, LineOutcome, LineResult,
};
pub use resume::{NextStep, Resume, decide_resume};

use crate::ebs::error::EbsError;
use crate::ebs::requests::RequestState;
use serde::{Deserialize, Serialize};

/// The last step a posting completed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PostingStep {
    /// Accounts, period and balance verified.
    Checked,
    /// GROUP_ID (and interface run id) drawn from EBS through the control hand-off.
    GroupAllocated,
    /// Rows are in GL_INTERFACE with STATUS NEW.
    Staged,
    /// Journal Import submitted; request id known.
    Submitted,
    /// The request completed (phase C).
    Completed,
    /// Interface status and journals read back; outcome known.
    Confirmed,
}

/// What the caller persists after each step (before the next EBS call).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostingRecord {
    pub settlement_id: String,
    pub period_name: String,
    pub revision: u32,
    pub step: PostingStep,
    pub group_id: Option<String>,
    pub interface_run_id: Option<String>,
    pub request_id: Option<String>,
    pub rows_staged: usize,
    pub request: Option<RequestState>,
    pub outcome: Option<GlOutcome>,
    /// Groups whose rejected rows were deleted before this batch was staged again.
    pub discarded_groups: Vec<String>,
}

impl PostingRecord {
    fn new(batch: &GlBatch, step: PostingStep) -> Self {
        PostingRecord {
            settlement_id: batch.settlement_id.clone(),
            period_name: batch.period_name.clone(),
            revision: batch.revision,
            step,
            group_id: None,
            interface_run_id: None,
            request_id: None,
            rows_staged: 0,
            request: None,
            outcome: None,
            discarded_groups: Vec::new(),
        }
    }

    /// For tests that must stage what the checks would refuse (e.g. an unbalanced journal,
    /// to see EBS reject it with EU02). Never use in production paths.
    #[doc(hidden)]
    pub fn raw_test_hook_unchecked(batch: &GlBatch) -> Self {
        PostingRecord::new(batch, PostingStep::Checked)
    }

    fn expect(&self, batch: &GlBatch, steps: &[PostingStep], what: &str) -> Result<(), EbsError> {
        if self.settlement_id != batch.settlement_id
            || self.period_name != batch.period_name
            || self.revision != batch.revision
        {
            return Err(EbsError::Step(format!(
                "{what}: record is for {}/{}/r{}, batch is {}/{}/r{}",
                self.settlement_id,
                self.period_name,
                self.revision,
                batch.settlement_id,
                batch.period_name,
                batch.revision
            )));
        }
        if !steps.contains(&self.step) {
            return Err(EbsError::Step(format!(
                "{what} needs a record at {steps:?}, got {:?}",
                self.step
            )));
        }
        Ok(())
    }

    fn group(&self) -> Result<&str, EbsError> {
        self.group_id
            .as_deref()
            .ok_or_else(|| EbsError::Step("record has no GROUP_ID".into()))
    }
}
