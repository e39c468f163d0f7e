//! `?`: every binding, read from the one keymap table.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use super::theme::Theme;
use super::widgets::pane;
use crate::app::keymap::{BINDINGS, Context, MOUSE};
use crate::app::layout;

/// Every line of the help text (also used to bound scrolling).
pub fn lines(t: &Theme) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    for ctx in Context::ALL {
        let bs: Vec<_> = BINDINGS.iter().filter(|b| b.context == ctx).collect();
        if bs.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push(Line::from(""));
        }
        out.push(Line::from(Span::styled(
            ctx.title().to_string(),
            t.header(),
        )));
        for b in bs {
            let keys = b
                .keys
                .iter()
                .map(|k| k.label())
                .collect::<Vec<_>>()
                .join(" ");
            out.push(Line::from(vec![
                Span::styled(format!("  {keys:<18}"), t.title()),
                Span::raw(b.help.to_string()),
            ]));
        }
    }
    out.push(Line::from(""));
    out.push(Line::from(Span::styled("Mouse", t.header())));
    for (what, does) in MOUSE {
        out.push(Line::from(vec![
            Span::styled(format!("  {what:<18}"), t.title()),
            Span::raw(does.to_string()),
        ]));
    }
    out
}

pub fn render(f: &mut Frame, area: Rect, scroll: u16, t: &Theme) {
    let r = layout::dialog(area, 72, area.height.saturating_sub(2));
    f.render_widget(Clear, r);
    let all = lines(t);
    let max = (all.len() as u16).saturating_sub(r.height.saturating_sub(2));
    let block = pane(
        Span::styled(
            " Help — every binding (j/k g/G scroll, esc close) ",
            t.title(),
        ),
        true,
        t,
    );
    f.render_widget(
        Paragraph::new(all)
            .block(block)
            .scroll((scroll.min(max), 0)),
        r,
    );
}
