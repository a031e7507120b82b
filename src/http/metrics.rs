//! Prometheus metrics, served as text at `/metrics`.

use std::sync::Mutex;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// Labels of an HTTP request metric: the matched route pattern, never the raw path, so ids in
/// URLs do not explode the series count.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub method: String,
    pub route: String,
    pub status: u16,
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
        Self {
            registry: Mutex::new(registry),
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
        let registry = self.registry.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
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

    pub fn set_stuck(&self, state: &'static str, n: i64) {
        self.invoices_stuck.get_or_create(&StateLabels { state }).set(n);
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
