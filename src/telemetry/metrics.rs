//! Prometheus metrics, served as text at `/metrics`.

use std::sync::Mutex;

use actix_web::http::Method;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// Labels of an HTTP request metric, all from closed sets so that no request, authenticated
/// or not, can add a series: a known method or `other`, the matched route pattern (never the
/// raw path) or `unmatched`, and the status code.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub method: &'static str,
    pub route: String,
    pub status: u16,
}

impl RequestLabels {
    /// Labels for a request; `pattern` is actix's matched pattern, `None` when no route matched.
    pub fn new(method: &Method, pattern: Option<String>, status: u16) -> Self {
        let route = pattern.filter(|p| !p.is_empty()).unwrap_or_else(|| "unmatched".to_owned());
        Self { method: method_label(method), route, status }
    }
}

/// The standard methods by name; any other method (HTTP allows arbitrary tokens) is `other`.
fn method_label(method: &Method) -> &'static str {
    const KNOWN: [&str; 9] = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE"];
    KNOWN.iter().copied().find(|known| *known == method.as_str()).unwrap_or("other")
}

/// Whether a request may read `/metrics`: always when no token is configured, otherwise when
/// the presented bearer token hashes to `expected_sha256_hex` (compared in constant time).
pub fn token_accepted(expected_sha256_hex: &str, presented: Option<&str>) -> bool {
    let expected = expected_sha256_hex.trim();
    if expected.is_empty() {
        return true;
    }
    let (Ok(expected), Some(presented)) = (hex::decode(expected), presented) else {
        return false;
    };
    let hash = Sha256::digest(presented.as_bytes());
    expected.len() == hash.len() && bool::from(hash.as_slice().ct_eq(&expected))
}

/// Labels of the senders' metrics: a fixed, small vocabulary (never a NIP or an id).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    pub outcome: &'static str,
}

/// Labels of the stuck-invoice gauge: one of the watched invoice states.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StateLabels {
    pub state: &'static str,
}

/// Labels of the credential-expiry gauge: how near the end (`expired`, `7d`, `14d`, `30d`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ExpiryLabels {
    pub within: &'static str,
}

/// The gateway's metrics registry.
pub struct Metrics {
    registry: Mutex<Registry>,
    pub http_requests: Family<RequestLabels, Counter>,
    pub http_duration: Family<RequestLabels, Histogram>,
    /// Invoices the senders moved: `accepted`, `rejected`, `requeued`.
    pub sender_invoices: Family<OutcomeLabels, Counter>,
    /// Sender turns by how they ended: `ok`, `transient`, `rate_limited`, `credential`, `other`.
    pub sender_turns: Family<OutcomeLabels, Counter>,
    /// Invoices stuck beyond the watchdog's limit, by state, as of its last run.
    pub invoices_stuck: Family<StateLabels, Gauge>,
    /// Purchase invoices the sync stored: `stored` (metadata, a new KSeF number), `downloaded`
    /// (exact bytes), `hash_mismatch` (bytes KSeF's hash disowns, not stored).
    pub purchase_invoices: Family<OutcomeLabels, Counter>,
    /// Invoices the last completeness re-checks found missing, by role, summed over clients.
    pub purchase_sync_gaps: Family<RoleLabels, Gauge>,
    /// Stored KSeF credentials (clients' active ones and the office's) near the end of their
    /// validity, by warning, as of the last scrape.
    pub credentials_expiring: Family<ExpiryLabels, Gauge>,
    /// Webhook attempts by outcome: `delivered`, `http_error`, `timeout`, `connect`, `refused`,
    /// and `gave_up` when an attempt was the last one allowed.
    pub webhook_deliveries: Family<OutcomeLabels, Counter>,
    /// Webhook deliveries waiting (`pending`) or given up (`failed`), as of the worker's last round.
    pub webhook_backlog: Family<StatusLabels, Gauge>,
}

/// Labels of the purchase gauge: one of the purchase roles (`PurchaseRole::as_str`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RoleLabels {
    pub subject_type: &'static str,
}

/// Labels of the webhook backlog gauge: `pending` or `failed`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StatusLabels {
    pub status: &'static str,
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("ksef_gateway");
        let http_requests = Family::<RequestLabels, Counter>::default();
        let http_duration = Family::<RequestLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.001, 2.0, 14))
        });
        registry.register("http_requests", "HTTP requests served", http_requests.clone());
        registry.register("http_request_duration_seconds", "HTTP request latency", http_duration.clone());
        let sender_invoices = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "sender_invoices",
            "Invoices the senders moved, by outcome (accepted, rejected, requeued)",
            sender_invoices.clone(),
        );
        let sender_turns = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "sender_turns",
            "Sender turns by how they ended (ok, transient, rate_limited, credential, other)",
            sender_turns.clone(),
        );
        let invoices_stuck = Family::<StateLabels, Gauge>::default();
        registry.register(
            "invoices_stuck",
            "Invoices in queued, offline, sending or registered longer than the watchdog allows",
            invoices_stuck.clone(),
        );
        let purchase_invoices = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "purchase_invoices",
            "Purchase invoices the sync stored, by outcome (stored, downloaded, hash_mismatch)",
            purchase_invoices.clone(),
        );
        let purchase_sync_gaps = Family::<RoleLabels, Gauge>::default();
        registry.register(
            "purchase_sync_gaps",
            "Purchase invoices KSeF lists that the last completeness re-checks did not find stored",
            purchase_sync_gaps.clone(),
        );
        let credentials_expiring = Family::<ExpiryLabels, Gauge>::default();
        registry.register(
            "credentials_expiring",
            "Stored KSeF credentials (tokens, certificates, the office's) within 30, 14 or 7 days of their end of validity, or past it",
            credentials_expiring.clone(),
        );
        let webhook_deliveries = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "webhook_deliveries",
            "Webhook delivery attempts by outcome (delivered, http_error, timeout, connect, refused, gave_up)",
            webhook_deliveries.clone(),
        );
        let webhook_backlog = Family::<StatusLabels, Gauge>::default();
        registry.register(
            "webhook_backlog",
            "Webhook deliveries pending or failed (given up), as of the worker's last round",
            webhook_backlog.clone(),
        );
        Self {
            registry: Mutex::new(registry),
            webhook_deliveries,
            webhook_backlog,
            purchase_invoices,
            purchase_sync_gaps,
            credentials_expiring,
            http_requests,
            http_duration,
            sender_invoices,
            sender_turns,
            invoices_stuck,
        }
    }

    /// The registry in Prometheus text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let registry = crate::locks::lock(&self.registry);
        // Encoding into a String cannot fail for lack of space; an error would be a bug in a metric.
        if prometheus_client::encoding::text::encode(&mut out, &registry).is_err() {
            tracing::error!("Encoding metrics failed");
        }
        out
    }
}

impl Metrics {
    pub fn count_invoices(&self, outcome: &'static str, n: usize) {
        self.sender_invoices.get_or_create(&OutcomeLabels { outcome }).inc_by(n as u64);
    }

    pub fn count_turn(&self, outcome: &'static str) {
        self.sender_turns.get_or_create(&OutcomeLabels { outcome }).inc();
    }

    pub fn set_expiring(&self, within: &'static str, n: i64) {
        self.credentials_expiring.get_or_create(&ExpiryLabels { within }).set(n);
    }

    pub fn set_stuck(&self, state: &'static str, n: i64) {
        self.invoices_stuck.get_or_create(&StateLabels { state }).set(n);
    }

    pub fn count_purchase(&self, outcome: &'static str, n: usize) {
        if n > 0 {
            self.purchase_invoices.get_or_create(&OutcomeLabels { outcome }).inc_by(n as u64);
        }
    }

    pub fn set_purchase_gaps(&self, subject_type: &'static str, n: i64) {
        self.purchase_sync_gaps.get_or_create(&RoleLabels { subject_type }).set(n);
    }

    pub fn count_webhook(&self, outcome: &'static str) {
        self.webhook_deliveries.get_or_create(&OutcomeLabels { outcome }).inc();
    }

    pub fn set_webhook_backlog(&self, status: &'static str, n: i64) {
        self.webhook_backlog.get_or_create(&StatusLabels { status }).set(n);
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
