//! EBS import status: per batch the GROUP_ID, request id, phase and status as
//! EBS reports them, and the selected batch's line errors with their EBS codes.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Row};

use super::theme::Theme;
use super::widgets::{empty_note, money, pane, right, windowed_table};
use crate::app::layout;
use crate::app::state::{AppState, BatchPane};
use crate::app::view::{BatchHistoryView, BatchView, ErrorRow, LineErrorView};
use crate::ledger::money::Currency;
use crate::ledger::state::BatchState;
use ratatui::widgets::{Block, Paragraph, Wrap};

pub fn render(f: &mut Frame, area: Rect, s: &AppState, t: &Theme) {
    let (top, bottom) = layout::batches(area);
    let wide = area.width >= 110;
    let b = &s.batches;
    let mut title = vec![Span::styled(
        format!(" Journal batches ({}) ", b.visible.len()),
        t.title(),
    )];
    if !b.selected.is_empty() {
        title.push(Span::raw(format!("· {} selected ", b.selected.len())));
    }
    if !s.search.query.is_empty() {
        title.push(Span::raw(format!("· /{} ", s.search.query)));
    }
    let mut header = vec![
        "",
        "settlement",
        "period",
        "state",
        "rev",
        "group",
        "request",
        "phase/status",
    ];
    let mut widths = vec![
        Constraint::Length(1),
        Constraint::Length(12),
        Constraint::Length(7),
        Constraint::Length(13),
        Constraint::Length(3),
        Constraint::Length(7),
        Constraint::Length(8),
        Constraint::Min(12),
    ];
    if wide {
        header.extend(["lines", "debit", "ledger"]);
        widths.extend([
            Constraint::Length(5),
            Constraint::Length(12),
            Constraint::Length(18),
        ]);
    }
    windowed_table(
        f,
        top,
        pane(Line::from(title), b.pane == BatchPane::List, t),
        header,
        widths,
        b.visible.len(),
        &b.cursor,
        b.pane == BatchPane::List,
        t,
        |i| {
            let x = &b.all[b.visible[i]];
            let dash = || "—".to_string();
            let phase = match (&x.phase, &x.status) {
                (Some(p), Some(st)) => format!("{p}/{st}"),
                (Some(p), None) => p.clone(),
                _ => dash(),
            };
            let mut cells = vec![
                Cell::from(if b.selected.contains(&x.key) { "x" } else { "" }),
                Cell::from(x.key.settlement_id.clone()),
                Cell::from(x.key.period.clone()),
                Cell::from(Span::styled(x.state.as_str(), t.state(x.state))),
                right(x.revision.to_string()),
                Cell::from(x.group_id.clone().unwrap_or_else(dash)),
                Cell::from(x.request_id.clone().unwrap_or_else(dash)),
                Cell::from(phase),
            ];
            if wide {
                cells.push(right(x.line_count.to_string()));
                cells.push(right(money(x.total_debit, x.currency.scale())));
                cells.push(Cell::from(x.ledger.clone()));
            }
            Row::new(cells)
        },
    );
    if b.all.is_empty() {
        empty_note(f, top, "No journal batches yet.", t);
    }
    let sel = s.selected_batch();
    let errors = sel.map_or(&[][..], |x| &x.line_errors[..]);
    let rows = sel.map(|x| x.error_rows()).unwrap_or_default();
    let sid = sel.map_or("", |x| x.key.settlement_id.as_str());
    let title = match sel {
        Some(x) => {
            let mut spans = vec![Span::styled(format!(" {} ", x.key), t.title())];
            if !errors.is_empty() {
                spans.push(Span::styled(
                    format!("{} line error(s) ", errors.len()),
                    t.error(),
                ));
            }
            if let Some(r) = &x.reason {
                spans.push(Span::raw(format!("· {r} ")));
            }
            if let Some(who) = &x.approved_by {
                spans.push(Span::styled(format!("· approved by {who} "), t.dim()));
            }
            match s.approvers.get(&x.key) {
                Some(Ok(())) if x.state.can_move_to(BatchState::Approved) => {
                    spans.push(Span::styled("· you may approve ", t.ok()));
                }
                Some(Err(r)) if x.state.can_move_to(BatchState::Approved) => {
                    spans.push(Span::styled(format!("· {} ", r.summary()), t.error()));
                }
                _ => {}
            }
            Line::from(spans)
        }
        None => Line::from(" Line errors "),
    };
    let focused = b.pane == BatchPane::Errors;
    if let Some(x) = sel
        && x.state == BatchState::Vanished
    {
        vanished(f, bottom, x, s, pane(title, focused, t), t);
        return;
    }
    // a batch posted more than once: its revisions below its errors
    let bottom = match sel.and_then(|x| s.histories.get(&x.key)) {
        Some(h) if !h.revisions.is_empty() && bottom.height >= 8 => {
            let n = (h.revisions.len() as u16 + 2).min(bottom.height / 2);
            let below = Rect {
                y: bottom.y + bottom.height - n,
                height: n,
                ..bottom
            };
            f.render_widget(
                Paragraph::new(revision_lines(h, t)).block(pane(
                    Line::from(Span::styled(" Revisions in EBS ", t.title())),
                    false,
                    t,
                )),
                below,
            );
            Rect {
                height: bottom.height - n,
                ..bottom
            }
        }
        _ => bottom,
    };
    // what EBS said, in words; the line as the orders behind it
    let orders = |e: &LineErrorView| {
        let ids = e.order_ids(sid);
        if ids.is_empty() {
            "(settlement-level)".to_string()
        } else {
            ids.join(", ")
        }
    };
    let mut header = vec!["error", "account", "orders behind the line"];
    let mut widths = vec![
        Constraint::Length(30),
        Constraint::Length(20),
        Constraint::Min(12),
    ];
    if wide {
        header.push("EBS message");
        widths.push(Constraint::Percentage(40));
    }
    windowed_table(
        f,
        bottom,
        pane(title, focused, t),
        header,
        widths,
        rows.len(),
        &b.errors,
        focused,
        t,
        |i| match &rows[i] {
            ErrorRow::Rejected(e) => {
                let mut cells = vec![
                    Cell::from(Span::styled(e.code_in_words(), t.error())),
                    Cell::from(e.account.clone()),
                    Cell::from(orders(e)),
                ];
                if wide {
                    cells.push(Cell::from(e.message.clone()));
                }
                Row::new(cells)
            }
            ErrorRow::NotImported(list) => {
                let ids: Vec<&str> = list.iter().flat_map(|e| e.order_ids(sid)).collect();
                Row::new(vec![
                    Cell::from(Span::styled(
                        format!("{} more line(s) not imported", list.len()),
                        t.dim(),
                    )),
                    Cell::from(Span::styled("another line was rejected", t.dim())),
                    Cell::from(Span::styled(ids.join(", "), t.dim())),
                ])
            }
        },
    );
    if let Some(x) = sel
        && errors.is_empty()
    {
        match s.approvers.get(&x.key) {
            Some(Err(r)) if x.state.can_move_to(BatchState::Approved) => {
                empty_note(f, bottom, &r.summary(), t);
            }
            _ => empty_note(f, bottom, "EBS reported no line errors for this batch.", t),
        }
    }
}

/// A vanished batch: its history from the audit trail and what can be done.
fn vanished(f: &mut Frame, area: Rect, x: &BatchView, s: &AppState, block: Block, t: &Theme) {
    let when = |at: chrono::DateTime<chrono::Utc>| at.format("%Y-%m-%d %H:%M UTC").to_string();
    let mut lines: Vec<Line> = Vec::new();
    match s.histories.get(&x.key) {
        None => lines.push(Line::from(Span::styled("loading its history…", t.dim()))),
        Some(h) => {
            let journals = if h.journal_ids.is_empty() {
                "its journal(s)".to_string()
            } else {
                format!("EBS journal(s) {}", h.journal_ids.join(", "))
            };
            lines.push(Line::from(vec![
                Span::styled("Imported      ", t.dim()),
                Span::raw(match h.imported_at {
                    Some(at) => format!("{} as revision {}: {journals}", when(at), x.revision),
                    None => format!("revision {}: {journals}", x.revision),
                }),
            ]));
            lines.push(Line::from(vec![
                Span::styled("Seen missing  ", t.dim()),
                Span::styled(
                    match h.missing_since {
                        Some(at) => format!("{}: deleted in EBS after import", when(at)),
                        None => "deleted in EBS after import".into(),
                    },
                    t.error(),
                ),
            ]));
        }
    }
    lines.push(Line::from(vec![
        Span::styled("p", t.title()),
        Span::raw(format!(
            " re-post as revision {} (approve, then post)   ",
            x.revision + 1
        )),
        Span::styled("A", t.title()),
        Span::raw(" archive (nothing sent to EBS)"),
    ]));
    if let Some(h) = s.histories.get(&x.key) {
        lines.extend(revision_lines(h, t));
        lines.push(Line::from(Span::styled("History", t.header())));
        let room = area.height.saturating_sub(2 + lines.len() as u16) as usize;
        let skip = h.entries.len().saturating_sub(room);
        for e in &h.entries[skip..] {
            lines.push(Line::from(vec![
                Span::styled(format!("{} ", e.at.format("%Y-%m-%d %H:%M UTC")), t.dim()),
                Span::raw(format!("{:<10} {:<11} {}", e.actor, e.action, e.detail)),
            ]));
        }
    }
    f.render_widget(
        Paragraph::new(lines).block(block).wrap(Wrap { trim: true }),
        area,
    );
}

/// One line per revision sent to EBS: what it was, its journal(s), debit, credit, currency.
fn revision_lines<'a>(h: &BatchHistoryView, t: &Theme) -> Vec<Line<'a>> {
    h.revisions
        .iter()
        .map(|r| {
            let scale = Currency::new(&r.currency).scale();
            let ids = if r.journal_ids.is_empty() {
                "—".to_string()
            } else {
                r.journal_ids.join(",")
            };
            Line::from(vec![
                Span::styled(format!("r{:<3}", r.revision), t.title()),
                Span::raw(format!(
                    "{:<14} {:<8} {:<18} Dr {:>10} Cr {:>10} {}",
                    r.what,
                    ids,
                    r.journal_name,
                    money(r.debit, scale),
                    money(r.credit, scale),
                    r.currency
                )),
            ])
        })
        .collect()
}
