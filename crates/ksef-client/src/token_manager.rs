//! Keeps one context's access token fresh: refresh shortly before expiry, full re-authentication
//! with the stored credential (a KSeF token, or a KSeF certificate through XAdES) when the refresh
//! token is gone or refused.

use std::future::Future;
use std::time::Duration;

use chrono::Utc;
use secrecy::SecretString;
use tokio::sync::Mutex;

use crate::classify::ErrorClass;
use crate::client::KsefClient;
use crate::error::KsefError;
use crate::models::auth::AuthTokens;
use crate::models::common::{ContextIdentifier, TokenInfo};
use crate::signing::SigningKey;
use crate::xades::SubjectIdentifierType;

/// What a [`TokenManager`] authenticates with.
pub enum Credential {
    /// A KSeF token (RSA-OAEP of `token|timestampMs`).
    KsefToken(SecretString),
    /// A KSeF certificate and its private key: XAdES signature of the AuthTokenRequest, the
    /// subject identified by the certificate's NIP attributes.
    Certificate {
        /// The certificate, DER.
        der: Vec<u8>,
        /// Its private key.
        key: SigningKey,
    },
}

/// Hands out valid access tokens for one context. Concurrent callers share one refresh.
pub struct TokenManager {
    client: KsefClient,
    context: ContextIdentifier,
    credential: Credential,
    margin: Duration,
    tokens: Mutex<Option<AuthTokens>>,
}

impl std::fmt::Debug for TokenManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenManager")
            .field("context", &self.context)
            .field("credential", &"[REDACTED]")
            .finish_non_exhaustive()
    }
}

/// What [`TokenManager::access_token`] had to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenRenewal {
    /// The cached access token was still valid.
    Cached,
    /// The access token was refreshed with the refresh token.
    Refreshed,
    /// A full authentication with the KSeF token took place.
    Authenticated,
}

impl TokenRenewal {
    /// Calls to KSeF's public endpoints (limited per client IP, shared by every context a
    /// process works for) that this renewal makes: none, the refresh, or challenge + token (or
    /// signature) + status + redeem.
    pub const fn public_calls(self) -> u32 {
        match self {
            Self::Cached => 0,
            Self::Refreshed => 1,
            Self::Authenticated => 4,
        }
    }
}

impl TokenManager {
    /// A manager that authenticates on first use. Tokens are renewed 60 s before they expire.
    pub fn new(client: KsefClient, context: ContextIdentifier, ksef_token: SecretString) -> Self {
        Self::with_credential(client, context, Credential::KsefToken(ksef_token))
    }

    /// A manager that authenticates with any credential, e.g. a KSeF certificate.
    pub fn with_credential(client: KsefClient, context: ContextIdentifier, credential: Credential) -> Self {
        Self { client, context, credential, margin: Duration::from_secs(60), tokens: Mutex::new(None) }
    }

    /// Starts from previously persisted tokens (e.g. after a restart).
    pub fn with_tokens(self, tokens: AuthTokens) -> Self {
        Self { tokens: Mutex::new(Some(tokens)), ..self }
    }

    /// Renew this long before `validUntil`.
    pub fn with_margin(self, margin: Duration) -> Self {
        Self { margin, ..self }
    }

    /// The context this manager authenticates in.
    pub fn context(&self) -> &ContextIdentifier {
        &self.context
    }

    /// A currently valid access token.
    pub async fn access_token(&self) -> Result<SecretString, KsefError> {
        self.access_token_with_renewal().await.map(|(token, _)| token)
    }

    /// A valid access token and what was done to get it.
    pub async fn access_token_with_renewal(&self) -> Result<(SecretString, TokenRenewal), KsefError> {
        self.access_token_in_slot(|| std::future::ready(())).await
    }

    /// Like [`TokenManager::access_token_with_renewal`], but a renewal (a refresh, a full
    /// authentication) first awaits `slot()` and holds what it yields until the renewal ends, so
    /// a caller with many contexts can bound how many renew at once. Under KSeF's per-IP limit
    /// of the public endpoints (see [`crate::pacer`]) a few logins at a time finish one after
    /// another, where all of them at once would all finish near the end. A cached token never
    /// waits; concurrent callers of one manager wait for one renewal.
    pub async fn access_token_in_slot<F, Fut, G>(
        &self,
        slot: F,
    ) -> Result<(SecretString, TokenRenewal), KsefError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = G>,
    {
        let mut guard = self.tokens.lock().await;
        if let Some(tokens) = guard.as_ref().filter(|t| self.usable(&t.access_token)) {
            return Ok((tokens.access_token.token.clone(), TokenRenewal::Cached));
        }
        let _slot = slot().await;
        if let Some(tokens) = guard.as_mut() {
            if self.usable(&tokens.refresh_token) {
                match self.client.refresh_access_token(&tokens.refresh_token.token).await {
                    Ok(access) => {
                        tokens.access_token = access;
                        return Ok((tokens.access_token.token.clone(), TokenRenewal::Refreshed));
                    }
                    // Network trouble or 429: re-authenticating would not help either.
                    Err(err)
                        if matches!(err.class(), ErrorClass::Transient | ErrorClass::RateLimited { .. }) =>
                    {
                        return Err(err);
                    }
                    Err(err) => {
                        tracing::info!(error = %err, "refresh refused; authenticating again")
                    }
                }
            }
        }
        let fresh = match &self.credential {
            Credential::KsefToken(token) => {
                self.client.authenticate_with_ksef_token(&self.context, token).await?
            }
            Credential::Certificate { der, key } => {
                self.client
                    .authenticate_with_xades(
                        &self.context,
                        SubjectIdentifierType::CertificateSubject,
                        der,
                        key,
                        false,
                    )
                    .await?
            }
        };
        let access = fresh.access_token.token.clone();
        *guard = Some(fresh);
        Ok((access, TokenRenewal::Authenticated))
    }

    /// Forgets the access token (e.g. after a 401), so the next call refreshes (and
    /// authenticates afresh only when KSeF refuses the refresh token too).
    pub async fn invalidate_access(&self) {
        if let Some(tokens) = self.tokens.lock().await.as_mut() {
            tokens.access_token.valid_until = Utc::now();
        }
    }

    /// Forgets all tokens, so the next call authenticates from scratch.
    pub async fn reset(&self) {
        *self.tokens.lock().await = None;
    }

    /// The current tokens, for persisting them.
    pub async fn tokens(&self) -> Option<AuthTokens> {
        self.tokens.lock().await.clone()
    }

    fn usable(&self, token: &TokenInfo) -> bool {
        let margin = chrono::Duration::from_std(self.margin).unwrap_or_default();
        token.valid_until - margin > Utc::now()
    }
}
