//! One delivery attempt: the event's body, signed, POSTed to the endpoint; no redirect followed,
//! one timeout for the whole request, at most a few KB of the answer read.

use std::sync::Arc;
use std::time::Duration;

use ksef_client::reqwest;
use ksef_client::reqwest::header::{HeaderMap, HeaderValue, CONTENT_TYPE, USER_AGENT};

use super::guard::{GuardedResolver, UrlPolicy};
use super::sign;
use crate::db::models::WebhookDelivery;

/// How much of an answer is read (and thrown away): enough to let the connection be reused,
/// never enough for a hostile endpoint to make the worker buffer much.
const MAX_ANSWER_BYTES: usize = 4 * 1024;

/// What one attempt ended in: the HTTP status when there was an answer, and otherwise (or for a
/// non-2xx answer) why it failed, in Polish for the delivery log.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub status_code: Option<u16>,
    pub error: Option<String>,
    /// Metric label: `delivered`, `http_error`, `timeout`, `connect`, `refused`.
    pub outcome: &'static str,
}

impl Attempt {
    pub fn delivered(&self) -> bool {
        self.error.is_none()
    }

    fn failed(outcome: &'static str, status_code: Option<u16>, error: String) -> Self {
        Self { status_code, error: Some(error), outcome }
    }
}

/// The HTTP client of the delivery worker.
pub fn http_client(policy: Arc<UrlPolicy>, timeout: Duration) -> Result<reqwest::Client, String> {
    let tls = ksef_client::platform_tls_config().map_err(|e| e.to_string())?;
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .redirect(reqwest::redirect::Policy::none())
        // A proxy from the environment would resolve the host itself and so bypass the guarded
        // resolver below: webhooks always connect directly.
        .no_proxy()
        .dns_resolver(Arc::new(GuardedResolver(policy)))
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(5)))
        .build()
        .map_err(|e| e.to_string())
}

/// Sends `delivery` to `url` with `secret`.
pub async fn attempt(
    http: &reqwest::Client,
    policy: &UrlPolicy,
    url: &str,
    secret: &[u8],
    delivery: &WebhookDelivery,
    timeout: Duration,
) -> Attempt {
    // The configuration may have changed since the endpoint was stored; IP literals never reach
    // the resolver, so their address is checked here.
    if policy.check_form(url).is_err() {
        let why = "Konfiguracja bramki nie pozwala już na ten adres (https, sieci prywatne) – popraw punkt odbioru.";
        return Attempt::failed("refused", None, why.to_owned());
    }
    let body = delivery.payload.clone().into_bytes();
    let t = chrono::Utc::now().timestamp();
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(USER_AGENT, HeaderValue::from_static(concat!("ksef-gateway/", env!("CARGO_PKG_VERSION"))));
    headers.insert("x-ksef-gateway-event", HeaderValue::from_static(delivery.event_type.as_str()));
    if let Ok(v) = HeaderValue::from_str(&delivery.id) {
        headers.insert("x-ksef-gateway-delivery", v);
    }
    if let Ok(v) = HeaderValue::from_str(&sign::signature(secret, t, &body)) {
        headers.insert("x-ksef-gateway-signature", v);
    }
    let answer = http.post(url).headers(headers).body(body).send().await;
    let mut resp = match answer {
        Ok(r) => r,
        Err(e) if e.is_timeout() => {
            let s = timeout.as_secs_f64();
            return Attempt::failed("timeout", None, format!("Odbiorca nie odpowiedział w ciągu {s:.1} s."));
        }
        Err(e) => {
            // Without the URL: an endpoint URL may carry a token of the receiver in its query.
            tracing::debug!(delivery = %delivery.id, error = %e.without_url(), "Webhook attempt failed to connect");
            return Attempt::failed(
                "connect",
                None,
                "Nie udało się połączyć z odbiorcą (adres nieosiągalny, odmowa połączenia, błąd TLS albo adres niedozwolony).".to_owned(),
            );
        }
    };
    let status = resp.status();
    let mut read = 0usize;
    // Reads a little of the answer so the connection can be reused; a slow or endless body is cut
    // off by the request's timeout or the byte limit, whichever comes first.
    while read < MAX_ANSWER_BYTES {
        match resp.chunk().await {
            Ok(Some(chunk)) => read += chunk.len(),
            _ => break,
        }
    }
    let code = Some(status.as_u16());
    if status.is_success() {
        Attempt { status_code: code, error: None, outcome: "delivered" }
    } else if status.is_redirection() {
        Attempt::failed(
            "http_error",
            code,
            format!("Odbiorca odpowiedział przekierowaniem (HTTP {}); bramka nie podąża za przekierowaniami – podaj docelowy adres.", status.as_u16()),
        )
    } else {
        Attempt::failed("http_error", code, format!("Odbiorca odpowiedział HTTP {}.", status.as_u16()))
    }
}
