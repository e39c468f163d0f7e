//! Typed, lenient SP-API models: what the client reads off the wire.
//!
//! Lenient on purpose: unknown enum values are kept ([`open_enum!`] `Other`), unknown
//! fields are ignored, unknown financial event lists are kept verbatim, dates are read in
//! every shape Amazon has been seen to send, and every amount is a `Decimal` read from the
//! JSON text itself (never through `f64`).

pub mod finances;
pub mod orders;
pub mod reports;
pub mod sellers;

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use rust_decimal::Decimal;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;
use std::fmt;

use crate::ledger::money::Currency;

/// Declares an enum whose unknown wire values are kept as `Other(String)`.
macro_rules! open_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
            /// A value this client does not know, kept as sent.
            Other(String),
        }

        impl $name {
            pub fn parse(text: &str) -> Self {
                match text {
                    $($text => $name::$variant,)*
                    other => $name::Other(other.to_string()),
                }
            }

            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $text,)*
                    $name::Other(text) => text,
                }
            }

            pub fn is_known(&self) -> bool {
                !matches!(self, $name::Other(_))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                Ok($name::parse(&text))
            }
        }
    };
}
pub(crate) use open_enum;

/// Reads a decimal from the JSON text of a number or a string: `10.34`, `"11.01"`,
/// `1.5E+2`. Exact: never through `f64`.
pub fn decimal_from_json_text(text: &str) -> Result<Decimal, String> {
    let text = text.trim();
    let owned;
    let body = if text.starts_with('"') {
        owned = serde_json::from_str::<String>(text).map_err(|e| e.to_string())?;
        owned.trim()
    } else {
        text
    };
    if body.is_empty() {
        return Err("empty amount".to_string());
    }
    let parsed = if body.contains(['e', 'E']) {
        Decimal::from_scientific(body)
    } else {
        Decimal::from_str_exact(body)
    };
    parsed.map_err(|e| format!("amount {body:?} is not a decimal: {e}"))
}

/// `#[serde(with = "decimal_text")]`: a `Decimal` from a JSON number or string, exact.
/// Needs serde_json's own deserializer (not a buffered `Value`): the number's text is
/// read through `RawValue`.
pub mod decimal_text {
    use super::*;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
        let raw = Box::<RawValue>::deserialize(d)?;
        decimal_from_json_text(raw.get()).map_err(D::Error::custom)
    }

    pub fn serialize<S: Serializer>(value: &Decimal, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&value.to_string())
    }
}

/// Lenient optional integer: a JSON number or a numeric string (`"1"`); anything else → `None`.
pub(crate) fn lenient_opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let raw = Option::<Box<RawValue>>::deserialize(d)?;
    Ok(raw.and_then(|raw| {
        let text = raw.get().trim().trim_matches('"').trim();
        text.parse::<i64>().ok()
    }))
}

/// Lenient optional bool: `true`, `"true"`, `"True"`; anything unreadable → `None`.
pub(crate) fn lenient_opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    let raw = Option::<Box<RawValue>>::deserialize(d)?;
    Ok(raw.and_then(|raw| {
        let text = raw
            .get()
            .trim()
            .trim_matches('"')
            .trim()
            .to_ascii_lowercase();
        match text.as_str() {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        }
    }))
}

fn default_currency() -> Currency {
    Currency(String::new())
}

/// An amount with its currency. Orders send `Amount` as a string, Finances send
/// `CurrencyAmount` as a JSON number; both land here exactly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Money {
    #[serde(rename = "CurrencyCode", default = "default_currency")]
    pub currency: Currency,
    #[serde(rename = "Amount", alias = "CurrencyAmount", with = "decimal_text")]
    pub amount: Decimal,
}

/// A timestamp as Amazon sent it: parsed when any known shape fits, else kept raw.
///
/// Shapes seen: RFC 3339 with or without fraction/offset, bare dates (`2019-10-31`),
/// `2021-03-02 04:09:43 UTC`, and epoch seconds in float notation (`1.569521782042E9`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AmazonTime {
    At(DateTime<Utc>),
    /// Not a date this client can read; kept to be shown.
    Unparsed(String),
}

impl AmazonTime {
    pub fn parse(text: &str) -> Self {
        match parse_lenient_time(text) {
            Some(at) => AmazonTime::At(at),
            None => AmazonTime::Unparsed(text.to_string()),
        }
    }

    pub fn at(&self) -> Option<DateTime<Utc>> {
        match self {
            AmazonTime::At(at) => Some(*at),
            AmazonTime::Unparsed(_) => None,
        }
    }
}

impl fmt::Display for AmazonTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AmazonTime::At(at) => write!(
                f,
                "{}",
                at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
            ),
            AmazonTime::Unparsed(raw) => f.write_str(raw),
        }
    }
}

impl Serialize for AmazonTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for AmazonTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(d)?;
        let text = raw.get().trim();
        if text.starts_with('"') {
            let s: String = serde_json::from_str(text).map_err(D::Error::custom)?;
            Ok(AmazonTime::parse(&s))
        } else {
            Ok(AmazonTime::parse(text))
        }
    }
}

/// Every date shape Amazon's APIs and sandbox have been seen to send; `None` if none fits.
pub fn parse_lenient_time(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Some(at.with_timezone(&Utc));
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f%z",
        "%Y-%m-%d %H:%M:%S%.f%z",
        "%Y-%m-%dT%H:%M:%S%.f%:z",
    ] {
        if let Ok(at) = DateTime::parse_from_str(text, fmt) {
            return Some(at.with_timezone(&Utc));
        }
    }
    let naive_part = text
        .strip_suffix(" UTC")
        .or_else(|| text.strip_suffix(" GMT"))
        .or_else(|| text.strip_suffix('Z'))
        .unwrap_or(text);
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(naive_part, fmt) {
            return Some(Utc.from_utc_datetime(&naive));
        }
    }
    if let Ok(day) = NaiveDate::parse_from_str(naive_part, "%Y-%m-%d") {
        return day.and_hms_opt(0, 0, 0).map(|n| Utc.from_utc_datetime(&n));
    }
    epoch_time(text)
}

/// Epoch seconds (or milliseconds when implausibly large), possibly in float notation.
fn epoch_time(text: &str) -> Option<DateTime<Utc>> {
    let value = decimal_from_json_text(text).ok()?;
    // Seconds beyond year ~5000 are taken as milliseconds.
    let seconds = if value.abs() > Decimal::from(100_000_000_000i64) {
        value / Decimal::from(1000)
    } else {
        value
    };
    let whole = seconds.trunc();
    let nanos = ((seconds - whole) * Decimal::from(1_000_000_000)).trunc();
    let whole: i64 = whole.try_into().ok()?;
    let nanos: i64 = nanos.try_into().ok()?;
    let (whole, nanos) = if nanos < 0 {
        (whole - 1, nanos + 1_000_000_000)
    } else {
        (whole, nanos)
    };
    DateTime::from_timestamp(whole, u32::try_from(nanos).ok()?)
}

/// One entry of SP-API's `{"errors":[…]}` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ApiErrorEntry {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub message: String,
    #[serde(default, deserialize_with = "lenient_opt_string")]
    pub details: Option<String>,
}

/// A string, or any other JSON value rendered as text.
pub(crate) fn lenient_opt_string<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<String>, D::Error> {
    let raw = Option::<Box<RawValue>>::deserialize(d)?;
    Ok(raw.map(|raw| {
        serde_json::from_str::<String>(raw.get()).unwrap_or_else(|_| raw.get().to_string())
    }))
}

/// The v0 envelope: `{"payload": …, "errors": […]}` (either or both).
#[derive(Debug, Deserialize)]
pub(crate) struct Envelope<T> {
    pub payload: Option<T>,
    #[serde(default)]
    pub errors: Vec<ApiErrorEntry>,
}

/// Reads an `{"errors":[…]}` body leniently; empty when the body is something else.
pub(crate) fn parse_error_body(body: &[u8]) -> Vec<ApiErrorEntry> {
    #[derive(Deserialize)]
    struct Body {
        #[serde(default)]
        errors: Vec<ApiErrorEntry>,
    }
    serde_json::from_slice::<Body>(body)
        .map(|b| b.errors)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_stay_exact_without_f64() {
        let m: Money =
            serde_json::from_str(r#"{"CurrencyCode":"USD","CurrencyAmount":0.1}"#).unwrap();
        assert_eq!(m.amount.to_string(), "0.1");
        // 20 significant digits: f64 would round this.
        let m: Money =
            serde_json::from_str(r#"{"CurrencyCode":"USD","CurrencyAmount":12345678901234567.89}"#)
                .unwrap();
        assert_eq!(m.amount.to_string(), "12345678901234567.89");
        let m: Money = serde_json::from_str(r#"{"CurrencyCode":"USD","Amount":"11.01"}"#).unwrap();
        assert_eq!(m.amount.to_string(), "11.01");
        let m: Money =
            serde_json::from_str(r#"{"CurrencyCode":"JPY","CurrencyAmount":-1.5E+2}"#).unwrap();
        assert_eq!(m.amount, Decimal::from(-150));
        assert!(serde_json::from_str::<Money>(r#"{"CurrencyCode":"USD","Amount":"abc"}"#).is_err());
    }

    #[test]
    fn lenient_times() {
        let t = |s: &str| parse_lenient_time(s).map(|d| d.to_rfc3339());
        assert_eq!(
            t("1970-01-19T03:58:30Z").as_deref(),
            Some("1970-01-19T03:58:30+00:00")
        );
        assert_eq!(
            t("2019-05-07T15:42:57.058Z").as_deref(),
            Some("2019-05-07T15:42:57.058+00:00")
        );
        assert_eq!(
            t("2019-10-31").as_deref(),
            Some("2019-10-31T00:00:00+00:00")
        );
        assert_eq!(
            t("2021-03-02 04:09:43 UTC").as_deref(),
            Some("2021-03-02T04:09:43+00:00")
        );
        assert_eq!(
            t("2003-10-03T16:00:00-07:00").as_deref(),
            Some("2003-10-03T23:00:00+00:00")
        );
        assert_eq!(
            t("1.569521782042E9").as_deref(),
            Some("2019-09-26T18:16:22.042+00:00")
        );
        assert_eq!(
            t("2020-02-05T13:56:00.363+0000").as_deref(),
            Some("2020-02-05T13:56:00.363+00:00")
        );
        assert_eq!(t("not a date"), None);
        let kept: AmazonTime = serde_json::from_str(r#""soon""#).unwrap();
        assert_eq!(kept, AmazonTime::Unparsed("soon".into()));
    }
}
