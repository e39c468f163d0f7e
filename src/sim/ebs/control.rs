//! `/_sim/` test controls: scheduler steps, clock, faults, held-call barrier, GL user actions
//! and the stable `/_sim/gl/journals` contract. No auth; not counted by the ceiling.

use super::journals::Journals;
use super::{Faults, Shared, gl};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

pub fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/_sim/step", post(step))
        .route("/_sim/run_until_idle", post(idle))
        .route("/_sim/clock", get(clock))
        .route("/_sim/clock/advance", post(advance))
        .route("/_sim/faults", post(faults))
        .route("/_sim/held", get(held))
        .route("/_sim/release", post(release))
        .route("/_sim/requests", get(list_requests))
        .route("/_sim/requests/{id}/release", post(release_request))
        .route("/_sim/gl/journals", get(journals))
        .route("/_sim/gl/post", post(post_journals))
        .route("/_sim/gl/delete", post(delete_journals))
        .route("/_sim/gl/daily_rates", post(daily_rate))
        .route("/_sim/ar/transactions", get(trxs))
        .route("/_sim/ar/receipts", get(ar_receipts))
        .route("/_sim/ap/invoices", get(invoices))
}

fn body_json(b: &axum::body::Bytes) -> Value {
    if b.is_empty() {
        json!({})
    } else {
        serde_json::from_slice(b).unwrap_or(json!({}))
    }
}

fn num(v: &Value, k: &str) -> Option<i64> {
    match v.get(k)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

async fn step(State(sh): State<Arc<Shared>>, b: axum::body::Bytes) -> Json<Value> {
    let n = num(&body_json(&b), "steps").unwrap_or(1).max(1) as usize;
    Json(json!({"transitions": sh.step(n)}))
}

async fn idle(State(sh): State<Arc<Shared>>) -> Json<Value> {
    Json(json!({"transitions": sh.run_until_idle()}))
}

async fn clock(State(sh): State<Arc<Shared>>) -> Json<Value> {
    Json(json!({"now": sh.world().now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)}))
}

async fn advance(State(sh): State<Arc<Shared>>, b: axum::body::Bytes) -> Json<Value> {
    let secs = num(&body_json(&b), "seconds").unwrap_or(0);
    let now = sh.advance(chrono::Duration::seconds(secs));
    Json(json!({"now": now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)}))
}

async fn faults(State(sh): State<Arc<Shared>>, b: axum::body::Bytes) -> Response {
    let f: Faults = match serde_json::from_slice(if b.is_empty() { b"{}" } else { &b }) {
        Ok(f) => f,
        Err(e) => {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({"error": e.to_string()})),
            )
                .into_response();
        }
    };
    sh.apply_faults(&f);
    let st = sh.fault_state();
    Json(json!({
        "db_error_next": st.faults.db_error_next,
        "standby_next": st.faults.standby_next,
        "import_error_next": st.faults.import_error_next,
        "hold_next": st.faults.hold_next,
        "fault_rate": st.fault_rate,
    }))
    .into_response()
}

async fn held(
    State(sh): State<Arc<Shared>>,
    Query(q): Query<HashMap<String, String>>,
) -> Json<Value> {
    let n = q.get("at_least").and_then(|v| v.parse().ok()).unwrap_or(0);
    Json(json!({"held": sh.wait_held(n).await}))
}

async fn release(State(sh): State<Arc<Shared>>) -> Json<Value> {
    Json(json!({"released": sh.release_held()}))
}

async fn list_requests(State(sh): State<Arc<Shared>>) -> Json<Value> {
    let w = sh.world();
    let v: Vec<Value> = w
        .requests
        .values()
        .map(|r| {
            json!({
                "request_id": r.request_id.to_string(),
                "parent_request_id": r.parent.map(|p| p.to_string()),
                "program": r.program,
                "phase_code": r.phase.to_string(),
                "status_code": r.status.to_string(),
                "completion_text": r.completion_text,
                "arguments": r.args,
            })
        })
        .collect();
    Json(Value::Array(v))
}

async fn release_request(State(sh): State<Arc<Shared>>, Path(id): Path<i64>) -> Response {
    let mut w = sh.world();
    match w.requests.get_mut(&id) {
        Some(r) if r.phase == 'P' && r.status == 'Q' => {
            r.status = 'I';
            Json(json!({"request_id": id.to_string(), "phase_code": "P", "status_code": "I"}))
                .into_response()
        }
        Some(_) => (
            StatusCode::CONFLICT,
            Json(json!({"error": "request is not in Standby"})),
        )
            .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({"error": "no such request"})),
        )
            .into_response(),
    }
}

async fn journals(
    State(sh): State<Arc<Shared>>,
    Query(q): Query<HashMap<String, String>>,
) -> Json<Value> {
    let w = sh.world();
    let g = q.get("group_id").and_then(|v| v.parse::<i64>().ok());
    Json(Value::Array(match g {
        Some(g) => w
            .journals
            .in_group(g)
            .iter()
            .filter_map(|&p| w.journals.get(p))
            .map(gl::journal_contract)
            .collect(),
        None => w.journals.iter().map(gl::journal_contract).collect(),
    }))
}

fn selected(v: &Value, j: &super::world::JeHeader) -> bool {
    if let Some(ids) = v.get("je_header_ids").and_then(Value::as_array) {
        return ids.iter().any(|x| {
            x.as_i64() == Some(j.je_header_id) || x.as_str() == Some(&j.je_header_id.to_string())
        });
    }
    if let Some(id) = num(v, "je_header_id") {
        return j.je_header_id == id;
    }
    if let Some(g) = num(v, "group_id") {
        return j.group_id == Some(g);
    }
    false
}

/// Positions of the journals [`selected`] picks, in creation order: the index narrows
/// (header ids, group), `selected` decides.
fn selection(v: &Value, js: &Journals) -> Vec<usize> {
    let header = |x: &Value| {
        x.as_i64()
            .or_else(|| x.as_str().and_then(|s| s.parse().ok()))
            .and_then(|id| js.by_header_id(id))
    };
    let mut candidates: Vec<usize> =
        if let Some(ids) = v.get("je_header_ids").and_then(Value::as_array) {
            ids.iter().filter_map(header).collect()
        } else if let Some(id) = num(v, "je_header_id") {
            js.by_header_id(id).into_iter().collect()
        } else if let Some(g) = num(v, "group_id") {
            js.in_group(g).to_vec()
        } else {
            Vec::new()
        };
    candidates.sort_unstable();
    candidates.dedup();
    candidates.retain(|&p| js.get(p).is_some_and(|j| selected(v, j)));
    candidates
}

async fn post_journals(State(sh): State<Arc<Shared>>, b: axum::body::Bytes) -> Json<Value> {
    let v = body_json(&b);
    let mut w = sh.world();
    let mut n = 0;
    for p in selection(&v, &w.journals) {
        if w.journals.get(p).is_some_and(|j| j.status != "P") {
            w.journals.set_status(p, "P");
            n += 1;
        }
    }
    Json(json!({"posted": n}))
}

async fn delete_journals(State(sh): State<Arc<Shared>>, b: axum::body::Bytes) -> Response {
    let v = body_json(&b);
    let mut w = sh.world();
    let chosen = selection(&v, &w.journals);
    if chosen
        .iter()
        .any(|&p| w.journals.get(p).is_some_and(|j| j.status == "P"))
    {
        return (
            StatusCode::CONFLICT,
            Json(json!({"error": "posted journals cannot be deleted"})),
        )
            .into_response();
    }
    let n = chosen
        .into_iter()
        .filter(|&p| w.journals.remove(p).is_some())
        .count();
    Json(json!({"deleted": n})).into_response()
}

async fn trxs(State(sh): State<Arc<Shared>>) -> Json<Value> {
    Json(super::receipts::transactions_contract(&sh.world()))
}

async fn ar_receipts(State(sh): State<Arc<Shared>>) -> Json<Value> {
    Json(super::receipts::receipts_contract(&sh.world()))
}

async fn invoices(State(sh): State<Arc<Shared>>) -> Json<Value> {
    let w = sh.world();
    Json(Value::Array(
        w.invoices
            .iter()
            .map(|i| {
                json!({
                    "invoice_id": i.invoice_id.to_string(),
                    "invoice_num": i.invoice_num,
                    "vendor_id": i.vendor_id.to_string(),
                    "vendor_site_id": i.vendor_site_id.to_string(),
                    "amount": i.amount.to_string(),
                    "currency": i.currency,
                    "org_id": i.org_id.to_string(),
                    "gl_date": i.gl_date.to_string(),
                    "source": i.source,
                    "request_id": i.request_id.to_string(),
                    "line_count": i.line_count,
                })
            })
            .collect(),
    ))
}

/// Loads a daily rate (a person entering it in EBS), see `ledgers::rate_from_json`.
async fn daily_rate(State(sh): State<Arc<Shared>>, b: axum::body::Bytes) -> Response {
    match super::ledgers::rate_from_json(&body_json(&b)) {
        Ok(r) => {
            super::ledgers::add_daily_rate(&mut sh.world(), r);
            Json(json!({"loaded": 1})).into_response()
        }
        Err(e) => (StatusCode::BAD_REQUEST, Json(json!({"error": e}))).into_response(),
    }
}
