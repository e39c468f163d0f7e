//! EBS simulator over real HTTP with a small raw client (no production client code).

use ml_connector::sim::ebs::{EbsSimConfig, RunningEbsSim, Scheduler, Seed, spawn};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;

struct Api {
    base: String,
    http: reqwest::Client,
    cookie: Option<String>,
    basic: Option<(String, String)>,
}

impl Api {
    fn new(sim: &RunningEbsSim) -> Api {
        Api {
            base: sim.base_url(),
            http: reqwest::Client::new(),
            cookie: None,
            basic: None,
        }
    }

    async fn login(sim: &RunningEbsSim, user: &str, pw: &str) -> Api {
        let mut a = Api::new(sim);
        let r = a
            .http
            .get(format!("{}/webservices/rest/login", a.base))
            .basic_auth(user, Some(pw))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
        let body: Value = r.json().await.unwrap();
        let d = &body["response"]["data"];
        assert_eq!(d["accessTokenName"], "JSESSIONID");
        assert!(cookie.starts_with(&format!(
            "JSESSIONID={}",
            d["accessToken"].as_str().unwrap()
        )));
        assert_eq!(d["ebsVersion"], "12.2.10");
        a.cookie = Some(format!("JSESSIONID={}", d["accessToken"].as_str().unwrap()));
        a
    }

    fn req(&self, m: reqwest::Method, url: String) -> reqwest::RequestBuilder {
        let mut b = self.http.request(m, url);
        if let Some(c) = &self.cookie {
            b = b.header("Cookie", c);
        }
        if let Some((u, p)) = &self.basic {
            b = b.basic_auth(u, Some(p));
        }
        b
    }

    async fn post(&self, path: &str, header: Value, params: Value) -> (StatusCode, Value) {
        let method = path
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap()
            .to_uppercase();
        let body =
            json!({ format!("{method}_Input"): {"RESTHeader": header, "InputParameters": params} });
        self.post_raw(path, body.to_string()).await
    }

    async fn post_raw(&self, path: &str, body: String) -> (StatusCode, Value) {
        Self::send(
            self.rest(reqwest::Method::POST, path)
                .header("Content-Type", "application/json")
                .body(body),
        )
        .await
    }

    async fn get(&self, path_and_query: &str) -> (StatusCode, Value) {
        Self::send(self.rest(reqwest::Method::GET, path_and_query)).await
    }

    async fn delete(&self, path_and_query: &str) -> (StatusCode, Value) {
        Self::send(self.rest(reqwest::Method::DELETE, path_and_query)).await
    }

    fn rest(&self, m: reqwest::Method, path_and_query: &str) -> reqwest::RequestBuilder {
        self.req(
            m,
            format!("{}/webservices/rest/{path_and_query}", self.base),
        )
    }

    /// Status plus JSON body (Null when the body is not JSON).
    async fn send(b: reqwest::RequestBuilder) -> (StatusCode, Value) {
        let r = b.send().await.unwrap();
        let st = r.status();
        (st, r.json().await.unwrap_or(Value::Null))
    }

    async fn sim(&self, path: &str, body: Value) -> Value {
        let r = self
            .http
            .post(format!("{}/_sim/{path}", self.base))
            .json(&body)
            .send()
            .await
            .unwrap();
        r.json().await.unwrap()
    }

    async fn sim_get(&self, path: &str) -> Value {
        self.http
            .get(format!("{}/_sim/{path}", self.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

const GL_Q: &str = "ctx_responsibility=GENERAL_LEDGER_SUPER_USER&ctx_respapplication=SQLGL&ctx_securitygroup=STANDARD&ctx_nlslanguage=AMERICAN";

fn ar_q(org: i64) -> String {
    format!(
        "ctx_responsibility=RECEIVABLES_MANAGER&ctx_respapplication=AR&ctx_securitygroup=STANDARD&ctx_nlslanguage=AMERICAN&ctx_orgid={org}"
    )
}

fn ap_q(org: i64) -> String {
    format!(
        "ctx_responsibility=PAYABLES_MANAGER&ctx_respapplication=SQLAP&ctx_securitygroup=STANDARD&ctx_nlslanguage=AMERICAN&ctx_orgid={org}"
    )
}

fn gl_hdr() -> Value {
    json!({"@xmlns": "http://xmlns.oracle.com/apps/fnd/rest/header",
        "Responsibility": "GENERAL_LEDGER_SUPER_USER", "RespApplication": "SQLGL",
        "SecurityGroup": "STANDARD", "NLSLanguage": "AMERICAN"})
}

fn ar_hdr(org: i64) -> Value {
    json!({"Responsibility": "RECEIVABLES_MANAGER", "RespApplication": "AR",
        "SecurityGroup": "STANDARD", "NLSLanguage": "AMERICAN", "Org_Id": org.to_string()})
}

fn ap_hdr(org: i64) -> Value {
    json!({"Responsibility": "PAYABLES_MANAGER", "RespApplication": "SQLAP",
        "SecurityGroup": "STANDARD", "NLSLanguage": "AMERICAN", "Org_Id": org.to_string()})
}

fn items(v: &Value, list: &str) -> Vec<Value> {
    v["OutputParameters"][list][format!("{list}_ITEM")]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// `v` with these fields set to strings (the usual way a case differs from a clean row).
fn with(mut v: Value, fields: &[(&str, &str)]) -> Value {
    for (k, val) in fields {
        v[*k] = json!(val);
    }
    v
}

fn fault_code(v: &Value) -> &str {
    v["ISGServiceFault"]["Code"].as_str().unwrap_or("")
}

fn request_id(v: &Value) -> String {
    v["OutputParameters"]["REQUEST_ID"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Posts an `xxmlc/{proc}/` call keyed by a request id; status is left to the caller's asserts on the body.
async fn by_request(api: &Api, header: Value, proc: &str, id: &str) -> Value {
    api.post(
        &format!("xxmlc/{proc}/"),
        header,
        json!({"P_REQUEST_ID": id}),
    )
    .await
    .1
}

/// Rows of an interface table matching `filter`, read under the context query `ctx`.
async fn ou_rows(api: &Api, alias: &str, table: &str, filter: &str, ctx: String) -> Vec<Value> {
    let query = if filter.is_empty() {
        ctx
    } else {
        format!("{filter}&{ctx}")
    };
    let (_, v) = api.get(&format!("{alias}/{table}/?{query}")).await;
    items(&v, &format!("{table}_REC"))
}

/// AutoInvoice interface rows of operating unit 204.
async fn ar_rows(api: &Api, table: &str, filter: &str) -> Vec<Value> {
    ou_rows(api, "autoinvoice", table, filter, ar_q(204)).await
}

/// Payables interface rows of operating unit 204.
async fn ap_rows(api: &Api, table: &str, filter: &str) -> Vec<Value> {
    ou_rows(api, "apinvoice", table, filter, ap_q(204)).await
}

async fn step_sim() -> RunningEbsSim {
    spawn(EbsSimConfig::step()).await.unwrap()
}

fn gl_line(group: i64, account: &str, dr: Option<&str>, cr: Option<&str>) -> Value {
    let s: Vec<&str> = account.split('-').collect();
    let mut v = json!({
        "STATUS": "NEW", "LEDGER_ID": "1", "ACCOUNTING_DATE": "2026-10-31",
        "CURRENCY_CODE": "USD", "DATE_CREATED": "2026-11-26", "CREATED_BY": "1318",
        "ACTUAL_FLAG": "A", "USER_JE_SOURCE_NAME": "Amazon",
        "USER_JE_CATEGORY_NAME": "Amazon Settlement", "GROUP_ID": group.to_string(),
        "SEGMENT1": s[0], "SEGMENT2": s[1], "SEGMENT3": s[2], "SEGMENT4": s[3], "SEGMENT5": s[4],
        "REFERENCE1": "AMZ 123", "REFERENCE4": "AMZ 123 OCT-26", "REFERENCE10": "Sales",
        "REFERENCE21": "123", "REFERENCE22": "OCT-26", "REFERENCE24": "1"
    });
    if let Some(d) = dr {
        v["ENTERED_DR"] = json!(d);
    }
    if let Some(c) = cr {
        v["ENTERED_CR"] = json!(c);
    }
    v
}

async fn handoff(api: &Api) -> (i64, i64) {
    handoff_ledger(api, Some("1")).await
}

async fn handoff_ledger(api: &Api, ledger: Option<&str>) -> (i64, i64) {
    let mut p = json!({"P_USER_JE_SOURCE_NAME": "Amazon"});
    if let Some(l) = ledger {
        p["P_LEDGER_ID"] = json!(l);
    }
    let (st, v) = api
        .post("xxmlc/populate_interface_control/", gl_hdr(), p)
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let o = &v["OutputParameters"];
    assert_eq!(o["X_RETURN_STATUS"], "S");
    (
        o["X_GROUP_ID"].as_str().unwrap().parse().unwrap(),
        o["X_INTERFACE_RUN_ID"].as_str().unwrap().parse().unwrap(),
    )
}

async fn stage_gl(api: &Api, rows: Vec<Value>) {
    let n = rows.len();
    let (st, v) = api
        .post(
            "gljournal/GL_INTERFACE/",
            gl_hdr(),
            json!({"GL_INTERFACE_REC": {"GL_INTERFACE_REC_ITEM": rows}}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["OutputParameters"]["X_ROW_COUNT"], n.to_string());
}

/// Stages one balanced pair: `amount` debited to `dr_account`, credited to `cr_account`.
async fn stage_pair(api: &Api, group: i64, dr_account: &str, cr_account: &str, amount: &str) {
    stage_gl(
        api,
        vec![
            gl_line(group, dr_account, Some(amount), None),
            gl_line(group, cr_account, None, Some(amount)),
        ],
    )
    .await;
}

async fn submit_gl(api: &Api, run_id: i64, suspense: &str) -> String {
    let (st, v) = api
        .post(
            "gljournal/SUBMIT_CP_GLLEZL/",
            gl_hdr(),
            json!({"ARGUMENT1": run_id.to_string(), "ARGUMENT2": "1000", "ARGUMENT3": suspense,
                   "ARGUMENT4": "", "ARGUMENT5": "", "ARGUMENT6": "N", "ARGUMENT7": "N", "ARGUMENT8": "Y"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    request_id(&v)
}

async fn status(api: &Api, id: &str) -> Value {
    let (st, v) = api
        .post(
            "xxmlc/get_request_status/",
            gl_hdr(),
            json!({"P_REQUEST_ID": id}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    v["OutputParameters"].clone()
}

async fn open_periods(api: &Api, ledger: &str) -> (StatusCode, Value) {
    api.post(
        "xxmlc/get_open_periods/",
        gl_hdr(),
        json!({"P_LEDGER_ID": ledger}),
    )
    .await
}

async fn gl_rows(api: &Api, group: i64) -> Vec<Value> {
    let (st, v) = api
        .get(&format!("gljournal/GL_INTERFACE/?GROUP_ID={group}&{GL_Q}"))
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    items(&v, "GL_INTERFACE_REC")
}

// ---------------------------------------------------------------- auth and context

#[tokio::test]
async fn login_cookie_basic_logout_and_wrong_credentials() {
    let sim = step_sim().await;
    let api = Api::login(&sim, "OPERATIONS", "welcome1").await;
    let (st, v) = open_periods(&api, "1").await;
    assert_eq!(st, StatusCode::OK);
    let periods = items(&v, "X_PERIODS");
    assert!(
        periods
            .iter()
            .any(|p| p["PERIOD_NAME"] == "OCT-26" && p["CLOSING_STATUS"] == "O")
    );
    assert!(!periods.iter().any(|p| p["PERIOD_NAME"] == "OCT-25"));

    // Basic on the call itself, no cookie.
    let mut basic = Api::new(&sim);
    basic.basic = Some(("OPERATIONS".into(), "welcome1".into()));
    let (st, _) = open_periods(&basic, "2").await;
    assert_eq!(st, StatusCode::OK);
    basic.basic = Some(("OPERATIONS".into(), "nope".into()));
    let (st, v) = open_periods(&basic, "2").await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    assert_eq!(fault_code(&v), "FND_SOA_AUTHENTICATION_FAILURE");

    // Wrong password at login.
    let r = reqwest::Client::new()
        .get(format!("{}/webservices/rest/login", sim.base_url()))
        .basic_auth("OPERATIONS", Some("wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let v: Value = r.json().await.unwrap();
    assert_eq!(fault_code(&v), "FND_SOA_AUTHENTICATION_FAILURE");
    assert_eq!(
        v["ISGServiceFault"]["Message"],
        "Invalid user name or password"
    );

    // No credentials at all.
    let (st, v) = Api::new(&sim)
        .get(&format!("gljournal/GL_INTERFACE/?GROUP_ID=1&{GL_Q}"))
        .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    assert_eq!(fault_code(&v), "FND_SOA_AUTHENTICATION_FAILURE");

    // Logout invalidates the token.
    let r = api
        .req(
            reqwest::Method::GET,
            format!("{}/webservices/rest/logout", sim.base_url()),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let (st, v) = open_periods(&api, "1").await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    assert_eq!(fault_code(&v), "FND_SOA_AUTHENTICATION_FAILURE");
}

#[tokio::test]
async fn sessions_expire_idle_and_absolute_on_the_simulated_clock() {
    let sim = spawn(EbsSimConfig {
        idle_timeout: Duration::from_secs(60),
        absolute_timeout: Duration::from_secs(7200),
        ..EbsSimConfig::step()
    })
    .await
    .unwrap();
    let call = |api: &Api| {
        let api_base = api.base.clone();
        let cookie = api.cookie.clone();
        async move {
            let r = reqwest::Client::new()
                .get(format!(
                    "{api_base}/webservices/rest/gljournal/GL_INTERFACE/?GROUP_ID=1&{GL_Q}"
                ))
                .header("Cookie", cookie.unwrap())
                .send()
                .await
                .unwrap();
            r.status()
        }
    };
    let api = Api::login(&sim, "GLUSER", "welcome1").await;
    assert_eq!(call(&api).await, StatusCode::OK);
    let ctl = Api::new(&sim);
    ctl.sim("clock/advance", json!({"seconds": 61})).await;
    assert_eq!(call(&api).await, StatusCode::UNAUTHORIZED);

    // Absolute: keep it busy every 50 s (idle never hit) until 2 h passed.
    let api = Api::login(&sim, "GLUSER", "welcome1").await;
    for _ in 0..143 {
        sim.advance_clock(Duration::from_secs(50));
        assert_eq!(call(&api).await, StatusCode::OK);
    }
    sim.advance_clock(Duration::from_secs(50));
    assert_eq!(call(&api).await, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn application_context_is_validated_like_isg() {
    let sim = step_sim().await;
    let gl = Api::login(&sim, "GLUSER", "welcome1").await;
    // Responsibility not assigned to GLUSER.
    let (st, v) = gl
        .get(&format!(
            "autoinvoice/RA_INTERFACE_LINES_ALL/?{}",
            ar_q(204)
        ))
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    assert_eq!(fault_code(&v), "ISG_SERVICE_AUTH_FAILURE");
    // Missing responsibility.
    let (st, v) = gl
        .post(
            "gljournal/GL_INTERFACE/",
            json!({"RespApplication": "SQLGL"}),
            json!({"GL_INTERFACE_REC": []}),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    assert_eq!(fault_code(&v), "ISG_SERVICE_AUTH_FAILURE");
    // Responsibility without a grant on the alias.
    let ops = Api::login(&sim, "OPERATIONS", "welcome1").await;
    let (st, v) = ops
        .get(&format!(
            "autoinvoice/RA_INTERFACE_LINES_ALL/?{GL_Q}&ctx_orgid=204"
        ))
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    assert_eq!(fault_code(&v), "ISG_SERVICE_AUTH_FAILURE");
    // Wrong application, security group, language.
    let mut h = gl_hdr();
    h["RespApplication"] = json!("AR");
    let (st, v) = gl
        .post("xxmlc/get_open_periods/", h, json!({"P_LEDGER_ID": "1"}))
        .await;
    assert_eq!(st, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(fault_code(&v), "ISG_INVALID_RESPAPPLICATION");
    let mut h = gl_hdr();
    h["SecurityGroup"] = json!("NOPE");
    let (_, v) = gl
        .post("xxmlc/get_open_periods/", h, json!({"P_LEDGER_ID": "1"}))
        .await;
    assert_eq!(fault_code(&v), "ISG_INVALID_SECURITYGROUP");
    let mut h = gl_hdr();
    h.as_object_mut().unwrap().remove("NLSLanguage");
    let (_, v) = gl
        .post("xxmlc/get_open_periods/", h, json!({"P_LEDGER_ID": "1"}))
        .await;
    assert_eq!(fault_code(&v), "ISG_INVALID_NLSLANGUAGE");
    // Duplicate RESTHeader element (raw JSON keeps both keys).
    let raw = r#"{"GET_OPEN_PERIODS_Input":{"RESTHeader":{"Responsibility":"GENERAL_LEDGER_SUPER_USER","Responsibility":"GENERAL_LEDGER_SUPER_USER","RespApplication":"SQLGL","SecurityGroup":"STANDARD","NLSLanguage":"AMERICAN"},"InputParameters":{"P_LEDGER_ID":"1"}}}"#;
    let (st, v) = gl.post_raw("xxmlc/get_open_periods/", raw.into()).await;
    assert_eq!(st, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(fault_code(&v), "ISG_DUPLICATE_RESPONSIBILITY");
    let (_, v) = gl
        .get(&format!(
            "gljournal/GL_INTERFACE/?GROUP_ID=1&{GL_Q}&ctx_nlslanguage=AMERICAN"
        ))
        .await;
    assert_eq!(fault_code(&v), "ISG_DUPLICATE_NLSLANGUAGE");
    // Org-striped service without Org_Id, and with an OU outside the responsibility.
    let mut h = ar_hdr(204);
    h.as_object_mut().unwrap().remove("Org_Id");
    let (st, v) = ops
        .post(
            "autoinvoice/RA_INTERFACE_LINES_ALL/",
            h,
            json!({"RA_INTERFACE_LINES_ALL_REC": []}),
        )
        .await;
    assert_eq!(st, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(fault_code(&v), "ISG_INVALID_ORG_ID");
    let (_, v) = ops
        .get(&format!(
            "autoinvoice/RA_INTERFACE_LINES_ALL/?{}",
            ar_q(999)
        ))
        .await;
    assert_eq!(fault_code(&v), "ISG_INVALID_ORG_ID");
    // Unknown alias / function / verb.
    let (st, v) = gl.get(&format!("nosuch/GL_INTERFACE/?{GL_Q}")).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert_eq!(fault_code(&v), "ISG_INVALID_ALIAS");
    let (st, v) = gl.get(&format!("gljournal/GL_NOPE/?{GL_Q}")).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert_eq!(fault_code(&v), "ISG_INVALID_FUNCTION");
    let (st, v) = gl.get(&format!("gljournal/SUBMIT_CP_GLLEZL/?{GL_Q}")).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert_eq!(fault_code(&v), "ISG_INVALID_FUNCTION");
    // Wrong root element.
    let (st, v) = gl
        .post_raw(
            "xxmlc/get_open_periods/",
            json!({"WRONG_Input": {}}).to_string(),
        )
        .await;
    assert_eq!(st, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(fault_code(&v), "ISG_SERVICE_EXECUTION_ERROR");
    // XML payloads: 415 until implemented.
    let r = reqwest::Client::new()
        .post(format!(
            "{}/webservices/rest/xxmlc/get_open_periods/",
            sim.base_url()
        ))
        .basic_auth("GLUSER", Some("welcome1"))
        .header("Content-Type", "application/xml")
        .body("<GET_OPEN_PERIODS_Input/>")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // Faults carry the full body.
    assert!(v["ISGServiceFault"]["Resolution"].is_string());
    assert_eq!(
        v["ISGServiceFault"]["ServiceDetails"]["ServiceName"],
        "xxmlc"
    );
    // WADL lists operations.
    let wadl = reqwest::get(format!(
        "{}/webservices/rest/gljournal/?WADL",
        sim.base_url()
    ))
    .await
    .unwrap()
    .text()
    .await
    .unwrap();
    assert!(wadl.contains("SUBMIT_CP_GLLEZL") && wadl.contains("application/json"));
}

// ---------------------------------------------------------------- GL

#[tokio::test]
async fn gl_interface_staging_read_back_paging_and_column_errors() {
    let sim = step_sim().await;
    let api = Api::login(&sim, "GLUSER", "welcome1").await;
    let rows: Vec<Value> = (0..5)
        .map(|i| {
            let mut r = gl_line(7001, "01-000-1190-0000-000", Some("1.00"), None);
            r["REFERENCE21"] = json!(format!("S{i}"));
            r
        })
        .collect();
    // Bare array form is accepted too.
    let (st, v) = api
        .post(
            "gljournal/GL_INTERFACE/",
            gl_hdr(),
            json!({"GL_INTERFACE_REC": rows}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["OutputParameters"]["X_ROW_COUNT"], "5");
    let (_, v) = api
        .get(&format!(
            "gljournal/GL_INTERFACE/?GROUP_ID=7001&offset=1&limit=2&{GL_Q}"
        ))
        .await;
    let o = &v["OutputParameters"];
    assert_eq!(o["X_TOTAL_COUNT"], "5");
    assert_eq!(o["X_HAS_MORE"], "Y");
    let page = items(&v, "GL_INTERFACE_REC");
    assert_eq!(page.len(), 2);
    assert_eq!(page[0]["REFERENCE21"], "S1");
    assert_eq!(page[0]["STATUS"], "NEW");
    let (_, v) = api
        .get(&format!(
            "gljournal/GL_INTERFACE/?REFERENCE21=S4&REFERENCE22=OCT-26&{GL_Q}"
        ))
        .await;
    assert_eq!(items(&v, "GL_INTERFACE_REC").len(), 1);

    // Column errors reject the whole POST.
    for (row, ora) in [
        (json!({"STATUS": "NEW"}), "ORA-01400"),
        (
            with(
                gl_line(7002, "01-000-1190-0000-000", Some("1e3"), None),
                &[("ENTERED_DR", "1000000000000000")],
            ),
            "ORA-01438",
        ),
        (
            with(
                gl_line(1, "01-000-1190-0000-000", Some("x1"), None),
                &[("GROUP_ID", "7002")],
            ),
            "ORA-01722",
        ),
        (
            with(
                gl_line(7002, "01-000-1190-0000-000", Some("1"), None),
                &[("ACCOUNTING_DATE", "31-OCT-26")],
            ),
            "ORA-01841",
        ),
        (
            with(
                gl_line(7002, "01-000-1190-0000-000", Some("1"), None),
                &[("NO_SUCH_COLUMN", "1")],
            ),
            "ORA-00904",
        ),
    ] {
        let (st, v) = api
            .post("gljournal/GL_INTERFACE/", gl_hdr(), json!({"GL_INTERFACE_REC": [gl_line(7002, "01-000-1190-0000-000", Some("1"), None), row]}))
            .await;
        assert_eq!(st, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(
            v["ISGServiceFault"]["Message"]
                .as_str()
                .unwrap()
                .contains(ora),
            "{v}"
        );
    }
    assert!(gl_rows(&api, 7002).await.is_empty());
}

#[tokio::test]
async fn gl_journal_import_happy_path_and_journals_contract() {
    let sim = step_sim().await;
    let api = Api::login(&sim, "OPERATIONS", "welcome1").await;
    let (group, run) = handoff(&api).await;
    let mut l3 = gl_line(group, "01-000-6110-0000-000", None, Some("12.34"));
    l3["REFERENCE10"] = json!("Fees");
    l3["REFERENCE23"] = json!("txn-9");
    stage_gl(
        &api,
        vec![
            gl_line(group, "01-000-1190-0000-000", Some("100.00"), None),
            gl_line(group, "01-000-4010-0000-000", None, Some("87.66")),
            l3,
        ],
    )
    .await;
    let id = submit_gl(&api, run, "N").await;
    let s = status(&api, &id).await;
    assert_eq!(
        (s["X_PHASE_CODE"].as_str(), s["X_STATUS_CODE"].as_str()),
        (Some("P"), Some("I"))
    );
    let t = api.sim("step", json!({})).await;
    assert_eq!(t["transitions"][0]["to"], "R/R");
    assert_eq!(status(&api, &id).await["X_DEV_PHASE"], "RUNNING");
    api.sim("step", json!({})).await;
    let s = status(&api, &id).await;
    assert_eq!(s["X_PHASE_CODE"], "C");
    assert_eq!(s["X_STATUS_CODE"], "C");
    assert_eq!(s["X_DEV_STATUS"], "NORMAL");
    assert!(
        s["X_MESSAGE"]
            .as_str()
            .unwrap()
            .contains("1 journal(s) created")
    );
    // Imported rows are gone from the interface.
    assert!(gl_rows(&api, group).await.is_empty());

    let (_, v) = api
        .post(
            "xxmlc/get_journals_by_group/",
            gl_hdr(),
            json!({"P_GROUP_ID": group.to_string()}),
        )
        .await;
    let js = items(&v, "X_JOURNALS");
    assert_eq!(js.len(), 1);
    assert_eq!(js[0]["STATUS"], "U");
    assert_eq!(js[0]["RUNNING_TOTAL_DR"], "100.00");
    assert_eq!(js[0]["RUNNING_TOTAL_CR"], "100.00");
    assert_eq!(
        js[0]["BATCH_NAME"],
        format!("AMZ 123 Amazon {id}: A {group}")
    );
    let lines = &js[0]["LINES"]["LINES_ITEM"];
    assert_eq!(lines.as_array().unwrap().len(), 3);
    assert_eq!(lines[2]["REFERENCE_3"], "txn-9");

    let contract = api.sim_get(&format!("gl/journals?group_id={group}")).await;
    let expected = json!([{
        "group_id": group.to_string(), "ledger_id": "1", "period_name": "OCT-26", "currency": "USD",
        "je_source": "Amazon", "je_category": "Amazon Settlement",
        "batch_name": format!("AMZ 123 Amazon {id}: A {group}"), "journal_name": "AMZ 123 OCT-26",
        "status": "U",
        "lines": [
            {"account": "01-000-1190-0000-000", "entered_dr": "100.00", "entered_cr": null,
             "accounted_dr": "100.00", "accounted_cr": null, "description": "Sales",
             "reference_1": "123", "reference_2": "OCT-26", "reference_3": null, "reference_4": "1", "reference_5": null},
            {"account": "01-000-4010-0000-000", "entered_dr": null, "entered_cr": "87.66",
             "accounted_dr": null, "accounted_cr": "87.66", "description": "Sales",
             "reference_1": "123", "reference_2": "OCT-26", "reference_3": null, "reference_4": "1", "reference_5": null},
            {"account": "01-000-6110-0000-000", "entered_dr": null, "entered_cr": "12.34",
             "accounted_dr": null, "accounted_cr": "12.34", "description": "Fees",
             "reference_1": "123", "reference_2": "OCT-26", "reference_3": "txn-9", "reference_4": "1", "reference_5": null}
        ]
    }]);
    assert_eq!(contract, expected);
    assert_eq!(sim.gl_journals(), expected);

    // By references (settlement id, period, revision).
    let (_, v) = api
        .post(
            "xxmlc/get_journals_by_reference/",
            gl_hdr(),
            json!({"P_USER_JE_SOURCE_NAME": "Amazon", "P_REFERENCE_1": "123", "P_REFERENCE_2": "OCT-26", "P_REFERENCE_4": "1"}),
        )
        .await;
    assert_eq!(items(&v, "X_JOURNALS").len(), 1);
    let (_, v) = api
        .post(
            "xxmlc/get_journals_by_reference/",
            gl_hdr(),
            json!({"P_REFERENCE_1": "999"}),
        )
        .await;
    assert!(items(&v, "X_JOURNALS").is_empty());

    // A GL user posts it; posted journals cannot be deleted.
    assert_eq!(
        api.sim("gl/post", json!({"group_id": group})).await["posted"],
        1
    );
    assert_eq!(api.sim_get("gl/journals").await[0]["status"], "P");
    let r = reqwest::Client::new()
        .post(format!("{}/_sim/gl/delete", sim.base_url()))
        .json(&json!({"group_id": group}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
}

#[tokio::test]
async fn gl_submit_without_handoff_creates_control_row_and_delete_unposted_journal() {
    let sim = step_sim().await;
    let api = Api::login(&sim, "GLUSER", "welcome1").await;
    stage_pair(
        &api,
        8100,
        "01-000-1190-0000-000",
        "01-000-2190-0000-000",
        "5",
    )
    .await;
    let (st, v) = api
        .post(
            "gljournal/SUBMIT_CP_GLLEZL/",
            gl_hdr(),
            json!({"ARGUMENT2": "1000", "ARGUMENT3": "N", "GROUP_ID": "8100", "USER_JE_SOURCE_NAME": "Amazon", "LEDGER_ID": "1"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    sim.run_until_idle();
    let js = sim.gl_journals();
    assert_eq!(js.as_array().unwrap().len(), 1);
    assert_eq!(
        api.sim("gl/delete", json!({"group_id": 8100})).await["deleted"],
        1
    );
    assert_eq!(sim.gl_journals(), json!([]));
}

#[tokio::test]
async fn gl_validation_failures_carry_real_codes_and_reject_the_group() {
    let sim = step_sim().await;
    let api = Api::login(&sim, "GLUSER", "welcome1").await;
    let good = |g| gl_line(g, "01-000-1190-0000-000", Some("10.00"), None);
    let bad = |g, acct: &str| gl_line(g, acct, None, Some("10.00"));
    let mut cases: Vec<(&str, Value, Value)> = Vec::new();
    cases.push((
        "EP01",
        good(0),
        with(
            bad(0, "01-000-4010-0000-000"),
            &[("ACCOUNTING_DATE", "2025-10-15")],
        ),
    ));
    cases.push(("EF04", good(0), bad(0, "01-000-5555-0000-000")));
    cases.push(("EF03", good(0), bad(0, "01-000-6199-0000-000")));
    cases.push(("EF01", good(0), bad(0, "01-000-6198-0000-000")));
    cases.push(("EF02", good(0), bad(0, "01-000-4000-0000-000")));
    cases.push(("EF05", good(0), {
        let mut r = bad(0, "01-000-4010-0000-000");
        for i in 1..=5 {
            r.as_object_mut().unwrap().remove(&format!("SEGMENT{i}"));
        }
        r["CODE_COMBINATION_ID"] = json!("999999");
        r
    }));
    cases.push((
        "EC08",
        good(0),
        with(bad(0, "01-000-4010-0000-000"), &[("CURRENCY_CODE", "XXX")]),
    ));
    cases.push((
        "EU02",
        good(0),
        gl_line(0, "01-000-4010-0000-000", None, Some("9.99")),
    ));
    cases.push((
        "EM01",
        good(0),
        with(
            bad(0, "01-000-4010-0000-000"),
            &[("USER_JE_CATEGORY_NAME", "Nope")],
        ),
    ));
    cases.push((
        "EM04",
        good(0),
        with(bad(0, "01-000-4010-0000-000"), &[("ACTUAL_FLAG", "X")]),
    ));
    cases.push((
        "EM03",
        good(0),
        with(bad(0, "01-000-4010-0000-000"), &[("LEDGER_ID", "2")]),
    ));
    cases.push((
        "EC03",
        good(0),
        with(bad(0, "01-000-4010-0000-000"), &[("CURRENCY_CODE", "EUR")]),
    ));
    cases.push((
        "EC11",
        good(0),
        with(
            bad(0, "01-000-4010-0000-000"),
            &[
                ("CURRENCY_CODE", "EUR"),
                ("USER_CURRENCY_CONVERSION_TYPE", "Bogus"),
            ],
        ),
    ));
    cases.push((
        "EC01",
        good(0),
        with(
            bad(0, "01-000-4010-0000-000"),
            &[
                ("CURRENCY_CODE", "EUR"),
                ("USER_CURRENCY_CONVERSION_TYPE", "User"),
            ],
        ),
    ));
    cases.push((
        "EC02",
        good(0),
        with(
            bad(0, "01-000-4010-0000-000"),
            &[
                ("CURRENCY_CODE", "EUR"),
                ("USER_CURRENCY_CONVERSION_TYPE", "Corporate"),
            ],
        ),
    ));
    cases.push((
        "EC06",
        good(0),
        with(
            bad(0, "01-000-4010-0000-000"),
            &[
                ("CURRENCY_CODE", "EUR"),
                ("USER_CURRENCY_CONVERSION_TYPE", "Corporate"),
                ("CURRENCY_CONVERSION_DATE", "2024-01-01"),
            ],
        ),
    ));
    cases.push((
        "EC13",
        good(0),
        with(
            bad(0, "01-000-4010-0000-000"),
            &[
                ("CURRENCY_CODE", "EUR"),
                ("USER_CURRENCY_CONVERSION_TYPE", "User"),
                ("CURRENCY_CONVERSION_RATE", "999999999999"),
                ("ENTERED_CR", "999999999999"),
            ],
        ),
    ));
    cases.push((
        "EC12",
        good(0),
        with(bad(0, "01-000-4010-0000-000"), &[("ACCOUNTED_CR", "11.00")]),
    ));
    let mut groups = Vec::new();
    for (code, mut a, mut b) in cases {
        // EM03: a control row without ledger picks rows of any ledger; ledger 2 is outside
        // access set 1000.
        let (group, run) =
            handoff_ledger(&api, if code == "EM03" { None } else { Some("1") }).await;
        a["GROUP_ID"] = json!(group.to_string());
        b["GROUP_ID"] = json!(group.to_string());
        b["REFERENCE21"] = json!("BAD");
        stage_gl(&api, vec![a, b]).await;
        let id = submit_gl(&api, run, "N").await;
        groups.push((code, group, id));
    }
    sim.run_until_idle();
    for (code, group, id) in &groups {
        let s = status(&api, id).await;
        assert_eq!(
            s["X_STATUS_CODE"], "C",
            "{code}: import completes Normal even with rejects"
        );
        let rows = gl_rows(&api, *group).await;
        assert_eq!(rows.len(), 2, "{code}");
        let bad = rows.iter().find(|r| r["REFERENCE21"] == "BAD").unwrap();
        let good = rows.iter().find(|r| r["REFERENCE21"] != "BAD").unwrap();
        if *code == "EU02" {
            assert_eq!(bad["STATUS"], "EU02");
            assert_eq!(good["STATUS"], "EU02");
        } else {
            assert_eq!(bad["STATUS"], *code, "group {group}: {bad}");
            assert_eq!(good["STATUS"], "P", "{code}");
        }
        assert!(
            bad["STATUS_DESCRIPTION"]
                .as_str()
                .unwrap()
                .starts_with(code)
        );
        assert_eq!(bad["REQUEST_ID"], id.as_str());
    }
    assert_eq!(
        sim.gl_journals(),
        json!([]),
        "no journal from a rejected group"
    );

    // Delete the rejected rows of one group.
    let (_, g, _) = groups[0];
    let (st, v) = api
        .delete(&format!("gljournal/GL_INTERFACE/?GROUP_ID={g}&{GL_Q}"))
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v["OutputParameters"]["X_ROW_COUNT"], "2");
    assert!(gl_rows(&api, g).await.is_empty());
    // NEW rows are never deleted.
    stage_gl(&api, vec![good(9999)]).await;
    let (_, v) = api
        .delete(&format!("gljournal/GL_INTERFACE/?GROUP_ID=9999&{GL_Q}"))
        .await;
    assert_eq!(v["OutputParameters"]["X_ROW_COUNT"], "0");
}

#[tokio::test]
async fn gl_import_ends_in_error_for_unknown_run_id_or_access_set() {
    let sim = step_sim().await;
    let api = Api::login(&sim, "GLUSER", "welcome1").await;
    let id = submit_gl(&api, 123, "N").await;
    let (_, run) = handoff(&api).await;
    let (_, v) = api
        .post(
            "gljournal/SUBMIT_CP_GLLEZL/",
            gl_hdr(),
            json!({"ARGUMENT1": run.to_string(), "ARGUMENT2": "4242", "ARGUMENT3": "N"}),
        )
        .await;
    let id2 = request_id(&v);
    sim.run_until_idle();
    for (i, text) in [(id, "interface run id 123"), (id2, "data access set")] {
        let s = status(&api, &i).await;
        assert_eq!(
            (s["X_PHASE_CODE"].as_str(), s["X_STATUS_CODE"].as_str()),
            (Some("C"), Some("E"))
        );
        assert!(s["X_MESSAGE"].as_str().unwrap().contains(text), "{s}");
    }
    let (_, v) = api
        .post(
            "xxmlc/get_request_status/",
            gl_hdr(),
            json!({"P_REQUEST_ID": "1"}),
        )
        .await;
    assert_eq!(v["OutputParameters"]["X_RETURN_STATUS"], "E");
    let (_, v) = api
        .post(
            "xxmlc/populate_interface_control/",
            gl_hdr(),
            json!({"P_USER_JE_SOURCE_NAME": "Nope"}),
        )
        .await;
    assert_eq!(v["OutputParameters"]["X_RETURN_STATUS"], "E");
}

#[tokio::test]
async fn gl_dynamic_insertion_off_and_cross_validation_reported_by_get_account() {
    let sim = step_sim().await;
    let api = Api::login(&sim, "GLUSER", "welcome1").await;
    let acct = |c: &str| {
        let api = &api;
        let c = c.to_string();
        async move {
            let (_, v) = api
                .post(
                    "xxmlc/get_account/",
                    gl_hdr(),
                    json!({"P_LEDGER_ID": "1", "P_CONCATENATED_SEGMENTS": c}),
                )
                .await;
            v["OutputParameters"].clone()
        }
    };
    let a = acct("01-000-1190-0000-000").await;
    assert_eq!(
        (
            a["X_EXISTS"].as_str(),
            a["X_VALID"].as_str(),
            a["X_ENABLED_FLAG"].as_str()
        ),
        (Some("Y"), Some("Y"), Some("Y"))
    );
    let a = acct("01-000-6198-0000-000").await;
    assert_eq!(a["X_END_DATE_ACTIVE"], "2025-06-30T00:00:00");
    assert_eq!(a["X_VALID"], "N");
    let a = acct("01-000-4000-0000-000").await;
    assert_eq!(a["X_DETAIL_POSTING_ALLOWED_FLAG"], "N");
    let a = acct("01-000-6199-0000-000").await;
    assert_eq!(a["X_ENABLED_FLAG"], "N");
    let a = acct("02-000-1190-0000-000").await;
    assert_eq!(a["X_EXISTS"], "N");
    assert!(
        a["X_VALIDATION_MESSAGE"]
            .as_str()
            .unwrap()
            .contains("cross-validation")
    );
    // Journal Import with a company-02 line: EF04.
    let (group, run) = handoff(&api).await;
    stage_pair(
        &api,
        group,
        "01-000-1190-0000-000",
        "02-000-1190-0000-000",
        "1",
    )
    .await;
    submit_gl(&api, run, "N").await;
    sim.run_until_idle();
    let rows = gl_rows(&api, group).await;
    assert!(rows.iter().any(|r| r["STATUS"] == "EF04"));
}

#[tokio::test]
async fn gl_suspense_only_when_asked_and_foreign_currency_conversion() {
    let sim = step_sim().await;
    let api = Api::login(&sim, "GLUSER", "welcome1").await;
    let (group, run) = handoff(&api).await;
    let mut eur1 = gl_line(group, "01-000-1190-0000-000", Some("100.00"), None);
    let mut eur2 = gl_line(group, "01-000-6199-0000-000", None, Some("100.00"));
    for r in [&mut eur1, &mut eur2] {
        r["CURRENCY_CODE"] = json!("EUR");
        r["USER_CURRENCY_CONVERSION_TYPE"] = json!("Corporate");
        r["CURRENCY_CONVERSION_DATE"] = json!("2026-10-31");
    }
    stage_gl(&api, vec![eur1, eur2]).await;
    submit_gl(&api, run, "Y").await;
    sim.run_until_idle();
    let js = sim.gl_journals();
    let lines = js[0]["lines"].as_array().unwrap();
    assert_eq!(js[0]["currency"], "EUR");
    assert_eq!(lines[0]["accounted_dr"], "108.00");
    assert_eq!(
        lines[1]["account"], "01-000-9990-0000-000",
        "disabled account went to suspense"
    );
}

// ---------------------------------------------------------------- AR

fn ar_line(order: &str, item: &str, kind: &str, amount: &str, ttype: &str) -> Value {
    let mut v = json!({
        "INTERFACE_LINE_CONTEXT": "AMAZON", "INTERFACE_LINE_ATTRIBUTE1": order,
        "INTERFACE_LINE_ATTRIBUTE2": item, "INTERFACE_LINE_ATTRIBUTE3": kind,
        "INTERFACE_LINE_ATTRIBUTE4": "S-1", "BATCH_SOURCE_NAME": "AMAZON", "SET_OF_BOOKS_ID": "1",
        "LINE_TYPE": "LINE", "DESCRIPTION": format!("{kind} {order}"), "CURRENCY_CODE": "USD",
        "AMOUNT": amount, "QUANTITY": if amount.starts_with('-') { "-1" } else { "1" },
        "UNIT_SELLING_PRICE": amount.trim_start_matches('-'),
        "CUST_TRX_TYPE_NAME": ttype, "ORIG_SYSTEM_BILL_CUSTOMER_REF": "AMAZON-US",
        "ORIG_SYSTEM_BILL_ADDRESS_REF": "AMAZON-US-BILL", "CONVERSION_TYPE": "User",
        "CONVERSION_RATE": "1", "TRX_DATE": "2026-10-20", "GL_DATE": "2026-10-20",
        "TRX_NUMBER": order, "ORG_ID": "204"
    });
    if ttype == "Amazon Invoice" {
        v["TERM_NAME"] = json!("IMMEDIATE");
    }
    v
}

async fn stage_ar(api: &Api, rows: Vec<Value>) {
    let (st, v) = api
        .post(
            "autoinvoice/RA_INTERFACE_LINES_ALL/",
            ar_hdr(204),
            json!({"RA_INTERFACE_LINES_ALL_REC": {"RA_INTERFACE_LINES_ALL_REC_ITEM": rows}}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
}

async fn submit_ar(api: &Api) -> String {
    submit_ar_source(api, "1001", "AMAZON").await
}

async fn submit_ar_source(api: &Api, id: &str, name: &str) -> String {
    let mut p = serde_json::Map::new();
    let args = ["1", "204", id, name, "2026/10/20 00:00:00"];
    for i in 1..=27 {
        p.insert(
            format!("ARGUMENT{i}"),
            json!(args.get(i - 1).copied().unwrap_or("")),
        );
    }
    p.insert("ARGUMENT26".into(), json!("N"));
    p.insert("ARGUMENT27".into(), json!("0"));
    let (st, v) = api
        .post(
            "autoinvoice/SUBMIT_CP_RAXMTR/",
            ar_hdr(204),
            Value::Object(p),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    request_id(&v)
}

#[tokio::test]
async fn autoinvoice_happy_path_with_raxtrx_child() {
    let sim = step_sim().await;
    let api = Api::login(&sim, "ARUSER", "welcome1").await;
    stage_ar(
        &api,
        vec![
            ar_line("111-1", "A", "PRINCIPAL", "20.00", "Amazon Invoice"),
            ar_line("111-1", "A", "SHIPPING", "5.00", "Amazon Invoice"),
            ar_line("222-2", "B", "REFUND", "-7.50", "Amazon Credit Memo"),
        ],
    )
    .await;
    let rows = ar_rows(
        &api,
        "RA_INTERFACE_LINES_ALL",
        "INTERFACE_LINE_ATTRIBUTE1=111-1",
    )
    .await;
    assert_eq!(rows.len(), 2);
    // Other OUs do not see OU 204 rows.
    let rows = ou_rows(
        &api,
        "autoinvoice",
        "RA_INTERFACE_LINES_ALL",
        "INTERFACE_LINE_ATTRIBUTE1=111-1",
        ar_q(458),
    )
    .await;
    assert!(rows.is_empty());

    let master = submit_ar(&api).await;
    let t = sim.step();
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].to, "R/R");
    let s = status(
        &Api {
            basic: Some(("OPERATIONS".into(), "welcome1".into())),
            cookie: None,
            ..Api::new(&sim)
        },
        &master,
    )
    .await;
    let children = s["X_CHILDREN"]["X_CHILDREN_ITEM"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(children.len(), 1);
    assert_eq!(children[0]["PROGRAM"], "RAXTRX");
    assert_eq!(children[0]["PHASE_CODE"], "P");
    let child = children[0]["REQUEST_ID"].as_str().unwrap().to_string();
    let v = by_request(&api, ar_hdr(204), "get_child_requests", &master).await;
    assert_eq!(
        items(&v, "X_REQUESTS")[0]["PARENT_REQUEST_ID"],
        master.as_str()
    );
    sim.step(); // child R
    sim.step(); // child C
    let v = by_request(&api, ar_hdr(204), "get_request_status", &master).await;
    assert_eq!(
        v["OutputParameters"]["X_PHASE_CODE"], "R",
        "master waits for its child"
    );
    sim.step(); // master C
    let v = by_request(&api, ar_hdr(204), "get_request_status", &master).await;
    assert_eq!(v["OutputParameters"]["X_STATUS_CODE"], "C");
    let v = by_request(&api, ar_hdr(204), "get_transactions_by_request", &master).await;
    let trx = items(&v, "X_TRANSACTIONS");
    assert_eq!(trx.len(), 2);
    let inv = trx.iter().find(|t| t["TRX_NUMBER"] == "111-1").unwrap();
    assert_eq!(inv["TRX_CLASS"], "INV");
    assert_eq!(inv["AMOUNT"], "25.00");
    assert_eq!(inv["REQUEST_ID"], child.as_str());
    assert_eq!(
        inv["LINES"]["LINES_ITEM"][0]["INTERFACE_LINE_ATTRIBUTE1"],
        "111-1"
    );
    let cm = trx.iter().find(|t| t["TRX_NUMBER"] == "222-2").unwrap();
    assert_eq!(cm["TRX_CLASS"], "CM");
    assert!(cm["TERM_NAME"].is_null());
    // Interface purged; no errors.
    let rows = ar_rows(&api, "RA_INTERFACE_LINES_ALL", "BATCH_SOURCE_NAME=AMAZON").await;
    assert!(rows.is_empty());
    assert!(
        ar_rows(&api, "RA_INTERFACE_ERRORS_ALL", "")
            .await
            .is_empty()
    );

    // Same flexfield again: duplicate.
    stage_ar(
        &api,
        vec![ar_line(
            "111-1",
            "A",
            "PRINCIPAL",
            "20.00",
            "Amazon Invoice",
        )],
    )
    .await;
    submit_ar(&api).await;
    sim.run_until_idle();
    let errs = ar_rows(&api, "RA_INTERFACE_ERRORS_ALL", "").await;
    assert_eq!(errs.len(), 1);
    assert_eq!(
        errs[0]["MESSAGE_TEXT"],
        "Duplicate transaction flexfield: the transaction flexfield already exists"
    );
}

#[tokio::test]
async fn autoinvoice_batch_source_must_be_imported_and_known() {
    let sim = step_sim().await;
    let api = Api::login(&sim, "ARUSER", "welcome1").await;
    let mut r = ar_line("m-1", "A", "PRINCIPAL", "1.00", "Amazon Invoice");
    r["BATCH_SOURCE_NAME"] = json!("MANUAL-OTHER");
    stage_ar(&api, vec![r]).await;
    let master = submit_ar_source(&api, "1010", "MANUAL-OTHER").await;
    let unknown = submit_ar_source(&api, "7777", "NOPE").await;
    sim.run_until_idle();
    let rows = ar_rows(
        &api,
        "RA_INTERFACE_ERRORS_ALL",
        "INTERFACE_LINE_ATTRIBUTE1=m-1",
    )
    .await;
    assert_eq!(rows[0]["MESSAGE_TEXT"], "Invalid batch source name");
    let v = by_request(&api, ar_hdr(204), "get_request_status", &master).await;
    assert_eq!(v["OutputParameters"]["X_STATUS_CODE"], "C");
    let v = by_request(&api, ar_hdr(204), "get_request_status", &unknown).await;
    assert_eq!(v["OutputParameters"]["X_STATUS_CODE"], "E");
    assert!(items(&v, "X_CHILDREN").is_empty());
}

#[tokio::test]
async fn autoinvoice_validation_failures_and_delete_of_rejected_lines() {
    let sim = step_sim().await;
    let api = Api::login(&sim, "OPERATIONS", "welcome1").await;
    let mut cases: Vec<(&str, Value)> = Vec::new();
    let base = |o: &str| ar_line(o, "X", "PRINCIPAL", "10.00", "Amazon Invoice");
    cases.push(("Transaction flexfield context is mandatory", {
        let mut r = base("c1");
        r.as_object_mut().unwrap().remove("INTERFACE_LINE_CONTEXT");
        r
    }));
    cases.push((
        "Invalid transaction type",
        with(base("c2"), &[("CUST_TRX_TYPE_NAME", "Nope")]),
    ));
    cases.push((
        "Invalid bill-to customer reference",
        with(
            base("c3"),
            &[("ORIG_SYSTEM_BILL_CUSTOMER_REF", "AMAZON-CA")],
        ),
    ));
    cases.push((
        "Invalid bill-to address reference",
        with(base("c4"), &[("ORIG_SYSTEM_BILL_ADDRESS_REF", "ELSEWHERE")]),
    ));
    cases.push(("You must supply payment terms for your transaction", {
        let mut r = base("c5");
        r.as_object_mut().unwrap().remove("TERM_NAME");
        r
    }));
    cases.push((
        "You must not supply payment terms for a credit memo",
        with(
            ar_line("c6", "X", "REFUND", "-1.00", "Amazon Credit Memo"),
            &[("TERM_NAME", "IMMEDIATE")],
        ),
    ));
    cases.push((
        "Invalid payment terms",
        with(base("c7"), &[("TERM_NAME", "NEVER")]),
    ));
    cases.push((
        "The GL date is not in an open or future-enterable period",
        with(base("c8"), &[("GL_DATE", "2025-10-01")]),
    ));
    cases.push((
        "Invalid currency code",
        with(base("c9"), &[("CURRENCY_CODE", "XXX")]),
    ));
    cases.push(("Conversion type is required", {
        let mut r = base("c10");
        r["CURRENCY_CODE"] = json!("EUR");
        r.as_object_mut().unwrap().remove("CONVERSION_TYPE");
        r
    }));
    cases.push(("Conversion rate is required for conversion type User", {
        let mut r = base("c11");
        r["CURRENCY_CODE"] = json!("EUR");
        r.as_object_mut().unwrap().remove("CONVERSION_RATE");
        r
    }));
    cases.push((
        "No conversion rate exists for this currency and date",
        with(
            base("c12"),
            &[
                ("CURRENCY_CODE", "EUR"),
                ("CONVERSION_TYPE", "Corporate"),
                ("CONVERSION_DATE", "2024-01-01"),
            ],
        ),
    ));
    cases.push(("Description is mandatory for LINE lines", {
        let mut r = base("c13");
        r.as_object_mut().unwrap().remove("DESCRIPTION");
        r
    }));
    cases.push((
        "Amount must equal quantity times unit selling price",
        with(base("c14"), &[("QUANTITY", "2")]),
    ));
    cases.push((
        "Credit memo amounts must be negative",
        ar_line("c15", "X", "REFUND", "1.00", "Amazon Credit Memo"),
    ));
    cases.push((
        "Invalid credit memo reference",
        with(
            ar_line("c16", "X", "REFUND", "-1.00", "Amazon Credit Memo"),
            &[
                ("REFERENCE_LINE_CONTEXT", "AMAZON"),
                ("REFERENCE_LINE_ATTRIBUTE1", "never-invoiced"),
            ],
        ),
    ));
    cases.push((
        "Duplicate transaction flexfield: the transaction flexfield already exists",
        base("c17"),
    ));
    cases.push((
        "Duplicate transaction flexfield: the transaction flexfield already exists",
        base("c17"),
    ));
    let mut rows: Vec<Value> = cases.iter().map(|(_, r)| r.clone()).collect();
    // A clean line of a failing transaction is held back without an error of its own.
    rows.push(with(
        ar_line("c14", "Y", "SHIPPING", "3.00", "Amazon Invoice"),
        &[("TRX_NUMBER", "c14")],
    ));
    // Invalid distributions.
    rows.push(ar_line("d1", "X", "PRINCIPAL", "10.00", "Amazon Invoice"));
    stage_ar(&api, rows).await;
    let (st, v) = api
        .post(
            "autoinvoice/RA_INTERFACE_DISTRIBUTIONS_ALL/",
            ar_hdr(204),
            json!({"RA_INTERFACE_DISTRIBUTIONS_ALL_REC": [
                {"INTERFACE_LINE_CONTEXT": "AMAZON", "INTERFACE_LINE_ATTRIBUTE1": "d1", "INTERFACE_LINE_ATTRIBUTE2": "X",
                 "INTERFACE_LINE_ATTRIBUTE3": "PRINCIPAL", "INTERFACE_LINE_ATTRIBUTE4": "S-1", "ACCOUNT_CLASS": "REV",
                 "PERCENT": "60", "SEGMENT1": "01", "SEGMENT2": "000", "SEGMENT3": "6199", "SEGMENT4": "0000", "SEGMENT5": "000"}
            ]}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let master = submit_ar(&api).await;
    sim.run_until_idle();
    let v = by_request(&api, ar_hdr(204), "get_request_status", &master).await;
    assert_eq!(
        v["OutputParameters"]["X_STATUS_CODE"], "C",
        "master Normal even with rejected lines"
    );
    let errs = ar_rows(&api, "RA_INTERFACE_ERRORS_ALL", "limit=1000").await;
    for (msg, row) in &cases {
        let order = row["INTERFACE_LINE_ATTRIBUTE1"].as_str().unwrap();
        assert!(
            errs.iter().any(|e| e["MESSAGE_TEXT"] == *msg
                && (e["INTERFACE_LINE_ATTRIBUTE1"] == order || order == "c1")),
            "missing {msg:?} for {order}: {errs:#?}"
        );
    }
    assert!(
        errs.iter()
            .any(|e| e["MESSAGE_TEXT"] == "Invalid distribution account"
                && e["INTERFACE_DISTRIBUTION_ID"].is_string())
    );
    assert!(errs.iter().any(
        |e| e["MESSAGE_TEXT"] == "Distribution percents must total 100 for each account class"
    ));
    assert!(
        !errs
            .iter()
            .any(|e| e["INTERFACE_LINE_ATTRIBUTE1"] == "c14"
                && e["INTERFACE_LINE_ATTRIBUTE2"] == "Y")
    );
    let v = by_request(&api, ar_hdr(204), "get_transactions_by_request", &master).await;
    assert!(
        items(&v, "X_TRANSACTIONS").is_empty(),
        "every transaction had a failing line"
    );
    // Held-back sibling is still in the interface.
    let rows = ar_rows(
        &api,
        "RA_INTERFACE_LINES_ALL",
        "INTERFACE_LINE_ATTRIBUTE1=c14",
    )
    .await;
    assert_eq!(rows.len(), 2);
    // Delete the rejected lines of one order: lines and their errors go.
    let (st, v) = api
        .delete(&format!(
            "autoinvoice/RA_INTERFACE_LINES_ALL/?INTERFACE_LINE_ATTRIBUTE1=c14&{}",
            ar_q(204)
        ))
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v["OutputParameters"]["X_ROW_COUNT"], "2");
    let rows = ar_rows(
        &api,
        "RA_INTERFACE_ERRORS_ALL",
        "INTERFACE_LINE_ATTRIBUTE1=c14",
    )
    .await;
    assert!(rows.is_empty());
}

// ---------------------------------------------------------------- AP

fn ap_header(num: &str, amount: &str) -> Value {
    json!({"INVOICE_NUM": num, "INVOICE_TYPE_LOOKUP_CODE": "STANDARD", "INVOICE_DATE": "2026-10-31",
           "VENDOR_NUM": "AMZ001", "VENDOR_SITE_CODE": "US", "INVOICE_AMOUNT": amount,
           "INVOICE_CURRENCY_CODE": "USD", "SOURCE": "AMAZON FEES", "GROUP_ID": "G1",
           "GL_DATE": "2026-10-31", "ORG_ID": "204"})
}

async fn stage_ap(api: &Api, header: Value, lines: Vec<(&str, &str)>) -> String {
    let (st, v) = api
        .post(
            "apinvoice/AP_INVOICES_INTERFACE/",
            ap_hdr(204),
            json!({"AP_INVOICES_INTERFACE_REC": [header]}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let id = items(&v, "X_IDS")[0].as_str().unwrap().to_string();
    let rows: Vec<Value> = lines
        .iter()
        .enumerate()
        .map(|(i, (amt, acct))| {
            json!({"INVOICE_ID": id, "LINE_NUMBER": (i + 1).to_string(), "LINE_TYPE_LOOKUP_CODE": "ITEM",
                   "AMOUNT": amt, "DIST_CODE_CONCATENATED": acct, "ORG_ID": "204"})
        })
        .collect();
    let (st, v) = api
        .post(
            "apinvoice/AP_INVOICE_LINES_INTERFACE/",
            ap_hdr(204),
            json!({"AP_INVOICE_LINES_INTERFACE_REC": rows}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    id
}

/// Stages `header` with the one 5.00 fee line most AP cases need.
async fn stage_ap_fee(api: &Api, header: Value) -> String {
    stage_ap(api, header, vec![("5.00", "01-000-6110-0000-000")]).await
}

async fn submit_ap(api: &Api) -> String {
    let (st, v) = api
        .post(
            "apinvoice/SUBMIT_CP_APXIIMPT/",
            ap_hdr(204),
            json!({"ARGUMENT1": "204", "ARGUMENT2": "AMAZON FEES", "ARGUMENT3": "G1", "ARGUMENT4": "AMZ-FEES",
                   "ARGUMENT8": "N", "ARGUMENT12": "1000"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    request_id(&v)
}

#[tokio::test]
async fn payables_import_processes_and_rejects_with_real_codes() {
    let sim = step_sim().await;
    let api = Api::login(&sim, "OPERATIONS", "welcome1").await;
    let ok = stage_ap(
        &api,
        ap_header("F-1", "30.00"),
        vec![
            ("10.00", "01-000-6110-0000-000"),
            ("20.00", "01-000-6120-0000-000"),
        ],
    )
    .await;
    let dup_a = stage_ap_fee(&api, ap_header("F-2", "5.00")).await;
    let dup_b = stage_ap_fee(&api, ap_header("F-2", "5.00")).await;
    let mismatch = stage_ap_fee(&api, ap_header("F-3", "9.00")).await;
    let bad_acct = stage_ap(
        &api,
        ap_header("F-4", "5.00"),
        vec![("5.00", "01-000-6199-0000-000")],
    )
    .await;
    let no_acct = stage_ap(&api, ap_header("F-5", "5.00"), vec![("5.00", "")]).await;
    let closed = stage_ap_fee(
        &api,
        with(ap_header("F-6", "5.00"), &[("GL_DATE", "2025-10-31")]),
    )
    .await;
    let bad_site = stage_ap_fee(
        &api,
        with(ap_header("F-7", "5.00"), &[("VENDOR_SITE_CODE", "CA")]),
    )
    .await;
    let bad_supplier = stage_ap_fee(
        &api,
        with(ap_header("F-8", "5.00"), &[("VENDOR_NUM", "NOPE")]),
    )
    .await;
    let no_supplier = stage_ap_fee(&api, {
        let mut h = ap_header("F-9", "5.00");
        h.as_object_mut().unwrap().remove("VENDOR_NUM");
        h
    })
    .await;
    let bad_cur = stage_ap_fee(
        &api,
        with(
            ap_header("F-10", "5.00"),
            &[("INVOICE_CURRENCY_CODE", "XXX")],
        ),
    )
    .await;
    let precision = stage_ap(
        &api,
        ap_header("F-11", "5.001"),
        vec![("5.001", "01-000-6110-0000-000")],
    )
    .await;
    let no_lines = stage_ap(&api, ap_header("F-12", "5.00"), vec![]).await;
    let dup_line = {
        let (_, v) = api
            .post(
                "apinvoice/AP_INVOICES_INTERFACE/",
                ap_hdr(204),
                json!({"AP_INVOICES_INTERFACE_REC": [ap_header("F-13", "2.00")]}),
            )
            .await;
        let id = items(&v, "X_IDS")[0].as_str().unwrap().to_string();
        let line = json!({"INVOICE_ID": id, "LINE_NUMBER": "1", "LINE_TYPE_LOOKUP_CODE": "ITEM", "AMOUNT": "1.00", "DIST_CODE_CONCATENATED": "01-000-6110-0000-000"});
        let (st, _) = api
            .post(
                "apinvoice/AP_INVOICE_LINES_INTERFACE/",
                ap_hdr(204),
                json!({"AP_INVOICE_LINES_INTERFACE_REC": [line.clone(), line]}),
            )
            .await;
        assert_eq!(st, StatusCode::OK);
        id
    };
    let id = submit_ap(&api).await;
    sim.run_until_idle();
    let v = by_request(&api, ap_hdr(204), "get_request_status", &id).await;
    assert_eq!(v["OutputParameters"]["X_STATUS_CODE"], "C");
    let hs = ap_rows(&api, "AP_INVOICES_INTERFACE", "GROUP_ID=G1&limit=50").await;
    let st = |id: &str| hs.iter().find(|h| h["INVOICE_ID"] == id).unwrap()["STATUS"].clone();
    assert_eq!(st(&ok), "PROCESSED");
    assert_eq!(st(&dup_a), "PROCESSED");
    for r in [
        &dup_b,
        &mismatch,
        &bad_acct,
        &no_acct,
        &closed,
        &bad_site,
        &bad_supplier,
    ] {
        assert_eq!(st(r), "REJECTED");
    }
    let rj = ap_rows(&api, "AP_INTERFACE_REJECTIONS", "GROUP_ID=G1&limit=100").await;
    let has = |inv: &str, code: &str| {
        rj.iter()
            .any(|r| r["INVOICE_ID"] == inv && r["REJECT_LOOKUP_CODE"] == code)
    };
    assert!(has(&dup_b, "DUPLICATE INVOICE NUMBER"));
    assert!(has(&mismatch, "INVALID INVOICE AMOUNT"));
    assert!(has(&bad_acct, "INVALID DISTRIBUTION ACCT"));
    assert!(has(&no_acct, "ACCOUNT REQUIRED"));
    assert!(has(&closed, "ACCT DATE NOT IN OPEN PD"));
    assert!(has(&bad_site, "INVALID SUPPLIER SITE"));
    assert!(has(&bad_supplier, "INVALID SUPPLIER"));
    assert!(rj.iter().any(|r| r["INVOICE_ID"] == bad_acct.as_str()
        && r["PARENT_TABLE"] == "AP_INVOICE_LINES_INTERFACE"));
    assert!(has(&no_supplier, "NO SUPPLIER"));
    assert!(has(&bad_cur, "INVALID CURRENCY CODE"));
    assert!(has(&precision, "AMOUNT EXCEEDS PRECISION"));
    assert!(has(&precision, "LINE AMOUNT EXCEEDS PRECISION"));
    assert!(has(&no_lines, "NO INVOICE LINES"));
    assert!(has(&dup_line, "DUPLICATE LINE NUMBER"));
    let inv = api.sim_get("ap/invoices").await;
    assert_eq!(inv.as_array().unwrap().len(), 2);
    // Delete rejected headers with their lines and rejections.
    let (_, v) = api
        .delete(&format!(
            "apinvoice/AP_INVOICES_INTERFACE/?GROUP_ID=G1&{}",
            ap_q(204)
        ))
        .await;
    assert_eq!(v["OutputParameters"]["X_ROW_COUNT"], "12");
    let rows = ap_rows(&api, "AP_INTERFACE_REJECTIONS", "GROUP_ID=G1").await;
    assert!(rows.is_empty());
}

// ---------------------------------------------------------------- ceiling and faults

#[tokio::test]
async fn concurrency_ceiling_answers_503_beyond_the_limit() {
    let sim = spawn(EbsSimConfig {
        concurrency_limit: 4,
        ..EbsSimConfig::step()
    })
    .await
    .unwrap();
    let api = Api::new(&sim);
    api.sim("faults", json!({"hold_next": 4})).await;
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let base = sim.base_url();
        tasks.push(tokio::spawn(async move {
            reqwest::Client::new()
                .get(format!(
                    "{base}/webservices/rest/gljournal/GL_INTERFACE/?GROUP_ID=1&{GL_Q}"
                ))
                .basic_auth("GLUSER", Some("welcome1"))
                .send()
                .await
                .unwrap()
                .status()
        }));
    }
    assert_eq!(api.sim_get("held?at_least=4").await["held"], 4);
    let mut fifth = Api::new(&sim);
    fifth.basic = Some(("GLUSER".into(), "welcome1".into()));
    let (st, v) = fifth
        .get(&format!("gljournal/GL_INTERFACE/?GROUP_ID=1&{GL_Q}"))
        .await;
    assert_eq!(st, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(fault_code(&v), "ISG_SERVICE_UNAVAILABLE");
    assert_eq!(api.sim("release", json!({})).await["released"], 4);
    for t in tasks {
        assert_eq!(t.await.unwrap(), StatusCode::OK);
    }
    let (st, _) = fifth
        .get(&format!("gljournal/GL_INTERFACE/?GROUP_ID=1&{GL_Q}"))
        .await;
    assert_eq!(st, StatusCode::OK);
}

#[tokio::test]
async fn injected_faults_db_error_expiry_standby_import_error_and_rate() {
    let sim = step_sim().await;
    let api = Api::login(&sim, "GLUSER", "welcome1").await;
    let ctl = Api::new(&sim);
    let q = format!("gljournal/GL_INTERFACE/?GROUP_ID=1&{GL_Q}");
    ctl.sim("faults", json!({"db_error_next": 1})).await;
    let (st, v) = api.get(&q).await;
    assert_eq!(st, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(fault_code(&v), "ISG_DB_CONNECTION_ERROR");
    assert_eq!(api.get(&q).await.0, StatusCode::OK);

    ctl.sim("faults", json!({"expire_sessions": true})).await;
    let (st, v) = api.get(&q).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    assert_eq!(fault_code(&v), "FND_SOA_AUTHENTICATION_FAILURE");
    let api = Api::login(&sim, "GLUSER", "welcome1").await;

    // Standby: stays P/Q across steps until released.
    ctl.sim("faults", json!({"standby_next": 1})).await;
    let (_, run) = handoff(&api).await;
    let id = submit_gl(&api, run, "N").await;
    assert!(sim.run_until_idle().is_empty());
    let s = status(&api, &id).await;
    assert_eq!(
        (
            s["X_PHASE_CODE"].as_str(),
            s["X_STATUS_CODE"].as_str(),
            s["X_DEV_STATUS"].as_str()
        ),
        (Some("P"), Some("Q"), Some("STANDBY"))
    );
    let r = reqwest::Client::new()
        .post(format!("{}/_sim/requests/{id}/release", sim.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    sim.run_until_idle();
    assert_eq!(status(&api, &id).await["X_STATUS_CODE"], "C");

    // Import ending in Error, rows untouched.
    ctl.sim("faults", json!({"import_error_next": 1})).await;
    let (group, run) = handoff(&api).await;
    stage_pair(
        &api,
        group,
        "01-000-1190-0000-000",
        "01-000-4010-0000-000",
        "1",
    )
    .await;
    let id = submit_gl(&api, run, "N").await;
    sim.run_until_idle();
    let s = status(&api, &id).await;
    assert_eq!(
        (s["X_PHASE_CODE"].as_str(), s["X_STATUS_CODE"].as_str()),
        (Some("C"), Some("E"))
    );
    assert!(s["X_MESSAGE"].as_str().unwrap().starts_with("ORA-01653"));
    assert!(
        gl_rows(&api, group)
            .await
            .iter()
            .all(|r| r["STATUS"] == "NEW")
    );

    // Fault rate 1.0: every call fails; back to 0.
    ctl.sim("faults", json!({"fault_rate": 1.0})).await;
    assert_eq!(fault_code(&api.get(&q).await.1), "ISG_DB_CONNECTION_ERROR");
    ctl.sim("faults", json!({"fault_rate": 0.0})).await;
    assert_eq!(api.get(&q).await.0, StatusCode::OK);
}

#[tokio::test]
async fn autoinvoice_import_error_fault_fails_child_and_master() {
    let sim = step_sim().await;
    let api = Api::login(&sim, "ARUSER", "welcome1").await;
    stage_ar(
        &api,
        vec![ar_line("e-1", "A", "PRINCIPAL", "1.00", "Amazon Invoice")],
    )
    .await;
    sim.inject(&ml_connector::sim::ebs::Faults {
        import_error_next: 1,
        ..Default::default()
    });
    let master = submit_ar(&api).await;
    sim.run_until_idle();
    let v = by_request(&api, ar_hdr(204), "get_request_status", &master).await;
    let o = &v["OutputParameters"];
    assert_eq!(o["X_STATUS_CODE"], "E");
    assert_eq!(o["X_CHILDREN"]["X_CHILDREN_ITEM"][0]["STATUS_CODE"], "E");
}

// ---------------------------------------------------------------- world events, timed scheduler, items

#[tokio::test]
async fn world_events_end_date_on_import_start_and_close_period_at_time() {
    let mut seed = Seed::default_seed();
    let extra: Seed = Seed::parse(&format!(
        "{}\n{}",
        ml_connector::sim::ebs::seed::DEFAULT_SEED,
        r#"
[[world_events]]
on = "journal_import_start"
source = "Amazon"
action = "end_date_account"
account = "01-000-6150-0000-000"
end_date = "2026-09-30"

[[world_events]]
on = "time"
at = "2026-12-05T00:00:00Z"
action = "close_period"
ledger_id = 1
period = "NOV-26"
"#
    ))
    .unwrap();
    seed.world_events = extra.world_events;
    let start = chrono::DateTime::parse_from_rfc3339("2026-11-26T12:00:00Z")
        .unwrap()
        .to_utc();
    let sim = spawn(EbsSimConfig {
        seed,
        start_time: Some(start),
        ..EbsSimConfig::step()
    })
    .await
    .unwrap();
    let api = Api::login(&sim, "GLUSER", "welcome1").await;
    let (_, v) = api
        .post(
            "xxmlc/get_account/",
            gl_hdr(),
            json!({"P_CONCATENATED_SEGMENTS": "01-000-6150-0000-000"}),
        )
        .await;
    assert_eq!(
        v["OutputParameters"]["X_VALID"], "Y",
        "valid when the client checks"
    );
    let (group, run) = handoff(&api).await;
    stage_pair(
        &api,
        group,
        "01-000-1190-0000-000",
        "01-000-6150-0000-000",
        "3",
    )
    .await;
    submit_gl(&api, run, "N").await;
    sim.run_until_idle();
    let rows = gl_rows(&api, group).await;
    assert!(rows.iter().any(|r| r["STATUS"] == "EF01"), "{rows:#?}");

    // Period closes once the simulated clock passes the instant.
    assert!(nov_open(&api).await);
    let now = api
        .sim("clock/advance", json!({"seconds": 9 * 86400}))
        .await;
    assert!(now["now"].as_str().unwrap().starts_with("2026-12-05"));
    let api = Api::login(&sim, "GLUSER", "welcome1").await;
    assert!(!nov_open(&api).await);
    let (group, run) = handoff(&api).await;
    let mut a = gl_line(group, "01-000-1190-0000-000", Some("3"), None);
    let mut b = gl_line(group, "01-000-4010-0000-000", None, Some("3"));
    a["ACCOUNTING_DATE"] = json!("2026-11-15");
    b["ACCOUNTING_DATE"] = json!("2026-11-15");
    stage_gl(&api, vec![a, b]).await;
    submit_gl(&api, run, "N").await;
    sim.run_until_idle();
    assert!(
        gl_rows(&api, group)
            .await
            .iter()
            .all(|r| r["STATUS"] == "EP01")
    );
}

async fn nov_open(api: &Api) -> bool {
    let (_, v) = open_periods(api, "1").await;
    items(&v, "X_PERIODS")
        .iter()
        .any(|p| p["PERIOD_NAME"] == "NOV-26")
}

#[tokio::test]
async fn timed_scheduler_moves_on_the_simulated_clock() {
    let sim = spawn(EbsSimConfig {
        scheduler: Scheduler::Timed {
            t1: Duration::from_secs(60),
            t2: Duration::from_secs(180),
        },
        ..EbsSimConfig::default()
    })
    .await
    .unwrap();
    let api = Api::login(&sim, "OPERATIONS", "welcome1").await;
    stage_ar(
        &api,
        vec![ar_line("t-1", "A", "PRINCIPAL", "1.00", "Amazon Invoice")],
    )
    .await;
    let master = submit_ar(&api).await;
    let v = by_request(&api, ar_hdr(204), "get_request_status", &master).await;
    assert_eq!(v["OutputParameters"]["X_PHASE_CODE"], "P");
    // One big advance cascades master start, child run and master completion.
    sim.advance_clock(Duration::from_secs(600));
    let v = by_request(&api, ar_hdr(204), "get_request_status", &master).await;
    let o = &v["OutputParameters"];
    assert_eq!(o["X_PHASE_CODE"], "C");
    assert_eq!(o["X_STATUS_CODE"], "C");
    let v = by_request(&api, ar_hdr(204), "get_transactions_by_request", &master).await;
    assert_eq!(items(&v, "X_TRANSACTIONS").len(), 1);
}

#[tokio::test]
async fn items_with_price_and_quantity_paged_and_updated_since() {
    let sim = step_sim().await;
    let api = Api::login(&sim, "OPERATIONS", "welcome1").await;
    let (_, v) = api
        .post(
            "xxmlc/get_items/",
            gl_hdr(),
            json!({"P_ORGANIZATION_ID": "204", "P_OFFSET": "1", "P_LIMIT": "2"}),
        )
        .await;
    let o = &v["OutputParameters"];
    assert_eq!(o["X_TOTAL_COUNT"], "4");
    assert_eq!(o["X_HAS_MORE"], "Y");
    let it = items(&v, "X_ITEMS");
    assert_eq!(it.len(), 2);
    assert_eq!(it[0]["SEGMENT1"], "ML-1002");
    assert_eq!(it[0]["LIST_PRICE"], "9.99");
    assert_eq!(it[0]["AVAILABLE_QUANTITY"], "420");
    let (_, v) = api
        .post(
            "xxmlc/get_items/",
            gl_hdr(),
            json!({"P_ORGANIZATION_ID": "204", "P_UPDATED_SINCE": "2026-11-01T00:00:00"}),
        )
        .await;
    let it = items(&v, "X_ITEMS");
    assert_eq!(
        it.iter()
            .map(|i| i["SEGMENT1"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["ML-1003", "ML-1004"]
    );
}

#[tokio::test]
async fn warn_on_rejects_ends_gl_import_in_warning() {
    let sim = spawn(EbsSimConfig {
        warn_on_rejects: true,
        ..EbsSimConfig::step()
    })
    .await
    .unwrap();
    let api = Api::login(&sim, "GLUSER", "welcome1").await;
    let (group, run) = handoff(&api).await;
    stage_pair(
        &api,
        group,
        "01-000-1190-0000-000",
        "01-000-5555-0000-000",
        "1",
    )
    .await;
    let id = submit_gl(&api, run, "N").await;
    sim.run_until_idle();
    let s = status(&api, &id).await;
    assert_eq!(
        (s["X_STATUS_CODE"].as_str(), s["X_DEV_STATUS"].as_str()),
        (Some("G"), Some("WARNING"))
    );
}

#[tokio::test]
async fn save_data_keeps_processed_rows() {
    let sim = step_sim().await;
    let api = Api::login(&sim, "GLUSER", "welcome1").await;
    let (_, v) = api
        .post(
            "xxmlc/populate_interface_control/",
            gl_hdr(),
            json!({"P_USER_JE_SOURCE_NAME": "Amazon", "P_LEDGER_ID": "1", "P_GROUP_ID": "4242", "P_PROCESSED_DATA_ACTION": "SAVE_DATA"}),
        )
        .await;
    assert_eq!(v["OutputParameters"]["X_GROUP_ID"], "4242");
    let run: i64 = v["OutputParameters"]["X_INTERFACE_RUN_ID"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    stage_pair(
        &api,
        4242,
        "01-000-1190-0000-000",
        "01-000-4010-0000-000",
        "1",
    )
    .await;
    submit_gl(&api, run, "N").await;
    sim.run_until_idle();
    assert!(
        gl_rows(&api, 4242)
            .await
            .iter()
            .all(|r| r["STATUS"] == "PROCESSED")
    );
    assert_eq!(sim.gl_journals().as_array().unwrap().len(), 1);
}

/// Kills the spawned simulator even when an assertion fails.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn cli_prints_listening_first_and_serves() {
    use std::io::BufRead;
    let mut child = KillOnDrop(
        std::process::Command::new(env!("CARGO_BIN_EXE_ml-connector"))
            .args([
                "sim",
                "ebs",
                "--port",
                "0",
                "--step",
                "--idle-timeout",
                "2s",
            ])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut line = String::new();
    std::io::BufReader::new(child.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let v: Value = serde_json::from_str(&line).unwrap();
    let addr = v["listening"].as_str().unwrap().to_string();
    assert!(addr.starts_with("127.0.0.1:"));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let status = rt.block_on(async {
        reqwest::Client::new()
            .get(format!("http://{addr}/webservices/rest/login"))
            .basic_auth("OPERATIONS", Some("welcome1"))
            .send()
            .await
            .unwrap()
            .status()
    });
    assert_eq!(status, StatusCode::OK);
}
