//! The pure accounting core: money, settlement parsing, mapping, journals, periods.
//!
//! No IO, no async, no clock: callers pass bytes, calendars and "now" in.

pub mod ar;
pub mod fx;
pub mod journal;
pub mod mapping;
pub mod model;
pub mod money;
pub mod parse;
pub mod periods;
pub mod preview;
pub mod proposal_hash;
pub mod state;
