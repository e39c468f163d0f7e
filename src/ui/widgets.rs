//! Small shared pieces: bordered panes, windowed tables, money cells.

use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Flex, Layout, Rect};
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

/// The widths of a bordered table's columns in `area`, as the table lays them out.
pub fn column_widths(area: Rect, widths: &[Constraint]) -> Vec<u16> {
    let inner = Rect::new(0, 0, area.width.saturating_sub(2), 1);
    Layout::horizontal(widths.to_vec())
        .flex(Flex::Start)
        .spacing(1)
        .split(inner)
        .iter()
        .map(|r| r.width)
        .collect()
}

/// `text` in `width` columns: whole when it fits, else its start and its end
/// around `…`, so texts that differ only at the end (two
/// `MarketplaceFacilitatorTax-…` groups) stay apart.
pub fn fit_middle(text: &str, width: u16) -> String {
    let width = width as usize;
    let n = text.chars().count();
    if n <= width {
        return text.to_string();
    }
    if width < 2 {
        return text.chars().take(width).collect();
    }
    let tail = (width - 1) / 2;
    let head = width - 1 - tail;
    let start: String = text.chars().take(head).collect();
    let end: String = text.chars().skip(n - tail).collect();
    format!("{start}…{end}")
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cut_descriptions_stay_apart() {
        let a = fit_middle("MarketplaceFacilitatorTax-Principal", 22);
        let b = fit_middle("MarketplaceFacilitatorTax-Shipping", 22);
        assert_ne!(a, b);
        assert_eq!(a.chars().count(), 22);
        assert_eq!(fit_middle("Commission", 22), "Commission");
    }
}
