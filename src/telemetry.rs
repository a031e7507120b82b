//! Structured logging. Rules are in docs/LOGGING.md: messages that stand alone, dotted
//! fields, and never a secret, a full invoice, or a NIP next to a person's name.

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::config::{LogFormat, LogSettings};

pub mod metrics;

/// Installs the global subscriber once per process; `RUST_LOG` wins over the configured level.
pub fn init(settings: &LogSettings) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&settings.level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let layer = match settings.format {
        LogFormat::Json => fmt.json().flatten_event(true).boxed(),
        LogFormat::Text => fmt.compact().boxed(),
    };
    // A second init (tests, embedded use) keeps the first subscriber; that is fine.
    let _ = tracing_subscriber::registry().with(layer.with_filter(filter)).try_init();
}
