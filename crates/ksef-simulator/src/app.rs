//! Shared application state and the helpers every route uses.

use actix_web::HttpRequest;
use parking_lot::{Mutex, RwLock};
use sha2::{Digest, Sha256};

use crate::certs::KeyMaterial;
use crate::config::SimulatorConfig;
use crate::counters::CounterStore;
use crate::errors::{ApiError, ApiResult};
use crate::faults::FaultSettings;
use crate::jwt::{bearer, Claims, JwtKeys, TokenKind};
use crate::limits::Limiter;
use crate::state::Db;

/// State shared by all workers of one simulator.
pub struct AppState {
    pub cfg: SimulatorConfig,
    pub keys: KeyMaterial,
    /// Issues KSeF certificates on enrollment.
    pub ca: crate::certificates::SimulatorCa,
    pub jwt: JwtKeys,
    pub db: Mutex<Db>,
    pub faults: RwLock<FaultSettings>,
    pub counters: CounterStore,
    pub limiter: Limiter,
    /// Scheme, host and port for pre-signed links, without a trailing slash.
    pub public_base: String,
    url_secret: [u8; 32],
    pub validator: crate::validate::Validator,
}

impl AppState {
    pub fn new(cfg: SimulatorConfig, keys: KeyMaterial, public_base: String) -> anyhow::Result<Self> {
        let mut url_secret = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut url_secret);
        let mut faults =
            FaultSettings { latency_ms: cfg.latency.as_millis() as u64, ..FaultSettings::default() };
        faults.error_rate = cfg.fault_rate.clamp(0.0, 1.0);
        Ok(Self {
            limiter: Limiter::new(cfg.effective_rate_limit_scale()),
            validator: crate::validate::Validator::load()?,
            cfg,
            keys,
            ca: crate::certificates::SimulatorCa::generate()?,
            jwt: JwtKeys::random(),
            db: Mutex::new(Db::default()),
            faults: RwLock::new(faults),
            counters: CounterStore::default(),
            public_base,
            url_secret,
        })
    }

    /// Processing delay as a chrono duration.
    pub fn delay(&self) -> chrono::Duration {
        chrono::Duration::from_std(self.cfg.processing_delay).unwrap_or_default()
    }

    /// Time from acceptance to permanent storage.
    pub fn storage_lag(&self) -> chrono::Duration {
        chrono::Duration::from_std(self.cfg.permanent_storage_lag).unwrap_or_default()
    }

    /// KSeF's permanent-storage high-water mark at `now`: every invoice stored up to it is in every
    /// later answer. Real KSeF keeps it behind now because writes to permanent storage finish out
    /// of order; the simulator trails now by the storage lag, or stops at a scripted stall.
    pub fn hwm(&self, now: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
        let trailing = now - self.storage_lag();
        self.faults.read().hwm_frozen_at.map_or(trailing, |frozen| frozen.min(trailing))
    }

    /// Verifies the bearer token of `kind`.
    pub fn bearer_claims(&self, req: &HttpRequest, kind: TokenKind) -> ApiResult<Claims> {
        let token = bearer(req)
            .ok_or_else(|| ApiError::Unauthorized("Brak tokenu uwierzytelniającego.".to_owned()))?;
        self.jwt.verify(token, kind)
    }

    /// Verifies the access token and that it carries one of `any_of` (empty: any permission).
    pub fn access(&self, req: &HttpRequest, any_of: &[&str]) -> ApiResult<Claims> {
        let claims = self.bearer_claims(req, TokenKind::ContextToken)?;
        if !any_of.is_empty() && !claims.has_any(any_of) {
            return Err(ApiError::missing_permissions(any_of, &claims.permissions));
        }
        Ok(claims)
    }

    /// A pre-signed URL for `path` (starting with `/`), valid until `exp` (Unix seconds).
    pub fn signed_url(&self, path: &str, exp: i64) -> String {
        format!("{}{}?exp={}&sig={}", self.public_base, path, exp, self.signature(path, exp))
    }

    /// Checks a pre-signed URL's signature and expiry.
    pub fn verify_signed(&self, path: &str, exp: i64, sig: &str) -> bool {
        exp >= chrono::Utc::now().timestamp() && self.signature(path, exp) == sig
    }

    fn signature(&self, path: &str, exp: i64) -> String {
        let mut h = Sha256::new();
        h.update(self.url_secret);
        h.update(path.as_bytes());
        h.update(exp.to_be_bytes());
        crate::crypto::b64url(&h.finalize()[..24])
    }
}

/// Parses a JSON body after authorisation (KSeF checks the token before the payload).
pub fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> ApiResult<T> {
    serde_json::from_slice(body).map_err(|e| ApiError::validation(format!("Nieprawidłowe żądanie JSON: {e}")))
}

/// The client IP as the simulator sees it.
pub fn client_ip(req: &HttpRequest) -> String {
    req.peer_addr().map_or_else(|| "127.0.0.1".to_owned(), |a| a.ip().to_string())
}
