//! HTTP surface: routing, login/logout sessions, authentication, application context,
//! concurrency ceiling, injected faults, open interface tables and program submission.

use super::requests::{self, Submit};
use super::seed::{Responsibility, User};
use super::table::matches;
use super::wire::{Fault, JVal, list_of, output, s, scalar, table};
use super::world::{Row, World, check_not_null, coerce_row, col, col_i64, set, table_spec};
use super::{Shared, control, custom};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use rand::{Rng, RngCore};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Largest accepted request body (a settlement can stage tens of thousands of rows).
pub const MAX_BODY: usize = 64 * 1024 * 1024;

pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/webservices/rest/{*path}", axum::routing::any(service))
        .merge(control::routes())
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .with_state(shared)
}

/// Which configured alias a service belongs to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AliasKey {
    Gl,
    Ar,
    Ap,
    Custom,
}

impl AliasKey {
    pub fn key(self) -> &'static str {
        match self {
            AliasKey::Gl => "gl",
            AliasKey::Ar => "ar",
            AliasKey::Ap => "ap",
            AliasKey::Custom => "custom",
        }
    }
    fn org_striped(self) -> bool {
        matches!(self, AliasKey::Ar | AliasKey::Ap)
    }
}

/// Deployed operations per alias and their HTTP verbs.
pub fn operations(a: AliasKey) -> &'static [(&'static str, &'static [&'static str])] {
    match a {
        AliasKey::Gl => &[
            ("GL_INTERFACE", &["GET", "POST", "DELETE"]),
            ("SUBMIT_CP_GLLEZL", &["POST"]),
        ],
        AliasKey::Ar => &[
            ("RA_INTERFACE_LINES_ALL", &["GET", "POST", "DELETE"]),
            ("RA_INTERFACE_DISTRIBUTIONS_ALL", &["GET", "POST"]),
            ("RA_INTERFACE_ERRORS_ALL", &["GET"]),
            ("SUBMIT_CP_RAXMTR", &["POST"]),
        ],
        AliasKey::Ap => &[
            ("AP_INVOICES_INTERFACE", &["GET", "POST", "DELETE"]),
            ("AP_INVOICE_LINES_INTERFACE", &["GET", "POST"]),
            ("AP_INTERFACE_REJECTIONS", &["GET"]),
            ("SUBMIT_CP_APXIIMPT", &["POST"]),
        ],
        AliasKey::Custom => &[
            ("populate_interface_control", &["POST"]),
            ("get_journals_by_group", &["POST"]),
            ("get_journals_by_reference", &["POST"]),
            ("get_transactions_by_request", &["POST"]),
            ("get_request_status", &["POST"]),
            ("get_child_requests", &["POST"]),
            ("get_account", &["POST"]),
            ("get_open_periods", &["POST"]),
            ("get_items", &["POST"]),
            ("get_ledger", &["POST"]),
            ("get_operating_unit", &["POST"]),
            ("get_daily_rate", &["POST"]),
            ("create_cash_receipt", &["POST"]),
            ("apply_receipt", &["POST"]),
            ("apply_credit_memo", &["POST"]),
            ("get_receipt", &["POST"]),
            ("get_receipt_method", &["POST"]),
            ("get_transaction", &["POST"]),
        ],
    }
}

/// A validated call: who, as which responsibility, in which org.
pub struct Ctx {
    pub user: User,
    pub resp: Responsibility,
    pub org_id: Option<i64>,
}

async fn service(
    State(sh): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri
        .path()
        .trim_start_matches("/webservices/rest/")
        .trim_end_matches('/')
        .to_string();
    let query: Vec<(String, String)> =
        url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    requests::fire_time_events(&mut sh.world());
    let Ok(_permit) = sh.sem.clone().try_acquire_owned() else {
        return Fault::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "ISG_SERVICE_UNAVAILABLE",
            "The maximum number of concurrent requests has been reached",
        )
        .at(&path, "")
        .into_response();
    };
    // Held calls (a test barrier) keep their permit until released.
    let hold = {
        let mut st = sh.fault_state();
        if st.faults.hold_next > 0 {
            st.faults.hold_next -= 1;
            true
        } else {
            false
        }
    };
    if hold {
        let mut rx = sh.release.subscribe();
        let gen0 = *rx.borrow_and_update();
        sh.held.send_modify(|n| *n += 1);
        let _ = rx.wait_for(|g| *g != gen0).await;
        sh.held.send_modify(|n| *n = n.saturating_sub(1));
    }
    let db_fault = {
        let mut st = sh.fault_state();
        if st.faults.db_error_next > 0 {
            st.faults.db_error_next -= 1;
            true
        } else {
            let rate = st.fault_rate;
            rate > 0.0 && st.rng.random::<f64>() < rate
        }
    };
    if db_fault {
        return Fault::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "ISG_DB_CONNECTION_ERROR",
            "Unable to get a database connection",
        )
        .at(&path, "")
        .into_response();
    }
    match handle(&sh, &method, &path, &query, &headers, &body) {
        Ok(r) => r,
        Err(f) => f.into_response(),
    }
}

fn handle(
    sh: &Shared,
    method: &Method,
    path: &str,
    query: &[(String, String)],
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, Fault> {
    match path.to_ascii_lowercase().as_str() {
        "login" => return login(sh, headers),
        "logout" => return logout(sh, headers),
        _ => {}
    }
    let (alias, op) = path.split_once('/').unwrap_or((path, ""));
    let mut w = sh.world();
    let aliases = &w.seed.aliases;
    let key = if alias == aliases.gl {
        AliasKey::Gl
    } else if alias == aliases.ar {
        AliasKey::Ar
    } else if alias == aliases.ap {
        AliasKey::Ap
    } else if alias == aliases.custom {
        AliasKey::Custom
    } else {
        return Err(Fault::new(
            sh.invalid_status,
            "ISG_INVALID_ALIAS",
            format!("Service alias {alias} is not deployed"),
        )
        .at(alias, op));
    };
    if op.is_empty() && query.iter().any(|(k, _)| k.eq_ignore_ascii_case("WADL")) {
        return Ok(wadl(alias, key));
    }
    let user = authenticate(sh, &mut w, headers).map_err(|f| f.at(alias, op))?;
    let Some((op_name, verbs)) = operations(key)
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(op))
    else {
        return Err(Fault::new(
            sh.invalid_status,
            "ISG_INVALID_FUNCTION",
            format!("{op} is not a deployed operation of {alias}"),
        )
        .at(alias, op));
    };
    if !verbs.contains(&method.as_str()) {
        return Err(Fault::new(
            sh.invalid_status,
            "ISG_INVALID_FUNCTION",
            format!("HTTP {method} is not deployed for {alias}/{op_name}"),
        )
        .at(alias, op_name));
    }
    let xml = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.contains("xml"));
    if xml && *method == Method::POST {
        return Err(Fault::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "ISG_UNSUPPORTED_MEDIA_TYPE",
            "The simulator accepts application/json payloads only",
        )
        .at(alias, op_name));
    }
    let input_root = format!("{}_Input", op_name.to_ascii_uppercase());
    let (header, params) = if *method == Method::POST {
        parse_body(body, &input_root).map_err(|f| f.at(alias, op_name))?
    } else {
        (Vec::new(), Map::new())
    };
    let ctx = context(&w, user, key, &header, query).map_err(|f| f.at(alias, op_name))?;
    let out = dispatch(sh, &mut w, key, op_name, method, &ctx, &params, query)
        .map_err(|f| f.at(alias, op_name))?;
    Ok((StatusCode::OK, axum::Json(out)).into_response())
}

type Header = Vec<(String, JVal)>;

fn parse_body(body: &[u8], root: &str) -> Result<(Header, Map<String, Value>), Fault> {
    let v: JVal = serde_json::from_slice(body)
        .map_err(|e| Fault::exec(format!("Invalid JSON payload: {e}")))?;
    let JVal::Obj(top) = v else {
        return Err(Fault::exec(format!(
            "Invalid payload: expected {{\"{root}\": {{...}}}}"
        )));
    };
    let top: Vec<_> = top
        .into_iter()
        .filter(|(k, _)| !k.starts_with('@'))
        .collect();
    let inner = match top.as_slice() {
        [(k, JVal::Obj(inner))] if k.eq_ignore_ascii_case(root) => inner.clone(),
        _ => {
            return Err(Fault::exec(format!(
                "Invalid payload: the root element must be {root}"
            )));
        }
    };
    let mut header = Vec::new();
    let mut params = Map::new();
    for (k, v) in inner {
        if k == "RESTHeader" {
            if let JVal::Obj(h) = v {
                header = h;
            }
        } else if k == "InputParameters"
            && let Value::Object(m) = v.to_value()
        {
            params = m;
        }
    }
    Ok((header, params))
}

fn context(
    w: &World,
    user: User,
    key: AliasKey,
    header: &[(String, JVal)],
    query: &[(String, String)],
) -> Result<Ctx, Fault> {
    let elems = [
        ("Responsibility", "ctx_responsibility", "RESPONSIBILITY"),
        ("RespApplication", "ctx_respapplication", "RESPAPPLICATION"),
        ("SecurityGroup", "ctx_securitygroup", "SECURITYGROUP"),
        ("NLSLanguage", "ctx_nlslanguage", "NLSLANGUAGE"),
        ("Org_Id", "ctx_orgid", "ORG_ID"),
    ];
    let mut vals: Vec<Option<String>> = Vec::new();
    for (hname, qname, dup) in elems {
        let hv: Vec<&JVal> = header
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(hname))
            .map(|(_, v)| v)
            .collect();
        let qv: Vec<&String> = query
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(qname))
            .map(|(_, v)| v)
            .collect();
        if hv.len() > 1 || qv.len() > 1 {
            return Err(Fault::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("ISG_DUPLICATE_{dup}"),
                format!("{hname} is specified more than once in the request header"),
            ));
        }
        let v = hv
            .first()
            .and_then(|v| scalar(&v.to_value()))
            .or_else(|| qv.first().map(|s| s.to_string()).filter(|s| !s.is_empty()));
        vals.push(v);
    }
    let denied = |m: String| Fault::new(StatusCode::FORBIDDEN, "ISG_SERVICE_AUTH_FAILURE", m);
    let Some(rkey) = vals[0].clone() else {
        return Err(denied(
            "User is not authorized to execute the service: responsibility context is missing"
                .into(),
        ));
    };
    let Some(resp) = w
        .seed
        .responsibilities
        .iter()
        .find(|r| r.key == rkey)
        .cloned()
    else {
        return Err(denied(format!("Responsibility {rkey} is not valid")));
    };
    if !user.responsibilities.contains(&rkey) {
        return Err(denied(format!(
            "Responsibility {rkey} is not assigned to user {}",
            user.user_name
        )));
    }
    if !resp.grants.iter().any(|g| g == key.key()) {
        return Err(denied(format!(
            "User is not authorized to execute the service: responsibility {rkey} has no grant on it"
        )));
    }
    let bad = |code: &str, m: String| Fault::new(StatusCode::INTERNAL_SERVER_ERROR, code, m);
    match &vals[1] {
        Some(a) if *a == resp.application => {}
        other => {
            return Err(bad(
                "ISG_INVALID_RESPAPPLICATION",
                format!(
                    "Application {:?} is not the application of responsibility {rkey} ({})",
                    other.as_deref().unwrap_or(""),
                    resp.application
                ),
            ));
        }
    }
    if !vals[2]
        .as_ref()
        .is_some_and(|g| w.seed.security_groups.contains(g))
    {
        return Err(bad(
            "ISG_INVALID_SECURITYGROUP",
            format!(
                "Invalid security group {:?}",
                vals[2].as_deref().unwrap_or("")
            ),
        ));
    }
    if !vals[3]
        .as_ref()
        .is_some_and(|g| w.seed.nls_languages.contains(g))
    {
        return Err(bad(
            "ISG_INVALID_NLSLANGUAGE",
            format!(
                "Invalid NLS language {:?}",
                vals[3].as_deref().unwrap_or("")
            ),
        ));
    }
    let org_id = match &vals[4] {
        None if key.org_striped() => {
            return Err(bad(
                "ISG_INVALID_ORG_ID",
                "Org_Id is required for this multi-org service".into(),
            ));
        }
        None => None,
        Some(o) => {
            let id: i64 = o
                .trim()
                .parse()
                .map_err(|_| bad("ISG_INVALID_ORG_ID", format!("Invalid Org_Id {o}")))?;
            if w.ou(id).is_none() || (!resp.org_ids.is_empty() && !resp.org_ids.contains(&id)) {
                return Err(bad(
                    "ISG_INVALID_ORG_ID",
                    format!("Operating unit {id} is not accessible to responsibility {rkey}"),
                ));
            }
            if key.org_striped() && resp.org_ids.is_empty() {
                return Err(bad(
                    "ISG_INVALID_ORG_ID",
                    format!("Operating unit {id} is not accessible to responsibility {rkey}"),
                ));
            }
            Some(id)
        }
    };
    Ok(Ctx { user, resp, org_id })
}

fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let b64 = v
        .strip_prefix("Basic ")
        .or_else(|| v.strip_prefix("basic "))?;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (u, p) = text.split_once(':')?;
    Some((u.to_string(), p.to_string()))
}

fn check_password(w: &World, u: &str, p: &str) -> Option<User> {
    w.seed
        .users
        .iter()
        .find(|x| x.user_name.eq_ignore_ascii_case(u) && x.password == p)
        .cloned()
}

fn cookie_token(headers: &HeaderMap, name: &str) -> Option<String> {
    for v in headers.get_all(header::COOKIE) {
        let Ok(s) = v.to_str() else { continue };
        for part in s.split(';') {
            if let Some((k, val)) = part.trim().split_once('=')
                && k == name
            {
                return Some(val.to_string());
            }
        }
    }
    None
}

fn authenticate(sh: &Shared, w: &mut World, headers: &HeaderMap) -> Result<User, Fault> {
    if headers.contains_key(header::AUTHORIZATION) {
        let (u, p) = basic_credentials(headers).ok_or_else(Fault::auth)?;
        return check_password(w, &u, &p).ok_or_else(Fault::auth);
    }
    let name = w.seed.access_token_name.clone();
    let token = cookie_token(headers, &name).ok_or_else(Fault::auth)?;
    let now = w.now();
    let Some(sess) = w.sessions.get_mut(&token) else {
        return Err(Fault::auth());
    };
    if now - sess.last_used > sh.idle || now - sess.created > sh.absolute {
        w.sessions.remove(&token);
        return Err(Fault::auth());
    }
    sess.last_used = now;
    let uname = sess.user_name.clone();
    w.seed
        .users
        .iter()
        .find(|u| u.user_name == uname)
        .cloned()
        .ok_or_else(Fault::auth)
}

fn login(sh: &Shared, headers: &HeaderMap) -> Result<Response, Fault> {
    let mut w = sh.world();
    let (u, p) = basic_credentials(headers).ok_or_else(|| Fault::auth().at("login", "login"))?;
    let user = check_password(&w, &u, &p).ok_or_else(|| Fault::auth().at("login", "login"))?;
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    let token = hex::encode(bytes);
    let now = w.now();
    w.sessions.insert(
        token.clone(),
        super::world::Session {
            user_name: user.user_name.clone(),
            created: now,
            last_used: now,
        },
    );
    let name = w.seed.access_token_name.clone();
    let body = serde_json::json!({"response": {"data": {
        "accessTokenName": name,
        "accessToken": token,
        "ebsVersion": w.seed.ebs_version,
    }}});
    let mut resp = (StatusCode::OK, axum::Json(body)).into_response();
    if let Ok(v) = format!("{name}={token}; Path=/; HttpOnly").parse() {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(resp)
}

fn logout(sh: &Shared, headers: &HeaderMap) -> Result<Response, Fault> {
    let mut w = sh.world();
    let name = w.seed.access_token_name.clone();
    let token = cookie_token(headers, &name);
    match token.and_then(|t| w.sessions.remove(&t)) {
        Some(_) => Ok((
            StatusCode::OK,
            axum::Json(serde_json::json!({"response": {"data": {"status": "SUCCESS"}}})),
        )
            .into_response()),
        None => Err(Fault::auth().at("logout", "logout")),
    }
}

fn wadl(alias: &str, key: AliasKey) -> Response {
    let mut x = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<application xmlns=\"http://wadl.dev.java.net/2009/02\">\n",
    );
    x.push_str(&format!(
        "  <resources base=\"/webservices/rest/{alias}/\">\n"
    ));
    for (op, verbs) in operations(key) {
        x.push_str(&format!("    <resource path=\"/{op}/\">\n"));
        for v in *verbs {
            x.push_str(&format!(
                "      <method id=\"{op}\" name=\"{v}\"><request><representation mediaType=\"application/xml\"/><representation mediaType=\"application/json\"/></request><response><representation mediaType=\"application/xml\"/><representation mediaType=\"application/json\"/></response></method>\n"
            ));
        }
        x.push_str("    </resource>\n");
    }
    x.push_str("  </resources>\n</application>\n");
    ([(header::CONTENT_TYPE, "application/xml")], x).into_response()
}

#[allow(clippy::too_many_arguments)]
fn dispatch(
    sh: &Shared,
    w: &mut World,
    key: AliasKey,
    op: &str,
    method: &Method,
    ctx: &Ctx,
    params: &Map<String, Value>,
    query: &[(String, String)],
) -> Result<Value, Fault> {
    if op.starts_with("SUBMIT_CP_") {
        return submit_cp(sh, w, op, ctx, params);
    }
    if key == AliasKey::Custom {
        return custom::call(w, op, ctx, params);
    }
    match *method {
        Method::POST => insert(w, op, ctx, params),
        Method::GET => read(w, op, ctx, query),
        _ => delete(w, op, ctx, query),
    }
}

fn insert(w: &mut World, op: &str, ctx: &Ctx, params: &Map<String, Value>) -> Result<Value, Fault> {
    let spec = table_spec(op).ok_or_else(|| Fault::exec(format!("{op} is read-only")))?;
    let list_key = format!("{}_REC", spec.name);
    let Some(list) = params.get(&list_key) else {
        return Err(Fault::exec(format!(
            "InputParameters.{list_key} is missing (rows to insert)"
        )));
    };
    let items = list_of(list, &format!("{list_key}_ITEM"));
    let mut rows: Vec<Row> = Vec::new();
    let mut ids = Vec::new();
    for (n, item) in items.iter().enumerate() {
        let mut row =
            coerce_row(&spec, item).map_err(|e| Fault::exec(format!("row {}: {e}", n + 1)))?;
        if spec.name.ends_with("_ALL") || spec.name.starts_with("AP_") {
            match (col_i64(&row, "ORG_ID"), ctx.org_id) {
                (None, Some(o)) => set(&mut row, "ORG_ID", o),
                (Some(r), Some(o)) if r != o => {
                    return Err(Fault::new(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "ISG_INVALID_ORG_ID",
                        format!(
                            "row {}: ORG_ID {r} differs from the context Org_Id {o}",
                            n + 1
                        ),
                    ));
                }
                _ => {}
            }
        }
        match spec.name {
            "AP_INVOICES_INTERFACE" if col(&row, "INVOICE_ID").is_none() => {
                let id = w.nextval("AP_INVOICES_INTERFACE_S");
                set(&mut row, "INVOICE_ID", id);
                ids.push(s(id));
            }
            "AP_INVOICE_LINES_INTERFACE" if col(&row, "INVOICE_LINE_ID").is_none() => {
                let id = w.nextval("AP_INVOICE_LINES_INTERFACE_S");
                set(&mut row, "INVOICE_LINE_ID", id);
                ids.push(s(id));
            }
            "AP_INVOICES_INTERFACE" => ids.push(s(col(&row, "INVOICE_ID").unwrap_or(""))),
            "AP_INVOICE_LINES_INTERFACE" => ids.push(s(col(&row, "INVOICE_LINE_ID").unwrap_or(""))),
            "RA_INTERFACE_DISTRIBUTIONS_ALL"
                if col(&row, "INTERFACE_DISTRIBUTION_ID").is_none() =>
            {
                let id = w.nextval("RA_INTERFACE_DISTRIBUTIONS_S");
                set(&mut row, "INTERFACE_DISTRIBUTION_ID", id);
            }
            _ => {}
        }
        check_not_null(&spec, &row).map_err(|e| Fault::exec(format!("row {}: {e}", n + 1)))?;
        rows.push(row);
    }
    let count = rows.len();
    if spec.name == "GL_INTERFACE" {
        for r in rows {
            w.gl_interface.insert(r);
        }
        let mut out = Map::new();
        out.insert("X_ROW_COUNT".into(), s(count));
        return Ok(output(out));
    }
    let target = match spec.name {
        "RA_INTERFACE_LINES_ALL" => &mut w.ra_lines,
        "RA_INTERFACE_DISTRIBUTIONS_ALL" => &mut w.ra_dists,
        "AP_INVOICES_INTERFACE" => &mut w.ap_headers,
        _ => &mut w.ap_lines,
    };
    target.extend(rows);
    let mut out = Map::new();
    out.insert("X_ROW_COUNT".into(), s(count));
    if spec.name.starts_with("AP_") {
        out.insert("X_IDS".into(), table("X_IDS", ids));
    }
    Ok(output(out))
}

fn filters(query: &[(String, String)]) -> Vec<(String, String)> {
    query
        .iter()
        .filter(|(k, _)| {
            let k = k.to_ascii_lowercase();
            !k.starts_with("ctx_") && k != "offset" && k != "limit" && !k.starts_with('@')
        })
        .map(|(k, v)| (k.to_ascii_uppercase(), v.clone()))
        .collect()
}

/// How many rows, and the page `offset..offset + limit` of them.
fn paged<'a>(
    rows: impl Iterator<Item = &'a Row>,
    offset: usize,
    limit: usize,
) -> (usize, Vec<Value>) {
    let mut total = 0;
    let mut page = Vec::new();
    for r in rows {
        if total >= offset && page.len() < limit {
            page.push(Value::Object(r.clone()));
        }
        total += 1;
    }
    (total, page)
}

fn read(w: &World, op: &str, ctx: &Ctx, query: &[(String, String)]) -> Result<Value, Fault> {
    let mut f = filters(query);
    let num = |name: &str, d: usize| -> Result<usize, Fault> {
        match query.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)) {
            None => Ok(d),
            Some((_, v)) => v
                .parse()
                .map_err(|_| Fault::exec(format!("{name} must be a non-negative number"))),
        }
    };
    let offset = num("offset", 0)?;
    let limit = num("limit", 100)?.min(1000);
    let org = ctx.org_id;
    let upper = op.to_ascii_uppercase();
    let striped = upper.ends_with("_ALL") || upper.starts_with("AP_INVOICE");
    let keep = |r: &Row| (!striped || col_i64(r, "ORG_ID") == org) && matches(r, &f);
    // Only the page is copied: a read costs the rows it returns, not the table.
    let (total, page): (usize, Vec<Value>) = match upper.as_str() {
        "GL_INTERFACE" => {
            let ids = w.gl_interface.select(&f);
            let page = ids
                .iter()
                .skip(offset)
                .take(limit)
                .map(|&id| Value::Object(w.gl_interface[id].clone()))
                .collect();
            (ids.len(), page)
        }
        "RA_INTERFACE_LINES_ALL" => paged(w.ra_lines.iter().filter(|r| keep(r)), offset, limit),
        "RA_INTERFACE_DISTRIBUTIONS_ALL" => {
            paged(w.ra_dists.iter().filter(|r| keep(r)), offset, limit)
        }
        "RA_INTERFACE_ERRORS_ALL" => paged(w.ra_errors.iter().filter(|r| keep(r)), offset, limit),
        "AP_INVOICES_INTERFACE" => paged(w.ap_headers.iter().filter(|r| keep(r)), offset, limit),
        "AP_INVOICE_LINES_INTERFACE" => paged(w.ap_lines.iter().filter(|r| keep(r)), offset, limit),
        "AP_INTERFACE_REJECTIONS" => {
            let header_org: BTreeMap<i64, (Option<i64>, Option<String>)> = w
                .ap_headers
                .iter()
                .filter_map(|h| {
                    Some((
                        col_i64(h, "INVOICE_ID")?,
                        (col_i64(h, "ORG_ID"), col(h, "GROUP_ID").map(str::to_string)),
                    ))
                })
                .collect();
            let group = f
                .iter()
                .position(|(k, _)| k == "GROUP_ID")
                .map(|i| f.remove(i).1);
            let rows = w
                .ap_rejections
                .iter()
                .filter(|r| {
                    let h = col_i64(r, "INVOICE_ID").and_then(|i| header_org.get(&i));
                    h.is_none_or(|(o, _)| o.is_none() || *o == org)
                        && group.as_ref().is_none_or(|g| {
                            h.is_some_and(|(_, hg)| hg.as_deref() == Some(g.as_str()))
                        })
                })
                .filter(|r| (!striped || col_i64(r, "ORG_ID") == org) && matches(r, &f));
            paged(rows, offset, limit)
        }
        _ => return Err(Fault::exec(format!("{op} cannot be read"))),
    };
    let has_more = offset + page.len() < total;
    let mut out = Map::new();
    out.insert("X_TOTAL_COUNT".into(), s(total));
    out.insert("X_HAS_MORE".into(), s(if has_more { "Y" } else { "N" }));
    let name = format!("{upper}_REC");
    out.insert(name.clone(), table(&name, page));
    Ok(output(out))
}

fn delete(w: &mut World, op: &str, ctx: &Ctx, query: &[(String, String)]) -> Result<Value, Fault> {
    let f = filters(query);
    if f.is_empty() {
        return Err(Fault::exec(format!(
            "DELETE on {op} needs at least one filter (e.g. GROUP_ID)"
        )));
    }
    let org = ctx.org_id;
    let count = match op.to_ascii_uppercase().as_str() {
        "GL_INTERFACE" => {
            if !f.iter().any(|(k, _)| k == "GROUP_ID") {
                return Err(Fault::exec("DELETE on GL_INTERFACE needs GROUP_ID"));
            }
            let gone: Vec<_> = w
                .gl_interface
                .select(&f)
                .into_iter()
                .filter(|&id| col(&w.gl_interface[id], "STATUS") != Some("NEW"))
                .collect();
            for &id in &gone {
                w.gl_interface.remove(id);
            }
            gone.len()
        }
        "RA_INTERFACE_LINES_ALL" => {
            let gone: Vec<Row> = w
                .ra_lines
                .iter()
                .filter(|r| col_i64(r, "ORG_ID") == org && matches(r, &f))
                .cloned()
                .collect();
            let ids: Vec<i64> = gone
                .iter()
                .filter_map(|r| col_i64(r, "INTERFACE_LINE_ID"))
                .collect();
            let keys: Vec<String> = gone
                .iter()
                .filter_map(|r| {
                    super::ar::flex_key(r, "INTERFACE_LINE_CONTEXT", "INTERFACE_LINE_ATTRIBUTE")
                })
                .collect();
            w.ra_lines
                .retain(|r| !(col_i64(r, "ORG_ID") == org && matches(r, &f)));
            w.ra_dists.retain(|d| {
                !(col_i64(d, "INTERFACE_LINE_ID").is_some_and(|i| ids.contains(&i))
                    || super::ar::flex_key(d, "INTERFACE_LINE_CONTEXT", "INTERFACE_LINE_ATTRIBUTE")
                        .is_some_and(|k| keys.contains(&k)))
            });
            w.ra_errors
                .retain(|e| !col_i64(e, "INTERFACE_LINE_ID").is_some_and(|i| ids.contains(&i)));
            gone.len()
        }
        "AP_INVOICES_INTERFACE" => {
            let ids: Vec<i64> = w
                .ap_headers
                .iter()
                .filter(|h| {
                    col_i64(h, "ORG_ID") == org
                        && matches(h, &f)
                        && col(h, "STATUS") == Some("REJECTED")
                })
                .filter_map(|h| col_i64(h, "INVOICE_ID"))
                .collect();
            w.ap_headers
                .retain(|h| !col_i64(h, "INVOICE_ID").is_some_and(|i| ids.contains(&i)));
            w.ap_lines
                .retain(|h| !col_i64(h, "INVOICE_ID").is_some_and(|i| ids.contains(&i)));
            w.ap_rejections
                .retain(|h| !col_i64(h, "INVOICE_ID").is_some_and(|i| ids.contains(&i)));
            ids.len()
        }
        _ => return Err(Fault::exec(format!("{op} does not support DELETE"))),
    };
    let mut out = Map::new();
    out.insert("X_ROW_COUNT".into(), s(count));
    Ok(output(out))
}

fn submit_cp(
    sh: &Shared,
    w: &mut World,
    op: &str,
    ctx: &Ctx,
    params: &Map<String, Value>,
) -> Result<Value, Fault> {
    let (program, application, max) = match op {
        "SUBMIT_CP_GLLEZL" => ("GLLEZL", "SQLGL", 8),
        "SUBMIT_CP_RAXMTR" => ("RAXMTR", "AR", 27),
        _ => ("APXIIMPT", "SQLAP", 14),
    };
    let get = |k: &str| -> Option<String> {
        params
            .iter()
            .find(|(x, _)| x.eq_ignore_ascii_case(k))
            .and_then(|(_, v)| scalar(v))
    };
    let mut args: Vec<Option<String>> = (1..=max).map(|i| get(&format!("ARGUMENT{i}"))).collect();
    let mut extra = BTreeMap::new();
    for k in [
        "GROUP_ID",
        "USER_JE_SOURCE_NAME",
        "JE_SOURCE_NAME",
        "LEDGER_ID",
    ] {
        if let Some(v) = get(k) {
            extra.insert(k.to_string(), v);
        }
    }
    if program == "GLLEZL" && args[0].is_none() {
        let source = extra
            .get("USER_JE_SOURCE_NAME")
            .or(extra.get("JE_SOURCE_NAME"))
            .cloned();
        let Some(source) = source else {
            return Err(Fault::exec(
                "SUBMIT_CP_GLLEZL: ARGUMENT1 (interface run id) or USER_JE_SOURCE_NAME + GROUP_ID is required",
            ));
        };
        let parse = |k: &str| -> Result<Option<i64>, Fault> {
            extra
                .get(k)
                .map(|v| {
                    v.parse::<i64>()
                        .map_err(|_| Fault::exec(format!("ORA-01722: invalid number in {k}")))
                })
                .transpose()
        };
        let (_, run_id) =
            requests::populate_control(w, &source, parse("LEDGER_ID")?, parse("GROUP_ID")?, false)
                .map_err(Fault::exec)?;
        args[0] = Some(run_id.to_string());
    }
    if program == "RAXMTR" && args[1].is_none() {
        args[1] = ctx.org_id.map(|o| o.to_string());
    }
    if program == "APXIIMPT" && args[0].is_none() {
        args[0] = ctx.org_id.map(|o| o.to_string());
    }
    let (standby, forced_error) = {
        let mut st = sh.fault_state();
        let sb = st.faults.standby_next > 0;
        if sb {
            st.faults.standby_next -= 1;
        }
        let fe = st.faults.import_error_next > 0;
        if fe {
            st.faults.import_error_next -= 1;
        }
        (sb, fe)
    };
    let now = w.now();
    let id = requests::submit(
        w,
        Submit {
            program,
            application,
            args,
            extra,
            user_id: ctx.user.user_id,
            responsibility: ctx.resp.key.clone(),
            standby,
            forced_error,
        },
        None,
        now,
    );
    let mut out = Map::new();
    out.insert("REQUEST_ID".into(), s(id));
    Ok(output(out))
}
