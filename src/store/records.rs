//! The typed values kept in the store's trees (serde_json-encoded).

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::fmt;

use crate::ebs::gl::{GlBatch, PostingRecord};
use crate::ledger::journal::Journal;
use crate::ledger::model::SettlementSummary;
use crate::ledger::proposal_hash::PROPOSAL_HASH_VERSION;
use crate::ledger::state::BatchState;

/// A settlement file kept verbatim (the bytes live in `raw_bytes`), with what is
/// needed to read and prove it later: Amazon deletes reports after 90 days.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawFileMeta {
    pub settlement_id: String,
    #[serde(default)]
    pub report_id: Option<String>,
    #[serde(default)]
    pub report_type: Option<String>,
    #[serde(default)]
    pub seller: Option<String>,
    #[serde(default)]
    pub marketplace_id: Option<String>,
    /// The character set the bytes were decoded with (`UTF-8`, `Shift_JIS`, …).
    pub charset: String,
    /// Hex SHA-256 of the bytes.
    pub sha256: String,
    pub len: u64,
    pub fetched_at: DateTime<Utc>,
}

/// A settlement file replaced by a different one for the same settlement, kept
/// so the archive never loses bytes it once proved something with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupersededRaw {
    pub meta: RawFileMeta,
    pub superseded_at: DateTime<Utc>,
    /// The bytes, base64.
    pub bytes: String,
}

/// What happened when a raw file was stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RawPut {
    /// First time this settlement's file was seen.
    New,
    /// The same bytes were already kept.
    Unchanged,
    /// Different bytes replaced the kept ones (the caller audits this).
    Changed { previous_sha256: String },
}

/// A parsed settlement's summary and where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettlementRecord {
    pub summary: SettlementSummary,
    pub seller: String,
    pub marketplace_id: String,
    /// Hash of the raw file this summary was parsed from.
    #[serde(default)]
    pub raw_sha256: Option<String>,
    #[serde(default)]
    pub event_group_id: Option<String>,
    pub pulled_at: DateTime<Utc>,
}

/// A financial event group as Amazon reported it (opaque body kept whole).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventGroupRecord {
    pub group_id: String,
    pub seller: String,
    /// The settlement this group was linked to, once known.
    #[serde(default)]
    pub settlement_id: Option<String>,
    pub fetched_at: DateTime<Utc>,
    pub data: serde_json::Value,
}

/// An order as Amazon reported it (opaque body kept whole).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderRecord {
    pub order_id: String,
    pub seller: String,
    #[serde(default)]
    pub marketplace_id: Option<String>,
    pub fetched_at: DateTime<Utc>,
    pub data: serde_json::Value,
}

/// A settlement report seen in Amazon's listing, pulled or not (for the
/// 90-day retention warning).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportRecord {
    pub report_id: String,
    pub seller: String,
    #[serde(default)]
    pub marketplace_id: Option<String>,
    #[serde(default)]
    pub settlement_id: Option<String>,
    /// When Amazon created the report; retention counts from here.
    pub created: DateTime<Utc>,
    #[serde(default)]
    pub pulled_at: Option<DateTime<Utc>>,
}

/// One version of one mapping file. The store's latest version is authoritative.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MappingVersion {
    /// Which mapping (`mapping.toml`, `mapping-ca.toml`, …).
    pub name: String,
    pub version: u32,
    pub sha256: String,
    /// The mapping text verbatim.
    pub text: String,
    /// Where it came from: a file path, or `tui` for edits made on screen.
    pub source: String,
    pub who: String,
    pub when: DateTime<Utc>,
}

/// A reference to a mapping version.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MappingRef {
    pub name: String,
    pub version: u32,
}

/// A journal batch: one settlement in one accounting period.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct BatchKey {
    pub settlement_id: String,
    /// The ledger period name (`JUL-25`, `2025-07`, …).
    pub period: String,
}

impl BatchKey {
    pub fn new(settlement_id: impl Into<String>, period: impl Into<String>) -> Self {
        BatchKey {
            settlement_id: settlement_id.into(),
            period: period.into(),
        }
    }

    /// `settlement\0period`: sorts a settlement's batches together.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut key = Vec::with_capacity(self.settlement_id.len() + 1 + self.period.len());
        key.extend_from_slice(self.settlement_id.as_bytes());
        key.push(0);
        key.extend_from_slice(self.period.as_bytes());
        key
    }

    pub fn from_bytes(bytes: &[u8]) -> Option<BatchKey> {
        let at = bytes.iter().position(|b| *b == 0)?;
        Some(BatchKey {
            settlement_id: String::from_utf8(bytes[..at].to_vec()).ok()?,
            period: String::from_utf8(bytes[at + 1..].to_vec()).ok()?,
        })
    }

    pub fn settlement_prefix(settlement_id: &str) -> Vec<u8> {
        let mut key = settlement_id.as_bytes().to_vec();
        key.push(0);
        key
    }
}

impl fmt::Display for BatchKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.settlement_id, self.period)
    }
}

/// The proposed journal for a batch, computed with a mapping version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Proposal {
    pub batch: BatchKey,
    pub mapping: MappingRef,
    /// [`proposal_hash`](crate::ledger::proposal_hash::proposal_hash) of the journal: an
    /// approval names it and lapses if it changes.
    pub proposal_hash: String,
    /// Which version of the proposal hash `proposal_hash` is; 0 (absent) is the hash of the
    /// journal's serde form written before schema 3, which the schema 3 migration replaces
    /// when it still matches the stored journal (see `store::migrate`).
    #[serde(default)]
    pub hash_version: u32,
    /// The pre-schema-3 hash this proposal had (audit entries of that time name it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legacy_hash: Option<String>,
    pub created_at: DateTime<Utc>,
    /// `proposed`, `needs_mapping` or `inconsistent`.
    pub outcome: BatchState,
    #[serde(default)]
    pub reason: Option<String>,
    /// The journal (the ledger's own serde form, as stored since schema 1; a change to
    /// [`Journal`]'s serde form needs a migration: `tests/fixtures/store` guards it).
    pub lines: Journal,
}

impl Proposal {
    /// Whether its hash is of the current version (an approval can only hold for one).
    pub fn hash_is_current(&self) -> bool {
        self.hash_version == PROPOSAL_HASH_VERSION
    }

    /// What `store verify` says about a hash no approval can hold for.
    pub(super) fn hash_problem(&self) -> Option<String> {
        (!self.hash_is_current()).then(|| {
            format!(
                "proposal for {}: its hash is version {}, not {PROPOSAL_HASH_VERSION} (its journal did not match the hash it was stored with, so it was not re-hashed); it cannot be approved until re-proposed",
                self.batch, self.hash_version
            )
        })
    }
}

/// Who approved what, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    pub who: String,
    pub when: DateTime<Utc>,
    pub proposal_hash: String,
    /// The version of `proposal_hash` (see [`Proposal::hash_version`]).
    #[serde(default)]
    pub hash_version: u32,
}

/// Debit and credit totals of a staged batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    pub currency: String,
    pub debit: Decimal,
    pub credit: Decimal,
}

/// What EBS said about one line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineOutcome {
    /// The line's stable reference (its source key in EBS).
    pub reference: String,
    pub accepted: bool,
    /// EBS status / error code (`EU02`, `ORA-…`).
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
}

/// The posting state of one batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchRecord {
    pub settlement_id: String,
    pub period: String,
    pub state: BatchState,
    /// 1 for the first posting; each re-post after a rejection is the next revision.
    pub revision: u32,
    #[serde(default)]
    pub group_id: Option<String>,
    #[serde(default)]
    pub request_id: Option<i64>,
    #[serde(default)]
    pub journal_ids: Vec<i64>,
    #[serde(default)]
    pub line_count: Option<u32>,
    #[serde(default)]
    pub totals: Option<Totals>,
    #[serde(default)]
    pub line_outcomes: Vec<LineOutcome>,
    #[serde(default)]
    pub approval: Option<Approval>,
    /// Why it waits or was rejected, in plain words.
    #[serde(default)]
    pub reason: Option<String>,
    pub updated_at: DateTime<Utc>,
}

impl BatchRecord {
    /// A new batch in `state` at revision 1.
    pub fn new(key: &BatchKey, state: BatchState, now: DateTime<Utc>) -> Self {
        BatchRecord {
            settlement_id: key.settlement_id.clone(),
            period: key.period.clone(),
            state,
            revision: 1,
            group_id: None,
            request_id: None,
            journal_ids: Vec::new(),
            line_count: None,
            totals: None,
            line_outcomes: Vec::new(),
            approval: None,
            reason: None,
            updated_at: now,
        }
    }

    pub fn key(&self) -> BatchKey {
        BatchKey::new(self.settlement_id.clone(), self.period.clone())
    }

    /// Whether the batch carries an approval of exactly this proposal (an
    /// approval lapses only when the proposal it approved changed). Only hashes of the
    /// current version compare: a proposal the migration could not re-hash holds none.
    pub fn approval_holds_for(&self, proposal: &Proposal) -> bool {
        self.approval.as_ref().is_some_and(|a| {
            proposal.hash_is_current()
                && a.hash_version == proposal.hash_version
                && a.proposal_hash == proposal.proposal_hash
        })
    }
}

/// What is about to be asked of EBS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntentAction {
    /// Insert interface rows under a group id.
    Stage,
    /// Submit the import program for a group.
    Submit,
    /// Delete a rejected revision's interface rows before re-posting.
    DeleteRejected,
    /// Reverse an imported journal.
    Reverse,
}

/// Written and flushed before an EBS call, so a restart knows what may have
/// reached EBS and checks there before doing anything again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PostingIntent {
    pub batch: BatchKey,
    pub revision: u32,
    pub action: IntentAction,
    #[serde(default)]
    pub group_id: Option<String>,
    /// The stable key EBS rows carry (looked up before any retry).
    pub source_key: String,
    pub written_at: DateTime<Utc>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub details: IntentDetails,
}

/// `null` reads as the default (an intent written without details).
fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// Record layouts without a `v` field are version 1.
fn v1() -> u32 {
    1
}

fn is_v1(v: &u32) -> bool {
    *v == 1
}

/// What an intent carries for recovery, by action: `stage` and `submit` the exact batch and
/// the EBS client's record so far; `delete_rejected` the groups; `reverse` the reversing
/// batch, the original revision and journals, and who asked. Versioned by `v` (absent: 1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IntentDetails {
    #[serde(default = "v1", skip_serializing_if = "is_v1")]
    pub v: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<GlBatch>,
    #[serde(default)]
    pub record: Option<PostingRecord>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_revision: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_journal_ids: Option<Vec<i64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
}

impl Default for IntentDetails {
    fn default() -> Self {
        IntentDetails {
            v: 1,
            batch: None,
            record: None,
            groups: None,
            original_revision: None,
            original_journal_ids: None,
            actor: None,
        }
    }
}

/// The details of a `staging` audit entry: the batch exactly as staged (a restart
/// continues with it, whatever the configuration says meanwhile). Versioned by `v`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StagingDetails {
    #[serde(default = "v1", skip_serializing_if = "is_v1")]
    pub v: u32,
    pub revision: u32,
    #[serde(default)]
    pub group_id: Option<String>,
    #[serde(default)]
    pub lines: usize,
    #[serde(default)]
    pub discarded_groups: Vec<String>,
    pub batch: GlBatch,
}

impl StagingDetails {
    /// Reads the details of a `staging` entry.
    pub fn of(entry: &super::AuditEntry) -> Result<Self, serde_json::Error> {
        Self::deserialize(&entry.details)
    }
}

/// The details of a `reversal` audit entry: which revision was reversed by which
/// journal(s). Versioned by `v`. Recovery needs only the revisions; the rest is the record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReversalDetails {
    #[serde(default = "v1", skip_serializing_if = "is_v1")]
    pub v: u32,
    /// The reversed revision.
    pub revision: u32,
    /// The reversing journal's own revision.
    #[serde(default)]
    pub reversal_revision: Option<u32>,
    #[serde(default)]
    pub original_journal_ids: Option<Vec<i64>>,
    #[serde(default)]
    pub journal_ids: Vec<i64>,
    #[serde(default)]
    pub period_name: Option<String>,
    #[serde(default)]
    pub accounting_date: Option<chrono::NaiveDate>,
    #[serde(default)]
    pub group_id: Option<String>,
    #[serde(default)]
    pub request_id: Option<String>,
    #[serde(default)]
    pub batch: Option<GlBatch>,
}

/// A sync cursor (opaque to the store).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CursorRecord {
    pub value: serde_json::Value,
    pub updated_at: DateTime<Utc>,
}

impl ReversalDetails {
    /// Reads the details of a `reversal` entry.
    pub fn of(entry: &super::AuditEntry) -> Result<Self, serde_json::Error> {
        Self::deserialize(&entry.details)
    }
}

/// What `store verify` says about an audit entry whose details recovery reads and cannot
/// (posting reads `staging` and `reversal` entries of a batch: with a settlement and period).
pub(super) fn audit_details_problem(entry: &super::AuditEntry) -> Option<String> {
    entry.settlement_id.as_ref()?;
    entry.period.as_ref()?;
    let err = match entry.action {
        super::AuditAction::Staging => StagingDetails::of(entry).err(),
        super::AuditAction::Reversal => ReversalDetails::of(entry).err(),
        _ => None,
    }?;
    Some(format!(
        "audit entry {} ({}): details do not read as its record: {err}",
        entry.seq, entry.action
    ))
}
