//! Application state, built once and handed to every handler and job; no globals.

use std::sync::Arc;

use ipnet::IpNet;
use ksef_fa3::Fa3Schema;

use crate::auth::session_token::SessionKeys;
use crate::auth::throttle::Throttles;
use crate::auth::verified_keys::VerifiedKeys;
use crate::config::Settings;
use crate::db::Db;
use crate::engine::limits::Limits;
use crate::service::access::KeyCaller;
use crate::service::availability::Availability;
use crate::service::status_requests::StatusRequests;
use crate::telemetry::metrics::Metrics;
use crate::vault::Keyring;

/// Everything a request or a background job may need.
#[derive(Clone)]
pub struct AppState {
    pub settings: Arc<Settings>,
    pub db: Db,
    pub metrics: Arc<Metrics>,
    /// Master keys of the credentials vault.
    pub keys: Arc<Keyring>,
    /// Signing keys of panel sessions and CSRF tokens (derived from the master key).
    pub session_keys: SessionKeys,
    pub throttles: Arc<Throttles>,
    /// API keys verified against the database moments ago (believed for a second at most).
    pub verified_keys: Arc<VerifiedKeys<KeyCaller>>,
    /// Reverse proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Arc<Vec<IpNet>>,
    /// "Statusy w KSeF" requests for this process's senders.
    pub status_requests: Arc<StatusRequests>,
    /// Whether KSeF is up, per environment (Latarnia and the senders' experience).
    pub availability: Arc<Availability>,
    /// The official FA(3) schema, compiled once and shared by every intake.
    pub fa3: Fa3Schema,
    /// Per-NIP KSeF rate limits of this process: the senders and the requests that call KSeF
    /// themselves (collective identifiers) share one budget per client.
    pub ksef_limits: Arc<Limits>,
}

impl AppState {
    /// Wires the state from validated settings, an open database and the vault's keys.
    pub fn new(
        settings: Settings,
        db: Db,
        keys: Keyring,
        fa3: Fa3Schema,
    ) -> Result<Self, crate::vault::KeyringError> {
        let session_keys = keys.with_key(keys.current_version(), SessionKeys::derive)?;
        let throttles = Arc::new(Throttles::new(&settings.auth));
        let trusted_proxies = Arc::new(crate::auth::client_ip::parse_nets(&settings.auth.trusted_proxies));
        let ksef_limits = Arc::new(Limits::new(&settings.sender));
        Ok(Self {
            ksef_limits,
            settings: Arc::new(settings),
            db,
            metrics: Arc::new(Metrics::new()),
            keys: Arc::new(keys),
            session_keys,
            throttles,
            verified_keys: Arc::default(),
            trusted_proxies,
            availability: Arc::default(),
            status_requests: Arc::default(),
            fa3,
        })
    }
}
