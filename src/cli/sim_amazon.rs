//! `ml-connector sim amazon`: runs the Amazon SP-API / LWA simulator until killed.

use anyhow::Context;
use clap::Args;
use std::io::Write;

use crate::sim::amazon::{
    AmazonSimConfig, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_REFRESH_TOKEN, Fault,
    Scenario,
};

/// Flags of `sim amazon`; every default matches `AmazonSimConfig::default()`.
#[derive(Debug, Args)]
pub struct SimAmazonArgs {
    /// Port on 127.0.0.1 (0 = any free port; the chosen one is printed as
    /// `{"listening":"127.0.0.1:PORT"}` on the first stdout line).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Seed of the generated world (same seed, same orders, settlements and faults).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Marketplaces to simulate, comma-separated country codes (US, CA = NA region; DE, UK = EU).
    #[arg(long, default_value = "US,CA,DE", value_delimiter = ',')]
    pub marketplaces: Vec<String>,
    /// Days of settlements already closed at start (rounded up to 14-day periods).
    #[arg(long, default_value_t = 90)]
    pub history_days: u32,
    /// Simulated seconds per real second (buckets, token and URL lifetimes, report
    /// processing and new settlements all run this much faster).
    #[arg(long, default_value_t = 1.0)]
    pub time_scale: f64,
    /// LWA client id accepted by POST /auth/o2/token.
    #[arg(long, default_value = DEFAULT_CLIENT_ID)]
    pub client_id: String,
    /// LWA client secret accepted by POST /auth/o2/token.
    #[arg(long, default_value = DEFAULT_CLIENT_SECRET)]
    pub client_secret: String,
    /// LWA refresh token accepted by POST /auth/o2/token.
    #[arg(long, default_value = DEFAULT_REFRESH_TOKEN)]
    pub refresh_token: String,
    /// Probability (0..1) that a request gets one of --faults (deterministic from --seed).
    #[arg(long, default_value_t = 0.0)]
    pub fault_rate: f64,
    /// Faults to inject: 429,500,503,reset,slow,truncate,expired-url (truncate applies to
    /// document downloads, expired-url to getReportDocument).
    #[arg(long, default_value = "")]
    pub faults: String,
    /// Real delay of the `slow` fault, in milliseconds.
    #[arg(long, default_value_t = 2000)]
    pub slow_ms: u64,
    /// Serve report documents GZIP-compressed (compressionAlgorithm GZIP).
    #[arg(long)]
    pub gzip: bool,
    /// Simulated start time, RFC 3339 (default: now, rounded down to the minute).
    #[arg(long)]
    pub start_time: Option<chrono::DateTime<chrono::Utc>>,
    /// Runs the simulated clock this far ahead of (+) or behind (-) the start time,
    /// world included, to test clock skew: e.g. +1d, -1d, +90m, -30s (units s, m, h, d).
    #[arg(long, default_value = "0s", value_parser = parse_offset, allow_hyphen_values = true)]
    pub clock_offset: chrono::Duration,
    /// Scenario to guarantee among the closed settlements (repeatable): month-end:MP,
    /// negative:MP, unmapped-fee:MP[:DESCRIPTION[:AMOUNT]] (default NewFeeType2026, -1.23),
    /// deposit:MP:CURRENCY:RATE (deposits converted at about RATE: ConvertedTotal).
    #[arg(long = "scenario")]
    pub scenarios: Vec<String>,
}

impl SimAmazonArgs {
    pub fn to_config(&self) -> anyhow::Result<AmazonSimConfig> {
        let mut config = AmazonSimConfig {
            port: self.port,
            seed: self.seed,
            marketplaces: self.marketplaces.clone(),
            history_days: self.history_days,
            time_scale: self.time_scale,
            client_id: self.client_id.clone(),
            client_secret: self.client_secret.clone().into(),
            refresh_token: self.refresh_token.clone().into(),
            fault_rate: self.fault_rate,
            faults: Fault::parse_list(&self.faults)?,
            slow_delay: std::time::Duration::from_millis(self.slow_ms),
            gzip: self.gzip,
            scenarios: self
                .scenarios
                .iter()
                .map(|s| Scenario::parse(s))
                .collect::<Result<_, _>>()?,
            ..AmazonSimConfig::default()
        };
        if let Some(start) = self.start_time {
            config.start_time = start;
        }
        config.clock_offset = self.clock_offset;
        if config.time_scale <= 0.0 {
            anyhow::bail!("--time-scale must be greater than 0");
        }
        Ok(config)
    }
}

/// A signed duration such as `+1d`, `-36h`, `90m`, `-30s`.
fn parse_offset(text: &str) -> Result<chrono::Duration, String> {
    let t = text.trim();
    let (negative, rest) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let split = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    let (digits, unit) = rest.split_at(split);
    let n: i64 = digits
        .parse()
        .map_err(|_| format!("`{text}`: use a number and a unit, e.g. +1d, -36h, 90m, -30s"))?;
    let d = match unit {
        "s" | "" => chrono::Duration::try_seconds(n),
        "m" => chrono::Duration::try_minutes(n),
        "h" => chrono::Duration::try_hours(n),
        "d" => chrono::Duration::try_days(n),
        _ => None,
    }
    .ok_or_else(|| format!("`{text}`: unit must be s, m, h or d"))?;
    Ok(if negative { -d } else { d })
}

pub fn run(args: SimAmazonArgs) -> anyhow::Result<i32> {
    let config = args.to_config()?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async move {
        let sim = crate::sim::amazon::spawn(config).await?;
        let mut out = std::io::stdout().lock();
        writeln!(
            out,
            "{}",
            serde_json::json!({"listening": sim.addr().to_string()})
        )?;
        out.flush()?;
        drop(out);
        tokio::signal::ctrl_c()
            .await
            .context("waiting for Ctrl-C")?;
        sim.stop().await;
        Ok(0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_offsets_parse() {
        assert_eq!(parse_offset("+1d"), Ok(chrono::Duration::days(1)));
        assert_eq!(parse_offset("-1d"), Ok(-chrono::Duration::days(1)));
        assert_eq!(parse_offset("90m"), Ok(chrono::Duration::minutes(90)));
        assert_eq!(parse_offset("-30s"), Ok(-chrono::Duration::seconds(30)));
        assert_eq!(parse_offset("0"), Ok(chrono::Duration::zero()));
        assert!(parse_offset("1w").is_err());
        assert!(parse_offset("soon").is_err());
    }
}
