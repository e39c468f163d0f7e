//! AR cash receipts against the in-process EBS simulator over HTTP on 127.0.0.1: create,
//! duplicate number, applications to invoices imported by AutoInvoice, over-application,
//! closed period, credit memo applied to an invoice, receipt methods, the `/_sim/ar/*`
//! contracts and the PL/SQL package declaring every receipt service.

use chrono::NaiveDate;
use ml_connector::ebs::ar::{ArLine, AutoInvoiceParams, TrxFlexfield};
use ml_connector::ebs::receipts::{Ensured, NewReceipt, Refusal};
use ml_connector::ebs::{Backoff, Contexts, Credentials, EbsClient, EbsConfig, PollPolicy};
use ml_connector::sim::ebs::{EbsSimConfig, RunningEbsSim, Scheduler, spawn};
use rust_decimal::Decimal;
use serde_json::Value;
use std::str::FromStr;
use std::time::Duration;

const METHOD: &str = "AMAZON SETTLEMENT";

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).expect("decimal")
}

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
}

async fn start() -> RunningEbsSim {
    spawn(EbsSimConfig {
        scheduler: Scheduler::Timed {
            t1: Duration::from_millis(5),
            t2: Duration::from_millis(10),
        },
        ..EbsSimConfig::default()
    })
    .await
    .expect("simulator")
}

fn client_with(sim: &RunningEbsSim, contexts: Contexts) -> EbsClient {
    let mut cfg = EbsConfig::new(
        &sim.base_url(),
        Credentials {
            user: "OPERATIONS".into(),
            password: secrecy::SecretString::from("welcome1".to_string()),
        },
        contexts,
    );
    cfg.created_by = "1318".into();
    cfg.retry = Backoff {
        max_attempts: 4,
        base: Duration::from_millis(1),
        cap: Duration::from_millis(5),
    };
    cfg.poll = PollPolicy {
        initial: Duration::from_millis(2),
        max: Duration::from_millis(20),
        timeout: Duration::from_secs(30),
    };
    EbsClient::new(cfg).expect("client")
}

fn client(sim: &RunningEbsSim) -> EbsClient {
    client_with(sim, Contexts::vision("1000", "1", "204"))
}

/// One AutoInvoice line: an invoice (positive) or a credit memo (negative amount).
fn line(order: &str, amount: &str) -> ArLine {
    let cm = amount.starts_with('-');
    ArLine {
        flexfield: TrxFlexfield {
            context: "AMAZON".into(),
            attributes: vec![
                order.into(),
                format!("{order}-1"),
                "PRINCIPAL".into(),
                "S-1".into(),
            ],
        },
        batch_source_name: "AMAZON".into(),
        line_type: "LINE".into(),
        description: format!("Order {order}"),
        currency: "USD".into(),
        amount: d(amount),
        quantity: Some(d("1")),
        unit_selling_price: Some(d(amount)),
        cust_trx_type_name: if cm {
            "Amazon Credit Memo"
        } else {
            "Amazon Invoice"
        }
        .into(),
        term_name: (!cm).then(|| "IMMEDIATE".into()),
        bill_customer_ref: "AMAZON-US".into(),
        bill_address_ref: Some("AMAZON-US-BILL".into()),
        trx_date: day("2026-10-15"),
        gl_date: day("2026-10-15"),
        trx_number: Some(order.into()),
        memo_line_name: None,
        reference_line: None,
        conversion_type: None,
        conversion_rate: None,
        conversion_date: None,
        extra: Default::default(),
    }
}

/// Stages the lines and runs AutoInvoice; every line becomes a transaction.
async fn import(c: &EbsClient, lines: &[ArLine]) {
    c.ar_stage(lines, &[]).await.expect("stage");
    let id = c
        .ar_submit(&AutoInvoiceParams {
            batch_source_id: "1001".into(),
            batch_source_name: "AMAZON".into(),
            default_date: day("2026-10-15"),
            gl_date_low: None,
            gl_date_high: None,
        })
        .await
        .expect("submit");
    let o = c.ar_await_outcome(&id, "AMAZON").await.expect("outcome");
    assert!(o.errors.is_empty(), "{o:?}");
    assert_eq!(o.transactions.len(), lines.len(), "{o:?}");
}

fn receipt(number: &str, amount: &str) -> NewReceipt {
    NewReceipt {
        receipt_number: number.into(),
        receipt_method: METHOD.into(),
        amount: d(amount),
        currency: "USD".into(),
        receipt_date: day("2026-10-20"),
        gl_date: day("2026-10-20"),
        customer_ref: Some("AMAZON-US".into()),
    }
}

fn balance(sim: &RunningEbsSim, trx: &str) -> String {
    let all = sim.ar_transactions();
    let t = all
        .as_array()
        .expect("array")
        .iter()
        .find(|t| t["trx_number"] == trx)
        .unwrap_or_else(|| panic!("{trx} not in {all}"));
    t["balance_due"].as_str().expect("string").to_string()
}

#[tokio::test]
async fn receipt_created_and_read_back() {
    let sim = start().await;
    let c = client(&sim);
    assert!(c.receipt("S-100", METHOD).await.expect("ask").is_none());
    let id = c
        .create_cash_receipt(&receipt("S-100", "80.50"))
        .await
        .expect("create");
    let r = c
        .receipt("S-100", METHOD)
        .await
        .expect("ask")
        .expect("exists");
    assert_eq!(r.cash_receipt_id, id);
    assert_eq!(r.amount, d("80.50"));
    assert_eq!(r.currency, "USD");
    assert_eq!(r.org_id, "204");
    assert_eq!(r.receipt_date, Some(day("2026-10-20")));
    assert_eq!(r.customer_ref.as_deref(), Some("AMAZON-US"));
    assert_eq!(r.applied, Decimal::ZERO);
    assert_eq!(r.unapplied, d("80.50"));
    assert!(r.applications.is_empty());
}

#[tokio::test]
async fn duplicate_number_refused_and_ensure_never_sends_twice() {
    let sim = start().await;
    let c = client(&sim);
    let new = receipt("S-200", "10.00");
    let first = c.ensure_receipt(&new).await.expect("ensure");
    assert!(matches!(first, Ensured::Created(_)), "{first:?}");
    let e = c.create_cash_receipt(&new).await.expect_err("duplicate");
    assert_eq!(Refusal::of(&e), Some(Refusal::DuplicateNumber), "{e}");
    assert!(
        e.to_string().contains("AR_RW_CASH_DUPLICATE_RECEIPT"),
        "{e}"
    );
    // Looked up, found, nothing written: one call.
    let before = c.stats().requests;
    let again = c.ensure_receipt(&new).await.expect("ensure");
    assert!(matches!(again, Ensured::Found(_)), "{again:?}");
    assert_eq!(c.stats().requests - before, 1);
    // Same number, other amount: reported, not written.
    let other = c
        .ensure_receipt(&receipt("S-200", "11.00"))
        .await
        .expect("ensure");
    assert!(matches!(other, Ensured::Conflict { .. }), "{other:?}");
    // The number is unique per receipt method only.
    let mut manual = new.clone();
    manual.receipt_method = "MANUAL CHECK".into();
    c.create_cash_receipt(&manual).await.expect("other method");
    assert_eq!(sim.ar_receipts().as_array().expect("array").len(), 2);
}

#[tokio::test]
async fn receipt_applied_to_imported_invoices_with_credit_memo() {
    let sim = start().await;
    let c = client(&sim);
    import(
        &c,
        &[
            line("111-1", "100.00"),
            line("111-2", "50.00"),
            line("111-3", "-30.00"),
        ],
    )
    .await;
    // Settlement: invoices less credit memos.
    c.ensure_receipt(&receipt("S-300", "120.00"))
        .await
        .expect("receipt");
    let cm = c
        .ensure_cm_application("111-3", "111-2", d("30.00"), day("2026-10-20"))
        .await
        .expect("cm");
    assert!(matches!(cm, Ensured::Created(_)), "{cm:?}");
    assert_eq!(balance(&sim, "111-2"), "20.00");
    assert_eq!(balance(&sim, "111-3"), "0.00");
    for (trx, amt) in [("111-1", "100.00"), ("111-2", "20.00")] {
        let a = c
            .ensure_application("S-300", METHOD, trx, d(amt), day("2026-10-20"))
            .await
            .expect("apply");
        assert!(matches!(a, Ensured::Created(_)), "{a:?}");
        assert_eq!(balance(&sim, trx), "0.00");
    }
    // Asked again: found, not sent.
    let before = c.stats().requests;
    let again = c
        .ensure_application("S-300", METHOD, "111-1", d("100.00"), day("2026-10-20"))
        .await
        .expect("apply");
    assert!(matches!(again, Ensured::Found(_)), "{again:?}");
    let cm_again = c
        .ensure_cm_application("111-3", "111-2", d("30.00"), day("2026-10-20"))
        .await
        .expect("cm");
    assert!(matches!(cm_again, Ensured::Found(_)), "{cm_again:?}");
    assert_eq!(c.stats().requests - before, 2);
    let r = c
        .receipt("S-300", METHOD)
        .await
        .expect("ask")
        .expect("exists");
    assert_eq!(r.applied, d("120.00"));
    assert_eq!(r.unapplied, Decimal::ZERO);
    assert_eq!(r.applications.len(), 2);
    let t = c
        .ar_transaction("111-2")
        .await
        .expect("ask")
        .expect("exists");
    assert_eq!(t.balance_due, Decimal::ZERO);
    assert_eq!(t.applications.len(), 2, "{t:?}");
}

#[tokio::test]
async fn over_application_unknown_transaction_and_closed_period_refused() {
    let sim = start().await;
    let c = client(&sim);
    import(&c, &[line("222-1", "40.00"), line("222-2", "-5.00")]).await;
    c.create_cash_receipt(&receipt("S-400", "100.00"))
        .await
        .expect("receipt");
    let e = c
        .apply_receipt("S-400", METHOD, "222-1", d("40.01"), day("2026-10-20"))
        .await
        .expect_err("over the balance due");
    assert_eq!(Refusal::of(&e), Some(Refusal::OverApplication), "{e}");
    let e = c
        .apply_credit_memo("222-2", "222-1", d("5.01"), day("2026-10-20"))
        .await
        .expect_err("over the credit memo");
    assert_eq!(Refusal::of(&e), Some(Refusal::OverApplication), "{e}");
    let e = c
        .apply_receipt("S-400", METHOD, "999-9", d("1"), day("2026-10-20"))
        .await
        .expect_err("unknown");
    assert_eq!(Refusal::of(&e), Some(Refusal::UnknownTransaction), "{e}");
    let e = c
        .apply_receipt("S-NONE", METHOD, "222-1", d("1"), day("2026-10-20"))
        .await
        .expect_err("no receipt");
    assert_eq!(Refusal::of(&e), Some(Refusal::UnknownReceipt), "{e}");
    // Closed AR period (2025 is closed in the seed; OCT-26 closed by a person).
    let e = c
        .apply_receipt("S-400", METHOD, "222-1", d("10"), day("2025-12-31"))
        .await
        .expect_err("closed");
    assert_eq!(Refusal::of(&e), Some(Refusal::PeriodClosed), "{e}");
    assert!(sim.set_period_status(1, "OCT-26", "C"));
    let e = c
        .create_cash_receipt(&receipt("S-401", "1.00"))
        .await
        .expect_err("closed");
    assert_eq!(Refusal::of(&e), Some(Refusal::PeriodClosed), "{e}");
    assert!(c.receipt("S-401", METHOD).await.expect("ask").is_none());
    // Nothing of the refused calls moved a balance.
    assert_eq!(balance(&sim, "222-1"), "40.00");
    assert_eq!(balance(&sim, "222-2"), "-5.00");
}

#[tokio::test]
async fn receipt_method_cash_account_and_org_context_required() {
    let sim = start().await;
    let c = client(&sim);
    let m = c
        .receipt_method(METHOD)
        .await
        .expect("ask")
        .expect("exists");
    assert_eq!(m.receipt_method_id, "3001");
    assert_eq!(m.cash_account.as_deref(), Some("01-000-1190-0000-000"));
    assert!(m.cash_ccid.is_some());
    assert_eq!(m.bank_account_name.as_deref(), Some("Amazon Clearing USD"));
    let manual = c
        .receipt_method("MANUAL CHECK")
        .await
        .expect("ask")
        .expect("exists");
    assert_eq!(manual.cash_account.as_deref(), Some("01-000-1195-0000-000"));
    assert!(c.receipt_method("NOPE").await.expect("ask").is_none());
    // Another OU sees its own method.
    let ca = client_with(&sim, Contexts::vision("1001", "2", "458"));
    let m = ca
        .receipt_method(METHOD)
        .await
        .expect("ask")
        .expect("exists");
    assert_eq!(m.receipt_method_id, "3002");
    assert_eq!(m.currency.as_deref(), Some("CAD"));
    // Without an operating unit the services refuse to run.
    let mut no_org = Contexts::vision("1000", "1", "204");
    if let Some(ar) = no_org.ar.as_mut() {
        ar.header.org_id = None;
    }
    let e = client_with(&sim, no_org)
        .receipt("S-1", METHOD)
        .await
        .expect_err("no org");
    assert_eq!(e.code(), Some("ISG_INVALID_ORG_ID"), "{e}");
}

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().expect("object").keys().cloned().collect();
    k.sort();
    k
}

fn sorted(k: &[&str]) -> Vec<String> {
    let mut k: Vec<String> = k.iter().map(|s| s.to_string()).collect();
    k.sort();
    k
}

#[tokio::test]
async fn sim_contracts_field_by_field() {
    let sim = start().await;
    let c = client(&sim);
    import(&c, &[line("333-1", "25.00"), line("333-2", "-5.00")]).await;
    c.create_cash_receipt(&receipt("S-500", "20.00"))
        .await
        .expect("receipt");
    c.apply_receipt("S-500", METHOD, "333-1", d("20"), day("2026-10-20"))
        .await
        .expect("apply");
    let http = reqwest::Client::new();
    let get = |path: &str| {
        let url = format!("{}{path}", sim.base_url());
        let http = http.clone();
        async move {
            http.get(url)
                .send()
                .await
                .expect("get")
                .json::<Value>()
                .await
                .expect("json")
        }
    };
    let trxs = get("/_sim/ar/transactions").await;
    assert_eq!(trxs, sim.ar_transactions());
    let trxs = trxs.as_array().expect("array");
    assert_eq!(trxs.len(), 2);
    for t in trxs {
        assert_eq!(
            keys(t),
            sorted(&[
                "trx_number",
                "class",
                "org_id",
                "customer_ref",
                "cust_trx_type",
                "interface_line_context",
                "interface_line_attribute1",
                "interface_line_attribute2",
                "interface_line_attribute3",
                "amount",
                "balance_due",
                "currency",
                "gl_date",
            ])
        );
    }
    let inv = trxs
        .iter()
        .find(|t| t["trx_number"] == "333-1")
        .expect("inv");
    assert_eq!(inv["class"], "INV");
    assert_eq!(inv["org_id"], "204");
    assert_eq!(inv["customer_ref"], "AMAZON-US");
    assert_eq!(inv["cust_trx_type"], "Amazon Invoice");
    assert_eq!(inv["interface_line_context"], "AMAZON");
    assert_eq!(inv["interface_line_attribute1"], "333-1");
    assert_eq!(inv["interface_line_attribute2"], "333-1-1");
    assert_eq!(inv["interface_line_attribute3"], "PRINCIPAL");
    assert_eq!(inv["amount"], "25.00");
    assert_eq!(inv["balance_due"], "5.00");
    assert_eq!(inv["currency"], "USD");
    assert_eq!(inv["gl_date"], "2026-10-15");
    let cm = trxs
        .iter()
        .find(|t| t["trx_number"] == "333-2")
        .expect("cm");
    assert_eq!(cm["class"], "CM");
    assert_eq!(cm["cust_trx_type"], "Amazon Credit Memo");
    assert_eq!(cm["amount"], "-5.00");
    assert_eq!(cm["balance_due"], "-5.00");

    let rs = get("/_sim/ar/receipts").await;
    assert_eq!(rs, sim.ar_receipts());
    let rs = rs.as_array().expect("array");
    assert_eq!(rs.len(), 1);
    let r = &rs[0];
    assert_eq!(
        keys(r),
        sorted(&[
            "receipt_number",
            "org_id",
            "amount",
            "currency",
            "receipt_date",
            "applied",
            "unapplied",
            "applications",
        ])
    );
    assert_eq!(r["receipt_number"], "S-500");
    assert_eq!(r["org_id"], "204");
    assert_eq!(r["amount"], "20.00");
    assert_eq!(r["currency"], "USD");
    assert_eq!(r["receipt_date"], "2026-10-20");
    assert_eq!(r["applied"], "20.00");
    assert_eq!(r["unapplied"], "0.00");
    let apps = r["applications"].as_array().expect("applications");
    assert_eq!(apps.len(), 1);
    assert_eq!(keys(&apps[0]), sorted(&["trx_number", "amount"]));
    assert_eq!(apps[0]["trx_number"], "333-1");
    assert_eq!(apps[0]["amount"], "20.00");
}

/// The package spec declares, with Integration Repository annotations, every receipt
/// service and parameter the client calls; the body implements each.
#[test]
fn plsql_package_declares_the_receipt_services() {
    let spec = include_str!("../assets/ebs/xxmlc_connector.pks");
    let body = include_str!("../assets/ebs/xxmlc_connector.pkb");
    let calls: [(&str, &[&str]); 6] = [
        (
            "create_cash_receipt",
            &[
                "P_RECEIPT_NUMBER",
                "P_RECEIPT_METHOD",
                "P_AMOUNT",
                "P_CURRENCY_CODE",
                "P_RECEIPT_DATE",
                "P_GL_DATE",
                "P_ORG_ID",
                "P_CUSTOMER_REF",
                "X_CASH_RECEIPT_ID",
            ],
        ),
        (
            "apply_receipt",
            &[
                "P_RECEIPT_NUMBER",
                "P_RECEIPT_METHOD",
                "P_TRX_NUMBER",
                "P_AMOUNT_APPLIED",
                "P_APPLY_DATE",
                "P_APPLY_GL_DATE",
                "X_RECEIVABLE_APPLICATION_ID",
            ],
        ),
        (
            "apply_credit_memo",
            &[
                "P_CM_TRX_NUMBER",
                "P_INV_TRX_NUMBER",
                "P_AMOUNT_APPLIED",
                "P_APPLY_DATE",
                "P_GL_DATE",
                "X_RECEIVABLE_APPLICATION_ID",
            ],
        ),
        (
            "get_receipt",
            &[
                "P_RECEIPT_NUMBER",
                "P_RECEIPT_METHOD",
                "X_EXISTS",
                "X_AMOUNT",
                "X_APPLIED",
                "X_UNAPPLIED",
                "X_APPLICATIONS",
            ],
        ),
        (
            "get_receipt_method",
            &[
                "P_RECEIPT_METHOD",
                "X_EXISTS",
                "X_BANK_ACCOUNT_ID",
                "X_CASH_ACCOUNT",
                "X_CASH_CCID",
            ],
        ),
        (
            "get_transaction",
            &[
                "P_TRX_NUMBER",
                "X_EXISTS",
                "X_BALANCE_DUE",
                "X_APPLICATIONS",
            ],
        ),
    ];
    for (method, params) in calls {
        let decl = format!("PROCEDURE {method}(");
        let at = spec
            .find(&decl)
            .unwrap_or_else(|| panic!("{method} not declared"));
        let annotation = &spec[spec[..at].rfind("/*#").expect("annotation")..at];
        assert!(annotation.contains("@rep:scope public"), "{method}");
        assert!(annotation.contains("@rep:displayname"), "{method}");
        let end = at + spec[at..].find(");").expect("end of declaration");
        let signature = &spec[at..end];
        for p in params {
            assert!(signature.contains(p), "{method} lacks {p}");
            assert!(
                annotation.contains(&format!("@param {p}")),
                "{method}: {p} undocumented"
            );
        }
        assert!(body.contains(&decl), "{method} has no body");
    }
    assert!(body.contains("AR_RECEIPT_API_PUB.create_cash"));
    assert!(body.contains("AR_RECEIPT_API_PUB.apply"));
    assert!(body.contains("AR_CM_APPLICATION_PUB.apply_on_account"));
}
