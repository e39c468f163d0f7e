//! A small in-memory world with realistic data for the TUI snapshots and workflows.
//!
//! Built from the bundled example settlements (`assets/examples/*.txt`) parsed
//! with the real parser and proposed with the real journal engine, so what the
//! screens show is what the ledger computes. It stands in for the sync layer's
//! *data*, not for its behaviour: tests send the messages sync would send.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use rust_decimal::Decimal;
use std::collections::BTreeSet;

use ml_connector::app::msg::Msg;
use ml_connector::app::view::{
    AccountCheck, AuditEntryView, BatchKey, BatchView, EventGroupLink, ExternalChecks,
    LineErrorView, MappingDraft, PostTarget, SettlementDetail, SettlementSummaryView,
    diff_proposals,
};
use ml_connector::cli::bench_tui::data::batches_of;
use ml_connector::ledger::journal::{Engine, Proposal};
use ml_connector::ledger::mapping::Mapping;
use ml_connector::ledger::model::SettlementRow;
use ml_connector::ledger::money::Currency;
use ml_connector::ledger::parse::parse_settlement;
use ml_connector::ledger::state::BatchState;

const US: &[u8] = include_bytes!("../../assets/examples/settlement-v2-us.txt");
const DE: &[u8] = include_bytes!("../../assets/examples/settlement-v2-de.txt");
const CA: &[u8] = include_bytes!("../../assets/examples/settlement-v1-ca.txt");

/// The instant the fixture world's clock shows.
pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 10, 12, 9, 30, 0).unwrap()
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn at(d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 10, d, h, min, 0).unwrap()
}

/// One settlement of the world with its rows and current proposal.
#[derive(Debug, Clone)]
pub struct FixtureSettlement {
    pub view: SettlementSummaryView,
    pub target: PostTarget,
    pub rows: Vec<SettlementRow>,
    pub marketplace: String,
    pub proposal: Proposal,
    pub batches: Vec<BatchView>,
    pub event_group: Option<EventGroupLink>,
    pub checks: ExternalChecks,
}

#[derive(Debug, Clone)]
pub struct FixtureWorld {
    pub mapping: Mapping,
    pub mapping_version: u32,
    /// Settlements with rows (reviewable).
    pub settlements: Vec<FixtureSettlement>,
    /// Older settlements known only by their summary (the list's history).
    pub history: Vec<SettlementSummaryView>,
    pub history_batches: Vec<BatchView>,
}

/// The default mapping with its `Storage Fee` rule split per marketplace
/// (Amazon.com, Amazon.de) and none yet for Amazon.ca: the Canadian settlement
/// then has an unmapped fee, as a real mapping often does.
pub fn world_mapping() -> Mapping {
    let mut draft = MappingDraft::from_mapping(&Mapping::default_mapping(), Some(3));
    if let Some(i) = draft
        .rules
        .iter()
        .position(|r| r.amount_description.as_deref() == Some("Storage Fee"))
    {
        let mut us = draft.rules[i].clone();
        draft.rules[i].marketplace = Some("Amazon.de".into());
        us.marketplace = Some("Amazon.com".into());
        draft.rules.insert(i + 1, us);
    }
    draft
        .to_mapping()
        .expect("the scoped default mapping is valid")
}

fn propose(
    m: &Mapping,
    rows: &[SettlementRow],
    view: &SettlementSummaryView,
    mp: &str,
) -> Proposal {
    let summary = summary_of(view);
    let cal = Engine::preview_calendar(&summary, chrono_tz::UTC);
    let engine = Engine::new(m, cal, chrono_tz::UTC, &summary, Some(mp));
    engine
        .propose(rows.iter().map(SettlementRow::as_row_ref))
        .expect("fixture rows lie in the calendar")
}

/// The settlement summary the fixture proposes with (start and end at 08:00 UTC).
fn summary_of(view: &SettlementSummaryView) -> ml_connector::ledger::model::SettlementSummary {
    ml_connector::ledger::model::SettlementSummary {
        settlement_id: view.settlement_id.clone(),
        format: ml_connector::ledger::model::SettlementFormat::V2,
        start: Utc.from_utc_datetime(&view.start.and_hms_opt(8, 0, 0).unwrap()),
        end: Utc.from_utc_datetime(&view.end.and_hms_opt(8, 0, 0).unwrap()),
        deposit_date: None,
        total_amount: view.total,
        currency: view.currency.clone(),
    }
}

struct Spec {
    bytes: &'static [u8],
    seller: &'static str,
    marketplace: &'static str,
    ledger: &'static str,
    ou: &'static str,
}

impl FixtureWorld {
    pub fn new() -> FixtureWorld {
        let mapping = world_mapping();
        let specs = [
            Spec {
                bytes: US,
                seller: "Acme Kitchen US",
                marketplace: "Amazon.com",
                ledger: "US Primary Ledger",
                ou: "Vision Operations (204)",
            },
            Spec {
                bytes: DE,
                seller: "Acme Kitchen EU",
                marketplace: "Amazon.de",
                ledger: "EU Ledger EUR",
                ou: "Vision Germany (458)",
            },
            Spec {
                bytes: CA,
                seller: "Acme Kitchen US",
                marketplace: "Amazon.ca",
                ledger: "CA Ledger CAD",
                ou: "Vision Canada (600)",
            },
        ];
        let mut settlements = Vec::new();
        for spec in specs {
            let parsed = parse_settlement(spec.bytes, None).expect("bundled example parses");
            let s = &parsed.summary;
            let (carried, reserve) = SettlementSummaryView::balances(parsed.rows.iter().map(|r| {
                (
                    r.transaction_type.as_str(),
                    r.amount_description.as_str(),
                    r.amount,
                )
            }));
            let view = SettlementSummaryView {
                settlement_id: s.settlement_id.clone(),
                seller: spec.seller.into(),
                marketplace: spec.marketplace.into(),
                start: s.start.date_naive(),
                end: s.end.date_naive(),
                deposit_date: s.deposit_date.map(|d| d.date_naive()),
                total: s.total_amount,
                currency: s.currency.clone(),
                status: BatchState::Proposed,
                gap_before: false,
                batches: 0,
                rows: parsed.rows.len() as u64,
                carried,
                reserve,
            };
            let target = PostTarget {
                ledger: spec.ledger.into(),
                operating_unit: spec.ou.into(),
                ledger_currency: None,
            };
            let proposal = propose(&mapping, &parsed.rows, &view, spec.marketplace);
            let batches = batches_of(&proposal, &target);
            settlements.push(FixtureSettlement {
                view,
                target,
                rows: parsed.rows,
                marketplace: spec.marketplace.into(),
                proposal,
                batches,
                event_group: None,
                checks: ExternalChecks::default(),
            });
        }
        // US: ready to approve; event group linked, EBS checks done
        {
            let us = &mut settlements[0];
            us.event_group = Some(EventGroupLink {
                group_id: "FEG-US-0921".into(),
                total: us.view.total,
            });
            us.checks = ExternalChecks {
                invalid_accounts: Some(vec![]),
                period_problems: Some(vec![]),
            };
        }
        // DE: September imported and posted, October rejected by Journal Import
        {
            let de = &mut settlements[1];
            de.event_group = Some(EventGroupLink {
                group_id: "FEG-DE-0924".into(),
                total: de.view.total,
            });
            de.checks = ExternalChecks {
                invalid_accounts: Some(vec!["01-000-6160-0000-000".into()]),
                period_problems: Some(vec![]),
            };
            let sid = de.view.settlement_id.clone();
            if let Some(b) = de.batches.get_mut(0) {
                b.state = BatchState::Posted;
                b.group_id = Some("880041".into());
                b.request_id = Some("7712904".into());
                b.phase = Some("Completed".into());
                b.status = Some("Normal".into());
                b.approved_by = Some("m.schmidt".into());
                b.updated_at = Some(at(11, 7, 12));
            }
            if let Some(b) = de.batches.get_mut(1) {
                b.state = BatchState::Rejected;
                b.group_id = Some("880042".into());
                b.request_id = Some("7712911".into());
                b.phase = Some("Completed".into());
                b.status = Some("Error".into());
                b.approved_by = Some("m.schmidt".into());
                b.reason = Some("Journal Import rejected 2 line(s)".into());
                b.updated_at = Some(at(11, 7, 20));
                b.line_errors = vec![
                    LineErrorView {
                        line_key: format!("{sid}-2025-10-r1-L07"),
                        account: "01-000-6160-0000-000".into(),
                        ebs_code: "EF04".into(),
                        message: "invalid account: segment values fail cross-validation".into(),
                        amazon_ids: vec![sid.clone(), "305-1182734-9912201".into()],
                    },
                    LineErrorView {
                        line_key: format!("{sid}-2025-10-r1-L09"),
                        account: "01-000-6160-0000-000".into(),
                        ebs_code: "EF03".into(),
                        message: "account disabled".into(),
                        amazon_ids: vec![sid.clone()],
                    },
                ];
            }
        }
        let mut history = Vec::new();
        let mut history_batches = Vec::new();
        let hist = [
            (
                "19870040021",
                "Acme Kitchen US",
                "Amazon.com",
                (9, 10),
                (9, 24),
                "9120.77",
                "USD",
                BatchState::Posted,
            ),
            (
                "19870039921",
                "Acme Kitchen US",
                "Amazon.com",
                (8, 27),
                (9, 10),
                "8874.10",
                "USD",
                BatchState::Posted,
            ),
            // a hole: nothing pulled for 2025-08-13 .. 2025-08-27
            (
                "19870039721",
                "Acme Kitchen US",
                "Amazon.com",
                (7, 30),
                (8, 13),
                "7702.35",
                "USD",
                BatchState::Archived,
            ),
            (
                "30481150821",
                "Acme Kitchen EU",
                "Amazon.de",
                (9, 10),
                (9, 24),
                "-212.40",
                "EUR",
                BatchState::Imported,
            ),
            (
                "30481150721",
                "Acme Kitchen EU",
                "Amazon.de",
                (8, 27),
                (9, 10),
                "212.40",
                "EUR",
                BatchState::Posted,
            ),
            (
                "24713379921",
                "Acme Kitchen US",
                "Amazon.ca",
                (9, 11),
                (9, 25),
                "1180.05",
                "CAD",
                BatchState::Submitted,
            ),
        ];
        for (id, seller, mp, (sm, sd), (em, ed), total, cur, state) in hist {
            let currency = Currency::new(cur);
            let v = SettlementSummaryView {
                settlement_id: id.into(),
                seller: seller.into(),
                marketplace: mp.into(),
                start: day(2025, sm, sd),
                end: day(2025, em, ed),
                deposit_date: Some(day(2025, em, ed + 2)),
                total: total.parse().unwrap(),
                currency: currency.clone(),
                status: state,
                gap_before: false,
                batches: 1,
                rows: 0,
                carried: rust_decimal::Decimal::ZERO,
                reserve: rust_decimal::Decimal::ZERO,
            };
            let target = settlements
                .iter()
                .find(|s| s.marketplace == mp)
                .map(|s| s.target.clone())
                .unwrap_or_default();
            let period = format!("2025-{em:02}");
            let submitted = state != BatchState::Archived;
            history_batches.push(BatchView {
                key: BatchKey::new(id, period),
                state,
                revision: 1,
                ledger: target.ledger,
                operating_unit: target.operating_unit,
                currency,
                group_id: submitted.then(|| format!("8{}", &id[id.len() - 5..])),
                request_id: submitted.then(|| format!("76{}", &id[id.len() - 5..])),
                phase: submitted.then(|| {
                    if state == BatchState::Submitted {
                        "Running"
                    } else {
                        "Completed"
                    }
                    .into()
                }),
                status: submitted.then(|| "Normal".into()),
                line_count: 14,
                total_debit: v.total.abs() + Decimal::new(152_310, 2),
                total_credit: v.total.abs() + Decimal::new(152_310, 2),
                proposal_hash: None,
                approved_by: submitted.then(|| "j.doe".into()),
                reason: (state == BatchState::Archived)
                    .then(|| "before the cutover date 2025-08-15".into()),
                line_errors: vec![],
                updated_at: Some(at(1, 6, 0)),
            });
            history.push(v);
        }
        let mut world = FixtureWorld {
            mapping,
            mapping_version: 3,
            settlements,
            history,
            history_batches,
        };
        world.refresh_views();
        world
    }

    fn refresh_views(&mut self) {
        for s in &mut self.settlements {
            s.view.status = BatchState::worst(s.batches.iter().map(|b| b.state))
                .unwrap_or(BatchState::Proposed);
            s.view.batches = s.batches.len() as u32;
        }
    }

    /// Every settlement, newest first, with gaps marked.
    pub fn summaries(&self) -> Vec<SettlementSummaryView> {
        let mut list: Vec<SettlementSummaryView> = self
            .settlements
            .iter()
            .map(|s| s.view.clone())
            .chain(self.history.iter().cloned())
            .collect();
        list.sort_by(|a, b| {
            b.end
                .cmp(&a.end)
                .then(a.settlement_id.cmp(&b.settlement_id))
        });
        SettlementSummaryView::mark_gaps(&mut list);
        list
    }

    pub fn all_batches(&self) -> Vec<BatchView> {
        self.settlements
            .iter()
            .flat_map(|s| s.batches.iter().cloned())
            .chain(self.history_batches.iter().cloned())
            .collect()
    }

    pub fn settlement(&self, id: &str) -> Option<&FixtureSettlement> {
        self.settlements.iter().find(|s| s.view.settlement_id == id)
    }

    pub fn detail(&self, id: &str) -> Option<SettlementDetail> {
        let s = self.settlement(id)?;
        let mut d = SettlementDetail::new(
            s.view.clone(),
            s.target.clone(),
            s.rows.clone(),
            s.proposal.clone(),
            s.batches.clone(),
            s.event_group.clone(),
            s.checks.clone(),
        );
        let summary = summary_of(&s.view);
        let cal = Engine::preview_calendar(&summary, chrono_tz::UTC);
        let index = ml_connector::ledger::periods::PeriodIndex::new(cal, chrono_tz::UTC);
        d.assign_periods(&index, summary.end);
        d.set_group_rules(&self.mapping, &s.marketplace);
        Some(d)
    }

    pub fn batch(&self, key: &BatchKey) -> Option<BatchView> {
        self.all_batches().into_iter().find(|b| &b.key == key)
    }

    pub fn mapping_draft(&self) -> MappingDraft {
        let mut d = MappingDraft::from_mapping(&self.mapping, Some(self.mapping_version));
        d.name = "mapping.toml".into();
        d.ledgers = vec![2021, 2022];
        d
    }

    /// The messages sync sends at start-up.
    pub fn initial_messages(&self) -> Vec<Msg> {
        vec![
            Msg::Tick(now()),
            Msg::SettlementsLoaded(self.summaries()),
            Msg::BatchesLoaded(self.all_batches()),
            Msg::MappingLoaded(self.mapping_draft()),
            Msg::SyncFinished {
                at: at(12, 9, 28),
                ok: true,
                summary: "sync done: 3 settlements, 0 new".into(),
            },
        ]
    }

    /// What sync answers to `PreviewMapping`: the real re-proposal of every
    /// reviewable settlement under the draft.
    pub fn preview(&self, draft: &MappingDraft) -> Msg {
        match draft.to_mapping() {
            Ok(m) => {
                let mut changes = Vec::new();
                let mut newly_mapped = Vec::new();
                let mut newly_unmapped = Vec::new();
                for s in &self.settlements {
                    let after = propose(&m, &s.rows, &s.view, &s.marketplace);
                    changes.extend(diff_proposals(&s.proposal, &after));
                    match (s.proposal.unmapped.is_empty(), after.unmapped.is_empty()) {
                        (false, true) => newly_mapped.push(s.view.settlement_id.clone()),
                        (true, false) => newly_unmapped.push(s.view.settlement_id.clone()),
                        _ => {}
                    }
                }
                Msg::ProposalDiff {
                    mapping_hash: m.content_hash().to_string(),
                    changes,
                    newly_mapped,
                    newly_unmapped,
                }
            }
            Err(e) => Msg::Error(format!("mapping draft: {e}")),
        }
    }

    /// Stores a draft as the next version and re-proposes every batch not yet
    /// staged (and every rejected one), as sync does; returns the messages sync sends.
    pub fn save_mapping(&mut self, draft: &MappingDraft) -> Vec<Msg> {
        let Ok(m) = draft.to_mapping() else {
            return vec![Msg::Error("mapping draft does not parse".into())];
        };
        self.mapping = m;
        self.mapping_version += 1;
        let mut out = vec![Msg::MappingSaved {
            version: self.mapping_version,
        }];
        for i in 0..self.settlements.len() {
            let s = &self.settlements[i];
            let proposal = propose(&self.mapping, &s.rows, &s.view, &s.marketplace);
            let fresh = batches_of(&proposal, &s.target);
            let s = &mut self.settlements[i];
            s.proposal = proposal;
            for b in &mut s.batches {
                let redo = matches!(
                    b.state,
                    BatchState::Proposed
                        | BatchState::NeedsMapping
                        | BatchState::Inconsistent
                        | BatchState::Approved
                        | BatchState::Rejected
                );
                if let Some(f) = fresh.iter().find(|f| f.key == b.key)
                    && redo
                {
                    let revision = if b.state == BatchState::Rejected {
                        b.revision + 1
                    } else {
                        b.revision
                    };
                    let errors = std::mem::take(&mut b.line_errors);
                    *b = BatchView {
                        revision,
                        ..f.clone()
                    };
                    // keep the history of what EBS said until the next post
                    if revision > 1 && !errors.is_empty() {
                        b.reason = Some(format!(
                            "re-proposed after EBS rejected revision {} ({} error(s))",
                            revision - 1,
                            errors.len()
                        ));
                    }
                    out.push(Msg::BatchUpdated(b.clone()));
                }
            }
            if s.checks.invalid_accounts.is_some() {
                let used: BTreeSet<&str> = s
                    .proposal
                    .journals
                    .iter()
                    .flat_map(|j| j.lines.iter().map(|l| l.account.as_str()))
                    .collect();
                let bad: Vec<String> = s
                    .checks
                    .invalid_accounts
                    .iter()
                    .flatten()
                    .filter(|a| used.contains(a.as_str()))
                    .cloned()
                    .collect();
                s.checks.invalid_accounts = Some(bad);
            }
        }
        self.refresh_views();
        out.push(Msg::SettlementsLoaded(self.summaries()));
        out
    }

    /// The audit trail sync would load for a settlement.
    pub fn audit(&self, id: Option<&str>) -> Vec<AuditEntryView> {
        let mut out = Vec::new();
        for s in &self.settlements {
            let sid = s.view.settlement_id.as_str();
            if id.is_some_and(|x| x != sid) {
                continue;
            }
            out.push(AuditEntryView {
                changes: Vec::new(),
                settlement_id: Some(sid.into()),
                at: at(11, 6, 0),
                actor: "sync".into(),
                action: "pulled".into(),
                period: None,
                detail: format!(
                    "{} rows, total {} {}",
                    s.rows.len(),
                    s.view.total,
                    s.view.currency.code()
                ),
            });
            for b in &s.batches {
                out.push(AuditEntryView {
                    changes: Vec::new(),
                    settlement_id: Some(sid.into()),
                    at: at(11, 6, 1),
                    actor: "sync".into(),
                    action: "proposed".into(),
                    period: Some(b.key.period.clone()),
                    detail: format!(
                        "mapping v{}, {} lines, hash {}",
                        self.mapping_version,
                        b.line_count,
                        b.proposal_hash.as_deref().unwrap_or("-")
                    ),
                });
                if let Some(who) = &b.approved_by {
                    out.push(AuditEntryView {
                        changes: Vec::new(),
                        settlement_id: Some(sid.into()),
                        at: at(11, 7, 2),
                        actor: who.clone(),
                        action: "approved".into(),
                        period: Some(b.key.period.clone()),
                        detail: format!("revision {}", b.revision),
                    });
                }
                if let Some(g) = &b.group_id {
                    out.push(AuditEntryView {
                        changes: Vec::new(),
                        settlement_id: Some(sid.into()),
                        at: at(11, 7, 5),
                        actor: "sync".into(),
                        action: "staged".into(),
                        period: Some(b.key.period.clone()),
                        detail: format!("GROUP_ID {g}, {} lines", b.line_count),
                    });
                }
                if let Some(r) = &b.request_id {
                    out.push(AuditEntryView {
                        changes: Vec::new(),
                        settlement_id: Some(sid.into()),
                        at: at(11, 7, 6),
                        actor: "sync".into(),
                        action: "submitted".into(),
                        period: Some(b.key.period.clone()),
                        detail: format!("Journal Import request {r}"),
                    });
                }
                if matches!(
                    b.state,
                    BatchState::Rejected | BatchState::Posted | BatchState::Imported
                ) {
                    out.push(AuditEntryView {
                        changes: Vec::new(),
                        settlement_id: Some(sid.into()),
                        at: b.updated_at.unwrap_or(at(11, 7, 30)),
                        actor: "ebs".into(),
                        action: b.state.as_str().into(),
                        period: Some(b.key.period.clone()),
                        detail: b
                            .line_errors
                            .iter()
                            .map(|e| format!("{} {}", e.ebs_code, e.account))
                            .collect::<Vec<_>>()
                            .join(", "),
                    });
                }
            }
        }
        out.sort_by_key(|e| e.at);
        out
    }
}

impl Default for FixtureWorld {
    fn default() -> Self {
        FixtureWorld::new()
    }
}

/// What the EBS simulator's chart says about an account (the accounts listed
/// in `assets/mapping.toml`; 6160 is disabled in this world).
pub fn account_check(account: &str) -> AccountCheck {
    const CHART: &[(&str, &str)] = &[
        ("1190", "Amazon clearing"),
        ("1195", "Amazon reserve held"),
        ("2190", "Amazon card charges"),
        ("2310", "Sales tax payable"),
        ("2315", "Marketplace facilitator tax"),
        ("4010", "Product sales"),
        ("4020", "Shipping income"),
        ("4030", "Gift wrap income"),
        ("4050", "Promotions"),
        ("4060", "Refunds"),
        ("4070", "Chargebacks and A-to-z claims"),
        ("4080", "FBA inventory reimbursements"),
        ("6110", "Amazon selling fees"),
        ("6120", "FBA fulfilment fees"),
        ("6130", "FBA storage fees"),
        ("6140", "Subscription fees"),
        ("6150", "Advertising"),
        ("9990", "Suspense"),
        ("9991", "Settlement difference"),
    ];
    let natural = account.split('-').nth(2).unwrap_or("");
    if natural == "6160" {
        return AccountCheck::Invalid {
            reason: "EF03 account disabled".into(),
        };
    }
    match CHART.iter().find(|(n, _)| *n == natural) {
        Some((_, d)) if account.starts_with("01-000-") && account.ends_with("-0000-000") => {
            AccountCheck::Valid {
                description: (*d).to_string(),
            }
        }
        _ => AccountCheck::Invalid {
            reason: "EF04 no such code combination".into(),
        },
    }
}

/// A settlement posted into a ledger of another currency (issue 16): the EUR settlement
/// into a USD ledger as EBS names it, with every line's accounted amounts at 1.0850.
#[allow(dead_code)]
pub fn foreign_currency(mut d: SettlementDetail) -> SettlementDetail {
    let rate = Decimal::new(10850, 4);
    d.target.ledger = "US Primary Ledger (ledger 1, Amazon)".into();
    d.target.ledger_currency = Some(Currency::new("USD"));
    d.accounted = d
        .proposal
        .journals
        .iter()
        .map(|j| {
            j.lines
                .iter()
                .map(|l| Some(((l.debit * rate).round_dp(2), (l.credit * rate).round_dp(2))))
                .collect()
        })
        .collect();
    d
}
