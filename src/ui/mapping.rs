//! Mapping editor: the draft's rules, and the proposals that change under it.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Row};

use super::theme::Theme;
use super::widgets::{empty_note, money, pane, right, windowed_table};
use crate::app::layout;
use crate::app::state::{AppState, MappingPane};

fn any(v: &Option<String>) -> String {
    v.clone().unwrap_or_else(|| "*".into())
}

pub fn render(f: &mut Frame, area: Rect, s: &AppState, t: &Theme) {
    let (left, right_area) = layout::mapping(area);
    let m = &s.mapping;
    let Some(draft) = &m.draft else {
        f.render_widget(pane(" Mapping ", true, t), area);
        empty_note(f, area, "Loading the mapping…", t);
        return;
    };
    let version = draft
        .version
        .map_or("unsaved".to_string(), |v| format!("v{v}"));
    let mut title = vec![Span::styled(
        format!(" Mapping {version} · {} rules ", draft.rules.len()),
        t.title(),
    )];
    if m.dirty() {
        title.push(Span::styled(" draft modified ", t.warn()));
    }
    if !m.problems.is_empty() {
        title.push(Span::styled(
            format!(" {} ", m.problems.join("; ")),
            t.error(),
        ));
    }
    let focused = m.pane == MappingPane::Rules;
    windowed_table(
        f,
        left,
        pane(Line::from(title), focused, t),
        vec![
            "#",
            "type",
            "amount type",
            "description",
            "account",
            "label",
        ],
        vec![
            Constraint::Length(3),
            Constraint::Percentage(14),
            Constraint::Percentage(14),
            Constraint::Percentage(22),
            Constraint::Length(20),
            Constraint::Min(8),
        ],
        draft.rules.len(),
        &m.cursor,
        focused,
        t,
        |i| {
            let r = &draft.rules[i];
            let mut desc = any(&r.amount_description);
            if let Some(mp) = &r.marketplace {
                desc = format!("{desc} @{mp}");
            }
            let changed = m.saved.as_ref().is_none_or(|sv| sv.rules.get(i) != Some(r));
            let row = Row::new(vec![
                right((i + 1).to_string()),
                Cell::from(any(&r.transaction_type)),
                Cell::from(any(&r.amount_type)),
                Cell::from(desc),
                Cell::from(r.account.clone()),
                Cell::from(format!("{}{}", r.label, if r.ap { " (AP)" } else { "" })),
            ]);
            if changed { row.style(t.warn()) } else { row }
        },
    );
    let focused = m.pane == MappingPane::Diff;
    let pending = m.pending_hash.is_some() && m.pending_hash != m.diff_hash;
    let mut title = vec![Span::styled(" Proposals that change ", t.title())];
    if pending {
        title.push(Span::styled("(computing…) ", t.dim()));
    } else if m.dirty() {
        title.push(Span::raw(format!("({} line(s)) ", m.diff.len())));
    }
    let mut bottom = Vec::new();
    if !m.newly_mapped.is_empty() {
        bottom.push(Span::styled(
            format!(" fully mapped: {} ", m.newly_mapped.join(", ")),
            t.ok(),
        ));
    }
    if !m.newly_unmapped.is_empty() {
        bottom.push(Span::styled(
            format!(" newly unmapped: {} ", m.newly_unmapped.join(", ")),
            t.error(),
        ));
    }
    windowed_table(
        f,
        right_area,
        pane(Line::from(title), focused, t).title_bottom(Line::from(bottom)),
        vec![
            "settlement",
            "period",
            "account",
            "before",
            "after",
            "change",
        ],
        vec![
            Constraint::Length(11),
            Constraint::Length(7),
            Constraint::Length(20),
            Constraint::Length(10),
            Constraint::Length(10),
            Constraint::Min(9),
        ],
        m.diff.len(),
        &m.diff_cursor,
        focused,
        t,
        |i| {
            let c = &m.diff[i];
            let scale = c.currency.scale();
            let delta = c.delta();
            let sign = if delta.is_sign_positive() { "+" } else { "" };
            Row::new(vec![
                Cell::from(c.settlement_id.clone()),
                Cell::from(c.period.clone()),
                Cell::from(c.account.clone()),
                right(money(c.before, scale)),
                right(money(c.after, scale)),
                right(format!("{sign}{}", money(delta, scale))),
            ])
        },
    );
    if m.diff.is_empty() && !pending {
        let note = if m.dirty() {
            "The draft changes no proposal."
        } else {
            "No changes: n adds a rule, e edits, d deletes; net credit per line shown."
        };
        empty_note(f, right_area, note, t);
    }
}
