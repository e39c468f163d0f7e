//! The workstation's Elm-style core: state, messages, `update`, effects.
//!
//! The UI task alone owns [`AppState`]; terminal events and data from the sync
//! layer arrive as [`Msg`]s, [`update`] changes the state and returns
//! [`Effect`]s for the sync layer to run. Nothing here does IO, so every screen
//! and every workflow is testable without a terminal (see `tests/tui.rs`).
//! The terminal event loop lives in `ui::run` (it renders).

pub mod effect;
pub mod export;
pub mod keymap;
pub mod layout;
pub mod mapping_draft;
pub mod msg;
pub mod order;
pub mod state;
pub mod update;
pub mod view;

pub use effect::{Approval, Effect};
pub use msg::Msg;
pub use state::{AppState, Screen};
pub use update::update;
