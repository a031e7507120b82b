//! Invoice metadata query bodies.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::common::FormCode;

/// Which role the context plays on the invoices searched.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SubjectType {
    /// Seller (Podmiot1): invoices issued.
    Subject1,
    /// Buyer (Podmiot2): purchase invoices.
    Subject2,
    /// Third party (Podmiot3).
    Subject3,
    /// Authorised subject.
    SubjectAuthorized,
}

/// Which date the range applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DateType {
    /// Issue date (P_1).
    Issue,
    /// Date KSeF accepted the invoice.
    Invoicing,
    /// Date the invoice reached permanent storage (use for incremental sync).
    PermanentStorage,
}

/// Date range (≤ 3 months).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DateRange {
    /// Date kind.
    pub date_type: DateType,
    /// Start (inclusive).
    pub from: DateTime<Utc>,
    /// End; KSeF assumes now when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<DateTime<Utc>>,
    /// Cap `to` at the permanent-storage high-water mark (PermanentStorage only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restrict_to_permanent_storage_hwm_date: Option<bool>,
}

/// `POST /invoices/query/metadata` filters (the commonly used subset; all optional but two).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InvoiceQueryFilters {
    /// Role of the context.
    pub subject_type: SubjectType,
    /// Date range.
    pub date_range: DateRange,
    /// Exact KSeF number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ksef_number: Option<String>,
    /// Exact invoice number (P_2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invoice_number: Option<String>,
    /// Seller NIP.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seller_nip: Option<String>,
    /// Currency codes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency_codes: Option<Vec<String>>,
    /// `FA`, `PEF`, `FA_RR`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub form_type: Option<String>,
    /// `Vat`, `Kor`, `Zal` …
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invoice_types: Option<Vec<String>>,
    /// Only invoices with / without attachments.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub has_attachment: Option<bool>,
}

impl InvoiceQueryFilters {
    /// Filters by role and date range only.
    pub fn new(subject_type: SubjectType, date_range: DateRange) -> Self {
        Self {
            subject_type,
            date_range,
            ksef_number: None,
            invoice_number: None,
            seller_nip: None,
            currency_codes: None,
            form_type: None,
            invoice_types: None,
            has_attachment: None,
        }
    }
}

/// Seller of an invoice.
#[derive(Clone, Debug, Deserialize)]
pub struct MetadataSeller {
    /// NIP.
    pub nip: String,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
}

/// Buyer identifier.
#[derive(Clone, Debug, Deserialize)]
pub struct BuyerIdentifier {
    /// `Nip`, `VatUe`, `Other`, `None`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Value.
    #[serde(default)]
    pub value: Option<String>,
}

/// Buyer of an invoice.
#[derive(Clone, Debug, Deserialize)]
pub struct MetadataBuyer {
    /// Identifier.
    pub identifier: BuyerIdentifier,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
}

/// One invoice's metadata. Amounts are JSON numbers, kept as `f64`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InvoiceMetadata {
    /// KSeF number.
    pub ksef_number: String,
    /// P_2.
    pub invoice_number: String,
    /// P_1.
    pub issue_date: NaiveDate,
    /// Accepted by KSeF.
    #[serde(default)]
    pub invoicing_date: Option<DateTime<Utc>>,
    /// KSeF number assigned.
    #[serde(default)]
    pub acquisition_date: Option<DateTime<Utc>>,
    /// Reached permanent storage (the incremental sync cursor).
    #[serde(default)]
    pub permanent_storage_date: Option<DateTime<Utc>>,
    /// Seller.
    pub seller: MetadataSeller,
    /// Buyer.
    pub buyer: MetadataBuyer,
    /// Net total.
    #[serde(default)]
    pub net_amount: Option<f64>,
    /// Gross total.
    #[serde(default)]
    pub gross_amount: Option<f64>,
    /// VAT total.
    #[serde(default)]
    pub vat_amount: Option<f64>,
    /// Currency code.
    #[serde(default)]
    pub currency: Option<String>,
    /// `Online` / `Offline`.
    #[serde(default)]
    pub invoicing_mode: Option<String>,
    /// `Vat`, `Kor` …
    #[serde(default)]
    pub invoice_type: Option<String>,
    /// Form code.
    #[serde(default)]
    pub form_code: Option<FormCode>,
    /// Self-invoicing.
    #[serde(default)]
    pub is_self_invoicing: Option<bool>,
    /// Has attachments.
    #[serde(default)]
    pub has_attachment: Option<bool>,
    /// SHA-256 (Base64) of the XML.
    #[serde(default)]
    pub invoice_hash: Option<String>,
    /// Technical correction of.
    #[serde(default)]
    pub hash_of_corrected_invoice: Option<String>,
}

/// A page of metadata.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetadataPage {
    /// More pages exist.
    pub has_more: bool,
    /// The 10 000-record cap was hit: restart from the last record's date with page 0.
    #[serde(default)]
    pub is_truncated: bool,
    /// Permanent-storage high-water mark.
    #[serde(default)]
    pub permanent_storage_hwm_date: Option<DateTime<Utc>>,
    /// The invoices.
    #[serde(default)]
    pub invoices: Vec<InvoiceMetadata>,
}
