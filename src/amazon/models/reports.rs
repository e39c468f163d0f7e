//! Reports 2021-06-30 models (unwrapped responses, camelCase).

use serde::{Deserialize, Serialize};
use std::fmt;

use super::{AmazonTime, open_enum};

/// The settlement report types (cannot be requested; Amazon generates them).
pub const SETTLEMENT_FLAT_FILE_V2: &str = "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2";
pub const SETTLEMENT_FLAT_FILE_V1: &str = "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE";
pub const SETTLEMENT_XML: &str = "GET_V2_SETTLEMENT_REPORT_DATA_XML";

open_enum! {
    /// `processingStatus`.
    ProcessingStatus {
        InQueue => "IN_QUEUE",
        InProgress => "IN_PROGRESS",
        Done => "DONE",
        Cancelled => "CANCELLED",
        Fatal => "FATAL",
    }
}

open_enum! {
    /// `compressionAlgorithm` (absent means plain).
    CompressionAlgorithm {
        Gzip => "GZIP",
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub report_id: String,
    pub report_type: String,
    #[serde(default)]
    pub marketplace_ids: Vec<String>,
    #[serde(default)]
    pub data_start_time: Option<AmazonTime>,
    #[serde(default)]
    pub data_end_time: Option<AmazonTime>,
    #[serde(default)]
    pub report_schedule_id: Option<String>,
    #[serde(default)]
    pub created_time: Option<AmazonTime>,
    pub processing_status: ProcessingStatus,
    #[serde(default)]
    pub processing_start_time: Option<AmazonTime>,
    #[serde(default)]
    pub processing_end_time: Option<AmazonTime>,
    #[serde(default)]
    pub report_document_id: Option<String>,
}

/// `getReports` response: the token is top-level (`nextToken`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportsList {
    #[serde(default)]
    pub reports: Vec<Report>,
    #[serde(default)]
    pub next_token: Option<String>,
}

/// `getReportDocument` response. The URL is pre-signed (a 5-minute credential), so
/// `Debug` shows only its host.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportDocument {
    pub report_document_id: String,
    pub url: String,
    #[serde(default)]
    pub compression_algorithm: Option<CompressionAlgorithm>,
}

impl fmt::Debug for ReportDocument {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let host = url::Url::parse(&self.url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_else(|| "?".to_string());
        f.debug_struct("ReportDocument")
            .field("report_document_id", &self.report_document_id)
            .field("url", &format_args!("https://{host}/[pre-signed]"))
            .field("compression_algorithm", &self.compression_algorithm)
            .finish()
    }
}
