//! Response building shared by every route: headers, SP-API JSON errors,
//! S3-style XML errors, and the `ApiError` operations return.

use axum::body::Body;
use chrono::{DateTime, Utc};
use hyper::{Response, StatusCode, header};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::sim::amazon::render::to_json_text;

pub(super) struct Ctx {
    pub(super) request_id: String,
    pub(super) now: DateTime<Utc>,
}

pub(super) fn base_response(
    ctx: &Ctx,
    status: StatusCode,
    content_type: &str,
    body: Body,
) -> Response<Body> {
    let mut resp = Response::new(body);
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    if let Ok(v) = content_type.parse() {
        h.insert(header::CONTENT_TYPE, v);
    }
    if let Ok(v) = ctx.request_id.parse() {
        h.insert("x-amzn-RequestId", v);
    }
    let date: std::time::SystemTime = ctx.now.into();
    if let Ok(v) = httpdate::fmt_http_date(date).parse() {
        h.insert(header::DATE, v);
    }
    resp
}

pub(super) fn error_body(code: &str, message: &str, details: &str) -> String {
    json!({"errors": [{"code": code, "message": message, "details": details}]}).to_string()
}

#[derive(Debug)]
pub(super) struct ApiError {
    pub(super) status: StatusCode,
    pub(super) code: &'static str,
    pub(super) message: String,
    pub(super) details: String,
}

pub(super) fn invalid(message: impl Into<String>) -> ApiError {
    ApiError {
        status: StatusCode::BAD_REQUEST,
        code: "InvalidInput",
        message: message.into(),
        details: String::new(),
    }
}

pub(super) fn not_found(message: impl Into<String>) -> ApiError {
    ApiError {
        status: StatusCode::NOT_FOUND,
        code: "NotFound",
        message: message.into(),
        details: String::new(),
    }
}

pub(super) type OpResult = Result<(StatusCode, String), ApiError>;

pub(super) fn ok_json(v: &Value) -> OpResult {
    Ok((StatusCode::OK, to_json_text(v)))
}

pub(super) fn xml_error(
    ctx: &Ctx,
    status: StatusCode,
    code: &str,
    message: &str,
    extra: &str,
) -> Response<Body> {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message>{extra}<RequestId>{}</RequestId><HostId>{}</HostId></Error>",
        &ctx.request_id[..16].to_ascii_uppercase().replace('-', ""),
        hex::encode(Sha256::digest(ctx.request_id.as_bytes()))
    );
    let mut resp = base_response(ctx, status, "application/xml", Body::from(body));
    if let Ok(v) = ctx.request_id.parse() {
        resp.headers_mut().insert("x-amz-request-id", v);
    }
    resp
}
