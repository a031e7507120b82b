//! Collective identifiers (identyfikator zbiorczy, IZ; KSeF 2.7.1+).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Payment of one invoice under a collective identifier (`amount` is a JSON number on the wire).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CollectivePayment {
    /// Amount paid for the invoice.
    pub amount: f64,
    /// ISO 4217 code.
    pub currency: String,
}

/// One invoice of `POST /collective-identifiers`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CollectiveInvoice {
    /// KSeF number of an accepted invoice of the context's seller.
    pub ksef_number: String,
    /// Optional payment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment: Option<CollectivePayment>,
    /// Optional description (≤ 512 characters).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// `POST /collective-identifiers` body.
#[derive(Clone, Debug, Serialize)]
pub struct GenerateCollectiveRequest {
    /// 1 to 500 invoices.
    pub invoices: Vec<CollectiveInvoice>,
}

/// `POST /collective-identifiers` answer.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GeneratedCollective {
    /// `NIP-IZYYYYMM-HEX12-CRC8`.
    pub collective_identifier_number: String,
}

/// `POST /collective-identifiers/query` filters (`dateCreatedFrom..dateCreatedTo` ≤ 100 days).
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CollectiveQuery {
    /// One identifier only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub collective_identifier_number: Option<String>,
    /// Created from.
    pub date_created_from: DateTime<Utc>,
    /// Created up to.
    pub date_created_to: DateTime<Utc>,
    /// At least this many invoices.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invoice_count_from: Option<u32>,
    /// At most this many invoices.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invoice_count_to: Option<u32>,
    /// Only those created (or not) in the caller's context.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_in_current_context: Option<bool>,
}

/// One collective identifier of a query or of a KSeF number.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CollectiveSummary {
    /// The identifier.
    pub collective_identifier_number: String,
    /// When it was created.
    pub date_created: DateTime<Utc>,
    /// Number of invoices (query answers only).
    #[serde(default)]
    pub invoice_count: Option<u32>,
    /// Created in the caller's context.
    pub created_in_current_context: bool,
}

/// A page of collective identifiers (`/query`, `/ksef/{ksefNumber}`).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CollectivePage {
    /// Identifiers, newest first.
    pub collective_identifiers: Vec<CollectiveSummary>,
    /// Pass back for the next page; none on the last one.
    #[serde(default)]
    pub continuation_token: Option<String>,
}

/// One invoice of `POST /collective-identifiers/invoices`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CollectiveMember {
    /// Which of the asked identifiers it belongs to, when KSeF says.
    #[serde(default)]
    pub collective_identifier_number: Option<String>,
    /// KSeF number.
    pub ksef_number: String,
    /// Payment, when the caller may see it.
    #[serde(default)]
    pub payment: Option<CollectivePayment>,
    /// Description, when the caller may see it.
    #[serde(default)]
    pub description: Option<String>,
    /// Payment and description exist but are hidden from the caller.
    pub details_hidden: bool,
}

/// A page of `POST /collective-identifiers/invoices`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CollectiveMembersPage {
    /// Invoices, KSeF number descending.
    pub invoices: Vec<CollectiveMember>,
    /// Pass back for the next page; none on the last one.
    #[serde(default)]
    pub continuation_token: Option<String>,
}
