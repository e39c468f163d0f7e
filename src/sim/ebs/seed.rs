//! The simulated EBS world as configured data: users, responsibilities, ledgers, periods,
//! chart of accounts, AR/AP setup and items. Parsed from TOML (default `assets/ebs/seed.toml`).

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use serde::Deserialize;

/// The documented default seed, embedded at build time.
pub const DEFAULT_SEED: &str = include_str!("../../../assets/ebs/seed.toml");

#[derive(Debug, Clone, Deserialize)]
pub struct Seed {
    pub ebs_version: String,
    pub access_token_name: String,
    pub security_groups: Vec<String>,
    pub nls_languages: Vec<String>,
    pub currencies: Vec<String>,
    pub conversion_types: Vec<String>,
    pub aliases: Aliases,
    pub users: Vec<User>,
    pub responsibilities: Vec<Responsibility>,
    pub ledgers: Vec<Ledger>,
    pub access_sets: Vec<AccessSet>,
    pub operating_units: Vec<OperatingUnit>,
    pub periods: PeriodSpec,
    pub je_sources: Vec<JeSource>,
    pub gl: GlSetup,
    #[serde(default)]
    pub daily_rates: Vec<DailyRate>,
    pub chart: Chart,
    pub accounts: Vec<AccountSeed>,
    pub ar: ArSetup,
    /// AR receipt methods with their remittance bank account (`receipts.rs`).
    #[serde(default)]
    pub receipt_methods: Vec<super::receipts::ReceiptMethod>,
    pub ap: ApSetup,
    #[serde(default)]
    pub items: Vec<Item>,
    #[serde(default)]
    pub world_events: Vec<WorldEvent>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Aliases {
    pub gl: String,
    pub ar: String,
    pub ap: String,
    pub custom: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct User {
    pub user_name: String,
    pub password: String,
    pub user_id: i64,
    pub responsibilities: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Responsibility {
    pub key: String,
    pub application: String,
    pub responsibility_id: i64,
    /// Alias keys (`gl`, `ar`, `ap`, `custom`) this responsibility is granted.
    pub grants: Vec<String>,
    #[serde(default)]
    pub access_set_ids: Vec<i64>,
    #[serde(default)]
    pub org_ids: Vec<i64>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Ledger {
    pub ledger_id: i64,
    pub name: String,
    pub currency: String,
    pub calendar: String,
    #[serde(default)]
    pub suspense_allowed: bool,
    pub suspense_account: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AccessSet {
    pub access_set_id: i64,
    pub name: String,
    pub ledger_ids: Vec<i64>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct OperatingUnit {
    pub org_id: i64,
    pub name: String,
    pub ledger_id: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PeriodSpec {
    pub first: String,
    pub last: String,
    #[serde(default)]
    pub statuses: Vec<PeriodStatusRange>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PeriodStatusRange {
    pub from: String,
    pub to: String,
    pub status: String,
    pub ledger_id: Option<i64>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct JeSource {
    pub name: String,
    pub user_name: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct GlSetup {
    pub categories: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DailyRate {
    pub from_currency: String,
    pub to_currency: String,
    pub rate: Decimal,
    pub from_date: NaiveDate,
    pub to_date: NaiveDate,
    /// Conversion types the rate applies to (default Corporate and Spot).
    #[serde(default)]
    pub types: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Chart {
    pub chart_of_accounts_id: i64,
    pub delimiter: String,
    pub segments: Vec<String>,
    #[serde(default)]
    pub dynamic_insertion: bool,
    #[serde(default)]
    pub segment_values: Vec<Vec<String>>,
    #[serde(default)]
    pub cross_validation_rules: Vec<CrossValidationRule>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CrossValidationRule {
    pub name: String,
    pub message: String,
    pub segment_index_a: usize,
    pub value_a: String,
    pub segment_index_b: usize,
    pub value_b: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AccountSeed {
    pub combination: String,
    #[serde(default)]
    pub description: String,
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default = "yes")]
    pub detail_posting: bool,
    pub start_date: Option<NaiveDate>,
    pub end_date: Option<NaiveDate>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize)]
pub struct ArSetup {
    pub terms: Vec<String>,
    pub flexfield_contexts: Vec<String>,
    pub customers: Vec<Customer>,
    pub trx_types: Vec<TrxType>,
    pub batch_sources: Vec<BatchSource>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Customer {
    pub account_number: String,
    pub name: String,
    pub org_id: i64,
    pub bill_to_address_ref: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TrxType {
    pub name: String,
    /// `INV` or `CM`.
    pub class: String,
    pub org_ids: Vec<i64>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct BatchSource {
    pub name: String,
    pub batch_source_id: i64,
    pub org_id: i64,
    /// `IMPORTED` or `MANUAL`.
    pub source_type: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ApSetup {
    pub sources: Vec<String>,
    pub suppliers: Vec<Supplier>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Supplier {
    pub vendor_name: String,
    pub vendor_num: String,
    pub vendor_id: i64,
    pub sites: Vec<SupplierSite>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SupplierSite {
    pub vendor_site_code: String,
    pub vendor_site_id: i64,
    pub org_id: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Item {
    pub inventory_item_id: i64,
    pub organization_id: i64,
    pub segment1: String,
    pub description: String,
    pub primary_uom_code: String,
    pub status: String,
    pub price_list: String,
    pub list_price: Decimal,
    pub currency: String,
    pub available_quantity: Decimal,
    pub last_update_date: chrono::NaiveDateTime,
}

/// A scripted change to the world, fired on a trigger.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
pub struct WorldEvent {
    /// `journal_import_start` or `time`.
    pub on: String,
    /// For `journal_import_start`: the user JE source name that triggers it.
    pub source: Option<String>,
    /// For `time`: simulated instant.
    pub at: Option<chrono::DateTime<chrono::Utc>>,
    /// `end_date_account`, `disable_account`, `close_period`, `open_period`.
    pub action: String,
    pub account: Option<String>,
    pub end_date: Option<NaiveDate>,
    pub ledger_id: Option<i64>,
    pub period: Option<String>,
}

/// Seed problems found when loading (file + what is wrong).
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("EBS seed is not valid TOML for the seed schema: {0}")]
    Parse(#[from] toml::de::Error),
    #[error("EBS seed: {0}")]
    Invalid(String),
}

impl Seed {
    pub fn default_seed() -> Seed {
        Seed::parse(DEFAULT_SEED).expect("embedded default seed parses")
    }

    pub fn parse(text: &str) -> Result<Seed, SeedError> {
        let seed: Seed = toml::from_str(text)?;
        seed.check()?;
        Ok(seed)
    }

    fn check(&self) -> Result<(), SeedError> {
        for u in &self.users {
            for r in &u.responsibilities {
                if !self.responsibilities.iter().any(|x| &x.key == r) {
                    return Err(SeedError::Invalid(format!(
                        "user {} has unknown responsibility {r}",
                        u.user_name
                    )));
                }
            }
        }
        for e in &self.world_events {
            match e.on.as_str() {
                "journal_import_start" if e.source.is_some() => {}
                "time" if e.at.is_some() => {}
                _ => {
                    return Err(SeedError::Invalid(format!(
                        "world event on={} needs `source` (journal_import_start) or `at` (time)",
                        e.on
                    )));
                }
            }
        }
        period_from_ym(&self.periods.first)
            .and(period_from_ym(&self.periods.last))
            .ok_or_else(|| SeedError::Invalid("periods.first/last must be YYYY-MM".into()))?;
        Ok(())
    }

    /// All monthly periods with their initial status for one ledger.
    pub fn periods_for(&self, ledger_id: i64) -> Vec<Period> {
        let (Some(first), Some(last)) = (
            period_from_ym(&self.periods.first),
            period_from_ym(&self.periods.last),
        ) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let mut cur = first;
        while cur <= last {
            let ym = format!("{:04}-{:02}", cur.year(), cur.month());
            let mut status = "N".to_string();
            for r in &self.periods.statuses {
                if r.ledger_id.is_some_and(|l| l != ledger_id) {
                    continue;
                }
                if ym.as_str() >= r.from.as_str() && ym.as_str() <= r.to.as_str() {
                    status = r.status.clone();
                }
            }
            let next = next_month(cur);
            out.push(Period {
                name: period_name(cur),
                start: cur,
                end: next.pred_opt().unwrap_or(cur),
                year: cur.year(),
                num: cur.month(),
                status,
            });
            cur = next;
        }
        out
    }
}

/// A GL period of one ledger.
#[derive(Debug, Clone)]
pub struct Period {
    pub name: String,
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub year: i32,
    pub num: u32,
    pub status: String,
}

fn period_from_ym(s: &str) -> Option<NaiveDate> {
    let (y, m) = s.split_once('-')?;
    NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, 1)
}

fn next_month(d: NaiveDate) -> NaiveDate {
    if d.month() == 12 {
        NaiveDate::from_ymd_opt(d.year() + 1, 1, 1).unwrap_or(d)
    } else {
        NaiveDate::from_ymd_opt(d.year(), d.month() + 1, 1).unwrap_or(d)
    }
}

/// `OCT-26` style name.
pub fn period_name(d: NaiveDate) -> String {
    const M: [&str; 12] = [
        "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
    ];
    format!("{}-{:02}", M[d.month0() as usize], d.year() % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_seed_parses_and_periods_are_sensible() {
        let s = Seed::default_seed();
        let p = s.periods_for(1);
        assert_eq!(p.len(), 36);
        let oct25 = p.iter().find(|x| x.name == "OCT-25").unwrap();
        assert_eq!(oct25.status, "C");
        let oct26 = p.iter().find(|x| x.name == "OCT-26").unwrap();
        assert_eq!(oct26.status, "O");
        assert_eq!(oct26.end, NaiveDate::from_ymd_opt(2026, 10, 31).unwrap());
        assert_eq!(p.iter().find(|x| x.name == "FEB-27").unwrap().status, "F");
        assert_eq!(s.accounts.len(), 26);
    }

    #[test]
    fn bad_seeds_are_explained() {
        let bad_event =
            format!("{DEFAULT_SEED}\n[[world_events]]\non = \"time\"\naction = \"close_period\"\n");
        let e = Seed::parse(&bad_event).unwrap_err().to_string();
        assert!(e.contains("world event"), "{e}");
        let bad_user = DEFAULT_SEED.replace(
            "responsibilities = [\"GENERAL_LEDGER_SUPER_USER\"]",
            "responsibilities = [\"NOPE\"]",
        );
        let e = Seed::parse(&bad_user).unwrap_err().to_string();
        assert!(e.contains("unknown responsibility NOPE"), "{e}");
        assert!(Seed::parse("ebs_version = 1").is_err());
    }
}
