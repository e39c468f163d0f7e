//! Keys outside dialogs: the search line and the screen actions of the keymap.

use crossterm::event::KeyEvent;

use super::confirm::{Intent, archive_confirm, ask_reversal, propose_confirm};
use super::dialogs::on_dialog_key;
use super::lists::{refilter, refilter_audit, refilter_batches};
use super::mapping::{
    add_rule, delete_rule, edit_rule, forget_account_checks, replace_account, save_mapping,
};
use super::scrolling::{move_focus, page};
use super::{context, set_message};
use crate::app::effect::Effect;
use crate::app::keymap::{Action, Context, Key, lookup};
use crate::app::state::{
    AppState, BatchPane, Dialog, Drill, MappingPane, MessageLevel, ReviewPane, Screen,
};

pub(super) fn on_key(s: &mut AppState, ev: KeyEvent, fx: &mut Vec<Effect>) {
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
                && let Some(g) = d.shown_groups(s.review.period).iter().position(|pg| {
                    let g = &d.groups[pg.group];
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
        Screen::Audit => refilter_audit(s),
        Screen::Mapping => {}
    }
}

pub(super) fn act(s: &mut AppState, action: Action, fx: &mut Vec<Effect>) {
    match action {
        Action::Quit => {
            s.quit = true;
            fx.push(Effect::Quit);
        }
        Action::Help => s.dialog = Some(Dialog::Help { scroll: 0 }),
        Action::SyncNow => {
            forget_account_checks(s, None, fx);
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
                Screen::Settlements | Screen::Batches | Screen::Review | Screen::Audit
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
            s.audit.settlement_id = id.clone();
            s.audit.last_settlement = id.or(s.audit.last_settlement.take());
            go(s, Screen::Audit);
        }
        Action::ToggleScope => {
            let id = match s.audit.settlement_id {
                Some(_) => None,
                None => s.audit.last_settlement.clone(),
            };
            fx.push(Effect::LoadAudit(id.clone()));
            s.audit.settlement_id = id;
        }
        Action::CycleFilter if s.screen == Screen::Audit => {
            // the actions present, in order of first appearance
            let mut actions: Vec<&str> = Vec::new();
            for e in &s.audit.entries {
                if !actions.contains(&e.action.as_str()) {
                    actions.push(&e.action);
                }
            }
            let next = match &s.audit.action {
                None => actions.first(),
                Some(a) => actions
                    .iter()
                    .position(|x| x == a)
                    .and_then(|i| actions.get(i + 1)),
            };
            s.audit.action = next.map(|x| x.to_string());
            s.audit.open = false;
            refilter_audit(s);
        }
        Action::CycleFilter => {
            s.filter = s.filter.next();
            let keep = s.selected_settlement().map(|x| x.settlement_id.clone());
            refilter(s, keep);
        }
        Action::PrevPeriod | Action::NextPeriod => {
            let n = s.detail.as_ref().map_or(0, |d| d.proposal.journals.len());
            let p = s.review.period as isize + if action == Action::NextPeriod { 1 } else { -1 };
            let before = s.review.period;
            s.review.period = p.clamp(0, n.saturating_sub(1) as isize) as usize;
            s.review.lines = Default::default();
            // the rows pane lists the period's own groups: start over there
            if s.review.period != before {
                s.review.drill = Drill::Groups;
                s.review.groups = Default::default();
            }
        }
        Action::ToggleSelect => toggle_select(s),
        Action::Approve => propose_confirm(s, Intent::Approve),
        Action::Unapprove => propose_confirm(s, Intent::Unapprove),
        Action::Post => propose_confirm(s, Intent::Post),
        Action::Reverse => ask_reversal(s, fx),
        Action::Archive => archive_confirm(s),
        Action::Export => export(s, fx),
        Action::AddRule => add_rule(s),
        Action::EditRule => edit_rule(s, fx),
        Action::DeleteRule => delete_rule(s),
        Action::ReplaceAccount => replace_account(s, fx),
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
        | Action::OverrideOrder
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
        refilter_audit(s);
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
            let Some(d) = &s.detail else { return };
            if s.review.pane == ReviewPane::Journal {
                // from a journal line to the rows behind it
                let line = s.review.lines.selected;
                match d.line_rows(s.review.period, line) {
                    Some(rows) => {
                        s.review.drill = Drill::Line { line, rows };
                        s.review.order = Default::default();
                        s.review.pane = ReviewPane::Rows;
                    }
                    None => set_message(
                        s,
                        MessageLevel::Info,
                        "the rows behind this line are not known".into(),
                    ),
                }
                return;
            }
            match s.review.drill.clone() {
                Drill::Groups => {
                    if s.review.groups.selected < d.shown_groups(s.review.period).len() {
                        s.review.drill = Drill::Rows {
                            group: s.review.groups.selected,
                        };
                        s.review.rows = Default::default();
                    }
                }
                Drill::Rows { group } => {
                    let shown = d.shown_groups(s.review.period);
                    let rows = shown
                        .get(group)
                        .map_or(&[][..], |pg| d.period_group_rows(pg));
                    if let Some(i) = rows.get(s.review.rows.selected) {
                        let order_id = d.rows[*i as usize].order_id.clone();
                        if order_id.is_empty() {
                            set_message(s, MessageLevel::Info, "this row has no order id".into());
                        } else {
                            let rows = d.order_rows(&order_id);
                            if !s.orders.contains_key(&order_id) {
                                fx.push(Effect::LoadOrder(order_id.clone()));
                            }
                            s.review.drill = Drill::Order {
                                group,
                                order_id,
                                rows,
                            };
                            s.review.order = Default::default();
                        }
                    }
                }
                Drill::Order { .. } | Drill::Line { .. } => {}
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
        Screen::Mapping => edit_rule(s, fx),
        Screen::Audit => s.audit.open = !s.audit.open && s.audit.selected().is_some(),
    }
}

fn back(s: &mut AppState) {
    match s.screen {
        // from the journal, back to the rows it was opened beside
        Screen::Review if s.review.pane == ReviewPane::Journal => s.review.pane = ReviewPane::Rows,
        Screen::Review => match s.review.drill.clone() {
            Drill::Order { group, .. } => s.review.drill = Drill::Rows { group },
            Drill::Rows { .. } => s.review.drill = Drill::Groups,
            // back to the journal line it was opened from
            Drill::Line { .. } => {
                s.review.drill = Drill::Groups;
                s.review.pane = ReviewPane::Journal;
            }
            Drill::Groups => go(s, Screen::Settlements),
        },
        Screen::Settlements => {
            if !s.search.query.is_empty() {
                s.search.query.clear();
                apply_search(s);
            }
        }
        Screen::Audit if s.audit.open => s.audit.open = false,
        Screen::Audit if !s.search.query.is_empty() => {
            s.search.query.clear();
            apply_search(s);
        }
        _ => go(s, Screen::Settlements),
    }
}

/// `x` in the review: the selected journals (else the one shown) and their
/// rows as CSV, written by the sync layer.
fn export(s: &mut AppState, fx: &mut Vec<Effect>) {
    let Some(d) = &s.detail else {
        set_message(s, MessageLevel::Info, "no settlement open to export".into());
        return;
    };
    let mut periods: Vec<usize> = d
        .proposal
        .journals
        .iter()
        .enumerate()
        .filter(|(_, j)| s.review.selected.contains(&j.period))
        .map(|(i, _)| i)
        .collect();
    if periods.is_empty() && s.review.period < d.proposal.journals.len() {
        periods.push(s.review.period);
    }
    if periods.is_empty() {
        set_message(s, MessageLevel::Info, "no journal to export".into());
        return;
    }
    let names: Vec<&str> = periods
        .iter()
        .map(|p| d.proposal.journals[*p].period.as_str())
        .collect();
    let file = format!(
        "settlement-{}-{}.csv",
        d.summary.settlement_id,
        names.join("_")
    );
    let contents = crate::app::export::detail_csv(d, &periods);
    set_message(s, MessageLevel::Info, format!("exporting {file}…"));
    fx.push(Effect::Export { file, contents });
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
        Screen::Settlements => {
            if let Some(id) = s.selected_settlement().map(|x| x.settlement_id.clone())
                && !s.marked.remove(&id)
            {
                s.marked.insert(id);
            }
        }
        _ => {}
    }
}
