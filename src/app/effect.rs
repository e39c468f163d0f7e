//! Effects: what the app asks the sync layer to do. The app never does IO itself.

use super::view::{BatchKey, MappingDraft};

/// An approval of one batch's proposal as the accountant saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approval {
    pub key: BatchKey,
    /// The hash of the proposal shown (an approval lapses when it changes).
    pub proposal_hash: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    LoadSettlements,
    LoadBatches,
    LoadDetail(String),
    LoadMapping,
    /// The audit trail of a settlement (`None`: everything).
    LoadAudit(Option<String>),
    Approve {
        batches: Vec<Approval>,
        actor: String,
    },
    Unapprove {
        batches: Vec<BatchKey>,
        actor: String,
    },
    /// Stage, submit and follow the batches through EBS Journal Import.
    Post {
        batches: Vec<BatchKey>,
        actor: String,
    },
    SyncNow,
    /// Ask EBS whether an account (code combination) exists and is enabled.
    ValidateAccount(String),
    /// Re-propose with the draft (nothing stored); answer: `Msg::ProposalDiff`.
    PreviewMapping(MappingDraft),
    /// Store the draft as a new mapping version; answer: `Msg::MappingSaved`.
    SaveMapping {
        draft: MappingDraft,
        actor: String,
    },
    Quit,
}
