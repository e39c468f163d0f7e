//! The mapping editor's effects: checking an account against EBS, previewing what a
//! draft would change in the journals not yet in EBS, and saving a draft as the next
//! mapping version (file and store), after which the open settlements are proposed again.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

use chrono::Utc;

use crate::app::Msg;
use crate::app::view::{self, AccountCheck, MappingDraft};
use crate::ledger::mapping::Mapping;
use crate::ledger::state::BatchState;
use crate::store::{BatchKey, SettlementRecord};
use crate::sync::propose::{mapping_name, propose_pending, sync_mappings};

use super::effects::{refresh_views, send_batches};
use super::{Inner, WorkstationError};

pub(super) async fn validate_account(inner: &Arc<Inner>, account: &str) -> AccountCheck {
    let name = inner
        .editing
        .lock()
        .map(|e| e.0.clone())
        .unwrap_or_default();
    let cfg = &inner.ctx.config;
    let ledgers: BTreeSet<i64> = cfg
        .routing
        .iter()
        .filter(|r| mapping_name(&cfg.mapping_path_for(r.marketplace.as_str())) == name)
        .map(|r| r.ledger_id)
        .collect();
    let mut description = None;
    for ledger in &ledgers {
        let Some(client) = inner.ctx.ebs.get(ledger) else {
            continue;
        };
        let l = ledger.to_string();
        match client.account(&l, account).await {
            Ok(info) => {
                // today in the ledger's time zone, like every date of its journals
                if let Some(p) = info.problem_at(client.today()) {
                    return AccountCheck::Invalid {
                        reason: format!("ledger {ledger}: {p:?} ({})", p.ebs_code()),
                    };
                }
                description.get_or_insert_with(|| {
                    info.message
                        .clone()
                        .filter(|m| !m.is_empty())
                        .unwrap_or_else(|| {
                            format!(
                                "enabled, detail posting{}",
                                info.ccid
                                    .map(|c| format!(" (ccid {c})"))
                                    .unwrap_or_default()
                            )
                        })
                });
            }
            Err(e) => {
                return AccountCheck::Unknown {
                    reason: e.to_string(),
                };
            }
        }
    }
    match description {
        Some(description) => AccountCheck::Valid { description },
        None => AccountCheck::Unknown {
            reason: "no EBS connection for the ledgers of this mapping".into(),
        },
    }
}

/// Settlements the mapping being edited applies to (with a batch still open to change).
async fn editable_settlements(
    inner: &Arc<Inner>,
) -> Result<Vec<SettlementRecord>, WorkstationError> {
    let name = inner
        .editing
        .lock()
        .map(|e| e.0.clone())
        .unwrap_or_default();
    let recs = inner
        .blocking(move |i| {
            let mut out = Vec::new();
            for rec in i.ctx.store.settlements()? {
                if i.mapping_of(&rec) != name {
                    continue;
                }
                let open = i
                    .ctx
                    .store
                    .batches_for(&rec.summary.settlement_id)?
                    .iter()
                    .any(|b| reproposable(b.state));
                if open {
                    out.push(rec);
                }
            }
            Ok(out)
        })
        .await?;
    Ok(recs)
}

/// What a mapping save proposes again (as `sync::propose` does): not yet in EBS, rejected,
/// or reversed (its next revision follows the new mapping).
pub(super) fn reproposable(s: BatchState) -> bool {
    matches!(
        s,
        BatchState::Proposed
            | BatchState::NeedsMapping
            | BatchState::NeedsRate
            | BatchState::Inconsistent
            | BatchState::Approved
            | BatchState::Rejected
            | BatchState::Reversed
    )
}

pub(super) async fn preview(
    inner: &Arc<Inner>,
    draft: MappingDraft,
) -> Result<(), WorkstationError> {
    let after = draft.to_mapping().map_err(WorkstationError::MappingDraft)?;
    if let Ok(mut e) = inner.editing.lock() {
        e.1 = true;
    }
    let targets = editable_settlements(inner).await?;
    let before = inner.blocking(|i| i.current_mapping_parsed()).await?;
    // Before and after, each through the one shared path (EBS's calendar and ledger).
    let mut proposals = Vec::new();
    for rec in targets {
        let p0 = inner.build(&rec, &before, false).await?.proposal;
        let p1 = inner.build(&rec, &after, false).await?.proposal;
        proposals.push((rec, p0, p1));
    }
    let msg = inner
        .blocking(move |i| {
            let mut changes = Vec::new();
            let mut newly_mapped = Vec::new();
            let mut newly_unmapped = Vec::new();
            for (rec, p0, p1) in proposals {
                let id = rec.summary.settlement_id.clone();
                let open: BTreeSet<String> = i
                    .ctx
                    .store
                    .batches_for(&id)?
                    .into_iter()
                    .filter(|b| reproposable(b.state))
                    .map(|b| b.period)
                    .collect();
                changes.extend(
                    view::diff_proposals(&p0, &p1)
                        .into_iter()
                        .filter(|c| open.contains(&c.period)),
                );
                match (p0.unmapped.is_empty(), p1.unmapped.is_empty()) {
                    (false, true) => newly_mapped.push(id),
                    (true, false) => newly_unmapped.push(id),
                    _ => {}
                }
            }
            Ok(Msg::ProposalDiff {
                mapping_hash: after.content_hash().to_string(),
                changes,
                newly_mapped,
                newly_unmapped,
            })
        })
        .await?;
    inner.say(msg).await;
    Ok(())
}

pub(super) async fn save_mapping(
    inner: &Arc<Inner>,
    draft: MappingDraft,
    actor: String,
) -> Result<(), WorkstationError> {
    draft.to_mapping().map_err(WorkstationError::MappingDraft)?;
    let text = draft.to_toml();
    let _guard = inner.propose_lock.lock().await;
    let version = inner
        .blocking(move |i| {
            let name = i.editing.lock().map(|e| e.0.clone())?;
            let path = i.mapping_path(&name);
            let (v, _) = i
                .ctx
                .store
                .import_mapping(&name, &text, "tui", &actor, Utc::now())?;
            // The file follows the store (sync imports the file when its hash changes).
            let tmp = path.with_extension("toml.tmp");
            std::fs::write(&tmp, &text)
                .and_then(|_| std::fs::rename(&tmp, &path))
                .map_err(|source| WorkstationError::MappingWrite {
                    version: v.version,
                    path: path.clone(),
                    source,
                })?;
            if let Ok(mut e) = i.editing.lock() {
                e.1 = false;
            }
            Ok(v.version)
        })
        .await?;
    inner.say(Msg::MappingSaved { version }).await;
    // accounts are asked about again after a save (EBS may have changed meanwhile)
    for c in inner.ctx.ebs.values() {
        c.clear_check_cache().await;
    }
    let summary = propose_pending(&inner.ctx, &inner.sink, Utc::now()).await?;
    drop(_guard);
    let keys: Vec<BatchKey> = summary.proposed.iter().map(|(k, _)| k.clone()).collect();
    send_batches(inner, &keys).await;
    refresh_views(inner).await;
    inner
        .say(Msg::Info(format!(
            "mapping v{version}: {} journal(s) proposed again, {} approval(s) lapsed",
            summary.proposed.len(),
            summary.lapsed.len()
        )))
        .await;
    Ok(())
}

impl Inner {
    /// The mapping (file name) the settlement's marketplace uses.
    pub(super) fn mapping_of(&self, rec: &SettlementRecord) -> String {
        mapping_name(&self.ctx.config.mapping_path_for(&rec.marketplace_id))
    }

    fn mapping_path(&self, name: &str) -> PathBuf {
        let cfg = &self.ctx.config;
        cfg.mapping_paths()
            .into_iter()
            .find(|p| mapping_name(p) == name)
            .unwrap_or_else(|| cfg.mapping_path())
    }

    fn current_mapping_text(&self) -> Result<(String, Option<u32>), WorkstationError> {
        let name = self.editing.lock().map(|e| e.0.clone())?;
        let mut latest = self.ctx.store.latest_mapping(&name)?;
        if latest.is_none() {
            // Before the first sync: import the configured files now.
            let _ = sync_mappings(&self.ctx, Utc::now());
            latest = self.ctx.store.latest_mapping(&name)?;
        }
        match latest {
            Some(v) => Ok((v.text, Some(v.version))),
            None => {
                let path = self.mapping_path(&name);
                std::fs::read_to_string(&path)
                    .map(|t| (t, None))
                    .map_err(|source| WorkstationError::MappingRead { path, source })
            }
        }
    }

    pub(super) fn current_mapping_parsed(&self) -> Result<Mapping, WorkstationError> {
        let (text, _) = self.current_mapping_text()?;
        Mapping::parse(&text).map_err(WorkstationError::from)
    }

    pub(super) fn current_mapping(&self) -> Result<MappingDraft, WorkstationError> {
        let (text, version) = self.current_mapping_text()?;
        let m = Mapping::parse(&text)?;
        if let Ok(mut e) = self.editing.lock() {
            e.1 = false;
        }
        let mut d = MappingDraft::from_mapping(&m, version);
        let cfg = &self.ctx.config;
        d.name = self.editing.lock().map(|e| e.0.clone())?;
        d.ledgers = cfg
            .routing
            .iter()
            .filter(|r| mapping_name(&cfg.mapping_path_for(r.marketplace.as_str())) == d.name)
            .map(|r| r.ledger_id)
            .collect::<BTreeSet<i64>>()
            .into_iter()
            .collect();
        Ok(d)
    }
}
