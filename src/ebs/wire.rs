//! JSON shapes of ISG REST: the `<METHOD>_Input` envelope, `OutputParameters`, PL/SQL-table
//! lists and scalars that may come as strings or numbers (reference §1.6/1.7).

use crate::ebs::context::RestHeader;
use crate::ebs::error::EbsError;
use rust_decimal::Decimal;
use serde_json::{Map, Value, json};
use std::str::FromStr;

/// `{"<METHOD>_Input": {"RESTHeader": …, "InputParameters": …}}`.
pub fn envelope(method: &str, header: &RestHeader, params: Value) -> Value {
    let root = format!("{}_Input", method.to_ascii_uppercase());
    json!({ root: { "RESTHeader": header.to_json(), "InputParameters": params } })
}

/// A list parameter in PL/SQL-table form: `{"<NAME>": {"<NAME>_ITEM": [...]}}` value.
pub fn table(name: &str, items: Vec<Value>) -> Value {
    json!({ format!("{name}_ITEM"): items })
}

/// The `OutputParameters` object; a business `X_RETURN_STATUS` of `E`/`U` becomes an error.
pub fn output(path: &str, body: Value) -> Result<Map<String, Value>, EbsError> {
    let Value::Object(mut root) = body else {
        return Err(EbsError::Decode {
            path: path.to_string(),
            detail: "answer is not a JSON object".into(),
        });
    };
    let out = match root.remove("OutputParameters") {
        Some(Value::Object(m)) => m,
        Some(Value::Null) | None => Map::new(),
        Some(other) => {
            return Err(EbsError::Decode {
                path: path.to_string(),
                detail: format!("OutputParameters is {other}"),
            });
        }
    };
    match str_of(&out, "X_RETURN_STATUS").as_deref() {
        Some("E") | Some("U") => Err(EbsError::Business {
            path: path.to_string(),
            message: str_of(&out, "X_MSG_DATA")
                .or_else(|| str_of(&out, "X_MESSAGE"))
                .unwrap_or_else(|| "no message".into()),
        }),
        _ => Ok(out),
    }
}

/// Items of a list: `{"K": {"K_ITEM": [...]}}`, `{"K": {"K_ITEM": {...}}}`, `{"K": [...]}`.
pub fn list(map: &Map<String, Value>, key: &str) -> Vec<Map<String, Value>> {
    let item_key = format!("{key}_ITEM");
    let v = match map.get(key) {
        Some(Value::Object(inner)) => inner.get(&item_key).cloned().unwrap_or(Value::Null),
        Some(other) => other.clone(),
        None => Value::Null,
    };
    match v {
        Value::Array(a) => a
            .into_iter()
            .filter_map(|x| match x {
                Value::Object(m) => Some(m),
                _ => None,
            })
            .collect(),
        Value::Object(m) => vec![m],
        _ => Vec::new(),
    }
}

/// A scalar as a string (strings and numbers accepted; empty string = NULL).
pub fn str_of(map: &Map<String, Value>, key: &str) -> Option<String> {
    match map.get(key)? {
        Value::String(s) if s.is_empty() => None,
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(if *b { "Y".into() } else { "N".into() }),
        _ => None,
    }
}

/// A decimal scalar; unreadable numbers are a decode error, absent is `None`.
pub fn dec_of(
    path: &str,
    map: &Map<String, Value>,
    key: &str,
) -> Result<Option<Decimal>, EbsError> {
    match str_of(map, key) {
        None => Ok(None),
        Some(s) => Decimal::from_str(s.trim())
            .or_else(|_| Decimal::from_scientific(s.trim()))
            .map(Some)
            .map_err(|_| EbsError::Decode {
                path: path.to_string(),
                detail: format!("{key} = {s:?} is not a number"),
            }),
    }
}

/// An EBS date (`YYYY-MM-DDTHH:MM:SS`, `YYYY-MM-DD`, `YYYY/MM/DD …`) as a calendar date.
pub fn date_of(map: &Map<String, Value>, key: &str) -> Option<chrono::NaiveDate> {
    let s = str_of(map, key)?;
    let head: String = s.chars().take(10).collect::<String>().replace('/', "-");
    chrono::NaiveDate::parse_from_str(&head, "%Y-%m-%d").ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_in_every_shape() {
        let v = json!({"A": {"A_ITEM": [{"x": 1}, {"x": 2}]}, "B": {"B_ITEM": {"x": 3}}, "C": [{"x": 4}], "D": {}});
        let m = v.as_object().expect("obj");
        assert_eq!(list(m, "A").len(), 2);
        assert_eq!(str_of(&list(m, "B")[0], "x").as_deref(), Some("3"));
        assert_eq!(list(m, "C").len(), 1);
        assert!(list(m, "D").is_empty());
        assert!(list(m, "E").is_empty());
    }

    #[test]
    fn output_business_error_carries_message() {
        let e = output(
            "xxmlc/get_request_status/",
            json!({"OutputParameters": {"X_RETURN_STATUS": "E", "X_MSG_DATA": "unknown request"}}),
        )
        .expect_err("business");
        assert!(e.to_string().contains("unknown request"), "{e}");
        let ok = output(
            "p",
            json!({"OutputParameters": {"X_RETURN_STATUS": "S", "N": 5, "@xmlns": "x"}}),
        )
        .expect("ok");
        assert_eq!(str_of(&ok, "N").as_deref(), Some("5"));
        assert_eq!(dec_of("p", &ok, "N").expect("dec"), Some(Decimal::from(5)));
    }

    #[test]
    fn dates_and_bad_numbers() {
        let v = json!({"D": "2026-10-31T00:00:00", "E": "2026/10/31 00:00:00", "N": "1x"});
        let m = v.as_object().expect("obj");
        let want = chrono::NaiveDate::from_ymd_opt(2026, 10, 31);
        assert_eq!(date_of(m, "D"), want);
        assert_eq!(date_of(m, "E"), want);
        assert!(dec_of("p", m, "N").is_err());
    }
}
