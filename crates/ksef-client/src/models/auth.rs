//! Authentication bodies.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::common::{ContextIdentifier, StatusInfo, TokenInfo};

/// `POST /auth/challenge` answer.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthChallenge {
    /// e.g. `20250514-CR-226FB7B000-3ACF9BE4C0-10`.
    pub challenge: String,
    /// Challenge time.
    pub timestamp: DateTime<Utc>,
    /// Challenge time in Unix milliseconds: the value to encrypt with the token.
    pub timestamp_ms: i64,
    /// The IP address KSeF sees.
    #[serde(default)]
    pub client_ip: Option<String>,
}

/// IP restrictions bound to the resulting tokens.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AllowedIps {
    /// Single addresses.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ip4_addresses: Vec<String>,
    /// Ranges `a.b.c.d-e.f.g.h`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ip4_ranges: Vec<String>,
    /// Masks `a.b.c.d/nn`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ip4_masks: Vec<String>,
}

/// Optional authorisation policy of an authentication request.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizationPolicy {
    /// IP allow-list.
    pub allowed_ips: AllowedIps,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct KsefTokenAuthRequest<'a> {
    pub challenge: &'a str,
    pub context_identifier: &'a ContextIdentifier,
    pub encrypted_token: String,
    pub public_key_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorization_policy: Option<&'a AuthorizationPolicy>,
}

/// `POST /auth/ksef-token` answer.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthInitResponse {
    /// Reference of the authentication operation.
    pub reference_number: String,
    /// Short-lived token for polling and redeeming.
    pub authentication_token: TokenInfo,
}

/// How the subject authenticated.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthMethodInfo {
    /// `XadesSignature`, `NationalNode`, `Token`, `Other`.
    #[serde(default)]
    pub category: Option<String>,
    /// Method code.
    #[serde(default)]
    pub code: Option<String>,
    /// Human-readable name.
    #[serde(default)]
    pub display_name: Option<String>,
}

/// `GET /auth/{ref}` answer.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthStatus {
    /// 100 in progress, 200 success, otherwise failure (415, 425, 450, 460, 470, 480, 500, 550).
    pub status: StatusInfo,
    /// Start of the operation.
    #[serde(default)]
    pub start_date: Option<DateTime<Utc>>,
    /// Method details.
    #[serde(default)]
    pub authentication_method_info: Option<AuthMethodInfo>,
    /// Whether the tokens were already redeemed (one-shot).
    #[serde(default)]
    pub is_token_redeemed: Option<bool>,
    /// Expiry of the refresh token.
    #[serde(default)]
    pub refresh_token_valid_until: Option<DateTime<Utc>>,
}

/// Access and refresh token of an authenticated context. Debug never shows the tokens.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthTokens {
    /// Short-lived access token for API calls.
    pub access_token: TokenInfo,
    /// Reusable refresh token (up to 7 days).
    pub refresh_token: TokenInfo,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RefreshResponse {
    pub access_token: TokenInfo,
}
