//! AP: supplier invoices and lines into the Payables open interface, Payables Open Interface
//! Import (APXIIMPT) followed to completion, statuses and AP_INTERFACE_REJECTIONS read back.
//!
//! The idempotency key is (source, invoice number); EBS also rejects a duplicate invoice
//! number per supplier (`DUPLICATE INVOICE NUMBER`).

use crate::ebs::EbsClient;
use crate::ebs::context::Module;
use crate::ebs::error::EbsError;
use crate::ebs::requests::RequestState;
use crate::ebs::wire::{list, str_of};
use crate::ebs::{blank_arguments, ou_org};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// One `AP_INVOICES_INTERFACE` header with its lines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApInvoice {
    pub invoice_num: String,
    /// `STANDARD`, `CREDIT`.
    pub invoice_type: String,
    pub invoice_date: NaiveDate,
    pub vendor_num: String,
    pub vendor_site_code: String,
    pub amount: Decimal,
    pub currency: String,
    pub description: String,
    pub source: String,
    pub group_id: String,
    pub gl_date: NaiveDate,
    pub terms_name: Option<String>,
    pub lines: Vec<ApInvoiceLine>,
}

/// One `AP_INVOICE_LINES_INTERFACE` row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApInvoiceLine {
    pub line_number: u32,
    /// `ITEM`, `MISCELLANEOUS`, `FREIGHT`, `TAX`.
    pub line_type: String,
    pub amount: Decimal,
    pub description: String,
    /// Distribution account, segments joined (`DIST_CODE_CONCATENATED`).
    pub account: String,
    pub accounting_date: NaiveDate,
}

/// APXIIMPT parameters the flows vary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayablesImportParams {
    pub source: String,
    pub group_id: String,
    pub batch_name: Option<String>,
    pub gl_date: Option<NaiveDate>,
    pub purge: bool,
}

/// A staged invoice after the import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApInvoiceOutcome {
    pub invoice_id: String,
    pub invoice_num: String,
    /// `PROCESSED`, `REJECTED`, or empty when not processed.
    pub status: String,
    pub rejections: Vec<ApRejection>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApRejection {
    pub parent_table: String,
    pub parent_id: String,
    pub reject_code: String,
}

impl EbsClient {
    fn ap_org(&self) -> Result<String, EbsError> {
        ou_org(self.cfg.contexts.ap.as_ref(), "AP")
    }

    /// Invoices of this source and number already in the interface (ask before staging).
    pub async fn ap_existing(
        &self,
        source: &str,
        invoice_num: &str,
    ) -> Result<Vec<ApInvoiceOutcome>, EbsError> {
        let rows = self
            .read_rows(
                Module::Ap,
                "AP_INVOICES_INTERFACE",
                &[
                    ("SOURCE", source.to_string()),
                    ("INVOICE_NUM", invoice_num.to_string()),
                ],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| ApInvoiceOutcome {
                invoice_id: str_of(r, "INVOICE_ID").unwrap_or_default(),
                invoice_num: str_of(r, "INVOICE_NUM").unwrap_or_default(),
                status: str_of(r, "STATUS").unwrap_or_default(),
                rejections: Vec::new(),
            })
            .collect())
    }

    /// Stages invoices: headers first (EBS draws INVOICE_IDs), then lines. Returns the ids.
    pub async fn ap_stage(&self, invoices: &[ApInvoice]) -> Result<Vec<String>, EbsError> {
        let org = self.ap_org()?;
        if invoices.is_empty() {
            return Ok(Vec::new());
        }
        let headers: Vec<Value> = invoices
            .iter()
            .map(|i| {
                let mut r = Map::new();
                let mut put = |k: &str, v: String| {
                    r.insert(k.to_string(), Value::String(v));
                };
                put("INVOICE_NUM", i.invoice_num.clone());
                put("INVOICE_TYPE_LOOKUP_CODE", i.invoice_type.clone());
                put("INVOICE_DATE", i.invoice_date.to_string());
                put("VENDOR_NUM", i.vendor_num.clone());
                put("VENDOR_SITE_CODE", i.vendor_site_code.clone());
                put("INVOICE_AMOUNT", i.amount.normalize().to_string());
                put("INVOICE_CURRENCY_CODE", i.currency.clone());
                put("DESCRIPTION", i.description.clone());
                put("SOURCE", i.source.clone());
                put("GROUP_ID", i.group_id.clone());
                put("GL_DATE", i.gl_date.to_string());
                put("ORG_ID", org.clone());
                if let Some(t) = &i.terms_name {
                    put("TERMS_NAME", t.clone());
                }
                Value::Object(r)
            })
            .collect();
        let out = self
            .insert_rows(Module::Ap, "AP_INVOICES_INTERFACE", headers)
            .await?;
        let ids: Vec<String> = ids_of(&out);
        if ids.len() != invoices.len() {
            return Err(EbsError::Decode {
                path: "AP_INVOICES_INTERFACE".into(),
                detail: format!("{} ids for {} invoices", ids.len(), invoices.len()),
            });
        }
        let lines: Vec<Value> = invoices
            .iter()
            .zip(&ids)
            .flat_map(|(inv, id)| {
                let org = org.clone();
                inv.lines.iter().map(move |l| {
                    json!({
                        "INVOICE_ID": id,
                        "LINE_NUMBER": l.line_number.to_string(),
                        "LINE_TYPE_LOOKUP_CODE": l.line_type,
                        "AMOUNT": l.amount.normalize().to_string(),
                        "DESCRIPTION": l.description,
                        "DIST_CODE_CONCATENATED": l.account,
                        "ACCOUNTING_DATE": l.accounting_date.to_string(),
                        "ORG_ID": org,
                    })
                })
            })
            .collect();
        if !lines.is_empty() {
            self.insert_rows(Module::Ap, "AP_INVOICE_LINES_INTERFACE", lines)
                .await?;
        }
        Ok(ids)
    }

    /// Submits Payables Open Interface Import (APXIIMPT, arguments 1–14); returns its id.
    pub async fn ap_submit(&self, p: &PayablesImportParams) -> Result<String, EbsError> {
        let org = self.ap_org()?;
        let mut args = blank_arguments(14);
        args.insert("ARGUMENT1".into(), json!(org));
        args.insert("ARGUMENT2".into(), json!(p.source));
        args.insert("ARGUMENT3".into(), json!(p.group_id));
        if let Some(b) = &p.batch_name {
            args.insert("ARGUMENT4".into(), json!(b));
        }
        if let Some(d) = p.gl_date {
            args.insert("ARGUMENT7".into(), json!(d.format("%Y/%m/%d").to_string()));
        }
        args.insert("ARGUMENT8".into(), json!(if p.purge { "Y" } else { "N" }));
        args.insert("ARGUMENT9".into(), json!("N"));
        args.insert("ARGUMENT10".into(), json!("N"));
        args.insert("ARGUMENT11".into(), json!("N"));
        args.insert("ARGUMENT12".into(), json!("1000"));
        self.submit_program(Module::Ap, "SUBMIT_CP_APXIIMPT", args)
            .await
    }

    /// Follows the import to completion, then reads each header's status and rejections.
    pub async fn ap_await_outcome(
        &self,
        request_id: &str,
        group_id: &str,
    ) -> Result<(RequestState, Vec<ApInvoiceOutcome>), EbsError> {
        let state = self.await_request(Module::Ap, request_id).await?;
        let headers = self
            .read_rows(
                Module::Ap,
                "AP_INVOICES_INTERFACE",
                &[("GROUP_ID", group_id.to_string())],
            )
            .await?;
        let rejections = self
            .read_rows(
                Module::Ap,
                "AP_INTERFACE_REJECTIONS",
                &[("GROUP_ID", group_id.to_string())],
            )
            .await?;
        let out = headers
            .iter()
            .map(|h| {
                let id = str_of(h, "INVOICE_ID").unwrap_or_default();
                ApInvoiceOutcome {
                    invoice_num: str_of(h, "INVOICE_NUM").unwrap_or_default(),
                    status: str_of(h, "STATUS").unwrap_or_default(),
                    rejections: rejections
                        .iter()
                        .filter(|r| str_of(r, "INVOICE_ID").as_deref() == Some(id.as_str()))
                        .map(|r| ApRejection {
                            parent_table: str_of(r, "PARENT_TABLE").unwrap_or_default(),
                            parent_id: str_of(r, "PARENT_ID").unwrap_or_default(),
                            reject_code: str_of(r, "REJECT_LOOKUP_CODE").unwrap_or_default(),
                        })
                        .collect(),
                    invoice_id: id,
                }
            })
            .collect();
        Ok((state, out))
    }

    /// Removes rejected headers of a group (with lines and rejections) before restaging.
    pub async fn ap_delete_rejected(&self, group_id: &str) -> Result<u64, EbsError> {
        self.delete_rows(
            Module::Ap,
            "AP_INVOICES_INTERFACE",
            &[("GROUP_ID", group_id.to_string())],
        )
        .await
    }
}

fn ids_of(out: &Map<String, Value>) -> Vec<String> {
    // X_IDS items are scalars: {"X_IDS": {"X_IDS_ITEM": ["50001", …]}}.
    let inner = match out.get("X_IDS") {
        Some(Value::Object(m)) => m.get("X_IDS_ITEM").cloned(),
        Some(v) => Some(v.clone()),
        None => None,
    };
    let scalar = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    match inner {
        Some(Value::Array(a)) => a.iter().filter_map(scalar).collect(),
        Some(v) => scalar(&v).into_iter().collect(),
        None => list(out, "X_IDS")
            .iter()
            .filter_map(|m| str_of(m, "ID"))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_in_every_shape() {
        let o = json!({"X_IDS": {"X_IDS_ITEM": ["50001", 50002]}});
        assert_eq!(ids_of(o.as_object().expect("o")), vec!["50001", "50002"]);
        let o = json!({"X_IDS": {"X_IDS_ITEM": "7"}});
        assert_eq!(ids_of(o.as_object().expect("o")), vec!["7"]);
        let o = json!({});
        assert!(ids_of(o.as_object().expect("o")).is_empty());
    }
}
