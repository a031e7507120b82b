//! KSeF token, permission, limit and Latarnia bodies.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A `{type, value}` identifier as used in token and permission listings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypedIdentifier {
    /// e.g. `Nip`, `Pesel`, `Fingerprint`, `InternalId`, `AllPartners`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Value (absent for `AllPartners`).
    #[serde(default)]
    pub value: Option<String>,
}

impl TypedIdentifier {
    /// A NIP identifier.
    pub fn nip(nip: impl Into<String>) -> Self {
        Self { kind: "Nip".to_owned(), value: Some(nip.into()) }
    }
}

#[derive(Serialize)]
pub(crate) struct GenerateTokenRequest<'a> {
    pub permissions: &'a [&'a str],
    pub description: &'a str,
}

/// A newly generated KSeF token: shown once, never Debug-printed.
#[derive(Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GeneratedToken {
    /// Token reference (`…-EC-…`), for status and revocation.
    pub reference_number: String,
    /// The token itself.
    pub token: secrecy::SecretString,
}

impl std::fmt::Debug for GeneratedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeneratedToken")
            .field("reference_number", &self.reference_number)
            .field("token", &"[REDACTED]")
            .finish()
    }
}

/// A KSeF token as listed by `GET /tokens` and `GET /tokens/{ref}` (without its secret).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KsefTokenInfo {
    /// Reference.
    pub reference_number: String,
    /// Who generated it.
    #[serde(default)]
    pub author_identifier: Option<TypedIdentifier>,
    /// Context it is bound to.
    #[serde(default)]
    pub context_identifier: Option<TypedIdentifier>,
    /// Description given at generation.
    #[serde(default)]
    pub description: String,
    /// Permissions frozen at generation.
    #[serde(default)]
    pub requested_permissions: Vec<String>,
    /// Generated at.
    #[serde(default)]
    pub date_created: Option<DateTime<Utc>>,
    /// Last used at.
    #[serde(default)]
    pub last_use_date: Option<DateTime<Utc>>,
    /// End of the token's validity, once KSeF reports one (announced for tokens with limited
    /// lifetimes; tokens issued by 31.12.2026 stay valid until 30.11.2027).
    #[serde(default)]
    pub valid_until: Option<DateTime<Utc>>,
    /// `Pending`, `Active`, `Revoking`, `Revoked`, `Failed`.
    pub status: String,
    /// Details of the status.
    #[serde(default)]
    pub status_details: Option<Vec<String>>,
}

/// A page of `GET /tokens`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokensPage {
    /// Pass back for the next page.
    #[serde(default)]
    pub continuation_token: Option<String>,
    /// Tokens.
    #[serde(default)]
    pub tokens: Vec<KsefTokenInfo>,
}

/// Filters of `POST /permissions/query/personal/grants` (all optional).
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PersonalPermissionsQuery {
    /// Context (`Nip` or `InternalId`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context_identifier: Option<TypedIdentifier>,
    /// Permission types, e.g. `InvoiceWrite`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permission_types: Option<Vec<String>>,
    /// `Active` or `Inactive`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permission_state: Option<String>,
}

/// One of the caller's own permissions.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PersonalPermission {
    /// Permission id.
    pub id: String,
    /// Context it applies in.
    #[serde(default)]
    pub context_identifier: Option<TypedIdentifier>,
    /// Holder.
    #[serde(default)]
    pub authorized_identifier: Option<TypedIdentifier>,
    /// Target (indirect permissions).
    #[serde(default)]
    pub target_identifier: Option<TypedIdentifier>,
    /// e.g. `InvoiceWrite`.
    pub permission_scope: String,
    /// Description.
    #[serde(default)]
    pub description: String,
    /// `Active` / `Inactive`.
    #[serde(default)]
    pub permission_state: Option<String>,
    /// Granted at.
    #[serde(default)]
    pub start_date: Option<DateTime<Utc>>,
    /// May be delegated further.
    #[serde(default)]
    pub can_delegate: bool,
}

/// A page of personal permissions.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PersonalPermissionsPage {
    /// Permissions.
    #[serde(default)]
    pub permissions: Vec<PersonalPermission>,
    /// More pages exist.
    #[serde(default)]
    pub has_more: bool,
}

/// Requests allowed per window for one rate-limit group; [`RateLimitValues::UNLIMITED`] (-1)
/// for a window without a limit (`anonymous` per minute and hour, every window of `global`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RateLimitValues {
    /// Per second.
    pub per_second: i32,
    /// Per minute.
    pub per_minute: i32,
    /// Per hour.
    pub per_hour: i32,
}

impl RateLimitValues {
    /// What KSeF reports for a window without a limit.
    pub const UNLIMITED: i32 = -1;

    /// `[per second, per minute, per hour]`, `None` for an unlimited window.
    pub fn windows(&self) -> [Option<u32>; 3] {
        [self.per_second, self.per_minute, self.per_hour].map(|n| u32::try_from(n).ok())
    }
}

/// KSeF's published limits (req/s, /min, /h per context and IP) of the groups a sender calls
/// that KSeF 2.8 added: closing sessions got their own, higher limits than opening them.
pub mod published {
    /// `onlineSessionClose`: `POST /sessions/online/{ref}/close`.
    pub const ONLINE_SESSION_CLOSE: [u32; 3] = [20, 60, 240];
    /// `batchSessionClose`: `POST /sessions/batch/{ref}/close`.
    pub const BATCH_SESSION_CLOSE: [u32; 3] = [20, 40, 120];
}

/// `GET /rate-limits`: group name (`onlineSession`, `invoiceSend`, …) → limits.
pub type RateLimits = BTreeMap<String, RateLimitValues>;

/// Size and count limits of one session kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionLimits {
    /// Largest invoice without attachments (MB).
    #[serde(rename = "maxInvoiceSizeInMB")]
    pub max_invoice_size_in_mb: u32,
    /// Largest invoice with attachments (MB).
    #[serde(rename = "maxInvoiceWithAttachmentSizeInMB")]
    pub max_invoice_with_attachment_size_in_mb: u32,
    /// Most invoices per session.
    pub max_invoices: u32,
}

/// `GET /limits/context`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContextLimits {
    /// Online sessions.
    pub online_session: SessionLimits,
    /// Batch sessions.
    pub batch_session: SessionLimits,
    /// Collective identifiers (KSeF 2.7.1+; absent before).
    #[serde(default)]
    pub collective_identifier: Option<CollectiveLimits>,
}

/// `collectiveIdentifier` of the context limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CollectiveLimits {
    /// Most invoices in one collective identifier (500).
    pub max_invoices: u32,
}

/// A Latarnia message (failure, maintenance announcement …).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LighthouseMessage {
    /// Message id (a string or a number on the wire).
    #[serde(default, deserialize_with = "string_or_number")]
    pub id: Option<String>,
    /// Event id; start and end of one event share it.
    #[serde(default, deserialize_with = "string_or_number")]
    pub event_id: Option<String>,
    /// `FAILURE`, `TOTAL_FAILURE`, `MAINTENANCE`.
    #[serde(default)]
    pub category: Option<String>,
    /// `FAILURE_START`, `FAILURE_END`, `MAINTENANCE_ANNOUNCEMENT`.
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    /// Title.
    #[serde(default)]
    pub title: Option<String>,
    /// Text.
    #[serde(default)]
    pub text: Option<String>,
    /// Start.
    #[serde(default)]
    pub start: Option<DateTime<Utc>>,
    /// End.
    #[serde(default)]
    pub end: Option<DateTime<Utc>>,
    /// Published at.
    #[serde(default)]
    pub published: Option<DateTime<Utc>>,
}

/// Latarnia `GET /status`.
#[derive(Clone, Debug, Deserialize)]
pub struct LighthouseStatus {
    /// `AVAILABLE`, `MAINTENANCE`, `FAILURE`, `TOTAL_FAILURE`.
    pub status: String,
    /// Current messages.
    #[serde(default)]
    pub messages: Vec<LighthouseMessage>,
}

/// Accepts `"12"`, `12` or `null`, since the Latarnia contract is not published as a schema.
fn string_or_number<'de, D: serde::Deserializer<'de>>(de: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<serde_json::Value>::deserialize(de)? {
        Some(serde_json::Value::String(s)) => Some(s),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        _ => None,
    })
}
