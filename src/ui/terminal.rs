//! Terminal setup and restore: raw mode, alternate screen, mouse capture, and a
//! panic hook that restores the terminal before the panic message is printed.

use crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use std::io::{self, Stdout};

pub type Term = Terminal<CrosstermBackend<Stdout>>;

/// Enters raw mode and the alternate screen with mouse capture, and installs the
/// panic hook.
pub fn setup() -> io::Result<Term> {
    install_panic_hook();
    enable_raw_mode()?;
    let mut out = io::stdout();
    if let Err(e) = execute!(out, EnterAlternateScreen, EnableMouseCapture) {
        let _ = restore();
        return Err(e);
    }
    Terminal::new(CrosstermBackend::new(out))
}

/// Leaves the alternate screen and raw mode; safe to call twice.
pub fn restore() -> io::Result<()> {
    let r1 = execute!(io::stdout(), DisableMouseCapture, LeaveAlternateScreen);
    let r2 = disable_raw_mode();
    let _ = execute!(io::stdout(), crossterm::cursor::Show);
    r1.and(r2)
}

/// Restores the terminal, then runs the previous hook (which prints the panic).
pub fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let _ = restore();
        previous(info);
    }));
}
