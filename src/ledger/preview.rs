//! The `settlement preview` report: a [`Proposal`] as table, CSV or JSON text.
//!
//! Pure string building. The JSON is a stable contract for scripts (issue 2):
//! amounts are decimal strings at the currency's scale (never rounded: extra
//! digits are kept), instants RFC 3339 in UTC, fields in a fixed order.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use super::journal::{LineKind, Proposal};
use super::model::{SettlementFormat, SettlementSummary};
use super::money::{currency_scale, format_amount};
use super::parse::charset_note;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PreviewLine {
    pub account: String,
    pub label: String,
    pub debit: String,
    pub credit: String,
    pub rows: u64,
    pub original_period: Option<String>,
    pub kind: LineKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PreviewZeroNet {
    pub account: String,
    pub label: String,
    pub rows: u64,
    pub original_period: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PreviewJournal {
    pub period: String,
    pub accounting_date: String,
    pub lines: Vec<PreviewLine>,
    pub total_debit: String,
    pub total_credit: String,
    /// Groups that netted to zero: no line, rows kept.
    pub zero_net: Vec<PreviewZeroNet>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PreviewUnmapped {
    pub transaction_type: String,
    pub amount_type: String,
    pub amount_description: String,
    pub amount: String,
    pub rows: u64,
}

/// Everything `settlement preview` shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PreviewReport {
    pub settlement_id: String,
    pub format: SettlementFormat,
    pub currency: String,
    pub start: String,
    pub end: String,
    pub deposit_date: Option<String>,
    pub total_amount: String,
    pub rows: u64,
    pub rows_total: String,
    pub consistent: bool,
    pub journals: Vec<PreviewJournal>,
    pub unmapped: Vec<PreviewUnmapped>,
    /// `total_amount - rows_total`.
    pub difference: String,
    pub postable: bool,
    pub blockers: Vec<String>,
    pub timezone: String,
    pub mapping_hash: String,
    /// The character set the file was decoded with (`UTF-8`, `windows-1252`,
    /// `Shift_JIS`, …): part of how it was read, like its decimal mark.
    pub charset: String,
    /// Things to know about how the file was read, e.g. `decoded as
    /// windows-1252: not valid UTF-8` (empty for a UTF-8 file).
    pub notes: Vec<String>,
}

fn instant(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

impl PreviewReport {
    pub fn new(summary: &SettlementSummary, proposal: &Proposal, timezone: &str) -> PreviewReport {
        let scale = summary.currency.scale();
        let amt = |d| format_amount(d, scale);
        PreviewReport {
            settlement_id: summary.settlement_id.clone(),
            format: summary.format,
            currency: summary.currency.code().to_string(),
            start: instant(summary.start),
            end: instant(summary.end),
            deposit_date: summary.deposit_date.map(instant),
            total_amount: amt(summary.total_amount),
            rows: proposal.rows,
            rows_total: amt(proposal.rows_total),
            consistent: proposal.consistent,
            journals: proposal
                .journals
                .iter()
                .map(|j| PreviewJournal {
                    period: j.period.clone(),
                    accounting_date: j.accounting_date.to_string(),
                    lines: j
                        .lines
                        .iter()
                        .map(|l| PreviewLine {
                            account: l.account.clone(),
                            label: l.label.clone(),
                            debit: amt(l.debit),
                            credit: amt(l.credit),
                            rows: l.rows,
                            original_period: l.original_period.clone(),
                            kind: l.kind,
                        })
                        .collect(),
                    total_debit: amt(j.total_debit),
                    total_credit: amt(j.total_credit),
                    zero_net: j
                        .zero_net
                        .iter()
                        .map(|z| PreviewZeroNet {
                            account: z.account.clone(),
                            label: z.label.clone(),
                            rows: z.rows,
                            original_period: z.original_period.clone(),
                        })
                        .collect(),
                })
                .collect(),
            unmapped: proposal
                .unmapped
                .iter()
                .map(|u| PreviewUnmapped {
                    transaction_type: u.transaction_type.clone(),
                    amount_type: u.amount_type.clone(),
                    amount_description: u.amount_description.clone(),
                    amount: amt(u.amount),
                    rows: u.rows,
                })
                .collect(),
            difference: amt(proposal.difference),
            postable: proposal.postable,
            blockers: proposal.blockers.clone(),
            timezone: timezone.to_string(),
            mapping_hash: proposal.mapping_hash.clone(),
            charset: "UTF-8".to_string(),
            notes: Vec::new(),
        }
    }

    /// Names the charset the file was decoded with (`used`, see
    /// [`FileLocale::charset`](super::model::FileLocale)); when it is not
    /// UTF-8, a note says so and why (`given`: the charset label the caller
    /// passed to [`decode`](super::parse::decode), if any).
    pub fn with_charset(mut self, used: &str, given: Option<&str>) -> PreviewReport {
        self.charset = used.to_string();
        self.notes.retain(|n| !n.starts_with("decoded as "));
        self.notes.extend(charset_note(used, given));
        self
    }

    /// Pretty JSON with a trailing newline.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("strings and numbers serialize");
        s.push('\n');
        s
    }

    /// One line per verdict: `balanced`, `inconsistent` and/or `unmapped`, with why.
    pub fn verdict(&self) -> String {
        let balanced = self
            .journals
            .iter()
            .all(|j| j.total_debit == j.total_credit);
        let mut parts = Vec::new();
        if !self.consistent && self.rows == 0 {
            parts.push(format!(
                "INCONSISTENT: no body rows, only the summary row (total {})",
                self.total_amount
            ));
        } else if !self.consistent {
            parts.push(format!(
                "INCONSISTENT: rows sum to {} but the total is {} (difference {})",
                self.rows_total, self.total_amount, self.difference
            ));
        }
        if !self.unmapped.is_empty() {
            let rows: u64 = self.unmapped.iter().map(|u| u.rows).sum();
            parts.push(format!(
                "UNMAPPED: {rows} row(s) in {} combination(s)",
                self.unmapped.len()
            ));
        }
        if parts.is_empty() {
            parts.push(if balanced {
                format!(
                    "BALANCED: {} journal(s) balance; rows sum to the total {}",
                    self.journals.len(),
                    self.total_amount
                )
            } else {
                "UNBALANCED: a journal does not balance".to_string()
            });
        } else if balanced {
            parts.push("journals balance".to_string());
        }
        let post = if self.postable {
            "postable".to_string()
        } else {
            format!("NOT postable: {}", self.blockers.join("; "))
        };
        format!("Verdict: {} — {post}", parts.join("; "))
    }

    /// The aligned report for people.
    pub fn to_table(&self) -> String {
        let mut out = String::new();
        out.push_str(&format!(
            "Settlement {} ({}, {})  {} → {}  deposit {}\n",
            self.settlement_id,
            match self.format {
                SettlementFormat::V2 => "v2",
                SettlementFormat::V1 => "v1",
            },
            self.currency,
            self.start,
            self.end,
            self.deposit_date.as_deref().unwrap_or("-"),
        ));
        out.push_str(&format!(
            "Total {}  rows {} summing to {}  time zone {}  mapping {}\n",
            self.total_amount,
            self.rows,
            self.rows_total,
            self.timezone,
            &self.mapping_hash[..self.mapping_hash.len().min(12)]
        ));
        for note in &self.notes {
            out.push_str(&format!("Note: {note}\n"));
        }
        let label_of = |label: &str, original: &Option<String>| match original {
            Some(p) => format!("{label} [from {p}]"),
            None => label.to_string(),
        };
        for j in &self.journals {
            let mut rows: Vec<[String; 5]> = vec![[
                "Account".into(),
                "Label".into(),
                "Debit".into(),
                "Credit".into(),
                "Rows".into(),
            ]];
            for l in &j.lines {
                rows.push([
                    l.account.clone(),
                    label_of(&l.label, &l.original_period),
                    l.debit.clone(),
                    l.credit.clone(),
                    l.rows.to_string(),
                ]);
            }
            rows.push([
                "Total".into(),
                String::new(),
                j.total_debit.clone(),
                j.total_credit.clone(),
                String::new(),
            ]);
            out.push_str(&format!(
                "\nJournal {}  dated {}\n",
                j.period, j.accounting_date
            ));
            out.push_str(&aligned(&rows, &[false, false, true, true, true]));
            for z in &j.zero_net {
                out.push_str(&format!(
                    "  (netted to zero, no line: {} {}, {} row(s))\n",
                    z.account,
                    label_of(&z.label, &z.original_period),
                    z.rows
                ));
            }
        }
        if !self.unmapped.is_empty() {
            let mut rows: Vec<[String; 5]> = vec![[
                "Transaction type".into(),
                "Amount type".into(),
                "Description".into(),
                "Amount".into(),
                "Rows".into(),
            ]];
            for u in &self.unmapped {
                rows.push([
                    u.transaction_type.clone(),
                    u.amount_type.clone(),
                    u.amount_description.clone(),
                    u.amount.clone(),
                    u.rows.to_string(),
                ]);
            }
            out.push_str("\nUnmapped rows (no rule matches)\n");
            out.push_str(&aligned(&rows, &[false, false, false, true, true]));
        }
        out.push('\n');
        out.push_str(&self.verdict());
        out.push('\n');
        out
    }

    /// CSV for spreadsheets: one record per journal line, then one per unmapped
    /// combination (`kind` = `unmapped`, its amount as debit when negative,
    /// credit when positive, like a line), then one per note (`kind` = `note`,
    /// the note as label, no amounts).
    pub fn to_csv(&self) -> String {
        let mut out = String::from(
            "settlement_id,period,accounting_date,account,label,debit,credit,rows,original_period,kind\n",
        );
        for j in &self.journals {
            for l in &j.lines {
                csv_record(
                    &mut out,
                    &[
                        &self.settlement_id,
                        &j.period,
                        &j.accounting_date,
                        &l.account,
                        &l.label,
                        &l.debit,
                        &l.credit,
                        &l.rows.to_string(),
                        l.original_period.as_deref().unwrap_or(""),
                        kind_name(l.kind),
                    ],
                );
            }
        }
        let zero = format_amount(rust_decimal::Decimal::ZERO, currency_scale(&self.currency));
        for u in &self.unmapped {
            let label = format!(
                "{} | {} | {}",
                u.transaction_type, u.amount_type, u.amount_description
            );
            let (debit, credit) = match u.amount.strip_prefix('-') {
                Some(abs) => (abs.to_string(), zero.clone()),
                None => (zero.clone(), u.amount.clone()),
            };
            csv_record(
                &mut out,
                &[
                    &self.settlement_id,
                    "",
                    "",
                    "",
                    &label,
                    &debit,
                    &credit,
                    &u.rows.to_string(),
                    "",
                    "unmapped",
                ],
            );
        }
        // how the file was read: a record of kind `note`, no amounts
        for note in &self.notes {
            csv_record(
                &mut out,
                &[
                    &self.settlement_id,
                    "",
                    "",
                    "",
                    note,
                    "",
                    "",
                    "",
                    "",
                    "note",
                ],
            );
        }
        out
    }
}

fn kind_name(kind: LineKind) -> &'static str {
    match kind {
        LineKind::Mapped => "mapped",
        LineKind::Suspense => "suspense",
        LineKind::Difference => "difference",
        LineKind::Clearing => "clearing",
    }
}

fn csv_record(out: &mut String, fields: &[&str]) {
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        if f.contains([',', '"', '\n', '\r']) {
            out.push('"');
            out.push_str(&f.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(f);
        }
    }
    out.push('\n');
}

/// Columns padded to their widest cell (by characters); `right` aligns numbers.
fn aligned<const N: usize>(rows: &[[String; N]], right: &[bool; N]) -> String {
    let mut widths = [0usize; N];
    for r in rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    for r in rows {
        let mut line = String::from(" ");
        for (i, c) in r.iter().enumerate() {
            let pad = widths[i] - c.chars().count();
            line.push(' ');
            if right[i] {
                line.push_str(&" ".repeat(pad));
                line.push_str(c);
            } else {
                line.push_str(c);
                line.push_str(&" ".repeat(pad));
            }
            if i + 1 < N {
                line.push(' ');
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_only_when_needed() {
        let mut s = String::new();
        csv_record(&mut s, &["a", "b,c", "say \"hi\"", ""]);
        assert_eq!(s, "a,\"b,c\",\"say \"\"hi\"\"\",\n");
    }

    #[test]
    fn alignment_pads_by_chars() {
        let rows = vec![
            ["é".to_string(), "1.00".to_string()],
            ["abc".to_string(), "10.00".to_string()],
        ];
        assert_eq!(
            aligned(&rows, &[false, true]),
            "  é     1.00\n  abc  10.00\n"
        );
    }
}
