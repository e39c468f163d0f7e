//! EBS client tests: behaviour of session / transport against small axum stubs, and the
//! GL / AR / AP flows end to end against the in-process EBS simulator.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::any;
use ml_connector::ebs::{
    AuthMode, Contexts, Credentials, EbsClient, EbsConfig, EbsError, RetryPolicy,
};
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
    cfg.retry = RetryPolicy {
        attempts: 4,
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
