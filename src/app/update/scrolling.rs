//! Cursors and scrolling: pane sizes from the layout, keeping selections visible.

use ratatui::layout::Rect;

use crate::app::layout;
use crate::app::state::{AppState, BatchPane, Drill, MappingPane, ReviewPane, Screen};

fn main_area(s: &AppState) -> Rect {
    layout::frame(Rect::new(0, 0, s.size.0, s.size.1)).main
}

pub(super) fn review_areas(s: &AppState) -> layout::ReviewAreas {
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
        Drill::Groups => d.shown_groups(s.review.period).len(),
        Drill::Rows { group } => d
            .shown_groups(s.review.period)
            .get(*group)
            .map_or(0, |pg| pg.rows as usize),
        Drill::Order { rows, .. } | Drill::Line { rows, .. } => rows.len(),
    }
}

/// Keeps every cursor's selection visible in its pane.
pub(super) fn fit_scroll(s: &mut AppState) {
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
        Drill::Order { .. } | Drill::Line { .. } => s.review.order.fit(lh, ll),
    }
    s.review.lines.fit(rh, jl);
    let (top, bottom) = layout::batches(main);
    let nb = s.batches.visible.len();
    s.batches.cursor.fit(layout::table_rows(top), nb);
    let ne = s.selected_batch().map_or(0, |b| b.error_rows().len());
    s.batches.errors.fit(layout::table_rows(bottom), ne);
    let (rules, diff) = layout::mapping(main);
    let nr = s.mapping.draft.as_ref().map_or(0, |d| d.rules.len());
    s.mapping.cursor.fit(layout::table_rows(rules), nr);
    let nd = s.mapping.diff.len();
    s.mapping.diff_cursor.fit(layout::table_rows(diff), nd);
    let na = s.audit.visible.len();
    s.audit.cursor.fit(h, na);
}

/// Moves the cursor of the focused list by `delta` (clamped).
pub(super) fn move_focus(s: &mut AppState, delta: isize) {
    let (ll, jl) = (left_len(s), journal_len(s));
    match s.screen {
        Screen::Settlements => s.list.move_by(delta, s.visible.len()),
        Screen::Review => match s.review.pane {
            ReviewPane::Rows => match s.review.drill {
                Drill::Groups => s.review.groups.move_by(delta, ll),
                Drill::Rows { .. } => s.review.rows.move_by(delta, ll),
                Drill::Order { .. } | Drill::Line { .. } => s.review.order.move_by(delta, ll),
            },
            ReviewPane::Journal => s.review.lines.move_by(delta, jl),
        },
        Screen::Batches => match s.batches.pane {
            BatchPane::List => {
                s.batches.cursor.move_by(delta, s.batches.visible.len());
                s.batches.errors = Default::default();
            }
            BatchPane::Errors => {
                let n = s.selected_batch().map_or(0, |b| b.error_rows().len());
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
        Screen::Audit => s.audit.cursor.move_by(delta, s.audit.visible.len()),
    }
}

pub(super) fn page(s: &AppState) -> isize {
    let main = main_area(s);
    let h = match s.screen {
        Screen::Review => layout::table_rows(review_areas(s).left),
        Screen::Batches => layout::table_rows(layout::batches(main).0),
        _ => layout::table_rows(main),
    };
    h.max(1) as isize
}
