//! Mutable state of the simulated instance: sessions, accounts, periods, interface tables,
//! created documents, concurrent requests, sequences, the simulated clock.

use super::journals::Journals;
use super::seed::{Period, Seed};
use super::table::Table;
use super::wire::{parse_date, parse_datetime};
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::str::FromStr;
use std::time::Instant;

pub type Row = Map<String, Value>;

#[derive(Debug, Clone)]
pub struct Account {
    pub ccid: i64,
    pub segments: Vec<String>,
    pub concatenated: String,
    pub enabled: bool,
    pub detail_posting: bool,
    pub start_date: Option<NaiveDate>,
    pub end_date: Option<NaiveDate>,
    pub description: String,
}

#[derive(Debug, Clone)]
pub struct Session {
    pub user_name: String,
    pub created: DateTime<Utc>,
    pub last_used: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct Control {
    pub run_id: i64,
    pub group_id: Option<i64>,
    pub source_user: String,
    pub ledger_id: Option<i64>,
    pub save_data: bool,
}

#[derive(Debug, Clone)]
pub struct JeLine {
    pub line_num: i64,
    pub ccid: i64,
    pub account: String,
    pub entered_dr: Option<Decimal>,
    pub entered_cr: Option<Decimal>,
    pub accounted_dr: Option<Decimal>,
    pub accounted_cr: Option<Decimal>,
    pub description: Option<String>,
    pub references: Vec<Option<String>>,
}

#[derive(Debug, Clone)]
pub struct JeHeader {
    pub je_header_id: i64,
    pub je_batch_id: i64,
    pub batch_name: String,
    pub name: String,
    pub ledger_id: i64,
    pub period_name: String,
    pub currency: String,
    pub source_user: String,
    pub category_user: String,
    pub status: String,
    pub group_id: Option<i64>,
    pub request_id: i64,
    pub external_reference: Option<String>,
    pub lines: Vec<JeLine>,
}

#[derive(Debug, Clone)]
pub struct TrxLine {
    pub customer_trx_line_id: i64,
    pub line_number: i64,
    pub line_type: String,
    pub description: Option<String>,
    pub quantity: Option<Decimal>,
    pub unit_selling_price: Option<Decimal>,
    pub amount: Decimal,
    pub context: String,
    pub attributes: Vec<Option<String>>,
}

#[derive(Debug, Clone)]
pub struct Trx {
    pub customer_trx_id: i64,
    pub trx_number: String,
    pub trx_date: NaiveDate,
    pub gl_date: NaiveDate,
    pub trx_type: String,
    pub class: String,
    pub bill_to: String,
    pub currency: String,
    pub org_id: i64,
    pub request_id: i64,
    pub batch_source: String,
    pub term: Option<String>,
    pub lines: Vec<TrxLine>,
}

#[derive(Debug, Clone)]
pub struct ApInvoice {
    pub invoice_id: i64,
    pub invoice_num: String,
    pub vendor_id: i64,
    pub vendor_site_id: i64,
    pub amount: Decimal,
    pub currency: String,
    pub org_id: i64,
    pub gl_date: NaiveDate,
    pub source: String,
    pub request_id: i64,
    pub line_count: usize,
}

#[derive(Debug, Clone)]
pub struct Request {
    pub request_id: i64,
    pub parent: Option<i64>,
    pub program: String,
    pub application: String,
    pub args: Vec<Option<String>>,
    /// Extra named inputs (GLLEZL `GROUP_ID` / `USER_JE_SOURCE_NAME` / `LEDGER_ID`).
    pub extra: BTreeMap<String, String>,
    pub phase: char,
    pub status: char,
    pub requested_by: i64,
    pub responsibility: String,
    pub request_date: DateTime<Utc>,
    pub actual_start: Option<DateTime<Utc>>,
    pub actual_completion: Option<DateTime<Utc>>,
    pub completion_text: String,
    pub forced_error: bool,
}

impl Request {
    pub fn arg(&self, n: usize) -> Option<&str> {
        self.args.get(n - 1).and_then(|a| a.as_deref())
    }
}

/// Simulated clock: real time since start plus test-controlled advances.
#[derive(Debug)]
pub struct SimClock {
    start_real: Instant,
    start_sim: DateTime<Utc>,
    offset: chrono::Duration,
}

impl SimClock {
    pub fn new(start: DateTime<Utc>) -> SimClock {
        SimClock {
            start_real: Instant::now(),
            start_sim: start,
            offset: chrono::Duration::zero(),
        }
    }
    pub fn now(&self) -> DateTime<Utc> {
        let real = chrono::Duration::from_std(self.start_real.elapsed()).unwrap_or_default();
        self.start_sim + real + self.offset
    }
    pub fn advance(&mut self, d: chrono::Duration) {
        self.offset += d;
    }
}

/// GL_INTERFACE columns reads, deletes and Journal Import look rows up by.
pub const GL_INTERFACE_INDEXED: &[&str] = &["GROUP_ID", "REFERENCE21"];

pub struct World {
    pub seed: Seed,
    pub clock: SimClock,
    pub sessions: HashMap<String, Session>,
    pub accounts: Vec<Account>,
    pub periods: HashMap<i64, Vec<Period>>,
    pub gl_interface: Table,
    /// GL_INTERFACE_CONTROL rows by interface run id (ids grow, so this is creation order).
    pub controls: BTreeMap<i64, Control>,
    pub journals: Journals,
    pub ra_lines: Vec<Row>,
    pub ra_dists: Vec<Row>,
    pub ra_errors: Vec<Row>,
    pub trxs: Vec<Trx>,
    pub ap_headers: Vec<Row>,
    pub ap_lines: Vec<Row>,
    pub ap_rejections: Vec<Row>,
    pub invoices: Vec<ApInvoice>,
    pub requests: BTreeMap<i64, Request>,
    /// Ids of the requests not Completed: the only ones a scheduler pass can move.
    pub unfinished: BTreeSet<i64>,
    /// Child request ids per parent, ascending.
    pub children: HashMap<i64, Vec<i64>>,
    /// Positions in `trxs` per creating request.
    pub trxs_by_request: HashMap<i64, Vec<usize>>,
    /// Line ids and flexfield line keys of every created transaction line.
    pub trx_line_ids: HashSet<i64>,
    pub trx_line_keys: HashSet<String>,
    pub fired_events: Vec<bool>,
    /// Cash receipts and applications (`receipts.rs`).
    pub receipts: super::receipts::Receipts,
    seqs: HashMap<&'static str, i64>,
}

impl World {
    pub fn new(seed: Seed, start: DateTime<Utc>) -> World {
        let mut accounts = Vec::new();
        for (i, a) in seed.accounts.iter().enumerate() {
            let segments: Vec<String> = a
                .combination
                .split(seed.chart.delimiter.as_str())
                .map(str::to_string)
                .collect();
            accounts.push(Account {
                ccid: 12000 + i as i64,
                concatenated: segments.join("-"),
                segments,
                enabled: a.enabled,
                detail_posting: a.detail_posting,
                start_date: a.start_date,
                end_date: a.end_date,
                description: a.description.clone(),
            });
        }
        let periods = seed
            .ledgers
            .iter()
            .map(|l| (l.ledger_id, seed.periods_for(l.ledger_id)))
            .collect();
        let fired_events = vec![false; seed.world_events.len()];
        let seqs = HashMap::from([
            ("GL_INTERFACE_CONTROL_S", 5000),
            ("GL_JOURNAL_IMPORT_S", 900000),
            ("FND_CONCURRENT_REQUESTS_S", 7000000),
            ("GL_JE_BATCHES_S", 30000),
            ("GL_JE_HEADERS_S", 40000),
            ("RA_CUSTOMER_TRX_LINES_S", 800000),
            ("RA_CUSTOMER_TRX_S", 600000),
            ("RA_TRX_NUMBER_S", 10000),
            ("RA_INTERFACE_DISTRIBUTIONS_S", 300000),
            ("AP_INVOICES_INTERFACE_S", 50000),
            ("AP_INVOICE_LINES_INTERFACE_S", 60000),
            ("AP_INVOICES_S", 90000),
            ("GL_CODE_COMBINATIONS_S", 13000),
        ]);
        World {
            seed,
            clock: SimClock::new(start),
            sessions: HashMap::new(),
            accounts,
            periods,
            gl_interface: Table::new(GL_INTERFACE_INDEXED),
            controls: BTreeMap::new(),
            journals: Journals::default(),
            ra_lines: Vec::new(),
            ra_dists: Vec::new(),
            ra_errors: Vec::new(),
            trxs: Vec::new(),
            ap_headers: Vec::new(),
            ap_lines: Vec::new(),
            ap_rejections: Vec::new(),
            invoices: Vec::new(),
            requests: BTreeMap::new(),
            unfinished: BTreeSet::new(),
            children: HashMap::new(),
            trxs_by_request: HashMap::new(),
            trx_line_ids: HashSet::new(),
            trx_line_keys: HashSet::new(),
            fired_events,
            receipts: Default::default(),
            seqs,
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    pub fn nextval(&mut self, seq: &'static str) -> i64 {
        let v = self.seqs.entry(seq).or_insert(1000);
        *v += 1;
        *v
    }

    pub fn period(&self, ledger_id: i64, date: NaiveDate) -> Option<&Period> {
        self.periods
            .get(&ledger_id)?
            .iter()
            .find(|p| p.start <= date && date <= p.end)
    }

    /// Period open or future-enterable for `date`.
    pub fn open_period(&self, ledger_id: i64, date: NaiveDate) -> Option<&Period> {
        self.period(ledger_id, date)
            .filter(|p| p.status == "O" || p.status == "F")
    }

    pub fn account_by_concat(&self, concat: &str) -> Option<&Account> {
        self.accounts.iter().find(|a| a.concatenated == concat)
    }

    pub fn account_by_ccid(&self, ccid: i64) -> Option<&Account> {
        self.accounts.iter().find(|a| a.ccid == ccid)
    }

    /// Segment values valid and cross-validation passed (for dynamic insertion and reports).
    pub fn segments_valid(&self, segs: &[String]) -> Result<(), String> {
        let chart = &self.seed.chart;
        if segs.len() != chart.segments.len() {
            return Err(format!(
                "expected {} segments, got {}",
                chart.segments.len(),
                segs.len()
            ));
        }
        for (i, v) in segs.iter().enumerate() {
            if let Some(vals) = chart.segment_values.get(i)
                && !vals.iter().any(|x| x == v)
            {
                return Err(format!(
                    "value {v} of segment {} is not valid",
                    chart.segments[i]
                ));
            }
        }
        for r in &chart.cross_validation_rules {
            if segs.get(r.segment_index_a) == Some(&r.value_a)
                && segs.get(r.segment_index_b) == Some(&r.value_b)
            {
                return Err(format!("cross-validation rule {}: {}", r.name, r.message));
            }
        }
        Ok(())
    }

    /// Finds an account by segments, creating it when dynamic insertion allows.
    pub fn resolve_segments(&mut self, segs: &[String]) -> Result<i64, String> {
        let concat = segs.join("-");
        if let Some(a) = self.account_by_concat(&concat) {
            return Ok(a.ccid);
        }
        if !self.seed.chart.dynamic_insertion {
            return Err(format!(
                "combination {concat} does not exist and dynamic insertion is off"
            ));
        }
        self.segments_valid(segs)?;
        let ccid = self.nextval("GL_CODE_COMBINATIONS_S");
        self.accounts.push(Account {
            ccid,
            segments: segs.to_vec(),
            concatenated: concat,
            enabled: true,
            detail_posting: true,
            start_date: None,
            end_date: None,
            description: "dynamically inserted".into(),
        });
        Ok(ccid)
    }

    /// Usability of an account on a date: Ok or the GL code (EF01/EF02/EF03).
    pub fn account_usable(&self, a: &Account, date: NaiveDate) -> Result<(), &'static str> {
        if !a.enabled {
            return Err("EF03");
        }
        if a.start_date.is_some_and(|s| date < s) || a.end_date.is_some_and(|e| date > e) {
            return Err("EF01");
        }
        if !a.detail_posting {
            return Err("EF02");
        }
        Ok(())
    }

    pub fn ledger(&self, id: i64) -> Option<&super::seed::Ledger> {
        self.seed.ledgers.iter().find(|l| l.ledger_id == id)
    }

    pub fn ou(&self, org: i64) -> Option<&super::seed::OperatingUnit> {
        self.seed.operating_units.iter().find(|o| o.org_id == org)
    }

    pub fn currency_enabled(&self, c: &str) -> bool {
        self.seed.currencies.iter().any(|x| x == c)
    }

    pub fn conversion_type_known(&self, t: &str) -> bool {
        self.seed
            .conversion_types
            .iter()
            .any(|x| x.eq_ignore_ascii_case(t))
    }

    /// Daily rate for (from, to, type, date); a later entry wins for the days it covers.
    pub fn daily_rate(
        &self,
        from: &str,
        to: &str,
        ctype: &str,
        date: NaiveDate,
    ) -> Option<Decimal> {
        if from == to {
            return Some(Decimal::ONE);
        }
        self.seed
            .daily_rates
            .iter()
            .rev()
            .find(|r| {
                r.from_currency == from
                    && r.to_currency == to
                    && r.from_date <= date
                    && date <= r.to_date
                    && (if r.types.is_empty() {
                        ctype.eq_ignore_ascii_case("Corporate")
                            || ctype.eq_ignore_ascii_case("Spot")
                    } else {
                        r.types.iter().any(|t| t.eq_ignore_ascii_case(ctype))
                    })
            })
            .map(|r| r.rate)
    }

    pub fn set_period_status(&mut self, ledger_id: i64, name: &str, status: &str) -> bool {
        if let Some(ps) = self.periods.get_mut(&ledger_id)
            && let Some(p) = ps.iter_mut().find(|p| p.name == name)
        {
            p.status = status.to_string();
            return true;
        }
        false
    }
}

/// Column helpers on interface rows (all values stored as strings).
pub fn col<'a>(r: &'a Row, name: &str) -> Option<&'a str> {
    r.get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

pub fn col_i64(r: &Row, name: &str) -> Option<i64> {
    col(r, name).and_then(|s| s.trim().parse().ok())
}

pub fn col_dec(r: &Row, name: &str) -> Option<Decimal> {
    col(r, name).and_then(|s| Decimal::from_str(s.trim()).ok())
}

pub fn col_date(r: &Row, name: &str) -> Option<NaiveDate> {
    col(r, name).and_then(parse_date)
}

pub fn set(r: &mut Row, name: &str, v: impl ToString) {
    r.insert(name.to_string(), Value::String(v.to_string()));
}

/// Column types of an interface table.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ColType {
    Text,
    Number,
    Date,
}

pub struct TableSpec {
    pub name: &'static str,
    pub columns: HashMap<String, ColType>,
    pub not_null: &'static [&'static str],
}

fn push_range(v: &mut Vec<(String, ColType)>, prefix: &str, from: usize, to: usize, t: ColType) {
    for i in from..=to {
        v.push((format!("{prefix}{i}"), t));
    }
}

fn cols(text: &[&str], num: &[&str], date: &[&str]) -> Vec<(String, ColType)> {
    let mut v: Vec<(String, ColType)> = Vec::new();
    v.extend(text.iter().map(|c| (c.to_string(), ColType::Text)));
    v.extend(num.iter().map(|c| (c.to_string(), ColType::Number)));
    v.extend(date.iter().map(|c| (c.to_string(), ColType::Date)));
    v
}

const WHO_NUM: [&str; 3] = ["CREATED_BY", "LAST_UPDATED_BY", "LAST_UPDATE_LOGIN"];
const WHO_DATE: [&str; 2] = ["CREATION_DATE", "LAST_UPDATE_DATE"];

pub fn table_spec(name: &str) -> Option<TableSpec> {
    use ColType::*;
    let upper = name.to_ascii_uppercase();
    let spec = match upper.as_str() {
        "GL_INTERFACE" => {
            let mut c = cols(
                &[
                    "STATUS",
                    "CURRENCY_CODE",
                    "ACTUAL_FLAG",
                    "USER_JE_CATEGORY_NAME",
                    "USER_JE_SOURCE_NAME",
                    "USER_CURRENCY_CONVERSION_TYPE",
                    "PERIOD_NAME",
                    "FUNCTIONAL_CURRENCY_CODE",
                    "WARNING_CODE",
                    "STATUS_DESCRIPTION",
                    "CONTEXT",
                    "CONTEXT2",
                    "CONTEXT3",
                    "TAX_CODE",
                    "INVOICE_IDENTIFIER",
                    "USSGL_TRANSACTION_CODE",
                    "DESCR_FLEX_ERROR_MESSAGE",
                    "JGZZ_RECON_REF",
                    "AVERAGE_JOURNAL_FLAG",
                    "ORIGINATING_BAL_SEG_VALUE",
                    "GL_SL_LINK_TABLE",
                    "REFERENCE1",
                    "REFERENCE2",
                    "REFERENCE3",
                    "REFERENCE4",
                    "REFERENCE5",
                    "REFERENCE6",
                    "REFERENCE7",
                    "REFERENCE8",
                    "REFERENCE9",
                    "REFERENCE10",
                ],
                &[
                    "LEDGER_ID",
                    "SET_OF_BOOKS_ID",
                    "CREATED_BY",
                    "ENCUMBRANCE_TYPE_ID",
                    "BUDGET_VERSION_ID",
                    "CURRENCY_CONVERSION_RATE",
                    "ENTERED_DR",
                    "ENTERED_CR",
                    "ACCOUNTED_DR",
                    "ACCOUNTED_CR",
                    "JE_BATCH_ID",
                    "JE_HEADER_ID",
                    "JE_LINE_NUM",
                    "CHART_OF_ACCOUNTS_ID",
                    "CODE_COMBINATION_ID",
                    "STAT_AMOUNT",
                    "GROUP_ID",
                    "REQUEST_ID",
                    "SUBLEDGER_DOC_SEQUENCE_ID",
                    "SUBLEDGER_DOC_SEQUENCE_VALUE",
                    "INVOICE_AMOUNT",
                    "GL_SL_LINK_ID",
                ],
                &[
                    "ACCOUNTING_DATE",
                    "DATE_CREATED",
                    "CURRENCY_CONVERSION_DATE",
                    "TRANSACTION_DATE",
                    "DATE_CREATED_IN_GL",
                    "INVOICE_DATE",
                    "REFERENCE_DATE",
                ],
            );
            push_range(&mut c, "SEGMENT", 1, 30, Text);
            push_range(&mut c, "REFERENCE", 11, 30, Text);
            push_range(&mut c, "ATTRIBUTE", 1, 20, Text);
            TableSpec {
                name: "GL_INTERFACE",
                columns: c.into_iter().collect(),
                not_null: &[
                    "STATUS",
                    "ACCOUNTING_DATE",
                    "CURRENCY_CODE",
                    "DATE_CREATED",
                    "CREATED_BY",
                    "ACTUAL_FLAG",
                    "USER_JE_CATEGORY_NAME",
                    "USER_JE_SOURCE_NAME",
                ],
            }
        }
        "RA_INTERFACE_LINES_ALL" => {
            let mut c = cols(
                &[
                    "INTERFACE_LINE_CONTEXT",
                    "BATCH_SOURCE_NAME",
                    "LINE_TYPE",
                    "DESCRIPTION",
                    "CURRENCY_CODE",
                    "CUST_TRX_TYPE_NAME",
                    "TERM_NAME",
                    "ORIG_SYSTEM_BILL_CUSTOMER_REF",
                    "ORIG_SYSTEM_BILL_ADDRESS_REF",
                    "ORIG_SYSTEM_SHIP_CUSTOMER_REF",
                    "ORIG_SYSTEM_SHIP_ADDRESS_REF",
                    "ORIG_SYSTEM_SOLD_CUSTOMER_REF",
                    "CONVERSION_TYPE",
                    "TRX_NUMBER",
                    "UOM_CODE",
                    "UOM_NAME",
                    "MEMO_LINE_NAME",
                    "LINK_TO_LINE_CONTEXT",
                    "REFERENCE_LINE_CONTEXT",
                    "CREDIT_METHOD_FOR_ACCT_RULE",
                    "CREDIT_METHOD_FOR_INSTALLMENTS",
                    "TAX_CODE",
                    "TAX_RATE_CODE",
                    "AMOUNT_INCLUDES_TAX_FLAG",
                    "SALES_ORDER",
                    "SALES_ORDER_LINE",
                    "SALES_ORDER_SOURCE",
                    "PURCHASE_ORDER",
                    "COMMENTS",
                    "INTERNAL_NOTES",
                    "HEADER_ATTRIBUTE_CATEGORY",
                    "ATTRIBUTE_CATEGORY",
                    "INTERFACE_STATUS",
                    "PRIMARY_SALESREP_NUMBER",
                    "PRINTING_OPTION",
                    "WAREHOUSE_ID_TEXT",
                ],
                &[
                    "INTERFACE_LINE_ID",
                    "SET_OF_BOOKS_ID",
                    "AMOUNT",
                    "CUST_TRX_TYPE_ID",
                    "TERM_ID",
                    "ORIG_SYSTEM_BILL_CUSTOMER_ID",
                    "ORIG_SYSTEM_BILL_ADDRESS_ID",
                    "ORIG_SYSTEM_SHIP_CUSTOMER_ID",
                    "ORIG_SYSTEM_SHIP_ADDRESS_ID",
                    "CONVERSION_RATE",
                    "QUANTITY",
                    "QUANTITY_ORDERED",
                    "UNIT_SELLING_PRICE",
                    "UNIT_STANDARD_PRICE",
                    "INVENTORY_ITEM_ID",
                    "MEMO_LINE_ID",
                    "ORG_ID",
                    "REFERENCE_LINE_ID",
                    "REQUEST_ID",
                    "CUSTOMER_TRX_ID",
                    "BATCH_SOURCE_ID",
                    "LINE_NUMBER",
                    "WAREHOUSE_ID",
                    "CREATED_BY",
                    "LAST_UPDATED_BY",
                    "LAST_UPDATE_LOGIN",
                ],
                &[
                    "CONVERSION_DATE",
                    "TRX_DATE",
                    "GL_DATE",
                    "SALES_ORDER_DATE",
                    "SHIP_DATE_ACTUAL",
                    "CREATION_DATE",
                    "LAST_UPDATE_DATE",
                ],
            );
            push_range(&mut c, "INTERFACE_LINE_ATTRIBUTE", 1, 15, Text);
            push_range(&mut c, "LINK_TO_LINE_ATTRIBUTE", 1, 15, Text);
            push_range(&mut c, "REFERENCE_LINE_ATTRIBUTE", 1, 15, Text);
            push_range(&mut c, "HEADER_ATTRIBUTE", 1, 15, Text);
            push_range(&mut c, "ATTRIBUTE", 1, 15, Text);
            TableSpec {
                name: "RA_INTERFACE_LINES_ALL",
                columns: c.into_iter().collect(),
                not_null: &["BATCH_SOURCE_NAME", "LINE_TYPE", "CURRENCY_CODE"],
            }
        }
        "RA_INTERFACE_DISTRIBUTIONS_ALL" => {
            let mut c = cols(
                &[
                    "INTERFACE_LINE_CONTEXT",
                    "ACCOUNT_CLASS",
                    "INTERFACE_STATUS",
                    "COMMENTS",
                    "ATTRIBUTE_CATEGORY",
                ],
                &[
                    "INTERFACE_DISTRIBUTION_ID",
                    "INTERFACE_LINE_ID",
                    "AMOUNT",
                    "ACCTD_AMOUNT",
                    "PERCENT",
                    "CODE_COMBINATION_ID",
                    "ORG_ID",
                    "REQUEST_ID",
                ],
                &[],
            );
            c.extend(WHO_NUM.iter().map(|x| (x.to_string(), Number)));
            c.extend(WHO_DATE.iter().map(|x| (x.to_string(), Date)));
            push_range(&mut c, "INTERFACE_LINE_ATTRIBUTE", 1, 15, Text);
            push_range(&mut c, "SEGMENT", 1, 30, Text);
            push_range(&mut c, "ATTRIBUTE", 1, 15, Text);
            TableSpec {
                name: "RA_INTERFACE_DISTRIBUTIONS_ALL",
                columns: c.into_iter().collect(),
                not_null: &["ACCOUNT_CLASS"],
            }
        }
        "AP_INVOICES_INTERFACE" => {
            let mut c = cols(
                &[
                    "INVOICE_NUM",
                    "INVOICE_TYPE_LOOKUP_CODE",
                    "PO_NUMBER",
                    "VENDOR_NUM",
                    "VENDOR_NAME",
                    "VENDOR_SITE_CODE",
                    "INVOICE_CURRENCY_CODE",
                    "EXCHANGE_RATE_TYPE",
                    "TERMS_NAME",
                    "DESCRIPTION",
                    "SOURCE",
                    "GROUP_ID",
                    "STATUS",
                    "PAYMENT_METHOD_CODE",
                    "PAYMENT_METHOD_LOOKUP_CODE",
                    "ACCTS_PAY_CODE_CONCATENATED",
                    "CALC_TAX_DURING_IMPORT_FLAG",
                    "ATTRIBUTE_CATEGORY",
                    "DOC_CATEGORY_CODE",
                    "OPERATING_UNIT",
                ],
                &[
                    "INVOICE_ID",
                    "VENDOR_ID",
                    "VENDOR_SITE_ID",
                    "INVOICE_AMOUNT",
                    "EXCHANGE_RATE",
                    "TERMS_ID",
                    "ORG_ID",
                    "REQUEST_ID",
                    "ACCTS_PAY_CODE_COMBINATION_ID",
                ],
                &["INVOICE_DATE", "EXCHANGE_DATE", "GL_DATE", "TERMS_DATE"],
            );
            c.extend(WHO_NUM.iter().map(|x| (x.to_string(), Number)));
            c.extend(WHO_DATE.iter().map(|x| (x.to_string(), Date)));
            push_range(&mut c, "ATTRIBUTE", 1, 15, Text);
            TableSpec {
                name: "AP_INVOICES_INTERFACE",
                columns: c.into_iter().collect(),
                not_null: &["INVOICE_ID"],
            }
        }
        "AP_INVOICE_LINES_INTERFACE" => {
            let mut c = cols(
                &[
                    "LINE_TYPE_LOOKUP_CODE",
                    "DESCRIPTION",
                    "DIST_CODE_CONCATENATED",
                    "TAX_CODE",
                    "ATTRIBUTE_CATEGORY",
                ],
                &[
                    "INVOICE_ID",
                    "INVOICE_LINE_ID",
                    "LINE_NUMBER",
                    "AMOUNT",
                    "DIST_CODE_COMBINATION_ID",
                    "ORG_ID",
                    "QUANTITY_INVOICED",
                    "UNIT_PRICE",
                ],
                &["ACCOUNTING_DATE"],
            );
            c.extend(WHO_NUM.iter().map(|x| (x.to_string(), Number)));
            c.extend(WHO_DATE.iter().map(|x| (x.to_string(), Date)));
            push_range(&mut c, "ATTRIBUTE", 1, 15, Text);
            TableSpec {
                name: "AP_INVOICE_LINES_INTERFACE",
                columns: c.into_iter().collect(),
                not_null: &["INVOICE_ID", "INVOICE_LINE_ID"],
            }
        }
        _ => return None,
    };
    Some(spec)
}

/// Type-checks one input row against a table spec (ORA-00904 / 01722 / 01841 / 01400).
pub fn coerce_row(spec: &TableSpec, input: &Map<String, Value>) -> Result<Row, String> {
    let mut row = Row::new();
    for (k, v) in input {
        if k.starts_with('@') {
            continue;
        }
        let key = k.to_ascii_uppercase();
        let Some(t) = spec.columns.get(&key) else {
            return Err(format!(
                "ORA-00904: \"{key}\": invalid identifier ({})",
                spec.name
            ));
        };
        let Some(val) = super::wire::scalar(v) else {
            continue;
        };
        match t {
            ColType::Number => match Decimal::from_str(val.trim()) {
                Err(_) => {
                    return Err(format!(
                        "ORA-01722: invalid number in {}.{key}: {val:?}",
                        spec.name
                    ));
                }
                // Keeps every later sum and product inside Decimal's range.
                Ok(d) if d.abs() >= Decimal::from(1_000_000_000_000_000i64) => {
                    return Err(format!(
                        "ORA-01438: value larger than specified precision allowed for {}.{key}",
                        spec.name
                    ));
                }
                Ok(_) => {}
            },
            ColType::Date if parse_datetime(&val).is_none() => {
                return Err(format!(
                    "ORA-01841: invalid date in {}.{key}: {val:?} (use YYYY-MM-DD)",
                    spec.name
                ));
            }
            _ => {}
        }
        row.insert(key, Value::String(val));
    }
    Ok(row)
}

pub fn check_not_null(spec: &TableSpec, row: &Row) -> Result<(), String> {
    for c in spec.not_null {
        if col(row, c).is_none() {
            return Err(format!(
                "ORA-01400: cannot insert NULL into (\"APPS\".\"{}\".\"{c}\")",
                spec.name
            ));
        }
    }
    Ok(())
}
