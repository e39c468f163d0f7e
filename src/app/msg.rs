//! Messages into the app: terminal events and data from the sync layer.

use chrono::{DateTime, Utc};
use crossterm::event::{KeyEvent, MouseEvent};

use super::view::{
    AccountCheck, ApprovalRefusal, AuditEntryView, BatchHistoryView, BatchKey, BatchView,
    MappingDraft, OrderView, ProposalChange, ReversalPlanView, SettlementDetail,
    SettlementSummaryView,
};

// a batch view is a few hundred bytes; messages move once through a channel
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Msg {
    // ---- terminal
    Key(KeyEvent),
    Mouse(MouseEvent),
    Resize(u16, u16),
    /// A clock tick with the current time (the app has no clock of its own).
    Tick(DateTime<Utc>),
    // ---- data from sync
    /// Every stored settlement (replaces the list).
    SettlementsLoaded(Vec<SettlementSummaryView>),
    /// The review model of one settlement (answer to `Effect::LoadDetail`).
    DetailLoaded(Box<SettlementDetail>),
    /// Every known batch (replaces the import status list).
    BatchesLoaded(Vec<BatchView>),
    /// One batch changed (state, EBS request status, line errors …).
    BatchUpdated(BatchView),
    SyncProgress {
        what: String,
        done: u64,
        total: Option<u64>,
        waiting_on_rate_limit: Option<String>,
    },
    /// A sync round ended.
    SyncFinished {
        at: DateTime<Utc>,
        ok: bool,
        summary: String,
    },
    /// The current mapping version.
    MappingLoaded(MappingDraft),
    /// EBS's answer about one account typed in the editor.
    MappingValidated {
        account: String,
        result: AccountCheck,
    },
    /// How the proposals change under the draft whose content hash is `mapping_hash`.
    ProposalDiff {
        mapping_hash: String,
        changes: Vec<ProposalChange>,
        /// Settlements whose unmapped rows all become mapped / newly unmapped.
        newly_mapped: Vec<String>,
        newly_unmapped: Vec<String>,
    },
    /// The draft was stored as mapping version `version`.
    MappingSaved {
        version: u32,
    },
    AuditLoaded {
        settlement_id: Option<String>,
        entries: Vec<AuditEntryView>,
    },
    /// What a reversal will send (answer to `Effect::PlanReversal`).
    ReversalPlan(ReversalPlanView),
    /// Whether the actor may approve a batch (answer to `Effect::MayApprove`).
    MayApprove {
        key: BatchKey,
        result: Result<(), ApprovalRefusal>,
    },
    /// Per account, the last posted revision's net against the current proposal's
    /// (answer to `Effect::LoadPostedDiff`; `revision` 0: nothing was posted).
    PostedDiff {
        key: BatchKey,
        revision: u32,
        changes: Vec<ProposalChange>,
    },
    /// A batch's history (answer to `Effect::LoadHistory`).
    BatchHistory(BatchHistoryView),
    /// An order's data (answer to `Effect::LoadOrder`; `None`: not pulled).
    OrderLoaded {
        order_id: String,
        order: Option<OrderView>,
    },
    /// Something failed; shown in the status bar.
    Error(String),
    /// Something worth saying; shown in the status bar.
    Info(String),
}
