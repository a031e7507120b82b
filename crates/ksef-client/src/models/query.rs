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

/// Date range: at most 100 days, every date with an explicit offset (API 2.7.1; `DateTime<Utc>`
/// serialises with `Z`). [`crate::hwm`] builds the ranges of an incremental sync.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
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

/// `POST /invoices/query/metadata` and `POST /invoices/exports` filters (the commonly used subset;
/// all optional but two).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
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
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetadataSeller {
    /// NIP.
    pub nip: String,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
}

/// Buyer identifier.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BuyerIdentifier {
    /// `Nip`, `VatUe`, `Other`, `None`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Value.
    #[serde(default)]
    pub value: Option<String>,
}

/// Buyer of an invoice.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetadataBuyer {
    /// Identifier.
    pub identifier: BuyerIdentifier,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
}

/// A third party of an invoice (`Podmiot3`), e.g. an additional buyer or the payer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ThirdSubject {
    /// `Nip`, `InternalId`, `VatUe`, `Other` or `None`, with its value.
    pub identifier: BuyerIdentifier,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// `Rola` of FA(3): 1 factor, 2 recipient, 3 original subject, 4 additional buyer, 5 issuer,
    /// 6 payer, 7/8 local government issuer/recipient, 9/10 VAT group member issuer/recipient,
    /// 11 employee, 0 other.
    pub role: i32,
}

/// The authorised subject of an invoice (`PodmiotUpowazniony`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuthorizedSubject {
    /// NIP.
    pub nip: String,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// 1 enforcement authority, 2 bailiff, 3 tax representative.
    pub role: i32,
}

/// One invoice's metadata (also the records of an export package's `_metadata.json`).
/// Amounts are JSON numbers, kept as `f64`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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
    /// Third parties (`Podmiot3`); the `Subject3` view finds invoices by them.
    #[serde(default)]
    pub third_subjects: Option<Vec<ThirdSubject>>,
    /// Authorised subject (`PodmiotUpowazniony`).
    #[serde(default)]
    pub authorized_subject: Option<AuthorizedSubject>,
}

/// A page of metadata.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetadataPage {
    /// More pages exist.
    pub has_more: bool,
    /// The 10 000-record cap was reached on this page: continue with a new window starting at the
    /// last record's `permanentStorageDate`, page 0 (see [`crate::hwm`]).
    #[serde(default)]
    pub is_truncated: bool,
    /// Permanent-storage high-water mark.
    #[serde(default)]
    pub permanent_storage_hwm_date: Option<DateTime<Utc>>,
    /// The invoices.
    #[serde(default)]
    pub invoices: Vec<InvoiceMetadata>,
}
