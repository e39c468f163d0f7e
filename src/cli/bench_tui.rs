//! `ml-connector bench tui`: how fast the workstation draws.
//!
//! Loads a generated settlement (1,000,000 rows by default) into the review
//! screen and scrolls it on a 160x48 TestBackend, reporting frame time
//! (update and draw) p50/p99; the time to the first frame with 100
//! settlements; and the peak resident memory (VmHWM).

pub mod data;

use super::output::outln;
use anyhow::Context as _;
use clap::Args;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::time::{Duration, Instant};

use crate::app::{AppState, Msg, Screen, update};
use data::{generated_detail, generated_settlement_text, many_summaries};

#[derive(Debug, Args)]
pub struct BenchTuiArgs {
    /// Rows of the generated settlement.
    #[arg(long, default_value_t = 1_000_000)]
    pub rows: usize,
    /// Settlements in the list for the first-frame measurement.
    #[arg(long, default_value_t = 100)]
    pub settlements: usize,
    /// Frames drawn while scrolling (per pass).
    #[arg(long, default_value_t = 2000)]
    pub frames: usize,
    /// Passes over the same key sequence; each frame's fastest pass is
    /// reported beside all frames (separates frame cost from preemption on a
    /// busy machine).
    #[arg(long, default_value_t = 3)]
    pub passes: usize,
}

fn key(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

/// (on-CPU, waiting-to-run) nanoseconds of this thread so far (Linux
/// schedstat): separates the cost of a frame from time lost to other
/// processes on a busy machine.
fn thread_sched_ns() -> Option<(u64, u64)> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let mut it = s.split_whitespace().map(|v| v.parse::<u64>().ok());
    Some((it.next()??, it.next()??))
}

/// Peak resident set size in KiB (Linux), if known.
fn vm_hwm_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

pub fn run(args: BenchTuiArgs) -> anyhow::Result<i32> {
    let (w, h) = (160u16, 48u16);
    // time to first frame with N settlements
    let summaries = many_summaries(args.settlements);
    let started = Instant::now();
    let mut state = AppState::new("bench", (w, h));
    update(&mut state, Msg::SettlementsLoaded(summaries));
    let mut term = Terminal::new(TestBackend::new(w, h)).context("test backend")?;
    term.draw(|f| crate::ui::render(f, &state))
        .context("first frame")?;
    let first_frame = started.elapsed();

    // load a big settlement (what sync does on LoadDetail), then the app takes it
    let t0 = Instant::now();
    let text = generated_settlement_text(args.rows);
    let generated = t0.elapsed();
    let t1 = Instant::now();
    let detail = generated_detail(&text);
    drop(text);
    let built = t1.elapsed();
    let id = detail.summary.settlement_id.clone();
    let groups = detail.groups.len();
    let t2 = Instant::now();
    state.loading_detail = Some(id);
    update(&mut state, Msg::DetailLoaded(Box::new(detail)));
    state.screen = Screen::Review;
    term.draw(|f| crate::ui::render(f, &state))?;
    let review_first = t2.elapsed();

    // scroll the rows of the first group, page by page and line by line, to
    // its end and back; the same key sequence in every pass
    let pattern = [
        KeyCode::PageDown,
        KeyCode::Char('j'),
        KeyCode::Char('j'),
        KeyCode::PageDown,
        KeyCode::Char('k'),
    ];
    let code_at = |i: usize| {
        if i == args.frames / 2 {
            KeyCode::End
        } else if i > args.frames / 2 {
            match pattern[i % pattern.len()] {
                KeyCode::PageDown => KeyCode::PageUp,
                KeyCode::Char('j') => KeyCode::Char('k'),
                other => other,
            }
        } else {
            pattern[i % pattern.len()]
        }
    };
    let passes = args.passes.max(1);
    let mut runs: Vec<Vec<Duration>> = Vec::with_capacity(passes);
    let mut waited = Duration::ZERO;
    let mut selected = 0;
    for _ in 0..passes {
        state.review = Default::default();
        update(&mut state, key(KeyCode::Enter));
        let mut frames = Vec::with_capacity(args.frames);
        let before = thread_sched_ns();
        for i in 0..args.frames {
            let t = Instant::now();
            update(&mut state, key(code_at(i)));
            term.draw(|f| crate::ui::render(f, &state))?;
            frames.push(t.elapsed());
        }
        if let (Some(b), Some(a)) = (before, thread_sched_ns()) {
            waited += Duration::from_nanos(a.1.saturating_sub(b.1));
        }
        selected = state.review.rows.selected;
        runs.push(frames);
    }
    // per frame, the fastest pass: what the frame costs without preemption
    let mut best: Vec<Duration> = (0..args.frames)
        .map(|i| runs.iter().map(|r| r[i]).min().unwrap_or_default())
        .collect();
    let mut frames: Vec<Duration> = runs.into_iter().flatten().collect();
    // drill to an order (one scan of the rows, on demand)
    update(&mut state, key(KeyCode::Char('g')));
    let t3 = Instant::now();
    update(&mut state, key(KeyCode::Enter));
    term.draw(|f| crate::ui::render(f, &state))?;
    let order_drill = t3.elapsed();
    frames.sort();
    best.sort();
    let rows = state.detail.as_ref().map_or(0, |d| d.rows.len());
    outln!("bench tui (TestBackend {w}x{h})")?;
    outln!(
        "  first frame, {} settlements: {}   (target < 300 ms)",
        args.settlements,
        ms(first_frame)
    )?;
    outln!("  settlement: {rows} rows, {groups} groups")?;
    outln!("    generate text:              {}", ms(generated))?;
    outln!("    parse + propose + group:    {}", ms(built))?;
    outln!("    review screen first frame:  {}", ms(review_first))?;
    outln!(
        "  scrolling the review screen: {} frames x {passes} passes (update + draw), deepest row {selected}:",
        args.frames
    )?;
    outln!(
        "    all frames:           p50 {}   p99 {}   max {}",
        ms(pct(&frames, 0.50)),
        ms(pct(&frames, 0.99)),
        ms(frames.last().copied().unwrap_or_default())
    )?;
    outln!(
        "    fastest of {passes} per frame: p50 {}   p99 {}   max {}   (target p99 < 8 ms)",
        ms(pct(&best, 0.50)),
        ms(pct(&best, 0.99)),
        ms(best.last().copied().unwrap_or_default())
    )?;
    outln!(
        "    time this thread waited for a CPU meanwhile: {} (load average {})",
        ms(waited),
        std::fs::read_to_string("/proc/loadavg")
            .ok()
            .and_then(|l| l.split_whitespace().next().map(str::to_string))
            .unwrap_or_else(|| "?".into())
    )?;
    outln!("  order drill-down (scan of all rows): {}", ms(order_drill))?;
    match vm_hwm_kib() {
        Some(k) => outln!("  peak memory (VmHWM): {:.1} MiB", k as f64 / 1024.0)?,
        None => outln!("  peak memory (VmHWM): unavailable on this platform")?,
    }
    Ok(0)
}
