//! A faithful stand-in for Amazon SP-API and Login with Amazon, over real HTTP.
//!
//! [`spawn`] binds `127.0.0.1:<port>` and serves LWA (`POST /auth/o2/token`),
//! Orders v0, Finances v0, Reports 2021-06-30 (+ the presigned S3-style document
//! download) and Sellers v1 from one deterministic world generated from the seed.
//! The simulated clock (`start + time_scale × real elapsed + advance()`) drives
//! token expiry, rate-limit buckets, report processing and which settlements exist.
//!
//! Base URL paths: `/orders/v0/…` etc. serve every simulated marketplace; the same
//! paths under `/na/…` or `/eu/…` serve one SP-API region only (point a client's
//! NA endpoint at [`RunningAmazonSim::endpoint`]`(Region::Na)`). Inspection lives
//! under `/_sim/` only (`/_sim/stats`, `/_sim/truth`).

mod buckets;
mod clock;
mod render;
mod server;
mod world;

use chrono::{DateTime, Duration, DurationRound, Utc};
use rust_decimal::Decimal;
use secrecy::SecretString;
use serde::Serialize;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

pub use buckets::{OPERATIONS, OpSpec};
pub use render::V2_HEADER;
pub use world::{MARKETPLACES, MarketplaceInfo, Region};

/// Fault kinds for `--faults`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fault {
    /// 429 QuotaExceeded regardless of the bucket.
    Throttle,
    /// 500 InternalFailure.
    ServerError,
    /// 503 ServiceUnavailable.
    Unavailable,
    /// Close the connection without any response.
    Reset,
    /// Answer correctly after `slow_delay` (real time).
    Slow,
    /// Document download: honest Content-Length, body cut in half, connection closed.
    Truncate,
    /// getReportDocument hands out a URL that has already expired.
    ExpiredUrl,
}

impl Fault {
    pub const ALL: [Fault; 7] = [
        Fault::Throttle,
        Fault::ServerError,
        Fault::Unavailable,
        Fault::Reset,
        Fault::Slow,
        Fault::Truncate,
        Fault::ExpiredUrl,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Fault::Throttle => "429",
            Fault::ServerError => "500",
            Fault::Unavailable => "503",
            Fault::Reset => "reset",
            Fault::Slow => "slow",
            Fault::Truncate => "truncate",
            Fault::ExpiredUrl => "expired-url",
        }
    }

    pub fn parse(s: &str) -> Option<Fault> {
        Fault::ALL
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(s.trim()))
    }

    /// Parses a comma list such as `429,500,reset`.
    pub fn parse_list(s: &str) -> Result<Vec<Fault>, SimError> {
        s.split(',')
            .filter(|p| !p.trim().is_empty())
            .map(|p| {
                Fault::parse(p).ok_or_else(|| {
                    SimError::Config(format!(
                        "unknown fault `{}`: use {}",
                        p.trim(),
                        Fault::ALL.map(|f| f.name()).join(",")
                    ))
                })
            })
            .collect()
    }
}

/// Far more than the generated rows of one settlement (orders, refunds, fees, reserves,
/// a carried negative balance) ever add up to; a scenario amount must leave this much
/// room so that no sum over the settlement overflows.
pub const SETTLEMENT_HEADROOM: i64 = 1_000_000_000_000_000_000;

/// A settlement situation the demo (or a test) wants to be sure exists.
/// Each applies to the settlements already closed at `start_time` of one marketplace.
#[derive(Debug, Clone, PartialEq)]
pub enum Scenario {
    /// The most recent closed settlement spans a month end.
    MonthEndSpan { marketplace: String },
    /// The second most recent closed settlement is negative (seller charged, deposit 0);
    /// the most recent carries it as "Payable to Amazon" plus the "Successful charge".
    NegativeThenCleared { marketplace: String },
    /// The most recent closed settlement has an Order/ItemFees row with this
    /// (unmapped) amount-description, e.g. `NewFeeType2026`.
    UnmappedFee {
        marketplace: String,
        description: String,
        amount: Decimal,
    },
    /// The seller's bank account for this marketplace is in `currency`: Amazon converts
    /// every settlement at its own rate (about `rate`, a little different per settlement)
    /// and reports it as the event group's `ConvertedTotal` (all settlements, not only the
    /// closed ones).
    ForeignDeposit {
        marketplace: String,
        currency: String,
        rate: Decimal,
    },
}

impl Scenario {
    pub fn marketplace(&self) -> &str {
        match self {
            Scenario::MonthEndSpan { marketplace }
            | Scenario::NegativeThenCleared { marketplace }
            | Scenario::UnmappedFee { marketplace, .. }
            | Scenario::ForeignDeposit { marketplace, .. } => marketplace,
        }
    }

    /// Refuses an unmapped-fee amount the settlement's sums could not hold: the world
    /// adds it to the settlement's other rows with plain `Decimal` arithmetic, which
    /// panics on overflow. It must leave [`SETTLEMENT_HEADROOM`] either way.
    pub fn check(&self) -> Result<(), SimError> {
        if let Scenario::UnmappedFee { amount, .. } = self {
            let room = Decimal::from(SETTLEMENT_HEADROOM);
            if amount
                .checked_add(room)
                .and_then(|_| amount.checked_sub(room))
                .is_none()
            {
                return Err(SimError::Config(format!(
                    "scenario unmapped-fee: amount {amount} overflows the settlement total"
                )));
            }
        }
        Ok(())
    }

    /// Parses `month-end:US`, `negative:US`, `unmapped-fee:US` (description
    /// `NewFeeType2026`, amount -1.23), `unmapped-fee:US:MyFee:-4.56` or
    /// `deposit:UK:USD:1.265` (deposits converted into USD at about 1.265).
    pub fn parse(s: &str) -> Result<Scenario, SimError> {
        let parts: Vec<&str> = s.split(':').collect();
        let bad = || {
            SimError::Config(format!(
                "bad scenario `{s}`: use month-end:MP, negative:MP, unmapped-fee:MP[:DESCRIPTION[:AMOUNT]] or deposit:MP:CURRENCY:RATE"
            ))
        };
        let marketplace = parts.get(1).ok_or_else(bad)?.to_ascii_uppercase();
        let scenario = match parts[0] {
            "month-end" if parts.len() == 2 => Scenario::MonthEndSpan { marketplace },
            "negative" if parts.len() == 2 => Scenario::NegativeThenCleared { marketplace },
            "deposit" if parts.len() == 4 => Scenario::ForeignDeposit {
                marketplace,
                currency: parts[2].to_ascii_uppercase(),
                rate: parts[3]
                    .parse()
                    .ok()
                    .filter(|r: &Decimal| *r > Decimal::ZERO)
                    .ok_or_else(bad)?,
            },
            "unmapped-fee" if parts.len() <= 4 => Scenario::UnmappedFee {
                marketplace,
                description: parts.get(2).unwrap_or(&"NewFeeType2026").to_string(),
                amount: match parts.get(3) {
                    Some(a) => a.parse().map_err(|_| bad())?,
                    None => Decimal::new(-123, 2),
                },
            },
            _ => return Err(bad()),
        };
        scenario.check()?;
        Ok(scenario)
    }
}

/// Everything the simulator can be told. `Default` matches the CLI defaults.
#[derive(Debug, Clone)]
pub struct AmazonSimConfig {
    /// 0 = any free port.
    pub port: u16,
    pub seed: u64,
    /// Marketplace country codes (`US`, `CA`, `DE`).
    pub marketplaces: Vec<String>,
    /// Days of already-closed settlements at `start_time` (rounded up to 14-day periods).
    pub history_days: u32,
    /// Simulated seconds per real second; 0 freezes the clock (only `advance` moves it).
    pub time_scale: f64,
    pub client_id: String,
    pub client_secret: SecretString,
    pub refresh_token: SecretString,
    /// Probability (0..=1) that a request gets one of `faults`.
    pub fault_rate: f64,
    pub faults: Vec<Fault>,
    /// Real delay of the `slow` fault.
    pub slow_delay: std::time::Duration,
    /// Serve every report document GZIP-compressed.
    pub gzip: bool,
    /// The simulated epoch (default: now rounded down to the minute).
    pub start_time: DateTime<Utc>,
    /// Added to `start_time`: a simulator whose clock is this far ahead of (positive) or
    /// behind (negative) the client's, world included — clock-skew tests.
    pub clock_offset: Duration,
    pub scenarios: Vec<Scenario>,
}

pub const DEFAULT_CLIENT_ID: &str = "amzn1.application-oa2-client.simulator";
pub const DEFAULT_CLIENT_SECRET: &str = "sim-client-secret";
pub const DEFAULT_REFRESH_TOKEN: &str = "Atzr|sim-refresh-token";

impl Default for AmazonSimConfig {
    fn default() -> Self {
        let now = Utc::now();
        AmazonSimConfig {
            port: 0,
            seed: 1,
            marketplaces: vec!["US".into(), "CA".into(), "DE".into()],
            history_days: 90,
            time_scale: 1.0,
            client_id: DEFAULT_CLIENT_ID.into(),
            client_secret: SecretString::from(DEFAULT_CLIENT_SECRET),
            refresh_token: SecretString::from(DEFAULT_REFRESH_TOKEN),
            fault_rate: 0.0,
            faults: Vec::new(),
            slow_delay: std::time::Duration::from_secs(2),
            gzip: false,
            start_time: now.duration_trunc(Duration::minutes(1)).unwrap_or(now),
            clock_offset: Duration::zero(),
            scenarios: Vec::new(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("invalid simulator configuration: {0}")]
    Config(String),
    #[error("cannot bind 127.0.0.1:{port}: {source}")]
    Bind {
        port: u16,
        #[source]
        source: std::io::Error,
    },
}

/// `/_sim/truth`: what really happened, amounts as decimal strings.
#[derive(Debug, Clone, Serialize)]
pub struct Truth {
    pub now: String,
    pub marketplaces: Vec<TruthMarketplace>,
    pub settlements: Vec<TruthSettlement>,
    pub event_groups: Vec<TruthGroup>,
    pub orders: Vec<TruthOrder>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TruthMarketplace {
    pub code: String,
    pub marketplace_id: String,
    pub currency: String,
    pub region: Region,
}

#[derive(Debug, Clone, Serialize)]
pub struct TruthSettlement {
    pub settlement_id: String,
    pub financial_event_group_id: String,
    pub marketplace_id: String,
    pub currency: String,
    #[serde(with = "rust_decimal::serde::str")]
    pub total_amount: Decimal,
    /// Sum of the settlement's "Payable to Amazon" rows (≤ 0).
    #[serde(with = "rust_decimal::serde::str")]
    pub carried_balance: Decimal,
    /// The total as Amazon converted it for the deposit (`ConvertedTotal`): the total itself
    /// unless the marketplace deposits in another currency.
    #[serde(with = "rust_decimal::serde::str")]
    pub converted_total: Decimal,
    pub converted_currency: String,
    /// What reached the bank: the total, or 0 when the seller was charged.
    #[serde(with = "rust_decimal::serde::str")]
    pub deposit_amount: Decimal,
    pub start: String,
    pub end: String,
    pub deposit_date: String,
    pub report_id: String,
    pub report_document_id: String,
    /// Report processing status now (`IN_QUEUE`, `IN_PROGRESS`, `DONE`).
    pub report_status: String,
    pub row_count: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct TruthGroup {
    pub financial_event_group_id: String,
    pub marketplace_id: String,
    pub currency: String,
    pub processing_status: String,
    pub start: String,
    pub end: Option<String>,
    /// BeginningBalance + all events posted so far.
    #[serde(with = "rust_decimal::serde::str")]
    pub original_total: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub beginning_balance: Decimal,
    /// `ConvertedTotal`: `original_total` in the deposit currency.
    #[serde(with = "rust_decimal::serde::str")]
    pub converted_total: Decimal,
    pub converted_currency: String,
    pub event_count: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct TruthOrder {
    pub amazon_order_id: String,
    pub marketplace_id: String,
    pub purchase_date: String,
    pub status: String,
    pub fulfillment_channel: String,
    pub currency: String,
    /// What the buyer paid (OrderTotal).
    #[serde(with = "rust_decimal::serde::str")]
    pub order_total: Decimal,
}

/// A running simulator. Dropping it does not stop the server; call [`stop`](Self::stop).
pub struct RunningAmazonSim {
    addr: SocketAddr,
    state: Arc<server::State>,
    cancel: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl RunningAmazonSim {
    /// `http://127.0.0.1:PORT` — LWA at `/auth/o2/token`, SP-API for all regions.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// SP-API endpoint of one region (`http://127.0.0.1:PORT/na`).
    pub fn endpoint(&self, region: Region) -> String {
        format!("http://{}/{}", self.addr, region.code())
    }

    /// The LWA token URL.
    pub fn token_url(&self) -> String {
        format!("http://{}/auth/o2/token", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Simulated now.
    pub fn now(&self) -> DateTime<Utc> {
        self.state.clock.now()
    }

    /// Moves simulated time forward (tests: instead of sleeping).
    pub fn advance(&self, by: std::time::Duration) {
        let by = Duration::from_std(by).unwrap_or(Duration::zero());
        self.state.clock.advance(by);
    }

    /// The same document as `GET /_sim/truth`.
    pub fn truth(&self) -> Truth {
        server::truth(&self.state)
    }

    /// The same document as `GET /_sim/stats`.
    pub fn stats(&self) -> serde_json::Value {
        server::stats_json(&self.state)
    }

    pub async fn stop(self) {
        self.cancel.cancel();
        let _ = self.task.await;
    }
}

/// Starts the simulator on `127.0.0.1:config.port`.
pub async fn spawn(config: AmazonSimConfig) -> Result<RunningAmazonSim, SimError> {
    if !(config.time_scale >= 0.0 && config.time_scale.is_finite()) {
        return Err(SimError::Config("time_scale must be ≥ 0".into()));
    }
    if !(0.0..=1.0).contains(&config.fault_rate) {
        return Err(SimError::Config("fault_rate must be within 0..=1".into()));
    }
    for scenario in &config.scenarios {
        scenario.check()?;
    }
    let mut config = config;
    config.start_time += config.clock_offset;
    config.clock_offset = Duration::zero();
    let state = Arc::new(server::State::new(config.clone())?);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", config.port))
        .await
        .map_err(|source| SimError::Bind {
            port: config.port,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| SimError::Bind {
        port: config.port,
        source,
    })?;
    let _ = state.base.set(format!("http://{addr}"));
    let cancel = CancellationToken::new();
    let task = tokio::spawn(server::serve(listener, state.clone(), cancel.clone()));
    Ok(RunningAmazonSim {
        addr,
        state,
        cancel,
        task,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `Decimal::MAX`: what `unmapped-fee:US:Fee:HUGE` asked for in issue 14.
    const HUGE: &str = "79228162514264337593543950335";

    fn overflow_message(amount: &str) -> String {
        format!("scenario unmapped-fee: amount {amount} overflows the settlement total")
    }

    #[test]
    fn an_unmapped_fee_that_overflows_the_settlement_total_is_refused_when_parsed() {
        // The last: representable, but leaves no room for the settlement's other rows.
        for amount in [
            HUGE,
            "-79228162514264337593543950335",
            "79228162514264337593543950000",
        ] {
            let Err(err) = Scenario::parse(&format!("unmapped-fee:US:Fee:{amount}")) else {
                panic!("{amount} accepted");
            };
            assert!(
                err.to_string().contains(&overflow_message(amount)),
                "{amount}: {err}"
            );
        }
        // Large, but room to spare.
        assert!(Scenario::parse("unmapped-fee:US:Fee:-123456789012.34").is_ok());
    }

    fn config_with_fee(amount: Decimal) -> AmazonSimConfig {
        AmazonSimConfig {
            marketplaces: vec!["US".into()],
            history_days: 28,
            time_scale: 0.0,
            scenarios: vec![Scenario::UnmappedFee {
                marketplace: "US".into(),
                description: "Fee".into(),
                amount,
            }],
            ..AmazonSimConfig::default()
        }
    }

    #[tokio::test]
    async fn spawn_refuses_an_overflowing_fee_instead_of_panicking() {
        for amount in [Decimal::MAX, Decimal::MIN] {
            match spawn(config_with_fee(amount)).await {
                Ok(sim) => {
                    sim.stop().await;
                    panic!("{amount} accepted");
                }
                Err(err) => assert!(
                    err.to_string()
                        .contains(&overflow_message(&amount.to_string())),
                    "{err}"
                ),
            }
        }
        let sim = spawn(config_with_fee(Decimal::new(-987_654_321_012_345, 2)))
            .await
            .expect("a large fee that fits");
        sim.stop().await;
    }
}
