//! Mapping editor: the draft's rules, and the proposals that change under it.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Row};

use super::theme::Theme;
use super::widgets::{empty_note, money, pane, right, windowed_table};
use crate::app::layout;
use crate::app::state::{AppState, MappingPane};
use crate::app::view::AccountCheck;
use std::collections::BTreeSet;

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
    // accounts EBS rejects: checked in the rule editor, or named by EBS's line errors
    let rejected: BTreeSet<&str> = s
        .account_checks
        .iter()
        .filter(|(_, c)| matches!(c, AccountCheck::Invalid { .. }))
        .map(|(a, _)| a.as_str())
        .chain(
            s.batches
                .all
                .iter()
                .flat_map(|b| &b.line_errors)
                .filter(|e| e.ebs_code.starts_with("EF"))
                .map(|e| e.account.as_str()),
        )
        .collect();
    let bad = draft
        .rules
        .iter()
        .filter(|r| rejected.contains(r.account.as_str()))
        .count();
    if bad > 0 {
        title.push(Span::styled(
            format!(" {bad} rule(s) on accounts EBS rejects "),
            t.error(),
        ));
    }
    // the file edited, where the warnings leave room for it
    let room = left.width.saturating_sub(2) as usize;
    let warnings: usize = title[1..].iter().map(|sp| sp.width()).sum();
    let named = format!(" {} {version} · {} rules ", draft.name, draft.rules.len());
    if !draft.name.is_empty() && named.chars().count() + warnings <= room {
        title[0] = Span::styled(named, t.title());
    }
    // where the selected rule's account is used
    let used = draft.rules.get(m.cursor.selected).map(|sel| {
        let rules: Vec<String> = draft
            .rules
            .iter()
            .enumerate()
            .filter(|(_, r)| r.account == sel.account)
            .map(|(i, _)| format!("#{}", i + 1))
            .collect();
        Span::styled(
            format!(" {} used by rule(s) {} ", sel.account, rules.join(", ")),
            t.dim(),
        )
    });
    let focused = m.pane == MappingPane::Rules;
    let mut block = pane(Line::from(title), focused, t);
    let used_w = used.as_ref().map_or(0, |u| u.width());
    if let Some(used) = used {
        block = block.title_bottom(Line::from(used));
    }
    // the ledgers using this mapping, where the foot leaves room
    if !draft.ledgers.is_empty() {
        let l: Vec<String> = draft.ledgers.iter().map(|x| x.to_string()).collect();
        let text = format!(" ledger(s) {} ", l.join(", "));
        if used_w + text.chars().count() + 2 <= room {
            block = block.title_bottom(Line::from(Span::styled(text, t.dim())).right_aligned());
        }
    }
    windowed_table(
        f,
        left,
        block,
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
            if rejected.contains(r.account.as_str()) {
                row.style(t.error())
            } else if changed {
                row.style(t.warn())
            } else {
                row
            }
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
    // settlement ids and account strings whole; a narrow pane leaves out
    // `before` (it is `after` less `change`)
    let with_before = right_area.width >= 80;
    let amount = Constraint::Length(if with_before { 11 } else { 13 });
    let mut header = vec!["settlement", "period", "account", "after", "change"];
    let mut widths = vec![
        Constraint::Min(11),
        Constraint::Length(7),
        Constraint::Min(20),
        amount,
        amount,
    ];
    if with_before {
        header.insert(3, "before");
        widths.insert(3, amount);
    }
    windowed_table(
        f,
        right_area,
        pane(Line::from(title), focused, t).title_bottom(Line::from(bottom)),
        header,
        widths,
        m.diff.len(),
        &m.diff_cursor,
        focused,
        t,
        |i| {
            let c = &m.diff[i];
            let scale = c.currency.scale();
            // a net credit is positive: shown as debit or credit, never signed
            let dr_cr = |a: rust_decimal::Decimal| {
                if a.is_zero() {
                    "—".to_string()
                } else if a.is_sign_positive() {
                    format!("{} Cr", money(a, scale))
                } else {
                    format!("{} Dr", money(-a, scale))
                }
            };
            let mut cells = vec![
                Cell::from(c.settlement_id.clone()),
                Cell::from(c.period.clone()),
                Cell::from(c.account.clone()),
                right(dr_cr(c.after)),
                right(dr_cr(c.delta())),
            ];
            if with_before {
                cells.insert(3, right(dr_cr(c.before)));
            }
            Row::new(cells)
        },
    );
    if m.diff.is_empty() && !pending {
        let note = if m.dirty() {
            "The draft changes no proposal."
        } else {
            "No changes: n adds a rule, e edits, d deletes; amounts per line as Dr or Cr."
        };
        empty_note(f, right_area, note, t);
    }
}
