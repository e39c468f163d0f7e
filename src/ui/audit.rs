//! The audit trail: of the selected settlement or of everything (`t`), searched
//! with `/`, filtered by action with `f`, an entry shown whole with `enter`.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Clear, Paragraph, Row, Wrap};

use super::theme::Theme;
use super::widgets::{empty_note, pane, windowed_table};
use crate::app::layout;
use crate::app::state::AppState;

pub fn render(f: &mut Frame, area: Rect, s: &AppState, t: &Theme) {
    let a = &s.audit;
    let global = a.settlement_id.is_none();
    let mut title = match &a.settlement_id {
        Some(id) => format!(
            " Audit trail · settlement {id} ({}/{}) ",
            a.visible.len(),
            a.entries.len()
        ),
        None => format!(
            " Audit trail · every settlement ({}/{}) ",
            a.visible.len(),
            a.entries.len()
        ),
    };
    if let Some(action) = &a.action {
        title.push_str(&format!("· filter: {action} "));
    }
    if !s.search.query.is_empty() {
        title.push_str(&format!("· /{} ", s.search.query));
    }
    let mut header = vec!["when (UTC)", "who", "what", "period", "detail"];
    let mut widths = vec![
        Constraint::Length(16),
        Constraint::Length(10),
        Constraint::Length(10),
        Constraint::Length(7),
        Constraint::Min(10),
    ];
    if global {
        header.insert(1, "settlement");
        widths.insert(1, Constraint::Length(11));
    }
    windowed_table(
        f,
        area,
        pane(title, true, t).title_style(t.title()),
        header,
        widths,
        a.visible.len(),
        &a.cursor,
        true,
        t,
        |i| {
            let e = &a.entries[a.visible[i]];
            let mut cells = vec![
                Cell::from(e.at.format("%Y-%m-%d %H:%M").to_string()),
                Cell::from(e.actor.clone()),
                Cell::from(e.action.clone()),
                Cell::from(e.period.clone().unwrap_or_default()),
                Cell::from(e.detail.clone()),
            ];
            if global {
                cells.insert(1, Cell::from(e.settlement_id.clone().unwrap_or_default()));
            }
            Row::new(cells)
        },
    );
    if a.entries.is_empty() {
        empty_note(f, area, "No audit entries loaded.", t);
    } else if a.visible.is_empty() {
        empty_note(f, area, "Nothing matches the filter (f) or search (/).", t);
    }
    if a.open
        && let Some(e) = a.selected()
    {
        let field = |label: &str, value: String| {
            Line::from(vec![
                Span::styled(format!("{label:<11}"), t.dim()),
                Span::raw(value),
            ])
        };
        let mut lines = vec![
            field("when", e.at.format("%Y-%m-%d %H:%M:%S UTC").to_string()),
            field("who", e.actor.clone()),
            field("what", e.action.clone()),
            field(
                "settlement",
                e.settlement_id.clone().unwrap_or_else(|| "—".into()),
            ),
            field("period", e.period.clone().unwrap_or_else(|| "—".into())),
            field("detail", e.detail.clone()),
        ];
        if !e.changes.is_empty() {
            lines.push(Line::default());
            lines.push(Line::styled(
                "rule changes from the version before",
                t.dim(),
            ));
            lines.extend(e.changes.iter().map(|c| {
                let style = match c.chars().next() {
                    Some('+') => t.ok(),
                    Some('-') => t.error(),
                    _ => t.warn(),
                };
                Line::styled(c.clone(), style)
            }));
        }
        let extra = if e.changes.is_empty() {
            0
        } else {
            e.changes.len() as u16 + 2
        };
        let r = layout::dialog(area, 76, 12 + extra);
        f.render_widget(Clear, r);
        f.render_widget(
            Paragraph::new(lines)
                .block(pane(
                    Span::styled(" Audit entry (enter/esc close) ", t.title()),
                    true,
                    t,
                ))
                .wrap(Wrap { trim: false }),
            r,
        );
    }
}
