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
            (Context::Settlements, Action::SyncNow, "sync"),
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
            (Context::Review, Action::Export, "export"),
            (Context::Global, Action::Help, "help"),
        ],
        Context::Batches => &[
            (Context::Global, Action::NextPane, "errors"),
            (Context::Global, Action::Enter, "review"),
            (Context::Batches, Action::Approve, "approve"),
            (Context::Batches, Action::Post, "post"),
            (Context::Batches, Action::SyncNow, "refresh"),
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
            (Context::Global, Action::Enter, "whole entry"),
            (Context::Global, Action::Search, "search"),
            (Context::Audit, Action::CycleFilter, "filter"),
            (Context::Audit, Action::ToggleScope, "all/one"),
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
    let mut items: Vec<(String, &str)> = list
        .iter()
        .map(|(c, a, label)| {
            let first = keys_for(*c, *a).into_iter().next().unwrap_or_default();
            (first, *label)
        })
        .collect();
    let width = area.width as usize;
    let len = |items: &[(String, &str)], gap: usize| -> usize {
        items
            .iter()
            .map(|(k, l)| k.chars().count() + 1 + l.chars().count())
            .sum::<usize>()
            + gap * items.len().saturating_sub(1)
    };
    // two spaces between hints; one when that does not fit; then drop hints
    // from the end, keeping `? help` last, which lists them all
    let mut gap = 2;
    if len(&items, gap) > width {
        gap = 1;
    }
    while len(&items, gap) > width && items.len() > 1 {
        let help = items.iter().position(|(_, l)| *l == "help");
        let drop = match help {
            Some(h) if h + 1 == items.len() && items.len() > 1 => items.len() - 2,
            _ => items.len() - 1,
        };
        items.remove(drop);
    }
    let mut spans = Vec::new();
    for (i, (key, label)) in items.into_iter().enumerate() {
        if i > 0 {
            spans.push(Span::raw(" ".repeat(gap)));
        }
        spans.push(Span::styled(key, t.title()));
        spans.push(Span::raw(format!(" {label}")));
    }
    f.render_widget(Line::from(spans), area);
}

/// A message as one clean line: control characters (newlines, tabs, escapes
/// from an error body) would leave stray characters in the status bar.
fn one_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let c = if c.is_control() { ' ' } else { c };
        if c == ' ' && (out.is_empty() || out.ends_with(' ')) {
            continue;
        }
        out.push(c);
    }
    out.trim_end().to_string()
}

/// Spans cut to `width` columns, the cut marked with `…`.
fn fit(spans: Vec<Span<'static>>, width: usize) -> Vec<Span<'static>> {
    let total: usize = spans.iter().map(|s| s.content.chars().count()).sum();
    if total <= width {
        return spans;
    }
    let mut left = width.saturating_sub(1);
    let mut out = Vec::new();
    for s in spans {
        if left == 0 {
            break;
        }
        let n = s.content.chars().count();
        if n <= left {
            left -= n;
            out.push(s);
        } else {
            let cut: String = s.content.chars().take(left).collect();
            left = 0;
            out.push(Span::styled(cut, s.style));
        }
    }
    out.push(Span::raw("…"));
    out
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
        spans.push(Span::styled(one_line(text), style));
    } else if let Some(e) = &s.status.last_error {
        spans.push(Span::raw(" · "));
        spans.push(Span::styled(
            format!("last error: {}", one_line(e)),
            t.error(),
        ));
    }
    f.render_widget(Line::from(fit(spans, area.width as usize)), area);
}
