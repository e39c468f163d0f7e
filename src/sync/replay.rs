//! Replay (issue 10): re-run a failed step from what the store kept, through the same checks
//! and the same idempotency as the first time, and say so in the audit trail (`replay`).
//!
//! A target is an audit entry's sequence number or a batch (`SETTLEMENT/PERIOD`):
//!
//! - `pull` entry: the settlement file kept verbatim is read back (its hash checked), parsed
//!   again and its summary stored when missing or different; nothing is downloaded again.
//! - `proposal` entry: the settlement is proposed again ([`super::propose::propose_pending`],
//!   which needs the wired context: see [`replay_with_context`]).
//! - `staging`, `submission`, `outcome`, `approval`, `replay` entries, or a batch: the batch is
//!   compared with EBS and continued from where EBS and the store say (an outstanding intent
//!   first, including a reversal's), exactly like a restart; nothing is sent twice.

use chrono::Utc;
use serde::Serialize;
use serde_json::json;

use crate::ledger::parse::parse_settlement;
use crate::store::{AuditAction, AuditEntry, BatchKey, NewAuditEntry, SettlementRecord, Store};

use super::context::SyncContext;
use super::messages::{ProgressSink, SyncError};
use super::posting::{BatchOutcome, PostingEngine, PostingError, Progress};

/// What to replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplayTarget {
    /// An audit entry's sequence number.
    Audit(u64),
    Batch(BatchKey),
}

impl std::str::FromStr for ReplayTarget {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Ok(seq) = s.parse::<u64>() {
            return Ok(ReplayTarget::Audit(seq));
        }
        match s.split_once('/') {
            Some((sid, period)) if !sid.is_empty() && !period.is_empty() => {
                Ok(ReplayTarget::Batch(BatchKey::new(sid, period)))
            }
            _ => Err(format!(
                "`{s}` is neither an audit sequence number nor a batch SETTLEMENT/PERIOD"
            )),
        }
    }
}

/// The kind of step replayed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplayKind {
    Pull,
    Proposal,
    /// Staging, submission or confirmation of a batch (continued from where EBS says).
    Posting,
}

/// What a replay did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReplayOutcome {
    pub kind: ReplayKind,
    pub settlement_id: Option<String>,
    pub batch: Option<BatchOutcome>,
    pub detail: String,
    /// The `replay` audit entry's sequence number.
    pub audit_seq: u64,
}

/// Why a replay could not run.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("audit entry {0} does not exist")]
    NoEntry(u64),
    #[error("audit entry {seq} ({action}) is not a step that can be replayed{hint}")]
    NotReplayable {
        seq: u64,
        action: AuditAction,
        hint: String,
    },
    #[error("settlement {0}: its file is not in the store; it must be pulled from Amazon again")]
    NoRawFile(String),
    #[error("settlement {settlement_id}: the kept file does not parse: {reason}")]
    Parse {
        settlement_id: String,
        reason: String,
    },
    #[error("replaying a proposal needs the configuration (use `ml-connector replay`)")]
    NeedsContext,
    #[error(transparent)]
    Posting(#[from] PostingError),
    #[error(transparent)]
    Sync(#[from] SyncError),
}

impl From<crate::store::StoreError> for ReplayError {
    fn from(e: crate::store::StoreError) -> Self {
        ReplayError::Posting(e.into())
    }
}

fn entry(store: &Store, seq: u64) -> Result<AuditEntry, ReplayError> {
    // The trail is small next to a settlement; a keyed read would need a store API.
    store
        .audit_entries(None)?
        .into_iter()
        .find(|e| e.seq == seq)
        .ok_or(ReplayError::NoEntry(seq))
}

/// What a target resolves to: kind, settlement, batch, the audit entry replayed.
type Resolved = (ReplayKind, Option<String>, Option<BatchKey>, Option<u64>);

fn resolve(store: &Store, target: &ReplayTarget) -> Result<Resolved, ReplayError> {
    match target {
        ReplayTarget::Batch(k) => Ok((
            ReplayKind::Posting,
            Some(k.settlement_id.clone()),
            Some(k.clone()),
            None,
        )),
        ReplayTarget::Audit(seq) => {
            let e = entry(store, *seq)?;
            let batch = match (&e.settlement_id, &e.period) {
                (Some(s), Some(p)) => Some(BatchKey::new(s.clone(), p.clone())),
                _ => None,
            };
            let kind = match e.action {
                AuditAction::Pull if e.settlement_id.is_some() => ReplayKind::Pull,
                AuditAction::Proposal if e.settlement_id.is_some() => ReplayKind::Proposal,
                AuditAction::Staging
                | AuditAction::Submission
                | AuditAction::Outcome
                | AuditAction::Approval
                | AuditAction::Replay
                | AuditAction::Reversal
                    if batch.is_some() =>
                {
                    ReplayKind::Posting
                }
                action => {
                    return Err(ReplayError::NotReplayable {
                        seq: *seq,
                        action,
                        hint: match action {
                            AuditAction::MappingChange => {
                                "; a mapping change re-proposes on the next run".into()
                            }
                            _ => String::new(),
                        },
                    });
                }
            };
            Ok((kind, e.settlement_id.clone(), batch, Some(*seq)))
        }
    }
}

fn record(
    store: &Store,
    actor: &str,
    kind: ReplayKind,
    settlement_id: Option<&str>,
    batch: Option<&BatchKey>,
    replayed_seq: Option<u64>,
    detail: &str,
) -> Result<u64, ReplayError> {
    let mut e = NewAuditEntry::new(Utc::now(), actor, AuditAction::Replay).details(json!({
        "replayed_seq": replayed_seq,
        "kind": kind,
        "result": detail,
    }));
    if let Some(s) = settlement_id {
        e = e.settlement(s);
    }
    if let Some(b) = batch {
        e = e.period(b.period.clone());
    }
    Ok(store.append_audit(e)?.seq)
}

/// Reads the kept file of `settlement_id` back and stores its summary when missing or
/// different. Returns what it did.
pub fn replay_pull(store: &Store, settlement_id: &str) -> Result<String, ReplayError> {
    let (meta, bytes) = store
        .raw_settlement(settlement_id)?
        .ok_or_else(|| ReplayError::NoRawFile(settlement_id.to_string()))?;
    let parsed = parse_settlement(&bytes, Some(&meta.charset)).map_err(|e| ReplayError::Parse {
        settlement_id: settlement_id.to_string(),
        reason: e.to_string(),
    })?;
    let existing = store.settlement(settlement_id)?;
    if existing.as_ref().is_some_and(|s| {
        s.summary == parsed.summary && s.raw_sha256.as_deref() == Some(&meta.sha256)
    }) {
        return Ok("the stored summary already matches the kept file".into());
    }
    let rec = SettlementRecord {
        summary: parsed.summary.clone(),
        seller: meta
            .seller
            .clone()
            .or_else(|| existing.as_ref().map(|s| s.seller.clone()))
            .unwrap_or_default(),
        marketplace_id: meta
            .marketplace_id
            .clone()
            .or(parsed.dominant_marketplace.clone())
            .or_else(|| existing.as_ref().map(|s| s.marketplace_id.clone()))
            .unwrap_or_default(),
        raw_sha256: Some(meta.sha256.clone()),
        event_group_id: existing.as_ref().and_then(|s| s.event_group_id.clone()),
        pulled_at: meta.fetched_at,
    };
    store.put_settlement(&rec, None)?;
    Ok(format!(
        "settlement {settlement_id} parsed again from the kept file ({} bytes, total {} {})",
        meta.len,
        parsed.summary.total_amount,
        parsed.summary.currency.code()
    ))
}

impl PostingEngine {
    /// Replays `target` (pull or posting steps; a proposal needs [`replay_with_context`]).
    pub async fn replay(
        &self,
        target: &ReplayTarget,
        actor: &str,
        progress: Progress<'_>,
    ) -> Result<ReplayOutcome, ReplayError> {
        let (kind, sid, batch, seq) = resolve(&self.store, target)?;
        let (detail, outcome) = match kind {
            ReplayKind::Pull => {
                let sid = sid.as_deref().unwrap_or_default();
                (replay_pull(&self.store, sid)?, None)
            }
            ReplayKind::Proposal => return Err(ReplayError::NeedsContext),
            ReplayKind::Posting => {
                let key = batch.clone().expect("posting replays name a batch");
                self.load(&key)?;
                let mut out = self.post_keys(std::slice::from_ref(&key), progress).await?;
                let o = out
                    .pop()
                    .ok_or_else(|| PostingError::NoBatch(key.clone()))?;
                let detail = match (&o.error, &o.reason) {
                    (Some(e), _) => format!("{} (revision {}): {e}", o.state, o.revision),
                    (None, Some(r)) => format!("{} (revision {}): {r}", o.state, o.revision),
                    (None, None) => format!("{} (revision {})", o.state, o.revision),
                };
                (detail, Some(o))
            }
        };
        let audit_seq = record(
            &self.store,
            actor,
            kind,
            sid.as_deref(),
            batch.as_ref(),
            seq,
            &detail,
        )?;
        Ok(ReplayOutcome {
            kind,
            settlement_id: sid,
            batch: outcome,
            detail,
            audit_seq,
        })
    }
}

/// Replays any target, proposals included (re-proposes what is pending with the mapping
/// version in force, through the same checks as a run).
pub async fn replay_with_context(
    ctx: &SyncContext,
    engine: &PostingEngine,
    target: &ReplayTarget,
    sink: &ProgressSink,
) -> Result<ReplayOutcome, ReplayError> {
    let (kind, sid, batch, seq) = resolve(&ctx.store, target)?;
    if kind != ReplayKind::Proposal {
        let quiet = |_: super::posting::PostingProgress| {};
        return engine.replay(target, &ctx.actor, &quiet).await;
    }
    let summary = super::propose::propose_pending(ctx, sink, Utc::now()).await?;
    let id = sid.clone().unwrap_or_default();
    let detail = match summary.failed.iter().find(|(s, _)| *s == id) {
        Some((_, why)) => format!("settlement {id} still cannot be proposed: {why}"),
        None => {
            let states: Vec<String> = ctx
                .store
                .batches_for(&id)?
                .iter()
                .map(|b| format!("{} {}", b.period, b.state))
                .collect();
            format!("settlement {id} proposed: {}", states.join(", "))
        }
    };
    let audit_seq = record(
        &ctx.store,
        &ctx.actor,
        kind,
        sid.as_deref(),
        batch.as_ref(),
        seq,
        &detail,
    )?;
    Ok(ReplayOutcome {
        kind,
        settlement_id: sid,
        batch: None,
        detail,
        audit_seq,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse() {
        assert_eq!("42".parse::<ReplayTarget>(), Ok(ReplayTarget::Audit(42)));
        assert_eq!(
            "123/OCT-26".parse::<ReplayTarget>(),
            Ok(ReplayTarget::Batch(BatchKey::new("123", "OCT-26")))
        );
        assert!("nope".parse::<ReplayTarget>().is_err());
        assert!("/OCT-26".parse::<ReplayTarget>().is_err());
    }
}
