//! The posting engine's test world, shared by the posting and controls tests: an EBS
//! simulator in step mode, a store in a temp dir, and small hand-made journals.

use chrono::{NaiveDate, TimeZone, Utc};
use ml_connector::ebs::{Backoff, Contexts, Credentials, EbsClient, EbsConfig, PollPolicy};
use ml_connector::ledger::fx::FxPolicy;
use ml_connector::ledger::journal::{CLEARING_LABEL, Journal, JournalLine, LineKind};
use ml_connector::ledger::model::{SettlementFormat, SettlementSummary};
use ml_connector::ledger::money::Currency;
use ml_connector::ledger::proposal_hash::{PROPOSAL_HASH_VERSION, proposal_hash};
use ml_connector::ledger::state::BatchState;
use ml_connector::sim::ebs::{EbsSimConfig, RunningEbsSim, Seed, spawn};
use ml_connector::store::{BatchKey, BatchRecord, MappingRef, Proposal, SettlementRecord, Store};
use ml_connector::sync::convert::{LedgerRoute, gl_batch};
use ml_connector::sync::posting::{BatchOutcome, PostingEngine, PostingProgress, WaitMode};
use ml_connector::sync::{ProgressSink, SyncError};
use rust_decimal::Decimal;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

pub const MARKETPLACE: &str = "ATVPDKIKX0DER";
pub const CLEARING: &str = "01-000-1190-0000-000";
pub const SALES: &str = "01-000-4010-0000-000";
pub const FEES: &str = "01-000-6110-0000-000";
pub const FEES_FIXED: &str = "01-000-6120-0000-000";

pub fn d(s: &str) -> Decimal {
    s.parse().expect("decimal")
}

pub fn route() -> LedgerRoute {
    LedgerRoute {
        marketplace_id: MARKETPLACE.into(),
        ledger_id: "1".into(),
        ledger_currency: Some("USD".into()),
        je_source: "Amazon".into(),
        je_category: "Amazon Settlement".into(),
        fx: FxPolicy::default(),
    }
}

pub fn summary(sid: &str) -> SettlementSummary {
    SettlementSummary {
        settlement_id: sid.into(),
        format: SettlementFormat::V2,
        start: Utc.with_ymd_and_hms(2026, 9, 24, 8, 0, 0).unwrap(),
        end: Utc.with_ymd_and_hms(2026, 10, 8, 8, 0, 0).unwrap(),
        deposit_date: None,
        total_amount: d("90"),
        currency: Currency::new("USD"),
    }
}

pub fn line(account: &str, label: &str, dr: &str, cr: &str, kind: LineKind) -> JournalLine {
    JournalLine {
        account: account.into(),
        label: label.into(),
        debit: d(dr),
        credit: d(cr),
        rows: 1,
        original_period: None,
        kind,
        rules: vec![],
        ap: false,
    }
}

/// Sales 100 Cr, fees 10 Dr on `fees`, clearing 90 Dr.
pub fn journal(period: &str, date: NaiveDate, fees: &str) -> Journal {
    Journal {
        period: period.into(),
        accounting_date: date,
        lines: vec![
            line(SALES, "Sales", "0", "100", LineKind::Mapped),
            line(fees, "Fees", "10", "0", LineKind::Mapped),
            line(CLEARING, CLEARING_LABEL, "90", "0", LineKind::Clearing),
        ],
        zero_net: vec![],
        total_debit: d("100"),
        total_credit: d("100"),
    }
}

pub fn oct(fees: &str) -> Journal {
    journal(
        "OCT-26",
        NaiveDate::from_ymd_opt(2026, 10, 8).unwrap(),
        fees,
    )
}

pub fn sep(fees: &str) -> Journal {
    journal(
        "SEP-26",
        NaiveDate::from_ymd_opt(2026, 9, 30).unwrap(),
        fees,
    )
}

pub struct World {
    pub dir: tempfile::TempDir,
    pub store: Option<Arc<Store>>,
    pub sim: RunningEbsSim,
    pub client: Arc<EbsClient>,
}

pub fn client_for(sim: &RunningEbsSim) -> Arc<EbsClient> {
    let mut cfg = EbsConfig::new(
        &sim.base_url(),
        Credentials {
            user: "OPERATIONS".into(),
            password: secrecy::SecretString::from("welcome1".to_string()),
        },
        Contexts::vision("1000", "1", "204"),
    );
    cfg.retry = Backoff {
        max_attempts: 5,
        base: Duration::from_millis(1),
        cap: Duration::from_millis(4),
    };
    cfg.poll = PollPolicy {
        initial: Duration::from_millis(1),
        max: Duration::from_millis(5),
        timeout: Duration::from_secs(30),
    };
    Arc::new(EbsClient::new(cfg).expect("client"))
}

pub async fn world_with(seed: Seed) -> World {
    let sim = spawn(EbsSimConfig {
        seed,
        ..EbsSimConfig::step()
    })
    .await
    .expect("sim");
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(Store::open(dir.path(), "posting test").expect("store"));
    let client = client_for(&sim);
    World {
        dir,
        store: Some(store),
        sim,
        client,
    }
}

pub async fn world() -> World {
    world_with(Seed::default_seed()).await
}

impl World {
    pub fn store(&self) -> &Arc<Store> {
        self.store.as_ref().expect("store open")
    }

    pub fn engine(&self) -> PostingEngine {
        PostingEngine::new(
            self.store().clone(),
            self.client.clone(),
            vec![route()],
            "tester",
        )
        .with_wait(WaitMode::Once)
    }

    /// Drops the store (as a killed process would) and opens it again.
    pub fn reopen(&mut self) {
        self.store = None;
        self.store = Some(Arc::new(
            Store::open(self.dir.path(), "posting test (restarted)").expect("reopen"),
        ));
    }

    /// Stores a settlement with one proposal per journal (batches created when missing).
    pub fn propose(&self, sid: &str, journals: &[Journal]) -> Vec<BatchKey> {
        let store = self.store();
        store
            .import_mapping(
                "mapping.toml",
                "# test mapping\n",
                "test",
                "tester",
                Utc::now(),
            )
            .expect("mapping");
        store
            .put_settlement(
                &SettlementRecord {
                    summary: summary(sid),
                    seller: "seller".into(),
                    marketplace_id: MARKETPLACE.into(),
                    raw_sha256: None,
                    event_group_id: None,
                    pulled_at: Utc::now(),
                },
                None,
            )
            .expect("settlement");
        let mut keys = Vec::new();
        for j in journals {
            let key = BatchKey::new(sid, j.period.clone());
            if store.batch(&key).expect("read").is_none() {
                store
                    .create_batch(
                        &BatchRecord::new(&key, BatchState::Proposed, Utc::now()),
                        None,
                    )
                    .expect("batch");
            }
            store
                .put_proposal(
                    &Proposal {
                        batch: key.clone(),
                        mapping: MappingRef {
                            name: "mapping.toml".into(),
                            version: 1,
                        },
                        proposal_hash: proposal_hash(sid, "USD", BatchState::Proposed, j),
                        hash_version: PROPOSAL_HASH_VERSION,
                        legacy_hash: None,
                        created_at: Utc::now(),
                        outcome: BatchState::Proposed,
                        reason: None,
                        lines: j.clone(),
                    },
                    None,
                )
                .expect("proposal");
            keys.push(key);
        }
        keys
    }

    pub fn state(&self, key: &BatchKey) -> BatchRecord {
        self.store().batch(key).expect("read").expect("batch")
    }

    /// Journals in EBS for a settlement (the simulator's stable contract).
    pub fn journals(&self, sid: &str) -> Vec<Value> {
        self.sim
            .gl_journals()
            .as_array()
            .expect("array")
            .iter()
            .filter(|j| {
                j["lines"]
                    .as_array()
                    .is_some_and(|ls| ls.iter().any(|l| l["reference_1"] == sid))
            })
            .cloned()
            .collect()
    }

    /// GL_INTERFACE rows carrying the settlement and period.
    pub async fn interface_rows(&self, sid: &str, period: &Journal) -> usize {
        let b = gl_batch(&summary(sid), period, &route(), 1).expect("batch");
        self.client
            .gl_existing(&b)
            .await
            .expect("existing")
            .rows
            .len()
    }

    pub async fn sim_post(&self, body: Value) -> Value {
        reqwest::Client::new()
            .post(format!("{}/_sim/gl/post", self.sim.base_url()))
            .json(&body)
            .send()
            .await
            .expect("post")
            .json()
            .await
            .expect("json")
    }

    pub async fn sim_delete(&self, body: Value) -> Value {
        reqwest::Client::new()
            .post(format!("{}/_sim/gl/delete", self.sim.base_url()))
            .json(&body)
            .send()
            .await
            .expect("delete")
            .json()
            .await
            .expect("json")
    }
}

pub fn quiet(_: PostingProgress) {}

/// Posts until nothing moves: post, let EBS run its requests, post again.
pub async fn settle(
    w: &World,
    engine: &PostingEngine,
    keys: &[BatchKey],
) -> Result<Vec<BatchOutcome>, SyncError> {
    let mut out = Vec::new();
    let sink = ProgressSink::noop();
    for _ in 0..4 {
        engine.reconcile_in_flight(&sink).await?;
        out = engine.post_batches(keys, &sink).await?;
        if out
            .iter()
            .all(|o| o.state != BatchState::Submitted && o.error.is_none())
        {
            break;
        }
        w.sim.run_until_idle();
    }
    Ok(out)
}

pub fn approve(w: &World, keys: &[BatchKey]) {
    w.engine()
        .approve(keys, "alice", Utc::now())
        .expect("approve");
}
