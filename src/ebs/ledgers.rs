//! What a ledger is (GL_LEDGERS: name, currency) and its daily conversion rates
//! (GL_DAILY_RATES), and an operating unit's name (HR_OPERATING_UNITS), read through the
//! custom package's `get_ledger`, `get_daily_rate` and `get_operating_unit`.
//!
//! Not cached here: the sync layer keeps one read per run (a rate loaded between two runs
//! must be seen by the next one).

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde_json::json;

use crate::ebs::EbsClient;
use crate::ebs::context::Module;
use crate::ebs::error::EbsError;
use crate::ebs::transport::Retry;
use crate::ebs::wire::{dec_of, str_of};

/// A ledger as GL_LEDGERS holds it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LedgerInfo {
    pub ledger_id: String,
    pub name: String,
    /// The ledger (functional) currency: every journal's accounted amounts are in it.
    pub currency: String,
    pub short_name: Option<String>,
    pub chart_of_accounts_id: Option<String>,
    pub period_set_name: Option<String>,
}

impl std::fmt::Display for LedgerInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ledger {} {} ({})",
            self.ledger_id, self.name, self.currency
        )
    }
}

/// An operating unit as HR_OPERATING_UNITS holds it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OperatingUnitInfo {
    pub org_id: String,
    pub name: String,
    /// The ledger (set of books) the operating unit posts to.
    pub ledger_id: Option<String>,
    pub short_code: Option<String>,
}

impl EbsClient {
    /// Reads one operating unit (`get_operating_unit`); an unknown org is a business error.
    pub async fn operating_unit(&self, org_id: &str) -> Result<OperatingUnitInfo, EbsError> {
        let path = "get_operating_unit";
        let out = self
            .custom(Module::Gl, path, json!({ "P_ORG_ID": org_id }), Retry::Safe)
            .await?;
        let name = str_of(&out, "X_NAME").ok_or_else(|| EbsError::Decode {
            path: path.into(),
            detail: format!("operating unit {org_id}: no X_NAME"),
        })?;
        Ok(OperatingUnitInfo {
            org_id: str_of(&out, "X_ORGANIZATION_ID").unwrap_or_else(|| org_id.to_string()),
            name,
            ledger_id: str_of(&out, "X_SET_OF_BOOKS_ID"),
            short_code: str_of(&out, "X_SHORT_CODE"),
        })
    }

    /// Reads one ledger (`get_ledger`); an unknown id is a business error.
    pub async fn ledger(&self, ledger_id: &str) -> Result<LedgerInfo, EbsError> {
        let path = "get_ledger";
        let out = self
            .custom(
                Module::Gl,
                path,
                json!({ "P_LEDGER_ID": ledger_id }),
                Retry::Safe,
            )
            .await?;
        let currency = str_of(&out, "X_CURRENCY_CODE").ok_or_else(|| EbsError::Decode {
            path: path.into(),
            detail: format!("ledger {ledger_id}: no X_CURRENCY_CODE"),
        })?;
        Ok(LedgerInfo {
            ledger_id: str_of(&out, "X_LEDGER_ID").unwrap_or_else(|| ledger_id.to_string()),
            name: str_of(&out, "X_NAME").unwrap_or_else(|| format!("ledger {ledger_id}")),
            currency: currency.to_ascii_uppercase(),
            short_name: str_of(&out, "X_SHORT_NAME"),
            chart_of_accounts_id: str_of(&out, "X_CHART_OF_ACCOUNTS_ID"),
            period_set_name: str_of(&out, "X_PERIOD_SET_NAME"),
        })
    }

    /// The daily rate `from → to` of a conversion type (user name, e.g. `Corporate`) on
    /// `date` (`get_daily_rate`); `None` when GL_DAILY_RATES has none. An unknown conversion
    /// type is a business error.
    pub async fn daily_rate(
        &self,
        from: &str,
        to: &str,
        conversion_type: &str,
        date: NaiveDate,
    ) -> Result<Option<Decimal>, EbsError> {
        let path = "get_daily_rate";
        let out = self
            .custom(
                Module::Gl,
                path,
                json!({
                    "P_FROM_CURRENCY": from,
                    "P_TO_CURRENCY": to,
                    "P_CONVERSION_TYPE": conversion_type,
                    "P_CONVERSION_DATE": date.to_string(),
                }),
                Retry::Safe,
            )
            .await?;
        if str_of(&out, "X_EXISTS").as_deref() != Some("Y") {
            return Ok(None);
        }
        dec_of(path, &out, "X_CONVERSION_RATE")
    }

    /// "Now" for this instance: the configured clock (tests), else the system clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.cfg.clock.map_or_else(Utc::now, |c| c())
    }

    /// Today in the ledger's time zone (`DATE_CREATED`): the date EBS users see.
    pub fn today(&self) -> NaiveDate {
        self.now().with_timezone(&self.cfg.time_zone).date_naive()
    }
}
