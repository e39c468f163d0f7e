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
        /// The accountant overrode the settlement order in the confirmation (audited).
        override_order: bool,
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
    /// What reversing a batch would send; answer: `Msg::ReversalPlan`.
    PlanReversal {
        key: BatchKey,
        /// The open period to date it in (`None`: the first open one at or after the original).
        into: Option<String>,
    },
    /// Send the reversing journal (exactly once); answer: `BatchUpdated` as it moves.
    Reverse {
        key: BatchKey,
        into: Option<String>,
        actor: String,
    },
    /// May `actor` approve `key` (maker-checker)? Answer: `Msg::MayApprove`.
    MayApprove {
        key: BatchKey,
        actor: String,
    },
    /// How the current proposal of a reversed batch differs from its last posted revision;
    /// answer: `Msg::PostedDiff`.
    LoadPostedDiff(BatchKey),
    /// The batch's history from the audit trail; answer: `Msg::BatchHistory`.
    LoadHistory(BatchKey),
    /// A vanished batch is not re-posted: archived (audited).
    ArchiveVanished {
        key: BatchKey,
        actor: String,
    },
    /// The order data Amazon reported; answer: `Msg::OrderLoaded`.
    LoadOrder(String),
    /// Write `contents` to `file` in the export directory; answer: `Msg::Info`
    /// naming the path written.
    Export {
        file: String,
        contents: String,
    },
    Quit,
}
