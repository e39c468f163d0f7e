//! `ml-connector bench ebs-post`: posts period journals through the full GL chain
//! (check → allocate → stage → submit → await → confirm) to the in-process EBS simulator and
//! reports lines/s, requests made and the highest number of calls in flight.
//!
//! Run it on a release build: `cargo run --release -- bench ebs-post`.

use super::output::{errln, outln};
use anyhow::{Context, Result, bail};
use clap::Args;
use futures::StreamExt;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::ebs::gl::{GlStatus, line_key};
use crate::ebs::{Contexts, Credentials, EbsClient, EbsConfig, GlBatch, GlLine, PollPolicy};
use crate::sim::ebs::{EbsSimConfig, Scheduler, spawn};

#[derive(Debug, Args)]
pub struct EbsPostArgs {
    /// Period journals to post.
    #[arg(long, default_value_t = 2_000)]
    pub journals: usize,
    /// Lines per journal.
    #[arg(long, default_value_t = 50)]
    pub lines: usize,
    /// Client concurrency limit (calls in flight).
    #[arg(long, default_value_t = 2)]
    pub concurrency: usize,
    /// Journals worked on at once (each waits on its import while others stage).
    #[arg(long, default_value_t = 16)]
    pub parallel: usize,
    /// Simulated Journal Import time (pending → running → complete), milliseconds.
    #[arg(long, default_value_t = 2)]
    pub import_ms: u64,
}

const ACCOUNTS: [&str; 14] = [
    "01-000-4010-0000-000",
    "01-000-4020-0000-000",
    "01-000-4030-0000-000",
    "01-000-4050-0000-000",
    "01-000-4060-0000-000",
    "01-000-4070-0000-000",
    "01-000-4080-0000-000",
    "01-000-2310-0000-000",
    "01-000-6110-0000-000",
    "01-000-6120-0000-000",
    "01-000-6130-0000-000",
    "01-000-6140-0000-000",
    "01-000-6150-0000-000",
    "01-000-6160-0000-000",
];
const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];

/// Deterministic period journals: random revenue/fee lines closed by a clearing line.
fn journals(n: usize, lines: usize, seed: u64) -> Vec<GlBatch> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n)
        .map(|i| {
            let settlement = format!("{}", 20_000_000 + i / 2);
            let month = (i % 12) as u32 + 1;
            let period = format!("{}-26", MONTHS[month as usize - 1]);
            let date = chrono::NaiveDate::from_ymd_opt(2026, month, 28).expect("valid date");
            let mut ls: Vec<GlLine> = (0..lines.saturating_sub(1))
                .map(|k| {
                    let account = ACCOUNTS[k % ACCOUNTS.len()];
                    let cents: i64 = rng.random_range(1..500_000);
                    let amount = Decimal::new(cents, 2);
                    let credit = account.contains("-40") || account.contains("-23");
                    let label = format!("line {k}");
                    GlLine {
                        account: account.to_string(),
                        entered_dr: (!credit).then_some(amount),
                        entered_cr: credit.then_some(amount),
                        accounted_dr: None,
                        accounted_cr: None,
                        line_key: line_key(&settlement, &period, account, &label),
                        description: label,
                    }
                })
                .collect();
            let net: Decimal = ls
                .iter()
                .map(|l| l.entered_dr.unwrap_or_default() - l.entered_cr.unwrap_or_default())
                .sum();
            let clearing = "01-000-1190-0000-000";
            ls.push(GlLine {
                account: clearing.to_string(),
                entered_dr: (net < Decimal::ZERO).then_some(-net),
                entered_cr: (net >= Decimal::ZERO).then_some(net),
                accounted_dr: None,
                accounted_cr: None,
                description: "Clearing".to_string(),
                line_key: line_key(&settlement, &period, clearing, "Clearing"),
            });
            GlBatch {
                batch_name: format!("AMZ {settlement}"),
                batch_description: format!("Amazon settlement {settlement}"),
                journal_name: format!("AMZ {settlement} {period}"),
                journal_description: format!("Amazon settlement {settlement} {period}"),
                settlement_id: settlement,
                ledger_id: "1".to_string(),
                period_name: period,
                original_period: None,
                accounting_date: date,
                currency: "USD".to_string(),
                je_source: "Amazon".to_string(),
                je_category: "Amazon Settlement".to_string(),
                revision: 1,
                reversed_revisions: Vec::new(),
                reference_period: None,
                conversion: None,
                lines: ls,
            }
        })
        .collect()
}

pub fn run(args: EbsPostArgs) -> Result<i32> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("tokio runtime")?;
    rt.block_on(bench(args))
}

async fn bench(args: EbsPostArgs) -> Result<i32> {
    let import = Duration::from_millis(args.import_ms);
    let sim = spawn(EbsSimConfig {
        scheduler: Scheduler::Timed {
            t1: import / 2,
            t2: import,
        },
        // The simulator accepts more than the client sends: any 503 would be our fault.
        concurrency_limit: args.concurrency.max(1) * 4,
        ..EbsSimConfig::default()
    })
    .await
    .context("EBS simulator")?;
    let mut cfg = EbsConfig::new(
        &sim.base_url(),
        Credentials {
            user: "OPERATIONS".into(),
            password: secrecy::SecretString::from("welcome1".to_string()),
        },
        Contexts::vision("1000", "1", "204"),
    );
    cfg.concurrency = args.concurrency;
    cfg.poll = PollPolicy {
        initial: Duration::from_millis(1),
        max: Duration::from_millis(20),
        timeout: Duration::from_secs(600),
    };
    let client = Arc::new(EbsClient::new(cfg)?);
    let batches = journals(args.journals, args.lines, 7);
    let total_lines: usize = batches.iter().map(|b| b.lines.len()).sum();
    errln!(
        "posting {} journals ({} lines) to the in-process EBS simulator, client concurrency {}",
        batches.len(),
        total_lines,
        args.concurrency
    );
    let started = Instant::now();
    let results: Vec<_> = futures::stream::iter(batches.iter().map(|b| {
        let c = client.clone();
        async move { c.post_gl_batch(b, None, |_| Ok(())).await }
    }))
    .buffer_unordered(args.parallel.max(1))
    .collect()
    .await;
    let elapsed = started.elapsed();
    let mut imported = 0usize;
    for r in results {
        let rec = r?;
        match rec.outcome.as_ref().map(|o| o.status) {
            Some(GlStatus::Imported) => imported += 1,
            other => bail!(
                "journal {}/{} ended {other:?}",
                rec.settlement_id,
                rec.period_name
            ),
        }
    }
    // Counted in place: the journals as JSON would cost more memory than the run itself.
    let in_ebs = sim.gl_journal_lines();
    let stats = client.stats();
    let secs = elapsed.as_secs_f64();
    outln!("journals imported   {imported} / {}", batches.len())?;
    outln!("lines in EBS        {in_ebs} / {total_lines}")?;
    outln!("elapsed             {secs:.2} s")?;
    outln!(
        "throughput          {:.0} lines/s",
        total_lines as f64 / secs
    )?;
    outln!(
        "requests            {} ({:.1} per journal), retries {}, re-logins {}",
        stats.requests,
        stats.requests as f64 / batches.len().max(1) as f64,
        stats.retries,
        stats.relogins
    )?;
    outln!(
        "max in flight       {} (limit {})",
        stats.max_in_flight,
        args.concurrency
    )?;
    if stats.max_in_flight > args.concurrency {
        bail!("concurrency limit exceeded");
    }
    if in_ebs != total_lines || imported != batches.len() {
        bail!("EBS holds {in_ebs} lines, expected {total_lines}");
    }
    Ok(0)
}
