//! Tab bar, key hints and the status bar.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::theme::Theme;
use crate::app::keymap::{Action, Context, keys_for};
use crate::app::state::{AppState, MessageLevel};
use crate::app::update::{context, tab_labels};

pub fn tabs(f: &mut Frame, area: Rect, s: &AppState, t: &Theme) {
    let mut spans = Vec::new();
    for (i, (screen, label)) in tab_labels().into_iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled("│", t.dim()));
        }
        let style = if screen == s.screen {
            t.title().add_modifier(ratatui::style::Modifier::REVERSED)
        } else {
            t.base()
        };
        spans.push(Span::styled(label, style));
    }
    f.render_widget(Line::from(spans), area);
}

/// The most useful bindings of the current context, read from the keymap.
pub fn hints(f: &mut Frame, area: Rect, s: &AppState, t: &Theme) {
    if s.search.editing {
        let line = Line::from(vec![
            Span::styled("/", t.title()),
            Span::raw(s.search.query.clone()),
            Span::styled("█", t.base()),
            Span::styled("   enter keep · esc clear", t.dim()),
        ]);
        f.render_widget(line, area);
        return;
    }
    let ctx = context(s);
    let list: &[(Context, Action, &str)] = match ctx {
        Context::Settlements => &[
            (Context::Global, Action::Enter, "review"),
            (Context::Global, Action::Search, "search"),
            (Context::Settlements, Action::CycleFilter, "filter"),
            (Context::Global, Action::SyncNow, "sync"),
            (Context::Global, Action::Help, "help"),
            (Context::Global, Action::Quit, "quit"),
        ],
        Context::Review => &[
            (Context::Global, Action::Enter, "drill"),
            (Context::Global, Action::Back, "back"),
            (Context::Global, Action::NextPane, "pane"),
            (Context::Review, Action::NextPeriod, "period"),
            (Context::Review, Action::ToggleSelect, "select"),
            (Context::Review, Action::Approve, "approve"),
            (Context::Review, Action::Post, "post"),
            (Context::Global, Action::Help, "help"),
        ],
        Context::Batches => &[
            (Context::Global, Action::NextPane, "errors"),
            (Context::Global, Action::Enter, "review"),
            (Context::Batches, Action::Approve, "approve"),
            (Context::Batches, Action::Post, "post"),
            (Context::Global, Action::SyncNow, "refresh"),
            (Context::Global, Action::Help, "help"),
        ],
        Context::Mapping => &[
            (Context::Mapping, Action::AddRule, "add"),
            (Context::Mapping, Action::EditRule, "edit"),
            (Context::Mapping, Action::DeleteRule, "delete"),
            (Context::Mapping, Action::SaveMapping, "save"),
            (Context::Mapping, Action::DiscardDraft, "discard"),
            (Context::Global, Action::NextPane, "pane"),
            (Context::Global, Action::Help, "help"),
        ],
        Context::Audit => &[
            (Context::Global, Action::Back, "back"),
            (Context::Global, Action::Help, "help"),
            (Context::Global, Action::Quit, "quit"),
        ],
        Context::Confirm
        | Context::RuleEditor
        | Context::Help
        | Context::Search
        | Context::Global => &[],
    };
    let mut spans = Vec::new();
    for (c, a, label) in list {
        let first = keys_for(*c, *a).into_iter().next().unwrap_or_default();
        spans.push(Span::styled(first, t.title()));
        spans.push(Span::raw(format!(" {label}  ")));
    }
    f.render_widget(Line::from(spans), area);
}

pub fn status_bar(f: &mut Frame, area: Rect, s: &AppState, t: &Theme) {
    let mut spans = Vec::new();
    match &s.status.progress {
        Some(p) => {
            let of = p.total.map(|n| format!("/{n}")).unwrap_or_default();
            spans.push(Span::styled(
                format!("⟳ {} {}{of}", p.what, p.done),
                t.title(),
            ));
            if let Some(rl) = &p.waiting_on_rate_limit {
                spans.push(Span::styled(
                    format!(" · waiting on rate limit {rl}"),
                    t.warn(),
                ));
            }
        }
        None => spans.push(Span::styled("idle", t.dim())),
    }
    if let Some(at) = s.status.last_success {
        spans.push(Span::styled(
            format!(" · last sync {}", at.format("%m-%d %H:%M UTC")),
            t.dim(),
        ));
    }
    if let Some((level, text)) = &s.status.message {
        let style = match level {
            MessageLevel::Info => t.base(),
            MessageLevel::Error => t.error(),
        };
        spans.push(Span::raw(" · "));
        spans.push(Span::styled(text.clone(), style));
    } else if let Some(e) = &s.status.last_error {
        spans.push(Span::raw(" · "));
        spans.push(Span::styled(format!("last error: {e}"), t.error()));
    }
    f.render_widget(Line::from(spans), area);
}
