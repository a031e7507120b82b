//! Who is calling, as the authentication middleware (`http::authenticate`) found it: the
//! `Caller` and `Authenticated` extractors, the session cookie, the client's address for the
//! audit trail. Kept apart from the middleware, which answers refusals in the panel's own
//! words, so that the panel can use these without importing the middleware back.

use std::future::{ready, Ready};

use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest};

use crate::error::AppError;
use crate::service::access::Caller;
use crate::state::AppState;

/// Name of the panel session cookie.
pub const SESSION_COOKIE: &str = "kgw_session";
/// Header that carries the CSRF token on cookie-authenticated API calls.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// How the caller proved who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    ApiKey,
    Cookie,
}

/// The authenticated caller of this request.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub caller: Caller,
    pub via: Via,
}

/// The session cookie carrying `token`, with the flags a session cookie must have.
pub fn session_cookie(st: &AppState, token: String) -> Cookie<'static> {
    Cookie::build(SESSION_COOKIE, token)
        .path("/")
        .http_only(true)
        .secure(st.settings.auth.cookie_secure)
        .same_site(SameSite::Strict)
        .max_age(actix_web::cookie::time::Duration::hours(i64::from(st.settings.auth.session_max_age_h)))
        .finish()
}

/// A cookie that removes the session cookie.
pub fn removal_cookie(st: &AppState) -> Cookie<'static> {
    let mut c = session_cookie(st, String::new());
    c.make_removal();
    c
}

impl FromRequest for Caller {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            req.extensions()
                .get::<Authenticated>()
                .map(|a| a.caller.clone())
                .ok_or(AppError::Unauthenticated),
        )
    }
}

impl FromRequest for Authenticated {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(req.extensions().get::<Authenticated>().cloned().ok_or(AppError::Unauthenticated))
    }
}

/// The client's IP as text, for the audit trail and login throttles.
pub fn client_ip_text(req: &HttpRequest, st: &AppState) -> Option<String> {
    crate::auth::client_ip::client_ip(req, &st.trusted_proxies).map(|ip| ip.to_string())
}
