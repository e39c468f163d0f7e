//! The operating unit by name, from EBS (issue 16): the custom `get_operating_unit` service
//! (HR_OPERATING_UNITS by org id) over HTTP, and the review's post target naming the
//! operating unit once a run has read it (the run's `LedgerBook`).

mod common;

use std::time::Duration;

use common::{context, headless_once, options, review};
use ml_connector::ebs::EbsError;
use ml_connector::sim::ebs::{self as ebs_sim, EbsSimConfig};
use ml_connector::sim::world::{self, DemoWorld};

#[tokio::test]
async fn get_operating_unit_over_http() {
    let sim = ebs_sim::spawn(EbsSimConfig::step()).await.expect("sim");
    let client = common::posting_world::client_for(&sim);
    let ou = client.operating_unit("458").await.expect("org 458");
    assert_eq!(ou.org_id, "458");
    assert_eq!(ou.name, "CA Operations");
    assert_eq!(ou.ledger_id.as_deref(), Some("2"));
    match client.operating_unit("99").await {
        Err(EbsError::Business { message, .. }) => {
            assert!(message.contains("Invalid operating unit 99"), "{message}")
        }
        other => panic!("an unknown org is a business error: {other:?}"),
    }
    // A deployed method of the custom alias (doctor requires it).
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
    assert!(
        methods.contains(&("get_operating_unit".to_string(), "POST".to_string())),
        "{methods:?}"
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_review_names_the_operating_unit_as_ebs_does() {
    let dir = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let world = DemoWorld::start(options(dir.path(), false)).await.unwrap();
    {
        // A headless run reads every routing's operating unit once.
        let ctx = context(&world, data.path());
        let report = headless_once(&ctx).await;
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        let us = ctx
            .ledgers
            .known_operating_unit("204")
            .expect("org 204 read");
        assert_eq!(us.name, "US Operations");
        let de = ctx
            .ledgers
            .known_operating_unit("512")
            .expect("org 512 read");
        assert_eq!(de.name, "DE Operations");
    }
    // The workstation's review of a US settlement: the target names the operating unit.
    let us_sid = world
        .amazon
        .truth()
        .settlements
        .into_iter()
        .find(|s| s.marketplace_id == world::US && s.report_status == "DONE")
        .expect("a US settlement")
        .settlement_id;
    let detail = review(context(&world, data.path()), &us_sid)
        .await
        .unwrap_or_else(|e| panic!("review of {us_sid}: {e}"));
    assert_eq!(detail.target.operating_unit, "US Operations (org 204)");

    // An operating unit EBS does not know: the review still loads, naming it by id.
    let text = std::fs::read_to_string(&world.config_path).unwrap();
    assert!(text.contains("org_id = 204"), "{text}");
    std::fs::write(
        &world.config_path,
        text.replace("org_id = 204", "org_id = 999"),
    )
    .unwrap();
    // The previous bridge's tasks may still hold the store for a moment.
    let mut ctx = None;
    for _ in 0..40 {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            context(&world, data.path())
        })) {
            Ok(c) => {
                ctx = Some(c);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    }
    let detail = review(ctx.expect("the store reopens"), &us_sid)
        .await
        .unwrap_or_else(|e| panic!("review of {us_sid}: {e}"));
    assert_eq!(detail.target.operating_unit, "org 999");
    assert!(!detail.batches.is_empty(), "proposing did not fail");
    world.stop().await;
}
