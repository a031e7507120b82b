//! KSeF's published rate limits (API_BRIEF §10) per (context NIP, client IP) and endpoint group,
//! with 1 s / 60 s / 60 min sliding windows (sliding-window counters: O(1) memory per key).

use std::collections::HashMap;
use std::time::Instant;

use parking_lot::Mutex;
use serde_json::{json, Map, Value};

/// Requests per second, minute and hour (`None`: no limit in that window).
#[derive(Clone, Copy, Debug)]
pub struct Rates {
    pub per_second: u32,
    pub per_minute: Option<u32>,
    pub per_hour: Option<u32>,
}

const fn rates(s: u32, m: u32, h: u32) -> Rates {
    Rates { per_second: s, per_minute: Some(m), per_hour: Some(h) }
}

/// Group name (as in `EffectiveApiRateLimits`) and default rates.
pub const GROUPS: [(&str, Rates); 15] = [
    ("onlineSession", rates(10, 30, 120)),
    ("onlineSessionClose", rates(20, 60, 240)),
    ("batchSession", rates(10, 20, 60)),
    ("batchSessionClose", rates(20, 40, 120)),
    ("invoiceSend", rates(10, 30, 180)),
    ("invoiceStatus", rates(30, 120, 1200)),
    ("sessionList", rates(5, 10, 60)),
    ("sessionInvoiceList", rates(10, 20, 200)),
    ("sessionMisc", rates(10, 120, 1200)),
    ("invoiceMetadata", rates(8, 16, 20)),
    ("invoiceExport", rates(8, 16, 20)),
    ("invoiceExportStatus", rates(10, 60, 600)),
    ("invoiceDownload", rates(8, 16, 64)),
    ("collectiveIdentifier", rates(10, 60, 120)),
    ("other", rates(10, 30, 120)),
];

/// Public endpoints (`anonymous` since 2.8): 60 requests per second per IP.
pub const PUBLIC: Rates = Rates { per_second: 60, per_minute: None, per_hour: None };

/// What `EffectiveApiRateLimits` reports for a window without a limit (and for `global`, a
/// future per-IP limit that is off today).
const UNLIMITED: i64 = -1;

/// The limit group of a `/v2`-relative path, `"public"` for unauthenticated endpoints.
pub fn group_of(method: &str, path: &str) -> &'static str {
    let seg: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (method, seg.as_slice()) {
        ("GET" | "DELETE", ["auth", "sessions", ..]) => "other",
        (_, ["auth", ..] | ["security", ..] | ["peppol", ..]) => "public",
        (_, ["testdata", rest @ ..])
            if !matches!(rest.first(), Some(&"context" | &"limits" | &"rate-limits")) =>
        {
            "public"
        }
        ("POST", ["sessions", "online"]) => "onlineSession",
        ("POST", ["sessions", "online", _, "close"]) => "onlineSessionClose",
        ("POST", ["sessions", "online", _, "invoices"]) => "invoiceSend",
        ("POST", ["sessions", "batch"]) => "batchSession",
        ("POST", ["sessions", "batch", _, "close"]) => "batchSessionClose",
        ("GET", ["sessions"]) => "sessionList",
        ("GET", ["sessions", _, "invoices"] | ["sessions", _, "invoices", "failed"]) => "sessionInvoiceList",
        ("GET", ["sessions", _, "invoices", _]) => "invoiceStatus",
        ("GET", ["sessions", ..]) => "sessionMisc",
        ("POST", ["invoices", "query", "metadata"]) => "invoiceMetadata",
        ("POST", ["invoices", "exports"]) => "invoiceExport",
        ("GET", ["invoices", "exports", _]) => "invoiceExportStatus",
        ("GET", ["invoices", "ksef", _]) => "invoiceDownload",
        (_, ["collective-identifiers", ..]) => "collectiveIdentifier",
        _ => "other",
    }
}

fn rates_of(group: &str) -> Rates {
    GROUPS.iter().find(|(g, _)| *g == group).map_or(PUBLIC, |(_, r)| *r)
}

/// One sliding-window counter: the current fixed window and the previous one, weighted.
#[derive(Clone, Copy, Default)]
struct Window {
    start: f64,
    current: f64,
    previous: f64,
}

impl Window {
    /// Estimated requests in the last `len` seconds at `t`, after rolling.
    fn estimate(&mut self, t: f64, len: f64) -> f64 {
        if t >= self.start + len {
            self.previous = if t < self.start + 2.0 * len { self.current } else { 0.0 };
            self.current = 0.0;
            self.start = (t / len).floor() * len;
        }
        self.previous * (1.0 - (t - self.start) / len) + self.current
    }

    /// Seconds until one more request fits under `limit`.
    fn wait(&self, t: f64, len: f64, limit: f64) -> f64 {
        if self.current + 1.0 > limit || self.previous <= 0.0 {
            return self.start + len - t;
        }
        len * (1.0 - (limit - 1.0 - self.current) / self.previous) - (t - self.start)
    }
}

/// All counters of a simulator.
pub struct Limiter {
    epoch: Instant,
    scale: f64,
    windows: Mutex<HashMap<(String, &'static str), [Window; 3]>>,
}

impl Limiter {
    pub fn new(scale: f64) -> Self {
        Self { epoch: Instant::now(), scale, windows: Mutex::new(HashMap::new()) }
    }

    fn scaled(&self, n: u32) -> f64 {
        (f64::from(n) * self.scale).max(1.0).floor()
    }

    /// Counts one request of `key` in `group`; `Err(retry_after_secs)` when over a limit.
    pub fn check(&self, key: &str, group: &'static str) -> Result<(), u64> {
        let r = rates_of(group);
        let limits = [Some(r.per_second), r.per_minute, r.per_hour];
        let t = self.epoch.elapsed().as_secs_f64();
        let mut map = self.windows.lock();
        let windows = map.entry((key.to_owned(), group)).or_default();
        let mut wait: f64 = 0.0;
        for (w, (len, limit)) in windows.iter_mut().zip([1.0, 60.0, 3600.0].into_iter().zip(limits)) {
            let Some(limit) = limit else { continue };
            let limit = self.scaled(limit);
            if w.estimate(t, len) + 1.0 > limit {
                wait = wait.max(w.wait(t, len, limit));
            }
        }
        if wait > 0.0 {
            return Err(wait.ceil().max(1.0) as u64);
        }
        for w in windows.iter_mut() {
            w.current += 1.0;
        }
        Ok(())
    }

    /// The `EffectiveApiRateLimits` body.
    pub fn effective_json(&self) -> Value {
        let window = |n: Option<u32>| n.map_or(UNLIMITED, |n| self.scaled(n) as i64);
        let mut out = Map::new();
        for (group, r) in GROUPS.into_iter().chain([("anonymous", PUBLIC)]) {
            out.insert(
                group.to_owned(),
                json!({
                    "perSecond": window(Some(r.per_second)),
                    "perMinute": window(r.per_minute),
                    "perHour": window(r.per_hour),
                }),
            );
        }
        out.insert(
            "global".to_owned(),
            json!({"perSecond": UNLIMITED, "perMinute": UNLIMITED, "perHour": UNLIMITED}),
        );
        Value::Object(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_follow_the_published_table() {
        assert_eq!(group_of("POST", "/sessions/online/R/invoices"), "invoiceSend");
        assert_eq!(group_of("GET", "/sessions/R/invoices/I"), "invoiceStatus");
        assert_eq!(group_of("GET", "/sessions/R/invoices/failed"), "sessionInvoiceList");
        assert_eq!(group_of("GET", "/sessions/R/upo/U"), "sessionMisc");
        assert_eq!(group_of("POST", "/auth/challenge"), "public");
        assert_eq!(group_of("GET", "/auth/sessions"), "other");
        assert_eq!(group_of("GET", "/tokens"), "other");
        assert_eq!(group_of("POST", "/invoices/query/metadata"), "invoiceMetadata");
        assert_eq!(group_of("POST", "/invoices/exports"), "invoiceExport");
        assert_eq!(group_of("GET", "/invoices/exports/R"), "invoiceExportStatus");
        assert_eq!(group_of("GET", "/invoices/ksef/K"), "invoiceDownload");
        assert_eq!(group_of("POST", "/sessions/online"), "onlineSession");
        assert_eq!(group_of("POST", "/sessions/online/R/close"), "onlineSessionClose");
        assert_eq!(group_of("POST", "/sessions/batch"), "batchSession");
        assert_eq!(group_of("POST", "/sessions/batch/R/close"), "batchSessionClose");
        assert_eq!(group_of("POST", "/collective-identifiers"), "collectiveIdentifier");
        assert_eq!(group_of("GET", "/collective-identifiers/ksef/K"), "collectiveIdentifier");
        assert_eq!(group_of("POST", "/collective-identifiers/invoices"), "collectiveIdentifier");
        let rates = |g: &str| {
            GROUPS.iter().find(|(name, _)| *name == g).map(|(_, r)| (r.per_second, r.per_minute, r.per_hour))
        };
        assert_eq!(rates("onlineSessionClose"), Some((20, Some(60), Some(240))));
        assert_eq!(rates("batchSessionClose"), Some((20, Some(40), Some(120))));
        assert_eq!(rates("collectiveIdentifier"), Some((10, Some(60), Some(120))));
        let hourly = |g: &str| GROUPS.iter().find(|(name, _)| *name == g).and_then(|(_, r)| r.per_hour);
        assert_eq!([hourly("invoiceMetadata"), hourly("invoiceExport")], [Some(20), Some(20)]);
        assert_eq!([hourly("invoiceExportStatus"), hourly("invoiceDownload")], [Some(600), Some(64)]);
    }

    #[test]
    fn per_second_limit_rejects_with_retry_after() {
        let l = Limiter::new(1.0);
        for _ in 0..5 {
            assert!(l.check("k", "sessionList").is_ok());
        }
        let retry = l.check("k", "sessionList");
        assert!(matches!(retry, Err(s) if s >= 1), "{retry:?}");
        assert!(l.check("other-key", "sessionList").is_ok());
    }
}
