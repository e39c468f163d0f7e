//! AR cash receipts: one receipt per settlement and operating unit, created with
//! AR_RECEIPT_API_PUB.create_cash and applied to invoices (apply) and, for a credit memo
//! against an invoice, the credit memo application — each a custom service of the `xxmlc`
//! package, run under the AR context (its operating unit).
//!
//! Writes are never retried blindly: [`EbsClient::ensure_receipt`] and
//! [`EbsClient::ensure_application`] look in EBS first (`get_receipt`, `get_transaction`) and
//! write only what is missing, before the first try and before any retry.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::ebs::EbsClient;
use crate::ebs::context::Module;
use crate::ebs::error::EbsError;
use crate::ebs::transport::Retry;
use crate::ebs::wire::{date_of, dec_of, list, str_of};

/// What to create: the receipt of one settlement in the AR context's operating unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewReceipt {
    /// The settlement id.
    pub receipt_number: String,
    /// Receipt method name (from the routing).
    pub receipt_method: String,
    /// Invoices less credit memos of the settlement.
    pub amount: Decimal,
    pub currency: String,
    /// The deposit date.
    pub receipt_date: NaiveDate,
    pub gl_date: NaiveDate,
    /// Customer account number (e.g. `AMAZON-US`).
    pub customer_ref: Option<String>,
}

/// A receipt application to one transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptApplication {
    pub receivable_application_id: String,
    pub trx_number: String,
    /// `INV` or `CM`.
    pub trx_class: Option<String>,
    /// Negative on a credit memo.
    pub amount_applied: Decimal,
    pub apply_date: Option<NaiveDate>,
}

/// A cash receipt as EBS holds it, with its applications.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CashReceipt {
    pub cash_receipt_id: String,
    pub receipt_number: String,
    pub receipt_method: String,
    pub org_id: String,
    pub amount: Decimal,
    pub currency: String,
    pub receipt_date: Option<NaiveDate>,
    pub gl_date: Option<NaiveDate>,
    pub customer_ref: Option<String>,
    pub applied: Decimal,
    pub unapplied: Decimal,
    pub applications: Vec<ReceiptApplication>,
}

/// A receipt method with its remittance bank account and that account's cash account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptMethodInfo {
    pub receipt_method_id: String,
    pub name: String,
    pub org_id: Option<String>,
    pub bank_account_id: Option<String>,
    pub bank_account_name: Option<String>,
    pub bank_account_num: Option<String>,
    pub currency: Option<String>,
    /// Concatenated segments of the cash account.
    pub cash_account: Option<String>,
    pub cash_ccid: Option<String>,
}

/// One application touching a transaction (`get_transaction`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TrxApplication {
    Cash {
        receivable_application_id: String,
        receipt_number: String,
        receipt_method: String,
        amount_applied: Decimal,
    },
    CreditMemo {
        receivable_application_id: String,
        cm_trx_number: String,
        inv_trx_number: String,
        amount_applied: Decimal,
    },
}

/// A transaction with its balance due after receipts and credit memo applications.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrxBalance {
    pub customer_trx_id: String,
    pub trx_number: String,
    pub trx_class: String,
    pub currency: String,
    pub amount: Decimal,
    pub balance_due: Decimal,
    pub applications: Vec<TrxApplication>,
}

/// A credit memo applied to an invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CmApplication {
    pub receivable_application_id: String,
    pub cm_trx_number: String,
    pub inv_trx_number: String,
    pub amount_applied: Decimal,
}

/// What an `ensure_*` call found or did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ensured<T> {
    /// Missing in EBS; created now.
    Created(T),
    /// Already in EBS as asked; nothing was sent.
    Found(T),
    /// Already in EBS but different (amount, date…): nothing was sent, a person decides.
    Conflict { found: T, detail: String },
}

impl<T> Ensured<T> {
    pub fn value(&self) -> &T {
        match self {
            Ensured::Created(t) | Ensured::Found(t) | Ensured::Conflict { found: t, .. } => t,
        }
    }
}

/// Why EBS refused a receipt call (the AR API message name before `:` in `X_MSG_DATA`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The receipt number is already used for that receipt method.
    DuplicateNumber,
    /// More than the balance due (or than the receipt's unapplied amount).
    OverApplication,
    /// GL date not in an open or future-enterable AR period.
    PeriodClosed,
    UnknownTransaction,
    UnknownReceipt,
    UnknownMethod,
    Other,
}

impl Refusal {
    /// Classifies a business error of the receipt services.
    pub fn of(e: &EbsError) -> Option<Refusal> {
        let EbsError::Business { message, .. } = e else {
            return None;
        };
        let code = message.split(':').next().unwrap_or("").trim();
        Some(match code {
            "AR_RW_CASH_DUPLICATE_RECEIPT" => Refusal::DuplicateNumber,
            "AR_CKAP_OVERAPP" | "AR_RW_RCT_OVERAPPLIED" => Refusal::OverApplication,
            "AR_RAPI_GL_DATE_INVALID" => Refusal::PeriodClosed,
            "AR_RAPI_TRX_NUM_INVALID" => Refusal::UnknownTransaction,
            "AR_RAPI_RCPT_NUM_INVALID" => Refusal::UnknownReceipt,
            "AR_INVAL_RECEIPT_MTH_ID" => Refusal::UnknownMethod,
            _ => Refusal::Other,
        })
    }
}

/// What [`EbsClient::look_before_write`] found: there before anything was sent, or there
/// after the write.
enum Looked<T> {
    Existing(T),
    Written(T),
}

impl<T> Looked<T> {
    /// `Created` when written; when it was there already, `Found` if `same`, else a
    /// `Conflict` described by `differs`.
    fn ensured(
        self,
        same: impl FnOnce(&T) -> bool,
        differs: impl FnOnce(&T) -> String,
    ) -> Ensured<T> {
        match self {
            Looked::Written(t) => Ensured::Created(t),
            Looked::Existing(t) if same(&t) => Ensured::Found(t),
            Looked::Existing(t) => Ensured::Conflict {
                detail: differs(&t),
                found: t,
            },
        }
    }
}

/// Writes tried at most this often (each try preceded by a look in EBS).
const WRITE_TRIES: usize = 3;

fn money(path: &str, m: &Map<String, Value>, k: &str) -> Result<Decimal, EbsError> {
    dec_of(path, m, k)?.ok_or_else(|| EbsError::Decode {
        path: path.into(),
        detail: format!("no {k}"),
    })
}

impl EbsClient {
    async fn ar_custom(
        &self,
        method: &str,
        params: Value,
        retry: Retry,
    ) -> Result<Map<String, Value>, EbsError> {
        self.custom(Module::Ar, method, params, retry).await
    }

    /// A write sent once (`Retry::WriteOnce`); returns the id field `id` of its answer.
    async fn ar_write(&self, method: &str, params: Value, id: &str) -> Result<String, EbsError> {
        let out = self.ar_custom(method, params, Retry::WriteOnce).await?;
        str_of(&out, id).ok_or_else(|| EbsError::Decode {
            path: method.into(),
            detail: format!("no {id}"),
        })
    }

    /// Looks in EBS before every try of a write: what `look` finds is returned as
    /// `Existing` and nothing is sent; otherwise `write` is sent (again only after an
    /// unclear, transient failure, at most [`WRITE_TRIES`] times) and what `look` then
    /// finds is `Written`. `missing` is the error when the write went through but `look`
    /// still finds nothing.
    async fn look_before_write<T>(
        &self,
        method: &str,
        mut look: impl AsyncFnMut() -> Result<Option<T>, EbsError>,
        mut write: impl AsyncFnMut() -> Result<String, EbsError>,
        missing: impl FnOnce() -> EbsError,
    ) -> Result<Looked<T>, EbsError> {
        let mut tries = 0;
        loop {
            if let Some(found) = look().await? {
                return Ok(Looked::Existing(found));
            }
            tries += 1;
            match write().await {
                Ok(_) => break,
                Err(e) if e.is_transient() && tries < WRITE_TRIES => {
                    self.pause(self.cfg.retry.base, method, &e.to_string())
                        .await?;
                }
                Err(e) => return Err(e),
            }
        }
        look().await?.map(Looked::Written).ok_or_else(missing)
    }

    /// Creates a cash receipt (`create_cash_receipt`); returns the cash receipt id.
    /// Sent once: after an unclear failure use [`Self::ensure_receipt`].
    pub async fn create_cash_receipt(&self, r: &NewReceipt) -> Result<String, EbsError> {
        let path = "create_cash_receipt";
        let mut p = json!({
            "P_RECEIPT_NUMBER": r.receipt_number,
            "P_RECEIPT_METHOD": r.receipt_method,
            "P_AMOUNT": r.amount.normalize().to_string(),
            "P_CURRENCY_CODE": r.currency,
            "P_RECEIPT_DATE": r.receipt_date.to_string(),
            "P_GL_DATE": r.gl_date.to_string(),
            "P_ORG_ID": self.ar_org_id()?,
        });
        if let Some(c) = &r.customer_ref {
            p["P_CUSTOMER_REF"] = json!(c);
        }
        self.ar_write(path, p, "X_CASH_RECEIPT_ID").await
    }

    /// Applies `amount` of a receipt to a transaction (`apply_receipt`; negative on a credit
    /// memo); returns the receivable application id. Sent once.
    pub async fn apply_receipt(
        &self,
        receipt_number: &str,
        receipt_method: &str,
        trx_number: &str,
        amount: Decimal,
        apply_date: NaiveDate,
    ) -> Result<String, EbsError> {
        self.ar_write(
            "apply_receipt",
            json!({
                "P_RECEIPT_NUMBER": receipt_number,
                "P_RECEIPT_METHOD": receipt_method,
                "P_TRX_NUMBER": trx_number,
                "P_AMOUNT_APPLIED": amount.normalize().to_string(),
                "P_APPLY_DATE": apply_date.to_string(),
                "P_APPLY_GL_DATE": apply_date.to_string(),
            }),
            "X_RECEIVABLE_APPLICATION_ID",
        )
        .await
    }

    /// Applies `amount` (positive) of a credit memo to an invoice (`apply_credit_memo`);
    /// returns the receivable application id. Sent once.
    pub async fn apply_credit_memo(
        &self,
        cm_trx_number: &str,
        inv_trx_number: &str,
        amount: Decimal,
        apply_date: NaiveDate,
    ) -> Result<String, EbsError> {
        self.ar_write(
            "apply_credit_memo",
            json!({
                "P_CM_TRX_NUMBER": cm_trx_number,
                "P_INV_TRX_NUMBER": inv_trx_number,
                "P_AMOUNT_APPLIED": amount.normalize().to_string(),
                "P_APPLY_DATE": apply_date.to_string(),
                "P_GL_DATE": apply_date.to_string(),
            }),
            "X_RECEIVABLE_APPLICATION_ID",
        )
        .await
    }

    /// The receipt of this number and method with its applications (`get_receipt`).
    pub async fn receipt(
        &self,
        receipt_number: &str,
        receipt_method: &str,
    ) -> Result<Option<CashReceipt>, EbsError> {
        let path = "get_receipt";
        let out = self
            .ar_custom(
                path,
                json!({"P_RECEIPT_NUMBER": receipt_number, "P_RECEIPT_METHOD": receipt_method}),
                Retry::Safe,
            )
            .await?;
        if str_of(&out, "X_EXISTS").as_deref() != Some("Y") {
            return Ok(None);
        }
        let applications = list(&out, "X_APPLICATIONS")
            .iter()
            .map(|a| {
                Ok(ReceiptApplication {
                    receivable_application_id: str_of(a, "RECEIVABLE_APPLICATION_ID")
                        .unwrap_or_default(),
                    trx_number: str_of(a, "TRX_NUMBER").unwrap_or_default(),
                    trx_class: str_of(a, "TRX_CLASS"),
                    amount_applied: money(path, a, "AMOUNT_APPLIED")?,
                    apply_date: date_of(a, "APPLY_DATE"),
                })
            })
            .collect::<Result<Vec<_>, EbsError>>()?;
        Ok(Some(CashReceipt {
            cash_receipt_id: str_of(&out, "X_CASH_RECEIPT_ID").unwrap_or_default(),
            receipt_number: str_of(&out, "X_RECEIPT_NUMBER")
                .unwrap_or_else(|| receipt_number.to_string()),
            receipt_method: str_of(&out, "X_RECEIPT_METHOD")
                .unwrap_or_else(|| receipt_method.to_string()),
            org_id: str_of(&out, "X_ORG_ID").unwrap_or_default(),
            amount: money(path, &out, "X_AMOUNT")?,
            currency: str_of(&out, "X_CURRENCY_CODE").unwrap_or_default(),
            receipt_date: date_of(&out, "X_RECEIPT_DATE"),
            gl_date: date_of(&out, "X_GL_DATE"),
            customer_ref: str_of(&out, "X_CUSTOMER_REF"),
            applied: dec_of(path, &out, "X_APPLIED")?.unwrap_or_default(),
            unapplied: dec_of(path, &out, "X_UNAPPLIED")?.unwrap_or_default(),
            applications,
        }))
    }

    /// A receipt method of the AR context's operating unit (`get_receipt_method`): its
    /// remittance bank account and that account's cash account.
    pub async fn receipt_method(&self, name: &str) -> Result<Option<ReceiptMethodInfo>, EbsError> {
        let out = self
            .ar_custom(
                "get_receipt_method",
                json!({"P_RECEIPT_METHOD": name}),
                Retry::Safe,
            )
            .await?;
        if str_of(&out, "X_EXISTS").as_deref() != Some("Y") {
            return Ok(None);
        }
        Ok(Some(ReceiptMethodInfo {
            receipt_method_id: str_of(&out, "X_RECEIPT_METHOD_ID").unwrap_or_default(),
            name: str_of(&out, "X_NAME").unwrap_or_else(|| name.to_string()),
            org_id: str_of(&out, "X_ORG_ID"),
            bank_account_id: str_of(&out, "X_BANK_ACCOUNT_ID"),
            bank_account_name: str_of(&out, "X_BANK_ACCOUNT_NAME"),
            bank_account_num: str_of(&out, "X_BANK_ACCOUNT_NUM"),
            currency: str_of(&out, "X_CURRENCY_CODE"),
            cash_account: str_of(&out, "X_CASH_ACCOUNT"),
            cash_ccid: str_of(&out, "X_CASH_CCID"),
        }))
    }

    /// A transaction of the AR context's operating unit with its balance due and every
    /// application touching it (`get_transaction`).
    pub async fn ar_transaction(&self, trx_number: &str) -> Result<Option<TrxBalance>, EbsError> {
        let path = "get_transaction";
        let out = self
            .ar_custom(path, json!({"P_TRX_NUMBER": trx_number}), Retry::Safe)
            .await?;
        if str_of(&out, "X_EXISTS").as_deref() != Some("Y") {
            return Ok(None);
        }
        let applications = list(&out, "X_APPLICATIONS")
            .iter()
            .map(|a| {
                let id = str_of(a, "RECEIVABLE_APPLICATION_ID").unwrap_or_default();
                let amount_applied = money(path, a, "AMOUNT_APPLIED")?;
                Ok(match str_of(a, "APPLICATION_TYPE").as_deref() {
                    Some("CM") => TrxApplication::CreditMemo {
                        receivable_application_id: id,
                        cm_trx_number: str_of(a, "CM_TRX_NUMBER").unwrap_or_default(),
                        inv_trx_number: str_of(a, "INV_TRX_NUMBER").unwrap_or_default(),
                        amount_applied,
                    },
                    _ => TrxApplication::Cash {
                        receivable_application_id: id,
                        receipt_number: str_of(a, "RECEIPT_NUMBER").unwrap_or_default(),
                        receipt_method: str_of(a, "RECEIPT_METHOD").unwrap_or_default(),
                        amount_applied,
                    },
                })
            })
            .collect::<Result<Vec<_>, EbsError>>()?;
        Ok(Some(TrxBalance {
            customer_trx_id: str_of(&out, "X_CUSTOMER_TRX_ID").unwrap_or_default(),
            trx_number: str_of(&out, "X_TRX_NUMBER").unwrap_or_else(|| trx_number.into()),
            trx_class: str_of(&out, "X_TRX_CLASS").unwrap_or_default(),
            currency: str_of(&out, "X_CURRENCY_CODE").unwrap_or_default(),
            amount: money(path, &out, "X_AMOUNT")?,
            balance_due: money(path, &out, "X_BALANCE_DUE")?,
            applications,
        }))
    }

    /// The receipt, created only when EBS does not have it yet. Each try (the first and
    /// every retry after an unclear failure) first looks it up in EBS.
    pub async fn ensure_receipt(&self, r: &NewReceipt) -> Result<Ensured<CashReceipt>, EbsError> {
        let looked = self
            .look_before_write(
                "create_cash_receipt",
                async || self.receipt(&r.receipt_number, &r.receipt_method).await,
                async || self.create_cash_receipt(r).await,
                || EbsError::Decode {
                    path: "get_receipt".into(),
                    detail: format!(
                        "receipt {} not found right after its creation",
                        r.receipt_number
                    ),
                },
            )
            .await?;
        let found = match looked {
            Looked::Written(created) => return Ok(Ensured::Created(created)),
            Looked::Existing(found) => found,
        };
        let mut diffs = Vec::new();
        if found.amount != r.amount {
            diffs.push(format!("amount {} (wanted {})", found.amount, r.amount));
        }
        if !found.currency.eq_ignore_ascii_case(&r.currency) {
            diffs.push(format!(
                "currency {} (wanted {})",
                found.currency, r.currency
            ));
        }
        if found.receipt_date.is_some_and(|d| d != r.receipt_date) {
            diffs.push(format!(
                "receipt date {:?} (wanted {})",
                found.receipt_date, r.receipt_date
            ));
        }
        Ok(if diffs.is_empty() {
            Ensured::Found(found)
        } else {
            Ensured::Conflict {
                detail: format!(
                    "receipt {} ({}) exists with {}",
                    r.receipt_number,
                    r.receipt_method,
                    diffs.join(", ")
                ),
                found,
            }
        })
    }

    /// The application of a receipt to a transaction, sent only when the receipt has none to
    /// it yet (looked up with `get_receipt` before each try).
    pub async fn ensure_application(
        &self,
        receipt_number: &str,
        receipt_method: &str,
        trx_number: &str,
        amount: Decimal,
        apply_date: NaiveDate,
    ) -> Result<Ensured<ReceiptApplication>, EbsError> {
        let existing = |rc: Option<CashReceipt>| -> Result<Option<ReceiptApplication>, EbsError> {
            let rc = rc.ok_or_else(|| EbsError::Business {
                path: "get_receipt".into(),
                message: format!(
                    "AR_RAPI_RCPT_NUM_INVALID: receipt {receipt_number} ({receipt_method}) does not exist"
                ),
            })?;
            Ok(rc
                .applications
                .into_iter()
                .find(|a| a.trx_number == trx_number))
        };
        let looked = self
            .look_before_write(
                "apply_receipt",
                async || existing(self.receipt(receipt_number, receipt_method).await?),
                async || {
                    self.apply_receipt(
                        receipt_number,
                        receipt_method,
                        trx_number,
                        amount,
                        apply_date,
                    )
                    .await
                },
                || EbsError::Decode {
                    path: "get_receipt".into(),
                    detail: format!(
                        "application to {trx_number} not found right after it was made"
                    ),
                },
            )
            .await?;
        Ok(looked.ensured(
            |a| a.amount_applied == amount,
            |a| {
                format!(
                    "receipt {receipt_number} is applied to {trx_number} with {} (wanted {amount})",
                    a.amount_applied
                )
            },
        ))
    }

    /// The application of a credit memo to an invoice, sent only when the credit memo has
    /// none to that invoice yet (looked up with `get_transaction` before each try).
    pub async fn ensure_cm_application(
        &self,
        cm_trx_number: &str,
        inv_trx_number: &str,
        amount: Decimal,
        apply_date: NaiveDate,
    ) -> Result<Ensured<CmApplication>, EbsError> {
        let existing = |t: Option<TrxBalance>| -> Result<Option<CmApplication>, EbsError> {
            let t = t.ok_or_else(|| EbsError::Business {
                path: "get_transaction".into(),
                message: format!(
                    "AR_RAPI_TRX_NUM_INVALID: credit memo {cm_trx_number} does not exist"
                ),
            })?;
            Ok(t.applications.into_iter().find_map(|a| match a {
                TrxApplication::CreditMemo {
                    receivable_application_id,
                    cm_trx_number: c,
                    inv_trx_number: i,
                    amount_applied,
                } if c == cm_trx_number && i == inv_trx_number => Some(CmApplication {
                    receivable_application_id,
                    cm_trx_number: c,
                    inv_trx_number: i,
                    amount_applied,
                }),
                _ => None,
            }))
        };
        let looked = self
            .look_before_write(
                "apply_credit_memo",
                async || existing(self.ar_transaction(cm_trx_number).await?),
                async || {
                    self.apply_credit_memo(cm_trx_number, inv_trx_number, amount, apply_date)
                        .await
                },
                || EbsError::Decode {
                    path: "get_transaction".into(),
                    detail: format!(
                        "application of {cm_trx_number} to {inv_trx_number} not found right after it was made"
                    ),
                },
            )
            .await?;
        Ok(looked.ensured(|a| a.amount_applied == amount, |a| {
            format!(
                "credit memo {cm_trx_number} is applied to {inv_trx_number} with {} (wanted {amount})",
                a.amount_applied
            )
        }))
    }

    fn ar_org_id(&self) -> Result<String, EbsError> {
        crate::ebs::ou_org(self.cfg.contexts.ar.as_ref(), "AR")
    }
}
