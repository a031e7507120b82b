//! Cross-cutting request handling: security headers, request ids, metrics, and the API's error
//! shape for errors raised by actix itself.

use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::middleware::{DefaultHeaders, Next};
use actix_web::ResponseError;
use actix_web::{web, HttpMessage};
use tracing_actix_web::RequestId;

use crate::error::{AppError, Refusal};
use crate::state::AppState;
use crate::telemetry::metrics::RequestLabels;

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

/// Errors that actix raises before a handler runs (a body over the payload limit, a malformed
/// path segment) answer in plain text; on the API every error must have the JSON shape of
/// `AppError`, so such answers are rewritten with their status kept. Our own errors (already
/// JSON) pass untouched.
pub async fn json_errors(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let res = next.call(req).await?;
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let Some(message) = res.response().error().map(ToString::to_string) else {
        return Ok(res.map_into_boxed_body());
    };
    if is_json {
        return Ok(res.map_into_boxed_body());
    }
    let err = match res.status() {
        StatusCode::PAYLOAD_TOO_LARGE => AppError::TooLarge(message),
        StatusCode::NOT_FOUND => AppError::NotFound,
        StatusCode::METHOD_NOT_ALLOWED => AppError::MethodNotAllowed,
        StatusCode::UNAUTHORIZED => AppError::Unauthenticated,
        StatusCode::FORBIDDEN => AppError::Forbidden,
        s if s.is_client_error() => AppError::Refused { refusal: Refusal::BadRequest, message },
        _ => AppError::Internal(anyhow::anyhow!(message)),
    };
    let status = res.status();
    let mut body = err.error_response();
    *body.status_mut() = status;
    let (req, _) = res.into_parts();
    Ok(ServiceResponse::new(req, body))
}
