//! "Is it already there?" — asked before any staging and before any retry.
//!
//! A batch is identified in EBS by `REFERENCE21` (settlement), `REFERENCE22` (period) and
//! `REFERENCE24` (revision) on its interface rows, which Journal Import copies into the
//! journal lines' `REFERENCE_1/2/4`. Another live revision of the same settlement and period
//! blocks the write (it would double the amounts) unless that revision was reversed.

use crate::ebs::EbsClient;
use crate::ebs::context::Module;
use crate::ebs::error::EbsError;
use crate::ebs::gl::{EbsJournal, GlBatch, parse_journals};
use crate::ebs::transport::Retry;
use crate::ebs::wire::str_of;
use serde_json::{Map, Value, json};

/// What EBS holds for a settlement and period (every revision).
#[derive(Debug, Clone, Default)]
pub struct Observation {
    pub journals: Vec<EbsJournal>,
    pub rows: Vec<Map<String, Value>>,
}

/// What EBS holds for this very revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Existing {
    /// Imported: journals carry the lines.
    Journals {
        group_id: Option<String>,
        request_id: Option<String>,
    },
    /// Rows wait in GL_INTERFACE with STATUS NEW.
    Staged {
        group_id: String,
        rows: usize,
    },
    /// Rows of these groups were rejected by an import (oldest first).
    Rejected {
        group_ids: Vec<String>,
    },
    Nothing,
}

fn revision_of_row(r: &Map<String, Value>) -> Option<u32> {
    str_of(r, "REFERENCE24").and_then(|s| s.trim().parse().ok())
}

fn revision_of_journal(j: &EbsJournal, settlement: &str, period: &str) -> Option<u32> {
    j.lines.iter().find_map(|l| {
        (l.references[0].as_deref() == Some(settlement)
            && l.references[1].as_deref() == Some(period))
        .then(|| {
            l.references[3]
                .as_deref()
                .and_then(|s| s.trim().parse().ok())
        })
        .flatten()
    })
}

impl Observation {
    /// Decides what exists for `batch.revision`; another live revision is an error.
    pub fn verdict(&self, batch: &GlBatch) -> Result<Existing, EbsError> {
        let other_live = |found: u32, place: &str| EbsError::OtherRevisionLive {
            settlement_id: batch.settlement_id.clone(),
            period: batch.period_name.clone(),
            revision: batch.revision,
            found_revision: found,
            place: place.to_string(),
        };
        let mut mine: Vec<&EbsJournal> = Vec::new();
        for j in &self.journals {
            match revision_of_journal(j, &batch.settlement_id, batch.key_period()) {
                Some(r) if r == batch.revision => mine.push(j),
                Some(r) if batch.reversed_revisions.contains(&r) => {}
                Some(r) => {
                    return Err(other_live(
                        r,
                        &format!("journal {} ({})", j.head.journal_name, j.head.je_header_id),
                    ));
                }
                None => {}
            }
        }
        if let Some(j) = mine.first() {
            return Ok(Existing::Journals {
                group_id: j.head.group_id.clone(),
                request_id: j.head.request_id.clone(),
            });
        }
        let mut new_groups: Vec<(String, usize)> = Vec::new();
        let mut rejected: Vec<String> = Vec::new();
        for r in &self.rows {
            let status = str_of(r, "STATUS").unwrap_or_default();
            let group = str_of(r, "GROUP_ID").unwrap_or_default();
            match revision_of_row(r) {
                Some(rev) if rev == batch.revision => {
                    if status == "NEW" {
                        match new_groups.iter_mut().find(|(g, _)| *g == group) {
                            Some((_, n)) => *n += 1,
                            None => new_groups.push((group, 1)),
                        }
                    } else if !rejected.contains(&group) {
                        rejected.push(group);
                    }
                }
                Some(rev) if status == "NEW" && !batch.reversed_revisions.contains(&rev) => {
                    return Err(other_live(rev, &format!("GL_INTERFACE group {group}")));
                }
                _ => {}
            }
        }
        match new_groups.as_slice() {
            [] => {}
            [(g, n)] if *n == batch.lines.len() => {
                return Ok(Existing::Staged {
                    group_id: g.clone(),
                    rows: *n,
                });
            }
            _ => {
                return Err(EbsError::Inconsistent {
                    settlement_id: batch.settlement_id.clone(),
                    period: batch.period_name.clone(),
                    detail: format!(
                        "GL_INTERFACE holds NEW rows {new_groups:?} (group, rows) but the batch has {} lines",
                        batch.lines.len()
                    ),
                });
            }
        }
        if rejected.is_empty() {
            Ok(Existing::Nothing)
        } else {
            Ok(Existing::Rejected {
                group_ids: rejected,
            })
        }
    }

    /// REQUEST_ID written on a group's interface rows by the import.
    pub fn request_of(&self, group: Option<&str>) -> Option<String> {
        let group = group?;
        self.rows
            .iter()
            .filter(|r| str_of(r, "GROUP_ID").as_deref() == Some(group))
            .find_map(|r| str_of(r, "REQUEST_ID"))
    }
}

impl EbsClient {
    /// Reads interface rows and journals carrying this settlement and period (every revision).
    pub async fn gl_existing(&self, batch: &GlBatch) -> Result<Observation, EbsError> {
        let rows = self
            .read_rows(
                Module::Gl,
                "GL_INTERFACE",
                &[
                    ("REFERENCE21", batch.settlement_id.clone()),
                    ("REFERENCE22", batch.key_period().to_string()),
                ],
            )
            .await?;
        let journals = self
            .journals_by_reference(
                &batch.je_source,
                &batch.ledger_id,
                &batch.settlement_id,
                batch.key_period(),
                None,
            )
            .await?;
        Ok(Observation { journals, rows })
    }

    /// Journals whose lines carry these references (`get_journals_by_reference`).
    pub async fn journals_by_reference(
        &self,
        je_source: &str,
        ledger_id: &str,
        settlement_id: &str,
        period: &str,
        revision: Option<u32>,
    ) -> Result<Vec<EbsJournal>, EbsError> {
        let mut p = json!({
            "P_USER_JE_SOURCE_NAME": je_source,
            "P_LEDGER_ID": ledger_id,
            "P_REFERENCE_1": settlement_id,
            "P_REFERENCE_2": period,
        });
        if let Some(r) = revision {
            p["P_REFERENCE_4"] = json!(r.to_string());
        }
        let out = self
            .custom(Module::Gl, "get_journals_by_reference", p, Retry::Safe)
            .await?;
        parse_journals("get_journals_by_reference", &out)
    }
}
