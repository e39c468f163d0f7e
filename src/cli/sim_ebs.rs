//! `ml-connector sim ebs`: runs the EBS simulator until killed.

use super::output::outln;
use crate::sim::ebs::{EbsSimConfig, Faults, Scheduler, Seed, spawn};
use anyhow::Context;
use std::path::PathBuf;
use std::time::Duration;

const WORLD: &str = "\
Seeded world (default seed, assets/ebs/seed.toml; replace with --seed FILE):
  Users (password welcome1): OPERATIONS (GL, AR, AP), GLUSER (GL only), ARUSER (AR only)
  Responsibilities: GENERAL_LEDGER_SUPER_USER (SQLGL, access sets 1000/1001/1002),
                    RECEIVABLES_MANAGER (AR, OUs 204/458/512),
                    PAYABLES_MANAGER (SQLAP, OUs 204/458/512)
  Security group STANDARD, NLS language AMERICAN
  Ledgers: 1 US Primary USD, 2 CA Primary CAD, 3 DE Primary EUR (monthly, JAN-26 style names)
  Access sets: 1000 -> ledger 1, 1001 -> 2, 1002 -> 3; OUs: 204 US -> 1, 458 CA -> 2, 512 DE -> 3
  Periods: 2025 closed, JAN-26..DEC-26 open, JAN-27..MAR-27 future-enterable, later never opened
  GL sources Amazon, Manual; categories Amazon Settlement, Adjustment
  Accounts (Company-CostCenter-Account-SubAccount-Product, dynamic insertion off):
    enabled detail 01-000-{1190,1195,1200,2010,2190,2310,2315,4010,4020,4030,4050,4060,
    4070,4080,6110,6120,6130,6140,6150,6160,7990,9990,9991}-0000-000;
    01-000-6199-0000-000 disabled (EF03), 01-000-6198-0000-000 end-dated 2025-06-30 (EF01),
    01-000-4000-0000-000 parent (EF02); cross-validation: company 02 may not use cost center 000
  AR: customers AMAZON-US/CA/DE, types 'Amazon Invoice' (INV) / 'Amazon Credit Memo' (CM),
      batch source AMAZON (Imported) per OU, terms IMMEDIATE / 30 NET, flexfield context AMAZON
  AP: supplier AMAZON SERVICES (601, AMZ001) sites US/CA/DE; sources AMAZON FEES
  Items (org 204, price list AMAZON US): ML-1001..ML-1004
  Aliases: gl gljournal, ar autoinvoice, ap apinvoice, custom xxmlc
Wire contract, faults, world events and /_sim/ controls: docs/simulators/ebs.md.";

/// Runs a local Oracle EBS R12.2 (ISG REST) simulator.
#[derive(Debug, clap::Args)]
#[command(after_long_help = WORLD)]
pub struct SimEbsArgs {
    /// Port on 127.0.0.1 (0 = any free port; the chosen one is printed first as JSON).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Seed TOML replacing the default world.
    #[arg(long, value_name = "FILE")]
    pub seed: Option<PathBuf>,
    /// Session idle timeout (e.g. 30m, 2s, 500ms).
    #[arg(long, default_value = "30m", value_parser = parse_duration)]
    pub idle_timeout: Duration,
    /// Session absolute lifetime (e.g. 8h).
    #[arg(long, default_value = "8h", value_parser = parse_duration)]
    pub absolute_timeout: Duration,
    /// Concurrent calls allowed before 503.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// Deterministic scheduler: requests move only on POST /_sim/step.
    #[arg(long)]
    pub step: bool,
    /// Timed scheduler: Pending -> Running after this long.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    pub t1: Duration,
    /// Timed scheduler: Running -> Completed this long after submission.
    #[arg(long, default_value = "3s", value_parser = parse_duration)]
    pub t2: Duration,
    /// Share (0.0-1.0) of service calls answering 500 ISG_DB_CONNECTION_ERROR.
    #[arg(long, default_value_t = 0.0)]
    pub fault_rate: f64,
    /// Faults: db-error:N, expire-sessions, standby:N, import-error:N, hold:N (comma list).
    #[arg(long, value_name = "LIST")]
    pub faults: Option<String>,
    /// Seed of the fault RNG (reproducible --fault-rate).
    #[arg(long, default_value_t = 42)]
    pub rng_seed: u64,
    /// Imports with rejected rows end Warning (C/G) instead of Normal (C/C).
    #[arg(long)]
    pub warn_on_rejects: bool,
    /// HTTP status for ISG_INVALID_ALIAS / ISG_INVALID_FUNCTION.
    #[arg(long, default_value_t = 404)]
    pub invalid_service_status: u16,
}

/// Parses `500ms`, `2s`, `30m`, `8h` or plain seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, mult_ms) = if let Some(n) = s.strip_suffix("ms") {
        (n, 1)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1000)
    } else if let Some(n) = s.strip_suffix('m') {
        (n, 60_000)
    } else if let Some(n) = s.strip_suffix('h') {
        (n, 3_600_000)
    } else {
        (s, 1000)
    };
    let n: u64 = num
        .trim()
        .parse()
        .map_err(|_| format!("invalid duration {s:?} (use e.g. 500ms, 2s, 30m, 8h)"))?;
    Ok(Duration::from_millis(n * mult_ms))
}

pub fn run(args: SimEbsArgs) -> anyhow::Result<i32> {
    let seed = match &args.seed {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("reading EBS seed {}", p.display()))?;
            Seed::parse(&text).with_context(|| format!("in EBS seed {}", p.display()))?
        }
        None => Seed::default_seed(),
    };
    if !(0.0..=1.0).contains(&args.fault_rate) {
        anyhow::bail!("--fault-rate must be between 0.0 and 1.0");
    }
    let faults = match &args.faults {
        Some(f) => Faults::parse_list(f).map_err(|e| anyhow::anyhow!("--faults: {e}"))?,
        None => Faults::default(),
    };
    let config = EbsSimConfig {
        seed,
        port: args.port,
        idle_timeout: args.idle_timeout,
        absolute_timeout: args.absolute_timeout,
        concurrency_limit: args.concurrency.max(1),
        scheduler: if args.step {
            Scheduler::Step
        } else {
            Scheduler::Timed {
                t1: args.t1,
                t2: args.t2.max(args.t1),
            }
        },
        fault_rate: args.fault_rate,
        faults,
        rng_seed: args.rng_seed,
        start_time: None,
        warn_on_rejects: args.warn_on_rejects,
        invalid_service_status: args.invalid_service_status,
    };
    let rt = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    rt.block_on(async move {
        let sim = spawn(config).await?;
        outln!(
            "{}",
            serde_json::json!({"listening": sim.addr().to_string()})
        )?;
        tokio::signal::ctrl_c().await?;
        sim.shutdown().await;
        Ok::<i32, anyhow::Error>(0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("2s").unwrap(), Duration::from_secs(2));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("30m").unwrap(), Duration::from_secs(1800));
        assert_eq!(parse_duration("8h").unwrap(), Duration::from_secs(28800));
        assert_eq!(parse_duration("7").unwrap(), Duration::from_secs(7));
        assert!(parse_duration("soon").is_err());
    }
}
