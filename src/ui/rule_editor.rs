//! Add / edit one mapping rule: text fields (ratatui-textarea), the account
//! checked against EBS as it is typed.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Clear;

use super::theme::Theme;
use super::widgets::pane;
use crate::app::layout;
use crate::app::state::{ACCOUNT_FIELD, AppState, RULE_FIELDS, RuleEditor};
use crate::app::view::AccountCheck;
use crate::ledger::mapping::AccountFormat;

pub fn render(f: &mut Frame, area: Rect, ed: &RuleEditor, s: &AppState, t: &Theme) {
    if let Some(from) = &ed.replace {
        return render_replace(f, area, ed, from, s, t);
    }
    let h = RULE_FIELDS.len() as u16 + 8;
    let r = layout::dialog(area, 74, h);
    f.render_widget(Clear, r);
    let title = match ed.index {
        Some(i) => format!(" Edit rule {} ", i + 1),
        None => " Add rule ".to_string(),
    };
    let block = pane(Span::styled(title, t.title()), true, t);
    let inner = block.inner(r);
    f.render_widget(block, r);
    let label_w = 18u16;
    let mut y = inner.y;
    let line_at = |f: &mut Frame, y: u16, line: Line| {
        if y < inner.y + inner.height {
            f.render_widget(line, Rect::new(inner.x, y, inner.width, 1));
        }
    };
    for (i, name) in RULE_FIELDS.iter().enumerate() {
        if y >= inner.y + inner.height {
            break;
        }
        let style = if i == ed.focus { t.title() } else { t.dim() };
        f.render_widget(
            Span::styled(format!("{name:>16}: "), style),
            Rect::new(inner.x, y, label_w, 1),
        );
        let field = Rect::new(inner.x + label_w, y, inner.width.saturating_sub(label_w), 1);
        f.render_widget(&ed.fields[i], field);
        y += 1;
        if i == ACCOUNT_FIELD {
            let mut spans = vec![Span::raw(" ".repeat(label_w as usize))];
            spans.extend(account_status(&ed.account(), s, t));
            line_at(f, y, Line::from(spans));
            y += 1;
        }
    }
    y += 1;
    line_at(
        f,
        y,
        Line::from(format!(
            "{:>16}: [{}] (ctrl-p)",
            "paid through AP",
            if ed.ap { "x" } else { " " }
        )),
    );
    y += 1;
    if let Some(e) = &ed.error {
        line_at(f, y, Line::from(Span::styled(e.clone(), t.error())));
    }
    y += 1;
    line_at(
        f,
        y,
        Line::from(vec![
            Span::styled("tab", t.title()),
            Span::raw(" next field  "),
            Span::styled("enter", t.title()),
            Span::raw(" keep in draft  "),
            Span::styled("esc", t.title()),
            Span::raw(" cancel   empty or * = any"),
        ]),
    );
}

/// The replace-account dialog: the account now used and the one replacing it.
fn render_replace(f: &mut Frame, area: Rect, ed: &RuleEditor, from: &str, s: &AppState, t: &Theme) {
    let r = layout::dialog(area, 74, 8);
    f.render_widget(Clear, r);
    let title = " Replace an account in every rule ";
    let block = pane(Span::styled(title, t.title()), true, t);
    let inner = block.inner(r);
    f.render_widget(block, r);
    let rules = s
        .mapping
        .draft
        .as_ref()
        .map_or(0, |d| d.rules.iter().filter(|r| r.account == from).count());
    let row = |y: u16| Rect::new(inner.x, inner.y + y, inner.width, 1);
    let lines = [
        Line::from(format!("{:>16}: {from} ({rules} rule(s))", "replace")),
        Line::default(),
        Line::default(),
        Line::from(
            ed.error
                .clone()
                .map(|e| Span::styled(e, t.error()))
                .unwrap_or_default(),
        ),
        Line::from(vec![
            Span::styled("enter", t.title()),
            Span::raw(" change every rule in the draft  "),
            Span::styled("esc", t.title()),
            Span::raw(" cancel"),
        ]),
    ];
    for (i, l) in lines.into_iter().enumerate() {
        if (i as u16) < inner.height {
            f.render_widget(l, row(i as u16));
        }
    }
    if inner.height > 2 {
        f.render_widget(
            Span::styled(format!("{:>16}: ", "with"), t.title()),
            Rect::new(inner.x, inner.y + 1, 18, 1),
        );
        f.render_widget(
            &ed.fields[ACCOUNT_FIELD],
            Rect::new(inner.x + 18, inner.y + 1, inner.width.saturating_sub(18), 1),
        );
        let mut spans = vec![Span::raw(" ".repeat(18))];
        spans.extend(account_status(&ed.account(), s, t));
        f.render_widget(Line::from(spans), row(2));
    }
}

/// What EBS says about a typed account (and how old that answer is).
fn account_status<'a>(account: &str, s: &AppState, t: &Theme) -> Vec<Span<'a>> {
    let account = account.to_string();
    let account = account.to_string();
    let status = match AccountFormat::default().validate(&account) {
        Err(e) if !account.is_empty() => Span::styled(format!("✗ {e}"), t.error()),
        Err(_) => Span::styled("account required", t.dim()),
        Ok(()) => match s.account_checks.get(&account) {
            Some(AccountCheck::Valid { description }) => {
                Span::styled(format!("✓ valid in EBS: {description}"), t.ok())
            }
            Some(AccountCheck::Invalid { reason }) => {
                Span::styled(format!("✗ EBS: {reason}"), t.error())
            }
            Some(AccountCheck::Unknown { reason }) => {
                Span::styled(format!("? EBS not asked: {reason}"), t.warn())
            }
            None => Span::styled("… checking with EBS", t.dim()),
        },
    };
    // a kept answer says how old it is (r asks EBS again)
    let age = match (s.account_checked_at.get(&account), s.now) {
        (Some(at), Some(now)) if (now - *at).num_minutes() >= 1 => Some(Span::styled(
            format!(
                " · answer {} min old (r: ask again)",
                (now - *at).num_minutes()
            ),
            t.dim(),
        )),
        _ => None,
    };
    let mut spans = vec![status];
    spans.extend(age);
    spans
}
