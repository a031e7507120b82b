//! JWTs (HS256, secret random per start) for the three token kinds of KSeF auth.

use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::errors::ApiError;

/// Lifetime of the authentication (operation) token.
pub const AUTH_TOKEN_TTL: Duration = Duration::minutes(15);
/// Lifetime of an access token (OA example: exp − iat = 900 s).
pub const ACCESS_TOKEN_TTL: Duration = Duration::minutes(15);
/// Lifetime of a refresh token.
pub const REFRESH_TOKEN_TTL: Duration = Duration::days(7);

/// Which kind of bearer token this is; a route accepts exactly one kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[expect(clippy::enum_variant_names, reason = "the official `token-type` claim values")]
pub enum TokenKind {
    /// `authenticationToken`: auth status and redeem.
    OperationToken,
    /// `accessToken`: everything else.
    ContextToken,
    /// `refreshToken`: refresh only.
    RefreshToken,
}

/// Claims, named after those in the official examples where they exist.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Claims {
    #[serde(rename = "token-type")]
    pub kind: TokenKind,
    #[serde(rename = "context-identifier-type")]
    pub context_type: String,
    #[serde(rename = "context-identifier-value")]
    pub context_value: String,
    #[serde(rename = "authentication-method")]
    pub method: String,
    /// Reference number of the authentication operation.
    #[serde(rename = "auth-ref")]
    pub auth_ref: String,
    /// Reference number of the KSeF token used to authenticate.
    #[serde(rename = "token-ref")]
    pub token_ref: String,
    /// Permissions in the context.
    #[serde(rename = "per")]
    pub permissions: Vec<String>,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    /// Order of issue within this simulator (access tokens issued before a cut-off expire early).
    #[serde(default)]
    pub serial: u64,
}

impl Claims {
    pub fn has_any(&self, wanted: &[&str]) -> bool {
        self.permissions.iter().any(|p| wanted.contains(&p.as_str()))
    }
}

/// Signs and verifies tokens. The secret can be replaced at run time: every token issued
/// before is then refused with 401, as after a restart of KSeF.
pub struct JwtKeys {
    keys: parking_lot::RwLock<(EncodingKey, DecodingKey)>,
    issued: AtomicU64,
    /// Access tokens with a lower serial are refused as expired.
    access_cutoff: AtomicU64,
}

const ISSUER: &str = "ksef-simulator";

impl JwtKeys {
    pub fn random() -> Self {
        Self {
            keys: parking_lot::RwLock::new(Self::fresh()),
            issued: AtomicU64::new(0),
            access_cutoff: AtomicU64::new(0),
        }
    }

    fn fresh() -> (EncodingKey, DecodingKey) {
        let mut secret = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut secret);
        (EncodingKey::from_secret(&secret), DecodingKey::from_secret(&secret))
    }

    /// A new secret: every token issued so far stops being accepted.
    pub fn rotate(&self) {
        *self.keys.write() = Self::fresh();
    }

    /// Every access token issued so far expires now (refresh tokens stay valid), as when they
    /// outlived their `validUntil`.
    pub fn expire_access_tokens(&self) {
        self.access_cutoff.store(self.issued.load(Ordering::SeqCst), Ordering::SeqCst);
    }

    /// A signed token of `kind` valid for `ttl`; returns the token and its expiry.
    pub fn issue(&self, mut claims: Claims, kind: TokenKind, ttl: Duration) -> (String, DateTime<Utc>) {
        let now = Utc::now();
        let exp = now + ttl;
        claims.kind = kind;
        claims.iss = ISSUER.to_owned();
        claims.aud = ISSUER.to_owned();
        claims.iat = now.timestamp();
        claims.exp = exp.timestamp();
        claims.jti = crate::ids::reference_number("JT", now);
        claims.serial = self.issued.fetch_add(1, Ordering::SeqCst) + 1;
        // HS256 encoding of serialisable claims cannot fail.
        let token = encode(&Header::new(Algorithm::HS256), &claims, &self.keys.read().0).unwrap_or_default();
        (token, DateTime::from_timestamp(claims.exp, 0).unwrap_or(exp))
    }

    /// Verifies signature and expiry and that the token is of `kind`; 401 otherwise.
    pub fn verify(&self, token: &str, kind: TokenKind) -> Result<Claims, ApiError> {
        let claims = self.decode_any(token)?;
        if kind == TokenKind::ContextToken && claims.serial <= self.access_cutoff.load(Ordering::SeqCst) {
            return Err(ApiError::Unauthorized(
                "Nieprawidłowy lub wygasły token: ExpiredSignature".to_owned(),
            ));
        }
        if claims.kind != kind {
            return Err(ApiError::Unauthorized(format!(
                "Nieprawidłowy typ tokenu: oczekiwano {kind:?}, otrzymano {:?}.",
                claims.kind
            )));
        }
        Ok(claims)
    }

    /// Verifies signature and expiry of a token of any kind.
    pub fn decode_any(&self, token: &str) -> Result<Claims, ApiError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_audience(&[ISSUER]);
        validation.set_issuer(&[ISSUER]);
        validation.leeway = 0;
        decode::<Claims>(token, &self.keys.read().1, &validation)
            .map(|d| d.claims)
            .map_err(|e| ApiError::Unauthorized(format!("Nieprawidłowy lub wygasły token: {e}")))
    }
}

/// The bearer token of a request, if any.
pub fn bearer(req: &actix_web::HttpRequest) -> Option<&str> {
    req.headers()
        .get(actix_web::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

impl JwtKeys {
    /// The context NIP of any valid token (rate limiting keys on it).
    pub fn context_of(&self, token: &str) -> Option<String> {
        self.decode_any(token).ok().map(|c| c.context_value)
    }
}
