//! `ml-connector bench settlement`: parse + map + journal speed on a generated
//! million-row V2 file (the mix of a real settlement, see
//! `settlement_file::generate`), in process and as `settlement preview
//! --format json`, beside `wc -l` and a plain Python csv + Decimal script.
//!
//! Run it on a release build: `cargo run --release -- bench settlement`.

use super::output::{errln, outln};

pub(crate) mod settlement_file;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::settlement::{propose_settlement_file, with_settlement_text};
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

/// Parse + map + journal of a file with `parts` threads. One thread: one read,
/// one text. More: what `settlement preview` does (a large UTF-8 file read
/// and mapped in ranges on `parts` threads, see `propose_settlement_file`).
fn engine_run(path: &Path, mapping: &Mapping, parts: usize) -> Result<Proposal> {
    if parts > 1 {
        return Ok(propose_settlement_file(path, None, mapping, chrono_tz::UTC, parts)?.proposal);
    }
    with_settlement_text(path, None, |text, charset| {
        let file = SettlementFile::parse(text, charset)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        let engine = super::settlement::file_engine(mapping, chrono_tz::UTC, &file);
        propose_file(&file, &engine, 1).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
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

/// Peak resident memory (Linux `VmHWM`) of this process, in bytes.
fn peak_rss() -> Option<u64> {
    peak_rss_of("self")
}

/// Peak resident memory (`VmHWM`) of process `pid` (or `self`), in bytes.
fn peak_rss_of(pid: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
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

/// Runs a command to completion like [`timed`] and samples its peak resident
/// memory (`VmHWM`, which only grows) every 2 ms while it runs.
fn timed_peak(cmd: &mut Command) -> Result<(String, Measure, Option<u64>)> {
    use std::io::Read as _;
    let before = cpu_times();
    let t = Instant::now();
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot run {cmd:?}"))?;
    let pid = child.id().to_string();
    let drain = |pipe: Option<Box<dyn std::io::Read + Send>>| {
        move || {
            let mut v = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut v);
            }
            v
        }
    };
    let stdout = drain(child.stdout.take().map(|p| Box::new(p) as _));
    let stderr = drain(child.stderr.take().map(|p| Box::new(p) as _));
    let done = AtomicBool::new(false);
    let (status, wall, out, err, peak) = std::thread::scope(|s| {
        let out = s.spawn(stdout);
        let err = s.spawn(stderr);
        let sampler = s.spawn(|| {
            let mut peak = None;
            while !done.load(Ordering::Relaxed) {
                peak = peak.max(peak_rss_of(&pid));
                std::thread::sleep(Duration::from_millis(2));
            }
            peak
        });
        let status = child.wait();
        let wall = t.elapsed();
        done.store(true, Ordering::Relaxed);
        let join = |h: std::thread::ScopedJoinHandle<'_, Vec<u8>>| h.join().unwrap_or_default();
        (
            status,
            wall,
            join(out),
            join(err),
            sampler.join().unwrap_or_default(),
        )
    });
    let status = status.with_context(|| format!("cannot run {cmd:?}"))?;
    let cpu = before.zip(cpu_times()).map(|(b, a)| a.1 - b.1);
    let stdout = String::from_utf8_lossy(&out).trim().to_string();
    if !status.success() {
        bail!(
            "{cmd:?} failed ({status}): {stdout} {}",
            String::from_utf8_lossy(&err).trim()
        );
    }
    Ok((stdout, Measure { wall, cpu }, peak))
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
    let load_start = load_average().unwrap_or_default();
    let t = Instant::now();
    let size = settlement_file::write_file(&path, args.rows)?;
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
    let preview = match preview_run(&dir, &path, n, &proposal) {
        Ok(p) => {
            outln!("{}", p.measure.show(PREVIEW, size, Some(rows)))?;
            if let Some(peak) = p.peak {
                let mut line = format!(
                    "{:<42}: peak RSS {:.1} MB = {:.2}x the file",
                    "",
                    peak as f64 / 1e6,
                    peak as f64 / size as f64
                );
                if let Some(base) = p.baseline {
                    let _ = write!(
                        line,
                        "; {:.2}x net of the {:.1} MB a 100-row file takes",
                        peak.saturating_sub(base) as f64 / size as f64,
                        base as f64 / 1e6
                    );
                }
                outln!("{line}")?;
            }
            Some(p.measure)
        }
        Err(e) => {
            outln!("{PREVIEW}: not run: {e:#}")?;
            None
        }
    };
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
                if let Some(p) = preview {
                    let _ = write!(
                        line,
                        "; {:.1}x wall as `settlement preview --format json`",
                        py.wall.as_secs_f64() / p.wall.as_secs_f64()
                    );
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
    if let Some(load) = load_average() {
        outln!(
            "load average {load} at the end, {load_start} at the start, on {} core(s)",
            std::thread::available_parallelism().map_or(1, |n| n.get())
        )?;
    }
    Ok(0)
}

/// The 1, 5 and 15 minute load averages.
fn load_average() -> Option<String> {
    let load = std::fs::read_to_string("/proc/loadavg").ok()?;
    Some(
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" "),
    )
}

const PREVIEW: &str = "ml-connector settlement preview --format json";

/// The `settlement preview` runs: best time, peak memory over the runs, and
/// the peak of a run on a 100-row file (what the process takes anyway).
struct PreviewRun {
    measure: Measure,
    peak: Option<u64>,
    baseline: Option<u64>,
}

/// Runs this binary's `settlement preview FILE --format json` `n` times (the
/// real command: its own process, read, parse, map, JSON) and checks its
/// rows and their sum against the in-process proposal.
fn preview_run(dir: &Path, path: &Path, n: usize, proposal: &Proposal) -> Result<PreviewRun> {
    let exe = std::env::current_exe().context("cannot find this binary")?;
    let run = |file: &Path| {
        timed_peak(
            Command::new(&exe)
                .args(["settlement", "preview"])
                .arg(file)
                .args(["--format", "json"]),
        )
    };
    let tiny = dir.join("ml-connector-bench-100.txt");
    settlement_file::write_file(&tiny, 100)?;
    let baseline = run(&tiny)?.2;
    let mut peak = None;
    let (json, measure) = best_of(n, || {
        let (out, m, p) = run(path)?;
        peak = peak.max(p);
        Ok((out, m))
    })?;
    let v: serde_json::Value =
        serde_json::from_str(&json).context("settlement preview printed no JSON")?;
    let want_total = format_amount(proposal.rows_total, 2);
    if v["rows"].as_u64() != Some(proposal.rows) || v["rows_total"].as_str() != Some(&want_total) {
        bail!(
            "settlement preview disagrees: rows {} summing to {}, expected {} summing to {want_total}",
            v["rows"],
            v["rows_total"],
            proposal.rows
        );
    }
    Ok(PreviewRun {
        measure,
        peak,
        baseline,
    })
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
