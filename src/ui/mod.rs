//! Rendering only: draws an [`AppState`] into a ratatui frame. No state changes here.
//!
//! One file per screen or dialog; [`render`] is the only entry point. Screens
//! draw just the rows in view, so frame cost does not grow with settlement size.

pub mod audit;
pub mod batches;
pub mod confirm;
pub mod help;
pub mod mapping;
pub mod review;
pub mod rule_editor;
pub mod run;
pub mod settlements;
pub mod status;
pub mod terminal;
pub mod theme;
pub mod widgets;

use ratatui::Frame;

use crate::app::layout;
use crate::app::state::{AppState, Dialog, Screen};
pub use run::{run_app, run_terminal_app};
use theme::Theme;

/// Draws the whole screen.
pub fn render(f: &mut Frame, s: &AppState) {
    let t = Theme::new(s.no_color);
    let areas = layout::frame(f.area());
    status::tabs(f, areas.tabs, s, &t);
    match s.screen {
        Screen::Settlements => settlements::render(f, areas.main, s, &t),
        Screen::Review => review::render(f, areas.main, s, &t),
        Screen::Batches => batches::render(f, areas.main, s, &t),
        Screen::Mapping => mapping::render(f, areas.main, s, &t),
        Screen::Audit => audit::render(f, areas.main, s, &t),
    }
    status::hints(f, areas.hints, s, &t);
    status::status_bar(f, areas.status, s, &t);
    match &s.dialog {
        Some(Dialog::Help { scroll }) => help::render(f, f.area(), *scroll, &t),
        Some(Dialog::Confirm(c)) => confirm::render(f, f.area(), c, &t),
        Some(Dialog::RuleEditor(ed)) => rule_editor::render(f, f.area(), ed, s, &t),
        None => {}
    }
}
