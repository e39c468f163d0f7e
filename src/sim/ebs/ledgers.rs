//! The read services of the custom package about ledgers and currency: `get_ledger`
//! (GL_LEDGERS by id), `get_operating_unit` (HR_OPERATING_UNITS by org id) and
//! `get_daily_rate` (GL_DAILY_RATES by currencies, conversion type and date), plus the test control that loads a daily rate while the simulator runs
//! (`POST /_sim/gl/daily_rates`, [`RunningEbsSim::set_daily_rate`]).

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde_json::{Map, Value};

use super::RunningEbsSim;
use super::seed::DailyRate;
use super::wire::{Fault, output, output_error, parse_date, s, scalar};
use super::world::World;

fn param(p: &Map<String, Value>, k: &str) -> Option<String> {
    p.iter()
        .find(|(x, _)| x.eq_ignore_ascii_case(k))
        .and_then(|(_, v)| scalar(v))
}

/// Answers `op` when it is one of this file's services.
pub fn call(w: &World, op: &str, p: &Map<String, Value>) -> Option<Result<Value, Fault>> {
    match op {
        "get_ledger" => Some(get_ledger(w, p)),
        "get_operating_unit" => Some(get_operating_unit(w, p)),
        "get_daily_rate" => Some(get_daily_rate(w, p)),
        _ => None,
    }
}

fn get_ledger(w: &World, p: &Map<String, Value>) -> Result<Value, Fault> {
    let Some(raw) = param(p, "P_LEDGER_ID") else {
        return Ok(output_error("P_LEDGER_ID is required"));
    };
    let id: i64 = raw.trim().parse().map_err(|_| {
        Fault::exec(format!(
            "ORA-06502: PL/SQL: numeric or value error: P_LEDGER_ID={raw:?}"
        ))
    })?;
    let Some(l) = w.ledger(id) else {
        return Ok(output_error(&format!("Invalid ledger id {id}")));
    };
    let mut out = Map::new();
    out.insert("X_LEDGER_ID".into(), s(l.ledger_id));
    out.insert("X_NAME".into(), s(&l.name));
    out.insert("X_SHORT_NAME".into(), s(&l.name));
    out.insert("X_CURRENCY_CODE".into(), s(&l.currency));
    out.insert(
        "X_CHART_OF_ACCOUNTS_ID".into(),
        s(w.seed.chart.chart_of_accounts_id),
    );
    out.insert("X_PERIOD_SET_NAME".into(), s(&l.calendar));
    out.insert(
        "X_SUSPENSE_ALLOWED_FLAG".into(),
        s(if l.suspense_allowed { "Y" } else { "N" }),
    );
    Ok(output(out))
}

fn get_operating_unit(w: &World, p: &Map<String, Value>) -> Result<Value, Fault> {
    let Some(raw) = param(p, "P_ORG_ID") else {
        return Ok(output_error("P_ORG_ID is required"));
    };
    let id: i64 = raw.trim().parse().map_err(|_| {
        Fault::exec(format!(
            "ORA-06502: PL/SQL: numeric or value error: P_ORG_ID={raw:?}"
        ))
    })?;
    let Some(o) = w.ou(id) else {
        return Ok(output_error(&format!("Invalid operating unit {id}")));
    };
    let mut out = Map::new();
    out.insert("X_ORGANIZATION_ID".into(), s(o.org_id));
    out.insert("X_NAME".into(), s(&o.name));
    out.insert("X_SET_OF_BOOKS_ID".into(), s(o.ledger_id));
    // The seed has no short code: the name stands in, as for a ledger's short name.
    out.insert("X_SHORT_CODE".into(), s(&o.name));
    Ok(output(out))
}

fn get_daily_rate(w: &World, p: &Map<String, Value>) -> Result<Value, Fault> {
    let (Some(from), Some(to)) = (param(p, "P_FROM_CURRENCY"), param(p, "P_TO_CURRENCY")) else {
        return Ok(output_error(
            "P_FROM_CURRENCY and P_TO_CURRENCY are required",
        ));
    };
    let Some(ctype) = param(p, "P_CONVERSION_TYPE") else {
        return Ok(output_error("P_CONVERSION_TYPE is required"));
    };
    let Some(raw) = param(p, "P_CONVERSION_DATE") else {
        return Ok(output_error("P_CONVERSION_DATE is required"));
    };
    let date = parse_date(&raw)
        .ok_or_else(|| Fault::exec(format!("ORA-01841: invalid date P_CONVERSION_DATE={raw:?}")))?;
    // User rates live on the journal, never in GL_DAILY_RATES.
    if !w.conversion_type_known(&ctype) || ctype.eq_ignore_ascii_case("User") {
        return Ok(output_error(&format!("Invalid conversion type {ctype}")));
    }
    let (from, to) = (from.to_ascii_uppercase(), to.to_ascii_uppercase());
    let rate = w.daily_rate(&from, &to, &ctype, date);
    let mut out = Map::new();
    out.insert("X_EXISTS".into(), s(if rate.is_some() { "Y" } else { "N" }));
    out.insert("X_FROM_CURRENCY".into(), s(&from));
    out.insert("X_TO_CURRENCY".into(), s(&to));
    out.insert("X_CONVERSION_TYPE".into(), s(&ctype));
    out.insert("X_CONVERSION_DATE".into(), s(super::wire::fmt_date(date)));
    out.insert(
        "X_CONVERSION_RATE".into(),
        rate.map_or(Value::Null, |r| s(r.normalize())),
    );
    Ok(output(out))
}

/// A rate loaded while the simulator runs: it overrides the seed for the days it covers.
pub fn add_daily_rate(w: &mut World, rate: DailyRate) {
    w.seed.daily_rates.push(rate);
}

/// `POST /_sim/gl/daily_rates` body: `{"from_currency","to_currency","rate","date"}` or
/// `"from_date"`/`"to_date"`, optional `"types"` (default Corporate and Spot).
pub fn rate_from_json(v: &Value) -> Result<DailyRate, String> {
    let text = |k: &str| v.get(k).and_then(scalar);
    let day = |k: &str| text(k).and_then(|d| parse_date(&d));
    let from_currency = text("from_currency").ok_or("from_currency is required")?;
    let to_currency = text("to_currency").ok_or("to_currency is required")?;
    let rate: Decimal = text("rate")
        .and_then(|r| r.parse().ok())
        .ok_or("rate is required (a decimal)")?;
    let (from_date, to_date) = match (day("date"), day("from_date"), day("to_date")) {
        (Some(d), _, _) => (d, d),
        (None, Some(f), Some(t)) => (f, t),
        _ => return Err("date (or from_date and to_date) is required".into()),
    };
    let types = match v.get("types").and_then(Value::as_array) {
        Some(a) => a.iter().filter_map(scalar).collect(),
        None => Vec::new(),
    };
    Ok(DailyRate {
        from_currency: from_currency.to_ascii_uppercase(),
        to_currency: to_currency.to_ascii_uppercase(),
        rate,
        from_date,
        to_date,
        types,
    })
}

impl RunningEbsSim {
    /// Loads a daily rate `from → to` for one day (a person entering it in EBS); `types`
    /// empty means Corporate and Spot.
    pub fn set_daily_rate(
        &self,
        from: &str,
        to: &str,
        date: NaiveDate,
        rate: Decimal,
        types: &[&str],
    ) {
        add_daily_rate(
            &mut self.shared.world(),
            DailyRate {
                from_currency: from.to_ascii_uppercase(),
                to_currency: to.to_ascii_uppercase(),
                rate,
                from_date: date,
                to_date: date,
                types: types.iter().map(|t| t.to_string()).collect(),
            },
        );
    }
}
