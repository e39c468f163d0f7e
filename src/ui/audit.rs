//! The audit trail of the selected settlement.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::widgets::{Cell, Row};

use super::theme::Theme;
use super::widgets::{empty_note, pane, windowed_table};
use crate::app::state::AppState;

pub fn render(f: &mut Frame, area: Rect, s: &AppState, t: &Theme) {
    let title = match &s.audit.settlement_id {
        Some(id) => format!(
            " Audit trail · settlement {id} ({}) ",
            s.audit.entries.len()
        ),
        None => format!(" Audit trail · everything ({}) ", s.audit.entries.len()),
    };
    windowed_table(
        f,
        area,
        pane(title, true, t).title_style(t.title()),
        vec!["when (UTC)", "who", "what", "period", "detail"],
        vec![
            Constraint::Length(16),
            Constraint::Length(10),
            Constraint::Length(10),
            Constraint::Length(7),
            Constraint::Min(10),
        ],
        s.audit.entries.len(),
        &s.audit.cursor,
        true,
        t,
        |i| {
            let e = &s.audit.entries[i];
            Row::new(vec![
                Cell::from(e.at.format("%Y-%m-%d %H:%M").to_string()),
                Cell::from(e.actor.clone()),
                Cell::from(e.action.clone()),
                Cell::from(e.period.clone().unwrap_or_default()),
                Cell::from(e.detail.clone()),
            ])
        },
    );
    if s.audit.entries.is_empty() {
        empty_note(f, area, "No audit entries loaded.", t);
    }
}
