//! AutoInvoice (RAXMTR master, RAXTRX child): validates RA_INTERFACE_LINES_ALL like EBS,
//! creates transactions, writes RA_INTERFACE_ERRORS_ALL rows for failing lines.

use super::world::{Request, Row, Trx, TrxLine, World, col, col_date, col_dec, col_i64, set};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::collections::{BTreeMap, HashMap};

pub const MSG_CONTEXT: &str = "Transaction flexfield context is mandatory";
pub const MSG_DUP: &str =
    "Duplicate transaction flexfield: the transaction flexfield already exists";
pub const MSG_SOURCE: &str = "Invalid batch source name";
pub const MSG_TYPE: &str = "Invalid transaction type";
pub const MSG_CUSTOMER: &str = "Invalid bill-to customer reference";
pub const MSG_ADDRESS: &str = "Invalid bill-to address reference";
pub const MSG_TERMS_REQUIRED: &str = "You must supply payment terms for your transaction";
pub const MSG_TERMS_CM: &str = "You must not supply payment terms for a credit memo";
pub const MSG_TERMS_INVALID: &str = "Invalid payment terms";
pub const MSG_PERIOD: &str = "The GL date is not in an open or future-enterable period";
pub const MSG_CURRENCY: &str = "Invalid currency code";
pub const MSG_RATE_USER: &str = "Conversion rate is required for conversion type User";
pub const MSG_NO_RATE: &str = "No conversion rate exists for this currency and date";
pub const MSG_CTYPE: &str = "Conversion type is required";
pub const MSG_DESCRIPTION: &str = "Description is mandatory for LINE lines";
pub const MSG_AMOUNT: &str = "Amount must equal quantity times unit selling price";
pub const MSG_CM_SIGN: &str = "Credit memo amounts must be negative";
pub const MSG_INV_SIGN: &str = "Invoice line amounts must not be negative";
pub const MSG_CM_REF: &str = "Invalid credit memo reference";
pub const MSG_DIST_PCT: &str = "Distribution percents must total 100 for each account class";
pub const MSG_DIST_ACCT: &str = "Invalid distribution account";

/// Transaction flexfield key of a row with the given column prefix.
pub fn flex_key(r: &Row, ctx_col: &str, attr_prefix: &str) -> Option<String> {
    let ctx = col(r, ctx_col)?;
    let mut k = ctx.to_string();
    for i in 1..=15 {
        k.push('\u{1}');
        k.push_str(col(r, &format!("{attr_prefix}{i}")).unwrap_or(""));
    }
    Some(k)
}

fn trx_line_key(l: &TrxLine) -> String {
    let mut k = l.context.clone();
    for a in &l.attributes {
        k.push('\u{1}');
        k.push_str(a.as_deref().unwrap_or(""));
    }
    k
}

/// Adds a created transaction and indexes its request, line ids and line keys.
fn record_trx(w: &mut World, t: Trx) {
    w.trxs_by_request
        .entry(t.request_id)
        .or_default()
        .push(w.trxs.len());
    for l in &t.lines {
        w.trx_line_ids.insert(l.customer_trx_line_id);
        w.trx_line_keys.insert(trx_line_key(l));
    }
    w.trxs.push(t);
}

struct LineCheck {
    idx: usize,
    errors: Vec<(String, Option<String>, Option<i64>)>,
}

/// Runs one RAXTRX child; returns its status code and completion text.
pub fn run_raxtrx(w: &mut World, req: &Request) -> (char, String) {
    let org: Option<i64> = req.arg(29).and_then(|s| s.parse().ok());
    let Some(org) = org else {
        return ('E', "AutoInvoice: organization missing".into());
    };
    let source_name = req.arg(4).unwrap_or("").to_string();
    let default_date = req.arg(5).and_then(super::wire::parse_date);
    let gl_low = req.arg(12).and_then(super::wire::parse_date);
    let gl_high = req.arg(13).and_then(super::wire::parse_date);
    let today = w.now().date_naive();
    let idxs: Vec<usize> = w
        .ra_lines
        .iter()
        .enumerate()
        .filter(|(_, r)| {
            col_i64(r, "ORG_ID") == Some(org)
                && col(r, "BATCH_SOURCE_NAME") == Some(source_name.as_str())
                && {
                    let d = col_date(r, "GL_DATE").or(default_date);
                    d.is_none_or(|d| {
                        gl_low.is_none_or(|l| d >= l) && gl_high.is_none_or(|h| d <= h)
                    })
                }
        })
        .map(|(i, _)| i)
        .collect();
    // Line ids and fresh errors for every picked line.
    for &i in &idxs {
        if col_i64(&w.ra_lines[i], "INTERFACE_LINE_ID").is_none() {
            let id = w.nextval("RA_CUSTOMER_TRX_LINES_S");
            set(&mut w.ra_lines[i], "INTERFACE_LINE_ID", id);
        }
        set(&mut w.ra_lines[i], "REQUEST_ID", req.request_id);
    }
    let picked_ids: Vec<i64> = idxs
        .iter()
        .filter_map(|&i| col_i64(&w.ra_lines[i], "INTERFACE_LINE_ID"))
        .collect();
    w.ra_errors
        .retain(|e| !col_i64(e, "INTERFACE_LINE_ID").is_some_and(|id| picked_ids.contains(&id)));

    let mut key_counts: HashMap<String, usize> = HashMap::new();
    for r in &w.ra_lines {
        if let Some(k) = flex_key(r, "INTERFACE_LINE_CONTEXT", "INTERFACE_LINE_ATTRIBUTE") {
            *key_counts.entry(k).or_default() += 1;
        }
    }
    let mut checks = Vec::new();
    for &i in &idxs {
        let r = w.ra_lines[i].clone();
        checks.push(LineCheck {
            idx: i,
            errors: check_line(w, &r, org, default_date, today, &key_counts),
        });
    }
    // Transactions by grouping rule.
    let mut groups: BTreeMap<Vec<String>, Vec<usize>> = BTreeMap::new();
    for (k, c) in checks.iter().enumerate() {
        let r = &w.ra_lines[c.idx];
        let key = [
            "TRX_NUMBER",
            "INTERFACE_LINE_ATTRIBUTE1",
            "CUST_TRX_TYPE_NAME",
            "ORIG_SYSTEM_BILL_CUSTOMER_REF",
            "CURRENCY_CODE",
            "TRX_DATE",
            "GL_DATE",
        ]
        .iter()
        .map(|c| col(r, c).unwrap_or("").to_string())
        .collect();
        groups.entry(key).or_default().push(k);
    }
    let mut created = 0usize;
    let mut failed_lines = 0usize;
    let mut purge: Vec<usize> = Vec::new();
    for members in groups.values() {
        if members.iter().any(|&m| !checks[m].errors.is_empty()) {
            for &m in members {
                let c = &checks[m];
                let r = w.ra_lines[c.idx].clone();
                for (msg, invalid, dist_id) in &c.errors {
                    failed_lines += 1;
                    let mut e = Row::new();
                    set(
                        &mut e,
                        "INTERFACE_LINE_ID",
                        col(&r, "INTERFACE_LINE_ID").unwrap_or(""),
                    );
                    if let Some(d) = dist_id {
                        set(&mut e, "INTERFACE_DISTRIBUTION_ID", d);
                    }
                    set(&mut e, "MESSAGE_TEXT", msg);
                    if let Some(v) = invalid {
                        set(&mut e, "INVALID_VALUE", v);
                    }
                    set(&mut e, "ORG_ID", org);
                    set(&mut e, "REQUEST_ID", req.request_id);
                    for c in std::iter::once("INTERFACE_LINE_CONTEXT".to_string())
                        .chain((1..=15).map(|i| format!("INTERFACE_LINE_ATTRIBUTE{i}")))
                    {
                        if let Some(v) = col(&r, &c) {
                            set(&mut e, &c, v);
                        }
                    }
                    w.ra_errors.push(e);
                }
            }
            continue;
        }
        let r0 = w.ra_lines[checks[members[0]].idx].clone();
        let type_name = col(&r0, "CUST_TRX_TYPE_NAME").unwrap_or("").to_string();
        let class = w
            .seed
            .ar
            .trx_types
            .iter()
            .find(|t| t.name == type_name)
            .map(|t| t.class.clone())
            .unwrap_or_else(|| "INV".into());
        let trx_date = col_date(&r0, "TRX_DATE").or(default_date).unwrap_or(today);
        let gl_date = col_date(&r0, "GL_DATE")
            .or(default_date)
            .unwrap_or(trx_date);
        let trx_number = match col(&r0, "TRX_NUMBER") {
            Some(n) => n.to_string(),
            None => w.nextval("RA_TRX_NUMBER_S").to_string(),
        };
        let customer_trx_id = w.nextval("RA_CUSTOMER_TRX_S");
        let mut lines = Vec::new();
        for (n, &m) in members.iter().enumerate() {
            let r = &w.ra_lines[checks[m].idx];
            lines.push(TrxLine {
                customer_trx_line_id: col_i64(r, "INTERFACE_LINE_ID").unwrap_or(0),
                line_number: n as i64 + 1,
                line_type: col(r, "LINE_TYPE").unwrap_or("LINE").to_string(),
                description: col(r, "DESCRIPTION").map(str::to_string),
                quantity: col_dec(r, "QUANTITY"),
                unit_selling_price: col_dec(r, "UNIT_SELLING_PRICE"),
                amount: col_dec(r, "AMOUNT").unwrap_or_default(),
                context: col(r, "INTERFACE_LINE_CONTEXT").unwrap_or("").to_string(),
                attributes: (1..=15)
                    .map(|i| col(r, &format!("INTERFACE_LINE_ATTRIBUTE{i}")).map(str::to_string))
                    .collect(),
            });
            purge.push(checks[m].idx);
        }
        record_trx(
            w,
            Trx {
                customer_trx_id,
                trx_number,
                trx_date,
                gl_date,
                trx_type: type_name,
                class,
                bill_to: col(&r0, "ORIG_SYSTEM_BILL_CUSTOMER_REF")
                    .unwrap_or("")
                    .to_string(),
                currency: col(&r0, "CURRENCY_CODE").unwrap_or("").to_string(),
                org_id: org,
                request_id: req.request_id,
                batch_source: source_name.clone(),
                term: col(&r0, "TERM_NAME").map(str::to_string),
                lines,
            },
        );
        created += 1;
    }
    // Purge imported lines and their distributions.
    let purged_keys: Vec<String> = purge
        .iter()
        .filter_map(|&i| {
            flex_key(
                &w.ra_lines[i],
                "INTERFACE_LINE_CONTEXT",
                "INTERFACE_LINE_ATTRIBUTE",
            )
        })
        .collect();
    let purged_ids: Vec<i64> = purge
        .iter()
        .filter_map(|&i| col_i64(&w.ra_lines[i], "INTERFACE_LINE_ID"))
        .collect();
    let gone: std::collections::HashSet<usize> = purge.into_iter().collect();
    let mut n = 0;
    w.ra_lines.retain(|_| {
        n += 1;
        !gone.contains(&(n - 1))
    });
    w.ra_dists.retain(|d| {
        let by_key = flex_key(d, "INTERFACE_LINE_CONTEXT", "INTERFACE_LINE_ATTRIBUTE")
            .is_some_and(|k| purged_keys.contains(&k));
        let by_id = col_i64(d, "INTERFACE_LINE_ID").is_some_and(|id| purged_ids.contains(&id));
        !(by_key || by_id)
    });
    (
        'C',
        format!("AutoInvoice: {created} transaction(s) created, {failed_lines} line error(s)"),
    )
}

fn check_line(
    w: &World,
    r: &Row,
    org: i64,
    default_date: Option<NaiveDate>,
    today: NaiveDate,
    key_counts: &HashMap<String, usize>,
) -> Vec<(String, Option<String>, Option<i64>)> {
    let mut errs: Vec<(String, Option<String>, Option<i64>)> = Vec::new();
    let mut err =
        |m: &str, v: Option<&str>| errs.push((m.to_string(), v.map(str::to_string), None));
    match flex_key(r, "INTERFACE_LINE_CONTEXT", "INTERFACE_LINE_ATTRIBUTE") {
        None => err(MSG_CONTEXT, None),
        Some(k) => {
            // No transaction is created before every line of the run is checked, so the
            // keys of created transactions are those of earlier runs.
            if w.trx_line_keys.contains(&k) || key_counts.get(&k).copied().unwrap_or(0) > 1 {
                err(MSG_DUP, col(r, "INTERFACE_LINE_ATTRIBUTE1"));
            }
        }
    }
    let src = col(r, "BATCH_SOURCE_NAME");
    if !w
        .seed
        .ar
        .batch_sources
        .iter()
        .any(|b| Some(b.name.as_str()) == src && b.org_id == org && b.source_type == "IMPORTED")
    {
        err(MSG_SOURCE, src);
    }
    let tname = col(r, "CUST_TRX_TYPE_NAME");
    let ttype = w
        .seed
        .ar
        .trx_types
        .iter()
        .find(|t| Some(t.name.as_str()) == tname && t.org_ids.contains(&org));
    if ttype.is_none() {
        err(MSG_TYPE, tname);
    }
    let cref = col(r, "ORIG_SYSTEM_BILL_CUSTOMER_REF");
    let cust = w
        .seed
        .ar
        .customers
        .iter()
        .find(|c| Some(c.account_number.as_str()) == cref && c.org_id == org);
    match cust {
        None => err(MSG_CUSTOMER, cref),
        Some(c) => {
            if let Some(a) = col(r, "ORIG_SYSTEM_BILL_ADDRESS_REF")
                && a != c.bill_to_address_ref
            {
                err(MSG_ADDRESS, Some(a));
            }
        }
    }
    let term = col(r, "TERM_NAME");
    if let Some(t) = ttype {
        match (t.class.as_str(), term) {
            ("CM", Some(x)) => err(MSG_TERMS_CM, Some(x)),
            ("CM", None) => {}
            (_, None) => err(MSG_TERMS_REQUIRED, None),
            (_, Some(x)) if !w.seed.ar.terms.iter().any(|y| y == x) => {
                err(MSG_TERMS_INVALID, Some(x))
            }
            _ => {}
        }
    }
    let ledger = w.ou(org).and_then(|o| w.ledger(o.ledger_id)).cloned();
    let trx_date = col_date(r, "TRX_DATE").or(default_date).unwrap_or(today);
    let gl_date = col_date(r, "GL_DATE").or(default_date).unwrap_or(trx_date);
    if let Some(l) = &ledger
        && w.open_period(l.ledger_id, gl_date).is_none()
    {
        err(MSG_PERIOD, col(r, "GL_DATE"));
    }
    let cur = col(r, "CURRENCY_CODE").unwrap_or("");
    if !w.currency_enabled(cur) {
        err(MSG_CURRENCY, Some(cur));
    } else if let Some(l) = &ledger
        && cur != l.currency
    {
        match col(r, "CONVERSION_TYPE") {
            None => err(MSG_CTYPE, None),
            Some(t) if t.eq_ignore_ascii_case("User") => {
                if col_dec(r, "CONVERSION_RATE").is_none() {
                    err(MSG_RATE_USER, None);
                }
            }
            Some(t) => {
                let d = col_date(r, "CONVERSION_DATE").unwrap_or(trx_date);
                if w.daily_rate(cur, &l.currency, t, d).is_none() {
                    err(MSG_NO_RATE, Some(cur));
                }
            }
        }
    }
    let line_type = col(r, "LINE_TYPE").unwrap_or("");
    if line_type == "LINE" && col(r, "DESCRIPTION").is_none() {
        err(MSG_DESCRIPTION, None);
    }
    let amount = col_dec(r, "AMOUNT");
    if let (Some(q), Some(p), Some(a)) = (
        col_dec(r, "QUANTITY"),
        col_dec(r, "UNIT_SELLING_PRICE"),
        amount,
    ) && q
        .checked_mul(p)
        .is_none_or(|qp| (qp - a).abs() > Decimal::new(1, 2))
    {
        err(MSG_AMOUNT, Some(&a.to_string()));
    }
    if let (Some(t), Some(a)) = (ttype, amount) {
        if t.class == "CM" && a.is_sign_positive() && !a.is_zero() {
            err(MSG_CM_SIGN, Some(&a.to_string()));
        }
        if t.class == "INV" && a.is_sign_negative() {
            err(MSG_INV_SIGN, Some(&a.to_string()));
        }
    }
    if let Some(id) = col_i64(r, "REFERENCE_LINE_ID") {
        if !w.trx_line_ids.contains(&id) {
            err(MSG_CM_REF, Some(&id.to_string()));
        }
    } else if let Some(k) = flex_key(r, "REFERENCE_LINE_CONTEXT", "REFERENCE_LINE_ATTRIBUTE")
        && !w.trx_line_keys.contains(&k)
    {
        err(MSG_CM_REF, col(r, "REFERENCE_LINE_ATTRIBUTE1"));
    }
    // Distributions of this line.
    let key = flex_key(r, "INTERFACE_LINE_CONTEXT", "INTERFACE_LINE_ATTRIBUTE");
    let lid = col_i64(r, "INTERFACE_LINE_ID");
    let dists: Vec<&Row> = w
        .ra_dists
        .iter()
        .filter(|d| {
            (lid.is_some() && col_i64(d, "INTERFACE_LINE_ID") == lid)
                || (key.is_some()
                    && flex_key(d, "INTERFACE_LINE_CONTEXT", "INTERFACE_LINE_ATTRIBUTE") == key)
        })
        .collect();
    let mut pct: BTreeMap<String, Decimal> = BTreeMap::new();
    for d in &dists {
        if let Some(p) = col_dec(d, "PERCENT") {
            *pct.entry(col(d, "ACCOUNT_CLASS").unwrap_or("").to_string())
                .or_default() += p;
        }
        let acct_ok = if let Some(ccid) = col_i64(d, "CODE_COMBINATION_ID") {
            w.account_by_ccid(ccid)
                .is_some_and(|a| w.account_usable(a, gl_date).is_ok())
        } else {
            let n = w.seed.chart.segments.len();
            let concat = (1..=n)
                .map(|i| col(d, &format!("SEGMENT{i}")).unwrap_or(""))
                .collect::<Vec<_>>()
                .join("-");
            w.account_by_concat(&concat)
                .is_some_and(|a| w.account_usable(a, gl_date).is_ok())
        };
        if !acct_ok {
            errs.push((
                MSG_DIST_ACCT.into(),
                None,
                col_i64(d, "INTERFACE_DISTRIBUTION_ID"),
            ));
        }
    }
    if pct.values().any(|v| *v != Decimal::from(100)) {
        errs.push((MSG_DIST_PCT.into(), None, None));
    }
    errs
}

/// JSON for one transaction (`X_TRANSACTIONS_ITEM`).
pub fn trx_item(t: &Trx) -> serde_json::Value {
    use super::wire::{opt, s, table};
    let lines: Vec<serde_json::Value> = t
        .lines
        .iter()
        .map(|l| {
            let mut m = serde_json::Map::new();
            m.insert("CUSTOMER_TRX_LINE_ID".into(), s(l.customer_trx_line_id));
            m.insert("LINE_NUMBER".into(), s(l.line_number));
            m.insert("LINE_TYPE".into(), s(&l.line_type));
            m.insert("DESCRIPTION".into(), opt(l.description.as_ref()));
            m.insert("QUANTITY".into(), opt(l.quantity));
            m.insert("UNIT_SELLING_PRICE".into(), opt(l.unit_selling_price));
            m.insert("AMOUNT".into(), s(l.amount));
            m.insert("INTERFACE_LINE_CONTEXT".into(), s(&l.context));
            for (i, a) in l.attributes.iter().enumerate() {
                m.insert(
                    format!("INTERFACE_LINE_ATTRIBUTE{}", i + 1),
                    opt(a.as_ref()),
                );
            }
            serde_json::Value::Object(m)
        })
        .collect();
    let amount: Decimal = t.lines.iter().map(|l| l.amount).sum();
    serde_json::json!({
        "CUSTOMER_TRX_ID": s(t.customer_trx_id),
        "TRX_NUMBER": s(&t.trx_number),
        "TRX_DATE": s(super::wire::fmt_date(t.trx_date)),
        "GL_DATE": s(super::wire::fmt_date(t.gl_date)),
        "CUST_TRX_TYPE_NAME": s(&t.trx_type),
        "TRX_CLASS": s(&t.class),
        "BILL_TO_CUSTOMER_REF": s(&t.bill_to),
        "CURRENCY_CODE": s(&t.currency),
        "ORG_ID": s(t.org_id),
        "REQUEST_ID": s(t.request_id),
        "BATCH_SOURCE_NAME": s(&t.batch_source),
        "TERM_NAME": opt(t.term.as_ref()),
        "AMOUNT": s(amount),
        "LINES": table("LINES", lines),
    })
}
