//! Foreign currency end to end (issue 15): settlements of a marketplace without a local
//! entity land in another currency's ledger. Both simulators over HTTP on 127.0.0.1, the
//! real `SyncContext` → `PostingEngine::from_context` path (no hand-built route): the
//! ledger's currency comes from EBS (`get_ledger`), the rate from GL_DAILY_RATES
//! (`get_daily_rate`) or from Amazon's event group, a missing rate waits as `needs_rate`,
//! and every date is a day in the ledger's time zone.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use common::{CLEARING, context, dec, headless_once, options};
use ml_connector::config::{Config, Credentials};
use ml_connector::ebs::{EbsClient, EbsError, GlBatch};
use ml_connector::ledger::journal::CLEARING_LABEL;
use ml_connector::ledger::state::BatchState;
use ml_connector::sim::amazon::{self as amazon_sim, AmazonSimConfig};
use ml_connector::sim::ebs::{self as ebs_sim, EbsSimConfig, Seed};
use ml_connector::sim::world::{self, DemoWorld, demo_seed};
use ml_connector::store::{AuditAction, RawFileMeta, SettlementRecord};
use ml_connector::sync::ProgressSink;
use ml_connector::sync::context::{SyncContext, SyncOptions};
use ml_connector::sync::headless::{RunReport, exit};
use ml_connector::sync::posting::{PostingEngine, WaitMode};
use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::{Value, json};

fn d(s: &str) -> Decimal {
    s.parse().expect("decimal")
}

fn day(s: &str) -> NaiveDate {
    s.parse().expect("date")
}

fn round2(v: Decimal) -> Decimal {
    v.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

/// The UK settlements Amazon has closed and published.
fn uk_settlements(world: &DemoWorld) -> Vec<amazon_sim::TruthSettlement> {
    let truth = world.amazon.truth();
    let out: Vec<_> = truth
        .settlements
        .into_iter()
        .filter(|s| s.marketplace_id == world::UK && s.report_status == "DONE")
        .collect();
    assert!(!out.is_empty(), "the demo world has UK settlements");
    out
}

/// EBS journals carrying a settlement (`/_sim/gl/journals`).
fn journals_of(world: &DemoWorld, sid: &str) -> Vec<Value> {
    world
        .ebs
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

fn lines(j: &Value) -> &Vec<Value> {
    j["lines"].as_array().expect("lines")
}

fn entered(l: &Value) -> Decimal {
    dec(&l["entered_dr"]) - dec(&l["entered_cr"])
}

fn accounted(l: &Value) -> Decimal {
    dec(&l["accounted_dr"]) - dec(&l["accounted_cr"])
}

/// Every UK settlement imported into ledger 1 in GBP, each journal balanced in both
/// currencies, the clearing account moving by Amazon's total less the carried balance (in
/// GBP); returns the journals per settlement.
fn check_uk_imported(
    world: &DemoWorld,
    report: &RunReport,
) -> BTreeMap<String, (amazon_sim::TruthSettlement, Vec<Value>)> {
    let mut out = BTreeMap::new();
    for t in uk_settlements(world) {
        let rep = report
            .settlements
            .iter()
            .find(|r| r.settlement_id == t.settlement_id)
            .unwrap_or_else(|| panic!("{} missing from the report", t.settlement_id));
        assert!(!rep.batches.is_empty(), "{rep:?}");
        for b in &rep.batches {
            assert!(
                matches!(b.state, BatchState::Imported | BatchState::Posted),
                "UK {} {b:?}; errors {:?}",
                t.settlement_id,
                report.errors
            );
        }
        let js = journals_of(world, &t.settlement_id);
        assert_eq!(js.len(), rep.batches.len(), "one journal per period");
        let mut clearing = Decimal::ZERO;
        for j in &js {
            assert_eq!(j["ledger_id"], "1", "the US ledger");
            assert_eq!(j["currency"], "GBP", "entered in the settlement currency");
            let ls = lines(j);
            let (edr, ecr, adr, acr) = ls.iter().fold(
                (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO, Decimal::ZERO),
                |(a, b, c, e), l| {
                    (
                        a + dec(&l["entered_dr"]),
                        b + dec(&l["entered_cr"]),
                        c + dec(&l["accounted_dr"]),
                        e + dec(&l["accounted_cr"]),
                    )
                },
            );
            assert_eq!(edr, ecr, "balanced in GBP: {j}");
            assert_eq!(adr, acr, "balanced in USD (rounding line included): {j}");
            for l in ls {
                if l["description"] == "FX rounding" {
                    assert!(entered(l).is_zero(), "a rounding line enters nothing: {l}");
                    assert!(accounted(l).abs() < d("1"), "rounding only: {l}");
                }
            }
            clearing += ls
                .iter()
                .filter(|l| l["account"] == CLEARING)
                .map(entered)
                .sum::<Decimal>();
        }
        assert_eq!(
            clearing,
            t.total_amount - t.carried_balance,
            "clearing movement of {} in GBP",
            t.settlement_id
        );
        out.insert(t.settlement_id.clone(), (t, js));
    }
    out
}

/// A GL rate: every line converted at `rate` to the cent; the clearing lines together at
/// the rate (shared over periods by cumulative rounding); the rounding line takes the rest.
fn check_converted_at(sid: &str, js: &[Value], rate: Decimal) {
    let all = || js.iter().flat_map(lines);
    for l in all() {
        if l["description"] != "FX rounding" && l["description"] != CLEARING_LABEL {
            assert_eq!(accounted(l), round2(entered(l) * rate), "{sid}: {l}");
        }
    }
    let clearing = |f: fn(&Value) -> Decimal| -> Decimal {
        all()
            .filter(|l| l["description"] == CLEARING_LABEL)
            .map(f)
            .sum()
    };
    assert_eq!(
        clearing(accounted),
        round2(clearing(entered) * rate),
        "{sid}"
    );
}

fn set_fx_rate_type(world: &DemoWorld, value: &str) {
    let text = std::fs::read_to_string(&world.config_path).unwrap();
    let changed = text.replace(
        "fx_rate_type = \"Corporate\"",
        &format!("fx_rate_type = \"{value}\""),
    );
    assert_ne!(text, changed, "the demo config names its rate type");
    std::fs::write(&world.config_path, changed).unwrap();
}

// ------------------------------------------------------------------ the two services

#[tokio::test]
async fn get_ledger_and_get_daily_rate_over_http() {
    let sim = ebs_sim::spawn(EbsSimConfig::step()).await.expect("sim");
    let client = common::posting_world::client_for(&sim);
    let l = client.ledger("1").await.expect("ledger 1");
    assert_eq!(
        (l.name.as_str(), l.currency.as_str()),
        ("US Primary", "USD")
    );
    assert_eq!(l.ledger_id, "1");
    assert_eq!(l.period_set_name.as_deref(), Some("Monthly"));
    let de = client.ledger("3").await.expect("ledger 3");
    assert_eq!(de.currency, "EUR");
    match client.ledger("99").await {
        Err(EbsError::Business { message, .. }) => assert!(message.contains("99"), "{message}"),
        other => panic!("an unknown ledger is a business error: {other:?}"),
    }
    let oct8 = day("2026-10-08");
    assert_eq!(
        client
            .daily_rate("GBP", "USD", "Corporate", oct8)
            .await
            .unwrap(),
        Some(d("1.27"))
    );
    assert_eq!(
        client
            .daily_rate("USD", "USD", "Corporate", oct8)
            .await
            .unwrap(),
        Some(Decimal::ONE)
    );
    assert_eq!(
        client
            .daily_rate("GBP", "CAD", "Corporate", oct8)
            .await
            .unwrap(),
        None,
        "no rate is an answer, not an error"
    );
    assert!(matches!(
        client.daily_rate("GBP", "USD", "Nonsense", oct8).await,
        Err(EbsError::Business { .. })
    ));
    assert!(matches!(
        client.daily_rate("GBP", "USD", "User", oct8).await,
        Err(EbsError::Business { .. })
    ));
    // A person loads a rate (test control over HTTP): it wins for the day it covers.
    let loaded: Value = reqwest::Client::new()
        .post(format!("{}/_sim/gl/daily_rates", sim.base_url()))
        .json(
            &json!({"from_currency": "GBP", "to_currency": "CAD", "rate": "1.74",
                      "date": "2026-10-08", "types": ["Corporate"]}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(loaded["loaded"], 1);
    assert_eq!(
        client
            .daily_rate("GBP", "CAD", "Corporate", oct8)
            .await
            .unwrap(),
        Some(d("1.74"))
    );
    assert_eq!(
        client.daily_rate("GBP", "CAD", "Spot", oct8).await.unwrap(),
        None
    );
    sim.set_daily_rate("GBP", "USD", oct8, d("1.2801"), &[]);
    assert_eq!(
        client
            .daily_rate("GBP", "USD", "Corporate", oct8)
            .await
            .unwrap(),
        Some(d("1.2801"))
    );
    assert_eq!(
        client
            .daily_rate("GBP", "USD", "Corporate", day("2026-10-09"))
            .await
            .unwrap(),
        Some(d("1.27")),
        "other days keep the seed's rate"
    );
    // Both are deployed methods of the custom alias.
    let wadl = reqwest::Client::new()
        .get(format!("{}/webservices/rest/xxmlc/?WADL", sim.base_url()))
        .basic_auth("OPERATIONS", Some("welcome1"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let methods = ml_connector::doctor::wadl_methods(&wadl);
    for m in ["get_ledger", "get_daily_rate"] {
        assert!(
            methods.contains(&(m.to_string(), "POST".to_string())),
            "{m}: {methods:?}"
        );
    }
    sim.shutdown().await;
}

// ------------------------------------------------------------------ the demo's UK marketplace

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uk_settlements_import_into_the_usd_ledger_at_the_corporate_rate() {
    let dir = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let world = DemoWorld::start(options(dir.path(), false)).await.unwrap();
    let ctx = context(&world, data.path());
    let report = headless_once(&ctx).await;
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(report.exit_code, exit::WAITING, "DE's unmapped fee waits");
    // The ledger as EBS names it, in the report.
    let us = report
        .ledgers
        .iter()
        .find(|l| l.ledger_id == 1)
        .expect("ledger 1 in the report");
    assert_eq!(us.name.as_deref(), Some("US Primary"));
    assert_eq!(us.currency.as_deref(), Some("USD"));
    assert!(us.marketplaces.contains(&world::UK.to_string()), "{us:?}");
    assert!(us.marketplaces.contains(&world::US.to_string()), "{us:?}");
    let de = report.ledgers.iter().find(|l| l.ledger_id == 3).unwrap();
    assert_eq!(de.currency.as_deref(), Some("EUR"));

    let uk = check_uk_imported(&world, &report);
    // Corporate: every line converted at GL_DAILY_RATES' 1.27 (seeded for every day),
    // the clearing lines too; only the rounding line absorbs the cents.
    for (sid, (_, js)) in &uk {
        check_converted_at(sid, js, d("1.27"));
        // The staged rows said which rate and date: Corporate on the accounting date.
        let staged = staged_batches(&ctx, sid);
        for b in &staged {
            let c = b.conversion.as_ref().expect("converted");
            assert_eq!(c.conversion_type, "Corporate");
            assert!(!c.user_rate);
            assert_eq!(c.rate, d("1.27"));
            assert_eq!(
                c.date,
                staged.iter().map(|b| b.accounting_date).max().unwrap(),
                "one conversion date: the settlement's accounting date"
            );
        }
    }
    // The workstation's post target names the ledger as EBS does (ledger book of the run).
    let known = ctx.ledgers.known("1").expect("ledger 1 read this run");
    assert_eq!(
        (known.name.as_str(), known.currency.as_str()),
        ("US Primary", "USD")
    );

    // doctor, per routing: the ledger, whether the currency differs, today's rate.
    let text = doctor_text(&world).await;
    assert!(
        text.contains(&format!(
            "ok    routing {} ledger 1 currency: US Primary in USD; settlements in GBP differ: Corporate rate GBP→USD on",
            world::UK
        )) && text.contains(" is 1.27"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "ok    routing {} ledger 1 currency: US Primary in USD; settlements in USD, no conversion",
            world::US
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "ok    routing {} ledger 3 currency: DE Primary in EUR; settlements in EUR, no conversion",
            world::DE
        )),
        "{text}"
    );
    drop(ctx);
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_group_rates_put_amazons_converted_deposit_on_clearing_to_the_cent() {
    let dir = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let world = DemoWorld::start(options(dir.path(), false)).await.unwrap();
    set_fx_rate_type(&world, "event_group");
    let ctx = context(&world, data.path());
    let report = headless_once(&ctx).await;
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let uk = check_uk_imported(&world, &report);
    let mut rounding_lines = 0;
    for (sid, (t, js)) in &uk {
        assert_eq!(
            t.converted_currency, "USD",
            "Amazon deposits UK money in USD"
        );
        assert_ne!(t.converted_total, t.total_amount, "at Amazon's rate");
        // The settlement's clearing lines (all its periods) carry exactly the deposit.
        let clearing: Decimal = js
            .iter()
            .flat_map(lines)
            .filter(|l| l["account"] == CLEARING && l["description"] == CLEARING_LABEL)
            .map(accounted)
            .sum();
        assert_eq!(
            clearing, t.converted_total,
            "{sid}: Amazon's converted deposit"
        );
        rounding_lines += js
            .iter()
            .flat_map(lines)
            .filter(|l| l["description"] == "FX rounding")
            .count();
        for b in staged_batches(&ctx, sid) {
            let c = b.conversion.expect("converted");
            assert_eq!(
                c.conversion_type, "User",
                "Amazon's rate is sent as a User rate"
            );
            assert!(c.user_rate);
        }
    }
    assert!(
        rounding_lines > 0,
        "Amazon's 10-digit rate leaves cents to round somewhere"
    );
    drop(ctx);
    world.stop().await;
}

/// The staged batches of a settlement (its `staging` audit entries).
fn staged_batches(ctx: &SyncContext, sid: &str) -> Vec<GlBatch> {
    ctx.store
        .audit_entries(Some(sid))
        .unwrap()
        .iter()
        .filter(|e| e.action == AuditAction::Staging)
        .filter_map(|e| serde_json::from_value(e.details.get("batch")?.clone()).ok())
        .collect()
}

async fn doctor_text(world: &DemoWorld) -> String {
    let config = Config::load(&world.config_path).unwrap();
    let creds = config
        .load_credentials(&ml_connector::config::Unlock::Passphrase(
            world.passphrase().clone(),
        ))
        .unwrap();
    let mut report = ml_connector::doctor::Report::default();
    let opts = ml_connector::doctor::Options::today(world.ebs.now());
    ml_connector::doctor::check_with(&config, &creds, &opts, &mut report).await;
    report.to_string()
}

// ------------------------------------------------------------------ needs_rate

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_rate_waits_as_needs_rate_and_posts_once_it_is_loaded() {
    let dir = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let mut opts = options(dir.path(), false);
    // EBS knows GBP→USD only as a Spot rate: no Corporate rate for any day.
    let gbp = "from_currency = \"GBP\"\nto_currency = \"USD\"\nrate = \"1.27\"\n";
    let seed = demo_seed();
    assert!(seed.contains(gbp));
    opts.ebs_seed = Some(seed.replace(gbp, &format!("{gbp}types = [\"Spot\"]\n")));
    let world = DemoWorld::start(opts).await.unwrap();
    let ctx = context(&world, data.path());
    let report = headless_once(&ctx).await;
    // Waiting for a person, not a failure: exit 3, no errors.
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(report.exit_code, exit::WAITING);
    assert!(report.counts["needs_rate"] > 0, "{:?}", report.counts);
    for t in uk_settlements(&world) {
        let rep = report
            .settlements
            .iter()
            .find(|r| r.settlement_id == t.settlement_id)
            .unwrap();
        // The date it waits for: the settlement's accounting date (its last journal's).
        let date = ctx
            .store
            .proposals()
            .unwrap()
            .iter()
            .filter(|p| p.batch.settlement_id == t.settlement_id)
            .map(|p| p.lines.accounting_date)
            .max()
            .unwrap();
        for b in &rep.batches {
            assert_eq!(b.state, BatchState::NeedsRate, "{} {b:?}", t.settlement_id);
            let why = b.reason.clone().unwrap_or_default();
            for part in [
                "waiting for data",
                "Corporate",
                "GBP→USD",
                &date.to_string(),
                "GL_DAILY_RATES",
            ] {
                assert!(why.contains(part), "`{part}` in {why}");
            }
        }
        assert!(
            journals_of(&world, &t.settlement_id).is_empty(),
            "nothing was sent, nothing rejected"
        );
    }
    assert!(
        !report
            .settlements
            .iter()
            .any(|s| s.marketplace == world::UK && s.status == Some(BatchState::Rejected)),
        "never a rejected import"
    );
    let uk_keys = || -> Vec<_> {
        ctx.store
            .batches()
            .unwrap()
            .into_iter()
            .filter(|b| {
                uk_settlements(&world)
                    .iter()
                    .any(|t| t.settlement_id == b.settlement_id)
            })
            .collect()
    };
    // doctor sees it too.
    let text = doctor_text(&world).await;
    assert!(
        text.contains(&format!("warn  routing {} ledger 1 currency: US Primary in USD; settlements in GBP differ, but GL_DAILY_RATES has no Corporate rate GBP→USD on", world::UK)),
        "{text}"
    );
    // A second run without the rate changes nothing (no audit noise either).
    let audit_before = ctx.store.audit_entries(None).unwrap().len();
    let again = headless_once(&ctx).await;
    assert_eq!(again.exit_code, exit::WAITING);
    assert!(uk_keys().iter().all(|b| b.state == BatchState::NeedsRate));
    assert_eq!(
        ctx.store.audit_entries(None).unwrap().len(),
        audit_before,
        "waiting batches are not re-recorded every run"
    );

    // A person loads the Corporate rates; the next run converts, approves and posts.
    let loaded: Value = reqwest::Client::new()
        .post(format!("{}/_sim/gl/daily_rates", world.ebs.base_url()))
        .json(
            &json!({"from_currency": "GBP", "to_currency": "USD", "rate": "1.2710",
                      "from_date": "2025-01-01", "to_date": "2027-12-31",
                      "types": ["Corporate"]}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(loaded["loaded"], 1);
    let after = headless_once(&ctx).await;
    assert!(after.errors.is_empty(), "{:?}", after.errors);
    assert_eq!(after.counts["needs_rate"], 0, "{:?}", after.counts);
    let uk = check_uk_imported(&world, &after);
    for (sid, (_, js)) in &uk {
        check_converted_at(sid, js, d("1.2710"));
    }
    // The path it took, in the audit trail: needs_rate → proposed → approved → … → imported.
    let (sid, _) = uk.iter().next().unwrap();
    let outcomes: Vec<String> = ctx
        .store
        .audit_entries(Some(sid))
        .unwrap()
        .iter()
        .filter(|e| e.action == AuditAction::Proposal)
        .filter_map(|e| e.details.get("outcome")?.as_str().map(str::to_string))
        .collect();
    assert!(
        outcomes.first().map(String::as_str) == Some("needs_rate")
            && outcomes.last().map(String::as_str) == Some("proposed"),
        "{outcomes:?}"
    );
    drop(ctx);
    world.stop().await;
}

// ------------------------------------------------------------------ Tokyo

const JP: &str = "A1VC38T7YXB528";

/// Five minutes after midnight on 15 October in Tokyo (still the 14th in UTC).
fn tokyo_now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 10, 14, 15, 5, 0).unwrap()
}

/// A JPY settlement from 1 October 00:00 to 15 October 00:00, Tokyo time (both local
/// midnights): its first rows are on 30 September in UTC.
fn tokyo_file() -> String {
    let header = "settlement-id\tsettlement-start-date\tsettlement-end-date\tdeposit-date\ttotal-amount\tcurrency\ttransaction-type\torder-id\tmerchant-order-id\tadjustment-id\tshipment-id\tmarketplace-name\tamount-type\tamount-description\tamount\tfulfillment-id\tposted-date\tposted-date-time\torder-item-code\tmerchant-order-item-id\tmerchant-adjustment-item-id\tsku\tquantity-purchased\tpromotion-id";
    let summary = "31415926535\t2026-09-30 15:00:00 UTC\t2026-10-14 15:00:00 UTC\t2026-10-16 15:00:00 UTC\t17000\tJPY\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t";
    let row = |order: &str, t: &str, atype: &str, desc: &str, amount: &str| {
        format!(
            "31415926535\t\t\t\t\t\tOrder\t{order}\t{order}\t\tS1\tAmazon.co.jp\t{atype}\t{desc}\t{amount}\tAFN\t{}\t{t} UTC\t1\t\t\tTEA-1\t1\t",
            &t[..10]
        )
    };
    [
        header.to_string(),
        summary.to_string(),
        row(
            "503-1111111-1111111",
            "2026-09-30 15:30:00",
            "ItemPrice",
            "Principal",
            "12000",
        ),
        row(
            "503-1111111-1111111",
            "2026-09-30 15:30:00",
            "ItemFees",
            "Commission",
            "-1800",
        ),
        row(
            "503-2222222-2222222",
            "2026-10-10 03:00:00",
            "ItemPrice",
            "Principal",
            "8000",
        ),
        row(
            "503-2222222-2222222",
            "2026-10-10 03:00:00",
            "ItemFees",
            "Commission",
            "-1200",
        ),
    ]
    .join("\n")
        + "\n"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tokyo_settlement_ending_at_local_midnight_takes_every_date_in_tokyo() {
    // EBS: JPY enabled, a Corporate JPY→USD rate on the 14th and another on the 15th.
    let seed = ml_connector::sim::ebs::seed::DEFAULT_SEED.replace(
        "currencies = [\"USD\", \"CAD\", \"EUR\", \"GBP\"]",
        "currencies = [\"USD\", \"CAD\", \"EUR\", \"GBP\", \"JPY\"]",
    );
    let seed = format!(
        "{seed}\n[[daily_rates]]\nfrom_currency = \"JPY\"\nto_currency = \"USD\"\nrate = \"0.0066\"\nfrom_date = \"2026-10-14\"\nto_date = \"2026-10-14\"\ntypes = [\"Corporate\"]\n\n[[daily_rates]]\nfrom_currency = \"JPY\"\nto_currency = \"USD\"\nrate = \"0.0067\"\nfrom_date = \"2026-10-15\"\nto_date = \"2026-10-15\"\ntypes = [\"Corporate\"]\n"
    );
    let ebs = ebs_sim::spawn(EbsSimConfig {
        seed: Seed::parse(&seed).expect("seed"),
        start_time: Some(tokyo_now()),
        ..EbsSimConfig::step()
    })
    .await
    .expect("ebs sim");
    let amazon = amazon_sim::spawn(AmazonSimConfig {
        history_days: 14,
        start_time: tokyo_now(),
        time_scale: 0.0,
        ..AmazonSimConfig::default()
    })
    .await
    .expect("amazon sim");
    let dir = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("mapping.toml"),
        ml_connector::ledger::mapping::DEFAULT_MAPPING,
    )
    .unwrap();
    let config_path = dir.path().join("config.toml");
    std::fs::write(
        &config_path,
        format!(
            r#"user = "tester"

[[seller]]
name = "acme-jp"
region = "fe"
marketplaces = ["{JP}"]
endpoint = "{amazon}"
lwa_endpoint = "{lwa}"

[ebs]
base_url = "{ebs}"
fx_rounding = "01-000-7990-0000-000"
[ebs.gl]
responsibility = "GENERAL_LEDGER_SUPER_USER"
application = "SQLGL"
access_set_id = 1000

# No Japanese entity: JPY settlements land in the US ledger, kept in Tokyo time.
[[routing]]
marketplace = "{JP}"
ledger_id = 1
org_id = 204
timezone = "Asia/Tokyo"

[mapping]
file = "mapping.toml"
"#,
            amazon = amazon.base_url(),
            lwa = amazon.token_url(),
            ebs = ebs.base_url(),
        ),
    )
    .unwrap();
    let config = Config::load(&config_path).expect("config loads");
    let creds = Credentials::from_json(
        json!({
            "sellers": {"acme-jp": {
                "client_id": amazon_sim::DEFAULT_CLIENT_ID,
                "client_secret": amazon_sim::DEFAULT_CLIENT_SECRET,
                "refresh_token": amazon_sim::DEFAULT_REFRESH_TOKEN}},
            "ebs": {"username": "OPERATIONS", "password": "welcome1"}
        })
        .to_string()
        .as_bytes(),
    )
    .unwrap();
    let store = Arc::new(ml_connector::store::Store::open(data.path(), "fx test").unwrap());
    let mut ctx = SyncContext::new(
        Arc::new(config.clone()),
        &creds,
        store.clone(),
        SyncOptions::default(),
    )
    .expect("context");
    // The EBS client dates in the ledger's zone: the context set Tokyo; fix its clock.
    let client = ctx.ebs.get(&1).expect("ledger 1 client");
    assert_eq!(client.config().time_zone, chrono_tz::Asia::Tokyo);
    let mut cfg = client.config().clone();
    cfg.clock = Some(tokyo_now);
    cfg.poll = ml_connector::ebs::PollPolicy {
        initial: Duration::from_millis(1),
        max: Duration::from_millis(5),
        timeout: Duration::from_secs(30),
    };
    let client = Arc::new(EbsClient::new(cfg).unwrap());
    assert_eq!(client.today(), day("2026-10-15"), "today, in Tokyo");
    ctx.ebs.insert(1, client.clone());

    // The settlement as a pull would have kept it.
    let bytes = tokyo_file().into_bytes();
    let parsed = ml_connector::ledger::parse::parse_settlement(&bytes, None).expect("parses");
    let sid = parsed.summary.settlement_id.clone();
    let mut meta = RawFileMeta::describe(&sid, "UTF-8", &bytes, Utc::now());
    meta.seller = Some("acme-jp".into());
    meta.marketplace_id = Some(JP.into());
    store.put_raw_settlement(&meta, &bytes, None).unwrap();
    store
        .put_settlement(
            &SettlementRecord {
                summary: parsed.summary.clone(),
                seller: "acme-jp".into(),
                marketplace_id: JP.into(),
                raw_sha256: Some(meta.sha256.clone()),
                event_group_id: None,
                pulled_at: Utc::now(),
            },
            None,
        )
        .unwrap();

    let (sink, collected) = ProgressSink::collecting();
    let summary = ml_connector::sync::propose::propose_pending(&ctx, &sink, Utc::now())
        .await
        .expect("proposes");
    assert!(summary.failed.is_empty(), "{:?}", summary.failed);
    // Accounting date: one October journal dated the 15th (UTC would have split a
    // September journal off and dated the rest the 14th).
    let proposals: Vec<_> = store
        .proposals()
        .unwrap()
        .into_iter()
        .filter(|p| p.batch.settlement_id == sid)
        .collect();
    assert_eq!(proposals.len(), 1, "{proposals:?}");
    let journal = proposals[0].lines.clone();
    assert_eq!(journal.period, "OCT-26");
    assert_eq!(journal.accounting_date, day("2026-10-15"));
    let key = proposals[0].batch.clone();
    assert_eq!(
        store.batch(&key).unwrap().unwrap().state,
        BatchState::Proposed
    );
    drop(collected);

    // Post through the real engine: the staged rows carry Tokyo's dates.
    let engine = PostingEngine::from_context(&ctx).with_wait(WaitMode::Once);
    engine
        .approve(std::slice::from_ref(&key), "alice", Utc::now())
        .unwrap();
    let sink = ProgressSink::noop();
    let out = engine
        .post_batches(std::slice::from_ref(&key), &sink)
        .await
        .unwrap();
    assert_eq!(out[0].state, BatchState::Submitted, "{out:?}");
    let staged = staged_batches(&ctx, &sid);
    assert_eq!(staged.len(), 1);
    let rows = client.gl_existing(&staged[0]).await.expect("rows").rows;
    assert!(!rows.is_empty());
    let date = |r: &serde_json::Map<String, Value>, k: &str| -> String {
        r.get(k)
            .and_then(Value::as_str)
            .map(|s| s.chars().take(10).collect())
            .unwrap_or_else(|| panic!("{k} in {r:?}"))
    };
    for r in &rows {
        assert_eq!(date(r, "ACCOUNTING_DATE"), "2026-10-15", "{r:?}");
        assert_eq!(date(r, "CURRENCY_CONVERSION_DATE"), "2026-10-15", "{r:?}");
        assert_eq!(date(r, "DATE_CREATED"), "2026-10-15", "{r:?}");
    }
    let conv = staged[0].conversion.clone().expect("converted");
    assert_eq!(
        (conv.conversion_type.as_str(), conv.rate),
        ("Corporate", d("0.0067"))
    );
    ebs.run_until_idle();
    let out = engine
        .post_batches(std::slice::from_ref(&key), &sink)
        .await
        .unwrap();
    assert_eq!(out[0].state, BatchState::Imported, "{out:?}");
    let js: Vec<Value> = ebs
        .gl_journals()
        .as_array()
        .unwrap()
        .iter()
        .filter(|j| lines(j).iter().any(|l| l["reference_1"] == sid.as_str()))
        .cloned()
        .collect();
    assert_eq!(js.len(), 1);
    assert_eq!(js[0]["period_name"], "OCT-26");
    assert_eq!(js[0]["currency"], "JPY");
    let sales: Decimal = lines(&js[0])
        .iter()
        .filter(|l| l["account"] == "01-000-4010-0000-000")
        .map(accounted)
        .sum();
    assert_eq!(sales, d("-134.00"), "20000 JPY at the 15th's 0.0067");

    // "Today" for open periods and rates: the same day in Tokyo.
    let mut report = ml_connector::doctor::Report::default();
    ml_connector::doctor::check_with(
        &config,
        &creds,
        &ml_connector::doctor::Options::today(tokyo_now()),
        &mut report,
    )
    .await;
    let text = report.to_string();
    assert!(
        text.contains(&format!("routing {JP} ledger 1: open periods"))
            && text.contains("2026-10-15 is in OCT-26"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "ok    routing {JP} ledger 1 currency: US Primary in USD; settlements in JPY differ: Corporate rate JPY→USD on 2026-10-15 is 0.0067"
        )),
        "{text}"
    );
    drop(engine);
    drop(ctx);
    amazon.stop().await;
    ebs.shutdown().await;
}

// ------------------------------------------------------------------ the workstation

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_workstation_says_it_cannot_build_the_batches_without_ebs() {
    let dir = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let world = DemoWorld::start(options(dir.path(), false)).await.unwrap();
    let uk = uk_settlements(&world)[0].settlement_id.clone();
    {
        let ctx = context(&world, data.path());
        let report = headless_once(&ctx).await;
        assert!(report.errors.is_empty(), "{:?}", report.errors);
    }
    // A new workstation whose EBS does not answer.
    let mut ctx = context(&world, data.path());
    for client in ctx.ebs.values_mut() {
        let mut cfg = client.config().clone();
        cfg.instance_url = "http://127.0.0.1:9".into();
        cfg.retry = ml_connector::ebs::Backoff {
            max_attempts: 1,
            base: Duration::from_millis(1),
            cap: Duration::from_millis(1),
        };
        *client = Arc::new(EbsClient::new(cfg).unwrap());
    }
    let error = match common::review(ctx, &uk).await {
        Err(e) => e,
        Ok(d) => panic!("a review without EBS: {:?}", d.summary),
    };
    assert!(
        error.contains(&uk) && error.contains("cannot build the batches"),
        "{error}"
    );
    world.stop().await;
}
