//! Styles, with a monochrome variant for `NO_COLOR` (modifiers only).

use ratatui::style::{Color, Modifier, Style};

use crate::app::view::VerdictLevel;
use crate::ledger::state::BatchState;

#[derive(Debug, Clone, Copy)]
pub struct Theme {
    pub no_color: bool,
}

impl Theme {
    pub fn new(no_color: bool) -> Theme {
        Theme { no_color }
    }

    fn fg(&self, c: Color) -> Style {
        if self.no_color {
            Style::default()
        } else {
            Style::default().fg(c)
        }
    }

    pub fn base(&self) -> Style {
        Style::default()
    }

    pub fn title(&self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    pub fn header(&self) -> Style {
        self.fg(Color::Yellow).add_modifier(Modifier::BOLD)
    }

    pub fn selected(&self) -> Style {
        Style::default().add_modifier(Modifier::REVERSED)
    }

    pub fn focus_border(&self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    pub fn border(&self) -> Style {
        self.fg(Color::DarkGray)
    }

    pub fn dim(&self) -> Style {
        if self.no_color {
            Style::default().add_modifier(Modifier::DIM)
        } else {
            Style::default().fg(Color::DarkGray)
        }
    }

    pub fn error(&self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }

    pub fn warn(&self) -> Style {
        self.fg(Color::Yellow).add_modifier(Modifier::BOLD)
    }

    pub fn ok(&self) -> Style {
        self.fg(Color::Green)
    }

    /// Unmapped rows and suspense lines: must stand out.
    pub fn unmapped(&self) -> Style {
        if self.no_color {
            Style::default().add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
        } else {
            Style::default()
                .fg(Color::Black)
                .bg(Color::Yellow)
                .add_modifier(Modifier::BOLD)
        }
    }

    pub fn state(&self, s: BatchState) -> Style {
        use BatchState::*;
        match s {
            Rejected | Vanished | Inconsistent => self.error(),
            NeedsMapping | NeedsRate => self.warn(),
            Proposed => self.fg(Color::Cyan),
            Approved => self.fg(Color::Blue).add_modifier(Modifier::BOLD),
            Staged | Submitted => self.fg(Color::Magenta),
            Imported | Posted => self.ok(),
            Reversed | Archived => self.dim(),
        }
    }

    pub fn verdict(&self, l: VerdictLevel) -> (Style, &'static str) {
        match l {
            VerdictLevel::Ok => (self.ok(), "✓"),
            VerdictLevel::Warn => (self.warn(), "!"),
            VerdictLevel::Fail => (self.error(), "✗"),
            VerdictLevel::Pending => (self.dim(), "…"),
        }
    }
}
