//! The settlements list: every pulled settlement, its status and chain gaps.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Row};

use super::theme::Theme;
use super::widgets::{empty_note, money, pane, right, windowed_table};
use crate::app::state::AppState;

pub fn render(f: &mut Frame, area: Rect, s: &AppState, t: &Theme) {
    let wide = area.width >= 110;
    let mut title = vec![Span::styled(
        format!(
            " Settlements ({}/{}) ",
            s.visible.len(),
            s.settlements.len()
        ),
        t.title(),
    )];
    title.push(Span::raw(format!("· filter: {} ", s.filter.label())));
    if !s.search.query.is_empty() {
        title.push(Span::raw(format!("· /{} ", s.search.query)));
    }
    let gaps = s.settlements.iter().filter(|x| x.gap_before).count();
    if gaps > 0 {
        title.push(Span::styled(format!("· {gaps} gap(s) ⚠ "), t.warn()));
    }
    let block = pane(Line::from(title), true, t);
    let mut header = vec![
        "",
        "settlement",
        "marketplace",
        "period",
        "total",
        "cur",
        "status",
    ];
    let mut widths = vec![
        Constraint::Length(1),
        Constraint::Length(12),
        Constraint::Length(12),
        Constraint::Length(18),
        Constraint::Length(12),
        Constraint::Length(3),
        Constraint::Min(10),
    ];
    if wide {
        header.insert(2, "seller");
        widths.insert(2, Constraint::Length(18));
        // what reached the bank, and when; then what was carried in and held back
        header.splice(6..6, ["deposit", "deposited", "carried", "reserve"]);
        widths.splice(
            6..6,
            [
                Constraint::Length(10),
                Constraint::Length(12),
                Constraint::Length(10),
                Constraint::Length(10),
            ],
        );
        header.push("batches");
        widths.push(Constraint::Length(7));
    }
    windowed_table(
        f,
        area,
        block,
        header,
        widths,
        s.visible.len(),
        &s.list,
        true,
        t,
        |i| {
            let x = &s.settlements[s.visible[i]];
            let gap = if x.gap_before {
                Cell::from(Span::styled("⚠", t.warn()))
            } else {
                Cell::from("")
            };
            let mut cells = vec![
                gap,
                Cell::from(x.settlement_id.clone()),
                Cell::from(x.marketplace.clone()),
                Cell::from(format!("{} → {}", x.start, x.end.format("%m-%d"))),
                right(money(x.total, x.currency.scale())),
                Cell::from(x.currency.code().to_string()),
                Cell::from(Span::styled(x.status.as_str(), t.state(x.status))),
            ];
            if wide {
                cells.insert(2, Cell::from(x.seller.clone()));
                let scale = x.currency.scale();
                cells.splice(
                    6..6,
                    [
                        Cell::from(x.deposit_date.map(|d| d.to_string()).unwrap_or_default()),
                        right(money(x.deposited(), scale)),
                        right(money(x.carried, scale)),
                        right(money(x.reserve, scale)),
                    ],
                );
                cells.push(right(x.batches.to_string()));
            }
            Row::new(cells)
        },
    );
    if s.settlements.is_empty() {
        empty_note(f, area, "No settlements yet — r pulls from Amazon.", t);
    } else if s.visible.is_empty() {
        empty_note(f, area, "Nothing matches the filter (f) or search (/).", t);
    }
}
