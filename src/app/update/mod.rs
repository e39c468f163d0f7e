//! `update`: the only place the state changes. Pure: a message in, effects out.
//!
//! This file holds the entry point (one arm per [`Msg`]) and what every part
//! shares; the submodules follow the concerns of the workstation: list
//! filtering, scrolling, keys, confirmations, the mapping editor, dialogs and
//! the mouse.

mod confirm;
mod dialogs;
mod keys;
mod lists;
mod mapping;
mod mouse;
mod scrolling;

use super::effect::Effect;
use super::keymap::Context;
use super::msg::Msg;
use super::state::{AppState, ConfirmAction, Dialog, MessageLevel, ReviewState, Screen};
use super::view::{BatchKey, SyncProgressView};
use crate::ledger::state::BatchState;

use confirm::reversal_confirm;
use keys::on_key;
use lists::{refilter, refilter_audit, refilter_batches, refresh_statuses, upsert_batch};
use mouse::on_mouse;
use scrolling::fit_scroll;

pub use mouse::{tab_at, tab_labels};

/// Applies one message; returns what the sync layer should do.
pub fn update(s: &mut AppState, msg: Msg) -> Vec<Effect> {
    let mut fx = Vec::new();
    match msg {
        Msg::Key(ev) => on_key(s, ev, &mut fx),
        Msg::Mouse(ev) => on_mouse(s, ev, &mut fx),
        Msg::Resize(w, h) => s.size = (w, h),
        Msg::Tick(now) => {
            s.now = Some(now);
            let stale = s
                .status
                .message_at
                .is_some_and(|at| (now - at).num_seconds() >= super::state::INFO_SECONDS);
            if stale && matches!(s.status.message, Some((MessageLevel::Info, _))) {
                s.status.message = None;
                s.status.message_at = None;
            }
        }
        Msg::SettlementsLoaded(list) => {
            let keep = s.selected_settlement().map(|x| x.settlement_id.clone());
            s.settlements = list;
            refilter(s, keep);
        }
        Msg::DetailLoaded(detail) => {
            let id = detail.summary.settlement_id.clone();
            let wanted = s.loading_detail.as_deref() == Some(id.as_str())
                || s.detail
                    .as_ref()
                    .is_some_and(|d| d.summary.settlement_id == id);
            if wanted {
                let same = s
                    .detail
                    .as_ref()
                    .is_some_and(|d| d.summary.settlement_id == id);
                for b in &detail.batches {
                    upsert_batch(s, b.clone(), false);
                }
                s.detail = Some(detail);
                s.loading_detail = None;
                if !same {
                    s.review = ReviewState::default();
                }
                let n = s.detail.as_ref().map_or(0, |d| d.proposal.journals.len());
                s.review.period = s.review.period.min(n.saturating_sub(1));
                refresh_statuses(s, &id);
            }
        }
        Msg::BatchesLoaded(all) => {
            s.batches.all = all;
            s.batches.all.sort_by_key(|b| lists::batch_order(&b.key));
            refilter_batches(s);
        }
        Msg::BatchUpdated(b) => {
            let id = b.key.settlement_id.clone();
            // what may be done with it, and its history, are asked again
            let before = s
                .batches
                .all
                .iter()
                .find(|x| x.key == b.key)
                .map(|x| x.state);
            if before != Some(b.state) {
                s.posted_diffs.remove(&b.key);
                s.asked_posted_diff.remove(&b.key);
                s.approvers.remove(&b.key);
                s.asked_approver.remove(&b.key);
                s.histories.remove(&b.key);
                s.asked_history.remove(&b.key);
            }
            if b.state == BatchState::Reversed && before != Some(BatchState::Reversed) {
                set_message(
                    s,
                    MessageLevel::Info,
                    format!(
                        "{} reversed (revision {}); approve the corrected proposal to post revision {}",
                        b.key,
                        b.revision,
                        b.revision + 1
                    ),
                );
            }
            if b.state == BatchState::Rejected {
                // EBS's answers about the accounts it named may have changed
                let named: Vec<String> = b.line_errors.iter().map(|e| e.account.clone()).collect();
                mapping::forget_account_checks(s, Some(&named), &mut fx);
                let n = b.line_errors.len();
                set_message(
                    s,
                    MessageLevel::Error,
                    format!(
                        "{} rejected by EBS: {n} line error(s) (3: import status)",
                        b.key
                    ),
                );
            }
            upsert_batch(s, b, true);
            refresh_statuses(s, &id);
        }
        Msg::SyncProgress {
            what,
            done,
            total,
            waiting_on_rate_limit,
        } => {
            s.status.progress = Some(SyncProgressView {
                what,
                done,
                total,
                waiting_on_rate_limit,
            });
        }
        Msg::SyncFinished { at, ok, summary } => {
            s.status.progress = None;
            if ok {
                s.status.last_success = Some(at);
                set_message(s, MessageLevel::Info, summary);
            } else {
                s.status.last_error = Some(summary.clone());
                set_message(s, MessageLevel::Error, summary);
            }
        }
        Msg::MappingLoaded(draft) => {
            // a new mapping version may have a new maker
            s.approvers.clear();
            s.asked_approver.clear();
            let m = &mut s.mapping;
            m.saved = Some(draft.clone());
            m.draft = Some(draft);
            m.diff.clear();
            m.newly_mapped.clear();
            m.newly_unmapped.clear();
            m.diff_hash = None;
            m.pending_hash = None;
            m.problems.clear();
        }
        Msg::MappingValidated { account, result } => {
            if let Some(now) = s.now {
                s.account_checked_at.insert(account.clone(), now);
            }
            s.account_checks.insert(account, result);
        }
        Msg::ProposalDiff {
            mapping_hash,
            changes,
            newly_mapped,
            newly_unmapped,
        } => {
            if s.mapping.pending_hash.as_deref() == Some(mapping_hash.as_str()) {
                let m = &mut s.mapping;
                m.diff = changes;
                m.newly_mapped = newly_mapped;
                m.newly_unmapped = newly_unmapped;
                m.diff_hash = Some(mapping_hash);
                m.diff_cursor = Default::default();
            }
        }
        Msg::MappingSaved { version } => {
            mapping::forget_account_checks(s, None, &mut fx);
            s.approvers.clear();
            s.asked_approver.clear();
            if let Some(d) = &mut s.mapping.draft {
                d.version = Some(version);
                s.mapping.saved = Some(d.clone());
            }
            set_message(
                s,
                MessageLevel::Info,
                format!("mapping saved as version {version}; proposals are being renewed"),
            );
        }
        Msg::AuditLoaded {
            settlement_id,
            entries,
        } => {
            s.audit.settlement_id = settlement_id;
            s.audit.entries = entries;
            s.audit.cursor = Default::default();
            s.audit.open = false;
            refilter_audit(s);
        }
        Msg::ReversalPlan(plan) => {
            if s.reversal_pending.as_ref() == Some(&plan.key) {
                s.reversal_pending = None;
                reversal_confirm(s, plan);
            }
        }
        Msg::MayApprove { key, result } => {
            s.asked_approver.remove(&key);
            s.approvers.insert(key, result);
            refresh_approve_dialog(s);
        }
        Msg::PostedDiff {
            key,
            revision,
            changes,
        } => {
            s.asked_posted_diff.remove(&key);
            s.posted_diffs.insert(key, (revision, changes));
            refresh_approve_dialog(s);
        }
        Msg::BatchHistory(h) => {
            s.asked_history.remove(&h.key);
            s.histories.insert(h.key.clone(), h);
        }
        Msg::OrderLoaded { order_id, order } => {
            s.orders.insert(order_id, order);
        }
        Msg::Error(e) => {
            s.reversal_pending = None;
            s.status.last_error = Some(e.clone());
            set_message(s, MessageLevel::Error, e);
        }
        Msg::Info(i) => set_message(s, MessageLevel::Info, i),
    }
    fit_scroll(s);
    focus_requests(s, &mut fx);
    fx
}

/// Asks the sync layer about the batch in focus: who may approve it (when it can be
/// approved) and, for a vanished one, its history.
fn focus_requests(s: &mut AppState, fx: &mut Vec<Effect>) {
    let mut keys: Vec<(BatchKey, BatchState)> = Vec::new();
    if let Some(Dialog::Confirm(c)) = &s.dialog
        && let ConfirmAction::Approve(list) = &c.action
    {
        for a in list {
            if let Some(b) = s.batches.all.iter().find(|b| b.key == a.key) {
                keys.push((b.key.clone(), b.state));
            }
        }
    } else if s.dialog.is_none()
        && s.screen == Screen::Batches
        && let Some(b) = s.selected_batch()
    {
        keys.push((b.key.clone(), b.state));
    }
    for (key, state) in keys {
        if state.can_move_to(BatchState::Approved)
            && !s.approvers.contains_key(&key)
            && s.asked_approver.insert(key.clone())
        {
            fx.push(Effect::MayApprove {
                key: key.clone(),
                actor: s.actor.clone(),
            });
        }
        // approving a reversed batch again shows what changed since it was posted
        if state == BatchState::Reversed
            && matches!(s.dialog, Some(Dialog::Confirm(_)))
            && !s.posted_diffs.contains_key(&key)
            && s.asked_posted_diff.insert(key.clone())
        {
            fx.push(Effect::LoadPostedDiff(key.clone()));
        }
        // a vanished batch, and one posted more than once, show their history
        let revised = s
            .batches
            .all
            .iter()
            .any(|b| b.key == key && (b.revision > 1 || b.state == BatchState::Reversed));
        if (state == BatchState::Vanished || revised)
            && !s.histories.contains_key(&key)
            && s.asked_history.insert(key.clone())
        {
            fx.push(Effect::LoadHistory(key));
        }
    }
}

/// Shows the approver check in an open approve confirmation (refusals block it).
fn refresh_approve_dialog(s: &mut AppState) {
    let Some(Dialog::Confirm(c)) = &mut s.dialog else {
        return;
    };
    let ConfirmAction::Approve(list) = &c.action else {
        return;
    };
    let mut refusals = Vec::new();
    let mut known = 0;
    for a in list {
        match s.approvers.get(&a.key) {
            Some(Ok(())) => known += 1,
            Some(Err(r)) => refusals.push(format!("{}: {}", a.key.period, r.summary())),
            None => {}
        }
    }
    c.facts
        .retain(|(l, _)| l != "Approver" && l != "Since posted");
    let since: Vec<String> = list
        .iter()
        .filter_map(|a| s.posted_diffs.get(&a.key).map(|d| (a, d)))
        .filter(|(_, (rev, _))| *rev > 0)
        .map(|(a, (rev, changes))| confirm::posted_difference(&a.key.period, *rev, changes))
        .collect();
    if !since.is_empty() {
        c.facts.push(("Since posted".into(), since.join("; ")));
    }
    if !refusals.is_empty() {
        c.facts.retain(|(l, _)| l != "Approved by");
        c.blocked = Some(format!(
            "{} may not approve: {}",
            s.actor,
            refusals.join("; ")
        ));
    } else if known == list.len() {
        c.blocked = None;
        c.facts
            .push(("Approver".into(), format!("{}: you may approve", s.actor)));
    }
}

fn set_message(s: &mut AppState, level: MessageLevel, text: String) {
    s.status.message = Some((level, text));
    s.status.message_at = s.now;
}

/// The key context of the current screen, dialog or search line.
pub fn context(s: &AppState) -> Context {
    match &s.dialog {
        Some(Dialog::Help { .. }) => return Context::Help,
        Some(Dialog::Confirm(_)) => return Context::Confirm,
        Some(Dialog::RuleEditor(_)) => return Context::RuleEditor,
        None => {}
    }
    if s.search.editing {
        return Context::Search;
    }
    match s.screen {
        Screen::Settlements => Context::Settlements,
        Screen::Review => Context::Review,
        Screen::Batches => Context::Batches,
        Screen::Mapping => Context::Mapping,
        Screen::Audit => Context::Audit,
    }
}
