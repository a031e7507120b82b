//! Management: KSeF tokens, the caller's own permissions, limits, and the Latarnia status service.

use reqwest::Method;
use secrecy::SecretString;

use crate::client::KsefClient;
use crate::error::KsefError;
use crate::models::manage::{
    ContextLimits, GenerateTokenRequest, GeneratedToken, KsefTokenInfo, LighthouseMessage, LighthouseStatus,
    PersonalPermissionsPage, PersonalPermissionsQuery, RateLimits, TokensPage,
};

impl KsefClient {
    /// `POST /tokens`: a new KSeF token with `permissions` (e.g. `["InvoiceRead", "InvoiceWrite"]`).
    pub async fn generate_token(
        &self,
        access_token: &SecretString,
        permissions: &[&str],
        description: &str,
    ) -> Result<GeneratedToken, KsefError> {
        let body = GenerateTokenRequest { permissions, description };
        let rb = self.request(Method::POST, "/tokens", Some(access_token)).json(&body);
        self.json(rb, "generate token").await
    }

    /// One page of `GET /tokens`, optionally filtered by status (`Active`, `Revoked`, …).
    pub async fn list_tokens(
        &self,
        access_token: &SecretString,
        statuses: &[&str],
        page_size: u32,
        continuation: Option<&str>,
    ) -> Result<TokensPage, KsefError> {
        let mut query: Vec<(&str, String)> = statuses.iter().map(|s| ("status", (*s).to_owned())).collect();
        query.push(("pageSize", page_size.clamp(10, 100).to_string()));
        let mut rb = self.request(Method::GET, "/tokens", Some(access_token)).query(&query);
        if let Some(token) = continuation {
            rb = rb.header("x-continuation-token", token);
        }
        self.json(rb, "list tokens").await
    }

    /// `GET /tokens/{ref}`.
    pub async fn get_token(
        &self,
        access_token: &SecretString,
        reference: &str,
    ) -> Result<KsefTokenInfo, KsefError> {
        let rb = self.request(Method::GET, &format!("/tokens/{reference}"), Some(access_token));
        self.json(rb, "get token").await
    }

    /// `DELETE /tokens/{ref}`: revokes a KSeF token.
    pub async fn revoke_token(&self, access_token: &SecretString, reference: &str) -> Result<(), KsefError> {
        let rb = self.request(Method::DELETE, &format!("/tokens/{reference}"), Some(access_token));
        self.no_content(rb, "revoke token").await
    }

    /// One page of `POST /permissions/query/personal/grants` (the caller's own permissions).
    pub async fn query_personal_permissions(
        &self,
        access_token: &SecretString,
        query: &PersonalPermissionsQuery,
        page_offset: u32,
        page_size: u32,
    ) -> Result<PersonalPermissionsPage, KsefError> {
        let rb = self
            .request(Method::POST, "/permissions/query/personal/grants", Some(access_token))
            .query(&[("pageOffset", page_offset), ("pageSize", page_size.clamp(10, 100))])
            .json(query);
        self.json(rb, "query personal permissions").await
    }

    /// `GET /rate-limits`: effective limits per group for this context and IP.
    pub async fn rate_limits(&self, access_token: &SecretString) -> Result<RateLimits, KsefError> {
        self.json(self.request(Method::GET, "/rate-limits", Some(access_token)), "rate limits").await
    }

    /// `GET /limits/context`: invoice size and count limits of sessions in this context.
    pub async fn context_limits(&self, access_token: &SecretString) -> Result<ContextLimits, KsefError> {
        self.json(self.request(Method::GET, "/limits/context", Some(access_token)), "context limits").await
    }

    /// Latarnia `GET /status`: is KSeF available (`AVAILABLE`, `MAINTENANCE`, `FAILURE`, `TOTAL_FAILURE`).
    pub async fn lighthouse_status(&self) -> Result<LighthouseStatus, KsefError> {
        let url = format!("{}/status", self.lighthouse_base()?);
        self.json(self.raw_request(Method::GET, &url, None), "lighthouse status").await
    }

    /// Latarnia `GET /messages`: failure and maintenance announcements.
    pub async fn lighthouse_messages(&self) -> Result<Vec<LighthouseMessage>, KsefError> {
        let url = format!("{}/messages", self.lighthouse_base()?);
        self.json(self.raw_request(Method::GET, &url, None), "lighthouse messages").await
    }

    fn lighthouse_base(&self) -> Result<String, KsefError> {
        self.options()
            .lighthouse_base
            .clone()
            .or_else(|| self.environment().lighthouse_base())
            .map(|b| b.trim_end_matches('/').to_owned())
            .ok_or_else(|| KsefError::Config("no Latarnia (lighthouse) URL for this environment".into()))
    }
}
