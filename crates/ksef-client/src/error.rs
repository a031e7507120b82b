//! The one error type of this crate, and the parsing of KSeF error bodies.
//!
//! KSeF answers errors in three shapes: the legacy `ExceptionResponse` (`{"exception":
//! {"exceptionDetailList":[{"exceptionCode":…}]}}`), RFC 7807 `application/problem+json` (always for
//! 401/403/410, on request for 400/429) and the 429 body `{"status":{"code":429,…}}` with a
//! `Retry-After` header. All end up in [`ApiError`]; [`KsefError::class`] tells a caller what to do.

use std::time::Duration;

use serde::Deserialize;

use crate::classify::{self, ErrorClass};
use crate::models::common::StatusInfo;

/// One exception entry of a KSeF error answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExceptionDetail {
    /// Stable numeric code, e.g. 21405 (see API docs §14).
    pub code: i32,
    /// Description as sent by KSeF.
    pub description: String,
    /// Extra details.
    pub details: Vec<String>,
}

/// An HTTP error answer from KSeF (or from the storage behind pre-signed URLs).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status code.
    pub status: u16,
    /// Exception codes with descriptions (empty when the body had none).
    pub exceptions: Vec<ExceptionDetail>,
    /// `Retry-After` of a 429 (or 503) answer.
    pub retry_after: Option<Duration>,
    /// problem+json `title`/`detail`, or the 429 description.
    pub detail: Option<String>,
    /// 403 `reasonCode`, e.g. `missing-permissions`, `ip-not-allowed`.
    pub reason_code: Option<String>,
    /// `referenceNumber` / `traceId` of the failed request, for support tickets.
    pub trace_id: Option<String>,
}

impl ApiError {
    /// All exception codes in the answer.
    pub fn codes(&self) -> impl Iterator<Item = i32> + '_ {
        self.exceptions.iter().map(|e| e.code)
    }

    /// True when the answer carries `code`.
    pub fn has_code(&self, code: i32) -> bool {
        self.codes().any(|c| c == code)
    }

    /// Parses an error body of any of the three shapes; unknown bodies keep a short excerpt in `detail`.
    pub fn parse(status: u16, retry_after: Option<&str>, body: &[u8]) -> Self {
        let mut err =
            ApiError { status, retry_after: retry_after.and_then(parse_retry_after), ..ApiError::default() };
        let Ok(raw) = serde_json::from_slice::<RawError>(body) else {
            let text = String::from_utf8_lossy(body);
            let excerpt: String = text.chars().take(300).collect();
            err.detail = (!excerpt.trim().is_empty()).then_some(excerpt);
            return err;
        };
        if let Some(info) = raw.exception {
            err.trace_id = info.reference_number.or(info.service_code);
            err.exceptions = info
                .exception_detail_list
                .unwrap_or_default()
                .into_iter()
                .map(|d| ExceptionDetail {
                    code: d.exception_code,
                    description: d.exception_description.unwrap_or_default(),
                    details: d.details.unwrap_or_default(),
                })
                .collect();
        }
        if let Some(errors) = raw.errors {
            err.exceptions.extend(errors.into_iter().map(|e| ExceptionDetail {
                code: e.code,
                description: e.description.unwrap_or_default(),
                details: e.details.unwrap_or_default(),
            }));
        }
        if let Some(serde_json::Value::Object(st)) = raw.status {
            // The 429 body: {"status":{"code":429,"description":"…","details":[…]}}
            let description = st.get("description").and_then(|v| v.as_str()).unwrap_or_default();
            let details: Vec<&str> = st
                .get("details")
                .and_then(|v| v.as_array())
                .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
                .unwrap_or_default();
            err.detail = Some(std::iter::once(description).chain(details).collect::<Vec<_>>().join("; "));
        }
        err.detail = err.detail.or(raw.detail).or(raw.title);
        err.reason_code = raw.reason_code;
        err.trace_id = err.trace_id.or(raw.trace_id);
        err
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HTTP {}", self.status)?;
        for e in &self.exceptions {
            write!(f, "; {} {}", e.code, e.description)?;
            if !e.details.is_empty() {
                write!(f, " ({})", e.details.join(", "))?;
            }
        }
        if let Some(reason) = &self.reason_code {
            write!(f, "; {reason}")?;
        }
        if let Some(detail) = &self.detail {
            write!(f, "; {detail}")?;
        }
        Ok(())
    }
}

/// `Retry-After` as delay-seconds or an HTTP date.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let delta = at.signed_duration_since(chrono::Utc::now());
    Some(delta.to_std().unwrap_or(Duration::ZERO))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawError {
    exception: Option<RawExceptionInfo>,
    errors: Option<Vec<RawProblemError>>,
    status: Option<serde_json::Value>,
    title: Option<String>,
    detail: Option<String>,
    reason_code: Option<String>,
    trace_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawExceptionInfo {
    exception_detail_list: Option<Vec<RawExceptionDetails>>,
    reference_number: Option<String>,
    service_code: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawExceptionDetails {
    exception_code: i32,
    exception_description: Option<String>,
    details: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct RawProblemError {
    code: i32,
    description: Option<String>,
    details: Option<Vec<String>>,
}

/// How a transport failure happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransportKind {
    /// The request or connection timed out.
    Timeout,
    /// The connection could not be established (refused, DNS, TLS handshake).
    Connect,
    /// Any other I/O failure while sending or receiving.
    Other,
}

/// Every error this crate returns. [`KsefError::code`] is a stable machine-readable name.
#[derive(Debug, thiserror::Error)]
pub enum KsefError {
    /// KSeF answered with an HTTP error.
    #[error("KSeF error: {0}")]
    Api(Box<ApiError>),
    /// The request did not get an HTTP answer.
    #[error("transport error ({kind:?}): {message}")]
    Transport {
        /// Timeout, connect or other.
        kind: TransportKind,
        /// What went wrong.
        message: String,
    },
    /// A 2xx answer could not be understood.
    #[error("cannot decode KSeF answer for {context}: {message}")]
    Decode {
        /// The operation.
        context: String,
        /// Parser message.
        message: String,
    },
    /// Authentication ended with a failure status (GET /auth/{ref} code ≠ 100/200).
    #[error("authentication failed: {} {}", .0.code, .0.description)]
    AuthFailed(StatusInfo),
    /// An invoice export ended with a failure status (GET /invoices/exports/{ref} code ≠ 100/200):
    /// 210 expired, 415 key not decryptable, 420 range beyond the HWM, 500, 550 cancelled.
    #[error("invoice export failed: {} {}", .0.code, .0.description)]
    ExportFailed(StatusInfo),
    /// A certificate enrollment ended with a failure status (400 refused, 500, 550 cancelled).
    #[error("certificate enrollment failed: {} {}", .0.code, .0.description)]
    EnrollmentFailed(StatusInfo),
    /// Data did not match its declared hash, e.g. a UPO vs `x-ms-meta-hash`.
    #[error("integrity check failed: {0}")]
    Integrity(String),
    /// An operation stayed in progress longer than the polling budget.
    #[error("{what} still in progress (last status {last_code}) after polling budget")]
    PollTimeout {
        /// What was polled.
        what: String,
        /// The last status code seen.
        last_code: i32,
    },
    /// Encryption, signing or key/certificate parsing failed.
    #[error("crypto error: {0}")]
    Crypto(String),
    /// An argument was rejected before anything was sent.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The client could not be built (TLS roots, URLs).
    #[error("configuration error: {0}")]
    Config(String),
}

impl KsefError {
    /// Stable snake_case error code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Api(_) => "ksef_api",
            Self::Transport { .. } => "transport",
            Self::Decode { .. } => "decode",
            Self::AuthFailed(_) => "auth_failed",
            Self::ExportFailed(_) => "export_failed",
            Self::EnrollmentFailed(_) => "enrollment_failed",
            Self::Integrity(_) => "integrity",
            Self::PollTimeout { .. } => "poll_timeout",
            Self::Crypto(_) => "crypto",
            Self::InvalidInput(_) => "invalid_input",
            Self::Config(_) => "config",
        }
    }

    /// What the caller should do about this error.
    pub fn class(&self) -> ErrorClass {
        match self {
            Self::Api(api) => classify::classify_api_error(api),
            Self::Transport { .. } | Self::Integrity(_) | Self::PollTimeout { .. } => ErrorClass::Transient,
            Self::AuthFailed(status) => classify::classify_auth_status(status.code),
            Self::ExportFailed(status) => {
                classify::classify_export_status(status.code).unwrap_or(ErrorClass::Permanent)
            }
            // 550: "cancelled by the system, try again"; 400 and 500 will not change by retrying.
            Self::EnrollmentFailed(status) if status.code == 550 => ErrorClass::Transient,
            Self::EnrollmentFailed(_)
            | Self::Decode { .. }
            | Self::Crypto(_)
            | Self::InvalidInput(_)
            | Self::Config(_) => ErrorClass::Permanent,
        }
    }

    /// HTTP status, when KSeF answered.
    pub fn http_status(&self) -> Option<u16> {
        match self {
            Self::Api(api) => Some(api.status),
            _ => None,
        }
    }

    /// The KSeF API error, when KSeF answered with one.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Self::Api(api) => Some(api),
            _ => None,
        }
    }

    /// True for 400/21470: the MF public key was rotated or withdrawn. The client already drops its
    /// key cache and retries once by itself; a caller seeing this can simply retry the operation.
    pub fn is_public_key_rejected(&self) -> bool {
        self.api().is_some_and(|a| a.has_code(classify::CODE_PUBLIC_KEY_UNKNOWN))
    }

    /// True for 400/21184 "Sesja tymczasowo niedostępna": nothing was received; open a new
    /// session and send there what is still pending (see [`ErrorClass::SessionUnusable`]).
    pub fn is_session_unavailable(&self) -> bool {
        self.api().is_some_and(|a| a.has_code(classify::CODE_SESSION_UNAVAILABLE))
    }

    /// Why KSeF refused a collective identifier (71001, 71002, or 403 for a missing
    /// permission), if that is what this error is.
    pub fn collective_refusal(&self) -> Option<crate::collective::CollectiveRefusal> {
        use crate::collective::CollectiveRefusal as R;
        let api = self.api()?;
        if api.status == 403 {
            Some(R::MissingPermission)
        } else if api.has_code(classify::CODE_IZ_NOT_ASSIGNABLE) {
            Some(R::NotAssignable)
        } else if api.has_code(classify::CODE_IZ_TOO_MANY) {
            Some(R::TooManyIdentifiers)
        } else {
            None
        }
    }

    /// True for HTTP 410 Gone: an asynchronous operation (an export, after 7 days) is past its
    /// retention. For an export: start a new one from the same cursor.
    pub fn is_gone(&self) -> bool {
        self.http_status() == Some(410)
    }

    pub(crate) fn decode(context: &str, err: impl std::fmt::Display) -> Self {
        Self::Decode { context: context.to_owned(), message: err.to_string() }
    }
}

impl From<ApiError> for KsefError {
    fn from(api: ApiError) -> Self {
        Self::Api(Box::new(api))
    }
}

impl From<reqwest::Error> for KsefError {
    fn from(err: reqwest::Error) -> Self {
        let kind = if err.is_timeout() {
            TransportKind::Timeout
        } else if err.is_connect() {
            TransportKind::Connect
        } else {
            TransportKind::Other
        };
        // Without the URL: pre-signed URLs carry access signatures in their query strings.
        Self::Transport { kind, message: err.without_url().to_string() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_exception_response() {
        let body = br#"{"exception":{"exceptionDetailList":[{"exceptionCode":21405,"exceptionDescription":"Blad walidacji","details":["pole x"]}],
            "referenceNumber":"a1b2","serviceCode":"00-c0","timestamp":"2025-10-11T12:23:56.0154302"}}"#;
        let err = ApiError::parse(400, None, body);
        assert_eq!(err.codes().collect::<Vec<_>>(), [21405]);
        assert_eq!(err.exceptions[0].details, ["pole x"]);
        assert_eq!(err.trace_id.as_deref(), Some("a1b2"));
        assert!(err.to_string().contains("21405 Blad walidacji (pole x)"));
    }

    #[test]
    fn parses_problem_details() {
        let body = br#"{"title":"Bad Request","status":400,"instance":"/v2/x","detail":"Nieprawidlowe dane",
            "errors":[{"code":21470,"description":"Klucz","details":[]}],"timestamp":"2025-07-11T12:23:56Z","traceId":"t1"}"#;
        let err = KsefError::from(ApiError::parse(400, None, body));
        assert!(err.is_public_key_rejected());
        assert_eq!(err.class(), ErrorClass::Transient);
        let forbidden = br#"{"title":"Forbidden","status":403,"detail":"x","reasonCode":"ip-not-allowed","timestamp":"2025-07-11T12:23:56Z"}"#;
        let err = ApiError::parse(403, None, forbidden);
        assert_eq!(err.reason_code.as_deref(), Some("ip-not-allowed"));
    }

    #[test]
    fn parses_429_body_and_retry_after() {
        let body = br#"{"status":{"code":429,"description":"Too Many Requests","details":["Limit 20/min"]}}"#;
        let err = KsefError::from(ApiError::parse(429, Some("30"), body));
        assert_eq!(err.class(), ErrorClass::RateLimited { retry_after: Duration::from_secs(30) });
        assert!(err.to_string().contains("Limit 20/min"));
        let in_past = parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(in_past, Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn non_json_bodies_keep_an_excerpt() {
        let err = ApiError::parse(502, None, b"<html>Bad gateway</html>");
        assert_eq!(err.detail.as_deref(), Some("<html>Bad gateway</html>"));
        assert!(err.exceptions.is_empty());
        assert_eq!(KsefError::from(err).class(), ErrorClass::Transient);
    }
}
