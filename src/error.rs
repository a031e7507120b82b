//! One error type for every route, mapped to the JSON error contract of DESIGN.md:
//! `{"error": {"code": "...", "message": "...", "details": [...]}}` with a stable code.
//! Server-side failures say nothing about internals; their details go to the log under an
//! incident id that the body repeats, so support can find them.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::db::DbError;

mod openapi;
mod refusal;
pub use refusal::Refusal;

/// Everything a request can end in besides success.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error("authentication required")]
    Unauthenticated,
    #[error("forbidden")]
    Forbidden,
    #[error("{message}")]
    Invalid { message: String, details: Vec<serde_json::Value> },
    #[error("{0}")]
    Conflict(String),
    /// A refusal with a precise, stable code of its own from the catalogue ([`Refusal`]: its
    /// code, status and words), and the specifics in English.
    #[error("{message}")]
    Refused { refusal: Refusal, message: String },
    #[error("method not allowed on this route")]
    MethodNotAllowed,
    #[error("request body too large: {0}")]
    TooLarge(String),
    #[error("too many requests")]
    RateLimited { retry_after_s: u64 },
    #[error("service unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

#[derive(Serialize, utoipa::ToSchema)]
struct Body<'a> {
    #[schema(inline)]
    error: ErrorBody<'a>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct ErrorBody<'a> {
    #[schema(schema_with = openapi::code_schema)]
    code: &'static str,
    message: String,
    #[schema(value_type = Vec<Object>)]
    details: &'a [serde_json::Value],
}

impl AppError {
    /// A 422 with a message and no details.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::Invalid { message: message.into(), details: Vec::new() }
    }

    /// A refusal from the catalogue with its specifics.
    pub fn refused(refusal: Refusal, message: impl Into<String>) -> Self {
        Self::Refused { refusal, message: message.into() }
    }

    /// A 400 `invalid_query`: the query string does not fit the route.
    pub fn bad_query(message: impl Into<String>) -> Self {
        Self::refused(Refusal::InvalidQuery, message)
    }

    /// A 422 refusal: the input or the step was refused (a form shows it beside its field), as
    /// opposed to a refusal of the request itself (400, 403, 404, 409: an error page).
    pub fn is_unprocessable(&self) -> bool {
        matches!(self, Self::Refused { refusal, .. } if refusal.status() == StatusCode::UNPROCESSABLE_ENTITY)
    }

    /// The refusal, when this is one.
    pub fn refusal(&self) -> Option<Refusal> {
        match self {
            Self::Refused { refusal, .. } => Some(*refusal),
            _ => None,
        }
    }

    /// A 422 about one input field, with a stable reason code in the details
    /// (`{"field": …, "reason": …}`) that the panel turns into Polish words beside that field.
    pub fn invalid_field(field: &'static str, reason: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid {
            message: message.into(),
            details: vec![serde_json::json!({"field": field, "reason": reason})],
        }
    }

    /// The field and reason of an [`AppError::invalid_field`] error.
    pub fn field_reason(&self) -> Option<(&str, &str)> {
        let Self::Invalid { details, .. } = self else { return None };
        details.iter().find_map(|d| Some((d.get("field")?.as_str()?, d.get("reason")?.as_str()?)))
    }

    /// The one table of variant → (HTTP status, stable code).
    pub fn meta(&self) -> (StatusCode, &'static str) {
        match self {
            Self::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            Self::Unauthenticated => (StatusCode::UNAUTHORIZED, "unauthenticated"),
            Self::Forbidden => (StatusCode::FORBIDDEN, "forbidden"),
            Self::Invalid { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_input"),
            Self::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            Self::Refused { refusal, .. } => (refusal.status(), refusal.code()),
            Self::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            Self::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            Self::RateLimited { .. } => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            Self::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }

    /// Every stable code: the generic ones, then the catalogue's (for the tests that keep them
    /// unique and documented).
    pub const CODES: &'static [&'static str] = &ALL_CODES;
}

/// The codes of the variants other than [`AppError::Refused`].
const GENERIC_CODES: [&str; 10] = [
    "not_found",
    "unauthenticated",
    "forbidden",
    "invalid_input",
    "conflict",
    "payload_too_large",
    "method_not_allowed",
    "rate_limited",
    "unavailable",
    "internal",
];

/// [`GENERIC_CODES`] followed by every refusal's code, computed at compile time.
const ALL_CODES: [&str; GENERIC_CODES.len() + Refusal::ALL.len()] = {
    let mut out = [""; GENERIC_CODES.len() + Refusal::ALL.len()];
    let mut i = 0;
    while i < GENERIC_CODES.len() {
        out[i] = GENERIC_CODES[i];
        i += 1;
    }
    let mut j = 0;
    while j < Refusal::ALL.len() {
        out[i + j] = Refusal::ALL[j].code();
        j += 1;
    }
    out
};

impl From<DbError> for AppError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::NotFound => Self::NotFound,
            DbError::Busy => Self::Unavailable("database busy, retry shortly".into()),
            // The database is away (restarting, refusing connections, a connection cut): 503
            // with Retry-After, never a 500 or an authentication failure.
            DbError::Unavailable(why) => Self::Unavailable(why),
            DbError::Conflict(m) => Self::Conflict(m),
            other => Self::Internal(anyhow::Error::new(other)),
        }
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        DbError::from_diesel(e).into()
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        self.meta().0
    }

    fn error_response(&self) -> HttpResponse {
        let (status, code) = self.meta();
        let empty = Vec::new();
        let (message, details) = match self {
            Self::Invalid { message, details } => (message.clone(), details),
            Self::Internal(err) => {
                let incident = uuid::Uuid::now_v7();
                tracing::error!(incident = %incident, error = ?err, "Request failed with an internal error");
                (format!("Internal error; reference {incident}"), &empty)
            }
            Self::Unavailable(why) => {
                tracing::warn!(reason = %why, "Request answered 503");
                ("Service temporarily unavailable, retry shortly".to_owned(), &empty)
            }
            other => (other.to_string(), &empty),
        };
        let mut resp = HttpResponse::build(status);
        if let Self::RateLimited { retry_after_s } = self {
            resp.insert_header((header::RETRY_AFTER, retry_after_s.to_string()));
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            resp.insert_header((header::RETRY_AFTER, "1"));
        }
        resp.json(Body { error: ErrorBody { code, message, details } })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_cover_every_variant() {
        let variants = [
            AppError::NotFound,
            AppError::Unauthenticated,
            AppError::Forbidden,
            AppError::invalid("x"),
            AppError::Conflict("x".into()),
            AppError::TooLarge("x".into()),
            AppError::MethodNotAllowed,
            AppError::RateLimited { retry_after_s: 1 },
            AppError::Unavailable("x".into()),
            AppError::Internal(anyhow::anyhow!("x")),
        ];
        let refusals = Refusal::ALL.iter().map(|r| AppError::refused(*r, "x"));
        let mut seen: Vec<&str> = variants.into_iter().chain(refusals).map(|v| v.meta().1).collect();
        seen.sort_unstable();
        let unique = seen.len();
        seen.dedup();
        assert_eq!(seen.len(), unique, "a code is used twice");
        let mut listed = AppError::CODES.to_vec();
        listed.sort_unstable();
        assert_eq!(seen, listed);
    }

    #[actix_web::test]
    async fn a_refusal_answers_its_code_and_status() {
        let resp = AppError::refused(Refusal::XmlNotDownloaded, "not yet").error_response();
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);
        let Ok(bytes) = actix_web::body::to_bytes(resp.into_body()).await else {
            panic!("body must be readable");
        };
        let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
        assert_eq!(body["error"]["code"], "xml_not_downloaded");
        assert_eq!(body["error"]["message"], "not yet");
    }

    #[actix_web::test]
    async fn internal_errors_do_not_leak() {
        let resp = AppError::Internal(anyhow::anyhow!("password=hunter2 at db.internal")).error_response();
        assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let Ok(bytes) = actix_web::body::to_bytes(resp.into_body()).await else {
            panic!("body must be readable");
        };
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("\"code\":\"internal\""), "{text}");
        assert!(text.contains("reference"), "{text}");
    }
}
