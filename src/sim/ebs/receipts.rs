//! AR cash receipts and applications (AR_RECEIPT_API_PUB.create_cash / apply, the credit
//! memo application of AR_CM_APPLICATION_PUB.apply_on_account) as custom services of the
//! `xxmlc` package, their read services, receipt methods, and the `/_sim/ar/transactions`
//! and `/_sim/ar/receipts` contracts. Balances due of transactions go down with applications.
//!
//! Error codes and texts follow EBS message names where known; the ones not confirmed by a
//! retrieved source are marked *(choice)* in `docs/simulators/ebs.md`.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::str::FromStr;

use super::server::Ctx;
use super::wire::{Fault, fmt_date, output, output_error, parse_date, s, scalar, table};
use super::world::{Trx, World};

pub const ERR_DUPLICATE: &str = "AR_RW_CASH_DUPLICATE_RECEIPT";
pub const ERR_METHOD: &str = "AR_INVAL_RECEIPT_MTH_ID";
pub const ERR_CURRENCY: &str = "AR_RAPI_CURR_CODE_INVALID";
pub const ERR_AMOUNT: &str = "AR_RAPI_RCPT_AMOUNT_INVALID";
pub const ERR_GL_DATE: &str = "AR_RAPI_GL_DATE_INVALID";
pub const ERR_CUSTOMER: &str = "AR_RAPI_CUST_REF_INVALID";
pub const ERR_RECEIPT: &str = "AR_RAPI_RCPT_NUM_INVALID";
pub const ERR_TRX: &str = "AR_RAPI_TRX_NUM_INVALID";
pub const ERR_OVERAPP: &str = "AR_CKAP_OVERAPP";
pub const ERR_RCPT_OVERAPP: &str = "AR_RW_RCT_OVERAPPLIED";
pub const ERR_CROSS_CURRENCY: &str = "AR_RAPI_CROSS_CURR_NOT_ALLOWED";
pub const ERR_CM_CLASS: &str = "AR_RAPI_CM_TRX_INVALID";

/// A receipt method (AR_RECEIPT_METHODS) with its remittance bank account and the bank
/// account's cash account (CE_BANK_ACCT_USES_ALL → AR_RECEIPT_METHOD_ACCOUNTS_ALL).
#[derive(Debug, Clone, Deserialize)]
pub struct ReceiptMethod {
    pub name: String,
    pub receipt_method_id: i64,
    pub org_id: i64,
    pub bank_account_id: i64,
    pub bank_account_name: String,
    pub bank_account_num: String,
    pub currency: String,
    /// Concatenated segments of the cash account.
    pub cash_account: String,
}

#[derive(Debug, Clone)]
pub struct Application {
    pub receivable_application_id: i64,
    pub trx_number: String,
    pub customer_trx_id: i64,
    pub class: String,
    pub amount: Decimal,
    pub apply_date: NaiveDate,
    pub gl_date: NaiveDate,
}

#[derive(Debug, Clone)]
pub struct Receipt {
    pub cash_receipt_id: i64,
    pub receipt_number: String,
    pub receipt_method_id: i64,
    pub method_name: String,
    pub org_id: i64,
    pub amount: Decimal,
    pub currency: String,
    pub receipt_date: NaiveDate,
    pub gl_date: NaiveDate,
    pub customer_ref: Option<String>,
    pub applications: Vec<Application>,
}

impl Receipt {
    pub fn applied(&self) -> Decimal {
        self.applications.iter().map(|a| a.amount).sum()
    }
}

/// A credit memo applied to an invoice.
#[derive(Debug, Clone)]
pub struct CmApplication {
    pub receivable_application_id: i64,
    pub cm_trx_number: String,
    pub inv_trx_number: String,
    pub org_id: i64,
    pub amount: Decimal,
    pub apply_date: NaiveDate,
    pub gl_date: NaiveDate,
}

/// Receipts, credit memo applications and what has been applied per transaction.
#[derive(Debug, Default)]
pub struct Receipts {
    pub receipts: Vec<Receipt>,
    pub cm_applications: Vec<CmApplication>,
    /// Signed amount applied per `customer_trx_id` (balance due = amount − applied).
    pub applied: HashMap<i64, Decimal>,
    next_id: i64,
}

impl Receipts {
    fn next(&mut self, base: i64) -> i64 {
        self.next_id += 1;
        base + self.next_id
    }
}

/// Amount of a transaction (its lines' sum).
pub fn trx_amount(t: &Trx) -> Decimal {
    t.lines.iter().map(|l| l.amount).sum()
}

pub fn balance_due(w: &World, t: &Trx) -> Decimal {
    trx_amount(t)
        - w.receipts
            .applied
            .get(&t.customer_trx_id)
            .copied()
            .unwrap_or_default()
}

/// Money as EBS shows it: at least two decimals.
pub fn money(d: Decimal) -> String {
    let mut d = d;
    if d.scale() < 2 {
        d.rescale(2);
    }
    d.to_string()
}

fn param(p: &Map<String, Value>, k: &str) -> Option<String> {
    p.iter()
        .find(|(x, _)| x.eq_ignore_ascii_case(k))
        .and_then(|(_, v)| scalar(v))
}

fn fail(code: &str, text: &str) -> Value {
    output_error(&format!("{code}: {text}"))
}

fn amount_param(p: &Map<String, Value>, k: &str) -> Result<Option<Decimal>, Fault> {
    param(p, k)
        .map(|v| {
            Decimal::from_str(v.trim()).map_err(|_| {
                Fault::exec(format!(
                    "ORA-06502: PL/SQL: numeric or value error: {k}={v:?}"
                ))
            })
        })
        .transpose()
}

fn date_param(p: &Map<String, Value>, k: &str) -> Result<Option<NaiveDate>, Fault> {
    param(p, k)
        .map(|v| {
            parse_date(&v).ok_or_else(|| Fault::exec(format!("ORA-01841: invalid date {k}={v:?}")))
        })
        .transpose()
}

/// The operating unit of the call: the context `Org_Id` (required), which `P_ORG_ID` may
/// repeat but not contradict.
fn org_of(ctx: &Ctx, p: &Map<String, Value>) -> Result<i64, Fault> {
    let bad = |m: String| {
        Fault::new(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            "ISG_INVALID_ORG_ID",
            m,
        )
    };
    let Some(org) = ctx.org_id else {
        return Err(bad("Org_Id is required for this multi-org service".into()));
    };
    if let Some(v) = param(p, "P_ORG_ID")
        && v.trim().parse::<i64>().ok() != Some(org)
    {
        return Err(bad(format!(
            "P_ORG_ID {v} differs from the context Org_Id {org}"
        )));
    }
    Ok(org)
}

fn method<'a>(w: &'a World, org: i64, p: &Map<String, Value>) -> Option<&'a ReceiptMethod> {
    let id = param(p, "P_RECEIPT_METHOD_ID").and_then(|v| v.trim().parse::<i64>().ok());
    let name = param(p, "P_RECEIPT_METHOD");
    w.seed.receipt_methods.iter().find(|m| {
        m.org_id == org
            && (id == Some(m.receipt_method_id)
                || name
                    .as_deref()
                    .is_some_and(|n| n.eq_ignore_ascii_case(&m.name)))
    })
}

fn period_open(w: &World, org: i64, d: NaiveDate) -> bool {
    w.ou(org)
        .is_some_and(|o| w.open_period(o.ledger_id, d).is_some())
}

fn trx_pos(w: &World, org: i64, number: &str) -> Option<usize> {
    w.trxs
        .iter()
        .position(|t| t.org_id == org && t.trx_number == number)
}

fn receipt_pos(w: &World, org: i64, number: &str, method_id: i64) -> Option<usize> {
    w.receipts.receipts.iter().position(|r| {
        r.org_id == org && r.receipt_number == number && r.receipt_method_id == method_id
    })
}

/// Answers `op` when it is one of this file's services.
pub fn call(
    w: &mut World,
    op: &str,
    ctx: &Ctx,
    p: &Map<String, Value>,
) -> Option<Result<Value, Fault>> {
    let f = match op {
        "create_cash_receipt" => create_cash_receipt,
        "apply_receipt" => apply_receipt,
        "apply_credit_memo" => apply_credit_memo,
        "get_receipt" => get_receipt,
        "get_receipt_method" => get_receipt_method,
        "get_transaction" => get_transaction,
        _ => return None,
    };
    Some(org_of(ctx, p).and_then(|org| f(w, org, p)))
}

fn create_cash_receipt(w: &mut World, org: i64, p: &Map<String, Value>) -> Result<Value, Fault> {
    let Some(number) = param(p, "P_RECEIPT_NUMBER") else {
        return Ok(fail(
            "AR_RAPI_RCPT_NUM_NULL",
            "The receipt number is required",
        ));
    };
    let Some(m) = method(w, org, p).cloned() else {
        return Ok(fail(
            ERR_METHOD,
            "The receipt method that you selected is invalid",
        ));
    };
    let amount = amount_param(p, "P_AMOUNT")?;
    let Some(amount) = amount.filter(|a| !a.is_sign_negative()) else {
        return Ok(fail(
            ERR_AMOUNT,
            "The receipt amount must be zero or positive",
        ));
    };
    let currency = param(p, "P_CURRENCY_CODE")
        .map(|c| c.to_ascii_uppercase())
        .unwrap_or_else(|| m.currency.clone());
    if !w.currency_enabled(&currency) || currency != m.currency {
        return Ok(fail(ERR_CURRENCY, "The currency is invalid"));
    }
    let today = w.now().date_naive();
    let receipt_date = date_param(p, "P_RECEIPT_DATE")?.unwrap_or(today);
    let gl_date = date_param(p, "P_GL_DATE")?.unwrap_or(receipt_date);
    let customer_ref = param(p, "P_CUSTOMER_REF");
    if let Some(c) = &customer_ref
        && !w
            .seed
            .ar
            .customers
            .iter()
            .any(|x| &x.account_number == c && x.org_id == org)
    {
        return Ok(fail(
            ERR_CUSTOMER,
            &format!("Invalid customer reference {c}"),
        ));
    }
    if receipt_pos(w, org, &number, m.receipt_method_id).is_some() {
        return Ok(fail(
            ERR_DUPLICATE,
            &format!(
                "A receipt with number {number} already exists for receipt method {}",
                m.name
            ),
        ));
    }
    if !period_open(w, org, gl_date) {
        return Ok(fail(
            ERR_GL_DATE,
            "The derived GL date of the receipt is not in open or future enterable period",
        ));
    }
    let id = w.receipts.next(900_000);
    w.receipts.receipts.push(Receipt {
        cash_receipt_id: id,
        receipt_number: number,
        receipt_method_id: m.receipt_method_id,
        method_name: m.name.clone(),
        org_id: org,
        amount,
        currency,
        receipt_date,
        gl_date,
        customer_ref,
        applications: Vec::new(),
    });
    let mut out = Map::new();
    out.insert("X_CASH_RECEIPT_ID".into(), s(id));
    Ok(output(out))
}

/// Over the balance due: the applied amount has the balance's sign and at most its size.
fn over_balance(balance: Decimal, amount: Decimal) -> bool {
    amount.is_zero()
        || (balance.is_sign_positive() && (amount.is_sign_negative() || amount > balance))
        || (balance.is_sign_negative() && (amount.is_sign_positive() || amount < balance))
        || balance.is_zero()
}

fn apply_receipt(w: &mut World, org: i64, p: &Map<String, Value>) -> Result<Value, Fault> {
    let Some(m) = method(w, org, p).cloned() else {
        return Ok(fail(
            ERR_METHOD,
            "The receipt method that you selected is invalid",
        ));
    };
    let number = param(p, "P_RECEIPT_NUMBER").unwrap_or_default();
    let Some(rpos) = receipt_pos(w, org, &number, m.receipt_method_id) else {
        return Ok(fail(
            ERR_RECEIPT,
            &format!("Invalid receipt number {number}"),
        ));
    };
    let trx_number = param(p, "P_TRX_NUMBER").unwrap_or_default();
    let Some(tpos) = trx_pos(w, org, &trx_number) else {
        return Ok(fail(
            ERR_TRX,
            &format!("Invalid transaction number {trx_number}"),
        ));
    };
    let Some(amount) = amount_param(p, "P_AMOUNT_APPLIED")? else {
        return Ok(fail(ERR_AMOUNT, "The amount applied is required"));
    };
    let today = w.now().date_naive();
    let apply_date = date_param(p, "P_APPLY_DATE")?.unwrap_or(today);
    let gl_date = date_param(p, "P_APPLY_GL_DATE")?.unwrap_or(apply_date);
    let t = w.trxs[tpos].clone();
    let r = &w.receipts.receipts[rpos];
    if t.currency != r.currency {
        return Ok(fail(
            ERR_CROSS_CURRENCY,
            "The receipt and the transaction are in different currencies",
        ));
    }
    let balance = balance_due(w, &t);
    if over_balance(balance, amount) {
        return Ok(fail(
            ERR_OVERAPP,
            &format!(
                "Over application is not allowed: {} applied to {trx_number} whose balance due is {}",
                money(amount),
                money(balance)
            ),
        ));
    }
    if r.applied() + amount > r.amount {
        return Ok(fail(
            ERR_RCPT_OVERAPP,
            &format!(
                "The receipt {number} would be over applied: unapplied amount {}",
                money(r.amount - r.applied())
            ),
        ));
    }
    if !period_open(w, org, gl_date) {
        return Ok(fail(
            ERR_GL_DATE,
            "The GL date of the application is not in an open or future enterable period",
        ));
    }
    let id = w.receipts.next(950_000);
    w.receipts.receipts[rpos].applications.push(Application {
        receivable_application_id: id,
        trx_number,
        customer_trx_id: t.customer_trx_id,
        class: t.class.clone(),
        amount,
        apply_date,
        gl_date,
    });
    *w.receipts.applied.entry(t.customer_trx_id).or_default() += amount;
    let mut out = Map::new();
    out.insert("X_RECEIVABLE_APPLICATION_ID".into(), s(id));
    Ok(output(out))
}

fn apply_credit_memo(w: &mut World, org: i64, p: &Map<String, Value>) -> Result<Value, Fault> {
    let cm_number = param(p, "P_CM_TRX_NUMBER").unwrap_or_default();
    let inv_number = param(p, "P_INV_TRX_NUMBER").unwrap_or_default();
    let (Some(cpos), Some(ipos)) = (trx_pos(w, org, &cm_number), trx_pos(w, org, &inv_number))
    else {
        let which = if trx_pos(w, org, &cm_number).is_none() {
            &cm_number
        } else {
            &inv_number
        };
        return Ok(fail(
            ERR_TRX,
            &format!("Invalid transaction number {which}"),
        ));
    };
    let (cm, inv) = (w.trxs[cpos].clone(), w.trxs[ipos].clone());
    if cm.class != "CM" || inv.class != "INV" {
        return Ok(fail(
            ERR_CM_CLASS,
            "A credit memo can only be applied to an invoice",
        ));
    }
    let Some(amount) = amount_param(p, "P_AMOUNT_APPLIED")? else {
        return Ok(fail(ERR_AMOUNT, "The amount applied is required"));
    };
    if cm.currency != inv.currency {
        return Ok(fail(
            ERR_CROSS_CURRENCY,
            "The credit memo and the invoice are in different currencies",
        ));
    }
    let (cm_bal, inv_bal) = (balance_due(w, &cm), balance_due(w, &inv));
    if over_balance(inv_bal, amount) || over_balance(cm_bal, -amount) {
        return Ok(fail(
            ERR_OVERAPP,
            &format!(
                "Over application is not allowed: {} applied from {cm_number} (balance {}) to {inv_number} (balance {})",
                money(amount),
                money(cm_bal),
                money(inv_bal)
            ),
        ));
    }
    let today = w.now().date_naive();
    let apply_date = date_param(p, "P_APPLY_DATE")?.unwrap_or(today);
    let gl_date = date_param(p, "P_GL_DATE")?.unwrap_or(apply_date);
    if !period_open(w, org, gl_date) {
        return Ok(fail(
            ERR_GL_DATE,
            "The GL date of the application is not in an open or future enterable period",
        ));
    }
    let id = w.receipts.next(950_000);
    w.receipts.cm_applications.push(CmApplication {
        receivable_application_id: id,
        cm_trx_number: cm_number,
        inv_trx_number: inv_number,
        org_id: org,
        amount,
        apply_date,
        gl_date,
    });
    *w.receipts.applied.entry(inv.customer_trx_id).or_default() += amount;
    *w.receipts.applied.entry(cm.customer_trx_id).or_default() -= amount;
    let mut out = Map::new();
    out.insert("X_RECEIVABLE_APPLICATION_ID".into(), s(id));
    Ok(output(out))
}

fn get_receipt(w: &mut World, org: i64, p: &Map<String, Value>) -> Result<Value, Fault> {
    let Some(m) = method(w, org, p) else {
        return Ok(fail(
            ERR_METHOD,
            "The receipt method that you selected is invalid",
        ));
    };
    let number = param(p, "P_RECEIPT_NUMBER").unwrap_or_default();
    let mut out = Map::new();
    let Some(pos) = receipt_pos(w, org, &number, m.receipt_method_id) else {
        out.insert("X_EXISTS".into(), s("N"));
        return Ok(output(out));
    };
    let r = &w.receipts.receipts[pos];
    out.insert("X_EXISTS".into(), s("Y"));
    out.insert("X_CASH_RECEIPT_ID".into(), s(r.cash_receipt_id));
    out.insert("X_RECEIPT_NUMBER".into(), s(&r.receipt_number));
    out.insert("X_RECEIPT_METHOD".into(), s(&r.method_name));
    out.insert("X_RECEIPT_METHOD_ID".into(), s(r.receipt_method_id));
    out.insert("X_ORG_ID".into(), s(r.org_id));
    out.insert("X_AMOUNT".into(), s(money(r.amount)));
    out.insert("X_CURRENCY_CODE".into(), s(&r.currency));
    out.insert("X_RECEIPT_DATE".into(), s(fmt_date(r.receipt_date)));
    out.insert("X_GL_DATE".into(), s(fmt_date(r.gl_date)));
    out.insert(
        "X_CUSTOMER_REF".into(),
        super::wire::opt(r.customer_ref.as_ref()),
    );
    out.insert("X_APPLIED".into(), s(money(r.applied())));
    out.insert("X_UNAPPLIED".into(), s(money(r.amount - r.applied())));
    let apps = r
        .applications
        .iter()
        .map(|a| {
            json!({
                "RECEIVABLE_APPLICATION_ID": a.receivable_application_id.to_string(),
                "TRX_NUMBER": a.trx_number,
                "TRX_CLASS": a.class,
                "AMOUNT_APPLIED": money(a.amount),
                "APPLY_DATE": fmt_date(a.apply_date),
                "GL_DATE": fmt_date(a.gl_date),
            })
        })
        .collect();
    out.insert("X_APPLICATIONS".into(), table("X_APPLICATIONS", apps));
    Ok(output(out))
}

fn get_receipt_method(w: &mut World, org: i64, p: &Map<String, Value>) -> Result<Value, Fault> {
    let mut out = Map::new();
    let Some(m) = method(w, org, p) else {
        out.insert("X_EXISTS".into(), s("N"));
        return Ok(output(out));
    };
    out.insert("X_EXISTS".into(), s("Y"));
    out.insert("X_RECEIPT_METHOD_ID".into(), s(m.receipt_method_id));
    out.insert("X_NAME".into(), s(&m.name));
    out.insert("X_ORG_ID".into(), s(m.org_id));
    out.insert("X_BANK_ACCOUNT_ID".into(), s(m.bank_account_id));
    out.insert("X_BANK_ACCOUNT_NAME".into(), s(&m.bank_account_name));
    out.insert("X_BANK_ACCOUNT_NUM".into(), s(&m.bank_account_num));
    out.insert("X_CURRENCY_CODE".into(), s(&m.currency));
    let norm = m
        .cash_account
        .split(w.seed.chart.delimiter.as_str())
        .collect::<Vec<_>>()
        .join("-");
    out.insert("X_CASH_ACCOUNT".into(), s(&m.cash_account));
    out.insert(
        "X_CASH_CCID".into(),
        super::wire::opt(w.account_by_concat(&norm).map(|a| a.ccid)),
    );
    Ok(output(out))
}

fn get_transaction(w: &mut World, org: i64, p: &Map<String, Value>) -> Result<Value, Fault> {
    let number = param(p, "P_TRX_NUMBER").unwrap_or_default();
    let mut out = Map::new();
    let Some(pos) = trx_pos(w, org, &number) else {
        out.insert("X_EXISTS".into(), s("N"));
        return Ok(output(out));
    };
    let t = &w.trxs[pos];
    out.insert("X_EXISTS".into(), s("Y"));
    out.insert("X_CUSTOMER_TRX_ID".into(), s(t.customer_trx_id));
    out.insert("X_TRX_NUMBER".into(), s(&t.trx_number));
    out.insert("X_TRX_CLASS".into(), s(&t.class));
    out.insert("X_CURRENCY_CODE".into(), s(&t.currency));
    out.insert("X_AMOUNT".into(), s(money(trx_amount(t))));
    out.insert("X_BALANCE_DUE".into(), s(money(balance_due(w, t))));
    let mut apps: Vec<Value> = Vec::new();
    for r in &w.receipts.receipts {
        for a in r
            .applications
            .iter()
            .filter(|a| a.customer_trx_id == t.customer_trx_id)
        {
            apps.push(json!({
                "RECEIVABLE_APPLICATION_ID": a.receivable_application_id.to_string(),
                "APPLICATION_TYPE": "CASH",
                "RECEIPT_NUMBER": r.receipt_number,
                "RECEIPT_METHOD": r.method_name,
                "AMOUNT_APPLIED": money(a.amount),
                "APPLY_DATE": fmt_date(a.apply_date),
            }));
        }
    }
    for c in w.receipts.cm_applications.iter().filter(|c| {
        c.org_id == org && (c.cm_trx_number == t.trx_number || c.inv_trx_number == t.trx_number)
    }) {
        apps.push(json!({
            "RECEIVABLE_APPLICATION_ID": c.receivable_application_id.to_string(),
            "APPLICATION_TYPE": "CM",
            "CM_TRX_NUMBER": c.cm_trx_number,
            "INV_TRX_NUMBER": c.inv_trx_number,
            "AMOUNT_APPLIED": money(c.amount),
            "APPLY_DATE": fmt_date(c.apply_date),
        }));
    }
    out.insert("X_APPLICATIONS".into(), table("X_APPLICATIONS", apps));
    Ok(output(out))
}

/// `GET /_sim/ar/transactions`: every created transaction with its balance due.
pub fn transactions_contract(w: &World) -> Value {
    Value::Array(
        w.trxs
            .iter()
            .map(|t| {
                let first = t.lines.first();
                let attr = |i: usize| {
                    first
                        .and_then(|l| l.attributes.get(i).cloned().flatten())
                        .map_or(Value::Null, Value::String)
                };
                json!({
                    "trx_number": t.trx_number,
                    "class": t.class,
                    "org_id": t.org_id.to_string(),
                    "customer_ref": t.bill_to,
                    "cust_trx_type": t.trx_type,
                    "interface_line_context": first.map(|l| l.context.clone()),
                    "interface_line_attribute1": attr(0),
                    "interface_line_attribute2": attr(1),
                    "interface_line_attribute3": attr(2),
                    "amount": money(trx_amount(t)),
                    "balance_due": money(balance_due(w, t)),
                    "currency": t.currency,
                    "gl_date": t.gl_date.to_string(),
                })
            })
            .collect(),
    )
}

/// `GET /_sim/ar/receipts`: every receipt with its applications.
pub fn receipts_contract(w: &World) -> Value {
    Value::Array(
        w.receipts
            .receipts
            .iter()
            .map(|r| {
                json!({
                    "receipt_number": r.receipt_number,
                    "org_id": r.org_id.to_string(),
                    "amount": money(r.amount),
                    "currency": r.currency,
                    "receipt_date": r.receipt_date.to_string(),
                    "applied": money(r.applied()),
                    "unapplied": money(r.amount - r.applied()),
                    "applications": r.applications.iter().map(|a| json!({
                        "trx_number": a.trx_number,
                        "amount": money(a.amount),
                    })).collect::<Vec<_>>(),
                })
            })
            .collect(),
    )
}
