//! AR: lines and distributions into the AutoInvoice interface, RAXMTR (with its RAXTRX
//! children) followed to completion, transactions and RA_INTERFACE_ERRORS_ALL read back.
//!
//! Each line's transaction flexfield (context + attributes; e.g. order id, order item id,
//! kind, settlement id) is its idempotency key: EBS itself refuses a duplicate flexfield, and
//! [`EbsClient::ar_existing`] finds lines still waiting in the interface.

use crate::ebs::EbsClient;
use crate::ebs::context::Module;
use crate::ebs::error::EbsError;
use crate::ebs::requests::RequestTree;
use crate::ebs::transport::Retry;
use crate::ebs::wire::{dec_of, list, str_of};
use crate::ebs::{blank_arguments, ou_org};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// A line's transaction flexfield: context + ATTRIBUTE1..15.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TrxFlexfield {
    pub context: String,
    pub attributes: Vec<String>,
}

impl TrxFlexfield {
    fn put(&self, prefix: &str, row: &mut Map<String, Value>) {
        row.insert(format!("{prefix}_CONTEXT"), json!(self.context));
        for (i, a) in self.attributes.iter().enumerate().take(15) {
            row.insert(format!("{prefix}_ATTRIBUTE{}", i + 1), json!(a));
        }
    }

    fn read(prefix: &str, m: &Map<String, Value>) -> Self {
        let mut attributes: Vec<String> = (1..=15)
            .map(|i| str_of(m, &format!("{prefix}_ATTRIBUTE{i}")).unwrap_or_default())
            .collect();
        while attributes.last().is_some_and(String::is_empty) {
            attributes.pop();
        }
        TrxFlexfield {
            context: str_of(m, &format!("{prefix}_CONTEXT")).unwrap_or_default(),
            attributes,
        }
    }
}

/// One `RA_INTERFACE_LINES_ALL` row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArLine {
    pub flexfield: TrxFlexfield,
    pub batch_source_name: String,
    /// `LINE`, `TAX`, `FREIGHT`, `CHARGES`.
    pub line_type: String,
    pub description: String,
    pub currency: String,
    /// Negative for credit memos.
    pub amount: Decimal,
    pub quantity: Option<Decimal>,
    pub unit_selling_price: Option<Decimal>,
    pub cust_trx_type_name: String,
    /// Required for invoices, absent on credit memos.
    pub term_name: Option<String>,
    pub bill_customer_ref: String,
    pub bill_address_ref: Option<String>,
    pub trx_date: NaiveDate,
    pub gl_date: NaiveDate,
    pub trx_number: Option<String>,
    pub memo_line_name: Option<String>,
    /// Credit memo → the invoice line it credits.
    pub reference_line: Option<TrxFlexfield>,
    pub conversion_type: Option<String>,
    pub conversion_rate: Option<Decimal>,
    pub conversion_date: Option<NaiveDate>,
    /// Further columns by name (e.g. `SALES_ORDER`, `COMMENTS`).
    pub extra: BTreeMap<String, String>,
}

/// One `RA_INTERFACE_DISTRIBUTIONS_ALL` row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArDistribution {
    pub flexfield: TrxFlexfield,
    /// `REV`, `REC`, `TAX`, `FREIGHT`, …
    pub account_class: String,
    pub percent: Option<Decimal>,
    pub amount: Option<Decimal>,
    /// Segments joined by the delimiter.
    pub account: String,
}

/// RAXMTR parameters the flows vary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AutoInvoiceParams {
    pub batch_source_id: String,
    pub batch_source_name: String,
    pub default_date: NaiveDate,
    pub gl_date_low: Option<NaiveDate>,
    pub gl_date_high: Option<NaiveDate>,
}

/// A transaction AutoInvoice created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArTransaction {
    pub customer_trx_id: String,
    pub trx_number: String,
    pub trx_class: String,
    pub amount: Option<Decimal>,
    pub request_id: Option<String>,
    pub lines: Vec<TrxFlexfield>,
}

/// A line AutoInvoice rejected (`RA_INTERFACE_ERRORS_ALL` joined to its line).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArLineError {
    pub interface_line_id: Option<String>,
    pub flexfield: TrxFlexfield,
    pub message: String,
    pub invalid_value: Option<String>,
}

/// Outcome of an AutoInvoice run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArOutcome {
    pub requests: RequestTree,
    pub transactions: Vec<ArTransaction>,
    pub errors: Vec<ArLineError>,
    /// Lines still in the interface for the batch source (held back with a failing sibling).
    pub remaining: Vec<TrxFlexfield>,
}

impl EbsClient {
    fn ar_org(&self) -> Result<String, EbsError> {
        ou_org(self.cfg.contexts.ar.as_ref(), "AR")
    }

    /// Lines of these flexfields already waiting in the interface (ask before staging again).
    pub async fn ar_existing(
        &self,
        context: &str,
        attribute1: &str,
    ) -> Result<Vec<TrxFlexfield>, EbsError> {
        let rows = self
            .read_rows(
                Module::Ar,
                "RA_INTERFACE_LINES_ALL",
                &[
                    ("INTERFACE_LINE_CONTEXT", context.to_string()),
                    ("INTERFACE_LINE_ATTRIBUTE1", attribute1.to_string()),
                ],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| TrxFlexfield::read("INTERFACE_LINE", r))
            .collect())
    }

    /// Inserts lines, then distributions (each one POST, one transaction).
    pub async fn ar_stage(
        &self,
        lines: &[ArLine],
        dists: &[ArDistribution],
    ) -> Result<(), EbsError> {
        let org = self.ar_org()?;
        let rows: Vec<Value> = lines
            .iter()
            .map(|l| {
                let mut r = Map::new();
                l.flexfield.put("INTERFACE_LINE", &mut r);
                let mut put = |k: &str, v: Option<String>| {
                    if let Some(v) = v {
                        r.insert(k.to_string(), Value::String(v));
                    }
                };
                put("BATCH_SOURCE_NAME", Some(l.batch_source_name.clone()));
                put("LINE_TYPE", Some(l.line_type.clone()));
                put("DESCRIPTION", Some(l.description.clone()));
                put("CURRENCY_CODE", Some(l.currency.clone()));
                put("AMOUNT", Some(l.amount.normalize().to_string()));
                put("QUANTITY", l.quantity.map(|q| q.normalize().to_string()));
                put(
                    "UNIT_SELLING_PRICE",
                    l.unit_selling_price.map(|q| q.normalize().to_string()),
                );
                put("CUST_TRX_TYPE_NAME", Some(l.cust_trx_type_name.clone()));
                put("TERM_NAME", l.term_name.clone());
                put(
                    "ORIG_SYSTEM_BILL_CUSTOMER_REF",
                    Some(l.bill_customer_ref.clone()),
                );
                put("ORIG_SYSTEM_BILL_ADDRESS_REF", l.bill_address_ref.clone());
                put("TRX_DATE", Some(l.trx_date.to_string()));
                put("GL_DATE", Some(l.gl_date.to_string()));
                put("TRX_NUMBER", l.trx_number.clone());
                put("MEMO_LINE_NAME", l.memo_line_name.clone());
                put("CONVERSION_TYPE", l.conversion_type.clone());
                put(
                    "CONVERSION_RATE",
                    l.conversion_rate.map(|q| q.normalize().to_string()),
                );
                put("CONVERSION_DATE", l.conversion_date.map(|d| d.to_string()));
                put("ORG_ID", Some(org.clone()));
                for (k, v) in &l.extra {
                    put(k, Some(v.clone()));
                }
                if let Some(rf) = &l.reference_line {
                    rf.put("REFERENCE_LINE", &mut r);
                }
                Value::Object(r)
            })
            .collect();
        if !rows.is_empty() {
            self.insert_rows(Module::Ar, "RA_INTERFACE_LINES_ALL", rows)
                .await?;
        }
        let drows: Vec<Value> = dists
            .iter()
            .map(|d| {
                let mut r = Map::new();
                d.flexfield.put("INTERFACE_LINE", &mut r);
                r.insert("ACCOUNT_CLASS".into(), json!(d.account_class));
                if let Some(p) = d.percent {
                    r.insert("PERCENT".into(), json!(p.normalize().to_string()));
                }
                if let Some(a) = d.amount {
                    r.insert("AMOUNT".into(), json!(a.normalize().to_string()));
                }
                for (i, seg) in d.account.split(self.cfg.segment_delimiter).enumerate() {
                    r.insert(format!("SEGMENT{}", i + 1), json!(seg));
                }
                r.insert("ORG_ID".into(), json!(org));
                Value::Object(r)
            })
            .collect();
        if !drows.is_empty() {
            self.insert_rows(Module::Ar, "RA_INTERFACE_DISTRIBUTIONS_ALL", drows)
                .await?;
        }
        Ok(())
    }

    /// Submits the AutoInvoice Master Program (RAXMTR, arguments 1–27); returns its id.
    pub async fn ar_submit(&self, p: &AutoInvoiceParams) -> Result<String, EbsError> {
        let org = self.ar_org()?;
        let mut args = blank_arguments(27);
        args.insert("ARGUMENT1".into(), json!("1"));
        args.insert("ARGUMENT2".into(), json!(org));
        args.insert("ARGUMENT3".into(), json!(p.batch_source_id));
        args.insert("ARGUMENT4".into(), json!(p.batch_source_name));
        args.insert(
            "ARGUMENT5".into(),
            json!(format!("{} 00:00:00", p.default_date.format("%Y/%m/%d"))),
        );
        if let Some(d) = p.gl_date_low {
            args.insert(
                "ARGUMENT12".into(),
                json!(format!("{} 00:00:00", d.format("%Y/%m/%d"))),
            );
        }
        if let Some(d) = p.gl_date_high {
            args.insert(
                "ARGUMENT13".into(),
                json!(format!("{} 00:00:00", d.format("%Y/%m/%d"))),
            );
        }
        args.insert("ARGUMENT26".into(), json!("N"));
        args.insert("ARGUMENT27".into(), json!("0"));
        // A second AutoInvoice run finds only what the first left; no duplicate can arise.
        self.submit_program(Module::Ar, "SUBMIT_CP_RAXMTR", args)
            .await
    }

    /// Follows RAXMTR and its RAXTRX children to completion, then reads created
    /// transactions, errors and what is left in the interface for the batch source.
    pub async fn ar_await_outcome(
        &self,
        request_id: &str,
        batch_source_name: &str,
    ) -> Result<ArOutcome, EbsError> {
        let requests = self.await_request_tree(Module::Ar, request_id).await?;
        let mut transactions = Vec::new();
        let mut errors = Vec::new();
        let mut ids: Vec<String> = requests
            .children
            .iter()
            .map(|c| c.request_id.clone())
            .collect();
        if ids.is_empty() {
            ids.push(request_id.to_string());
        }
        for id in &ids {
            transactions.extend(self.ar_transactions(id).await?);
            let rows = self
                .read_rows(
                    Module::Ar,
                    "RA_INTERFACE_ERRORS_ALL",
                    &[("REQUEST_ID", id.clone())],
                )
                .await?;
            errors.extend(rows.iter().map(|r| ArLineError {
                interface_line_id: str_of(r, "INTERFACE_LINE_ID"),
                flexfield: TrxFlexfield::read("INTERFACE_LINE", r),
                message: str_of(r, "MESSAGE_TEXT").unwrap_or_default(),
                invalid_value: str_of(r, "INVALID_VALUE"),
            }));
        }
        let remaining = self
            .read_rows(
                Module::Ar,
                "RA_INTERFACE_LINES_ALL",
                &[("BATCH_SOURCE_NAME", batch_source_name.to_string())],
            )
            .await?
            .iter()
            .map(|r| TrxFlexfield::read("INTERFACE_LINE", r))
            .collect();
        Ok(ArOutcome {
            requests,
            transactions,
            errors,
            remaining,
        })
    }

    /// Transactions created by a request (`get_transactions_by_request`).
    pub async fn ar_transactions(&self, request_id: &str) -> Result<Vec<ArTransaction>, EbsError> {
        let out = self
            .custom(
                Module::Ar,
                "get_transactions_by_request",
                json!({ "P_REQUEST_ID": request_id }),
                Retry::Safe,
            )
            .await?;
        list(&out, "X_TRANSACTIONS")
            .iter()
            .map(|t| {
                Ok(ArTransaction {
                    customer_trx_id: str_of(t, "CUSTOMER_TRX_ID").unwrap_or_default(),
                    trx_number: str_of(t, "TRX_NUMBER").unwrap_or_default(),
                    trx_class: str_of(t, "TRX_CLASS").unwrap_or_default(),
                    amount: dec_of("get_transactions_by_request", t, "AMOUNT")?,
                    request_id: str_of(t, "REQUEST_ID"),
                    lines: list(t, "LINES")
                        .iter()
                        .map(|l| TrxFlexfield::read("INTERFACE_LINE", l))
                        .collect(),
                })
            })
            .collect()
    }

    /// Removes interface lines (with distributions and errors) of an order, e.g. before a
    /// corrected resubmission.
    pub async fn ar_delete_lines(&self, context: &str, attribute1: &str) -> Result<u64, EbsError> {
        self.delete_rows(
            Module::Ar,
            "RA_INTERFACE_LINES_ALL",
            &[
                ("INTERFACE_LINE_CONTEXT", context.to_string()),
                ("INTERFACE_LINE_ATTRIBUTE1", attribute1.to_string()),
            ],
        )
        .await
    }
}
