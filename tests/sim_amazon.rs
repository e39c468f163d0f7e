//! Amazon simulator over real HTTP on 127.0.0.1:0: contract against the official
//! models, auth, paging, buckets, reports, URL expiry, GZIP, faults, and truth
//! totals against the downloaded settlement files. Time moves only by `advance`.

#[path = "common/require.rs"]
mod require;

use chrono::{DateTime, TimeZone, Utc};
use ml_connector::ledger::money::{DecimalMark, parse_amount};
use ml_connector::sim::amazon::{self, AmazonSimConfig, Fault, RunningAmazonSim, Scenario};
use reqwest::StatusCode;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;
use std::time::Duration;

const US: &str = "ATVPDKIKX0DER";
const CA: &str = "A2EUQ1WTGCTBG2";
const DE: &str = "A1PA6795UKMFR9";

fn start_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 26, 12, 0, 0).unwrap()
}

fn config() -> AmazonSimConfig {
    AmazonSimConfig {
        seed: 7,
        time_scale: 0.0,
        start_time: start_time(),
        ..AmazonSimConfig::default()
    }
}

async fn spawn(cfg: AmazonSimConfig) -> RunningAmazonSim {
    amazon::spawn(cfg).await.expect("simulator starts")
}

fn http() -> reqwest::Client {
    reqwest::Client::builder().build().unwrap()
}

/// The default seller's refresh-token grant.
const LWA_FORM: [(&str, &str); 4] = [
    ("grant_type", "refresh_token"),
    ("refresh_token", amazon::DEFAULT_REFRESH_TOKEN),
    ("client_id", amazon::DEFAULT_CLIENT_ID),
    ("client_secret", amazon::DEFAULT_CLIENT_SECRET),
];

async fn lwa(c: &reqwest::Client, sim: &RunningAmazonSim) -> reqwest::Response {
    c.post(sim.token_url())
        .form(&LWA_FORM)
        .send()
        .await
        .unwrap()
}

/// `/_sim/stats` over HTTP rather than through the handle.
async fn stats_over_http(sim: &RunningAmazonSim) -> Value {
    http()
        .get(format!("{}/_sim/stats", sim.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Follows the pre-signed `url` of a getReportDocument answer.
async fn fetch_url(r: &Resp) -> reqwest::Response {
    http()
        .get(r.body["url"].as_str().unwrap())
        .send()
        .await
        .unwrap()
}

async fn token(c: &reqwest::Client, sim: &RunningAmazonSim) -> String {
    let r = lwa(c, sim).await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    v["access_token"].as_str().unwrap().to_string()
}

struct Resp {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

/// A client that, like a well-behaved SP-API client, waits (simulated) on 429 and
/// refreshes its token on 403.
struct Api<'a> {
    c: reqwest::Client,
    sim: &'a RunningAmazonSim,
    token: String,
}

impl<'a> Api<'a> {
    async fn new(sim: &'a RunningAmazonSim) -> Api<'a> {
        let c = http();
        let token = token(&c, sim).await;
        Api { c, sim, token }
    }

    async fn raw(&self, method: reqwest::Method, path: &str, body: Option<&Value>) -> Resp {
        let url = format!("{}{}", self.sim.base_url(), path);
        let mut rb = self
            .c
            .request(method, url)
            .header("x-amz-access-token", &self.token);
        if let Some(b) = body {
            rb = rb.json(b);
        }
        let r = rb.send().await.unwrap();
        let status = r.status();
        let headers = r.headers().clone();
        let text = r.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: not JSON ({e}): {text}"))
        };
        Resp {
            status,
            headers,
            body,
        }
    }

    async fn raw_get(&self, path: &str) -> Resp {
        self.raw(reqwest::Method::GET, path, None).await
    }

    async fn call(&mut self, method: reqwest::Method, path: &str, body: Option<&Value>) -> Resp {
        for _ in 0..5 {
            let r = self.raw(method.clone(), path, body).await;
            if r.status == StatusCode::TOO_MANY_REQUESTS {
                self.sim.advance(Duration::from_secs(61));
                continue;
            }
            if r.status == StatusCode::FORBIDDEN {
                self.token = token(&self.c, self.sim).await;
                continue;
            }
            return r;
        }
        panic!("{path}: still throttled");
    }

    async fn get(&mut self, path: &str) -> Resp {
        self.call(reqwest::Method::GET, path, None).await
    }
}

fn dec(v: &Value) -> Decimal {
    match v {
        Value::Number(n) => Decimal::from_str(&n.to_string()).unwrap(),
        Value::String(s) => Decimal::from_str(s).unwrap(),
        other => panic!("not an amount: {other}"),
    }
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

// ---------------------------------------------------------------- contract

fn models_dir() -> Option<std::path::PathBuf> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    ["../shared", "../../shared"]
        .iter()
        .map(|p| root.join(p).join("reference/sp-api/models"))
        .find(|p| p.join("ordersV0.json").exists())
}

struct Models {
    docs: BTreeMap<&'static str, Value>,
}

impl Models {
    fn load() -> Option<Models> {
        let dir = models_dir()?;
        let mut docs = BTreeMap::new();
        for (k, f) in [
            ("orders", "ordersV0.json"),
            ("finances", "financesV0.json"),
            ("reports", "reports_2021-06-30.json"),
            ("sellers", "sellers.json"),
        ] {
            let text = std::fs::read_to_string(dir.join(f)).unwrap();
            docs.insert(k, serde_json::from_str(&text).unwrap());
        }
        Some(Models { docs })
    }

    /// The response schema the model declares for `path`/`method`/`status`.
    /// Asserts the status, then checks the body against the model for that status.
    fn expect(&self, r: &Resp, api: &str, path: &str, method: &str, status: u16) {
        assert_eq!(r.status, status, "{api} {method} {path}: {}", r.body);
        self.check(api, path, method, status, &r.body);
    }

    fn check(&self, api: &str, path: &str, method: &str, status: u16, body: &Value) {
        let doc = &self.docs[api];
        let resp = &doc["paths"][path][method]["responses"][status.to_string()];
        assert!(
            !resp.is_null(),
            "{api} {method} {path}: the model declares no {status} response"
        );
        let reference = resp["schema"]["$ref"]
            .as_str()
            .unwrap_or_else(|| panic!("{path} {status}: no schema"));
        let schema = json!({"$ref": reference, "definitions": doc["definitions"]});
        let validator = jsonschema::options()
            .should_validate_formats(true)
            .build(&schema)
            .unwrap();
        let errors: Vec<String> = validator
            .iter_errors(body)
            .map(|e| format!("{e} at {}", e.instance_path))
            .take(5)
            .collect();
        assert!(
            errors.is_empty(),
            "{api} {method} {path} {status} does not match {reference}: {errors:?}\n{}",
            &body.to_string()[..body.to_string().len().min(600)]
        );
    }
}

#[tokio::test]
async fn contract_every_response_matches_the_official_models() {
    let Some(models) = Models::load() else {
        require::missing("../shared/reference/sp-api/models");
        return;
    };
    let mut cfg = config();
    cfg.scenarios = vec![Scenario::NegativeThenCleared {
        marketplace: "US".into(),
    }];
    let sim = spawn(cfg).await;
    let mut api = Api::new(&sim).await;
    let orders_path = "/orders/v0/orders";

    // Orders: 200 pages, 400, 404, 403, 429.
    let r = api
        .get(&format!(
            "{orders_path}?MarketplaceIds={US},{CA},{DE}&CreatedAfter=2026-10-01T00:00:00Z&MaxResultsPerPage=100"
        ))
        .await;
    models.expect(&r, "orders", orders_path, "get", 200);
    let orders = r.body["payload"]["Orders"].as_array().unwrap().clone();
    assert!(orders.len() == 100 && r.body["payload"]["NextToken"].is_string());
    assert!(
        orders
            .iter()
            .filter_map(|o| o.get("OrderTotal"))
            .all(|t| t["Amount"].is_string())
            && orders.iter().any(|o| o.get("OrderTotal").is_some()),
        "Orders amounts are strings"
    );
    let r = api
        .get(&format!("{orders_path}?CreatedAfter=2026-10-01"))
        .await;
    models.expect(&r, "orders", orders_path, "get", 400);
    let no_token = Api {
        c: http(),
        sim: &sim,
        token: "Atza|nope".into(),
    };
    let forbidden = no_token
        .raw_get(&format!(
            "{orders_path}?MarketplaceIds={US}&CreatedAfter=2026-10-01"
        ))
        .await;
    models.expect(&forbidden, "orders", orders_path, "get", 403);
    for o in orders.iter().step_by(17) {
        let id = o["AmazonOrderId"].as_str().unwrap();
        let r = api.get(&format!("{orders_path}/{id}")).await;
        models.expect(&r, "orders", "/orders/v0/orders/{orderId}", "get", 200);
        let r = api.get(&format!("{orders_path}/{id}/orderItems")).await;
        models.expect(
            &r,
            "orders",
            "/orders/v0/orders/{orderId}/orderItems",
            "get",
            200,
        );
    }
    let r = api.get(&format!("{orders_path}/999-0000000-0000000")).await;
    models.expect(&r, "orders", "/orders/v0/orders/{orderId}", "get", 404);
    let r = api
        .get(&format!("{orders_path}/not-an-id/orderItems"))
        .await;
    models.expect(
        &r,
        "orders",
        "/orders/v0/orders/{orderId}/orderItems",
        "get",
        400,
    );

    // Finances: every group's events (covers every event kind the world produces).
    let groups_path = "/finances/v0/financialEventGroups";
    let r = api
        .get(&format!("{groups_path}?MaxResultsPerPage=100"))
        .await;
    models.expect(&r, "finances", groups_path, "get", 200);
    let groups = r.body["payload"]["FinancialEventGroupList"]
        .as_array()
        .unwrap()
        .clone();
    assert!(
        groups[0]["OriginalTotal"]["CurrencyAmount"].is_number(),
        "Finances amounts are numbers"
    );
    let mut kinds = BTreeSet::new();
    let by_group = "/finances/v0/financialEventGroups/{eventGroupId}/financialEvents";
    for g in &groups {
        let id = g["FinancialEventGroupId"].as_str().unwrap();
        let mut next: Option<String> = None;
        loop {
            let mut path = format!("{groups_path}/{id}/financialEvents?MaxResultsPerPage=100");
            if let Some(t) = &next {
                path.push_str(&format!("&NextToken={}", enc(t)));
            }
            let r = api.get(&path).await;
            models.expect(&r, "finances", by_group, "get", 200);
            for (k, v) in r.body["payload"]["FinancialEvents"].as_object().unwrap() {
                if v.as_array().is_some_and(|a| !a.is_empty()) {
                    kinds.insert(k.clone());
                }
            }
            match r.body["payload"]["NextToken"].as_str() {
                Some(t) => next = Some(t.to_string()),
                None => break,
            }
        }
    }
    for k in [
        "ShipmentEventList",
        "RefundEventList",
        "ChargebackEventList",
        "GuaranteeClaimEventList",
        "ServiceFeeEventList",
        "ProductAdsPaymentEventList",
        "AdjustmentEventList",
        "DebtRecoveryEventList",
    ] {
        assert!(kinds.contains(k), "no {k} in any group: {kinds:?}");
    }
    let r = api
        .get(&format!("{groups_path}/nope/financialEvents"))
        .await;
    models.expect(&r, "finances", by_group, "get", 404);
    let r = api
        .get("/finances/v0/financialEvents?PostedAfter=2026-11-01T00:00:00Z&MaxResultsPerPage=50")
        .await;
    models.expect(&r, "finances", "/finances/v0/financialEvents", "get", 200);
    let r = api
        .get("/finances/v0/financialEvents?PostedBefore=2026-11-01T00:00:00Z")
        .await;
    models.expect(&r, "finances", "/finances/v0/financialEvents", "get", 400);
    let r = api
        .get(&format!(
            "{groups_path}?FinancialEventGroupStartedBefore=2030-01-01T00:00:00Z"
        ))
        .await;
    models.expect(&r, "finances", groups_path, "get", 400);
    let oid = orders[3]["AmazonOrderId"].as_str().unwrap();
    let r = api
        .get(&format!("/finances/v0/orders/{oid}/financialEvents"))
        .await;
    models.expect(
        &r,
        "finances",
        "/finances/v0/orders/{orderId}/financialEvents",
        "get",
        200,
    );

    // Reports.
    let reports = "/reports/2021-06-30/reports";
    let r = api
        .get(&format!(
            "{reports}?reportTypes=GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2&pageSize=3"
        ))
        .await;
    models.expect(&r, "reports", reports, "get", 200);
    let report = r.body["reports"][0].clone();
    let r = api.get(&format!("{reports}?processingStatuses=DONE")).await;
    models.expect(&r, "reports", reports, "get", 400);
    let rid = report["reportId"].as_str().unwrap();
    let r = api.get(&format!("{reports}/{rid}")).await;
    models.expect(
        &r,
        "reports",
        "/reports/2021-06-30/reports/{reportId}",
        "get",
        200,
    );
    let r = api.get(&format!("{reports}/123")).await;
    models.expect(
        &r,
        "reports",
        "/reports/2021-06-30/reports/{reportId}",
        "get",
        404,
    );
    let doc = report["reportDocumentId"].as_str().unwrap();
    let r = api
        .get(&format!("/reports/2021-06-30/documents/{doc}"))
        .await;
    models.expect(
        &r,
        "reports",
        "/reports/2021-06-30/documents/{reportDocumentId}",
        "get",
        200,
    );
    let r = api.get("/reports/2021-06-30/documents/missing").await;
    models.expect(
        &r,
        "reports",
        "/reports/2021-06-30/documents/{reportDocumentId}",
        "get",
        404,
    );
    let spec = json!({"reportType": "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL", "marketplaceIds": [US]});
    let r = api.call(reqwest::Method::POST, reports, Some(&spec)).await;
    models.expect(&r, "reports", reports, "post", 202);
    let spec =
        json!({"reportType": "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2", "marketplaceIds": [US]});
    let r = api.call(reqwest::Method::POST, reports, Some(&spec)).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["errors"][0]["code"], "InvalidInput");
    models.check("reports", reports, "post", 400, &r.body);

    // Sellers.
    let r = api.get("/sellers/v1/marketplaceParticipations").await;
    models.expect(
        &r,
        "sellers",
        "/sellers/v1/marketplaceParticipations",
        "get",
        200,
    );
    assert_eq!(r.body["payload"].as_array().unwrap().len(), 3);

    // Throttled and faulted bodies.
    for _ in 0..16 {
        let _ = api.raw_get("/sellers/v1/marketplaceParticipations").await;
    }
    let r = api.raw_get("/sellers/v1/marketplaceParticipations").await;
    models.expect(
        &r,
        "sellers",
        "/sellers/v1/marketplaceParticipations",
        "get",
        429,
    );
    sim.stop().await;

    let mut cfg = config();
    cfg.fault_rate = 1.0;
    cfg.faults = vec![Fault::ServerError];
    let sim = spawn(cfg).await;
    // The fault strikes before authentication, so any token will do.
    let api = Api {
        c: http(),
        sim: &sim,
        token: "Atza|any".into(),
    };
    let r = api.raw_get(&format!("{reports}/1")).await;
    models.expect(
        &r,
        "reports",
        "/reports/2021-06-30/reports/{reportId}",
        "get",
        500,
    );
    let r = api
        .raw_get(&format!("{orders_path}?MarketplaceIds={US}"))
        .await;
    models.expect(&r, "orders", orders_path, "get", 500);
    sim.stop().await;
}

// ---------------------------------------------------------------- auth

#[tokio::test]
async fn lwa_and_access_token_errors() {
    let sim = spawn(config()).await;
    let c = http();
    let post = |fields: Vec<(&'static str, &'static str)>| {
        let c = c.clone();
        let url = sim.token_url();
        async move {
            let r = c.post(url).form(&fields).send().await.unwrap();
            let status = r.status();
            let v: Value = r.json().await.unwrap();
            (status, v)
        }
    };
    let good = LWA_FORM.to_vec();
    let (s, v) = post(good.clone()).await;
    assert_eq!(s, 200);
    assert_eq!(v["token_type"], "bearer");
    assert_eq!(v["expires_in"], 3600);
    assert_eq!(v["refresh_token"], amazon::DEFAULT_REFRESH_TOKEN);
    let access = v["access_token"].as_str().unwrap().to_string();
    assert!(access.starts_with("Atza|"));

    let mut bad = good.clone();
    bad[1].1 = "Atzr|revoked";
    let (s, v) = post(bad).await;
    assert_eq!(s, 400);
    assert_eq!(v["error"], "invalid_grant");
    assert!(
        v["error_description"]
            .as_str()
            .unwrap()
            .contains("refresh_token")
    );
    let mut bad = good.clone();
    bad[2].1 = "amzn1.application-oa2-client.other";
    let (s, v) = post(bad).await;
    assert_eq!(s, 401);
    assert_eq!(v["error"], "invalid_client");
    let mut bad = good.clone();
    bad[3].1 = "wrong";
    let (s, v) = post(bad).await;
    assert_eq!(s, 401);
    assert_eq!(v["error"], "invalid_client");
    let (s, v) = post(good[..3].to_vec()).await;
    assert_eq!(s, 400);
    assert_eq!(v["error"], "invalid_request");

    // JSON body (Amazon's Java helper) works as well.
    let r = c
        .post(sim.token_url())
        .json(&json!({"grant_type": "refresh_token", "refresh_token": amazon::DEFAULT_REFRESH_TOKEN, "client_id": amazon::DEFAULT_CLIENT_ID, "client_secret": amazon::DEFAULT_CLIENT_SECRET}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");

    let url = format!("{}/sellers/v1/marketplaceParticipations", sim.base_url());
    let r = c.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.headers().get("x-amzn-RequestId").is_some());
    assert!(r.headers().get("x-amzn-RateLimit-Limit").is_none());
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        v,
        json!({"errors":[{"code":"Unauthorized","message":"Access to requested resource is denied.","details":""}]})
    );
    let r = c
        .get(&url)
        .header("x-amz-access-token", &access)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    sim.advance(Duration::from_secs(3600));
    let r = c
        .get(&url)
        .header("x-amz-access-token", &access)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["errors"][0]["code"], "Unauthorized");
    assert!(
        v["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("expired")
    );
    sim.stop().await;
}

// ---------------------------------------------------------------- buckets and clock

#[tokio::test]
async fn bucket_burst_then_429_then_refill_on_the_simulated_clock() {
    let sim = spawn(config()).await;
    let api = Api::new(&sim).await;
    let path = format!("/orders/v0/orders?MarketplaceIds={US}&CreatedAfter=2026-11-20T00:00:00Z");
    for i in 0..20 {
        let r = api.raw_get(&path).await;
        assert_eq!(r.status, 200, "call {i}");
        assert_eq!(r.headers["x-amzn-RateLimit-Limit"], "0.0167");
    }
    let r = api.raw_get(&path).await;
    assert_eq!(r.status, 429);
    assert!(r.headers.get("x-amzn-RateLimit-Limit").is_none());
    assert!(r.headers.get("x-amzn-RequestId").is_some());
    assert_eq!(
        r.body,
        json!({"errors":[{"code":"QuotaExceeded","message":"You exceeded your quota for the requested resource.","details":""}]})
    );
    // Another operation has its own bucket.
    let r = api.raw_get("/orders/v0/orders/111-1111111-1111111").await;
    assert_eq!(r.status, 404);
    assert_eq!(r.headers["x-amzn-RateLimit-Limit"], "0.5");
    sim.advance(Duration::from_secs(59));
    assert_eq!(api.raw_get(&path).await.status, 429);
    sim.advance(Duration::from_secs(2));
    assert_eq!(api.raw_get(&path).await.status, 200);
    assert_eq!(api.raw_get(&path).await.status, 429);
    let stats = sim.stats();
    assert_eq!(stats["operations"]["getOrders"]["requests"], 24);
    assert_eq!(stats["operations"]["getOrders"]["throttled"], 3);
    let over_http = stats_over_http(&sim).await;
    assert_eq!(
        over_http["operations"]["getOrders"],
        stats["operations"]["getOrders"]
    );
    sim.stop().await;
}

#[tokio::test]
async fn time_scale_is_reported_in_real_seconds_and_dates_are_simulated() {
    let mut cfg = config();
    cfg.time_scale = 10.0;
    let sim = spawn(cfg).await;
    let c = http();
    let r = lwa(&c, &sim).await;
    let date = httpdate::parse_http_date(r.headers()["date"].to_str().unwrap()).unwrap();
    let date: DateTime<Utc> = date.into();
    assert!(date >= start_time() && date < start_time() + chrono::Duration::days(1));
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["expires_in"], 360);
    let api = Api {
        c,
        sim: &sim,
        token: v["access_token"].as_str().unwrap().into(),
    };
    let r = api.raw_get("/sellers/v1/marketplaceParticipations").await;
    assert_eq!(r.headers["x-amzn-RateLimit-Limit"], "0.16");
    let truth = sim.truth();
    let doc = &truth.settlements.last().unwrap().report_document_id;
    let r = api
        .raw_get(&format!("/reports/2021-06-30/documents/{doc}"))
        .await;
    assert!(
        r.body["url"]
            .as_str()
            .unwrap()
            .contains("X-Amz-Expires=30&")
    );
    sim.stop().await;
}

// ---------------------------------------------------------------- paging

#[tokio::test]
async fn pagination_styles() {
    let sim = spawn(config()).await;
    let mut api = Api::new(&sim).await;
    let truth = sim.truth();

    // getOrders: payload NextToken + the original filters repeated.
    let filters =
        format!("MarketplaceIds={US},{DE}&CreatedAfter=2026-01-01T00:00:00Z&MaxResultsPerPage=40");
    let mut ids = Vec::new();
    let mut next: Option<String> = None;
    let mut first_token = None;
    loop {
        let mut path = format!("/orders/v0/orders?{filters}");
        if let Some(t) = &next {
            path.push_str(&format!("&NextToken={}", enc(t)));
        }
        let r = api.get(&path).await;
        assert_eq!(r.status, 200, "{}", r.body);
        for o in r.body["payload"]["Orders"].as_array().unwrap() {
            ids.push(o["AmazonOrderId"].as_str().unwrap().to_string());
        }
        match r.body["payload"]["NextToken"].as_str() {
            Some(t) => {
                first_token.get_or_insert(t.to_string());
                next = Some(t.to_string());
            }
            None => break,
        }
    }
    let cutoff = sim.now() - chrono::Duration::minutes(2);
    let expected: Vec<&str> = truth
        .orders
        .iter()
        .filter(|o| {
            (o.marketplace_id == US || o.marketplace_id == DE)
                && DateTime::parse_from_rfc3339(&o.purchase_date).unwrap() < cutoff
        })
        .map(|o| o.amazon_order_id.as_str())
        .collect();
    assert_eq!(ids.len(), expected.len());
    assert_eq!(
        ids.iter().collect::<BTreeSet<_>>(),
        expected
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
            .iter()
            .collect::<BTreeSet<_>>()
    );
    let token = first_token.unwrap();
    let r = api
        .get(&format!(
            "/orders/v0/orders?MarketplaceIds={US},{DE}&NextToken={}",
            enc(&token)
        ))
        .await;
    assert_eq!(
        r.status, 400,
        "a NextToken without the original filters is rejected"
    );
    let r = api
        .get(&format!("/orders/v0/orders?MarketplaceIds={US}&CreatedAfter=2026-01-01T00:00:00Z&MaxResultsPerPage=40&NextToken={}", enc(&token)))
        .await;
    assert_eq!(r.status, 400, "different filters are rejected");

    // Finances groups: default page size 10, NextToken in payload.
    let mut groups = 0;
    let mut next: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut path = "/finances/v0/financialEventGroups?FinancialEventGroupStartedAfter=2026-06-01T00:00:00Z".to_string();
        if let Some(t) = &next {
            path.push_str(&format!("&NextToken={}", enc(t)));
        }
        let r = api.get(&path).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let list = r.body["payload"]["FinancialEventGroupList"]
            .as_array()
            .unwrap();
        assert!(list.len() <= 10);
        groups += list.len();
        pages += 1;
        match r.body["payload"]["NextToken"].as_str() {
            Some(t) => next = Some(t.to_string()),
            None => break,
        }
    }
    assert_eq!(groups, truth.event_groups.len());
    assert!(pages >= 3);
    let r = api
        .get("/finances/v0/financialEventGroups?FinancialEventGroupStartedAfter=2026-01-01T00:00:00Z&FinancialEventGroupStartedBefore=2026-11-01T00:00:00Z")
        .await;
    assert_eq!(r.status, 200);
    assert!(
        r.body["payload"]["FinancialEventGroupList"]
            .as_array()
            .unwrap()
            .is_empty(),
        "a window over 180 days is empty"
    );

    // Finances events: empty pages that still carry a token; stop only without a token.
    let mut empty_with_token = 0;
    for g in &truth.event_groups {
        let mut next: Option<String> = None;
        let mut count = 0;
        loop {
            let mut path = format!(
                "/finances/v0/financialEventGroups/{}/financialEvents?MaxResultsPerPage=25",
                g.financial_event_group_id
            );
            if let Some(t) = &next {
                path.push_str(&format!("&NextToken={}", enc(t)));
            }
            let r = api.get(&path).await;
            assert_eq!(r.status, 200);
            let events = &r.body["payload"]["FinancialEvents"];
            let n: usize = events
                .as_object()
                .unwrap()
                .values()
                .map(|v| v.as_array().unwrap().len())
                .sum();
            count += n;
            match r.body["payload"]["NextToken"].as_str() {
                Some(t) => {
                    if n == 0 {
                        empty_with_token += 1;
                    }
                    next = Some(t.to_string());
                }
                None => break,
            }
        }
        assert_eq!(count, g.event_count, "group {}", g.financial_event_group_id);
    }
    assert!(
        empty_with_token > 0,
        "some group starts with an empty page carrying a token"
    );

    // getReports: top-level nextToken, sent alone.
    let mut seen = 0;
    let mut path = "/reports/2021-06-30/reports?reportTypes=GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2&pageSize=4".to_string();
    let mut token = None;
    loop {
        let r = api.get(&path).await;
        assert_eq!(r.status, 200, "{}", r.body);
        seen += r.body["reports"].as_array().unwrap().len();
        match r.body["nextToken"].as_str() {
            Some(t) => {
                token.get_or_insert(t.to_string());
                path = format!("/reports/2021-06-30/reports?nextToken={}", enc(t));
            }
            None => break,
        }
    }
    let oldest = sim.now() - chrono::Duration::days(90);
    let listed = truth
        .settlements
        .iter()
        .filter(|s| {
            DateTime::parse_from_rfc3339(&s.end).unwrap() + chrono::Duration::minutes(45) >= oldest
        })
        .count();
    assert_eq!(seen, listed);
    let t = token.unwrap();
    let r = api
        .get(&format!(
            "/reports/2021-06-30/reports?nextToken={}&pageSize=4",
            enc(&t)
        ))
        .await;
    assert_eq!(r.status, 400, "nextToken must be alone");
    let r = api
        .get("/reports/2021-06-30/reports?reportTypes=GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2&createdSince=2026-01-01T00:00:00Z")
        .await;
    assert_eq!(r.status, 400, "createdSince older than 90 days");

    // Tokens expire.
    sim.advance(Duration::from_secs(3601));
    let r = api
        .get(&format!(
            "/reports/2021-06-30/reports?nextToken={}",
            enc(&t)
        ))
        .await;
    assert_eq!(r.status, 400);
    sim.stop().await;
}

#[tokio::test]
async fn orders_parameter_rules() {
    let sim = spawn(config()).await;
    let mut api = Api::new(&sim).await;
    let base = format!("/orders/v0/orders?MarketplaceIds={US}");
    for (query, why) in [
        ("", "After required"),
        (
            "&CreatedAfter=2026-11-01T00:00:00Z&LastUpdatedAfter=2026-11-01T00:00:00Z",
            "both kinds",
        ),
        (
            "&CreatedAfter=2026-11-01T00:00:00Z&LastUpdatedBefore=2026-11-02T00:00:00Z",
            "mixed",
        ),
        (
            "&CreatedAfter=2026-11-05T00:00:00Z&CreatedBefore=2026-11-01T00:00:00Z",
            "before < after",
        ),
        (
            "&CreatedAfter=2026-11-05T00:00:00Z&CreatedBefore=2026-11-26T11:59:00Z",
            "before within 2 min of now",
        ),
        (
            "&CreatedAfter=2026-11-05T00:00:00Z&MaxResultsPerPage=101",
            "page > 100",
        ),
        ("&CreatedAfter=yesterday", "bad date"),
        (
            "&LastUpdatedAfter=2026-11-26T11:59:00Z",
            "after within 2 min of now",
        ),
    ] {
        let r = api.get(&format!("{base}{query}")).await;
        assert_eq!(r.status, 400, "{why}");
        assert_eq!(r.body["errors"][0]["code"], "InvalidInput", "{why}");
        assert!(r.headers.get("x-amzn-RateLimit-Limit").is_some());
    }
    let r = api
        .get("/orders/v0/orders?MarketplaceIds=XX&CreatedAfter=2026-11-05T00:00:00Z")
        .await;
    assert_eq!(r.status, 400);
    // Region endpoints only serve their marketplaces.
    let r = api
        .get(&format!(
            "/eu/orders/v0/orders?MarketplaceIds={US}&CreatedAfter=2026-11-05T00:00:00Z"
        ))
        .await;
    assert_eq!(r.status, 400);
    let r = api
        .get(&format!(
            "/eu/orders/v0/orders?MarketplaceIds={DE}&LastUpdatedAfter=2026-11-20T00:00:00Z"
        ))
        .await;
    assert_eq!(r.status, 200);
    for o in r.body["payload"]["Orders"].as_array().unwrap() {
        assert_eq!(o["MarketplaceId"], DE);
        assert_eq!(o["OrderTotal"]["CurrencyCode"], "EUR");
    }
    let r = api.get("/eu/sellers/v1/marketplaceParticipations").await;
    assert_eq!(r.body["payload"].as_array().unwrap().len(), 1);
    sim.stop().await;
}

// ---------------------------------------------------------------- reports

#[tokio::test]
async fn report_lifecycle_url_expiry_and_settlement_schedule() {
    let sim = spawn(config()).await;
    let mut api = Api::new(&sim).await;
    let spec = json!({"reportType": "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL", "marketplaceIds": [US], "dataStartTime": "2026-11-01T00:00:00Z"});
    let r = api
        .call(
            reqwest::Method::POST,
            "/reports/2021-06-30/reports",
            Some(&spec),
        )
        .await;
    assert_eq!(r.status, 202);
    let id = r.body["reportId"].as_str().unwrap().to_string();
    let report_path = format!("/reports/2021-06-30/reports/{id}");
    assert_eq!(
        api.get(&report_path).await.body["processingStatus"],
        "IN_QUEUE"
    );
    sim.advance(Duration::from_secs(31));
    let r = api.get(&report_path).await;
    assert_eq!(r.body["processingStatus"], "IN_PROGRESS");
    assert!(r.body.get("reportDocumentId").is_none());
    sim.advance(Duration::from_secs(30));
    let r = api.get(&report_path).await;
    assert_eq!(r.body["processingStatus"], "DONE");
    let doc = r.body["reportDocumentId"].as_str().unwrap().to_string();
    let r = api
        .get(&format!("/reports/2021-06-30/documents/{doc}"))
        .await;
    assert_eq!(r.status, 200);
    assert!(r.body.get("compressionAlgorithm").is_none());
    let url = r.body["url"].as_str().unwrap().to_string();
    assert!(url.contains("X-Amz-Expires=300") && url.contains("X-Amz-Signature="));
    // Plain GET, no SP-API headers.
    let d = http().get(&url).send().await.unwrap();
    assert_eq!(d.status(), 200);
    assert!(
        d.headers()["content-type"]
            .to_str()
            .unwrap()
            .contains("charset=")
    );
    let text = d.text().await.unwrap();
    assert!(text.starts_with("amazon-order-id\t"));
    assert!(text.lines().count() > 10);
    // Tampered signature, then expiry.
    let tampered = url.replace("X-Amz-Signature=", "X-Amz-Signature=00");
    let d = http().get(&tampered).send().await.unwrap();
    assert_eq!(d.status(), 403);
    assert!(
        d.text()
            .await
            .unwrap()
            .contains("<Code>SignatureDoesNotMatch</Code>")
    );
    sim.advance(Duration::from_secs(299));
    assert_eq!(http().get(&url).send().await.unwrap().status(), 200);
    sim.advance(Duration::from_secs(2));
    let d = http().get(&url).send().await.unwrap();
    assert_eq!(d.status(), 403);
    assert!(
        d.headers()["content-type"]
            .to_str()
            .unwrap()
            .contains("xml")
    );
    let body = d.text().await.unwrap();
    assert!(
        body.contains("<Error><Code>AccessDenied</Code><Message>Request has expired</Message>"),
        "{body}"
    );
    // A fresh getReportDocument gives a working URL again.
    let r = api
        .get(&format!("/reports/2021-06-30/documents/{doc}"))
        .await;
    assert_eq!(fetch_url(&r).await.status(), 200);

    // cancelReport: only while IN_QUEUE.
    let r = api
        .call(
            reqwest::Method::POST,
            "/reports/2021-06-30/reports",
            Some(&spec),
        )
        .await;
    let id2 = r.body["reportId"].as_str().unwrap().to_string();
    let r = api
        .call(
            reqwest::Method::DELETE,
            &format!("/reports/2021-06-30/reports/{id2}"),
            None,
        )
        .await;
    assert_eq!(r.status, 200);
    sim.advance(Duration::from_secs(120));
    assert_eq!(
        api.get(&format!("/reports/2021-06-30/reports/{id2}"))
            .await
            .body["processingStatus"],
        "CANCELLED"
    );
    let r = api.call(reqwest::Method::DELETE, &report_path, None).await;
    assert_eq!(r.status, 400);

    // Settlement reports appear on the 14-day schedule as time passes.
    let before = sim.truth();
    let open = before
        .event_groups
        .iter()
        .find(|g| g.processing_status == "Open" && g.marketplace_id == CA)
        .unwrap();
    let end = DateTime::parse_from_rfc3339(&open.start)
        .unwrap()
        .with_timezone(&Utc)
        + chrono::Duration::days(14);
    let until_end = (end - sim.now()).to_std().unwrap();
    sim.advance(until_end + Duration::from_secs(46 * 60));
    let truth = sim.truth();
    let s = truth
        .settlements
        .iter()
        .find(|s| s.financial_event_group_id == open.financial_event_group_id)
        .expect("the period closed into a settlement");
    assert_eq!(s.report_status, "IN_QUEUE");
    let r = api
        .get(&format!("/reports/2021-06-30/reports/{}", s.report_id))
        .await;
    assert_eq!(r.body["processingStatus"], "IN_QUEUE");
    assert_eq!(
        r.body["reportType"],
        "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2"
    );
    sim.advance(Duration::from_secs(120));
    assert_eq!(
        api.get(&format!("/reports/2021-06-30/reports/{}", s.report_id))
            .await
            .body["processingStatus"],
        "IN_PROGRESS"
    );
    sim.advance(Duration::from_secs(240));
    let r = api
        .get(&format!("/reports/2021-06-30/reports/{}", s.report_id))
        .await;
    assert_eq!(r.body["processingStatus"], "DONE");
    assert_eq!(r.body["reportDocumentId"], s.report_document_id.as_str());
    let g = api
        .get(&format!(
            "/finances/v0/financialEventGroups?FinancialEventGroupStartedAfter={}",
            enc(&open.start)
        ))
        .await;
    let group = g.body["payload"]["FinancialEventGroupList"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["FinancialEventGroupId"] == open.financial_event_group_id.as_str())
        .unwrap()
        .clone();
    assert_eq!(group["ProcessingStatus"], "Closed");
    assert_eq!(
        dec(&group["OriginalTotal"]["CurrencyAmount"]),
        s.total_amount
    );
    sim.stop().await;
}

// ---------------------------------------------------------------- truth vs files

/// Minimal V2 reader: header by name, summary row, body row sums.
struct ParsedFile {
    settlement_id: String,
    total: Decimal,
    currency: String,
    row_sum: Decimal,
    payable: Decimal,
    rows: usize,
    order_ids: BTreeSet<String>,
    descriptions: BTreeSet<String>,
    /// Order/ItemPrice/Principal per order id.
    principal: BTreeMap<String, Decimal>,
}

fn parse_v2(text: &str) -> ParsedFile {
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    assert_eq!(header.len(), 24);
    assert_eq!(header[23], "promotion-id");
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let summary: Vec<&str> = lines.next().unwrap().split('\t').collect();
    let currency = summary[col("currency")].to_string();
    let mark = if currency == "EUR" {
        DecimalMark::Comma
    } else {
        DecimalMark::Point
    };
    let total = parse_amount(summary[col("total-amount")], mark).unwrap();
    let mut out = ParsedFile {
        settlement_id: summary[0].to_string(),
        total,
        currency,
        row_sum: Decimal::ZERO,
        payable: Decimal::ZERO,
        rows: 0,
        order_ids: BTreeSet::new(),
        descriptions: BTreeSet::new(),
        principal: BTreeMap::new(),
    };
    for line in lines.filter(|l| !l.trim().is_empty()) {
        let cells: Vec<&str> = line.split('\t').collect();
        assert_eq!(cells.len(), 24, "{line}");
        assert_eq!(cells[0], out.settlement_id);
        let amount = parse_amount(cells[col("amount")], mark).unwrap();
        out.row_sum += amount;
        out.rows += 1;
        let description = cells[col("amount-description")];
        if description == "Payable to Amazon" {
            out.payable += amount;
        }
        out.descriptions.insert(format!(
            "{}/{}/{}",
            cells[col("transaction-type")],
            cells[col("amount-type")],
            description
        ));
        if !cells[col("order-id")].is_empty() {
            out.order_ids.insert(cells[col("order-id")].to_string());
        }
        if cells[col("transaction-type")] == "Order"
            && cells[col("amount-type")] == "ItemPrice"
            && description == "Principal"
        {
            *out.principal
                .entry(cells[col("order-id")].to_string())
                .or_default() += amount;
        }
    }
    out
}

/// A Finances `Currency` amount (Amazon's `CurrencyAmount`; `Amount` accepted for
/// re-serialized copies).
fn money(v: &Value) -> Decimal {
    match v.get("CurrencyAmount") {
        Some(a) => dec(a),
        None => dec(&v["Amount"]),
    }
}

fn events_sum(events: &Value) -> Decimal {
    let mut sum = Decimal::ZERO;
    let amounts = |list: &Value, key: &str| -> Decimal {
        list.as_array()
            .map(|a| a.iter().map(|c| money(&c[key])).sum())
            .unwrap_or_default()
    };
    for (name, list) in events.as_object().unwrap() {
        for e in list.as_array().unwrap() {
            match name.as_str() {
                "ShipmentEventList"
                | "RefundEventList"
                | "ChargebackEventList"
                | "GuaranteeClaimEventList" => {
                    for items in ["ShipmentItemList", "ShipmentItemAdjustmentList"] {
                        for item in e[items].as_array().into_iter().flatten() {
                            for (k, field) in [
                                ("ItemChargeList", "ChargeAmount"),
                                ("ItemChargeAdjustmentList", "ChargeAmount"),
                                ("ItemFeeList", "FeeAmount"),
                                ("ItemFeeAdjustmentList", "FeeAmount"),
                                ("PromotionList", "PromotionAmount"),
                                ("PromotionAdjustmentList", "PromotionAmount"),
                            ] {
                                sum += amounts(&item[k], field);
                            }
                            for w in item["ItemTaxWithheldList"].as_array().into_iter().flatten() {
                                sum += amounts(&w["TaxesWithheld"], "ChargeAmount");
                            }
                        }
                    }
                }
                "ServiceFeeEventList" => sum += amounts(&e["FeeList"], "FeeAmount"),
                "ProductAdsPaymentEventList" => sum += money(&e["transactionValue"]),
                "AdjustmentEventList" => sum += money(&e["AdjustmentAmount"]),
                "DebtRecoveryEventList" => sum += money(&e["RecoveryAmount"]),
                other => panic!("unexpected event list {other}"),
            }
        }
    }
    sum
}

async fn download(api: &mut Api<'_>, doc: &str) -> (Value, reqwest::header::HeaderMap, Vec<u8>) {
    let r = api
        .get(&format!("/reports/2021-06-30/documents/{doc}"))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let d = fetch_url(&r).await;
    assert_eq!(d.status(), 200);
    let headers = d.headers().clone();
    let bytes = d.bytes().await.unwrap().to_vec();
    (r.body, headers, bytes)
}

fn decode(headers: &reqwest::header::HeaderMap, bytes: &[u8]) -> String {
    let ct = headers["content-type"].to_str().unwrap();
    let charset = ct
        .split("charset=")
        .nth(1)
        .expect("charset in Content-Type");
    let encoding = encoding_rs::Encoding::for_label(charset.as_bytes()).expect("known charset");
    encoding.decode(bytes).0.into_owned()
}

#[tokio::test]
async fn truth_equals_files_events_and_orders() {
    let mut cfg = config();
    cfg.scenarios = vec![
        Scenario::NegativeThenCleared {
            marketplace: "CA".into(),
        },
        Scenario::UnmappedFee {
            marketplace: "DE".into(),
            description: "NewFeeType2026".into(),
            amount: Decimal::new(-250, 2),
        },
        Scenario::MonthEndSpan {
            marketplace: "US".into(),
        },
    ];
    let sim = spawn(cfg).await;
    let mut api = Api::new(&sim).await;
    let truth = sim.truth();
    let over_http: Value = http()
        .get(format!("{}/_sim/truth", sim.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        over_http["settlements"].as_array().unwrap().len(),
        truth.settlements.len()
    );
    assert!(over_http["settlements"][0]["total_amount"].is_string());
    assert_eq!(
        truth.settlements.len(),
        3 * 7,
        "90 days = 7 closed periods per marketplace"
    );
    let order_ids: BTreeSet<&str> = truth
        .orders
        .iter()
        .map(|o| o.amazon_order_id.as_str())
        .collect();
    let mut all_descriptions = BTreeSet::new();
    let mut umlaut_sku = false;
    let mut principal: BTreeMap<String, Decimal> = BTreeMap::new();
    for s in &truth.settlements {
        assert_eq!(s.report_status, "DONE");
        let (_, headers, bytes) = download(&mut api, &s.report_document_id).await;
        let text = decode(&headers, &bytes);
        // The project's own settlement parser reads the file as Amazon's.
        let content_type = headers["content-type"].to_str().unwrap();
        let parsed = ml_connector::ledger::parse::parse_settlement(&bytes, Some(content_type))
            .unwrap_or_else(|e| panic!("settlement {} does not parse: {e}", s.settlement_id));
        assert_eq!(parsed.summary.settlement_id, s.settlement_id);
        assert_eq!(parsed.summary.total_amount, s.total_amount);
        assert_eq!(parsed.summary.currency.code(), s.currency);
        assert_eq!(
            parsed.summary.start,
            DateTime::parse_from_rfc3339(&s.start).unwrap()
        );
        assert_eq!(
            parsed.summary.end,
            DateTime::parse_from_rfc3339(&s.end).unwrap()
        );
        assert_eq!(
            parsed.summary.deposit_date,
            Some(
                DateTime::parse_from_rfc3339(&s.deposit_date)
                    .unwrap()
                    .with_timezone(&Utc)
            )
        );
        assert_eq!(parsed.rows.len(), s.row_count);
        assert_eq!(
            parsed.rows.iter().map(|r| r.amount).sum::<Decimal>(),
            s.total_amount
        );
        if s.marketplace_id == DE {
            assert_eq!(parsed.locale.decimal_mark, DecimalMark::Comma);
            umlaut_sku |= parsed.rows.iter().any(|r| r.sku == "MÜSLI-SCHALE-4");
        }
        let file = parse_v2(&text);
        assert_eq!(file.settlement_id, s.settlement_id);
        assert_eq!(file.currency, s.currency);
        assert_eq!(
            file.total, s.total_amount,
            "summary total of {}",
            s.settlement_id
        );
        assert_eq!(
            file.row_sum, s.total_amount,
            "row sum of {}",
            s.settlement_id
        );
        assert_eq!(file.payable, s.carried_balance);
        assert_eq!(file.rows, s.row_count);
        let expected_deposit = if s.total_amount > Decimal::ZERO {
            s.total_amount
        } else {
            Decimal::ZERO
        };
        assert_eq!(s.deposit_amount, expected_deposit);
        for id in &file.order_ids {
            assert!(
                order_ids.contains(id.as_str()),
                "order {id} of {} unknown",
                s.settlement_id
            );
        }
        all_descriptions.extend(file.descriptions);
        for (id, amount) in file.principal {
            *principal.entry(id).or_default() += amount;
        }
        // The financial event group: matched by period, currency, total (no settlement id).
        let mut sum = Decimal::ZERO;
        let mut next: Option<String> = None;
        loop {
            let mut path = format!(
                "/finances/v0/financialEventGroups/{}/financialEvents",
                s.financial_event_group_id
            );
            if let Some(t) = &next {
                path.push_str(&format!("?NextToken={}", enc(t)));
            }
            let r = api.get(&path).await;
            assert_eq!(r.status, 200);
            sum += events_sum(&r.body["payload"]["FinancialEvents"]);
            match r.body["payload"]["NextToken"].as_str() {
                Some(t) => next = Some(t.to_string()),
                None => break,
            }
        }
        assert_eq!(
            sum + s.carried_balance,
            s.total_amount,
            "events of group {}",
            s.financial_event_group_id
        );
        if s.marketplace_id == DE {
            assert!(headers["content-type"].to_str().unwrap().contains("Cp1252"));
        }
    }
    assert!(
        umlaut_sku,
        "a windows-1252 SKU survives download and decoding"
    );
    let groups = api
        .get("/finances/v0/financialEventGroups?MaxResultsPerPage=100")
        .await;
    for g in groups.body["payload"]["FinancialEventGroupList"]
        .as_array()
        .unwrap()
    {
        let id = g["FinancialEventGroupId"].as_str().unwrap();
        if let Some(s) = truth
            .settlements
            .iter()
            .find(|s| s.financial_event_group_id == id)
        {
            assert_eq!(dec(&g["OriginalTotal"]["CurrencyAmount"]), s.total_amount);
            assert_eq!(g["OriginalTotal"]["CurrencyCode"], s.currency.as_str());
            assert_eq!(g["FinancialEventGroupStart"], s.start.as_str());
            assert_eq!(g["FinancialEventGroupEnd"], s.end.as_str());
            assert_eq!(
                dec(&g["BeginningBalance"]["CurrencyAmount"]),
                s.carried_balance
            );
        }
    }
    for needed in [
        "Order/ItemPrice/Principal",
        "Order/ItemPrice/Tax",
        "Order/ItemPrice/Shipping",
        "Order/ItemPrice/ShippingTax",
        "Order/ItemFees/Commission",
        "Order/ItemFees/FBAPerUnitFulfillmentFee",
        "Order/ItemFees/ShippingChargeback",
        "Order/ItemFees/VariableClosingFee",
        "Order/ItemFees/NewFeeType2026",
        "Order/Promotion/Principal",
        "Order/ItemWithheldTax/MarketplaceFacilitatorTax-Principal",
        "Refund/ItemPrice/Principal",
        "Refund/ItemFees/RefundCommission",
        "Chargeback/ItemPrice/Principal",
        "A-to-z Guarantee Claim/ItemPrice/Principal",
        "other-transaction/other-transaction/Storage Fee",
        "other-transaction/other-transaction/Subscription Fee",
        "other-transaction/other-transaction/Previous Reserve Amount Balance",
        "other-transaction/other-transaction/Current Reserve Amount",
        "other-transaction/other-transaction/Payable to Amazon",
        "other-transaction/other-transaction/Successful charge",
        "other-transaction/FBA Inventory Reimbursement/WAREHOUSE_DAMAGE",
        "ServiceFee/Cost of Advertising/TransactionTotalAmount",
    ] {
        assert!(
            all_descriptions.contains(needed),
            "no {needed} row anywhere"
        );
    }
    // Scenarios: CA's second-latest settlement is negative and cleared by the latest.
    let ca: Vec<_> = truth
        .settlements
        .iter()
        .filter(|s| s.marketplace_id == CA)
        .collect();
    let (neg, clear) = (ca[ca.len() - 2], ca[ca.len() - 1]);
    assert!(neg.total_amount < Decimal::ZERO && neg.deposit_amount.is_zero());
    assert_eq!(clear.carried_balance, neg.total_amount);
    let us_last = truth
        .settlements
        .iter()
        .rfind(|s| s.marketplace_id == US)
        .unwrap();
    assert_ne!(
        us_last.start[..7],
        us_last.end[..7],
        "US latest settlement spans a month end"
    );
    // The orders behind the rows, through the Orders API: shipped orders old enough to
    // be fully settled sold exactly what their settlement rows say.
    let first_start = truth
        .settlements
        .iter()
        .map(|s| s.start.clone())
        .min()
        .unwrap();
    let settled_before = sim.now() - chrono::Duration::days(21);
    let mut checked = 0;
    for o in truth.orders.iter().filter(|o| {
        o.status == "Shipped"
            && o.purchase_date > first_start
            && DateTime::parse_from_rfc3339(&o.purchase_date).unwrap() < settled_before
    }) {
        if checked == 8 {
            break;
        }
        let r = api
            .get(&format!("/orders/v0/orders/{}", o.amazon_order_id))
            .await;
        assert_eq!(r.status, 200);
        assert_eq!(r.body["payload"]["OrderStatus"], "Shipped");
        assert_eq!(
            dec(&r.body["payload"]["OrderTotal"]["Amount"]),
            o.order_total
        );
        let r = api
            .get(&format!(
                "/orders/v0/orders/{}/orderItems",
                o.amazon_order_id
            ))
            .await;
        let sold: Decimal = r.body["payload"]["OrderItems"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| dec(&i["ItemPrice"]["Amount"]))
            .sum();
        assert_eq!(
            principal.get(&o.amazon_order_id).copied(),
            Some(sold),
            "order {}",
            o.amazon_order_id
        );
        checked += 1;
    }
    assert_eq!(checked, 8);
    sim.stop().await;
}

#[tokio::test]
async fn same_seed_same_world() {
    let a = spawn(config()).await;
    let b = spawn(config()).await;
    let (ta, tb) = (a.truth(), b.truth());
    assert_eq!(
        serde_json::to_value(&ta).unwrap(),
        serde_json::to_value(&tb).unwrap()
    );
    let mut other = config();
    other.seed = 8;
    let c = spawn(other).await;
    assert_ne!(
        serde_json::to_value(&ta.settlements).unwrap(),
        serde_json::to_value(&c.truth().settlements).unwrap()
    );
    a.stop().await;
    b.stop().await;
    c.stop().await;
}

#[tokio::test]
async fn gzip_documents() {
    let mut cfg = config();
    cfg.gzip = true;
    let sim = spawn(cfg).await;
    let mut api = Api::new(&sim).await;
    let s = sim.truth().settlements[0].clone();
    let (meta, headers, bytes) = download(&mut api, &s.report_document_id).await;
    assert_eq!(meta["compressionAlgorithm"], "GZIP");
    assert_eq!(&bytes[..2], &[0x1f, 0x8b]);
    let mut plain = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut plain).unwrap();
    let file = parse_v2(&decode(&headers, &plain));
    assert_eq!(file.total, s.total_amount);
    assert_eq!(file.row_sum, s.total_amount);
    assert!(headers.get("content-encoding").is_none());
    // enableContentEncodingUrlHeader=true: S3 labels the body, so HTTP clients inflate it.
    let r = api
        .get(&format!(
            "/reports/2021-06-30/documents/{}?enableContentEncodingUrlHeader=true",
            s.report_document_id
        ))
        .await;
    let d = fetch_url(&r).await;
    assert_eq!(d.status(), 200);
    let headers = d.headers().clone();
    let inflated = d.bytes().await.unwrap();
    assert_eq!(&inflated[..], &plain[..]);
    assert_eq!(decode(&headers, &inflated), decode(&headers, &plain));
    sim.stop().await;
}

// ---------------------------------------------------------------- faults

/// Asks for the first settlement's document and follows its URL.
async fn first_document(sim: &RunningAmazonSim) -> reqwest::Response {
    let mut api = Api::new(sim).await;
    let doc = sim.truth().settlements[0].report_document_id.clone();
    let r = api
        .get(&format!("/reports/2021-06-30/documents/{doc}"))
        .await;
    assert_eq!(r.status, 200);
    fetch_url(&r).await
}

async fn faulty(fault: Fault) -> RunningAmazonSim {
    let mut cfg = config();
    cfg.fault_rate = 1.0;
    cfg.faults = vec![fault];
    cfg.slow_delay = Duration::from_millis(50);
    spawn(cfg).await
}

#[tokio::test]
async fn faults_each_kind() {
    let sellers = "/sellers/v1/marketplaceParticipations";
    // 429 / 500 / 503 bodies.
    for (fault, status, code) in [
        (Fault::Throttle, 429, "QuotaExceeded"),
        (Fault::ServerError, 500, "InternalFailure"),
        (Fault::Unavailable, 503, "ServiceUnavailable"),
    ] {
        let sim = faulty(fault).await;
        let c = http();
        // LWA never throttles with QuotaExceeded; 500/503 take LWA's error shape there.
        let t = lwa(&c, &sim).await;
        if fault == Fault::Throttle {
            assert_eq!(t.status(), 200);
        } else {
            assert_eq!(t.status().as_u16(), status);
            let v: Value = t.json().await.unwrap();
            assert!(v["error"].is_string());
        }
        let api = Api {
            c,
            sim: &sim,
            token: "irrelevant".into(),
        };
        let r = api.raw_get(sellers).await;
        assert_eq!(r.status.as_u16(), status);
        assert_eq!(r.body["errors"][0]["code"], code);
        assert!(r.headers.get("x-amzn-RateLimit-Limit").is_none());
        assert_eq!(
            sim.stats()["faults"][fault.name()],
            2 - u64::from(fault == Fault::Throttle)
        );
        sim.stop().await;
    }
    // reset: no response at all; the server keeps serving.
    let sim = faulty(Fault::Reset).await;
    let err = http()
        .get(format!("{}{sellers}", sim.base_url()))
        .send()
        .await
        .unwrap_err();
    assert!(!err.is_status(), "{err}");
    let stats = stats_over_http(&sim).await;
    assert_eq!(stats["faults"]["reset"], 1);
    sim.stop().await;
    // slow: correct answer, late.
    let sim = faulty(Fault::Slow).await;
    let api = Api::new(&sim).await;
    let t0 = std::time::Instant::now();
    let r = api.raw_get(sellers).await;
    assert!(t0.elapsed() >= Duration::from_millis(50));
    assert_eq!(r.status, 200);
    assert_eq!(sim.stats()["faults"]["slow"], 2);
    sim.stop().await;
    // truncate: downloads only; the body is cut short under an honest Content-Length.
    let sim = faulty(Fault::Truncate).await;
    let d = first_document(&sim).await;
    assert_eq!(d.status(), 200);
    let declared: usize = d.headers()["content-length"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(declared > 100);
    assert!(d.bytes().await.is_err(), "the truncated body fails to read");
    sim.stop().await;
    // expired-url: getReportDocument hands out a dead URL.
    let sim = faulty(Fault::ExpiredUrl).await;
    let d = first_document(&sim).await;
    assert_eq!(d.status(), 403);
    assert!(d.text().await.unwrap().contains("Request has expired"));
    sim.stop().await;
}

#[tokio::test]
async fn faults_are_deterministic_for_a_seed() {
    async fn statuses() -> Vec<u16> {
        let mut cfg = config();
        cfg.fault_rate = 0.4;
        cfg.faults = vec![Fault::ServerError, Fault::Unavailable, Fault::Throttle];
        let sim = spawn(cfg).await;
        let c = http();
        let mut token = None;
        while token.is_none() {
            let r = lwa(&c, &sim).await;
            if r.status() == 200 {
                let v: Value = r.json().await.unwrap();
                token = Some(v["access_token"].as_str().unwrap().to_string());
            }
        }
        let api = Api {
            c,
            sim: &sim,
            token: token.unwrap(),
        };
        let mut out = Vec::new();
        for _ in 0..12 {
            out.push(
                api.raw_get("/sellers/v1/marketplaceParticipations")
                    .await
                    .status
                    .as_u16(),
            );
        }
        sim.stop().await;
        out
    }
    let a = statuses().await;
    assert_eq!(a, statuses().await);
    assert!(a.contains(&200) && a.iter().any(|s| *s != 200), "{a:?}");
}

#[test]
fn parsing_helpers() {
    assert_eq!(
        Fault::parse_list("429,500,503,reset,slow,truncate,expired-url")
            .unwrap()
            .len(),
        7
    );
    assert!(Fault::parse_list("429,teapot").is_err());
    assert_eq!(
        Scenario::parse("unmapped-fee:de").unwrap(),
        Scenario::UnmappedFee {
            marketplace: "DE".into(),
            description: "NewFeeType2026".into(),
            amount: Decimal::new(-123, 2)
        }
    );
    assert!(Scenario::parse("negative").is_err());
}

#[test]
fn cli_prints_listening_first_and_documents_every_flag() {
    let exe = env!("CARGO_BIN_EXE_ml-connector");
    let help = std::process::Command::new(exe)
        .args(["sim", "amazon", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    for flag in [
        "--port",
        "--seed",
        "--marketplaces",
        "--history-days",
        "--time-scale",
        "--client-id",
        "--client-secret",
        "--refresh-token",
        "--fault-rate",
        "--faults",
        "--gzip",
        "--scenario",
    ] {
        assert!(help.contains(flag), "--help lacks {flag}");
    }
    assert!(help.contains("[default: US,CA,DE]") && help.contains("[default: 90]"));

    let mut child = std::process::Command::new(exe)
        .args(["sim", "amazon", "--port", "0", "--seed", "3"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let v: Value = serde_json::from_str(line.trim()).unwrap();
    let addr = v["listening"].as_str().unwrap().to_string();
    assert!(addr.starts_with("127.0.0.1:"));
    let stats = std::net::TcpStream::connect(&addr).is_ok();
    child.kill().unwrap();
    let _ = child.wait();
    assert!(stats, "the printed address accepts connections");
}

/// The project's own SP-API client (a separate implementation) against the simulator:
/// both regions' settlements arrive, parse and add up to the truth.
#[tokio::test]
async fn the_project_client_fetches_every_settlement() {
    use ml_connector::amazon::reports::ReportsQuery;
    use ml_connector::amazon::{LwaCredentials, SpApiClient};
    let sim = spawn(config()).await;
    let truth = sim.truth();
    for (region, sim_region, ids) in [
        (
            ml_connector::amazon::Region::NorthAmerica,
            amazon::Region::Na,
            vec![US, CA],
        ),
        (
            ml_connector::amazon::Region::Europe,
            amazon::Region::Eu,
            vec![DE],
        ),
    ] {
        let credentials = LwaCredentials::new(
            amazon::DEFAULT_CLIENT_ID,
            amazon::DEFAULT_CLIENT_SECRET,
            amazon::DEFAULT_REFRESH_TOKEN,
        );
        let client = SpApiClient::builder(credentials, region)
            .base_url(sim.endpoint(sim_region))
            .token_url(sim.token_url())
            .build()
            .unwrap();
        let fetched = client
            .fetch_settlements(ReportsQuery::settlements(), 2)
            .await
            .unwrap();
        let expected: Vec<_> = truth
            .settlements
            .iter()
            .filter(|s| ids.contains(&s.marketplace_id.as_str()))
            .collect();
        // getReports looks back 90 days at most: older settlements are not listed.
        let oldest = sim.now() - chrono::Duration::days(90);
        let listed = expected
            .iter()
            .filter(|s| {
                DateTime::parse_from_rfc3339(&s.end).unwrap() + chrono::Duration::minutes(45)
                    >= oldest
            })
            .count();
        assert_eq!(fetched.len(), listed);
        for f in &fetched {
            assert!(f.total_matches());
            let s = expected
                .iter()
                .find(|s| s.settlement_id == f.parsed.summary.settlement_id)
                .expect("a settlement the simulator made");
            assert_eq!(f.parsed.summary.total_amount, s.total_amount);
            assert_eq!(f.downloads, 1);
        }
        // Its Finances model keeps every event: the group sums to the settlement.
        for s in expected.iter().rev().take(3) {
            let events = client
                .all_events_of_group(&s.financial_event_group_id, 100)
                .await
                .unwrap();
            let json = serde_json::to_value(&events).unwrap();
            assert_eq!(events_sum(&json) + s.carried_balance, s.total_amount);
        }
        // Its Orders paging (filters repeated with NextToken) walks every order.
        use futures::TryStreamExt;
        let since = start_time() - chrono::Duration::days(30);
        let mut query = ml_connector::amazon::orders::OrdersQuery::created_after(ids[0], since);
        query.max_results_per_page = Some(25);
        let pages: Vec<_> = client.orders(query, None).try_collect().await.unwrap();
        let got: usize = pages.iter().map(|p| p.items.len()).sum();
        let cutoff = sim.now() - chrono::Duration::minutes(2);
        let want = truth
            .orders
            .iter()
            .filter(|o| {
                let t = DateTime::parse_from_rfc3339(&o.purchase_date).unwrap();
                o.marketplace_id == ids[0] && t >= since && t < cutoff
            })
            .count();
        assert_eq!(got, want);
        assert!(pages.len() > 1);
    }
    sim.stop().await;
}
