//! Client settings.

use std::time::Duration;

/// How status polling backs off.
#[derive(Clone, Debug)]
pub struct PollOptions {
    /// First delay between polls.
    pub initial_delay: Duration,
    /// Upper bound of a single delay.
    pub max_delay: Duration,
    /// Total time before giving up with [`crate::KsefError::PollTimeout`].
    pub budget: Duration,
}

impl Default for PollOptions {
    fn default() -> Self {
        Self {
            initial_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
            budget: Duration::from_secs(120),
        }
    }
}

/// Settings of a [`crate::KsefClient`].
#[derive(Clone, Debug)]
pub struct ClientOptions {
    /// Whole-request timeout (also applies to uploads and downloads).
    pub timeout: Duration,
    /// TCP + TLS connect timeout.
    pub connect_timeout: Duration,
    /// Extra trusted root certificates (DER), e.g. a simulator's self-signed certificate.
    pub extra_root_certs_der: Vec<Vec<u8>>,
    /// Trust only `extra_root_certs_der`, not the system's roots (tests against a simulator).
    pub only_extra_roots: bool,
    /// `User-Agent` header.
    pub user_agent: String,
    /// Idle connections are kept this long for reuse.
    pub pool_idle_timeout: Duration,
    /// Status polling.
    pub poll: PollOptions,
    /// Parallel part uploads in a batch session.
    pub upload_concurrency: usize,
    /// Latarnia base URL overriding the environment's (e.g. a simulator's).
    pub lighthouse_base: Option<String>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
            extra_root_certs_der: Vec::new(),
            only_extra_roots: false,
            user_agent: format!("ksef-client-rs/{}", env!("CARGO_PKG_VERSION")),
            pool_idle_timeout: Duration::from_secs(90),
            poll: PollOptions::default(),
            upload_concurrency: 4,
            lighthouse_base: None,
        }
    }
}
