//! Types shared by several endpoints.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Kind of identifier a KSeF context (the "who am I acting for") is given by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ContextIdentifierType {
    /// Polish tax id (10 digits).
    Nip,
    /// `<nip>-<5 digits>` internal identifier of a subunit.
    InternalId,
    /// `<nip>-<EU VAT number>`.
    NipVatUe,
    /// PEPPOL participant id.
    PeppolId,
}

impl ContextIdentifierType {
    /// The name KSeF uses in JSON and in KOD II links.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Nip => "Nip",
            Self::InternalId => "InternalId",
            Self::NipVatUe => "NipVatUe",
            Self::PeppolId => "PeppolId",
        }
    }
}

/// The context a session acts in, e.g. `{"type": "Nip", "value": "5265877635"}`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ContextIdentifier {
    /// Identifier kind.
    #[serde(rename = "type")]
    pub kind: ContextIdentifierType,
    /// Identifier value.
    pub value: String,
}

impl ContextIdentifier {
    /// A NIP context.
    pub fn nip(nip: impl Into<String>) -> Self {
        Self { kind: ContextIdentifierType::Nip, value: nip.into() }
    }
}

/// A status as KSeF reports it for auth operations, sessions and invoices.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusInfo {
    /// Numeric status code (100 in progress, 200 success, ≥400 failures).
    pub code: i32,
    /// Human-readable description (Polish).
    #[serde(default)]
    pub description: String,
    /// Extra details.
    #[serde(default)]
    pub details: Option<Vec<String>>,
    /// Extra key/value data, e.g. `originalKsefNumber` for duplicates (status 440).
    #[serde(default)]
    pub extensions: Option<serde_json::Map<String, serde_json::Value>>,
}

/// A JWT with its expiry, e.g. the authentication, access or refresh token.
#[derive(Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenInfo {
    /// The bearer token (never Debug-printed).
    pub token: secrecy::SecretString,
    /// When the token stops working.
    pub valid_until: DateTime<Utc>,
}

impl std::fmt::Debug for TokenInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenInfo")
            .field("token", &"[REDACTED]")
            .field("valid_until", &self.valid_until)
            .finish()
    }
}

/// The `{ "referenceNumber": ... }` answer of many asynchronous operations.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReferenceResponse {
    /// Reference number of the operation.
    pub reference_number: String,
}

/// Form code of the documents in a session (`FA (3)` / `1-0E` / `FA` for FA(3)).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FormCode {
    /// e.g. `FA (3)` (with the space).
    pub system_code: String,
    /// e.g. `1-0E`.
    pub schema_version: String,
    /// e.g. `FA`.
    pub value: String,
}

impl FormCode {
    /// FA(3), schema 1-0E.
    pub fn fa3() -> Self {
        Self { system_code: "FA (3)".into(), schema_version: "1-0E".into(), value: "FA".into() }
    }
}

impl Default for FormCode {
    fn default() -> Self {
        Self::fa3()
    }
}
