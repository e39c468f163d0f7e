//! `ml-connector bench store`: a store holding years of history must not slow down
//! the unattended run. Generates a big store (by default five marketplaces, three
//! years: 400 settlements, 2,000 batches, 1,000,000 audit entries), then, against the
//! in-process simulators, times a sync round with nothing new (`headless::run_once`)
//! and the posting of one batch, in the big store and in one without that history.
//!
//! Generation takes the import path: the history is written as a `store export`
//! file and brought in with `Store::import` (one sled batch per tree, the history
//! journal started from it), far faster than a million audited commits.
//!
//! Run it on a release build: `cargo run --release -- bench store`.

use std::io::{BufWriter, Write as _};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use base64::Engine as _;
use chrono::{DateTime, Datelike, Utc};
use clap::Args;
use rust_decimal::Decimal;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use super::output::{errln, outln};
use crate::config::{Config, Unlock};
use crate::ledger::model::{SettlementFormat, SettlementSummary};
use crate::ledger::money::Currency;
use crate::ledger::state::BatchState;
use crate::sim::world::{self, DemoOptions, DemoWorld};
use crate::store::{
    AuditAction, AuditEntry, BatchKey, BatchRecord, EventGroupRecord, RawFileMeta, ReportRecord,
    SCHEMA_VERSION, SettlementRecord, Store, sha256_hex,
};
use crate::sync::ProgressSink;
use crate::sync::context::{SyncContext, SyncOptions};
use crate::sync::headless::run_once;
use crate::sync::posting::PostingEngine;

#[derive(Debug, Args)]
pub struct StoreBenchArgs {
    /// Settlements of generated history (spread over the marketplaces, 14 days apart).
    #[arg(long, default_value_t = 400)]
    pub settlements: usize,
    /// Batches per generated settlement.
    #[arg(long, default_value_t = 5)]
    pub batches_per_settlement: usize,
    /// Audit entries of generated history.
    #[arg(long, default_value_t = 1_000_000)]
    pub audit_entries: u64,
    /// Directory for the stores (default: a temporary directory, removed after).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<std::path::PathBuf>,
    /// Amazon simulator time scale.
    #[arg(long, default_value_t = 60.0)]
    pub time_scale: f64,
    /// Read audit history by scanning the whole trail, as before the audit index (the
    /// "before" figures).
    #[arg(long)]
    pub scan_audit: bool,
}

/// The marketplaces of the generated history: the demo world's three (a marketplace
/// must be routed and sold by a configured seller, and the demo's sellers have these).
const MARKETS: [(&str, &str, &str); 3] = [
    (world::US, "USD", "demo-na"),
    (world::CA, "CAD", "demo-na"),
    (world::DE, "EUR", "demo-eu"),
];
const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
/// Generated actions (no `staging` / `reversal`: their details are typed records).
const ACTIONS: [AuditAction; 5] = [
    AuditAction::Pull,
    AuditAction::Proposal,
    AuditAction::Approval,
    AuditAction::Submission,
    AuditAction::Outcome,
];

pub fn run(args: StoreBenchArgs) -> Result<i32> {
    if args.scan_audit {
        crate::store::read_audit_by_scan();
    }
    let root = args.dir.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("ml-connector-bench-store-{}", std::process::id()))
    });
    std::fs::create_dir_all(&root).with_context(|| format!("creating {}", root.display()))?;
    let result = bench(&args, &root);
    if args.dir.is_none() {
        std::fs::remove_dir_all(&root).ok();
    }
    result
}

fn bench(args: &StoreBenchArgs, root: &Path) -> Result<i32> {
    let big = root.join("big");
    let empty = root.join("empty");
    for d in [&big, &empty] {
        if d.exists() {
            bail!("{} exists: give an empty --dir", d.display());
        }
    }
    outln!(
        "Generating {} settlements x {} batches, {} audit entries, {} marketplaces...",
        args.settlements,
        args.batches_per_settlement,
        args.audit_entries,
        MARKETS.len()
    )?;
    let export = root.join("history.jsonl");
    let t = Instant::now();
    let lines = write_history(&export, args, Utc::now())?;
    let written = t.elapsed();
    let t = Instant::now();
    {
        let store = Store::open(&big, "bench store")?;
        let mut input = std::io::BufReader::new(std::fs::File::open(&export)?);
        store.import(&mut input)?;
    }
    let imported = t.elapsed();
    std::fs::remove_file(&export).ok();
    let t = Instant::now();
    drop(Store::open(&big, "bench store")?);
    let reopened = t.elapsed();
    let t = Instant::now();
    drop(Store::open(&big, "bench store")?);
    let opened = t.elapsed();
    outln!(
        "  export file ({lines} entries) {:.1} s, import {:.1} s, first open {:.2} s, next open {:.2} s",
        written.as_secs_f64(),
        imported.as_secs_f64(),
        reopened.as_secs_f64(),
        opened.as_secs_f64()
    )?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let with_empty = runtime.block_on(measure(&root.join("world-empty"), &empty, args))?;
    let with_big = runtime.block_on(measure(&root.join("world-big"), &big, args))?;

    outln!("")?;
    outln!(
        "| store | batch posted | EBS requests | post wall | idle round | of which backup (export) | idle round EBS requests |"
    )?;
    outln!("| --- | --- | ---: | ---: | ---: | ---: | ---: |")?;
    for (name, m) in [("no history", &with_empty), ("big", &with_big)] {
        outln!(
            "| {name} | {} | {} | {:.2} s | {:.2} s | {:.2} s | {} |",
            m.key,
            m.post_requests,
            m.post_wall.as_secs_f64(),
            m.idle_round.as_secs_f64(),
            m.export.as_secs_f64(),
            m.idle_requests
        )?;
    }
    let ratio = with_big.post_wall.as_secs_f64() / with_empty.post_wall.as_secs_f64().max(1e-9);
    outln!("")?;
    outln!(
        "post wall big/empty {ratio:.2}x (target <= 1.2x), requests {} vs {} (target equal); idle round {:.2} s (target <= 1 s)",
        with_big.post_requests,
        with_empty.post_requests,
        with_big.idle_round.as_secs_f64()
    )?;
    let ok = with_big.post_requests <= with_empty.post_requests
        && ratio <= 1.2
        && with_big.idle_round <= Duration::from_secs(1);
    if !ok {
        errln!("a target was missed");
    }
    Ok(if ok { 0 } else { 1 })
}

struct Measured {
    key: BatchKey,
    post_requests: u64,
    post_wall: Duration,
    idle_round: Duration,
    idle_requests: u64,
    export: Duration,
}

/// EBS requests made so far by the context's clients (each client counted once).
fn ebs_requests(ctx: &SyncContext) -> u64 {
    let mut seen: Vec<*const crate::ebs::EbsClient> = Vec::new();
    let mut n = 0;
    for ledger in [1, 2, 3] {
        if let Ok(c) = ctx.ebs_for_ledger(ledger) {
            let p = Arc::as_ptr(c);
            if !seen.contains(&p) {
                seen.push(p);
                n += c.stats().requests;
            }
        }
    }
    n
}

/// Against a fresh demo world: pull and propose, post one US batch (timed), settle the
/// rest with one run, then time a run with nothing new.
async fn measure(world_dir: &Path, data: &Path, args: &StoreBenchArgs) -> Result<Measured> {
    let mut opts = DemoOptions::new(world_dir);
    opts.time_scale = args.time_scale;
    opts.work_factor = Some(2);
    opts.passphrase = Some("bench-store-passphrase".into());
    let world = DemoWorld::start(opts).await?;
    let config = Config::load(&world.config_path).context("bench config")?;
    let creds = config.load_credentials(&Unlock::Passphrase(world.passphrase().clone()))?;
    let store = Arc::new(Store::open(data, "bench store")?);
    let ctx = SyncContext::new(
        Arc::new(config),
        &creds,
        store.clone(),
        SyncOptions {
            amazon_time_scale: args.time_scale,
            headless: true,
        },
    )?;
    let sink = ProgressSink::noop();
    let cancel = CancellationToken::new();
    for s in &ctx.sellers {
        crate::sync::pull::pull_seller(&ctx, s, &sink, &cancel).await?;
    }
    crate::sync::propose::propose_pending(&ctx, &sink, Utc::now()).await?;
    let mut keys: Vec<BatchKey> = Vec::new();
    for rec in store.settlements()? {
        if rec.marketplace_id != world::US || rec.summary.settlement_id.starts_with("8") {
            continue;
        }
        let batches = store.batches_for(&rec.summary.settlement_id)?;
        if !batches.is_empty() && batches.iter().all(|b| b.state == BatchState::Proposed) {
            keys.extend(batches.iter().map(BatchRecord::key));
        }
    }
    keys.sort();
    let key = keys
        .first()
        .cloned()
        .context("no proposed US batch to post")?;
    let engine = PostingEngine::from_context(&ctx);
    engine.approve(std::slice::from_ref(&key), &ctx.actor, Utc::now())?;
    let before = ebs_requests(&ctx);
    let t = Instant::now();
    let outcomes = engine
        .post_batches(std::slice::from_ref(&key), &sink)
        .await?;
    let post_wall = t.elapsed();
    let post_requests = ebs_requests(&ctx) - before;
    for o in &outcomes {
        outln!(
            "  {}: posted {} -> {} in {:.2} s, {post_requests} EBS requests",
            data.file_name().and_then(|n| n.to_str()).unwrap_or("store"),
            o.key,
            o.state,
            post_wall.as_secs_f64()
        )?;
    }
    // Everything else the demo world holds, then a round with nothing new.
    run_once(&ctx, Some(&engine), &sink, &cancel).await?;
    let before = ebs_requests(&ctx);
    let seq_before = store.journal_position().map_or(0, |p| p.seq);
    let t = Instant::now();
    let report = run_once(&ctx, Some(&engine), &sink, &cancel).await?;
    let idle_round = t.elapsed();
    let idle_requests = ebs_requests(&ctx) - before;
    // The round's rotating backup is a `store export`: its share of the round.
    let t = Instant::now();
    store.export(&mut std::io::sink())?;
    let export = t.elapsed();
    outln!(
        "  idle round {:.2} s ({} changes stored, so it left a backup; a store export alone takes {:.2} s), {idle_requests} EBS requests, {} errors",
        idle_round.as_secs_f64(),
        store.journal_position().map_or(0, |p| p.seq) - seq_before,
        export.as_secs_f64(),
        report.errors.len()
    )?;
    drop(engine);
    drop(ctx);
    world.stop().await;
    Ok(Measured {
        key,
        post_requests,
        post_wall,
        idle_round,
        idle_requests,
        export,
    })
}

#[derive(Serialize)]
struct Line<'a, V: Serialize> {
    tree: &'a str,
    key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<V>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bytes: Option<String>,
}

struct Out {
    w: BufWriter<std::fs::File>,
    lines: u64,
}

impl Out {
    fn put<V: Serialize>(&mut self, tree: &str, key: &[u8], value: &V) -> Result<()> {
        let line = Line {
            tree,
            key: hex::encode(key),
            value: Some(value),
            bytes: None,
        };
        serde_json::to_writer(&mut self.w, &line)?;
        self.w.write_all(b"\n")?;
        self.lines += 1;
        Ok(())
    }

    fn bytes(&mut self, tree: &str, key: &[u8], bytes: &[u8]) -> Result<()> {
        let line: Line<'_, ()> = Line {
            tree,
            key: hex::encode(key),
            value: None,
            bytes: Some(base64::engine::general_purpose::STANDARD.encode(bytes)),
        };
        serde_json::to_writer(&mut self.w, &line)?;
        self.w.write_all(b"\n")?;
        self.lines += 1;
        Ok(())
    }
}

fn period_name(t: DateTime<Utc>, months_after: usize) -> String {
    let m = t.month0() as usize + months_after;
    let year = t.year() + (m / 12) as i32;
    format!("{}-{:02}", MONTHS[m % 12], year % 100)
}

/// Writes the generated history as a `store export` file; returns its entry count.
/// Settlement ids start with `8` (the simulator's never do); the history ends 35 days
/// before `now`, where the demo world's own settlements begin.
fn write_history(path: &Path, args: &StoreBenchArgs, now: DateTime<Utc>) -> Result<u64> {
    let file = std::fs::File::create(path).with_context(|| format!("{}", path.display()))?;
    let mut out = Out {
        w: BufWriter::with_capacity(1 << 20, file),
        lines: 0,
    };
    writeln!(
        out.w,
        "{}",
        serde_json::json!({"format": "ml-connector-store", "schema_version": SCHEMA_VERSION})
    )?;
    out.put("meta", b"schema_version", &SCHEMA_VERSION)?;
    out.put("meta", b"audit_next", &(args.audit_entries + 1))?;
    let per_market = args.settlements.div_ceil(MARKETS.len()).max(1);
    let end = now - chrono::Duration::days(35);
    let first = end - chrono::Duration::days(14 * per_market as i64);
    // Settlements in time order, marketplaces interleaved.
    let mut ids: Vec<(String, DateTime<Utc>)> = Vec::new();
    for i in 0..per_market {
        for (m, (market, currency, seller)) in MARKETS.iter().enumerate() {
            if ids.len() == args.settlements {
                break;
            }
            let id = format!("8{m}{i:08}");
            let start = first + chrono::Duration::days(14 * i as i64);
            let stop = start + chrono::Duration::days(14);
            let bytes = format!("generated history: settlement {id} of {market}\n").into_bytes();
            let sha = sha256_hex(&bytes);
            let group = format!("GEN-{id}");
            out.bytes("raw_bytes", id.as_bytes(), &bytes)?;
            out.put(
                "raw_meta",
                id.as_bytes(),
                &RawFileMeta {
                    settlement_id: id.clone(),
                    report_id: Some(format!("GENR-{id}")),
                    report_type: Some("GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2".into()),
                    seller: Some((*seller).into()),
                    marketplace_id: Some((*market).into()),
                    charset: "UTF-8".into(),
                    sha256: sha.clone(),
                    len: bytes.len() as u64,
                    fetched_at: stop,
                },
            )?;
            out.put(
                "settlements",
                id.as_bytes(),
                &SettlementRecord {
                    summary: SettlementSummary {
                        settlement_id: id.clone(),
                        format: SettlementFormat::V2,
                        start,
                        end: stop,
                        deposit_date: Some(stop + chrono::Duration::days(2)),
                        total_amount: Decimal::new(1_234_567 + i as i64, 2),
                        currency: Currency::new(currency),
                    },
                    seller: (*seller).into(),
                    marketplace_id: (*market).into(),
                    raw_sha256: Some(sha),
                    event_group_id: Some(group.clone()),
                    pulled_at: stop,
                },
            )?;
            out.put(
                "event_groups",
                group.as_bytes(),
                &EventGroupRecord {
                    group_id: group.clone(),
                    seller: (*seller).into(),
                    settlement_id: Some(id.clone()),
                    fetched_at: stop,
                    data: serde_json::json!({
                        "FinancialEventGroupId": group,
                        "ProcessingStatus": "Closed",
                        "FundTransferStatus": "Succeeded",
                        "OriginalTotal": {"CurrencyCode": currency, "CurrencyAmount": 12345.67},
                        "FinancialEventGroupStart": start,
                        "FinancialEventGroupEnd": stop,
                    }),
                },
            )?;
            out.put(
                "reports",
                format!("GENR-{id}").as_bytes(),
                &ReportRecord {
                    report_id: format!("GENR-{id}"),
                    seller: (*seller).into(),
                    marketplace_id: Some((*market).into()),
                    settlement_id: Some(id.clone()),
                    created: stop,
                    pulled_at: Some(stop),
                },
            )?;
            for b in 0..args.batches_per_settlement {
                let key = BatchKey::new(&id, period_name(start, b));
                let mut rec = BatchRecord::new(&key, BatchState::Posted, stop);
                rec.group_id = Some(format!("MLC-{id}-{}-1", key.period));
                rec.journal_ids = vec![(i * 10 + b) as i64 + 1];
                rec.line_count = Some(12);
                out.put("batches", &key.to_bytes(), &rec)?;
            }
            ids.push((id, start));
        }
    }
    // The audit trail: each settlement's entries in its own stretch of time; one entry
    // in 500 names no settlement (mapping changes).
    let total = args.audit_entries;
    let span = (end - first).num_seconds().max(1) as u64;
    for n in 0..total {
        let seq = n + 1;
        let time = first + chrono::Duration::seconds((n * span / total.max(1)) as i64);
        let s = (n as usize * ids.len()) / total.max(1) as usize;
        let (id, start) = &ids[s.min(ids.len() - 1)];
        let (action, settlement, period) = if n % 500 == 499 {
            (AuditAction::MappingChange, None, None)
        } else {
            let action = ACTIONS[n as usize % ACTIONS.len()];
            let period = (action != AuditAction::Pull).then(|| {
                period_name(
                    *start,
                    (n as usize / ACTIONS.len()) % args.batches_per_settlement,
                )
            });
            (action, Some(id.clone()), period)
        };
        let entry = AuditEntry {
            seq,
            time,
            actor: "headless".into(),
            action,
            settlement_id: settlement,
            period,
            sha256: None,
            details: serde_json::json!({ "generated": n }),
        };
        out.put("audit", &seq.to_be_bytes(), &entry)?;
    }
    out.w.flush()?;
    Ok(out.lines)
}
