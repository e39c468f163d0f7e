//! The posting steps (check, allocate, stage, submit, await, confirm), each taking the last
//! [`PostingRecord`] and returning the next, and [`EbsClient::post_gl_batch`] running them.

use crate::ebs::EbsClient;
use crate::ebs::context::Module;
use crate::ebs::error::EbsError;
use crate::ebs::idempotency::Existing;
use crate::ebs::transport::Retry;
use crate::ebs::wire::str_of;
use serde_json::json;

use super::outcome::{build_outcome, parse_journals};
use super::{EbsJournal, GlBatch, NextStep, PostingRecord, PostingStep};

impl EbsClient {
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
                    self.pause(
                        self.cfg.retry.delay(attempt + 1),
                        "GL_INTERFACE insert",
                        "retry: the failed insert did not land",
                    )
                    .await?;
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
                    self.pause(
                        self.cfg.retry.delay(attempt + 1),
                        "SUBMIT_CP_GLLEZL",
                        "retry after a failed submission",
                    )
                    .await?;
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
}
