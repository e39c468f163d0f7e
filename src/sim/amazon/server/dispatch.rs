//! Routing: maps method and path to a route, rolls faults, checks the access
//! token and rate bucket, then hands SP-API calls to the operation handlers.

use axum::body::Body;
use chrono::{DateTime, Utc};
use hyper::{Request, Response, StatusCode, header};
use rand::Rng;
use std::sync::Arc;

use super::documents::download;
use super::finances::EventScope;
use super::inspection::{stats_json, truth};
use super::lwa::{check_token, lwa_error, token_endpoint};
use super::query::Query;
use super::response::{Ctx, OpResult, base_response, error_body, not_found, xml_error};
use super::{Inner, ResetMarker, State, lock};
use crate::sim::amazon::Fault;
use crate::sim::amazon::buckets::{self, OpSpec};
use crate::sim::amazon::world::Region;

enum Route {
    Stats,
    Truth,
    Token,
    Download {
        doc: String,
    },
    Op {
        spec: &'static OpSpec,
        params: Vec<String>,
    },
    NotFound,
}

fn route(method: &hyper::Method, path: &str) -> (Option<Region>, Route) {
    let (region, path) = if let Some(rest) = path.strip_prefix("/na/") {
        (Some(Region::Na), format!("/{rest}"))
    } else if let Some(rest) = path.strip_prefix("/eu/") {
        (Some(Region::Eu), format!("/{rest}"))
    } else {
        (None, path.to_string())
    };
    let segs: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
    let get = method == hyper::Method::GET;
    let post = method == hyper::Method::POST;
    let op = |name: &str, params: Vec<&str>| match buckets::spec(name) {
        Some(spec) => Route::Op {
            spec,
            params: params.into_iter().map(String::from).collect(),
        },
        None => Route::NotFound,
    };
    let r = match (segs.as_slice(), get, post) {
        (["_sim", "stats"], true, _) => Route::Stats,
        (["_sim", "truth"], true, _) => Route::Truth,
        (["auth", "o2", "token"], _, true) => Route::Token,
        ([bucket, doc], true, _) if bucket.starts_with("tortuga-prod-") => Route::Download {
            doc: doc.to_string(),
        },
        (["orders", "v0", "orders"], true, _) => op("getOrders", vec![]),
        (["orders", "v0", "orders", id], true, _) => op("getOrder", vec![id]),
        (["orders", "v0", "orders", id, "orderItems"], true, _) => op("getOrderItems", vec![id]),
        (["finances", "v0", "financialEventGroups"], true, _) => {
            op("listFinancialEventGroups", vec![])
        }
        (
            [
                "finances",
                "v0",
                "financialEventGroups",
                id,
                "financialEvents",
            ],
            true,
            _,
        ) => op("listFinancialEventsByGroupId", vec![id]),
        (["finances", "v0", "orders", id, "financialEvents"], true, _) => {
            op("listFinancialEventsByOrderId", vec![id])
        }
        (["finances", "v0", "financialEvents"], true, _) => op("listFinancialEvents", vec![]),
        (["reports", "2021-06-30", "reports"], true, _) => op("getReports", vec![]),
        (["reports", "2021-06-30", "reports"], _, true) => op("createReport", vec![]),
        (["reports", "2021-06-30", "reports", id], true, _) => op("getReport", vec![id]),
        (["reports", "2021-06-30", "reports", id], _, _) if method == hyper::Method::DELETE => {
            op("cancelReport", vec![id])
        }
        (["reports", "2021-06-30", "documents", id], true, _) => op("getReportDocument", vec![id]),
        (["sellers", "v1", "marketplaceParticipations"], true, _) => {
            op("getMarketplaceParticipations", vec![])
        }
        _ => Route::NotFound,
    };
    (region, r)
}

fn pick_fault(state: &State, applicable: &[Fault]) -> Option<Fault> {
    let cfg = &state.config;
    if cfg.fault_rate <= 0.0 || cfg.faults.is_empty() {
        return None;
    }
    let candidates: Vec<Fault> = cfg
        .faults
        .iter()
        .copied()
        .filter(|f| applicable.contains(f))
        .collect();
    let mut rng = lock(&state.fault_rng);
    let u: f64 = rng.random();
    let k: usize = rng.random_range(0..1000);
    if candidates.is_empty() || u >= cfg.fault_rate {
        return None;
    }
    let fault = candidates[k % candidates.len()];
    *lock(&state.stats).faults.entry(fault.name()).or_default() += 1;
    Some(fault)
}

fn reset_response() -> Response<Body> {
    let mut resp = Response::new(Body::empty());
    resp.extensions_mut().insert(ResetMarker);
    resp
}

pub(super) async fn dispatch(
    state: &Arc<State>,
    req: Request<hyper::body::Incoming>,
) -> Response<Body> {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(Body::new(body), 4 << 20)
        .await
        .unwrap_or_default();
    let path = parts.uri.path().to_string();
    let query = Query::parse(parts.uri.query().unwrap_or(""));
    let ctx = Ctx {
        request_id: state.request_id(),
        now: state.now(),
    };
    let (region, route) = route(&parts.method, &path);
    match route {
        Route::Stats => {
            let v = stats_json(state);
            base_response(
                &ctx,
                StatusCode::OK,
                "application/json",
                Body::from(v.to_string()),
            )
        }
        Route::Truth => {
            let v = serde_json::to_string(&truth(state)).unwrap_or_default();
            base_response(&ctx, StatusCode::OK, "application/json", Body::from(v))
        }
        Route::NotFound => base_response(
            &ctx,
            StatusCode::NOT_FOUND,
            "application/json",
            Body::from(error_body("NotFound", "Resource not found", "")),
        ),
        Route::Token => {
            lock(&state.stats).token_requests += 1;
            let fault = pick_fault(
                state,
                &[
                    Fault::ServerError,
                    Fault::Unavailable,
                    Fault::Reset,
                    Fault::Slow,
                ],
            );
            match fault {
                Some(Fault::Reset) => return reset_response(),
                Some(Fault::Slow) => tokio::time::sleep(state.config.slow_delay).await,
                Some(Fault::ServerError) => {
                    return lwa_error(
                        &ctx,
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "server_error",
                        "Internal server error",
                    );
                }
                Some(Fault::Unavailable) => {
                    return lwa_error(
                        &ctx,
                        StatusCode::SERVICE_UNAVAILABLE,
                        "temporarily_unavailable",
                        "The service is temporarily unavailable",
                    );
                }
                _ => {}
            }
            let content_type = parts
                .headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_ascii_lowercase();
            token_endpoint(state, &ctx, &content_type, &body)
        }
        Route::Download { doc } => {
            lock(&state.stats).downloads += 1;
            let fault = pick_fault(
                state,
                &[
                    Fault::ServerError,
                    Fault::Unavailable,
                    Fault::Reset,
                    Fault::Slow,
                    Fault::Truncate,
                ],
            );
            match fault {
                Some(Fault::Reset) => return reset_response(),
                Some(Fault::Slow) => tokio::time::sleep(state.config.slow_delay).await,
                Some(Fault::ServerError) => {
                    return xml_error(
                        &ctx,
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "InternalError",
                        "We encountered an internal error. Please try again.",
                        "",
                    );
                }
                Some(Fault::Unavailable) => {
                    return xml_error(
                        &ctx,
                        StatusCode::SERVICE_UNAVAILABLE,
                        "SlowDown",
                        "Please reduce your request rate.",
                        "",
                    );
                }
                _ => {}
            }
            download(state, &ctx, &doc, &query, fault == Some(Fault::Truncate))
        }
        Route::Op { spec, params } => {
            {
                let mut stats = lock(&state.stats);
                stats.operations.entry(spec.name).or_default().0 += 1;
            }
            let mut applicable = vec![
                Fault::Throttle,
                Fault::ServerError,
                Fault::Unavailable,
                Fault::Reset,
                Fault::Slow,
            ];
            if spec.name == "getReportDocument" {
                applicable.push(Fault::ExpiredUrl);
            }
            let fault = pick_fault(state, &applicable);
            let json_err = |status: StatusCode, code: &str, msg: &str| {
                base_response(
                    &ctx,
                    status,
                    "application/json",
                    Body::from(error_body(code, msg, "")),
                )
            };
            match fault {
                Some(Fault::Reset) => return reset_response(),
                Some(Fault::Slow) => tokio::time::sleep(state.config.slow_delay).await,
                Some(Fault::Throttle) => {
                    lock(&state.stats)
                        .operations
                        .entry(spec.name)
                        .or_default()
                        .1 += 1;
                    return json_err(
                        StatusCode::TOO_MANY_REQUESTS,
                        "QuotaExceeded",
                        "You exceeded your quota for the requested resource.",
                    );
                }
                Some(Fault::ServerError) => {
                    return json_err(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "InternalFailure",
                        "We encountered an internal error. Please try again.",
                    );
                }
                Some(Fault::Unavailable) => {
                    return json_err(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "ServiceUnavailable",
                        "Service is temporarily unavailable. Please try again.",
                    );
                }
                _ => {}
            }
            let token = parts
                .headers
                .get("x-amz-access-token")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            let mut inner = lock(&state.inner);
            if let Err(msg) = check_token(&inner, token, ctx.now) {
                return json_err(StatusCode::FORBIDDEN, "Unauthorized", msg);
            }
            if !inner.buckets.entry(region).or_default().take(spec, ctx.now) {
                drop(inner);
                lock(&state.stats)
                    .operations
                    .entry(spec.name)
                    .or_default()
                    .1 += 1;
                return json_err(
                    StatusCode::TOO_MANY_REQUESTS,
                    "QuotaExceeded",
                    "You exceeded your quota for the requested resource.",
                );
            }
            inner.world.ensure(ctx.now);
            let content_type = parts
                .headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            let op = OpCall {
                state,
                now: ctx.now,
                region,
                query: &query,
                params: &params,
                body: &body,
                content_type,
                expired_url: fault == Some(Fault::ExpiredUrl),
            };
            let result = op.run(&mut inner, spec.name);
            drop(inner);
            let rate = buckets::rate_header(spec, state.clock.scale());
            let (status, text) = match result {
                Ok(ok) => ok,
                Err(e) => (e.status, error_body(e.code, &e.message, &e.details)),
            };
            let mut resp = base_response(&ctx, status, "application/json", Body::from(text));
            // Amazon sends the limit on 2xx, 400 and 404 only.
            if (status.is_success()
                || status == StatusCode::BAD_REQUEST
                || status == StatusCode::NOT_FOUND)
                && let Ok(v) = rate.parse()
            {
                resp.headers_mut().insert("x-amzn-RateLimit-Limit", v);
            }
            if status == StatusCode::BAD_REQUEST
                && let Ok(v) = "ValidationException".parse()
            {
                resp.headers_mut().insert("x-amzn-ErrorType", v);
            }
            resp
        }
    }
}

// ---------------------------------------------------------------- operations

pub(super) struct OpCall<'a> {
    pub(super) state: &'a State,
    pub(super) now: DateTime<Utc>,
    pub(super) region: Option<Region>,
    pub(super) query: &'a Query,
    pub(super) params: &'a [String],
    pub(super) body: &'a [u8],
    pub(super) content_type: &'a str,
    pub(super) expired_url: bool,
}

impl OpCall<'_> {
    fn run(&self, inner: &mut Inner, op: &str) -> OpResult {
        match op {
            "getOrders" => self.get_orders(inner),
            "getOrder" => self.get_order(inner),
            "getOrderItems" => self.get_order_items(inner),
            "listFinancialEventGroups" => self.list_groups(inner),
            "listFinancialEventsByGroupId" => self.list_events(inner, EventScope::Group),
            "listFinancialEventsByOrderId" => self.list_events(inner, EventScope::Order),
            "listFinancialEvents" => self.list_events(inner, EventScope::All),
            "getReports" => self.get_reports(inner),
            "getReport" => self.get_report(inner),
            "createReport" => self.create_report(inner),
            "cancelReport" => self.cancel_report(inner),
            "getReportDocument" => self.get_report_document(inner),
            "getMarketplaceParticipations" => self.participations(inner),
            _ => Err(not_found("Resource not found")),
        }
    }
}
