//! The GL batch the client posts (one settlement × one period) and the checks on its shape
//! that need no EBS.

use crate::ebs::checks::{CheckFailure, CheckReason};
use crate::ledger::fx::Conversion;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

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
    /// REFERENCE23: stable key of (settlement, period, account, label), see
    /// [`line_key`](super::line_key).
    pub line_key: String,
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
