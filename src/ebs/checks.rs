//! Pre-staging checks: every account combination a batch uses is read from EBS (exists,
//! enabled, detail-postable, active at the accounting date) and the period must be open.
//!
//! Reads are cached for a short time for the screens (accounts change rarely, but they do
//! change); the pre-staging check reads every account fresh, and a rejection naming an
//! account forgets its cached answer.

use crate::ebs::EbsClient;
use crate::ebs::context::Module;
use crate::ebs::error::EbsError;
use crate::ebs::gl::GlBatch;
use crate::ebs::transport::Retry;
use crate::ebs::wire::{date_of, list, str_of};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde_json::json;
use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// An account combination as EBS holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountInfo {
    pub account: String,
    pub exists: bool,
    pub ccid: Option<String>,
    pub enabled: bool,
    pub detail_posting: bool,
    pub start: Option<NaiveDate>,
    pub end: Option<NaiveDate>,
    pub message: Option<String>,
}

impl AccountInfo {
    /// Why this account cannot take a line dated `date`, if it cannot.
    pub fn problem_at(&self, date: NaiveDate) -> Option<AccountProblem> {
        if !self.exists {
            return Some(AccountProblem::NotFound);
        }
        if !self.enabled {
            return Some(AccountProblem::Disabled);
        }
        if !self.detail_posting {
            return Some(AccountProblem::NotDetailPostable);
        }
        if let Some(s) = self.start
            && date < s
        {
            return Some(AccountProblem::NotYetActive(s));
        }
        if let Some(e) = self.end
            && date > e
        {
            return Some(AccountProblem::EndDated(e));
        }
        None
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountProblem {
    NotFound,
    Disabled,
    NotDetailPostable,
    NotYetActive(NaiveDate),
    EndDated(NaiveDate),
}

impl AccountProblem {
    /// The Journal Import code the same problem would get (reference §2.5).
    pub fn ebs_code(&self) -> &'static str {
        match self {
            AccountProblem::NotFound => "EF04",
            AccountProblem::Disabled => "EF03",
            AccountProblem::NotDetailPostable => "EF02",
            AccountProblem::NotYetActive(_) | AccountProblem::EndDated(_) => "EF01",
        }
    }
}

impl fmt::Display for AccountProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AccountProblem::NotFound => {
                f.write_str("does not exist in EBS (or fails cross-validation)")
            }
            AccountProblem::Disabled => f.write_str("is disabled"),
            AccountProblem::NotDetailPostable => {
                f.write_str("does not allow detail posting (parent account)")
            }
            AccountProblem::NotYetActive(d) => write!(f, "is not active before {d}"),
            AccountProblem::EndDated(d) => write!(f, "was end-dated on {d}"),
        }
    }
}

/// Why a batch cannot be staged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckReason {
    Account(AccountProblem),
    PeriodNotOpen {
        date: NaiveDate,
    },
    PeriodMismatch {
        expected: String,
        actual: String,
    },
    Unbalanced {
        entered: (Decimal, Decimal),
        accounted: (Decimal, Decimal),
    },
    BadLine(String),
}

/// One failing check: which line (1-based), which account, why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckFailure {
    pub line: Option<usize>,
    pub account: Option<String>,
    pub reason: CheckReason,
}

impl CheckFailure {
    /// The EBS code the import would have given.
    pub fn ebs_code(&self) -> &'static str {
        match &self.reason {
            CheckReason::Account(p) => p.ebs_code(),
            CheckReason::PeriodNotOpen { .. } | CheckReason::PeriodMismatch { .. } => "EP01",
            CheckReason::Unbalanced { .. } => "EU02",
            CheckReason::BadLine(_) => "LINE",
        }
    }
}

impl fmt::Display for CheckFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(l) = self.line {
            write!(f, "line {l}: ")?;
        }
        match &self.reason {
            CheckReason::Account(p) => write!(
                f,
                "account {} {p} [{}]",
                self.account.as_deref().unwrap_or("?"),
                p.ebs_code()
            ),
            CheckReason::PeriodNotOpen { date } => write!(
                f,
                "accounting date {date} is not in an open or future-enterable period [EP01]: open the period in EBS or roll the lines into the next open period"
            ),
            CheckReason::PeriodMismatch { expected, actual } => write!(
                f,
                "accounting date falls in EBS period {actual}, the batch says {expected} [EP01]"
            ),
            CheckReason::Unbalanced { entered, accounted } => write!(
                f,
                "journal does not balance: entered Dr {} Cr {}, accounted Dr {} Cr {} [EU02]",
                entered.0, entered.1, accounted.0, accounted.1
            ),
            CheckReason::BadLine(s) => f.write_str(s),
        }
    }
}

/// An open or future-enterable period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenPeriod {
    pub name: String,
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub status: String,
}

type AccountKey = (String, String);

/// Short-lived cache of account and period reads.
pub struct CheckCache {
    ttl: Duration,
    accounts: Mutex<HashMap<AccountKey, (Instant, AccountInfo)>>,
    periods: Mutex<HashMap<String, (Instant, Vec<OpenPeriod>)>>,
}

impl CheckCache {
    pub fn new(ttl: Duration) -> Self {
        CheckCache {
            ttl,
            accounts: Mutex::new(HashMap::new()),
            periods: Mutex::new(HashMap::new()),
        }
    }
}

impl EbsClient {
    /// Reads one account combination (`get_account`), through the cache.
    pub async fn account(&self, ledger_id: &str, account: &str) -> Result<AccountInfo, EbsError> {
        Ok(self.account_with_age(ledger_id, account).await?.0)
    }

    /// Like [`Self::account`], with how old the answer is (zero when just read).
    pub async fn account_with_age(
        &self,
        ledger_id: &str,
        account: &str,
    ) -> Result<(AccountInfo, Duration), EbsError> {
        let key = (ledger_id.to_string(), account.to_string());
        {
            let cache = self.cache.accounts.lock().await;
            if let Some((at, info)) = cache.get(&key)
                && at.elapsed() < self.cache.ttl
            {
                return Ok((info.clone(), at.elapsed()));
            }
        }
        Ok((
            self.account_fresh(ledger_id, account).await?,
            Duration::ZERO,
        ))
    }

    /// Reads one account combination from EBS now (the cache is refreshed with the answer).
    /// The pre-staging checks use this: an account can be end-dated between two batches.
    pub async fn account_fresh(
        &self,
        ledger_id: &str,
        account: &str,
    ) -> Result<AccountInfo, EbsError> {
        let key = (ledger_id.to_string(), account.to_string());
        let out = self
            .custom(
                Module::Gl,
                "get_account",
                json!({ "P_LEDGER_ID": ledger_id, "P_CONCATENATED_SEGMENTS": account }),
                Retry::Safe,
            )
            .await?;
        let flag = |k: &str| str_of(&out, k).as_deref() == Some("Y");
        let info = AccountInfo {
            account: account.to_string(),
            exists: flag("X_EXISTS"),
            ccid: str_of(&out, "X_CODE_COMBINATION_ID"),
            enabled: flag("X_ENABLED_FLAG"),
            detail_posting: flag("X_DETAIL_POSTING_ALLOWED_FLAG"),
            start: date_of(&out, "X_START_DATE_ACTIVE"),
            end: date_of(&out, "X_END_DATE_ACTIVE"),
            message: str_of(&out, "X_VALIDATION_MESSAGE"),
        };
        self.cache
            .accounts
            .lock()
            .await
            .insert(key, (Instant::now(), info.clone()));
        Ok(info)
    }

    /// Open / future-enterable GL periods of a ledger (`get_open_periods`), through the cache.
    pub async fn open_periods(&self, ledger_id: &str) -> Result<Vec<OpenPeriod>, EbsError> {
        {
            let cache = self.cache.periods.lock().await;
            if let Some((at, p)) = cache.get(ledger_id)
                && at.elapsed() < self.cache.ttl
            {
                return Ok(p.clone());
            }
        }
        let out = self
            .custom(
                Module::Gl,
                "get_open_periods",
                json!({ "P_LEDGER_ID": ledger_id, "P_APPLICATION": "SQLGL" }),
                Retry::Safe,
            )
            .await?;
        let periods: Vec<OpenPeriod> = list(&out, "X_PERIODS")
            .iter()
            .filter_map(|m| {
                Some(OpenPeriod {
                    name: str_of(m, "PERIOD_NAME")?,
                    start: date_of(m, "START_DATE")?,
                    end: date_of(m, "END_DATE")?,
                    status: str_of(m, "CLOSING_STATUS").unwrap_or_default(),
                })
            })
            .filter(|p| p.status == "O" || p.status == "F")
            .collect();
        self.cache
            .periods
            .lock()
            .await
            .insert(ledger_id.to_string(), (Instant::now(), periods.clone()));
        Ok(periods)
    }

    /// Forgets the cached reads of these accounts (a rejection named them).
    pub async fn forget_accounts<'a>(
        &self,
        ledger_id: &str,
        accounts: impl IntoIterator<Item = &'a str>,
    ) {
        let mut cache = self.cache.accounts.lock().await;
        for a in accounts {
            cache.remove(&(ledger_id.to_string(), a.to_string()));
        }
    }

    /// Forgets cached account and period reads (e.g. after a rejection).
    pub async fn clear_check_cache(&self) {
        self.cache.accounts.lock().await.clear();
        self.cache.periods.lock().await.clear();
    }

    /// Runs every pre-staging check of a batch; all failures at once.
    pub async fn check_gl_batch(&self, batch: &GlBatch) -> Result<Vec<CheckFailure>, EbsError> {
        let mut failures = batch.shape_failures();
        let periods = self.open_periods(&batch.ledger_id).await?;
        match periods
            .iter()
            .find(|p| p.start <= batch.accounting_date && batch.accounting_date <= p.end)
        {
            None => failures.push(CheckFailure {
                line: None,
                account: None,
                reason: CheckReason::PeriodNotOpen {
                    date: batch.accounting_date,
                },
            }),
            Some(p) if !p.name.eq_ignore_ascii_case(&batch.period_name) => {
                failures.push(CheckFailure {
                    line: None,
                    account: None,
                    reason: CheckReason::PeriodMismatch {
                        expected: batch.period_name.clone(),
                        actual: p.name.clone(),
                    },
                })
            }
            Some(_) => {}
        }
        let accounts: BTreeSet<&str> = batch.lines.iter().map(|l| l.account.as_str()).collect();
        // Fresh answers: what EBS says now, at this batch's accounting date.
        let infos = futures::future::join_all(
            accounts
                .iter()
                .map(|a| self.account_fresh(&batch.ledger_id, a)),
        )
        .await;
        let mut by_account = HashMap::new();
        for info in infos {
            let info = info?;
            by_account.insert(info.account.clone(), info);
        }
        for (i, line) in batch.lines.iter().enumerate() {
            if let Some(p) = by_account
                .get(&line.account)
                .and_then(|info| info.problem_at(batch.accounting_date))
            {
                failures.push(CheckFailure {
                    line: Some(i + 1),
                    account: Some(line.account.clone()),
                    reason: CheckReason::Account(p),
                });
            }
        }
        Ok(failures)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("date")
    }

    #[test]
    fn account_problems_in_priority_order() {
        let ok = AccountInfo {
            account: "01-000-1190-0000-000".into(),
            exists: true,
            ccid: Some("1".into()),
            enabled: true,
            detail_posting: true,
            start: Some(d(2020, 1, 1)),
            end: Some(d(2026, 6, 30)),
            message: None,
        };
        assert_eq!(ok.problem_at(d(2026, 6, 30)), None);
        assert_eq!(
            ok.problem_at(d(2026, 7, 1)),
            Some(AccountProblem::EndDated(d(2026, 6, 30)))
        );
        assert_eq!(
            ok.problem_at(d(2019, 12, 31)).map(|p| p.ebs_code()),
            Some("EF01")
        );
        let parent = AccountInfo {
            detail_posting: false,
            ..ok.clone()
        };
        assert_eq!(
            parent.problem_at(d(2026, 1, 1)),
            Some(AccountProblem::NotDetailPostable)
        );
        let disabled = AccountInfo {
            enabled: false,
            ..parent.clone()
        };
        assert_eq!(
            disabled.problem_at(d(2026, 1, 1)).map(|p| p.ebs_code()),
            Some("EF03")
        );
        let missing = AccountInfo {
            exists: false,
            ..disabled
        };
        assert_eq!(
            missing.problem_at(d(2026, 1, 1)),
            Some(AccountProblem::NotFound)
        );
    }

    #[test]
    fn failure_says_line_account_and_why() {
        let f = CheckFailure {
            line: Some(3),
            account: Some("01-000-6199-0000-000".into()),
            reason: CheckReason::Account(AccountProblem::Disabled),
        };
        assert_eq!(
            f.to_string(),
            "line 3: account 01-000-6199-0000-000 is disabled [EF03]"
        );
    }
}
