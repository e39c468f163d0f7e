//! Confirmations of approve, unapprove, post, reverse and archive, and what a
//! confirmed action asks of the sync layer.

use rust_decimal::Decimal;
use std::collections::{BTreeMap, BTreeSet};

use super::mapping::preview;
use super::{refresh_approve_dialog, set_message};
use crate::app::effect::{Approval, Effect};
use crate::app::state::{AppState, Confirm, ConfirmAction, Dialog, MessageLevel, Screen};
use crate::app::view::{BatchKey, BatchView, ReversalPlanView};
use crate::ledger::money::format_amount;
use crate::ledger::periods::period_order_key;
use crate::ledger::state::BatchState;
use crate::sync::posting::order_settled;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Intent {
    Approve,
    Unapprove,
    Post,
}

/// The batches an approve / post applies to: the picked ones, else the current one, in
/// settlement then calendar order.
fn target_batches(s: &AppState) -> Vec<BatchView> {
    let mut out: Vec<BatchView> = match s.screen {
        Screen::Review => {
            let Some(d) = &s.detail else { return vec![] };
            let periods: Vec<String> = if s.review.selected.is_empty() {
                d.proposal
                    .journals
                    .get(s.review.period)
                    .map(|j| vec![j.period.clone()])
                    .unwrap_or_default()
            } else {
                s.review.selected.iter().cloned().collect()
            };
            periods.iter().filter_map(|p| d.batch(p).cloned()).collect()
        }
        Screen::Batches => {
            if s.batches.selected.is_empty() {
                s.selected_batch().cloned().into_iter().collect()
            } else {
                s.batches
                    .all
                    .iter()
                    .filter(|b| s.batches.selected.contains(&b.key))
                    .cloned()
                    .collect()
            }
        }
        Screen::Settlements => {
            // the marked settlements (space), else the one under the cursor: all their batches
            let ids: BTreeSet<String> = if s.marked.is_empty() {
                s.selected_settlement()
                    .map(|x| x.settlement_id.clone())
                    .into_iter()
                    .collect()
            } else {
                s.marked.clone()
            };
            s.batches
                .all
                .iter()
                .filter(|b| ids.contains(&b.key.settlement_id))
                .cloned()
                .collect()
        }
        _ => vec![],
    };
    out.sort_by_key(|b| order_key(s, &b.key));
    out
}

/// Where a batch sorts: its settlement's chain and start, the settlement, the period.
type OrderKey = (
    Option<(String, String, chrono::NaiveDate)>,
    String,
    (bool, i32, u32, String),
);

/// Settlement order (seller, marketplace, start), then the calendar order of the period.
fn order_key(s: &AppState, k: &BatchKey) -> OrderKey {
    let place = s
        .settlements
        .iter()
        .find(|x| x.settlement_id == k.settlement_id)
        .map(|x| (x.seller.clone(), x.marketplace.clone(), x.start));
    (place, k.settlement_id.clone(), period_order_key(&k.period))
}

/// Periods in calendar order, without repeats.
fn periods_in_order<'a>(periods: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let mut v: Vec<&str> = periods.into_iter().collect();
    v.sort_by_key(|p| period_order_key(p));
    v.dedup();
    v
}

/// Settlements of `batches` whose previous settlement (same seller and marketplace) is not
/// in EBS yet and not posted in the same confirmation: "settlement (waits for previous: why)".
fn waiting_for_previous(s: &AppState, batches: &[BatchView]) -> Vec<(String, String)> {
    let posting: BTreeSet<&str> = batches
        .iter()
        .map(|b| b.key.settlement_id.as_str())
        .collect();
    let mut out = Vec::new();
    for id in &posting {
        let Some(me) = s.settlements.iter().find(|x| x.settlement_id == *id) else {
            continue;
        };
        let prev = s
            .settlements
            .iter()
            .filter(|x| {
                x.seller == me.seller && x.marketplace == me.marketplace && x.start < me.start
            })
            .max_by_key(|x| (x.start, x.settlement_id.clone()));
        let Some(prev) = prev else { continue };
        if posting.contains(prev.settlement_id.as_str()) {
            continue;
        }
        let states: Vec<&BatchView> = s
            .batches
            .all
            .iter()
            .filter(|b| b.key.settlement_id == prev.settlement_id)
            .collect();
        let open: Vec<String> = states
            .iter()
            .filter(|b| !order_settled(b.state))
            .map(|b| format!("{} {}", b.key.period, b.state))
            .collect();
        let why = if states.is_empty() {
            if order_settled(prev.status) {
                continue;
            }
            format!("{} {}", prev.settlement_id, prev.status)
        } else if open.is_empty() {
            continue;
        } else {
            format!("{} {}", prev.settlement_id, open.join(", "))
        };
        out.push((id.to_string(), why));
    }
    out
}

fn why_not(b: &BatchView, intent: Intent) -> String {
    let hint = match (intent, b.state) {
        (_, BatchState::NeedsMapping) => "map its unmapped rows first (4: mapping)",
        (_, BatchState::NeedsRate) => {
            "its conversion rate is missing: load it in EBS (GL_DAILY_RATES); the next sync converts it"
        }
        (_, BatchState::Inconsistent) => "its rows do not sum to the total",
        (Intent::Post, BatchState::Proposed) => "approve it first",
        (Intent::Approve, BatchState::Approved) => "already approved",
        (_, s) if s.in_flight() => "it is in EBS's hands",
        _ => "not in a state that allows it",
    };
    format!("{} is {}: {hint}", b.key, b.state)
}

fn money_by_currency(batches: &[BatchView], f: impl Fn(&BatchView) -> Decimal) -> String {
    let mut m: BTreeMap<&str, (Decimal, u32)> = BTreeMap::new();
    for b in batches {
        let e = m
            .entry(b.currency.code())
            .or_insert((Decimal::ZERO, b.currency.scale()));
        e.0 += f(b);
    }
    m.iter()
        .map(|(c, (a, scale))| format!("{} {c}", format_amount(*a, *scale)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn unique(batches: &[BatchView], f: impl Fn(&BatchView) -> &str) -> String {
    let set: BTreeSet<&str> = batches.iter().map(f).collect();
    set.into_iter().collect::<Vec<_>>().join(", ")
}

pub(super) fn propose_confirm(s: &mut AppState, intent: Intent) {
    let all = target_batches(s);
    if all.is_empty() {
        set_message(s, MessageLevel::Info, "no journal batch here".into());
        return;
    }
    // re-posting a vanished journal starts with approving it as the next revision
    if intent == Intent::Post && all.iter().all(|b| b.state == BatchState::Vanished) {
        propose_confirm(s, Intent::Approve);
        if let Some(Dialog::Confirm(c)) = &mut s.dialog {
            c.title = format!("Re-post {} vanished journal(s): approve first?", all.len());
            let revs = all
                .iter()
                .map(|b| format!("{} rev {}", b.key.period, b.revision + 1))
                .collect::<Vec<_>>()
                .join(", ");
            c.facts.push((
                "Then".into(),
                format!("p posts it to EBS as a new revision ({revs})"),
            ));
        }
        return;
    }
    let ok = |b: &BatchView| match intent {
        Intent::Approve => b.state.can_move_to(BatchState::Approved),
        Intent::Unapprove | Intent::Post => b.state == BatchState::Approved,
    };
    let (eligible, refused): (Vec<BatchView>, Vec<BatchView>) = all.into_iter().partition(ok);
    if eligible.is_empty() {
        let why = refused
            .iter()
            .map(|b| why_not(b, intent))
            .collect::<Vec<_>>()
            .join("; ");
        set_message(s, MessageLevel::Error, why);
        return;
    }
    let keys: Vec<BatchKey> = eligible.iter().map(|b| b.key.clone()).collect();
    let mut facts: Vec<(String, String)> = vec![
        (
            "Settlement".into(),
            unique(&eligible, |b| b.key.settlement_id.as_str()),
        ),
        ("Ledger".into(), unique(&eligible, |b| b.ledger.as_str())),
        (
            "Operating unit".into(),
            unique(&eligible, |b| b.operating_unit.as_str()),
        ),
        (
            "Periods".into(),
            periods_in_order(eligible.iter().map(|b| b.key.period.as_str())).join(", "),
        ),
        (
            "Journals".into(),
            format!(
                "{} ({} line(s))",
                eligible.len(),
                eligible.iter().map(|b| b.line_count as u64).sum::<u64>()
            ),
        ),
        (
            "Debit".into(),
            money_by_currency(&eligible, |b| b.total_debit),
        ),
        (
            "Credit".into(),
            money_by_currency(&eligible, |b| b.total_credit),
        ),
    ];
    let n = eligible.len();
    let mut waiting = Vec::new();
    let (title, action, irreversible) = match intent {
        Intent::Approve => {
            facts.push(("Approved by".into(), s.actor.clone()));
            let approvals = eligible
                .iter()
                .map(|b| Approval {
                    key: b.key.clone(),
                    proposal_hash: b.proposal_hash.clone(),
                })
                .collect();
            (
                format!("Approve {n} journal(s)?"),
                ConfirmAction::Approve(approvals),
                false,
            )
        }
        Intent::Unapprove => (
            format!("Withdraw the approval of {n} journal(s)?"),
            ConfirmAction::Unapprove(keys),
            false,
        ),
        Intent::Post => {
            let revs = eligible
                .iter()
                .map(|b| format!("{} rev {}", b.key.period, b.revision))
                .collect::<Vec<_>>()
                .join(", ");
            facts.push(("Revision".into(), revs));
            let waits = waiting_for_previous(s, &eligible);
            if !waits.is_empty() {
                facts.push((
                    "Order".into(),
                    waits
                        .iter()
                        .map(|(id, why)| format!("{id} waits for previous settlement {why}"))
                        .collect::<Vec<_>>()
                        .join("; "),
                ));
                facts.push((
                    "Override".into(),
                    "o: post out of settlement order anyway (audited)".into(),
                ));
            }
            waiting = waits.into_iter().map(|(id, _)| id).collect();
            (
                format!("Post {n} journal(s) to EBS?"),
                ConfirmAction::Post(keys),
                true,
            )
        }
    };
    if !refused.is_empty() {
        facts.push((
            "Skipped".into(),
            refused
                .iter()
                .map(|b| format!("{} ({})", b.key.period, b.state))
                .collect::<Vec<_>>()
                .join(", "),
        ));
    }
    s.dialog = Some(Dialog::Confirm(Confirm {
        title,
        action,
        facts,
        irreversible,
        blocked: None,
        waiting,
        override_order: false,
    }));
    refresh_approve_dialog(s);
}

/// The one batch under the cursor (review: the current period; import status: the selected).
fn current_batch(s: &AppState) -> Option<BatchView> {
    match s.screen {
        Screen::Review => {
            let d = s.detail.as_ref()?;
            let j = d.proposal.journals.get(s.review.period)?;
            d.batch(&j.period).cloned()
        }
        Screen::Batches => s.selected_batch().cloned(),
        _ => None,
    }
}

/// `R`: asks what reversing the current batch would send; the answer opens the confirmation.
pub(super) fn ask_reversal(s: &mut AppState, fx: &mut Vec<Effect>) {
    let Some(b) = current_batch(s) else {
        set_message(s, MessageLevel::Info, "no journal batch here".into());
        return;
    };
    if !matches!(b.state, BatchState::Imported | BatchState::Posted) {
        set_message(
            s,
            MessageLevel::Error,
            format!(
                "{} is {}: only an imported or posted batch is reversed (earlier ones are corrected by approving again)",
                b.key, b.state
            ),
        );
        return;
    }
    set_message(
        s,
        MessageLevel::Info,
        format!("asking EBS for the open periods to reverse {}…", b.key),
    );
    s.reversal_pending = Some(b.key.clone());
    fx.push(Effect::PlanReversal {
        key: b.key,
        into: None,
    });
}

pub(super) fn reversal_confirm(s: &mut AppState, p: ReversalPlanView) {
    let scale = p.currency.scale();
    let code = p.currency.code().to_string();
    let ledger = s
        .batches
        .all
        .iter()
        .find(|b| b.key == p.key)
        .map(|b| format!("{} · {}", b.ledger, b.operating_unit));
    let mut facts = vec![(
        "Batch".to_string(),
        format!("{} ({}, revision {})", p.key, p.state, p.original_revision),
    )];
    if let Some(l) = ledger {
        facts.push(("Ledger".into(), l));
    }
    facts.extend([
        (
            "Reverses".into(),
            if p.original_journal_ids.is_empty() {
                "the journal of this revision".to_string()
            } else {
                format!("EBS journal(s) {}", p.original_journal_ids.join(", "))
            },
        ),
        ("Journal".into(), p.journal_name.clone()),
        (
            "Dated".into(),
            format!("{} in period {}", p.accounting_date, p.period),
        ),
        (
            "Lines".into(),
            format!("{} (every line mirrored, debit ↔ credit)", p.line_count),
        ),
        (
            "Debit".into(),
            format!("{} {code}", format_amount(p.total_debit, scale)),
        ),
        (
            "Credit".into(),
            format!("{} {code}", format_amount(p.total_credit, scale)),
        ),
        (
            "Revision".into(),
            format!(
                "reversal r{}; the corrected proposal posts as r{}",
                p.reversal_revision, p.next_revision
            ),
        ),
        ("Reversed by".into(), s.actor.clone()),
    ]);
    s.dialog = Some(Dialog::Confirm(Confirm {
        title: format!("Reverse {} in EBS?", p.key),
        action: ConfirmAction::Reverse {
            key: p.key.clone(),
            into: Some(p.period.clone()),
        },
        facts,
        irreversible: true,
        blocked: None,
        waiting: Vec::new(),
        override_order: false,
    }));
}

/// `A`: archive a vanished batch (after confirmation) instead of re-posting it.
pub(super) fn archive_confirm(s: &mut AppState) {
    let Some(b) = current_batch(s) else {
        set_message(s, MessageLevel::Info, "no journal batch here".into());
        return;
    };
    if b.state != BatchState::Vanished {
        set_message(
            s,
            MessageLevel::Error,
            format!(
                "{} is {}: only a vanished batch is archived here",
                b.key, b.state
            ),
        );
        return;
    }
    let mut facts = vec![(
        "Batch".to_string(),
        format!("{} (vanished, revision {})", b.key, b.revision),
    )];
    if let Some(h) = s.histories.get(&b.key) {
        if !h.journal_ids.is_empty() {
            facts.push((
                "Journals".into(),
                format!(
                    "EBS journal(s) {} (deleted in EBS)",
                    h.journal_ids.join(", ")
                ),
            ));
        }
        if let Some(at) = h.imported_at {
            facts.push((
                "Imported".into(),
                at.format("%Y-%m-%d %H:%M UTC").to_string(),
            ));
        }
        if let Some(at) = h.missing_since {
            facts.push((
                "Seen missing".into(),
                at.format("%Y-%m-%d %H:%M UTC").to_string(),
            ));
        }
    }
    facts.extend([
        (
            "Debit".into(),
            format!(
                "{} {}",
                format_amount(b.total_debit, b.currency.scale()),
                b.currency.code()
            ),
        ),
        (
            "Effect".into(),
            "archived, audited; nothing is sent to EBS and it is not re-posted".into(),
        ),
        ("Instead".into(), "p re-posts it as a new revision".into()),
        ("Archived by".into(), s.actor.clone()),
    ]);
    s.dialog = Some(Dialog::Confirm(Confirm {
        title: format!("Archive vanished {}?", b.key),
        action: ConfirmAction::Archive(b.key.clone()),
        facts,
        irreversible: true,
        blocked: None,
        waiting: Vec::new(),
        override_order: false,
    }));
}

/// `o` in a post confirmation: post out of settlement order (or take it back).
pub(super) fn toggle_override(c: &mut Confirm) {
    if !matches!(c.action, ConfirmAction::Post(_)) || c.waiting.is_empty() {
        return;
    }
    c.override_order = !c.override_order;
    c.facts.retain(|(l, _)| l != "Override");
    c.facts.push((
        "Override".into(),
        if c.override_order {
            format!(
                "YES: {} posted out of settlement order, audited as your decision (o: undo)",
                c.waiting.join(", ")
            )
        } else {
            "o: post out of settlement order anyway (audited)".into()
        },
    ));
}

pub(super) fn run_confirmed(s: &mut AppState, c: Confirm, fx: &mut Vec<Effect>) {
    let actor = s.actor.clone();
    let override_order = c.override_order;
    let action = c.action;
    s.review.selected.clear();
    s.batches.selected.clear();
    s.marked.clear();
    match action {
        ConfirmAction::Approve(batches) => {
            set_message(
                s,
                MessageLevel::Info,
                format!("approving {} journal(s)…", batches.len()),
            );
            // the approved set stays picked: a plain `p` next posts all of it
            for a in &batches {
                match s.screen {
                    Screen::Review
                        if s.detail
                            .as_ref()
                            .is_some_and(|d| d.summary.settlement_id == a.key.settlement_id) =>
                    {
                        s.review.selected.insert(a.key.period.clone());
                    }
                    Screen::Settlements => {
                        s.marked.insert(a.key.settlement_id.clone());
                    }
                    _ => {
                        s.batches.selected.insert(a.key.clone());
                    }
                }
            }
            fx.push(Effect::Approve { batches, actor });
        }
        ConfirmAction::Unapprove(batches) => {
            set_message(
                s,
                MessageLevel::Info,
                format!("withdrawing {} approval(s)…", batches.len()),
            );
            fx.push(Effect::Unapprove { batches, actor });
        }
        ConfirmAction::Post(batches) => {
            set_message(
                s,
                MessageLevel::Info,
                format!("posting {} journal(s) to EBS…", batches.len()),
            );
            fx.push(Effect::Post {
                batches,
                actor,
                override_order,
            });
        }
        ConfirmAction::DeleteRule(i) => {
            if let Some(d) = &mut s.mapping.draft
                && i < d.rules.len()
            {
                d.rules.remove(i);
            }
            preview(s, fx);
        }
        ConfirmAction::Reverse { key, into } => {
            set_message(s, MessageLevel::Info, format!("reversing {key} in EBS…"));
            fx.push(Effect::Reverse { key, into, actor });
        }
        ConfirmAction::Archive(key) => {
            set_message(s, MessageLevel::Info, format!("archiving {key}…"));
            fx.push(Effect::ArchiveVanished { key, actor });
        }
        ConfirmAction::SaveMapping => {
            if let Some(draft) = s.mapping.draft.clone() {
                fx.push(Effect::SaveMapping { draft, actor });
                set_message(s, MessageLevel::Info, "saving mapping…".into());
            }
        }
    }
}

/// "NOV-26 vs posted r1: 01-000-6111-0000-000 -12.34 → 0.00, …" (or "no difference").
pub(super) fn posted_difference(
    period: &str,
    revision: u32,
    changes: &[crate::app::view::ProposalChange],
) -> String {
    if changes.is_empty() {
        return format!("{period}: no difference from posted r{revision}");
    }
    let list = changes
        .iter()
        .map(|c| {
            let scale = c.currency.scale();
            format!(
                "{} {} → {}",
                c.account,
                format_amount(c.before, scale),
                format_amount(c.after, scale)
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    format!("{period} vs posted r{revision}: {list}")
}
