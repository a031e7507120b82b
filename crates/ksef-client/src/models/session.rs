//! Online and batch session bodies, session and invoice statuses.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::common::{FormCode, StatusInfo};
use crate::classify::{self, ErrorClass};

/// The wrapped AES key sent when opening a session.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EncryptionInfo {
    /// RSA-OAEP-wrapped AES key, Base64.
    pub encrypted_symmetric_key: String,
    /// AES IV, Base64.
    pub initialization_vector: String,
    /// Which MF key wrapped it.
    pub public_key_id: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OpenOnlineSessionRequest<'a> {
    pub form_code: &'a FormCode,
    pub encryption: &'a EncryptionInfo,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OpenOnlineSessionResponse {
    pub reference_number: String,
    #[serde(default)]
    pub valid_until: Option<DateTime<Utc>>,
}

/// `POST /sessions/online/{ref}/invoices` body.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SendInvoiceRequest {
    /// SHA-256 (Base64) of the XML bytes.
    pub invoice_hash: String,
    /// Length of the XML bytes.
    pub invoice_size: u64,
    /// SHA-256 (Base64) of the ciphertext.
    pub encrypted_invoice_hash: String,
    /// Length of the ciphertext.
    pub encrypted_invoice_size: u64,
    /// Ciphertext, Base64.
    pub encrypted_invoice_content: String,
    /// Invoice issued in an offline mode.
    pub offline_mode: bool,
    /// Technical correction: hash of the rejected original.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hash_of_corrected_invoice: Option<String>,
}

/// One part of a batch archive as declared when opening the session.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchFilePart {
    /// 1-based.
    pub ordinal_number: u32,
    /// Encrypted part size.
    pub file_size: u64,
    /// SHA-256 (Base64) of the encrypted part.
    pub file_hash: String,
}

/// The whole archive as declared when opening a batch session.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchFileInfo {
    /// Unencrypted archive size.
    pub file_size: u64,
    /// SHA-256 (Base64) of the unencrypted archive.
    pub file_hash: String,
    /// `Zip`.
    pub compression_type: &'static str,
    /// The parts.
    pub file_parts: Vec<BatchFilePart>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OpenBatchSessionRequest<'a> {
    pub form_code: &'a FormCode,
    pub batch_file: &'a BatchFileInfo,
    pub encryption: &'a EncryptionInfo,
    pub offline_mode: bool,
}

/// Where and how to upload one part.
#[derive(Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PartUploadRequest {
    /// Part number (1-based).
    pub ordinal_number: u32,
    /// HTTP method, normally `PUT`.
    pub method: String,
    /// Pre-signed URL (carries an access signature: not logged).
    pub url: String,
    /// Headers to send, e.g. `x-ms-blob-type: BlockBlob`.
    #[serde(default)]
    pub headers: BTreeMap<String, Option<String>>,
}

impl std::fmt::Debug for PartUploadRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartUploadRequest")
            .field("ordinal_number", &self.ordinal_number)
            .field("method", &self.method)
            .field("url", &"[PRE-SIGNED]")
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OpenBatchSessionResponse {
    pub reference_number: String,
    pub part_upload_requests: Vec<PartUploadRequest>,
}

/// One page of a session's collective UPO.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpoPage {
    /// UPO page reference.
    pub reference_number: String,
    /// Pre-signed download link.
    pub download_url: String,
    /// Link expiry.
    #[serde(default)]
    pub download_url_expiration_date: Option<DateTime<Utc>>,
}

/// Collective UPO of a session.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct UpoInfo {
    /// Pages (≤ 10 000 entries each).
    #[serde(default)]
    pub pages: Vec<UpoPage>,
}

/// `GET /sessions/{ref}` answer.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionStatus {
    /// Online: 100 open, 170 closed, 200 processed, 415/440/445/500 failed.
    /// Batch: 100 started, 150 processing, 200 processed, 405–445/500 failed.
    pub status: StatusInfo,
    /// Created.
    #[serde(default)]
    pub date_created: Option<DateTime<Utc>>,
    /// Last change.
    #[serde(default)]
    pub date_updated: Option<DateTime<Utc>>,
    /// Session expiry.
    #[serde(default)]
    pub valid_until: Option<DateTime<Utc>>,
    /// Collective UPO, once generated.
    #[serde(default)]
    pub upo: Option<UpoInfo>,
    /// Invoices received.
    #[serde(default)]
    pub invoice_count: Option<u64>,
    /// Invoices accepted.
    #[serde(default)]
    pub successful_invoice_count: Option<u64>,
    /// Invoices rejected.
    #[serde(default)]
    pub failed_invoice_count: Option<u64>,
}

impl SessionStatus {
    /// True while KSeF still works on the session (open, closed-not-processed, processing).
    pub fn is_pending(&self) -> bool {
        classify::classify_session_status(self.status.code).is_none() && self.status.code != 200
    }

    /// The failure class, `None` while pending or on success.
    pub fn failure_class(&self) -> Option<ErrorClass> {
        classify::classify_session_status(self.status.code)
    }
}

/// Status of one invoice in a session.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionInvoiceStatus {
    /// Position in the session.
    #[serde(default)]
    pub ordinal_number: Option<u64>,
    /// Invoice number (P_2), once parsed.
    #[serde(default)]
    pub invoice_number: Option<String>,
    /// KSeF number, once accepted.
    #[serde(default)]
    pub ksef_number: Option<String>,
    /// Invoice reference.
    pub reference_number: String,
    /// SHA-256 (Base64) of the XML, for correlating batch invoices.
    pub invoice_hash: String,
    /// File name inside a batch archive.
    #[serde(default)]
    pub invoice_file_name: Option<String>,
    /// When the KSeF number was assigned.
    #[serde(default)]
    pub acquisition_date: Option<DateTime<Utc>>,
    /// When KSeF accepted the invoice for processing.
    #[serde(default)]
    pub invoicing_date: Option<DateTime<Utc>>,
    /// When the invoice reached permanent storage.
    #[serde(default)]
    pub permanent_storage_date: Option<DateTime<Utc>>,
    /// Pre-signed UPO link.
    #[serde(default)]
    pub upo_download_url: Option<String>,
    /// UPO link expiry.
    #[serde(default)]
    pub upo_download_url_expiration_date: Option<DateTime<Utc>>,
    /// `Online` or `Offline`.
    #[serde(default)]
    pub invoicing_mode: Option<String>,
    /// 100 accepted, 150 processing, 200 success, ≥ 405 failure (440 duplicate, 450 semantic …).
    pub status: StatusInfo,
}

impl SessionInvoiceStatus {
    /// True while the invoice is still being processed (100, 150).
    pub fn is_pending(&self) -> bool {
        matches!(self.status.code, 100 | 150)
    }

    /// True when accepted with a KSeF number (200).
    pub fn is_success(&self) -> bool {
        self.status.code == 200
    }

    /// The failure class, `None` while pending or on success.
    pub fn failure_class(&self) -> Option<ErrorClass> {
        classify::classify_invoice_status(self.status.code)
    }
}

/// A page of session invoices.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionInvoicesPage {
    /// Pass back as `x-continuation-token` for the next page; `None` on the last page.
    #[serde(default)]
    pub continuation_token: Option<String>,
    /// The invoices.
    #[serde(default)]
    pub invoices: Vec<SessionInvoiceStatus>,
}

/// `SessionType` of `GET /sessions`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionType {
    /// Interactive (single invoices).
    Online,
    /// Batch (zip packages).
    Batch,
}

impl SessionType {
    /// The value KSeF expects.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Online => "Online",
            Self::Batch => "Batch",
        }
    }
}

/// `CommonSessionStatus`: the coarse state `GET /sessions` filters on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CommonSessionStatus {
    /// Open, closed but not processed, or processing.
    InProgress,
    /// Processed (some invoices may still have been rejected).
    Succeeded,
    /// Errors when opening or closing the session.
    Failed,
    /// Batch upload window missed, or an online session closed with no invoice.
    Cancelled,
}

impl CommonSessionStatus {
    /// The value KSeF expects.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InProgress => "InProgress",
            Self::Succeeded => "Succeeded",
            Self::Failed => "Failed",
            Self::Cancelled => "Cancelled",
        }
    }
}

/// Filters of `GET /sessions`; only the type is required.
#[derive(Clone, Debug)]
pub struct SessionQuery {
    /// Online or batch sessions.
    pub session_type: SessionType,
    /// One session by reference.
    pub reference_number: Option<String>,
    /// Created at or after.
    pub date_created_from: Option<DateTime<Utc>>,
    /// Created at or before.
    pub date_created_to: Option<DateTime<Utc>>,
    /// Closed at or after.
    pub date_closed_from: Option<DateTime<Utc>>,
    /// Closed at or before.
    pub date_closed_to: Option<DateTime<Utc>>,
    /// Last activity at or after.
    pub date_modified_from: Option<DateTime<Utc>>,
    /// Last activity at or before.
    pub date_modified_to: Option<DateTime<Utc>>,
    /// Any of these states (empty: all).
    pub statuses: Vec<CommonSessionStatus>,
}

impl SessionQuery {
    /// All sessions of one type.
    pub fn of(session_type: SessionType) -> Self {
        Self {
            session_type,
            reference_number: None,
            date_created_from: None,
            date_created_to: None,
            date_closed_from: None,
            date_closed_to: None,
            date_modified_from: None,
            date_modified_to: None,
            statuses: Vec::new(),
        }
    }
}

/// One session in `GET /sessions` (`SessionsQueryResponseItem`).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionSummary {
    /// Session reference.
    pub reference_number: String,
    /// Session status, as in `GET /sessions/{ref}`.
    pub status: StatusInfo,
    /// Created.
    pub date_created: DateTime<Utc>,
    /// Last activity.
    pub date_updated: DateTime<Utc>,
    /// An open online session is closed automatically after this.
    #[serde(default)]
    pub valid_until: Option<DateTime<Utc>>,
    /// Invoices received, including those still processed.
    pub total_invoice_count: u64,
    /// Invoices accepted.
    pub successful_invoice_count: u64,
    /// Invoices rejected.
    pub failed_invoice_count: u64,
}

/// A page of `GET /sessions`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionsPage {
    /// Pass back as `x-continuation-token` for the next page; `None` or empty on the last page.
    #[serde(default)]
    pub continuation_token: Option<String>,
    /// The sessions.
    #[serde(default)]
    pub sessions: Vec<SessionSummary>,
}
