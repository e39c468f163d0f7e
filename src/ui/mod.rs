//! Rendering only: turns app state into ratatui widgets.
