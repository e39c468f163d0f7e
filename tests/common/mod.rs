//! Helpers shared by the sync end-to-end and crash tests, and (`fixtures`) the
//! in-memory world of the TUI tests.
#![allow(dead_code)]

pub mod fixtures;
pub mod posting_world;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use ml_connector::config::{Config, Unlock};
use ml_connector::ledger::state::BatchState;
use ml_connector::sim::world::{self, DemoOptions, DemoWorld};
use ml_connector::store::Store;
use ml_connector::sync::ProgressSink;
use ml_connector::sync::context::{SyncContext, SyncOptions};
use ml_connector::sync::headless::{RunReport, run_once};
use ml_connector::sync::posting::PostingEngine;
use rust_decimal::Decimal;
use tokio_util::sync::CancellationToken;

pub const CLEARING: &str = "01-000-1190-0000-000";
pub const PASSPHRASE: &str = "e2e-passphrase-7f3a";
pub const SCALE: f64 = 60.0;

pub fn options(dir: &Path, faults: bool) -> DemoOptions {
    let mut o = DemoOptions::new(dir);
    o.time_scale = SCALE;
    o.work_factor = Some(2);
    o.passphrase = Some(PASSPHRASE.into());
    if faults {
        o.amazon_fault_rate = 0.05;
        o.ebs_fault_rate = 0.05;
    }
    o
}

pub fn context(world: &DemoWorld, data: &Path) -> SyncContext {
    let config = Config::load(&world.config_path).expect("demo config loads");
    let creds = config
        .load_credentials(&Unlock::Passphrase(world.passphrase().clone()))
        .expect("demo credentials decrypt");
    let store = Arc::new(Store::open(data, "sync_e2e").expect("store opens"));
    SyncContext::new(
        Arc::new(config),
        &creds,
        store,
        SyncOptions {
            amazon_time_scale: SCALE,
            headless: true,
        },
    )
    .expect("context wires")
}

pub async fn headless_once(ctx: &SyncContext) -> RunReport {
    let engine = PostingEngine::from_context(ctx);
    run_once(
        ctx,
        Some(&engine),
        &ProgressSink::noop(),
        &CancellationToken::new(),
    )
    .await
    .expect("run completes")
}

/// The workstation's review of one settlement through a fresh bridge over `ctx`: the
/// detail it loads, or the error it reports instead.
pub async fn review(
    ctx: SyncContext,
    sid: &str,
) -> Result<Box<ml_connector::app::view::SettlementDetail>, String> {
    use ml_connector::app::{Effect, Msg};
    use ml_connector::workstation::{self, BridgeOptions};
    let engine = PostingEngine::from_context(&ctx);
    let (msg_tx, mut rx) = tokio::sync::mpsc::channel(256);
    let (fx, fx_rx) = tokio::sync::mpsc::channel(16);
    let cancel = CancellationToken::new();
    let bridge = workstation::spawn(
        ctx,
        engine,
        msg_tx,
        fx_rx,
        BridgeOptions {
            every: None,
            sync_at_start: false,
            cancel: cancel.clone(),
        },
    );
    fx.send(Effect::LoadDetail(sid.to_string())).await.unwrap();
    let answer = tokio::time::timeout(std::time::Duration::from_secs(60), async {
        loop {
            match rx.recv().await {
                Some(Msg::DetailLoaded(d)) => return Ok(d),
                Some(Msg::Error(e)) => return Err(e),
                Some(_) => {}
                None => panic!("the bridge stopped"),
            }
        }
    })
    .await
    .expect("an answer");
    cancel.cancel();
    drop(fx);
    let _ = tokio::time::timeout(std::time::Duration::from_secs(30), bridge).await;
    answer
}

pub fn dec(v: &serde_json::Value) -> Decimal {
    v.as_str().map(|s| s.parse().unwrap()).unwrap_or_default()
}

/// Checks every pulled settlement against the world's design; returns (imported, waiting, rejected).
pub fn check_outcomes(world: &DemoWorld, report: &RunReport) -> (usize, usize, usize) {
    let truth = world.amazon.truth();
    let journals = world.ebs.gl_journals();
    let journals = journals.as_array().unwrap();
    // The latest DE settlement carries the unmapped fee.
    let latest_de = truth
        .settlements
        .iter()
        .filter(|s| s.marketplace_id == world::DE && s.report_status == "DONE")
        .max_by_key(|s| s.end.clone())
        .map(|s| s.settlement_id.clone())
        .expect("DE has settlements");
    let (mut imported, mut waiting, mut rejected) = (0, 0, 0);
    for t in truth
        .settlements
        .iter()
        .filter(|s| s.report_status == "DONE")
    {
        let rep = report
            .settlements
            .iter()
            .find(|r| r.settlement_id == t.settlement_id)
            .unwrap_or_else(|| panic!("settlement {} missing from the report", t.settlement_id));
        assert!(
            !rep.batches.is_empty(),
            "{} has no batches; errors: {:?}",
            t.settlement_id,
            report.errors
        );
        assert_eq!(rep.total, t.total_amount, "{} total", t.settlement_id);
        // Journals in EBS for this settlement, per period.
        let mut per_period: BTreeMap<String, usize> = BTreeMap::new();
        let mut clearing = Decimal::ZERO;
        for j in journals {
            let lines = j["lines"].as_array().unwrap();
            if !lines
                .iter()
                .any(|l| l["reference_1"].as_str() == Some(t.settlement_id.as_str()))
            {
                continue;
            }
            *per_period
                .entry(j["period_name"].as_str().unwrap().to_string())
                .or_default() += 1;
            for l in lines.iter().filter(|l| l["account"] == CLEARING) {
                clearing += dec(&l["entered_dr"]) - dec(&l["entered_cr"]);
            }
        }
        if t.marketplace_id == world::CA {
            // Rejected at import, or (once EBS end-dated the account) blocked before
            // staging / kept from auto-posting: the same designed cause.
            for b in &rep.batches {
                let reason = b.reason.clone().unwrap_or_default();
                match b.state {
                    BatchState::Rejected => assert!(!reason.is_empty(), "{b:?}"),
                    BatchState::Approved | BatchState::Proposed => assert!(
                        reason.contains(world::CA_FEE_ACCOUNT),
                        "CA {} {b:?}",
                        t.settlement_id
                    ),
                    _ => panic!("CA {} {b:?}", t.settlement_id),
                }
            }
            assert!(per_period.is_empty(), "a rejected CA journal was created");
            rejected += 1;
        } else if t.settlement_id == latest_de {
            assert!(
                rep.batches
                    .iter()
                    .all(|b| b.state == BatchState::NeedsMapping),
                "DE latest: {rep:?}"
            );
            let reason = rep.batches[0].reason.clone().unwrap_or_default();
            assert!(reason.contains(world::UNMAPPED_FEE), "reason: {reason}");
            assert!(per_period.is_empty());
            waiting += 1;
        } else {
            for b in &rep.batches {
                assert!(
                    matches!(b.state, BatchState::Imported | BatchState::Posted),
                    "{} {b:?}",
                    t.settlement_id
                );
                assert_eq!(
                    per_period.get(&b.period),
                    Some(&1),
                    "{} period {} must be in EBS exactly once: {per_period:?}",
                    t.settlement_id,
                    b.period
                );
            }
            assert_eq!(per_period.len(), rep.batches.len());
            assert_eq!(
                clearing,
                t.total_amount - t.carried_balance,
                "clearing movement of {}",
                t.settlement_id
            );
            imported += 1;
        }
    }
    (imported, waiting, rejected)
}

pub fn grep_secrets(root: &Path, secrets: &[String], skip: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(p) = stack.pop() {
        if p.is_dir() {
            for e in std::fs::read_dir(&p).unwrap() {
                stack.push(e.unwrap().path());
            }
            continue;
        }
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        if skip.contains(&name.as_str()) {
            continue;
        }
        let bytes = std::fs::read(&p).unwrap();
        for s in secrets {
            if memchr::memmem::find(&bytes, s.as_bytes()).is_some() {
                found.push(format!("{} holds `{s}`", p.display()));
            }
        }
    }
    found
}
