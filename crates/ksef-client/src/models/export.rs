//! Invoice export bodies: `POST /invoices/exports`, `GET /invoices/exports/{ref}` (API 2.7).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::common::StatusInfo;
use super::query::{InvoiceMetadata, InvoiceQueryFilters};
use super::session::EncryptionInfo;

/// Compression of an export package. KSeF's default is `Zip`; this client reads `Zip` packages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CompressionType {
    /// ZIP archive.
    Zip,
    /// gzip-compressed tar (API 2.7.1).
    TarGz,
}

/// `POST /invoices/exports` body.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ExportRequest<'a> {
    pub encryption: &'a EncryptionInfo,
    pub filters: &'a InvoiceQueryFilters,
    pub only_metadata: bool,
    pub compression_type: CompressionType,
}

/// `POST /invoices/exports` answer.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ExportResponse {
    pub reference_number: String,
}

/// Export status codes of `GET /invoices/exports/{ref}`.
pub mod status {
    /// In progress.
    pub const IN_PROGRESS: i32 = 100;
    /// Package ready.
    pub const DONE: i32 = 200;
    /// The package expired and can no longer be downloaded.
    pub const EXPIRED: i32 = 210;
    /// The symmetric key could not be decrypted.
    pub const KEY_ERROR: i32 = 415;
    /// `dateRange.from` is later than the HWM while `restrictToPermanentStorageHwmDate` is set.
    pub const BEYOND_HWM: i32 = 420;
    /// Unknown error.
    pub const UNKNOWN: i32 = 500;
    /// Cancelled by the system; start again.
    pub const CANCELLED: i32 = 550;
}

/// `GET /invoices/exports/{ref}` answer.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportStatus {
    /// 100 in progress, 200 done, 210 expired, 415, 420, 500, 550 (see [`status`]).
    pub status: StatusInfo,
    /// When processing ended.
    #[serde(default)]
    pub completed_date: Option<DateTime<Utc>>,
    /// After this the package can no longer be downloaded.
    #[serde(default)]
    pub package_expiration_date: Option<DateTime<Utc>>,
    /// The package, once the status is 200.
    #[serde(default)]
    pub package: Option<InvoicePackage>,
}

/// A prepared export package.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InvoicePackage {
    /// Invoices in the package (≤ 10 000).
    pub invoice_count: u64,
    /// Package size in bytes (before encryption).
    pub size: u64,
    /// Encrypted parts (≤ 50 MB each), to be downloaded, decrypted and joined in order.
    pub parts: Vec<InvoicePackagePart>,
    /// The package was cut at 10 000 invoices or 1 GB: export again from the last date.
    pub is_truncated: bool,
    /// Issue date of the last invoice (truncated, `dateType` Issue).
    #[serde(default)]
    pub last_issue_date: Option<NaiveDate>,
    /// Invoicing date of the last invoice (truncated, `dateType` Invoicing).
    #[serde(default)]
    pub last_invoicing_date: Option<DateTime<Utc>>,
    /// Permanent-storage date of the last invoice (truncated, `dateType` PermanentStorage).
    #[serde(default)]
    pub last_permanent_storage_date: Option<DateTime<Utc>>,
    /// Everything stored permanently up to this moment is complete (`dateType` PermanentStorage).
    #[serde(default)]
    pub permanent_storage_hwm_date: Option<DateTime<Utc>>,
    /// `Zip` or `TarGz` (absent before API 2.7.1: `Zip`).
    #[serde(default)]
    pub compression_type: Option<CompressionType>,
}

/// One encrypted part of a package, behind a pre-signed URL (no bearer, not rate limited).
#[derive(Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InvoicePackagePart {
    /// 1-based order of the part.
    pub ordinal_number: u32,
    /// File name, e.g. `…-001.zip.aes`.
    pub part_name: String,
    /// HTTP method (GET).
    pub method: String,
    /// Pre-signed download URL (a credential: never logged).
    pub url: String,
    /// Size before encryption.
    pub part_size: u64,
    /// SHA-256 (Base64) before encryption.
    pub part_hash: String,
    /// Size of the encrypted bytes.
    pub encrypted_part_size: u64,
    /// SHA-256 (Base64) of the encrypted bytes.
    pub encrypted_part_hash: String,
    /// The URL stops working after this.
    pub expiration_date: DateTime<Utc>,
}

/// Without the URL: its query string is an access signature.
impl std::fmt::Debug for InvoicePackagePart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InvoicePackagePart")
            .field("ordinal_number", &self.ordinal_number)
            .field("part_name", &self.part_name)
            .field("part_size", &self.part_size)
            .field("encrypted_part_size", &self.encrypted_part_size)
            .field("expiration_date", &self.expiration_date)
            .finish_non_exhaustive()
    }
}

/// `_metadata.json` of a package.
#[derive(Deserialize)]
pub(crate) struct MetadataFile {
    pub invoices: Vec<InvoiceMetadata>,
}
