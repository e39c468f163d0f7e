//! ml-connector: Amazon Seller Central settlements into Oracle E-Business Suite, proven.
//!
//! Layers import only downward:
//! - [`ledger`]: pure accounting (no IO, no async, no clock).
//! - [`retry`]: the one retry backoff, shared by the clients below which it sits.
//! - [`amazon`] / [`ebs`]: production clients; [`sim`]: faithful simulators of both.
//! - [`config`]: configuration and encrypted credentials; [`store`]: the only sled user.
//! - [`sync`]: background tasks; [`app`] state and update; [`ui`] rendering;
//!   [`workstation`]: the bridge running the app's effects on `sync`; [`cli`] wiring.

pub mod amazon;
pub mod app;
pub mod cli;
pub mod config;
pub mod doctor;
pub mod ebs;
pub mod ledger;
pub mod retry;
pub mod sim;
pub mod store;
pub mod sync;
pub mod ui;
pub mod workstation;
