//! `update`: the only place the state changes. Pure: a message in, effects out.

use crossterm::event::{KeyEvent, MouseButton, MouseEvent, MouseEventKind};
use rust_decimal::Decimal;
use std::collections::{BTreeMap, BTreeSet};

use super::effect::{Approval, Effect};
use super::keymap::{Action, Context, Key, lookup};
use super::layout;
use super::msg::Msg;
use super::state::{
    ACCOUNT_FIELD, AppState, BatchPane, Confirm, ConfirmAction, Dialog, Drill, MappingPane,
    MessageLevel, ReviewPane, ReviewState, RuleEditor, Screen,
};
use super::view::{BatchKey, BatchView, MappingRuleView, SyncProgressView};
use crate::ledger::mapping::AccountFormat;
use crate::ledger::money::format_amount;
use crate::ledger::state::BatchState;
use ratatui::layout::Rect;

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
            s.batches.all.sort_by(|a, b| a.key.cmp(&b.key));
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
        Msg::BatchHistory(h) => {
            s.asked_history.remove(&h.key);
            s.histories.insert(h.key.clone(), h);
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
        if state == BatchState::Vanished
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
    c.facts.retain(|(l, _)| l != "Approver");
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

// ------------------------------------------------------------------ lists

fn refilter(s: &mut AppState, keep: Option<String>) {
    let q = s.search.query.to_lowercase();
    s.visible = s
        .settlements
        .iter()
        .enumerate()
        .filter(|(_, x)| s.filter.admits(x.status) && x.matches(&q))
        .map(|(i, _)| i)
        .collect();
    if let Some(id) = keep
        && let Some(pos) = s
            .visible
            .iter()
            .position(|i| s.settlements[*i].settlement_id == id)
    {
        s.list.selected = pos;
    }
    s.list.set(s.list.selected, s.visible.len());
}

fn refilter_batches(s: &mut AppState) {
    let keep = s.selected_batch().map(|b| b.key.clone());
    let q = if s.screen == Screen::Batches {
        s.search.query.to_lowercase()
    } else {
        String::new()
    };
    let b = &mut s.batches;
    b.visible = (0..b.all.len()).filter(|i| b.all[*i].matches(&q)).collect();
    if let Some(k) = keep
        && let Some(pos) = b.visible.iter().position(|i| b.all[*i].key == k)
    {
        b.cursor.selected = pos;
    }
    b.cursor.set(b.cursor.selected, b.visible.len());
}

fn upsert_batch(s: &mut AppState, b: BatchView, into_detail: bool) {
    if into_detail
        && let Some(d) = &mut s.detail
        && d.summary.settlement_id == b.key.settlement_id
    {
        match d.batches.iter_mut().find(|x| x.key == b.key) {
            Some(x) => *x = b.clone(),
            None => d.batches.push(b.clone()),
        }
    }
    match s.batches.all.binary_search_by(|x| x.key.cmp(&b.key)) {
        Ok(i) => s.batches.all[i] = b,
        Err(i) => s.batches.all.insert(i, b),
    }
    refilter_batches(s);
}

/// A settlement's status is its worst known batch.
fn refresh_statuses(s: &mut AppState, settlement_id: &str) {
    let worst = BatchState::worst(
        s.batches
            .all
            .iter()
            .filter(|b| b.key.settlement_id == settlement_id)
            .map(|b| b.state),
    );
    let Some(worst) = worst else { return };
    if let Some(d) = &mut s.detail
        && d.summary.settlement_id == settlement_id
    {
        d.summary.status = worst;
    }
    let mut changed = false;
    for x in &mut s.settlements {
        if x.settlement_id == settlement_id && x.status != worst {
            x.status = worst;
            changed = true;
        }
    }
    if changed {
        let keep = s.selected_settlement().map(|x| x.settlement_id.clone());
        refilter(s, keep);
    }
}

// ------------------------------------------------------------------ scrolling

fn main_area(s: &AppState) -> Rect {
    layout::frame(Rect::new(0, 0, s.size.0, s.size.1)).main
}

fn review_areas(s: &AppState) -> layout::ReviewAreas {
    let verdicts = s.detail.as_ref().map_or(5, |d| d.verdicts.len() as u16);
    layout::review(main_area(s), verdicts)
}

fn journal_len(s: &AppState) -> usize {
    s.detail
        .as_ref()
        .and_then(|d| d.proposal.journals.get(s.review.period))
        .map_or(0, |j| {
            let ar = s
                .detail
                .as_ref()
                .and_then(|d| d.ar_lines.as_ref())
                .map_or(0, |a| a.iter().filter(|l| l.period == j.period).count());
            j.lines.len() + j.zero_net.len() + ar
        })
}

fn left_len(s: &AppState) -> usize {
    let Some(d) = &s.detail else { return 0 };
    match &s.review.drill {
        Drill::Groups => d.groups.len(),
        Drill::Rows { group } => d.group_rows(*group).len(),
        Drill::Order { rows, .. } => rows.len(),
    }
}

/// Keeps every cursor's selection visible in its pane.
fn fit_scroll(s: &mut AppState) {
    let main = main_area(s);
    let h = layout::table_rows(main);
    let n = s.visible.len();
    s.list.fit(h, n);
    let r = review_areas(s);
    let (lh, rh) = (layout::table_rows(r.left), layout::table_rows(r.right));
    let (ll, jl) = (left_len(s), journal_len(s));
    match s.review.drill {
        Drill::Groups => s.review.groups.fit(lh, ll),
        Drill::Rows { .. } => s.review.rows.fit(lh, ll),
        Drill::Order { .. } => s.review.order.fit(lh, ll),
    }
    s.review.lines.fit(rh, jl);
    let (top, bottom) = layout::batches(main);
    let nb = s.batches.visible.len();
    s.batches.cursor.fit(layout::table_rows(top), nb);
    let ne = s.selected_batch().map_or(0, |b| b.line_errors.len());
    s.batches.errors.fit(layout::table_rows(bottom), ne);
    let (rules, diff) = layout::mapping(main);
    let nr = s.mapping.draft.as_ref().map_or(0, |d| d.rules.len());
    s.mapping.cursor.fit(layout::table_rows(rules), nr);
    let nd = s.mapping.diff.len();
    s.mapping.diff_cursor.fit(layout::table_rows(diff), nd);
    let na = s.audit.entries.len();
    s.audit.cursor.fit(h, na);
}

/// Moves the cursor of the focused list by `delta` (clamped).
fn move_focus(s: &mut AppState, delta: isize) {
    let (ll, jl) = (left_len(s), journal_len(s));
    match s.screen {
        Screen::Settlements => s.list.move_by(delta, s.visible.len()),
        Screen::Review => match s.review.pane {
            ReviewPane::Rows => match s.review.drill {
                Drill::Groups => s.review.groups.move_by(delta, ll),
                Drill::Rows { .. } => s.review.rows.move_by(delta, ll),
                Drill::Order { .. } => s.review.order.move_by(delta, ll),
            },
            ReviewPane::Journal => s.review.lines.move_by(delta, jl),
        },
        Screen::Batches => match s.batches.pane {
            BatchPane::List => {
                s.batches.cursor.move_by(delta, s.batches.visible.len());
                s.batches.errors = Default::default();
            }
            BatchPane::Errors => {
                let n = s.selected_batch().map_or(0, |b| b.line_errors.len());
                s.batches.errors.move_by(delta, n);
            }
        },
        Screen::Mapping => match s.mapping.pane {
            MappingPane::Rules => {
                let n = s.mapping.draft.as_ref().map_or(0, |d| d.rules.len());
                s.mapping.cursor.move_by(delta, n);
            }
            MappingPane::Diff => s.mapping.diff_cursor.move_by(delta, s.mapping.diff.len()),
        },
        Screen::Audit => s.audit.cursor.move_by(delta, s.audit.entries.len()),
    }
}

fn page(s: &AppState) -> isize {
    let main = main_area(s);
    let h = match s.screen {
        Screen::Review => layout::table_rows(review_areas(s).left),
        Screen::Batches => layout::table_rows(layout::batches(main).0),
        _ => layout::table_rows(main),
    };
    h.max(1) as isize
}

// ------------------------------------------------------------------ keys

fn on_key(s: &mut AppState, ev: KeyEvent, fx: &mut Vec<Effect>) {
    let Some(key) = Key::from_event(&ev) else {
        return;
    };
    if s.dialog.is_some() {
        on_dialog_key(s, key, ev, fx);
        return;
    }
    if s.search.editing {
        match lookup(Context::Search, key) {
            Some(Action::AcceptSearch) => s.search.editing = false,
            Some(Action::CancelSearch) => {
                s.search.editing = false;
                s.search.query.clear();
            }
            _ => match key {
                Key::Char(c) => s.search.query.push(c),
                Key::Backspace => {
                    s.search.query.pop();
                }
                _ => return,
            },
        }
        apply_search(s);
        return;
    }
    if let Some(action) = lookup(context(s), key) {
        act(s, action, fx);
    }
}

fn apply_search(s: &mut AppState) {
    match s.screen {
        Screen::Settlements => {
            let keep = s.selected_settlement().map(|x| x.settlement_id.clone());
            refilter(s, keep);
        }
        Screen::Batches => refilter_batches(s),
        Screen::Review => {
            let q = s.search.query.to_lowercase();
            if q.is_empty() {
                return;
            }
            if let Some(d) = &s.detail
                && let Some(g) = d.groups.iter().position(|g| {
                    format!(
                        "{} {} {}",
                        g.transaction_type, g.amount_type, g.amount_description
                    )
                    .to_lowercase()
                    .contains(&q)
                })
            {
                s.review.drill = Drill::Groups;
                s.review.pane = ReviewPane::Rows;
                s.review.groups.selected = g;
            }
        }
        Screen::Mapping | Screen::Audit => {}
    }
}

fn act(s: &mut AppState, action: Action, fx: &mut Vec<Effect>) {
    match action {
        Action::Quit => {
            s.quit = true;
            fx.push(Effect::Quit);
        }
        Action::Help => s.dialog = Some(Dialog::Help { scroll: 0 }),
        Action::SyncNow => {
            fx.push(Effect::SyncNow);
            set_message(s, MessageLevel::Info, "sync requested".into());
        }
        Action::Up => move_focus(s, -1),
        Action::Down => move_focus(s, 1),
        Action::PageUp => move_focus(s, -page(s)),
        Action::PageDown => move_focus(s, page(s)),
        Action::Top => move_focus(s, isize::MIN / 2),
        Action::Bottom => move_focus(s, isize::MAX / 2),
        Action::NextPane | Action::PrevPane => match s.screen {
            Screen::Review => {
                s.review.pane = match s.review.pane {
                    ReviewPane::Rows => ReviewPane::Journal,
                    ReviewPane::Journal => ReviewPane::Rows,
                }
            }
            Screen::Batches => {
                s.batches.pane = match s.batches.pane {
                    BatchPane::List => BatchPane::Errors,
                    BatchPane::Errors => BatchPane::List,
                }
            }
            Screen::Mapping => {
                s.mapping.pane = match s.mapping.pane {
                    MappingPane::Rules => MappingPane::Diff,
                    MappingPane::Diff => MappingPane::Rules,
                }
            }
            Screen::Settlements | Screen::Audit => {}
        },
        Action::Enter => enter(s, fx),
        Action::Back => back(s),
        Action::Search => {
            if matches!(
                s.screen,
                Screen::Settlements | Screen::Batches | Screen::Review
            ) {
                s.search.editing = true;
                s.search.query.clear();
                apply_search(s);
            }
        }
        Action::GoSettlements => go(s, Screen::Settlements),
        Action::GoReview => {
            let open = s.detail.is_some() || s.loading_detail.is_some();
            let selected = s.selected_settlement().map(|x| x.settlement_id.clone());
            match selected {
                // from the list: the selected settlement; elsewhere: the one open
                Some(id) if s.screen == Screen::Settlements || !open => open_review(s, id, fx),
                _ if open => go(s, Screen::Review),
                _ => set_message(s, MessageLevel::Info, "no settlement selected".into()),
            }
        }
        Action::GoBatches => go(s, Screen::Batches),
        Action::GoMapping => {
            if s.mapping.draft.is_none() {
                fx.push(Effect::LoadMapping);
            }
            go(s, Screen::Mapping);
        }
        Action::GoAudit => {
            let id = match s.screen {
                Screen::Review => s.detail.as_ref().map(|d| d.summary.settlement_id.clone()),
                Screen::Batches => s.selected_batch().map(|b| b.key.settlement_id.clone()),
                _ => s.selected_settlement().map(|x| x.settlement_id.clone()),
            };
            fx.push(Effect::LoadAudit(id.clone()));
            s.audit.settlement_id = id;
            go(s, Screen::Audit);
        }
        Action::CycleFilter => {
            s.filter = s.filter.next();
            let keep = s.selected_settlement().map(|x| x.settlement_id.clone());
            refilter(s, keep);
        }
        Action::PrevPeriod | Action::NextPeriod => {
            let n = s.detail.as_ref().map_or(0, |d| d.proposal.journals.len());
            let p = s.review.period as isize + if action == Action::NextPeriod { 1 } else { -1 };
            s.review.period = p.clamp(0, n.saturating_sub(1) as isize) as usize;
            s.review.lines = Default::default();
        }
        Action::ToggleSelect => toggle_select(s),
        Action::Approve => propose_confirm(s, Intent::Approve),
        Action::Unapprove => propose_confirm(s, Intent::Unapprove),
        Action::Post => propose_confirm(s, Intent::Post),
        Action::Reverse => ask_reversal(s, fx),
        Action::Archive => archive_confirm(s),
        Action::AddRule => add_rule(s),
        Action::EditRule => edit_rule(s),
        Action::DeleteRule => delete_rule(s),
        Action::SaveMapping => save_mapping(s),
        Action::DiscardDraft => {
            s.mapping.draft = s.mapping.saved.clone();
            s.mapping.diff.clear();
            s.mapping.newly_mapped.clear();
            s.mapping.newly_unmapped.clear();
            s.mapping.problems.clear();
            s.mapping.diff_hash = None;
            s.mapping.pending_hash = None;
        }
        // dialog and search actions are handled where those contexts are
        Action::Confirm
        | Action::Cancel
        | Action::NextField
        | Action::PrevField
        | Action::ToggleAp
        | Action::SaveRule
        | Action::AcceptSearch
        | Action::CancelSearch => {}
    }
}

fn go(s: &mut AppState, screen: Screen) {
    if s.screen != screen {
        s.search = Default::default();
        let keep = s.selected_settlement().map(|x| x.settlement_id.clone());
        refilter(s, keep);
        refilter_batches(s);
    }
    s.screen = screen;
}

fn open_review(s: &mut AppState, id: String, fx: &mut Vec<Effect>) {
    let loaded = s
        .detail
        .as_ref()
        .is_some_and(|d| d.summary.settlement_id == id);
    if !loaded {
        s.loading_detail = Some(id.clone());
        fx.push(Effect::LoadDetail(id));
    }
    go(s, Screen::Review);
}

fn enter(s: &mut AppState, fx: &mut Vec<Effect>) {
    match s.screen {
        Screen::Settlements => {
            if let Some(id) = s.selected_settlement().map(|x| x.settlement_id.clone()) {
                open_review(s, id, fx);
            }
        }
        Screen::Review => {
            if s.review.pane != ReviewPane::Rows {
                return;
            }
            let Some(d) = &s.detail else { return };
            match s.review.drill.clone() {
                Drill::Groups => {
                    if s.review.groups.selected < d.groups.len() {
                        s.review.drill = Drill::Rows {
                            group: s.review.groups.selected,
                        };
                        s.review.rows = Default::default();
                    }
                }
                Drill::Rows { group } => {
                    let rows = d.group_rows(group);
                    if let Some(i) = rows.get(s.review.rows.selected) {
                        let order_id = d.rows[*i as usize].order_id.clone();
                        if order_id.is_empty() {
                            set_message(s, MessageLevel::Info, "this row has no order id".into());
                        } else {
                            let rows = d.order_rows(&order_id);
                            s.review.drill = Drill::Order {
                                group,
                                order_id,
                                rows,
                            };
                            s.review.order = Default::default();
                        }
                    }
                }
                Drill::Order { .. } => {}
            }
        }
        Screen::Batches => {
            if let Some(b) = s.selected_batch() {
                let (id, period) = (b.key.settlement_id.clone(), b.key.period.clone());
                open_review(s, id, fx);
                if let Some(d) = &s.detail
                    && let Some(p) = d.proposal.journals.iter().position(|j| j.period == period)
                {
                    s.review.period = p;
                    s.review.pane = ReviewPane::Journal;
                }
            }
        }
        Screen::Mapping => edit_rule(s),
        Screen::Audit => {}
    }
}

fn back(s: &mut AppState) {
    match s.screen {
        Screen::Review => match s.review.drill.clone() {
            Drill::Order { group, .. } => s.review.drill = Drill::Rows { group },
            Drill::Rows { .. } => s.review.drill = Drill::Groups,
            Drill::Groups => go(s, Screen::Settlements),
        },
        Screen::Settlements => {
            if !s.search.query.is_empty() {
                s.search.query.clear();
                apply_search(s);
            }
        }
        _ => go(s, Screen::Settlements),
    }
}

fn toggle_select(s: &mut AppState) {
    match s.screen {
        Screen::Review => {
            let Some(d) = &s.detail else { return };
            let Some(j) = d.proposal.journals.get(s.review.period) else {
                return;
            };
            let p = j.period.clone();
            if !s.review.selected.remove(&p) {
                s.review.selected.insert(p);
            }
        }
        Screen::Batches => {
            if let Some(k) = s.selected_batch().map(|b| b.key.clone())
                && !s.batches.selected.remove(&k)
            {
                s.batches.selected.insert(k);
            }
        }
        _ => {}
    }
}

// ------------------------------------------------------------------ approve / post

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Intent {
    Approve,
    Unapprove,
    Post,
}

/// The batches an approve / post applies to: the picked ones, else the current one.
fn target_batches(s: &AppState) -> Vec<BatchView> {
    match s.screen {
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
        _ => vec![],
    }
}

fn why_not(b: &BatchView, intent: Intent) -> String {
    let hint = match (intent, b.state) {
        (_, BatchState::NeedsMapping) => "map its unmapped rows first (4: mapping)",
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

fn propose_confirm(s: &mut AppState, intent: Intent) {
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
            unique(&eligible, |b| b.key.period.as_str()),
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
fn ask_reversal(s: &mut AppState, fx: &mut Vec<Effect>) {
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

fn reversal_confirm(s: &mut AppState, p: super::view::ReversalPlanView) {
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
    }));
}

/// `A`: archive a vanished batch (after confirmation) instead of re-posting it.
fn archive_confirm(s: &mut AppState) {
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
    }));
}

fn run_confirmed(s: &mut AppState, action: ConfirmAction, fx: &mut Vec<Effect>) {
    let actor = s.actor.clone();
    match action {
        ConfirmAction::Approve(batches) => {
            set_message(
                s,
                MessageLevel::Info,
                format!("approving {} journal(s)…", batches.len()),
            );
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
            fx.push(Effect::Post { batches, actor });
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
    s.review.selected.clear();
    s.batches.selected.clear();
}

// ------------------------------------------------------------------ mapping editor

/// Asks for the proposal diff of the current draft (or lists its problems).
fn preview(s: &mut AppState, fx: &mut Vec<Effect>) {
    let Some(draft) = s.mapping.draft.clone() else {
        return;
    };
    match draft.to_mapping() {
        Ok(m) => {
            s.mapping.problems.clear();
            s.mapping.pending_hash = Some(m.content_hash().to_string());
            if s.mapping.draft == s.mapping.saved {
                s.mapping.diff.clear();
                s.mapping.newly_mapped.clear();
                s.mapping.newly_unmapped.clear();
                s.mapping.diff_hash = s.mapping.pending_hash.clone();
            } else {
                fx.push(Effect::PreviewMapping(draft));
            }
        }
        Err(e) => {
            s.mapping.problems = e.problems.iter().map(|p| p.to_string()).collect();
        }
    }
}

fn add_rule(s: &mut AppState) {
    if s.mapping.draft.is_none() {
        set_message(s, MessageLevel::Info, "mapping not loaded yet".into());
        return;
    }
    // prefill from an unmapped group of the settlement under review
    let mut rule = MappingRuleView::default();
    if let Some(d) = &s.detail {
        let picked = match s.review.drill {
            Drill::Groups => d
                .groups
                .get(s.review.groups.selected)
                .filter(|g| g.unmapped),
            _ => None,
        }
        .or_else(|| d.groups.iter().find(|g| g.unmapped));
        if let Some(g) = picked {
            rule.transaction_type = Some(g.transaction_type.clone());
            rule.amount_type = Some(g.amount_type.clone());
            rule.amount_description = Some(g.amount_description.clone());
        }
    }
    s.dialog = Some(Dialog::RuleEditor(Box::new(RuleEditor::new(None, &rule))));
}

fn edit_rule(s: &mut AppState) {
    let i = s.mapping.cursor.selected;
    if let Some(rule) = s.mapping.draft.as_ref().and_then(|d| d.rules.get(i)) {
        let editor = RuleEditor::new(Some(i), rule);
        s.dialog = Some(Dialog::RuleEditor(Box::new(editor)));
    }
}

fn delete_rule(s: &mut AppState) {
    let i = s.mapping.cursor.selected;
    let Some(rule) = s.mapping.draft.as_ref().and_then(|d| d.rules.get(i)) else {
        return;
    };
    let any = |f: &Option<String>| f.clone().unwrap_or_else(|| "*".into());
    let facts = vec![
        (
            "Matches".into(),
            format!(
                "{} / {} / {} / {}",
                any(&rule.transaction_type),
                any(&rule.amount_type),
                any(&rule.amount_description),
                any(&rule.marketplace)
            ),
        ),
        ("Account".into(), format!("{} {}", rule.account, rule.label)),
        (
            "Effect".into(),
            "removed from the draft; nothing is stored until you save (w)".into(),
        ),
    ];
    s.dialog = Some(Dialog::Confirm(Confirm {
        title: format!("Delete rule {}?", i + 1),
        action: ConfirmAction::DeleteRule(i),
        facts,
        irreversible: false,
        blocked: None,
    }));
}

fn save_mapping(s: &mut AppState) {
    if !s.mapping.dirty() {
        set_message(
            s,
            MessageLevel::Info,
            "the mapping has no unsaved changes".into(),
        );
        return;
    }
    if !s.mapping.problems.is_empty() {
        set_message(
            s,
            MessageLevel::Error,
            format!("fix the draft first: {}", s.mapping.problems.join("; ")),
        );
        return;
    }
    let m = &s.mapping;
    let from = m
        .saved
        .as_ref()
        .and_then(|d| d.version)
        .map_or("none".to_string(), |v| v.to_string());
    let settlements: BTreeSet<&str> = m.diff.iter().map(|c| c.settlement_id.as_str()).collect();
    let mut facts = vec![
        ("Version".into(), format!("{from} → new version")),
        (
            "Rules".into(),
            m.draft.as_ref().map_or(0, |d| d.rules.len()).to_string(),
        ),
        (
            "Changes".into(),
            if m.diff_hash == m.pending_hash && m.diff_hash.is_some() {
                format!(
                    "{} journal line(s) in {} settlement(s)",
                    m.diff.len(),
                    settlements.len()
                )
            } else {
                "preview pending".into()
            },
        ),
        (
            "Effect".into(),
            "batches not yet staged (and rejected ones) are proposed again; their approvals lapse"
                .into(),
        ),
    ];
    if !m.newly_mapped.is_empty() {
        facts.push(("Fully mapped".into(), m.newly_mapped.join(", ")));
    }
    if !m.newly_unmapped.is_empty() {
        facts.push(("Newly unmapped".into(), m.newly_unmapped.join(", ")));
    }
    s.dialog = Some(Dialog::Confirm(Confirm {
        title: "Save the mapping as a new version?".into(),
        action: ConfirmAction::SaveMapping,
        facts,
        irreversible: false,
        blocked: None,
    }));
}

// ------------------------------------------------------------------ dialogs

fn on_dialog_key(s: &mut AppState, key: Key, ev: KeyEvent, fx: &mut Vec<Effect>) {
    let ctx = context(s);
    let action = lookup(ctx, key);
    match s.dialog.take() {
        Some(Dialog::Help { scroll }) => match action {
            Some(Action::Cancel) => {}
            Some(Action::Down) => s.dialog = Some(Dialog::Help { scroll: scroll + 1 }),
            Some(Action::Up) => {
                s.dialog = Some(Dialog::Help {
                    scroll: scroll.saturating_sub(1),
                })
            }
            _ => s.dialog = Some(Dialog::Help { scroll }),
        },
        Some(Dialog::Confirm(c)) => match action {
            Some(Action::Cancel) => set_message(s, MessageLevel::Info, "cancelled".into()),
            _ if c.blocked.is_some() => {
                if key == Key::Char('y') || key == Key::Enter {
                    let why = c.blocked.clone().unwrap_or_default();
                    set_message(s, MessageLevel::Error, why);
                }
                s.dialog = Some(Dialog::Confirm(c));
            }
            Some(Action::Confirm) => run_confirmed(s, c.action, fx),
            // Enter confirms only what can be undone; posting needs `y`
            _ if key == Key::Enter && !c.irreversible => run_confirmed(s, c.action, fx),
            _ => s.dialog = Some(Dialog::Confirm(c)),
        },
        Some(Dialog::RuleEditor(mut ed)) => match action {
            Some(Action::Cancel) => {}
            Some(Action::NextField) => {
                ed.focus = (ed.focus + 1) % ed.fields.len();
                ed.refocus();
                s.dialog = Some(Dialog::RuleEditor(ed));
            }
            Some(Action::PrevField) => {
                ed.focus = (ed.focus + ed.fields.len() - 1) % ed.fields.len();
                ed.refocus();
                s.dialog = Some(Dialog::RuleEditor(ed));
            }
            Some(Action::ToggleAp) => {
                ed.ap = !ed.ap;
                s.dialog = Some(Dialog::RuleEditor(ed));
            }
            Some(Action::SaveRule) => {
                let rule = ed.rule();
                if let Err(e) = AccountFormat::default().validate(&rule.account) {
                    ed.error = Some(e);
                    ed.focus = ACCOUNT_FIELD;
                    ed.refocus();
                    s.dialog = Some(Dialog::RuleEditor(ed));
                    return;
                }
                if let Some(d) = &mut s.mapping.draft {
                    match ed.index {
                        Some(i) if i < d.rules.len() => d.rules[i] = rule,
                        _ => {
                            d.rules.push(rule);
                            s.mapping.cursor.selected = d.rules.len() - 1;
                        }
                    }
                }
                preview(s, fx);
            }
            _ => {
                let before = ed.account();
                ed.fields[ed.focus].input(ev);
                ed.error = None;
                let account = ed.account();
                if ed.focus == ACCOUNT_FIELD
                    && account != before
                    && AccountFormat::default().validate(&account).is_ok()
                    && !s.account_checks.contains_key(&account)
                {
                    fx.push(Effect::ValidateAccount(account));
                }
                s.dialog = Some(Dialog::RuleEditor(ed));
            }
        },
        None => {}
    }
}

// ------------------------------------------------------------------ mouse

fn on_mouse(s: &mut AppState, ev: MouseEvent, fx: &mut Vec<Effect>) {
    if s.dialog.is_some() {
        return;
    }
    let (x, y) = (ev.column, ev.row);
    let full = Rect::new(0, 0, s.size.0, s.size.1);
    let fa = layout::frame(full);
    let delta = match ev.kind {
        MouseEventKind::ScrollDown => 3,
        MouseEventKind::ScrollUp => -3,
        MouseEventKind::Down(MouseButton::Left) => 0,
        _ => return,
    };
    if delta == 0 && layout::contains(fa.tabs, x, y) {
        if let Some(screen) = tab_at(x) {
            let action = match screen {
                Screen::Settlements => Action::GoSettlements,
                Screen::Review => Action::GoReview,
                Screen::Batches => Action::GoBatches,
                Screen::Mapping => Action::GoMapping,
                Screen::Audit => Action::GoAudit,
            };
            act(s, action, fx);
        }
        return;
    }
    // focus the pane under the pointer
    let main = fa.main;
    let pane = match s.screen {
        Screen::Review => {
            let r = review_areas(s);
            if layout::contains(r.left, x, y) {
                s.review.pane = ReviewPane::Rows;
                Some(r.left)
            } else if layout::contains(r.right, x, y) {
                s.review.pane = ReviewPane::Journal;
                Some(r.right)
            } else {
                None
            }
        }
        Screen::Batches => {
            let (top, bottom) = layout::batches(main);
            if layout::contains(top, x, y) {
                s.batches.pane = BatchPane::List;
                Some(top)
            } else if layout::contains(bottom, x, y) {
                s.batches.pane = BatchPane::Errors;
                Some(bottom)
            } else {
                None
            }
        }
        Screen::Mapping => {
            let (rules, diff) = layout::mapping(main);
            if layout::contains(rules, x, y) {
                s.mapping.pane = MappingPane::Rules;
                Some(rules)
            } else if layout::contains(diff, x, y) {
                s.mapping.pane = MappingPane::Diff;
                Some(diff)
            } else {
                None
            }
        }
        Screen::Settlements | Screen::Audit => layout::contains(main, x, y).then_some(main),
    };
    let Some(pane) = pane else { return };
    if delta != 0 {
        move_focus(s, delta);
        return;
    }
    let Some(row) = layout::table_hit(pane, x, y) else {
        return;
    };
    // the clicked row: offset of the focused list + row
    let offset = focused_offset(s);
    let target = offset + row;
    let current = focused_selected(s);
    move_focus(s, target as isize - current as isize);
}

fn focused_cursor(s: &AppState) -> super::state::Cursor {
    match s.screen {
        Screen::Settlements => s.list,
        Screen::Review => match s.review.pane {
            ReviewPane::Rows => match s.review.drill {
                Drill::Groups => s.review.groups,
                Drill::Rows { .. } => s.review.rows,
                Drill::Order { .. } => s.review.order,
            },
            ReviewPane::Journal => s.review.lines,
        },
        Screen::Batches => match s.batches.pane {
            BatchPane::List => s.batches.cursor,
            BatchPane::Errors => s.batches.errors,
        },
        Screen::Mapping => match s.mapping.pane {
            MappingPane::Rules => s.mapping.cursor,
            MappingPane::Diff => s.mapping.diff_cursor,
        },
        Screen::Audit => s.audit.cursor,
    }
}

fn focused_offset(s: &AppState) -> usize {
    focused_cursor(s).offset
}

fn focused_selected(s: &AppState) -> usize {
    focused_cursor(s).selected
}

/// The labels of the tab bar, in order; rendering uses the same.
pub fn tab_labels() -> Vec<(Screen, String)> {
    Screen::ALL
        .iter()
        .enumerate()
        .map(|(i, sc)| (*sc, format!(" {} {} ", i + 1, sc.title())))
        .collect()
}

/// The screen whose tab is at column `x` (tabs separated by one column).
pub fn tab_at(x: u16) -> Option<Screen> {
    let mut start = 0u16;
    for (screen, label) in tab_labels() {
        let w = label.chars().count() as u16;
        if x >= start && x < start + w {
            return Some(screen);
        }
        start += w + 1;
    }
    None
}
