//! Small shared pieces: bordered panes, windowed tables, money cells.

use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Row, Table};

use super::theme::Theme;
use crate::app::state::Cursor;
use crate::ledger::money::format_amount;
use rust_decimal::Decimal;

pub fn pane<'a>(title: impl Into<Line<'a>>, focused: bool, t: &Theme) -> Block<'a> {
    Block::bordered().title(title).border_style(if focused {
        t.focus_border()
    } else {
        t.border()
    })
}

pub fn right<'a>(s: impl Into<String>) -> Cell<'a> {
    Cell::from(Line::from(s.into()).alignment(Alignment::Right))
}

pub fn money(a: Decimal, scale: u32) -> String {
    format_amount(a, scale)
}

/// Dr / Cr cells: blank when zero.
pub fn dr_cr(a: Decimal, scale: u32) -> String {
    if a.is_zero() {
        String::new()
    } else {
        format_amount(a, scale)
    }
}

/// Renders only the visible window of a list: `row(i)` is called for the
/// indexes shown, never for the rest.
#[allow(clippy::too_many_arguments)]
pub fn windowed_table<'a>(
    f: &mut Frame,
    area: Rect,
    block: Block<'a>,
    header: Vec<&'a str>,
    widths: Vec<Constraint>,
    len: usize,
    cursor: &Cursor,
    focused: bool,
    t: &Theme,
    mut row: impl FnMut(usize) -> Row<'a>,
) {
    let height = area.height.saturating_sub(3) as usize;
    let window = cursor.window(height, len);
    let rows: Vec<Row> = window
        .map(|i| {
            let r = row(i);
            if i == cursor.selected && focused {
                r.style(t.selected())
            } else if i == cursor.selected {
                r.style(t.selected().add_modifier(ratatui::style::Modifier::DIM))
            } else {
                r
            }
        })
        .collect();
    let table = Table::new(rows, widths)
        .header(Row::new(header).style(t.header()))
        .block(block)
        .column_spacing(1);
    f.render_widget(table, area);
}

pub fn empty_note(f: &mut Frame, area: Rect, text: &str, t: &Theme) {
    if area.height < 4 {
        return;
    }
    let inner = Rect {
        x: area.x + 2,
        y: area.y + 2,
        width: area.width.saturating_sub(4),
        height: 1,
    };
    f.render_widget(Line::from(Span::styled(text.to_string(), t.dim())), inner);
}
