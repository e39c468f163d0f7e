//! Confirmation before anything that leaves the workstation: exactly what goes to EBS.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};

use super::theme::Theme;
use super::widgets::pane;
use crate::app::layout;
use crate::app::state::{Confirm, ConfirmAction};

pub fn render(f: &mut Frame, area: Rect, c: &Confirm, t: &Theme) {
    let mut lines: Vec<Line> = Vec::new();
    let label_w = c
        .facts
        .iter()
        .map(|(l, _)| l.chars().count())
        .max()
        .unwrap_or(0);
    for (label, value) in &c.facts {
        lines.push(Line::from(vec![
            Span::styled(format!("{label:>label_w$}  "), t.dim()),
            Span::raw(value.clone()),
        ]));
    }
    lines.push(Line::from(""));
    if let Some(why) = &c.blocked {
        lines.push(Line::from(Span::styled(format!("✗ {why}"), t.error())));
        lines.push(Line::from(""));
        lines.push(Line::from(vec![
            Span::styled("n/esc", t.title()),
            Span::raw(" close"),
        ]));
    } else if c.irreversible {
        let (warning, verb) = match &c.action {
            ConfirmAction::Reverse { .. } => (
                "⚠ This sends a reversing journal to EBS and cannot be undone; the original stays in EBS, nothing is deleted.",
                " reverse   ",
            ),
            ConfirmAction::Archive(_) => (
                "⚠ Archiving is final: nothing is sent to EBS and the journal is not re-posted.",
                " archive   ",
            ),
            _ => (
                "⚠ This writes to EBS and cannot be undone here; a posted journal is corrected only by a reversal.",
                " post   ",
            ),
        };
        lines.push(Line::from(Span::styled(warning, t.warn())));
        lines.push(Line::from(""));
        lines.push(Line::from(vec![
            Span::styled("y", t.title()),
            Span::raw(verb),
            Span::styled("n/esc", t.title()),
            Span::raw(" cancel"),
        ]));
    } else {
        lines.push(Line::from(vec![
            Span::styled("y/enter", t.title()),
            Span::raw(" confirm   "),
            Span::styled("n/esc", t.title()),
            Span::raw(" cancel"),
        ]));
    }
    let w = 76u16.min(area.width);
    // wrapped height estimate: each line's length over the inner width
    let inner_w = w.saturating_sub(2).max(1) as usize;
    let h: usize = lines
        .iter()
        .map(|l| l.width().div_ceil(inner_w).max(1))
        .sum::<usize>()
        + 2;
    let r = layout::dialog(area, w, h as u16);
    f.render_widget(Clear, r);
    let block = pane(Span::styled(format!(" {} ", c.title), t.title()), true, t);
    f.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        r,
    );
}
