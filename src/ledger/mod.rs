//! The pure accounting core: money, settlement parsing, mapping, journals, periods.
//!
//! No IO, no async, no clock: callers pass bytes, calendars and "now" in.

pub mod fx;
pub mod model;
pub mod money;
pub mod state;
