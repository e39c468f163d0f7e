//! Settlement review: verdicts, rows grouped by type beside the proposed GL
//! journal of each period; drill-down to rows and orders. Unmapped rows stand out.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row};

use super::theme::Theme;
use super::widgets::{
    column_widths, dr_cr, empty_note, fit_middle, money, pane, right, windowed_table,
};
use crate::app::layout;
use crate::app::state::{AppState, Drill, ReviewPane};
use crate::app::view::{SettlementDetail, VerdictLevel};
use crate::ledger::journal::LineKind;
use crate::ledger::model::PostedAt;

pub fn render(f: &mut Frame, area: Rect, s: &AppState, t: &Theme) {
    let other = |d: &SettlementDetail| {
        s.loading_detail
            .as_ref()
            .is_some_and(|id| *id != d.summary.settlement_id)
    };
    let Some(d) = s.detail.as_ref().filter(|d| !other(d)) else {
        let text = match &s.loading_detail {
            Some(id) => format!("Loading settlement {id}…"),
            None => "No settlement open: pick one in the list (1) and press enter.".into(),
        };
        f.render_widget(pane(" Review ", true, t), area);
        empty_note(f, area, &text, t);
        return;
    };
    let areas = layout::review(area, d.verdicts.len() as u16);
    header(f, areas.header, d, s, t);
    left(f, areas.left, d, s, t);
    journal(f, areas.right, d, s, t);
}

fn header(f: &mut Frame, area: Rect, d: &SettlementDetail, s: &AppState, t: &Theme) {
    let v = &d.summary;
    let title = Line::from(vec![
        Span::styled(format!(" Settlement {} ", v.settlement_id), t.title()),
        Span::raw(format!("· {} · {} · ", v.seller, v.marketplace)),
        Span::styled(v.status.as_str(), t.state(v.status)),
        Span::raw(" "),
    ]);
    let block = pane(title, false, t);
    let inner = block.inner(area);
    f.render_widget(block, area);
    let scale = v.currency.scale();
    let mut lines = vec![Line::from(vec![
        Span::raw(format!("{} → {}", v.start, v.end)),
        Span::styled(" deposit ", t.dim()),
        Span::raw(v.deposit_date.map(|x| x.to_string()).unwrap_or("—".into())),
        Span::styled(" total ", t.dim()),
        Span::styled(
            format!("{} {}", money(v.total, scale), v.currency.code()),
            t.title(),
        ),
        Span::styled(" rows ", t.dim()),
        Span::raw(d.rows.len().to_string()),
        Span::styled(" → ", t.dim()),
        Span::raw(format!("{} / {}", d.target.ledger, d.target.operating_unit)),
    ])];
    if let Some(c) = &d.target.ledger_currency {
        lines[0].push_span(Span::styled(" ledger currency ", t.dim()));
        lines[0].push_span(Span::raw(c.code().to_string()));
    }
    if s.loading_detail.is_some() {
        lines[0].push_span(Span::styled(" (refreshing…)", t.dim()));
    }
    if area.width < layout::WIDE {
        // one line of marks, then the first problem spelled out
        let mut marks = Vec::new();
        for verdict in &d.verdicts {
            let (style, mark) = t.verdict(verdict.level);
            marks.push(Span::styled(format!("{mark} {}  ", verdict.label), style));
        }
        lines.push(Line::from(marks));
        let problem = d
            .verdicts
            .iter()
            .find(|v| v.level == VerdictLevel::Fail)
            .or_else(|| d.verdicts.iter().find(|v| v.level != VerdictLevel::Ok));
        lines.push(match problem {
            Some(v) => {
                let (style, mark) = t.verdict(v.level);
                Line::from(Span::styled(
                    format!("{mark} {}: {}", v.label, v.detail),
                    style,
                ))
            }
            None => Line::from(Span::styled("all checks pass", t.ok())),
        });
        f.render_widget(Paragraph::new(lines), inner);
        return;
    }
    let cols = layout::verdict_columns(area.width) as usize;
    let width = (inner.width as usize / cols).max(1);
    for chunk in d.verdicts.chunks(cols) {
        let mut spans = Vec::new();
        for verdict in chunk {
            let (style, mark) = t.verdict(verdict.level);
            let text = format!("{mark} {:<15} {}", verdict.label, verdict.detail);
            let text: String = text.chars().take(width.saturating_sub(1)).collect();
            let pad = width.saturating_sub(text.chars().count());
            spans.push(Span::styled(text, style));
            spans.push(Span::raw(" ".repeat(pad)));
        }
        lines.push(Line::from(spans));
    }
    f.render_widget(Paragraph::new(lines), inner);
}

fn posted(p: Option<PostedAt>) -> String {
    match p {
        // instants are stored in UTC: say so
        Some(PostedAt::Instant(i)) => i.format("%Y-%m-%d %H:%M UTC").to_string(),
        Some(PostedAt::Day(day)) => day.to_string(),
        None => String::new(),
    }
}

fn left(f: &mut Frame, area: Rect, d: &SettlementDetail, s: &AppState, t: &Theme) {
    let focused = s.review.pane == ReviewPane::Rows;
    let scale = d.summary.currency.scale();
    match &s.review.drill {
        Drill::Groups => {
            let shown = d.shown_groups(s.review.period);
            let unmapped = shown
                .iter()
                .filter(|pg| d.groups[pg.group].unmapped)
                .count();
            // the rows of the selected period only, once rows know their period
            let of = match d.proposal.journals.get(s.review.period) {
                Some(j) if !d.period_groups.is_empty() => format!(" of {}", j.period),
                _ => String::new(),
            };
            let mut title = vec![Span::styled(
                format!(" Rows{of} by type ({} groups) ", shown.len()),
                t.title(),
            )];
            let elsewhere = d.groups.iter().filter(|g| g.unmapped).count();
            if unmapped > 0 {
                title.push(Span::styled(format!(" {unmapped} UNMAPPED "), t.unmapped()));
                title.push(Span::raw(" "));
            } else if elsewhere > 0 {
                // not in this period's rows, but the settlement cannot be approved
                title.push(Span::styled(
                    format!(" {elsewhere} UNMAPPED in another period "),
                    t.unmapped(),
                ));
                title.push(Span::raw(" "));
            }
            let widths = vec![
                Constraint::Length(1),
                Constraint::Percentage(20),
                Constraint::Percentage(20),
                Constraint::Percentage(35),
                Constraint::Length(7),
                Constraint::Length(12),
            ];
            let cols = column_widths(area, &widths);
            let grand: rust_decimal::Decimal = shown.iter().map(|pg| pg.total).sum();
            let rows: u64 = shown.iter().map(|pg| pg.rows).sum();
            windowed_table(
                f,
                area,
                pane(Line::from(title), focused, t).title_bottom(Span::styled(
                    format!(" {} rows · total {} ", rows, money(grand, scale)),
                    t.title(),
                )),
                vec!["", "type", "amount type", "description", "rows", "total"],
                widths,
                shown.len(),
                &s.review.groups,
                focused,
                t,
                |i| {
                    let pg = &shown[i];
                    let g = &d.groups[pg.group];
                    let row = Row::new(vec![
                        Cell::from(if g.unmapped { "!" } else { "" }),
                        Cell::from(g.transaction_type.clone()),
                        Cell::from(g.amount_type.clone()),
                        Cell::from(fit_middle(&g.amount_description, cols[3])),
                        right(pg.rows.to_string()),
                        right(money(pg.total, scale)),
                    ]);
                    if g.unmapped {
                        row.style(t.unmapped())
                    } else {
                        row
                    }
                },
            );
        }
        Drill::Rows { group } => {
            let shown = d.shown_groups(s.review.period);
            let Some(pg) = shown.get(*group) else {
                return;
            };
            let g = &d.groups[pg.group];
            let rows = d.period_group_rows(pg);
            let title = format!(
                " {} / {} / {} · {} rows · {} ",
                g.transaction_type,
                g.amount_type,
                g.amount_description,
                pg.rows,
                money(pg.total, scale)
            );
            let block = pane(
                Span::styled(title, if g.unmapped { t.unmapped() } else { t.title() }),
                focused,
                t,
            );
            windowed_table(
                f,
                area,
                block,
                vec!["line", "order", "sku", "posted", "amount"],
                vec![
                    Constraint::Length(7),
                    Constraint::Length(19),
                    Constraint::Percentage(25),
                    Constraint::Length(20),
                    Constraint::Length(11),
                ],
                rows.len(),
                &s.review.rows,
                focused,
                t,
                |i| {
                    let r = &d.rows[rows[i] as usize];
                    Row::new(vec![
                        right(r.line.to_string()),
                        Cell::from(r.order_id.clone()),
                        Cell::from(r.sku.clone()),
                        Cell::from(posted(r.posted)),
                        right(money(r.amount, scale)),
                    ])
                },
            );
        }
        Drill::Line { line, rows } => {
            let Some(l) = d
                .proposal
                .journals
                .get(s.review.period)
                .and_then(|j| j.lines.get(*line))
            else {
                return;
            };
            let total: rust_decimal::Decimal =
                rows.iter().map(|i| d.rows[*i as usize].amount).sum();
            let title = format!(
                " Rows behind {} {} · {} rows · {} ",
                l.account,
                l.label,
                rows.len(),
                money(total, scale)
            );
            let widths = vec![
                Constraint::Length(7),
                Constraint::Percentage(20),
                Constraint::Percentage(35),
                Constraint::Length(19),
                Constraint::Length(11),
            ];
            let cols = column_widths(area, &widths);
            windowed_table(
                f,
                area,
                pane(Span::styled(title, t.title()), focused, t),
                vec!["line", "type", "description", "order", "amount"],
                widths,
                rows.len(),
                &s.review.order,
                focused,
                t,
                |i| {
                    let r = &d.rows[rows[i] as usize];
                    Row::new(vec![
                        right(r.line.to_string()),
                        Cell::from(r.transaction_type.clone()),
                        Cell::from(fit_middle(&r.amount_description, cols[2])),
                        Cell::from(r.order_id.clone()),
                        right(money(r.amount, scale)),
                    ])
                },
            );
        }
        Drill::Order { order_id, rows, .. } => {
            let total: rust_decimal::Decimal =
                rows.iter().map(|i| d.rows[*i as usize].amount).sum();
            let title = format!(
                " Order {order_id} · {} rows · {} ",
                rows.len(),
                money(total, scale)
            );
            let order_widths = vec![
                Constraint::Length(7),
                Constraint::Percentage(20),
                Constraint::Percentage(22),
                Constraint::Percentage(35),
                Constraint::Length(11),
            ];
            let cols = column_widths(area, &order_widths);
            windowed_table(
                f,
                area,
                pane(Span::styled(title, t.title()), focused, t).title_bottom(Span::styled(
                    // the order as Amazon reported it, beside its settlement rows
                    match s.orders.get(order_id) {
                        None => " loading the order… ".to_string(),
                        Some(None) => " order data not pulled from Amazon ".to_string(),
                        Some(Some(o)) => format!(" {} ", o.summary()),
                    },
                    t.dim(),
                )),
                vec!["line", "type", "amount type", "description", "amount"],
                order_widths,
                rows.len(),
                &s.review.order,
                focused,
                t,
                |i| {
                    let r = &d.rows[rows[i] as usize];
                    Row::new(vec![
                        right(r.line.to_string()),
                        Cell::from(r.transaction_type.clone()),
                        Cell::from(r.amount_type.clone()),
                        Cell::from(fit_middle(&r.amount_description, cols[3])),
                        right(money(r.amount, scale)),
                    ])
                },
            );
        }
    }
}

fn journal(f: &mut Frame, area: Rect, d: &SettlementDetail, s: &AppState, t: &Theme) {
    let focused = s.review.pane == ReviewPane::Journal;
    let scale = d.summary.currency.scale();
    let journals = &d.proposal.journals;
    let Some(j) = journals.get(s.review.period) else {
        f.render_widget(pane(" Journal ", focused, t), area);
        empty_note(f, area, "No journal proposed.", t);
        return;
    };
    let batch = d.batch(&j.period);
    let picked = s.review.selected.contains(&j.period);
    let mut title = vec![
        Span::styled(
            format!(
                " {}Journal {} ({}/{}) ",
                if picked { "[x] " } else { "" },
                j.period,
                s.review.period + 1,
                journals.len()
            ),
            t.title(),
        ),
        Span::raw(format!("dated {} ", j.accounting_date)),
    ];
    if let Some(b) = batch {
        title.push(Span::styled(b.state.as_str(), t.state(b.state)));
        title.push(Span::raw(format!(" rev {} ", b.revision)));
        if !b.line_errors.is_empty() {
            title.push(Span::styled(
                format!("{} EBS error(s): 3 ", b.line_errors.len()),
                t.error(),
            ));
        }
    }
    let balance = if j.is_balanced() {
        Span::styled(" balanced ", t.ok())
    } else {
        Span::styled(" UNBALANCED ", t.error())
    };
    // a foreign-currency settlement: the ledger's accounted amounts beside the entered ones
    let accounted = d
        .accounted
        .get(s.review.period)
        .filter(|a| !a.is_empty() && area.width >= 70);
    let ledger_currency = d
        .target
        .ledger_currency
        .clone()
        .unwrap_or_else(|| d.summary.currency.clone());
    let lscale = ledger_currency.scale();
    let mut bottom = Line::from(vec![
        Span::raw(format!(
            " Dr {} · Cr {} ·",
            money(j.total_debit, scale),
            money(j.total_credit, scale)
        )),
        balance,
    ]);
    if let Some(a) = accounted {
        let (dr, cr) = a.iter().flatten().fold(
            Default::default(),
            |(x, y): (rust_decimal::Decimal, _), (d, c)| (x + d, y + c),
        );
        bottom.push_span(Span::raw(format!(
            "· accounted ({}) Dr {} · Cr {} ",
            ledger_currency.code(),
            money(dr, lscale),
            money(cr, lscale)
        )));
    }
    let block = pane(Line::from(title), focused, t).title_bottom(bottom);
    let zero = &j.zero_net;
    let ar = ar_lines(d, &j.period);
    let n = j.lines.len() + zero.len() + ar.len();
    let mut header = vec!["", "account", "label", "debit", "credit", "rows"];
    let mut widths = vec![
        Constraint::Length(1),
        Constraint::Length(20),
        Constraint::Min(12),
        Constraint::Length(11),
        Constraint::Length(11),
        Constraint::Length(6),
    ];
    if accounted.is_some() {
        // the accounted pair takes the place of the row count
        header.pop();
        widths.pop();
        header.extend(["acc. dr", "acc. cr"]);
        widths.extend([Constraint::Length(10), Constraint::Length(10)]);
    }
    let acc_cells = |i: usize| -> Vec<Cell> {
        match accounted {
            None => Vec::new(),
            Some(a) => match a.get(i).copied().flatten() {
                Some((dr, cr)) => vec![right(dr_cr(dr, lscale)), right(dr_cr(cr, lscale))],
                None => vec![right(""), right("")],
            },
        }
    };
    windowed_table(
        f,
        area,
        block,
        header,
        widths,
        n,
        &s.review.lines,
        focused,
        t,
        |i| {
            if let Some(l) = j.lines.get(i) {
                let mut label = l.label.clone();
                if let Some(p) = &l.original_period {
                    label = format!("{label} (from {p})");
                }
                let mark = match l.kind {
                    LineKind::Suspense => "!",
                    LineKind::Difference => "≠",
                    LineKind::Clearing => "=",
                    LineKind::Mapped => "",
                };
                let mut cells = vec![
                    Cell::from(mark),
                    Cell::from(l.account.clone()),
                    Cell::from(label),
                    right(dr_cr(l.debit, scale)),
                    right(dr_cr(l.credit, scale)),
                    right(l.rows.to_string()),
                ];
                if accounted.is_some() {
                    cells.pop();
                    cells.extend(acc_cells(i));
                }
                let row = Row::new(cells);
                match l.kind {
                    LineKind::Suspense | LineKind::Difference => row.style(t.unmapped()),
                    _ => row,
                }
            // AR lines follow the zero-net groups (before them the index wraps and misses)
            } else if let Some(a) = ar.get(i.wrapping_sub(j.lines.len() + zero.len())) {
                let (debit, credit) = if a.amount.is_sign_negative() {
                    (-a.amount, rust_decimal::Decimal::ZERO)
                } else {
                    (rust_decimal::Decimal::ZERO, a.amount)
                };
                Row::new(vec![
                    Cell::from("R"),
                    Cell::from(format!("AR {}", a.customer)),
                    Cell::from(a.description.clone()),
                    right(dr_cr(debit, scale)),
                    right(dr_cr(credit, scale)),
                    right(""),
                ])
            } else {
                let z = &zero[i - j.lines.len()];
                Row::new(vec![
                    Cell::from("0"),
                    Cell::from(z.account.clone()),
                    Cell::from(format!("{} (nets to zero)", z.label)),
                    right(""),
                    right(""),
                    right(z.rows.to_string()),
                ])
                .style(t.dim())
            }
        },
    );
}

/// The AR flow's lines of one period (empty when that flow is off).
pub fn ar_lines<'d>(
    d: &'d SettlementDetail,
    period: &str,
) -> Vec<&'d crate::app::view::ArLineView> {
    d.ar_lines
        .iter()
        .flatten()
        .filter(|a| a.period == period)
        .collect()
}
