//! API errors in the official shapes: `ExceptionResponse` (400), RFC 7807 problem details
//! (400/429 on request via `X-Error-Format: problem-details`; 401/403/410 always), the 429 status body.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde_json::{json, Value};

use crate::time;

/// Everything a route can answer besides success.
#[derive(Clone, Debug, thiserror::Error)]
pub enum ApiError {
    /// HTTP 400 with a KSeF exception code (21xxx, 26xxx, 30001).
    #[error("{code}: {description}")]
    Exception { code: u32, description: String, details: Vec<String> },
    /// HTTP 401: missing, invalid, expired or wrong-type bearer token.
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// HTTP 403 with a `reasonCode` such as `missing-permissions`.
    #[error("forbidden: {detail}")]
    Forbidden { reason_code: &'static str, detail: String, security: Option<Value> },
    /// HTTP 404 for routes and simulator resources outside the KSeF contract.
    #[error("not found: {0}")]
    NotFound(String),
    /// HTTP 410: an asynchronous operation past its retention (always problem details).
    #[error("gone: {0}")]
    Gone(String),
    /// HTTP 429 with `Retry-After`.
    #[error("too many requests")]
    TooManyRequests { retry_after_secs: u64, detail: String },
    /// HTTP 5xx (fault injection, outages).
    #[error("server error {status}: {detail}")]
    Server { status: u16, detail: String },
}

impl ApiError {
    /// A 400 exception with one code.
    pub fn exception(code: u32, description: impl Into<String>) -> Self {
        Self::Exception { code, description: description.into(), details: Vec::new() }
    }

    /// A 400 exception with details.
    pub fn exception_with(code: u32, description: impl Into<String>, details: Vec<String>) -> Self {
        Self::Exception { code, description: description.into(), details }
    }

    /// 21405: generic input validation error.
    pub fn validation(detail: impl Into<String>) -> Self {
        Self::exception_with(21405, "Błąd walidacji danych wejściowych.", vec![detail.into()])
    }

    /// 403 missing-permissions.
    pub fn missing_permissions(required: &[&str], present: &[String]) -> Self {
        Self::Forbidden {
            reason_code: "missing-permissions",
            detail: "Brak wymaganych uprawnień.".to_owned(),
            security: Some(json!({"requiredAnyOfPermissions": required, "presentPermissions": present})),
        }
    }

    /// The response in the requested format; `instance` is the request path.
    pub fn render(&self, problem_details: bool, instance: &str) -> HttpResponse {
        let now = time::fmt(time::now_ms());
        let trace_id = crate::ids::reference_number("TR", chrono::Utc::now());
        let status = self.status_code();
        let problem = |body: Value| {
            HttpResponse::build(status).content_type("application/problem+json").body(body.to_string())
        };
        match self {
            Self::Exception { code, description, details } => {
                if problem_details {
                    problem(json!({
                        "title": "Bad Request", "status": 400, "instance": instance,
                        "detail": description,
                        "errors": [{"code": code, "description": description, "details": details}],
                        "timestamp": now, "traceId": trace_id,
                    }))
                } else {
                    HttpResponse::BadRequest().json(json!({"exception": {
                        "exceptionDetailList": [{"exceptionCode": code, "exceptionDescription": description, "details": details}],
                        "referenceNumber": trace_id,
                        "serviceCode": "00-ksef-simulator",
                        "serviceCtx": "srvSIMUL",
                        "serviceName": "ksef-simulator",
                        "timestamp": now,
                    }}))
                }
            }
            Self::Unauthorized(detail) => problem(json!({
                "title": "Unauthorized", "status": 401, "detail": detail, "instance": instance,
                "traceId": trace_id, "timestamp": now,
            })),
            Self::Forbidden { reason_code, detail, security } => problem(json!({
                "title": "Forbidden", "status": 403, "detail": detail, "instance": instance,
                "reasonCode": reason_code, "security": security, "traceId": trace_id, "timestamp": now,
            })),
            Self::Gone(detail) => problem(json!({
                "title": "Gone", "status": 410, "instance": instance, "detail": detail,
                "timestamp": now, "traceId": trace_id,
            })),
            Self::NotFound(detail) => {
                HttpResponse::NotFound().json(json!({"title": "Not Found", "status": 404, "detail": detail}))
            }
            Self::TooManyRequests { retry_after_secs, detail } => {
                let mut builder = HttpResponse::TooManyRequests();
                builder.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
                if problem_details {
                    builder.content_type("application/problem+json").body(
                        json!({"title": "Too Many Requests", "status": 429, "instance": instance,
                            "detail": detail, "timestamp": now, "traceId": trace_id})
                        .to_string(),
                    )
                } else {
                    builder.json(json!({"status": {"code": 429, "description": "Too Many Requests", "details": [detail]}}))
                }
            }
            Self::Server { detail, .. } => HttpResponse::build(status).json(
                json!({"title": status.canonical_reason(), "status": status.as_u16(), "detail": detail}),
            ),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Exception { .. } => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden { .. } => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Gone(_) => StatusCode::GONE,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Server { status, .. } => {
                StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            }
        }
    }

    /// The default rendering (`ExceptionResponse`); the middleware in `http.rs` re-renders as problem
    /// details when the request asked for them, since only it sees the request.
    fn error_response(&self) -> HttpResponse {
        self.render(false, "")
    }
}

/// Result of route handlers.
pub type ApiResult<T> = Result<T, ApiError>;
