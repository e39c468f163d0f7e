//! The SP-API client against Amazon's sandbox vectors and small scripted servers on
//! 127.0.0.1:0 (never the network): parsing, LWA, pacing, retries, errors, downloads.

#[path = "common/require.rs"]
mod require;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Duration as ChronoDuration, TimeZone, Utc};
use futures::TryStreamExt;
use ml_connector::amazon::finances::{EventGroupsQuery, EventsQuery};
use ml_connector::amazon::models::reports::ProcessingStatus;
use ml_connector::amazon::orders::OrdersQuery;
use ml_connector::amazon::reports::ReportsQuery;
use ml_connector::amazon::{
    Backoff, Error, LwaCredentials, ManualClock, Operation, RateLimiter, Region, SpApiClient,
};
use rust_decimal::Decimal;
use serde_json::Value;
use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

// ---------------------------------------------------------------------------------------
// A scripted HTTP server

#[derive(Debug, Clone)]
struct Req {
    method: String,
    path: String,
    query: Vec<(String, String)>,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Req {
    fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Clone)]
struct Reply {
    status: u16,
    body: Vec<u8>,
    headers: Vec<(String, String)>,
    delay: Duration,
}

impl Reply {
    fn json(status: u16, body: impl Into<String>) -> Reply {
        Reply {
            status,
            body: body.into().into_bytes(),
            headers: vec![
                ("content-type".into(), "application/json".into()),
                ("x-amzn-RequestId".into(), "req-0001".into()),
            ],
            delay: Duration::ZERO,
        }
    }

    fn header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.into(), value.into()));
        self
    }
}

type Handler = Arc<dyn Fn(&Req) -> Reply + Send + Sync>;

#[derive(Clone)]
struct ServerState {
    handler: Handler,
    log: Arc<Mutex<Vec<Req>>>,
}

struct Server {
    base: String,
    log: Arc<Mutex<Vec<Req>>>,
}

impl Server {
    fn requests(&self) -> Vec<Req> {
        self.log.lock().unwrap().clone()
    }

    fn count(&self, path_prefix: &str) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.path.starts_with(path_prefix))
            .count()
    }
}

async fn handle(State(state): State<ServerState>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default()
        .to_vec();
    let query = parts
        .uri
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let recorded = Req {
        method: parts.method.to_string(),
        path: parts.uri.path().to_string(),
        query,
        headers: parts.headers.clone(),
        body,
    };
    state.log.lock().unwrap().push(recorded.clone());
    let reply = (state.handler)(&recorded);
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    let mut resp = Response::new(Body::from(reply.body));
    *resp.status_mut() = StatusCode::from_u16(reply.status).unwrap();
    for (k, v) in reply.headers {
        resp.headers_mut().append(
            axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            HeaderValue::from_str(&v).unwrap(),
        );
    }
    resp
}

async fn serve(handler: impl Fn(&Req) -> Reply + Send + Sync + 'static) -> Server {
    let log = Arc::new(Mutex::new(Vec::new()));
    let state = ServerState {
        handler: Arc::new(handler),
        log: log.clone(),
    };
    let app = axum::Router::new().fallback(handle).with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app).await.ok();
    });
    Server {
        base: format!("http://{addr}"),
        log,
    }
}

const TOKEN_OK: &str = r#"{"access_token":"Atza|access-1","token_type":"bearer","expires_in":3600,"refresh_token":"Atzr|refresh-SECRET"}"#;

fn token_reply() -> Reply {
    Reply::json(200, TOKEN_OK)
}

const CLIENT_SECRET: &str = "client-SECRET-value";
const REFRESH_TOKEN: &str = "Atzr|refresh-SECRET";

fn credentials() -> LwaCredentials {
    LwaCredentials::new(
        "amzn1.application-oa2-client.test",
        CLIENT_SECRET,
        REFRESH_TOKEN,
    )
}

fn fast_retry(max_attempts: u32) -> Backoff {
    Backoff {
        max_attempts,
        base: Duration::from_millis(1),
        cap: Duration::from_millis(5),
    }
}

fn client_for(server: &Server) -> SpApiClient {
    SpApiClient::builder(credentials(), Region::NorthAmerica)
        .base_url(&server.base)
        .token_url(format!("{}/auth/o2/token", server.base))
        // Pacing is tested on its own; here a 429's emptied bucket refills 1000× faster.
        .limiter(Arc::new(RateLimiter::with_time_scale(1000.0)))
        .retry(fast_retry(5))
        .build()
        .unwrap()
}

/// Serves `api` for SP-API paths and a valid token for the LWA path.
async fn serve_api(api: impl Fn(&Req) -> Reply + Send + Sync + 'static) -> Server {
    serve(move |req| {
        if req.path == "/auth/o2/token" {
            token_reply()
        } else {
            api(req)
        }
    })
    .await
}

// ---------------------------------------------------------------------------------------
// Amazon's sandbox vectors

fn sandbox_dir() -> Option<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    // `../shared` is the documented place; a worktree one level deeper finds it at `../../shared`.
    [root.join("../shared"), root.join("../../shared")]
        .into_iter()
        .map(|p| p.join("reference/sp-api/sandbox"))
        .find(|p| p.is_dir())
}

/// Operations the client does not call (restricted data, writes, schedules, the newer
/// Finances API); their vectors are listed so a new file in the folder fails this test.
const NOT_CALLED: &[&str] = &[
    "orders-v0.confirmShipment.json",
    "orders-v0.getOrderAddress.json",
    "orders-v0.getOrderBuyerInfo.json",
    "orders-v0.getOrderItemsBuyerInfo.json",
    "orders-v0.getOrderRegulatedInfo.json",
    "orders-v0.updateShipmentStatus.json",
    "orders-v0.updateVerificationStatus.json",
    "reports-2021-06-30.cancelReport.json",
    "reports-2021-06-30.cancelReportSchedule.json",
    "reports-2021-06-30.createReport.json",
    "reports-2021-06-30.createReportSchedule.json",
    "reports-2021-06-30.getReportSchedule.json",
    "reports-2021-06-30.getReportSchedules.json",
    "sellers-v1.getAccount.json",
    "finances-2024-06-19.listBalances.json",
    "finances-2024-06-19.listSummary.json",
    "finances-2024-06-19.listTransactions.json",
];

fn param_value(element: &Value, name: &str) -> Option<String> {
    let v = element.pointer(&format!("/request/parameters/{name}/value"))?;
    Some(match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    })
}

/// Serves one vector file: a request carrying a NextToken gets the element with that
/// token; anything else gets element `index`.
async fn serve_vectors(elements: Arc<Vec<Value>>, index: usize) -> Server {
    serve_api(move |req| {
        let token = req.param("NextToken").or(req.param("nextToken"));
        let chosen = token
            .and_then(|t| {
                elements.iter().find(|e| {
                    param_value(e, "NextToken").as_deref() == Some(t)
                        || param_value(e, "nextToken").as_deref() == Some(t)
                })
            })
            .unwrap_or(&elements[index]);
        let status = chosen["status"].as_u64().unwrap() as u16;
        let body = chosen
            .get("response")
            .map(|r| r.to_string())
            .unwrap_or_default();
        Reply::json(status, body).header("x-amzn-RateLimit-Limit", "0.5")
    })
    .await
}

/// Calls the client operation a vector file belongs to; returns a short summary.
async fn call_vector(file: &str, element: &Value, client: &SpApiClient) -> Result<String, Error> {
    let since = Utc.with_ymd_and_hms(2019, 10, 1, 0, 0, 0).unwrap();
    match file {
        "orders-v0.getOrders.json" => {
            let query = OrdersQuery::created_after("ATVPDKIKX0DER", since);
            if let Some(token) = param_value(element, "NextToken") {
                let page = client.orders_page(&query, Some(&token)).await?;
                return Ok(format!("{} orders", page.items.len()));
            }
            let pages: Vec<_> = client.orders(query, None).try_collect().await?;
            let orders: Vec<_> = pages.into_iter().flat_map(|p| p.items).collect();
            for o in &orders {
                assert!(o.purchase_date.at().is_some(), "{}", o.amazon_order_id);
            }
            Ok(format!("{} orders", orders.len()))
        }
        "orders-v0.getOrder.json" => {
            let order = client
                .order(&param_value(element, "orderId").unwrap())
                .await?;
            Ok(format!(
                "order {} total {:?}",
                order.amazon_order_id,
                order.order_total.map(|m| m.amount)
            ))
        }
        "orders-v0.getOrderItems.json" => {
            let items = client
                .order_items(&param_value(element, "orderId").unwrap())
                .await?;
            Ok(format!("{} items", items.len()))
        }
        "finances-v0.listFinancialEventGroups.json" => {
            let page = client
                .financial_event_groups_page(&EventGroupsQuery::default(), None)
                .await?;
            Ok(format!("{} groups", page.items.len()))
        }
        "finances-v0.listFinancialEventsByGroupId.json" => {
            let group = param_value(element, "eventGroupId").unwrap();
            let mut pages = client.financial_events_by_group(group, EventsQuery::default(), None);
            let page = pages.try_next().await?.expect("one page");
            // Every documented list is typed: nothing from the sandbox ends up raw.
            assert!(page.events.other.is_empty(), "{:?}", page.events.other);
            Ok(format!("{} events", page.events.len()))
        }
        "finances-v0.listFinancialEventsByOrderId.json" => {
            let order = param_value(element, "orderId").unwrap_or_else(|| "X".into());
            let mut pages = client.financial_events_by_order(order, None);
            let page = pages.try_next().await?.expect("one page");
            // Every documented list is typed: nothing from the sandbox ends up raw.
            assert!(page.events.other.is_empty(), "{:?}", page.events.other);
            Ok(format!("{} events", page.events.len()))
        }
        "finances-v0.listFinancialEvents.json" => {
            let mut pages =
                client.financial_events(EventsQuery::default(), param_value(element, "NextToken"));
            let page = pages.try_next().await?.expect("one page");
            // Every documented list is typed: nothing from the sandbox ends up raw.
            assert!(page.events.other.is_empty(), "{:?}", page.events.other);
            Ok(format!("{} events", page.events.len()))
        }
        "reports-2021-06-30.getReports.json" => {
            let page = client
                .reports_page(&ReportsQuery::settlements(), None)
                .await?;
            Ok(format!(
                "{} reports, next {:?}",
                page.items.len(),
                page.next_token
            ))
        }
        "reports-2021-06-30.getReport.json" => {
            let report = client
                .report(&param_value(element, "reportId").unwrap())
                .await?;
            Ok(format!(
                "report {} {}",
                report.report_id, report.processing_status
            ))
        }
        "reports-2021-06-30.getReportDocument.json" => {
            let doc = client
                .report_document(&param_value(element, "reportDocumentId").unwrap())
                .await?;
            Ok(format!("{doc:?}"))
        }
        "sellers-v1.getMarketplaceParticipations.json" => {
            let list = client.marketplace_participations().await?;
            Ok(format!("{} marketplaces", list.len()))
        }
        other => panic!("no client call for {other}"),
    }
}

#[tokio::test]
async fn every_sandbox_vector_is_served_and_parsed() {
    let Some(dir) = sandbox_dir() else {
        require::missing("../shared/reference/sp-api/sandbox");
        return;
    };
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    files.sort();
    let mut checked = 0;
    for file in files {
        if NOT_CALLED.contains(&file.as_str()) {
            continue;
        }
        let elements: Vec<Value> =
            serde_json::from_slice(&std::fs::read(dir.join(&file)).unwrap()).unwrap();
        let elements = Arc::new(elements);
        for (index, element) in elements.iter().enumerate() {
            let server = serve_vectors(elements.clone(), index).await;
            let client = client_for(&server);
            let status = element["status"].as_u64().unwrap();
            let result = call_vector(&file, element, &client).await;
            match (status, result) {
                (200..=299, Ok(summary)) => eprintln!("{file}[{index}]: {summary}"),
                (200..=299, Err(e)) => panic!("{file}[{index}] failed to parse: {e}"),
                (_, Ok(summary)) => panic!("{file}[{index}] expected HTTP {status}, got {summary}"),
                (_, Err(e)) => {
                    let expected_code = element
                        .pointer("/response/errors/0/code")
                        .and_then(Value::as_str)
                        .unwrap();
                    assert_eq!(e.amazon_code(), Some(expected_code), "{file}[{index}]: {e}");
                    assert_eq!(e.request_id(), Some("req-0001"), "{file}[{index}]");
                    // A 4xx is surfaced at once, never retried.
                    assert_eq!(
                        server
                            .requests()
                            .iter()
                            .filter(|r| r.path != "/auth/o2/token")
                            .count(),
                        1
                    );
                }
            }
            checked += 1;
        }
    }
    assert!(checked >= 20, "only {checked} vectors checked");
}

#[test]
fn sandbox_folder_has_no_unknown_files() {
    let Some(dir) = sandbox_dir() else {
        require::missing("../shared/reference/sp-api/sandbox");
        return;
    };
    let called = [
        "orders-v0.getOrders.json",
        "orders-v0.getOrder.json",
        "orders-v0.getOrderItems.json",
        "finances-v0.listFinancialEventGroups.json",
        "finances-v0.listFinancialEventsByGroupId.json",
        "finances-v0.listFinancialEventsByOrderId.json",
        "finances-v0.listFinancialEvents.json",
        "reports-2021-06-30.getReports.json",
        "reports-2021-06-30.getReport.json",
        "reports-2021-06-30.getReportDocument.json",
        "sellers-v1.getMarketplaceParticipations.json",
    ];
    for entry in std::fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            called.contains(&name.as_str()) || NOT_CALLED.contains(&name.as_str()),
            "new sandbox file {name}: add it to the vector test"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Inline fixtures (run without ../shared)

const ORDERS_PAGE_1: &str = r#"{"payload":{"NextToken":"page-2","CreatedBefore":"1.569521782042E9","Orders":[
  {"AmazonOrderId":"902-1845936-5435065","PurchaseDate":"1970-01-19T03:58:30Z","LastUpdateDate":"2019-05-07T15:42:57.058Z",
   "OrderStatus":"Shipped","FulfillmentChannel":"AFN","OrderTotal":{"CurrencyCode":"USD","Amount":"11.01"},
   "MarketplaceId":"ATVPDKIKX0DER","IsPrime":"false","NumberOfItemsShipped":1,"SomethingNew":{"x":1}}]}}"#;
const ORDERS_PAGE_2: &str = r#"{"payload":{"Orders":[
  {"AmazonOrderId":"902-3159896-1390916","PurchaseDate":"2017-01-20T19:49:35Z","LastUpdateDate":"2017-01-20T19:49:35Z",
   "OrderStatus":"OnTheMoon","FulfillmentChannel":"XFN"}]}}"#;

#[tokio::test]
async fn inline_orders_pages_follow_next_token_with_filters() {
    let server = serve_api(|req| match req.param("NextToken") {
        None => Reply::json(200, ORDERS_PAGE_1),
        Some("page-2") => Reply::json(200, ORDERS_PAGE_2),
        Some(other) => Reply::json(
            400,
            format!(r#"{{"errors":[{{"code":"InvalidInput","message":"bad token {other}"}}]}}"#),
        ),
    })
    .await;
    let client = client_for(&server);
    let after = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let pages: Vec<_> = client
        .orders(OrdersQuery::created_after("ATVPDKIKX0DER", after), None)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(pages.len(), 2);
    assert_eq!(pages[0].next_token.as_deref(), Some("page-2"));
    assert_eq!(pages[1].next_token, None);
    let first = &pages[0].items[0];
    assert_eq!(
        first.order_total.as_ref().unwrap().amount,
        Decimal::from_str("11.01").unwrap()
    );
    assert_eq!(first.is_prime, Some(false));
    let second = &pages[1].items[0];
    assert_eq!(second.order_status.as_str(), "OnTheMoon");
    assert!(!second.order_status.is_known());
    assert_eq!(second.fulfillment_channel.as_ref().unwrap().as_str(), "XFN");
    // The token does not replace the filters.
    let reqs: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.path == "/orders/v0/orders")
        .collect();
    assert_eq!(reqs.len(), 2);
    for r in &reqs {
        assert_eq!(r.param("MarketplaceIds"), Some("ATVPDKIKX0DER"));
        assert_eq!(r.param("CreatedAfter"), Some("2026-01-01T00:00:00Z"));
    }
    assert_eq!(reqs[1].param("NextToken"), Some("page-2"));
    // Resuming from a saved cursor starts at that page.
    let resumed: Vec<_> = client
        .orders(
            OrdersQuery::created_after("ATVPDKIKX0DER", after),
            Some("page-2".into()),
        )
        .try_collect()
        .await
        .unwrap();
    assert_eq!(resumed.len(), 1);
    assert_eq!(resumed[0].items[0].amazon_order_id, "902-3159896-1390916");
}

const EVENTS_PAGE: &str = r#"{"payload":{"NextToken":"n2","FinancialEvents":{
  "ShipmentEventList":[{"AmazonOrderId":"111-1","PostedDate":"2026-03-02T10:00:00Z","ShipmentItemList":[
     {"SellerSKU":"SKU1","QuantityShipped":1,"ItemChargeList":[
        {"ChargeType":"Principal","ChargeAmount":{"CurrencyCode":"USD","CurrencyAmount":0.1}},
        {"ChargeType":"Tax","ChargeAmount":{"CurrencyCode":"USD","CurrencyAmount":12345678901234567.89}}],
      "ItemFeeList":[{"FeeType":"Commission","FeeAmount":{"CurrencyCode":"USD","CurrencyAmount":-1.5E+0}}]}]}],
  "BrandNewEventList":[{"Amount":{"CurrencyCode":"USD","CurrencyAmount":1.10}}],
  "AdjustmentEventList":"not a list"}}}"#;
const EVENTS_EMPTY_WITH_TOKEN: &str = r#"{"payload":{"NextToken":"n3","FinancialEvents":{}}}"#;
const EVENTS_LAST: &str =
    r#"{"payload":{"FinancialEvents":{"ServiceFeeEventList":[{"FeeReason":"x","FeeList":[]}]}}}"#;

#[tokio::test]
async fn inline_financial_events_exact_and_lenient() {
    let server = serve_api(|req| match req.param("NextToken") {
        None => Reply::json(200, EVENTS_PAGE),
        Some("n2") => Reply::json(200, EVENTS_EMPTY_WITH_TOKEN),
        Some(_) => Reply::json(200, EVENTS_LAST),
    })
    .await;
    let client = client_for(&server);
    let pages: Vec<_> = client
        .financial_events_by_group("G1", EventsQuery::default(), None)
        .try_collect()
        .await
        .unwrap();
    // An empty page with a token does not end the listing.
    assert_eq!(pages.len(), 3);
    assert!(pages[1].events.is_empty());
    assert_eq!(pages[2].events.service_fee.len(), 1);
    let events = &pages[0].events;
    let charges = &events.shipment[0].items[0].item_charges;
    assert_eq!(
        charges[0].amount.as_ref().unwrap().amount.to_string(),
        "0.1"
    );
    assert_eq!(
        charges[1].amount.as_ref().unwrap().amount.to_string(),
        "12345678901234567.89"
    );
    assert_eq!(
        events.shipment[0].items[0].item_fees[0]
            .amount
            .as_ref()
            .unwrap()
            .amount,
        Decimal::from_str("-1.5").unwrap()
    );
    // Unknown and malformed lists are kept verbatim, never dropped.
    let unknown = events
        .other
        .iter()
        .find(|r| r.name == "BrandNewEventList")
        .unwrap();
    assert!(unknown.json.contains("1.10") && unknown.problem.is_none());
    let odd = events
        .other
        .iter()
        .find(|r| r.name == "AdjustmentEventList")
        .unwrap();
    assert!(odd.problem.is_some());
    assert_eq!(
        events.latest_posted_date().unwrap().to_rfc3339(),
        "2026-03-02T10:00:00+00:00"
    );
    // Round trip through the stored form keeps every amount and list.
    let stored = serde_json::to_string(events).unwrap();
    assert!(stored.contains("12345678901234567.89"));
    let back: ml_connector::amazon::models::finances::FinancialEvents =
        serde_json::from_str(&stored).unwrap();
    assert_eq!(back.shipment, events.shipment);
    assert_eq!(back.other.len(), 2);
    let reqs: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.path.starts_with("/finances"))
        .collect();
    assert_eq!(
        reqs[0].path,
        "/finances/v0/financialEventGroups/G1/financialEvents"
    );
    assert_eq!(reqs[0].param("MaxResultsPerPage"), Some("100"));
}

#[tokio::test]
async fn inline_groups_sellers_and_reports_paging() {
    let server = serve_api(|req| match req.path.as_str() {
        "/finances/v0/financialEventGroups" => Reply::json(
            200,
            r#"{"payload":{"FinancialEventGroupList":[{"FinancialEventGroupId":"G1","ProcessingStatus":"PROCESSED",
              "FundTransferStatus":"TRANSFERED","OriginalTotal":{"CurrencyCode":"USD","CurrencyAmount":10.34},
              "FinancialEventGroupStart":"2019-10-13","FinancialEventGroupEnd":"2019-10-27T00:00:00Z"}]}}"#,
        ),
        "/sellers/v1/marketplaceParticipations" => Reply::json(
            200,
            r#"{"payload":[{"marketplace":{"id":"A2EUQ1WTGCTBG2","countryCode":"CA","name":"Amazon.ca","defaultCurrencyCode":"CAD",
              "defaultLanguageCode":"en_CA","domainName":"www.amazon.ca"},"storeName":"S","participation":{"isParticipating":true,"hasSuspendedListings":false}}]}"#,
        ),
        "/reports/2021-06-30/reports" => match req.param("nextToken") {
            None => Reply::json(
                200,
                r#"{"nextToken":"tok==","reports":[{"reportId":"R1","reportType":"GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2",
                   "createdTime":"2026-03-15T01:00:00Z","processingStatus":"DONE","reportDocumentId":"D1"}]}"#,
            ),
            Some(_) => Reply::json(
                200,
                r#"{"reports":[{"reportId":"R2","reportType":"GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2",
                   "createdTime":"2026-03-01T01:00:00Z","processingStatus":"SOMETHING_NEW"}]}"#,
            ),
        },
        _ => Reply::json(404, r#"{"errors":[{"code":"NotFound","message":"no"}]}"#),
    })
    .await;
    let client = client_for(&server);
    let groups = client
        .financial_event_groups_page(&EventGroupsQuery::default(), None)
        .await
        .unwrap();
    let g = &groups.items[0];
    assert_eq!(
        g.original_total.as_ref().unwrap().amount.to_string(),
        "10.34"
    );
    assert_eq!(g.processing_status.as_ref().unwrap().as_str(), "PROCESSED");
    assert!(g.start.as_ref().unwrap().at().is_some());
    let sellers = client.marketplace_participations().await.unwrap();
    assert_eq!(sellers[0].marketplace.default_currency_code, "CAD");
    let query = ReportsQuery {
        created_since: Some(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()),
        ..ReportsQuery::settlements()
    };
    let pages: Vec<_> = client.reports(query, None).try_collect().await.unwrap();
    assert_eq!(pages.len(), 2);
    assert_eq!(pages[0].items[0].processing_status, ProcessingStatus::Done);
    assert_eq!(
        pages[1].items[0].processing_status.as_str(),
        "SOMETHING_NEW"
    );
    let reqs: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.path == "/reports/2021-06-30/reports")
        .collect();
    assert_eq!(
        reqs[0].param("reportTypes"),
        Some("GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2,GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE")
    );
    assert_eq!(reqs[0].param("createdSince"), Some("2026-01-01T00:00:00Z"));
    // nextToken goes alone: any other parameter makes Amazon fail the call.
    assert_eq!(
        reqs[1].query,
        vec![("nextToken".to_string(), "tok==".to_string())]
    );
}

// ---------------------------------------------------------------------------------------
// Login with Amazon

fn manual_clock() -> Arc<ManualClock> {
    let now = Utc::now();
    Arc::new(ManualClock::new(
        DateTime::from_timestamp(now.timestamp(), 0).unwrap(),
    ))
}

fn http_date(at: DateTime<Utc>) -> String {
    httpdate::fmt_http_date(at.into())
}

#[tokio::test]
async fn lwa_token_cached_and_refreshed_60s_before_expiry() {
    let clock = manual_clock();
    let server_clock = clock.clone();
    let exchanges = Arc::new(AtomicUsize::new(0));
    let counter = exchanges.clone();
    let server = serve(move |req| {
        let date = http_date(ml_connector::amazon::Clock::now(&*server_clock));
        if req.path == "/auth/o2/token" {
            let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
            Reply::json(
                200,
                format!(
                    r#"{{"access_token":"Atza|token-{n}","token_type":"bearer","expires_in":3600}}"#
                ),
            )
            .header("date", &date)
        } else {
            let token = req
                .headers
                .get("x-amz-access-token")
                .unwrap()
                .to_str()
                .unwrap()
                .to_string();
            Reply::json(200, r#"{"payload":[]}"#)
                .header("date", &date)
                .header("x-token-seen", &token)
        }
    })
    .await;
    let client = SpApiClient::builder(credentials(), Region::NorthAmerica)
        .base_url(&server.base)
        .token_url(format!("{}/auth/o2/token", server.base))
        .limiter(Arc::new(RateLimiter::new()))
        .clock(clock.clone())
        .retry(fast_retry(3))
        .build()
        .unwrap();
    let seen = |server: &Server| {
        server
            .requests()
            .iter()
            .filter(|r| r.path != "/auth/o2/token")
            .map(|r| {
                r.headers
                    .get("x-amz-access-token")
                    .unwrap()
                    .to_str()
                    .unwrap()
                    .to_string()
            })
            .collect::<Vec<_>>()
    };
    client.marketplace_participations().await.unwrap();
    client.marketplace_participations().await.unwrap();
    assert_eq!(exchanges.load(Ordering::SeqCst), 1);
    // 3539 s in: 61 s left, still used.
    clock.advance(ChronoDuration::seconds(3539));
    client.marketplace_participations().await.unwrap();
    assert_eq!(exchanges.load(Ordering::SeqCst), 1);
    // 3541 s in: inside the 60 s margin, refreshed.
    clock.advance(ChronoDuration::seconds(2));
    client.marketplace_participations().await.unwrap();
    assert_eq!(exchanges.load(Ordering::SeqCst), 2);
    assert_eq!(
        seen(&server),
        [
            "Atza|token-1",
            "Atza|token-1",
            "Atza|token-1",
            "Atza|token-2"
        ]
    );
    // The exchange is the documented form POST.
    let token_req = server
        .requests()
        .into_iter()
        .find(|r| r.path == "/auth/o2/token")
        .unwrap();
    assert_eq!(token_req.method, "POST");
    let form: HashMap<String, String> = url::form_urlencoded::parse(&token_req.body)
        .into_owned()
        .collect();
    assert_eq!(form["grant_type"], "refresh_token");
    assert_eq!(form["refresh_token"], REFRESH_TOKEN);
    assert_eq!(form["client_secret"], CLIENT_SECRET);
    assert_eq!(client.stats().token_exchanges, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lwa_refresh_is_single_flight() {
    let exchanges = Arc::new(AtomicUsize::new(0));
    let counter = exchanges.clone();
    let server = serve(move |req| {
        if req.path == "/auth/o2/token" {
            counter.fetch_add(1, Ordering::SeqCst);
            let mut r = token_reply();
            r.delay = Duration::from_millis(150);
            r
        } else {
            Reply::json(200, r#"{"payload":[]}"#)
        }
    })
    .await;
    let client = client_for(&server);
    let tasks: Vec<_> = (0..12)
        .map(|_| {
            let c = client.clone();
            tokio::spawn(async move { c.marketplace_participations().await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(exchanges.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn lwa_invalid_grant_asks_for_reauthorisation_and_is_never_retried() {
    let server = serve(|req| {
        if req.path == "/auth/o2/token" {
            Reply::json(
                400,
                r#"{"error_description":"The request has an invalid grant parameter : refresh_token","error":"invalid_grant","request_id":"x"}"#,
            )
        } else {
            Reply::json(200, r#"{"payload":[]}"#)
        }
    })
    .await;
    let client = client_for(&server);
    for _ in 0..3 {
        let err = client.marketplace_participations().await.unwrap_err();
        assert!(
            matches!(
                err,
                Error::ReauthoriseSeller {
                    region: Region::NorthAmerica,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.needs_user_action());
        let text = err.to_string();
        assert!(text.contains("Re-authorise the seller"), "{text}");
        assert!(!text.contains(REFRESH_TOKEN) && !text.contains(CLIENT_SECRET));
    }
    assert_eq!(server.count("/auth/o2/token"), 1);
    assert_eq!(server.count("/sellers"), 0);
}

#[tokio::test]
async fn lwa_invalid_client_is_surfaced_without_retry() {
    let server = serve(|_| {
        Reply::json(
            401,
            r#"{"error":"invalid_client","error_description":"Client authentication failed"}"#,
        )
    })
    .await;
    let client = client_for(&server);
    let err = client.authenticate().await.unwrap_err();
    assert_eq!(err.amazon_code(), Some("invalid_client"));
    assert_eq!(server.count("/auth/o2/token"), 1);
}

#[tokio::test]
async fn secrets_never_in_debug_or_errors() {
    let creds = credentials();
    let debug = format!("{creds:?}");
    assert!(
        !debug.contains(CLIENT_SECRET)
            && !debug.contains(REFRESH_TOKEN)
            && !debug.contains("oa2-client")
    );
    let server = serve(|req| {
        if req.path == "/auth/o2/token" {
            Reply::json(500, "oops")
        } else {
            Reply::json(200, "{}")
        }
    })
    .await;
    let client = client_for(&server);
    let err = client.marketplace_participations().await.unwrap_err();
    let text = format!("{err} {err:?} {client:?}");
    assert!(
        !text.contains(CLIENT_SECRET) && !text.contains(REFRESH_TOKEN),
        "{text}"
    );
    assert!(
        matches!(err, Error::RetriesExhausted { attempts: 5, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn expired_access_token_is_replaced_once() {
    let exchanges = Arc::new(AtomicUsize::new(0));
    let counter = exchanges.clone();
    let server = serve(move |req| {
        if req.path == "/auth/o2/token" {
            let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
            Reply::json(200, format!(r#"{{"access_token":"Atza|t{n}","expires_in":3600}}"#))
        } else if req.headers.get("x-amz-access-token").unwrap() == "Atza|t1" {
            Reply::json(
                403,
                r#"{"errors":[{"code":"Unauthorized","message":"The security token included in the request is expired","details":""}]}"#,
            )
        } else {
            Reply::json(200, r#"{"payload":[]}"#)
        }
    })
    .await;
    let client = client_for(&server);
    client.marketplace_participations().await.unwrap();
    assert_eq!(exchanges.load(Ordering::SeqCst), 2);
}

// ---------------------------------------------------------------------------------------
// Retries and errors

#[tokio::test]
async fn retries_429_500_503_then_succeeds() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let server = serve_api(move |_| {
        let n = counter.fetch_add(1, Ordering::SeqCst);
        match n {
            0 => Reply::json(429, r#"{"errors":[{"code":"QuotaExceeded","message":"You exceeded your quota for the requested resource.","details":""}]}"#),
            1 => Reply::json(500, r#"{"errors":[{"code":"InternalFailure","message":"x"}]}"#),
            2 => Reply::json(503, "Service Unavailable"),
            _ => Reply::json(200, r#"{"payload":[]}"#),
        }
    })
    .await;
    let client = client_for(&server);
    client.marketplace_participations().await.unwrap();
    let stats = client.stats().operations[&Operation::GetMarketplaceParticipations];
    assert_eq!(
        (stats.requests, stats.throttled, stats.transient_failures),
        (4, 1, 2)
    );
}

#[tokio::test]
async fn retries_are_bounded() {
    let server = serve_api(|_| Reply::json(503, "")).await;
    let client = client_for(&server);
    let err = client.marketplace_participations().await.unwrap_err();
    assert!(
        matches!(err, Error::RetriesExhausted { attempts: 5, .. }),
        "{err}"
    );
    assert_eq!(err.request_id(), Some("req-0001"));
    assert_eq!(server.count("/sellers"), 5);
}

#[tokio::test]
async fn other_4xx_surface_code_and_request_id_without_retry() {
    let server = serve_api(|_| {
        Reply::json(400, r#"{"errors":[{"code":"InvalidInput","message":"Date range is invalid.","details":"PostedBefore"}]}"#)
            .header("x-amzn-RequestId", "b3f1c6e2-0000")
    })
    .await;
    let client = client_for(&server);
    let err = client
        .financial_event_groups_page(&EventGroupsQuery::default(), None)
        .await
        .unwrap_err();
    match &err {
        Error::Api {
            operation,
            status,
            code,
            message,
            details,
            ..
        } => {
            assert_eq!(operation, "listFinancialEventGroups");
            assert_eq!(*status, 400);
            assert_eq!(code, "InvalidInput");
            assert_eq!(message, "Date range is invalid.");
            assert_eq!(details.as_deref(), Some("PostedBefore"));
        }
        other => panic!("{other:?}"),
    }
    // Two x-amzn-RequestId headers were sent; the first one is reported.
    assert_eq!(err.request_id(), Some("req-0001"));
    assert!(
        err.to_string().contains("InvalidInput") && err.to_string().contains("x-amzn-RequestId")
    );
    assert_eq!(server.count("/finances"), 1);
}

/// A raw TCP server: the first `resets` connections are dropped after reading the request
/// (a connection reset as the client sees it); later ones get `ok_body`.
async fn flaky_tcp_server(resets: usize, ok_body: &'static str) -> (String, Arc<AtomicUsize>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let n = counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let mut got = Vec::new();
                while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(k) => got.extend_from_slice(&buf[..k]),
                    }
                }
                let head = String::from_utf8_lossy(&got).to_string();
                let body = if head.starts_with("POST /auth/o2/token") {
                    TOKEN_OK
                } else if n < resets {
                    drop(sock);
                    return;
                } else {
                    ok_body
                };
                let resp = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{}",
                    body.len(),
                    body
                );
                let _ = sock.write_all(resp.as_bytes()).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    (format!("http://{addr}"), seen)
}

#[tokio::test]
async fn connection_resets_are_retried() {
    // Connection 0 is the token exchange; 1 and 2 are reset; 3 answers.
    let (base, seen) = flaky_tcp_server(3, r#"{"payload":[]}"#).await;
    let client = SpApiClient::builder(credentials(), Region::NorthAmerica)
        .base_url(&base)
        .token_url(format!("{base}/auth/o2/token"))
        .limiter(Arc::new(RateLimiter::new()))
        .retry(fast_retry(5))
        .build()
        .unwrap();
    client.marketplace_participations().await.unwrap();
    assert_eq!(seen.load(Ordering::SeqCst), 4);
    let stats = client.stats().operations[&Operation::GetMarketplaceParticipations];
    assert_eq!(stats.transient_failures, 2);
}

// ---------------------------------------------------------------------------------------
// Pacing

#[tokio::test(start_paused = true)]
async fn limiter_paces_to_the_documented_bucket() {
    let limiter = RateLimiter::new();
    let margin = ml_connector::amazon::limiter::DEFAULT_MARGIN;
    let near = |got: Duration, want: Duration| {
        assert!(
            got.abs_diff(want) < Duration::from_millis(1),
            "waited {got:?}, expected {want:?}"
        )
    };
    let start = tokio::time::Instant::now();
    // getOrders: burst 20 go at once, then one per 1/0.0167 s.
    for _ in 0..20 {
        limiter.acquire(Operation::GetOrders).await;
    }
    assert_eq!(start.elapsed(), Duration::ZERO);
    limiter.acquire(Operation::GetOrders).await;
    let one = Duration::from_secs_f64(1.0 / 0.0167);
    near(start.elapsed(), one + margin);
    // The jitter margin shifts the schedule once; it does not add up.
    for _ in 0..4 {
        limiter.acquire(Operation::GetOrders).await;
    }
    near(start.elapsed(), one * 5 + margin);
    // Buckets are per operation: another one is untouched.
    let before = start.elapsed();
    limiter.acquire(Operation::GetReport).await;
    assert_eq!(start.elapsed(), before);
}

#[tokio::test(start_paused = true)]
async fn limiter_learns_rate_header_and_429() {
    let limiter = RateLimiter::new().with_margin(Duration::ZERO);
    limiter.observe_rate(Operation::GetOrder, 10.0);
    for _ in 0..30 {
        limiter.acquire(Operation::GetOrder).await;
    }
    let start = tokio::time::Instant::now();
    limiter.acquire(Operation::GetOrder).await;
    assert_eq!(start.elapsed(), Duration::from_millis(100));
    // A 429 empties the bucket even when we thought tokens were left.
    tokio::time::advance(Duration::from_secs(10)).await;
    assert!(limiter.available(Operation::GetOrder) > 29.0);
    limiter.on_throttled(Operation::GetOrder);
    let start = tokio::time::Instant::now();
    limiter.acquire(Operation::GetOrder).await;
    assert_eq!(start.elapsed(), Duration::from_millis(100));
    // Nonsense header values are ignored.
    limiter.observe_rate(Operation::GetOrder, f64::NAN);
    limiter.observe_rate(Operation::GetOrder, 0.0);
    assert_eq!(limiter.plan(Operation::GetOrder).rate, 10.0);
}

#[tokio::test(start_paused = true)]
async fn limiter_time_scale_and_sharing() {
    let fast = RateLimiter::with_time_scale(100.0).with_margin(Duration::ZERO);
    for _ in 0..20 {
        fast.acquire(Operation::GetOrders).await;
    }
    let start = tokio::time::Instant::now();
    fast.acquire(Operation::GetOrders).await;
    let expected = Duration::from_secs_f64(1.0 / 0.0167 / 100.0);
    assert!(start.elapsed() >= expected && start.elapsed() < expected + Duration::from_millis(2));
    // A time-scaled server reports its wall-clock rate: the plan stays in server units.
    fast.observe_rate(Operation::GetOrders, 1.67);
    assert!((fast.plan(Operation::GetOrders).rate - 0.0167).abs() < 1e-12);
    let a = RateLimiter::shared("seller-A", Region::Europe, 1.0);
    let b = RateLimiter::shared("seller-A", Region::Europe, 1.0);
    let c = RateLimiter::shared("seller-A", Region::FarEast, 1.0);
    assert!(Arc::ptr_eq(&a, &b) && !Arc::ptr_eq(&a, &c));
}

#[tokio::test]
async fn rate_limit_header_adjusts_the_bucket() {
    let server = serve_api(|_| {
        Reply::json(200, r#"{"payload":[]}"#).header("x-amzn-RateLimit-Limit", "0.25")
    })
    .await;
    let client = client_for(&server);
    client.marketplace_participations().await.unwrap();
    assert_eq!(
        client
            .limiter()
            .plan(Operation::GetMarketplaceParticipations)
            .rate,
        // The header is per wall second; this client's server runs 1000× faster.
        0.25 / 1000.0
    );
}

// ---------------------------------------------------------------------------------------
// Routing, transport rules, clock, headers

#[test]
fn region_routing_and_loopback_only_http() {
    let creds = credentials;
    for (marketplace, host) in [
        ("ATVPDKIKX0DER", "https://sellingpartnerapi-na.amazon.com/"),
        ("A1PA6795UKMFR9", "https://sellingpartnerapi-eu.amazon.com/"),
        ("A39IBJ37TRP1C6", "https://sellingpartnerapi-fe.amazon.com/"),
    ] {
        let region = Region::for_marketplace(marketplace).unwrap();
        let client = SpApiClient::builder(creds(), region)
            .limiter(Arc::new(RateLimiter::new()))
            .build()
            .unwrap();
        assert_eq!(client.base_url(), host);
    }
    let refused = SpApiClient::builder(creds(), Region::Europe)
        .base_url("http://sellingpartnerapi-eu.amazon.com")
        .build();
    assert!(matches!(refused, Err(Error::Config(_))));
    let refused = SpApiClient::builder(creds(), Region::Europe)
        .token_url("http://api.amazon.com/auth/o2/token")
        .build();
    assert!(matches!(refused, Err(Error::Config(_))));
    assert!(
        SpApiClient::builder(creds(), Region::Europe)
            .base_url("http://127.0.0.1:1")
            .build()
            .is_ok()
    );
}

#[tokio::test]
async fn server_date_corrects_a_skewed_clock() {
    let clock = manual_clock();
    let local = ml_connector::amazon::Clock::now(&*clock);
    let server_time = local + ChronoDuration::hours(2);
    let server = serve_api(move |_| {
        Reply::json(200, r#"{"payload":[]}"#).header("date", &http_date(server_time))
    })
    .await;
    let client = SpApiClient::builder(credentials(), Region::NorthAmerica)
        .base_url(&server.base)
        .token_url(format!("{}/auth/o2/token", server.base))
        .limiter(Arc::new(RateLimiter::new()))
        .clock(clock.clone())
        .build()
        .unwrap();
    assert_eq!(client.now(), local);
    client.marketplace_participations().await.unwrap();
    let skew = client.now() - server_time;
    assert!(
        skew >= ChronoDuration::zero() && skew <= ChronoDuration::seconds(1),
        "{skew}"
    );
}

#[tokio::test]
async fn requests_carry_documented_headers_only() {
    let server = serve_api(|_| Reply::json(200, r#"{"payload":[]}"#)).await;
    let client = client_for(&server);
    client.marketplace_participations().await.unwrap();
    let req = server
        .requests()
        .into_iter()
        .find(|r| r.path.starts_with("/sellers"))
        .unwrap();
    assert_eq!(req.headers["x-amz-access-token"], "Atza|access-1");
    let ua = req.headers["user-agent"].to_str().unwrap();
    assert!(
        ua.starts_with(&format!(
            "ml-connector/{} (Language=Rust; Platform=",
            env!("CARGO_PKG_VERSION")
        )),
        "{ua}"
    );
    assert!(ua.len() <= 500);
    assert!(req.headers.get("authorization").is_none());
    assert!(req.headers.get("x-amz-date").is_some());
}

// ---------------------------------------------------------------------------------------
// Report documents

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

#[tokio::test]
async fn download_refreshes_expired_url_inflates_gzip_and_reports_charset() {
    let text = "settlement-id\tsettlement-start-date\n123\t2026-03-01\n".repeat(50);
    let packed = gzip(text.as_bytes());
    let docs = Arc::new(AtomicUsize::new(0));
    let downloads = Arc::new(AtomicUsize::new(0));
    let (d1, d2) = (docs.clone(), downloads.clone());
    let server = Arc::new(Mutex::new(String::new()));
    let base_cell = server.clone();
    let srv = serve_api(move |req| {
        let base = base_cell.lock().unwrap().clone();
        if req.path.starts_with("/reports/2021-06-30/documents/") {
            let n = d1.fetch_add(1, Ordering::SeqCst);
            Reply::json(
                200,
                format!(r#"{{"reportDocumentId":"DOC1","url":"{base}/s3/doc-{n}?X-Amz-Expires=300&X-Amz-Signature=abc","compressionAlgorithm":"GZIP"}}"#),
            )
        } else if req.path == "/s3/doc-0" {
            d2.fetch_add(1, Ordering::SeqCst);
            Reply { status: 403, body: b"<?xml version=\"1.0\"?><Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>".to_vec(), headers: vec![("content-type".into(), "application/xml".into())], delay: Duration::ZERO }
        } else if req.path == "/s3/doc-1" && d2.load(Ordering::SeqCst) == 1 {
            d2.fetch_add(1, Ordering::SeqCst);
            // Cut short the first time: a truncated GZIP stream.
            Reply { status: 200, body: packed[..packed.len() / 2].to_vec(), headers: vec![("content-type".into(), "text/plain; charset=ISO-8859-1".into())], delay: Duration::ZERO }
        } else {
            d2.fetch_add(1, Ordering::SeqCst);
            assert!(req.headers.get("x-amz-access-token").is_none(), "no SP-API headers to S3");
            Reply { status: 200, body: packed.clone(), headers: vec![("content-type".into(), "text/plain; charset=ISO-8859-1".into())], delay: Duration::ZERO }
        }
    })
    .await;
    *server.lock().unwrap() = srv.base.clone();
    let client = client_for(&srv);
    let doc = client.download_document("DOC1").await.unwrap();
    assert_eq!(doc.bytes, text.as_bytes());
    assert_eq!(doc.charset.as_deref(), Some("ISO-8859-1"));
    assert!(doc.was_compressed);
    // doc-0 expired → fresh URL doc-1, cut once, retried on the same URL.
    let stats = client.stats();
    assert_eq!(stats.document_url_refreshes, 1);
    assert_eq!(stats.download_retries, 1);
    assert_eq!(downloads.load(Ordering::SeqCst), 3);
    assert_eq!(docs.load(Ordering::SeqCst), 2);
    let debug = format!("{:?}", client.report_document("DOC1").await.unwrap());
    assert!(!debug.contains("Signature"), "{debug}");
}

#[tokio::test]
async fn settlement_cut_at_a_line_is_downloaded_again_and_parsed() {
    let full = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/settlements/v2-us-24col.txt"
    ))
    .unwrap();
    // Cut after line 10: every line whole, but the body no longer adds up.
    let cut_at = full
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .nth(9)
        .unwrap()
        .0
        + 1;
    let cut = full[..cut_at].to_vec();
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let base = Arc::new(Mutex::new(String::new()));
    let base_cell = base.clone();
    let server = serve_api(move |req| {
        let base = base_cell.lock().unwrap().clone();
        match req.path.as_str() {
            "/reports/2021-06-30/documents/D1" => Reply::json(
                200,
                format!(r#"{{"reportDocumentId":"D1","url":"{base}/s3/d1"}}"#),
            ),
            "/s3/d1" => {
                let body = if counter.fetch_add(1, Ordering::SeqCst) == 0 {
                    cut.clone()
                } else {
                    full.clone()
                };
                Reply {
                    status: 200,
                    body,
                    headers: vec![("content-type".into(), "text/plain;charset=UTF-8".into())],
                    delay: Duration::ZERO,
                }
            }
            _ => Reply::json(404, r#"{"errors":[{"code":"NotFound","message":"?"}]}"#),
        }
    })
    .await;
    *base.lock().unwrap() = server.base.clone();
    let client = client_for(&server);
    let report: ml_connector::amazon::models::reports::Report = serde_json::from_str(
        r#"{"reportId":"R1","reportType":"GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2","processingStatus":"DONE","reportDocumentId":"D1"}"#,
    )
    .unwrap();
    let fetched = client.fetch_settlement(&report).await.unwrap();
    assert!(fetched.total_matches());
    assert_eq!(fetched.downloads, 2);
    assert_eq!(fetched.parsed.summary.settlement_id, "19870040121");
    assert_eq!(
        fetched.parsed.summary.total_amount,
        Decimal::from_str("947.61").unwrap()
    );
    assert_eq!(fetched.parsed.locale.charset, "UTF-8");
    assert_eq!(hits.load(Ordering::SeqCst), 2);
}

// ---------------------------------------------------------------------------------------
// Against the Amazon simulator, with and without faults

mod against_simulator {
    use super::*;
    use ml_connector::amazon::link::{LinkOutcome, link_settlement};
    use ml_connector::amazon::snapshot::{AmazonSnapshot, SnapshotSpec};
    use ml_connector::ledger::model::{SettlementRow, SettlementSummary};
    use ml_connector::sim::amazon::{self as sim, AmazonSimConfig, Fault};

    /// Simulated seconds per real second: fast enough that an emptied getOrders bucket
    /// (one call per 60 s) refills in 0.1 s.
    const SCALE: f64 = 600.0;
    const US: &str = "ATVPDKIKX0DER";

    fn start_time() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 5, 20, 9, 30, 0).unwrap()
    }

    async fn simulator(faults: Vec<Fault>, fault_rate: f64) -> sim::RunningAmazonSim {
        sim::spawn(AmazonSimConfig {
            seed: 42,
            marketplaces: vec!["US".into()],
            history_days: 60,
            time_scale: SCALE,
            fault_rate,
            faults,
            gzip: true,
            start_time: start_time(),
            ..AmazonSimConfig::default()
        })
        .await
        .unwrap()
    }

    fn client(sim: &sim::RunningAmazonSim) -> SpApiClient {
        SpApiClient::builder(
            LwaCredentials::new(
                sim::DEFAULT_CLIENT_ID,
                sim::DEFAULT_CLIENT_SECRET,
                sim::DEFAULT_REFRESH_TOKEN,
            ),
            Region::NorthAmerica,
        )
        .base_url(sim.endpoint(sim::Region::Na))
        .token_url(sim.token_url())
        .time_scale(SCALE)
        .limiter(Arc::new(RateLimiter::with_time_scale(SCALE)))
        .retry(Backoff {
            max_attempts: 20,
            base: Duration::from_millis(500),
            cap: Duration::from_secs(30),
        })
        .build()
        .unwrap()
    }

    /// Only what cannot change while simulated time runs on: orders old enough to have
    /// shipped, closed groups, settlements of closed periods.
    fn spec() -> SnapshotSpec {
        let t0 = start_time();
        SnapshotSpec {
            marketplace_ids: vec![US.into()],
            orders_created_after: t0 - ChronoDuration::days(60),
            orders_created_before: Some(t0 - ChronoDuration::days(10)),
            // Settlements are found by creation date, groups by start: reach further back.
            groups_started_after: t0 - ChronoDuration::days(100),
            groups_started_before: t0 - ChronoDuration::minutes(5),
            groups_ended_by: Some(t0 - ChronoDuration::days(1)),
            reports_created_since: Some(t0 - ChronoDuration::days(80)),
            reports_created_until: Some(t0 - ChronoDuration::days(1)),
            concurrency: 4,
            // Small pages: more calls, so more faults to get through.
            page_size: 20,
        }
    }

    type Projection = (
        Vec<ml_connector::amazon::models::orders::Order>,
        Vec<ml_connector::amazon::models::finances::FinancialEventGroup>,
        std::collections::BTreeMap<String, ml_connector::amazon::models::finances::FinancialEvents>,
        Vec<(String, SettlementSummary, Vec<SettlementRow>, Decimal)>,
    );

    fn project(s: &AmazonSnapshot) -> Projection {
        (
            s.orders.clone(),
            s.groups.clone(),
            s.events.clone(),
            s.settlements
                .iter()
                .map(|f| {
                    (
                        f.report.report_id.clone(),
                        f.parsed.summary.clone(),
                        f.parsed.rows.clone(),
                        f.body_sum,
                    )
                })
                .collect(),
        )
    }

    fn throttled_at_server(stats: &Value) -> u64 {
        stats["operations"]
            .as_object()
            .unwrap()
            .values()
            .map(|o| o["throttled"].as_u64().unwrap())
            .sum()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn faults_change_nothing_in_what_the_client_returns() {
        let clean_sim = simulator(Vec::new(), 0.0).await;
        let clean_client = client(&clean_sim);
        let clean = clean_client.snapshot(&spec()).await.unwrap();
        // Paced by the client: not a single 429 from the simulator's buckets.
        assert_eq!(
            throttled_at_server(&clean_sim.stats()),
            0,
            "{}",
            clean_sim.stats()
        );
        assert_eq!(clean_client.stats().total_throttled(), 0);
        eprintln!("fault-free client: {:?}", clean_client.stats());
        let truth = clean_sim.truth();
        clean_sim.stop().await;

        // Substance: the listing is not trivially empty, every settlement adds up and
        // links to the group the simulator says it belongs to.
        assert!(clean.orders.len() > 50, "{} orders", clean.orders.len());
        assert!(clean.groups.len() >= 2, "{} groups", clean.groups.len());
        assert!(
            clean.settlements.len() >= 2,
            "{} settlements",
            clean.settlements.len()
        );
        for f in &clean.settlements {
            assert!(f.total_matches(), "{}", f.report.report_id);
            let expected = truth
                .settlements
                .iter()
                .find(|t| t.settlement_id == f.parsed.summary.settlement_id)
                .expect("settlement in truth");
            assert_eq!(expected.total_amount, f.parsed.summary.total_amount);
            match link_settlement(&f.parsed.summary, Some(US), &clean.groups) {
                LinkOutcome::Linked(c) => assert_eq!(c.group_id, expected.financial_event_group_id),
                other => panic!(
                    "settlement {} not linked: {other:?}",
                    f.parsed.summary.settlement_id
                ),
            }
        }
        for g in &clean.groups {
            let t = truth
                .event_groups
                .iter()
                .find(|t| t.financial_event_group_id == g.id)
                .unwrap();
            assert_eq!(g.original_total.as_ref().unwrap().amount, t.original_total);
            assert!(!clean.events[&g.id].is_empty());
        }

        // 30% 429 (6 of 9 op faults at 45%), 5% 500, 5% 503, 5% resets; downloads get
        // truncated bodies, 500/503 and resets; some document URLs come already expired.
        let mut faults = vec![Fault::Throttle; 6];
        faults.extend([
            Fault::ServerError,
            Fault::Unavailable,
            Fault::Reset,
            Fault::ExpiredUrl,
            Fault::Truncate,
        ]);
        let faulty_sim = simulator(faults, 0.45).await;
        let faulty_client = client(&faulty_sim);
        let faulty = faulty_client.snapshot(&spec()).await.unwrap();
        let stats = faulty_sim.stats();
        faulty_sim.stop().await;
        let injected: u64 = stats["faults"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_u64().unwrap())
            .sum();
        assert!(injected >= 10, "{stats}");
        let client_stats = faulty_client.stats();
        assert!(client_stats.total_throttled() > 0, "{client_stats:?}");
        eprintln!(
            "faults injected: {}; client: {client_stats:?}",
            stats["faults"]
        );

        assert!(
            project(&faulty) == project(&clean),
            "a faulty run returned different data"
        );

        // Downloads only, one call at a time (so the seeded faults fall the same way every
        // run): expired URLs, truncated bodies and resets.
        let download_sim =
            simulator(vec![Fault::ExpiredUrl, Fault::Truncate, Fault::Reset], 0.5).await;
        let download_client = client(&download_sim);
        let t0 = start_time();
        let query = ReportsQuery {
            marketplace_ids: vec![US.into()],
            created_since: Some(t0 - ChronoDuration::days(80)),
            created_until: Some(t0 - ChronoDuration::days(1)),
            ..ReportsQuery::settlements()
        };
        let mut fetched = download_client.fetch_settlements(query, 1).await.unwrap();
        let stats = download_sim.stats();
        download_sim.stop().await;
        fetched.sort_by(|a, b| a.report.report_id.cmp(&b.report.report_id));
        let settlements = |v: &[ml_connector::amazon::reports::FetchedSettlement]| {
            v.iter()
                .map(|f| (f.parsed.summary.clone(), f.parsed.rows.clone()))
                .collect::<Vec<_>>()
        };
        assert!(settlements(&fetched) == settlements(&clean.settlements));
        let client_stats = download_client.stats();
        eprintln!(
            "download faults: {}; client: {client_stats:?}",
            stats["faults"]
        );
        assert!(
            client_stats.document_url_refreshes > 0 && client_stats.download_retries > 0,
            "{client_stats:?} {stats}"
        );
    }
}
