//! What a posting came to: per line (imported, rejected with its EBS code, …) and for the
//! batch, read back from the interface rows and the journals EBS created.

use crate::ebs::error::EbsError;
use crate::ebs::wire::{dec_of, list, str_of};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::GlBatch;

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

pub(super) fn build_outcome(
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
