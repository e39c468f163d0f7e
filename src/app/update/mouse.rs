//! The mouse: tab clicks, pane focus, row clicks and wheel scrolling; the tab bar's geometry.

use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::Rect;

use super::dialogs::scroll_help;
use super::keys::act;
use super::scrolling::{move_focus, review_areas};
use crate::app::effect::Effect;
use crate::app::keymap::Action;
use crate::app::layout;
use crate::app::state::{
    AppState, BatchPane, Cursor, Dialog, Drill, MappingPane, ReviewPane, Screen,
};

pub(super) fn on_mouse(s: &mut AppState, ev: MouseEvent, fx: &mut Vec<Effect>) {
    if let Some(Dialog::Help { scroll }) = s.dialog {
        let delta = match ev.kind {
            MouseEventKind::ScrollDown => 3,
            MouseEventKind::ScrollUp => -3,
            _ => return,
        };
        s.dialog = Some(Dialog::Help {
            scroll: scroll_help(s, scroll, delta),
        });
        return;
    }
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

fn focused_cursor(s: &AppState) -> Cursor {
    match s.screen {
        Screen::Settlements => s.list,
        Screen::Review => match s.review.pane {
            ReviewPane::Rows => match s.review.drill {
                Drill::Groups => s.review.groups,
                Drill::Rows { .. } => s.review.rows,
                Drill::Order { .. } | Drill::Line { .. } => s.review.order,
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
