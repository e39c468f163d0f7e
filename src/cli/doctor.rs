//! `ml-connector doctor`: one line per check against the configured systems, a
//! summary, exit code 1 when anything failed (2 when `--strict` refuses credentials
//! other users can read).

use std::path::Path;

use anyhow::Context;
use chrono::NaiveDate;
use clap::Args;

use super::output::emit;
use crate::config::{Config, Paths};
use crate::doctor::{self, Check, Options, Report, Status};

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Judge accounts, periods and rates as of this date (default: today in each ledger's time zone).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub as_of: Option<NaiveDate>,
    /// Seconds to wait for any one answer.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub timeout: u64,
}

pub fn run(args: DoctorArgs, config: Option<&Path>, strict: bool) -> anyhow::Result<i32> {
    let paths = Paths::resolve(config, None)?;
    let config = match Config::load(&paths.config_file) {
        Ok(c) => c,
        Err(e) => {
            let mut report = Report::default();
            report.fail("configuration", e.to_string());
            return Ok(emit("report", &report.to_string(), report.exit_code()));
        }
    };
    let permissions =
        crate::config::credentials::check_permissions(&config.credentials_path(), strict);
    if let Err(e) = &permissions {
        let mut report = Report::default();
        report.fail("credentials", e.to_string());
        return Ok(emit(
            "report",
            &report.to_string(),
            crate::sync::headless::exit::CONFIGURATION,
        ));
    }
    let mut opts = match args.as_of {
        Some(d) => Options::new(d),
        None => Options::today(chrono::Utc::now()),
    };
    opts.http_timeout = std::time::Duration::from_secs(args.timeout.max(1));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let mut report = Report::default();
    report.ok("configuration", config.path().display().to_string());
    let found = runtime.block_on(doctor::run(&config, &opts));
    report.checks.extend(found.checks);
    if let Ok(Some(warning)) = permissions {
        // Right after the line that says the credentials decrypted (or could not).
        let at = report
            .checks
            .iter()
            .position(|c| c.subject == "credentials")
            .map_or(report.checks.len(), |i| i + 1);
        report.checks.insert(
            at,
            Check {
                status: Status::Warn,
                subject: "credentials".into(),
                message: warning,
            },
        );
    }
    Ok(emit("report", &report.to_string(), report.exit_code()))
}
