//! Reports 2021-06-30: finding settlement reports and downloading their documents.
//!
//! `getReports` pages carry a top-level `nextToken` that must be sent *alone*. Document
//! URLs are pre-signed for 5 minutes: an expired one (S3 answers 403 XML) is replaced by
//! calling `getReportDocument` again. GZIP follows `compressionAlgorithm`; the charset
//! comes from the download's `Content-Type`.

use chrono::{DateTime, Duration, Utc};
use futures::StreamExt;
use futures::stream::BoxStream;
use std::io::Read;
use url::Url;

use super::client::{SpApiClient, transport_problem};
use super::limiter::Operation;
use super::models::reports::{
    CompressionAlgorithm, Report, ReportDocument, ReportsList, SETTLEMENT_FLAT_FILE_V1,
    SETTLEMENT_FLAT_FILE_V2,
};
use super::orders::{iso, path_segment, token};
use super::region::check_url_allowed;
use super::{Error, Page, page_stream};
use crate::retry::human;

/// Filters for `getReports` (used on the first page only; later pages send `nextToken` alone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportsQuery {
    pub report_types: Vec<String>,
    pub processing_statuses: Vec<String>,
    pub marketplace_ids: Vec<String>,
    /// Amazon keeps reports 90 days; older `createdSince` is rejected.
    pub created_since: Option<DateTime<Utc>>,
    pub created_until: Option<DateTime<Utc>>,
    /// 1–100 (Amazon's default 10; this client asks for 100 unless told).
    pub page_size: Option<u32>,
}

impl ReportsQuery {
    /// The two flat-file settlement types (the XML type is not parsed here).
    pub fn settlements() -> Self {
        ReportsQuery {
            report_types: vec![
                SETTLEMENT_FLAT_FILE_V2.to_string(),
                SETTLEMENT_FLAT_FILE_V1.to_string(),
            ],
            processing_statuses: Vec::new(),
            marketplace_ids: Vec::new(),
            created_since: None,
            created_until: None,
            page_size: None,
        }
    }

    fn params(&self) -> Vec<(&'static str, String)> {
        let mut q = vec![("reportTypes", self.report_types.join(","))];
        if !self.processing_statuses.is_empty() {
            q.push(("processingStatuses", self.processing_statuses.join(",")));
        }
        if !self.marketplace_ids.is_empty() {
            q.push(("marketplaceIds", self.marketplace_ids.join(",")));
        }
        q.push((
            "pageSize",
            self.page_size.unwrap_or(100).clamp(1, 100).to_string(),
        ));
        if let Some(s) = self.created_since {
            q.push(("createdSince", iso(s)));
        }
        if let Some(u) = self.created_until {
            q.push(("createdUntil", iso(u)));
        }
        q
    }
}

/// How far back Amazon accepts `createdSince` (reports are kept 90 days).
pub const REPORTS_WINDOW_DAYS: i64 = 90;
/// A clamped `createdSince` stays this far inside the window (the server's clock is
/// known to about a second; its check runs a moment after ours).
pub const WINDOW_MARGIN_MINUTES: i64 = 60;

/// Whether Amazon refused a `createdSince` older than its 90-day window.
fn is_created_since_too_old(e: &Error) -> bool {
    match e {
        Error::Api {
            status: 400,
            message,
            details,
            ..
        } => {
            let text = format!("{message} {}", details.as_deref().unwrap_or("")).to_lowercase();
            text.contains("createdsince")
        }
        _ => false,
    }
}

/// A downloaded report document, decompressed, not yet decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadedDocument {
    pub report_document_id: String,
    pub bytes: Vec<u8>,
    /// `charset` from the download's `Content-Type`, when present.
    pub charset: Option<String>,
    pub content_type: Option<String>,
    /// True when the document was GZIP on the wire.
    pub was_compressed: bool,
}

enum DownloadProblem {
    /// The pre-signed URL is no longer accepted: get a fresh one.
    Expired(String),
    Transient(String),
    Fatal(String),
}

/// `charset=…` from a `Content-Type` value.
pub fn charset_from_content_type(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|param| {
        let (key, value) = param.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| value.trim().trim_matches('"').to_string())
            .filter(|v| !v.is_empty())
    })
}

impl SpApiClient {
    /// One `getReports` page: filters on the first page, `nextToken` alone afterwards.
    ///
    /// A first page refused because `createdSince` lies beyond Amazon's 90-day window
    /// (our clock and Amazon's disagree) is asked again once with `createdSince` moved
    /// inside the window by Amazon's clock, learned from the refusal's `Date` header.
    /// Nothing is lost: Amazon keeps no older report.
    pub async fn reports_page(
        &self,
        query: &ReportsQuery,
        next_token: Option<&str>,
    ) -> Result<Page<Report>, Error> {
        match self.reports_page_once(query, next_token).await {
            Err(e) if next_token.is_none() && is_created_since_too_old(&e) => {
                let floor = self.now() - Duration::days(REPORTS_WINDOW_DAYS)
                    + Duration::minutes(WINDOW_MARGIN_MINUTES);
                let Some(asked) = query.created_since.filter(|s| *s < floor) else {
                    return Err(e);
                };
                tracing::warn!(
                    asked = %iso(asked),
                    clamped = %iso(floor),
                    "getReports refused createdSince as older than 90 days by Amazon's clock; asking again from inside the window"
                );
                let mut clamped = query.clone();
                clamped.created_since = Some(floor);
                self.reports_page_once(&clamped, None).await
            }
            other => other,
        }
    }

    async fn reports_page_once(
        &self,
        query: &ReportsQuery,
        next_token: Option<&str>,
    ) -> Result<Page<Report>, Error> {
        let params = match next_token {
            Some(t) => vec![("nextToken", t.to_string())],
            None => query.params(),
        };
        let list: ReportsList = self
            .get_json(
                Operation::GetReports,
                "/reports/2021-06-30/reports",
                &params,
            )
            .await?;
        Ok(Page {
            items: list.reports,
            next_token: token(list.next_token),
        })
    }

    /// Every `getReports` page from `resume` or the start.
    pub fn reports(
        &self,
        query: ReportsQuery,
        resume: Option<String>,
    ) -> BoxStream<'static, Result<Page<Report>, Error>> {
        let client = self.clone();
        page_stream(
            resume,
            move |cursor| {
                let (client, query) = (client.clone(), query.clone());
                async move { client.reports_page(&query, cursor.as_deref()).await }
            },
            |page| page.next_token.clone(),
        )
    }

    pub async fn report(&self, report_id: &str) -> Result<Report, Error> {
        let path = format!("/reports/2021-06-30/reports/{}", path_segment(report_id));
        self.get_json(Operation::GetReport, &path, &[]).await
    }

    pub async fn report_document(&self, report_document_id: &str) -> Result<ReportDocument, Error> {
        let path = format!(
            "/reports/2021-06-30/documents/{}",
            path_segment(report_document_id)
        );
        self.get_json(Operation::GetReportDocument, &path, &[])
            .await
    }

    /// Fetches the document's URL and downloads it: fresh URL after expiry, retries on
    /// cut or failed downloads (bounded), GZIP undone, charset reported.
    pub async fn download_document(
        &self,
        report_document_id: &str,
    ) -> Result<DownloadedDocument, Error> {
        let mut document = self.report_document(report_document_id).await?;
        let policy = self.retry_policy();
        let mut failures = 0u32;
        loop {
            let problem = match self.try_download(&document).await? {
                Ok(downloaded) => return Ok(downloaded),
                Err(DownloadProblem::Fatal(message)) => {
                    return Err(Error::Download {
                        report_document_id: report_document_id.to_string(),
                        message,
                    });
                }
                Err(DownloadProblem::Expired(message)) => {
                    failures += 1;
                    if policy.allows_retry(failures) {
                        self.bump(|s| s.document_url_refreshes += 1);
                        document = self.report_document(report_document_id).await?;
                        continue;
                    }
                    message
                }
                Err(DownloadProblem::Transient(message)) => {
                    failures += 1;
                    if policy.allows_retry(failures) {
                        self.bump(|s| s.download_retries += 1);
                        tracing::info!(report_document_id, failures, problem = %message, "report download failed (attempt {failures}): {message}; retrying");
                        let why = format!("retry after download attempt {failures} failed");
                        self.pause_server(policy.delay(failures), "report download", &why)
                            .await?;
                        continue;
                    }
                    message
                }
            };
            return Err(Error::Download {
                report_document_id: report_document_id.to_string(),
                message: format!("gave up after {failures} attempts; last failure: {problem}"),
            });
        }
    }

    /// The document of a report (which must be `DONE`).
    pub async fn download_report(&self, report: &Report) -> Result<DownloadedDocument, Error> {
        let Some(document_id) = report.report_document_id.as_deref() else {
            return Err(Error::Settlement {
                report_id: report.report_id.clone(),
                message: format!(
                    "report is {} and has no document yet",
                    report.processing_status
                ),
            });
        };
        self.download_document(document_id).await
    }

    /// One download attempt; the outer `Err` is a cancellation (never retried).
    async fn try_download(
        &self,
        document: &ReportDocument,
    ) -> Result<Result<DownloadedDocument, DownloadProblem>, Error> {
        let timeouts = self.timeouts();
        let url = match Url::parse(&document.url) {
            Ok(url) => url,
            Err(e) => {
                return Ok(Err(DownloadProblem::Fatal(format!(
                    "document URL unreadable: {e}"
                ))));
            }
        };
        if let Err(e) = check_url_allowed(&url) {
            return Ok(Err(DownloadProblem::Fatal(e.to_string())));
        }
        // A plain GET: no SP-API headers go to S3. The answer must start within the JSON
        // limit; the body then gets time in proportion to its announced size.
        let send = self.http_for_download().get(url).send();
        let sent = self
            .in_flight(
                tokio::time::timeout(timeouts.json, send),
                "report download",
                timeouts.json,
            )
            .await?;
        let resp = match sent {
            Err(_) => {
                return Ok(Err(DownloadProblem::Transient(format!(
                    "download failed: transport: timed out (no answer within {})",
                    human(timeouts.json)
                ))));
            }
            Ok(Err(e)) => {
                return Ok(Err(DownloadProblem::Transient(format!(
                    "download failed: {}",
                    transport_problem(e, timeouts.json)
                ))));
            }
            Ok(Ok(resp)) => resp,
        };
        let limit = timeouts.download_for(resp.content_length());
        let read = self
            .in_flight(
                tokio::time::timeout(limit, self.read_download(document, resp, limit)),
                "report download",
                limit,
            )
            .await?;
        Ok(read.unwrap_or_else(|_| {
            Err(DownloadProblem::Transient(format!(
                "download cut: body not complete within {}",
                human(limit)
            )))
        }))
    }

    async fn read_download(
        &self,
        document: &ReportDocument,
        resp: reqwest::Response,
        limit: std::time::Duration,
    ) -> Result<DownloadedDocument, DownloadProblem> {
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let declared_len = resp.content_length();
        let body = resp.bytes().await.map_err(|e| {
            DownloadProblem::Transient(format!(
                "download cut (HTTP {status}): {}",
                transport_problem(e, limit)
            ))
        })?;
        if status == 403 {
            let text = String::from_utf8_lossy(&body);
            let code = xml_tag(&text, "Code").unwrap_or("AccessDenied");
            let message = xml_tag(&text, "Message").unwrap_or("forbidden");
            return Err(DownloadProblem::Expired(format!(
                "document URL refused: {code}: {message}"
            )));
        }
        if status == 429 || status >= 500 {
            return Err(DownloadProblem::Transient(format!(
                "download answered HTTP {status}"
            )));
        }
        if !(200..300).contains(&status) {
            let snippet: String = String::from_utf8_lossy(&body).chars().take(200).collect();
            return Err(DownloadProblem::Fatal(format!(
                "download answered HTTP {status}: {snippet}"
            )));
        }
        if let Some(expected) = declared_len
            && expected != body.len() as u64
        {
            return Err(DownloadProblem::Transient(format!(
                "download cut: {} of {expected} bytes",
                body.len()
            )));
        }
        let gzip = matches!(
            document.compression_algorithm,
            Some(CompressionAlgorithm::Gzip)
        );
        if let Some(CompressionAlgorithm::Other(other)) = &document.compression_algorithm {
            return Err(DownloadProblem::Fatal(format!(
                "unknown compressionAlgorithm {other:?}"
            )));
        }
        // With Content-Encoding: gzip the HTTP layer has already inflated it.
        let bytes = if gzip && body.starts_with(&[0x1f, 0x8b]) {
            let mut out = Vec::with_capacity(body.len() * 4);
            flate2::read::MultiGzDecoder::new(&body[..])
                .read_to_end(&mut out)
                .map_err(|e| {
                    DownloadProblem::Transient(format!("GZIP document cut or corrupt: {e}"))
                })?;
            out
        } else {
            body.to_vec()
        };
        Ok(DownloadedDocument {
            report_document_id: document.report_document_id.clone(),
            bytes,
            charset: content_type.as_deref().and_then(charset_from_content_type),
            content_type,
            was_compressed: gzip,
        })
    }
}

fn xml_tag<'a>(text: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let start = text.find(&open)? + open.len();
    let end = text[start..].find(&close)? + start;
    Some(text[start..end].trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charset_parsing() {
        assert_eq!(
            charset_from_content_type("text/plain; charset=ISO-8859-1").as_deref(),
            Some("ISO-8859-1")
        );
        assert_eq!(
            charset_from_content_type("text/tab-separated-values;Charset=\"Shift_JIS\"").as_deref(),
            Some("Shift_JIS")
        );
        assert_eq!(charset_from_content_type("text/plain"), None);
        assert_eq!(
            xml_tag("<Error><Code>AccessDenied</Code></Error>", "Code"),
            Some("AccessDenied")
        );
    }
}

/// A settlement report downloaded and parsed by the settlement engine.
#[derive(Debug, Clone, PartialEq)]
pub struct FetchedSettlement {
    pub report: Report,
    /// The bytes as decompressed (kept for the audit trail) and the charset used.
    pub document: DownloadedDocument,
    pub parsed: crate::ledger::parse::ParsedSettlement,
    /// Sum of every body amount; equals the summary's total on an intact file.
    pub body_sum: rust_decimal::Decimal,
    /// Downloads it took (a cut file is fetched again).
    pub downloads: u32,
}

impl FetchedSettlement {
    /// Whether the body adds up to the summary row's `total-amount` (Amazon's invariant).
    pub fn total_matches(&self) -> bool {
        self.body_sum == self.parsed.summary.total_amount
    }
}

impl SpApiClient {
    /// Downloads a settlement report and hands it to the settlement engine with the
    /// download's charset. A file that is cut (a short last line, or a body that does not
    /// add up to its total) is downloaded again, bounded; when two downloads are identical
    /// the file is what Amazon has, and a total mismatch is returned for review
    /// ([`FetchedSettlement::total_matches`]), never hidden.
    pub async fn fetch_settlement(&self, report: &Report) -> Result<FetchedSettlement, Error> {
        let policy = self.retry_policy();
        let mut previous: Option<Vec<u8>> = None;
        let mut downloads = 0u32;
        loop {
            let document = self.download_report(report).await?;
            downloads += 1;
            let identical_to_last = previous.as_deref() == Some(&document.bytes[..]);
            let last_chance = identical_to_last || downloads >= policy.max_attempts;
            match crate::ledger::parse::parse_settlement(
                &document.bytes,
                document.charset.as_deref(),
            ) {
                Ok(parsed) => {
                    let body_sum = parsed.rows.iter().map(|r| r.amount).sum();
                    let fetched = FetchedSettlement {
                        report: report.clone(),
                        document,
                        parsed,
                        body_sum,
                        downloads,
                    };
                    if fetched.total_matches() || last_chance {
                        return Ok(fetched);
                    }
                    tracing::warn!(report = %report.report_id, "settlement body does not add up to its total; downloading again");
                    previous = Some(fetched.document.bytes);
                }
                Err(e) => {
                    if last_chance {
                        return Err(Error::Settlement {
                            report_id: report.report_id.clone(),
                            message: format!("cannot read the settlement file: {e}"),
                        });
                    }
                    tracing::warn!(report = %report.report_id, error = %e, "settlement file unreadable; downloading again");
                    previous = Some(document.bytes);
                }
            }
            self.bump(|s| s.download_retries += 1);
        }
    }

    /// Every `DONE` settlement report of `query` (paged), downloaded and parsed,
    /// `concurrency` at a time, in listing order.
    pub async fn fetch_settlements(
        &self,
        query: ReportsQuery,
        concurrency: usize,
    ) -> Result<Vec<FetchedSettlement>, Error> {
        use futures::TryStreamExt;
        let pages: Vec<Page<Report>> = self.reports(query, None).try_collect().await?;
        let done: Vec<Report> = pages
            .into_iter()
            .flat_map(|p| p.items)
            .filter(|r| r.processing_status == super::models::reports::ProcessingStatus::Done)
            .collect();
        futures::stream::iter(done.iter().map(|report| self.fetch_settlement(report)))
            .buffered(concurrency.max(1))
            .try_collect()
            .await
    }
}
