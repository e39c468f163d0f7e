//! EBS client tests: behaviour of session / transport against small axum stubs, and the
//! GL / AR / AP flows end to end against the in-process EBS simulator.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::any;
use ml_connector::ebs::{AuthMode, Backoff, Contexts, Credentials, EbsClient, EbsConfig, EbsError};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::Mutex;

mod stub {
    use super::*;

    /// What the stub should answer to the next service calls.
    #[derive(Default)]
    pub struct Script {
        pub answers: Vec<(u16, Value)>,
    }

    #[derive(Default)]
    pub struct StubState {
        pub logins: AtomicUsize,
        /// Logins still to answer with a 500 before logging in for real.
        pub failing_logins: AtomicUsize,
        pub calls: AtomicUsize,
        pub in_flight: AtomicUsize,
        pub max_in_flight: AtomicUsize,
        pub script: Mutex<Script>,
        pub valid_token: Mutex<String>,
        pub cookies: Mutex<Vec<String>>,
        pub barrier: Mutex<Option<Arc<tokio::sync::Barrier>>>,
    }

    pub fn fault(code: &str) -> Value {
        json!({"ISGServiceFault": {"Code": code, "Message": format!("{code} message"), "Resolution": "do something"}})
    }

    async fn handle(
        State(st): State<Arc<StubState>>,
        uri: axum::http::Uri,
        headers: HeaderMap,
    ) -> impl IntoResponse {
        let path = uri.path().to_string();
        if path.ends_with("/login") {
            let n = st.logins.fetch_add(1, Ordering::SeqCst) + 1;
            if st
                .failing_logins
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                    left.checked_sub(1)
                })
                .is_ok()
            {
                return (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    axum::Json(fault("ISG_DB_CONNECTION_ERROR")),
                );
            }
            let auth = headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            // "U:secret" base64
            if auth != "Basic VTpzZWNyZXQ=" {
                return (
                    StatusCode::UNAUTHORIZED,
                    axum::Json(fault("FND_SOA_AUTHENTICATION_FAILURE")),
                );
            }
            let token = format!("tok{n}");
            *st.valid_token.lock().await = token.clone();
            return (
                StatusCode::OK,
                axum::Json(
                    json!({"response": {"data": {"accessTokenName": "JSESSIONID", "accessToken": token, "ebsVersion": "12.2.10"}}}),
                ),
            );
        }
        let cookie = headers
            .get("cookie")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        st.cookies.lock().await.push(cookie.clone());
        if path.ends_with("/logout") {
            st.valid_token.lock().await.clear();
            return (
                StatusCode::OK,
                axum::Json(json!({"response": {"data": {"status": "SUCCESS"}}})),
            );
        }
        let valid = format!("JSESSIONID={}", st.valid_token.lock().await);
        if cookie != valid {
            return (
                StatusCode::UNAUTHORIZED,
                axum::Json(fault("FND_SOA_AUTHENTICATION_FAILURE")),
            );
        }
        st.calls.fetch_add(1, Ordering::SeqCst);
        let now = st.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        st.max_in_flight.fetch_max(now, Ordering::SeqCst);
        let barrier = st.barrier.lock().await.clone();
        if let Some(b) = barrier {
            let _ = tokio::time::timeout(Duration::from_secs(5), b.wait()).await;
        }
        for _ in 0..5 {
            tokio::task::yield_now().await;
        }
        st.in_flight.fetch_sub(1, Ordering::SeqCst);
        let next = {
            let mut s = st.script.lock().await;
            if s.answers.is_empty() {
                None
            } else {
                Some(s.answers.remove(0))
            }
        };
        match next {
            Some((status, body)) => (
                StatusCode::from_u16(status).expect("status"),
                axum::Json(body),
            ),
            None => (
                StatusCode::OK,
                axum::Json(
                    json!({"OutputParameters": {"X_RETURN_STATUS": "S", "X_REQUEST_ID": "1", "X_PHASE_CODE": "C", "X_STATUS_CODE": "C"}}),
                ),
            ),
        }
    }

    pub async fn spawn() -> (String, Arc<StubState>) {
        let st = Arc::new(StubState::default());
        let app = Router::new()
            .route("/webservices/rest/{*rest}", any(handle))
            .with_state(st.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            axum::serve(listener, app).await.expect("serve");
        });
        (format!("http://{addr}"), st)
    }
}

fn client_for(url: &str, password: &str, limit: usize) -> EbsClient {
    let mut cfg = EbsConfig::new(
        url,
        Credentials {
            user: "U".into(),
            password: secrecy::SecretString::from(password.to_string()),
        },
        Contexts::vision("1000", "1", "204"),
    );
    cfg.concurrency = limit;
    cfg.retry = Backoff {
        max_attempts: 4,
        base: Duration::from_millis(1),
        cap: Duration::from_millis(5),
    };
    EbsClient::new(cfg).expect("client")
}

#[tokio::test]
async fn stub_login_then_cookie_and_relogin_once_on_401() {
    let (url, st) = stub::spawn().await;
    let c = client_for(&url, "secret", 2);
    let s = c
        .request_status(ml_connector::ebs::Module::Gl, "1")
        .await
        .expect("status");
    assert!(s.is_complete());
    assert_eq!(st.logins.load(Ordering::SeqCst), 1);
    assert_eq!(
        st.cookies.lock().await.last().map(String::as_str),
        Some("JSESSIONID=tok1")
    );
    // The session expires server-side: the next call gets 401, logs in again, retries once.
    st.valid_token.lock().await.clear();
    *st.valid_token.lock().await = "expired-elsewhere".into();
    c.request_status(ml_connector::ebs::Module::Gl, "1")
        .await
        .expect("after re-login");
    assert_eq!(st.logins.load(Ordering::SeqCst), 2);
    assert_eq!(c.stats().relogins, 1);
    assert_eq!(st.calls.load(Ordering::SeqCst), 2);
    // Logout invalidates the token on the server.
    c.logout().await.expect("logout");
    assert!(st.valid_token.lock().await.is_empty());
}

#[tokio::test]
async fn stub_bad_credentials_are_reported_not_retried() {
    let (url, st) = stub::spawn().await;
    let c = client_for(&url, "wrong", 2);
    let e = c
        .request_status(ml_connector::ebs::Module::Gl, "1")
        .await
        .expect_err("bad credentials");
    assert!(matches!(e, EbsError::BadCredentials { .. }), "{e}");
    assert_eq!(e.code(), Some("FND_SOA_AUTHENTICATION_FAILURE"));
    assert!(!e.to_string().contains("wrong"), "password leaked: {e}");
    assert_eq!(st.logins.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn stub_basic_auth_mode_sends_basic_and_never_logs_in() {
    let (url, st) = stub::spawn().await;
    let mut cfg = EbsConfig::new(
        &url,
        Credentials {
            user: "U".into(),
            password: secrecy::SecretString::from("secret".to_string()),
        },
        Contexts::vision("1000", "1", "204"),
    );
    cfg.auth = AuthMode::Basic;
    let c = EbsClient::new(cfg).expect("client");
    // The stub only accepts cookies for services: a 401 in Basic mode is final.
    let e = c
        .request_status(ml_connector::ebs::Module::Gl, "1")
        .await
        .expect_err("401");
    assert!(matches!(e, EbsError::BadCredentials { .. }));
    assert_eq!(st.logins.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn stub_login_answering_500_is_retried() {
    let (url, st) = stub::spawn().await;
    st.failing_logins.store(2, Ordering::SeqCst);
    let c = client_for(&url, "secret", 2);
    c.request_status(ml_connector::ebs::Module::Gl, "1")
        .await
        .expect("logged in on the third try");
    assert_eq!(st.logins.load(Ordering::SeqCst), 3);
    assert_eq!(c.stats().retries, 2);
    assert_eq!(st.calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn stub_reads_retry_on_5xx_and_503_then_succeed() {
    let (url, st) = stub::spawn().await;
    st.script.lock().await.answers = vec![
        (503, stub::fault("ISG_SERVICE_UNAVAILABLE")),
        (500, stub::fault("ISG_DB_CONNECTION_ERROR")),
    ];
    let c = client_for(&url, "secret", 2);
    c.request_status(ml_connector::ebs::Module::Gl, "1")
        .await
        .expect("third try");
    assert_eq!(c.stats().retries, 2);
    assert_eq!(st.calls.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn stub_retries_are_bounded_and_fault_is_typed() {
    let (url, st) = stub::spawn().await;
    st.script.lock().await.answers = (0..10)
        .map(|_| (500, stub::fault("ISG_DB_CONNECTION_ERROR")))
        .collect();
    let c = client_for(&url, "secret", 2);
    let e = c
        .request_status(ml_connector::ebs::Module::Gl, "1")
        .await
        .expect_err("gives up");
    assert_eq!(e.code(), Some("ISG_DB_CONNECTION_ERROR"));
    assert_eq!(e.http_status(), Some(500));
    assert_eq!(st.calls.load(Ordering::SeqCst), 4, "attempts = 4");
    // A 403 is not retried at all.
    st.script.lock().await.answers = vec![(403, stub::fault("ISG_SERVICE_AUTH_FAILURE"))];
    let before = st.calls.load(Ordering::SeqCst);
    let e = c
        .request_status(ml_connector::ebs::Module::Gl, "1")
        .await
        .expect_err("403");
    assert_eq!(e.code(), Some("ISG_SERVICE_AUTH_FAILURE"));
    assert_eq!(st.calls.load(Ordering::SeqCst), before + 1);
}

#[tokio::test]
async fn stub_concurrency_never_above_the_limit() {
    let (url, st) = stub::spawn().await;
    // Two calls must meet in the handler (proves the limit allows 2), never three.
    *st.barrier.lock().await = Some(Arc::new(tokio::sync::Barrier::new(2)));
    let c = Arc::new(client_for(&url, "secret", 2));
    let tasks: Vec<_> = (0..12)
        .map(|i| {
            let c = c.clone();
            tokio::spawn(async move {
                c.request_status(ml_connector::ebs::Module::Gl, &i.to_string())
                    .await
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("join").expect("status");
    }
    assert_eq!(st.max_in_flight.load(Ordering::SeqCst), 2);
    assert!(c.stats().max_in_flight <= 2);
    assert_eq!(c.concurrency_limit(), 2);
}

#[test]
fn plain_http_to_a_remote_host_is_refused() {
    let e = EbsClient::new(EbsConfig::new(
        "http://ebs.example.com:8000",
        Credentials {
            user: "U".into(),
            password: secrecy::SecretString::from("p".to_string()),
        },
        Contexts::vision("1000", "1", "204"),
    ))
    .err()
    .expect("refused");
    assert!(matches!(e, EbsError::Config(_)), "{e}");
}

// ---------------------------------------------------------------------------------------------
// Against the in-process EBS simulator (real HTTP on 127.0.0.1:0).

mod sim {
    use super::*;
    use chrono::NaiveDate;
    use ml_connector::ebs::gl::{GlStatus, LineResult, NextStep, line_key};
    use ml_connector::ebs::{GlBatch, GlLine, PollPolicy, PostingRecord, PostingStep};
    use ml_connector::sim::ebs::{EbsSimConfig, RunningEbsSim, Scheduler, spawn};
    use rust_decimal::Decimal;
    use std::str::FromStr;

    pub fn d(s: &str) -> Decimal {
        Decimal::from_str(s).expect("decimal")
    }

    pub fn timed() -> EbsSimConfig {
        EbsSimConfig {
            scheduler: Scheduler::Timed {
                t1: Duration::from_millis(5),
                t2: Duration::from_millis(10),
            },
            ..EbsSimConfig::default()
        }
    }

    pub async fn start(cfg: EbsSimConfig) -> RunningEbsSim {
        spawn(cfg).await.expect("simulator")
    }

    /// Allocate, stage, submit, let the simulator run, await and confirm a checked record.
    async fn step_through(
        c: &EbsClient,
        sim: &RunningEbsSim,
        b: &GlBatch,
        rec: &PostingRecord,
    ) -> PostingRecord {
        let rec = c.gl_allocate(b, rec).await.expect("allocate");
        let rec = c.gl_stage(b, &rec).await.expect("stage");
        let rec = c.gl_submit(b, &rec).await.expect("submit");
        sim.run_until_idle();
        let rec = c.gl_await(b, &rec).await.expect("await");
        c.gl_confirm(b, &rec).await.expect("confirm")
    }

    pub fn client(sim: &RunningEbsSim) -> EbsClient {
        let mut cfg = EbsConfig::new(
            &sim.base_url(),
            Credentials {
                user: "OPERATIONS".into(),
                password: secrecy::SecretString::from("welcome1".to_string()),
            },
            Contexts::vision("1000", "1", "204"),
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

    pub fn line(
        settlement: &str,
        period: &str,
        acct: &str,
        dr: Option<&str>,
        cr: Option<&str>,
        label: &str,
    ) -> GlLine {
        GlLine {
            account: acct.into(),
            entered_dr: dr.map(d),
            entered_cr: cr.map(d),
            accounted_dr: None,
            accounted_cr: None,
            description: label.into(),
            line_key: line_key(settlement, period, acct, label),
        }
    }

    pub fn batch(
        settlement: &str,
        period: &str,
        date: (i32, u32, u32),
        lines: Vec<GlLine>,
    ) -> GlBatch {
        GlBatch {
            settlement_id: settlement.into(),
            ledger_id: "1".into(),
            period_name: period.into(),
            original_period: None,
            accounting_date: NaiveDate::from_ymd_opt(date.0, date.1, date.2).expect("date"),
            currency: "USD".into(),
            je_source: "Amazon".into(),
            je_category: "Amazon Settlement".into(),
            batch_name: format!("AMZ {settlement}"),
            batch_description: format!("Amazon settlement {settlement}"),
            journal_name: format!("AMZ {settlement} {period}"),
            journal_description: format!("Amazon settlement {settlement} {period}"),
            revision: 1,
            reversed_revisions: vec![],
            reference_period: None,
            conversion: None,
            lines,
        }
    }

    pub fn clean(settlement: &str) -> GlBatch {
        let p = "OCT-26";
        batch(
            settlement,
            p,
            (2026, 10, 31),
            vec![
                line(
                    settlement,
                    p,
                    "01-000-1190-0000-000",
                    Some("85.00"),
                    None,
                    "Clearing",
                ),
                line(
                    settlement,
                    p,
                    "01-000-6110-0000-000",
                    Some("10.00"),
                    None,
                    "Referral fees",
                ),
                line(
                    settlement,
                    p,
                    "01-000-6150-0000-000",
                    Some("5.00"),
                    None,
                    "FBA fees",
                ),
                line(
                    settlement,
                    p,
                    "01-000-4010-0000-000",
                    None,
                    Some("100.00"),
                    "Sales",
                ),
            ],
        )
    }

    /// Journal lines the simulator holds for a settlement (stable `/_sim/gl/journals` contract).
    pub fn sim_lines(sim: &RunningEbsSim, settlement: &str) -> Vec<serde_json::Value> {
        sim.gl_journals()
            .as_array()
            .expect("array")
            .iter()
            .flat_map(|j| j["lines"].as_array().cloned().unwrap_or_default())
            .filter(|l| l["reference_1"] == settlement)
            .collect()
    }

    pub async fn interface_rows(c: &EbsClient, b: &GlBatch) -> usize {
        c.gl_existing(b).await.expect("existing").rows.len()
    }

    #[tokio::test]
    async fn sim_clean_journal_confirmed_end_to_end_and_never_twice() {
        let sim = start(timed()).await;
        let c = client(&sim);
        let b = clean("1001");
        let mut records = Vec::new();
        let rec = c
            .post_gl_batch(&b, None, |r| {
                records.push(r.step);
                Ok(())
            })
            .await
            .expect("posted");
        assert_eq!(
            records,
            vec![
                PostingStep::Checked,
                PostingStep::GroupAllocated,
                PostingStep::Staged,
                PostingStep::Submitted,
                PostingStep::Completed,
                PostingStep::Confirmed
            ]
        );
        let o = rec.outcome.clone().expect("outcome");
        assert_eq!(o.status, GlStatus::Imported, "{o:?}");
        assert_eq!(o.lines.len(), 4);
        assert!(
            o.lines
                .iter()
                .all(|l| matches!(l.result, LineResult::Imported { .. }))
        );
        assert_eq!(o.journals.len(), 1);
        assert_eq!(o.journals[0].status, "U");
        assert_eq!(o.journals[0].total_dr, d("100"));
        let lines = sim_lines(&sim, "1001");
        assert_eq!(lines.len(), 4);
        assert!(
            lines
                .iter()
                .all(|l| l["reference_2"] == "OCT-26" && l["reference_4"] == "1")
        );
        // Posting again (same record, or none at all) writes nothing.
        let again = c
            .post_gl_batch(&b, Some(&rec), |_| Ok(()))
            .await
            .expect("again");
        assert_eq!(again.step, PostingStep::Confirmed);
        let fresh = c.post_gl_batch(&b, None, |_| Ok(())).await.expect("fresh");
        assert_eq!(fresh.outcome.expect("o").status, GlStatus::Imported);
        assert_eq!(sim_lines(&sim, "1001").len(), 4, "no duplicate lines");
        // Imported is not posted: a GL user posts it, then the client sees it.
        match c.gl_journal_state(&b).await.expect("state") {
            ml_connector::ebs::posted::JournalState::Unposted(j) => assert_eq!(j.len(), 1),
            other => panic!("expected unposted, got {other:?}"),
        }
        let group: i64 = o.group_id.parse().expect("group");
        reqwest::Client::new()
            .post(format!("{}/_sim/gl/post", sim.base_url()))
            .json(&json!({"group_id": group}))
            .send()
            .await
            .expect("post");
        assert!(matches!(
            c.gl_journal_state(&b).await.expect("state"),
            ml_connector::ebs::posted::JournalState::Posted(_)
        ));
        // A revision 2 while revision 1 is live is refused.
        let mut b2 = b.clone();
        b2.revision = 2;
        let e = c
            .post_gl_batch(&b2, None, |_| Ok(()))
            .await
            .expect_err("live r1");
        assert!(
            matches!(
                e,
                EbsError::OtherRevisionLive {
                    found_revision: 1,
                    ..
                }
            ),
            "{e}"
        );
        c.logout().await.expect("logout");
    }

    #[tokio::test]
    async fn sim_deleted_journal_is_detected() {
        let sim = start(timed()).await;
        let c = client(&sim);
        let b = clean("1002");
        let rec = c.post_gl_batch(&b, None, |_| Ok(())).await.expect("posted");
        let group: i64 = rec.group_id.as_deref().expect("g").parse().expect("n");
        let r = reqwest::Client::new()
            .post(format!("{}/_sim/gl/delete", sim.base_url()))
            .json(&json!({"group_id": group}))
            .send()
            .await
            .expect("delete");
        assert!(r.status().is_success());
        let state = c.gl_journal_state(&b).await.expect("state");
        assert!(state.deleted_since(true), "{state:?}");
        let resume = c.gl_reconcile(&b, Some(&rec)).await.expect("reconcile");
        assert_eq!(resume.next, NextStep::Vanished);
    }

    #[tokio::test]
    async fn sim_invalid_account_and_closed_period_caught_before_staging() {
        let sim = start(EbsSimConfig::step()).await;
        let c = client(&sim);
        let s = "2001";
        let p = "OCT-25";
        let b = batch(
            s,
            p,
            (2025, 10, 31),
            vec![
                line(
                    s,
                    p,
                    "01-000-1190-0000-000",
                    Some("50.00"),
                    None,
                    "Clearing",
                ),
                line(s, p, "01-000-5555-0000-000", None, Some("30.00"), "Unknown"),
                line(
                    s,
                    p,
                    "01-000-6199-0000-000",
                    None,
                    Some("20.00"),
                    "Disabled",
                ),
            ],
        );
        let e = c
            .post_gl_batch(&b, None, |_| Ok(()))
            .await
            .expect_err("checks");
        let EbsError::Checks(f) = &e else {
            panic!("{e}")
        };
        assert!(
            f.iter().any(|f| f.ebs_code() == "EP01" && f.line.is_none()),
            "{f:?}"
        );
        assert!(
            f.iter().any(|f| f.line == Some(2)
                && f.account.as_deref() == Some("01-000-5555-0000-000")
                && f.ebs_code() == "EF04"),
            "{f:?}"
        );
        assert!(
            f.iter()
                .any(|f| f.line == Some(3) && f.ebs_code() == "EF03"),
            "{f:?}"
        );
        assert!(e.to_string().contains("line 2"), "{e}");
        assert_eq!(interface_rows(&c, &b).await, 0, "nothing staged");
        assert!(sim.gl_journals().as_array().expect("a").is_empty());
    }

    #[tokio::test]
    async fn sim_account_end_dated_after_the_check_is_rejected_per_line() {
        let mut cfg = EbsSimConfig::step();
        cfg.seed
            .world_events
            .push(ml_connector::sim::ebs::seed::WorldEvent {
                on: "journal_import_start".into(),
                source: Some("Amazon".into()),
                at: None,
                action: "end_date_account".into(),
                account: Some("01-000-6150-0000-000".into()),
                end_date: NaiveDate::from_ymd_opt(2025, 12, 31),
                ledger_id: None,
                period: None,
            });
        let sim = start(cfg).await;
        let c = client(&sim);
        let b = clean("3001");
        let rec = c.gl_check(&b).await.expect("account fine at check time");
        let rec = step_through(&c, &sim, &b, &rec).await;
        let o = rec.outcome.expect("outcome");
        assert_eq!(o.status, GlStatus::Rejected, "{o:?}");
        // The end-dated account's line carries EF01; the group is rejected as a whole (the
        // simulator marks the siblings EU02 / P), so nothing is imported.
        let ef01: Vec<_> = o
            .rejected()
            .filter(|l| matches!(&l.result, LineResult::Rejected { code, .. } if code == "EF01"))
            .collect();
        assert_eq!(ef01.len(), 1, "{o:?}");
        assert_eq!(ef01[0].line, 3);
        assert_eq!(ef01[0].account, "01-000-6150-0000-000");
        assert!(
            o.lines
                .iter()
                .all(|l| !matches!(l.result, LineResult::Imported { .. }))
        );
        assert!(o.journals.is_empty());
        assert!(sim_lines(&sim, "3001").is_empty());
        // Fixing and reposting: the rejected rows are removed first, a new group is used.
        c.clear_check_cache().await;
        let e = c.gl_check(&b).await.expect_err("now end-dated");
        assert!(e.to_string().contains("01-000-6150-0000-000"), "{e}");
    }

    #[tokio::test]
    async fn sim_unbalanced_journal_through_raw_hook_rejected_with_eu02() {
        let sim = start(EbsSimConfig::step()).await;
        let c = client(&sim);
        let mut b = clean("4001");
        b.lines[0].entered_dr = Some(d("84.00"));
        assert!(
            matches!(c.gl_check(&b).await, Err(EbsError::Checks(_))),
            "client refuses"
        );
        let rec = PostingRecord::raw_test_hook_unchecked(&b);
        let rec = step_through(&c, &sim, &b, &rec).await;
        let o = rec.outcome.expect("outcome");
        assert_eq!(o.status, GlStatus::Rejected);
        assert!(
            o.lines
                .iter()
                .any(|l| matches!(&l.result, LineResult::Rejected { code, .. } if code == "EU02")),
            "{o:?}"
        );
        assert!(sim_lines(&sim, "4001").is_empty());
        // A corrected batch deletes the rejected rows and goes under a new group.
        let mut fixed = b.clone();
        fixed.lines[0].entered_dr = Some(d("85.00"));
        let rec2 = c.gl_check(&fixed).await.expect("ok now");
        let rec2 = c.gl_allocate(&fixed, &rec2).await.expect("allocate");
        let rec2 = c.gl_stage(&fixed, &rec2).await.expect("stage");
        assert_eq!(rec2.discarded_groups, vec![o.group_id.clone()]);
        assert_ne!(rec2.group_id.as_deref(), Some(o.group_id.as_str()));
        let rec2 = c.gl_submit(&fixed, &rec2).await.expect("submit");
        sim.run_until_idle();
        let rec2 = c.gl_await(&fixed, &rec2).await.expect("await");
        let rec2 = c.gl_confirm(&fixed, &rec2).await.expect("confirm");
        assert_eq!(rec2.outcome.expect("o").status, GlStatus::Imported);
        assert_eq!(sim_lines(&sim, "4001").len(), 4);
        assert_eq!(interface_rows(&c, &fixed).await, 0, "rejected rows gone");
    }

    #[tokio::test]
    async fn sim_session_expiring_mid_batch_relogs_in_once() {
        let sim = start(timed()).await;
        let c = client(&sim);
        let a = clean("5001");
        c.post_gl_batch(&a, None, |_| Ok(())).await.expect("first");
        let mut expired = false;
        let b = clean("5002");
        let rec = c
            .post_gl_batch(&b, None, |r| {
                if r.step == PostingStep::Staged && !expired {
                    sim.inject(&ml_connector::sim::ebs::Faults {
                        expire_sessions: true,
                        ..Default::default()
                    });
                    expired = true;
                }
                Ok(())
            })
            .await
            .expect("second batch survives the expiry");
        assert!(expired);
        assert_eq!(rec.outcome.expect("o").status, GlStatus::Imported);
        assert!(c.stats().relogins >= 1);
        assert_eq!(sim_lines(&sim, "5002").len(), 4);
    }

    #[tokio::test]
    async fn sim_500_mid_batch_is_checked_then_retried_without_duplicates() {
        let sim = start(timed()).await;
        let c = client(&sim);
        let mut b = clean("6001");
        b.original_period = Some("SEP-25".into());
        let mut injected = false;
        let rec = c
            .post_gl_batch(&b, None, |r| {
                if r.step == PostingStep::GroupAllocated && !injected {
                    // The insert and the next read both fail once.
                    sim.inject(&ml_connector::sim::ebs::Faults {
                        db_error_next: 2,
                        ..Default::default()
                    });
                    injected = true;
                }
                Ok(())
            })
            .await
            .expect("posted despite 500s");
        assert_eq!(rec.outcome.expect("o").status, GlStatus::Imported);
        assert!(c.stats().retries >= 1);
        let lines = sim_lines(&sim, "6001");
        assert_eq!(lines.len(), 4, "each line exactly once");
        assert!(
            lines.iter().all(|l| l["reference_5"] == "SEP-25"),
            "REFERENCE25 kept"
        );
    }

    #[tokio::test]
    async fn sim_import_ending_in_error_is_resubmitted_not_restaged() {
        let sim = start(timed()).await;
        let c = client(&sim);
        let b = clean("6501");
        sim.inject(&ml_connector::sim::ebs::Faults {
            import_error_next: 1,
            ..Default::default()
        });
        let rec = c.post_gl_batch(&b, None, |_| Ok(())).await.expect("ran");
        let o = rec.outcome.clone().expect("o");
        assert_eq!(o.status, GlStatus::NotImported, "{o:?}");
        assert_eq!(
            rec.request.as_ref().map(|r| r.status_code.as_str()),
            Some("E")
        );
        let again = c
            .post_gl_batch(&b, Some(&rec), |_| Ok(()))
            .await
            .expect("resubmitted");
        let o2 = again.outcome.expect("o");
        assert_eq!(o2.status, GlStatus::Imported);
        assert_eq!(o2.group_id, o.group_id, "same rows, same group");
        assert_ne!(again.request_id, rec.request_id);
        assert_eq!(sim_lines(&sim, "6501").len(), 4);
    }

    #[tokio::test]
    async fn sim_crash_between_staging_and_submit_resumes_exactly_once() {
        let sim = start(EbsSimConfig::step()).await;
        let b = clean("7001");
        let persisted = {
            let c = client(&sim);
            let rec = c.gl_check(&b).await.expect("check");
            let rec = c.gl_allocate(&b, &rec).await.expect("allocate");
            // The insert lands, then the process dies before persisting "Staged".
            let _lost = c.gl_stage(&b, &rec).await.expect("stage");
            rec
        };
        let c = client(&sim);
        let resume = c
            .gl_reconcile(&b, Some(&persisted))
            .await
            .expect("reconcile");
        assert_eq!(resume.next, NextStep::Submit);
        let rec = c.gl_submit(&b, &resume.record).await.expect("submit");
        sim.run_until_idle();
        let rec = c.gl_await(&b, &rec).await.expect("await");
        let rec = c.gl_confirm(&b, &rec).await.expect("confirm");
        assert_eq!(rec.outcome.expect("o").status, GlStatus::Imported);
        assert_eq!(sim_lines(&sim, "7001").len(), 4);
        assert_eq!(interface_rows(&c, &b).await, 0);
    }

    #[tokio::test]
    async fn sim_crash_between_submit_and_confirmation_resumes_exactly_once() {
        let sim = start(EbsSimConfig::step()).await;
        let b = clean("8001");
        let (staged, submitted) = {
            let c = client(&sim);
            let rec = c.gl_check(&b).await.expect("check");
            let rec = c.gl_allocate(&b, &rec).await.expect("allocate");
            let staged = c.gl_stage(&b, &rec).await.expect("stage");
            let submitted = c.gl_submit(&b, &staged).await.expect("submit");
            (staged, submitted)
        };
        // Restart while the request is still pending: wait for it, don't resubmit.
        let c = client(&sim);
        let resume = c
            .gl_reconcile(&b, Some(&submitted))
            .await
            .expect("reconcile");
        assert_eq!(resume.next, NextStep::Await);
        assert_eq!(resume.record.request_id, submitted.request_id);
        sim.run_until_idle();
        // Crash again, this time the "Submitted" record was lost too: EBS has the journals.
        let c = client(&sim);
        let resume = c.gl_reconcile(&b, Some(&staged)).await.expect("reconcile");
        assert_eq!(resume.next, NextStep::Confirm);
        let rec = c.gl_confirm(&b, &resume.record).await.expect("confirm");
        let o = rec.outcome.expect("o");
        assert_eq!(o.status, GlStatus::Imported);
        assert_eq!(o.request_id, submitted.request_id);
        let rec = c
            .post_gl_batch(&b, Some(&staged), |_| Ok(()))
            .await
            .expect("drive");
        assert_eq!(rec.step, PostingStep::Confirmed);
        assert_eq!(
            sim_lines(&sim, "8001").len(),
            4,
            "neither lost nor duplicated"
        );
    }

    #[tokio::test]
    async fn sim_foreign_currency_clearing_equals_the_deposit() {
        use ml_connector::ledger::fx::{EventGroupTotals, FxPolicy, choose_conversion};
        let sim = start(timed()).await;
        let c = client(&sim);
        let s = "9001";
        // EUR settlement spanning October and November, paid out as 1,083.47 USD.
        let mut oct = batch(
            s,
            "OCT-26",
            (2026, 10, 31),
            vec![
                line(
                    s,
                    "OCT-26",
                    "01-000-1190-0000-000",
                    Some("600.00"),
                    None,
                    "Clearing",
                ),
                line(
                    s,
                    "OCT-26",
                    "01-000-6110-0000-000",
                    Some("100.01"),
                    None,
                    "Fees",
                ),
                line(
                    s,
                    "OCT-26",
                    "01-000-4010-0000-000",
                    None,
                    Some("700.01"),
                    "Sales",
                ),
            ],
        );
        let mut nov = batch(
            s,
            "NOV-26",
            (2026, 11, 3),
            vec![
                line(
                    s,
                    "NOV-26",
                    "01-000-1190-0000-000",
                    Some("400.00"),
                    None,
                    "Clearing",
                ),
                line(
                    s,
                    "NOV-26",
                    "01-000-4010-0000-000",
                    None,
                    Some("400.00"),
                    "Sales",
                ),
            ],
        );
        oct.currency = "EUR".into();
        nov.currency = "EUR".into();
        let group = EventGroupTotals {
            original_total: d("1000.00"),
            original_currency: "EUR".into(),
            converted_total: Some(d("1083.47")),
            converted_currency: Some("USD".into()),
        };
        let conv = choose_conversion(
            &FxPolicy::default(),
            &group,
            "USD",
            oct.accounting_date,
            None,
        )
        .expect("implied user rate");
        let mut batches = vec![oct, nov];
        ml_connector::sync::convert::apply_fx(
            &mut batches,
            &conv,
            "USD",
            group.converted_total,
            "01-000-7990-0000-000",
            |l| l.account == "01-000-1190-0000-000",
        )
        .expect("fx");
        for b in &batches {
            let rec = c.post_gl_batch(b, None, |_| Ok(())).await.expect("posted");
            assert_eq!(rec.outcome.expect("o").status, GlStatus::Imported);
        }
        let lines = sim_lines(&sim, s);
        let num = |v: &serde_json::Value| v.as_str().map(d).unwrap_or_default();
        let clearing: Decimal = lines
            .iter()
            .filter(|l| l["account"] == "01-000-1190-0000-000")
            .map(|l| num(&l["accounted_dr"]) - num(&l["accounted_cr"]))
            .sum();
        assert_eq!(clearing, d("1083.47"));
        for j in sim.gl_journals().as_array().expect("a") {
            let ls = j["lines"].as_array().expect("lines");
            let dr: Decimal = ls.iter().map(|l| num(&l["accounted_dr"])).sum();
            let cr: Decimal = ls.iter().map(|l| num(&l["accounted_cr"])).sum();
            assert_eq!(dr, cr, "journal {} balances in USD", j["journal_name"]);
            let edr: Decimal = ls.iter().map(|l| num(&l["entered_dr"])).sum();
            let ecr: Decimal = ls.iter().map(|l| num(&l["entered_cr"])).sum();
            assert_eq!(edr, ecr, "and in EUR");
        }
    }

    fn ar_line(
        order: &str,
        item: &str,
        trx_type: &str,
        amount: &str,
    ) -> ml_connector::ebs::ar::ArLine {
        use ml_connector::ebs::ar::{ArLine, TrxFlexfield};
        ArLine {
            flexfield: TrxFlexfield {
                context: "AMAZON".into(),
                attributes: vec![order.into(), item.into(), "PRINCIPAL".into(), "1001".into()],
            },
            batch_source_name: "AMAZON".into(),
            line_type: "LINE".into(),
            description: format!("Order {order} item {item}"),
            currency: "USD".into(),
            amount: d(amount),
            quantity: Some(d("1")),
            unit_selling_price: Some(d(amount)),
            cust_trx_type_name: trx_type.into(),
            term_name: Some("IMMEDIATE".into()),
            bill_customer_ref: "AMAZON-US".into(),
            bill_address_ref: Some("AMAZON-US-BILL".into()),
            trx_date: NaiveDate::from_ymd_opt(2026, 10, 15).expect("date"),
            gl_date: NaiveDate::from_ymd_opt(2026, 10, 15).expect("date"),
            trx_number: Some(order.into()),
            memo_line_name: None,
            reference_line: None,
            conversion_type: None,
            conversion_rate: None,
            conversion_date: None,
            extra: Default::default(),
        }
    }

    #[tokio::test]
    async fn sim_ar_autoinvoice_children_followed_and_errors_read_back() {
        use ml_connector::ebs::ar::AutoInvoiceParams;
        let sim = start(timed()).await;
        let c = client(&sim);
        let good = ar_line("111-0000001-0000001", "A1", "Amazon Invoice", "24.99");
        let bad = ar_line("111-0000002-0000002", "B1", "No Such Type", "9.99");
        assert!(
            c.ar_existing("AMAZON", "111-0000001-0000001")
                .await
                .expect("ask")
                .is_empty()
        );
        c.ar_stage(&[good.clone(), bad.clone()], &[])
            .await
            .expect("stage");
        assert_eq!(
            c.ar_existing("AMAZON", "111-0000001-0000001")
                .await
                .expect("ask")
                .len(),
            1
        );
        let id = c
            .ar_submit(&AutoInvoiceParams {
                batch_source_id: "1001".into(),
                batch_source_name: "AMAZON".into(),
                default_date: NaiveDate::from_ymd_opt(2026, 10, 15).expect("date"),
                gl_date_low: None,
                gl_date_high: None,
            })
            .await
            .expect("submit");
        let o = c.ar_await_outcome(&id, "AMAZON").await.expect("outcome");
        assert!(o.requests.is_complete());
        assert_eq!(o.requests.children.len(), 1, "{o:?}");
        assert_eq!(o.requests.children[0].program, "RAXTRX");
        assert_eq!(o.transactions.len(), 1, "{o:?}");
        assert_eq!(o.transactions[0].lines[0], good.flexfield);
        assert_eq!(o.errors.len(), 1, "{o:?}");
        assert_eq!(o.errors[0].message, "Invalid transaction type");
        assert_eq!(o.errors[0].flexfield.attributes[0], "111-0000002-0000002");
        assert_eq!(o.remaining, vec![bad.flexfield.clone()]);
        assert_eq!(
            c.ar_delete_lines("AMAZON", "111-0000002-0000002")
                .await
                .expect("delete"),
            1
        );
    }

    #[tokio::test]
    async fn sim_ap_invoices_imported_and_rejections_read_back() {
        use ml_connector::ebs::ap::{ApInvoice, ApInvoiceLine, PayablesImportParams};
        let sim = start(timed()).await;
        let c = client(&sim);
        let date = NaiveDate::from_ymd_opt(2026, 10, 31).expect("date");
        let inv = |num: &str, amount: &str, line_amount: &str| ApInvoice {
            invoice_num: num.into(),
            invoice_type: "STANDARD".into(),
            invoice_date: date,
            vendor_num: "AMZ001".into(),
            vendor_site_code: "US".into(),
            amount: d(amount),
            currency: "USD".into(),
            description: "Amazon fees".into(),
            source: "AMAZON FEES".into(),
            group_id: "777".into(),
            gl_date: date,
            terms_name: None,
            lines: vec![ApInvoiceLine {
                line_number: 1,
                line_type: "MISCELLANEOUS".into(),
                amount: d(line_amount),
                description: "Referral fees".into(),
                account: "01-000-6110-0000-000".into(),
                accounting_date: date,
            }],
        };
        let ids = c
            .ap_stage(&[
                inv("FEES-1001", "15.00", "15.00"),
                inv("FEES-1002", "20.00", "19.00"),
            ])
            .await
            .expect("stage");
        assert_eq!(ids.len(), 2);
        assert_eq!(
            c.ap_existing("AMAZON FEES", "FEES-1001")
                .await
                .expect("ask")
                .len(),
            1
        );
        let id = c
            .ap_submit(&PayablesImportParams {
                source: "AMAZON FEES".into(),
                group_id: "777".into(),
                batch_name: None,
                gl_date: Some(date),
                purge: false,
            })
            .await
            .expect("submit");
        let (state, out) = c.ap_await_outcome(&id, "777").await.expect("outcome");
        assert!(state.ran(), "{state:?}");
        let ok = out
            .iter()
            .find(|o| o.invoice_num == "FEES-1001")
            .expect("1001");
        assert_eq!(ok.status, "PROCESSED");
        let bad = out
            .iter()
            .find(|o| o.invoice_num == "FEES-1002")
            .expect("1002");
        assert_eq!(bad.status, "REJECTED");
        assert!(
            bad.rejections
                .iter()
                .any(|r| r.reject_code == "INVALID INVOICE AMOUNT"),
            "{bad:?}"
        );
        assert_eq!(c.ap_delete_rejected("777").await.expect("delete"), 1);
    }
}

/// The PL/SQL package spec declares, with Integration Repository annotations, every custom
/// service and parameter the client calls (so an administrator deploys what is used).
#[test]
fn plsql_spec_declares_every_custom_service_the_client_calls() {
    let spec = include_str!("../assets/ebs/xxmlc_connector.pks");
    let body = include_str!("../assets/ebs/xxmlc_connector.pkb");
    assert!(
        spec.starts_with("/* $Header: "),
        "irep_parser needs the $Header line"
    );
    assert!(spec.contains("CREATE OR REPLACE PACKAGE XXMLC_INTEGRATION_PKG"));
    assert!(body.contains("CREATE OR REPLACE PACKAGE BODY XXMLC_INTEGRATION_PKG"));
    let calls: [(&str, &[&str]); 8] = [
        (
            "populate_interface_control",
            &[
                "P_USER_JE_SOURCE_NAME",
                "P_LEDGER_ID",
                "P_GROUP_ID",
                "P_PROCESSED_DATA_ACTION",
                "X_GROUP_ID",
                "X_INTERFACE_RUN_ID",
            ],
        ),
        (
            "get_journals_by_group",
            &["P_GROUP_ID", "P_LEDGER_ID", "X_JOURNALS"],
        ),
        (
            "get_journals_by_reference",
            &[
                "P_USER_JE_SOURCE_NAME",
                "P_LEDGER_ID",
                "P_REFERENCE_1",
                "P_REFERENCE_2",
                "P_REFERENCE_4",
                "X_JOURNALS",
            ],
        ),
        (
            "get_transactions_by_request",
            &["P_REQUEST_ID", "X_TRANSACTIONS"],
        ),
        (
            "get_request_status",
            &[
                "P_REQUEST_ID",
                "X_PHASE_CODE",
                "X_STATUS_CODE",
                "X_MESSAGE",
                "X_CHILDREN",
            ],
        ),
        ("get_child_requests", &["P_REQUEST_ID", "X_REQUESTS"]),
        (
            "get_account",
            &[
                "P_LEDGER_ID",
                "P_CONCATENATED_SEGMENTS",
                "X_EXISTS",
                "X_ENABLED_FLAG",
                "X_DETAIL_POSTING_ALLOWED_FLAG",
                "X_START_DATE_ACTIVE",
                "X_END_DATE_ACTIVE",
            ],
        ),
        (
            "get_open_periods",
            &["P_LEDGER_ID", "P_APPLICATION", "X_PERIODS"],
        ),
    ];
    for (method, params) in calls {
        let decl = format!("PROCEDURE {method}(");
        let at = spec
            .find(&decl)
            .unwrap_or_else(|| panic!("{method} not declared"));
        let annotation_start = spec[..at].rfind("/*#").expect("annotation");
        let annotation = &spec[annotation_start..at];
        assert!(
            annotation.contains("@rep:scope public"),
            "{method}: not public"
        );
        assert!(
            annotation.contains("@rep:displayname"),
            "{method}: no display name"
        );
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
}
