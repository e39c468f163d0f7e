//! GL journals through GL_INTERFACE and Journal Import, as explicit resumable steps.
//!
//! ```text
//! check ─▶ allocate group ─▶ stage ─▶ submit ─▶ await ─▶ confirm
//! ```
//!
//! Each step takes the last [`PostingRecord`] and returns the next one; the caller persists it
//! before calling the next step, so after a crash [`EbsClient::gl_reconcile`] can compare the
//! record with what EBS holds (interface rows and journals carrying the batch's
//! `REFERENCE21/22/24`) and say where to resume without losing or duplicating a line.

use crate::ebs::EbsClient;
use crate::ebs::checks::{CheckFailure, CheckReason};
use crate::ebs::context::Module;
use crate::ebs::error::EbsError;
use crate::ebs::idempotency::{Existing, Observation};
use crate::ebs::requests::RequestState;
use crate::ebs::transport::Retry;
use crate::ebs::wire::{dec_of, list, str_of};
use crate::ledger::fx::{self, Conversion};
use crate::ledger::money::currency_scale;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sha2::Digest;

/// One journal (one settlement × one period) to import. The client's own input type; the
/// sync layer converts the ledger's journals into it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GlBatch {
    pub settlement_id: String,
    pub ledger_id: String,
    /// EBS period name of the accounting date (REFERENCE22).
    pub period_name: String,
    /// The closed period these lines were rolled out of (REFERENCE25).
    pub original_period: Option<String>,
    pub accounting_date: NaiveDate,
    /// Entered currency.
    pub currency: String,
    pub je_source: String,
    pub je_category: String,
    /// REFERENCE1 / REFERENCE2.
    pub batch_name: String,
    pub batch_description: String,
    /// REFERENCE4 / REFERENCE5.
    pub journal_name: String,
    pub journal_description: String,
    /// REFERENCE24; a new revision is posted only after the previous one was reversed.
    pub revision: u32,
    /// Earlier revisions already reversed in EBS (they do not block this one).
    pub reversed_revisions: Vec<u32>,
    /// REFERENCE22 when it differs from `period_name`: a reversing journal dated in a later
    /// open period still names the batch (settlement × period) it reverses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_period: Option<String>,
    /// Foreign currency: conversion attributes; accounted amounts are on the lines.
    pub conversion: Option<Conversion>,
    pub lines: Vec<GlLine>,
}

/// One journal line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GlLine {
    /// Segments joined by the flexfield delimiter (`01-000-1190-0000-000`).
    pub account: String,
    pub entered_dr: Option<Decimal>,
    pub entered_cr: Option<Decimal>,
    /// Only for foreign-currency batches (ledger currency: EBS takes entered).
    pub accounted_dr: Option<Decimal>,
    pub accounted_cr: Option<Decimal>,
    /// REFERENCE10.
    pub description: String,
    /// REFERENCE23: stable key of (settlement, period, account, label), see [`line_key`].
    pub line_key: String,
}

/// Stable REFERENCE23 value of a line: the same inputs always give the same 32 hex digits.
pub fn line_key(settlement_id: &str, period: &str, account: &str, label: &str) -> String {
    let mut h = sha2::Sha256::new();
    for part in [settlement_id, period, account, label] {
        h.update(part.as_bytes());
        h.update([0u8]);
    }
    hex::encode(&h.finalize()[..16])
}

fn sum(it: impl Iterator<Item = Option<Decimal>>) -> Decimal {
    it.flatten().sum()
}

impl GlBatch {
    /// The period of the batch this journal belongs to (REFERENCE22): `reference_period`,
    /// else `period_name`.
    pub fn key_period(&self) -> &str {
        self.reference_period
            .as_deref()
            .unwrap_or(&self.period_name)
    }

    pub fn entered_totals(&self) -> (Decimal, Decimal) {
        (
            sum(self.lines.iter().map(|l| l.entered_dr)),
            sum(self.lines.iter().map(|l| l.entered_cr)),
        )
    }

    pub fn accounted_totals(&self) -> (Decimal, Decimal) {
        if self.conversion.is_none() {
            return self.entered_totals();
        }
        (
            sum(self.lines.iter().map(|l| l.accounted_dr)),
            sum(self.lines.iter().map(|l| l.accounted_cr)),
        )
    }

    /// Checks that need no EBS: balance in both currencies, one side per line, unique keys.
    pub fn shape_failures(&self) -> Vec<CheckFailure> {
        let mut out = Vec::new();
        let mut keys = std::collections::HashSet::new();
        for (i, l) in self.lines.iter().enumerate() {
            let bad = |s: String| CheckFailure {
                line: Some(i + 1),
                account: Some(l.account.clone()),
                reason: CheckReason::BadLine(s),
            };
            if l.entered_dr.is_some() == l.entered_cr.is_some() {
                out.push(bad("needs exactly one of entered debit / credit".into()));
            }
            if self.conversion.is_some() && l.accounted_dr.is_none() && l.accounted_cr.is_none() {
                out.push(bad("foreign-currency line without accounted amount".into()));
            }
            if !keys.insert(l.line_key.as_str()) {
                out.push(bad(format!("line key {} repeated", l.line_key)));
            }
        }
        let entered = self.entered_totals();
        let accounted = self.accounted_totals();
        if entered.0 != entered.1 || accounted.0 != accounted.1 {
            out.push(CheckFailure {
                line: None,
                account: None,
                reason: CheckReason::Unbalanced { entered, accounted },
            });
        }
        out
    }
}

/// Fills accounted amounts of a settlement's period journals (all in one foreign currency)
/// and appends each journal's rounding line: clearing lines carry exactly the converted
/// deposit, every journal balances in both currencies (see [`fx::convert_settlement`]).
pub fn apply_fx(
    batches: &mut [GlBatch],
    conversion: &Conversion,
    ledger_currency: &str,
    converted_deposit: Option<Decimal>,
    rounding_account: &str,
    is_clearing: impl Fn(&GlLine) -> bool,
) -> Result<(), EbsError> {
    let journals: Vec<Vec<fx::FxLine>> = batches
        .iter()
        .map(|b| {
            b.lines
                .iter()
                .map(|l| fx::FxLine {
                    entered_dr: l.entered_dr.unwrap_or_default(),
                    entered_cr: l.entered_cr.unwrap_or_default(),
                    clearing: is_clearing(l),
                })
                .collect()
        })
        .collect();
    let converted = fx::convert_settlement(
        &journals,
        conversion.rate,
        currency_scale(ledger_currency),
        converted_deposit,
    )?;
    for (b, c) in batches.iter_mut().zip(converted) {
        b.conversion = Some(conversion.clone());
        for (l, a) in b.lines.iter_mut().zip(&c.lines) {
            if l.entered_cr.is_some() && l.entered_dr.is_none() {
                l.accounted_cr = Some(a.cr);
                l.accounted_dr = None;
            } else {
                l.accounted_dr = Some(a.dr);
                l.accounted_cr = None;
            }
        }
        if let Some(r) = c.rounding {
            let (dr, cr) = if r.dr.is_zero() {
                (None, Some(Decimal::ZERO))
            } else {
                (Some(Decimal::ZERO), None)
            };
            b.lines.push(GlLine {
                account: rounding_account.to_string(),
                entered_dr: dr,
                entered_cr: cr,
                accounted_dr: dr.map(|_| r.dr),
                accounted_cr: cr.map(|_| r.cr),
                description: "FX rounding".to_string(),
                line_key: line_key(
                    &b.settlement_id,
                    &b.period_name,
                    rounding_account,
                    "FX rounding",
                ),
            });
        }
    }
    Ok(())
}

/// The last step a posting completed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PostingStep {
    /// Accounts, period and balance verified.
    Checked,
    /// GROUP_ID (and interface run id) drawn from EBS through the control hand-off.
    GroupAllocated,
    /// Rows are in GL_INTERFACE with STATUS NEW.
    Staged,
    /// Journal Import submitted; request id known.
    Submitted,
    /// The request completed (phase C).
    Completed,
    /// Interface status and journals read back; outcome known.
    Confirmed,
}

/// What the caller persists after each step (before the next EBS call).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostingRecord {
    pub settlement_id: String,
    pub period_name: String,
    pub revision: u32,
    pub step: PostingStep,
    pub group_id: Option<String>,
    pub interface_run_id: Option<String>,
    pub request_id: Option<String>,
    pub rows_staged: usize,
    pub request: Option<RequestState>,
    pub outcome: Option<GlOutcome>,
    /// Groups whose rejected rows were deleted before this batch was staged again.
    pub discarded_groups: Vec<String>,
}

impl PostingRecord {
    fn new(batch: &GlBatch, step: PostingStep) -> Self {
        PostingRecord {
            settlement_id: batch.settlement_id.clone(),
            period_name: batch.period_name.clone(),
            revision: batch.revision,
            step,
            group_id: None,
            interface_run_id: None,
            request_id: None,
            rows_staged: 0,
            request: None,
            outcome: None,
            discarded_groups: Vec::new(),
        }
    }

    /// For tests that must stage what the checks would refuse (e.g. an unbalanced journal,
    /// to see EBS reject it with EU02). Never use in production paths.
    #[doc(hidden)]
    pub fn raw_test_hook_unchecked(batch: &GlBatch) -> Self {
        PostingRecord::new(batch, PostingStep::Checked)
    }

    fn expect(&self, batch: &GlBatch, steps: &[PostingStep], what: &str) -> Result<(), EbsError> {
        if self.settlement_id != batch.settlement_id
            || self.period_name != batch.period_name
            || self.revision != batch.revision
        {
            return Err(EbsError::Step(format!(
                "{what}: record is for {}/{}/r{}, batch is {}/{}/r{}",
                self.settlement_id,
                self.period_name,
                self.revision,
                batch.settlement_id,
                batch.period_name,
                batch.revision
            )));
        }
        if !steps.contains(&self.step) {
            return Err(EbsError::Step(format!(
                "{what} needs a record at {steps:?}, got {:?}",
                self.step
            )));
        }
        Ok(())
    }

    fn group(&self) -> Result<&str, EbsError> {
        self.group_id
            .as_deref()
            .ok_or_else(|| EbsError::Step("record has no GROUP_ID".into()))
    }
}

/// What happened to one line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum LineResult {
    /// In a journal (unposted when imported).
    Imported {
        je_header_id: String,
        je_line_num: String,
    },
    /// Rejected by Journal Import with this code (EF01, EU02, …).
    Rejected { code: String, description: String },
    /// Fine itself, but its group was rejected because of other lines (status `P`).
    HeldBack { code: String },
    /// Still NEW in the interface: the import did not process it.
    Pending,
    /// Neither in the interface nor in a journal.
    Missing,
}

/// One line's outcome, with its key and account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineOutcome {
    pub line: usize,
    pub line_key: String,
    pub account: String,
    pub result: LineResult,
}

/// A journal created by the import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalRef {
    pub je_batch_id: String,
    pub je_header_id: String,
    pub batch_name: String,
    pub journal_name: String,
    /// `U` unposted, `P` posted.
    pub status: String,
    pub group_id: Option<String>,
    pub request_id: Option<String>,
    pub total_dr: Decimal,
    pub total_cr: Decimal,
}

/// The batch as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GlStatus {
    Imported,
    Rejected,
    NotImported,
    Inconsistent,
}

/// Confirmed outcome of a posting: per line, with the EBS code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GlOutcome {
    pub status: GlStatus,
    pub group_id: String,
    pub request_id: Option<String>,
    pub journals: Vec<JournalRef>,
    pub lines: Vec<LineOutcome>,
}

impl GlOutcome {
    /// Lines rejected with their own code.
    pub fn rejected(&self) -> impl Iterator<Item = &LineOutcome> {
        self.lines
            .iter()
            .filter(|l| matches!(l.result, LineResult::Rejected { .. }))
    }
}

/// Where to resume after [`EbsClient::gl_reconcile`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NextStep {
    Check,
    Allocate,
    Stage,
    Submit,
    Await,
    Confirm,
    /// Confirmed and nothing changed.
    Done,
    /// The journals were imported and have since been deleted in EBS.
    Vanished,
}

/// Result of reconciliation: the record to persist and the step to run next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resume {
    pub record: PostingRecord,
    pub next: NextStep,
}

/// A journal read back from EBS (`X_JOURNALS` item).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EbsJournal {
    pub head: JournalRef,
    pub period_name: String,
    pub lines: Vec<EbsJournalLine>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EbsJournalLine {
    pub je_line_num: String,
    pub account: String,
    pub references: [Option<String>; 5],
}

pub(crate) fn parse_journals(
    path: &str,
    out: &Map<String, Value>,
) -> Result<Vec<EbsJournal>, EbsError> {
    let mut v = Vec::new();
    for j in list(out, "X_JOURNALS") {
        let s = |k: &str| str_of(&j, k).unwrap_or_default();
        let lines = list(&j, "LINES")
            .iter()
            .map(|l| EbsJournalLine {
                je_line_num: str_of(l, "JE_LINE_NUM").unwrap_or_default(),
                account: str_of(l, "ACCOUNT").unwrap_or_default(),
                references: std::array::from_fn(|i| str_of(l, &format!("REFERENCE_{}", i + 1))),
            })
            .collect();
        v.push(EbsJournal {
            head: JournalRef {
                je_batch_id: s("JE_BATCH_ID"),
                je_header_id: s("JE_HEADER_ID"),
                batch_name: s("BATCH_NAME"),
                journal_name: s("JOURNAL_NAME"),
                status: s("STATUS"),
                group_id: str_of(&j, "GROUP_ID"),
                request_id: str_of(&j, "REQUEST_ID"),
                total_dr: dec_of(path, &j, "RUNNING_TOTAL_DR")?.unwrap_or_default(),
                total_cr: dec_of(path, &j, "RUNNING_TOTAL_CR")?.unwrap_or_default(),
            },
            period_name: s("PERIOD_NAME"),
            lines,
        });
    }
    Ok(v)
}

fn amount(d: Option<Decimal>) -> Value {
    match d {
        Some(v) => Value::String(v.normalize().to_string()),
        None => Value::Null,
    }
}

impl EbsClient {
    /// GL_INTERFACE rows of a batch for a group.
    pub fn gl_rows(&self, batch: &GlBatch, group_id: &str) -> Vec<Value> {
        let today = chrono::Utc::now().date_naive();
        batch
            .lines
            .iter()
            .map(|l| {
                let mut r = Map::new();
                let mut put = |k: &str, v: Value| {
                    if !v.is_null() {
                        r.insert(k.to_string(), v);
                    }
                };
                put("STATUS", json!("NEW"));
                put("LEDGER_ID", json!(batch.ledger_id));
                put("ACCOUNTING_DATE", json!(batch.accounting_date.to_string()));
                put("PERIOD_NAME", json!(batch.period_name));
                put("CURRENCY_CODE", json!(batch.currency));
                put("DATE_CREATED", json!(today.to_string()));
                put("CREATED_BY", json!(self.cfg.created_by));
                put("ACTUAL_FLAG", json!("A"));
                put("USER_JE_SOURCE_NAME", json!(batch.je_source));
                put("USER_JE_CATEGORY_NAME", json!(batch.je_category));
                put("GROUP_ID", json!(group_id));
                for (i, seg) in l.account.split(self.cfg.segment_delimiter).enumerate() {
                    put(&format!("SEGMENT{}", i + 1), json!(seg));
                }
                put("ENTERED_DR", amount(l.entered_dr));
                put("ENTERED_CR", amount(l.entered_cr));
                if let Some(c) = &batch.conversion {
                    put("ACCOUNTED_DR", amount(l.accounted_dr));
                    put("ACCOUNTED_CR", amount(l.accounted_cr));
                    put("USER_CURRENCY_CONVERSION_TYPE", json!(c.conversion_type));
                    put("CURRENCY_CONVERSION_DATE", json!(c.date.to_string()));
                    if c.user_rate {
                        put(
                            "CURRENCY_CONVERSION_RATE",
                            json!(c.rate.normalize().to_string()),
                        );
                    }
                }
                put("REFERENCE1", json!(batch.batch_name));
                put("REFERENCE2", json!(batch.batch_description));
                put("REFERENCE4", json!(batch.journal_name));
                put("REFERENCE5", json!(batch.journal_description));
                put("REFERENCE6", json!(format!("AMZ-{}", batch.settlement_id)));
                put("REFERENCE10", json!(l.description));
                put("REFERENCE21", json!(batch.settlement_id));
                put("REFERENCE22", json!(batch.key_period()));
                put("REFERENCE23", json!(l.line_key));
                put("REFERENCE24", json!(batch.revision.to_string()));
                if let Some(p) = &batch.original_period {
                    put("REFERENCE25", json!(p));
                }
                Value::Object(r)
            })
            .collect()
    }

    /// Step 1: balance, accounts and period. Failing lines are reported all at once.
    pub async fn gl_check(&self, batch: &GlBatch) -> Result<PostingRecord, EbsError> {
        let failures = self.check_gl_batch(batch).await?;
        if !failures.is_empty() {
            return Err(EbsError::Checks(failures));
        }
        Ok(PostingRecord::new(batch, PostingStep::Checked))
    }

    /// Step 2: GROUP_ID and interface run id from EBS (`populate_interface_control`).
    pub async fn gl_allocate(
        &self,
        batch: &GlBatch,
        rec: &PostingRecord,
    ) -> Result<PostingRecord, EbsError> {
        rec.expect(batch, &[PostingStep::Checked], "allocate")?;
        let (group, run) = self.hand_off(batch, None).await?;
        let mut next = rec.clone();
        next.step = PostingStep::GroupAllocated;
        next.group_id = Some(group);
        next.interface_run_id = Some(run);
        Ok(next)
    }

    async fn hand_off(
        &self,
        batch: &GlBatch,
        group: Option<&str>,
    ) -> Result<(String, String), EbsError> {
        let out = self
            .custom(
                Module::Gl,
                "populate_interface_control",
                json!({
                    "P_USER_JE_SOURCE_NAME": batch.je_source,
                    "P_LEDGER_ID": batch.ledger_id,
                    "P_GROUP_ID": group.unwrap_or(""),
                    "P_PROCESSED_DATA_ACTION": "DELETE_DATA",
                }),
                // A repeated hand-off only leaves an empty control row behind.
                Retry::Safe,
            )
            .await?;
        let path = "populate_interface_control";
        let g = str_of(&out, "X_GROUP_ID").ok_or_else(|| EbsError::Decode {
            path: path.into(),
            detail: "no X_GROUP_ID".into(),
        })?;
        let r = str_of(&out, "X_INTERFACE_RUN_ID").ok_or_else(|| EbsError::Decode {
            path: path.into(),
            detail: "no X_INTERFACE_RUN_ID".into(),
        })?;
        Ok((g, r))
    }

    /// Step 3: asks EBS whether the batch is already there, deletes earlier rejected rows
    /// of this batch, then inserts the rows (one transaction). A failed insert is retried
    /// only after EBS shows the group empty.
    pub async fn gl_stage(
        &self,
        batch: &GlBatch,
        rec: &PostingRecord,
    ) -> Result<PostingRecord, EbsError> {
        rec.expect(batch, &[PostingStep::GroupAllocated], "stage")?;
        let group = rec.group()?.to_string();
        let mut next = rec.clone();
        match self.gl_existing(batch).await?.verdict(batch)? {
            Existing::Journals {
                group_id,
                request_id,
            } => {
                next.step = PostingStep::Completed;
                next.group_id = group_id.or(Some(group));
                next.request_id = request_id;
                next.interface_run_id = None;
                return Ok(next);
            }
            Existing::Staged { group_id, rows } => {
                if group_id != group {
                    next.interface_run_id = None;
                }
                next.group_id = Some(group_id);
                next.rows_staged = rows;
                next.step = PostingStep::Staged;
                return Ok(next);
            }
            Existing::Rejected { group_ids } => {
                for g in group_ids {
                    self.delete_rows(Module::Gl, "GL_INTERFACE", &[("GROUP_ID", g.clone())])
                        .await?;
                    next.discarded_groups.push(g);
                }
            }
            Existing::Nothing => {}
        }
        let rows = self.gl_rows(batch, &group);
        let n = rows.len();
        let mut attempt = 0u32;
        loop {
            match self
                .insert_rows(Module::Gl, "GL_INTERFACE", rows.clone())
                .await
            {
                Ok(_) => break,
                Err(e) if e.is_transient() && self.cfg.retry.allows_retry(attempt + 1) => {
                    // Did the insert land? Look before writing again.
                    let present = self
                        .read_rows(Module::Gl, "GL_INTERFACE", &[("GROUP_ID", group.clone())])
                        .await?
                        .len();
                    if present == n {
                        break;
                    }
                    if present != 0 {
                        return Err(EbsError::Inconsistent {
                            settlement_id: batch.settlement_id.clone(),
                            period: batch.period_name.clone(),
                            detail: format!(
                                "group {group} holds {present} of {n} rows after a failed insert"
                            ),
                        });
                    }
                    tokio::time::sleep(self.cfg.retry.delay(attempt + 1)).await;
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
        next.step = PostingStep::Staged;
        next.rows_staged = n;
        Ok(next)
    }

    /// Step 4: Journal Import (GLLEZL) for the group, errors not posted to suspense.
    pub async fn gl_submit(
        &self,
        batch: &GlBatch,
        rec: &PostingRecord,
    ) -> Result<PostingRecord, EbsError> {
        rec.expect(batch, &[PostingStep::Staged], "submit")?;
        let group = rec.group()?.to_string();
        let mut run = match &rec.interface_run_id {
            Some(r) => r.clone(),
            None => self.hand_off(batch, Some(&group)).await?.1,
        };
        let alias = self.cfg.aliases.gl.clone();
        let mut attempt = 0u32;
        let out = loop {
            let params = json!({
                "ARGUMENT1": run,
                "ARGUMENT2": self.cfg.contexts.gl.access_set_id,
                "ARGUMENT3": "N",
                "ARGUMENT4": "",
                "ARGUMENT5": "",
                "ARGUMENT6": "N",
                "ARGUMENT7": "N",
                "ARGUMENT8": "Y",
            });
            match self
                .post_op(
                    Module::Gl,
                    &alias,
                    "SUBMIT_CP_GLLEZL",
                    params,
                    Retry::WriteOnce,
                )
                .await
            {
                Ok(o) => break o,
                Err(e) if e.is_transient() && self.cfg.retry.allows_retry(attempt + 1) => {
                    // The request may exist; a second import of the group finds no NEW rows,
                    // so resubmitting under a fresh control row cannot duplicate journals.
                    tokio::time::sleep(self.cfg.retry.delay(attempt + 1)).await;
                    run = self.hand_off(batch, Some(&group)).await?.1;
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        };
        let request_id = str_of(&out, "REQUEST_ID")
            .filter(|r| r != "0")
            .ok_or_else(|| EbsError::Decode {
                path: "SUBMIT_CP_GLLEZL".into(),
                detail: "no REQUEST_ID (0 = submission failed)".into(),
            })?;
        let mut next = rec.clone();
        next.step = PostingStep::Submitted;
        next.interface_run_id = Some(run);
        next.request_id = Some(request_id);
        Ok(next)
    }

    /// Step 5: follows the request to completion with backoff polling.
    pub async fn gl_await(
        &self,
        batch: &GlBatch,
        rec: &PostingRecord,
    ) -> Result<PostingRecord, EbsError> {
        rec.expect(batch, &[PostingStep::Submitted], "await")?;
        let id = rec
            .request_id
            .as_deref()
            .ok_or_else(|| EbsError::Step("submitted record without request id".into()))?;
        let state = self.await_request(Module::Gl, id).await?;
        let mut next = rec.clone();
        next.step = PostingStep::Completed;
        next.request = Some(state);
        Ok(next)
    }

    /// Step 6: reads the group's interface rows and journals back; per-line outcome.
    pub async fn gl_confirm(
        &self,
        batch: &GlBatch,
        rec: &PostingRecord,
    ) -> Result<PostingRecord, EbsError> {
        rec.expect(
            batch,
            &[PostingStep::Completed, PostingStep::Confirmed],
            "confirm",
        )?;
        let group = rec.group()?.to_string();
        let rows = self
            .read_rows(Module::Gl, "GL_INTERFACE", &[("GROUP_ID", group.clone())])
            .await?;
        let journals = self.journals_by_group(&group, &batch.ledger_id).await?;
        let outcome = build_outcome(batch, &group, rec.request_id.clone(), &rows, &journals);
        let mut next = rec.clone();
        next.step = PostingStep::Confirmed;
        if next.request_id.is_none() {
            next.request_id = outcome.request_id.clone();
        }
        next.outcome = Some(outcome);
        Ok(next)
    }

    /// Journals created for a group (`get_journals_by_group`).
    pub async fn journals_by_group(
        &self,
        group: &str,
        ledger: &str,
    ) -> Result<Vec<EbsJournal>, EbsError> {
        let out = self
            .custom(
                Module::Gl,
                "get_journals_by_group",
                json!({ "P_GROUP_ID": group, "P_LEDGER_ID": ledger }),
                Retry::Safe,
            )
            .await?;
        parse_journals("get_journals_by_group", &out)
    }

    /// Runs all remaining steps from wherever EBS and `last` say, calling `persist` with each
    /// record before the next EBS call (map a store failure to [`EbsError::Persist`]). Returns
    /// the final record: Confirmed (see its outcome), or the last record when the journals
    /// have vanished from EBS.
    pub async fn post_gl_batch<F>(
        &self,
        batch: &GlBatch,
        last: Option<&PostingRecord>,
        mut persist: F,
    ) -> Result<PostingRecord, EbsError>
    where
        F: FnMut(&PostingRecord) -> Result<(), EbsError>,
    {
        // Without a record nothing of ours can be in EBS past an empty control row; the
        // stage step still asks EBS before writing, so starting at the checks is safe.
        let (mut rec, mut next) = match last {
            None => (
                PostingRecord::new(batch, PostingStep::Checked),
                NextStep::Check,
            ),
            Some(_) => {
                let resume = self.gl_reconcile(batch, last).await?;
                (resume.record, resume.next)
            }
        };
        loop {
            rec = match next {
                NextStep::Check => self.gl_check(batch).await?,
                NextStep::Allocate => self.gl_allocate(batch, &rec).await?,
                NextStep::Stage => self.gl_stage(batch, &rec).await?,
                NextStep::Submit => self.gl_submit(batch, &rec).await?,
                NextStep::Await => self.gl_await(batch, &rec).await?,
                NextStep::Confirm => self.gl_confirm(batch, &rec).await?,
                NextStep::Done | NextStep::Vanished => return Ok(rec),
            };
            persist(&rec)?;
            next = match rec.step {
                PostingStep::Checked => NextStep::Allocate,
                PostingStep::GroupAllocated => NextStep::Stage,
                PostingStep::Staged => NextStep::Submit,
                PostingStep::Submitted => NextStep::Await,
                PostingStep::Completed => NextStep::Confirm,
                PostingStep::Confirmed => NextStep::Done,
            };
        }
    }

    /// After a crash (or before any retry): compares the last persisted record with EBS and
    /// says where to resume. Never writes.
    pub async fn gl_reconcile(
        &self,
        batch: &GlBatch,
        last: Option<&PostingRecord>,
    ) -> Result<Resume, EbsError> {
        let obs = self.gl_existing(batch).await?;
        let request = match last.and_then(|r| r.request_id.as_deref()) {
            Some(id) => Some(self.request_status(Module::Gl, id).await?),
            None => None,
        };
        decide_resume(batch, last, &obs, request.as_ref())
    }
}

/// The pure part of [`EbsClient::gl_reconcile`].
pub fn decide_resume(
    batch: &GlBatch,
    last: Option<&PostingRecord>,
    obs: &Observation,
    request: Option<&RequestState>,
) -> Result<Resume, EbsError> {
    let base = || {
        last.cloned()
            .unwrap_or_else(|| PostingRecord::new(batch, PostingStep::Checked))
    };
    let resume = |record: PostingRecord, next| Ok(Resume { record, next });
    match obs.verdict(batch)? {
        Existing::Journals {
            group_id,
            request_id,
        } => {
            let mut rec = base();
            if let Some(l) = last
                && l.step == PostingStep::Confirmed
                && l.outcome
                    .as_ref()
                    .is_some_and(|o| o.status == GlStatus::Imported)
                && l.group_id == group_id
            {
                return resume(rec, NextStep::Done);
            }
            rec.step = PostingStep::Completed;
            rec.group_id = group_id;
            if rec.request_id.is_none() || request_id.is_some() {
                rec.request_id = request_id.or(rec.request_id);
            }
            resume(rec, NextStep::Confirm)
        }
        Existing::Staged { group_id, rows } => {
            let mut rec = base();
            let same_group = rec.group_id.as_deref() == Some(group_id.as_str());
            rec.group_id = Some(group_id);
            rec.rows_staged = rows;
            if same_group
                && rec.step >= PostingStep::Submitted
                && let Some(r) = request
                && !r.is_complete()
            {
                rec.step = PostingStep::Submitted;
                return resume(rec, NextStep::Await);
            }
            // Staged and not being imported: submit under a fresh control row.
            rec.step = PostingStep::Staged;
            rec.request_id = None;
            rec.request = None;
            rec.interface_run_id = None;
            resume(rec, NextStep::Submit)
        }
        Existing::Rejected { group_ids } => {
            let mut rec = base();
            let group = group_ids.last().cloned();
            let ours = rec.group_id.is_some() && rec.group_id == group;
            if !ours {
                rec.group_id = group;
                rec.request_id = obs.request_of(rec.group_id.as_deref());
            }
            rec.step = PostingStep::Completed;
            resume(rec, NextStep::Confirm)
        }
        Existing::Nothing => {
            let Some(l) = last else {
                return resume(base(), NextStep::Check);
            };
            let mut rec = l.clone();
            match l.step {
                PostingStep::Checked => resume(rec, NextStep::Allocate),
                PostingStep::GroupAllocated => resume(rec, NextStep::Stage),
                PostingStep::Staged | PostingStep::Submitted | PostingStep::Completed => {
                    if let Some(r) = request
                        && !r.is_complete()
                    {
                        rec.step = PostingStep::Submitted;
                        return resume(rec, NextStep::Await);
                    }
                    // Rows staged by us are gone and no journal holds them.
                    Err(EbsError::Inconsistent {
                        settlement_id: batch.settlement_id.clone(),
                        period: batch.period_name.clone(),
                        detail: format!(
                            "group {} was staged but EBS holds neither its rows nor its journals (deleted by someone in EBS?)",
                            l.group_id.as_deref().unwrap_or("?")
                        ),
                    })
                }
                PostingStep::Confirmed => {
                    if l.outcome
                        .as_ref()
                        .is_some_and(|o| o.status == GlStatus::Imported)
                    {
                        resume(rec, NextStep::Vanished)
                    } else {
                        // Rejected rows were cleaned up: post again from the checks.
                        rec.step = PostingStep::Checked;
                        resume(rec, NextStep::Check)
                    }
                }
            }
        }
    }
}

fn build_outcome(
    batch: &GlBatch,
    group: &str,
    request_id: Option<String>,
    rows: &[Map<String, Value>],
    journals: &[EbsJournal],
) -> GlOutcome {
    use std::collections::HashMap;
    let mut by_key_row: HashMap<String, &Map<String, Value>> = HashMap::new();
    for r in rows {
        if str_of(r, "REFERENCE21").as_deref() == Some(batch.settlement_id.as_str())
            && let Some(k) = str_of(r, "REFERENCE23")
        {
            by_key_row.insert(k, r);
        }
    }
    let mut by_key_journal: HashMap<String, (&EbsJournal, &EbsJournalLine)> = HashMap::new();
    for j in journals {
        for l in &j.lines {
            if l.references[0].as_deref() == Some(batch.settlement_id.as_str())
                && let Some(k) = &l.references[2]
            {
                by_key_journal.insert(k.clone(), (j, l));
            }
        }
    }
    let mut request = request_id;
    let lines: Vec<LineOutcome> = batch
        .lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let result = if let Some((j, jl)) = by_key_journal.get(&l.line_key) {
                if request.is_none() {
                    request = j.head.request_id.clone();
                }
                LineResult::Imported {
                    je_header_id: j.head.je_header_id.clone(),
                    je_line_num: jl.je_line_num.clone(),
                }
            } else if let Some(r) = by_key_row.get(&l.line_key) {
                if request.is_none() {
                    request = str_of(r, "REQUEST_ID");
                }
                let status = str_of(r, "STATUS").unwrap_or_default();
                match status.as_str() {
                    "NEW" => LineResult::Pending,
                    "P" | "PROCESSED" => LineResult::HeldBack { code: status },
                    code => LineResult::Rejected {
                        code: code.to_string(),
                        description: str_of(r, "STATUS_DESCRIPTION").unwrap_or_default(),
                    },
                }
            } else {
                LineResult::Missing
            };
            LineOutcome {
                line: i + 1,
                line_key: l.line_key.clone(),
                account: l.account.clone(),
                result,
            }
        })
        .collect();
    let all = |f: fn(&LineResult) -> bool| lines.iter().all(|l| f(&l.result));
    let status = if all(|r| matches!(r, LineResult::Imported { .. })) {
        GlStatus::Imported
    } else if lines
        .iter()
        .any(|l| matches!(l.result, LineResult::Rejected { .. }))
        && !lines
            .iter()
            .any(|l| matches!(l.result, LineResult::Imported { .. } | LineResult::Missing))
    {
        GlStatus::Rejected
    } else if all(|r| matches!(r, LineResult::Pending)) {
        GlStatus::NotImported
    } else {
        GlStatus::Inconsistent
    };
    let mut seen = std::collections::HashSet::new();
    let journals = journals
        .iter()
        .filter(|j| seen.insert(j.head.je_header_id.clone()))
        .map(|j| j.head.clone())
        .collect();
    GlOutcome {
        status,
        group_id: group.to_string(),
        request_id: request,
        journals,
        lines,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ebs::requests::RequestState;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).expect("dec")
    }

    pub(crate) fn batch() -> GlBatch {
        let l = |acct: &str, dr: Option<&str>, cr: Option<&str>, label: &str| GlLine {
            account: acct.into(),
            entered_dr: dr.map(d),
            entered_cr: cr.map(d),
            accounted_dr: None,
            accounted_cr: None,
            description: label.into(),
            line_key: line_key("123", "OCT-26", acct, label),
        };
        GlBatch {
            settlement_id: "123".into(),
            ledger_id: "1".into(),
            period_name: "OCT-26".into(),
            original_period: None,
            accounting_date: NaiveDate::from_ymd_opt(2026, 10, 31).expect("date"),
            currency: "USD".into(),
            je_source: "Amazon".into(),
            je_category: "Amazon Settlement".into(),
            batch_name: "AMZ 123".into(),
            batch_description: "Amazon settlement 123".into(),
            journal_name: "AMZ 123 OCT-26".into(),
            journal_description: "Amazon settlement 123, October".into(),
            revision: 1,
            reversed_revisions: vec![],
            reference_period: None,
            conversion: None,
            lines: vec![
                l("01-000-1190-0000-000", Some("90.00"), None, "Clearing"),
                l("01-000-6110-0000-000", Some("10.00"), None, "Fees"),
                l("01-000-4010-0000-000", None, Some("100.00"), "Sales"),
            ],
        }
    }

    fn row(group: &str, rev: &str, status: &str, key: &str) -> Map<String, Value> {
        json!({"GROUP_ID": group, "REFERENCE21": "123", "REFERENCE22": "OCT-26", "REFERENCE23": key,
               "REFERENCE24": rev, "STATUS": status, "REQUEST_ID": "7000001"})
        .as_object()
        .expect("obj")
        .clone()
    }

    fn journal(rev: &str, status: &str, keys: &[String]) -> EbsJournal {
        EbsJournal {
            head: JournalRef {
                je_batch_id: "10".into(),
                je_header_id: "20".into(),
                batch_name: "b".into(),
                journal_name: "j".into(),
                status: status.into(),
                group_id: Some("5001".into()),
                request_id: Some("7000001".into()),
                total_dr: d("100"),
                total_cr: d("100"),
            },
            period_name: "OCT-26".into(),
            lines: keys
                .iter()
                .enumerate()
                .map(|(i, k)| EbsJournalLine {
                    je_line_num: (i + 1).to_string(),
                    account: "x".into(),
                    references: [
                        Some("123".into()),
                        Some("OCT-26".into()),
                        Some(k.clone()),
                        Some(rev.into()),
                        None,
                    ],
                })
                .collect(),
        }
    }

    fn req(phase: &str) -> RequestState {
        RequestState {
            request_id: "7000001".into(),
            program: "GLLEZL".into(),
            phase_code: phase.into(),
            status_code: if phase == "C" { "C".into() } else { "I".into() },
            dev_phase: String::new(),
            dev_status: String::new(),
            message: String::new(),
            parent_request_id: None,
        }
    }

    fn keys(b: &GlBatch) -> Vec<String> {
        b.lines.iter().map(|l| l.line_key.clone()).collect()
    }

    #[test]
    fn shape_checks_catch_unbalanced_and_two_sided_lines() {
        let mut b = batch();
        assert!(b.shape_failures().is_empty());
        b.lines[0].entered_dr = Some(d("91.00"));
        b.lines[1].entered_cr = Some(d("5"));
        let f = b.shape_failures();
        assert!(f.iter().any(|f| f.ebs_code() == "EU02"), "{f:?}");
        assert!(f.iter().any(|f| f.line == Some(2)), "{f:?}");
    }

    #[test]
    fn rows_carry_references_segments_and_no_accounted_in_ledger_currency() {
        let b = batch();
        let client = crate::ebs::EbsClient::new(crate::ebs::EbsConfig::new(
            "http://127.0.0.1:1",
            crate::ebs::Credentials {
                user: "U".into(),
                password: secrecy::SecretString::from("p".to_string()),
            },
            crate::ebs::Contexts::vision("1000", "1", "204"),
        ))
        .expect("client");
        let rows = client.gl_rows(&b, "5001");
        let r = rows[2].as_object().expect("row");
        assert_eq!(r["STATUS"], "NEW");
        assert_eq!(r["ACTUAL_FLAG"], "A");
        assert_eq!(r["GROUP_ID"], "5001");
        assert_eq!(r["SEGMENT3"], "4010");
        assert_eq!(r["SEGMENT5"], "000");
        assert_eq!(r["ENTERED_CR"], "100");
        assert!(r.get("ENTERED_DR").is_none());
        assert!(r.get("ACCOUNTED_CR").is_none());
        assert_eq!(r["REFERENCE21"], "123");
        assert_eq!(r["REFERENCE22"], "OCT-26");
        assert_eq!(r["REFERENCE23"], b.lines[2].line_key.as_str());
        assert_eq!(r["REFERENCE24"], "1");
        assert!(r.get("REFERENCE25").is_none());
        assert_eq!(r["REFERENCE1"], "AMZ 123");
        assert_eq!(r["REFERENCE4"], "AMZ 123 OCT-26");
        assert_eq!(r["REFERENCE10"], "Sales");
    }

    #[test]
    fn line_keys_are_stable_and_distinct() {
        let a = line_key("1", "OCT-26", "01-000-1190-0000-000", "Sales");
        assert_eq!(a, line_key("1", "OCT-26", "01-000-1190-0000-000", "Sales"));
        assert_ne!(a, line_key("1", "OCT-26", "01-000-1190-0000-000", "Fees"));
        assert_ne!(line_key("1", "2", "3", "45"), line_key("1", "2", "34", "5"));
        assert_eq!(a.len(), 32);
    }

    #[test]
    fn resume_from_nothing_starts_with_checks_or_continues_the_record() {
        let b = batch();
        let obs = Observation::default();
        assert_eq!(
            decide_resume(&b, None, &obs, None).expect("r").next,
            NextStep::Check
        );
        let mut rec = PostingRecord::new(&b, PostingStep::GroupAllocated);
        rec.group_id = Some("5001".into());
        assert_eq!(
            decide_resume(&b, Some(&rec), &obs, None).expect("r").next,
            NextStep::Stage
        );
        rec.step = PostingStep::Staged;
        let e = decide_resume(&b, Some(&rec), &obs, Some(&req("C"))).expect_err("vanished rows");
        assert!(matches!(e, EbsError::Inconsistent { .. }));
    }

    #[test]
    fn crash_after_staging_resubmits_under_a_fresh_run() {
        let b = batch();
        let obs = Observation {
            journals: vec![],
            rows: keys(&b)
                .iter()
                .map(|k| row("5001", "1", "NEW", k))
                .collect(),
        };
        // Record says only "allocated": the insert landed before the crash.
        let mut rec = PostingRecord::new(&b, PostingStep::GroupAllocated);
        rec.group_id = Some("5001".into());
        rec.interface_run_id = Some("900001".into());
        let r = decide_resume(&b, Some(&rec), &obs, None).expect("resume");
        assert_eq!(r.next, NextStep::Submit);
        assert_eq!(r.record.group_id.as_deref(), Some("5001"));
        assert_eq!(r.record.interface_run_id, None);
        assert_eq!(r.record.rows_staged, 3);
        // Submitted and still pending: wait for it, don't resubmit.
        rec.step = PostingStep::Submitted;
        rec.request_id = Some("7000001".into());
        let r = decide_resume(&b, Some(&rec), &obs, Some(&req("P"))).expect("resume");
        assert_eq!(r.next, NextStep::Await);
    }

    #[test]
    fn imported_journals_mean_confirm_and_other_live_revision_blocks() {
        let b = batch();
        let obs = Observation {
            journals: vec![journal("1", "U", &keys(&b))],
            rows: vec![],
        };
        let r = decide_resume(&b, None, &obs, None).expect("resume");
        assert_eq!(r.next, NextStep::Confirm);
        assert_eq!(r.record.group_id.as_deref(), Some("5001"));
        assert_eq!(r.record.request_id.as_deref(), Some("7000001"));

        let mut b2 = batch();
        b2.revision = 2;
        let e = decide_resume(&b2, None, &obs, None).expect_err("revision 1 live");
        assert!(
            matches!(
                e,
                EbsError::OtherRevisionLive {
                    found_revision: 1,
                    ..
                }
            ),
            "{e}"
        );
        b2.reversed_revisions = vec![1];
        assert_eq!(
            decide_resume(&b2, None, &obs, None).expect("ok").next,
            NextStep::Check
        );
    }

    #[test]
    fn rejected_rows_lead_to_confirm_then_restage_after_cleanup() {
        let b = batch();
        let ks = keys(&b);
        let obs = Observation {
            journals: vec![],
            rows: vec![
                row("5001", "1", "P", &ks[0]),
                row("5001", "1", "EF01", &ks[1]),
                row("5001", "1", "P", &ks[2]),
            ],
        };
        let r = decide_resume(&b, None, &obs, None).expect("resume");
        assert_eq!(r.next, NextStep::Confirm);
        assert_eq!(r.record.request_id.as_deref(), Some("7000001"));
        assert_eq!(
            obs.verdict(&b).expect("v"),
            Existing::Rejected {
                group_ids: vec!["5001".into()]
            }
        );
        let outcome = build_outcome(&b, "5001", None, &obs.rows, &[]);
        assert_eq!(outcome.status, GlStatus::Rejected);
        assert_eq!(
            outcome.lines[1].result,
            LineResult::Rejected {
                code: "EF01".into(),
                description: String::new()
            }
        );
        assert_eq!(
            outcome.lines[0].result,
            LineResult::HeldBack { code: "P".into() }
        );
    }

    #[test]
    fn partial_staging_is_inconsistent() {
        let b = batch();
        let ks = keys(&b);
        let obs = Observation {
            journals: vec![],
            rows: vec![row("5001", "1", "NEW", &ks[0])],
        };
        assert!(matches!(
            obs.verdict(&b),
            Err(EbsError::Inconsistent { .. })
        ));
    }

    #[test]
    fn outcome_imported_maps_each_line_to_its_journal_line() {
        let b = batch();
        let j = journal("1", "U", &keys(&b));
        let o = build_outcome(&b, "5001", None, &[], &[j]);
        assert_eq!(o.status, GlStatus::Imported);
        assert_eq!(o.request_id.as_deref(), Some("7000001"));
        assert_eq!(o.journals.len(), 1);
        assert_eq!(
            o.lines[2].result,
            LineResult::Imported {
                je_header_id: "20".into(),
                je_line_num: "3".into()
            }
        );
    }

    #[test]
    fn fx_batches_balance_in_both_currencies() {
        let mut a = batch();
        a.currency = "EUR".into();
        let mut b2 = batch();
        b2.currency = "EUR".into();
        b2.period_name = "NOV-26".into();
        let conv = Conversion {
            conversion_type: "User".into(),
            date: a.accounting_date,
            rate: d("1.0833"),
            user_rate: true,
        };
        let mut batches = vec![a, b2];
        apply_fx(
            &mut batches,
            &conv,
            "USD",
            Some(d("195.01")),
            "01-000-7990-0000-000",
            |l| l.account == "01-000-1190-0000-000",
        )
        .expect("fx");
        let mut clearing = Decimal::ZERO;
        for b in &batches {
            assert!(b.shape_failures().is_empty(), "{:?}", b.shape_failures());
            let (dr, cr) = b.accounted_totals();
            assert_eq!(dr, cr);
            clearing += b
                .lines
                .iter()
                .filter(|l| l.account == "01-000-1190-0000-000")
                .map(|l| l.accounted_dr.unwrap_or_default() - l.accounted_cr.unwrap_or_default())
                .sum::<Decimal>();
        }
        assert_eq!(clearing, d("195.01"));
        assert!(
            batches.iter().any(|b| b.lines.len() == 4),
            "a rounding line was added"
        );
    }
}
