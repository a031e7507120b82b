//! Pacing of KSeF's public endpoints, which are limited per client IP (API_BRIEF §10: 60
//! requests a second for `/auth/*`, `/security/*`, `/peppol/*`, most of `/testdata/*`), not
//! per context: a program logging in for many NIPs shares that one window among all of them.
//!
//! A client given a [`PublicPacer`] asks it for room before each request to such an endpoint,
//! one request at a time, right before it goes out. Pacing a whole login ahead by its nominal
//! call count would not hold: its calls then leave whenever the login gets to them, and the
//! late calls of one second's logins pile onto the next second's.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// Keeps a client's requests to the public endpoints under KSeF's per-IP limit.
pub trait PublicPacer: Send + Sync {
    /// Resolves when one more public request may go out now.
    fn pace(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;

    /// KSeF answered a public request with 429 and this Retry-After: the window is full for
    /// this IP, whichever context the request was for.
    fn refused(&self, retry_after: Duration);
}

/// Whether `path` (relative to the API base, e.g. `/auth/challenge`) is one of KSeF's public,
/// per-IP limited endpoints. `/auth/sessions` lists and ends a context's own sessions with an
/// access token and counts in that context's limits.
pub(crate) fn is_public(method: &reqwest::Method, path: &str) -> bool {
    let mut seg = path.trim_start_matches('/').split('/');
    match (seg.next(), seg.next()) {
        (Some("auth"), Some("sessions")) => {
            !matches!(*method, reqwest::Method::GET | reqwest::Method::DELETE)
        }
        (Some("auth" | "security" | "peppol"), _) => true,
        (Some("testdata"), next) => !matches!(next, Some("context" | "limits" | "rate-limits")),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::Method;

    #[test]
    fn the_public_endpoints_are_those_of_api_brief_section_10() {
        for path in [
            "/auth/challenge",
            "/auth/ksef-token",
            "/auth/xades-signature",
            "/auth/20250514-AU-2DFC46C000-3AC6D5877F-D4",
            "/auth/token/redeem",
            "/auth/token/refresh",
            "/security/public-key-certificates",
            "/peppol/query",
            "/testdata/subject",
        ] {
            assert!(is_public(&Method::POST, path), "{path}");
        }
        for (method, path) in [
            (Method::GET, "/auth/sessions"),
            (Method::DELETE, "/auth/sessions/current"),
            (Method::POST, "/sessions/online"),
            (Method::GET, "/sessions/20250514-SO-2DFC46C000-3AC6D5877F-D4/invoices"),
            (Method::POST, "/invoices/query/metadata"),
            (Method::POST, "/testdata/limits/context/session"),
            (Method::GET, "/testdata/rate-limits"),
        ] {
            assert!(!is_public(&method, path), "{method} {path}");
        }
    }
}
