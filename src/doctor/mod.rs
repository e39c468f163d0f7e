//! `doctor`: does this configuration fit the systems it names?
//!
//! Runs the production clients (never the simulators' code) against every configured
//! seller and the EBS instance and turns each answer into one plain line: `ok`, `warn`
//! or `FAIL` plus what to do. Nothing is written anywhere: Amazon gets a token exchange
//! and `getMarketplaceParticipations`; EBS gets a login, reads that match no rows,
//! `get_open_periods`, `get_account`, `get_ledger`, `get_daily_rate` and `?WADL`. Secrets are handed to the clients and
//! never formatted.
//!
//! This file holds the entry points and [`Options`]; each system's checks live in
//! their own submodule (`mappings`, `amazon`, `ebs`, `services`).

mod amazon;
mod ebs;
mod fx;
mod mappings;
mod report;
mod services;

pub use amazon::sp_api_client;
pub use ebs::ebs_client;
pub use report::{Check, Report, Status};
pub use services::{required_methods, wadl_methods};

use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};

use crate::config::{Config, Credentials};
use amazon::check_seller;
use ebs::check_ebs;
use mappings::load_mappings;

/// How a doctor run behaves.
#[derive(Debug, Clone)]
pub struct Options {
    /// The date accounts, periods and rates are judged at (`--as-of`).
    pub as_of: NaiveDate,
    /// Without `--as-of`: now, so each ledger is judged at today in its own time zone.
    pub now: Option<DateTime<Utc>>,
    /// Per-request timeout against either system.
    pub http_timeout: Duration,
}

impl Options {
    pub fn new(as_of: NaiveDate) -> Self {
        Options {
            as_of,
            now: None,
            http_timeout: Duration::from_secs(30),
        }
    }

    /// Today in every ledger's own time zone.
    pub fn today(now: DateTime<Utc>) -> Self {
        Options {
            now: Some(now),
            ..Options::new(now.date_naive())
        }
    }

    /// The day a ledger in `tz` is judged at: `as_of`, or today there.
    pub fn date_for(&self, tz: chrono_tz::Tz) -> NaiveDate {
        self.now
            .map_or(self.as_of, |n| crate::ledger::periods::local_day(tz, n))
    }
}

/// Everything: opens the credentials without asking (identity file or
/// `ML_CONNECTOR_PASSPHRASE`), reads the mappings, then checks Amazon and EBS.
pub async fn run(config: &Config, opts: &Options) -> Report {
    let mut report = Report::default();
    let credentials = match config
        .unlock_without_prompt()
        .and_then(|unlock| config.load_credentials(&unlock))
    {
        Ok(c) => {
            report.ok(
                "credentials",
                format!(
                    "{} decrypted ({} seller(s){})",
                    config.credentials_path().display(),
                    c.sellers.len(),
                    if c.ebs.is_some() { ", EBS login" } else { "" }
                ),
            );
            c
        }
        Err(e) => {
            report.fail(
                "credentials",
                format!("{e} (nothing else can be checked without them)"),
            );
            return report;
        }
    };
    check_with(config, &credentials, opts, &mut report).await;
    report
}

/// Checks with credentials already in hand (the TUI has them unlocked).
pub async fn check_with(
    config: &Config,
    credentials: &Credentials,
    opts: &Options,
    report: &mut Report,
) {
    let mappings = load_mappings(config, report);
    for seller in &config.sellers {
        check_seller(seller, credentials, opts, report).await;
    }
    if config.ebs.is_some() {
        check_ebs(config, credentials, &mappings, opts, report).await;
    } else if !config.routing.is_empty() {
        report.warn(
            "ebs",
            "no [ebs] section: nothing can be posted; add base_url and [ebs.gl]",
        );
    }
}
