//! Screen geometry, shared by rendering and by `update` (scroll windows, mouse hits).
//!
//! Pure functions of the terminal size so the app stays testable without a terminal.

use ratatui::layout::Rect;

/// Terminal width from which panes sit side by side instead of stacked.
pub const WIDE: u16 = 120;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameAreas {
    pub tabs: Rect,
    pub main: Rect,
    pub hints: Rect,
    pub status: Rect,
}

pub fn frame(area: Rect) -> FrameAreas {
    let h = area.height;
    let main_h = h.saturating_sub(3);
    FrameAreas {
        tabs: Rect {
            height: 1.min(h),
            ..area
        },
        main: Rect {
            y: area.y + 1.min(h),
            height: main_h,
            ..area
        },
        hints: Rect {
            y: area.y + h.saturating_sub(2),
            height: if h >= 3 { 1 } else { 0 },
            ..area
        },
        status: Rect {
            y: area.y + h.saturating_sub(1),
            height: if h >= 2 { 1 } else { 0 },
            ..area
        },
    }
}

/// Two panes: side by side on wide terminals, stacked otherwise.
pub fn two_panes(main: Rect, first_percent: u16) -> (Rect, Rect) {
    if main.width >= WIDE {
        let w1 = main.width * first_percent / 100;
        (
            Rect { width: w1, ..main },
            Rect {
                x: main.x + w1,
                width: main.width - w1,
                ..main
            },
        )
    } else {
        let h1 = main.height * first_percent / 100;
        (
            Rect { height: h1, ..main },
            Rect {
                y: main.y + h1,
                height: main.height - h1,
                ..main
            },
        )
    }
}

/// Verdict columns of the review header at this width.
pub fn verdict_columns(width: u16) -> u16 {
    (width / 60).clamp(1, 3)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReviewAreas {
    pub header: Rect,
    /// Groups / rows / order drill-down.
    pub left: Rect,
    /// Journal lines of the current period.
    pub right: Rect,
}

/// Lines the verdicts take in the review header: a grid on wide terminals;
/// on narrow ones one line of marks plus one line for the first problem.
pub fn verdict_lines(width: u16, verdicts: u16) -> u16 {
    if width >= WIDE {
        verdicts.div_ceil(verdict_columns(width))
    } else {
        2
    }
}

pub fn review(main: Rect, verdicts: u16) -> ReviewAreas {
    // borders, the summary line, the verdicts
    let header_h = (3 + verdict_lines(main.width, verdicts)).min(main.height);
    let header = Rect {
        height: header_h,
        ..main
    };
    let rest = Rect {
        y: main.y + header_h,
        height: main.height - header_h,
        ..main
    };
    let (left, right) = two_panes(rest, 50);
    ReviewAreas {
        header,
        left,
        right,
    }
}

/// Batch list above (or beside) the selected batch's line errors.
pub fn batches(main: Rect) -> (Rect, Rect) {
    let h1 = main.height * 60 / 100;
    (
        Rect { height: h1, ..main },
        Rect {
            y: main.y + h1,
            height: main.height - h1,
            ..main
        },
    )
}

/// Rule list and the proposal diff.
pub fn mapping(main: Rect) -> (Rect, Rect) {
    two_panes(main, 55)
}

/// Rows of a bordered table pane with one header line.
pub fn table_rows(pane: Rect) -> usize {
    pane.height.saturating_sub(3) as usize
}

/// The body row (0-based) under a mouse position in a bordered table pane.
pub fn table_hit(pane: Rect, column: u16, row: u16) -> Option<usize> {
    let inside = column > pane.x
        && column < pane.x + pane.width.saturating_sub(1)
        && row >= pane.y + 2
        && row < pane.y + pane.height.saturating_sub(1);
    inside.then(|| (row - pane.y - 2) as usize)
}

pub fn contains(r: Rect, column: u16, row: u16) -> bool {
    column >= r.x && column < r.x + r.width && row >= r.y && row < r.y + r.height
}

/// A centred dialog of at most `w`×`h`.
pub fn dialog(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}
