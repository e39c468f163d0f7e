//! `ml-connector bench settlement`: parse + map + journal speed on a generated
//! million-row V2 file, beside `wc -l` and a plain Python csv + Decimal script.
//!
//! Run it on a release build: `cargo run --release -- bench settlement`.

use super::output::{errln, outln};
use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::settlement::{with_settlement_file, with_settlement_text};
use crate::ledger::journal::{Proposal, propose_file};
use crate::ledger::mapping::Mapping;
use crate::ledger::money::format_amount;
use crate::ledger::parse::{SettlementFile, decode};

/// The reference script, embedded so the bench also runs outside the repo.
const PYTHON_SCRIPT: &str = include_str!("../../assets/bench/settlement_sums.py");

#[derive(Debug, Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub command: BenchCommand,
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Generate a V2 settlement file and time parse + map + journal on it.
    Settlement(SettlementBenchArgs),
    /// Sync 2,000 orders, all event groups and the settlements from the Amazon simulator.
    AmazonSync(super::bench_amazon::AmazonSyncArgs),
    /// Frame time of the review screen on a 1,000,000-row settlement, first
    /// frame with 100 settlements, peak memory.
    Tui(super::bench_tui::BenchTuiArgs),
    /// Post period journals to the in-process EBS simulator: lines/s, requests, concurrency.
    EbsPost(super::bench_ebs::EbsPostArgs),
    /// A sync round with nothing new and one batch posted, in a store holding three years of history.
    Store(super::bench_store::StoreBenchArgs),
}

#[derive(Debug, Args)]
pub struct SettlementBenchArgs {
    /// Body rows to generate.
    #[arg(long, default_value_t = 1_000_000)]
    pub rows: usize,
    /// Directory for the generated file (default: the system temp directory).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Skip the Python comparison.
    #[arg(long)]
    pub no_python: bool,
    /// Runs of each measurement; the best is reported.
    #[arg(long, default_value_t = 3)]
    pub repeat: usize,
}

pub fn run(args: BenchArgs) -> Result<i32> {
    match args.command {
        BenchCommand::Settlement(a) => settlement(&a),
        BenchCommand::AmazonSync(a) => super::bench_amazon::run(a),
        BenchCommand::Tui(a) => super::bench_tui::run(a),
        BenchCommand::EbsPost(a) => super::bench_ebs::run(a),
        BenchCommand::Store(a) => super::bench_store::run(a),
    }
}

const HEADER: &str = "settlement-id\tsettlement-start-date\tsettlement-end-date\tdeposit-date\ttotal-amount\tcurrency\ttransaction-type\torder-id\tmerchant-order-id\tadjustment-id\tshipment-id\tmarketplace-name\tamount-type\tamount-description\tamount\tfulfillment-id\tposted-date\tposted-date-time\torder-item-code\tmerchant-order-item-id\tmerchant-adjustment-item-id\tsku\tquantity-purchased\tpromotion-id";

const SETTLEMENT_ID: &str = "19870040121";

/// One body row in cents.
struct GenRow<'s> {
    transaction_type: &'s str,
    amount_type: &'s str,
    description: &'s str,
    cents: i64,
}

/// Writes `rows` body rows of a realistic US FBA settlement (orders with
/// price, tax, shipping, promotions, fees and marketplace-facilitator tax;
/// refunds; account-level fees, reserves and reimbursements), deterministic
/// for a seed. Calls `line` for each complete text line; returns the total in cents.
fn generate(rows: usize, seed: u64, mut line: impl FnMut(&str) -> Result<()>) -> Result<i64> {
    let mut rng = StdRng::seed_from_u64(seed);
    let start = chrono::NaiveDate::from_ymd_opt(2025, 9, 24).expect("valid date");
    // 14 days from 2025-09-24 08:00 UTC, across the month end
    let window_secs = 14 * 86_400i64;
    let mut buf = String::with_capacity(512);
    let mut total = 0i64;
    let mut written = 0usize;
    let mut order = 0u64;
    let mut group: Vec<GenRow<'static>> = Vec::with_capacity(16);
    while written < rows {
        order += 1;
        group.clear();
        let kind = rng.random_range(0..100);
        let offset = rng.random_range(0..window_secs);
        let posted =
            start.and_hms_opt(8, 0, 0).expect("valid time") + chrono::Duration::seconds(offset);
        let qty = rng.random_range(1..4i64);
        let price = rng.random_range(500..15_000i64) * qty;
        let (tt, marketplace) = match kind {
            0..=89 => ("Order", "Amazon.com"),
            90..=96 => ("Refund", "Amazon.com"),
            _ => ("other-transaction", ""),
        };
        match tt {
            "Order" => {
                let tax = price * 8 / 100;
                let ship = if rng.random_bool(0.3) {
                    rng.random_range(299..999)
                } else {
                    0
                };
                group.push(GenRow {
                    transaction_type: tt,
                    amount_type: "ItemPrice",
                    description: "Principal",
                    cents: price,
                });
                group.push(GenRow {
                    transaction_type: tt,
                    amount_type: "ItemPrice",
                    description: "Tax",
                    cents: tax,
                });
                group.push(GenRow {
                    transaction_type: tt,
                    amount_type: "ItemWithheldTax",
                    description: "MarketplaceFacilitatorTax-Principal",
                    cents: -tax,
                });
                if ship > 0 {
                    group.push(GenRow {
                        transaction_type: tt,
                        amount_type: "ItemPrice",
                        description: "Shipping",
                        cents: ship,
                    });
                    group.push(GenRow {
                        transaction_type: tt,
                        amount_type: "Promotion",
                        description: "Shipping",
                        cents: -ship,
                    });
                }
                group.push(GenRow {
                    transaction_type: tt,
                    amount_type: "ItemFees",
                    description: "Commission",
                    cents: -(price * 15 / 100),
                });
                group.push(GenRow {
                    transaction_type: tt,
                    amount_type: "ItemFees",
                    description: "FBAPerUnitFulfillmentFee",
                    cents: -rng.random_range(300..900) * qty,
                });
                if rng.random_bool(0.1) {
                    group.push(GenRow {
                        transaction_type: tt,
                        amount_type: "ItemFees",
                        description: "VariableClosingFee",
                        cents: -180,
                    });
                }
            }
            "Refund" => {
                let tax = price * 8 / 100;
                group.push(GenRow {
                    transaction_type: tt,
                    amount_type: "ItemPrice",
                    description: "Principal",
                    cents: -price,
                });
                group.push(GenRow {
                    transaction_type: tt,
                    amount_type: "ItemPrice",
                    description: "Tax",
                    cents: -tax,
                });
                group.push(GenRow {
                    transaction_type: tt,
                    amount_type: "ItemWithheldTax",
                    description: "MarketplaceFacilitatorTax-Principal",
                    cents: tax,
                });
                group.push(GenRow {
                    transaction_type: tt,
                    amount_type: "ItemFees",
                    description: "Commission",
                    cents: price * 15 / 100,
                });
                group.push(GenRow {
                    transaction_type: tt,
                    amount_type: "ItemFees",
                    description: "RefundCommission",
                    cents: -(price * 3 / 100).min(500),
                });
            }
            _ => {
                let (at, desc, cents) = match rng.random_range(0..6) {
                    0 => (
                        "other-transaction",
                        "Storage Fee",
                        -rng.random_range(100..50_000),
                    ),
                    1 => ("other-transaction", "Subscription Fee", -3999),
                    2 => (
                        "FBA Inventory Reimbursement",
                        "WAREHOUSE_DAMAGE",
                        rng.random_range(500..5_000),
                    ),
                    3 => (
                        "other-transaction",
                        "Current Reserve Amount",
                        -rng.random_range(10_000..90_000),
                    ),
                    4 => (
                        "other-transaction",
                        "Previous Reserve Amount Balance",
                        rng.random_range(10_000..90_000),
                    ),
                    _ => (
                        "other-transaction",
                        "FBA Inbound Transportation Fee",
                        -rng.random_range(1_000..20_000),
                    ),
                };
                group.push(GenRow {
                    transaction_type: tt,
                    amount_type: at,
                    description: desc,
                    cents,
                });
            }
        }
        let order_id = format!(
            "11{}-{:07}-{:07}",
            order % 10,
            order % 10_000_000,
            (order * 7919) % 10_000_000
        );
        let is_order = tt != "other-transaction";
        for r in &group {
            if written == rows {
                break;
            }
            buf.clear();
            let amount = format_amount(Decimal::new(r.cents, 2), 2);
            writeln!(
                buf,
                "{SETTLEMENT_ID}\t\t\t\t\t\t{}\t{}\t{}\t{}\t{}\t{marketplace}\t{}\t{}\t{amount}\t{}\t{}\t{} UTC\t{}\t\t{}\t{}\t{}\t",
                r.transaction_type,
                if is_order { order_id.as_str() } else { "" },
                if is_order { order_id.as_str() } else { "" },
                if tt == "Refund" {
                    "amzn1:crow:bench"
                } else {
                    ""
                },
                if tt == "Order" { "DxJ4pCnT9" } else { "" },
                r.amount_type,
                r.description,
                if is_order { "AFN" } else { "" },
                posted.format("%Y-%m-%d"),
                posted.format("%Y-%m-%d %H:%M:%S"),
                if is_order { "52318347895502" } else { "" },
                if tt == "Refund" { "35819281734" } else { "" },
                if is_order { "SKU-BENCH-042" } else { "" },
                if tt == "Order" {
                    qty.to_string()
                } else {
                    String::new()
                },
            )?;
            line(&buf)?;
            total += r.cents;
            written += 1;
        }
    }
    Ok(total)
}

/// Generates the file (two passes: the total first, for the summary row).
fn write_file(path: &Path, rows: usize) -> Result<u64> {
    let seed = 2025;
    let total = generate(rows, seed, |_| Ok(()))?;
    let f =
        std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut w = std::io::BufWriter::with_capacity(1 << 20, f);
    writeln!(w, "{HEADER}")?;
    writeln!(
        w,
        "{SETTLEMENT_ID}\t2025-09-24 08:00:00 UTC\t2025-10-08 08:00:00 UTC\t2025-10-10 08:00:00 UTC\t{}\tUSD\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t",
        format_amount(Decimal::new(total, 2), 2)
    )?;
    generate(rows, seed, |l| Ok(w.write_all(l.as_bytes())?))?;
    w.flush()?;
    Ok(std::fs::metadata(path)?.len())
}

/// Parse + map + journal of a file with `parts` threads. One thread: one read,
/// one text. More: what `settlement preview` does (read, validation and
/// parsing in two halves from the first byte, see `with_settlement_file`).
fn engine_run(path: &Path, mapping: &Mapping, parts: usize) -> Result<Proposal> {
    let propose = |file: &SettlementFile<'_>| {
        let engine = super::settlement::file_engine(mapping, chrono_tz::UTC, file);
        propose_file(file, &engine, parts).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
    };
    if parts > 1 {
        return with_settlement_file(path, None, propose);
    }
    with_settlement_text(path, None, |text, charset| {
        let file = SettlementFile::parse(text, charset)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        propose(&file)
    })
}

/// Read + decode + parse only (rows iterated, nothing mapped), one thread.
fn parse_only(path: &Path) -> Result<u64> {
    let n = with_settlement_text(path, None, |text, charset| {
        let file = SettlementFile::parse(text, charset)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        let mut n = 0u64;
        for row in file.rows() {
            row.map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            n += 1;
        }
        Ok(n)
    })?;
    Ok(n)
}

/// Peak resident memory (Linux `VmHWM`), in bytes.
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// CPU seconds (user + system) of this process and of its waited-for children,
/// from `/proc/self/stat` (Linux; clock ticks of 1/100 s).
fn cpu_times() -> Option<(f64, f64)> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after = stat.rsplit_once(") ")?.1;
    let f: Vec<u64> = after
        .split_whitespace()
        .skip(11)
        .take(4)
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    if f.len() < 4 {
        return None;
    }
    Some(((f[0] + f[1]) as f64 / 100.0, (f[2] + f[3]) as f64 / 100.0))
}

/// Wall and CPU time of one run (best of several).
#[derive(Debug, Clone, Copy)]
struct Measure {
    wall: Duration,
    cpu: Option<f64>,
}

impl Measure {
    fn best(self, other: Measure) -> Measure {
        if other.wall < self.wall { other } else { self }
    }

    fn show(&self, what: &str, bytes: u64, rows: Option<u64>) -> String {
        let mut line = format!(
            "{what:<42}: {:>7.3} s wall  {:>7.1} MB/s",
            self.wall.as_secs_f64(),
            mb_s(bytes, self.wall)
        );
        if let Some(rows) = rows {
            let _ = write!(
                line,
                "  {:>9.0} rows/s",
                rows as f64 / self.wall.as_secs_f64()
            );
        }
        if let Some(cpu) = self.cpu {
            let _ = write!(line, "  cpu {cpu:>6.2} s");
        }
        line
    }
}

/// Runs `f` and measures it (CPU time of this process, threads included).
fn measure<T>(f: impl FnOnce() -> Result<T>) -> Result<(T, Measure)> {
    let before = cpu_times();
    let t = Instant::now();
    let value = f()?;
    let wall = t.elapsed();
    let cpu = before.zip(cpu_times()).map(|(b, a)| a.0 - b.0);
    Ok((value, Measure { wall, cpu }))
}

/// Runs a command to completion and measures it (the child's CPU time).
fn timed(cmd: &mut Command) -> Result<(String, Measure)> {
    let before = cpu_times();
    let t = Instant::now();
    let out = cmd
        .output()
        .with_context(|| format!("cannot run {cmd:?}"))?;
    let wall = t.elapsed();
    let cpu = before.zip(cpu_times()).map(|(b, a)| a.1 - b.1);
    let stdout = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !out.status.success() {
        bail!(
            "{cmd:?} failed ({}): {stdout} {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok((stdout, Measure { wall, cpu }))
}

fn mb_s(bytes: u64, d: Duration) -> f64 {
    bytes as f64 / 1e6 / d.as_secs_f64()
}

/// Best of `n` runs.
fn best_of<T>(n: usize, mut f: impl FnMut() -> Result<(T, Measure)>) -> Result<(T, Measure)> {
    let (mut value, mut m) = f()?;
    for _ in 1..n.max(1) {
        let (v, m2) = f()?;
        if m2.wall < m.wall {
            value = v;
        }
        m = m.best(m2);
    }
    Ok((value, m))
}

fn settlement(args: &SettlementBenchArgs) -> Result<i32> {
    if cfg!(debug_assertions) {
        errln!("note: debug build; run `cargo run --release -- bench settlement` for real figures");
    }
    let dir = args.dir.clone().unwrap_or_else(std::env::temp_dir);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let path = dir.join(format!("ml-connector-bench-{}.txt", args.rows));
    let t = Instant::now();
    let size = write_file(&path, args.rows)?;
    outln!(
        "generated {} ({} rows, {:.1} MB) in {:.2} s; best of {} runs each",
        path.display(),
        args.rows,
        size as f64 / 1e6,
        t.elapsed().as_secs_f64(),
        args.repeat
    )?;
    let mapping = Mapping::default_mapping();
    let parts = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(1, 2);
    let n = args.repeat;
    let (parsed, m0) = best_of(n, || measure(|| parse_only(&path)))?;
    outln!(
        "{}",
        m0.show("ml-connector parse only, 1 thread", size, Some(parsed))
    )?;
    let (single, m1) = best_of(n, || measure(|| engine_run(&path, &mapping, 1)))?;
    let (proposal, m2) = best_of(n, || measure(|| engine_run(&path, &mapping, parts)))?;
    if single != proposal {
        bail!("the {parts}-thread proposal differs from the single-thread one");
    }
    if !proposal.consistent || !proposal.postable || !proposal.unmapped.is_empty() {
        bail!(
            "generated file did not map cleanly: consistent {}, unmapped {}, blockers {:?}",
            proposal.consistent,
            proposal.unmapped.len(),
            proposal.blockers
        );
    }
    let rows = proposal.rows;
    outln!(
        "{}",
        m1.show("ml-connector parse+map+journal, 1 thread", size, Some(rows))
    )?;
    outln!(
        "{}  ({} journals, clearing {}, balanced)",
        m2.show(
            &format!("ml-connector parse+map+journal, {parts} threads"),
            size,
            Some(rows)
        ),
        proposal.journals.len(),
        format_amount(proposal.clearing_total(), 2)
    )?;
    let ours = m1.best(m2);
    match best_of(n, || timed(Command::new("wc").arg("-l").arg(&path))) {
        Ok((out, m)) => outln!("{}  ({out})", m.show("wc -l", size, None))?,
        Err(e) => outln!("wc -l: not run: {e:#}")?,
    }
    if !args.no_python {
        let repo_script = Path::new("assets/bench/settlement_sums.py");
        let script = if repo_script.exists() {
            repo_script.to_path_buf()
        } else {
            let p = dir.join("settlement_sums.py");
            std::fs::write(&p, PYTHON_SCRIPT)?;
            p
        };
        match best_of(n, || timed(Command::new("python3").arg(&script).arg(&path))) {
            Ok((out, py)) => {
                outln!(
                    "{}  ({out})",
                    py.show(&format!("python3 {}", script.display()), size, Some(rows))
                )?;
                let expect = format!(
                    "rows {rows} groups {} rows_total {}",
                    proposal_groups(&path)?.len(),
                    format_amount(proposal.rows_total, 2)
                );
                if !out.starts_with(&expect) {
                    bail!("python disagrees: got `{out}`, expected `{expect} …`");
                }
                let mut line = format!(
                    "speed-up over python: {:.1}x wall (best of 1 and {parts} threads)",
                    py.wall.as_secs_f64() / ours.wall.as_secs_f64()
                );
                if let (Some(a), Some(b)) = (py.cpu, m1.cpu)
                    && b > 0.0
                {
                    let _ = write!(line, ", {:.1}x CPU time (1 thread)", a / b);
                }
                outln!("{line}")?;
            }
            Err(e) => outln!("python3: not run: {e:#}")?,
        }
    }
    if let Some(peak) = peak_rss() {
        outln!(
            "peak RSS {:.1} MB = {:.2}x the file size",
            peak as f64 / 1e6,
            peak as f64 / size as f64
        )?;
    }
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        outln!(
            "load average {} on {} core(s)",
            load.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" "),
            std::thread::available_parallelism().map_or(1, |n| n.get())
        )?;
    }
    Ok(0)
}

/// Distinct (transaction type, amount type, description) groups in the file,
/// as the Python script counts them (case-sensitive).
fn proposal_groups(path: &Path) -> Result<std::collections::HashSet<(String, String, String)>> {
    let bytes = std::fs::read(path)?;
    let decoded = decode(&bytes, None).map_err(|e| anyhow::anyhow!("{e}"))?;
    let file = SettlementFile::parse(&decoded.text, decoded.charset)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mapping = Mapping::parse("[accounts]\nclearing = \"01-000-1190-0000-000\"\n")?;
    let mut matcher = mapping.matcher();
    for row in file.rows() {
        let row = row.map_err(|e| anyhow::anyhow!("{e}"))?;
        matcher.combo_id(
            row.transaction_type,
            row.amount_type,
            row.amount_description,
            "",
        );
    }
    Ok(matcher
        .combos()
        .map(|(c, _)| {
            (
                c.transaction_type.clone(),
                c.amount_type.clone(),
                c.amount_description.clone(),
            )
        })
        .collect())
}
