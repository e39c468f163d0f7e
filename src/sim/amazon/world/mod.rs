//! The simulated seller's world: catalog, orders, money movements (transactions),
//! settlement periods. Generated deterministically from the seed, one 14-day period
//! at a time per marketplace, as the simulated clock reaches it.
//!
//! Every money movement is a [`Txn`]; the settlement file rows, the Finances events
//! and the `/_sim/truth` totals are all renderings of the same transactions, so they
//! agree by construction.
//!
//! Split by job: [`marketplaces`] (the static marketplace/region table), [`model`]
//! (catalog, order and transaction types), [`seed`] (seeded randomness and money
//! helpers) and [`generate`] (building the world period by period). `Market` and
//! `World` live here so `generate` can fill their private fields.

mod generate;
mod marketplaces;
mod model;
mod seed;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use super::Scenario;

pub use marketplaces::{MARKETPLACES, MarketplaceInfo, Region, marketplace_by_code};
pub use model::{
    AdjustmentFlavor, Channel, Comp, ItemLine, Order, OrderItem, OrderStatus, Period, Product, Txn,
    TxnKind,
};

/// Settlement period length (Amazon's standard cycle).
pub const PERIOD_DAYS: i64 = 14;
/// Delay between period end and the settlement report's creation.
pub const REPORT_DELAY_MIN: i64 = 45;
/// Report processing: IN_QUEUE for this long, then IN_PROGRESS.
pub const REPORT_QUEUE_MIN: i64 = 2;
pub const REPORT_PROCESS_MIN: i64 = 4;
/// Deposit (fund transfer) date after the period end.
pub const DEPOSIT_DELAY_DAYS: i64 = 2;

/// One marketplace's generated history.
#[derive(Debug)]
pub struct Market {
    pub info: &'static MarketplaceInfo,
    pub catalog: Vec<Product>,
    pub first_start: DateTime<Utc>,
    /// Number of periods closed at the simulation's start time.
    pub closed_at_start: usize,
    pub periods: Vec<Period>,
    pub txns: Vec<Txn>,
    hold: Decimal,
    /// Deposits in another currency (scenario `ForeignDeposit`): that currency and Amazon's
    /// base rate into it.
    pub deposit: Option<(String, Decimal)>,
}

#[derive(Debug)]
pub struct World {
    pub seed: u64,
    pub markets: Vec<Market>,
    pub orders: Vec<Order>,
    scenarios: Vec<Scenario>,
}
