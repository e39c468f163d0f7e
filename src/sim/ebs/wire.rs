//! Wire helpers: ISGServiceFault bodies, a JSON reader that keeps duplicate keys (ISG answers
//! `ISG_DUPLICATE_*` for a repeated RESTHeader element), scalar/list normalisation.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value, json};
use std::fmt;

/// An ISG fault: HTTP status plus the `ISGServiceFault` body of reference §1.9.
#[derive(Debug, Clone)]
pub struct Fault(Box<FaultData>);

#[derive(Debug, Clone)]
pub struct FaultData {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
    pub resolution: String,
    pub service: String,
    pub operation: String,
}

impl Fault {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Fault {
        let resolution = match code {
            "FND_SOA_AUTHENTICATION_FAILURE" => {
                "Please check the user name and password or log in again"
            }
            "ISG_SERVICE_AUTH_FAILURE" => "Please check whether the user has the requisite grants",
            "ISG_DB_CONNECTION_ERROR" => {
                "Please retry; contact the system administrator if it persists"
            }
            "ISG_SERVICE_UNAVAILABLE" => "Too many concurrent requests; retry later",
            c if c.starts_with("ISG_DUPLICATE_") => "Send each RESTHeader element once",
            c if c.starts_with("ISG_INVALID_") => {
                "Please check the service URL and application context"
            }
            _ => "Please check the request and the server log",
        };
        Fault(Box::new(FaultData {
            status,
            code: code.to_string(),
            message: message.into(),
            resolution: resolution.to_string(),
            service: String::new(),
            operation: String::new(),
        }))
    }

    pub fn auth() -> Fault {
        Fault::new(
            StatusCode::UNAUTHORIZED,
            "FND_SOA_AUTHENTICATION_FAILURE",
            "Invalid user name or password",
        )
    }

    pub fn exec(message: impl Into<String>) -> Fault {
        Fault::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "ISG_SERVICE_EXECUTION_ERROR",
            message,
        )
    }

    pub fn at(mut self, service: &str, operation: &str) -> Fault {
        self.0.service = service.to_string();
        self.0.operation = operation.to_string();
        self
    }

    pub fn data(&self) -> &FaultData {
        &self.0
    }
}

impl IntoResponse for Fault {
    fn into_response(self) -> Response {
        let f = *self.0;
        let body = json!({"ISGServiceFault": {
            "Code": f.code,
            "Message": f.message,
            "Resolution": f.resolution,
            "ServiceDetails": {
                "ServiceName": f.service,
                "OperationName": f.operation,
                "InstanceId": "0",
            }
        }});
        let mut resp = (f.status, axum::Json(body)).into_response();
        if f.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Basic realm=\"EBS\""),
            );
        }
        resp
    }
}

/// JSON value that keeps every key of an object, duplicates included.
#[derive(Debug, Clone)]
pub enum JVal {
    Null,
    Bool(bool),
    Num(String),
    Str(String),
    Arr(Vec<JVal>),
    Obj(Vec<(String, JVal)>),
}

impl JVal {
    pub fn to_value(&self) -> Value {
        match self {
            JVal::Null => Value::Null,
            JVal::Bool(b) => Value::Bool(*b),
            JVal::Num(n) => n
                .parse::<serde_json::Number>()
                .map(Value::Number)
                .unwrap_or_else(|_| Value::String(n.clone())),
            JVal::Str(s) => Value::String(s.clone()),
            JVal::Arr(a) => Value::Array(a.iter().map(JVal::to_value).collect()),
            JVal::Obj(o) => {
                let mut m = Map::new();
                for (k, v) in o {
                    m.insert(k.clone(), v.to_value());
                }
                Value::Object(m)
            }
        }
    }
}

impl<'de> Deserialize<'de> for JVal {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<JVal, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = JVal;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("JSON")
            }
            fn visit_unit<E>(self) -> Result<JVal, E> {
                Ok(JVal::Null)
            }
            fn visit_none<E>(self) -> Result<JVal, E> {
                Ok(JVal::Null)
            }
            fn visit_bool<E>(self, b: bool) -> Result<JVal, E> {
                Ok(JVal::Bool(b))
            }
            fn visit_i64<E>(self, n: i64) -> Result<JVal, E> {
                Ok(JVal::Num(n.to_string()))
            }
            fn visit_u64<E>(self, n: u64) -> Result<JVal, E> {
                Ok(JVal::Num(n.to_string()))
            }
            fn visit_f64<E>(self, n: f64) -> Result<JVal, E> {
                Ok(JVal::Num(n.to_string()))
            }
            fn visit_str<E>(self, s: &str) -> Result<JVal, E> {
                Ok(JVal::Str(s.to_string()))
            }
            fn visit_string<E>(self, s: String) -> Result<JVal, E> {
                Ok(JVal::Str(s))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<JVal, A::Error> {
                let mut out = Vec::new();
                while let Some(v) = a.next_element()? {
                    out.push(v);
                }
                Ok(JVal::Arr(out))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<JVal, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = a.next_entry::<String, JVal>()? {
                    out.push((k, v));
                }
                Ok(JVal::Obj(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// A JSON scalar as the string EBS would store; empty string and null are NULL.
pub fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if s.is_empty() => None,
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(if *b { "Y" } else { "N" }.to_string()),
        _ => None,
    }
}

/// A PL/SQL-table style list: `{"X_ITEM":[..]}`, a bare array, or a single object.
pub fn list_of<'a>(v: &'a Value, item_key: &str) -> Vec<&'a Map<String, Value>> {
    match v {
        Value::Array(a) => a.iter().filter_map(Value::as_object).collect(),
        Value::Object(o) => match o.get(item_key) {
            Some(inner) => list_of(inner, "\u{0}"),
            None => vec![o],
        },
        _ => Vec::new(),
    }
}

/// Wraps rows as `{"<name>": {"<name>_ITEM": [...]}}` content.
pub fn table(name: &str, items: Vec<Value>) -> Value {
    let mut m = Map::new();
    m.insert(format!("{name}_ITEM"), Value::Array(items));
    Value::Object(m)
}

/// `{"OutputParameters": {...}}` with `X_RETURN_STATUS` = S.
pub fn output(mut fields: Map<String, Value>) -> Value {
    if !fields.contains_key("X_RETURN_STATUS") {
        fields.insert("X_RETURN_STATUS".into(), Value::String("S".into()));
    }
    json!({ "OutputParameters": Value::Object(fields) })
}

/// A business failure: 200 with `X_RETURN_STATUS` = E.
pub fn output_error(msg: &str) -> Value {
    json!({"OutputParameters": {"X_RETURN_STATUS": "E", "X_MSG_DATA": msg}})
}

pub fn s(v: impl ToString) -> Value {
    Value::String(v.to_string())
}

pub fn opt(v: Option<impl ToString>) -> Value {
    match v {
        Some(x) => Value::String(x.to_string()),
        None => Value::Null,
    }
}

/// Parses the date forms the contract accepts.
pub fn parse_date(s: &str) -> Option<chrono::NaiveDate> {
    let s = s.trim();
    if s.len() < 10 || !s.is_char_boundary(10) {
        return None;
    }
    let (d, rest) = s.split_at(10);
    if !(rest.is_empty() || rest.starts_with('T') || rest.starts_with(' ')) {
        return None;
    }
    chrono::NaiveDate::parse_from_str(&d.replace('/', "-"), "%Y-%m-%d").ok()
}

pub fn parse_datetime(s: &str) -> Option<chrono::NaiveDateTime> {
    let s = s.trim();
    if let Ok(dt) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(dt.naive_utc());
    }
    for f in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S",
        "%Y/%m/%d %H:%M:%S",
    ] {
        if let Ok(dt) = chrono::NaiveDateTime::parse_from_str(s, f) {
            return Some(dt);
        }
    }
    parse_date(s).and_then(|d| d.and_hms_opt(0, 0, 0))
}

pub fn fmt_date(d: chrono::NaiveDate) -> String {
    format!("{}T00:00:00", d.format("%Y-%m-%d"))
}

pub fn fmt_dt(d: chrono::DateTime<chrono::Utc>) -> String {
    d.format("%Y-%m-%dT%H:%M:%S").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jval_keeps_duplicates() {
        let v: JVal = serde_json::from_str(r#"{"a":1,"a":"x","b":[1.5,null]}"#).unwrap();
        let JVal::Obj(o) = v else { panic!() };
        assert_eq!(o.len(), 3);
    }

    #[test]
    fn dates() {
        assert!(parse_date("2026-10-31").is_some());
        assert!(parse_date("2026/10/31 00:00:00").is_some());
        assert!(parse_date("2026-10-31T00:00:00.000Z").is_some());
        assert!(parse_date("31-OCT-2026").is_none());
        assert!(parse_date("2026-13-01").is_none());
    }

    #[test]
    fn lists() {
        let v = json!({"R_ITEM": [{"a":"1"},{"a":"2"}]});
        assert_eq!(list_of(&v, "R_ITEM").len(), 2);
        let v = json!({"a":"1"});
        assert_eq!(list_of(&v, "R_ITEM").len(), 1);
        let v = json!([{"a":"1"}]);
        assert_eq!(list_of(&v, "R_ITEM").len(), 1);
    }
}
