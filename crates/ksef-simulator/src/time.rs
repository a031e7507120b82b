//! Timestamps in the format KSeF uses (RFC 3339 with milliseconds and offset).

use chrono::{DateTime, SecondsFormat, Utc};

/// `2025-09-16T09:05:40.841+00:00`.
pub fn fmt(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, false)
}

/// Current time truncated to milliseconds, so that `timestamp` and `timestampMs` always agree.
pub fn now_ms() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now)
}
