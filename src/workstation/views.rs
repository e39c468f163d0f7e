//! Store records → the app's view models: settlement summaries and details (the raw
//! file re-parsed and proposed again for review through the one shared path,
//! `sync::batches`), batches with their EBS status, batch history and the audit trail.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::app::view::{
    self, AuditEntryView, BatchView, EventGroupLink, ExternalChecks, LineErrorView, PostTarget,
    SettlementDetail, SettlementSummaryView,
};
use crate::ledger::journal::Journal;
use crate::ledger::mapping::Mapping;
use crate::ledger::parse::{SettlementFile, decode};
use crate::ledger::state::BatchState;
use crate::store::{BatchRecord, SettlementRecord};
use crate::sync::SyncError;
use crate::sync::batches::{self, SettlementBatches};

use super::{Inner, WorkstationError, app_key, store_key};

/// What the settlements list shows of a raw file, cached per file hash.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct RawFigures {
    pub rows: u64,
    pub carried: rust_decimal::Decimal,
    pub reserve: rust_decimal::Decimal,
}

impl Inner {
    pub(super) fn client_for(&self, settlement_id: &str) -> Option<Arc<crate::ebs::EbsClient>> {
        let rec = self.ctx.store.settlement(settlement_id).ok()??;
        let route = self.ctx.config.routing_for(&rec.marketplace_id)?;
        self.ctx.ebs.get(&route.ledger_id).cloned()
    }

    /// A settlement's proposal and GL batches, built by the one shared path
    /// ([`batches::settlement_batches`]) with `mapping`; EBS unreachable (or no EBS for the
    /// ledger) means the workstation cannot build them, and says so.
    pub(super) async fn build(
        &self,
        rec: &SettlementRecord,
        mapping: &Mapping,
        want_rows: bool,
    ) -> Result<SettlementBatches, WorkstationError> {
        let id = rec.summary.settlement_id.clone();
        let cannot = |reason: String| WorkstationError::CannotBuild {
            id: id.clone(),
            reason,
        };
        let routing = batches::routing_of(&self.ctx, rec).map_err(|e| cannot(e.to_string()))?;
        if !self.ctx.ebs.contains_key(&routing.ledger_id) {
            return Err(cannot(format!(
                "no EBS connection for ledger {} (configure [ebs] and its credentials)",
                routing.ledger_id
            )));
        }
        let revisions: BTreeMap<String, u32> = self
            .ctx
            .store
            .batches_for(&id)?
            .into_iter()
            .map(|b| (b.period, b.revision))
            .collect();
        batches::settlement_batches(
            &self.ctx,
            rec,
            mapping,
            |p| revisions.get(p).copied().unwrap_or(1),
            want_rows,
        )
        .await
        .map_err(|e| match e {
            SyncError::Ebs(e) => cannot(format!("EBS did not answer: {e}")),
            SyncError::Ledger { reason, .. } => cannot(reason),
            other => cannot(other.to_string()),
        })
    }

    /// Row count, carried balance and reserve of a settlement's raw file
    /// (read once per file hash).
    fn raw_figures(&self, rec: &SettlementRecord) -> RawFigures {
        let Some(sha) = rec.raw_sha256.clone() else {
            return RawFigures::default();
        };
        if let Some(n) = self
            .row_counts
            .lock()
            .ok()
            .and_then(|c| c.get(&sha).copied())
        {
            return n;
        }
        let n = match self.ctx.store.raw_settlement(&rec.summary.settlement_id) {
            Ok(Some((meta, bytes))) => {
                // body lines: every non-empty line but the header and the summary row
                let lines = bytes
                    .split(|b| *b == b'\n')
                    .filter(|l| !l.iter().all(|b| b.is_ascii_whitespace()))
                    .count() as u64;
                let (carried, reserve) = decode(&bytes, Some(&meta.charset))
                    .ok()
                    .and_then(|d| {
                        let file = SettlementFile::parse(&d.text, d.charset).ok()?;
                        Some(SettlementSummaryView::balances(
                            file.rows()
                                .filter_map(Result::ok)
                                .map(|r| (r.transaction_type, r.amount_description, r.amount)),
                        ))
                    })
                    .unwrap_or_default();
                RawFigures {
                    rows: lines.saturating_sub(2),
                    carried,
                    reserve,
                }
            }
            _ => RawFigures::default(),
        };
        if let Ok(mut c) = self.row_counts.lock() {
            c.insert(sha, n);
        }
        n
    }

    fn summary_view(
        &self,
        rec: &SettlementRecord,
        batches: &[BatchRecord],
    ) -> SettlementSummaryView {
        let status = BatchState::worst(batches.iter().map(|b| b.state))
            // not proposed (yet): it needs a person to look (routing, mapping)
            .unwrap_or(BatchState::NeedsMapping);
        let market = crate::config::MarketplaceId::try_from(rec.marketplace_id.clone())
            .ok()
            .and_then(|m| m.country())
            .map(|c| format!("Amazon {c}"))
            .unwrap_or_else(|| rec.marketplace_id.clone());
        let figures = self.raw_figures(rec);
        SettlementSummaryView {
            settlement_id: rec.summary.settlement_id.clone(),
            seller: rec.seller.clone(),
            marketplace: market,
            start: rec.summary.start.date_naive(),
            end: rec.summary.end.date_naive(),
            deposit_date: rec.summary.deposit_date.map(|d| d.date_naive()),
            total: rec.summary.total_amount,
            currency: rec.summary.currency.clone(),
            status,
            gap_before: false,
            batches: batches.len() as u32,
            rows: figures.rows,
            carried: figures.carried,
            reserve: figures.reserve,
        }
    }

    pub(super) fn summaries(&self) -> Result<Vec<SettlementSummaryView>, WorkstationError> {
        let mut by: BTreeMap<String, Vec<BatchRecord>> = BTreeMap::new();
        for b in self.ctx.store.batches()? {
            by.entry(b.settlement_id.clone()).or_default().push(b);
        }
        let mut list: Vec<SettlementSummaryView> = self
            .ctx
            .store
            .settlements()?
            .iter()
            .map(|rec| {
                self.summary_view(
                    rec,
                    by.get(&rec.summary.settlement_id)
                        .map(Vec::as_slice)
                        .unwrap_or(&[]),
                )
            })
            .collect();
        // newest first, as an accountant reads them
        list.sort_by(|a, b| {
            b.end
                .cmp(&a.end)
                .then(a.settlement_id.cmp(&b.settlement_id))
        });
        SettlementSummaryView::mark_gaps(&mut list);
        Ok(list)
    }

    fn target(&self, marketplace: &str) -> PostTarget {
        match self.ctx.config.routing_for(marketplace) {
            Some(r) => PostTarget {
                // The ledger as EBS names it, once read (GL_LEDGERS: name and currency).
                ledger: match self.ctx.ledgers.known(&r.ledger_id.to_string()) {
                    Some(l) => format!(
                        "ledger {} {} {} ({})",
                        r.ledger_id, l.name, l.currency, r.je_source
                    ),
                    None => format!("ledger {} ({})", r.ledger_id, r.je_source),
                },
                // The operating unit as EBS names it, once read (HR_OPERATING_UNITS).
                operating_unit: match self.ctx.ledgers.known_operating_unit(&r.org_id.to_string()) {
                    Some(o) => format!("{} (org {})", o.name, r.org_id),
                    None => format!("org {}", r.org_id),
                },
                ledger_currency: None,
            },
            None => PostTarget {
                ledger: "no [[routing]] entry".into(),
                operating_unit: "-".into(),
                ledger_currency: None,
            },
        }
    }

    pub(super) fn batch_view(&self, rec: &BatchRecord) -> Result<BatchView, WorkstationError> {
        let key = rec.key();
        let settlement = self.ctx.store.settlement(&rec.settlement_id)?;
        let (target, currency) = match &settlement {
            Some(s) => (self.target(&s.marketplace_id), s.summary.currency.clone()),
            None => (self.target(""), crate::ledger::money::Currency::new("USD")),
        };
        let proposal = self.ctx.store.proposal(&key)?;
        let journal = proposal.as_ref().map(|p| &p.lines);
        let (line_count, debit, credit) = match (&rec.totals, &journal) {
            (Some(t), _) => (rec.line_count.unwrap_or(0), t.debit, t.credit),
            (None, Some(j)) => (j.lines.len() as u32, j.total_debit, j.total_credit),
            _ => (0, Default::default(), Default::default()),
        };
        // per-line errors, with the staged line's account and description
        let mut line_errors = Vec::new();
        let rejected: Vec<_> = rec.line_outcomes.iter().filter(|o| !o.accepted).collect();
        if !rejected.is_empty() {
            let staged = self.engine.staged_batch(&key, rec.revision).ok().flatten();
            for o in rejected {
                let line = staged
                    .as_ref()
                    .and_then(|b| b.lines.iter().find(|l| l.line_key == o.reference));
                let mut ids = vec![rec.settlement_id.clone()];
                if let Some(l) = line {
                    ids.push(l.description.clone());
                }
                line_errors.push(LineErrorView {
                    line_key: o.reference.clone(),
                    account: line.map(|l| l.account.clone()).unwrap_or_default(),
                    ebs_code: o.code.clone().unwrap_or_else(|| "-".into()),
                    message: o.message.clone().unwrap_or_default(),
                    amazon_ids: ids,
                });
            }
        }
        let (phase, status) = match rec.request_id {
            Some(id) => self
                .requests
                .lock()
                .ok()
                .and_then(|r| r.get(&id).cloned())
                .map_or((None, None), |(p, s)| (Some(p), Some(s))),
            None => (None, None),
        };
        let reason = rec.reason.clone().or_else(|| {
            proposal
                .as_ref()
                .filter(|p| p.outcome != BatchState::Proposed)
                .and_then(|p| p.reason.clone())
        });
        Ok(BatchView {
            key: app_key(&key),
            state: rec.state,
            revision: rec.revision,
            ledger: target.ledger,
            operating_unit: target.operating_unit,
            currency,
            group_id: rec.group_id.clone(),
            request_id: rec.request_id.map(|r| r.to_string()),
            phase,
            status,
            line_count,
            total_debit: debit,
            total_credit: credit,
            proposal_hash: proposal.map(|p| p.proposal_hash),
            approved_by: rec.approval.as_ref().map(|a| a.who.clone()),
            reason,
            line_errors,
            updated_at: Some(rec.updated_at),
        })
    }

    pub(super) fn all_batches(&self) -> Result<Vec<BatchView>, WorkstationError> {
        self.ctx
            .store
            .batches()?
            .iter()
            .map(|b| self.batch_view(b))
            .collect()
    }

    /// The mapping a settlement's review shows: the version its stored proposals were made
    /// with, else the current one.
    pub(super) fn review_mapping(
        &self,
        rec: &SettlementRecord,
    ) -> Result<Mapping, WorkstationError> {
        let id = &rec.summary.settlement_id;
        let store = &self.ctx.store;
        let first = store.proposals_for(id)?.into_iter().next();
        Ok(match first {
            Some(p) => match store.mapping(&p.mapping.name, p.mapping.version)? {
                Some(v) => Mapping::parse(&v.text)?,
                None => self.current_mapping_parsed()?,
            },
            None => {
                let name = self.mapping_of(rec);
                match store.latest_mapping(&name)? {
                    Some(v) => Mapping::parse(&v.text)?,
                    None => Mapping::default_mapping(),
                }
            }
        })
    }

    /// The review model: the raw file re-parsed, the stored journals per period,
    /// the batches and the event group link.
    pub(super) fn detail(
        &self,
        rec: &SettlementRecord,
        mapping: &Mapping,
        built: SettlementBatches,
    ) -> Result<SettlementDetail, WorkstationError> {
        let id = &rec.summary.settlement_id;
        let store = &self.ctx.store;
        let stored = store.proposals_for(id)?;
        let SettlementBatches {
            rows,
            mut proposal,
            calendar,
            timezone,
            ledger,
            gl,
        } = built;
        let index = crate::ledger::periods::PeriodIndex::new(calendar, timezone);
        // what is shown is what would be posted: the stored journals
        if !stored.is_empty() {
            let mut journals: Vec<Journal> = stored.iter().map(|p| p.lines.clone()).collect();
            journals.sort_by_key(|j| j.accounting_date);
            proposal.journals = journals;
        }
        let batches = store
            .batches_for(id)?
            .iter()
            .map(|b| self.batch_view(b))
            .collect::<Result<Vec<_>, _>>()?;
        let status_batches = store.batches_for(id)?;
        let summary = self.summary_view(rec, &status_batches);
        let event_group = match &rec.event_group_id {
            Some(g) => store.event_group(g)?.map(|e| EventGroupLink {
                group_id: e.group_id.clone(),
                // the client's model as stored (the raw SP-API shape as a fallback)
                total:
                    serde_json::from_value::<crate::amazon::models::finances::FinancialEventGroup>(
                        e.data.clone(),
                    )
                    .ok()
                    .and_then(|g| g.original_total.map(|m| m.amount))
                    .or_else(|| {
                        crate::sync::convert::event_group_totals(&e.data).map(|t| t.original_total)
                    })
                    .unwrap_or_default(),
            }),
            None => None,
        };
        // the ledger by name and currency as EBS holds it
        let mut target = self.target(&rec.marketplace_id);
        if let (Some(l), Some(r)) = (&ledger, self.ctx.config.routing_for(&rec.marketplace_id)) {
            target.ledger = format!("{} (ledger {}, {})", l.name, r.ledger_id, r.je_source);
            target.ledger_currency = Some(crate::ledger::money::Currency::new(&l.currency));
        }
        let foreign = target
            .ledger_currency
            .as_ref()
            .is_some_and(|c| c != &rec.summary.currency);
        let mut detail = SettlementDetail::new(
            summary,
            target,
            rows,
            proposal,
            batches,
            event_group,
            ExternalChecks::default(),
        );
        // the review lists the rows of the selected period, and follows a
        // journal line to its rows
        detail.assign_periods(&index, rec.summary.end);
        detail.set_group_rules(mapping, &rec.marketplace_id);
        if foreign && let batches::Gl::Batches(gl) = &gl {
            detail.accounted = accounted(&detail.proposal.journals, gl);
        }
        Ok(detail)
    }

    /// A batch's history from the audit trail: when EBS imported it, its journals, and
    /// when they were found missing.
    pub(super) fn history(
        &self,
        key: &view::BatchKey,
    ) -> Result<view::BatchHistoryView, WorkstationError> {
        let entries = self.ctx.store.audit_entries_for_batch(&store_key(key))?;
        let status = |e: &crate::store::AuditEntry| {
            e.details
                .get("status")
                .and_then(|v| v.as_str())
                .map(str::to_string)
        };
        let outcome = crate::store::AuditAction::Outcome;
        let imported = entries
            .iter()
            .rev()
            .find(|e| e.action == outcome && status(e).as_deref() == Some("imported"));
        let missing = entries
            .iter()
            .rev()
            .find(|e| e.action == outcome && status(e).as_deref() == Some("vanished"));
        let mut journal_ids: Vec<String> = imported
            .and_then(|e| e.details.get("journals"))
            .and_then(|j| j.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|j| j.get("je_header_id"))
                    .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        if journal_ids.is_empty()
            && let Some(rec) = self.ctx.store.batch(&store_key(key))?
        {
            journal_ids = rec.journal_ids.iter().map(|i| i.to_string()).collect();
        }
        let revisions = revisions(&entries);
        Ok(view::BatchHistoryView {
            key: key.clone(),
            imported_at: imported.map(|e| e.time),
            journal_ids,
            missing_since: missing.map(|e| e.time),
            revisions,
            entries: entries
                .iter()
                .map(|e| AuditEntryView {
                    settlement_id: e.settlement_id.clone(),
                    at: e.time,
                    actor: e.actor.clone(),
                    action: e.action.as_str().to_string(),
                    period: e.period.clone(),
                    detail: audit_detail(&e.details),
                    changes: Vec::new(),
                })
                .collect(),
        })
    }

    pub(super) fn audit(&self, id: Option<&str>) -> Result<Vec<AuditEntryView>, WorkstationError> {
        Ok(self
            .ctx
            .store
            .audit_entries(id)?
            .into_iter()
            .rev()
            .map(|e| AuditEntryView {
                changes: if e.action == crate::store::AuditAction::MappingChange {
                    self.mapping_rule_changes(&e.details)
                } else {
                    Vec::new()
                },
                settlement_id: e.settlement_id.clone(),
                at: e.time,
                actor: e.actor,
                action: e.action.as_str().to_string(),
                period: e.period,
                detail: audit_detail(&e.details),
            })
            .collect())
    }

    /// A `mapping_change` entry's rule differences from the version before it
    /// (empty when a version is missing or no longer parses).
    fn mapping_rule_changes(&self, d: &serde_json::Value) -> Vec<String> {
        let name = d
            .get("mapping")
            .and_then(|v| v.as_str())
            .unwrap_or_default();
        let version = |k: &str| d.get(k).and_then(|v| v.as_u64()).map(|v| v as u32);
        let parsed = |v: Option<u32>| {
            let v = v?;
            let text = self.ctx.store.mapping(name, v).ok()??.text;
            Mapping::parse(&text).ok()
        };
        let Some(after) = parsed(version("version")) else {
            return Vec::new();
        };
        let before = parsed(version("previous_version"));
        view::rule_changes(before.as_ref(), &after)
    }
}

/// The accounted (ledger currency) debit and credit of each journal line: the GL batch
/// of the journal's period has one line per journal line, in order (see `convert`).
pub(super) fn accounted(
    journals: &[Journal],
    gl: &[crate::ebs::gl::GlBatch],
) -> Vec<Vec<Option<(rust_decimal::Decimal, rust_decimal::Decimal)>>> {
    journals
        .iter()
        .map(|j| {
            let batch = gl.iter().find(|b| b.period_name == j.period);
            j.lines
                .iter()
                .enumerate()
                .map(|(i, l)| {
                    let g = batch?.lines.get(i).filter(|g| g.account == l.account)?;
                    Some((
                        g.accounted_dr.unwrap_or_default(),
                        g.accounted_cr.unwrap_or_default(),
                    ))
                })
                .collect()
        })
        .collect()
}

/// Each revision sent to EBS, from a batch's audit entries (oldest first): the staged
/// batch gives journal name, totals and currency; the imported outcome and the
/// reversal give the EBS journal ids.
pub(super) fn revisions(entries: &[crate::store::AuditEntry]) -> Vec<view::RevisionView> {
    use crate::store::{AuditAction, ReversalDetails, StagingDetails};
    let mut by: BTreeMap<u32, view::RevisionView> = BTreeMap::new();
    let blank = |revision| view::RevisionView {
        revision,
        what: "staged".into(),
        journal_ids: Vec::new(),
        journal_name: String::new(),
        debit: Default::default(),
        credit: Default::default(),
        currency: String::new(),
    };
    let fill = |r: &mut view::RevisionView, b: &crate::ebs::gl::GlBatch| {
        let (dr, cr) = b.entered_totals();
        r.journal_name = b.journal_name.clone();
        r.debit = dr;
        r.credit = cr;
        r.currency = b.currency.clone();
    };
    let ids = |v: &[i64]| v.iter().map(i64::to_string).collect::<Vec<_>>();
    for e in entries {
        match e.action {
            AuditAction::Staging => {
                if let Ok(d) = StagingDetails::of(e) {
                    let r = by.entry(d.revision).or_insert_with(|| blank(d.revision));
                    fill(r, &d.batch);
                }
            }
            AuditAction::Outcome => {
                let get = |k: &str| e.details.get(k);
                let rev = get("revision").and_then(|v| v.as_u64());
                if let (Some(rev), Some("imported")) = (rev, get("status").and_then(|v| v.as_str()))
                {
                    let r = by.entry(rev as u32).or_insert_with(|| blank(rev as u32));
                    if r.what == "staged" {
                        r.what = "imported".into();
                    }
                    let journals = get("journals").and_then(|j| j.as_array());
                    for j in journals.into_iter().flatten() {
                        if let Some(v) = j.get("je_header_id") {
                            r.journal_ids
                                .push(v.as_str().map_or_else(|| v.to_string(), str::to_string));
                        }
                        if r.journal_name.is_empty()
                            && let Some(n) = j.get("name").and_then(|n| n.as_str())
                        {
                            r.journal_name = n.to_string();
                        }
                    }
                }
            }
            AuditAction::Reversal => {
                if let Ok(d) = ReversalDetails::of(e) {
                    let rev = d.reversal_revision.unwrap_or(d.revision + 1);
                    let r = by.entry(rev).or_insert_with(|| blank(rev));
                    r.what = format!("reversal of r{}", d.revision);
                    if let Some(b) = &d.batch {
                        fill(r, b);
                    }
                    if !d.journal_ids.is_empty() {
                        r.journal_ids = ids(&d.journal_ids);
                    }
                }
            }
            _ => {}
        }
    }
    by.into_values().collect()
}

/// A one-line reading of an audit entry's details (the batch body left out).
pub(super) fn audit_detail(d: &serde_json::Value) -> String {
    match d {
        serde_json::Value::Object(m) => m
            .iter()
            .filter(|(k, _)| k.as_str() != "batch")
            .map(|(k, v)| match v {
                serde_json::Value::String(s) => format!("{k}={s}"),
                other => {
                    let t = other.to_string();
                    if t.chars().count() > 80 {
                        format!("{k}={}…", t.chars().take(80).collect::<String>())
                    } else {
                        format!("{k}={t}")
                    }
                }
            })
            .collect::<Vec<_>>()
            .join(" "),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}
