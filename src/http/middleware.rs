//! Cross-cutting request handling: security headers, request ids, metrics.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::{DefaultHeaders, Next};
use actix_web::{web, HttpMessage};
use tracing_actix_web::RequestId;

use crate::http::metrics::RequestLabels;
use crate::state::AppState;

/// Headers every response carries: no framing, no sniffing, no third-party content.
pub fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add(("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; form-action 'self'"))
        .add(("X-Frame-Options", "DENY"))
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("Referrer-Policy", "same-origin"))
}

/// Echoes the request id (assigned by the tracing middleware, present in every log line of the
/// request) as `X-Request-Id`, and counts the request by route pattern and status.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = req.method().clone();
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let request_id = req.extensions().get::<RequestId>().map(ToString::to_string);
    let mut res = next.call(req).await?;
    if let Some(id) = request_id.and_then(|id| HeaderValue::from_str(&id).ok()) {
        res.headers_mut().insert(HeaderName::from_static("x-request-id"), id);
    }
    if let Some(state) = state {
        let labels = RequestLabels::new(&method, res.request().match_pattern(), res.status().as_u16());
        state.metrics.http_requests.get_or_create(&labels).inc();
        state.metrics.http_duration.get_or_create(&labels).observe(started.elapsed().as_secs_f64());
    }
    Ok(res)
}
