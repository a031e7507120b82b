//! Authentication of every request: an API key in `Authorization: Bearer kgw_…`, or the panel
//! session cookie (a short-lived JWT). The caller found is put in the request's extensions for
//! the `Caller` extractor; nothing here decides what the caller may do (that is
//! `service::access`).
//!
//! Cookie-authenticated requests that change something must prove they come from our own pages:
//! API routes by the `X-CSRF-Token` header, panel forms by their `csrf` field (checked by the
//! panel handlers). API-key requests carry no ambient credential and need no CSRF token.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage};

use crate::error::{AppError, Refusal};
use crate::http::auth::{session_cookie, Authenticated, Via, CSRF_HEADER, SESSION_COOKIE};
use crate::service::access::Caller;
use crate::service::{apikeys, users};
use crate::state::AppState;

fn is_unsafe(m: &Method) -> bool {
    !matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The token of `Authorization: Bearer <token>`; the scheme is case-insensitive (RFC 9110
/// §11.1), so `bearer` and `BEARER` work as well.
fn bearer_token(value: &str) -> Option<String> {
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_owned())
}

/// The second layer under the CSRF token for cookie-authenticated changes: when the browser
/// says where the request comes from (`Origin`, or else `Referer`), that must be this very
/// site, the host (and port) the request was sent to. A request carrying neither (older
/// browsers, privacy settings) relies on the token alone.
fn same_origin(req: &ServiceRequest) -> bool {
    let headers = req.headers();
    let source =
        headers.get(header::ORIGIN).or_else(|| headers.get(header::REFERER)).and_then(|v| v.to_str().ok());
    let Some(source) = source else { return true };
    let Ok(url) = url::Url::parse(source) else { return false };
    let Some(host) = url.host_str() else { return false };
    let source_authority = match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    };
    let target = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .unwrap_or_else(|| req.connection_info().host().to_owned());
    source_authority.eq_ignore_ascii_case(&target)
        || without_default_port(&target).eq_ignore_ascii_case(&source_authority)
}

/// `host:80` and `host:443` name the same site as `host` (browsers omit default ports in `Origin`).
fn without_default_port(authority: &str) -> &str {
    authority.strip_suffix(":80").or_else(|| authority.strip_suffix(":443")).unwrap_or(authority)
}

/// Resolves the caller (if any) before the handler runs; refuses a presented but invalid API
/// key outright, throttles API keys, and slides the session cookie forward when it is old.
pub async fn authenticate(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let Some(st) = req.app_data::<web::Data<AppState>>().cloned() else {
        return next.call(req).await;
    };
    let bearer =
        req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(bearer_token);
    let mut refreshed = None;
    if let Some(key) = bearer {
        let caller = apikeys::authenticate(&st, &key).await?.ok_or(AppError::Unauthenticated)?;
        st.throttles.api_key(&caller.id)?;
        req.extensions_mut().insert(Authenticated { caller: Caller::ApiKey(caller), via: Via::ApiKey });
    } else if let Some(cookie) = req.cookie(SESSION_COOKIE) {
        if let Some((user, remaining)) = users::resolve_session(&st, cookie.value()).await? {
            if is_unsafe(req.method()) {
                let api = req.path().starts_with("/api/");
                if !same_origin(&req) {
                    return Err(if api {
                        AppError::Refused {
                            refusal: Refusal::OriginMismatch,
                            message: "the request comes from another site (Origin/Referer)".into(),
                        }
                        .into()
                    } else {
                        crate::http::panel::PanelError::Csrf.into()
                    });
                }
                let presented = req.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
                if api && !st.session_keys.csrf_ok(&user.session_id, presented) {
                    return Err(AppError::Refused {
                        refusal: Refusal::CsrfFailed,
                        message: "missing or wrong X-CSRF-Token header".into(),
                    }
                    .into());
                }
            }
            if remaining < i64::from(st.settings.auth.token_ttl_s) / 2 {
                refreshed = Some(users::issue_token(&st, &user.id, &user.session_id)?);
            }
            req.extensions_mut().insert(Authenticated { caller: Caller::User(user), via: Via::Cookie });
        }
    }
    let mut res = next.call(req).await?;
    if let Some(token) = refreshed {
        if !res.headers().contains_key(header::SET_COOKIE) {
            res.response_mut().add_cookie(&session_cookie(&st, token))?;
        }
    }
    Ok(res)
}
