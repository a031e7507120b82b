//! `[sender]` configuration: how hard the senders may push, with KSeF's published limits
//! (API_BRIEF §10) as defaults.

use serde::{Deserialize, Serialize};

use crate::domain::StuckCutoffs;

/// Settings of the sending engine.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SenderSettings {
    /// Run the senders in `serve`/`demo` (switch off for a read-only replica).
    pub enabled: bool,
    /// Senders working at the same time, across all clients.
    pub max_concurrent: usize,
    /// Invoices one sender takes per turn before it yields to other clients (≤ 10 000, the
    /// KSeF session limit); more than `online_max` of them go in one batch session.
    pub max_invoices_per_turn: usize,
    /// Up to this many due invoices go through an online session, more through a batch.
    pub online_max: usize,
    /// How often the supervisor looks for due work, in milliseconds.
    pub tick_ms: u64,
    /// How often a client's in-flight invoices are polled, in milliseconds.
    pub status_poll_ms: u64,
    /// Lifetime of a sender lease, in seconds; renewed at a third of it while working.
    pub lease_ttl_s: u64,
    /// First retry delay after a transient failure, in milliseconds (doubles per attempt).
    pub backoff_base_ms: u64,
    /// Longest retry delay, in seconds.
    pub backoff_max_s: u64,
    /// Flag invoices that stay in `registered` (O) longer than this, in seconds.
    pub registered_watchdog_s: u64,
    /// Flag invoices that stay on their way (W: `queued`, `offline`, `sending`) longer than this,
    /// in seconds.
    #[serde(default = "default_waiting_watchdog_s")]
    pub waiting_watchdog_s: u64,
    /// An open online session unused this long is closed, in seconds.
    pub online_session_idle_s: u64,
    /// How often KSeF's Latarnia status service is asked whether KSeF is up, in seconds (also
    /// when the senders are off: the panel explains outages either way).
    pub latarnia_poll_s: u64,
    /// Multiplies every limit below (e.g. 10 for an environment with ten times the limits).
    pub rate_limit_scale: f64,
    pub limits: LimitTable,
}

/// Requests per second, per minute and per hour, per client NIP and KSeF endpoint class.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LimitTable {
    pub online_session: [u32; 3],
    /// Closing sessions has its own, higher limits since KSeF 2.8.
    #[serde(default = "online_session_close")]
    pub online_session_close: [u32; 3],
    pub invoice_send: [u32; 3],
    pub batch_session: [u32; 3],
    #[serde(default = "batch_session_close")]
    pub batch_session_close: [u32; 3],
    pub invoice_status: [u32; 3],
    pub session_invoice_list: [u32; 3],
    pub session_misc: [u32; 3],
    /// `POST /invoices/query/metadata` (purchase sync).
    #[serde(default = "default_metadata_query")]
    pub metadata_query: [u32; 3],
    /// `POST /invoices/exports`.
    #[serde(default = "default_metadata_query")]
    pub export: [u32; 3],
    /// `GET /invoices/exports/{ref}`.
    #[serde(default = "default_export_status")]
    pub export_status: [u32; 3],
    /// `GET /invoices/ksef/{ksefNumber}` (a purchase invoice's bytes).
    #[serde(default = "default_invoice_download")]
    pub invoice_download: [u32; 3],
    /// `/collective-identifiers*` (KSeF 2.7's `collectiveIdentifier` group).
    #[serde(default = "default_collective_identifier")]
    pub collective_identifier: [u32; 3],
}

// KSeF's published limits of the reading endpoints (CHANGES-2.7-2.9, "Received invoices").
fn default_metadata_query() -> [u32; 3] {
    [8, 16, 20]
}

fn default_export_status() -> [u32; 3] {
    [10, 60, 600]
}

fn default_invoice_download() -> [u32; 3] {
    [8, 16, 64]
}

fn default_collective_identifier() -> [u32; 3] {
    ksef_client::collective::RATE_LIMITS
}

impl Default for SenderSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            max_concurrent: 8,
            max_invoices_per_turn: 10_000,
            online_max: 5,
            tick_ms: 250,
            status_poll_ms: 1_000,
            lease_ttl_s: 30,
            backoff_base_ms: 1_000,
            backoff_max_s: 600,
            registered_watchdog_s: 3_600,
            waiting_watchdog_s: default_waiting_watchdog_s(),
            online_session_idle_s: 60,
            latarnia_poll_s: 60,
            rate_limit_scale: 1.0,
            limits: LimitTable::default(),
        }
    }
}

impl Default for LimitTable {
    fn default() -> Self {
        Self {
            online_session: [10, 30, 120],
            online_session_close: online_session_close(),
            invoice_send: [10, 30, 180],
            batch_session: [10, 20, 60],
            batch_session_close: batch_session_close(),
            invoice_status: [30, 120, 1_200],
            session_invoice_list: [10, 20, 200],
            session_misc: [10, 120, 1_200],
            metadata_query: default_metadata_query(),
            export: default_metadata_query(),
            export_status: default_export_status(),
            invoice_download: default_invoice_download(),
            collective_identifier: default_collective_identifier(),
        }
    }
}

fn online_session_close() -> [u32; 3] {
    ksef_client::models::manage::published::ONLINE_SESSION_CLOSE
}

fn batch_session_close() -> [u32; 3] {
    ksef_client::models::manage::published::BATCH_SESSION_CLOSE
}

fn default_waiting_watchdog_s() -> u64 {
    900
}

impl SenderSettings {
    /// The stuck cutoffs as of `now`.
    pub fn stuck_cutoffs(&self, now: chrono::NaiveDateTime) -> StuckCutoffs {
        let back = |s: u64| now - chrono::Duration::seconds(i64::try_from(s).unwrap_or(i64::MAX / 1_000));
        StuckCutoffs { waiting: back(self.waiting_watchdog_s), registered: back(self.registered_watchdog_s) }
    }

    /// Checks the values, naming the key at fault.
    pub fn validate(&self) -> Result<(), String> {
        if self.max_concurrent == 0 {
            return Err("sender.max_concurrent: must be at least 1".into());
        }
        if !(1..=10_000).contains(&self.max_invoices_per_turn) {
            return Err("sender.max_invoices_per_turn: must be 1..=10000 (KSeF's session limit)".into());
        }
        if self.online_max == 0 || self.online_max > self.max_invoices_per_turn {
            return Err("sender.online_max: must be 1..=max_invoices_per_turn".into());
        }
        if self.tick_ms == 0
            || self.status_poll_ms == 0
            || self.backoff_base_ms == 0
            || self.latarnia_poll_s == 0
            || self.registered_watchdog_s == 0
            || self.waiting_watchdog_s == 0
        {
            return Err(
                "sender.tick_ms, status_poll_ms, backoff_base_ms, latarnia_poll_s, registered_watchdog_s and waiting_watchdog_s must be at least 1"
                    .into(),
            );
        }
        if self.lease_ttl_s < 3 {
            return Err("sender.lease_ttl_s: must be at least 3".into());
        }
        if !(self.rate_limit_scale.is_finite() && self.rate_limit_scale > 0.0) {
            return Err("sender.rate_limit_scale: must be a positive number".into());
        }
        let l = &self.limits;
        for (name, v) in [
            ("online_session", l.online_session),
            ("online_session_close", l.online_session_close),
            ("invoice_send", l.invoice_send),
            ("batch_session", l.batch_session),
            ("batch_session_close", l.batch_session_close),
            ("invoice_status", l.invoice_status),
            ("session_invoice_list", l.session_invoice_list),
            ("session_misc", l.session_misc),
            ("metadata_query", l.metadata_query),
            ("export", l.export),
            ("export_status", l.export_status),
            ("invoice_download", l.invoice_download),
            ("collective_identifier", l.collective_identifier),
        ] {
            if v.contains(&0) {
                return Err(format!("sender.limits.{name}: every limit must be at least 1"));
            }
        }
        Ok(())
    }
}
