//! Login with Amazon: the token endpoint and access-token checks.

use axum::body::Body;
use chrono::{DateTime, Duration, Utc};
use hyper::{Response, StatusCode, header};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use std::collections::HashMap;

use super::query::new_token;
use super::response::{Ctx, base_response};
use super::{Inner, State, lock};

/// Lifetime (simulated) of access tokens.
const ACCESS_TOKEN_SECS: i64 = 3600;

pub(super) fn lwa_error(
    ctx: &Ctx,
    status: StatusCode,
    error: &str,
    description: &str,
) -> Response<Body> {
    let body = json!({"error_description": description, "error": error}).to_string();
    let mut resp = base_response(
        ctx,
        status,
        "application/json;charset=UTF-8",
        Body::from(body),
    );
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    resp
}

pub(super) fn token_endpoint(
    state: &State,
    ctx: &Ctx,
    content_type: &str,
    body: &[u8],
) -> Response<Body> {
    let fields: HashMap<String, String> = if content_type.contains("json") {
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(map)) => map
                .into_iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k, s.to_string())))
                .collect(),
            _ => {
                return lwa_error(
                    ctx,
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "The request body is not valid JSON",
                );
            }
        }
    } else {
        url::form_urlencoded::parse(body)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    };
    let cfg = &state.config;
    let grant = fields.get("grant_type").map(String::as_str).unwrap_or("");
    let (Some(client_id), Some(client_secret)) =
        (fields.get("client_id"), fields.get("client_secret"))
    else {
        return lwa_error(
            ctx,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The request is missing a required parameter : client_id or client_secret",
        );
    };
    if grant.is_empty() {
        return lwa_error(
            ctx,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The request is missing a required parameter : grant_type",
        );
    }
    if client_id != &cfg.client_id || client_secret != cfg.client_secret.expose_secret() {
        return lwa_error(
            ctx,
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client authentication failed",
        );
    }
    let grantless = match grant {
        "refresh_token" => {
            let Some(refresh) = fields.get("refresh_token") else {
                return lwa_error(
                    ctx,
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "The request is missing a required parameter : refresh_token",
                );
            };
            if refresh != cfg.refresh_token.expose_secret() {
                return lwa_error(
                    ctx,
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "The request has an invalid grant parameter : refresh_token",
                );
            }
            false
        }
        "client_credentials" => {
            if !fields.contains_key("scope") {
                return lwa_error(
                    ctx,
                    StatusCode::BAD_REQUEST,
                    "invalid_scope",
                    "The request has an invalid parameter : scope",
                );
            }
            true
        }
        _ => {
            return lwa_error(
                ctx,
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "The authorization grant type is not supported by the authorization server",
            );
        }
    };
    let mut inner = lock(&state.inner);
    if inner.tokens.len() > 10_000 {
        let now = ctx.now;
        inner.tokens.retain(|_, (exp, _)| *exp > now);
    }
    let token = format!("Atza|{}", new_token(&mut inner, 120));
    inner.tokens.insert(
        token.clone(),
        (ctx.now + Duration::seconds(ACCESS_TOKEN_SECS), grantless),
    );
    drop(inner);
    let mut body = json!({
        "access_token": token,
        "token_type": "bearer",
        "expires_in": state.clock.real_seconds(ACCESS_TOKEN_SECS),
    });
    if grantless {
        body["scope"] = json!(fields.get("scope"));
    } else {
        body["refresh_token"] = json!(cfg.refresh_token.expose_secret());
    }
    let mut resp = base_response(
        ctx,
        StatusCode::OK,
        "application/json;charset=UTF-8",
        Body::from(body.to_string()),
    );
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    resp
}

pub(super) fn check_token(
    inner: &Inner,
    token: &str,
    now: DateTime<Utc>,
) -> Result<(), &'static str> {
    match inner.tokens.get(token) {
        None => Err("Access to requested resource is denied."),
        Some((_, true)) => Err("Access to requested resource is denied."),
        Some((exp, false)) if *exp <= now => {
            Err("The security token included in the request is expired")
        }
        Some(_) => Ok(()),
    }
}
