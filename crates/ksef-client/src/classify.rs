//! What to do about a failure: give up, fix the credential, retry, or wait.
//!
//! Tables for every code documented by KSeF 2.0: HTTP 400 exception codes, auth operation statuses
//! (GET /auth/{ref}), invoice statuses and session statuses.

use std::time::Duration;

use crate::error::ApiError;

/// The 400 exception code for an unknown or withdrawn MF public key (refresh keys, retry).
pub const CODE_PUBLIC_KEY_UNKNOWN: i32 = 21470;

/// 400 "Nieprawidłowe wyzwanie autoryzacyjne": the challenge is unknown, used or expired.
pub const CODE_CHALLENGE_UNKNOWN: i32 = 21111;

/// 400 "Sesja tymczasowo niedostępna" (KSeF 2.8): sending in this online session is paused.
pub const CODE_SESSION_UNAVAILABLE: i32 = 21184;

/// 400 "Faktura nie może zostac przypisana do Identyfikatora Zbiorczego" (KSeF 2.7).
pub const CODE_IZ_NOT_ASSIGNABLE: i32 = 71001;

/// 400 "Faktura jest już przypisana do maksymalnej liczby Identyfikatorów Zbiorczych" (KSeF 2.7).
pub const CODE_IZ_TOO_MANY: i32 = 71002;

/// Retry delay assumed for a 429 answer that carries no `Retry-After`.
pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(60);

/// Coarse class of an error, for retry and alerting decisions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorClass {
    /// Retrying the same request will fail again (invalid data, wrong state, not found).
    Permanent,
    /// The credential or its permissions are wrong, revoked or blocked: a person must act.
    Credential,
    /// Try again later (5xx, timeouts, connection errors, 550 "cancelled by system", key rotation).
    Transient,
    /// The session, not the request, is the problem (21184 paused, 21173 unknown, 21180 wrong
    /// state, 21155 invoice limit reached): nothing was received; open a new session and send
    /// what is still pending there (once).
    SessionUnusable,
    /// Too many requests: wait at least `retry_after` before the next call in this context.
    RateLimited {
        /// Delay from `Retry-After`.
        retry_after: Duration,
    },
}

/// Class of an HTTP 400 exception code (API docs §14). Unknown codes are permanent.
pub fn classify_exception_code(code: i32) -> ErrorClass {
    use ErrorClass::{Credential, Permanent, SessionUnusable, Transient};
    match code {
        // Auth: certificate, subject, signature type; redeem/refresh refused; auth operation
        // unknown; deceased person's credentials.
        21115 | 21117 | 21406 | 21301 | 21304 | 21308 => Credential,
        // A challenge KSeF no longer knows (used, expired, or forgotten by a restart of KSeF
        // between the challenge and its use): nothing is wrong with the credential, and the
        // next login asks for a fresh challenge. As a credential fault it paused a healthy
        // client until a person resumed it.
        CODE_CHALLENGE_UNKNOWN => Transient,
        // Session paused, unknown, in the wrong state, or full.
        CODE_SESSION_UNAVAILABLE | 21173 | 21180 | 21155 => SessionUnusable,
        // Not yet downloadable; UPO not generated yet; concurrent export limit; key rotated.
        21165 | 21178 | 21182 | CODE_PUBLIC_KEY_UNKNOWN => Transient,
        // Content, size, hash, state and validation errors.
        21001 | 21157 | 21161 | 21164 | 21166 | 21167 | 21175 | 21181 | 21183 | 21205 | 21208 | 21217
        | 21401 | 21402 | 21403 | 21405 | 21418 => Permanent,
        // Certificate enrollment, token permissions, test data.
        25001..=25011 | 26001 | 26002 | 30001 => Permanent,
        // Collective identifiers: an invoice that cannot be assigned, or is in 132 already.
        CODE_IZ_NOT_ASSIGNABLE | CODE_IZ_TOO_MANY => Permanent,
        _ => Permanent,
    }
}

/// Class of an HTTP error answer.
pub fn classify_api_error(err: &ApiError) -> ErrorClass {
    match err.status {
        429 => ErrorClass::RateLimited { retry_after: err.retry_after.unwrap_or(DEFAULT_RETRY_AFTER) },
        401 | 403 => ErrorClass::Credential,
        408 | 500..=599 => ErrorClass::Transient,
        _ => {
            let classes: Vec<ErrorClass> = err.codes().map(classify_exception_code).collect();
            if classes.contains(&ErrorClass::Credential) {
                ErrorClass::Credential
            } else if classes.contains(&ErrorClass::SessionUnusable) {
                ErrorClass::SessionUnusable
            } else if !classes.is_empty() && classes.iter().all(|c| *c == ErrorClass::Transient) {
                ErrorClass::Transient
            } else {
                ErrorClass::Permanent
            }
        }
    }
}

/// Class of a final authentication status (GET /auth/{ref} `status.code`).
pub fn classify_auth_status(code: i32) -> ErrorClass {
    match code {
        // No permissions in context, revoked, bad token, certificate error, deceased, blocked.
        415 | 425 | 450 | 460 | 470 | 480 => ErrorClass::Credential,
        // Unknown error; cancelled by system (retry).
        500 | 550 => ErrorClass::Transient,
        _ => ErrorClass::Permanent,
    }
}

/// Class of a failed invoice status (GET /sessions/{ref}/invoices/{inv} `status.code`);
/// `None` for 100/150/200 (in progress or success).
pub fn classify_invoice_status(code: i32) -> Option<ErrorClass> {
    Some(match code {
        100 | 150 | 200 => return None,
        // Wrong permission scope.
        410 => ErrorClass::Credential,
        // Cancelled because of a session error; decryption error; unknown; cancelled by system: send again.
        405 | 435 | 500 | 550 => ErrorClass::Transient,
        // Attachments not allowed, verification (XSD) error, duplicate, semantic error.
        _ => ErrorClass::Permanent,
    })
}

/// Class of a final invoice export status (GET /invoices/exports/{ref} `status.code`); `None` for
/// 100/200. An expired package (210), an undecryptable key (415, e.g. a rotated MF key) and the
/// system's failures are retried with a new export; a range beyond the HWM (420) is a caller bug.
pub fn classify_export_status(code: i32) -> Option<ErrorClass> {
    Some(match code {
        100 | 200 => return None,
        210 | 415 | 500 | 550 => ErrorClass::Transient,
        _ => ErrorClass::Permanent,
    })
}

/// Class of a failed session status (GET /sessions/{ref}); `None` while open/processing or on success.
pub fn classify_session_status(code: i32) -> Option<ErrorClass> {
    Some(match code {
        100 | 150 | 170 | 200 => return None,
        // Key decryption/part decryption errors, cancelled (upload time exceeded), unknown: redo the session.
        415 | 435 | 440 | 500 => ErrorClass::Transient,
        // Package verification, invoice limit, decompression, no valid invoices.
        _ => ErrorClass::Permanent,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ExceptionDetail;
    use ErrorClass::{Credential, Permanent, SessionUnusable, Transient};

    fn api(status: u16, codes: &[i32]) -> ApiError {
        ApiError {
            status,
            exceptions: codes
                .iter()
                .map(|c| ExceptionDetail { code: *c, description: String::new(), details: vec![] })
                .collect(),
            ..ApiError::default()
        }
    }

    #[test]
    fn every_documented_exception_code_has_its_class() {
        let table: &[(i32, ErrorClass)] = &[
            (21001, Permanent),
            (71001, Permanent),
            (71002, Permanent),
            (21111, Transient),
            (21115, Credential),
            (21117, Credential),
            (21155, SessionUnusable),
            (21157, Permanent),
            (21161, Permanent),
            (21164, Permanent),
            (21165, Transient),
            (21166, Permanent),
            (21167, Permanent),
            (21173, SessionUnusable),
            (21175, Permanent),
            (21178, Transient),
            (21180, SessionUnusable),
            (21181, Permanent),
            (21182, Transient),
            (21183, Permanent),
            (21184, SessionUnusable),
            (21205, Permanent),
            (21208, Permanent),
            (21217, Permanent),
            (21301, Credential),
            (21304, Credential),
            (21308, Credential),
            (21401, Permanent),
            (21402, Permanent),
            (21403, Permanent),
            (21405, Permanent),
            (21406, Credential),
            (21418, Permanent),
            (21470, Transient),
            (26001, Permanent),
            (26002, Permanent),
            (30001, Permanent),
            (99999, Permanent),
        ];
        for code in 25001..=25011 {
            assert_eq!(classify_exception_code(code), Permanent, "{code}");
        }
        for (code, class) in table {
            assert_eq!(classify_exception_code(*code), *class, "{code}");
            assert_eq!(classify_api_error(&api(400, &[*code])), *class, "400/{code}");
        }
    }

    #[test]
    fn http_statuses() {
        assert_eq!(classify_api_error(&api(401, &[])), Credential);
        assert_eq!(classify_api_error(&api(403, &[])), Credential);
        for s in [408, 500, 502, 503, 504] {
            assert_eq!(classify_api_error(&api(s, &[])), Transient, "{s}");
        }
        for s in [400, 404, 410, 413] {
            assert_eq!(classify_api_error(&api(s, &[])), Permanent, "{s}");
        }
        let mut limited = api(429, &[]);
        assert_eq!(
            classify_api_error(&limited),
            ErrorClass::RateLimited { retry_after: DEFAULT_RETRY_AFTER }
        );
        limited.retry_after = Some(Duration::from_secs(7));
        assert_eq!(
            classify_api_error(&limited),
            ErrorClass::RateLimited { retry_after: Duration::from_secs(7) }
        );
        // A credential code wins over a permanent one; transient only if all are transient.
        assert_eq!(classify_api_error(&api(400, &[21405, 21301])), Credential);
        assert_eq!(classify_api_error(&api(400, &[21165, 21405])), Permanent);
        assert_eq!(classify_api_error(&api(400, &[21165, 21470])), Transient);
        assert_eq!(classify_api_error(&api(400, &[21405, 21184])), SessionUnusable);
    }

    #[test]
    fn proxy_html_pages_and_bodies_without_timestamp() {
        // The front proxy's HTML 502/503/504 pages: transient, never a parse error.
        let page = b"<!DOCTYPE html><html><body><h1>503 Service Unavailable</h1></body></html>";
        for status in [502, 503, 504] {
            let err = ApiError::parse(status, None, page);
            assert_eq!(classify_api_error(&err), Transient, "{status}");
            assert!(err.detail.as_deref().is_some_and(|d| d.contains("Service Unavailable")), "{err:?}");
        }
        // KSeF 2.8.1: a 403 body may lack `timestamp`.
        let forbidden = br#"{"title":"Forbidden","status":403,"detail":"Brak uprawnien.","reasonCode":"missing-permissions"}"#;
        let err = ApiError::parse(403, None, forbidden);
        assert_eq!(err.reason_code.as_deref(), Some("missing-permissions"));
        assert_eq!(classify_api_error(&err), Credential);
    }

    #[test]
    fn auth_statuses() {
        for code in [415, 425, 450, 460, 470, 480] {
            assert_eq!(classify_auth_status(code), Credential, "{code}");
        }
        assert_eq!(classify_auth_status(500), Transient);
        assert_eq!(classify_auth_status(550), Transient);
    }

    #[test]
    fn invoice_and_session_statuses() {
        for code in [100, 150, 200] {
            assert_eq!(classify_invoice_status(code), None);
        }
        for (code, class) in [
            (405, Transient),
            (410, Credential),
            (415, Permanent),
            (430, Permanent),
            (435, Transient),
            (440, Permanent),
            (450, Permanent),
            (500, Transient),
            (550, Transient),
        ] {
            assert_eq!(classify_invoice_status(code), Some(class), "{code}");
        }
        for code in [100, 150, 170, 200] {
            assert_eq!(classify_session_status(code), None);
        }
        for (code, class) in [(100, None), (200, None), (210, Some(Transient)), (415, Some(Transient))] {
            assert_eq!(classify_export_status(code), class, "{code}");
        }
        for (code, class) in [(420, Some(Permanent)), (500, Some(Transient)), (550, Some(Transient))] {
            assert_eq!(classify_export_status(code), class, "{code}");
        }
        for (code, class) in [
            (405, Permanent),
            (415, Transient),
            (420, Permanent),
            (430, Permanent),
            (435, Transient),
            (440, Transient),
            (445, Permanent),
            (500, Transient),
        ] {
            assert_eq!(classify_session_status(code), Some(class), "{code}");
        }
    }
}
