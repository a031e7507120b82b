//! Authentication with a KSeF token: challenge → encrypted `token|timestampMs` → poll → redeem;
//! refreshing the access token; ending auth sessions.

use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};

use crate::client::KsefClient;
use crate::error::KsefError;
use crate::keys::PublicKeyUsage;
use crate::models::auth::{
    AuthChallenge, AuthInitResponse, AuthStatus, AuthTokens, AuthorizationPolicy, KsefTokenAuthRequest,
    RefreshResponse,
};
use crate::models::common::{ContextIdentifier, TokenInfo};
use crate::poll::poll;

/// Auth operation status: still in progress.
const AUTH_IN_PROGRESS: i32 = 100;
/// Auth operation status: success.
const AUTH_SUCCESS: i32 = 200;

impl KsefClient {
    /// `POST /auth/challenge`.
    pub async fn auth_challenge(&self) -> Result<AuthChallenge, KsefError> {
        self.json(self.request(Method::POST, "/auth/challenge", None), "auth challenge").await
    }

    /// Full KSeF-token authentication in `context`; returns fresh access and refresh tokens.
    ///
    /// A failed authentication status ends in [`KsefError::AuthFailed`] (415 no permissions,
    /// 425/450 revoked or bad token, 460 certificate, 480 blocked → `ErrorClass::Credential`).
    pub async fn authenticate_with_ksef_token(
        &self,
        context: &ContextIdentifier,
        ksef_token: &SecretString,
    ) -> Result<AuthTokens, KsefError> {
        self.authenticate_with_ksef_token_policy(context, ksef_token, None).await
    }

    /// As [`KsefClient::authenticate_with_ksef_token`], binding the tokens to an IP allow-list.
    pub async fn authenticate_with_ksef_token_policy(
        &self,
        context: &ContextIdentifier,
        ksef_token: &SecretString,
        policy: Option<&AuthorizationPolicy>,
    ) -> Result<AuthTokens, KsefError> {
        let init = self.with_key_refresh(|| self.init_token_auth(context, ksef_token, policy)).await?;
        self.finish_auth(&init).await
    }

    /// Challenge and `POST /auth/ksef-token`; returns the operation reference and authentication token.
    pub async fn init_token_auth(
        &self,
        context: &ContextIdentifier,
        ksef_token: &SecretString,
        policy: Option<&AuthorizationPolicy>,
    ) -> Result<AuthInitResponse, KsefError> {
        let challenge = self.auth_challenge().await?;
        let key = self.encryption_key(PublicKeyUsage::KsefTokenEncryption).await?;
        let plaintext =
            SecretString::from(format!("{}|{}", ksef_token.expose_secret(), challenge.timestamp_ms));
        let encrypted = key.encrypt(plaintext.expose_secret().as_bytes())?;
        let body = KsefTokenAuthRequest {
            challenge: &challenge.challenge,
            context_identifier: context,
            encrypted_token: crate::crypto::b64(&encrypted),
            public_key_id: &key.public_key_id,
            authorization_policy: policy,
        };
        let rb = self.request(Method::POST, "/auth/ksef-token", None).json(&body);
        self.json(rb, "auth ksef-token").await
    }

    /// `GET /auth/{ref}` with the authentication token.
    pub async fn auth_status(
        &self,
        reference: &str,
        auth_token: &SecretString,
    ) -> Result<AuthStatus, KsefError> {
        let rb = self.request(Method::GET, &format!("/auth/{reference}"), Some(auth_token));
        self.json(rb, "auth status").await
    }

    /// Polls the operation until it leaves status 100, then redeems the tokens (one-shot).
    pub async fn finish_auth(&self, init: &AuthInitResponse) -> Result<AuthTokens, KsefError> {
        let token = &init.authentication_token.token;
        let status = poll(
            &self.options().poll,
            "authentication",
            || self.auth_status(&init.reference_number, token),
            |s: &AuthStatus| (s.status.code == AUTH_IN_PROGRESS).then_some(s.status.code),
        )
        .await?;
        if status.status.code != AUTH_SUCCESS {
            return Err(KsefError::AuthFailed(status.status));
        }
        self.redeem_tokens(token).await
    }

    /// `POST /auth/token/redeem`: exchanges the authentication token for access + refresh tokens.
    pub async fn redeem_tokens(&self, auth_token: &SecretString) -> Result<AuthTokens, KsefError> {
        let rb = self.request(Method::POST, "/auth/token/redeem", Some(auth_token));
        self.json(rb, "redeem tokens").await
    }

    /// `POST /auth/token/refresh`: a new access token from the refresh token.
    pub async fn refresh_access_token(&self, refresh_token: &SecretString) -> Result<TokenInfo, KsefError> {
        let rb = self.request(Method::POST, "/auth/token/refresh", Some(refresh_token));
        let resp: RefreshResponse = self.json(rb, "refresh token").await?;
        Ok(resp.access_token)
    }

    /// `DELETE /auth/sessions/current`: ends the auth session of this token (refresh stops working).
    pub async fn revoke_current_auth_session(&self, token: &SecretString) -> Result<(), KsefError> {
        let rb = self.request(Method::DELETE, "/auth/sessions/current", Some(token));
        self.no_content(rb, "revoke auth session").await
    }
}
