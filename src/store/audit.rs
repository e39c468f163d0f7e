//! The audit trail: append-only, sequenced entries saying who did what to which
//! settlement, when, and the hash of what was acted on. Pure types and
//! rendering; the store appends them.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

/// What was done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    /// A settlement file, event group or order was fetched from Amazon.
    Pull,
    /// A batch was proposed (or re-proposed) with a mapping version.
    Proposal,
    Approval,
    /// An approval was withdrawn or lapsed.
    Unapproval,
    /// Interface rows were inserted in EBS.
    Staging,
    /// The import program was submitted.
    Submission,
    /// EBS reported the result (imported, posted, rejected, vanished).
    Outcome,
    MappingChange,
    /// A batch was re-posted as a new revision, or in-flight work was reconciled after a restart.
    Replay,
    Reversal,
    Archive,
    /// Item listings were patched.
    ItemPatch,
}

impl AuditAction {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::Pull => "pull",
            AuditAction::Proposal => "proposal",
            AuditAction::Approval => "approval",
            AuditAction::Unapproval => "unapproval",
            AuditAction::Staging => "staging",
            AuditAction::Submission => "submission",
            AuditAction::Outcome => "outcome",
            AuditAction::MappingChange => "mapping_change",
            AuditAction::Replay => "replay",
            AuditAction::Reversal => "reversal",
            AuditAction::Archive => "archive",
            AuditAction::ItemPatch => "item_patch",
        }
    }
}

impl fmt::Display for AuditAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An entry to append (the store assigns its sequence number).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewAuditEntry {
    /// Passed in by the caller (the CLI uses `Utc::now()`), never read from a hidden clock.
    pub time: DateTime<Utc>,
    /// The configured user, else the OS user; `headless` for unattended runs.
    pub actor: String,
    pub action: AuditAction,
    #[serde(default)]
    pub settlement_id: Option<String>,
    /// The batch's period, when the action concerns one batch.
    #[serde(default)]
    pub period: Option<String>,
    /// Hex SHA-256 of what was acted on (file, proposal, mapping).
    #[serde(default)]
    pub sha256: Option<String>,
    #[serde(default)]
    pub details: serde_json::Value,
}

impl NewAuditEntry {
    pub fn new(time: DateTime<Utc>, actor: impl Into<String>, action: AuditAction) -> Self {
        NewAuditEntry {
            time,
            actor: actor.into(),
            action,
            settlement_id: None,
            period: None,
            sha256: None,
            details: serde_json::Value::Null,
        }
    }

    pub fn settlement(mut self, id: impl Into<String>) -> Self {
        self.settlement_id = Some(id.into());
        self
    }

    pub fn period(mut self, period: impl Into<String>) -> Self {
        self.period = Some(period.into());
        self
    }

    pub fn sha256(mut self, hash: impl Into<String>) -> Self {
        self.sha256 = Some(hash.into());
        self
    }

    pub fn details(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }
}

/// A stored entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// 1, 2, 3, … with no holes (`store verify` checks).
    pub seq: u64,
    pub time: DateTime<Utc>,
    pub actor: String,
    pub action: AuditAction,
    #[serde(default)]
    pub settlement_id: Option<String>,
    #[serde(default)]
    pub period: Option<String>,
    #[serde(default)]
    pub sha256: Option<String>,
    #[serde(default)]
    pub details: serde_json::Value,
}

impl AuditEntry {
    pub fn from_new(seq: u64, new: NewAuditEntry) -> Self {
        AuditEntry {
            seq,
            time: new.time,
            actor: new.actor,
            action: new.action,
            settlement_id: new.settlement_id,
            period: new.period,
            sha256: new.sha256,
            details: new.details,
        }
    }
}

/// How `ml-connector audit` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuditFormat {
    #[default]
    Table,
    Csv,
    Json,
}

impl std::str::FromStr for AuditFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "table" => Ok(AuditFormat::Table),
            "csv" => Ok(AuditFormat::Csv),
            "json" => Ok(AuditFormat::Json),
            other => Err(format!("unknown format `{other}` (table, csv or json)")),
        }
    }
}

const COLUMNS: [&str; 8] = [
    "seq",
    "time",
    "actor",
    "action",
    "settlement",
    "period",
    "sha256",
    "details",
];

fn cells(entry: &AuditEntry) -> [String; 8] {
    [
        entry.seq.to_string(),
        entry.time.to_rfc3339_opts(SecondsFormat::Secs, true),
        entry.actor.clone(),
        entry.action.to_string(),
        entry.settlement_id.clone().unwrap_or_default(),
        entry.period.clone().unwrap_or_default(),
        entry.sha256.clone().unwrap_or_default(),
        if entry.details.is_null() {
            String::new()
        } else {
            entry.details.to_string()
        },
    ]
}

/// Renders entries as an aligned table, RFC 4180 CSV, or a JSON array.
pub fn render(entries: &[AuditEntry], format: AuditFormat) -> String {
    match format {
        AuditFormat::Json => {
            let mut out = serde_json::to_string_pretty(entries).unwrap_or_else(|_| "[]".into());
            out.push('\n');
            out
        }
        AuditFormat::Csv => {
            let mut out = COLUMNS.join(",");
            out.push_str("\r\n");
            for entry in entries {
                let row: Vec<String> = cells(entry).iter().map(|c| csv_field(c)).collect();
                out.push_str(&row.join(","));
                out.push_str("\r\n");
            }
            out
        }
        AuditFormat::Table => {
            let rows: Vec<[String; 8]> = entries
                .iter()
                .map(|e| {
                    let mut c = cells(e);
                    // A table shows a recognisable prefix; csv/json carry the whole hash.
                    if c[6].len() > 12 {
                        c[6].truncate(12);
                    }
                    c
                })
                .collect();
            let mut widths = COLUMNS.map(|c| c.chars().count());
            for row in &rows {
                for (w, cell) in widths.iter_mut().zip(row.iter()) {
                    *w = (*w).max(cell.chars().count());
                }
            }
            let mut out = String::new();
            let line = |cells: &[String], out: &mut String| {
                let parts: Vec<String> = cells
                    .iter()
                    .zip(widths.iter())
                    .enumerate()
                    .map(|(i, (cell, w))| {
                        if i == cells.len() - 1 {
                            cell.clone()
                        } else {
                            format!("{cell:<w$}")
                        }
                    })
                    .collect();
                out.push_str(parts.join("  ").trim_end());
                out.push('\n');
            };
            line(&COLUMNS.map(String::from), &mut out);
            for row in &rows {
                line(row, &mut out);
            }
            if rows.is_empty() {
                out.push_str("(no audit entries)\n");
            }
            out
        }
    }
}

fn csv_field(value: &str) -> String {
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_string()
    }
}
